//! The whole receive path of a wallet (docs/protocol.md §2.9), in memory:
//! raw bodies, and data or plaintexts that the harness seals and signs as
//! a peer would, so mutations get past the MAC and the signature into
//! validation and the channel state machine. Never a panic; a rejection
//! is a typed error; a receive either commits or leaves nothing.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use fio_peer::crypto::{PrivateKey, PublicKey};
use fio_peer::protocol::{
    build_plaintext, seal_new, sign_data, ChannelKey, Envelope, FioAddress, IdToken, InboxLocation,
};
use fio_peer::wallet::{Acceptance, Direction, DirectoryError, KeyDirectory, Wallet, WalletError};
use libfuzzer_sys::fuzz_target;

struct Keys(HashMap<FioAddress, PublicKey>);

impl KeyDirectory for Keys {
    fn public_key(&self, address: &FioAddress) -> Result<PublicKey, DirectoryError> {
        self.0
            .get(address)
            .copied()
            .ok_or_else(|| DirectoryError::NotFound(address.to_string()))
    }
    fn inbox(&self, _: &FioAddress) -> Result<Option<InboxLocation>, DirectoryError> {
        Ok(None)
    }
}

/// Bob's wallet, with an open channel to Alice (whose key signs) and the
/// token Alice writes to him with.
struct World {
    bob: Wallet,
    bob_key: PublicKey,
    alice: PrivateKey,
    channel: ChannelKey,
    token: String,
    receives: u64,
}

fn fixed(seed: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[seed; 32]).expect("a valid scalar")
}

fn world() -> World {
    let (alice_key, bob_key) = (fixed(1), fixed(2));
    let mut keys = HashMap::new();
    keys.insert(
        FioAddress::parse("alice@fuzz").unwrap(),
        *alice_key.public_key(),
    );
    keys.insert(
        FioAddress::parse("bob@fuzz").unwrap(),
        *bob_key.public_key(),
    );
    let keys: Arc<dyn KeyDirectory> = Arc::new(Keys(keys));
    let alice = Wallet::open_in_memory(alice_key.clone(), "alice@fuzz", keys.clone()).unwrap();
    let bob = Wallet::open_in_memory(bob_key.clone(), "bob@fuzz", keys).unwrap();
    let hello = alice.open_channel("bob@fuzz", Some("hi")).unwrap();
    let got = bob.receive(hello.envelope.as_bytes()).unwrap();
    let accept = bob
        .accept_request("alice@fuzz", &got.message.message_id, Acceptance::default())
        .unwrap();
    alice.receive(accept.envelope.as_bytes()).unwrap();
    let text = alice.send_private_text("bob@fuzz", "hello", None).unwrap();
    let token = match Envelope::parse(text.envelope.as_bytes()).unwrap().id_token {
        IdToken::Token(t) => t,
        IdToken::New => unreachable!("an open channel writes with a token"),
    };
    World {
        channel: ChannelKey::derive(&alice_key, bob_key.public_key()),
        bob,
        bob_key: *bob_key.public_key(),
        alice: alice_key,
        token,
        receives: 0,
    }
}

fn state() -> &'static Mutex<World> {
    static WORLD: OnceLock<Mutex<World>> = OnceLock::new();
    WORLD.get_or_init(|| Mutex::new(world()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut w = state().lock().unwrap_or_else(|e| e.into_inner());
    // A fresh world now and then, so the database stays small and the
    // channel's state machine starts over.
    w.receives += 1;
    if w.receives.is_multiple_of(500) {
        *w = world();
    }
    let body = match mode % 4 {
        // The raw body, as anyone may post it.
        0 => rest.to_vec(),
        // Data text signed by Alice and sealed in the channel.
        1 | 2 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let signature = sign_data(&w.alice, &w.bob_key, text);
            let Ok(plaintext) = build_plaintext(text, &signature) else {
                return;
            };
            let (id_token, content) = if mode % 4 == 1 {
                (IdToken::Token(w.token.clone()), w.channel.seal(&plaintext))
            } else {
                (IdToken::New, seal_new(&w.bob_key, &plaintext))
            };
            Envelope { id_token, content }.to_json().into_bytes()
        }
        // A whole plaintext (padding, signature field) sealed in the channel.
        _ => Envelope {
            id_token: IdToken::Token(w.token.clone()),
            content: w.channel.seal(rest),
        }
        .to_json()
        .into_bytes(),
    };
    let incoming = |w: &World| {
        w.bob.history("alice@fuzz").map_or(0, |h| {
            h.iter()
                .filter(|m| m.direction == Direction::Incoming)
                .count()
        })
    };
    let before = incoming(&w);
    match w.bob.receive(&body) {
        Ok(received) => {
            let _ = received.replies;
        }
        Err(WalletError::Rejected { .. }) => {
            // A rejection stores no message of the peer's.
            assert_eq!(before, incoming(&w), "a rejected message was stored");
        }
        Err(WalletError::Directory(_) | WalletError::Unseen { .. }) => {}
        Err(e) => panic!("an untyped failure: {e}"),
    }
});
