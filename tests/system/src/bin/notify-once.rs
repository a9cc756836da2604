//! What an iOS Notification Service Extension or an FCM/UnifiedPush handler
//! runs when a push arrives, as its own process: open the wallet from its
//! file and key, `receive_for_notification` within a budget, close. Prints
//! one JSON line: the notices, what was received, the call's time and the
//! process's peak resident memory (VmHWM). benches/notification.rs runs it
//! against a full inbox.
//!
//! `notify-once <database> <wif> <fio address> <chain id> <node> <relay> <budget ms> [open-only]`

use std::time::{Duration, Instant};

use fio_peer::sync::CancelToken;

/// Peak resident set of this process, in KiB (Linux: /proc/self/status).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (db, wif, address, chain_id, node, relay, budget) = match &args[..] {
        [db, wif, address, chain_id, node, relay, budget, ..] => {
            (db, wif, address, chain_id, node, relay, budget)
        }
        _ => {
            eprintln!("usage: notify-once <database> <wif> <fio address> <chain id> <node> <relay> <budget ms> [open-only]");
            std::process::exit(2);
        }
    };
    let open_only = args.get(7).map(String::as_str) == Some("open-only");
    let (wallet, engine) =
        fio_peer_system_tests::open_engine(db, wif, address, chain_id, node, relay, Duration::ZERO);
    let (notices, received) = if open_only {
        (Vec::new(), 0)
    } else {
        let budget = Duration::from_millis(budget.parse().expect("milliseconds"));
        let got = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(engine.receive_for_notification(budget, None, CancelToken::new()))
            .unwrap_or_else(|e| {
                eprintln!("receive failed: {e}");
                std::process::exit(1);
            });
        let texts: Vec<String> = got.notices.into_iter().map(|n| n.text).collect();
        (texts, got.report.received)
    };
    drop(engine);
    drop(wallet);
    let line = serde_json::json!({
        "notices": notices,
        "received": received,
        "millis": started.elapsed().as_secs_f64() * 1000.0,
        "peak_rss_kib": peak_rss_kib(),
    });
    println!("{line}");
}
