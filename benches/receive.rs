//! FIP-24 receive throughput beside its floor, in one process on one thread:
//!
//! - verify-only: signature verification of the same messages (the part
//!   `receive` cannot skip);
//! - receive: envelope → decrypt → verify → validate → SQLite commit (a real
//!   file in WAL mode with synchronous=FULL), batched with `receive_batch`.
//!
//! - the same receive into an unencrypted copy of the wallet's file: the
//!   baseline of what encrypting the database at rest costs.
//!
//! `cargo bench --bench receive` prints them and their ratios. Targets
//! (issue 3): receive ≥ 70 % of verify-only, and ≥ 5,000 messages/s;
//! (issue 18) encrypted receive ≥ 85 % of the unencrypted rate.

use std::sync::Arc;
use std::time::Instant;

use fio_peer::crypto::{PrivateKey, PublicKey, Signature};
use fio_peer::protocol::{verify_data, FioAddress};
use fio_peer::wallet::*;

struct Dir(Vec<(FioAddress, PublicKey)>);
impl KeyDirectory for Dir {
    fn public_key(&self, a: &FioAddress) -> Result<PublicKey, DirectoryError> {
        self.0
            .iter()
            .find(|(x, _)| x == a)
            .map(|(_, k)| *k)
            .ok_or_else(|| DirectoryError::NotFound(a.to_string()))
    }
}

const MESSAGES: usize = 4000;
const BATCH: usize = 500;

fn main() {
    let (alice_key, bob_key) = (PrivateKey::generate(), PrivateKey::generate());
    let dir: Arc<dyn KeyDirectory> = Arc::new(Dir(vec![
        (
            FioAddress::parse("alice@bench").unwrap(),
            *alice_key.public_key(),
        ),
        (
            FioAddress::parse("bob@bench").unwrap(),
            *bob_key.public_key(),
        ),
    ]));
    let tmp = tempfile::tempdir().unwrap();
    let alice = Wallet::open(
        tmp.path().join("alice.sqlite"),
        alice_key.clone(),
        "alice@bench",
        dir.clone(),
    )
    .unwrap();
    let bob = Wallet::open(
        tmp.path().join("bob.sqlite"),
        bob_key.clone(),
        "bob@bench",
        dir.clone(),
    )
    .unwrap();
    bob.set_automation(Automation {
        accept_channels: AcceptPolicy::Always,
        ..Default::default()
    })
    .unwrap();
    let first = alice.open_channel("bob@bench", None).unwrap();
    for reply in bob.receive(first.envelope.as_bytes()).unwrap().replies {
        alice.receive(reply.envelope.as_bytes()).unwrap();
    }
    // Bob's file with the open channel, copied out unencrypted, and the
    // same wallet opened on each.
    drop(bob);
    let bob_path = tmp.path().join("bob.sqlite");
    let plain_path = tmp.path().join("bob-unencrypted.sqlite");
    fio_peer::store::encryption::export_unencrypted(
        &bob_path,
        &fio_peer::store::DatabaseKey::derive(&bob_key),
        &plain_path,
    )
    .unwrap();
    let bob = Wallet::open(&bob_path, bob_key.clone(), "bob@bench", dir.clone()).unwrap();
    let bob_plain =
        Wallet::open_unencrypted_baseline(&plain_path, bob_key.clone(), "bob@bench", dir).unwrap();

    let envelopes: Vec<String> = (0..MESSAGES)
        .map(|i| {
            let memo = format!("invoice {i}: thank you for your payment");
            let request = FundsRequest {
                payee_public_address: "bc1q96kdtk68aw7ew5fw2f33cpxsvzcvpxw7mmat7n".into(),
                chain_code: "BTC".into(),
                token_code: "BTC".into(),
                amount: format!("0.{i:05}"),
                memo: Some(memo),
                ..Default::default()
            };
            alice.request_funds("bob@bench", request).unwrap().envelope
        })
        .collect();
    let signed: Vec<(String, Signature)> = alice
        .history("bob@bench")
        .unwrap()
        .into_iter()
        .filter(|m| {
            m.direction == Direction::Outgoing
                && m.action == fio_peer::protocol::Action::NewFundsRequest
        })
        .map(|m| (m.data_text, Signature::parse(&m.signature).unwrap()))
        .collect();
    assert_eq!(signed.len(), MESSAGES);

    // Floor: verify every message's signature.
    let start = Instant::now();
    for (data, sig) in &signed {
        assert!(verify_data(
            alice_key.public_key(),
            bob_key.public_key(),
            data,
            sig
        ));
    }
    let verify_rate = MESSAGES as f64 / start.elapsed().as_secs_f64();

    let run = |wallet: &Wallet, envs: &[String]| {
        let start = Instant::now();
        for chunk in envs.chunks(BATCH) {
            let bodies: Vec<&[u8]> = chunk.iter().map(|e| e.as_bytes()).collect();
            for r in wallet.receive_batch(&bodies).unwrap() {
                r.unwrap();
            }
        }
        envs.len() as f64 / start.elapsed().as_secs_f64()
    };
    // Without automatic status replies: the pipeline itself. The
    // unencrypted copy receives the same messages, in alternating quarters
    // so neither gets the warmer machine.
    let quiet = Automation {
        status_replies: false,
        ..Default::default()
    };
    bob.set_automation(quiet.clone()).unwrap();
    bob_plain.set_automation(quiet).unwrap();
    let (half, quarter) = (MESSAGES / 2, MESSAGES / 4);
    let plain_a = run(&bob_plain, &envelopes[..quarter]);
    let enc_a = run(&bob, &envelopes[..quarter]);
    let enc_b = run(&bob, &envelopes[quarter..half]);
    let plain_b = run(&bob_plain, &envelopes[quarter..half]);
    let receive_rate = 2.0 / (1.0 / enc_a + 1.0 / enc_b);
    let plain_rate = 2.0 / (1.0 / plain_a + 1.0 / plain_b);
    // With them (each message also signs, seals and stores a reply).
    bob.set_automation(Automation::default()).unwrap();
    let with_replies = run(&bob, &envelopes[half..]);

    // Where the time goes: each stage of the pipeline alone, per message.
    let bob_pub = *bob_key.public_key();
    let alice_pub = *alice_key.public_key();
    let channel = fio_peer::protocol::ChannelKey::derive(&bob_key, &alice_pub);
    let stage = |name: &str, f: &mut dyn FnMut(usize)| {
        let start = Instant::now();
        for i in 0..MESSAGES {
            f(i);
        }
        println!(
            "  {:<40}{:>8.1} µs",
            name,
            start.elapsed().as_secs_f64() * 1e6 / MESSAGES as f64
        );
    };
    println!("per-message stages:");
    let parsed: Vec<_> = envelopes
        .iter()
        .map(|e| fio_peer::protocol::Envelope::parse(e.as_bytes()).unwrap())
        .collect();
    stage("envelope parse + hex decode", &mut |i| {
        fio_peer::protocol::Envelope::parse(envelopes[i].as_bytes()).unwrap();
    });
    let plaintexts: Vec<_> = parsed
        .iter()
        .map(|e| channel.open(&e.content).unwrap())
        .collect();
    stage("decrypt (HMAC + AES-CBC)", &mut |i| {
        channel.open(&parsed[i].content).unwrap();
    });
    stage("plaintext JSON", &mut |i| {
        fio_peer::protocol::parse_plaintext(&plaintexts[i]).unwrap();
    });
    stage("signature parse (base58 + checksum)", &mut |i| {
        Signature::parse(&signed[i].1.to_string()).unwrap();
    });
    stage("verify", &mut |i| {
        verify_data(&alice_pub, &bob_pub, &signed[i].0, &signed[i].1);
    });
    stage("data JSON + validation", &mut |i| {
        fio_peer::protocol::MessageData::parse(&signed[i].0)
            .unwrap()
            .validate()
            .unwrap();
    });

    println!("fio_dm receive benchmark: {MESSAGES} channel messages (peer_new_funds_request), batches of {BATCH}, one thread");
    println!("{:<44}{:>14}", "", "messages/s");
    println!("{:<44}{:>14.0}", "verify-only (floor)", verify_rate);
    println!("{:<44}{:>14.0}", "receive, no status replies", receive_rate);
    println!(
        "{:<44}{:>14.0}",
        "  the same into an unencrypted file", plain_rate
    );
    println!(
        "{:<44}{:>14.0}",
        "receive, with status replies", with_replies
    );
    println!(
        "receive / verify-only = {:.0} %  (target ≥ 70 %)",
        100.0 * receive_rate / verify_rate
    );
    println!("receive = {:.0} messages/s  (target ≥ 5,000)", receive_rate);
    println!(
        "receive encrypted / unencrypted = {:.0} %  (target ≥ 85 %)",
        100.0 * receive_rate / plain_rate
    );
}
