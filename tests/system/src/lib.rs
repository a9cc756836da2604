//! This package holds the tests (`tests/`) and benchmarks (`benches/`) of
//! the whole system, wallets with the sync engine talking to fio-inbox
//! relays and the fio-devnet chain over HTTP. They live at the workspace
//! level because they span its crates.
//!
//! `src/bin/sync-once.rs` is one sync in a process of its own, spawned by
//! the cross-process tests; `src/bin/notify-once.rs` is the notification
//! extension's receive, spawned by `benches/notification.rs`. Both open
//! their wallet with [`open_engine`].

use std::sync::Arc;
use std::time::Duration;

use fio_peer::chain::{ChainClient, ChainConfig, ChainId};
use fio_peer::crypto::PrivateKey;
use fio_peer::sync::{SyncConfig, SyncEngine};
use fio_peer::wallet::{KeyDirectory, Wallet};

/// The wallet at `db` of `wif` and `address`, with a sync engine on the
/// chain `chain_id` at `node` and `relay` (loopback allowed), as a separate
/// process opens it. Panics with a message on bad arguments.
pub fn open_engine(
    db: &str,
    wif: &str,
    address: &str,
    chain_id: &str,
    node: &str,
    relay: &str,
    long_poll: Duration,
) -> (Arc<Wallet>, SyncEngine) {
    let key = PrivateKey::parse(wif).expect("a private key");
    let config = ChainConfig::new(
        ChainId::parse(chain_id).expect("a chain id"),
        vec![node.to_string()],
    );
    let chain = ChainClient::new(config).expect("a chain client");
    let directory: Arc<dyn KeyDirectory> = Arc::new(chain.clone());
    let wallet = Arc::new(Wallet::open(db, key, address, directory).expect("the wallet opens"));
    let engine = SyncEngine::new(
        wallet.clone(),
        chain,
        SyncConfig {
            relay: Some(relay.to_string()),
            long_poll,
            allow_insecure_destinations: true,
            ..SyncConfig::default()
        },
    )
    .expect("an engine");
    (wallet, engine)
}
