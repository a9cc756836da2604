//! HTTP client of the FIO chain API (the subset FIP-24 needs), with the JSON
//! and error shapes of the FIO node (../shared/research/fio-chain.md §2):
//! several API nodes with failover, an optional agreement check on lookups,
//! and the FIP-24 lookups (FIO/FIO key, FIB/URL or FIB/IPA inbox) cached with
//! a TTL, which makes it the wallet engine's [`KeyDirectory`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::runtime::NetRuntime;
use super::transaction::{
    parse_chain_time, tapos_from_block_id, Action, AddAddress, ChainId, RegAddress,
    SignedTransaction, TokenPubAddress, Transaction,
};
use super::Name;
use crate::crypto::{PrivateKey, PublicKey};
use crate::protocol::{FioAddress, InboxKind, InboxLocation};
use crate::wallet::{DirectoryError, KeyDirectory};

/// Seconds a transaction stays valid after the chain time it was built at
/// (fiojs's default).
pub const EXPIRATION_SECONDS: u32 = 180;

/// Where and how to reach the chain.
#[derive(Clone, Debug)]
pub struct ChainConfig {
    /// API node base URLs (`https://fio.example.com`), tried in order.
    pub nodes: Vec<String>,
    /// The chain the nodes must serve; checked against get_info.
    pub chain_id: ChainId,
    /// How many nodes must give the same answer to a key or inbox lookup
    /// (1 = trust the first node that answers).
    pub agreement: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How long a looked-up key or inbox is reused.
    pub cache_ttl: Duration,
    /// Development only: lets mainnet and testnet nodes be `http://`
    /// (another chain, a devnet, may always use http).
    pub allow_http: bool,
}

/// Public FIO mainnet API nodes (fio.mainnet's list, 2024-05). Node lists go
/// stale: ship your own configuration and treat this as a starting point.
pub const MAINNET_NODES: &[&str] = &[
    "https://fio.blockpane.com",
    "https://fio.greymass.com",
    "https://fio.eosusa.io",
    "https://fio.eosphere.io",
    "https://fio.cryptolions.io",
];

/// Public FIO testnet API nodes (2024-05; see [`MAINNET_NODES`]).
pub const TESTNET_NODES: &[&str] = &[
    "https://fiotestnet.blockpane.com",
    "https://fiotestnet.greymass.com",
    "https://test.fio.eosusa.io",
];

impl ChainConfig {
    /// Mainnet with [`MAINNET_NODES`].
    pub fn mainnet() -> ChainConfig {
        ChainConfig::new(
            ChainId::MAINNET,
            MAINNET_NODES.iter().map(|s| s.to_string()).collect(),
        )
    }

    /// Testnet with [`TESTNET_NODES`].
    pub fn testnet() -> ChainConfig {
        ChainConfig::new(
            ChainId::TESTNET,
            TESTNET_NODES.iter().map(|s| s.to_string()).collect(),
        )
    }

    pub fn new(chain_id: ChainId, nodes: Vec<String>) -> ChainConfig {
        ChainConfig {
            nodes,
            chain_id,
            agreement: 1,
            timeout: Duration::from_secs(10),
            cache_ttl: Duration::from_secs(600),
            allow_http: false,
        }
    }
}

/// One rejected field of a FIO 400 answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FioFieldError {
    pub name: String,
    pub value: String,
    pub error: String,
}

/// A FIO error answer (400, 403, 404): `{"type","message","fields"}`; a 404
/// has only `message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FioError {
    pub status: u16,
    pub error_type: Option<String>,
    pub message: String,
    pub fields: Vec<FioFieldError>,
}

/// A generic EOSIO error answer: `{"code","message","error":{"code","name","what","details"}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeError {
    pub status: u16,
    pub message: String,
    /// The fc exception code (e.g. 3040005 for an expired transaction).
    pub code: u64,
    pub name: String,
    pub what: String,
    pub details: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("{}", describe_fio(.0))]
    Fio(FioError),
    #[error("{} {}: {} ({})", .0.status, .0.message, .0.what, .0.details.join("; "))]
    Node(NodeError),
    /// No node answered (all failed to connect, timed out or were overloaded).
    #[error("no FIO API node could be reached: {0}")]
    Unavailable(String),
    /// Nodes gave different answers to a lookup under the agreement check.
    #[error("FIO API nodes disagree about {0}")]
    Disagreement(String),
    /// A node answered something that is not the FIO API's shape.
    #[error("{node} gave an invalid answer: {detail}")]
    InvalidResponse { node: String, detail: String },
    /// The chain maps something unusable for `address` (FIO/FIO that is not
    /// a key, an FIB entry that is not an inbox location): the owner's data,
    /// so asking again will not help.
    #[error("{address}: {detail}")]
    InvalidMapping { address: String, detail: String },
    #[error("{node} serves chain {found}, not {expected}")]
    WrongChain {
        node: String,
        found: String,
        expected: String,
    },
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

fn describe_fio(e: &FioError) -> String {
    let mut s = format!("{} {}", e.status, e.message);
    for f in &e.fields {
        s.push_str(&format!("; {} {:?}: {}", f.name, f.value, f.error));
    }
    s
}

impl ChainError {
    /// The FIO 404 ("Public address not found", "No FIO names", …).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ChainError::Fio(FioError { status: 404, .. }))
    }
}

/// A u64 the node sends as a number, or as a decimal string above 2^32.
pub(crate) fn flex_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| de::Error::custom(format!("{n} is not a u64"))),
        Value::String(s) => s
            .parse()
            .map_err(|_| de::Error::custom(format!("{s:?} is not a u64"))),
        other => Err(de::Error::custom(format!("{other} is not a u64"))),
    }
}

/// An optional [`flex_u64`].
pub(crate) fn flex_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Flex(#[serde(deserialize_with = "flex_u64")] u64);
    Ok(Option::<Flex>::deserialize(d)?.map(|f| f.0))
}

/// `more`: a boolean on the node, an integer in FIP-13 and the TS SDK.
fn flex_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(b),
        Value::Number(n) => Ok(n.as_u64() != Some(0)),
        other => Err(de::Error::custom(format!("{other} is not a boolean"))),
    }
}

/// get_info.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    pub chain_id: String,
    #[serde(deserialize_with = "flex_u64")]
    pub head_block_num: u64,
    #[serde(deserialize_with = "flex_u64")]
    pub last_irreversible_block_num: u64,
    pub last_irreversible_block_id: String,
    pub head_block_id: String,
    pub head_block_time: String,
    #[serde(default)]
    pub server_version: String,
}

/// One entry of get_pub_addresses (node field order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PubAddress {
    pub chain_code: String,
    pub token_code: String,
    pub public_address: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PubAddresses {
    pub public_addresses: Vec<PubAddress>,
    #[serde(deserialize_with = "flex_bool")]
    pub more: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FioDomainInfo {
    pub fio_domain: String,
    pub expiration: String,
    #[serde(deserialize_with = "flex_u64")]
    pub is_public: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FioAddressInfo {
    pub fio_address: String,
    pub expiration: String,
    #[serde(deserialize_with = "flex_u64")]
    pub remaining_bundled_tx: u64,
}

/// get_fio_names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FioNames {
    pub fio_domains: Vec<FioDomainInfo>,
    pub fio_addresses: Vec<FioAddressInfo>,
}

/// What a pushed transaction gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushResult {
    pub transaction_id: String,
    /// The contract's response of the first action, e.g.
    /// `{"status": "OK","fee_collected":0}`; `None` when the node answered
    /// 409 (this exact transaction was already accepted).
    pub response: Option<String>,
    pub already_accepted: bool,
}

/// What a node answered, before it is read as a success.
enum Answer {
    Ok(Value),
    Err(ChainError),
    /// Not an answer of the FIO API (connection failure, timeout, proxy
    /// error, 429): try another node.
    Retry(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Lookup<T> {
    Found(T),
    NotFound,
}

/// (address, what) → (when looked up, answer).
type LookupCache = HashMap<(String, &'static str), (Instant, Lookup<String>)>;

struct Inner {
    http: reqwest::Client,
    config: ChainConfig,
    cache: Mutex<LookupCache>,
    offline_until: Mutex<Option<Instant>>,
    /// Nodes whose get_info showed the configured chain.
    verified: Mutex<std::collections::HashSet<String>>,
}

/// The expiration of the last transaction built in this process: the next
/// one gets a later one, so two equal actions built within one block (by
/// any client) are two transactions, not one the node would answer 409.
static LAST_EXPIRATION: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The chain client. Cheap to clone; every clone shares nodes, cache and
/// runtime.
#[derive(Clone)]
pub struct ChainClient {
    inner: Arc<Inner>,
    rt: NetRuntime,
}

/// Makes rustls's ring provider the process default unless one is set.
///
/// reqwest is built with TLS but without a provider of its own (fio-peer
/// brings ring), and Cargo unifies features: an application's
/// `reqwest::Client::new()` then needs a process default. fio-peer calls this
/// before it builds a client; call it yourself if you build reqwest clients
/// before fio-peer does.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Largest chain API answer read (the biggest, get_pub_addresses with 200
/// entries, is tens of KiB): a hostile node cannot exhaust memory.
pub(crate) const MAX_CHAIN_BODY: usize = 2 << 20;

/// Reads a response body of at most `cap` bytes.
pub(crate) async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > cap {
            return Err(format!("the answer is larger than {cap} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A failed request with its causes ("error sending request for url (…):
/// client error (Connect): invalid peer certificate: UnknownIssuer"):
/// reqwest's own text alone does not say why, and a TLS refusal must.
pub(crate) fn describe_http(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        let part = e.to_string();
        // hyper repeats its cause in its own text at times.
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// An HTTP client with rustls (ring) and the platform's trust
/// ([`super::tls`]).
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    http_client_builder(timeout)?
        .build()
        .map_err(|e| e.to_string())
}

/// [`http_client`]'s settings, for a client that needs more of them:
/// rustls (ring) with the platform's trust, no redirects, fio-peer's user
/// agent. fio-inbox sends its pushes with it.
pub fn http_client_builder(timeout: Duration) -> Result<reqwest::ClientBuilder, String> {
    install_tls_provider();
    let tls = super::tls::client_config()?;
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .pool_idle_timeout(Duration::from_secs(30))
        // A redirect is never the FIO API or a relay answering: a 302 to a
        // captive portal must not turn a POST into a GET that "succeeds".
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("fio-peer/", env!("CARGO_PKG_VERSION"))))
}

impl ChainClient {
    /// A client on its own runtime.
    pub fn new(config: ChainConfig) -> Result<ChainClient, ChainError> {
        let rt = NetRuntime::new("fio-net", 2)
            .map_err(|e| ChainError::Unavailable(format!("cannot start a runtime: {e}")))?;
        ChainClient::with_runtime(config, rt)
    }

    /// A client on a runtime shared with other parts of the library.
    pub fn with_runtime(config: ChainConfig, rt: NetRuntime) -> Result<ChainClient, ChainError> {
        if config.nodes.is_empty() {
            return Err(ChainError::InvalidInput("no API node configured".into()));
        }
        for node in &config.nodes {
            let url = url::Url::parse(node)
                .map_err(|_| ChainError::InvalidInput(format!("{node:?} is not a URL")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(ChainError::InvalidInput(format!(
                    "{node:?} is not an http(s) URL"
                )));
            }
            if url.scheme() == "http" && config.chain_id.is_public() && !config.allow_http {
                return Err(ChainError::InvalidInput(format!(
                    "{node:?} is http: mainnet and testnet nodes must be https"
                )));
            }
        }
        if config.agreement == 0 || config.agreement > config.nodes.len() {
            return Err(ChainError::InvalidInput(format!(
                "agreement of {} nodes with {} configured",
                config.agreement,
                config.nodes.len()
            )));
        }
        let http = http_client(config.timeout).map_err(ChainError::InvalidInput)?;
        Ok(ChainClient {
            inner: Arc::new(Inner {
                http,
                config,
                cache: Mutex::new(HashMap::new()),
                offline_until: Mutex::new(None),
                verified: Mutex::new(Default::default()),
            }),
            rt,
        })
    }

    pub fn config(&self) -> &ChainConfig {
        &self.inner.config
    }

    pub fn runtime(&self) -> &NetRuntime {
        &self.rt
    }

    async fn on_runtime<T, F, Fut>(&self, f: F) -> T
    where
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.rt.run(f(self.inner.clone())).await
    }

    /// POSTs `body` to /v1/chain/`endpoint` on the first node that answers.
    pub(crate) async fn read(
        &self,
        endpoint: &'static str,
        body: Value,
    ) -> Result<Value, ChainError> {
        self.on_runtime(|i| async move { i.first(endpoint, &body).await })
            .await
    }

    pub async fn get_info(&self) -> Result<ChainInfo, ChainError> {
        self.on_runtime(|i| async move { i.get_info().await }).await
    }

    /// The public address `fio_address` maps for `chain_code`/`token_code`.
    pub async fn get_pub_address(
        &self,
        fio_address: &str,
        chain_code: &str,
        token_code: &str,
    ) -> Result<String, ChainError> {
        let body = serde_json::json!({"fio_address": fio_address, "chain_code": chain_code, "token_code": token_code});
        self.on_runtime(|i| async move {
            let v = i.first("get_pub_address", &body).await?;
            #[derive(Deserialize)]
            struct R {
                public_address: String,
            }
            parse::<R>("get_pub_address", v).map(|r| r.public_address)
        })
        .await
    }

    pub async fn get_pub_addresses(
        &self,
        fio_address: &str,
        limit: u32,
        offset: u32,
    ) -> Result<PubAddresses, ChainError> {
        let body =
            serde_json::json!({"fio_address": fio_address, "limit": limit, "offset": offset});
        self.on_runtime(|i| async move {
            parse(
                "get_pub_addresses",
                i.first("get_pub_addresses", &body).await?,
            )
        })
        .await
    }

    pub async fn get_fio_names(&self, fio_public_key: &str) -> Result<FioNames, ChainError> {
        let body = serde_json::json!({ "fio_public_key": fio_public_key });
        self.on_runtime(|i| async move {
            parse("get_fio_names", i.first("get_fio_names", &body).await?)
        })
        .await
    }

    /// Pushes a signed transaction to `endpoint` (`push_transaction`,
    /// `add_pub_address`, …). The same signed bytes go to the next node when
    /// one cannot be reached; a 409 (already accepted) counts as success.
    pub async fn push(
        &self,
        endpoint: &'static str,
        signed: &SignedTransaction,
    ) -> Result<PushResult, ChainError> {
        let body = signed.push_body();
        let id = signed.id_hex();
        self.on_runtime(|i| async move { i.push(endpoint, &body, id).await })
            .await
    }

    /// A transaction of `actions` with TAPOS from the last irreversible
    /// block and expiration [`EXPIRATION_SECONDS`] after the head block time.
    /// Each transaction prepared in this process expires later than the one
    /// before, so it has its own id even when its actions repeat.
    pub async fn prepare(&self, actions: Vec<Action>) -> Result<Transaction, ChainError> {
        use std::sync::atomic::Ordering;
        let info = self.get_info().await?;
        let mut trx = transaction_at(&info, actions)?;
        let last = &LAST_EXPIRATION;
        let natural = trx.expiration;
        let mut seen = last.load(Ordering::SeqCst);
        loop {
            // Bump only past a recent one: a transaction for another chain
            // (another clock) must keep its own time.
            let expiration = if seen >= natural && seen - natural < 60 {
                seen + 1
            } else {
                natural
            };
            match last.compare_exchange(seen, expiration, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => {
                    trx.expiration = expiration;
                    return Ok(trx);
                }
                Err(now) => seen = now,
            }
        }
    }

    /// Registers `entries` on `fio_address` (addaddress through
    /// /v1/chain/add_pub_address), signed by the address's owner `key`.
    pub async fn add_pub_address(
        &self,
        key: &PrivateKey,
        fio_address: &str,
        entries: Vec<TokenPubAddress>,
        max_fee: i64,
    ) -> Result<PushResult, ChainError> {
        let data = address_data(key, fio_address, entries, max_fee)?;
        self.sign_and_push("add_pub_address", data.add_action(), key)
            .await
    }

    /// Removes exactly these `entries` (remaddress through
    /// /v1/chain/remove_pub_address).
    pub async fn remove_pub_address(
        &self,
        key: &PrivateKey,
        fio_address: &str,
        entries: Vec<TokenPubAddress>,
        max_fee: i64,
    ) -> Result<PushResult, ChainError> {
        let data = address_data(key, fio_address, entries, max_fee)?;
        self.sign_and_push("remove_pub_address", data.remove_action(), key)
            .await
    }

    /// A transaction of one action, prepared, signed by `key` and pushed.
    pub(crate) async fn sign_and_push(
        &self,
        endpoint: &'static str,
        action: Action,
        key: &PrivateKey,
    ) -> Result<PushResult, ChainError> {
        let trx = self.prepare(vec![action]).await?;
        self.push(endpoint, &trx.sign(&self.inner.config.chain_id, key))
            .await
    }

    /// Registers `fio_address` for `owner`, paid by `payer`
    /// (regaddress through /v1/chain/push_transaction).
    pub async fn register_fio_address(
        &self,
        payer: &PrivateKey,
        fio_address: &str,
        owner: &PublicKey,
        max_fee: i64,
    ) -> Result<PushResult, ChainError> {
        let data = RegAddress {
            fio_address: fio_address.to_string(),
            owner_fio_public_key: owner.to_fio_string(),
            max_fee,
            actor: actor_of(payer)?,
            tpid: String::new(),
        };
        self.sign_and_push("push_transaction", data.action(), payer)
            .await
    }

    /// FIP-24: the FIO public key of `address` (its FIO/FIO mapping),
    /// validated as a key, under the agreement check, cached.
    pub async fn fio_public_key(&self, address: &FioAddress) -> Result<PublicKey, ChainError> {
        let addr = address.as_str().to_string();
        let found = self
            .on_runtime(|i| async move { i.lookup(addr, "FIO", &[("FIO", "FIO")]).await })
            .await?;
        match found {
            Lookup::Found(key) => PublicKey::parse(&key).map_err(|_| ChainError::InvalidMapping {
                address: address.to_string(),
                detail: format!("FIO/FIO is {key:?}, which is not a FIO public key"),
            }),
            Lookup::NotFound => Err(ChainError::Fio(FioError {
                status: 404,
                error_type: None,
                message: "Public address not found".into(),
                fields: Vec::new(),
            })),
        }
    }

    /// FIP-24: the inbox of `address` (FIB/URL, else FIB/IPA), cached.
    pub async fn inbox(&self, address: &FioAddress) -> Result<Option<InboxLocation>, ChainError> {
        let addr = address.as_str().to_string();
        let found = self
            .on_runtime(|i| async move {
                i.lookup(addr, "FIB", &[("FIB", "URL"), ("FIB", "IPA")])
                    .await
            })
            .await?;
        match found {
            Lookup::NotFound => Ok(None),
            Lookup::Found(tagged) => {
                let (code, location) = tagged.split_once(' ').unwrap_or(("URL", &tagged));
                InboxLocation::parse(code, location).map(Some).map_err(|e| {
                    ChainError::InvalidMapping {
                        address: address.to_string(),
                        detail: format!("FIB/{code}: {e}"),
                    }
                })
            }
        }
    }

    /// Forgets cached lookups of `address` (after a delivery to its inbox
    /// failed, say).
    pub fn invalidate(&self, address: &FioAddress) {
        let mut cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(a, _), _| a != address.as_str());
    }
}

fn actor_of(key: &PrivateKey) -> Result<Name, ChainError> {
    Name::parse(&key.public_key().account_name())
        .map_err(|e| ChainError::InvalidInput(format!("account name: {e}")))
}

fn address_data(
    key: &PrivateKey,
    fio_address: &str,
    entries: Vec<TokenPubAddress>,
    max_fee: i64,
) -> Result<AddAddress, ChainError> {
    if entries.is_empty() || entries.len() > 5 {
        return Err(ChainError::InvalidInput(
            "Min 1, Max 5 public addresses are allowed".into(),
        ));
    }
    Ok(AddAddress {
        fio_address: fio_address.to_string(),
        public_addresses: entries,
        max_fee,
        actor: actor_of(key)?,
        tpid: String::new(),
    })
}

/// The unsigned transaction for `actions` at the chain state `info`.
pub fn transaction_at(info: &ChainInfo, actions: Vec<Action>) -> Result<Transaction, ChainError> {
    let bad = |detail: String| ChainError::InvalidResponse {
        node: "get_info".into(),
        detail,
    };
    let (ref_block_num, ref_block_prefix) =
        tapos_from_block_id(&info.last_irreversible_block_id).map_err(|e| bad(e.to_string()))?;
    let head = parse_chain_time(&info.head_block_time).map_err(|e| bad(e.to_string()))?;
    Ok(Transaction {
        expiration: head.saturating_add(EXPIRATION_SECONDS),
        ref_block_num,
        ref_block_prefix,
        actions,
    })
}

pub(crate) fn parse<T: for<'de> Deserialize<'de>>(call: &str, v: Value) -> Result<T, ChainError> {
    serde_json::from_value(v).map_err(|e| ChainError::InvalidResponse {
        node: call.into(),
        detail: e.to_string(),
    })
}

/// Reads a non-success answer: a FIO error, a generic EOSIO error, or
/// something else (a proxy page, a plain-text 403 from add_pub_address).
fn read_error(endpoint: &str, status: u16, body: &[u8]) -> Answer {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if let Some(Value::Object(o)) = &json {
        if let (Some(Value::Object(err)), Some(message)) = (o.get("error"), o.get("message")) {
            let details = err
                .get("details")
                .and_then(Value::as_array)
                .map(|d| {
                    d.iter()
                        .filter_map(|x| x.get("message").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            return Answer::Err(ChainError::Node(NodeError {
                status,
                message: message.as_str().unwrap_or_default().to_string(),
                code: err.get("code").and_then(Value::as_u64).unwrap_or(0),
                name: err
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
                what: err
                    .get("what")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
                details,
            }));
        }
        // The FIO shapes: 404 {"message"} alone; 400 {"type","message","fields"};
        // 403 {"type","message"}.
        if let Some(Value::String(message)) = o.get("message") {
            let error_type = o.get("type").and_then(Value::as_str).map(str::to_string);
            let fields = o
                .get("fields")
                .and_then(|f| serde_json::from_value::<Vec<FioFieldError>>(f.clone()).ok());
            let fio = match status {
                404 => o.len() == 1,
                400 => error_type.is_some() && fields.is_some(),
                403 => error_type.is_some(),
                _ => false,
            };
            if fio {
                return Answer::Err(ChainError::Fio(FioError {
                    status,
                    error_type,
                    message: message.clone(),
                    fields: fields.unwrap_or_default(),
                }));
            }
        }
    }
    // add_pub_address and the other action endpoints answer a transaction
    // that does not unpack with 403 and the exception's text.
    let action_endpoint = matches!(
        endpoint,
        "push_transaction" | "add_pub_address" | "remove_pub_address" | "register_fio_address"
    );
    if status == 403 && action_endpoint && json.is_none() && !body.is_empty() {
        let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
        return Answer::Err(ChainError::Fio(FioError {
            status,
            error_type: None,
            message: text,
            fields: Vec::new(),
        }));
    }
    // Anything else (a proxy's or CDN's page, a parked domain, 429, a 5xx
    // without EOSIO's JSON) is not the FIO API answering: ask another node.
    Answer::Retry(format!("HTTP {status}, not a FIO API answer"))
}

impl Inner {
    /// One node's answer. A node is asked for anything only after its
    /// get_info showed the configured chain: a testnet node in a mainnet
    /// list must not answer key lookups.
    async fn call(&self, node: &str, endpoint: &str, body: &Value) -> Answer {
        if endpoint != "get_info" {
            let known = self
                .verified
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(node);
            if !known {
                match self
                    .request(node, "get_info", &Value::Object(Default::default()))
                    .await
                {
                    Answer::Ok(v) => {
                        let expected = self.config.chain_id.to_hex();
                        match v.get("chain_id").and_then(Value::as_str) {
                            Some(id) if id == expected => {
                                self.verified
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .insert(node.to_string());
                            }
                            other => {
                                return Answer::Retry(format!(
                                    "{node} serves chain {other:?}, not {expected}"
                                ))
                            }
                        }
                    }
                    Answer::Err(e) => return Answer::Retry(format!("{node}: get_info: {e}")),
                    Answer::Retry(why) => return Answer::Retry(why),
                }
            }
        }
        self.request(node, endpoint, body).await
    }

    async fn request(&self, node: &str, endpoint: &str, body: &Value) -> Answer {
        let url = format!("{}/v1/chain/{endpoint}", node.trim_end_matches('/'));
        let resp = match self.http.post(&url).json(body).send().await {
            Ok(r) => r,
            Err(e) => return Answer::Retry(format!("{node}: {}", describe_http(&e))),
        };
        let status = resp.status().as_u16();
        let bytes = match read_capped(resp, MAX_CHAIN_BODY).await {
            Ok(b) => b,
            Err(e) => return Answer::Retry(format!("{node}: {e}")),
        };
        if status == 200 || status == 202 {
            // A success that is not JSON (a captive portal's page) is not
            // the FIO API answering.
            return match serde_json::from_slice(&bytes) {
                Ok(v) => Answer::Ok(v),
                Err(e) => Answer::Retry(format!("{node}: {endpoint}: not JSON: {e}")),
            };
        }
        match read_error(endpoint, status, &bytes) {
            Answer::Retry(why) => Answer::Retry(format!("{node}: {why}")),
            other => other,
        }
    }

    /// The first node's answer, failing over while nodes cannot be reached.
    async fn first(&self, endpoint: &str, body: &Value) -> Result<Value, ChainError> {
        let mut failures = Vec::new();
        for node in &self.config.nodes {
            match self.call(node, endpoint, body).await {
                Answer::Ok(v) => return Ok(v),
                Answer::Err(e) => return Err(e),
                Answer::Retry(why) => failures.push(why),
            }
        }
        Err(ChainError::Unavailable(failures.join("; ")))
    }

    async fn get_info(&self) -> Result<ChainInfo, ChainError> {
        let info: ChainInfo = parse(
            "get_info",
            self.first("get_info", &Value::Object(Default::default()))
                .await?,
        )?;
        let expected = self.config.chain_id.to_hex();
        if info.chain_id != expected {
            return Err(ChainError::WrongChain {
                node: self.config.nodes.join(", "),
                found: info.chain_id,
                expected,
            });
        }
        Ok(info)
    }

    async fn push(
        &self,
        endpoint: &str,
        body: &Value,
        id: String,
    ) -> Result<PushResult, ChainError> {
        let mut failures = Vec::new();
        for node in &self.config.nodes {
            match self.call(node, endpoint, body).await {
                Answer::Ok(v) => {
                    let response = v
                        .pointer("/processed/action_traces/0/receipt/response")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    let transaction_id = v
                        .get("transaction_id")
                        .and_then(Value::as_str)
                        .unwrap_or(&id)
                        .to_string();
                    return Ok(PushResult {
                        transaction_id,
                        response,
                        already_accepted: false,
                    });
                }
                // tx_duplicate: this signed transaction is already in.
                Answer::Err(ChainError::Node(NodeError { status: 409, .. })) => {
                    return Ok(PushResult {
                        transaction_id: id,
                        response: None,
                        already_accepted: true,
                    })
                }
                Answer::Err(e) => return Err(e),
                Answer::Retry(why) => failures.push(why),
            }
        }
        Err(ChainError::Unavailable(failures.join("; ")))
    }

    /// Looks up the first of `codes` (chain, token) that `address` maps,
    /// asking nodes until `agreement` of them answered; answers must agree.
    /// A hit is returned as `"TOKEN address"` (the token code tells what the
    /// address is) except for FIO/FIO, which is the key alone.
    async fn lookup(
        &self,
        address: String,
        what: &'static str,
        codes: &[(&str, &str)],
    ) -> Result<Lookup<String>, ChainError> {
        let key = (address.clone(), what);
        {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, v)) = cache.get(&key) {
                if at.elapsed() < self.config.cache_ttl {
                    return Ok(v.clone());
                }
            }
        }
        // The wallet engine waits for lookups inside a database transaction:
        // right after the chain was found unreachable, do not wait again.
        let offline = *self.offline_until.lock().unwrap_or_else(|e| e.into_inner());
        if offline.is_some_and(|t| Instant::now() < t) {
            return Err(ChainError::Unavailable(
                "no FIO API node answered moments ago".into(),
            ));
        }
        // Each node's answer, errors included: they must all agree.
        let mut answers: Vec<(String, Result<Lookup<String>, ChainError>)> = Vec::new();
        let mut failures = Vec::new();
        for node in &self.config.nodes {
            if answers.len() == self.config.agreement {
                break;
            }
            let mut outcome = Ok(Lookup::NotFound);
            let mut retry = None;
            for (chain, token) in codes {
                let body = serde_json::json!({"fio_address": address, "chain_code": chain, "token_code": token});
                match self.call(node, "get_pub_address", &body).await {
                    Answer::Ok(v) => {
                        #[derive(Deserialize)]
                        struct R {
                            public_address: String,
                        }
                        match parse::<R>("get_pub_address", v) {
                            Ok(r) => {
                                outcome = Ok(Lookup::Found(if what == "FIO" {
                                    r.public_address
                                } else {
                                    format!("{token} {}", r.public_address)
                                }))
                            }
                            // A broken node: ask another.
                            Err(e) => retry = Some(format!("{node}: {e}")),
                        }
                        break;
                    }
                    Answer::Err(e) if e.is_not_found() => continue,
                    Answer::Err(e) => {
                        outcome = Err(e);
                        break;
                    }
                    Answer::Retry(why) => {
                        retry = Some(why);
                        break;
                    }
                }
            }
            match retry {
                Some(why) => failures.push(why),
                None => answers.push((node.clone(), outcome)),
            }
        }
        if answers.len() < self.config.agreement {
            // Not enough nodes answer: the next lookups would wait for the
            // same timeouts, inside the engine's transaction. Fail fast.
            *self.offline_until.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Instant::now() + OFFLINE_BACKOFF);
            return Err(ChainError::Unavailable(format!(
                "{} of {} nodes needed for agreement answered: {}",
                answers.len(),
                self.config.agreement,
                failures.join("; ")
            )));
        }
        let first = answers[0].1.clone();
        if let Some((node, other)) = answers.iter().find(|(_, a)| *a != first) {
            return Err(ChainError::Disagreement(format!(
                "{what} of {address}: {} says {:?}, {node} says {:?}",
                answers[0].0, first, other
            )));
        }
        let first = first?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED {
            let ttl = self.config.cache_ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now(), first.clone()));
        Ok(first)
    }
}

/// Lookups kept at most (a spam wave of unknown senders cannot grow it).
const MAX_CACHED: usize = 4096;

/// After every node failed a lookup, further lookups fail at once for this
/// long instead of waiting for timeouts again.
const OFFLINE_BACKOFF: Duration = Duration::from_secs(15);

impl From<ChainError> for DirectoryError {
    fn from(e: ChainError) -> Self {
        match e {
            e if e.is_not_found() => DirectoryError::NotFound(e.to_string()),
            // A malformed handle, or a FIO/FIO mapping that is not a key:
            // asking again will not help.
            ChainError::Fio(FioError { status: 400, .. }) | ChainError::InvalidMapping { .. } => {
                DirectoryError::NotFound(e.to_string())
            }
            other => DirectoryError::Unavailable(other.to_string()),
        }
    }
}

/// The chain as the wallet engine's key directory. The engine calls it
/// synchronously, from inside a database transaction; a cache hit answers
/// at once, a miss blocks on the client's own runtime.
impl KeyDirectory for ChainClient {
    fn public_key(&self, address: &FioAddress) -> Result<PublicKey, DirectoryError> {
        let this = self.clone();
        let address = address.clone();
        Ok(self
            .rt
            .block_on(async move { this.fio_public_key(&address).await })?)
    }

    fn inbox(&self, address: &FioAddress) -> Result<Option<InboxLocation>, DirectoryError> {
        let this = self.clone();
        let address = address.clone();
        Ok(self
            .rt
            .block_on(async move { this.inbox(&address).await })?)
    }
}

/// The token code an inbox location is registered under (FIB/URL, FIB/IPA).
pub fn inbox_entry(location: &InboxLocation) -> TokenPubAddress {
    TokenPubAddress {
        token_code: match location.kind {
            InboxKind::Url => "URL",
            InboxKind::Ipa => "IPA",
        }
        .into(),
        chain_code: "FIB".into(),
        public_address: location.address.clone(),
    }
}
