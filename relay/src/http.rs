//! The HTTP API (docs/protocol.md §4.2) on axum.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fio_peer::protocol::{Envelope, ErrorKind, IdToken, ProtocolError, MAX_ENVELOPE_LEN};
use serde::Deserialize;
use serde_json::json;

use crate::store::{credential_hash, dedupe_key, Store, StoreError};

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    /// The public base URL inbox URLs are built from (no trailing slash).
    pub public_url: String,
    pub metrics: Metrics,
}

impl AppState {
    pub fn new(store: Store, public_url: &str) -> Self {
        AppState {
            store,
            public_url: public_url.trim_end_matches('/').to_string(),
            metrics: Metrics::default(),
        }
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
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The longest a fetch may wait for new envelopes.
pub const MAX_WAIT_SECS: u64 = 30;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/inboxes", post(create))
        .route("/v1/inboxes/{inbox_id}", post(submit).delete(delete))
        .route("/v1/inboxes/{inbox_id}/messages", get(fetch))
        .route("/v1/inboxes/{inbox_id}/ack", post(ack))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        // The envelope limit is enforced while reading, before buffering.
        .layer(DefaultBodyLimit::max(MAX_ENVELOPE_LEN))
        .with_state(state)
}

fn error(status: StatusCode, field: Option<&str>, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"type": status.as_u16(), "field": field, "message": message}})),
    )
        .into_response()
}

fn protocol_error(e: &ProtocolError) -> Response {
    let status = StatusCode::from_u16(e.code()).unwrap_or(StatusCode::BAD_REQUEST);
    error(status, e.field.as_deref(), e.message())
}

fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::NoInbox => error(StatusCode::NOT_FOUND, None, "No such inbox"),
        StoreError::Full => error(StatusCode::INSUFFICIENT_STORAGE, None, "Inbox is full"),
        StoreError::Storage(_) => {
            error(StatusCode::SERVICE_UNAVAILABLE, None, "Storage unavailable")
        }
    }
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).expect("the operating system's random number generator failed");
    hex::encode(b)
}

fn valid_inbox_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn create(State(state): State<Arc<AppState>>) -> Response {
    let (id, credential) = (random_hex(16), random_hex(32));
    if let Err(e) = state
        .store
        .create_inbox(id.clone(), credential_hash(&credential))
        .await
    {
        return store_error(e);
    }
    bump(&state.metrics.inboxes_created);
    let body = json!({
        "inbox_id": id,
        "credential": credential,
        "inbox_url": format!("{}/v1/inboxes/{}", state.public_url, id),
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn submit(
    State(state): State<Arc<AppState>>,
    path: Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let response = submit_inner(&state, path, headers, body).await;
    if response.status() != StatusCode::ACCEPTED {
        bump(&state.metrics.submits_refused);
    }
    response
}

async fn submit_inner(
    state: &AppState,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(BytesRejection::FailedToBufferBody(_)) => {
            return protocol_error(&ProtocolError::new(ErrorKind::PayloadTooLarge))
        }
        Err(_) => return error(StatusCode::BAD_REQUEST, None, "Unreadable body"),
    };
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().map(str::trim) == Some("application/json"));
    if !json_type {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "Content-Type must be application/json",
        );
    }
    if !valid_inbox_id(&inbox_id) {
        return store_error(StoreError::NoInbox);
    }
    // Structure only: the relay never decrypts.
    let envelope = match Envelope::parse(&body) {
        Ok(e) => e,
        Err(e) => return protocol_error(&e),
    };
    let token = match &envelope.id_token {
        IdToken::New => "NEW",
        IdToken::Token(t) => t.as_str(),
    };
    let key = dedupe_key(token, &envelope.content);
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
        Err(e) => store_error(e),
    }
}

/// The inbox's bearer credential must match; unknown inboxes look the same.
fn authorize(state: &AppState, inbox_id: &str, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let ok = match credential {
        Some(c) if valid_inbox_id(inbox_id) => {
            state.store.authorized(inbox_id, c).map_err(store_error)?
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            None,
            "Missing or wrong credential",
        )))
    }
}

#[derive(Deserialize)]
struct FetchParams {
    after: Option<i64>,
    limit: Option<i64>,
    wait: Option<u64>,
}

async fn fetch(
    State(state): State<Arc<AppState>>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
    params: Result<Query<FetchParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = authorize(&state, &inbox_id, &headers) {
        return *r;
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        let messages = match state.store.fetch(&inbox_id, after, limit) {
            Ok(m) => m,
            Err(e) => return store_error(e),
        };
        let timed_out = tokio::time::Instant::now() >= deadline;
        if !messages.is_empty() || timed_out {
            let next_after = messages.last().map_or(after, |m| m.seq);
            let list: Vec<_> = messages
                .into_iter()
                .map(
                    |m| json!({"seq": m.seq, "received_at": m.received_at, "envelope": m.envelope}),
                )
                .collect();
            return Json(json!({"messages": list, "next_after": next_after})).into_response();
        }
        if tokio::time::timeout_at(deadline, commits.changed())
            .await
            .is_err()
        {
            continue; // one last read at the deadline
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
    body: Result<Json<AckBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = authorize(&state, &inbox_id, &headers) {
        return *r;
    }
    let Ok(Json(body)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            Some("up_to"),
            "Body must be {\"up_to\": <seq>}",
        );
    };
    bump(&state.metrics.acks);
    match state.store.ack(inbox_id, body.up_to).await {
        Ok(n) => Json(json!({"deleted": n})).into_response(),
        Err(e) => store_error(e),
    }
}

async fn delete(
    State(state): State<Arc<AppState>>,
    Path(inbox_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&state, &inbox_id, &headers) {
        return *r;
    }
    match state.store.delete_inbox(inbox_id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => store_error(e),
    }
}

/// Prometheus text exposition of the counters.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let m = &state.metrics;
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let stats = state.store.stats();
    let body = format!(
        "# HELP fio_inbox_inboxes_created_total Inboxes created.\n\
         # TYPE fio_inbox_inboxes_created_total counter\n\
         fio_inbox_inboxes_created_total {}\n\
         # HELP fio_inbox_submits_total Envelope submissions by outcome.\n\
         # TYPE fio_inbox_submits_total counter\n\
         fio_inbox_submits_total{{outcome=\"accepted\"}} {}\n\
         fio_inbox_submits_total{{outcome=\"duplicate\"}} {}\n\
         fio_inbox_submits_total{{outcome=\"refused\"}} {}\n\
         # HELP fio_inbox_fetches_total Authenticated fetches.\n\
         # TYPE fio_inbox_fetches_total counter\n\
         fio_inbox_fetches_total {}\n\
         # HELP fio_inbox_acks_total Authenticated acknowledgements.\n\
         # TYPE fio_inbox_acks_total counter\n\
         fio_inbox_acks_total {}\n\
         # HELP fio_inbox_commits_total Storage transactions committed (one fsync each).\n\
         # TYPE fio_inbox_commits_total counter\n\
         fio_inbox_commits_total {}\n\
         # HELP fio_inbox_committed_jobs_total Writes carried by those commits (group commit).\n\
         # TYPE fio_inbox_committed_jobs_total counter\n\
         fio_inbox_committed_jobs_total {}\n",
        get(&m.inboxes_created),
        get(&m.submits_accepted),
        get(&m.submits_duplicate),
        get(&m.submits_refused),
        get(&m.fetches),
        get(&m.acks),
        get(&stats.commits),
        get(&stats.jobs),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
