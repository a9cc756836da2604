//! Replay, reflection, forwarding, tampering, truncation, wrong keys,
//! persistence across reopen, idempotent automation, schema migrations, and
//! hostile input that must never panic.

mod common;

use std::sync::Arc;

use common::*;
use fio_peer::crypto::{check_encrypt, PrivateKey};
use fio_peer::protocol::{open_new, Action, Envelope, ErrorKind, IdToken};
use fio_peer::store;
use fio_peer::wallet::*;
use proptest::prelude::*;

fn funds(alice: &Party) -> Outgoing {
    alice
        .wallet
        .request_funds(
            "bob@demo",
            FundsRequest {
                payee_public_address: "bc1qxyz".into(),
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                amount: "2".into(),
                ..Default::default()
            },
        )
        .unwrap()
}

#[test]
fn a_replayed_envelope_is_rejected_unanswered_and_changes_nothing() {
    let (_d, alice, bob) = two();
    open(&alice, &bob);
    let out = funds(&alice);
    bob.wallet.receive(out.envelope.as_bytes()).unwrap();
    let before = (
        bob.wallet.history("alice@demo").unwrap().len(),
        bob.wallet.queue().unwrap().len(),
        bob.wallet.requests(None).unwrap().len(),
    );
    let (e, replies) = rejected(bob.wallet.receive(out.envelope.as_bytes()));
    assert_eq!(e.kind, ErrorKind::InvalidMessageId);
    assert!(replies.is_empty());
    let after = (
        bob.wallet.history("alice@demo").unwrap().len(),
        bob.wallet.queue().unwrap().len(),
        bob.wallet.requests(None).unwrap().len(),
    );
    assert_eq!(before, after);
    // A replayed first message is refused too, even after the channel closed.
    let (_d, alice, bob) = two();
    let first = alice.wallet.open_channel("bob@demo", None).unwrap();
    let got = bob.wallet.receive(first.envelope.as_bytes()).unwrap();
    bob.wallet
        .reject_request("alice@demo", &got.message.message_id, None)
        .unwrap();
    let (e, _) = rejected(bob.wallet.receive(first.envelope.as_bytes()));
    assert_eq!(e.kind, ErrorKind::InvalidMessageId);
    assert_eq!(
        bob.wallet.channel("alice@demo").unwrap().unwrap().state,
        ChannelState::Closed
    );
}

#[test]
fn reflection_and_forwarding_fail() {
    let (dir, alice, bob) = two();
    let carol = party(&dir, "carol@demo");
    open(&alice, &bob);
    open(&alice, &carol);
    let out = funds(&alice);
    // Alice's own envelope bounced back to Alice: her token for Bob is not one she issued.
    let (e, replies) = rejected(alice.wallet.receive(out.envelope.as_bytes()));
    assert_eq!(e.kind, ErrorKind::InvalidId);
    assert!(replies.is_empty());
    // Bob forwards Alice's signed data to Carol in a first message of his own.
    let got = bob.wallet.receive(out.envelope.as_bytes()).unwrap();
    let forwarded = craft(
        None,
        &bob.key,
        &bob.key,
        carol.key.public_key(),
        &got.message.data_text.replace(
            "\"recipient_fio_address\":\"bob@demo\"",
            "\"recipient_fio_address\":\"carol@demo\"",
        ),
    );
    let (e, _) = rejected(carol.wallet.receive(forwarded.as_bytes()));
    assert_eq!(e.kind, ErrorKind::NotOwner);
    // Bob re-seals Alice's exact data and signature on his channel with Carol:
    // the signature is bound to Bob's key as recipient, so it fails for Carol.
    let sig = fio_peer::crypto::Signature::parse(&got.message.signature).unwrap();
    assert!(!fio_peer::protocol::verify_data(
        alice.key.public_key(),
        carol.key.public_key(),
        &got.message.data_text,
        &sig
    ));
}

#[test]
fn tampering_truncation_and_wrong_keys_fail_uniformly() {
    let (dir, alice, bob) = two();
    open(&alice, &bob);
    let out = funds(&alice);
    let env = Envelope::parse(out.envelope.as_bytes()).unwrap();
    // Every single-byte change of the content.
    for i in 0..env.content.len() {
        let mut c = env.content.clone();
        c[i] ^= 0x01;
        let body = Envelope {
            id_token: env.id_token.clone(),
            content: c,
        }
        .to_json();
        let (e, replies) = rejected(bob.wallet.receive(body.as_bytes()));
        assert_eq!(e.kind, ErrorKind::DecryptionFailure, "byte {i}");
        assert!(replies.is_empty());
    }
    // Every truncation.
    for len in 0..env.content.len() {
        let body = Envelope {
            id_token: env.id_token.clone(),
            content: env.content[..len].to_vec(),
        }
        .to_json();
        assert_eq!(
            rejected(bob.wallet.receive(body.as_bytes())).0.kind,
            ErrorKind::DecryptionFailure
        );
    }
    // The right token but sealed under another key (Mallory learned the token).
    let mallory = PrivateKey::generate();
    let data = r#"{"action":"peer_send_private_text","message_id":"1","sender_fio_address":"alice@demo","recipient_fio_address":"bob@demo","memo":"x"}"#;
    let token = token_of(&out.envelope);
    let forged = craft(Some(&token), &mallory, &mallory, bob.key.public_key(), data);
    assert_eq!(
        rejected(bob.wallet.receive(forged.as_bytes())).0.kind,
        ErrorKind::DecryptionFailure
    );
    // A first message for Bob delivered to Carol.
    let carol = party(&dir, "carol@demo");
    let first = carol.wallet.open_channel("bob@demo", None).unwrap();
    assert_eq!(
        rejected(alice.wallet.receive(first.envelope.as_bytes()))
            .0
            .kind,
        ErrorKind::DecryptionFailure
    );
    // Flipping R's parity (R ↔ −R, same x) breaks the MAC because R is bound.
    let mut env = Envelope::parse(first.envelope.as_bytes()).unwrap();
    env.content[0] ^= 0x01;
    assert!(open_new(&bob.key, &env.content).is_err());
    // An on-chain FIO content ciphertext between the same keys is not a fio_dm message.
    let chain = check_encrypt(
        alice.key.shared_secret(bob.key.public_key()).as_bytes(),
        b"{\"data\":\"x\",\"signature\":\"y\"}",
    );
    let body = Envelope {
        id_token: IdToken::Token(token),
        content: chain,
    }
    .to_json();
    assert_eq!(
        rejected(bob.wallet.receive(body.as_bytes())).0.kind,
        ErrorKind::DecryptionFailure
    );
}

#[test]
fn automation_is_idempotent() {
    let (_d, alice, bob) = two();
    open(&alice, &bob);
    let ask = auto_release_and_ask(&alice, &bob);
    let first = alice.wallet.receive(ask.envelope.as_bytes()).unwrap();
    assert_eq!(first.replies.len(), 2);
    for _ in 0..3 {
        let (_, replies) = rejected(alice.wallet.receive(ask.envelope.as_bytes()));
        assert!(replies.is_empty());
    }
    let accepts = alice
        .wallet
        .history("bob@demo")
        .unwrap()
        .into_iter()
        .filter(|m| m.action == Action::AcceptRequest && m.direction == Direction::Outgoing)
        .count();
    assert_eq!(
        accepts, 1,
        "exactly one automatic release, however often the request is replayed"
    );
}

#[test]
fn reopening_the_database_restores_everything() {
    let dir_path = tempfile::tempdir().unwrap();
    let dir = Arc::new(MapDirectory::default());
    let alice = party(&dir, "alice@demo");
    let bob_key = PrivateKey::generate();
    dir.register("bob@demo", bob_key.public_key());
    let bob_path = dir_path.path().join("bob.sqlite");
    let bob_wallet = Wallet::open(&bob_path, bob_key.clone(), "bob@demo", dir.clone()).unwrap();
    bob_wallet
        .set_automation(Automation {
            accept_channels: AcceptPolicy::Always,
            ..Default::default()
        })
        .unwrap();
    let bob = Party {
        wallet: bob_wallet,
        key: bob_key.clone(),
        address: "bob@demo".into(),
    };
    let out = alice.wallet.open_channel("bob@demo", None).unwrap();
    deliver(&out, &bob, &alice);
    let r = funds(&alice);
    deliver(&r, &bob, &alice);
    let snapshot = |w: &Wallet| {
        (
            w.channels().unwrap(),
            w.history("alice@demo").unwrap(),
            w.requests(None).unwrap(),
            w.queue().unwrap(),
            w.automation().unwrap(),
        )
    };
    let before = snapshot(&bob.wallet);
    drop(bob);
    let reopened = Wallet::open(&bob_path, bob_key.clone(), "bob@demo", dir.clone()).unwrap();
    assert_eq!(snapshot(&reopened), before);
    // The conversation goes on after the reopen (channel keys re-derived).
    let bob = Party {
        wallet: reopened,
        key: bob_key.clone(),
        address: "bob@demo".into(),
    };
    let paid = bob
        .wallet
        .accept_request("alice@demo", &r.message_id, Acceptance::default())
        .unwrap();
    deliver(&paid, &alice, &bob);
    assert_eq!(
        alice
            .wallet
            .requests(None)
            .unwrap()
            .iter()
            .find(|x| x.message_id == r.message_id)
            .unwrap()
            .state,
        RequestState::Paid
    );
    drop(bob);
    // Another key does not open the file (its derived database key is
    // another); another address is refused.
    assert!(matches!(
        Wallet::open(&bob_path, PrivateKey::generate(), "bob@demo", dir.clone()),
        Err(WalletError::Store(store::StoreError::WrongKey))
    ));
    assert!(matches!(
        Wallet::open(&bob_path, bob_key, "carol@demo", dir),
        Err(WalletError::WrongIdentity(_))
    ));
}

#[test]
fn an_upgraded_schema_equals_a_fresh_one_and_newer_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let old = rusqlite::Connection::open(tmp.path().join("old.sqlite")).unwrap();
    for version in 1..=store::SCHEMA_VERSION {
        store::migrate(&old, version).unwrap();
        assert_eq!(store::schema_version(&old).unwrap(), version);
    }
    let key = store::DatabaseKey::from_bytes([7; 32]);
    let fresh = store::open(&tmp.path().join("fresh.sqlite"), &key).unwrap();
    assert_eq!(
        store::schema_dump(&old).unwrap(),
        store::schema_dump(&fresh).unwrap()
    );
    assert_eq!(
        fresh
            .pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0))
            .unwrap(),
        "wal"
    );
    assert_eq!(
        fresh
            .pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0))
            .unwrap(),
        2,
        "FULL"
    );
    assert_eq!(
        fresh
            .pragma_query_value(None, "foreign_keys", |r| r.get::<_, i64>(0))
            .unwrap(),
        1
    );
    fresh
        .pragma_update(None, "user_version", store::SCHEMA_VERSION + 1)
        .unwrap();
    drop(fresh);
    assert!(matches!(
        store::open(&tmp.path().join("fresh.sqlite"), &key),
        Err(store::StoreError::NewerSchema { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let (_d, alice, bob) = two();
        let _ = bob.wallet.receive(&bytes);
        let _ = alice.wallet.receive(&bytes);
    }

    #[test]
    fn random_envelopes_and_data_never_panic(
        token in prop_oneof![Just("NEW".to_string()), "[a-f0-9]{8,40}", ".{0,10}"],
        content in "[0-9a-fA-F]{0,300}",
        data in prop_oneof![
            ".{0,200}",
            r#"\{"action":"peer_[a-z_]{3,30}","message_id":".{0,5}","sender_fio_address":"[a-z@]{0,12}","recipient_fio_address":"bob@demo"(,"[a-z_]{2,22}":"[^"\\]{0,12}"){0,6}\}"#,
        ],
    ) {
        let (_d, alice, bob) = two();
        open(&alice, &bob);
        let body = format!(r#"{{"protocol":"fio_dm","version":"1.0","id_token":"{token}","content":"{content}"}}"#);
        let _ = bob.wallet.receive(body.as_bytes());
        // Properly sealed and signed, but arbitrary data, on the real channel and as NEW.
        let probe = alice.wallet.send_private_text("bob@demo", "p", None).unwrap();
        let t = token_of(&probe.envelope);
        let _ = bob.wallet.receive(craft(Some(&t), &alice.key, &alice.key, bob.key.public_key(), &data).as_bytes());
        let _ = bob.wallet.receive(craft(None, &alice.key, &alice.key, bob.key.public_key(), &data).as_bytes());
    }
}

#[test]
fn a_batch_keeps_the_good_envelopes_and_rejects_the_bad() {
    let (_d, alice, bob) = two();
    open(&alice, &bob);
    let first = funds(&alice);
    let second = alice
        .wallet
        .send_private_text("bob@demo", "second", None)
        .unwrap();
    let bodies: Vec<&[u8]> = vec![
        first.envelope.as_bytes(),
        first.envelope.as_bytes(),
        b"not json",
        second.envelope.as_bytes(),
    ];
    let results = bob.wallet.receive_batch(&bodies).unwrap();
    assert!(results[0].is_ok());
    assert!(
        matches!(&results[1], Err(WalletError::Rejected { error, replies }) if error.kind == ErrorKind::InvalidMessageId && replies.is_empty())
    );
    assert!(
        matches!(&results[2], Err(WalletError::Rejected { error, .. }) if error.kind == ErrorKind::MalformedMessage)
    );
    assert!(results[3].is_ok());
    let received: Vec<String> = bob
        .wallet
        .history("alice@demo")
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Incoming)
        .map(|m| m.message_id)
        .collect();
    assert!(received.contains(&first.message_id) && received.contains(&second.message_id));
    assert_eq!(
        received
            .iter()
            .filter(|id| **id == first.message_id)
            .count(),
        1
    );
    // Automations with a malformed released address are refused up front.
    let bad = Automation {
        release_addresses: vec![ReleasedAddress {
            chain_code: "BTC%".into(),
            token_code: "BTC".into(),
            public_address: "x".into(),
        }],
        ..Default::default()
    };
    assert!(matches!(
        bob.wallet.set_automation(bad),
        Err(WalletError::InvalidInput(_))
    ));
}

#[test]
fn a_plaintext_wallet_of_todays_schema_is_encrypted_with_every_message() {
    // Bob's conversation, then his file turned back into plaintext SQLite
    // (what a build from before encryption left), opened again.
    let tmp = tempfile::tempdir().unwrap();
    let dir = Arc::new(MapDirectory::default());
    let alice = party(&dir, "alice@demo");
    let bob_key = PrivateKey::generate();
    dir.register("bob@demo", bob_key.public_key());
    let path = tmp.path().join("bob.sqlite");
    let bob = Party {
        wallet: Wallet::open(&path, bob_key.clone(), "bob@demo", dir.clone()).unwrap(),
        key: bob_key.clone(),
        address: "bob@demo".into(),
    };
    open(&alice, &bob);
    for i in 0..20 {
        let out = alice
            .wallet
            .request_funds(
                "bob@demo",
                FundsRequest {
                    payee_public_address: format!("bc1qplaintext{i}"),
                    chain_code: "BTC".into(),
                    token_code: "BTC".into(),
                    amount: format!("0.{i:03}"),
                    memo: Some(format!("plaintext memo {i}")),
                    ..Default::default()
                },
            )
            .unwrap();
        deliver(&out, &bob, &alice);
    }
    let before = (
        bob.wallet.history("alice@demo").unwrap(),
        bob.wallet.requests(None).unwrap().len(),
        bob.wallet.queue().unwrap().len(),
    );
    assert!(before.0.len() >= 22);
    drop(bob);
    let plain = tmp.path().join("plain.sqlite");
    store::encryption::export_unencrypted(&path, &store::DatabaseKey::derive(&bob_key), &plain)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::rename(&plain, &path).unwrap();
    assert!(store::encryption::is_plaintext(&path).unwrap());
    assert!(std::fs::read(&path)
        .unwrap()
        .windows(15)
        .any(|w| w == b"plaintext memo "));

    let bob = Wallet::open(&path, bob_key, "bob@demo", dir).unwrap();
    assert!(!store::encryption::is_plaintext(&path).unwrap());
    assert_eq!(bob.history("alice@demo").unwrap(), before.0);
    assert_eq!(bob.requests(None).unwrap().len(), before.1);
    assert_eq!(bob.queue().unwrap().len(), before.2);
    drop(bob);
    for side in ["", "-wal"] {
        let file = format!("{}{side}", path.display());
        if let Ok(data) = std::fs::read(&file) {
            assert!(!data.windows(15).any(|w| w == b"plaintext memo "), "{file}");
        }
    }
}

#[test]
fn debug_output_of_messages_and_queue_items_holds_no_channel_token() {
    let (_dir, alice, bob) = two();
    open(&alice, &bob);
    let history = alice.wallet.history("bob@demo").unwrap();
    let tokens: Vec<String> = history
        .iter()
        .filter_map(|m| m.data.return_id_token.clone())
        .collect();
    // The channel request and its acceptance each carry one.
    assert_eq!(tokens.len(), 2, "{}", history.len());
    let printed = format!(
        "{history:?} {:?} {:?}",
        bob.wallet.history("alice@demo").unwrap(),
        bob.wallet.queue().unwrap()
    );
    assert!(printed.contains("return_id_token: Some(\"…\")"));
    for token in &tokens {
        assert!(
            !printed.contains(token.as_str()),
            "a channel token in Debug"
        );
    }
}
