//! FIP-3: fetch and decrypt the received private requests of a wallet with
//! 1,000 friends (one look-up index batch; each friend has one request, half
//! of them answered by a send action, so the status join reads actions too).
//! Target (issue 6): 200 ms or less with the pair secrets cached. The cold
//! figure (cache cleared before each call: 1,000 ECDHs and their indexes)
//! is printed beside it.
//!
//!   cargo bench -p fio-peer-system-tests --bench friends
//!
//! The devnet (in memory) and the wallet run in this process on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fio_devnet::{Genesis, GenesisAddress, Running};
use fio_peer::chain::{ChainClient, ChainConfig, ChainId, Name, PrivFundsRequest, PrivacyAction};
use fio_peer::crypto::{encrypt_content, NewFundsContent, PrivateKey, RecordObtDataContent};
use fio_peer::friends::{request_index, Friends, FriendsConfig};
use fio_peer::wallet::Wallet;

const FRIENDS: usize = 1000;
const RUNS: usize = 15;
const DEVNET: &str = "cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `jobs` with at most 16 in flight.
async fn run_all<F>(jobs: Vec<F>)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        if set.len() >= 16 {
            set.join_next().await.unwrap().unwrap();
        }
        set.spawn(job);
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let payer = PrivateKey::generate();
    let payees: Vec<PrivateKey> = (0..FRIENDS).map(|_| PrivateKey::generate()).collect();
    let mut addresses = vec![GenesisAddress {
        fio_address: "alice@devnet".into(),
        public_key: payer.public_key().to_fio_string(),
        bundles: Some(10_000),
        expiration: None,
    }];
    addresses.extend(payees.iter().enumerate().map(|(i, k)| GenesisAddress {
        fio_address: format!("payee{i}@devnet"),
        public_key: k.public_key().to_fio_string(),
        bundles: Some(10),
        expiration: None,
    }));
    let genesis = Genesis {
        domains: vec!["devnet".into()],
        addresses,
        balances: [(payer.public_key().to_fio_string(), 10_000_000_000_000)]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let running = Running::start(None, &genesis).await.unwrap();
    let mut config = ChainConfig::new(ChainId::parse(DEVNET).unwrap(), vec![running.url()]);
    config.agreement = 1;
    let chain = ChainClient::new(config).unwrap();
    let wallet =
        Wallet::open_in_memory(payer.clone(), "alice@devnet", Arc::new(chain.clone())).unwrap();
    let friends =
        Arc::new(Friends::new(Arc::new(wallet), chain.clone(), FriendsConfig::default()).unwrap());

    println!("setting up: {FRIENDS} friends, one private request from each …");
    let setup = Instant::now();
    run_all(
        payees
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (f, key) = (friends.clone(), *k.public_key());
                async move {
                    f.add_friend_key(&key, &format!("payee{i}@devnet"))
                        .await
                        .unwrap();
                }
            })
            .collect(),
    )
    .await;
    run_all(
        payees
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (chain, k, payer_key) = (chain.clone(), k.clone(), *payer.public_key());
                async move {
                    let content = NewFundsContent {
                        payee_public_address: "bc1q96kdtk68aw7ew5fw2f33cpxsvzcvpxw7mmat7n".into(),
                        amount: format!("0.{i:05}"),
                        chain_code: "BTC".into(),
                        token_code: "BTC".into(),
                        memo: Some(format!("invoice {i}: thank you for your payment")),
                        ..Default::default()
                    };
                    let action = PrivacyAction::FundsRequest(PrivFundsRequest {
                        payee_fio_address: format!("payee{i}@devnet"),
                        payee_fio_public_key: k.public_key().to_fio_string(),
                        lookup_index_for_payer: request_index(
                            &k.shared_secret(&payer_key),
                            &payer_key,
                        ),
                        content: encrypt_content(&k, &payer_key, &content),
                        max_fee: 0,
                        tpid: String::new(),
                        actor: Name::parse(&k.public_key().account_name()).unwrap(),
                    });
                    chain.push_privacy(&k, action).await.unwrap();
                }
            })
            .collect(),
    )
    .await;
    let found = friends.received_requests().await.unwrap();
    assert_eq!(found.items.len(), FRIENDS);
    // Answer every other request: half rejected, half paid (alternating).
    run_all(
        found
            .items
            .iter()
            .step_by(2)
            .enumerate()
            .map(|(i, r)| {
                let (f, r) = (friends.clone(), r.clone());
                async move {
                    if i % 2 == 0 {
                        f.reject_request(&r).await.unwrap();
                    } else {
                        let record = RecordObtDataContent {
                            payer_public_address: "bc1qpayer".into(),
                            payee_public_address: r.content.payee_public_address.clone(),
                            amount: r.content.amount.clone(),
                            chain_code: "BTC".into(),
                            token_code: "BTC".into(),
                            obt_id: format!("tx{i}"),
                            ..Default::default()
                        };
                        f.pay_request(&r, record).await.unwrap();
                    }
                }
            })
            .collect(),
    )
    .await;
    println!("  setup {:.1} s", setup.elapsed().as_secs_f64());

    let check = |fetched: &fio_peer::friends::Fetched<fio_peer::friends::PrivateRequest>| {
        assert_eq!((fetched.items.len(), fetched.skipped), (FRIENDS, 0));
        let answered = fetched
            .items
            .iter()
            .filter(|r| r.status != fio_peer::friends::RequestStatus::Requested)
            .count();
        assert_eq!(answered, FRIENDS / 2);
    };

    // Warm: secrets cached (the call above derived them).
    let mut warm = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let fetched = friends.received_requests().await.unwrap();
        warm.push(start.elapsed());
        check(&fetched);
    }
    // Cold: every pair derived again on each call.
    let mut cold = Vec::new();
    for _ in 0..RUNS {
        friends.clear_secret_cache();
        let start = Instant::now();
        let fetched = friends.received_requests().await.unwrap();
        cold.push(start.elapsed());
        check(&fetched);
    }
    let (w, c) = (median(warm.clone()), median(cold.clone()));
    println!();
    println!("received private requests of a wallet with {FRIENDS} friends ({FRIENDS} requests, {} answered), median of {RUNS}:", FRIENDS / 2);
    println!(
        "  cached secrets   {:>7.1} ms   (min {:.1})   target ≤ 200 ms: {}",
        ms(w),
        ms(*warm.iter().min().unwrap()),
        if ms(w) <= 200.0 { "met" } else { "NOT MET" }
    );
    println!(
        "  cold (no cache)  {:>7.1} ms   (min {:.1})   {:.1}× the cached figure",
        ms(c),
        ms(*cold.iter().min().unwrap()),
        ms(c) / ms(w)
    );
    running.stop().await;
}
