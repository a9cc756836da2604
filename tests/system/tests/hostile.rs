//! Hostile peers and relays (issue 17), one test per finding of the
//! security review, through two wallets over HTTP: what someone who can
//! post to an inbox (anyone) or who runs a relay can make a wallet do.

mod support;

use fio_peer::crypto::PrivateKey;
use fio_peer::protocol::{Envelope, IdToken};
use fio_peer::wallet::*;
use support::*;

fn peer_status(p: &Party, peer: &str, message_id: &str) -> Option<String> {
    p.wallet
        .history(peer)
        .unwrap()
        .into_iter()
        .find(|m| m.message_id == message_id)
        .unwrap()
        .peer_status
}

fn inbox_url(p: &Party) -> String {
    p.wallet.own_inbox().unwrap().unwrap().inbox_url.clone()
}

/// Finding 3: a replayed accept was refused as "not pending", answered,
/// and the answer overwrote the sender's recorded success.
#[test]
fn a_replayed_accept_is_dropped_unanswered_and_the_success_stays() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    open_channel(&alice, &bob);
    let invoice = alice
        .wallet
        .request_funds(
            "bob@devnet",
            FundsRequest {
                payee_public_address: "bc1qalice".into(),
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                amount: "0.1".into(),
                ..Default::default()
            },
        )
        .unwrap();
    settle(&[&alice, &bob], 10);
    let accept = bob
        .wallet
        .accept_request("alice@devnet", &invoice.message_id, Acceptance::default())
        .unwrap();
    settle(&[&alice, &bob], 10);
    let status = || peer_status(&bob, "alice@devnet", &accept.message_id);
    assert_eq!(status().as_deref(), Some("success"));

    // Anyone who saw the envelope posts it to Alice's inbox again.
    assert_eq!(post_envelope(&inbox_url(&alice), &accept.envelope), 202);
    let r = alice.sync();
    // Counted as what it is: a copy of a message already received.
    assert_eq!((r.fetched, r.duplicates), (1, 1), "{r:?}");
    assert_eq!(r.delivered, 0, "the replay was answered: {r:?}");
    bob.sync();
    assert_eq!(status().as_deref(), Some("success"));
}

/// Finding 4: our own content reposted to us under our token passes the
/// MAC (one key both ways); its signature is ours, not the peer's, and it
/// was answered with a signed status.
#[test]
fn a_reflection_of_our_own_message_is_not_answered() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    open_channel(&alice, &bob);
    let ours = alice
        .wallet
        .send_private_text("bob@devnet", "hello", None)
        .unwrap();
    let theirs = bob
        .wallet
        .send_private_text("alice@devnet", "hi", None)
        .unwrap();
    settle(&[&alice, &bob], 10);
    // Alice's content, under the token Bob writes to her with.
    let alice_token = Envelope::parse(theirs.envelope.as_bytes())
        .unwrap()
        .id_token;
    assert!(matches!(alice_token, IdToken::Token(_)));
    let mut reflected = Envelope::parse(ours.envelope.as_bytes()).unwrap();
    reflected.id_token = alice_token;
    assert_eq!(post_envelope(&inbox_url(&alice), &reflected.to_json()), 202);
    let r = alice.sync();
    assert_eq!((r.fetched, r.rejected), (1, 1), "{r:?}");
    assert_eq!(r.delivered, 0, "the reflection was answered: {r:?}");
    assert!(alice.wallet.outbox().unwrap().is_empty());
}

/// Finding 5: after an inbox move the current inbox was fetched before the
/// old one, so a request in the old inbox and its cancel in the new one
/// arrived in the wrong order: the cancel was refused (and acked away), the
/// request stayed pending for us while the peer had it cancelled.
#[test]
fn after_an_inbox_move_a_peers_messages_arrive_in_its_order() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    open_channel(&alice, &bob);
    // Alice moves her inbox to the other relay and tells Bob...
    alice
        .engine
        .replace_inbox_blocking(Some(world.relays[1].url()))
        .unwrap();
    // ...who asks her for funds before he has read that (to the old
    // inbox), then reads it and cancels (to the new one).
    let request = bob
        .wallet
        .request_funds(
            "alice@devnet",
            FundsRequest {
                payee_public_address: "bc1qbob".into(),
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                amount: "1".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(bob.engine.deliver_blocking().delivered, 1);
    assert_eq!(bob.engine.fetch_blocking_result().unwrap().received, 1);
    bob.wallet
        .cancel_request("alice@devnet", &request.message_id, None)
        .unwrap();
    // The cancel, and his status reply to her update.
    assert_eq!(bob.engine.deliver_blocking().delivered, 2);

    let r = alice.sync();
    assert_eq!((r.received, r.rejected), (3, 0), "{r:?}");
    let state = alice
        .wallet
        .requests(Some("bob@devnet"))
        .unwrap()
        .into_iter()
        .find(|q| q.message_id == request.message_id)
        .unwrap()
        .state;
    assert_eq!(state, RequestState::Cancelled);
    // Nothing about it waits for Alice.
    assert!(alice
        .wallet
        .queue()
        .unwrap()
        .iter()
        .all(|q| q.message.message_id != request.message_id
            && q.message.referenced_message_id.as_deref() != Some(&request.message_id)));
}
