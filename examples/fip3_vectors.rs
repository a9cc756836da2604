//! Writes the FIP-3 test vectors (tests/vectors/fip3_v1.json) to stdout:
//!
//!     cargo run --example fip3_vectors > tests/vectors/fip3_v1.json
//!
//! Deterministic: fixed keys and IVs. `tests/fip3_vectors.rs` rebuilds every
//! value from its inputs and opens every ciphertext.

use fio_peer::chain::{
    AddFriend, DecryptKey, Name, PrivAddAddress, PrivFundsRequest, PrivGrantAccess,
    PrivPublicAddress, PrivRecordSend, PrivacyAction, RemoveFriend, SetAddressPrivacy,
};
use fio_peer::crypto::{
    encrypt_content_with_iv, encrypt_fip3_content_with_iv, FioContent, FriendContent,
    NewFundsContent, PrivRecordSendContent, PrivateKey, RecordObtDataContent,
};
use fio_peer::friends::{look_up_index, request_index, WalletSecret};
use serde_json::{json, Value};

/// The fio_dm vectors' keys (fiojs-vectors.json receiver_alice_sender_bob).
const OWNER: &str = "5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK";
const FRIEND: &str = "5JoQtsKQuH8hC9MyvfJAqo6qmKLm8ePYNucs7tPu2YxG12trzBt";
/// Forms a leading-zero ECDH x with OWNER.
const LEADING_ZERO: &str = "5J5G2TCzn5dfQvtggVwXLF7K4wj22vcgR2jR7XvXBdfASHvWeMK";
const IV: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fn key(wif: &str) -> PrivateKey {
    PrivateKey::parse(wif).unwrap()
}

fn party(k: &PrivateKey, address: &str) -> Value {
    json!({
        "private_key": k.to_wif().as_str(),
        "fio_public_key": k.public_key().to_fio_string(),
        "public_key_hex": hex::encode(k.public_key().as_bytes()),
        "fio_address": address,
        "actor": k.public_key().account_name(),
    })
}

fn pair_case(label: &str, a: &PrivateKey, b: &PrivateKey) -> Value {
    let s = a.shared_secret(b.public_key());
    json!({
        "label": label,
        "a": party(a, ""),
        "b": party(b, ""),
        "shared_secret_hex": hex::encode(s.as_bytes()),
        "look_up_index_of_a": look_up_index(&s, a.public_key()),
        "look_up_index_of_b": look_up_index(&s, b.public_key()),
        "request_index_for_a": request_index(&s, a.public_key()),
        "request_index_for_b": request_index(&s, b.public_key()),
    })
}

fn content_case<T: FioContent + serde::Serialize>(
    label: &str,
    sender: &PrivateKey,
    recipient: &PrivateKey,
    content: &T,
) -> Value {
    json!({
        "label": label,
        "content_type": T::TYPE.name(),
        "sender_private_key": sender.to_wif().as_str(),
        "recipient_private_key": recipient.to_wif().as_str(),
        "recipient_public_key": recipient.public_key().to_fio_string(),
        "content_object": T::TYPE.unpack_json(&content.pack()).unwrap(),
        "abi_packed_hex": hex::encode(content.pack()),
        "iv_hex": hex::encode(IV),
        "content": encrypt_content_with_iv(sender, recipient.public_key(), content, &IV),
    })
}

/// A content of profile 2: packed, padded to its bucket, then encrypted.
fn padded_case<T: FioContent + serde::Serialize>(
    label: &str,
    sender: &PrivateKey,
    recipient: &PrivateKey,
    content: &T,
) -> Value {
    let secret = sender.shared_secret(recipient.public_key());
    json!({
        "label": label,
        "content_type": T::TYPE.name(),
        "sender_private_key": sender.to_wif().as_str(),
        "recipient_private_key": recipient.to_wif().as_str(),
        "content_object": T::TYPE.unpack_json(&content.pack()).unwrap(),
        "abi_packed_hex": hex::encode(content.pack()),
        "padded_hex": hex::encode(content.pack_padded()),
        "iv_hex": hex::encode(IV),
        "content": encrypt_fip3_content_with_iv(&secret, content, &IV),
    })
}

fn main() {
    let (owner, friend, zero) = (key(OWNER), key(FRIEND), key(LEADING_ZERO));
    let address = "purse@alice";
    let nbpa = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";

    let w = WalletSecret::derive(&owner);
    let (ak, ck, nk) = (
        w.address_key(address),
        w.chain_key(address, "BTC"),
        w.nbpa_key(nbpa),
    );
    let s = owner.shared_secret(friend.public_key());
    let level_keys = json!({
        "owner": party(&owner, address),
        "wallet_secret_hex": hex::encode(w.as_bytes()),
        "chain_code": "BTC",
        "nbpa": nbpa,
        "address_key_hex": hex::encode(ak.as_bytes()),
        "chain_key_hex": hex::encode(ck.as_bytes()),
        "nbpa_key_hex": hex::encode(nk.as_bytes()),
        "iv_hex": hex::encode(IV),
        "public_key_address_level": ak.encrypt_nbpa_with_iv(nbpa, &IV),
        "public_key_chain_level": ck.encrypt_nbpa_with_iv(nbpa, &IV),
        "public_key_nbpa_level": nk.encrypt_nbpa_with_iv(nbpa, &IV),
        "friend": party(&friend, "crypto@bob"),
        "decrypt_key_chain_level_for_friend": ck.grant_with_iv(&s, &IV),
    });

    let backup = FriendContent {
        fio_address: "crypto@bob".into(),
        public_key: friend.public_key().to_fio_string(),
    };
    let request = NewFundsContent {
        payee_public_address: nbpa.into(),
        amount: "0.0015".into(),
        chain_code: "BTC".into(),
        token_code: "BTC".into(),
        memo: Some("Invoice 42".into()),
        hash: None,
        offline_url: None,
    };
    let paid = PrivRecordSendContent {
        record: RecordObtDataContent {
            payer_public_address: "bc1qpayer".into(),
            payee_public_address: nbpa.into(),
            amount: "0.0015".into(),
            chain_code: "BTC".into(),
            token_code: "BTC".into(),
            status: "sent_to_blockchain".into(),
            obt_id: "7d2a0b8c".into(),
            memo: None,
            hash: None,
            offline_url: None,
        },
        fio_request_id: Some("10".into()),
    };
    let rejected = PrivRecordSendContent {
        record: RecordObtDataContent {
            status: "rejected".into(),
            ..Default::default()
        },
        fio_request_id: Some("11".into()),
    };

    let actor = Name::parse(&owner.public_key().account_name()).unwrap();
    let hash = look_up_index(&s, friend.public_key());
    let actions = [
        PrivacyAction::AddFriend(AddFriend {
            fio_public_key_hash: hash.clone(),
            content: encrypt_content_with_iv(&owner, owner.public_key(), &backup, &IV),
            max_fee: 400_000_000,
            tpid: String::new(),
            actor,
        }),
        PrivacyAction::RemoveFriend(RemoveFriend {
            fio_public_key_hash: hash.clone(),
            max_fee: 400_000_000,
            tpid: "rewards@wallet".into(),
            actor,
        }),
        PrivacyAction::AddAddress(PrivAddAddress {
            fio_address: address.into(),
            public_addresses: vec![PrivPublicAddress {
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                public_key_address_level: ak.encrypt_nbpa_with_iv(nbpa, &IV),
                public_key_chain_level: ck.encrypt_nbpa_with_iv(nbpa, &IV),
                public_key_nbpa_level: nk.encrypt_nbpa_with_iv(nbpa, &IV),
            }],
            max_fee: 0,
            tpid: String::new(),
            actor,
        }),
        PrivacyAction::GrantAccess(PrivGrantAccess {
            fio_public_key_hash: hash,
            decrypt_keys: vec![DecryptKey {
                level: "chain".into(),
                level_index: format!("{address}/BTC"),
                decrypt_key: ck.grant_with_iv(&s, &IV),
            }],
            max_fee: 400_000_000,
            tpid: String::new(),
            actor,
        }),
        PrivacyAction::FundsRequest(PrivFundsRequest {
            payee_fio_address: address.into(),
            payee_fio_public_key: owner.public_key().to_fio_string(),
            lookup_index_for_payer: request_index(&s, friend.public_key()),
            content: encrypt_content_with_iv(&owner, friend.public_key(), &request, &IV),
            max_fee: 800_000_000,
            tpid: String::new(),
            actor,
        }),
        PrivacyAction::RecordSend(PrivRecordSend {
            payer_fio_address: address.into(),
            payer_fio_public_key: owner.public_key().to_fio_string(),
            lookup_index_for_payee: request_index(&s, friend.public_key()),
            content: encrypt_content_with_iv(&owner, friend.public_key(), &paid, &IV),
            max_fee: 800_000_000,
            tpid: String::new(),
            actor,
        }),
        PrivacyAction::SetPrivacy(SetAddressPrivacy {
            fio_address: address.into(),
            privacy: 1,
            max_fee: 400_000_000,
            tpid: String::new(),
            actor,
        }),
    ];

    let out = json!({
        "spec": "docs/protocol.md §3",
        "generator": "cargo run --example fip3_vectors",
        "notes": "All hex lowercase; base64 standard with padding. Indexes are fiojs hashA strings. Ciphertexts are base64(IV ‖ AES-256-CBC ‖ HMAC-SHA256) as fiojs checkEncrypt, here with a fixed IV; real ones use a random IV.",
        "pairs": [
            pair_case("owner_friend", &owner, &friend),
            pair_case("owner_leading_zero_x", &owner, &zero),
        ],
        "level_keys": level_keys,
        "contents": [
            content_case("friend_backup (self-ECDH)", &owner, &owner, &backup),
            content_case("private_request payee→payer", &owner, &friend, &request),
            content_case("send_action paid", &owner, &friend, &paid),
            content_case("send_action rejected", &owner, &friend, &rejected),
        ],
        "padded_contents": [
            padded_case("friend_backup (self-ECDH)", &owner, &owner, &backup),
            padded_case("private_request payee→payer", &owner, &friend, &request),
            padded_case("send_action paid", &owner, &friend, &paid),
            padded_case("send_action rejected", &owner, &friend, &rejected),
            padded_case("private_request, a 300-byte memo", &owner, &friend, &NewFundsContent {
                memo: Some("m".repeat(300)),
                ..request.clone()
            }),
        ],
        "actions": actions.iter().map(|a| json!({
            "name": a.name(),
            "account": "fio.privacy",
            "endpoint": format!("/v1/chain/{}", a.endpoint()),
            "data": a.to_json(),
            "hex_data": hex::encode(a.pack()),
        })).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
