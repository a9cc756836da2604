//! Property tests: round trips of every encoding, sign/verify/recover,
//! checkEncrypt, content, and rejection of every single-bit flip.

use fio_peer::crypto::*;
use proptest::prelude::*;

fn private_key() -> impl Strategy<Value = PrivateKey> {
    any::<[u8; 32]>().prop_filter_map("scalar in range", |b| PrivateKey::from_bytes(&b).ok())
}

fn opt_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of(".{0,40}")
}

prop_compose! {
    fn new_funds()(payee in ".{0,60}", amount in "[0-9.]{0,12}", chain in "[A-Z]{0,8}", token in "[A-Z]{0,8}",
                   memo in opt_string(), hash in opt_string(), url in opt_string()) -> NewFundsContent {
        NewFundsContent { payee_public_address: payee, amount, chain_code: chain, token_code: token,
                          memo, hash, offline_url: url }
    }
}

prop_compose! {
    fn record_obt()(payer in ".{0,40}", payee in ".{0,40}", amount in ".{0,12}", chain in ".{0,8}",
                    token in ".{0,8}", status in ".{0,20}", obt in ".{0,70}",
                    memo in opt_string(), hash in opt_string(), url in opt_string()) -> RecordObtDataContent {
        RecordObtDataContent { payer_public_address: payer, payee_public_address: payee, amount,
                               chain_code: chain, token_code: token, status, obt_id: obt,
                               memo, hash, offline_url: url }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn key_encodings_round_trip(key in private_key()) {
        prop_assert_eq!(&PrivateKey::parse(&key.to_wif())?, &key);
        prop_assert_eq!(&PrivateKey::parse(&key.to_pvt_k1())?, &key);
        let public = key.public_key();
        prop_assert_eq!(&PublicKey::parse(&public.to_fio_string())?, public);
        prop_assert_eq!(&PublicKey::parse(&public.to_pub_k1())?, public);
        prop_assert_eq!(&PublicKey::from_sec1(&public.to_uncompressed())?, public);
        let name = public.account_name();
        prop_assert_eq!(name.len(), 12);
        prop_assert!(name.bytes().all(|c| b".12345abcdefghijklmnopqrstuvwxyz".contains(&c)));
    }

    #[test]
    fn sign_verify_recover(key in private_key(), msg in prop::collection::vec(any::<u8>(), 0..200)) {
        let sig = key.sign_message(&msg);
        prop_assert!(sig.is_canonical() && sig.is_low_s());
        prop_assert!(sig.verify_message(&msg, key.public_key()));
        prop_assert_eq!(&sig.recover_message(&msg)?, key.public_key());
        prop_assert_eq!(Signature::parse(&sig.to_string())?, sig);
        let mut other = msg.clone();
        other.push(0);
        prop_assert!(!sig.verify_message(&other, key.public_key()));
    }

    #[test]
    fn shared_secret_is_symmetric(a in private_key(), b in private_key()) {
        prop_assert_eq!(a.shared_secret(b.public_key()), b.shared_secret(a.public_key()));
        let ia = hash_a(a.shared_secret(b.public_key()).as_bytes(), b.public_key().as_bytes());
        let ib = hash_a(b.shared_secret(a.public_key()).as_bytes(), b.public_key().as_bytes());
        prop_assert_eq!(ia, ib);
    }

    #[test]
    fn check_encrypt_round_trip(secret in prop::collection::vec(any::<u8>(), 0..80),
                                plain in prop::collection::vec(any::<u8>(), 0..300)) {
        let data = check_encrypt(&secret, &plain);
        prop_assert_eq!((data.len() - IV_LEN - MAC_LEN) % 16, 0);
        prop_assert_eq!(check_decrypt(&secret, &data)?, plain);
        let mut wrong = secret.clone();
        wrong.push(1);
        prop_assert_eq!(check_decrypt(&wrong, &data), Err(DecryptError));
    }

    #[test]
    fn every_single_bit_flip_is_rejected(secret in any::<[u8; 64]>(),
                                         plain in prop::collection::vec(any::<u8>(), 0..48)) {
        let data = check_encrypt(&secret, &plain);
        for bit in 0..data.len() * 8 {
            let mut flipped = data.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            prop_assert_eq!(check_decrypt(&secret, &flipped), Err(DecryptError), "bit {} accepted", bit);
        }
    }

    #[test]
    fn truncated_or_extended_ciphertext_is_rejected(secret in any::<[u8; 64]>(),
                                                    plain in prop::collection::vec(any::<u8>(), 0..48),
                                                    extra in prop::collection::vec(any::<u8>(), 1..20)) {
        let data = check_encrypt(&secret, &plain);
        for len in 0..data.len() {
            prop_assert_eq!(check_decrypt(&secret, &data[..len]), Err(DecryptError));
        }
        let mut longer = data.clone();
        longer.extend(extra);
        prop_assert_eq!(check_decrypt(&secret, &longer), Err(DecryptError));
    }

    #[test]
    fn new_funds_content_round_trip(a in private_key(), b in private_key(), content in new_funds()) {
        prop_assert_eq!(&NewFundsContent::unpack(&content.pack())?, &content);
        let sealed = encrypt_content(&a, b.public_key(), &content);
        prop_assert_eq!(&decrypt_content::<NewFundsContent>(&b, a.public_key(), &sealed)?, &content);
        prop_assert_eq!(&decrypt_content::<NewFundsContent>(&a, b.public_key(), &sealed)?, &content);
        let json = serde_json::to_value(&content).unwrap();
        prop_assert_eq!(ContentType::NewFundsContent.pack_json(&json)?, content.pack());
        prop_assert_eq!(ContentType::NewFundsContent.unpack_json(&content.pack())?, json);
    }

    #[test]
    fn record_obt_content_round_trip(a in private_key(), b in private_key(), content in record_obt()) {
        prop_assert_eq!(&RecordObtDataContent::unpack(&content.pack())?, &content);
        let sealed = encrypt_content(&a, b.public_key(), &content);
        prop_assert_eq!(&decrypt_content::<RecordObtDataContent>(&b, a.public_key(), &sealed)?, &content);
    }

    #[test]
    fn content_from_the_padded_ecdh_form_decrypts(a in private_key(), b in private_key(), content in new_funds()) {
        // What fiosdk_ios / wallet-core send: the MAC picks the right secret.
        use base64::Engine;
        let secret = a.shared_secret_padded(b.public_key());
        let sealed = base64::engine::general_purpose::STANDARD.encode(check_encrypt(secret.as_bytes(), &content.pack()));
        prop_assert_eq!(&decrypt_content::<NewFundsContent>(&b, a.public_key(), &sealed)?, &content);
    }

    #[test]
    fn hostile_input_never_panics(text in ".{0,120}", bytes in prop::collection::vec(any::<u8>(), 0..200),
                                  key in private_key()) {
        let _ = PrivateKey::parse(&text);
        let _ = PublicKey::parse(&text);
        let _ = Signature::parse(&text);
        let _ = PublicKey::from_sec1(&bytes);
        let _ = Signature::from_bytes(&bytes);
        let _ = PrivateKey::from_bytes(&bytes);
        let _ = derive_from_mnemonic(&text);
        let _ = ContentType::NewFundsContent.unpack_values(&bytes);
        let _ = ContentType::RecordObtDataContent.unpack_json(&bytes);
        let _ = decrypt_content::<NewFundsContent>(&key, key.public_key(), &text);
        prop_assert_eq!(check_decrypt(&bytes, &bytes).is_ok(), false);
    }
}

#[test]
fn out_of_range_private_keys_are_rejected() {
    let n =
        hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141").unwrap();
    assert!(PrivateKey::from_bytes(&[0u8; 32]).is_err());
    assert!(PrivateKey::from_bytes(&n).is_err());
    assert!(PrivateKey::from_bytes(&[0xff; 32]).is_err());
    let mut n_minus_1 = n.clone();
    n_minus_1[31] -= 1;
    assert!(PrivateKey::from_bytes(&n_minus_1).is_ok());
}

#[test]
fn points_off_the_curve_are_rejected() {
    // x = 5 has no y on secp256k1 (5³ + 7 = 132 is a non-residue mod p).
    let mut bytes = [0u8; 33];
    bytes[0] = 2;
    bytes[32] = 5;
    assert!(PublicKey::from_sec1(&bytes).is_err());
}

#[test]
fn debug_output_never_shows_secrets() {
    let key = PrivateKey::from_bytes(&[0x11; 32]).unwrap();
    let shown = format!("{key:?} {:?}", key.shared_secret(key.public_key()));
    assert!(!shown.contains(key.to_wif().as_str()));
    assert!(!shown.to_lowercase().contains(&"11".repeat(32)));
    assert!(!shown.contains(&hex::encode(key.shared_secret(key.public_key()).as_bytes())));
}

#[test]
fn mnemonics_generate_and_derive() {
    for words in [12, 24] {
        let phrase = generate_mnemonic(words).unwrap();
        assert_eq!(phrase.split(' ').count(), words);
        let a = derive_from_mnemonic(&phrase).unwrap();
        let b = derive_from_mnemonic(&phrase).unwrap();
        assert_eq!(a, b);
    }
    assert!(generate_mnemonic(15).is_err());
    // A typo (wrong checksum) must not silently open another wallet.
    assert!(derive_from_mnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon").is_err());
}

#[test]
fn content_json_rules() {
    let ty = ContentType::NewFundsContent;
    let base = serde_json::json!({"payee_public_address":"a","amount":"1","chain_code":"FIO","token_code":"FIO"});
    // Absent optional = null; unknown keys ignored.
    let mut with_extra = base.clone();
    with_extra["status"] = "requested".into();
    with_extra["memo"] = serde_json::Value::Null;
    assert_eq!(
        ty.pack_json(&base).unwrap(),
        ty.pack_json(&with_extra).unwrap()
    );
    // "" is not null.
    let mut empty_memo = base.clone();
    empty_memo["memo"] = "".into();
    assert_ne!(
        ty.pack_json(&base).unwrap(),
        ty.pack_json(&empty_memo).unwrap()
    );
    // Missing required field and non-string values are errors.
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("amount");
    assert!(ty
        .pack_json(&missing)
        .unwrap_err()
        .to_string()
        .contains("missing new_funds_content.amount"));
    let mut number = base.clone();
    number["amount"] = 1.into();
    assert!(ty.pack_json(&number).is_err());
    // Strict unpacking: trailing bytes, bad flags, bad UTF-8.
    let packed = ty.pack_json(&base).unwrap();
    let mut trailing = packed.clone();
    trailing.push(0);
    assert!(ty.unpack_values(&trailing).is_err());
    let mut bad_flag = packed.clone();
    *bad_flag.last_mut().unwrap() = 2;
    assert!(ty.unpack_values(&bad_flag).is_err());
    let mut bad_utf8 = packed.clone();
    bad_utf8[1] = 0xff;
    assert!(ty.unpack_values(&bad_utf8).is_err());
    // A length in more bytes than it needs (0xb3 0x00 is 51, found by the
    // fio_content fuzz target): one content, one encoding.
    let len = packed[0] as usize;
    assert!(len < 0x80);
    let mut overlong = vec![0x80 | len as u8, 0x00];
    overlong.extend_from_slice(&packed[1..]);
    assert!(ty.unpack_values(&overlong).is_err());
    assert!(ty.unpack_padded_values(&overlong).is_err());
}
