//! Every case of tests/vectors/fip3_v1.json (docs/protocol.md §3) as a named
//! test: indexes and keys are derived again from the keys, ciphertexts are
//! rebuilt byte for byte from the fixed IV and opened, and action data packs
//! to its hex and back to its JSON.

use fio_peer::chain::PrivacyAction;
use fio_peer::crypto::{
    check_encrypt_with_iv, decrypt_content_json, decrypt_fip3_content, encrypt_content_with_iv,
    encrypt_fip3_content_with_iv, pad_fip3, ContentType, FioContent, FriendContent,
    NewFundsContent, PrivRecordSendContent, PrivateKey, FIP3_CONTENT_BUCKETS,
};
use fio_peer::friends::{look_up_index, request_index, LevelKey, WalletSecret};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

const VECTORS: &str = include_str!("vectors/fip3_v1.json");

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("missing {k}"))
}

fn key(v: &Value) -> PrivateKey {
    PrivateKey::parse(s(v, "private_key")).unwrap()
}

fn iv(v: &Value) -> [u8; 16] {
    hex::decode(s(v, "iv_hex")).unwrap().try_into().unwrap()
}

fn same(got: impl AsRef<str>, v: &Value, k: &str) -> Result<(), Failed> {
    if got.as_ref() == s(v, k) {
        Ok(())
    } else {
        Err(format!("{k}: got {}, expected {}", got.as_ref(), s(v, k)).into())
    }
}

fn pair(v: Value) -> Result<(), Failed> {
    let (a, b) = (key(&v["a"]), key(&v["b"]));
    for (own, other) in [(&a, &b), (&b, &a)] {
        let secret = own.shared_secret(other.public_key());
        same(hex::encode(secret.as_bytes()), &v, "shared_secret_hex")?;
        same(
            look_up_index(&secret, a.public_key()),
            &v,
            "look_up_index_of_a",
        )?;
        same(
            look_up_index(&secret, b.public_key()),
            &v,
            "look_up_index_of_b",
        )?;
        same(
            request_index(&secret, a.public_key()),
            &v,
            "request_index_for_a",
        )?;
        same(
            request_index(&secret, b.public_key()),
            &v,
            "request_index_for_b",
        )?;
    }
    Ok(())
}

fn level_keys(v: Value) -> Result<(), Failed> {
    let owner = key(&v["owner"]);
    let address = s(&v["owner"], "fio_address");
    let (chain, nbpa, iv) = (s(&v, "chain_code"), s(&v, "nbpa"), iv(&v));
    let w = WalletSecret::derive(&owner);
    same(hex::encode(w.as_bytes()), &v, "wallet_secret_hex")?;
    let keys = [
        (
            w.address_key(address),
            "address_key_hex",
            "public_key_address_level",
        ),
        (
            w.chain_key(address, chain),
            "chain_key_hex",
            "public_key_chain_level",
        ),
        (w.nbpa_key(nbpa), "nbpa_key_hex", "public_key_nbpa_level"),
    ];
    for (k, hex_field, ct_field) in &keys {
        same(hex::encode(k.as_bytes()), &v, hex_field)?;
        same(k.encrypt_nbpa_with_iv(nbpa, &iv), &v, ct_field)?;
        if k.decrypt_nbpa(s(&v, ct_field))? != nbpa {
            return Err(format!("{ct_field} does not open").into());
        }
    }
    // The friend opens the chain-level key granted to it, then the NBPA.
    let friend = key(&v["friend"]);
    let granted = s(&v, "decrypt_key_chain_level_for_friend");
    same(
        keys[1]
            .0
            .grant_with_iv(&owner.shared_secret(friend.public_key()), &iv),
        &v,
        "decrypt_key_chain_level_for_friend",
    )?;
    let opened = LevelKey::from_grant(
        &friend.shared_secret_candidates(owner.public_key()),
        granted,
    )?;
    if opened.decrypt_nbpa(s(&v, "public_key_chain_level"))? != nbpa {
        return Err("the granted key does not open the chain-level NBPA".into());
    }
    // The grant is the level key under checkEncrypt, nothing more.
    let raw = check_encrypt_with_iv(
        owner.shared_secret(friend.public_key()).as_bytes(),
        keys[1].0.as_bytes(),
        &iv,
    );
    use base64::Engine;
    same(
        base64::engine::general_purpose::STANDARD.encode(raw),
        &v,
        "decrypt_key_chain_level_for_friend",
    )?;
    Ok(())
}

fn content(v: Value) -> Result<(), Failed> {
    let ty = ContentType::parse(s(&v, "content_type"))?;
    let sender = PrivateKey::parse(s(&v, "sender_private_key"))?;
    let recipient = PrivateKey::parse(s(&v, "recipient_private_key"))?;
    let packed = ty.pack_json(&v["content_object"])?;
    same(hex::encode(&packed), &v, "abi_packed_hex")?;
    let iv = iv(&v);
    let object = v["content_object"].clone();
    let sealed = match ty {
        ContentType::FriendContent => {
            let c: FriendContent = serde_json::from_value(object)?;
            encrypt_content_with_iv(&sender, recipient.public_key(), &c, &iv)
        }
        ContentType::NewFundsContent => {
            let c: NewFundsContent = serde_json::from_value(object)?;
            encrypt_content_with_iv(&sender, recipient.public_key(), &c, &iv)
        }
        ContentType::PrivRecordSendContent => {
            let c: PrivRecordSendContent = serde_json::from_value(object)?;
            encrypt_content_with_iv(&sender, recipient.public_key(), &c, &iv)
        }
        other => return Err(format!("no FIP-3 vectors of {}", other.name()).into()),
    };
    same(sealed, &v, "content")?;
    for (own, other) in [(&recipient, &sender), (&sender, &recipient)] {
        let opened = decrypt_content_json(ty, own, other.public_key(), s(&v, "content"))?;
        if opened != v["content_object"] {
            return Err(format!("opened to {opened}").into());
        }
    }
    Ok(())
}

/// A profile-2 case: padded to its bucket, rebuilt byte for byte, opened
/// from both sides by the FIP-3 reader.
fn padded<T: FioContent + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
    v: &Value,
) -> Result<(), Failed> {
    let sender = PrivateKey::parse(s(v, "sender_private_key"))?;
    let recipient = PrivateKey::parse(s(v, "recipient_private_key"))?;
    let c: T = serde_json::from_value(v["content_object"].clone())?;
    same(hex::encode(c.pack()), v, "abi_packed_hex")?;
    let padded = pad_fip3(c.pack());
    same(hex::encode(&padded), v, "padded_hex")?;
    if !FIP3_CONTENT_BUCKETS.contains(&padded.len()) {
        return Err(format!("padded to {} bytes, not a bucket", padded.len()).into());
    }
    let secret = sender.shared_secret(recipient.public_key());
    same(
        encrypt_fip3_content_with_iv(&secret, &c, &iv(v)),
        v,
        "content",
    )?;
    for (own, other) in [(&recipient, &sender), (&sender, &recipient)] {
        let opened: T = decrypt_fip3_content(
            &own.shared_secret_candidates(other.public_key()),
            s(v, "content"),
        )
        .map_err(|e| format!("{e:?}"))?;
        if opened != c {
            return Err(format!("opened to {opened:?}").into());
        }
    }
    Ok(())
}

fn padded_content(v: Value) -> Result<(), Failed> {
    match ContentType::parse(s(&v, "content_type"))? {
        ContentType::FriendContent => padded::<FriendContent>(&v),
        ContentType::NewFundsContent => padded::<NewFundsContent>(&v),
        ContentType::PrivRecordSendContent => padded::<PrivRecordSendContent>(&v),
        other => Err(format!("no FIP-3 vectors of {}", other.name()).into()),
    }
}

/// Readers accept both profiles: every profile-1 content opens with the
/// FIP-3 reader too.
fn unpadded_opens(v: Value) -> Result<(), Failed> {
    let sender = PrivateKey::parse(s(&v, "sender_private_key"))?;
    let recipient = PrivateKey::parse(s(&v, "recipient_private_key"))?;
    let secrets = recipient.shared_secret_candidates(sender.public_key());
    let content = s(&v, "content");
    let ok = match ContentType::parse(s(&v, "content_type"))? {
        ContentType::FriendContent => {
            decrypt_fip3_content::<FriendContent>(&secrets, content).is_ok()
        }
        ContentType::NewFundsContent => {
            decrypt_fip3_content::<NewFundsContent>(&secrets, content).is_ok()
        }
        ContentType::PrivRecordSendContent => {
            decrypt_fip3_content::<PrivRecordSendContent>(&secrets, content).is_ok()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err("the FIP-3 reader refused a profile-1 content".into())
    }
}

/// What profile 2 is for: paid and rejected send actions, and requests
/// whatever their amounts and memos (up to the bucket), look alike.
fn sizes_hide_outcomes(v: Value) -> Result<(), Failed> {
    let len = |label: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|c| s(c, "label") == label)
            .map(|c| s(c, "content").len())
            .unwrap()
    };
    let (paid, rejected) = (len("send_action paid"), len("send_action rejected"));
    let (request, long) = (
        len("private_request payee→payer"),
        len("private_request, a 300-byte memo"),
    );
    if paid != rejected || request != paid || long == request {
        return Err(format!(
            "paid {paid}, rejected {rejected}, request {request}, long memo {long}"
        )
        .into());
    }
    Ok(())
}

fn action(v: Value) -> Result<(), Failed> {
    let name = s(&v, "name");
    let a = PrivacyAction::from_json(name, &v["data"])?;
    same(hex::encode(a.pack()), &v, "hex_data")?;
    let back = PrivacyAction::unpack(name, &hex::decode(s(&v, "hex_data"))?)?;
    if back.to_json() != v["data"] {
        return Err(format!("unpacked to {}", back.to_json()).into());
    }
    same(format!("/v1/chain/{}", back.endpoint()), &v, "endpoint")?;
    Ok(())
}

fn main() {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    let mut trials = Vec::new();
    for c in v["pairs"].as_array().unwrap().clone() {
        trials.push(Trial::test(
            format!("pair::{}", s(&c, "label")),
            move || pair(c),
        ));
    }
    let lk = v["level_keys"].clone();
    trials.push(Trial::test("level_keys", move || level_keys(lk)));
    for c in v["contents"].as_array().unwrap().clone() {
        let again = c.clone();
        trials.push(Trial::test(
            format!("content::{}", s(&c, "label")),
            move || content(c),
        ));
        trials.push(Trial::test(
            format!(
                "content::{}::opens_with_the_fip3_reader",
                s(&again, "label")
            ),
            move || unpadded_opens(again),
        ));
    }
    for c in v["padded_contents"].as_array().unwrap().clone() {
        trials.push(Trial::test(
            format!("padded_content::{}", s(&c, "label")),
            move || padded_content(c),
        ));
    }
    let all = v["padded_contents"].clone();
    trials.push(Trial::test(
        "padded_content::sizes_hide_outcomes",
        move || sizes_hide_outcomes(all),
    ));
    for c in v["actions"].as_array().unwrap().clone() {
        trials.push(Trial::test(
            format!("action::{}", s(&c, "name")),
            move || action(c),
        ));
    }
    libtest_mimic::run(&Arguments::from_args(), trials).exit();
}
