//! The HTTP API (docs/protocol.md §4.2) on axum: handlers, limits, errors.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use fio_peer::protocol::{Envelope, ErrorKind, IdToken, ProtocolError, MAX_ENVELOPE_LEN};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::limits::{client_key, Limiters, RateLimits};
use crate::store::{credential_hash, dedupe_key, Store, StoreError};

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
    /// Longest wait for a request body once its headers are in.
    pub body_timeout: Duration,
    /// Longest a request may take (above the long-poll maximum).
    pub request_timeout: Duration,
}

impl HttpConfig {
    pub fn new(public_url: &str) -> Self {
        HttpConfig {
            public_url: public_url.trim_end_matches('/').to_string(),
            limits: RateLimits::default(),
            client_ip_header: None,
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(MAX_WAIT_SECS + 15),
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub config: HttpConfig,
    pub metrics: Metrics,
    limiters: Limiters,
    /// Turns true when the relay begins to shut down: long polls return.
    shutdown: watch::Sender<bool>,
}

impl AppState {
    pub fn new(store: Store, config: HttpConfig) -> Self {
        AppState {
            limiters: Limiters::new(&config.limits),
            store,
            config,
            metrics: Metrics::default(),
            shutdown: watch::channel(false).0,
        }
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
    storage_errors: AtomicU64,
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub fn router(state: Arc<AppState>) -> Router {
    use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
    let config = &state.config;
    Router::new()
        .route("/v1/inboxes", post(create))
        .route("/v1/inboxes/{inbox_id}", post(submit).delete(delete))
        .route("/v1/inboxes/{inbox_id}/messages", get(fetch))
        .route("/v1/inboxes/{inbox_id}/ack", post(ack))
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
        // The envelope limit is enforced while reading, before buffering.
        .layer(DefaultBodyLimit::max(MAX_ENVELOPE_LEN))
        .layer(RequestBodyTimeoutLayer::new(config.body_timeout))
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
            next.run(request).await
        }
        None => {
            if let Some(ip) = ip {
                request.extensions_mut().insert(ClientIp(ip));
            }
            next.run(request).await
        }
    };
    log_access(&method, route, &response, started);
    response
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
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().map(str::trim) == Some("application/json"));
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
    // Structure only: the relay never decrypts.
    let envelope = match Envelope::parse(&body) {
        Ok(e) => e,
        Err(e) => return protocol_error(&e),
    };
    let new = matches!(envelope.id_token, IdToken::New);
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
        l.inbox.check(&inbox_id).map_err(|w| (w, &m.limited_inbox))
    })();
    if let Err((wait, counter)) = limited {
        bump(counter);
        return too_many(wait);
    }
    let token = match &envelope.id_token {
        IdToken::New => "NEW",
        IdToken::Token(t) => t.as_str(),
    };
    let key = dedupe_key(token, &envelope.content);
    // Envelope::parse accepted it, so it is ASCII JSON.
    let text = String::from_utf8_lossy(&body).into_owned();
    match state.store.submit(inbox_id, key, text).await {
        Ok(s) => {
            let counter = if s.duplicate {
                &state.metrics.submits_duplicate
            } else {
                &state.metrics.submits_accepted
            };
            bump(counter);
            let body = json!({"seq": s.seq, "duplicate": s.duplicate});
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Err(e) => store_error(state, e),
    }
}

/// The inbox's bearer credential must match; unknown inboxes look the same.
async fn authorize(state: &AppState, inbox_id: &str, headers: &HeaderMap) -> Result<(), Response> {
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
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
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
    params: Result<Query<FetchParams>, QueryRejection>,
) -> Response {
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
    // Subscribe before the first read, so a commit between the two is not missed.
    let mut commits = state.store.commits();
    let mut shutdown = state.shutdown.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
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
            _ = commits.changed() => {}
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

#[derive(Deserialize)]
struct AckBody {
    up_to: i64,
}

async fn ack(
    State(state): State<Arc<AppState>>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<AckBody>, JsonRejection>,
) -> Response {
    if let Err(r) = authorize(&state, &inbox_id, &headers).await {
        return r;
    }
    let body = match body {
        Ok(Json(body)) => body,
        Err(JsonRejection::MissingJsonContentType(_)) => return not_json(),
        Err(JsonRejection::BytesRejection(_)) => return body_too_late(),
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                Some("up_to"),
                "Body must be {\"up_to\": <seq>}",
            )
        }
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
        ],
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
