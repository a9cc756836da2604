//! Criterion benchmarks of the crypto core. `scripts/bench-crypto.sh` runs
//! them beside the same operations in fiojs/fiosdk (tests/interop/peer.js
//! --bench, identical inputs) and prints both with their ratio.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use fio_peer::crypto::*;

const ALICE: &str = "5J9bWm2ThenDm3tjvmUgHtWCVMUdjRR1pxnRtnJjvKA4b2ut5WK";
const BOB: &str = "5JoQtsKQuH8hC9MyvfJAqo6qmKLm8ePYNucs7tPu2YxG12trzBt";

fn crypto(c: &mut Criterion) {
    let alice = PrivateKey::parse(ALICE).unwrap();
    let bob = PrivateKey::parse(BOB).unwrap();
    let msg = b"fio-peer benchmark message";
    let sig = alice.sign_message(msg);
    let secret = alice.shared_secret(bob.public_key());
    let kib = vec![7u8; 1024];
    let sealed = check_encrypt(secret.as_bytes(), &kib);
    let content = NewFundsContent {
        payee_public_address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".into(),
        amount: "0.0015".into(),
        chain_code: "BTC".into(),
        token_code: "BTC".into(),
        memo: Some("invoice 1234".into()),
        hash: None,
        offline_url: None,
    };
    let sealed_content = encrypt_content(&alice, bob.public_key(), &content);

    let mut g = c.benchmark_group("crypto");
    g.bench_function("sign", |b| b.iter(|| alice.sign_message(black_box(msg))));
    g.bench_function("verify", |b| {
        b.iter(|| sig.verify_message(black_box(msg), alice.public_key()))
    });
    g.bench_function("shared_secret", |b| {
        b.iter(|| alice.shared_secret(black_box(bob.public_key())))
    });
    g.bench_function("check_encrypt_1k", |b| {
        b.iter(|| check_encrypt(secret.as_bytes(), black_box(&kib)))
    });
    g.bench_function("check_decrypt_1k", |b| {
        b.iter(|| check_decrypt(secret.as_bytes(), black_box(&sealed)).unwrap())
    });
    // Content includes the ECDH, as fiosdk's getCipherContent does per call.
    g.bench_function("content_encrypt", |b| {
        b.iter(|| encrypt_content(&alice, bob.public_key(), black_box(&content)))
    });
    g.bench_function("content_decrypt", |b| {
        b.iter(|| {
            decrypt_content::<NewFundsContent>(&bob, alice.public_key(), black_box(&sealed_content))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = crypto
}
criterion_main!(benches);
