//! The accept loop: HTTP/1.1 connections with header limits and timeouts, a
//! connection cap, and graceful shutdown.
//!
//! axum::serve has no header timeout or size limit, which a server facing
//! the internet needs against slow or oversized requests, so connections are
//! driven by hyper directly.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::http::{router, AppState};

/// Connection-level limits.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// A client must send a request's whole header block within this time,
    /// also for the next request on a kept-alive connection.
    pub header_timeout: Duration,
    /// Connections open at once; more are closed at accept.
    pub max_connections: usize,
    /// After a shutdown signal, how long in-flight requests may finish.
    pub shutdown_grace: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Serves `state` on `listener` until `shutdown` completes, then stops
/// accepting, lets waiting fetches answer and in-flight requests finish
/// (within `shutdown_grace`), and returns.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    config: ServeConfig,
    shutdown: impl Future<Output = ()>,
) {
    let app = router(state.clone());
    // The parser's hard limits are twice the HTTP layer's, so that a
    // request between the two gets its 431 with the JSON error body.
    let header_bytes = state.config.max_header_bytes * 2;
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_header_size(header_bytes)
        .max_headers(state.config.max_headers * 2)
        .max_buf_size(header_bytes.max(8192) + 64 * 1024);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            state
                .metrics
                .connections_refused
                .fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = hyper::service::service_fn({
            let app = app.clone();
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                app.clone().oneshot(request)
            }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let state = state.clone();
        state
            .metrics
            .connections_open
            .fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            state
                .metrics
                .connections_open
                .fetch_sub(1, Ordering::Relaxed);
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    state.begin_shutdown();
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(config.shutdown_grace) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
    // Pushes in flight finish and are recorded (a claim left behind would
    // hold its subscription for the lease's 60 s).
    state
        .pusher
        .drain(state.config.push.request_timeout + std::time::Duration::from_secs(1))
        .await;
}

/// A relay embedded in another program (fio-peer's demo, tests): `database`
/// opened with the default quota, served on a fresh loopback port by a task
/// of the current tokio runtime, rate limits off (one process drives it),
/// pushes allowed to loopback receivers.
/// Returns its base URL; it runs until the runtime stops.
pub async fn spawn_on_loopback(database: &str) -> std::io::Result<String> {
    let store = crate::Store::open(database, crate::Quota::default(), 4)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let mut http = crate::HttpConfig::new(&url);
    http.limits = crate::RateLimits::off();
    // The program's own push receivers are on loopback too.
    http.push.allow_insecure = true;
    http.push.coalesce = std::time::Duration::from_millis(200);
    let state = AppState::start(store, http)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    tokio::spawn(serve(
        listener,
        state,
        ServeConfig::default(),
        std::future::pending(),
    ));
    Ok(url)
}
