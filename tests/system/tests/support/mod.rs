//! A world for end-to-end tests and the sync benchmark: a fio-devnet, relays
//! that can be killed and restarted on their port, and wallets on their own
//! SQLite files with sync engines. Each server runs on its own tokio
//! runtime, so killing one drops every task and connection it had, as a
//! process kill would; the tests drive wallets through the blocking API.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fio_devnet::{Genesis, GenesisAddress, Running};
use fio_inbox::{serve, AppState, HttpConfig, Quota, RateLimits, ServeConfig, Store};
use fio_peer::chain::{ChainClient, ChainConfig, ChainId};
use fio_peer::crypto::PrivateKey;
use fio_peer::sync::{CancelToken, SyncConfig, SyncEngine, SyncReport};
use fio_peer::wallet::{KeyDirectory, Wallet};

pub const DEVNET_CHAIN: &str = "cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A relay on a fixed loopback port with its SQLite file.
pub struct Relay {
    rt: Option<tokio::runtime::Runtime>,
    pub port: u16,
    pub db: PathBuf,
    pub quota: Quota,
}

impl Relay {
    pub fn start(db: &Path, port: u16, quota: Quota) -> Relay {
        let rt = runtime();
        let db_text = db.to_str().unwrap().to_string();
        let q = quota;
        let port = rt.block_on(async move {
            let store = Store::open(&db_text, q, 4).await.unwrap();
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let mut http = HttpConfig::new(&format!("http://127.0.0.1:{port}"));
            http.limits = RateLimits::off();
            // Push receivers in the tests are on loopback.
            http.push.allow_insecure = true;
            http.push.coalesce = Duration::from_millis(200);
            let state = AppState::start(store, http).await.unwrap();
            tokio::spawn(serve(
                listener,
                state,
                ServeConfig::default(),
                std::future::pending(),
            ));
            port
        });
        Relay {
            rt: Some(rt),
            port,
            db: db.to_path_buf(),
            quota,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops everything the relay was doing at once.
    pub fn kill(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }

    /// A new relay on the same port and database.
    pub fn restart(&mut self) {
        self.kill();
        // The old store's writer thread may still hold the file briefly.
        std::thread::sleep(Duration::from_millis(100));
        *self = Relay::start(&self.db.clone(), self.port, self.quota);
    }

    pub fn is_running(&self) -> bool {
        self.rt.is_some()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Party {
    pub name: String,
    pub address: String,
    pub key: PrivateKey,
    pub db: PathBuf,
    pub relay: String,
    pub wallet: Arc<Wallet>,
    pub engine: SyncEngine,
}

pub struct World {
    devnet_rt: tokio::runtime::Runtime,
    pub devnet: Option<Running>,
    pub devnet_url: String,
    genesis: Genesis,
    pub relays: Vec<Relay>,
    pub dir: tempfile::TempDir,
}

impl World {
    /// A devnet with `names` (handles on domain `devnet`) and one relay per name.
    pub fn new(keys: &[(&str, &PrivateKey)]) -> World {
        World::with_quota(keys, Quota::default())
    }

    pub fn with_quota(keys: &[(&str, &PrivateKey)], quota: Quota) -> World {
        let dir = tempfile::tempdir().unwrap();
        let genesis = Genesis {
            chain_id: None,
            domains: vec!["devnet".into()],
            addresses: keys
                .iter()
                .map(|(name, key)| GenesisAddress {
                    fio_address: format!("{name}@devnet"),
                    public_key: key.public_key().to_fio_string(),
                    bundles: None,
                    expiration: None,
                })
                .collect(),
            ..Default::default()
        };
        let devnet_rt = runtime();
        let devnet = devnet_rt
            .block_on(Running::start(
                Some(&dir.path().join("devnet.sqlite")),
                &genesis,
            ))
            .unwrap();
        let devnet_url = devnet.url();
        let relays = (0..keys.len())
            .map(|i| Relay::start(&dir.path().join(format!("relay{i}.sqlite")), 0, quota))
            .collect();
        World {
            devnet_rt,
            devnet: Some(devnet),
            devnet_url,
            genesis,
            relays,
            dir,
        }
    }

    /// Stops the devnet: the chain is unreachable.
    pub fn stop_devnet(&mut self) {
        if let Some(d) = self.devnet.take() {
            self.devnet_rt.block_on(d.stop());
        }
    }

    /// Starts the devnet again on its port and database.
    pub fn start_devnet(&mut self) {
        let addr = self
            .devnet_url
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let db = self.dir.path().join("devnet.sqlite");
        let running = self
            .devnet_rt
            .block_on(Running::start_at(Some(&db), &self.genesis, addr))
            .unwrap();
        self.devnet = Some(running);
    }

    pub fn chain(&self) -> ChainClient {
        let mut config = ChainConfig::new(
            ChainId::parse(DEVNET_CHAIN).unwrap(),
            vec![self.devnet_url.clone()],
        );
        config.timeout = Duration::from_secs(10);
        ChainClient::new(config).unwrap()
    }

    pub fn sync_config(relay: &str) -> SyncConfig {
        SyncConfig {
            relay: Some(relay.to_string()),
            retry_base: Duration::from_millis(50),
            retry_max: Duration::from_millis(400),
            timeout: Duration::from_secs(10),
            // The relays are on loopback.
            allow_insecure_destinations: true,
            ..SyncConfig::default()
        }
    }

    /// Opens (or reopens) `name`'s wallet on relay `relay`.
    pub fn party(&self, name: &str, key: &PrivateKey, relay: usize) -> Party {
        self.party_with(
            name,
            key,
            relay,
            World::sync_config(&self.relays[relay].url()),
        )
    }

    pub fn party_with(
        &self,
        name: &str,
        key: &PrivateKey,
        relay: usize,
        config: SyncConfig,
    ) -> Party {
        self.party_on(name, key, relay, config, true)
    }

    /// [`World::party_with`], on an unencrypted database when `encrypted`
    /// is false (the sync benchmark's baseline only).
    pub fn party_on(
        &self,
        name: &str,
        key: &PrivateKey,
        _relay: usize,
        config: SyncConfig,
        encrypted: bool,
    ) -> Party {
        let chain = self.chain();
        let db = self.dir.path().join(format!("{name}.sqlite"));
        let address = format!("{name}@devnet");
        let directory: Arc<dyn KeyDirectory> = Arc::new(chain.clone());
        let wallet = Arc::new(
            if encrypted {
                Wallet::open(&db, key.clone(), &address, directory)
            } else {
                Wallet::open_unencrypted_baseline(&db, key.clone(), &address, directory)
            }
            .unwrap(),
        );
        let relay = config.relay.clone().unwrap_or_default();
        let engine = SyncEngine::new(wallet.clone(), chain, config).unwrap();
        Party {
            name: name.to_string(),
            address,
            key: key.clone(),
            db,
            relay,
            wallet,
            engine,
        }
    }
}

impl Party {
    /// Accepts `peer`'s channel requests automatically (an explicit rule:
    /// only then is a first contact answered at once).
    pub fn accept_channels_from(&self, peer: &str) {
        let mut automation = self.wallet.automation().unwrap();
        automation.accept_channels =
            fio_peer::wallet::AcceptPolicy::AllowList(vec![peer.to_string()]);
        self.wallet.set_automation(automation).unwrap();
    }

    pub fn sync(&self) -> SyncReport {
        self.engine.sync_blocking(None, CancelToken::new()).unwrap()
    }
}

/// Delivery or fetch alone, blocking (the engine's own blocking API is `sync`).
pub trait EngineBlocking {
    fn deliver_blocking(&self) -> SyncReport;
    fn fetch_blocking_result(&self) -> Result<SyncReport, fio_peer::sync::SyncError>;
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl EngineBlocking for SyncEngine {
    fn deliver_blocking(&self) -> SyncReport {
        current_thread()
            .block_on(self.deliver(None, CancelToken::new()))
            .unwrap()
    }

    fn fetch_blocking_result(&self) -> Result<SyncReport, fio_peer::sync::SyncError> {
        current_thread().block_on(self.fetch(None, CancelToken::new()))
    }
}

/// Syncs the parties in turn until a round moves nothing (at most `rounds`).
pub fn settle(parties: &[&Party], rounds: usize) {
    for _ in 0..rounds {
        let mut moved = 0;
        for p in parties {
            let r = p.sync();
            moved += r.fetched + r.delivered;
        }
        let pending: usize = parties
            .iter()
            .map(|p| p.wallet.outbox().unwrap().len())
            .sum();
        if moved == 0 && pending == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the parties did not settle in {rounds} rounds");
}

/// Posts `envelope` to an inbox URL as anyone may (submits need no
/// credential); the relay's status.
pub fn post_envelope(inbox_url: &str, envelope: &str) -> u16 {
    fio_peer::chain::install_tls_provider();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = envelope.to_string();
    rt.block_on(async {
        reqwest::Client::new()
            .post(inbox_url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

/// Opens a channel between `alice` (who asks) and `bob` (who accepts).
pub fn open_channel(alice: &Party, bob: &Party) {
    alice.sync();
    bob.sync();
    let hello = alice.wallet.open_channel(&bob.address, None).unwrap();
    settle(&[alice, bob], 10);
    bob.wallet
        .accept_request(&alice.address, &hello.message_id, Default::default())
        .unwrap();
    settle(&[alice, bob], 10);
}
