//! The notification-extension receive (issue 19): a process that opens a
//! wallet from its file and key, receives a 20-message inbox with
//! `receive_for_notification`, and exits, as an iOS Notification Service
//! Extension does (its memory limit is 24 MB). Limits: peak resident memory
//! ≤ 16 MB, time ≤ 1 s on loopback. Printed beside the baseline measured
//! in the same run: the same process that only opens the wallet.
//!
//!   cargo bench -p fio-peer-system-tests --bench notification
//!
//! Each figure is the worst of five processes (a fresh 20-message inbox
//! each time). The devnet and the relay run in this process on loopback.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;

use fio_peer::crypto::PrivateKey;
use fio_peer::wallet::FundsRequest;
use serde_json::Value;
use support::*;

const MESSAGES: usize = 20;
const RUNS: usize = 5;
const LIMIT_RSS_MIB: f64 = 16.0;
const LIMIT_MILLIS: f64 = 1000.0;

fn run(alice: &Party, relay: &str, node: &str, open_only: bool) -> Value {
    let wif = alice.key.to_wif();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_notify-once"));
    cmd.args([
        alice.db.to_str().unwrap(),
        wif.as_str(),
        &alice.address,
        DEVNET_CHAIN,
        node,
        relay,
        "1000",
    ]);
    if open_only {
        cmd.arg("open-only");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn main() {
    let (ak, bk) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("alice", &ak), ("bob", &bk)]);
    let alice = world.party("alice", &ak, 0);
    let bob = world.party("bob", &bk, 1);
    open_channel(&alice, &bob);
    // Alice's app showed what came so far.
    alice
        .wallet
        .mark_events_handled(alice.wallet.last_event_id().unwrap())
        .unwrap();
    let relay = alice.relay.clone();
    let node = world.devnet_url.clone();
    let alice_key = alice.key.clone();
    drop(alice);
    let alice = world.party("alice", &alice_key, 0);
    let (mut rss, mut millis, mut base_rss, mut base_millis) = (0f64, 0f64, 0f64, 0f64);
    for round in 0..RUNS {
        for i in 0..MESSAGES {
            let request = FundsRequest {
                payee_public_address: "bc1qexampleexampleexampleexample0000".into(),
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                amount: format!("0.{round}{i:02}"),
                memo: Some(format!("dinner {i}")),
                ..Default::default()
            };
            bob.wallet.request_funds("alice@devnet", request).unwrap();
        }
        bob.sync();
        // The extension's process on Alice's file (her app is not running).
        let got = run(&alice, &relay, &node, false);
        assert_eq!(got["received"], MESSAGES, "{got}");
        assert_eq!(got["notices"].as_array().unwrap().len(), MESSAGES, "{got}");
        rss = rss.max(got["peak_rss_kib"].as_f64().unwrap() / 1024.0);
        millis = millis.max(got["millis"].as_f64().unwrap());
        let base = run(&alice, &relay, &node, true);
        base_rss = base_rss.max(base["peak_rss_kib"].as_f64().unwrap() / 1024.0);
        base_millis = base_millis.max(base["millis"].as_f64().unwrap());
    }
    println!(
        "notification extension: one process receives a {MESSAGES}-message inbox (worst of {RUNS})"
    );
    println!("  peak RSS  {rss:6.1} MiB   limit {LIMIT_RSS_MIB:.0} MiB   (opening only: {base_rss:.1} MiB)");
    println!("  time      {millis:6.0} ms    limit {LIMIT_MILLIS:.0} ms   (opening only: {base_millis:.0} ms)");
    let ok = rss <= LIMIT_RSS_MIB && millis <= LIMIT_MILLIS;
    println!(
        "  {}",
        if ok {
            "within both limits"
        } else {
            "OVER A LIMIT"
        }
    );
}
