//! The CLI wallet: one wallet per home directory (`home.rs`), talking to the
//! chain and relay its configuration names. Commands that send a message
//! queue it and then sync (deliver and fetch) unless `--offline`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `--quiet`: no progress line either (stdout is silenced in main).
pub static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

use clap::{Args, Subcommand};
use fio_peer::chain::{ChainClient, ChainConfig, ChainId, MAINNET_NODES, TESTNET_NODES};
use fio_peer::crypto::{
    derive_from_mnemonic, generate_mnemonic, NewFundsContent, PrivateKey, RecordObtDataContent,
};
use fio_peer::friends::{
    Friends, FriendsConfig, FriendsError, Grant, Nbpa, PrivateRequest, RequestStatus,
};
use fio_peer::protocol::FioAddress;
use fio_peer::sync::{
    CancelToken, PushTarget, SyncConfig, SyncEngine, SyncError, SyncPhase, SyncReport,
};
use fio_peer::wallet::{
    Acceptance, AddressRequest, Delivery, Direction, FundsRequest, KeyDirectory, MessageRecord,
    OutboxState, Outgoing, RequestState, Wallet, WalletError,
};
use serde_json::{json, Value};

use crate::error::{private_key_arg, CliError, CliResult};
use crate::home::{self, Config, WalletFile};

/// The devnet chain id (fio.devtools'), fio-devnet's default.
const DEVNET_CHAIN: &str = "cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f";
/// fio-devnet's default listen address.
const DEVNET_NODE: &str = "http://127.0.0.1:8889";

/// Where the wallet lives and what it talks to; flags and environment
/// variables override the home's config.json.
#[derive(Args, Clone, Debug, Default)]
pub struct Endpoints {
    /// The wallet's directory.
    #[arg(long, global = true, env = "FIO_PEER_HOME")]
    pub home: Option<PathBuf>,
    /// devnet (default), testnet or mainnet.
    #[arg(long, global = true, env = "FIO_PEER_NETWORK")]
    pub network: Option<String>,
    /// A FIO API node (repeat for several; comma-separated in the variable).
    #[arg(
        long = "node",
        global = true,
        env = "FIO_PEER_NODES",
        value_delimiter = ','
    )]
    pub nodes: Vec<String>,
    /// The relay to keep this wallet's inbox on.
    #[arg(long, global = true, env = "FIO_PEER_RELAY")]
    pub relay: Option<String>,
    /// Queue messages without syncing afterwards.
    #[arg(long, global = true)]
    pub offline: bool,
}

impl Endpoints {
    fn home(&self) -> Result<PathBuf, CliError> {
        if let Some(h) = &self.home {
            return Ok(h.clone());
        }
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".fio-peer"))
            .ok_or_else(|| CliError::usage("no home directory: set FIO_PEER_HOME or pass --home"))
    }

    /// The home's config with these overrides applied.
    fn config(&self, stored: Option<Config>) -> Config {
        let mut c = stored.unwrap_or(Config {
            network: "devnet".into(),
            chain_id: None,
            nodes: Vec::new(),
            relay: None,
        });
        if let Some(n) = &self.network {
            if *n != c.network {
                c.chain_id = None;
                c.nodes.clear();
            }
            c.network = n.clone();
        }
        if !self.nodes.is_empty() {
            c.nodes = self.nodes.clone();
        }
        if self.relay.is_some() {
            c.relay = self.relay.clone();
        }
        c
    }
}

fn chain_config(c: &Config) -> Result<ChainConfig, CliError> {
    let (id, nodes): (ChainId, Vec<String>) = match c.network.as_str() {
        "mainnet" => (
            ChainId::MAINNET,
            MAINNET_NODES.iter().map(|s| s.to_string()).collect(),
        ),
        "testnet" => (
            ChainId::TESTNET,
            TESTNET_NODES.iter().map(|s| s.to_string()).collect(),
        ),
        "devnet" => (
            ChainId::parse(DEVNET_CHAIN).expect("valid"),
            vec![DEVNET_NODE.into()],
        ),
        other => {
            return Err(CliError::usage(format!(
                "network {other:?} is not devnet, testnet or mainnet (check --network, FIO_PEER_NETWORK and config.json)"
            )))
        }
    };
    let id = match &c.chain_id {
        Some(text) => ChainId::parse(text).map_err(|e| {
            CliError::usage(format!(
                "config.json: chain_id: {e}; give 64 hex digits or remove it"
            ))
        })?,
        None => id,
    };
    let nodes = if c.nodes.is_empty() {
        nodes
    } else {
        c.nodes.clone()
    };
    Ok(ChainConfig::new(id, nodes))
}

/// An open wallet with everything it talks to.
struct Ctx {
    json: bool,
    offline: bool,
    config: Config,
    rt: tokio::runtime::Runtime,
    chain: ChainClient,
    wallet: Arc<Wallet>,
    engine: SyncEngine,
    friends: Friends,
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("could not start the async runtime: {e}")))
}

fn read_json<T: for<'de> serde::Deserialize<'de>>(
    path: &std::path::Path,
) -> Result<Option<T>, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            CliError::new(format!(
                "{} is not valid: {e}. Fix or remove it.",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::new(format!(
            "could not read {}: {e}",
            path.display()
        ))),
    }
}

impl Ctx {
    fn open(endpoints: &Endpoints, json: bool) -> Result<Ctx, CliError> {
        let home = endpoints.home()?;
        let file: WalletFile = home::read_wallet(&home)
            .map_err(|e| CliError::new(format!("{} is not valid: {e}. Fix or restore it.", home.join(home::WALLET_FILE).display())))?
            .ok_or_else(|| {
            CliError::usage(format!(
                "there is no wallet in {}: create one with `fio-peer wallet init --fio-address you@domain` (or import one), or point FIO_PEER_HOME at one",
                home.display()
            ))
        })?;
        let config = endpoints.config(read_json(&home.join(home::CONFIG))?);
        let key = PrivateKey::parse(&file.private_key).map_err(|e| {
            CliError::new(format!(
                "{}: the private key is not valid ({e})",
                home.join(home::WALLET_FILE).display()
            ))
        })?;
        fio_peer::chain::install_tls_provider();
        let chain = ChainClient::new(chain_config(&config)?)
            .map_err(|e| CliError::new(format!("could not set up the chain client: {e}")))?;
        let directory: Arc<dyn KeyDirectory> = Arc::new(chain.clone());
        let wallet = Arc::new(
            Wallet::open(
                home.join(home::WALLET_DB),
                key,
                &file.fio_address,
                directory,
            )
            .map_err(|e| CliError::new(format!("could not open the wallet database: {e}")))?,
        );
        let engine = SyncEngine::new(
            wallet.clone(),
            chain.clone(),
            SyncConfig {
                relay: config.relay.clone(),
                // The devnet's relays and peers are on this machine.
                allow_insecure_destinations: config.network == "devnet",
                ..SyncConfig::default()
            },
        )
        .map_err(sync_error)?;
        let friends = Friends::new(wallet.clone(), chain.clone(), FriendsConfig::default())
            .map_err(friends_error)?;
        Ok(Ctx {
            json,
            offline: endpoints.offline,
            config,
            rt: runtime()?,
            chain,
            wallet,
            engine,
            friends,
        })
    }

    /// Prints `text` (text mode) or returns `value` (JSON mode).
    fn out(&self, value: Value, text: impl Into<String>) -> CliResult {
        if self.json {
            Ok(value)
        } else {
            println!("{}", text.into());
            Ok(Value::Null)
        }
    }

    /// Syncs, drawing a progress line on stderr when it runs long.
    fn sync(&self) -> Result<SyncReport, CliError> {
        let started = Instant::now();
        let drawn = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = drawn.clone();
        // A bar only on a terminal, never in JSON or quiet mode, and only
        // once the sync has run for a second.
        let quiet = self.json
            || QUIET.load(std::sync::atomic::Ordering::Relaxed)
            || !std::io::IsTerminal::is_terminal(&std::io::stderr());
        // What waits in the outbox now: the delivery bar's total.
        let pending = self.wallet.outbox().map(|o| o.len() as u64).unwrap_or(0);
        let progress = Arc::new(move |phase: SyncPhase, r: &SyncReport| {
            if quiet || started.elapsed() < Duration::from_secs(1) {
                return;
            }
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
            eprint!("\r{}", progress_line(phase, r, pending, started.elapsed()));
        });
        let report = self
            .engine
            .sync_blocking(Some(progress), CancelToken::new());
        if drawn.load(std::sync::atomic::Ordering::Relaxed) {
            eprintln!();
        }
        report.map_err(sync_error)
    }

    /// After queueing `o`: sync unless offline, and say what happened.
    fn sent(&self, o: &Outgoing, what: &str) -> CliResult {
        let mut value =
            json!({"message_id": o.message_id, "action": o.action.name(), "peer": o.peer.as_str()});
        let mut text = format!("{what} ({} {}).", o.action.name(), o.message_id);
        if self.offline {
            value["delivered"] = json!(false);
            text.push_str(" Queued (offline): `fio-peer sync` delivers it.");
            return self.out(value, text);
        }
        // The message is in the outbox whatever the sync does: a failed
        // sync is reported, not turned into a failed command (retrying the
        // command would send it twice).
        match self.sync() {
            Ok(r) => value["sync"] = report_json(&r),
            Err(e) => {
                value["sync_error"] = json!(e.message);
                text.push_str(&format!(" The sync after it failed ({}).", e.message));
            }
        }
        let state = self
            .wallet
            .delivery(o.peer.as_str(), &o.message_id)
            .ok()
            .flatten()
            .map(|d| (d.state, d.last_error));
        value["delivered"] = json!(matches!(state, Some((OutboxState::Delivered, _))));
        match state {
            Some((OutboxState::Delivered, _)) => text.push_str(" Delivered to the peer's inbox."),
            Some((OutboxState::Failed, why)) => {
                let why = why.unwrap_or_default();
                value["failed"] = json!(why);
                return Err(CliError {
                    message: format!(
                        "{text} The peer's inbox refused it for good ({why}); it will not be retried."
                    ),
                    exit_code: 1,
                    output: self.json.then_some(value),
                });
            }
            _ => text.push_str(" Queued: a later `fio-peer sync` delivers it."),
        }
        self.out(value, text)
    }
}

/// One redrawn line: a bar of delivery against what waited in the outbox,
/// then what has been received.
fn progress_line(phase: SyncPhase, r: &SyncReport, pending: u64, elapsed: Duration) -> String {
    let done = r.delivered + r.failed;
    let total = pending.max(done).max(1);
    let filled = (20 * done / total) as usize;
    let what = match phase {
        SyncPhase::Registering => "registering the inbox",
        SyncPhase::Fetching => "fetching",
        SyncPhase::Delivering => "delivering",
    };
    format!(
        "[{}{}] {done}/{pending} delivered, {} received  {what} {:.0}s   ",
        "#".repeat(filled),
        "-".repeat(20 - filled),
        r.received,
        elapsed.as_secs_f64()
    )
}

fn report_json(r: &SyncReport) -> Value {
    json!({
        "fetched": r.fetched, "received": r.received, "rejected": r.rejected,
        "duplicates": r.duplicates, "held": r.held, "delivered": r.delivered,
        "retrying": r.retrying, "failed": r.failed, "registered": r.registered,
    })
}

fn wallet_error(e: WalletError) -> CliError {
    match e {
        WalletError::InvalidInput(p) => {
            CliError::usage(format!("{p}. Check the value and try again."))
        }
        WalletError::Channel(m) | WalletError::Request(m) => CliError::new(format!("{m}.")),
        WalletError::Directory(d) => CliError::new(format!(
            "the chain could not be asked ({d}); check --node / FIO_PEER_NODES and try again"
        )),
        WalletError::WrongIdentity(who) => CliError::new(format!(
            "wallet.sqlite belongs to {who}, not to this home's wallet.json: restore the matching files"
        )),
        other => CliError::new(format!("{other}; the wallet database may need attention")),
    }
}

fn sync_error(e: SyncError) -> CliError {
    match e {
        SyncError::NoInbox => CliError::usage(
            "this wallet has no inbox and no relay is configured: pass --relay <url> (or set FIO_PEER_RELAY) and run `fio-peer inbox create`",
        ),
        other => CliError::new(format!("{other}; check the relay and chain endpoints and try again")),
    }
}

fn friends_error(e: FriendsError) -> CliError {
    match e {
        FriendsError::InvalidInput { field, value, message } => {
            CliError::usage(format!("{field} {value:?}: {message}"))
        }
        FriendsError::NotAFriend(who) => CliError::new(format!(
            "{who} is not on your friend list: add them with `fio-peer friend add {who}` first"
        )),
        FriendsError::NotOnTheirFriendList(who) => CliError::new(format!(
            "you are not on {who}'s friend list, so they would never see the request: ask them to add you first"
        )),
        FriendsError::Chain(e) => CliError::new(format!(
            "the chain refused or could not be reached: {e}. Check --node / FIO_PEER_NODES and try again"
        )),
        FriendsError::Undecryptable => CliError::new(
            "something granted to you does not decrypt: ask its owner to grant it again",
        ),
        other => CliError::new(format!("{other}")),
    }
}

fn message_json(m: &MessageRecord) -> Value {
    let mut data = serde_json::from_str::<Value>(&m.data_text).unwrap_or(Value::Null);
    // A channel token lets whoever holds it write on the channel: never
    // printed (the database keeps it).
    if let Some(fields) = data.as_object_mut() {
        fields.remove("return_id_token");
    }
    json!({
        "id": m.id,
        "message_id": m.message_id,
        "direction": if m.direction == Direction::Incoming { "in" } else { "out" },
        "action": m.action.name(),
        "referenced_message_id": m.referenced_message_id,
        "data": data,
        "peer_status": m.peer_status,
        "created_at": m.created_at,
        "delivery": m.delivery.as_ref().map(delivery_json),
    })
}

fn delivery_json(d: &Delivery) -> Value {
    match d {
        Delivery::Queued => json!({"state": "queued"}),
        Delivery::Retrying {
            attempts,
            next_attempt_at,
            last_error,
        } => json!({"state": "retrying", "attempts": attempts,
                     "next_attempt_at_ms": next_attempt_at, "last_error": last_error}),
        Delivery::Delivered { seq, delivered_at } => {
            json!({"state": "delivered", "seq": seq, "delivered_at": delivered_at})
        }
        Delivery::Failed { attempts, reason } => {
            json!({"state": "failed", "attempts": attempts, "reason": reason})
        }
    }
}

fn delivery_word(d: &Delivery) -> String {
    match d {
        Delivery::Queued => "[queued]".into(),
        Delivery::Retrying { attempts, .. } => format!("[retrying, {attempts} attempt(s)]"),
        Delivery::Delivered { .. } => "[delivered]".into(),
        Delivery::Failed { reason, .. } => format!("[failed: {reason}]"),
    }
}

fn message_line(m: &MessageRecord) -> String {
    let arrow = if m.direction == Direction::Incoming {
        "←"
    } else {
        "→"
    };
    let d = &m.data;
    let mut parts = vec![format!("{arrow} {:<30} {}", m.action.name(), m.message_id)];
    if let (Some(amount), Some(token)) = (&d.amount, &d.token_code) {
        parts.push(format!("{amount} {token}"));
    }
    if let Some(a) = &d.payee_public_address {
        parts.push(format!("to {a}"));
    }
    if let Some(s) = &d.message_status {
        parts.push(s.clone());
    }
    if let Some(memo) = &d.memo {
        parts.push(format!("{memo:?}"));
    }
    if let Some(r) = &m.referenced_message_id {
        parts.push(format!("(re {r})"));
    }
    if let Some(d) = &m.delivery {
        parts.push(delivery_word(d));
    }
    parts.join("  ")
}

// ---- commands ----

#[derive(Subcommand)]
pub enum WalletCommand {
    /// Create a wallet: a new mnemonic and its FIO key, for a FIO address
    /// the key owns (or will own).
    Init {
        /// The wallet's FIO address (name@domain).
        #[arg(long)]
        fio_address: String,
        /// Number of mnemonic words: 12 or 24.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u16).range(12..=24))]
        words: u16,
    },
    /// Create a wallet from an existing mnemonic or private key.
    Import {
        /// The wallet's FIO address (name@domain).
        #[arg(long)]
        fio_address: String,
        /// The mnemonic words; `-` reads them from standard input.
        #[arg(
            long,
            env = "FIO_PEER_MNEMONIC",
            hide_env_values = true,
            conflicts_with = "key"
        )]
        mnemonic: Option<String>,
        /// A WIF or PVT_K1_ private key; `-` reads it from standard input.
        #[arg(long, env = "FIO_PEER_KEY", hide_env_values = true)]
        key: Option<String>,
    },
    /// Show the wallet: address, key, endpoints, inbox and counts.
    Show,
}

pub fn wallet(cmd: WalletCommand, endpoints: &Endpoints, json: bool) -> CliResult {
    match cmd {
        WalletCommand::Init { fio_address, words } => {
            if words != 12 && words != 24 {
                return Err(CliError::usage("--words: give 12 or 24"));
            }
            let mnemonic =
                generate_mnemonic(words as usize).map_err(|e| CliError::new(e.to_string()))?;
            let key = derive_from_mnemonic(&mnemonic).map_err(|e| CliError::new(e.to_string()))?;
            let home = create(endpoints, &fio_address, &key)?;
            if json {
                return Ok(json!({
                    "home": home, "fio_address": fio_address.to_ascii_lowercase(),
                    "public_key": key.public_key().to_fio_string(), "mnemonic": mnemonic.as_str(),
                }));
            }
            println!(
                "Created the wallet of {} in {}.\nPublic key: {}\nWrite these words down; they are the only way to restore the wallet:\n  {}",
                fio_address.to_ascii_lowercase(),
                home.display(),
                key.public_key().to_fio_string(),
                mnemonic.as_str()
            );
            Ok(Value::Null)
        }
        WalletCommand::Import {
            fio_address,
            mnemonic,
            key,
        } => {
            let key = match (mnemonic, key) {
                (Some(m), _) => {
                    let m = if m == "-" {
                        read_stdin("--mnemonic")?
                    } else {
                        zeroize::Zeroizing::new(m)
                    };
                    derive_from_mnemonic(&m).map_err(|e| {
                        CliError::usage(format!(
                            "--mnemonic: {e}. Check the words: 12 or 24 English BIP39 words."
                        ))
                    })?
                }
                (None, Some(k)) => private_key_arg("--key", &k)?,
                (None, None) => {
                    return Err(CliError::usage(
                        "give --mnemonic or --key (or FIO_PEER_MNEMONIC / FIO_PEER_KEY)",
                    ))
                }
            };
            let home = create(endpoints, &fio_address, &key)?;
            let value = json!({"home": home, "fio_address": fio_address.to_ascii_lowercase(), "public_key": key.public_key().to_fio_string()});
            if json {
                return Ok(value);
            }
            println!(
                "Imported the wallet of {} into {}.",
                fio_address.to_ascii_lowercase(),
                home.display()
            );
            Ok(Value::Null)
        }
        WalletCommand::Show => {
            let ctx = Ctx::open(endpoints, json)?;
            let inbox = ctx.wallet.own_inbox().map_err(wallet_error)?;
            let channels = ctx.wallet.channels().map_err(wallet_error)?;
            let queue = ctx.wallet.queue().map_err(wallet_error)?;
            let outbox = ctx.wallet.outbox().map_err(wallet_error)?;
            let friends = ctx.friends.friend_count().map_err(friends_error)?;
            let key = ctx.wallet.public_key();
            let nodes = ctx.chain.config().nodes.clone();
            let value = json!({
                "fio_address": ctx.wallet.fio_address().as_str(),
                "public_key": key.to_fio_string(),
                "account": key.account_name(),
                "network": ctx.config.network, "nodes": nodes, "relay": ctx.config.relay,
                "inbox": inbox.as_ref().map(|i| &i.inbox_url),
                "inbox_registered": inbox.as_ref().map(|i| i.registered_at.is_some()),
                "channels": channels.len(), "queue": queue.len(), "outbox": outbox.len(), "friends": friends,
            });
            let text = format!(
                "{} ({})\n  account   {}\n  network   {} via {}\n  relay     {}\n  inbox     {}\n  channels {}, queue {}, outbox {}, friends {}",
                ctx.wallet.fio_address(),
                key.to_fio_string(),
                key.account_name(),
                ctx.config.network,
                nodes.join(", "),
                ctx.config.relay.as_deref().unwrap_or("(none: pass --relay)"),
                inbox
                    .as_ref()
                    .map(|i| format!(
                        "{}{}",
                        i.inbox_url,
                        if i.registered_at.is_some() { " (registered on chain)" } else { " (not registered yet)" }
                    ))
                    .unwrap_or_else(|| "(none yet: `fio-peer inbox create`)".into()),
                channels.len(),
                queue.len(),
                outbox.len(),
                friends
            );
            ctx.out(value, text)
        }
    }
}

fn read_stdin(flag: &str) -> Result<zeroize::Zeroizing<String>, CliError> {
    let mut buf = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut buf)
        .map_err(|e| CliError::new(format!("could not read {flag} from standard input: {e}")))?;
    Ok(zeroize::Zeroizing::new(buf))
}

/// Writes a new home (refusing to overwrite a wallet) and opens its database.
fn create(endpoints: &Endpoints, fio_address: &str, key: &PrivateKey) -> Result<PathBuf, CliError> {
    let address = fio_peer::protocol::FioAddress::parse(fio_address).ok_or_else(|| {
        CliError::usage(format!(
            "--fio-address {fio_address:?} is not a FIO address: give name@domain"
        ))
    })?;
    let home = endpoints.home()?;
    if home.join(home::WALLET_FILE).exists() {
        return Err(CliError::usage(format!(
            "{} already holds a wallet; choose another --home (or FIO_PEER_HOME)",
            home.display()
        )));
    }
    if home.join(home::WALLET_DB).exists() {
        return Err(CliError::usage(format!(
            "{} holds a wallet database without wallet.json; choose another --home, or restore its wallet.json",
            home.display()
        )));
    }
    let config = endpoints.config(read_json(&home.join(home::CONFIG))?);
    fio_peer::chain::install_tls_provider();
    // Nothing is asked of the chain yet; the wallet only needs a directory.
    let chain = ChainClient::new(chain_config(&config)?)
        .map_err(|e| CliError::new(format!("could not set up the chain client: {e}")))?;
    home::create_dir(&home)
        .map_err(|e| CliError::new(format!("could not create {}: {e}", home.display())))?;
    let directory: Arc<dyn KeyDirectory> = Arc::new(chain);
    let made = Wallet::open(
        home.join(home::WALLET_DB),
        key.clone(),
        address.as_str(),
        directory,
    )
    .map_err(|e| CliError::new(format!("could not create the wallet database: {e}")))
    .and_then(|_| {
        home::restrict(&home.join(home::WALLET_DB))
            .and_then(|_| home::write(&home, &config, &WalletFile::new(address.as_str(), key)))
            .map_err(|e| CliError::new(format!("could not write {}: {e}", home.display())))
    });
    if made.is_err() {
        // Leave no half-made wallet behind.
        for f in [home::WALLET_DB, "wallet.sqlite-wal", "wallet.sqlite-shm"] {
            let _ = std::fs::remove_file(home.join(f));
        }
    }
    made.map(|_| home)
}

#[derive(Subcommand)]
pub enum InboxCommand {
    /// Create this wallet's inbox on the relay (--relay / FIO_PEER_RELAY / config.json).
    Create,
    /// Register the inbox's URL on chain (FIB/URL) unless the chain maps it.
    Register {
        /// Push the registration even if the chain seems to map it.
        #[arg(long)]
        force: bool,
    },
    /// Move the inbox to another relay (--relay): a new inbox is created and
    /// registered, every open channel is told, and the old one is still read.
    Move,
    /// Have the relay push to a Matrix push gateway (--gateway) or a Web
    /// Push subscription (--webpush) after each new envelope.
    #[command(name = "push-add")]
    PushAdd(PushAddArgs),
    /// The push registrations of the inbox.
    Pushes,
    /// Remove a push registration (by its push id) from the relay and the wallet.
    #[command(name = "push-remove")]
    PushRemove {
        /// Its id (see `fio-peer inbox pushes`).
        push_id: String,
    },
    /// The relay's VAPID key: the applicationServerKey of a Web Push subscription.
    #[command(name = "push-key")]
    PushKey,
    /// What a notification extension does when a push arrives: receive what
    /// waits within a budget, and print what to show.
    Notify {
        /// Milliseconds it may take.
        #[arg(long, default_value_t = 20_000)]
        budget_ms: u64,
    },
}

#[derive(clap::Args)]
pub struct PushAddArgs {
    /// A Matrix push gateway's URL (ending in /_matrix/push/v1/notify).
    #[arg(long, conflicts_with = "webpush", requires_all = ["app_id", "pushkey"])]
    gateway: Option<String>,
    /// The app id the gateway knows.
    #[arg(long)]
    app_id: Option<String>,
    /// The device token the gateway pushes to (an APNs or FCM token); better
    /// given in the environment than on the command line.
    #[arg(long, env = "FIO_PEER_PUSHKEY", hide_env_values = true)]
    pushkey: Option<String>,
    /// A Web Push endpoint (UnifiedPush, a browser).
    #[arg(long, requires_all = ["p256dh", "auth"])]
    webpush: Option<String>,
    /// The subscription's public key, base64url.
    #[arg(long)]
    p256dh: Option<String>,
    /// The subscription's auth secret, base64url; better given in the
    /// environment than on the command line.
    #[arg(long, env = "FIO_PEER_PUSH_AUTH", hide_env_values = true)]
    auth: Option<String>,
}

pub fn inbox(cmd: InboxCommand, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    match cmd {
        InboxCommand::Create => {
            let existing = ctx.wallet.own_inbox().map_err(wallet_error)?;
            if let (Some(inbox), Some(relay)) = (&existing, &ctx.config.relay) {
                if inbox.relay.trim_end_matches('/') != relay.trim_end_matches('/') {
                    return Err(CliError::usage(format!(
                        "this wallet's inbox is on {}; to move it to {relay}, run `fio-peer inbox move --relay {relay}`",
                        inbox.relay
                    )));
                }
            }
            let inbox = ctx
                .rt
                .block_on(ctx.engine.ensure_inbox())
                .map_err(sync_error)?;
            persist_relay(endpoints, &inbox.relay)?;
            ctx.out(
                json!({"inbox": inbox.inbox_url, "relay": inbox.relay}),
                format!(
                    "Your inbox is {}. Register it on chain with `fio-peer inbox register`.",
                    inbox.inbox_url
                ),
            )
        }
        InboxCommand::Register { force } => {
            let pushed = ctx
                .engine
                .register_inbox_blocking(force)
                .map_err(sync_error)?;
            let inbox = ctx.wallet.own_inbox().map_err(wallet_error)?;
            ctx.out(
                json!({"registered": pushed, "inbox": inbox.as_ref().map(|i| i.inbox_url.clone())}),
                if pushed {
                    "Registered your inbox on chain (FIB/URL).".to_string()
                } else {
                    "The chain already maps your inbox (use --force to register it again)."
                        .to_string()
                },
            )
        }
        InboxCommand::PushAdd(args) => {
            let target = match (args.gateway, args.webpush) {
                (Some(url), None) => PushTarget::Gateway {
                    url,
                    app_id: args.app_id.unwrap_or_default(),
                    pushkey: args.pushkey.unwrap_or_default(),
                },
                (None, Some(endpoint)) => PushTarget::WebPush {
                    endpoint,
                    p256dh: args.p256dh.unwrap_or_default(),
                    auth: args.auth.unwrap_or_default(),
                },
                _ => {
                    return Err(CliError::usage(
                        "say where to push: --gateway <url> --app-id <id> --pushkey <token>, or --webpush <endpoint> --p256dh <key> --auth <secret>",
                    ))
                }
            };
            let r = ctx
                .rt
                .block_on(ctx.engine.register_push(target, CancelToken::new()))
                .map_err(sync_error)?;
            ctx.out(
                json!({"push_id": r.push_id, "kind": push_kind(&r.target)}),
                format!(
                    "The relay now pushes to this {} after each new message (push id {}).",
                    push_kind(&r.target),
                    r.push_id
                ),
            )
        }
        InboxCommand::Pushes => {
            let list = ctx.engine.push_registrations().map_err(sync_error)?;
            let rows: Vec<Value> = list
                .iter()
                .map(|r| json!({"push_id": r.push_id, "kind": push_kind(&r.target), "created_at": r.created_at}))
                .collect();
            let text = if list.is_empty() {
                "No push registrations.".to_string()
            } else {
                list.iter()
                    .map(|r| format!("{}  {}", r.push_id, push_kind(&r.target)))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            ctx.out(json!({"pushes": rows}), text)
        }
        InboxCommand::PushRemove { push_id } => {
            let removed = ctx
                .rt
                .block_on(ctx.engine.remove_push(push_id.clone(), CancelToken::new()))
                .map_err(sync_error)?;
            if !removed {
                return Err(CliError::usage(format!(
                    "this wallet has no push registration {push_id} (see `fio-peer inbox pushes`)"
                )));
            }
            ctx.out(
                json!({"removed": push_id}),
                format!("Removed push registration {push_id}."),
            )
        }
        InboxCommand::PushKey => {
            let key = ctx
                .rt
                .block_on(ctx.engine.relay_push_key(CancelToken::new()))
                .map_err(sync_error)?;
            ctx.out(json!({"public_key": key}), key.clone())
        }
        InboxCommand::Notify { budget_ms } => {
            let got = ctx
                .rt
                .block_on(ctx.engine.receive_for_notification(
                    std::time::Duration::from_millis(budget_ms),
                    None,
                    CancelToken::new(),
                ))
                .map_err(sync_error)?;
            let texts: Vec<&str> = got.notices.iter().map(|n| n.text.as_str()).collect();
            let text = if texts.is_empty() {
                "Nothing new.".to_string()
            } else {
                texts.join("\n")
            };
            ctx.out(
                json!({"notices": texts, "received": got.report.received}),
                text,
            )
        }
        InboxCommand::Move => {
            let relay = endpoints.relay.clone().ok_or_else(|| {
                CliError::usage("say where to: `fio-peer inbox move --relay <url>`")
            })?;
            let r = ctx
                .engine
                .replace_inbox_blocking(Some(relay.clone()))
                .map_err(sync_error)?;
            persist_relay(endpoints, &relay)?;
            let inbox = ctx.wallet.own_inbox().map_err(wallet_error)?;
            ctx.out(
                json!({"inbox": inbox.as_ref().map(|i| i.inbox_url.clone()), "relay": relay, "told": r.delivered}),
                format!(
                    "Your inbox is now {} (registered on chain; {} channel(s) told).",
                    inbox.map(|i| i.inbox_url.clone()).unwrap_or_default(),
                    r.delivered
                ),
            )
        }
    }
}

fn push_kind(target: &PushTarget) -> &'static str {
    match target {
        PushTarget::WebPush { .. } => "webpush",
        PushTarget::Gateway { .. } => "gateway",
    }
}

/// Records `relay` in config.json, leaving every other setting as stored
/// (one-off flags and environment variables are not saved).
fn persist_relay(endpoints: &Endpoints, relay: &str) -> Result<(), CliError> {
    let home = endpoints.home()?;
    let path = home.join(home::CONFIG);
    let mut stored: Config = read_json(&path)?.unwrap_or(Config {
        network: "devnet".into(),
        chain_id: None,
        nodes: Vec::new(),
        relay: None,
    });
    stored.relay = Some(relay.to_string());
    home::write_config(&home, &stored)
        .map_err(|e| CliError::new(format!("could not update {}: {e}", path.display())))
}

#[derive(Subcommand)]
pub enum ChannelCommand {
    /// Ask a peer for a channel (peer_new_com_request).
    Open {
        /// The peer's FIO address.
        peer: String,
        /// A memo for the peer.
        #[arg(long)]
        memo: Option<String>,
    },
    /// Every channel and its state.
    List,
    /// Close a channel (peer_close_com_request).
    Close {
        /// The peer's FIO address.
        peer: String,
        /// A memo for the peer.
        #[arg(long)]
        memo: Option<String>,
    },
    /// Tell the peer a new id token (peer_update_com_data_request).
    Update {
        /// The peer's FIO address.
        peer: String,
    },
}

pub fn channel(cmd: ChannelCommand, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    match cmd {
        ChannelCommand::Open { peer, memo } => {
            let o = ctx
                .wallet
                .open_channel(&peer, memo.as_deref())
                .map_err(wallet_error)?;
            ctx.sent(&o, &format!("Asked {peer} for a channel"))
        }
        ChannelCommand::Close { peer, memo } => {
            let o = ctx
                .wallet
                .close_channel(&peer, memo.as_deref())
                .map_err(wallet_error)?;
            ctx.sent(&o, &format!("Closed the channel with {peer}"))
        }
        ChannelCommand::Update { peer } => {
            let o = ctx
                .wallet
                .update_com_data(&peer, None, true)
                .map_err(wallet_error)?;
            ctx.sent(&o, &format!("Gave {peer} a new id token"))
        }
        ChannelCommand::List => {
            let list = ctx.wallet.channels().map_err(wallet_error)?;
            let value: Vec<Value> = list
                .iter()
                .map(|c| json!({"peer": c.peer.as_str(), "state": c.state.as_str(), "initiated_by_us": c.initiated_by_us, "peer_public_key": c.peer_public_key.to_fio_string(), "updated_at": c.updated_at}))
                .collect();
            let text = if list.is_empty() {
                "No channels yet: `fio-peer channel open <peer@domain>`.".to_string()
            } else {
                list.iter()
                    .map(|c| format!("{:<30} {}", c.peer.as_str(), c.state.as_str()))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            ctx.out(json!(value), text)
        }
    }
}

/// What a funds request (FIP-24 or FIP-3) asks for.
#[derive(Args)]
pub struct FundsArgs {
    /// The amount asked, as a decimal string (0.01).
    #[arg(long)]
    amount: String,
    /// The chain code (BTC, ETH, FIO, …).
    #[arg(long)]
    chain: String,
    /// The token code (BTC, USDC, …).
    #[arg(long)]
    token: String,
    /// Where to pay: your address on that chain.
    #[arg(long)]
    to: String,
    /// A memo for the payer.
    #[arg(long)]
    memo: Option<String>,
}

#[derive(Subcommand)]
pub enum RequestCommand {
    /// Ask a peer for funds (peer_new_funds_request).
    Funds {
        /// The peer's FIO address.
        peer: String,
        #[command(flatten)]
        funds: FundsArgs,
    },
    /// Ask a peer for a public address (peer_new_pub_address_request).
    Address {
        /// The peer's FIO address.
        peer: String,
        /// The chain code of the address asked for.
        #[arg(long)]
        chain: String,
        /// The token code of the address asked for.
        #[arg(long)]
        token: String,
        /// A memo for the peer.
        #[arg(long)]
        memo: Option<String>,
    },
}

pub fn request(cmd: RequestCommand, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    match cmd {
        RequestCommand::Funds {
            peer,
            funds:
                FundsArgs {
                    amount,
                    chain,
                    token,
                    to,
                    memo,
                },
        } => {
            let o = ctx
                .wallet
                .request_funds(
                    &peer,
                    FundsRequest {
                        payee_public_address: to,
                        chain_code: chain,
                        token_code: token.clone(),
                        amount: amount.clone(),
                        memo,
                        ..Default::default()
                    },
                )
                .map_err(wallet_error)?;
            ctx.sent(&o, &format!("Asked {peer} for {amount} {token}"))
        }
        RequestCommand::Address {
            peer,
            chain,
            token,
            memo,
        } => {
            let o = ctx
                .wallet
                .request_public_address(
                    &peer,
                    AddressRequest {
                        chain_code: chain.clone(),
                        token_code: token.clone(),
                        memo,
                        amount: None,
                    },
                )
                .map_err(wallet_error)?;
            ctx.sent(&o, &format!("Asked {peer} for a {chain}/{token} address"))
        }
    }
}

#[derive(Args)]
pub struct AnswerArgs {
    /// The peer's FIO address.
    pub peer: String,
    /// The message id of the request.
    pub message_id: String,
    /// A memo for the peer.
    #[arg(long)]
    pub memo: Option<String>,
}

#[derive(Args)]
pub struct AcceptArgs {
    #[command(flatten)]
    pub request: AnswerArgs,
    /// An address request: the address to give (a funds request: where it was paid from).
    #[arg(long)]
    pub address: Option<String>,
    /// An address request: the chain code of the address (the request's
    /// by default).
    #[arg(long)]
    pub chain: Option<String>,
    /// An address request: the token code of the address (the request's by
    /// default).
    #[arg(long)]
    pub token: Option<String>,
    /// A funds request: the amount paid, if not the amount asked.
    #[arg(long)]
    pub amount: Option<String>,
}

/// The request `id` with `peer`, or a usage error naming where to look.
fn known_request(ctx: &Ctx, peer: &str, id: &str) -> Result<(), CliError> {
    let all = ctx.wallet.requests(Some(peer)).map_err(wallet_error)?;
    if all.iter().any(|r| r.message_id == id) {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "there is no request {id} with {peer}: see `fio-peer queue` or `fio-peer history {peer}`"
        )))
    }
}

pub fn accept(a: AcceptArgs, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    let r = &a.request;
    known_request(&ctx, &r.peer, &r.message_id)?;
    let o = ctx
        .wallet
        .accept_request(
            &r.peer,
            &r.message_id,
            Acceptance {
                payee_public_address: a.address.clone(),
                chain_code: a.chain.clone(),
                token_code: a.token.clone(),
                amount: a.amount.clone(),
                memo: r.memo.clone(),
            },
        )
        .map_err(wallet_error)?;
    ctx.sent(&o, &format!("Accepted {}", r.message_id))
}

pub fn answer(kind: &str, a: AnswerArgs, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    known_request(&ctx, &a.peer, &a.message_id)?;
    let (o, verb) = if kind == "reject" {
        (
            ctx.wallet
                .reject_request(&a.peer, &a.message_id, a.memo.as_deref()),
            "Rejected",
        )
    } else {
        (
            ctx.wallet
                .cancel_request(&a.peer, &a.message_id, a.memo.as_deref()),
            "Cancelled",
        )
    };
    ctx.sent(
        &o.map_err(wallet_error)?,
        &format!("{verb} {}", a.message_id),
    )
}

pub fn send_text(peer: String, text: String, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    let o = ctx
        .wallet
        .send_private_text(&peer, &text, None)
        .map_err(wallet_error)?;
    ctx.sent(&o, &format!("Sent {peer} a text"))
}

pub fn history(peer: String, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    let list = ctx.wallet.history(&peer).map_err(wallet_error)?;
    let text = if list.is_empty() {
        format!("Nothing with {peer} yet.")
    } else {
        list.iter().map(message_line).collect::<Vec<_>>().join("\n")
    };
    ctx.out(
        json!(list.iter().map(message_json).collect::<Vec<_>>()),
        text,
    )
}

pub fn requests(
    peer: Option<String>,
    state: Option<String>,
    endpoints: &Endpoints,
    json: bool,
) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    // clap allows only the names.
    let state = state.as_deref().and_then(RequestState::from_name);
    let list = ctx
        .wallet
        .requests_page(peer.as_deref(), state, 0, usize::MAX)
        .map_err(wallet_error)?;
    let value: Vec<Value> = list
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "peer": r.peer.as_str(),
                "direction": if r.direction == Direction::Incoming { "in" } else { "out" },
                "kind": r.kind.as_str(), "message_id": r.message_id, "state": r.state.as_str(),
                "amount": r.data.amount, "token_code": r.data.token_code, "chain_code": r.data.chain_code,
                "memo": r.data.memo, "answer_memo": r.answer.as_ref().and_then(|a| a.memo.clone()),
                "reason": r.reason, "updated_at": r.updated_at,
            })
        })
        .collect();
    let text = if list.is_empty() {
        "No requests.".to_string()
    } else {
        list.iter()
            .map(|r| {
                let arrow = if r.direction == Direction::Incoming {
                    "←"
                } else {
                    "→"
                };
                let mut line = format!(
                    "{arrow} {:<10} {:<12} {:<24} {}",
                    r.state.as_str(),
                    r.kind.as_str(),
                    r.peer.as_str(),
                    r.message_id
                );
                if let (Some(amount), Some(token)) = (&r.data.amount, &r.data.token_code) {
                    line.push_str(&format!("  {amount} {token}"));
                }
                if let Some(reason) = &r.reason {
                    line.push_str(&format!("  ({reason})"));
                }
                line
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    ctx.out(json!(value), text)
}

pub fn retry(peer: String, message_id: String, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    ctx.wallet
        .retry_message(&peer, &message_id)
        .map_err(wallet_error)?;
    let o = Outgoing {
        peer: FioAddress::parse(&peer).ok_or_else(|| CliError::usage("not a FIO address"))?,
        action: ctx
            .wallet
            .delivery(&peer, &message_id)
            .map_err(wallet_error)?
            .map(|d| d.action)
            .ok_or_else(|| CliError::usage("no such message"))?,
        message_id: message_id.clone(),
        to: None,
        envelope: String::new(),
    };
    ctx.sent(&o, &format!("Queued {message_id} for {peer} again"))
}

pub fn queue(dismiss: Option<i64>, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    if let Some(id) = dismiss {
        if !ctx
            .wallet
            .queue()
            .map_err(wallet_error)?
            .iter()
            .any(|q| q.id == id)
        {
            return Err(CliError::usage(format!(
                "nothing in the queue has id {id}: see `fio-peer queue`"
            )));
        }
        ctx.wallet.dismiss(id).map_err(wallet_error)?;
    }
    let list = ctx.wallet.queue().map_err(wallet_error)?;
    let value: Vec<Value> = list
        .iter()
        .map(|q| {
            let mut v = json!({"id": q.id, "peer": q.peer.as_str(), "action": q.action.name(), "message": message_json(&q.message)});
            if let Some(k) = &q.key_change {
                v["key_change"] = json!({
                    "previous_key": k.previous_key.to_fio_string(),
                    "new_key": k.new_key.to_fio_string(),
                });
            }
            v
        })
        .collect();
    let text = if list.is_empty() {
        "Nothing waits for you.".to_string()
    } else {
        list.iter()
            .map(|q| {
                let warning = match &q.key_change {
                    Some(k) => format!(
                        "\n       the key of {} changed from {} to {}: its owner may not be the person you knew",
                        q.peer,
                        k.previous_key.to_fio_string(),
                        k.new_key.to_fio_string()
                    ),
                    None => String::new(),
                };
                format!(
                    "#{:<5} {:<24} {}{warning}",
                    q.id,
                    q.peer.as_str(),
                    message_line(&q.message)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    ctx.out(json!(value), text)
}

pub fn sync(endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    let r = ctx.sync()?;
    let mut text = format!(
        "Synced: {} received, {} delivered, {} waiting to be retried",
        r.received, r.delivered, r.retrying
    );
    if r.registered {
        text.push_str("; registered the inbox on chain");
    }
    if r.failed > 0 {
        return Err(CliError {
            message: format!(
                "{text}; {} message(s) were refused for good by the peer's inbox (see `fio-peer history <peer>`)",
                r.failed
            ),
            exit_code: 1,
            output: json.then(|| report_json(&r)),
        });
    }
    text.push('.');
    ctx.out(report_json(&r), text)
}

// ---- FIP-3 ----

#[derive(Subcommand)]
pub enum FriendCommand {
    /// Add the owner of a FIO address to your friend list (addfriend).
    Add {
        /// The FIO address to add.
        fio_address: String,
    },
    /// Remove a friend (removefriend).
    Remove {
        /// The friend's FIO address.
        friend: String,
    },
    /// Your friend list.
    List {
        /// Rebuild it from the chain first (after restoring from the mnemonic).
        #[arg(long)]
        restore: bool,
    },
    /// Whether the owner of a FIO address has you on their friend list.
    Check {
        /// The FIO address to ask about.
        fio_address: String,
    },
}

pub fn friend(cmd: FriendCommand, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    let f = &ctx.friends;
    match cmd {
        FriendCommand::Add { fio_address } => {
            let added = ctx
                .rt
                .block_on(f.add_friend(&fio_address))
                .map_err(friends_error)?;
            ctx.out(
                json!({"fio_address": added.fio_address, "public_key": added.public_key.to_fio_string(), "look_up_index": added.look_up_index}),
                format!("{} is on your friend list.", added.fio_address),
            )
        }
        FriendCommand::Remove { friend } => {
            ctx.rt
                .block_on(f.remove_friend(&friend))
                .map_err(friends_error)?;
            ctx.out(
                json!({"removed": friend}),
                format!("Removed {friend} from your friend list."),
            )
        }
        FriendCommand::List { restore } => {
            let restored = if restore {
                Some(ctx.rt.block_on(f.restore()).map_err(friends_error)?)
            } else {
                None
            };
            let list = f.friends(u32::MAX, 0).map_err(friends_error)?;
            let value = json!({
                "friends": list.iter().map(|x| json!({"fio_address": x.fio_address, "public_key": x.public_key.to_fio_string(), "added_at": x.added_at})).collect::<Vec<_>>(),
                "restored": restored.as_ref().map(|r| r.restored),
                "skipped": restored.as_ref().map(|r| r.skipped),
            });
            let text = if list.is_empty() {
                "No friends yet: `fio-peer friend add <name@domain>`.".to_string()
            } else {
                list.iter()
                    .map(|x| format!("{:<30} {}", x.fio_address, x.public_key.to_fio_string()))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            ctx.out(value, text)
        }
        FriendCommand::Check { fio_address } => {
            let on = ctx
                .rt
                .block_on(f.is_on_friend_list_of(&fio_address))
                .map_err(friends_error)?;
            ctx.out(
                json!({"is_friend": on}),
                if on {
                    format!("You are on {fio_address}'s friend list.")
                } else {
                    format!("You are not on {fio_address}'s friend list.")
                },
            )
        }
    }
}

#[derive(Subcommand)]
pub enum NbpaCommand {
    /// Place one of your native-chain addresses on chain, encrypted (privaddadr).
    Add {
        /// The chain code (BTC, ETH, …).
        #[arg(long)]
        chain: String,
        /// The token code (BTC, USDC, …).
        #[arg(long)]
        token: String,
        /// Your address on that chain.
        address: String,
    },
    /// Let a friend read your addresses: all (--all), a chain's (--chain), or one (--chain and --token).
    Grant {
        /// The friend's FIO address.
        friend: String,
        /// Every address you placed, now and later (a chain-level grant).
        #[arg(long, conflicts_with_all = ["chain", "token"])]
        all: bool,
        /// Every token's address on this chain.
        #[arg(long)]
        chain: Option<String>,
        /// Only this token's address on --chain.
        #[arg(long, requires = "chain")]
        token: Option<String>,
    },
    /// A friend's address for a chain and token, if they granted it.
    Get {
        /// The friend's FIO address.
        fio_address: String,
        /// The chain code.
        #[arg(long)]
        chain: String,
        /// The token code.
        #[arg(long)]
        token: String,
    },
}

pub fn nbpa(cmd: NbpaCommand, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    let f = &ctx.friends;
    match cmd {
        NbpaCommand::Add {
            chain,
            token,
            address,
        } => {
            let placed = ctx
                .rt
                .block_on(f.place_nbpas(&[Nbpa {
                    chain_code: chain,
                    token_code: token,
                    public_address: address,
                }]))
                .map_err(friends_error)?;
            let p = &placed[0];
            ctx.out(
                json!({"chain_code": p.chain_code, "token_code": p.token_code, "key_id": p.key_id}),
                format!(
                    "Placed your {}/{} address, encrypted; grant friends access with `fio-peer nbpa grant`.",
                    p.chain_code, p.token_code
                ),
            )
        }
        NbpaCommand::Grant {
            friend,
            all,
            chain,
            token,
        } => {
            let grant = match (all, chain, token) {
                (true, _, _) => Grant::Address,
                (false, Some(c), None) => Grant::Chain(c),
                (false, Some(c), Some(t)) => Grant::Nbpa {
                    chain_code: c,
                    token_code: t,
                },
                _ => return Err(CliError::usage(
                    "say what to grant: --all, --chain <CODE>, or --chain <CODE> --token <CODE>",
                )),
            };
            ctx.rt
                .block_on(f.grant(&friend, &[grant]))
                .map_err(friends_error)?;
            ctx.out(
                json!({"granted": friend}),
                format!("Granted {friend} access."),
            )
        }
        NbpaCommand::Get {
            fio_address,
            chain,
            token,
        } => {
            let found = ctx
                .rt
                .block_on(f.lookup_nbpa(&fio_address, &chain, &token))
                .map_err(friends_error)?;
            match found {
                Some(a) => ctx.out(json!({"public_address": a}), a),
                None => Err(CliError {
                    message: format!("{fio_address} has not granted you a {chain}/{token} address"),
                    exit_code: 1,
                    output: json.then(|| json!({"public_address": null})),
                }),
            }
        }
    }
}

#[derive(Subcommand)]
pub enum PrivateRequestCommand {
    /// Ask a friend for funds privately (privfundsreq).
    New {
        /// The friend asked to pay (a FIO address).
        payer: String,
        #[command(flatten)]
        funds: FundsArgs,
    },
    /// Record that you paid a received request (privrecsend, sent_to_blockchain).
    Pay {
        /// The request's id (`private-request list`).
        fio_request_id: u64,
        /// The transaction id on the paying chain.
        #[arg(long)]
        obt_id: String,
        /// Your address on the paying chain.
        #[arg(long)]
        from: String,
        /// A memo for the payee.
        #[arg(long)]
        memo: Option<String>,
    },
    /// Reject a received request (privrecsend, rejected).
    Reject {
        /// The request's id (`private-request list`).
        fio_request_id: u64,
    },
    /// Received and sent private requests with their status.
    List,
}

fn status_text(s: &RequestStatus) -> &'static str {
    match s {
        RequestStatus::Requested => "requested",
        RequestStatus::Paid(_) => "paid",
        RequestStatus::Rejected => "rejected",
    }
}

fn private_json(r: &PrivateRequest) -> Value {
    json!({
        "fio_request_id": r.fio_request_id,
        "payee": r.payee_fio_address, "payer": r.payer_fio_address,
        "amount": r.content.amount, "chain_code": r.content.chain_code, "token_code": r.content.token_code,
        "payee_public_address": r.content.payee_public_address, "memo": r.content.memo,
        "status": status_text(&r.status),
    })
}

pub fn private_request(cmd: PrivateRequestCommand, endpoints: &Endpoints, json: bool) -> CliResult {
    let ctx = Ctx::open(endpoints, json)?;
    let f = &ctx.friends;
    let received = |id: u64| -> Result<PrivateRequest, CliError> {
        let all = ctx
            .rt
            .block_on(f.received_requests())
            .map_err(friends_error)?;
        all.items
            .into_iter()
            .find(|r| r.fio_request_id == id)
            .ok_or_else(|| {
                CliError::usage(format!(
                    "no received private request has id {id}: see `fio-peer private-request list`"
                ))
            })
    };
    match cmd {
        PrivateRequestCommand::New {
            payer,
            funds:
                FundsArgs {
                    amount,
                    chain,
                    token,
                    to,
                    memo,
                },
        } => {
            let id = ctx
                .rt
                .block_on(f.request_funds(
                    &payer,
                    &NewFundsContent {
                        payee_public_address: to,
                        amount: amount.clone(),
                        chain_code: chain,
                        token_code: token.clone(),
                        memo,
                        hash: None,
                        offline_url: None,
                    },
                ))
                .map_err(friends_error)?;
            ctx.out(
                json!({"fio_request_id": id}),
                format!(
                    "Asked {payer} for {amount} {token} privately{}.",
                    id.map(|i| format!(" (request {i})")).unwrap_or_default()
                ),
            )
        }
        PrivateRequestCommand::Pay {
            fio_request_id,
            obt_id,
            from,
            memo,
        } => {
            let r = received(fio_request_id)?;
            let record = RecordObtDataContent {
                payer_public_address: from,
                payee_public_address: r.content.payee_public_address.clone(),
                amount: r.content.amount.clone(),
                chain_code: r.content.chain_code.clone(),
                token_code: r.content.token_code.clone(),
                obt_id,
                memo,
                ..Default::default()
            };
            ctx.rt
                .block_on(f.pay_request(&r, record))
                .map_err(friends_error)?;
            ctx.out(
                json!({"fio_request_id": fio_request_id, "status": "sent_to_blockchain"}),
                format!("Recorded your payment of request {fio_request_id}."),
            )
        }
        PrivateRequestCommand::Reject { fio_request_id } => {
            let r = received(fio_request_id)?;
            ctx.rt
                .block_on(f.reject_request(&r))
                .map_err(friends_error)?;
            ctx.out(
                json!({"fio_request_id": fio_request_id, "status": "rejected"}),
                format!("Rejected request {fio_request_id}."),
            )
        }
        PrivateRequestCommand::List => {
            let received = ctx
                .rt
                .block_on(f.received_requests())
                .map_err(friends_error)?;
            let sent = ctx.rt.block_on(f.sent_requests()).map_err(friends_error)?;
            let line = |dir: &str, r: &PrivateRequest| {
                let who = if dir == "in" {
                    &r.payee_fio_address
                } else {
                    &r.payer_fio_address
                };
                format!(
                    "{dir:<3} {:>6}  {:<24} {} {}  {:<9} {}",
                    r.fio_request_id,
                    who,
                    r.content.amount,
                    r.content.token_code,
                    status_text(&r.status),
                    r.content.memo.as_deref().unwrap_or("")
                )
            };
            let mut lines: Vec<String> = received.items.iter().map(|r| line("in", r)).collect();
            lines.extend(sent.items.iter().map(|r| line("out", r)));
            let text = if lines.is_empty() {
                "No private requests.".to_string()
            } else {
                lines.join("\n")
            };
            ctx.out(
                json!({
                    "received": received.items.iter().map(private_json).collect::<Vec<_>>(),
                    "sent": sent.items.iter().map(private_json).collect::<Vec<_>>(),
                    "skipped": received.skipped + sent.skipped,
                }),
                text,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_bar_fills_with_deliveries() {
        let r = SyncReport {
            delivered: 50,
            received: 7,
            ..Default::default()
        };
        let line = progress_line(SyncPhase::Delivering, &r, 100, Duration::from_secs(3));
        assert!(
            line.starts_with("[##########----------] 50/100 delivered, 7 received  delivering 3s"),
            "{line}"
        );
        let empty = progress_line(
            SyncPhase::Fetching,
            &SyncReport::default(),
            0,
            Duration::ZERO,
        );
        assert!(empty.starts_with("[--------------------] 0/0"), "{empty}");
    }
}
