//! One sync of one wallet, as a separate process would run it (an app's
//! background job, its notification extension): the cross-process tests
//! spawn several on one database file at once. Prints the sync's report as
//! one JSON line.
//!
//! `sync-once <database> <wif> <fio address> <chain id> <node> <relay> <long poll s>`

use std::time::Duration;

use fio_peer::sync::{CancelToken, SyncLimits, SyncStop};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, wif, address, chain_id, node, relay, long_poll] = &args[..] else {
        eprintln!("usage: sync-once <database> <wif> <fio address> <chain id> <node> <relay> <long poll s>");
        std::process::exit(2);
    };
    let long_poll = Duration::from_secs(long_poll.parse().expect("seconds"));
    let (wallet, engine) =
        fio_peer_system_tests::open_engine(db, wif, address, chain_id, node, relay, long_poll);
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
