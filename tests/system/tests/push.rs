//! Woken by push, over real HTTP (docs/protocol.md §4.4, docs/mobile.md):
//! a wallet registers a push gateway on its inbox; a peer's funds request
//! makes the relay push to it; the notification-extension call, on a wallet
//! opened afresh from its file, receives the request and says what to show.
//! Registrations follow an inbox move and are removed from relay and wallet.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fio_peer::crypto::PrivateKey;
use fio_peer::protocol::Action;
use fio_peer::sync::{CancelToken, PushTarget, SyncStop};
use fio_peer::wallet::FundsRequest;
use serde_json::Value;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A Matrix push gateway on loopback: keeps each notification's JSON and
/// answers `{"rejected":[]}`.
struct Gateway {
    url: String,
    got: Arc<Mutex<Vec<Value>>>,
    _rt: tokio::runtime::Runtime,
}

impl Gateway {
    fn start() -> Gateway {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!(
            "http://{}/_matrix/push/v1/notify",
            listener.local_addr().unwrap()
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let kept = got.clone();
        rt.spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Head, then Content-Length bytes of body.
                    loop {
                        let n = conn.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            let body = &buf[end + 4..end + 4 + len];
                            if let Ok(v) = serde_json::from_slice(body) {
                                kept.lock().unwrap().push(v);
                            }
                            let answer = b"{\"rejected\":[]}";
                            let reply = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                                answer.len()
                            );
                            let _ = conn.write_all(reply.as_bytes()).await;
                            let _ = conn.write_all(answer).await;
                            return;
                        }
                    }
                });
            }
        });
        Gateway { url, got, _rt: rt }
    }

    /// Waits (up to 10 s) for a notification naming `inbox_id`.
    fn wait_for(&self, inbox_id: &str) -> Option<Value> {
        for _ in 0..200 {
            let found = self
                .got
                .lock()
                .unwrap()
                .iter()
                .find(|v| v["notification"]["room_id"] == inbox_id)
                .cloned();
            if found.is_some() {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn keys() -> (PrivateKey, PrivateKey) {
    (PrivateKey::generate(), PrivateKey::generate())
}

fn gateway_target(gw: &Gateway, pushkey: &str) -> PushTarget {
    PushTarget::Gateway {
        url: gw.url.clone(),
        app_id: "com.example.wallet".into(),
        pushkey: pushkey.into(),
    }
}

fn dinner() -> FundsRequest {
    FundsRequest {
        payee_public_address: "bc1qexampleexampleexampleexample0000".into(),
        chain_code: "BTC".into(),
        token_code: "BTC".into(),
        amount: "0.01".into(),
        memo: Some("dinner".into()),
        ..Default::default()
    }
}

#[test]
fn a_peers_request_pushes_to_the_wallet_and_the_extension_call_shows_it() {
    let (ak, bk) = keys();
    let world = World::new(&[("alice", &ak), ("bob", &bk)]);
    let gw = Gateway::start();
    let alice = world.party("alice", &ak, 0);
    let bob = world.party("bob", &bk, 1);
    open_channel(&alice, &bob);
    // Both apps showed what they have so far.
    for p in [&alice, &bob] {
        p.wallet
            .mark_events_handled(p.wallet.last_event_id().unwrap())
            .unwrap();
    }
    let registered = block_on(
        alice
            .engine
            .register_push(gateway_target(&gw, "alice-phone"), CancelToken::new()),
    )
    .unwrap();
    assert_eq!(registered.push_id.len(), 32);
    assert_eq!(
        alice.engine.push_registrations().unwrap(),
        vec![registered.clone()]
    );
    let inbox = alice.wallet.own_inbox().unwrap().unwrap();
    // Alice's app is closed: her wallet object is gone.
    let alice_key = alice.key.clone();
    drop(alice);

    bob.wallet.request_funds("alice@devnet", dinner()).unwrap();
    bob.sync();
    let note = gw
        .wait_for(&inbox.inbox_id)
        .expect("a push for Alice's inbox");
    let n = &note["notification"];
    assert_eq!(n["devices"][0]["pushkey"], "alice-phone");
    assert_eq!(n["prio"], "high");
    assert!(n["event_id"].as_str().unwrap().parse::<i64>().unwrap() >= 1);
    assert!(!note.to_string().contains("dinner"), "no content in a push");

    // The extension: a fresh wallet object on Alice's file, one call.
    let alice = world.party("alice", &alice_key, 0);
    let got = block_on(alice.engine.receive_for_notification(
        Duration::from_secs(20),
        Some(20),
        CancelToken::new(),
    ))
    .unwrap();
    assert_eq!(got.report.stopped, SyncStop::Complete);
    assert!(got.report.received >= 1);
    let texts: Vec<&str> = got.notices.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts, ["bob@devnet requests 0.01 BTC: dinner"]);
    assert_eq!(got.notices[0].peer, "bob@devnet");
    // Committed: the app sees it in its queue, and a second call shows nothing new.
    let queued: Vec<_> = alice
        .wallet
        .queue()
        .unwrap()
        .iter()
        .map(|q| q.action)
        .collect();
    assert_eq!(queued.last(), Some(&Action::NewFundsRequest), "{queued:?}");
    let again = block_on(alice.engine.receive_for_notification(
        Duration::from_secs(20),
        None,
        CancelToken::new(),
    ))
    .unwrap();
    assert!(again.notices.is_empty());

    // Bob is told when Alice pays.
    let request = alice
        .wallet
        .queue()
        .unwrap()
        .into_iter()
        .find(|q| q.action == Action::NewFundsRequest)
        .unwrap();
    alice
        .wallet
        .accept_request(
            "bob@devnet",
            &request.message.message_id,
            Default::default(),
        )
        .unwrap();
    alice.sync();
    let bob_db_key = bob.key.clone();
    drop(bob);
    let bob = world.party("bob", &bob_db_key, 1);
    let got = block_on(bob.engine.receive_for_notification(
        Duration::from_secs(20),
        None,
        CancelToken::new(),
    ))
    .unwrap();
    let texts: Vec<&str> = got.notices.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts, ["alice@devnet paid your request for 0.01 BTC"]);
}

#[test]
fn registrations_follow_an_inbox_move_and_are_removed_from_relay_and_wallet() {
    let (ak, bk) = keys();
    let world = World::new(&[("alice", &ak), ("bob", &bk)]);
    let gw = Gateway::start();
    let alice = world.party("alice", &ak, 0);
    let first = block_on(
        alice
            .engine
            .register_push(gateway_target(&gw, "p1"), CancelToken::new()),
    )
    .unwrap();
    // The same device again: replaced, not added.
    let same = block_on(
        alice
            .engine
            .register_push(gateway_target(&gw, "p1"), CancelToken::new()),
    )
    .unwrap();
    assert_eq!(same.push_id, first.push_id);
    assert_eq!(alice.engine.push_registrations().unwrap().len(), 1);
    let key = block_on(alice.engine.relay_push_key(CancelToken::new())).unwrap();
    assert_eq!(key.len(), 87, "65 bytes in base64url without padding");

    let old = alice.wallet.own_inbox().unwrap().unwrap();
    block_on(alice.engine.replace_inbox(Some(world.relays[1].url()))).unwrap();
    let new = alice.wallet.own_inbox().unwrap().unwrap();
    assert_ne!(old.inbox_id, new.inbox_id);
    let listed = relay_subscriptions(&new.inbox_url, &new.credential);
    assert_eq!(listed.len(), 1, "registered on the new inbox");
    assert_eq!(listed[0]["pushkey"], "p1");
    let moved = alice.engine.push_registrations().unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].push_id, listed[0]["push_id"].as_str().unwrap());

    // A request to the new inbox wakes the device through the new relay.
    let bob = world.party("bob", &bk, 1);
    open_channel(&bob, &alice);
    assert!(gw.wait_for(&new.inbox_id).is_some());

    // The old inbox still has it (it is still fetched, and still wakes the
    // device); a removal takes it from both.
    assert_eq!(
        relay_subscriptions(&old.inbox_url, &old.credential).len(),
        1
    );
    assert!(block_on(
        alice
            .engine
            .remove_push(moved[0].push_id.clone(), CancelToken::new())
    )
    .unwrap());
    assert!(relay_subscriptions(&new.inbox_url, &new.credential).is_empty());
    assert!(relay_subscriptions(&old.inbox_url, &old.credential).is_empty());
    assert!(alice.engine.push_registrations().unwrap().is_empty());
    assert!(!block_on(
        alice
            .engine
            .remove_push(moved[0].push_id.clone(), CancelToken::new())
    )
    .unwrap());
}

/// What the relay lists for an inbox (GET …/push).
fn relay_subscriptions(inbox_url: &str, credential: &str) -> Vec<Value> {
    block_on(async {
        let v: Value = reqwest::Client::new()
            .get(format!("{inbox_url}/push"))
            .bearer_auth(credential)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["subscriptions"].as_array().unwrap().clone()
    })
}

/// Each event becomes a notice once, whichever wallet object (process)
/// receives it, and never after the app marked it handled.
#[test]
fn each_event_is_notified_once_and_not_after_the_app_handled_it() {
    let (ak, bk) = keys();
    let world = World::new(&[("alice", &ak), ("bob", &bk)]);
    let alice = world.party("alice", &ak, 0);
    let bob = world.party("bob", &bk, 1);
    open_channel(&alice, &bob);
    let receive = |p: &Party| {
        block_on(p.engine.receive_for_notification(
            Duration::from_secs(20),
            None,
            CancelToken::new(),
        ))
        .unwrap()
    };
    // What came before the first call and the app has not handled is shown
    // once; the app then handles everything.
    let _ = receive(&alice);
    alice
        .wallet
        .mark_events_handled(alice.wallet.last_event_id().unwrap())
        .unwrap();
    assert!(receive(&alice).notices.is_empty());
    // The app syncs a request in, and marks it handled (the user saw it):
    // the extension does not show it.
    bob.wallet.request_funds("alice@devnet", dinner()).unwrap();
    bob.sync();
    alice.sync();
    alice
        .wallet
        .mark_events_handled(alice.wallet.last_event_id().unwrap())
        .unwrap();
    assert!(receive(&alice).notices.is_empty());
    // A text the app received but has not handled: shown once, even by a
    // second object on the same file (another process would do the same).
    bob.wallet
        .send_private_text("alice@devnet", "are you there?", None)
        .unwrap();
    bob.sync();
    alice.sync();
    let texts: Vec<String> = receive(&alice)
        .notices
        .into_iter()
        .map(|n| n.text)
        .collect();
    assert_eq!(texts, ["bob@devnet: are you there?"]);
    let key = alice.key.clone();
    drop(alice);
    let again = world.party("alice", &key, 0);
    assert!(receive(&again).notices.is_empty());
}
