//! Waking wallets (docs/protocol.md §4.4): after a submit, each of the
//! inbox's push subscriptions gets one push announcing the newest seq, by
//! Web Push (RFC 8030/8291/8292) or a Matrix push gateway. The relay never
//! talks to APNs or FCM: only a wallet's vendor can, through its gateway.
//!
//! The schedule lives in the database, so it survives a restart and
//! instances sharing PostgreSQL split the work: a worker claims the
//! subscriptions that are due (a lease), sends each in its own task, and
//! settles it (delivered: the coalescing window starts; failed: a retry
//! later; gone: deleted). Nothing here runs inside a submit: a push never
//! delays or fails a 202.

pub mod target;
pub mod webpush;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{watch, Notify, Semaphore};

use crate::store::{now, PushJob, PushSettle, Store, StoreError};
pub use target::{is_public, PushTarget, TargetError};
pub use webpush::Vapid;

/// Subscriptions one inbox may hold (the contract's number).
pub const MAX_SUBSCRIPTIONS: i64 = 5;

/// How pushes are sent.
#[derive(Clone, Debug)]
pub struct PushConfig {
    /// At most one push per subscription in this window; it carries the
    /// newest state when the window ends.
    pub coalesce: Duration,
    /// http targets and loopback/private/link-local addresses allowed
    /// (tests, a devnet on one machine); never on a public relay.
    pub allow_insecure: bool,
    /// Longest one push request may take.
    pub request_timeout: Duration,
    /// The first retry's delay; each next one is three times the last.
    pub retry_base: Duration,
    /// Tries of one state before it is given up (the next submit starts
    /// again).
    pub max_attempts: i64,
    /// The VAPID `sub` claim: how a push service reaches the operator
    /// (`mailto:` or `https:`).
    pub contact: String,
    /// The Web Push TTL: how long a push service keeps an undelivered push.
    pub ttl_secs: u32,
    /// Push requests in flight at once.
    pub concurrency: usize,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            coalesce: Duration::from_secs(2),
            allow_insecure: false,
            request_timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(5),
            max_attempts: 6,
            contact: "mailto:operator@fio-inbox.invalid".into(),
            ttl_secs: 86_400,
            concurrency: 256,
        }
    }
}

/// A claim lasts well beyond one request's timeout, so only an instance
/// that died loses one.
const LEASE: Duration = Duration::from_secs(60);
/// Subscriptions claimed at once.
const CLAIM_BATCH: i64 = 64;
/// The longest the worker sleeps without looking (pushes another instance
/// scheduled, a lost bell).
const IDLE_LOOK: Duration = Duration::from_millis(500);
/// Largest answer read from a push service or gateway.
const MAX_ANSWER: usize = 64 * 1024;

/// Push counters for `/metrics`.
#[derive(Debug, Default)]
pub struct PushMetrics {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub removed: AtomicU64,
    pub refused: AtomicU64,
}

/// The push side of a relay: its VAPID key, its HTTP client, the bell a
/// submit rings, and the worker.
pub struct Pusher {
    pub config: PushConfig,
    pub vapid: Vapid,
    pub metrics: PushMetrics,
    client: reqwest::Client,
    bell: Notify,
    /// One per push in flight (`config.concurrency` in all).
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher")
            .field("vapid", &self.vapid)
            .finish()
    }
}

impl Pusher {
    /// Loads (or creates) the relay's VAPID key from `store`.
    pub async fn new(store: &Store, config: PushConfig) -> Result<Pusher, StoreError> {
        let stored = store.push_key(Vapid::generate().to_vec()).await?;
        let vapid = Vapid::from_private(&stored)
            .ok_or_else(|| StoreError::Storage("the stored VAPID key is not a P-256 key".into()))?;
        let client = client(&config).map_err(StoreError::Storage)?;
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Ok(Pusher {
            slots,
            config,
            vapid,
            metrics: PushMetrics::default(),
            client,
            bell: Notify::new(),
        })
    }

    /// Something was stored: look for due pushes now.
    pub fn ring(&self) {
        self.bell.notify_one();
    }

    /// Parses and checks a subscription body (the 400 of §4.4 on failure).
    pub fn parse(&self, body: &[u8]) -> Result<PushTarget, TargetError> {
        PushTarget::parse(body, self.config.allow_insecure, webpush::on_curve)
    }

    /// Claims and sends due pushes until `stop` turns true (or its
    /// sender is gone).
    pub async fn run(self: Arc<Self>, store: Store, mut stop: watch::Receiver<bool>) {
        let mut failures = 0u32;
        loop {
            if *stop.borrow() {
                return;
            }
            // Never claim more than can be sent now: a claim's lease runs.
            let room = (self.slots.available_permits() as i64).min(CLAIM_BATCH);
            let wait = if room == 0 {
                // Every slot busy: look again when one may be free.
                Duration::from_millis(50)
            } else {
                match store.push_claim(LEASE.as_millis() as i64, room).await {
                    Ok(jobs) => {
                        failures = 0;
                        let n = jobs.len() as i64;
                        for job in jobs {
                            // Only this loop takes slots, and it claimed no
                            // more than were free: this never waits long.
                            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                                return;
                            };
                            let (pusher, store) = (self.clone(), store.clone());
                            tokio::spawn(async move {
                                pusher.deliver(&store, job).await;
                                drop(slot);
                            });
                        }
                        if n == room {
                            continue;
                        }
                        match store.push_next_due().await {
                            Ok(Some(due_in)) => Duration::from_millis(
                                due_in.clamp(0, IDLE_LOOK.as_millis() as i64) as u64,
                            ),
                            _ => IDLE_LOOK,
                        }
                    }
                    Err(e) => {
                        // Storage down or read-only: back off, log once a
                        // while, never spin.
                        failures = failures.saturating_add(1);
                        if failures.is_power_of_two() {
                            tracing::warn!(error = %e, failures, "cannot claim pushes");
                        }
                        IDLE_LOOK * failures.min(20)
                    }
                }
            };
            tokio::select! {
                _ = self.bell.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                changed = stop.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Waits (at most `within`) for the pushes in flight to finish and be
    /// recorded, so a graceful stop leaves no claim to wait out its lease.
    pub async fn drain(&self, within: Duration) {
        let all = u32::try_from(self.config.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(within, self.slots.acquire_many(all)).await;
    }

    /// Sends one claimed push and records how it went.
    async fn deliver(&self, store: &Store, job: PushJob) {
        let outcome = match PushTarget::from_stored(&job.target) {
            Some(target) => self.send(&target, &job).await,
            None => Outcome::Gone,
        };
        let settle = match outcome {
            Outcome::Delivered => {
                self.metrics.sent.fetch_add(1, Ordering::Relaxed);
                self.done(job.seq)
            }
            Outcome::Gone => {
                self.metrics.removed.fetch_add(1, Ordering::Relaxed);
                PushSettle::Gone
            }
            Outcome::Refused => {
                self.metrics.refused.fetch_add(1, Ordering::Relaxed);
                self.metrics.failed.fetch_add(1, Ordering::Relaxed);
                self.done(job.seq)
            }
            Outcome::Permanent(why) => {
                tracing::debug!(why, "push failed");
                self.metrics.failed.fetch_add(1, Ordering::Relaxed);
                self.done(job.seq)
            }
            Outcome::Retry(why) if job.attempts + 1 < self.config.max_attempts => {
                tracing::debug!(why, attempt = job.attempts + 1, "push failed; retrying");
                self.metrics.retried.fetch_add(1, Ordering::Relaxed);
                let gap = self.config.retry_base.as_millis() as i64
                    * 3i64.pow(job.attempts.clamp(0, 10) as u32);
                PushSettle::Retry { after_ms: gap }
            }
            Outcome::Retry(why) => {
                tracing::debug!(why, "push failed; giving up this state");
                self.metrics.failed.fetch_add(1, Ordering::Relaxed);
                self.done(job.seq)
            }
        };
        if let Err(e) = store.push_settle(job.push_id, job.lease, settle).await {
            tracing::warn!(error = %e, "cannot record a push");
        }
    }

    fn done(&self, seq: i64) -> PushSettle {
        PushSettle::Done {
            seq,
            window_ms: self.config.coalesce.as_millis() as i64,
        }
    }

    async fn send(&self, target: &PushTarget, job: &PushJob) -> Outcome {
        if !self.address_allowed(target.url()) {
            return Outcome::Refused;
        }
        let request = match target {
            PushTarget::WebPush {
                endpoint,
                p256dh,
                auth,
                ..
            } => {
                let body =
                    serde_json::json!({"inbox_id": job.inbox_id, "seq": job.seq}).to_string();
                let Some(sealed) = webpush::encrypt(body.as_bytes(), p256dh, auth) else {
                    return Outcome::Permanent("the push body does not fit one record");
                };
                let exp = now() + 12 * 3600;
                let Some(authorization) =
                    self.vapid
                        .authorization(endpoint, &self.config.contact, exp)
                else {
                    return Outcome::Permanent("the endpoint has no origin");
                };
                self.client
                    .post(endpoint)
                    .header("content-encoding", "aes128gcm")
                    .header("content-type", "application/octet-stream")
                    .header("ttl", self.config.ttl_secs.to_string())
                    .header("urgency", "high")
                    .header("authorization", authorization)
                    .body(sealed)
            }
            PushTarget::Gateway {
                url,
                app_id,
                pushkey,
            } => self.client.post(url).json(&serde_json::json!({
                "notification": {
                    "event_id": job.seq.to_string(),
                    "room_id": job.inbox_id,
                    "counts": {"unread": job.unread},
                    "prio": "high",
                    "devices": [{"app_id": app_id, "pushkey": pushkey}],
                }
            })),
        };
        let response = match request.send().await {
            Ok(r) => r,
            // Never the URL (a capability) in a log: only the kind of failure.
            Err(e) if fio_peer::sync::refused(&e).is_some() => return Outcome::Refused,
            Err(e) if e.is_timeout() => return Outcome::Retry("timed out"),
            Err(e) if e.is_connect() => return Outcome::Retry("cannot connect"),
            Err(_) => return Outcome::Retry("request failed"),
        };
        let status = response.status().as_u16();
        match (target, status) {
            (_, 200..=299) => {}
            (PushTarget::WebPush { .. }, 404 | 410) => return Outcome::Gone,
            (_, 429 | 500..=599) => return Outcome::Retry("the push service is unavailable"),
            _ => return Outcome::Permanent("the push service refused the push"),
        }
        let PushTarget::Gateway { pushkey, .. } = target else {
            return Outcome::Delivered;
        };
        // A gateway names the pushkeys it no longer serves.
        let body = match read_capped(response).await {
            Some(b) => b,
            None => return Outcome::Delivered,
        };
        let rejected = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("rejected").and_then(|r| r.as_array()).cloned())
            .unwrap_or_default();
        if rejected.iter().any(|k| k.as_str() == Some(pushkey)) {
            Outcome::Gone
        } else {
            Outcome::Delivered
        }
    }

    /// An IP-literal host is judged here (the resolver never sees it);
    /// names by the client's resolver, on the addresses it would connect
    /// to when sending, so a name that points (or later rebinds) at this
    /// machine or a private network is never reached.
    fn address_allowed(&self, url: &str) -> bool {
        if self.config.allow_insecure {
            return true;
        }
        match url::Url::parse(url)
            .ok()
            .and_then(|u| u.host().map(|h| h.to_owned()))
        {
            Some(url::Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)),
            Some(url::Host::Domain(d)) => !target::is_local_name(&d),
            None => false,
        }
    }
}

/// How one push went.
enum Outcome {
    Delivered,
    /// 404/410 from a Web Push endpoint, or the gateway rejected the key.
    Gone,
    /// The target's address is not one the relay may reach.
    Refused,
    Retry(&'static str),
    Permanent(&'static str),
}

/// The identity hash of a target (what makes a re-registration the same).
pub fn identity(target: &PushTarget) -> [u8; 32] {
    Sha256::digest(target.identity().as_bytes()).into()
}

async fn read_capped(mut response: reqwest::Response) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

/// The HTTP client pushes go out on: rustls with the platform's trust, no
/// redirects, no proxy from the environment (it would resolve names we
/// must check), and a resolver that drops every non-public address unless
/// insecure targets are allowed.
fn client(config: &PushConfig) -> Result<reqwest::Client, String> {
    let mut builder = fio_peer::chain::http_client_builder(config.request_timeout)?
        .no_proxy()
        .user_agent(concat!("fio-inbox/", env!("CARGO_PKG_VERSION")));
    if !config.allow_insecure {
        builder = builder.dns_resolver(fio_peer::sync::public_only_resolver());
    }
    builder.build().map_err(|e| e.to_string())
}

/// Pushes counted in metrics, by outcome.
pub fn metric_rows(m: &PushMetrics) -> [(&'static str, u64); 5] {
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    [
        ("{outcome=\"sent\"}", get(&m.sent)),
        ("{outcome=\"retried\"}", get(&m.retried)),
        ("{outcome=\"failed\"}", get(&m.failed)),
        ("{outcome=\"removed\"}", get(&m.removed)),
        ("{outcome=\"refused\"}", get(&m.refused)),
    ]
}
