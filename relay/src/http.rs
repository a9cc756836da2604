//! The HTTP API (docs/protocol.md §4.2) on axum: handlers, limits, errors.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete as delete_route, get, post};
use axum::{Extension, Json, Router};
use fio_peer::protocol::{
    check_submission, ErrorKind, ProtocolError, Submission, MAX_ENVELOPE_LEN,
};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::limits::{client_key, Limiters, RateLimits};
use crate::push::{PushConfig, PushTarget, Pusher, MAX_SUBSCRIPTIONS};
use crate::store::{credential_hash, Store, StoreError};

/// The longest a fetch may wait for new envelopes.
pub const MAX_WAIT_SECS: u64 = 30;

/// What the HTTP layer is configured with.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The public base URL inbox URLs are built from.
    pub public_url: String,
    pub limits: RateLimits,
    /// A header a trusted proxy puts the client address in (its last entry
    /// is used); without it the TCP peer address is the client.
    pub client_ip_header: Option<HeaderName>,
    /// Longest a whole request body may take to arrive once its headers
    /// are in (408 after it), however it trickles.
    pub body_timeout: Duration,
    /// Longest a request may take (above the long-poll maximum).
    pub request_timeout: Duration,
    /// Request line and headers together, in bytes, and the number of
    /// headers: 431 with the JSON error above them. (The HTTP parser's own
    /// hard limits are twice these; beyond them it closes the connection
    /// with a bare 431.)
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// Long polls (`wait` > 0) open at once on one inbox, and from one
    /// client address (IPv6: its /64); 429 beyond.
    pub max_polls_per_inbox: usize,
    pub max_polls_per_client: usize,
    /// How pushes are sent (§4.4).
    pub push: PushConfig,
}

impl HttpConfig {
    pub fn new(public_url: &str) -> Self {
        HttpConfig {
            public_url: public_url.trim_end_matches('/').to_string(),
            limits: RateLimits::default(),
            client_ip_header: None,
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(MAX_WAIT_SECS + 15),
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_polls_per_inbox: 4,
            max_polls_per_client: 256,
            push: PushConfig::default(),
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub config: HttpConfig,
    pub metrics: Metrics,
    pub pusher: Arc<Pusher>,
    limiters: Limiters,
    polls: Polls,
    /// Turns true when the relay begins to shut down: long polls return.
    shutdown: watch::Sender<bool>,
}

impl AppState {
    /// The relay's state on `store`: loads its VAPID key and starts the
    /// push worker on the current tokio runtime (it stops at shutdown).
    pub async fn start(store: Store, config: HttpConfig) -> Result<Arc<AppState>, StoreError> {
        let pusher = Arc::new(Pusher::new(&store, config.push.clone()).await?);
        let shutdown = watch::channel(false).0;
        tokio::spawn(pusher.clone().run(store.clone(), shutdown.subscribe()));
        Ok(Arc::new(AppState {
            limiters: Limiters::new(&config.limits),
            polls: Polls::default(),
            store,
            config,
            metrics: Metrics::default(),
            pusher,
            shutdown,
        }))
    }

    /// Makes waiting fetches answer now (called when shutdown begins).
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn public_url(&self) -> &str {
        &self.config.public_url
    }
}

/// Request counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    inboxes_created: AtomicU64,
    submits_accepted: AtomicU64,
    submits_duplicate: AtomicU64,
    submits_refused: AtomicU64,
    fetches: AtomicU64,
    acks: AtomicU64,
    limited_ip: AtomicU64,
    limited_ip_create: AtomicU64,
    limited_ip_new: AtomicU64,
    limited_inbox: AtomicU64,
    limited_inbox_new: AtomicU64,
    limited_polls: AtomicU64,
    limited_ip_bytes: AtomicU64,
    poll_wakeups: AtomicU64,
    storage_errors: AtomicU64,
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub fn router(state: Arc<AppState>) -> Router {
    use tower_http::timeout::TimeoutLayer;
    let config = &state.config;
    Router::new()
        .route("/v1/inboxes", post(create))
        .route("/v1/inboxes/{inbox_id}", post(submit).delete(delete))
        .route("/v1/inboxes/{inbox_id}/messages", get(fetch))
        .route("/v1/inboxes/{inbox_id}/ack", post(ack))
        .route("/v1/inboxes/{inbox_id}/push", post(push_add).get(push_list))
        .route(
            "/v1/inboxes/{inbox_id}/push/{push_id}",
            delete_route(push_remove),
        )
        .route("/v1/push/vapid", get(vapid))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(StatusCode::NOT_FOUND, None, "No such resource") })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "Method not allowed here",
            )
        })
        // The envelope limit is enforced while reading, before buffering
        // (`front` reads the body, within the body timeout).
        .layer(DefaultBodyLimit::max(MAX_ENVELOPE_LEN))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), front))
        .with_state(state)
}

/// The client's address as limits see it.
#[derive(Clone, Copy, Debug)]
struct ClientIp(IpAddr);

/// Every request: find the client address, apply the per-address limit,
/// and write one access-log line (no inbox ids, addresses or tokens).
async fn front(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = state.config.client_ip_header.as_ref().and_then(|name| {
        let value = request.headers().get(name)?.to_str().ok()?;
        value.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
    });
    let ip = forwarded.or(peer).map(client_key);
    // MatchedPath holds an Arc<str>: cloning it does not allocate.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("-", |p| p.as_str());
    let method = request.method().clone();
    // Health checks and metric scrapes come from the operator's own systems.
    let exempt = matches!(route, "/healthz" | "/metrics");
    // A declared body above the limit is refused before a byte of it is read.
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_ENVELOPE_LEN as u64) {
        let mut response = protocol_error(&ProtocolError::new(ErrorKind::PayloadTooLarge));
        // The unread body makes the connection unusable for another request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        log_access(&method, route, &response, started);
        return response;
    }
    if let Some(response) = header_size_refusal(&state.config, &request) {
        log_access(&method, route, &response, started);
        return response;
    }
    let response = match ip
        .filter(|_| !exempt)
        .map(|ip| (ip, state.limiters.ip.check(&ip)))
    {
        Some((_, Err(wait))) => {
            bump(&state.metrics.limited_ip);
            too_many(wait)
        }
        Some((ip, Ok(()))) => {
            request.extensions_mut().insert(ClientIp(ip));
            run_with_body(&state, request, next).await
        }
        None => {
            if let Some(ip) = ip {
                request.extensions_mut().insert(ClientIp(ip));
            }
            run_with_body(&state, request, next).await
        }
    };
    let response = json_error_body(response);
    log_access(&method, route, &response, started);
    response
}

/// 431 with the JSON error when the request line and headers are above the
/// configured limits (the parser's own limits are twice these).
fn header_size_refusal(config: &HttpConfig, request: &Request) -> Option<Response> {
    let headers = request.headers();
    let bytes = request.uri().to_string().len()
        + request.method().as_str().len()
        + headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if bytes > config.max_header_bytes || headers.len() > config.max_headers {
        let mut response = error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            None,
            "Request headers too large",
        );
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Some(response);
    }
    None
}

/// Reads the whole body, within the body timeout for all of it (a body
/// trickled a byte at a time gets 408 like one that stalls), then runs the
/// request. Bodies above the envelope limit are refused while reading.
async fn run_with_body(state: &AppState, request: Request, next: Next) -> Response {
    use http_body_util::BodyExt;
    if matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    ) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let limited = http_body_util::Limited::new(body, MAX_ENVELOPE_LEN);
    let read = tokio::time::timeout(state.config.body_timeout, limited.collect()).await;
    let bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            let mut response = protocol_error(&ProtocolError::new(ErrorKind::PayloadTooLarge));
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
        // The client went away mid-body: nobody reads this answer.
        Ok(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                None,
                "The request body could not be read",
            )
        }
        Err(_) => {
            let mut response = body_too_late();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Every error the relay sends carries §4.2's JSON body: answers made
/// below the handlers (a path that does not parse, a request timeout) get
/// one built from their status.
fn json_error_body(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_type);
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, _) = response.into_parts();
    let message = status.canonical_reason().unwrap_or("Error");
    let mut rebuilt = error(status, None, message);
    for name in [
        header::RETRY_AFTER,
        header::WWW_AUTHENTICATE,
        header::CONNECTION,
    ] {
        if let Some(v) = parts.headers.get(&name) {
            rebuilt.headers_mut().insert(name, v.clone());
        }
    }
    rebuilt
}

/// Whether the request says its body is JSON.
fn has_json_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_type)
}

/// `application/json`, in any case, with or without parameters (RFC 9110
/// media types are case-insensitive).
fn is_json_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .map(str::trim)
        .is_some_and(|t| t.eq_ignore_ascii_case("application/json"))
}

fn log_access(method: &axum::http::Method, route: &str, response: &Response, started: Instant) {
    tracing::info!(
        target: "fio_inbox::access",
        %method,
        route,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
    );
}

fn error(status: StatusCode, field: Option<&str>, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"type": status.as_u16(), "field": field, "message": message}})),
    )
        .into_response()
}

fn body_too_late() -> Response {
    error(
        StatusCode::REQUEST_TIMEOUT,
        None,
        "The request body did not arrive in time",
    )
}

fn not_json() -> Response {
    error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        None,
        "Content-Type must be application/json",
    )
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        None,
        "Rate limit reached; retry later",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    response
}

fn protocol_error(e: &ProtocolError) -> Response {
    let status = StatusCode::from_u16(e.code()).unwrap_or(StatusCode::BAD_REQUEST);
    error(status, e.field.as_deref(), e.message())
}

fn store_error(state: &AppState, e: StoreError) -> Response {
    match e {
        StoreError::NoInbox => error(StatusCode::NOT_FOUND, None, "No such inbox"),
        StoreError::Full => error(StatusCode::INSUFFICIENT_STORAGE, None, "Inbox is full"),
        StoreError::TooManySubscriptions => error(
            StatusCode::CONFLICT,
            None,
            "The inbox has 5 push subscriptions: delete one first",
        ),
        StoreError::Storage(e) => {
            bump(&state.metrics.storage_errors);
            tracing::error!(error = %e, "storage failure");
            error(StatusCode::SERVICE_UNAVAILABLE, None, "Storage unavailable")
        }
    }
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    fio_peer::crypto::random_bytes(&mut b);
    let text = hex::encode(&b);
    b.fill(0);
    text
}

fn valid_inbox_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn create(State(state): State<Arc<AppState>>, ip: Option<Extension<ClientIp>>) -> Response {
    if let Some(Extension(ClientIp(ip))) = ip {
        if let Err(wait) = state.limiters.ip_create.check(&ip) {
            bump(&state.metrics.limited_ip_create);
            return too_many(wait);
        }
    }
    let (id, credential) = (random_hex(16), random_hex(32));
    if let Err(e) = state
        .store
        .create_inbox(id.clone(), credential_hash(&credential))
        .await
    {
        return store_error(&state, e);
    }
    bump(&state.metrics.inboxes_created);
    let body = json!({
        "inbox_id": id,
        "credential": credential,
        "inbox_url": format!("{}/v1/inboxes/{}", state.config.public_url, id),
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn submit(
    State(state): State<Arc<AppState>>,
    ip: Option<Extension<ClientIp>>,
    path: Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let ip = ip.map(|Extension(ClientIp(ip))| ip);
    let response = submit_inner(&state, ip, path, headers, body).await;
    if response.status() != StatusCode::ACCEPTED {
        bump(&state.metrics.submits_refused);
    }
    response
}

async fn submit_inner(
    state: &AppState,
    ip: Option<IpAddr>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    use axum::extract::rejection::FailedToBufferBody;
    let json_type = has_json_type(&headers);
    let body = match body {
        Ok(b) => b,
        Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
            return protocol_error(&ProtocolError::new(ErrorKind::PayloadTooLarge))
        }
        Err(_) => return body_too_late(),
    };
    if !json_type {
        return not_json();
    }
    if !valid_inbox_id(&inbox_id) {
        return store_error(state, StoreError::NoInbox);
    }
    let Submission { new, key, text } = match check_submission(&body) {
        Ok(s) => s,
        Err(e) => return protocol_error(&e),
    };
    let limited = (|| {
        let l = &state.limiters;
        let m = &state.metrics;
        if let (true, Some(ip)) = (new, ip) {
            l.ip_new.check(&ip).map_err(|w| (w, &m.limited_ip_new))?;
        }
        if new {
            l.inbox_new
                .check(&inbox_id)
                .map_err(|w| (w, &m.limited_inbox_new))?;
        }
        l.inbox
            .check(&inbox_id)
            .map_err(|w| (w, &m.limited_inbox))?;
        if let Some(ip) = ip {
            let bytes = u32::try_from(body.len()).unwrap_or(u32::MAX);
            l.ip_bytes
                .take(&ip, bytes)
                .map_err(|w| (w, &m.limited_ip_bytes))?;
        }
        Ok(())
    })();
    if let Err((wait, counter)) = limited {
        bump(counter);
        return too_many(wait);
    }
    match state.store.submit(inbox_id, key, text).await {
        Ok(s) => {
            let counter = if s.duplicate {
                &state.metrics.submits_duplicate
            } else {
                &state.metrics.submits_accepted
            };
            bump(counter);
            if !s.duplicate {
                state.pusher.ring();
            }
            let body = json!({"seq": s.seq, "duplicate": s.duplicate});
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Err(e) => store_error(state, e),
    }
}

/// The inbox's bearer credential must match; unknown inboxes look the same.
async fn authorize(state: &AppState, inbox_id: &str, headers: &HeaderMap) -> Result<(), Response> {
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, c)| c.trim());
    let ok = match credential {
        Some(c) if valid_inbox_id(inbox_id) => state
            .store
            .authorized(inbox_id, c)
            .await
            .map_err(|e| store_error(state, e))?,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        let mut response = error(
            StatusCode::UNAUTHORIZED,
            None,
            "Missing or wrong credential",
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        Err(response)
    }
}

#[derive(Deserialize)]
struct FetchParams {
    after: Option<i64>,
    limit: Option<i64>,
    wait: Option<u64>,
}

/// How often a long poll looks again even without a commit notice, so that
/// it cannot miss one (a lost PostgreSQL notification connection, say).
const RECHECK: Duration = Duration::from_secs(5);

async fn fetch(
    State(state): State<Arc<AppState>>,
    ip: Option<Extension<ClientIp>>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
    params: Result<Query<FetchParams>, QueryRejection>,
) -> Response {
    let ip = ip.map(|Extension(ClientIp(ip))| ip);
    if let Err(r) = authorize(&state, &inbox_id, &headers).await {
        return r;
    }
    let Ok(Query(p)) = params else {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            "Invalid query: after, limit and wait are integers",
        );
    };
    let after = p.after.unwrap_or(0);
    let limit = p.limit.unwrap_or(100);
    let wait = p.wait.unwrap_or(0);
    if after < 0 {
        return error(StatusCode::BAD_REQUEST, Some("after"), "Invalid cursor");
    }
    if !(1..=500).contains(&limit) {
        return error(
            StatusCode::BAD_REQUEST,
            Some("limit"),
            "Invalid limit: 1 to 500",
        );
    }
    if wait > MAX_WAIT_SECS {
        return error(
            StatusCode::BAD_REQUEST,
            Some("wait"),
            "Invalid wait: 0 to 30 seconds",
        );
    }
    bump(&state.metrics.fetches);
    // For the expiry of idle inboxes; a failure here must not fail the fetch.
    if let Err(e) = state.store.touch(&inbox_id).await {
        tracing::warn!(error = %e, "cannot record the fetch");
    }
    // A long poll holds a slot of its inbox and of its client address.
    let _slot = if wait > 0 {
        match state.polls.enter(&inbox_id, ip, &state.config) {
            Some(slot) => Some(slot),
            None => {
                bump(&state.metrics.limited_polls);
                return too_many(Duration::from_secs(RETRY_POLL_SECS));
            }
        }
    } else {
        None
    };
    let waiting = state.store.waiters().watch(&inbox_id);
    let mut shutdown = state.shutdown.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        // Registered before the read, so a commit between the two wakes it.
        let stored = waiting.notified();
        tokio::pin!(stored);
        stored.as_mut().enable();
        let messages = match state.store.fetch(&inbox_id, after, limit).await {
            Ok(m) => m,
            Err(e) => return store_error(&state, e),
        };
        let now = tokio::time::Instant::now();
        if !messages.is_empty() || now >= deadline || *shutdown.borrow() {
            let next_after = messages.last().map_or(after, |m| m.seq);
            let list: Vec<_> = messages
                .into_iter()
                .map(
                    |m| json!({"seq": m.seq, "received_at": m.received_at, "envelope": m.envelope}),
                )
                .collect();
            return Json(json!({"messages": list, "next_after": next_after})).into_response();
        }
        let wake = deadline.min(now + RECHECK);
        tokio::select! {
            _ = &mut stored => bump(&state.metrics.poll_wakeups),
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

/// Retry-After of a long poll refused for too many at once.
const RETRY_POLL_SECS: u64 = 5;

/// Long polls open now, per inbox and per client address.
#[derive(Default)]
pub(crate) struct Polls(std::sync::Mutex<PollCounts>);

#[derive(Default)]
struct PollCounts {
    inbox: std::collections::HashMap<String, usize>,
    ip: std::collections::HashMap<IpAddr, usize>,
}

impl Polls {
    fn counts(&self) -> std::sync::MutexGuard<'_, PollCounts> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for one more poll of `inbox` from `ip`, or `None` beyond the caps.
    fn enter<'a>(
        &'a self,
        inbox: &str,
        ip: Option<IpAddr>,
        config: &HttpConfig,
    ) -> Option<PollSlot<'a>> {
        let mut c = self.counts();
        let on_inbox = c.inbox.get(inbox).copied().unwrap_or(0);
        let from_ip = ip.map_or(0, |ip| c.ip.get(&ip).copied().unwrap_or(0));
        if on_inbox >= config.max_polls_per_inbox || from_ip >= config.max_polls_per_client {
            return None;
        }
        *c.inbox.entry(inbox.to_string()).or_default() += 1;
        if let Some(ip) = ip {
            *c.ip.entry(ip).or_default() += 1;
        }
        Some(PollSlot {
            polls: self,
            inbox: inbox.to_string(),
            ip,
        })
    }
}

/// Gives its poll's slots back when the poll ends (or is dropped).
struct PollSlot<'a> {
    polls: &'a Polls,
    inbox: String,
    ip: Option<IpAddr>,
}

impl Drop for PollSlot<'_> {
    fn drop(&mut self) {
        let mut c = self.polls.counts();
        if let Some(n) = c.inbox.get_mut(&self.inbox) {
            *n -= 1;
            if *n == 0 {
                c.inbox.remove(&self.inbox);
            }
        }
        if let Some(ip) = self.ip {
            if let Some(n) = c.ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    c.ip.remove(&ip);
                }
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    up_to: i64,
}

/// The ack body: exactly `{"up_to": <seq>}` (an object, nothing else in
/// it; serde alone would also take `[1]`). `None`: anything else.
fn ack_body(body: &[u8]) -> Option<AckBody> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).ok()?;
    serde_json::from_value(serde_json::Value::Object(object)).ok()
}

async fn ack(
    State(state): State<Arc<AppState>>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(r) = authorize(&state, &inbox_id, &headers).await {
        return r;
    }
    let Ok(body) = body else {
        return body_too_late();
    };
    if !has_json_type(&headers) {
        return not_json();
    }
    let Some(body) = ack_body(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            Some("up_to"),
            "Body must be {\"up_to\": <seq>}",
        );
    };
    bump(&state.metrics.acks);
    match state.store.ack(inbox_id, body.up_to).await {
        Ok(n) => Json(json!({"deleted": n})).into_response(),
        Err(e) => store_error(&state, e),
    }
}

async fn delete(
    State(state): State<Arc<AppState>>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&state, &inbox_id, &headers).await {
        return r;
    }
    match state.store.delete_inbox(inbox_id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => store_error(&state, e),
    }
}

/// The relay's VAPID public key (§4.4): what a subscription's
/// `applicationServerKey` must be, and what `k=` carries.
async fn vapid(State(state): State<Arc<AppState>>) -> Response {
    Json(json!({"public_key": state.pusher.vapid.public_key()})).into_response()
}

/// Registers a Web Push subscription or a push gateway on the inbox.
async fn push_add(
    State(state): State<Arc<AppState>>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(r) = authorize(&state, &inbox_id, &headers).await {
        return r;
    }
    let Ok(body) = body else {
        return body_too_late();
    };
    if !has_json_type(&headers) {
        return not_json();
    }
    let target = match state.pusher.parse(&body) {
        Ok(t) => t,
        Err(e) => return error(StatusCode::BAD_REQUEST, Some(e.field), &e.message),
    };
    let added = state
        .store
        .push_add(
            inbox_id,
            random_hex(16),
            crate::push::identity(&target),
            target.to_json(),
            MAX_SUBSCRIPTIONS,
        )
        .await;
    match added {
        Ok(push_id) => (StatusCode::CREATED, Json(json!({"push_id": push_id}))).into_response(),
        Err(e) => store_error(&state, e),
    }
}

/// The inbox's subscriptions, without their keys.
async fn push_list(
    State(state): State<Arc<AppState>>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&state, &inbox_id, &headers).await {
        return r;
    }
    match state.store.push_list(&inbox_id).await {
        Ok(rows) => {
            let list: Vec<_> = rows
                .into_iter()
                .filter_map(|row| {
                    let mut v = PushTarget::from_stored(&row.target)?.public_json();
                    v["push_id"] = json!(row.push_id);
                    v["created_at"] = json!(row.created_at);
                    Some(v)
                })
                .collect();
            Json(json!({"subscriptions": list})).into_response()
        }
        Err(e) => store_error(&state, e),
    }
}

async fn push_remove(
    State(state): State<Arc<AppState>>,
    Path((inbox_id, push_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&state, &inbox_id, &headers).await {
        return r;
    }
    match state.store.push_remove(inbox_id, push_id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, None, "No such push subscription"),
        Err(e) => store_error(&state, e),
    }
}

/// Prometheus text exposition of the counters.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    use std::fmt::Write;
    let m = &state.metrics;
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let stats = state.store.stats();
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    family(
        "fio_inbox_inboxes_created_total",
        "counter",
        "Inboxes created.",
        &[("", get(&m.inboxes_created))],
    );
    family(
        "fio_inbox_submits_total",
        "counter",
        "Envelope submissions by outcome.",
        &[
            ("{outcome=\"accepted\"}", get(&m.submits_accepted)),
            ("{outcome=\"duplicate\"}", get(&m.submits_duplicate)),
            ("{outcome=\"refused\"}", get(&m.submits_refused)),
        ],
    );
    family(
        "fio_inbox_fetches_total",
        "counter",
        "Authenticated fetches.",
        &[("", get(&m.fetches))],
    );
    family(
        "fio_inbox_acks_total",
        "counter",
        "Authenticated acknowledgements.",
        &[("", get(&m.acks))],
    );
    family(
        "fio_inbox_rate_limited_total",
        "counter",
        "Requests refused with 429, by limit.",
        &[
            ("{limit=\"ip\"}", get(&m.limited_ip)),
            ("{limit=\"ip_create\"}", get(&m.limited_ip_create)),
            ("{limit=\"ip_new\"}", get(&m.limited_ip_new)),
            ("{limit=\"inbox\"}", get(&m.limited_inbox)),
            ("{limit=\"inbox_new\"}", get(&m.limited_inbox_new)),
            ("{limit=\"polls\"}", get(&m.limited_polls)),
            ("{limit=\"ip_bytes\"}", get(&m.limited_ip_bytes)),
        ],
    );
    family(
        "fio_inbox_poll_wakeups_total",
        "counter",
        "Long polls woken by envelopes stored in their inbox.",
        &[("", get(&m.poll_wakeups))],
    );
    family(
        "fio_inbox_storage_errors_total",
        "counter",
        "Requests answered 503 because storage failed.",
        &[("", get(&m.storage_errors))],
    );
    family(
        "fio_inbox_connections_open",
        "gauge",
        "HTTP connections open now.",
        &[("", get(&m.connections_open))],
    );
    family(
        "fio_inbox_connections_refused_total",
        "counter",
        "Connections closed at once because the connection limit was reached.",
        &[("", get(&m.connections_refused))],
    );
    family(
        "fio_inbox_pushes_total",
        "counter",
        "Pushes by outcome: sent, retried (a try failed, another follows), failed (given up), removed (the subscription was gone), refused (a non-public address).",
        &crate::push::metric_rows(&state.pusher.metrics),
    );
    family(
        "fio_inbox_commits_total",
        "counter",
        "Storage write transactions committed (one durable flush each).",
        &[("", get(&stats.commits))],
    );
    family(
        "fio_inbox_committed_jobs_total",
        "counter",
        "Writes carried by those commits (group commit).",
        &[("", get(&stats.jobs))],
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
