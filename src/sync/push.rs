//! Being woken by push (docs/protocol.md §4.4): registering where the
//! relay pushes (a Web Push subscription or a Matrix push gateway) on our
//! inbox, keeping the registrations across an inbox move, and the short
//! receive a notification extension runs when a push arrives.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    relay_json, unless_cancelled, CancelToken, Engine, SyncEngine, SyncError, SyncReport, Turn,
};
use super::{Budget, SMALL_BODY};
use crate::protocol::Action;
use crate::wallet::{
    Direction, EventRecord, MessageRecord, MessageStatus, StoredPushRegistration, WalletEvent,
};

/// Where the relay pushes to wake this wallet.
#[derive(Clone, PartialEq, Eq)]
pub enum PushTarget {
    /// A Web Push subscription (W3C `PushSubscription`; a UnifiedPush
    /// distributor on Android): its endpoint and keys, base64url as the
    /// platform gives them.
    WebPush {
        endpoint: String,
        p256dh: String,
        auth: String,
    },
    /// A Matrix push gateway (Sygnal, or the vendor's own) that holds the
    /// vendor's APNs/FCM credentials: its `/_matrix/push/v1/notify` URL, the
    /// app id it knows, and the device token.
    Gateway {
        url: String,
        app_id: String,
        pushkey: String,
    },
}

// A device's push keys, its endpoint and its token are capabilities.
impl std::fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PushTarget::WebPush { .. } => "PushTarget::WebPush(..)",
            PushTarget::Gateway { .. } => "PushTarget::Gateway(..)",
        })
    }
}

impl PushTarget {
    /// The body of `POST /v1/inboxes/{id}/push`.
    pub fn to_json(&self) -> Value {
        match self {
            PushTarget::WebPush {
                endpoint,
                p256dh,
                auth,
            } => json!({
                "kind": "webpush",
                "endpoint": endpoint,
                "expirationTime": null,
                "keys": {"p256dh": p256dh, "auth": auth},
            }),
            PushTarget::Gateway {
                url,
                app_id,
                pushkey,
            } => json!({"kind": "gateway", "url": url, "app_id": app_id, "pushkey": pushkey}),
        }
    }

    /// What makes two registrations one device (the relay's rule,
    /// [`push_identity`]).
    pub fn identity(&self) -> String {
        push_identity(&self.to_json()).expect("a target's JSON has its identity")
    }

    fn from_json(v: &Value) -> Option<PushTarget> {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
        match v.get("kind")?.as_str()? {
            "webpush" => Some(PushTarget::WebPush {
                endpoint: s("/endpoint")?,
                p256dh: s("/keys/p256dh")?,
                auth: s("/keys/auth")?,
            }),
            "gateway" => Some(PushTarget::Gateway {
                url: s("/url")?,
                app_id: s("/app_id")?,
                pushkey: s("/pushkey")?,
            }),
            _ => None,
        }
    }
}

/// A push registration of our inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRegistration {
    /// The relay's id for it (32 hex): what `remove_push` takes.
    pub push_id: String,
    pub target: PushTarget,
    /// Unix seconds.
    pub created_at: i64,
}

impl PushRegistration {
    fn from_stored(r: &StoredPushRegistration) -> Option<PushRegistration> {
        let target = PushTarget::from_json(&serde_json::from_str(&r.target).ok()?)?;
        Some(PushRegistration {
            push_id: r.push_id.clone(),
            target,
            created_at: r.created_at,
        })
    }
}

/// One line a notification can show, built from what a push made the
/// wallet receive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The event it comes from (mark it handled once shown, if the app
    /// reads its log that way).
    pub event_id: i64,
    pub peer: String,
    /// The FIP-24 action it reports.
    pub action: Action,
    /// Something to show, e.g. "bob@wallet requests 0.01 BTC: dinner".
    pub text: String,
}

/// What the notification-extension receive did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationReceive {
    /// What to show, oldest first: what came in since the last such call
    /// and is not yet marked handled by the app, each event once; at most
    /// [`MAX_NOTICES`], the newest.
    pub notices: Vec<Notice>,
    /// Notices left out beyond [`MAX_NOTICES`] ("and 12 more").
    pub omitted: u64,
    /// The fetch's report (what was fetched, and whether the budget or
    /// another sync stopped it: `stopped`).
    pub report: SyncReport,
    /// The fetch failed after something was committed: what it committed
    /// is in `notices`, and this says why it stopped.
    pub error: Option<String>,
}

/// Notices one call returns at most: a notification shows a few lines.
pub const MAX_NOTICES: usize = 50;

#[derive(Deserialize)]
struct Registered {
    push_id: String,
}

#[derive(Deserialize)]
struct VapidKey {
    public_key: String,
}

impl SyncEngine {
    /// Registers `target` on our inbox (creating the inbox first if the
    /// wallet has none) and keeps it, so an inbox move registers it again.
    /// Registering the same device again replaces it. `cancel` ends it at
    /// once (its wait for a running sync too).
    pub async fn register_push(
        &self,
        target: PushTarget,
        cancel: CancelToken,
    ) -> Result<PushRegistration, SyncError> {
        self.exclusive(
            Turn::cancellable(Some(cancel.clone())),
            move |e| async move {
                unless_cancelled(&cancel, async {
                    e.ensure_inbox().await?;
                    e.register_push(&target).await
                })
                .await
            },
        )
        .await
    }

    /// Removes a registration from the relay and from the wallet. One the
    /// relay no longer has (it was gone) is removed here all the same.
    pub async fn remove_push(
        &self,
        push_id: String,
        cancel: CancelToken,
    ) -> Result<bool, SyncError> {
        self.exclusive(
            Turn::cancellable(Some(cancel.clone())),
            move |e| async move { unless_cancelled(&cancel, e.remove_push(&push_id)).await },
        )
        .await
    }

    /// The registrations of our inbox. A local read.
    pub fn push_registrations(&self) -> Result<Vec<PushRegistration>, SyncError> {
        Ok(self
            .wallet()
            .push_registrations()?
            .iter()
            .filter_map(PushRegistration::from_stored)
            .collect())
    }

    /// The relay's VAPID public key (base64url): the `applicationServerKey`
    /// a Web Push or UnifiedPush subscription must be made with.
    pub async fn relay_push_key(&self, cancel: CancelToken) -> Result<String, SyncError> {
        self.exclusive(
            Turn::cancellable(Some(cancel.clone())),
            move |e| async move {
                let relay = match e.blocking(|w| w.own_inbox()).await? {
                    Some(inbox) => inbox.relay.clone(),
                    None => e.config.relay.clone().ok_or(SyncError::NoRelay)?,
                };
                let url = format!("{}/v1/push/vapid", relay.trim_end_matches('/'));
                let (v, _): (VapidKey, _) =
                    unless_cancelled(&cancel, relay_json(e.http.get(&url), 200, SMALL_BODY))
                        .await?;
                Ok(v.public_key)
            },
        )
        .await
    }

    /// What a notification extension (or an FCM/UnifiedPush handler) runs
    /// when a push arrives: fetches, receives and commits what waits in the
    /// inbox, within `budget` and at most `max_messages` envelopes, under
    /// the wallet's one-writer lock, and returns what to show. Nothing is
    /// delivered (replies wait in the outbox for the app's next sync), so
    /// the time goes to receiving. A budget that runs out, or another sync
    /// holding the wallet, is not an error: `report.stopped` says so, and
    /// what was committed is shown.
    pub async fn receive_for_notification(
        &self,
        budget: Duration,
        max_messages: Option<u64>,
        cancel: CancelToken,
    ) -> Result<NotificationReceive, SyncError> {
        let timer = Budget::start(&self.rt, &cancel, Some(budget));
        let token = timer.token.clone();
        let turn = Turn {
            stop: Some(token.clone()),
            app: Some(cancel.clone()),
            wait: None,
        };
        let result = self
            .exclusive(turn, move |e| async move {
                let mut report = SyncReport::default();
                // No long poll: the push says something is there already.
                let r = e
                    .fetch_polling(&mut report, None, &token, max_messages, Duration::ZERO)
                    .await;
                Ok((report, r))
            })
            .await;
        let fetched = timer.finish(&cancel, result);
        // What was committed is shown even when the fetch then failed (or
        // was cancelled): the next call would not show it again.
        let (from, to) = self.wallet().claim_notices()?;
        let (notices, omitted) = notices(self, from, to)?;
        match fetched {
            Ok(report) => Ok(NotificationReceive {
                notices,
                omitted,
                report,
                error: None,
            }),
            Err(e) if notices.is_empty() => Err(e),
            Err(e) => Ok(NotificationReceive {
                notices,
                omitted,
                report: SyncReport::default(),
                error: Some(e.to_string()),
            }),
        }
    }
}

impl Engine {
    async fn register_push(&self, target: &PushTarget) -> Result<PushRegistration, SyncError> {
        let inbox = self
            .blocking(|w| w.own_inbox())
            .await?
            .ok_or(SyncError::NoInbox)?;
        let body = target.to_json();
        let request = self
            .http
            .post(format!("{}/push", inbox.inbox_url))
            .bearer_auth(&inbox.credential)
            .json(&body);
        let (r, _): (Registered, _) = relay_json(request, 201, SMALL_BODY).await?;
        // It goes into a URL path and onto screens: the contract's form only.
        if !is_push_id(&r.push_id) {
            return Err(SyncError::Relay {
                status: 201,
                message: "unexpected answer: push_id is not 32 lowercase hex".into(),
            });
        }
        let (identity, text, inbox_id, push_id) = (
            target.identity(),
            body.to_string(),
            inbox.inbox_id.clone(),
            r.push_id.clone(),
        );
        self.blocking(move |w| w.record_push_registration(&identity, &text, &inbox_id, &push_id))
            .await?;
        Ok(PushRegistration {
            push_id: r.push_id,
            target: target.clone(),
            created_at: crate::wallet::now(),
        })
    }

    async fn remove_push(&self, push_id: &str) -> Result<bool, SyncError> {
        let inbox = self.blocking(|w| w.own_inbox()).await?;
        let known = self.blocking(|w| w.push_registrations()).await?;
        let Some(stored) = known.iter().find(|r| r.push_id == push_id) else {
            return Ok(false);
        };
        // Registered on the current inbox: the relay forgets it too.
        if let Some(inbox) = inbox.filter(|i| i.inbox_id == stored.inbox_id) {
            self.delete_push(&inbox, push_id).await?;
        }
        // An inbox we moved away from is still fetched, and still wakes the
        // device until it goes; a removal (a sign-out) ends that too, as
        // far as its relay answers.
        for old in self.blocking(|w| w.previous_inboxes()).await? {
            let listing = self
                .http
                .get(format!("{}/push", old.inbox_url))
                .bearer_auth(&old.credential);
            let Ok((list, _)) = relay_json::<Value>(listing, 200, SMALL_BODY).await else {
                continue;
            };
            let same: Vec<String> = list["subscriptions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|v| push_identity(v).as_deref() == Some(stored.identity.as_str()))
                .filter_map(|v| v["push_id"].as_str().map(str::to_string))
                .filter(|id| is_push_id(id))
                .collect();
            for id in same {
                if let Err(e) = self.delete_push(&old, &id).await {
                    log::warn!("cannot remove a push registration from a previous inbox: {e}");
                }
            }
        }
        let id = push_id.to_string();
        self.blocking(move |w| w.forget_push_registration(&id))
            .await
    }

    /// `DELETE …/push/{push_id}` on `inbox`; one the relay has not got is gone.
    async fn delete_push(
        &self,
        inbox: &crate::wallet::OwnInbox,
        push_id: &str,
    ) -> Result<(), SyncError> {
        let resp = self
            .http
            .delete(format!("{}/push/{push_id}", inbox.inbox_url))
            .bearer_auth(&inbox.credential)
            .send()
            .await
            .map_err(|e| SyncError::Transport(crate::chain::client::describe_http(&e)))?;
        let status = resp.status().as_u16();
        if status != 204 && status != 404 {
            let body = crate::chain::client::read_capped(resp, SMALL_BODY)
                .await
                .unwrap_or_default();
            return Err(super::relay_error(status, &body));
        }
        Ok(())
    }

    /// Registers on our current inbox every registration that was made on
    /// an earlier one (after an inbox move), newest first (the 5 a relay
    /// takes go to the devices that registered last). A relay that refuses
    /// one for good (400, 404, 409: not a target it takes, no push, full)
    /// makes the wallet forget it: the app registers its device again at
    /// its next start. Other failures are left for the next sync; the sync
    /// does not fail for them.
    pub(super) async fn carry_push_registrations(&self) -> Result<(), SyncError> {
        let Some(inbox) = self.blocking(|w| w.own_inbox()).await? else {
            return Ok(());
        };
        let mut stale: Vec<_> = self
            .blocking(|w| w.push_registrations())
            .await?
            .into_iter()
            .filter(|r| r.inbox_id != inbox.inbox_id)
            .collect();
        stale.reverse();
        for r in stale {
            let forget = match PushRegistration::from_stored(&r) {
                None => true,
                Some(registration) => match self.register_push(&registration.target).await {
                    Ok(_) => false,
                    Err(SyncError::Relay { status, message })
                        if (400..500).contains(&status) && status != 401 && status != 429 =>
                    {
                        log::warn!("the new inbox's relay refused a push registration ({status}: {message}); forgotten");
                        true
                    }
                    Err(e) => {
                        log::warn!("cannot register a push target on the new inbox yet: {e}");
                        false
                    }
                },
            };
            if forget {
                let id = r.push_id.clone();
                self.blocking(move |w| w.forget_push_registration(&id))
                    .await?;
            }
        }
        Ok(())
    }
}

/// A push id as the contract gives it: 32 lowercase hex.
fn is_push_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What makes two push registrations one device, from the subscription's
/// JSON as it is registered or listed (docs/protocol.md §4.4): the same
/// Web Push endpoint, or the same gateway url, app_id and pushkey. One rule
/// for the relay, which replaces such a registration, and the wallet.
pub fn push_identity(v: &Value) -> Option<String> {
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    match s("kind")? {
        "webpush" => Some(format!("webpush {}", s("endpoint")?)),
        "gateway" => Some(format!(
            "gateway {} {} {}",
            s("url")?,
            s("app_id")?,
            s("pushkey")?
        )),
        _ => None,
    }
}

/// The notices for the events in `(from, to]`: requests and texts that
/// came in, and the answers to ours; the newest [`MAX_NOTICES`], and how
/// many more there were.
fn notices(engine: &SyncEngine, from: i64, to: i64) -> Result<(Vec<Notice>, u64), SyncError> {
    let wallet = engine.wallet();
    let mut out = std::collections::VecDeque::new();
    let mut omitted = 0u64;
    let mut after = from;
    while after < to {
        let page = wallet.events(Some(after), 200)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for n in page
            .iter()
            .take_while(|e| e.id <= to)
            .filter_map(|e| notice(wallet, e))
        {
            if out.len() == MAX_NOTICES {
                out.pop_front();
                omitted += 1;
            }
            out.push_back(n);
        }
    }
    Ok((out.into(), omitted))
}

fn notice(wallet: &Arc<crate::wallet::Wallet>, e: &EventRecord) -> Option<Notice> {
    match &e.event {
        // What came in that waits for the user; answers to our requests
        // are told by their status change below, once.
        WalletEvent::QueueItemAdded { item }
            if matches!(
                item.action,
                Action::NewFundsRequest
                    | Action::NewPubAddressRequest
                    | Action::NewComRequest
                    | Action::SendPrivateText
            ) =>
        {
            let m = &item.message;
            let peer = item.peer.as_str().to_string();
            Some(Notice {
                event_id: e.id,
                text: describe_incoming(&peer, m),
                peer,
                action: item.action,
            })
        }
        WalletEvent::MessageStatusChanged {
            peer,
            message_id,
            status,
        } => {
            let (action, what) = match status {
                MessageStatus::Accepted => (Action::AcceptRequest, "accepted"),
                MessageStatus::Rejected => (Action::RejectRequest, "rejected"),
                MessageStatus::Cancelled => (Action::CancelRequest, "cancelled"),
                _ => return None,
            };
            let text = match status {
                MessageStatus::Cancelled => format!("{peer} cancelled a request"),
                _ => {
                    let ours = wallet
                        .message(peer, Direction::Outgoing, message_id)
                        .ok()
                        .flatten();
                    match ours.as_ref().map(|m| (m.action, &m.data)) {
                        Some((Action::NewFundsRequest, d)) if what == "accepted" => format!(
                            "{peer} paid your request for {}",
                            amount(d.amount.as_deref(), d.token_code.as_deref())
                        ),
                        Some((Action::NewFundsRequest, d)) => format!(
                            "{peer} rejected your request for {}",
                            amount(d.amount.as_deref(), d.token_code.as_deref())
                        ),
                        Some((Action::NewComRequest, _)) if what == "accepted" => {
                            format!("{peer} accepted your connection")
                        }
                        Some((Action::NewComRequest, _)) => {
                            format!("{peer} declined your connection")
                        }
                        _ => format!("{peer} {what} your request"),
                    }
                }
            };
            Some(Notice {
                event_id: e.id,
                peer: peer.clone(),
                action,
                text,
            })
        }
        WalletEvent::QueueItemAdded { .. } => None,
        WalletEvent::PeerKeyChanged { peer, .. } => Some(Notice {
            event_id: e.id,
            peer: peer.clone(),
            action: Action::NewComRequest,
            text: format!("{peer} now uses a different key: check before paying"),
        }),
    }
}

fn amount(amount: Option<&str>, token: Option<&str>) -> String {
    match (amount, token) {
        (Some(a), Some(t)) => format!("{a} {t}"),
        (Some(a), None) => a.to_string(),
        (None, Some(t)) => t.to_string(),
        (None, None) => "an amount".into(),
    }
}

/// "bob@wallet requests 0.01 BTC: dinner", and the like.
fn describe_incoming(peer: &str, m: &MessageRecord) -> String {
    let d = &m.data;
    let memo = d
        .memo
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| format!(": {}", clip(s)))
        .unwrap_or_default();
    match m.action {
        Action::NewFundsRequest => format!(
            "{peer} requests {}{memo}",
            amount(d.amount.as_deref(), d.token_code.as_deref())
        ),
        Action::NewPubAddressRequest => {
            let what = match (d.chain_code.as_deref(), d.token_code.as_deref()) {
                (Some(c), Some(t)) if c != t => format!("{c}/{t}"),
                (_, Some(t)) => t.to_string(),
                (Some(c), None) => c.to_string(),
                (None, None) => "a".into(),
            };
            format!("{peer} asks for your {what} address{memo}")
        }
        Action::NewComRequest => format!("{peer} wants to connect{memo}"),
        Action::SendPrivateText => format!(
            "{peer}{}",
            if memo.is_empty() {
                " sent a message".into()
            } else {
                memo
            }
        ),
        other => format!("{peer} sent {}", other.name()),
    }
}

/// A notification line is short and one line: at most 120 characters of a
/// memo, with control, line-breaking, bidirectional and zero-width
/// characters replaced by spaces (a peer's memo must not fake a second
/// line or reorder the text around it).
fn clip(s: &str) -> String {
    let shown = |c: char| {
        !(c.is_control()
            || matches!(c,
                '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'))
    };
    let mut out: String = s
        .chars()
        .take(120)
        .map(|c| if shown(c) { c } else { ' ' })
        .collect();
    if s.chars().count() > 120 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn a_memo_cannot_fake_a_line_or_reorder_the_text() {
        let forged = "x\u{2028}alice@wallet paid your request for 5 BTC\u{202E}gnp.exe";
        let shown = clip(forged);
        assert!(
            !shown.chars().any(|c| matches!(c, '\u{2028}' | '\u{202E}')),
            "{shown:?}"
        );
        assert_eq!(clip("a\nb\tc\u{200B}d"), "a b c d");
        assert_eq!(clip(&"é".repeat(130)).chars().count(), 121);
    }
}
