//! Two wallets on their own SQLite files talk over real HTTP: each creates
//! its inbox on its own relay and registers it on the devnet, finds the
//! other's key and inbox there, and sends through the relays with the sync
//! engine. Relays are killed and wallets restarted on the way.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use fio_peer::crypto::PrivateKey;
use fio_peer::protocol::InboxLocation;
use fio_peer::protocol::{Action, FioAddress, InboxKind};
use fio_peer::sync::{
    CancelToken, SyncConfig, SyncError, SyncLimits, SyncPhase, SyncReport, SyncStop,
};
use fio_peer::wallet::*;
use support::*;

fn keys() -> (PrivateKey, PrivateKey) {
    (PrivateKey::generate(), PrivateKey::generate())
}

fn request(p: &Party, message_id: &str) -> RequestRecord {
    p.wallet
        .requests(None)
        .unwrap()
        .into_iter()
        .find(|r| r.message_id == message_id)
        .unwrap()
}

fn ids(history: &[MessageRecord], dir: Direction) -> Vec<String> {
    history
        .iter()
        .filter(|m| m.direction == dir)
        .map(|m| m.message_id.clone())
        .collect()
}

#[test]
fn inboxes_are_created_and_registered_on_the_devnet() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    assert_eq!(alice.wallet.own_inbox().unwrap(), None);

    let first = alice.sync();
    assert!(first.registered);
    let inbox = alice.wallet.own_inbox().unwrap().unwrap();
    assert!(inbox.inbox_url.starts_with(&world.relays[0].url()));
    assert!(inbox.registered_at.is_some());
    assert_eq!(inbox.registered_tx.as_ref().map(String::len), Some(64));
    // Our return address is the new inbox.
    assert_eq!(
        alice.wallet.inbox().unwrap().unwrap().address,
        inbox.inbox_url
    );
    // The chain maps FIB/URL to it; anyone's client sees it.
    let chain = world.chain();
    let found = chain
        .get_pub_address("alice@devnet", "FIB", "URL")
        .block_on_test();
    assert_eq!(found, inbox.inbox_url);

    // Registered already: the next sync pushes nothing.
    assert!(!alice.sync().registered);
    // Reopened, the wallet keeps its inbox.
    drop(alice);
    let alice = world.party("alice", &ka, 0);
    assert_eq!(
        alice.wallet.own_inbox().unwrap().unwrap().inbox_id,
        inbox.inbox_id
    );

    // Someone (another device) removed the mapping: the registration check
    // puts it back.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(chain.remove_pub_address(
        &ka,
        "alice@devnet",
        vec![fio_peer::chain::inbox_entry(
            &alice.wallet.inbox().unwrap().unwrap(),
        )],
        0,
    ))
    .unwrap();
    assert!(alice.engine.register_inbox_blocking(false).unwrap());
    chain.invalidate(&FioAddress::parse("alice@devnet").unwrap());
    let again = rt
        .block_on(chain.inbox(&FioAddress::parse("alice@devnet").unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.kind, again.address),
        (InboxKind::Url, inbox.inbox_url.clone())
    );
}

/// Blocking helper for the tests' own chain reads.
trait BlockOnTest {
    type Output;
    fn block_on_test(self) -> Self::Output;
}

impl<F: std::future::Future<Output = Result<String, fio_peer::chain::ChainError>>> BlockOnTest
    for F
{
    type Output = String;
    fn block_on_test(self) -> String {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(self)
            .unwrap()
    }
}

#[test]
fn a_cold_start_checks_the_registration_only_when_it_is_due() {
    let (ka, kb) = keys();
    let mut world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    assert!(alice.sync().registered);
    drop(alice);
    // The chain is down: a registration check would fail, and say so.
    world.stop_devnet();
    let alice = world.party("alice", &ka, 0);
    let report = alice.sync();
    assert_eq!(
        report.registration_error, None,
        "a cold start checked the registration before it was due"
    );
    assert!(!report.registered);
    drop(alice);
    // When it is due, the check runs (and reports the outage).
    let config = SyncConfig {
        registration_check: Duration::ZERO,
        ..World::sync_config(&world.relays[0].url())
    };
    let alice = world.party_with("alice", &ka, 0, config);
    assert!(alice.sync().registration_error.is_some());
}

#[test]
fn a_full_conversation_through_all_ten_actions_over_http() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    // Both register their inboxes first.
    alice.sync();
    bob.sync();
    let both = [&alice, &bob];
    let mut actions: HashSet<Action> = HashSet::new();
    let mut note = |o: &Outgoing| {
        actions.insert(o.action);
    };

    // new_com_request → accept_request (no status before the accept).
    let hello = alice
        .wallet
        .open_channel("bob@devnet", Some("Hello! This is Alice"))
        .unwrap();
    note(&hello);
    settle(&both, 10);
    let queued = bob.wallet.queue().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].action, Action::NewComRequest);
    let sent = &alice.wallet.history("bob@devnet").unwrap()[0];
    assert_eq!(sent.peer_status, None);
    // Bob learnt Alice's inbox from her return address and the chain.
    note(
        &bob.wallet
            .accept_request("alice@devnet", &hello.message_id, Acceptance::default())
            .unwrap(),
    );
    settle(&both, 10);
    assert_eq!(
        alice.wallet.channel("bob@devnet").unwrap().unwrap().state,
        ChannelState::Open
    );
    assert_eq!(
        request(&alice, &hello.message_id).state,
        RequestState::Accepted
    );

    // Funds requests: paid, rejected, cancelled.
    let ask = |memo: &str| {
        alice
            .wallet
            .request_funds(
                "bob@devnet",
                FundsRequest {
                    payee_public_address: "bc1q96kdtk68aw7ew5fw2f33cpxsvzcvpxw7mmat7n".into(),
                    chain_code: "BTC".into(),
                    token_code: "BTC".into(),
                    amount: ".000852".into(),
                    memo: Some(memo.into()),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let r1 = ask("dinner");
    let r2 = ask("too much");
    let r3 = ask("by mistake");
    note(&r1);
    settle(&both, 10);
    note(
        &bob.wallet
            .accept_request(
                "alice@devnet",
                &r1.message_id,
                Acceptance {
                    memo: Some("paid".into()),
                    ..Default::default()
                },
            )
            .unwrap(),
    );
    note(
        &bob.wallet
            .reject_request("alice@devnet", &r2.message_id, Some("no"))
            .unwrap(),
    );
    note(
        &alice
            .wallet
            .cancel_request("bob@devnet", &r3.message_id, Some("sorry"))
            .unwrap(),
    );
    settle(&both, 10);
    for p in both {
        assert_eq!(request(p, &r1.message_id).state, RequestState::Paid);
        assert_eq!(request(p, &r2.message_id).state, RequestState::Rejected);
        assert_eq!(request(p, &r3.message_id).state, RequestState::Cancelled);
    }

    // A public address request, answered.
    let addr_ask = bob
        .wallet
        .request_public_address(
            "alice@devnet",
            AddressRequest {
                chain_code: "ETH".into(),
                token_code: "ETH".into(),
                memo: None,
                amount: None,
            },
        )
        .unwrap();
    note(&addr_ask);
    settle(&both, 10);
    note(
        &alice
            .wallet
            .accept_request(
                "bob@devnet",
                &addr_ask.message_id,
                Acceptance {
                    payee_public_address: Some("0xab5801a7d398351b8be11c439e05c5b3259aec9b".into()),
                    ..Default::default()
                },
            )
            .unwrap(),
    );
    settle(&both, 10);
    assert_eq!(
        request(&bob, &addr_ask.message_id)
            .answer
            .unwrap()
            .payee_public_address
            .as_deref(),
        Some("0xab5801a7d398351b8be11c439e05c5b3259aec9b")
    );

    // Private text, an update of the channel's data, and closing it.
    note(
        &alice
            .wallet
            .send_private_text("bob@devnet", "see you at 8", None)
            .unwrap(),
    );
    settle(&both, 10);
    note(
        &bob.wallet
            .update_com_data("alice@devnet", None, true)
            .unwrap(),
    );
    settle(&both, 10);
    note(
        &alice
            .wallet
            .send_private_text("bob@devnet", "after the update", None)
            .unwrap(),
    );
    settle(&both, 10);
    note(
        &alice
            .wallet
            .close_channel("bob@devnet", Some("bye"))
            .unwrap(),
    );
    settle(&both, 10);
    assert_eq!(
        bob.wallet.channel("alice@devnet").unwrap().unwrap().state,
        ChannelState::Closed
    );
    assert_eq!(
        alice.wallet.channel("bob@devnet").unwrap().unwrap().state,
        ChannelState::Closed
    );

    // Status replies are the tenth action; both sides sent some.
    let ah = alice.wallet.history("bob@devnet").unwrap();
    let bh = bob.wallet.history("alice@devnet").unwrap();
    for m in ah.iter().chain(&bh) {
        actions.insert(m.action);
    }
    assert_eq!(actions.len(), 10, "{actions:?}");
    // What one sent, the other received, exactly once; but Bob's status
    // reply to the close, which Alice's closed channel no longer takes.
    assert_eq!(ids(&ah, Direction::Outgoing), ids(&bh, Direction::Incoming));
    let mut bob_sent = ids(&bh, Direction::Outgoing);
    let last = bh.last().unwrap();
    assert_eq!(
        (last.action, last.referenced_message_id.as_deref()),
        (
            Action::ReturnMessageStatus,
            ah.last().map(|m| m.message_id.as_str())
        )
    );
    bob_sent.pop();
    assert_eq!(bob_sent, ids(&ah, Direction::Incoming));
    assert!(alice.wallet.outbox().unwrap().is_empty());
    assert!(bob.wallet.outbox().unwrap().is_empty());
}

fn texts(p: &Party, peer: &str) -> Vec<String> {
    p.wallet
        .history(peer)
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Incoming && m.action == Action::SendPrivateText)
        .map(|m| m.data.memo.unwrap_or_default())
        .collect()
}

#[test]
fn a_relay_killed_mid_conversation_loses_nothing() {
    let (ka, kb) = keys();
    let mut world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    open_channel(&alice, &bob);

    for i in 0..20 {
        alice
            .wallet
            .send_private_text("bob@devnet", &format!("m{i}"), None)
            .unwrap();
    }
    alice.sync();
    // Bob's relay dies with 20 envelopes stored and unread.
    world.relays[1].kill();
    for i in 20..30 {
        alice
            .wallet
            .send_private_text("bob@devnet", &format!("m{i}"), None)
            .unwrap();
    }
    let r = alice.sync();
    assert_eq!((r.delivered, r.retrying), (0, 1));
    // The first envelope failed and waits for its retry; the others wait
    // behind it, untried, so Bob gets them in order.
    let outbox = alice.wallet.outbox().unwrap();
    assert_eq!(outbox.len(), 10);
    assert_eq!(outbox[0].attempts, 1);
    assert!(outbox[0].last_error.is_some());
    assert!(outbox[1..].iter().all(|i| i.attempts == 0));
    assert!(matches!(
        bob.engine.sync_blocking(None, CancelToken::new()),
        Err(SyncError::Transport(_))
    ));

    // Alice's wallet restarts meanwhile: her outbox is in her database.
    drop(alice);
    let alice = world.party("alice", &ka, 0);
    assert_eq!(alice.wallet.outbox().unwrap().len(), 10);

    world.relays[1].restart();
    std::thread::sleep(Duration::from_millis(500));
    settle(&[&alice, &bob], 20);
    let expected: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    assert_eq!(texts(&bob, "alice@devnet"), expected);
}

#[test]
fn a_wallet_restarted_mid_sync_loses_and_duplicates_nothing() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    open_channel(&alice, &bob);
    for i in 0..300 {
        alice
            .wallet
            .send_private_text("bob@devnet", &format!("t{i}"), None)
            .unwrap();
    }
    // Progress comes per page with counts and bytes.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let progress = std::sync::Arc::new(move |phase: SyncPhase, r: &SyncReport| {
        log.lock()
            .unwrap()
            .push((phase, r.delivered, r.delivered_bytes));
    });
    let r = alice
        .engine
        .sync_blocking(Some(progress), CancelToken::new())
        .unwrap();
    assert_eq!(r.delivered, 300);
    let seen = seen.lock().unwrap();
    let last = seen
        .iter()
        .rev()
        .find(|(p, _, _)| *p == SyncPhase::Delivering)
        .unwrap();
    assert_eq!(last.1, 300);
    assert!(last.2 > 300 * 300, "{} bytes", last.2);

    // 1. Bob's sync is cancelled after its first page of 100 and the wallet closed.
    let mut config = World::sync_config(&bob.relay);
    config.fetch_batch = 100;
    let bob = {
        drop(bob);
        world.party_with("bob", &kb, 1, config.clone())
    };
    let cancel = CancelToken::new();
    let c = cancel.clone();
    let progress = std::sync::Arc::new(move |phase: SyncPhase, r: &SyncReport| {
        if phase == SyncPhase::Fetching && r.fetched >= 100 {
            c.cancel();
        }
    });
    assert!(matches!(
        bob.engine.sync_blocking(Some(progress), cancel),
        Err(SyncError::Cancelled)
    ));
    assert_eq!(texts(&bob, "alice@devnet").len(), 100);
    drop(bob);

    // 2. It crashes between commit and ack: the next page is received and
    //    committed, but never acknowledged.
    let bob = world.party_with("bob", &kb, 1, config.clone());
    let inbox = bob.wallet.own_inbox().unwrap().unwrap();
    let page: serde_json::Value = reqwest::blocking_get_json(
        &format!(
            "{}/v1/inboxes/{}/messages?limit=100",
            inbox.relay, inbox.inbox_id
        ),
        &inbox.credential,
    );
    let envelopes: Vec<String> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["envelope"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(envelopes.len(), 100);
    let refs: Vec<&[u8]> = envelopes.iter().map(|e| e.as_bytes()).collect();
    let results = bob.wallet.receive_batch(&refs).unwrap();
    assert!(results.iter().all(Result::is_ok));
    drop(bob);

    // 3. Reopened, a full sync finishes the job: the committed page comes
    //    again and is recognised, the rest is received.
    let bob = world.party_with("bob", &kb, 1, config);
    let r = bob.sync();
    assert_eq!(
        (r.fetched, r.duplicates, r.received),
        (200, 100, 100),
        "{r:?}"
    );
    let expected: Vec<String> = (0..300).map(|i| format!("t{i}")).collect();
    assert_eq!(texts(&bob, "alice@devnet"), expected);
    // Nothing left on the relay, and every status reply reaches Alice once.
    assert_eq!(bob.sync().fetched, 0);
    settle(&[&alice, &bob], 10);
    let statuses = alice
        .wallet
        .history("bob@devnet")
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Outgoing && m.action == Action::SendPrivateText)
        .filter(|m| m.peer_status.as_deref() == Some("success"))
        .count();
    assert_eq!(statuses, 300);
}

#[test]
fn undeliverable_envelopes_wait_in_order_and_a_peer_without_inbox_is_retried() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    // Bob has no inbox yet: Alice's channel request waits in her outbox.
    let hello = alice.wallet.open_channel("bob@devnet", None).unwrap();
    let r = alice.sync();
    assert_eq!((r.delivered, r.retrying), (0, 1));
    let item = alice
        .wallet
        .delivery("bob@devnet", &hello.message_id)
        .unwrap()
        .unwrap();
    assert_eq!(item.state, OutboxState::Pending);
    assert!(item.last_error.unwrap().contains("no inbox"));
    assert_eq!(item.destination, Destination::Chain);

    // Bob appears; Alice's retry finds his inbox on chain.
    let bob = world.party("bob", &kb, 1);
    bob.sync();
    std::thread::sleep(Duration::from_millis(500));
    // The cached "no inbox" answer expires with the TTL; force a fresh look.
    alice
        .engine
        .chain()
        .invalidate(&FioAddress::parse("bob@devnet").unwrap());
    settle(&[&alice, &bob], 10);
    assert_eq!(bob.wallet.queue().unwrap().len(), 1);
}

#[test]
fn an_envelope_whose_sender_cannot_be_looked_up_is_held_and_received_later() {
    let (ka, kb) = keys();
    let kc = PrivateKey::generate();
    let mut world = World::new(&[("alice", &ka), ("bob", &kb), ("carol", &kc)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    let carol = world.party("carol", &kc, 2);
    open_channel(&alice, &bob);
    carol.sync();
    // Carol's first contact needs a key lookup at Bob's; Alice's channel
    // messages after it do not.
    let hello = carol.wallet.open_channel("bob@devnet", None).unwrap();
    assert_eq!(carol.sync().delivered, 1);
    for i in 0..3 {
        alice
            .wallet
            .send_private_text("bob@devnet", &format!("x{i}"), None)
            .unwrap();
    }
    assert_eq!(alice.sync().delivered, 3);

    // The chain goes away. Bob's wallet restarts too (empty lookup cache;
    // its registration was checked moments ago, so it is not checked
    // again): the sync goes on without the chain.
    world.stop_devnet();
    drop(bob);
    let bob = world.party("bob", &kb, 1);
    let r = bob.sync();
    assert_eq!(r.registration_error, None, "{r:?}");
    // Everything is in Bob's database and acknowledged: Carol's envelope is
    // held, Alice's texts are received.
    assert_eq!(
        (r.fetched, r.received, r.held, r.acked),
        (4, 3, 1, 4),
        "{r:?}"
    );
    assert_eq!(bob.wallet.held_count().unwrap(), 1);
    assert!(bob.wallet.channel("carol@devnet").unwrap().is_none());
    assert_eq!(texts(&bob, "alice@devnet"), ["x0", "x1", "x2"]);
    // Still down: it stays held.
    let r = bob.sync();
    assert_eq!((r.fetched, r.held, r.received), (0, 1, 0), "{r:?}");

    // The chain is back (and Bob's client, restarted with the app, does
    // not wait out its fail-fast window): the held envelope is received.
    world.start_devnet();
    drop(bob);
    let bob = world.party("bob", &kb, 1);
    let r = bob.sync();
    assert_eq!((r.fetched, r.received, r.held), (0, 1, 0), "{r:?}");
    assert_eq!(r.registration_error, None);
    assert_eq!(bob.wallet.held_count().unwrap(), 0);
    assert!(bob
        .wallet
        .queue()
        .unwrap()
        .iter()
        .any(|q| q.message.message_id == hello.message_id));
}

#[test]
fn an_inbox_moved_to_another_relay_loses_nothing_sent_to_the_old_one() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    open_channel(&alice, &bob);
    let old = bob.wallet.own_inbox().unwrap().unwrap();

    // Bob moves to relay 0; his update goes out to Alice at once.
    let r = bob
        .engine
        .replace_inbox_blocking(Some(world.relays[0].url()))
        .unwrap();
    assert!(r.registered);
    assert_eq!(r.delivered, 1);
    let new = bob.wallet.own_inbox().unwrap().unwrap();
    assert!(new.inbox_url.starts_with(&world.relays[0].url()));
    assert_eq!(
        bob.wallet.previous_inboxes().unwrap()[0].inbox_id,
        old.inbox_id
    );
    assert_eq!(
        world
            .chain()
            .get_pub_address("bob@devnet", "FIB", "URL")
            .block_on_test(),
        new.inbox_url
    );

    // Alice writes before she has seen the update: it goes to the old inbox.
    alice
        .wallet
        .send_private_text("bob@devnet", "to the old inbox", None)
        .unwrap();
    assert_eq!(alice.engine.deliver_blocking().delivered, 1);
    // Her sync fetches the update; what she writes next goes to the new one.
    alice.sync();
    assert_eq!(
        alice
            .wallet
            .channel("bob@devnet")
            .unwrap()
            .unwrap()
            .peer_inbox
            .unwrap()
            .address,
        new.inbox_url
    );
    alice
        .wallet
        .send_private_text("bob@devnet", "to the new inbox", None)
        .unwrap();
    alice.sync();
    settle(&[&alice, &bob], 10);
    let mut got = texts(&bob, "alice@devnet");
    got.sort();
    assert_eq!(got, ["to the new inbox", "to the old inbox"]);

    // Once its relay no longer has it (deleted here), it is forgotten.
    assert_eq!(
        reqwest::blocking_delete(
            &format!("{}/v1/inboxes/{}", old.relay, old.inbox_id),
            &old.credential
        ),
        204
    );
    bob.sync();
    assert!(bob.wallet.previous_inboxes().unwrap().is_empty());
}

/// A server answering every request with `status`, `headers` and `body`.
fn fake_server(
    status: u16,
    headers: &'static str,
    body: String,
) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let resp = format!(
                "HTTP/1.1 {status} X\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes());
        }
    });
    (url, handle)
}

#[test]
fn a_hostile_inbox_or_relay_cannot_fake_a_delivery_or_loop_a_fetch() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    alice.sync();
    let chain = world.chain();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let point_bob_at = |url: &str| {
        rt.block_on(chain.add_pub_address(
            &kb,
            "bob@devnet",
            vec![fio_peer::chain::TokenPubAddress {
                token_code: "URL".into(),
                chain_code: "FIB".into(),
                public_address: url.into(),
            }],
            0,
        ))
        .unwrap();
        alice
            .engine
            .chain()
            .invalidate(&FioAddress::parse("bob@devnet").unwrap());
    };
    let hello = alice.wallet.open_channel("bob@devnet", None).unwrap();
    let state = || {
        alice
            .wallet
            .delivery("bob@devnet", &hello.message_id)
            .unwrap()
            .unwrap()
    };

    // A 200 that is not the relay's 202 with a seq is not a delivery.
    let (ok_page, _) = fake_server(200, "", "<html>welcome</html>".into());
    point_bob_at(&ok_page);
    assert_eq!(alice.sync().delivered, 0);
    assert_eq!(state().state, OutboxState::Pending);
    let (no_seq, _) = fake_server(202, "", "{}".into());
    point_bob_at(&no_seq);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(alice.sync().delivered, 0);
    assert!(state().last_error.unwrap().contains("without a seq"));
    // A redirect is not followed.
    let (redirect, _) = fake_server(302, "Location: http://127.0.0.1:1/\r\n", String::new());
    point_bob_at(&redirect);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(alice.sync().delivered, 0);
    // An absurd Retry-After is capped at our own longest wait.
    let (busy, _) = fake_server(429, "Retry-After: 999999999999\r\n", "{}".into());
    point_bob_at(&busy);
    std::thread::sleep(Duration::from_millis(500));
    alice.sync();
    let s = state();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        s.next_attempt_at <= now + 1000,
        "{} vs {now}",
        s.next_attempt_at
    );
    // Refused for good: failed, kept for the user, retried on request.
    let (refusing, _) = fake_server(
        413,
        "",
        r#"{"error":{"type":413,"field":null,"message":"too large"}}"#.into(),
    );
    point_bob_at(&refusing);
    std::thread::sleep(Duration::from_millis(500));
    alice.sync();
    let s = state();
    assert_eq!(s.state, OutboxState::Failed);
    assert!(s.last_error.as_deref().unwrap().contains("too large"));
    alice.wallet.retry_delivery(s.row).unwrap();
    assert_eq!(state().state, OutboxState::Pending);

    // A relay whose seqs do not grow cannot make a fetch loop.
    let page = r#"{"messages":[{"seq":5,"received_at":0,"envelope":"{}"},{"seq":5,"received_at":0,"envelope":"{}"}],"next_after":5}"#;
    let (looping, _) = fake_server(200, "", page.into());
    let bob = world.party_with("bob", &kb, 1, World::sync_config(&world.relays[1].url()));
    bob.wallet
        .set_own_inbox(&OwnInbox {
            relay: looping,
            inbox_id: "00".repeat(16),
            credential: "11".repeat(32),
            inbox_url: format!("{}/v1/inboxes/{}", world.relays[1].url(), "00".repeat(16)),
            registered_at: Some(1),
            registered_tx: None,
            checked_at: None,
        })
        .unwrap();
    match bob.engine.fetch_blocking_result() {
        Err(SyncError::Relay { message, .. }) => {
            assert!(message.contains("not increasing"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

mod reqwest {
    /// DELETE with a bearer credential; the status.
    pub fn blocking_delete(url: &str, credential: &str) -> u16 {
        fio_peer::chain::install_tls_provider();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            ::reqwest::Client::new()
                .delete(url)
                .bearer_auth(credential)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }

    /// GET with a bearer credential, on a throwaway runtime.
    pub fn blocking_get_json(url: &str, credential: &str) -> serde_json::Value {
        fio_peer::chain::install_tls_provider();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            ::reqwest::Client::new()
                .get(url)
                .bearer_auth(credential)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    }
}

/// Records what a sync reports per message.
#[derive(Default)]
struct Observed {
    received: std::sync::Mutex<Vec<(String, Option<i64>)>>,
    delivered: std::sync::Mutex<Vec<(String, String, DeliveryOutcome)>>,
}

impl fio_peer::sync::SyncProgress for Observed {
    fn progress(&self, _: SyncPhase, _: &SyncReport) {}
    fn received(&self, r: &Received) {
        let mut seen = self.received.lock().unwrap();
        seen.push((r.message.message_id.clone(), r.queue_id));
    }
    fn delivered(&self, peer: &FioAddress, message_id: &str, outcome: &DeliveryOutcome) {
        let mut seen = self.delivered.lock().unwrap();
        seen.push((peer.to_string(), message_id.to_string(), outcome.clone()));
    }
}

#[test]
fn a_sync_reports_each_committed_message_and_each_delivery_outcome() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 0);
    alice.sync();
    bob.sync();
    // So that Bob answers Alice's first contact in the sync that gets it.
    bob.accept_channels_from(&alice.address);
    let hello = alice.wallet.open_channel(&bob.address, None).unwrap();

    let seen = std::sync::Arc::new(Observed::default());
    alice
        .engine
        .sync_blocking(Some(seen.clone()), CancelToken::new())
        .unwrap();
    let delivered = seen.delivered.lock().unwrap().clone();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].0, bob.address);
    assert_eq!(delivered[0].1, hello.message_id);
    assert!(matches!(delivered[0].2, DeliveryOutcome::Delivered { .. }));
    assert!(seen.received.lock().unwrap().is_empty());

    let seen = std::sync::Arc::new(Observed::default());
    bob.engine
        .sync_blocking(Some(seen.clone()), CancelToken::new())
        .unwrap();
    let received = seen.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0, hello.message_id);
    // The channel request is committed by the time the observer hears of
    // it; Bob's automation accepted it, so it does not wait in his queue.
    assert_eq!(received[0].1, None);
    assert!(bob.wallet.queue().unwrap().is_empty());
    assert!(bob
        .wallet
        .requests(None)
        .unwrap()
        .iter()
        .any(|r| r.message_id == hello.message_id
            && r.state == fio_peer::wallet::RequestState::Accepted));
    // Bob's automatic status reply and accept went out in the same sync.
    let delivered = seen.delivered.lock().unwrap().clone();
    assert_eq!(delivered.len(), 2);
    assert!(delivered
        .iter()
        .all(|d| d.0 == alice.address && matches!(d.2, DeliveryOutcome::Delivered { .. })));
}

#[test]
fn a_cancel_ends_a_long_poll_at_once_and_the_next_sync_runs() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let config = SyncConfig {
        long_poll: Duration::from_secs(20),
        ..World::sync_config(&world.relays[0].url())
    };
    // Registered first, so the sync below goes straight to its fetch.
    world.party("alice", &ka, 0).sync();
    let alice = world.party_with("alice", &ka, 0, config);
    // The inbox is empty: the first fetch waits on the relay.
    let cancel = CancelToken::new();
    let started = std::time::Instant::now();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            cancel.cancel();
        })
    };
    let result = alice.engine.sync_blocking(None, cancel);
    canceller.join().unwrap();
    assert!(matches!(result, Err(SyncError::Cancelled)), "{result:?}");
    // Cancelled in the long poll, and stopped at once.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    // The engine is free again: a sync with a message waiting returns
    // without a wait.
    let bob = world.party("bob", &kb, 0);
    bob.sync();
    bob.wallet.open_channel(&alice.address, None).unwrap();
    assert_eq!(bob.sync().delivered, 1);
    let started = std::time::Instant::now();
    assert_eq!(alice.sync().received, 1);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_sync_waiting_for_another_stops_waiting_when_cancelled() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    world.party("alice", &ka, 0).sync();
    let config = SyncConfig {
        long_poll: Duration::from_secs(20),
        ..World::sync_config(&world.relays[0].url())
    };
    let alice = world.party_with("alice", &ka, 0, config);
    // One sync waits 20 s on the relay; a second waits for it.
    let first = CancelToken::new();
    let polling = {
        let (engine, first) = (alice.engine.clone(), first.clone());
        std::thread::spawn(move || engine.sync_blocking(None, first))
    };
    std::thread::sleep(Duration::from_millis(300));
    let second = CancelToken::new();
    let waiting = {
        let (engine, second) = (alice.engine.clone(), second.clone());
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            (engine.sync_blocking(None, second), started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    second.cancel();
    let (result, waited) = waiting.join().unwrap();
    assert!(matches!(result, Err(SyncError::Cancelled)), "{result:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    // The first one was still polling; it stops when cancelled too.
    assert!(!polling.is_finished());
    first.cancel();
    assert!(matches!(polling.join().unwrap(), Err(SyncError::Cancelled)));
}

fn sync_within(p: &Party, limits: SyncLimits) -> SyncReport {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(p.engine.sync_within(None, CancelToken::new(), limits))
        .unwrap()
}

#[test]
fn a_sync_capped_in_messages_stops_there_and_the_next_goes_on() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    open_channel(&alice, &bob);
    let sent: Vec<String> = (0..25).map(|i| format!("t{i}")).collect();
    for text in &sent {
        alice
            .wallet
            .send_private_text("bob@devnet", text, None)
            .unwrap();
    }
    assert_eq!(alice.sync().delivered, 25);
    let cap = SyncLimits {
        max_messages: Some(10),
        ..SyncLimits::default()
    };
    let first = sync_within(&bob, cap);
    assert_eq!((first.fetched, first.acked), (10, 10), "{first:?}");
    assert_eq!(first.stopped, SyncStop::MaxMessages);
    assert_eq!(texts(&bob, "alice@devnet"), sent[..10]);
    let second = sync_within(&bob, cap);
    assert_eq!(
        (second.fetched, second.stopped),
        (10, SyncStop::MaxMessages)
    );
    let last = sync_within(&bob, cap);
    assert_eq!(
        (last.fetched, last.stopped),
        (5, SyncStop::Complete),
        "{last:?}"
    );
    assert_eq!(texts(&bob, "alice@devnet"), sent);
}

#[test]
fn a_sync_out_of_budget_returns_in_time_keeping_what_it_received() {
    let (ka, kb) = keys();
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    alice.sync();
    bob.sync();
    // Alice's return address takes connections and never answers, so Bob's
    // automatic answers to her first contact (he accepts her channels)
    // hang for the relay timeout (10 s here).
    bob.accept_channels_from("alice@devnet");
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let black_hole = format!(
        "http://{}/v1/inboxes/hole/messages",
        hole.local_addr().unwrap()
    );
    alice
        .wallet
        .set_inbox(Some(InboxLocation::parse("URL", &black_hole).unwrap()))
        .unwrap();
    let hello = alice.wallet.open_channel("bob@devnet", Some("hi")).unwrap();
    assert_eq!(alice.engine.deliver_blocking().delivered, 1);

    let budget = Duration::from_secs(1);
    let started = std::time::Instant::now();
    let r = sync_within(
        &bob,
        SyncLimits {
            time_budget: Some(budget),
            ..SyncLimits::default()
        },
    );
    let took = started.elapsed();
    assert_eq!(r.stopped, SyncStop::Budget, "{r:?}");
    // A generous margin for a loaded machine; the hang alone is 10 s.
    assert!(took < budget + Duration::from_secs(3), "took {took:?}");
    // The request was received, committed and acknowledged before the
    // reply hung: it is in Bob's wallet (accepted by his automation), and
    // gone from his relay.
    assert_eq!((r.fetched, r.received, r.acked), (1, 1, 1), "{r:?}");
    assert!(bob
        .wallet
        .requests(None)
        .unwrap()
        .iter()
        .any(|r| r.message_id == hello.message_id));
    let again = bob.engine.fetch_blocking_result().unwrap();
    assert_eq!(again.fetched, 0);
    // The status reply and the accept wait in the outbox for a later sync.
    assert_eq!(bob.wallet.outbox_pending(0, 10).unwrap().len(), 2);
    drop(hole);
}
