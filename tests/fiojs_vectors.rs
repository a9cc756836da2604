//! Every vector produced by the real fiojs 1.0.2 / fiosdk 1.10.3
//! (`tests/vectors/fiojs-vectors.json`, a copy of the team's
//! `shared/vectors/fiojs-vectors.json`) runs as its own named test case.

use fio_peer::crypto::*;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

const VECTORS: &str = include_str!("vectors/fiojs-vectors.json");

type Check = Result<(), Failed>;

macro_rules! ensure_eq {
    ($left:expr, $right:expr, $what:expr) => {{
        match (&$left, &$right) {
            (l, r) => {
                if l != r {
                    return Err(format!("{}: got {:?}, expected {:?}", $what, l, r).into());
                }
            }
        }
    }};
}
macro_rules! ensure {
    ($cond:expr, $what:expr) => {{
        if !$cond {
            return Err(format!("{}", $what).into());
        }
    }};
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key} is not a string"))
}
fn hx(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(s(v, key)).unwrap_or_else(|_| panic!("vector field {key} is not hex"))
}
fn pk(text: &str) -> PrivateKey {
    PrivateKey::parse(text).expect("vector private key parses")
}
fn pubk(text: &str) -> PublicKey {
    PublicKey::parse(text).expect("vector public key parses")
}
fn d32(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().expect("32-byte digest")
}

fn trial(name: String, f: impl FnOnce() -> Check + Send + 'static) -> Trial {
    Trial::test(name, f)
}

fn main() {
    let args = Arguments::from_args();
    let v: Value = serde_json::from_str(VECTORS).expect("vectors file is JSON");
    let mut trials = Vec::new();

    for k in v["keys"].as_array().unwrap().clone() {
        let label = s(&k, "label").to_string();
        let k1 = k.clone();
        trials.push(trial(
            format!("keys::{label}::private_key_forms"),
            move || {
                let k = k1;
                let key = PrivateKey::from_bytes(&hx(&k, "private_key_hex"))?;
                ensure_eq!(key.to_wif().as_str(), s(&k, "wif"), "WIF");
                ensure_eq!(key.to_pvt_k1().as_str(), s(&k, "pvt_k1"), "PVT_K1");
                for form in ["wif", "wif_compressed_flag", "pvt_k1"] {
                    let parsed = PrivateKey::parse(s(&k, form))?;
                    ensure_eq!(&parsed.to_bytes()[..], &hx(&k, "private_key_hex")[..], form);
                }
                Ok(())
            },
        ));
        let k2 = k.clone();
        trials.push(trial(
            format!("keys::{label}::public_key_forms"),
            move || {
                let k = k2;
                let key = pk(s(&k, "wif"));
                let public = key.public_key();
                ensure_eq!(
                    hex::encode(public.to_bytes()),
                    s(&k, "public_key_compressed_hex"),
                    "compressed point"
                );
                ensure_eq!(
                    hex::encode(public.to_uncompressed()),
                    s(&k, "public_key_uncompressed_hex"),
                    "uncompressed point"
                );
                ensure_eq!(public.to_fio_string(), s(&k, "fio_public_key"), "FIO key");
                ensure_eq!(public.to_pub_k1(), s(&k, "pub_k1"), "PUB_K1 key");
                ensure_eq!(
                    PublicKey::parse(s(&k, "fio_public_key"))?,
                    *public,
                    "parse FIO"
                );
                ensure_eq!(PublicKey::parse(s(&k, "pub_k1"))?, *public, "parse PUB_K1");
                ensure_eq!(
                    PublicKey::from_sec1(&hx(&k, "public_key_uncompressed_hex"))?,
                    *public,
                    "parse SEC1 65"
                );
                Ok(())
            },
        ));
        let k3 = k.clone();
        trials.push(trial(format!("keys::{label}::account_name"), move || {
            let k = k3;
            ensure_eq!(
                pubk(s(&k, "fio_public_key")).account_name(),
                s(&k, "fio_account_name"),
                "account"
            );
            Ok(())
        }));
    }

    for (i, n) in v["key_negative"]
        .as_array()
        .unwrap()
        .clone()
        .into_iter()
        .enumerate()
    {
        trials.push(trial(format!("key_negative::{i}"), move || {
            // We are stricter than fiojs Ecc (byte checksums, mandatory prefix):
            // every one of these is rejected, including the two fiojs accepts.
            let input = s(&n, "input");
            ensure!(
                PublicKey::parse(input).is_err(),
                format!("accepted {input} ({})", s(&n, "what"))
            );
            Ok(())
        }));
    }

    for (i, h) in v["hd_derivation"]
        .as_array()
        .unwrap()
        .clone()
        .into_iter()
        .enumerate()
    {
        trials.push(trial(format!("hd_derivation::{i}"), move || {
            let key = derive_from_mnemonic(s(&h, "mnemonic"))?;
            ensure_eq!(s(&h, "path"), FIO_DERIVATION_PATH, "path");
            ensure_eq!(
                hex::encode(&key.to_bytes()[..]),
                s(&h, "private_key_hex"),
                "private key"
            );
            ensure_eq!(key.to_wif().as_str(), s(&h, "wif"), "WIF");
            ensure_eq!(
                key.public_key().to_fio_string(),
                s(&h, "fio_public_key"),
                "public key"
            );
            Ok(())
        }));
    }

    for e in v["ecdh"].as_array().unwrap().clone() {
        let label = s(&e, "label").to_string();
        trials.push(trial(format!("ecdh::{label}"), move || {
            let (a, b) = (pk(s(&e, "a_private_wif")), pk(s(&e, "b_private_wif")));
            let (pa, pb) = (
                pubk(s(&e, "a_fio_public_key")),
                pubk(s(&e, "b_fio_public_key")),
            );
            let ab = a.shared_secret(&pb);
            ensure_eq!(
                hex::encode(ab.as_bytes()),
                s(&e, "shared_secret_a_to_b_hex"),
                "a→b"
            );
            ensure_eq!(
                hex::encode(b.shared_secret(&pa).as_bytes()),
                s(&e, "shared_secret_b_to_a_hex"),
                "b→a"
            );
            let k = <sha2::Sha512 as sha2::Digest>::digest(ab.as_bytes());
            ensure_eq!(hex::encode(&k[..32]), s(&e, "Ke_hex"), "Ke");
            ensure_eq!(hex::encode(&k[32..]), s(&e, "Km_hex"), "Km");
            let candidates = a.shared_secret_candidates(&pb);
            if e["x_has_leading_zero_byte"].as_bool().unwrap() {
                let padded = s(&e, "sha512_of_padded_x_hex_NOT_fiojs");
                ensure_eq!(
                    hex::encode(a.shared_secret_padded(&pb).as_bytes()),
                    padded,
                    "padded a→b"
                );
                ensure_eq!(
                    hex::encode(b.shared_secret_padded(&pa).as_bytes()),
                    padded,
                    "padded b→a"
                );
                ensure_eq!(candidates.len(), 2, "candidates with a leading zero");
                ensure_eq!(
                    hex::encode(candidates[1].as_bytes()),
                    padded,
                    "second candidate"
                );
            } else {
                ensure_eq!(
                    a.shared_secret_padded(&pb),
                    ab,
                    "padded = fiojs without a leading zero"
                );
                ensure_eq!(candidates.len(), 1, "candidates without a leading zero");
            }
            ensure_eq!(candidates[0], ab, "first candidate is the fiojs form");
            Ok(())
        }));
    }

    for c in v["check_encrypt"].as_array().unwrap().clone() {
        let label = s(&c, "label").to_string();
        trials.push(trial(format!("check_encrypt::{label}"), move || {
            let secret = hx(&c, "shared_secret_hex");
            let iv: [u8; 16] = hx(&c, "iv_hex").try_into().unwrap();
            let out = check_encrypt_with_iv(&secret, &hx(&c, "plaintext_hex"), &iv);
            ensure_eq!(
                hex::encode(&out),
                s(&c, "output_hex"),
                "checkEncrypt output"
            );
            ensure_eq!(
                hex::encode(&out[16..out.len() - 32]),
                s(&c, "aes_ciphertext_hex"),
                "AES part"
            );
            ensure_eq!(
                hex::encode(&out[out.len() - 32..]),
                s(&c, "hmac_sha256_hex"),
                "HMAC part"
            );
            ensure_eq!(
                check_decrypt(&secret, &hx(&c, "output_hex"))?,
                hx(&c, "plaintext_hex"),
                "checkDecrypt"
            );
            ensure_eq!(
                check_decrypt(&secret, &hx(&c, "tampered_hex")),
                Err(DecryptError),
                "tampered"
            );
            Ok(())
        }));
    }

    for c in v["content_encryption"].as_array().unwrap().clone() {
        let label = s(&c, "label").to_string();
        trials.push(trial(format!("content_encryption::{label}"), move || {
            let ty = ContentType::parse(s(&c, "content_type"))?;
            let sender = pk(s(&c, "sender_private_wif"));
            let recipient = pk(s(&c, "recipient_private_wif"));
            ensure_eq!(
                sender.public_key().to_fio_string(),
                s(&c, "sender_fio_public_key"),
                "sender key"
            );
            let packed = ty.pack_json(&c["content_object"])?;
            ensure_eq!(hex::encode(&packed), s(&c, "abi_packed_hex"), "ABI packing");
            let iv: [u8; 16] = hx(&c, "iv_hex").try_into().unwrap();
            let typed = match ty {
                ContentType::NewFundsContent => {
                    let t: NewFundsContent = serde_json::from_value(c["content_object"].clone())?;
                    ensure_eq!(t.pack(), packed, "typed packing");
                    encrypt_content_with_iv(&sender, recipient.public_key(), &t, &iv)
                }
                ContentType::RecordObtDataContent => {
                    let t: RecordObtDataContent =
                        serde_json::from_value(c["content_object"].clone())?;
                    ensure_eq!(t.pack(), packed, "typed packing");
                    encrypt_content_with_iv(&sender, recipient.public_key(), &t, &iv)
                }
                other => return Err(format!("fiojs has no {} vectors", other.name()).into()),
            };
            ensure_eq!(
                typed,
                s(&c, "encrypted_content_base64"),
                "encrypted content"
            );
            let expected = &c["decrypted_by_recipient_via_fiosdk"];
            let content = s(&c, "encrypted_content_base64");
            let got = decrypt_content_json(ty, &recipient, sender.public_key(), content)?;
            ensure_eq!(&got, expected, "recipient decrypts");
            let got = decrypt_content_json(ty, &sender, recipient.public_key(), content)?;
            ensure_eq!(&got, expected, "sender decrypts its own content");
            Ok(())
        }));
    }

    for (i, c) in v["cross_sdk"]["ciphertexts"]
        .as_array()
        .unwrap()
        .clone()
        .into_iter()
        .enumerate()
    {
        trials.push(trial(format!("cross_sdk::ciphertext_{i}"), move || {
            let own = pk(s(&c, "decrypt_private_wif"));
            let peer = pubk(s(&c, "counterparty_fio_public_key"));
            let ty = ContentType::parse(s(&c, "content_type"))?;
            let data = base64_decode(s(&c, "encrypted_content_base64"));
            let plain = check_decrypt_any(&own.shared_secret_candidates(&peer), &data)?;
            ensure_eq!(hex::encode(&plain), s(&c, "plaintext_hex"), "plaintext");
            let decrypted =
                decrypt_content_json(ty, &own, &peer, s(&c, "encrypted_content_base64"));
            if c["abi_decode_error"].is_null() {
                ensure_eq!(decrypted?, c["decrypted_content"], "decoded content");
            } else {
                // Pre-2020 ABI: authentic, but not today's new_funds_content.
                ensure!(
                    ty.unpack_values(&plain).is_err(),
                    "old-ABI plaintext must not unpack"
                );
                ensure_eq!(
                    decrypted,
                    Err(DecryptError),
                    "content decrypt fails uniformly"
                );
            }
            Ok(())
        }));
    }
    for (i, c) in v["cross_sdk"]["ios_fixed_iv_vectors"]
        .as_array()
        .unwrap()
        .clone()
        .into_iter()
        .enumerate()
    {
        trials.push(trial(format!("cross_sdk::ios_fixed_iv_{i}"), move || {
            let own = pk(s(&c, "private_wif"));
            let secret = own.shared_secret(&pubk(s(&c, "counterparty_fio_public_key")));
            let iv: [u8; 16] = hx(&c, "iv_hex").try_into().unwrap();
            let out = check_encrypt_with_iv(secret.as_bytes(), &hx(&c, "plaintext_hex"), &iv);
            ensure_eq!(
                hex::encode(out),
                s(&c, "expected_output_hex_from_ios_test"),
                "iOS vector"
            );
            Ok(())
        }));
    }

    for g in v["signatures"].as_array().unwrap().clone() {
        let label = s(&g, "label").to_string();
        trials.push(trial(format!("signatures::{label}"), move || {
            let key = pk(s(&g, "signer_wif"));
            let message = hx(&g, "message_hex");
            let digest = d32(&hx(&g, "sha256_digest_hex"));
            ensure_eq!(sha256(&message), digest, "sha256");
            let sig = key.sign_message(&message);
            ensure_eq!(sig.to_string(), s(&g, "signature"), "SIG_K1");
            ensure_eq!(key.sign_digest(&digest), sig, "signHash = sign");
            ensure_eq!(hex::encode(sig.to_bytes()), s(&g, "sig65_hex"), "sig65");
            ensure_eq!(
                sig.recovery_id() as u64,
                g["recovery_id"].as_u64().unwrap(),
                "recovery id"
            );
            ensure_eq!(
                sig.to_bytes()[0] as u64,
                g["header_byte"].as_u64().unwrap(),
                "header"
            );
            ensure_eq!(hex::encode(sig.r()), s(&g, "r_hex"), "r");
            ensure_eq!(hex::encode(sig.s()), s(&g, "s_hex"), "s");
            ensure!(sig.is_canonical() && sig.is_low_s(), "canonical low-S");
            let parsed = Signature::parse(s(&g, "signature"))?;
            ensure_eq!(parsed, sig, "parse");
            let signer = pubk(s(&g, "signer_fio_public_key"));
            ensure_eq!(
                parsed.verify_message(&message, &signer),
                g["verify_with_signer_key"].as_bool().unwrap(),
                "verify"
            );
            let other = PrivateKey::from_bytes(&[0x11; 32])?;
            ensure!(
                !parsed.verify_message(&message, other.public_key()),
                "verify with another key"
            );
            let mut modified = message.clone();
            modified.push(b'!');
            ensure!(
                !parsed.verify_message(&modified, &signer),
                "verify a modified message"
            );
            ensure_eq!(
                parsed.recover_message(&message)?.to_fio_string(),
                s(&g, "recovered_public_key"),
                "recover"
            );
            Ok(())
        }));
    }

    let t = v["transaction_signature"].clone();
    trials.push(trial(
        "transaction_signature::transaction_digest".into(),
        move || {
            let mut buf = hx(&t, "chain_id_hex");
            buf.extend(hx(&t, "serialized_transaction_hex"));
            buf.extend([0u8; 32]);
            ensure_eq!(hex::encode(&buf), s(&t, "sign_buffer_hex"), "sign buffer");
            let digest = sha256(&buf);
            ensure_eq!(hex::encode(digest), s(&t, "sha256_digest_hex"), "digest");
            ensure_eq!(
                pk(s(&t, "signer_wif")).sign_digest(&digest).to_string(),
                s(&t, "signature"),
                "signature"
            );
            Ok(())
        },
    ));

    let h = v["hash_function_a"]["fiojs_test"].clone();
    trials.push(trial("hash_function_a::fiojs_test".into(), move || {
        let key = pk(s(&h, "private_key_wif"));
        let secret = key.shared_secret(key.public_key());
        ensure_eq!(
            hex::encode(secret.as_bytes()),
            s(&h, "shared_secret_hex"),
            "self secret"
        );
        ensure_eq!(
            hash_a(secret.as_bytes(), b""),
            s(&h, "hashA_empty_string"),
            "hashA('')"
        );
        ensure_eq!(
            hash_a(secret.as_bytes(), &[]),
            s(&h, "hashA_empty_buffer"),
            "hashA(Buffer(''))"
        );
        ensure_eq!(
            hash_a(secret.as_bytes(), key.public_key().as_bytes()),
            s(&h, "hashA_pubkey33"),
            "hashA(pub)"
        );
        Ok(())
    }));
    for f in v["hash_function_a"]["friend_list_lookup_index"]
        .as_array()
        .unwrap()
        .clone()
    {
        let label = s(&f, "label").to_string();
        trials.push(trial(
            format!("hash_function_a::friend_list_lookup_index::{label}"),
            move || {
                let (p1, p2) = (pk(s(&f, "party_1_wif")), pk(s(&f, "party_2_wif")));
                let hashed = pubk(s(&f, "hashed_key"));
                let expected = s(&f, "lookup_index_hashA_pubkey33");
                for (own, peer) in [(&p1, p2.public_key()), (&p2, p1.public_key())] {
                    let secret = own.shared_secret(peer);
                    ensure_eq!(
                        hex::encode(secret.as_bytes()),
                        s(&f, "shared_secret_hex"),
                        "secret"
                    );
                    ensure_eq!(
                        hash_a(secret.as_bytes(), hashed.as_bytes()),
                        expected,
                        "look-up index"
                    );
                    let alt = hash_a(secret.as_bytes(), hashed.to_fio_string().as_bytes());
                    ensure_eq!(
                        alt,
                        s(&f, "alt_hashA_of_fio_pubkey_string_utf8"),
                        "string-form index"
                    );
                }
                let decimal = u128::from_str_radix(&expected[2..], 16)?.to_string();
                ensure_eq!(
                    decimal,
                    s(&f, "lookup_index_as_uint128_decimal_big_endian"),
                    "uint128"
                );
                Ok(())
            },
        ));
    }
    let r = v["hash_function_a"]["request_lookup_index_interpretation"].clone();
    trials.push(trial(
        "hash_function_a::request_lookup_index_interpretation".into(),
        move || {
            let payee = pk(s(&r, "payee_wif"));
            let payer = pubk(s(&r, "payer_fio_public_key"));
            let secret = payee.shared_secret(&payer);
            ensure_eq!(
                hex::encode(secret.as_bytes()),
                s(&r, "shared_secret_hex"),
                "secret"
            );
            let mut key = secret.as_bytes().to_vec();
            key.extend(payer.as_bytes());
            ensure_eq!(hex::encode(&key), s(&r, "hmac_key_hex"), "HMAC key");
            ensure_eq!(
                hex::encode(payer.as_bytes()),
                s(&r, "message_hex"),
                "message"
            );
            let index =
                hash_a_with_key_suffix(secret.as_bytes(), payer.as_bytes(), payer.as_bytes());
            ensure_eq!(index, s(&r, "lookup_index_for_payer"), "request index");
            Ok(())
        },
    ));

    libtest_mimic::run(&args, trials).exit();
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("vector base64")
}
