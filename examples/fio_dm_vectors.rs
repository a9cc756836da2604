//! Writes the fio_dm 1.0 test vectors (tests/vectors/fio_dm_v1.json) to stdout:
//!
//!     cargo run --example fio_dm_vectors > tests/vectors/fio_dm_v1.json
//!
//! Deterministic: fixed keys, IVs and ephemeral keys, so the file only changes
//! when the profile does. `tests/fio_dm_vectors.rs` checks every case in both
//! directions.

use fio_peer::crypto::primitives::hmac_sha512;
use fio_peer::crypto::{
    check_encrypt_with_iv, sha256, PrivateKey, PublicKey, SharedSecret, Signature,
};
use fio_peer::protocol::*;
use k256::elliptic_curve::PrimeField;
use serde_json::{json, Value};

const ALICE: &str = "5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK";
const BOB: &str = "5JoQtsKQuH8hC9MyvfJAqo6qmKLm8ePYNucs7tPu2YxG12trzBt";
/// Forms a leading-zero ECDH x with ALICE (fiojs-vectors.json ecdh[alice_leading_zero_1]).
const LEADING_ZERO: &str = "5J5G2TCzn5dfQvtggVwXLF7K4wj22vcgR2jR7XvXBdfASHvWeMK";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const IV: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fn key(wif: &str) -> PrivateKey {
    PrivateKey::parse(wif).unwrap()
}

fn ephemeral(label: &str) -> PrivateKey {
    PrivateKey::from_bytes(&sha256(label.as_bytes())).unwrap()
}

fn channel_case(label: &str, sender: &PrivateKey, recipient: &PrivateKey, data: &Value) -> Value {
    let data_text = data.to_string();
    let digest = signing_digest(recipient.public_key(), data_text.as_bytes());
    let sig = sign_data(sender, recipient.public_key(), &data_text);
    let plaintext = build_plaintext(&data_text, &sig).unwrap();
    let content = ChannelKey::derive(sender, recipient.public_key()).seal_with_iv(&plaintext, &IV);
    let envelope = Envelope {
        id_token: IdToken::Token(TOKEN.into()),
        content: content.clone(),
    }
    .to_json();
    json!({
        "label": label, "kind": "channel", "direction": "both",
        "sender_private_key": sender.to_wif().as_str(), "sender_public_key": sender.public_key().to_string(),
        "recipient_private_key": recipient.to_wif().as_str(), "recipient_public_key": recipient.public_key().to_string(),
        "shared_secret_hex": hex::encode(sender.shared_secret(recipient.public_key()).as_bytes()),
        "channel_secret_hex": hex::encode(hmac_sha512(sender.shared_secret(recipient.public_key()).as_bytes(), &[CHANNEL_LABEL])),
        "data": data_text, "signing_digest_hex": hex::encode(digest), "signature": sig.to_string(),
        "plaintext_hex": hex::encode(&plaintext), "iv_hex": hex::encode(IV),
        "content_hex": hex::encode(&content), "envelope": envelope,
    })
}

fn new_case(
    label: &str,
    sender: &PrivateKey,
    recipient: &PrivateKey,
    eph: &PrivateKey,
    data: &Value,
) -> Value {
    let data_text = data.to_string();
    let sig = sign_data(sender, recipient.public_key(), &data_text);
    let plaintext = build_plaintext(&data_text, &sig).unwrap();
    let content = seal_new_with(eph, &IV, recipient.public_key(), &plaintext);
    let r = eph.public_key().to_bytes();
    let s = eph.shared_secret(recipient.public_key());
    let secret = hmac_sha512(
        s.as_bytes(),
        &[NEW_LABEL, &r, recipient.public_key().as_bytes()],
    );
    json!({
        "label": label, "kind": "new", "direction": "both",
        "sender_private_key": sender.to_wif().as_str(), "sender_public_key": sender.public_key().to_string(),
        "recipient_private_key": recipient.to_wif().as_str(), "recipient_public_key": recipient.public_key().to_string(),
        "ephemeral_private_key": eph.to_wif().as_str(), "ephemeral_public_key_hex": hex::encode(r),
        "new_secret_hex": hex::encode(secret),
        "data": data_text, "signing_digest_hex": hex::encode(signing_digest(recipient.public_key(), data_text.as_bytes())),
        "signature": sig.to_string(), "plaintext_hex": hex::encode(&plaintext), "iv_hex": hex::encode(IV),
        "content_hex": hex::encode(&content),
        "envelope": Envelope { id_token: IdToken::New, content }.to_json(),
    })
}

#[allow(clippy::too_many_arguments)]
fn invalid(
    label: &str,
    kind: &str,
    recipient: &PrivateKey,
    sender: &PublicKey,
    envelope: String,
    code: u16,
    field: Option<&str>,
    message: &str,
) -> Value {
    json!({
        "label": label, "kind": kind, "recipient_private_key": recipient.to_wif().as_str(),
        "sender_public_key": sender.to_string(), "envelope": envelope,
        "expected_error": {"type": code, "field": field, "message": message},
    })
}

/// Signs `data` as alice for bob and seals it on their channel.
fn signed(alice: &PrivateKey, bob: &PrivateKey, data: &str) -> String {
    sealed(
        alice,
        bob,
        &build_plaintext(data, &sign_data(alice, bob.public_key(), data)).unwrap(),
    )
}

/// Seals arbitrary plaintext on the alice → bob channel with the fixed IV.
fn sealed(alice: &PrivateKey, bob: &PrivateKey, plaintext: &[u8]) -> String {
    let content = ChannelKey::derive(alice, bob.public_key()).seal_with_iv(plaintext, &IV);
    Envelope {
        id_token: IdToken::Token(TOKEN.into()),
        content,
    }
    .to_json()
}

fn main() {
    let (alice, bob, lz) = (key(ALICE), key(BOB), key(LEADING_ZERO));
    let text = json!({"action":"peer_send_private_text","message_id":"000012m","sender_fio_address":"alice@wallet",
                      "recipient_fio_address":"bob@wallet","memo":"Hi! Do you accept payments in Monero?"});
    let funds = json!({"action":"peer_new_funds_request","message_id":"00000000000521f0","sender_fio_address":"alice@wallet",
                       "recipient_fio_address":"bob@wallet","return_address":"https://inbox.example.com/v1/inboxes/a1",
                       "return_address_type":"URL","payee_public_address":"bc1q96kdtk68aw7ew5fw2f33cpxsvzcvpxw7mmat7n",
                       "chain_code":"BTC","token_code":"BTC","amount":".000852","memo":"dinner_bill ✓"});
    let com = json!({"action":"peer_new_com_request","message_id":"000001c","sender_fio_address":"alice@wallet",
                     "recipient_fio_address":"bob@wallet","return_id_token":"fedcba9876543210fedcba9876543210",
                     "memo":"Hello! This is Alice"});
    let lz_text = json!({"action":"peer_send_private_text","message_id":"1","sender_fio_address":"carol@wallet",
                         "recipient_fio_address":"alice@wallet","memo":"leading zero"});

    let mut valid = vec![
        channel_case("channel peer_send_private_text", &alice, &bob, &text),
        channel_case(
            "channel peer_new_funds_request (multi-byte UTF-8, return address)",
            &alice,
            &bob,
            &funds,
        ),
        new_case(
            "NEW peer_new_com_request",
            &alice,
            &bob,
            &ephemeral("fio_dm vectors ephemeral 1"),
            &com,
        ),
        channel_case(
            "channel with a leading-zero ECDH x (S hashes 31 bytes)",
            &lz,
            &alice,
            &lz_text,
        ),
    ];
    // A sender that derives S from the padded 32-byte x (iOS SDK, wallet-core) must still be read.
    let padded = SharedSecret::from_bytes(hmac_sha512(
        lz.shared_secret_padded(alice.public_key()).as_bytes(),
        &[CHANNEL_LABEL],
    ));
    let data_text = lz_text.to_string();
    let sig = sign_data(&lz, alice.public_key(), &data_text);
    let plaintext = build_plaintext(&data_text, &sig).unwrap();
    let content = check_encrypt_with_iv(padded.as_bytes(), &plaintext, &IV);
    valid.push(json!({
        "label": "channel sealed with the padded-x secret (read only)", "kind": "channel", "direction": "open_only",
        "sender_private_key": lz.to_wif().as_str(), "sender_public_key": lz.public_key().to_string(),
        "recipient_private_key": alice.to_wif().as_str(), "recipient_public_key": alice.public_key().to_string(),
        "data": data_text, "signature": sig.to_string(),
        "envelope": Envelope { id_token: IdToken::Token(TOKEN.into()), content }.to_json(),
    }));

    let good = channel_case("", &alice, &bob, &text)["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    let good_new = new_case(
        "",
        &alice,
        &bob,
        &ephemeral("fio_dm vectors ephemeral 1"),
        &com,
    )["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    let env: Value = serde_json::from_str(&good).unwrap();
    let content = env["content"].as_str().unwrap();
    let apk = *alice.public_key();
    let text_s = text.to_string();
    let sig = sign_data(&alice, bob.public_key(), &text_s);
    // High-S twin of a valid signature: s' = n - s, recovery parity flipped.
    let mut high = sig.to_bytes();
    let s = k256::Scalar::from_repr(<[u8; 32]>::try_from(&high[33..]).unwrap().into()).unwrap();
    high[33..].copy_from_slice(&(-s).to_repr());
    high[0] ^= 1;
    let high = Signature::from_bytes(&high).unwrap();
    let mut flipped_mac = hex::decode(content).unwrap();
    *flipped_mac.last_mut().unwrap() ^= 1;
    let mut flipped_r: Value = serde_json::from_str(&good_new).unwrap();
    let mut r_bytes = hex::decode(flipped_r["content"].as_str().unwrap()).unwrap();
    r_bytes[0] ^= 1; // 02 <-> 03: −R has the same x
    flipped_r["content"] = json!(hex::encode(r_bytes));
    let other = ephemeral("fio_dm vectors: someone else");
    let invalids = vec![
        invalid(
            "protocol is not fio_dm",
            "channel",
            &bob,
            &apk,
            good.replace("\"fio_dm\"", "\"fio_https\""),
            400,
            Some("protocol"),
            "Protocol not supported",
        ),
        invalid(
            "version is not exactly 1.0",
            "channel",
            &bob,
            &apk,
            good.replace("\"1.0\"", "\"1.00\""),
            400,
            Some("version"),
            "Protocol not supported",
        ),
        invalid(
            "duplicate envelope key",
            "channel",
            &bob,
            &apk,
            good.replacen("{", &format!("{{\"id_token\":\"{TOKEN}\","), 1),
            400,
            Some("id_token"),
            "Malformed message",
        ),
        invalid(
            "id_token outside the FIP charset",
            "channel",
            &bob,
            &apk,
            good.replace(TOKEN, "%01234567%"),
            400,
            Some("id_token"),
            "Unrecognized id",
        ),
        invalid(
            "uppercase hex content",
            "channel",
            &bob,
            &apk,
            good.replace(content, &content.to_uppercase()),
            400,
            None,
            "Unable to decrypt message",
        ),
        invalid(
            "envelope over 8192 bytes",
            "channel",
            &bob,
            &apk,
            good.replace(content, &"00".repeat(4100)),
            413,
            None,
            "Message to large",
        ),
        invalid(
            "MAC tampered",
            "channel",
            &bob,
            &apk,
            good.replace(content, &hex::encode(&flipped_mac)),
            400,
            None,
            "Unable to decrypt message",
        ),
        invalid(
            "NEW with R replaced by -R",
            "new",
            &bob,
            &apk,
            flipped_r.to_string(),
            400,
            None,
            "Unable to decrypt message",
        ),
        invalid(
            "NEW sealed to another key",
            "new",
            &other,
            &apk,
            good_new.clone(),
            400,
            None,
            "Unable to decrypt message",
        ),
        invalid(
            "channel message sealed for another recipient",
            "channel",
            &other,
            &apk,
            good.clone(),
            400,
            None,
            "Unable to decrypt message",
        ),
        invalid(
            "signature without the fio_dm domain (plain Ecc.sign of data)",
            "channel",
            &bob,
            &apk,
            sealed(
                &alice,
                &bob,
                &build_plaintext(&text_s, &alice.sign_message(text_s.as_bytes())).unwrap(),
            ),
            403,
            Some("signature"),
            "Invalid signature",
        ),
        invalid(
            "high-S signature",
            "channel",
            &bob,
            &apk,
            sealed(&alice, &bob, &build_plaintext(&text_s, &high).unwrap()),
            403,
            Some("signature"),
            "Invalid signature",
        ),
        invalid(
            "signature by another key",
            "channel",
            &bob,
            &apk,
            sealed(
                &alice,
                &bob,
                &build_plaintext(&text_s, &sign_data(&other, bob.public_key(), &text_s)).unwrap(),
            ),
            403,
            Some("signature"),
            "Invalid signature",
        ),
        invalid(
            "plaintext data is an object, not a string",
            "channel",
            &bob,
            &apk,
            sealed(
                &alice,
                &bob,
                json!({"data": text, "signature": sig.to_string()})
                    .to_string()
                    .as_bytes(),
            ),
            400,
            Some("data"),
            "Malformed message",
        ),
        invalid(
            "duplicate key inside data",
            "channel",
            &bob,
            &apk,
            {
                let dup = text_s.replacen("{", "{\"memo\":\"first\",", 1);
                signed(&alice, &bob, &dup)
            },
            400,
            Some("memo"),
            "Malformed message",
        ),
        invalid(
            "unknown action",
            "channel",
            &bob,
            &apk,
            {
                let d = text_s.replace("peer_send_private_text", "new_funds_request");
                signed(&alice, &bob, &d)
            },
            400,
            Some("action"),
            "Unknown action",
        ),
        invalid(
            "negative amount",
            "channel",
            &bob,
            &apk,
            {
                let d = funds.to_string().replace("\".000852\"", "\"-100\"");
                signed(&alice, &bob, &d)
            },
            400,
            Some("amount"),
            "Invalid amount",
        ),
        invalid(
            "onion return address",
            "channel",
            &bob,
            &apk,
            {
                let d = funds.to_string().replace("\"URL\"", "\"OA3\"");
                signed(&alice, &bob, &d)
            },
            400,
            Some("return_address_type"),
            "Unsupported return address type",
        ),
    ];
    let out = json!({
        "profile": "fio_dm 1.0",
        "spec": "docs/protocol.md §2",
        "generator": "cargo run --example fio_dm_vectors",
        "notes": "All hex lowercase. 'direction': 'both' cases must be reproduced byte for byte from their inputs (keys, IV, ephemeral key) and must open; 'open_only' cases must open. Invalid cases must be rejected with expected_error (type, field, message) by a receiver holding recipient_private_key that knows sender_public_key as the channel peer (or, for NEW, as the sender's registered key).",
        "valid": valid,
        "invalid": invalids,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
