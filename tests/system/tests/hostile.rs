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
