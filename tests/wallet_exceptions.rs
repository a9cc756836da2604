//! One test per row of FIP-24's "Exception handling" table: each rejection
//! carries the row's type, field, the offending value and the FIP's message.

mod common;

use common::*;
use fio_peer::protocol::{
    parse_plaintext, Action, ChannelKey, Envelope, ErrorKind, MessageData, ProtocolError,
};
use fio_peer::wallet::*;
use serde_json::json;

/// Alice and Bob with an open channel, and the token Alice writes to Bob with.
fn setup() -> (std::sync::Arc<MapDirectory>, Party, Party, String) {
    let (dir, alice, bob) = two();
    open(&alice, &bob);
    let probe = alice
        .wallet
        .send_private_text("bob@demo", "probe", None)
        .unwrap();
    bob.wallet.receive(probe.envelope.as_bytes()).unwrap();
    let token = token_of(&probe.envelope);
    (dir, alice, bob, token)
}

fn data(action: &str, extra: serde_json::Value) -> String {
    let mut d = json!({
        "action": action,
        "message_id": fio_peer::protocol::generate_message_id(),
        "sender_fio_address": "alice@demo",
        "recipient_fio_address": "bob@demo",
    });
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    d.to_string()
}

fn funds(extra: serde_json::Value) -> String {
    let mut base = json!({"payee_public_address": "bc1qxyz", "chain_code": "BTC", "token_code": "BTC", "amount": "1.5"});
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    data("peer_new_funds_request", base)
}

/// Sends crafted data from Alice on the channel and returns Bob's rejection.
fn reject(
    alice: &Party,
    bob: &Party,
    token: &str,
    data_text: &str,
) -> (ProtocolError, Vec<Outgoing>) {
    let env = craft(
        Some(token),
        &alice.key,
        &alice.key,
        bob.key.public_key(),
        data_text,
    );
    rejected(bob.wallet.receive(env.as_bytes()))
}

/// Bob's key, as Alice's channel knows it.
fn bob_key(alice: &Party) -> fio_peer::crypto::PublicKey {
    alice
        .wallet
        .channel("bob@demo")
        .unwrap()
        .unwrap()
        .peer_public_key
}

fn assert_row(
    e: &ProtocolError,
    code: u16,
    field: Option<&str>,
    value: Option<&str>,
    message: &str,
) {
    assert_eq!(e.code(), code, "{e}");
    assert_eq!(e.field.as_deref(), field, "{e}");
    assert_eq!(e.value.as_deref(), value, "{e}");
    assert_eq!(e.message(), message, "{e}");
}

/// An authenticated rejection is answered with an error status naming the field.
fn assert_error_status(replies: &[Outgoing], alice: &Party, expected: &str) {
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].action, Action::ReturnMessageStatus);
    // Alice's wallet would refuse it (it references a message she never
    // stored, since the tests craft them), so open it directly.
    let env = Envelope::parse(replies[0].envelope.as_bytes()).unwrap();
    let plain = ChannelKey::derive(&alice.key, &bob_key(alice))
        .open(&env.content)
        .unwrap();
    let (data_text, _) = parse_plaintext(&plain).unwrap();
    let data = MessageData::parse(&data_text).unwrap();
    assert_eq!(data.message_status.as_deref(), Some(expected));
}

#[test]
fn invalid_protocol() {
    let (_d, _a, bob, _t) = setup();
    let body =
        json!({"protocol":"fio_https","version":"1.0","id_token":"NEW","content":"00"}).to_string();
    let (e, replies) = rejected(bob.wallet.receive(body.as_bytes()));
    assert_row(
        &e,
        400,
        Some("protocol"),
        Some("fio_https"),
        "Protocol not supported",
    );
    assert!(replies.is_empty());
    let body =
        json!({"protocol":"fio_dm","version":"1.00","id_token":"NEW","content":"00"}).to_string();
    let (e, _) = rejected(bob.wallet.receive(body.as_bytes()));
    assert_row(
        &e,
        400,
        Some("version"),
        Some("1.00"),
        "Protocol not supported",
    );
}

#[test]
fn invalid_id() {
    let (_d, alice, bob, _t) = setup();
    let (e, replies) = reject(
        &alice,
        &bob,
        "P-0000aaaa",
        &data("peer_send_private_text", json!({"memo":"x"})),
    );
    assert_row(
        &e,
        400,
        Some("id_token"),
        Some("P-0000aaaa"),
        "Unrecognized id",
    );
    assert!(
        replies.is_empty(),
        "an unidentified sender is never answered"
    );
    let body =
        json!({"protocol":"fio_dm","version":"1.0","id_token":"%bad%","content":"00"}).to_string();
    let (e, _) = rejected(bob.wallet.receive(body.as_bytes()));
    assert_row(&e, 400, Some("id_token"), Some("%bad%"), "Unrecognized id");
}

#[test]
fn invalid_action() {
    let (_d, alice, bob, token) = setup();
    let (e, replies) = reject(&alice, &bob, &token, &data("new_funds_request", json!({})));
    assert_row(
        &e,
        400,
        Some("action"),
        Some("new_funds_request"),
        "Unknown action",
    );
    assert_error_status(&replies, &alice, "error:400:action");
}

#[test]
fn invalid_message_id() {
    let (_d, alice, bob, token) = setup();
    let mut d: serde_json::Value =
        serde_json::from_str(&data("peer_send_private_text", json!({"memo":"x"}))).unwrap();
    d["message_id"] = json!("bad id!");
    let (e, replies) = reject(&alice, &bob, &token, &d.to_string());
    assert_row(
        &e,
        400,
        Some("message_id"),
        Some("bad id!"),
        "Invalid or reused message number",
    );
    assert!(replies.is_empty(), "no message id to answer");
    // Reuse: a new message with an old id.
    d["message_id"] = json!("0000000000000001");
    let env = craft(
        Some(&token),
        &alice.key,
        &alice.key,
        bob.key.public_key(),
        &d.to_string(),
    );
    bob.wallet.receive(env.as_bytes()).unwrap();
    d["memo"] = json!("different text, same id");
    let (e, replies) = reject(&alice, &bob, &token, &d.to_string());
    assert_row(
        &e,
        400,
        Some("message_id"),
        Some("0000000000000001"),
        "Invalid or reused message number",
    );
    assert!(replies.is_empty(), "replays are not answered");
}

#[test]
fn invalid_responded_message_id() {
    let (_d, alice, bob, token) = setup();
    let (e, replies) = reject(
        &alice,
        &bob,
        &token,
        &data(
            "peer_accept_request",
            json!({"referenced_message_id": "nonexistent1"}),
        ),
    );
    assert_row(
        &e,
        400,
        Some("referenced_message_id"),
        Some("nonexistent1"),
        "Invalid responded message Id",
    );
    assert_error_status(&replies, &alice, "error:400:referenced_message_id");
    let (e, _) = reject(
        &alice,
        &bob,
        &token,
        &data(
            "peer_return_message_status",
            json!({"referenced_message_id": "-1!", "message_status": "success"}),
        ),
    );
    assert_row(
        &e,
        400,
        Some("referenced_message_id"),
        Some("-1!"),
        "Invalid responded message Id",
    );
}

#[test]
fn invalid_sender_fio_address() {
    let (_d, alice, bob, token) = setup();
    let mut d: serde_json::Value =
        serde_json::from_str(&data("peer_send_private_text", json!({"memo":"x"}))).unwrap();
    d["sender_fio_address"] = json!("noone@wallet");
    let (e, replies) = reject(&alice, &bob, &token, &d.to_string());
    assert_row(
        &e,
        400,
        Some("sender_fio_address"),
        Some("noone@wallet"),
        "Invalid fio address",
    );
    assert_error_status(&replies, &alice, "error:400:sender_fio_address");
}

#[test]
fn invalid_recipient_fio_address() {
    let (_d, alice, bob, token) = setup();
    let mut d: serde_json::Value =
        serde_json::from_str(&data("peer_send_private_text", json!({"memo":"x"}))).unwrap();
    d["recipient_fio_address"] = json!("noone@wallet");
    let (e, _) = reject(&alice, &bob, &token, &d.to_string());
    assert_row(
        &e,
        400,
        Some("recipient_fio_address"),
        Some("noone@wallet"),
        "Invalid fio address",
    );
}

#[test]
fn invalid_return_address() {
    let (_d, alice, bob, token) = setup();
    let d = funds(json!({"return_address": "domain.name.com_0123", "return_address_type": "URL"}));
    let (e, _) = reject(&alice, &bob, &token, &d);
    assert_row(
        &e,
        400,
        Some("return_address"),
        Some("domain.name.com_0123"),
        "Invalid return address",
    );
    let d = funds(json!({"return_address": "300.1.1.1:99", "return_address_type": "IPA"}));
    let (e, _) = reject(&alice, &bob, &token, &d);
    assert_eq!(e.kind, ErrorKind::InvalidReturnAddress);
}

#[test]
fn invalid_return_address_type() {
    let (_d, alice, bob, token) = setup();
    let d = funds(
        json!({"return_address": "pymmivd4krv2f07q87oz99kcvn4w4ongj9n70r6fjff75ht46uwnayid.onion:3031", "return_address_type": "OA3"}),
    );
    let (e, replies) = reject(&alice, &bob, &token, &d);
    assert_row(
        &e,
        400,
        Some("return_address_type"),
        Some("OA3"),
        "Unsupported return address type",
    );
    assert_error_status(&replies, &alice, "error:400:return_address_type");
}

#[test]
fn invalid_return_id_token() {
    let (_d, alice, bob, token) = setup();
    let (e, _) = reject(
        &alice,
        &bob,
        &token,
        &data(
            "peer_update_com_data_request",
            json!({"return_id_token": "%01234%"}),
        ),
    );
    assert_row(
        &e,
        400,
        Some("return_id_token"),
        Some("%01234%"),
        "Invalid return id token",
    );
}

#[test]
fn invalid_public_address() {
    let (_d, alice, bob, token) = setup();
    let (e, _) = reject(
        &alice,
        &bob,
        &token,
        &funds(json!({"payee_public_address": "bc0 with space"})),
    );
    assert_row(
        &e,
        400,
        Some("payee_public_address"),
        Some("bc0 with space"),
        "invalid public address",
    );
}

#[test]
fn invalid_chain_code() {
    let (_d, alice, bob, token) = setup();
    let (e, _) = reject(&alice, &bob, &token, &funds(json!({"chain_code": "BTC%"})));
    assert_row(
        &e,
        400,
        Some("chain_code"),
        Some("BTC%"),
        "Invalid Chain Code",
    );
}

#[test]
fn invalid_token_code() {
    let (_d, alice, bob, token) = setup();
    let (e, _) = reject(&alice, &bob, &token, &funds(json!({"token_code": "BTC%"})));
    assert_row(
        &e,
        400,
        Some("token_code"),
        Some("BTC%"),
        "Invalid Token Code",
    );
}

#[test]
fn invalid_amount() {
    let (_d, alice, bob, token) = setup();
    let (e, replies) = reject(&alice, &bob, &token, &funds(json!({"amount": "-100"})));
    assert_row(&e, 400, Some("amount"), Some("-100"), "Invalid amount");
    assert_error_status(&replies, &alice, "error:400:amount");
    // Empty is allowed in a funds request ("for the recipient to choose").
    let ok = craft(
        Some(&token),
        &alice.key,
        &alice.key,
        bob.key.public_key(),
        &funds(json!({"amount": ""})),
    );
    bob.wallet.receive(ok.as_bytes()).unwrap();
}

#[test]
fn decryption_failure() {
    let (_d, alice, bob, token) = setup();
    let env = craft(
        Some(&token),
        &alice.key,
        &alice.key,
        bob.key.public_key(),
        &funds(json!({})),
    );
    let mut v: serde_json::Value = serde_json::from_str(&env).unwrap();
    let content = v["content"].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        &content[..40],
        if &content[40..41] == "0" { "1" } else { "0" }
    ) + &content[41..];
    v["content"] = json!(flipped);
    let (e, replies) = rejected(bob.wallet.receive(v.to_string().as_bytes()));
    assert_row(&e, 400, None, None, "Unable to decrypt message");
    assert!(
        replies.is_empty(),
        "nothing is answered before the MAC checks out"
    );
}

#[test]
fn unrecognized_signature() {
    let (dir, alice, bob, token) = setup();
    let mallory = party(&dir, "mallory@demo");
    // Sealed with the channel key but signed by someone else.
    let env = craft(
        Some(&token),
        &mallory.key,
        &alice.key,
        bob.key.public_key(),
        &funds(json!({})),
    );
    let (e, _) = rejected(bob.wallet.receive(env.as_bytes()));
    assert_eq!(e.code(), 403);
    assert_eq!(e.field.as_deref(), Some("signature"));
    assert!(e.value.as_deref().unwrap().starts_with("SIG_K1_"));
    assert_eq!(e.message(), "Invalid signature");
}

#[test]
fn not_owner_of_fio_address() {
    let (dir, _alice, bob, _t) = setup();
    let mallory = party(&dir, "mallory@demo");
    // Mallory claims to be alice@demo in a first message.
    let d = json!({"action":"peer_new_com_request","message_id":"01","sender_fio_address":"alice@demo",
                   "recipient_fio_address":"bob@demo","return_id_token":"0123456789abcdef0123456789abcdef"}).to_string();
    let env = craft(None, &mallory.key, &mallory.key, bob.key.public_key(), &d);
    let (e, replies) = rejected(bob.wallet.receive(env.as_bytes()));
    assert_row(&e, 403, None, None, "Invalid id");
    assert!(replies.is_empty());
}

#[test]
fn payload_too_large() {
    let (_d, alice, bob, _t) = setup();
    let body = format!(
        r#"{{"protocol":"fio_dm","version":"1.0","id_token":"NEW","content":"{}"}}"#,
        "00".repeat(4100)
    );
    assert!(body.len() > 8192);
    let (e, _) = rejected(bob.wallet.receive(body.as_bytes()));
    assert_row(&e, 413, None, None, "Message to large");
    // And the sender refuses to build one.
    match alice
        .wallet
        .send_private_text("bob@demo", &"x".repeat(5000), None)
    {
        Err(WalletError::InvalidInput(e)) => assert_eq!(e.code(), 413),
        other => panic!("{other:?}"),
    }
}
