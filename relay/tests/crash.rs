//! `kill -9` under load, then restart: every envelope that got a 202 must
//! still be there (SQLite, WAL, synchronous=FULL, group commit).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use fio_peer::protocol::{Envelope, IdToken};
use serde_json::Value;

/// Starts the relay binary on a free loopback port; returns it and its base URL.
fn start(db: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fio-inbox"))
        .args(["--listen", "127.0.0.1:0", "--database"])
        .arg(db)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .nth(3)
        .expect("listening line")
        .to_string();
    (child, format!("http://{addr}"))
}

fn envelope(i: u32) -> String {
    let mut content = vec![0u8; 64];
    content[..4].copy_from_slice(&i.to_be_bytes());
    Envelope {
        id_token: IdToken::Token("0123456789abcdef0123456789abcdef".into()),
        content,
    }
    .to_json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_accepted_envelope_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.sqlite");
    let client = reqwest::Client::new();
    for round in 0..3 {
        let (mut child, base) = start(&db);
        let created: Value = client
            .post(format!("{base}/v1/inboxes"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let accepted = accepted.lock().unwrap().clone();
        assert!(
            accepted.len() > 50,
            "round {round}: the load reached the relay ({} accepted)",
            accepted.len()
        );

        let (mut child, base2) = start(&db);
        let url2 = url.replace(&base, &base2);
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
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
