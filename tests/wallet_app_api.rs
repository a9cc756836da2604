//! What a wallet UI reads (issue 16): a queue of what waits for the user,
//! the delivery state of our messages, the event log and its cursor, and
//! paging; and the upgrade of a database from before them.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use fio_peer::crypto::PrivateKey;
use fio_peer::store;
use fio_peer::wallet::*;

/// A party whose wallet is a database file at `path` (so it can be
/// reopened), with a new key registered in `dir`.
fn on_file(dir: &Arc<MapDirectory>, path: &std::path::Path, address: &str) -> Party {
    let key = PrivateKey::generate();
    dir.register(address, key.public_key());
    Party {
        wallet: Wallet::open(path, key.clone(), address, dir.clone()).unwrap(),
        key,
        address: address.into(),
    }
}

fn funds(amount: &str) -> FundsRequest {
    FundsRequest {
        payee_public_address: "bc1qexample".into(),
        chain_code: "BTC".into(),
        token_code: "BTC".into(),
        amount: amount.into(),
        memo: Some("dinner".into()),
        ..Default::default()
    }
}

fn waiting(p: &Party) -> Vec<String> {
    p.wallet
        .queue()
        .unwrap()
        .into_iter()
        .map(|q| q.message.message_id)
        .collect()
}

fn state_of(p: &Party, message_id: &str) -> RequestState {
    p.wallet
        .requests(None)
        .unwrap()
        .into_iter()
        .find(|r| r.message_id == message_id)
        .unwrap()
        .state
}

#[test]
fn an_answered_request_leaves_the_queue_and_keeps_its_state() {
    let (_dir, alice, bob) = two();
    // A channel request waits until Bob accepts it.
    let out = alice.wallet.open_channel("bob@demo", None).unwrap();
    let got = deliver(&out, &bob, &alice);
    assert_eq!(waiting(&bob), vec![out.message_id.clone()]);
    let accept = bob
        .wallet
        .accept_request("alice@demo", &got.message.message_id, Default::default())
        .unwrap();
    assert!(waiting(&bob).is_empty(), "accepted: no longer waits");
    deliver(&accept, &alice, &bob);
    assert_eq!(state_of(&bob, &out.message_id), RequestState::Accepted);

    // Paid, rejected and cancelled by the peer: each leaves Bob's queue
    // in the transaction that settles it; the texts stay until dismissed.
    let paid = alice.wallet.request_funds("bob@demo", funds("1")).unwrap();
    let rejected = alice.wallet.request_funds("bob@demo", funds("2")).unwrap();
    let cancelled = alice.wallet.request_funds("bob@demo", funds("3")).unwrap();
    let text = alice
        .wallet
        .send_private_text("bob@demo", "see you", None)
        .unwrap();
    for o in [&paid, &rejected, &cancelled, &text] {
        deliver(o, &bob, &alice);
    }
    assert_eq!(
        waiting(&bob),
        vec![
            paid.message_id.clone(),
            rejected.message_id.clone(),
            cancelled.message_id.clone(),
            text.message_id.clone()
        ]
    );
    let a = bob
        .wallet
        .accept_request("alice@demo", &paid.message_id, Default::default())
        .unwrap();
    let r = bob
        .wallet
        .reject_request("alice@demo", &rejected.message_id, Some("no"))
        .unwrap();
    let c = alice
        .wallet
        .cancel_request("bob@demo", &cancelled.message_id, None)
        .unwrap();
    for o in [&a, &r] {
        deliver(o, &alice, &bob);
    }
    deliver(&c, &bob, &alice);
    assert_eq!(waiting(&bob), vec![text.message_id.clone()]);
    assert_eq!(state_of(&bob, &paid.message_id), RequestState::Paid);
    assert_eq!(state_of(&bob, &rejected.message_id), RequestState::Rejected);
    assert_eq!(
        state_of(&bob, &cancelled.message_id),
        RequestState::Cancelled
    );
    // Handled items stay readable: the requests by state, and history.
    let settled = bob
        .wallet
        .requests_page(Some("alice@demo"), Some(RequestState::Paid), 0, 10)
        .unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].message_id, paid.message_id);
    assert!(bob
        .wallet
        .history("alice@demo")
        .unwrap()
        .iter()
        .any(|m| m.message_id == rejected.message_id));
}

#[test]
fn a_channel_request_an_automation_accepts_does_not_wait() {
    let (_dir, alice, bob) = two();
    bob.wallet
        .set_automation(Automation {
            accept_channels: AcceptPolicy::Always,
            ..Automation::default()
        })
        .unwrap();
    let out = alice.wallet.open_channel("bob@demo", None).unwrap();
    let got = deliver(&out, &bob, &alice);
    assert_eq!(got.queue_id, None);
    assert!(waiting(&bob).is_empty());
    assert_eq!(state_of(&bob, &out.message_id), RequestState::Accepted);
    // Nothing was queued, so nothing says so (the status of Bob's accept
    // is all there is).
    let events = bob.wallet.events(Some(0), 100).unwrap();
    assert!(events
        .iter()
        .all(|e| matches!(e.event, WalletEvent::MessageStatusChanged { .. })));
}

fn delivery_of(p: &Party, message_id: &str) -> Option<Delivery> {
    p.wallet
        .history("bob@demo")
        .unwrap()
        .into_iter()
        .find(|m| m.message_id == message_id)
        .unwrap()
        .delivery
}

#[test]
fn delivery_state_is_part_of_the_message_and_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("alice.sqlite");
    let dir = Arc::new(MapDirectory::default());
    let bob = party(&dir, "bob@demo");
    let alice = on_file(&dir, &path, "alice@demo");
    let key = alice.key.clone();
    open(&alice, &bob);
    let sent = alice.wallet.request_funds("bob@demo", funds("5")).unwrap();
    let row = alice
        .wallet
        .undelivered()
        .unwrap()
        .into_iter()
        .find(|m| m.message_id == sent.message_id)
        .unwrap()
        .id;
    assert_eq!(
        delivery_of(&alice, &sent.message_id),
        Some(Delivery::Queued)
    );
    // Incoming messages have no delivery.
    assert!(alice
        .wallet
        .history("bob@demo")
        .unwrap()
        .iter()
        .filter(|m| m.direction == Direction::Incoming)
        .all(|m| m.delivery.is_none()));

    alice
        .wallet
        .record_deliveries(&[(
            row,
            DeliveryOutcome::Retry {
                error: "503".into(),
                at: 1_000,
                ask_chain: false,
            },
        )])
        .unwrap();
    assert_eq!(
        delivery_of(&alice, &sent.message_id),
        Some(Delivery::Retrying {
            attempts: 1,
            next_attempt_at: 1_000,
            last_error: "503".into()
        })
    );
    alice
        .wallet
        .record_deliveries(&[(
            row,
            DeliveryOutcome::Failed {
                error: "413 too large".into(),
            },
        )])
        .unwrap();
    // Not retryable until it failed; a message that is not ours is unknown.
    assert!(matches!(
        alice.wallet.retry_message("bob@demo", "no-such-id"),
        Err(WalletError::Request(_))
    ));

    // After a restart the UI still shows "failed, tap to retry".
    drop(alice);
    let alice = Party {
        wallet: Wallet::open(&path, key, "alice@demo", dir.clone()).unwrap(),
        key: PrivateKey::generate(),
        address: "alice@demo".into(),
    };
    let failed = Some(Delivery::Failed {
        attempts: 2,
        reason: "413 too large".into(),
    });
    assert_eq!(delivery_of(&alice, &sent.message_id), failed);
    let outbox = alice.wallet.undelivered().unwrap();
    let listed = outbox
        .iter()
        .find(|m| m.message_id == sent.message_id)
        .unwrap();
    assert_eq!(listed.delivery, failed);
    assert!(outbox
        .iter()
        .all(|m| m.direction == Direction::Outgoing && m.delivery.is_some()));

    alice
        .wallet
        .retry_message("bob@demo", &sent.message_id)
        .unwrap();
    assert_eq!(
        delivery_of(&alice, &sent.message_id),
        Some(Delivery::Queued)
    );
    assert!(matches!(
        alice.wallet.retry_message("bob@demo", &sent.message_id),
        Err(WalletError::Request(m)) if m.contains("has not failed")
    ));
    alice
        .wallet
        .record_deliveries(&[(row, DeliveryOutcome::Delivered { seq: 42 })])
        .unwrap();
    assert!(matches!(
        delivery_of(&alice, &sent.message_id),
        Some(Delivery::Delivered { seq: Some(42), .. })
    ));
    assert!(alice
        .wallet
        .undelivered()
        .unwrap()
        .iter()
        .all(|m| m.message_id != sent.message_id));

    // Each outcome was logged, in order, with the attempt it was.
    let statuses: Vec<MessageStatus> = alice
        .wallet
        .events(Some(0), 100)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            WalletEvent::MessageStatusChanged {
                message_id, status, ..
            } if message_id == sent.message_id => Some(status),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            MessageStatus::Retrying {
                error: "503".into(),
                attempts: 1,
                next_attempt_at: 1_000
            },
            MessageStatus::Failed {
                error: "413 too large".into()
            },
            MessageStatus::Queued,
            MessageStatus::Delivered { seq: 42 },
        ]
    );
}

#[test]
fn the_event_log_is_read_from_a_cursor_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bob.sqlite");
    let dir = Arc::new(MapDirectory::default());
    let alice = party(&dir, "alice@demo");
    let bob = on_file(&dir, &path, "bob@demo");
    let key = bob.key.clone();
    open(&alice, &bob);
    // The channel request waited; the status of Bob's accept came back.
    let first = bob.wallet.events(None, 100).unwrap();
    assert!(matches!(
        &first[0].event,
        WalletEvent::QueueItemAdded { item } if item.action == fio_peer::protocol::Action::NewComRequest
    ));
    assert!(matches!(
        &first[1].event,
        WalletEvent::MessageStatusChanged { status: MessageStatus::PeerStatus { status, .. }, .. }
            if status == "success"
    ));
    assert_eq!(first.len(), 2);
    let handled = first[1].id;
    bob.wallet.mark_events_handled(handled).unwrap();
    // Beyond the newest is refused; the mark never moves back.
    assert!(bob.wallet.mark_events_handled(handled + 1).is_err());
    bob.wallet.mark_events_handled(0).unwrap();
    assert_eq!(bob.wallet.handled_events().unwrap(), handled);

    // While Bob's app is away, five texts come.
    let mut sent = Vec::new();
    for i in 0..5 {
        let o = alice
            .wallet
            .send_private_text("bob@demo", &format!("text {i}"), None)
            .unwrap();
        deliver(&o, &bob, &alice);
        sent.push(o.message_id);
    }
    drop(bob);
    let bob = Wallet::open(&path, key, "bob@demo", dir.clone()).unwrap();
    // From the handled mark: the five, in order, none of the earlier one.
    let page1 = bob.events(None, 3).unwrap();
    let page2 = bob.events(Some(page1.last().unwrap().id), 3).unwrap();
    assert_eq!(page2.len(), 2);
    let ids: Vec<String> = page1
        .iter()
        .chain(&page2)
        .map(|e| match &e.event {
            WalletEvent::QueueItemAdded { item } => item.message.message_id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, sent);
    let all: Vec<i64> = page1.iter().chain(&page2).map(|e| e.id).collect();
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert!(all[0] > handled);
    assert!(bob
        .events(Some(*all.last().unwrap()), 10)
        .unwrap()
        .is_empty());
}

#[test]
fn a_key_change_found_by_our_own_request_is_logged_with_what_it_failed() {
    let (dir, alice, bob) = two();
    open(&alice, &bob);
    // Alice's text waits in her outbox when Bob's address gets a new key.
    let text = alice
        .wallet
        .send_private_text("bob@demo", "still there?", None)
        .unwrap();
    let after = alice.wallet.last_event_id().unwrap();
    alice.wallet.close_channel("bob@demo", None).unwrap();
    let new_key = PrivateKey::generate();
    dir.register("bob@demo", new_key.public_key());
    alice.wallet.open_channel("bob@demo", None).unwrap();
    let events: Vec<WalletEvent> = alice
        .wallet
        .events(Some(after), 100)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(
        matches!(&events[0], WalletEvent::PeerKeyChanged { peer, new_key: k, .. }
            if peer == "bob@demo" && *k == new_key.public_key().to_fio_string()),
        "{events:?}"
    );
    let failed: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            WalletEvent::MessageStatusChanged {
                message_id,
                status: MessageStatus::Failed { error },
                ..
            } if error.contains("changed") => Some(message_id),
            _ => None,
        })
        .collect();
    assert!(failed.contains(&&text.message_id), "{events:?}");
    assert!(matches!(
        delivery_of(&alice, &text.message_id),
        Some(Delivery::Failed { .. })
    ));
}

#[test]
fn the_event_log_is_bounded() {
    let (_dir, alice, bob) = two();
    open(&alice, &bob);
    let o = alice
        .wallet
        .send_private_text("bob@demo", "x", None)
        .unwrap();
    let row = alice
        .wallet
        .undelivered()
        .unwrap()
        .into_iter()
        .find(|m| m.message_id == o.message_id)
        .unwrap()
        .id;
    let retry = DeliveryOutcome::Retry {
        error: "busy".into(),
        at: 0,
        ask_chain: false,
    };
    let outcomes = vec![(row, retry); MAX_EVENTS as usize + 5];
    alice.wallet.record_deliveries(&outcomes).unwrap();
    let last = alice.wallet.last_event_id().unwrap();
    let mut kept = 0;
    let mut after = 0;
    loop {
        let page = alice.wallet.events(Some(after), 1_000).unwrap();
        let Some(e) = page.last() else { break };
        after = e.id;
        kept += page.len();
    }
    assert_eq!(kept as i64, MAX_EVENTS);
    assert_eq!(after, last);
    // The oldest went: the first kept is the one MAX_EVENTS before the end.
    let first = alice.wallet.events(Some(0), 1).unwrap();
    assert_eq!(first[0].id, last - MAX_EVENTS + 1);
}

#[test]
fn next_events_wakes_on_a_commit_and_times_out_empty() {
    let (_dir, alice, bob) = two();
    let bob = Arc::new(bob);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let empty = rt
        .block_on(bob.wallet.next_events(None, 10, Duration::from_millis(50)))
        .unwrap();
    assert!(empty.is_empty());
    let waiter = {
        let bob = bob.clone();
        rt.spawn(async move {
            bob.wallet
                .next_events(None, 10, Duration::from_secs(30))
                .await
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(!waiter.is_finished());
    let out = alice.wallet.open_channel("bob@demo", None).unwrap();
    bob.wallet.receive(out.envelope.as_bytes()).unwrap();
    let woke = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken well before its timeout")
            .unwrap()
            .unwrap()
    });
    assert_eq!(woke.len(), 1);
}

#[test]
fn paging_returns_every_message_exactly_once_in_a_stable_order() {
    let (_dir, alice, bob) = two();
    open(&alice, &bob);
    bob.wallet
        .set_automation(Automation {
            status_replies: false,
            ..Automation::default()
        })
        .unwrap();
    for i in 0..1_000 {
        let o = alice
            .wallet
            .send_private_text("bob@demo", &format!("{i}"), None)
            .unwrap();
        bob.wallet.receive(o.envelope.as_bytes()).unwrap();
    }
    let all = bob.wallet.history("alice@demo").unwrap();
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = bob.wallet.history_page("alice@demo", before, 64).unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        seen.extend(page);
    }
    seen.reverse();
    assert_eq!(seen, all);
    assert_eq!(
        seen.iter()
            .filter(|m| m.action == fio_peer::protocol::Action::SendPrivateText)
            .count(),
        1_000
    );
    // The queue pages the same way, by item id.
    let mut queued = Vec::new();
    let mut after = 0;
    loop {
        let page = bob.wallet.queue_page(after, 100).unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        queued.extend(page.into_iter().map(|q| q.message.message_id));
    }
    assert_eq!(queued.len(), 1_000);
    assert_eq!(
        queued,
        bob.wallet
            .queue()
            .unwrap()
            .into_iter()
            .map(|q| q.message.message_id)
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_database_of_schema_7_upgrades_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bob.sqlite");
    let dir = Arc::new(MapDirectory::default());
    let alice = party(&dir, "alice@demo");
    let bob = on_file(&dir, &path, "bob@demo");
    let key = bob.key.clone();
    open(&alice, &bob);
    let paid = alice.wallet.request_funds("bob@demo", funds("1")).unwrap();
    let pending = alice.wallet.request_funds("bob@demo", funds("2")).unwrap();
    deliver(&paid, &bob, &alice);
    deliver(&pending, &bob, &alice);
    bob.wallet
        .accept_request("alice@demo", &paid.message_id, Default::default())
        .unwrap();
    let history = bob.wallet.history("alice@demo").unwrap();
    drop(bob);

    // Back to schema 7 as version 7 wrote it: no event log, and answered
    // requests still in the queue.
    let database_key = store::DatabaseKey::derive(&key);
    let conn = store::open(&path, &database_key).unwrap();
    conn.execute_batch(
        "DROP TABLE events; DROP TABLE event_cursor; DROP INDEX queue_waiting;
         DROP INDEX messages_channel; DROP TABLE push_registrations; DROP TABLE notify_cursor;
         UPDATE queue SET handled = 0; PRAGMA user_version = 7;",
    )
    .unwrap();
    let v7 = rusqlite::Connection::open_in_memory().unwrap();
    store::migrate(&v7, 7).unwrap();
    let no_sequence = |d: Vec<(String, String, String)>| -> Vec<(String, String, String)> {
        d.into_iter()
            .filter(|(_, n, _)| n != "sqlite_sequence")
            .collect()
    };
    assert_eq!(
        no_sequence(store::schema_dump(&conn).unwrap()),
        no_sequence(store::schema_dump(&v7).unwrap())
    );
    drop(conn);

    let bob = Wallet::open(&path, key, "bob@demo", dir).unwrap();
    assert_eq!(bob.history("alice@demo").unwrap(), history);
    let waiting: Vec<String> = bob
        .queue()
        .unwrap()
        .into_iter()
        .map(|q| q.message.message_id)
        .collect();
    assert_eq!(waiting, vec![pending.message_id]);
    assert!(bob.events(None, 10).unwrap().is_empty());
    drop(bob);
    let fresh = store::open(&tmp.path().join("fresh.sqlite"), &database_key).unwrap();
    let upgraded = store::open(&path, &database_key).unwrap();
    assert_eq!(
        store::schema_dump(&upgraded).unwrap(),
        store::schema_dump(&fresh).unwrap()
    );
}
