//! The relay binary under process faults, on SQLite and on PostgreSQL:
//! `kill -9` under load, then restart: every envelope that got a 202 must
//! still be there; and SIGTERM stops it cleanly.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::receiver::{gateway, Receiver};
use support::{create_inbox, envelope, Backend, Db, Process};

fn main() {
    support::run(
        &[
            scenario!(every_accepted_envelope_survives_kill_9),
            scenario!(sigterm_stops_the_relay_cleanly),
            scenario!(push_subscriptions_and_a_pending_push_survive_kill_9),
        ],
        &[],
    );
}

async fn every_accepted_envelope_survives_kill_9(backend: Backend) {
    let db = Db::fresh(backend, "fio_inbox_crash").await;
    fio_peer::chain::install_tls_provider();
    let client = reqwest::Client::new();
    for round in 0..3u32 {
        let relay = Process::start(&db.database, &[]);
        let base = relay.base.clone();
        let created = create_inbox(&client, &base).await;
        let url = created["inbox_url"].as_str().unwrap().to_string();
        let credential = created["credential"].as_str().unwrap().to_string();
        // 16 clients submit as fast as they can; the relay is killed mid-way.
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for c in 0..16u32 {
            let (client, url, accepted) = (client.clone(), url.clone(), accepted.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..10_000u32 {
                    let body = envelope(round * 1_000_000 + c * 10_000 + i);
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 202 => {
                            let v: Value = match r.json().await {
                                Ok(v) => v,
                                Err(_) => return,
                            };
                            accepted
                                .lock()
                                .unwrap()
                                .push((v["seq"].as_i64().unwrap(), body));
                        }
                        _ => return, // the relay is gone
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        relay.kill_9();
        for t in tasks {
            t.await.unwrap();
        }
        let accepted = accepted.lock().unwrap().clone();
        assert!(
            accepted.len() > 50,
            "round {round}: the load reached the relay ({} accepted)",
            accepted.len()
        );

        let relay = Process::start(&db.database, &[]);
        let url2 = url.replace(&base, &relay.base);
        let mut stored = std::collections::HashMap::new();
        let mut after = 0;
        loop {
            let page: Value = client
                .get(format!("{url2}/messages?after={after}&limit=500"))
                .bearer_auth(&credential)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let msgs = page["messages"].as_array().unwrap();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                stored.insert(
                    m["seq"].as_i64().unwrap(),
                    m["envelope"].as_str().unwrap().to_string(),
                );
            }
            after = page["next_after"].as_i64().unwrap();
        }
        for (seq, body) in &accepted {
            assert_eq!(
                stored.get(seq),
                Some(body),
                "round {round}: 202'd envelope {seq} lost after kill -9"
            );
        }
        relay.kill_9();
    }
}

async fn sigterm_stops_the_relay_cleanly(backend: Backend) {
    let db = Db::fresh(backend, "fio_inbox_crash").await;
    let mut relay = Process::start(&db.database, &["--log-format", "json"]);
    fio_peer::chain::install_tls_provider();
    let client = reqwest::Client::new();
    let created = create_inbox(&client, &relay.base).await;
    let url = created["inbox_url"].as_str().unwrap().to_string();
    let r = client
        .post(&url)
        .header("content-type", "application/json")
        .body(envelope(1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    relay.signal(15);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = relay.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "exits promptly after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    let log = relay.logs();
    // Structured logs: one JSON object per line, without secrets.
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let messages: Vec<&str> = events
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    for expected in ["fio-inbox started", "SIGTERM received", "fio-inbox stopped"] {
        assert!(messages.contains(&expected), "{expected:?} in {messages:?}");
    }
    let access: Vec<&Value> = events
        .iter()
        .filter(|e| e["target"] == "fio_inbox::access")
        .collect();
    assert!(access
        .iter()
        .any(|e| e["route"] == "/v1/inboxes/{inbox_id}" && e["status"] == 202));
    let credential = created["credential"].as_str().unwrap();
    let inbox_id = created["inbox_id"].as_str().unwrap();
    assert!(
        !log.contains(credential) && !log.contains(inbox_id),
        "no credentials or inbox ids in logs"
    );
}

/// A subscription registered before `kill -9` is there after it, and a
/// submit's push is scheduled in the submit's own commit: the relay killed
/// right after the 202 still pushes that seq once it is back. Nothing about
/// subscriptions reaches the log.
async fn push_subscriptions_and_a_pending_push_survive_kill_9(backend: Backend) {
    let db = Db::fresh(backend, "fio_inbox_crash").await;
    fio_peer::chain::install_tls_provider();
    let client = reqwest::Client::new();
    let receiver = Receiver::start().await;
    let gw = "/gw/_matrix/push/v1/notify";
    let flags = [
        "--push-allow-insecure",
        "--push-coalesce",
        "2",
        "--log",
        "debug",
    ];
    let relay = Process::start(&db.database, &flags);
    let created = create_inbox(&client, &relay.base).await;
    let url = created["inbox_url"].as_str().unwrap().to_string();
    let credential = created["credential"].as_str().unwrap().to_string();
    let pushkey = "device-pushkey-7f3a";
    let r = client
        .post(format!("{url}/push"))
        .bearer_auth(&credential)
        .json(&gateway(&receiver.url(gw), pushkey))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    relay.kill_9();

    let relay = Process::start(&db.database, &flags);
    let url = url.replace(url.split("/v1/").next().unwrap(), &relay.base);
    let submit = |i: u32| {
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(envelope(i))
            .send()
    };
    assert_eq!(submit(1).await.unwrap().status(), 202);
    assert_eq!(
        receiver.wait_for(gw, 1, 3).await.len(),
        1,
        "the subscription survived"
    );
    // The first push's settling (its 2 s window opens) is done soon after
    // the receiver has it; then the next state, and kill -9 at once after
    // its 202, well inside that window, so the push of seq 2 is stored as
    // waiting, not claimed (a claim held by a killed instance would wait out
    // its lease on PostgreSQL, as documented).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(submit(2).await.unwrap().status(), 202);
    relay.kill_9();
    let mut relay = Process::start(&db.database, &flags);
    let mut last = String::new();
    for _ in 0..160 {
        last = receiver
            .got(gw)
            .last()
            .map(|g| {
                g.json()["notification"]["event_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .unwrap_or_default();
        if last == "2" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last, "2", "the push of seq 2 went out after the restart");
    let got = receiver.got(gw);
    assert_eq!(got.len(), 2, "seq 2 was not pushed before the kill");
    // The flag's window holds through the binary and across the restart:
    // the second push waits 2 s from the first one's settling.
    let gap = got[1].at - got[0].at;
    assert!(
        gap >= Duration::from_millis(1950),
        "--push-coalesce 2 spaced the pushes by {gap:?}"
    );
    relay.signal(15);
    let _ = relay.child.wait();
    let log = relay.logs();
    assert!(
        !log.contains(pushkey) && !log.contains(&receiver.base) && !log.contains("/_matrix"),
        "nothing about subscriptions in the log: {log}"
    );
}
