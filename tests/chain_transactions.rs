//! FIO transactions byte-identical to the vectors in
//! ../shared/research/fio-chain.md §3.10 (produced by fiojs 1.0.2 and a real
//! FIO testnet transaction from the FIO dev hub).

use fio_peer::chain::{
    parse_chain_time, tapos_from_block_id, Action, AddAddress, ChainId, Name, PermissionLevel,
    TokenPubAddress, Transaction,
};
use fio_peer::crypto::{PrivateKey, PublicKey, Signature};

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// Vector 5: addaddress registering an inbox (FIB/URL), signed by fiojs.
#[test]
fn the_inbox_registration_vector_is_reproduced_byte_for_byte() {
    let key = PrivateKey::parse("5Kbb37EAqQgZ9vWUHoPiC2uXYhyGSFNbL6oiDp24Ea1ADxV1qnu").unwrap();
    let actor = fio_peer::crypto::account_name(key.public_key());
    assert_eq!(actor, "ltwagbt4qpuk");
    let data = AddAddress {
        fio_address: "alice@wallet".into(),
        public_addresses: vec![TokenPubAddress {
            token_code: "URL".into(),
            chain_code: "FIB".into(),
            public_address: "https://inbox.example.com/fio".into(),
        }],
        max_fee: 800_000_000_000,
        actor: name(&actor),
        tpid: String::new(),
    };
    // Block 1201656; only bytes 0..4 and 8..12 of the id matter, the rest
    // of this one is filler.
    let block_id = format!("001255f8d3e9e4a573265d5e{}", "00".repeat(20));
    let (ref_block_num, ref_block_prefix) = tapos_from_block_id(&block_id).unwrap();
    let trx = Transaction {
        expiration: parse_chain_time("2024-01-01T00:03:00").unwrap(),
        ref_block_num,
        ref_block_prefix,
        actions: vec![data.add_action()],
    };
    let packed = trx.pack();
    assert_eq!(
        hex::encode(&packed),
        "34019265f85573265d5e0000000001003056372503a85b0000c6eaa6645232010075b5241f66788e00000000a8ed3232450c616c6963654077616c6c6574010355524c034649421d68747470733a2f2f696e626f782e6578616d706c652e636f6d2f66696f0040b743ba0000000075b5241f66788e0000"
    );
    assert_eq!(
        hex::encode(Transaction::signing_digest(&ChainId::MAINNET, &packed)),
        "54a081463771b8fb92a4f50f4c64f5e2434a503120c3b51930e8eedda77a37df"
    );
    let signed = trx.sign(&ChainId::MAINNET, &key);
    assert_eq!(
        signed.id_hex(),
        "7acace13d34c63865fb0d6a3b75ea709a35904bc9f5dc26f1b88dd2054704f49"
    );
    assert_eq!(
        signed.signatures[0].to_string(),
        "SIG_K1_KAkJrriszxWGnPVLUDrGTWy6DdPr2U6cZxG4pJ5VcKKwkuz7xJLFK6AMY5kxDjskzbLHKnYB4TvTopDFSoiMVDy2KXmsNJ"
    );
    // The push body fiojs produced.
    assert_eq!(
        signed.push_body().to_string(),
        r#"{"signatures":["SIG_K1_KAkJrriszxWGnPVLUDrGTWy6DdPr2U6cZxG4pJ5VcKKwkuz7xJLFK6AMY5kxDjskzbLHKnYB4TvTopDFSoiMVDy2KXmsNJ"],"compression":0,"packed_context_free_data":"","packed_trx":"34019265f85573265d5e0000000001003056372503a85b0000c6eaa6645232010075b5241f66788e00000000a8ed3232450c616c6963654077616c6c6574010355524c034649421d68747470733a2f2f696e626f782e6578616d706c652e636f6d2f66696f0040b743ba0000000075b5241f66788e0000"}"#
    );
    // And it unpacks to what was packed.
    let back = Transaction::unpack(&packed).unwrap();
    assert_eq!(back, trx);
    assert_eq!(AddAddress::unpack(&back.actions[0].data).unwrap(), data);
}

/// Vector 2: a real addaddress pushed to the FIO testnet (dev hub).
#[test]
fn a_real_testnet_addaddress_is_rebuilt_and_its_signature_verifies() {
    let data = AddAddress {
        fio_address: "ebtest1@fiotestnet".into(),
        public_addresses: vec![
            TokenPubAddress {
                token_code: "BCH".into(),
                chain_code: "BCH".into(),
                public_address: "bitcoincash:asdfasdfasdf".into(),
            },
            TokenPubAddress {
                token_code: "DASH".into(),
                chain_code: "DASH".into(),
                public_address: "dashaddressasdfasdfasdf".into(),
            },
        ],
        max_fee: 600_000_000,
        actor: name("v2lgwcdkb5gn"),
        tpid: String::new(),
    };
    let trx = Transaction {
        expiration: parse_chain_time("2021-06-17T14:11:37.000").unwrap(),
        ref_block_num: 22312,
        ref_block_prefix: 3_120_734_308,
        actions: vec![data.add_action()],
    };
    let packed = trx.pack();
    assert_eq!(
        hex::encode(&packed),
        "1958cb60285764a002ba0000000001003056372503a85b0000c6eaa6645232013059393021cea2d800000000a8ed32326812656274657374314066696f746573746e657402034243480342434818626974636f696e636173683a617364666173646661736466044441534804444153481764617368616464726573736173646661736466617364660046c323000000003059393021cea2d80000"
    );
    assert_eq!(
        hex::encode(Transaction::id(&packed)),
        "dd1b46351b45d1231693358f54b1c5442fb37aba02dd59b2d12759cac1936ab7"
    );
    let sig = Signature::parse(
        "SIG_K1_Km62xn9thv3LYQv356PJMj9bP5ZwHRWZ2CgGan75sbcMfeZ7gtLrD1yukDiLgmdPVLZV3tpH4FW4A96ZKs5U42uAsnuyDb",
    )
    .unwrap();
    let digest = Transaction::signing_digest(&ChainId::TESTNET, &packed);
    let signer = sig.recover_digest(&digest).unwrap();
    assert_eq!(
        signer,
        PublicKey::parse("FIO8k7N7jU9eyj57AfazGxMuvPGZG5hvXNUyxt9pBchnkXXx9KUuD").unwrap()
    );
    assert_eq!(fio_peer::crypto::account_name(&signer), "v2lgwcdkb5gn");
    assert!(sig.verify_digest(&digest, &signer));
    // On mainnet the same signature is someone else's: the chain id is signed.
    let other = sig
        .recover_digest(&Transaction::signing_digest(&ChainId::MAINNET, &packed))
        .unwrap();
    assert_ne!(other, signer);
}

/// Vector 1: fiojs's own transaction test (an eosio.token transfer on a
/// test chain), whose signature needs fiojs's nonce retry.
#[test]
fn the_fiojs_transfer_vector_is_reproduced_including_its_retried_signature() {
    let key = PrivateKey::parse("5JtUScZK2XEp3g9gh7F8bwtPTRAkASmNrrftmx4AxDKD5K4zDnr").unwrap();
    let chain =
        ChainId::parse("038f4b0fc8ff18a4f0842a8f0564611f6e96e8535901dd45e43ac8691a1c4dca").unwrap();
    // transfer {from thegazelle, to remasteryoda, 1.0000 FIO, memo}: the
    // action data as fiojs packed it (asset packing is not needed by FIO).
    let data = hex::decode("00808a517dc354cb6012f557656ca4ba10270000000000000446494f0000000014466f72206120736563757265206675747572652e").unwrap();
    let trx = Transaction {
        expiration: parse_chain_time("2018-09-04T18:42:49").unwrap(),
        ref_block_num: 38096,
        ref_block_prefix: 505_360_011,
        actions: vec![Action {
            account: name("testeostoken"),
            name: name("transfer"),
            authorization: vec![PermissionLevel::active(name("thegazelle"))],
            data,
        }],
    };
    assert_eq!(
        hex::encode(trx.pack()),
        "29d28e5bd0948b2e1f1e00000000013015a4195395b1ca000000572d3ccdcd0100808a517dc354cb00000000a8ed32323500808a517dc354cb6012f557656ca4ba10270000000000000446494f0000000014466f72206120736563757265206675747572652e00"
    );
    assert_eq!(
        hex::encode(Transaction::signing_digest(&chain, &trx.pack())),
        "fa5cd7c773a35a6b11419eb4d525d13eb9ba01595d599e2eddf04de7fab8d01f"
    );
    let signed = trx.sign(&chain, &key);
    assert_eq!(
        signed.signatures[0].to_string(),
        "SIG_K1_KWkhnM37vJF83QYgStN8z5wyKVcpa6RCKNsvy6mbF46TBksYXVgP4u4Zv3EZc7pH7aUoUL52zuE5vtuWeCUSfVF1MzdsmS"
    );
}

#[test]
fn malformed_packed_transactions_are_refused_without_panicking() {
    let key = PrivateKey::parse("5Kbb37EAqQgZ9vWUHoPiC2uXYhyGSFNbL6oiDp24Ea1ADxV1qnu").unwrap();
    let trx = Transaction {
        expiration: 1,
        ref_block_num: 2,
        ref_block_prefix: 3,
        actions: vec![AddAddress {
            fio_address: "a@b".into(),
            public_addresses: vec![],
            max_fee: 1,
            actor: name("ltwagbt4qpuk"),
            tpid: String::new(),
        }
        .add_action()],
    };
    let packed = trx.sign(&ChainId::MAINNET, &key).packed_trx;
    // Every truncation fails; so does any trailing byte.
    for n in 0..packed.len() {
        assert!(
            Transaction::unpack(&packed[..n]).is_err(),
            "prefix of {n} bytes"
        );
    }
    let mut longer = packed.clone();
    longer.push(0);
    assert!(Transaction::unpack(&longer).is_err());
    // A delay or a context-free action is refused.
    let mut delayed = packed.clone();
    delayed[12] = 1;
    assert!(Transaction::unpack(&delayed).is_err());
}

/// regaddress action data as a FIO node's transaction trace shows it
/// (`act.data` beside `act.hex_data`, from a public FIO test-net trace of
/// 2020, when handles were written `name:domain`): field order and
/// encodings of `fio.address::regaddress`.
#[test]
fn regaddress_data_matches_a_node_trace() {
    let data = fio_peer::chain::RegAddress {
        fio_address: "pawel554427:woohoo56311".into(),
        owner_fio_public_key: String::new(),
        max_fee: 5_000_000_000,
        actor: name("gev2yeim1cjy"),
        tpid: String::new(),
    };
    assert_eq!(
        hex::encode(data.pack()),
        "17706177656c3535343432373a776f6f686f6f35363331310000f2052a01000000e01f0ad2292fb66200"
    );
    assert_eq!(
        fio_peer::chain::RegAddress::unpack(&data.pack()).unwrap(),
        data
    );
}
