//! One sync of one wallet, as a separate process would run it (an app's
//! background job, its notification extension): the cross-process tests
//! spawn several on one database file at once. Prints the sync's report as
//! one JSON line.
//!
//! `sync-once <database> <wif> <fio address> <chain id> <node> <relay> <long poll s>`

use std::sync::Arc;
use std::time::Duration;

use fio_peer::chain::{ChainClient, ChainConfig, ChainId};
use fio_peer::crypto::PrivateKey;
use fio_peer::sync::{CancelToken, SyncConfig, SyncEngine, SyncLimits, SyncStop};
use fio_peer::wallet::{KeyDirectory, Wallet};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, wif, address, chain_id, node, relay, long_poll] = &args[..] else {
        eprintln!("usage: sync-once <database> <wif> <fio address> <chain id> <node> <relay> <long poll s>");
        std::process::exit(2);
    };
    let key = PrivateKey::parse(wif).expect("a private key");
    let config = ChainConfig::new(
        ChainId::parse(chain_id).expect("a chain id"),
        vec![node.clone()],
    );
    let chain = ChainClient::new(config).expect("a chain client");
    let directory: Arc<dyn KeyDirectory> = Arc::new(chain.clone());
    let wallet = Arc::new(Wallet::open(db, key, address, directory).expect("the wallet opens"));
    let engine = SyncEngine::new(
        wallet.clone(),
        chain,
        SyncConfig {
            relay: Some(relay.clone()),
            long_poll: Duration::from_secs(long_poll.parse().expect("seconds")),
            allow_insecure_destinations: true,
            ..SyncConfig::default()
        },
    )
    .expect("an engine");
    let report = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(engine.sync_within(None, CancelToken::new(), SyncLimits::default()))
    {
        Ok(report) => report,
        // The TLS tests read why.
        Err(e) => {
            eprintln!("sync failed: {e}");
            std::process::exit(1);
        }
    };
    let inbox = wallet.own_inbox().expect("the database reads");
    let line = serde_json::json!({
        "received": report.received,
        "duplicates": report.duplicates,
        "registered": report.registered,
        "busy": report.stopped == SyncStop::Busy,
        "inbox_id": inbox.map(|i| i.inbox_id.clone()),
    });
    println!("{line}");
}
