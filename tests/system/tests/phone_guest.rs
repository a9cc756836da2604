//! A guest in a phone app, over real HTTP: a cancel ends each hung step at
//! once, a budgeted sync returns in time against a full inbox and a black
//! hole, a sync that cannot get its turn says `Busy`, and processes that
//! sync one wallet file at once (an app, its background job, its
//! notification extension) make one inbox and one registration and lose
//! or duplicate no message.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fio_peer::chain::{ChainClient, ChainConfig, ChainId};
use fio_peer::crypto::PrivateKey;
use fio_peer::protocol::{Action, Envelope, FioAddress, IdToken, InboxLocation};
use fio_peer::sync::{
    CancelToken, SyncConfig, SyncEngine, SyncError, SyncLimits, SyncReport, SyncStop,
};
use fio_peer::wallet::*;
use support::*;

/// The bound the issue sets on a cancel, from `cancel()` to the return.
const CANCEL_BOUND: Duration = Duration::from_millis(100);

/// Takes connections and never answers (the kernel completes them).
fn black_hole() -> (std::net::TcpListener, String) {
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", hole.local_addr().unwrap());
    (hole, url)
}

fn within(engine: &SyncEngine, budget: Duration) -> SyncReport {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(engine.sync_within(
            None,
            CancelToken::new(),
            SyncLimits {
                time_budget: Some(budget),
                ..SyncLimits::default()
            },
        ))
        .unwrap()
}

/// Starts a sync, lets it hang for 400 ms, cancels it, and returns the
/// time from the cancel to the sync's return; then checks that the next
/// sync gets its turn at once (it ends on its budget, not `Busy`).
fn cancel_hung(step: &str, engine: &SyncEngine) -> Duration {
    let cancel = CancelToken::new();
    let running = {
        let (engine, cancel) = (engine.clone(), cancel.clone());
        std::thread::spawn(move || {
            let r = engine.sync_blocking(None, cancel);
            (r, Instant::now())
        })
    };
    std::thread::sleep(Duration::from_millis(400));
    if running.is_finished() {
        let r = running.join().unwrap();
        panic!("{step}: the sync did not hang: {r:?}");
    }
    let cancelled_at = Instant::now();
    cancel.cancel();
    let (result, returned_at) = running.join().unwrap();
    assert!(
        matches!(result, Err(SyncError::Cancelled)),
        "{step}: {result:?}"
    );
    let took = returned_at - cancelled_at;
    let next = within(engine, Duration::from_millis(300));
    assert_eq!(next.stopped, SyncStop::Budget, "{step}: {next:?}");
    took
}

#[test]
fn a_cancel_ends_each_hung_step_at_once_and_the_next_sync_runs() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let (_hole, hole) = black_hole();
    let mut took = Vec::new();

    // Inbox creation: the relay to create the inbox on never answers.
    {
        let alice = world.party_with("alice", &ka, 0, World::sync_config(&hole));
        took.push((
            "inbox creation",
            cancel_hung("inbox creation", &alice.engine),
        ));
    }

    // A chain lookup: the registration check asks a node that never answers.
    {
        let bob = world.party("bob", &kb, 1);
        bob.sync();
        let engine = SyncEngine::new(
            bob.wallet.clone(),
            ChainClient::new(ChainConfig::new(
                ChainId::parse(DEVNET_CHAIN).unwrap(),
                vec![hole.clone()],
            ))
            .unwrap(),
            SyncConfig {
                registration_check: Duration::ZERO,
                ..World::sync_config(&bob.relay)
            },
        )
        .unwrap();
        took.push(("chain lookup", cancel_hung("chain lookup", &engine)));
    }

    // A fetch: our own inbox's relay never answers.
    {
        let bob = world.party("bob", &kb, 1);
        let mut inbox = bob.wallet.own_inbox().unwrap().unwrap();
        let real = inbox.clone();
        inbox.relay = hole.clone();
        bob.wallet.set_own_inbox(&inbox).unwrap();
        took.push(("fetch", cancel_hung("fetch", &bob.engine)));
        bob.wallet.set_own_inbox(&real).unwrap();
    }

    // A delivery: Bob's reply goes to a return address that never answers.
    {
        let alice = world.party("alice", &ka, 0);
        let bob = world.party("bob", &kb, 1);
        bob.accept_channels_from(&alice.address);
        alice.sync();
        let hole_inbox = format!("{hole}/v1/inboxes/hole/messages");
        alice
            .wallet
            .set_inbox(Some(InboxLocation::parse("URL", &hole_inbox).unwrap()))
            .unwrap();
        alice.wallet.open_channel(&bob.address, None).unwrap();
        assert_eq!(alice.engine.deliver_blocking().delivered, 1);
        // The first sync receives the request and hangs on the reply; the
        // request is committed (and accepted by Bob's automation) before
        // the hang.
        took.push(("delivery", cancel_hung("delivery", &bob.engine)));
        assert_eq!(bob.wallet.requests(None).unwrap().len(), 1);
        // The status reply and the accept.
        assert_eq!(bob.wallet.outbox_pending(0, 10).unwrap().len(), 2);
    }

    for (step, took) in &took {
        println!("cancel during a hung {step}: returned {took:?} after the cancel");
    }
    for (step, took) in took {
        assert!(took < CANCEL_BOUND, "{step}: {took:?} after the cancel");
    }
}

#[test]
fn a_sync_that_waits_out_its_budget_for_another_reports_busy() {
    let ka = PrivateKey::generate();
    let world = World::new(&[("alice", &ka)]);
    world.party("alice", &ka, 0).sync();
    let alice = world.party_with(
        "alice",
        &ka,
        0,
        SyncConfig {
            long_poll: Duration::from_secs(20),
            ..World::sync_config(&world.relays[0].url())
        },
    );
    let first = CancelToken::new();
    let polling = {
        let (engine, first) = (alice.engine.clone(), first.clone());
        std::thread::spawn(move || engine.sync_blocking(None, first))
    };
    std::thread::sleep(Duration::from_millis(300));
    let budget = Duration::from_millis(500);
    let started = Instant::now();
    let r = within(&alice.engine, budget);
    let took = started.elapsed();
    assert_eq!(r.stopped, SyncStop::Busy, "{r:?}");
    assert_eq!((r.fetched, r.delivered), (0, 0), "{r:?}");
    assert!(
        took >= budget && took < budget + Duration::from_secs(2),
        "{took:?}"
    );
    first.cancel();
    assert!(matches!(polling.join().unwrap(), Err(SyncError::Cancelled)));
}

/// Syncs `party`'s wallet file in `n` processes at once; their reports.
fn sync_in_processes(
    world: &World,
    party: &str,
    key: &PrivateKey,
    n: usize,
) -> Vec<serde_json::Value> {
    let db = world.dir.path().join(format!("{party}.sqlite"));
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_sync-once"))
                .arg(&db)
                .arg(key.to_wif().as_str())
                .arg(format!("{party}@devnet"))
                .arg(DEVNET_CHAIN)
                .arg(&world.devnet_url)
                .arg(world.relays[0].url())
                // Each sync holds the wallet for a second at least.
                .arg("1")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{out:?}");
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect()
}

#[test]
fn processes_syncing_one_wallet_make_one_inbox_and_lose_or_duplicate_nothing() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);

    // The first sync of a new wallet, in three processes at once: one
    // creates the inbox and registers it, the others find it.
    let first = sync_in_processes(&world, "alice", &ka, 3);
    let registered = first.iter().filter(|r| r["registered"] == true).count();
    assert_eq!(registered, 1, "{first:?}");
    let inbox = first[0]["inbox_id"].clone();
    assert!(inbox.is_string(), "{first:?}");
    assert!(first.iter().all(|r| r["inbox_id"] == inbox), "{first:?}");
    {
        let alice = world.party("alice", &ka, 0);
        assert!(alice.wallet.previous_inboxes().unwrap().is_empty());
        assert_eq!(
            KeyDirectory::inbox(&world.chain(), &FioAddress::parse("alice@devnet").unwrap())
                .unwrap()
                .map(|l| l.address),
            Some(alice.wallet.own_inbox().unwrap().unwrap().inbox_url.clone())
        );
    }

    // Alice opens a channel; Bob accepts and sends 40 texts; three
    // processes receive them.
    let bob = world.party("bob", &kb, 1);
    bob.sync();
    {
        let alice = world.party("alice", &ka, 0);
        alice.wallet.open_channel("bob@devnet", None).unwrap();
        assert_eq!(alice.sync().delivered, 1);
    }
    let hello = bob.sync();
    assert_eq!(hello.received, 1, "{hello:?}");
    let request = bob.wallet.queue().unwrap().remove(0);
    bob.wallet
        .accept_request(
            "alice@devnet",
            &request.message.message_id,
            Acceptance::default(),
        )
        .unwrap();
    for i in 0..40 {
        bob.wallet
            .send_private_text("alice@devnet", &format!("t{i}"), None)
            .unwrap();
    }
    assert_eq!(bob.sync().delivered, 41);
    let second = sync_in_processes(&world, "alice", &ka, 3);
    let received: u64 = second.iter().map(|r| r["received"].as_u64().unwrap()).sum();
    let duplicates: u64 = second
        .iter()
        .map(|r| r["duplicates"].as_u64().unwrap())
        .sum();
    // Bob's accept and the 40 texts (a stranger's request gets no status).
    assert_eq!((received, duplicates), (41, 0), "{second:?}");
    let alice = world.party("alice", &ka, 0);
    let texts: Vec<String> = alice
        .wallet
        .history("bob@devnet")
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Incoming && m.action == Action::SendPrivateText)
        .map(|m| m.data.memo.unwrap_or_default())
        .collect();
    let sent: Vec<String> = (0..40).map(|i| format!("t{i}")).collect();
    assert_eq!(texts, sent);
}

/// Posts `n` envelopes to `inbox_url`, 64 at a time (the relay commits
/// them in groups); each is well formed but for no channel of the owner's.
fn flood(inbox_url: &str, n: usize) {
    fio_peer::chain::install_tls_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let semaphore = Arc::new(tokio::sync::Semaphore::new(64));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let (client, url, permit) = (
                client.clone(),
                inbox_url.to_string(),
                semaphore.clone().acquire_owned().await.unwrap(),
            );
            tasks.spawn(async move {
                let mut content = vec![7u8; 64];
                content[..8].copy_from_slice(&(i as u64).to_be_bytes());
                let body = Envelope {
                    id_token: IdToken::Token(format!("{i:032x}")),
                    content,
                }
                .to_json();
                let status = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status();
                drop(permit);
                assert_eq!(status.as_u16(), 202);
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    });
}

#[test]
fn a_budgeted_sync_against_10000_envelopes_and_a_black_hole_returns_in_time() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let world = World::new(&[("alice", &ka), ("bob", &kb)]);
    let alice = world.party("alice", &ka, 0);
    let bob = world.party("bob", &kb, 1);
    alice.sync();
    bob.sync();
    // Alice's first contact comes with a return address that never
    // answers, so Bob's answers to it (he accepts her channels) hang;
    // 9,999 more envelopes follow it, 10,000 in all (the relay's default
    // quota).
    bob.accept_channels_from(&alice.address);
    let (_hole, hole) = black_hole();
    let hole_inbox = format!("{hole}/v1/inboxes/hole/messages");
    alice
        .wallet
        .set_inbox(Some(InboxLocation::parse("URL", &hole_inbox).unwrap()))
        .unwrap();
    let hello = alice.wallet.open_channel(&bob.address, None).unwrap();
    assert_eq!(alice.engine.deliver_blocking().delivered, 1);
    let inbox = bob.wallet.own_inbox().unwrap().unwrap().inbox_url.clone();
    flood(&inbox, 9_999);

    // Short budgets first, which cut the fetch into pieces, then the 1 s
    // of the issue: each sync returns in time and keeps what it committed,
    // and the next goes on where it stopped.
    let mut acked = 0;
    let mut syncs = 0;
    for (budget, until) in [(150, 5_000), (1_000, 10_000)] {
        let budget = Duration::from_millis(budget);
        loop {
            let started = Instant::now();
            let r = within(&bob.engine, budget);
            let took = started.elapsed();
            syncs += 1;
            // A generous margin for a loaded machine; the hang alone is 10 s.
            assert!(
                took < budget + Duration::from_secs(3),
                "sync {syncs} took {took:?}"
            );
            assert_eq!(r.stopped, SyncStop::Budget, "{r:?}");
            // It acknowledges only what it committed (a page the budget cut
            // off in its receive is fetched again, and dropped as a copy).
            assert!(r.acked <= r.received + r.rejected + r.duplicates, "{r:?}");
            acked += r.acked;
            if acked >= until || r.fetched == 0 {
                break;
            }
            assert!(syncs < 200, "no end after {syncs} syncs");
        }
    }
    assert_eq!(acked, 10_000, "{syncs} syncs");
    println!("10,000 envelopes in {syncs} budgeted syncs");
    assert_eq!(within(&bob.engine, Duration::from_millis(300)).fetched, 0);
    // Alice's request once in Bob's wallet (accepted by his automation,
    // so not in his queue); the answers still wait to go.
    let requests = bob.wallet.requests(None).unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].message_id, hello.message_id);
    assert!(bob.wallet.queue().unwrap().is_empty());
    assert_eq!(bob.wallet.outbox_pending(0, 10).unwrap().len(), 2);
}
