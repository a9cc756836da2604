//! Hostile peers and relays (issue 17), one test per finding of the
//! security review, through two wallets over HTTP: what someone who can
//! post to an inbox (anyone) or who runs a relay can make a wallet do.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fio_peer::chain::ChainClient;
use fio_peer::crypto::{PrivateKey, PublicKey};
use fio_peer::protocol::{
    build_plaintext, generate_message_id, generate_token, seal_new, sign_data, Action, Envelope,
    FioAddress, IdToken, InboxLocation, MessageData,
};
use fio_peer::sync::{SyncConfig, SyncEngine};
use fio_peer::wallet::*;
use support::*;

/// A server on loopback that counts the connections it gets and answers
/// each with 503: what a stranger's return address into the LAN would be.
struct Listener {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Listener {
    fn start() -> Listener {
        use std::io::{Read, Write};
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for stream in server.incoming() {
                let Ok(mut stream) = stream else { return };
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let _ = stream.read(&mut [0u8; 8192]);
                let _ = stream.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Listener { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Mallory, a stranger with a FIO address, asks Bob for a channel with
/// `return_address` as the address to answer to. `registered`: whether
/// her own inbox is registered on chain (FIB/URL).
fn stranger_asks(
    world: &World,
    km: &PrivateKey,
    bob: &Party,
    return_address: &str,
    registered: bool,
) -> String {
    let mallory = world.party("mallory", km, 0);
    if registered {
        mallory.sync();
    }
    mallory
        .wallet
        .set_inbox(Some(InboxLocation::parse("URL", return_address).unwrap()))
        .unwrap();
    let hello = mallory.wallet.open_channel(&bob.address, None).unwrap();
    assert_eq!(mallory.engine.deliver_blocking().delivered, 1);
    hello.message_id
}

fn only_delivery(p: &Party) -> OutboxItem {
    let outbox = p.wallet.outbox().unwrap();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    outbox.into_iter().next().unwrap()
}

/// Delivers until `p`'s only outbox item is failed (at most `rounds`).
fn deliver_until_failed(engine: &SyncEngine, p: &Party, rounds: usize) -> OutboxItem {
    for _ in 0..rounds {
        engine.deliver_blocking();
        let item = only_delivery(p);
        if item.state == OutboxState::Failed {
            return item;
        }
        std::thread::sleep(Duration::from_millis(120));
    }
    panic!("still not failed: {:?}", only_delivery(p));
}

/// Finding 1: a stranger's first contact made the wallet send a signed
/// status to whatever return address it named, with no user action.
#[test]
fn a_strangers_request_is_not_answered_before_it_is_accepted() {
    let (km, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("mallory", &km), ("bob", &kb)]);
    let bob = world.party("bob", &kb, 1);
    bob.sync();
    let lan = Listener::start();
    let hello = stranger_asks(
        &world,
        &km,
        &bob,
        &format!("http://127.0.0.1:{}/v1/inboxes/x/messages", lan.port),
        true,
    );
    for _ in 0..3 {
        let r = bob.sync();
        assert_eq!(r.delivered + r.retrying + r.failed, 0, "{r:?}");
    }
    assert_eq!(bob.wallet.queue().unwrap().len(), 1);
    assert!(bob.wallet.outbox().unwrap().is_empty());
    assert_eq!(lan.connections(), 0, "the wallet posted to the stranger");
    // Once Bob accepts (this test allows loopback destinations), his
    // accept goes to the return address.
    bob.wallet
        .accept_request("mallory@devnet", &hello, Acceptance::default())
        .unwrap();
    bob.engine.deliver_blocking();
    assert_eq!(lan.connections(), 1);
}

/// Finding 1: a return address into the LAN was posted to; by default a
/// destination must be https on a public address, checked on the URL and
/// again on every address its name resolves to.
#[test]
fn deliveries_never_go_to_http_or_to_a_private_address_by_default() {
    let (km, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("mallory", &km), ("bob", &kb)]);
    let bob = world.party_with(
        "bob",
        &kb,
        1,
        SyncConfig {
            allow_insecure_destinations: false,
            ..World::sync_config(&world.relays[1].url())
        },
    );
    bob.sync();
    let lan = Listener::start();
    // https, but "localhost" resolves to loopback.
    let hello = stranger_asks(
        &world,
        &km,
        &bob,
        &format!("https://localhost:{}/v1/inboxes/x/messages", lan.port),
        true,
    );
    assert_eq!(bob.sync().received, 1);
    bob.wallet
        .accept_request("mallory@devnet", &hello, Acceptance::default())
        .unwrap();
    bob.engine.deliver_blocking();
    let first = only_delivery(&bob);
    let error = first.last_error.clone().unwrap_or_default();
    assert!(error.contains("not a public address"), "{first:?}");
    // Then the chain's FIB/URL, Mallory's relay on http: refused for good.
    let failed = deliver_until_failed(&bob.engine, &bob, 20);
    let error = failed.last_error.unwrap_or_default();
    assert!(error.contains("is not https"), "{error}");
    assert_eq!(lan.connections(), 0, "the wallet posted into the LAN");
}

/// Finding 1: a delivery that kept failing was retried without a cap; it
/// now gives up after its attempts or its age and becomes failed, which
/// the user may retry.
#[test]
fn a_delivery_gives_up_after_its_attempts_or_its_age() {
    let (km, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("mallory", &km), ("bob", &kb)]);
    let bob = world.party_with(
        "bob",
        &kb,
        1,
        SyncConfig {
            max_delivery_attempts: 3,
            ..World::sync_config(&world.relays[1].url())
        },
    );
    bob.sync();
    let down = Listener::start();
    let hello = stranger_asks(
        &world,
        &km,
        &bob,
        &format!("http://127.0.0.1:{}/v1/inboxes/x/messages", down.port),
        false,
    );
    bob.sync();
    bob.wallet
        .accept_request("mallory@devnet", &hello, Acceptance::default())
        .unwrap();
    let failed = deliver_until_failed(&bob.engine, &bob, 40);
    assert_eq!(failed.attempts, 3);
    let error = failed.last_error.unwrap_or_default();
    assert!(error.starts_with("gave up after 3 attempts"), "{error}");
    assert_eq!(down.connections(), 3);
    // Put back by the user, it counts afresh (and asks the chain, where
    // Mallory has no inbox); an engine whose deliveries may not be older
    // than 0 s gives up at its first failure.
    bob.wallet.retry_delivery(failed.row).unwrap();
    let again = only_delivery(&bob);
    assert_eq!((again.state, again.attempts), (OutboxState::Pending, 0));
    let impatient = SyncEngine::new(
        bob.wallet.clone(),
        world.chain(),
        SyncConfig {
            max_delivery_age: Duration::ZERO,
            ..World::sync_config(&world.relays[1].url())
        },
    )
    .unwrap();
    let failed = deliver_until_failed(&impatient, &bob, 1);
    assert_eq!(failed.attempts, 1);
    let error = failed.last_error.unwrap_or_default();
    assert!(
        error.contains("has no inbox registered on chain"),
        "{error}"
    );
}

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

/// Alice and Bob, each on a relay of their own, with an open channel (the
/// keys too, for tests that sign or seal as one of them).
fn an_open_channel() -> (World, PrivateKey, PrivateKey, Party, Party) {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    open_channel(&alice, &bob);
    (world, ka, kb, alice, bob)
}

/// A funds request for `amount` BTC paid to `payee`.
fn btc(payee: &str, amount: &str) -> FundsRequest {
    FundsRequest {
        payee_public_address: payee.into(),
        chain_code: "BTC".into(),
        token_code: "BTC".into(),
        amount: amount.into(),
        ..Default::default()
    }
}

/// Finding 3: a replayed accept was refused as "not pending", answered,
/// and the answer overwrote the sender's recorded success.
#[test]
fn a_replayed_accept_is_dropped_unanswered_and_the_success_stays() {
    let (_world, _, _, alice, bob) = an_open_channel();
    let invoice = alice
        .wallet
        .request_funds("bob@devnet", btc("bc1qalice", "0.1"))
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
    let (_world, _, _, alice, bob) = an_open_channel();
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
    let (world, _, _, alice, bob) = an_open_channel();
    // Alice moves her inbox to the other relay and tells Bob...
    alice
        .engine
        .replace_inbox_blocking(Some(world.relays[1].url()))
        .unwrap();
    // ...who asks her for funds before he has read that (to the old
    // inbox), then reads it and cancels (to the new one).
    let request = bob
        .wallet
        .request_funds("alice@devnet", btc("bc1qbob", "1"))
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

/// The chain, counting the key lookups the wallet makes.
struct Counted {
    chain: ChainClient,
    lookups: AtomicUsize,
}

impl KeyDirectory for Counted {
    fn public_key(&self, address: &FioAddress) -> Result<PublicKey, DirectoryError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        KeyDirectory::public_key(&self.chain, address)
    }

    fn inbox(&self, address: &FioAddress) -> Result<Option<InboxLocation>, DirectoryError> {
        KeyDirectory::inbox(&self.chain, address)
    }
}

/// A first contact to `to` that claims to come from `sender` (which the
/// chain does not know): all it takes is the recipient's public key.
fn first_contact(to: &PublicKey, sender: &str) -> String {
    let data = MessageData {
        action: Action::NewComRequest.name().into(),
        message_id: generate_message_id(),
        sender_fio_address: sender.into(),
        recipient_fio_address: "bob@devnet".into(),
        return_id_token: Some(generate_token()),
        ..Default::default()
    };
    let text = data.to_json();
    let signature = sign_data(&PrivateKey::generate(), to, &text);
    let plaintext = build_plaintext(&text, &signature).unwrap();
    Envelope {
        id_token: IdToken::New,
        content: seal_new(to, &plaintext),
    }
    .to_json()
}

/// Finding 2: every stranger's first contact cost a chain lookup of the
/// name it claims. A batch costs at most 8, and a name the chain does not
/// know is not asked for again.
#[test]
fn strangers_first_contacts_cost_bounded_lookups() {
    let kb = PrivateKey::generate();
    let world = World::new(&[("bob", &kb)]);
    let counted = Arc::new(Counted {
        chain: world.chain(),
        lookups: AtomicUsize::new(0),
    });
    let directory: Arc<dyn KeyDirectory> = counted.clone();
    let wallet = Arc::new(
        Wallet::open(
            world.dir.path().join("bob.sqlite"),
            kb.clone(),
            "bob@devnet",
            directory,
        )
        .unwrap(),
    );
    let bob = SyncEngine::new(
        wallet.clone(),
        world.chain(),
        World::sync_config(&world.relays[0].url()),
    )
    .unwrap();
    let sync = || bob.sync_blocking(None, Default::default()).unwrap();
    sync();
    let inbox = wallet.own_inbox().unwrap().unwrap().inbox_url.clone();
    let lookups = || counted.lookups.load(Ordering::SeqCst);
    let post = |sender: &str| {
        assert_eq!(
            post_envelope(&inbox, &first_contact(kb.public_key(), sender)),
            202
        )
    };

    // One unknown name: one lookup, refused.
    post("random0@devnet");
    let r = sync();
    assert_eq!((r.rejected, lookups()), (1, 1), "{r:?}");
    // Twenty more under that name, in a later sync: none is looked up.
    for _ in 0..20 {
        post("random0@devnet");
    }
    let r = sync();
    assert_eq!((r.rejected, lookups()), (20, 1), "{r:?}");
    // A hundred names in one batch: eight lookups; the rest wait in the
    // wallet, and each later sync looks up at most eight more.
    for i in 1..=100 {
        post(&format!("random{i}@devnet"));
    }
    let r = sync();
    assert_eq!((r.fetched, r.rejected, r.held), (100, 8, 92), "{r:?}");
    assert_eq!(lookups(), 9);
    let r = sync();
    assert_eq!((r.rejected, r.held), (8, 84), "{r:?}");
    assert_eq!(lookups(), 17);
    // None of it was answered, queued, or kept beyond the hold.
    assert!(wallet.outbox().unwrap().is_empty());
    assert!(wallet.queue().unwrap().is_empty());
    assert_eq!(wallet.held_count().unwrap(), 84);
}

/// Keeps what a sync received.
#[derive(Default)]
struct Receipts(std::sync::Mutex<Vec<Received>>);

impl fio_peer::sync::SyncProgress for Receipts {
    fn progress(&self, _: fio_peer::sync::SyncPhase, _: &fio_peer::sync::SyncReport) {}
    fn received(&self, received: &Received) {
        self.0.lock().unwrap().push(received.clone());
    }
}

/// Finding 6: when a FIO address's chain key changed, a first contact from
/// the new key re-pinned the channel silently, an allow-list accepted it,
/// and the new holder inherited the requests pending with the old one.
#[test]
fn a_key_change_is_surfaced_voids_what_was_pending_and_is_not_auto_accepted() {
    let (world, ka, kb, alice, bob) = an_open_channel();
    let ke = PrivateKey::generate();
    let funds = |amount: &str| btc("bc1qpayee", amount);
    let by_bob = bob
        .wallet
        .request_funds("alice@devnet", funds("1"))
        .unwrap();
    let by_alice = alice
        .wallet
        .request_funds("bob@devnet", funds("2"))
        .unwrap();
    settle(&[&alice, &bob], 10);
    // Bob would accept Alice's channel requests without asking.
    bob.accept_channels_from("alice@devnet");

    // alice@devnet's key becomes Eve's (a transfer, a re-registration).
    let chain = world.chain();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(chain.add_pub_address(
            &ka,
            "alice@devnet",
            vec![fio_peer::chain::TokenPubAddress {
                token_code: "FIO".into(),
                chain_code: "FIO".into(),
                public_address: ke.public_key().to_fio_string(),
            }],
            800_000_000_000,
        ))
        .unwrap();
    drop(alice);
    let eve = Wallet::open(
        world.dir.path().join("eve.sqlite"),
        ke.clone(),
        "alice@devnet",
        Arc::new(world.chain()),
    )
    .unwrap();
    let eve = Arc::new(eve);
    eve.set_inbox(Some(
        InboxLocation::parse(
            "URL",
            &format!("{}/v1/inboxes/eve/messages", world.relays[0].url()),
        )
        .unwrap(),
    ))
    .unwrap();
    eve.open_channel("bob@devnet", Some("it's me, Alice"))
        .unwrap();
    let eve_engine = SyncEngine::new(
        eve.clone(),
        world.chain(),
        World::sync_config(&world.relays[0].url()),
    )
    .unwrap();
    assert_eq!(eve_engine.deliver_blocking().delivered, 1);

    // Bob reopens (his chain cache is fresh) and syncs.
    drop(bob);
    let bob = world.party("bob", &kb, 1);
    let receipts = Arc::new(Receipts::default());
    let r = bob
        .engine
        .sync_blocking(Some(receipts.clone()), Default::default())
        .unwrap();
    assert_eq!((r.received, r.delivered), (1, 0), "{r:?}");
    // Surfaced: in what the sync reports...
    let got = receipts.0.lock().unwrap()[0].clone();
    let change = got.key_change.expect("a key change");
    assert_eq!(change.previous_key, *ka.public_key());
    assert_eq!(change.new_key, *ke.public_key());
    let mut voided = vec![by_bob.message_id.clone(), by_alice.message_id.clone()];
    voided.sort();
    let mut reported = change.voided.clone();
    reported.sort();
    assert_eq!(reported, voided);
    // ...and in the queue, where Alice's voided request no longer waits.
    let queue = bob.wallet.queue().unwrap();
    assert!(queue
        .iter()
        .all(|q| q.message.message_id != by_alice.message_id));
    let changed: Vec<_> = queue.iter().filter(|q| q.key_change.is_some()).collect();
    assert_eq!(changed.len(), 1, "{queue:?}");
    assert_eq!(changed[0].message.message_id, got.message.message_id);
    let item = changed[0].key_change.as_ref().unwrap();
    assert_eq!(
        (item.previous_key, item.new_key),
        (*ka.public_key(), *ke.public_key())
    );
    // Not accepted, although the allow-list names the address, and nothing
    // went to the new key.
    let channel = bob.wallet.channel("alice@devnet").unwrap().unwrap();
    assert_eq!(channel.state, ChannelState::Requested);
    assert_eq!(channel.peer_public_key, *ke.public_key());
    assert!(bob.wallet.outbox().unwrap().is_empty());
    // What was pending with the old key is voided, with the reason.
    for id in [&by_bob.message_id, &by_alice.message_id] {
        let request = bob
            .wallet
            .requests(Some("alice@devnet"))
            .unwrap()
            .into_iter()
            .find(|q| &q.message_id == id)
            .unwrap();
        assert_eq!(request.state, RequestState::Voided);
        assert!(
            request
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("changed"),
            "{request:?}"
        );
    }
}

/// Finding 5: a message referencing one of the peer's messages not yet
/// received (its request still on its way) was refused and acked away;
/// it is held and tried again, and refused (and answered) only when its
/// tries run out.
#[test]
fn a_cancel_that_arrives_before_its_request_waits_for_it() {
    let (_world, ka, kb, alice, bob) = an_open_channel();
    let request = alice
        .wallet
        .request_funds("bob@devnet", btc("bc1qalice", "1"))
        .unwrap();
    let cancel = alice
        .wallet
        .cancel_request("bob@devnet", &request.message_id, None)
        .unwrap();
    // The cancel reaches Bob's inbox first (the request went another way).
    let inbox = inbox_url(&bob);
    assert_eq!(post_envelope(&inbox, &cancel.envelope), 202);
    let r = bob.sync();
    assert_eq!((r.received, r.rejected, r.held), (0, 0, 1), "{r:?}");
    assert_eq!(r.acked, 1, "held in the wallet, so the relay may forget it");
    assert!(bob.wallet.outbox().unwrap().is_empty(), "it was answered");
    assert_eq!(post_envelope(&inbox, &request.envelope), 202);
    bob.sync();
    bob.sync();
    let state = bob
        .wallet
        .requests(Some("alice@devnet"))
        .unwrap()
        .into_iter()
        .find(|q| q.message_id == request.message_id)
        .unwrap()
        .state;
    assert_eq!(state, RequestState::Cancelled);
    assert_eq!(bob.wallet.held_count().unwrap(), 0);

    // A text that answers a message Alice never sent waits its tries out,
    // then is refused and answered.
    let data = MessageData {
        action: Action::SendPrivateText.name().into(),
        message_id: generate_message_id(),
        referenced_message_id: Some("0123456789abcdef".into()),
        sender_fio_address: "alice@devnet".into(),
        recipient_fio_address: "bob@devnet".into(),
        memo: Some("about that".into()),
        ..Default::default()
    };
    let token = match Envelope::parse(cancel.envelope.as_bytes())
        .unwrap()
        .id_token
    {
        IdToken::Token(t) => t,
        IdToken::New => unreachable!(),
    };
    let text = data.to_json();
    let signature = sign_data(&ka, kb.public_key(), &text);
    let plaintext = build_plaintext(&text, &signature).unwrap();
    let sealed = Envelope {
        id_token: IdToken::Token(token),
        content: fio_peer::protocol::ChannelKey::derive(&ka, kb.public_key()).seal(&plaintext),
    }
    .to_json();
    assert_eq!(post_envelope(&inbox, &sealed), 202);
    let mut tries = 0;
    loop {
        let r = bob.sync();
        tries += 1;
        if r.rejected == 1 {
            break;
        }
        assert_eq!(r.held, 1, "try {tries}: {r:?}");
        assert!(tries < UNSEEN_TRIES, "still held after {tries} tries");
    }
    assert_eq!(tries, UNSEEN_TRIES);
    assert_eq!(bob.wallet.held_count().unwrap(), 0);
    let answer = bob
        .wallet
        .history("alice@devnet")
        .unwrap()
        .into_iter()
        .find(|m| m.referenced_message_id.as_deref() == Some(data.message_id.as_str()))
        .expect("an answer");
    assert_eq!(answer.action, Action::ReturnMessageStatus);
    let status = answer.data.message_status.unwrap_or_default();
    assert!(status.contains("referenced_message_id"), "{status}");
}
