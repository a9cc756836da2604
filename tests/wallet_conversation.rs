//! Two wallets in one process exchange envelopes by hand through every
//! FIP-24 action and every channel and request state.

mod common;

use common::*;
use fio_peer::protocol::{Action, InboxKind, InboxLocation};
use fio_peer::wallet::*;

fn state(p: &Party, peer: &str) -> ChannelState {
    p.wallet.channel(peer).unwrap().unwrap().state
}

fn request(p: &Party, message_id: &str) -> RequestRecord {
    p.wallet
        .requests(None)
        .unwrap()
        .into_iter()
        .find(|r| r.message_id == message_id)
        .unwrap()
}

#[test]
fn channel_request_accept_and_status_replies() {
    let (_dir, alice, bob) = two();
    let out = alice
        .wallet
        .open_channel("bob@demo", Some("Hello! This is Alice"))
        .unwrap();
    assert_eq!(out.action, Action::NewComRequest);
    assert!(out.envelope.contains("\"id_token\":\"NEW\""));
    assert_eq!(state(&alice, "bob@demo"), ChannelState::Requested);

    let got = deliver(&out, &bob, &alice);
    assert_eq!(got.message.action, Action::NewComRequest);
    assert_eq!(
        got.message.data.memo.as_deref(),
        Some("Hello! This is Alice")
    );
    assert_eq!(state(&bob, "alice@demo"), ChannelState::Requested);
    let queued = bob.wallet.queue().unwrap();
    assert_eq!(queued.len(), 1);
    // A handled item leaves the queue; an unknown id is an error.
    bob.wallet.dismiss(queued[0].id).unwrap();
    assert!(bob.wallet.queue().unwrap().is_empty());
    assert!(matches!(
        bob.wallet.dismiss(queued[0].id + 1000),
        Err(WalletError::Request(_))
    ));
    // Bob answers nothing before he accepts a stranger's request: no
    // status went back, so Alice's message has none.
    assert!(got.replies.is_empty());
    let sent = &alice.wallet.history("bob@demo").unwrap()[0];
    assert_eq!(sent.peer_status, None);
    // Alice cannot write yet: Bob has not given her a token.
    assert!(matches!(
        alice.wallet.send_private_text("bob@demo", "hi", None),
        Err(WalletError::Channel(_))
    ));

    // Bob must answer Alice's request, not overwrite it with his own.
    assert!(
        matches!(bob.wallet.open_channel("alice@demo", None), Err(WalletError::Channel(m)) if m.contains("accept their request"))
    );
    let accept = bob
        .wallet
        .accept_request("alice@demo", &got.message.message_id, Acceptance::default())
        .unwrap();
    assert_eq!(accept.action, Action::AcceptRequest);
    assert_eq!(state(&bob, "alice@demo"), ChannelState::Open);
    let got = deliver(&accept, &alice, &bob);
    assert_eq!(got.message.action, Action::AcceptRequest);
    assert_eq!(state(&alice, "bob@demo"), ChannelState::Open);
    assert_eq!(
        request(&alice, &out.message_id).state,
        RequestState::Accepted
    );
    assert_eq!(request(&bob, &out.message_id).state, RequestState::Accepted);
}

#[test]
fn funds_request_paid_rejected_and_cancelled() {
    let (_dir, alice, bob) = two();
    open(&alice, &bob);
    let ask = |memo: &str| {
        alice
            .wallet
            .request_funds(
                "bob@demo",
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
    // Paid.
    let r1 = ask("dinner_bill");
    let got = deliver(&r1, &bob, &alice);
    assert_eq!(got.message.data.amount.as_deref(), Some(".000852"));
    assert_eq!(request(&bob, &r1.message_id).state, RequestState::Pending);
    let paid = bob
        .wallet
        .accept_request(
            "alice@demo",
            &r1.message_id,
            Acceptance {
                memo: Some("paid".into()),
                ..Default::default()
            },
        )
        .unwrap();
    deliver(&paid, &alice, &bob);
    assert_eq!(request(&alice, &r1.message_id).state, RequestState::Paid);
    assert_eq!(request(&bob, &r1.message_id).state, RequestState::Paid);
    assert_eq!(
        request(&alice, &r1.message_id)
            .answer
            .unwrap()
            .memo
            .as_deref(),
        Some("paid")
    );
    // Rejected.
    let r2 = ask("too much");
    deliver(&r2, &bob, &alice);
    let no = bob
        .wallet
        .reject_request("alice@demo", &r2.message_id, Some("too expensive"))
        .unwrap();
    assert_eq!(no.action, Action::RejectRequest);
    deliver(&no, &alice, &bob);
    assert_eq!(
        request(&alice, &r2.message_id).state,
        RequestState::Rejected
    );
    // Cancelled by the payee: it leaves Bob's queue.
    let r3 = ask("by mistake");
    deliver(&r3, &bob, &alice);
    assert!(bob
        .wallet
        .queue()
        .unwrap()
        .iter()
        .any(|q| q.message.message_id == r3.message_id));
    let cancel = alice
        .wallet
        .cancel_request(
            "bob@demo",
            &r3.message_id,
            Some("Sorry, sent invoice by mistake."),
        )
        .unwrap();
    deliver(&cancel, &bob, &alice);
    assert_eq!(request(&bob, &r3.message_id).state, RequestState::Cancelled);
    assert!(!bob
        .wallet
        .queue()
        .unwrap()
        .iter()
        .any(|q| q.message.message_id == r3.message_id));
    // Settled requests cannot be settled again.
    assert!(matches!(
        bob.wallet
            .accept_request("alice@demo", &r3.message_id, Acceptance::default()),
        Err(WalletError::Request(_))
    ));
    assert!(matches!(
        alice
            .wallet
            .cancel_request("bob@demo", &r1.message_id, None),
        Err(WalletError::Request(_))
    ));
}

#[test]
fn public_address_request_by_hand_and_automatically() {
    let (_dir, alice, bob) = two();
    open(&alice, &bob);
    let ask = bob
        .wallet
        .request_public_address(
            "alice@demo",
            AddressRequest {
                chain_code: "ETH".into(),
                token_code: "ETH".into(),
                memo: Some("December Comissions".into()),
                amount: None,
            },
        )
        .unwrap();
    deliver(&ask, &alice, &bob);
    let release = alice
        .wallet
        .accept_request(
            "bob@demo",
            &ask.message_id,
            Acceptance {
                payee_public_address: Some("0xab5801a7d398351b8be11c439e05c5b3259aec9b".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let got = deliver(&release, &bob, &alice);
    assert_eq!(
        got.message.data.payee_public_address.as_deref(),
        Some("0xab5801a7d398351b8be11c439e05c5b3259aec9b")
    );
    assert_eq!(got.message.data.chain_code.as_deref(), Some("ETH"));
    assert_eq!(request(&bob, &ask.message_id).state, RequestState::Accepted);

    // Automatic release for a configured chain/token.
    let ask = auto_release_and_ask(&alice, &bob);
    let got = alice.wallet.receive(ask.envelope.as_bytes()).unwrap();
    let actions: Vec<Action> = got.replies.iter().map(|o| o.action).collect();
    assert_eq!(
        actions,
        vec![Action::ReturnMessageStatus, Action::AcceptRequest]
    );
    for reply in &got.replies {
        bob.wallet.receive(reply.envelope.as_bytes()).unwrap();
    }
    let req = request(&bob, &ask.message_id);
    assert_eq!(req.state, RequestState::Accepted);
    assert_eq!(
        req.answer.unwrap().payee_public_address.as_deref(),
        Some("bc1qalice")
    );
    // A request for an unconfigured chain waits for the user.
    let ask = bob
        .wallet
        .request_public_address(
            "alice@demo",
            AddressRequest {
                chain_code: "XMR".into(),
                token_code: "XMR".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let got = alice.wallet.receive(ask.envelope.as_bytes()).unwrap();
    assert_eq!(got.replies.len(), 1);
    assert!(got.queue_id.is_some());
}

#[test]
fn private_text_update_and_close() {
    let (_dir, alice, bob) = two();
    open(&alice, &bob);
    let text = alice
        .wallet
        .send_private_text("bob@demo", "Do you accept payments in Monero?", None)
        .unwrap();
    let got = deliver(&text, &bob, &alice);
    assert_eq!(got.message.action, Action::SendPrivateText);
    let answer = bob
        .wallet
        .send_private_text("alice@demo", "Yes", Some(&text.message_id))
        .unwrap();
    let got = deliver(&answer, &alice, &bob);
    assert_eq!(
        got.message.referenced_message_id.as_deref(),
        Some(text.message_id.as_str())
    );

    // Alice moves her inbox and rotates her token.
    let inbox = InboxLocation::parse("URL", "https://inbox.example.com/v1/inboxes/abc").unwrap();
    let update = alice
        .wallet
        .update_com_data("bob@demo", Some(inbox.clone()), true)
        .unwrap();
    // A message Bob wrote with the old token before he saw the update still arrives.
    let in_flight = bob
        .wallet
        .send_private_text("alice@demo", "sent before the update", None)
        .unwrap();
    deliver(&update, &bob, &alice);
    assert_eq!(
        bob.wallet
            .channel("alice@demo")
            .unwrap()
            .unwrap()
            .peer_inbox,
        Some(inbox.clone())
    );
    deliver(&in_flight, &alice, &bob);
    let after = bob
        .wallet
        .send_private_text("alice@demo", "sent after the update", None)
        .unwrap();
    assert_eq!(after.to.as_ref().map(|i| i.kind), Some(InboxKind::Url));
    assert!(!after.envelope.contains(
        &serde_json::from_str::<serde_json::Value>(&in_flight.envelope).unwrap()["id_token"]
            .as_str()
            .unwrap()
            .to_string()
    ));
    deliver(&after, &alice, &bob);
    // The previous token still works (until the next rotation).
    let late = bob
        .wallet
        .send_private_text("alice@demo", "late", None)
        .unwrap();
    let old_token = serde_json::from_str::<serde_json::Value>(&in_flight.envelope).unwrap()
        ["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let new_token = serde_json::from_str::<serde_json::Value>(&late.envelope).unwrap()["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(old_token, new_token);
    deliver(&late, &alice, &bob);

    // Bob closes; Alice closes too (automation) and both forget tokens.
    let close = bob
        .wallet
        .close_channel("alice@demo", Some("migrating wallets"))
        .unwrap();
    assert_eq!(state(&bob, "alice@demo"), ChannelState::Closed);
    let got = alice.wallet.receive(close.envelope.as_bytes()).unwrap();
    assert_eq!(got.message.action, Action::CloseComRequest);
    assert_eq!(
        state(&alice, "alice@demo".replace("alice", "bob").as_str()),
        ChannelState::Closed
    );
    assert!(matches!(
        alice
            .wallet
            .send_private_text("bob@demo", "still there?", None),
        Err(WalletError::Channel(_))
    ));
    // The old tokens no longer work.
    let (e, replies) = rejected(alice.wallet.receive(after.envelope.as_bytes()));
    assert_eq!(e.kind, fio_peer::protocol::ErrorKind::InvalidId);
    assert!(replies.is_empty());
    // The next contact is NEW again, and reopens the channel.
    let out = bob.wallet.open_channel("alice@demo", None).unwrap();
    assert!(out.envelope.contains("\"NEW\""));
    let got = deliver(&out, &alice, &bob);
    let accept = alice
        .wallet
        .accept_request("bob@demo", &got.message.message_id, Acceptance::default())
        .unwrap();
    deliver(&accept, &bob, &alice);
    assert_eq!(state(&alice, "bob@demo"), ChannelState::Open);
    assert_eq!(state(&bob, "alice@demo"), ChannelState::Open);
}

#[test]
fn rejecting_a_channel_request_closes_it() {
    let (_dir, alice, bob) = two();
    let out = alice.wallet.open_channel("bob@demo", None).unwrap();
    let got = deliver(&out, &bob, &alice);
    let no = bob
        .wallet
        .reject_request("alice@demo", &got.message.message_id, Some("no thanks"))
        .unwrap();
    assert_eq!(state(&bob, "alice@demo"), ChannelState::Closed);
    deliver(&no, &alice, &bob);
    assert_eq!(state(&alice, "bob@demo"), ChannelState::Closed);
    assert_eq!(
        request(&alice, &out.message_id).state,
        RequestState::Rejected
    );
}

#[test]
fn channels_are_accepted_automatically_by_policy() {
    let (dir, alice, bob) = two();
    let carol = party(&dir, "carol@demo");
    bob.wallet
        .set_automation(Automation {
            accept_channels: AcceptPolicy::AllowList(vec!["ALICE@demo".into()]),
            ..Default::default()
        })
        .unwrap();
    let out = alice.wallet.open_channel("bob@demo", None).unwrap();
    deliver(&out, &bob, &alice);
    assert_eq!(state(&alice, "bob@demo"), ChannelState::Open);
    let out = carol.wallet.open_channel("bob@demo", None).unwrap();
    deliver(&out, &bob, &carol);
    assert_eq!(state(&carol, "bob@demo"), ChannelState::Requested);
    bob.wallet
        .set_automation(Automation {
            accept_channels: AcceptPolicy::Always,
            ..Default::default()
        })
        .unwrap();
    let dave = party(&dir, "dave@demo");
    let out = dave.wallet.open_channel("bob@demo", None).unwrap();
    deliver(&out, &bob, &dave);
    assert_eq!(state(&dave, "bob@demo"), ChannelState::Open);
}

#[test]
fn both_sides_asking_at_once_ends_open() {
    let (_dir, alice, bob) = two();
    let a = alice.wallet.open_channel("bob@demo", None).unwrap();
    let b = bob.wallet.open_channel("alice@demo", None).unwrap();
    let got_b = deliver(&a, &bob, &alice);
    let got_a = deliver(&b, &alice, &bob);
    let ok_a = alice
        .wallet
        .accept_request("bob@demo", &got_a.message.message_id, Acceptance::default())
        .unwrap();
    let ok_b = bob
        .wallet
        .accept_request(
            "alice@demo",
            &got_b.message.message_id,
            Acceptance::default(),
        )
        .unwrap();
    deliver(&ok_a, &bob, &alice);
    deliver(&ok_b, &alice, &bob);
    assert_eq!(state(&alice, "bob@demo"), ChannelState::Open);
    assert_eq!(state(&bob, "alice@demo"), ChannelState::Open);
    let t = alice
        .wallet
        .send_private_text("bob@demo", "hi", None)
        .unwrap();
    deliver(&t, &bob, &alice);
}

#[test]
fn update_data_alias_is_accepted() {
    assert_eq!(
        Action::parse("peer_update_data_request").unwrap(),
        Action::UpdateComDataRequest
    );
}

/// A directory whose lookups wait until the test lets them go.
struct SlowDirectory {
    inner: std::sync::Arc<MapDirectory>,
    gate: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl KeyDirectory for SlowDirectory {
    fn public_key(
        &self,
        address: &fio_peer::protocol::FioAddress,
    ) -> Result<fio_peer::crypto::PublicKey, DirectoryError> {
        self.gate.lock().unwrap().recv().unwrap();
        self.inner.public_key(address)
    }
}

#[test]
fn the_wallet_stays_usable_while_a_channel_request_looks_its_peer_up() {
    let (dir, _alice, bob) = two();
    let (release, gate) = std::sync::mpsc::channel();
    let slow: std::sync::Arc<dyn KeyDirectory> = std::sync::Arc::new(SlowDirectory {
        inner: dir,
        gate: std::sync::Mutex::new(gate),
    });
    let key = fio_peer::crypto::PrivateKey::generate();
    let carol = std::sync::Arc::new(Wallet::open_in_memory(key, "carol@demo", slow).unwrap());
    let opening = {
        let carol = carol.clone();
        std::thread::spawn(move || carol.open_channel(&bob.address, None))
    };
    // The lookup is waiting; the wallet answers other calls meanwhile (on
    // a thread of their own, so a wallet that waited would fail, not hang).
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(!opening.is_finished());
    let (answered, answers) = std::sync::mpsc::channel();
    {
        let carol = carol.clone();
        std::thread::spawn(move || {
            let empty = carol.queue().unwrap().is_empty() && carol.channels().unwrap().is_empty();
            answered.send(empty).unwrap();
        });
    }
    let answer = answers.recv_timeout(std::time::Duration::from_secs(5));
    assert_eq!(answer, Ok(true));
    release.send(()).unwrap();
    let sent = opening.join().unwrap().unwrap();
    assert_eq!(sent.action, Action::NewComRequest);
}
