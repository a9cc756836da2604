//! fio-devnet: a local emulator of the FIO chain API subset fio-peer uses,
//! backed by SQLite. It is not a blockchain: there is no consensus and no
//! history, only the state of FIO addresses and their public address
//! mappings, a clock that makes a block every 500 ms, and the checks a FIO
//! node makes on a pushed transaction (devnet/README.md lists them). Its
//! answers have the FIO node's JSON and error shapes
//! (../shared/research/fio-chain.md §2), so clients talk to it with the same
//! code they use for a real node.

mod chain_time;
mod errors;
mod fees;
mod privacy;
mod push;
mod state;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub use errors::ApiError;
pub use state::{Devnet, DevnetError, Genesis, GenesisAddress, BLOCK_MS};

/// The HTTP API on `devnet`.
pub fn router(devnet: Arc<Devnet>) -> Router {
    let mut router = Router::new();
    for (action, endpoint) in fio_peer::chain::PRIVACY_ACTIONS {
        router = router.route(
            &format!("/v1/chain/{endpoint}"),
            post(
                move |State(d): State<Arc<Devnet>>, body: Bytes| async move {
                    reply(
                        StatusCode::ACCEPTED,
                        push::push(&d, &body, push::Endpoint::Only(action)),
                    )
                },
            ),
        );
    }
    for endpoint in PRIVACY_READS {
        router = router.route(
            &format!("/v1/chain/{endpoint}"),
            post(
                move |State(d): State<Arc<Devnet>>, body: Bytes| async move {
                    reply(
                        StatusCode::OK,
                        body_json(&body).and_then(|v| privacy::read(&d, endpoint, &v)),
                    )
                },
            ),
        );
    }
    router
        .route("/v1/chain/get_info", get(get_info).post(get_info))
        .route("/v1/chain/get_pub_address", post(get_pub_address))
        .route("/v1/chain/get_pub_addresses", post(get_pub_addresses))
        .route("/v1/chain/get_fio_names", post(get_fio_names))
        .route("/v1/chain/get_fee", post(get_fee))
        .route("/v1/chain/get_fio_balance", post(get_fio_balance))
        .route("/v1/chain/push_transaction", post(push_transaction))
        .route("/v1/chain/add_pub_address", post(add_pub_address))
        .route("/v1/chain/remove_pub_address", post(remove_pub_address))
        .route("/v1/chain/register_fio_address", post(register_fio_address))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(any(|| async { ApiError::unknown_endpoint() }))
        .with_state(devnet)
}

/// FIP-3's read endpoints.
const PRIVACY_READS: [&str; 6] = [
    "priv_get_friend_list",
    "priv_check_friend_list",
    "priv_get_pub_address",
    "priv_get_received_fio_requests",
    "priv_get_sent_fio_requests",
    "priv_get_received_actions",
];

/// Serves `devnet` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    devnet: Arc<Devnet>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(devnet))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A devnet on a loopback port in this process (tests, the demo). Dropping
/// it stops the server.
pub struct Running {
    pub addr: SocketAddr,
    pub devnet: Arc<Devnet>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Starts a devnet on `127.0.0.1:0` on the current tokio runtime.
    pub async fn start(database: Option<&Path>, genesis: &Genesis) -> Result<Running, DevnetError> {
        Running::start_at(database, genesis, "127.0.0.1:0".parse().expect("address")).await
    }

    /// Starts a devnet on `addr` (a restart on the port it had).
    pub async fn start_at(
        database: Option<&Path>,
        genesis: &Genesis,
        addr: SocketAddr,
    ) -> Result<Running, DevnetError> {
        let devnet = Arc::new(Devnet::open(database, genesis)?);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(serve(listener, devnet.clone(), async move {
            let _ = stopped.await;
        }));
        Ok(Running {
            addr,
            devnet,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A JSON request body as the node reads it: an empty body is `{}`, and
/// unparsable JSON is fc's parse error.
fn body_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::parse_error(&e.to_string()))
}

fn params<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    let v = body_json(body)?;
    serde_json::from_value(v).map_err(|e| ApiError::parse_error(&e.to_string()))
}

async fn get_info(State(d): State<Arc<Devnet>>) -> Response {
    let head = d.head();
    let lib = d.block(d.last_irreversible(head.num));
    Json(json!({
        "server_version": "fio-devnet",
        "chain_id": d.chain_id().to_hex(),
        "head_block_num": head.num,
        "last_irreversible_block_num": lib.num,
        "last_irreversible_block_id": hex::encode(lib.id),
        "head_block_id": hex::encode(head.id),
        "head_block_time": chain_time::format_ms(head.time_ms),
        "head_block_producer": "fio.devnet",
        "virtual_block_cpu_limit": 200000000,
        "virtual_block_net_limit": 1048576000,
        "block_cpu_limit": 199900,
        "block_net_limit": 1048576,
        "server_version_string": concat!("fio-devnet-", env!("CARGO_PKG_VERSION")),
        "fork_db_head_block_num": head.num,
        "fork_db_head_block_id": hex::encode(head.id),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct PubAddressParams {
    fio_address: String,
    chain_code: String,
    token_code: String,
}

async fn get_pub_address(State(d): State<Arc<Devnet>>, body: Bytes) -> Response {
    let run = || -> Result<Value, ApiError> {
        let p: PubAddressParams = params(&body)?;
        let address = state::handle(&p.fio_address)
            .ok_or_else(|| ApiError::field("fio_address", &p.fio_address, "Invalid FIO Address"))?;
        if !state::valid_token_code(&p.token_code) {
            return Err(ApiError::field(
                "token_code",
                &p.token_code,
                "Invalid Token Code",
            ));
        }
        if !state::valid_chain_code(&p.chain_code) {
            return Err(ApiError::field(
                "chain_code",
                &p.chain_code,
                "Invalid Chain Code",
            ));
        }
        let key_lookup =
            p.chain_code.eq_ignore_ascii_case("FIO") && p.token_code.eq_ignore_ascii_case("FIO");
        // A private handle still shows its key: FIP-3's own flows start there.
        if !key_lookup && d.is_private(&address)? {
            return Err(ApiError::private_mode(&address));
        }
        let found = d
            .pub_address(&address, &p.chain_code, &p.token_code)?
            .ok_or_else(|| ApiError::not_found("Public address not found"))?;
        Ok(json!({ "public_address": found }))
    };
    reply(StatusCode::OK, run())
}

#[derive(Deserialize)]
struct PubAddressesParams {
    fio_address: String,
    #[serde(default)]
    limit: i32,
    #[serde(default)]
    offset: i32,
}

async fn get_pub_addresses(State(d): State<Arc<Devnet>>, body: Bytes) -> Response {
    let run = || -> Result<Value, ApiError> {
        let p: PubAddressesParams = params(&body)?;
        let address = state::handle(&p.fio_address).ok_or_else(|| {
            ApiError::field("fio_address", &p.fio_address, "Invalid FIO Address format")
        })?;
        if p.limit < 0 {
            return Err(ApiError::field(
                "limit",
                &p.limit.to_string(),
                "Invalid limit",
            ));
        }
        if p.offset < 0 {
            return Err(ApiError::field(
                "offset",
                &p.offset.to_string(),
                "Invalid offset",
            ));
        }
        let all = d
            .pub_addresses(&address)?
            .ok_or_else(|| ApiError::not_found("FIO Address does not exist"))?;
        if d.is_private(&address)? {
            return Err(ApiError::private_mode(&address));
        }
        let offset = p.offset as usize;
        if offset >= all.len() {
            return Err(ApiError::not_found("Public Addresses not found"));
        }
        let end = if p.limit == 0 {
            all.len()
        } else {
            (offset + p.limit as usize).min(all.len())
        };
        let page: Vec<Value> = all[offset..end]
            .iter()
            .map(|(chain, token, addr)| {
                json!({"chain_code": chain, "token_code": token, "public_address": addr})
            })
            .collect();
        Ok(json!({ "public_addresses": page, "more": end < all.len() }))
    };
    reply(StatusCode::OK, run())
}

#[derive(Deserialize)]
struct FioNamesParams {
    fio_public_key: String,
}

async fn get_fio_names(State(d): State<Arc<Devnet>>, body: Bytes) -> Response {
    let run = || -> Result<Value, ApiError> {
        let p: FioNamesParams = params(&body)?;
        if fio_peer::crypto::PublicKey::parse(&p.fio_public_key).is_err()
            || !p.fio_public_key.starts_with("FIO")
        {
            return Err(ApiError::field(
                "fio_public_key",
                &p.fio_public_key,
                "Invalid FIO Public Key",
            ));
        }
        let names = d.names_of(&p.fio_public_key)?;
        if names.is_empty() {
            return Err(ApiError::not_found("No FIO names"));
        }
        let addresses: Vec<Value> = names
            .iter()
            .map(|(a, bundles)| {
                json!({"fio_address": a, "expiration": state::HANDLE_EXPIRATION, "remaining_bundled_tx": bundles})
            })
            .collect();
        Ok(json!({ "fio_domains": [], "fio_addresses": addresses }))
    };
    reply(StatusCode::OK, run())
}

#[derive(Deserialize)]
struct FeeParams {
    end_point: String,
    #[serde(default)]
    fio_address: String,
}

/// get_fee: 0 when `fio_address` has a bundled transaction left for a
/// bundle-eligible endpoint, else the endpoint's fee.
async fn get_fee(State(d): State<Arc<Devnet>>, body: Bytes) -> Response {
    let run = || -> Result<Value, ApiError> {
        let p: FeeParams = params(&body)?;
        d.fee(&p.end_point, &p.fio_address)?
            .map(|fee| json!({ "fee": fee }))
            .ok_or_else(|| ApiError::field("end_point", &p.end_point, "Invalid end point"))
    };
    reply(StatusCode::OK, run())
}

async fn get_fio_balance(State(d): State<Arc<Devnet>>, body: Bytes) -> Response {
    let run = || -> Result<Value, ApiError> {
        let p: FioNamesParams = params(&body)?;
        let key = fio_peer::crypto::PublicKey::parse(&p.fio_public_key)
            .ok()
            .filter(|_| p.fio_public_key.starts_with("FIO"))
            .ok_or_else(|| {
                ApiError::field(
                    "fio_public_key",
                    &p.fio_public_key,
                    "Invalid FIO Public Key",
                )
            })?;
        let balance = d.balance(&key.account_name())?;
        Ok(
            json!({"balance": balance, "available": balance, "staked": 0, "srps": 0, "roe": "1.000000000000000"}),
        )
    };
    reply(StatusCode::OK, run())
}

async fn push_transaction(State(d): State<Arc<Devnet>>, body: Bytes) -> Response {
    reply(
        StatusCode::ACCEPTED,
        push::push(&d, &body, push::Endpoint::Any),
    )
}

async fn add_pub_address(State(d): State<Arc<Devnet>>, body: Bytes) -> Response {
    reply(
        StatusCode::ACCEPTED,
        push::push(&d, &body, push::Endpoint::Only("addaddress")),
    )
}

async fn remove_pub_address(State(d): State<Arc<Devnet>>, body: Bytes) -> Response {
    reply(
        StatusCode::ACCEPTED,
        push::push(&d, &body, push::Endpoint::Only("remaddress")),
    )
}

async fn register_fio_address(State(d): State<Arc<Devnet>>, body: Bytes) -> Response {
    reply(
        StatusCode::ACCEPTED,
        push::push(&d, &body, push::Endpoint::Only("regaddress")),
    )
}

fn reply(ok: StatusCode, result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(v) => (ok, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}
