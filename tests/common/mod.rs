//! Helpers shared by the wallet tests: a key directory backed by a map, and
//! wallets that hand envelopes to each other in process.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use fio_peer::crypto::{PrivateKey, PublicKey};
use fio_peer::protocol::{FioAddress, InboxLocation};
use fio_peer::wallet::{DirectoryError, KeyDirectory, Outgoing, Received, Wallet, WalletError};

#[derive(Default)]
pub struct MapDirectory {
    keys: RwLock<HashMap<FioAddress, PublicKey>>,
}

impl MapDirectory {
    pub fn register(&self, address: &str, key: &PublicKey) {
        self.keys
            .write()
            .unwrap()
            .insert(FioAddress::parse(address).unwrap(), *key);
    }
}

impl KeyDirectory for MapDirectory {
    fn public_key(&self, address: &FioAddress) -> Result<PublicKey, DirectoryError> {
        self.keys
            .read()
            .unwrap()
            .get(address)
            .copied()
            .ok_or_else(|| DirectoryError::NotFound(address.to_string()))
    }
    fn inbox(&self, _address: &FioAddress) -> Result<Option<InboxLocation>, DirectoryError> {
        Ok(None)
    }
}

pub struct Party {
    pub wallet: Wallet,
    pub key: PrivateKey,
    pub address: String,
}

pub fn party(dir: &Arc<MapDirectory>, address: &str) -> Party {
    let key = PrivateKey::generate();
    dir.register(address, key.public_key());
    let wallet = Wallet::open_in_memory(key.clone(), address, dir.clone()).unwrap();
    Party {
        wallet,
        key,
        address: address.to_string(),
    }
}

pub fn two() -> (Arc<MapDirectory>, Party, Party) {
    let dir = Arc::new(MapDirectory::default());
    let alice = party(&dir, "alice@demo");
    let bob = party(&dir, "bob@demo");
    (dir, alice, bob)
}

/// Delivers `out` to `to` and every reply back and forth until quiet.
/// Returns what `to` received first.
pub fn deliver(out: &Outgoing, to: &Party, other: &Party) -> Received {
    let received = to
        .wallet
        .receive(out.envelope.as_bytes())
        .expect("delivery accepted");
    let mut pending: Vec<(Outgoing, bool)> = received
        .replies
        .iter()
        .cloned()
        .map(|o| (o, false))
        .collect();
    // bool: false = goes to `other`, true = goes to `to`.
    while let Some((o, to_first)) = pending.pop() {
        let target = if to_first { to } else { other };
        let r = target
            .wallet
            .receive(o.envelope.as_bytes())
            .expect("reply accepted");
        pending.extend(r.replies.into_iter().map(|x| (x, !to_first)));
    }
    received
}

/// Opens a channel alice → bob, accepted by bob. Returns nothing; both open.
pub fn open(alice: &Party, bob: &Party) {
    let out = alice
        .wallet
        .open_channel(&bob.address, Some("hello"))
        .unwrap();
    let got = deliver(&out, bob, alice);
    bob.wallet
        .accept_request(&alice.address, &got.message.message_id, Default::default())
        .map(|o| deliver(&o, alice, bob))
        .unwrap();
}

pub fn rejected(
    r: Result<Received, WalletError>,
) -> (fio_peer::protocol::ProtocolError, Vec<Outgoing>) {
    match r {
        Err(WalletError::Rejected { error, replies }) => (error, replies),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

use fio_peer::protocol::{build_plaintext, seal_new, sign_data, ChannelKey, Envelope, IdToken};

/// An envelope with arbitrary data text, signed by `signer`, sealed from
/// `sealer` to `recipient` on `token` (None = NEW). For hostile-input tests.
pub fn craft(
    token: Option<&str>,
    signer: &PrivateKey,
    sealer: &PrivateKey,
    recipient: &PublicKey,
    data: &str,
) -> String {
    let sig = sign_data(signer, recipient, data);
    let plaintext = build_plaintext(data, &sig).unwrap();
    let (id_token, content) = match token {
        None => (IdToken::New, seal_new(recipient, &plaintext)),
        Some(t) => (
            IdToken::Token(t.to_string()),
            ChannelKey::derive(sealer, recipient).seal(&plaintext),
        ),
    };
    Envelope { id_token, content }.to_json()
}

/// The id_token an envelope carries.
pub fn token_of(envelope: &str) -> String {
    serde_json::from_str::<serde_json::Value>(envelope).unwrap()["id_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `owner` releases bc1qalice for BTC/BTC automatically; `asker` asks for it.
/// Returns the request (not yet delivered).
pub fn auto_release_and_ask(owner: &Party, asker: &Party) -> Outgoing {
    use fio_peer::wallet::{AddressRequest, Automation, ReleasedAddress};
    owner
        .wallet
        .set_automation(Automation {
            release_addresses: vec![ReleasedAddress {
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                public_address: "bc1qalice".into(),
            }],
            ..Automation::default()
        })
        .unwrap();
    let request = AddressRequest {
        chain_code: "BTC".into(),
        token_code: "BTC".into(),
        ..Default::default()
    };
    asker
        .wallet
        .request_public_address(&owner.address, request)
        .unwrap()
}
