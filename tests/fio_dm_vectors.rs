//! Every case of tests/vectors/fio_dm_v1.json as a named test, in both
//! directions: valid cases are rebuilt byte for byte from their inputs and
//! opened; invalid cases are rejected with the expected type, field and message.

use fio_peer::crypto::{PrivateKey, PublicKey, Signature};
use fio_peer::protocol::*;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

const VECTORS: &str = include_str!("vectors/fio_dm_v1.json");

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("missing {k}"))
}

/// The receive pipeline of docs/protocol.md §2.9, minus storage.
fn process(
    recipient: &PrivateKey,
    sender: &PublicKey,
    body: &[u8],
) -> Result<MessageData, ProtocolError> {
    let env = Envelope::parse(body)?;
    let plaintext = match env.id_token {
        IdToken::New => open_new(recipient, &env.content),
        IdToken::Token(_) => ChannelKey::derive(recipient, sender).open(&env.content),
    }
    .map_err(|_| ProtocolError::new(ErrorKind::DecryptionFailure))?;
    let (data, sig_text) = parse_plaintext(&plaintext)?;
    let sig = Signature::parse(&sig_text)
        .ok()
        .filter(|s| s.is_canonical() && s.is_low_s())
        .filter(|s| verify_data(sender, recipient.public_key(), &data, s))
        .ok_or_else(|| ProtocolError::with_value(ErrorKind::InvalidSignature, &sig_text))?;
    let _ = sig;
    let parsed = MessageData::parse(&data)?;
    parsed.validate()?;
    Ok(parsed)
}

fn valid_case(v: Value) -> Result<(), Failed> {
    let sender = PrivateKey::parse(s(&v, "sender_private_key"))?;
    let recipient = PrivateKey::parse(s(&v, "recipient_private_key"))?;
    let data = s(&v, "data");
    if s(&v, "direction") == "both" {
        let iv: [u8; 16] = hex::decode(s(&v, "iv_hex"))?.try_into().unwrap();
        let digest = signing_digest(recipient.public_key(), data.as_bytes());
        if hex::encode(digest) != s(&v, "signing_digest_hex") {
            return Err("signing digest differs".into());
        }
        let sig = sign_data(&sender, recipient.public_key(), data);
        if sig.to_string() != s(&v, "signature") {
            return Err("signature differs".into());
        }
        let plaintext = build_plaintext(data, &sig)?;
        if hex::encode(&plaintext) != s(&v, "plaintext_hex")
            || !PADDING_BUCKETS.contains(&plaintext.len())
        {
            return Err("padded plaintext differs".into());
        }
        let (id_token, content) = if s(&v, "kind") == "new" {
            let eph = PrivateKey::parse(s(&v, "ephemeral_private_key"))?;
            (
                IdToken::New,
                seal_new_with(&eph, &iv, recipient.public_key(), &plaintext),
            )
        } else {
            let token = serde_json::from_str::<Value>(s(&v, "envelope"))?["id_token"]
                .as_str()
                .unwrap()
                .to_string();
            (
                IdToken::Token(token),
                ChannelKey::derive(&sender, recipient.public_key()).seal_with_iv(&plaintext, &iv),
            )
        };
        if hex::encode(&content) != s(&v, "content_hex") {
            return Err("content differs".into());
        }
        if (Envelope { id_token, content }).to_json() != s(&v, "envelope") {
            return Err("envelope differs".into());
        }
    }
    let opened = process(
        &recipient,
        sender.public_key(),
        s(&v, "envelope").as_bytes(),
    )?;
    if opened.to_json() != data
        && serde_json::from_str::<Value>(&opened.to_json())? != serde_json::from_str::<Value>(data)?
    {
        return Err("opened data differs".into());
    }
    Ok(())
}

fn invalid_case(v: Value) -> Result<(), Failed> {
    let recipient = PrivateKey::parse(s(&v, "recipient_private_key"))?;
    let sender = PublicKey::parse(s(&v, "sender_public_key"))?;
    let expected = &v["expected_error"];
    match process(&recipient, &sender, s(&v, "envelope").as_bytes()) {
        Ok(_) => Err("accepted".into()),
        Err(e) => {
            let got = (e.code() as u64, e.field.clone(), e.message().to_string());
            let want = (
                expected["type"].as_u64().unwrap(),
                expected["field"].as_str().map(str::to_string),
                s(expected, "message").to_string(),
            );
            if got == want {
                Ok(())
            } else {
                Err(format!("got {got:?}, expected {want:?}").into())
            }
        }
    }
}

fn main() {
    let args = Arguments::from_args();
    let v: Value = serde_json::from_str(VECTORS).expect("vectors are JSON");
    let mut trials = Vec::new();
    for case in v["valid"].as_array().unwrap().clone() {
        trials.push(Trial::test(
            format!("valid::{}", s(&case, "label")),
            move || valid_case(case),
        ));
    }
    for case in v["invalid"].as_array().unwrap().clone() {
        trials.push(Trial::test(
            format!("invalid::{}", s(&case, "label")),
            move || invalid_case(case),
        ));
    }
    libtest_mimic::run(&args, trials).exit();
}
