//! Drives the `fio-peer` binary as a user would, checking its JSON against
//! the fiojs vectors and its errors for clear messages and exit codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const ALICE_WIF: &str = "5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK";
const ALICE_PUB: &str = "FIO7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv";
const BOB_WIF: &str = "5JoQtsKQuH8hC9MyvfJAqo6qmKLm8ePYNucs7tPu2YxG12trzBt";
const BOB_PUB: &str = "FIO5VE6Dgy9FUmd1mFotXwF88HkQN1KysCWLPqpVnDMjRvGRi1YrM";
const VALLEY: &str =
    "valley alien library bread worry brother bundle hammer loyal barely dune brave";
const VALLEY_WIF: &str = "5Kbb37EAqQgZ9vWUHoPiC2uXYhyGSFNbL6oiDp24Ea1ADxV1qnu";
const VALLEY_PUB: &str = "FIO5kJKNHwctcfUM5XZyiWSqSTM5HTzznJP9F3ZdbhaQAHEVq575o";

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/fiojs-vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run_with_stdin(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fio-peer"))
        .args(args)
        .env_remove("FIO_PEER_KEY")
        .env_remove("FIO_PEER_MNEMONIC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

/// Runs a command that must succeed and returns its JSON.
fn ok(args: &[&str]) -> Value {
    let out = run_with_stdin(args, None);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "stderr on success: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON value")
}

/// Runs a command that must fail with `code`, and returns its stderr.
fn fails(args: &[&str], code: i32) -> String {
    let out = run_with_stdin(args, None);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: stdout {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: "),
        "stderr should be a sentence: {err}"
    );
    err
}

#[test]
fn key_generate_prints_a_consistent_key() {
    for words in ["12", "24"] {
        let v = ok(&["key", "generate", "--words", words]);
        let mnemonic = v["mnemonic"].as_str().unwrap();
        assert_eq!(mnemonic.split(' ').count(), words.parse::<usize>().unwrap());
        let derived = ok(&["key", "derive", "--mnemonic", mnemonic]);
        assert_eq!(derived["private_key"], v["private_key"]);
        assert_eq!(derived["public_key"], v["public_key"]);
        assert_eq!(derived["account"], v["account"]);
    }
    assert_ne!(
        ok(&["key", "generate"])["mnemonic"],
        ok(&["key", "generate"])["mnemonic"]
    );
}

#[test]
fn key_inspect_accepts_every_key_form() {
    let v = vectors();
    let alice = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["label"] == "seed_alice")
        .unwrap();
    let expected = json!({"public_key": alice["fio_public_key"], "pub_k1": alice["pub_k1"], "account": alice["fio_account_name"]});
    for form in [
        "wif",
        "wif_compressed_flag",
        "pvt_k1",
        "fio_public_key",
        "pub_k1",
    ] {
        assert_eq!(
            ok(&["key", "inspect", alice[form].as_str().unwrap()]),
            expected,
            "{form}"
        );
    }
    let out = run_with_stdin(&["key", "inspect", "-"], Some(ALICE_WIF));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        expected
    );
}

#[test]
fn key_derive_matches_fiosdk() {
    let v = ok(&["key", "derive", "--mnemonic", VALLEY]);
    assert_eq!(v["private_key"], VALLEY_WIF);
    assert_eq!(v["public_key"], VALLEY_PUB);
    let out = run_with_stdin(&["key", "derive", "--mnemonic", "-"], Some(VALLEY));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["private_key"],
        VALLEY_WIF
    );
    // Accounts: 0 is the default, others are other keys; 2^31 is no account.
    assert_eq!(
        ok(&["key", "derive", "--mnemonic", VALLEY, "--account", "0"])["private_key"],
        VALLEY_WIF
    );
    let second = ok(&["key", "derive", "--mnemonic", VALLEY, "--account", "1"]);
    assert_ne!(second["private_key"], VALLEY_WIF);
    assert_ne!(second["public_key"], VALLEY_PUB);
    fails(
        &[
            "key",
            "derive",
            "--mnemonic",
            VALLEY,
            "--account",
            "2147483648",
        ],
        2,
    );
}

#[test]
fn crypto_sign_and_verify_match_fiojs() {
    for g in vectors()["signatures"].as_array().unwrap() {
        let hex = g["message_hex"].as_str().unwrap();
        let wif = g["signer_wif"].as_str().unwrap();
        let public = g["signer_fio_public_key"].as_str().unwrap();
        let signed = ok(&["crypto", "sign", "--key", wif, "--message-hex", hex]);
        assert_eq!(signed["signature"], g["signature"]);
        let sig = g["signature"].as_str().unwrap();
        assert_eq!(
            ok(&[
                "crypto",
                "verify",
                "--public-key",
                public,
                "--message-hex",
                hex,
                "--signature",
                sig
            ]),
            json!({"valid": true})
        );
        let other = format!("{hex}00");
        let out = run_with_stdin(
            &[
                "crypto",
                "verify",
                "--public-key",
                public,
                "--message-hex",
                &other,
                "--signature",
                sig,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
            json!({"valid": false})
        );
    }
    let text = ok(&[
        "crypto",
        "sign",
        "--key",
        VALLEY_WIF,
        "--message",
        "I am alive",
    ]);
    let i_am_alive = vectors()["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["label"] == "i_am_alive")
        .unwrap()
        .clone();
    assert_eq!(text["signature"], i_am_alive["signature"]);
}

#[test]
fn crypto_shared_secret_and_lookup_index_match_fiojs() {
    let v = vectors();
    let ecdh = &v["ecdh"][0];
    let out = ok(&[
        "crypto",
        "shared-secret",
        "--key",
        ALICE_WIF,
        "--peer",
        BOB_PUB,
    ]);
    assert_eq!(out["shared_secret"], ecdh["shared_secret_a_to_b_hex"]);
    let index = &v["hash_function_a"]["friend_list_lookup_index"][0];
    assert_eq!(index["hashed_key"], BOB_PUB);
    let out = ok(&[
        "crypto",
        "lookup-index",
        "--key",
        ALICE_WIF,
        "--peer",
        BOB_PUB,
    ]);
    assert_eq!(out["lookup_index"], index["lookup_index_hashA_pubkey33"]);
}

#[test]
fn crypto_encrypt_and_decrypt_content() {
    // The fiojs test vector decrypts.
    let v = vectors();
    let c = &v["content_encryption"][0];
    let out = ok(&[
        "crypto",
        "decrypt",
        "--key",
        BOB_WIF,
        "--peer",
        ALICE_PUB,
        "--type",
        "new_funds_content",
        "--content",
        c["encrypted_content_base64"].as_str().unwrap(),
    ]);
    assert_eq!(out, c["decrypted_by_recipient_via_fiosdk"]);
    // Our own encryption round-trips, for both types.
    for (ty, obj) in [
        (
            "new_funds_content",
            json!({"payee_public_address":"bc1q…","amount":"0.5","chain_code":"BTC","token_code":"BTC","memo":"rent ✓"}),
        ),
        (
            "record_obt_data_content",
            json!({"payer_public_address":"a","payee_public_address":"b","amount":"1","chain_code":"ETH",
            "token_code":"USDT","status":"sent_to_blockchain","obt_id":"0xabc","memo":null,"hash":"","offline_url":null}),
        ),
    ] {
        let sealed = ok(&[
            "crypto",
            "encrypt",
            "--key",
            ALICE_WIF,
            "--peer",
            BOB_PUB,
            "--type",
            ty,
            "--object",
            &obj.to_string(),
        ]);
        let opened = ok(&[
            "crypto",
            "decrypt",
            "--key",
            BOB_WIF,
            "--peer",
            ALICE_PUB,
            "--type",
            ty,
            "--content",
            sealed["content"].as_str().unwrap(),
        ]);
        for (k, val) in obj.as_object().unwrap() {
            assert_eq!(&opened[k], val, "{ty}.{k}");
        }
    }
}

#[test]
fn bad_input_gets_a_clear_message_and_a_non_zero_exit() {
    let bad_wif = "5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WX";
    assert!(
        fails(&["crypto", "sign", "--key", bad_wif, "--message", "x"], 2)
            .contains("--key: invalid private key: checksum mismatch")
    );
    assert!(fails(
        &[
            "crypto",
            "shared-secret",
            "--key",
            ALICE_WIF,
            "--peer",
            "EOS7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv"
        ],
        2
    )
    .contains("--peer: invalid public key: a public key starts with FIO or PUB_K1_"));
    assert!(fails(&["key", "inspect", "hello"], 2).contains("is not a FIO key"));
    assert!(
        fails(&["key", "derive", "--mnemonic", "valley alien library"], 2)
            .contains("--mnemonic: invalid mnemonic")
    );
    assert!(fails(
        &["crypto", "sign", "--key", ALICE_WIF, "--message-hex", "abc"],
        2
    )
    .contains("--message-hex: not hexadecimal"));
    assert!(fails(
        &[
            "crypto",
            "verify",
            "--public-key",
            ALICE_PUB,
            "--message",
            "x",
            "--signature",
            "SIG_K1_abc"
        ],
        2
    )
    .contains("--signature"));
    let missing = fails(
        &[
            "crypto",
            "encrypt",
            "--key",
            ALICE_WIF,
            "--peer",
            BOB_PUB,
            "--type",
            "new_funds_content",
            "--object",
            r#"{"amount":"1"}"#,
        ],
        2,
    );
    assert!(
        missing.contains("missing new_funds_content.payee_public_address"),
        "{missing}"
    );
    assert!(fails(
        &[
            "crypto",
            "encrypt",
            "--key",
            ALICE_WIF,
            "--peer",
            BOB_PUB,
            "--type",
            "new_funds_content",
            "--object",
            "{nope"
        ],
        2
    )
    .contains("not valid JSON"));
    let wrong_key = fails(
        &[
            "crypto",
            "decrypt",
            "--key",
            ALICE_WIF,
            "--peer",
            ALICE_PUB,
            "--type",
            "new_funds_content",
            "--content",
            vectors()["content_encryption"][0]["encrypted_content_base64"]
                .as_str()
                .unwrap(),
        ],
        1,
    );
    assert!(wrong_key.contains("could not decrypt this content"));
    // clap's own usage errors: exit 2 with a message.
    let out = run_with_stdin(
        &[
            "crypto",
            "sign",
            "--key",
            ALICE_WIF,
            "--message",
            "a",
            "--message-hex",
            "00",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let out = run_with_stdin(&["key", "generate", "--words", "13"], None);
    assert_eq!(out.status.code(), Some(2));
}
