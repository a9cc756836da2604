//! The wallet as a guest in a phone app (issue 15): local reads never wait
//! for a sync's network work, and a stranger's first contacts cost a
//! bounded number of chain lookups per batch.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::{party, MapDirectory, Party};
use fio_peer::crypto::{PrivateKey, PublicKey};
use fio_peer::protocol::{FioAddress, InboxLocation};
use fio_peer::store::StoreError;
use fio_peer::wallet::{DirectoryError, KeyDirectory, Wallet, WalletError, LOOKUPS_PER_BATCH};

/// A chain node that takes connections and never answers: every lookup
/// hangs until the test lets it go (or 5 s pass), then answers from `keys`.
struct BlackHole {
    keys: Arc<MapDirectory>,
    open: Mutex<bool>,
    opened: Condvar,
    calls: AtomicUsize,
}

impl BlackHole {
    fn new(keys: Arc<MapDirectory>) -> Arc<BlackHole> {
        Arc::new(BlackHole {
            keys,
            open: Mutex::new(false),
            opened: Condvar::new(),
            calls: AtomicUsize::new(0),
        })
    }
    fn release(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
    fn wait_for_calls(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.calls.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "no lookup started");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl KeyDirectory for BlackHole {
    fn public_key(&self, address: &FioAddress) -> Result<PublicKey, DirectoryError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let open = self.open.lock().unwrap();
        let _ = self
            .opened
            .wait_timeout_while(open, Duration::from_secs(5), |open| !*open)
            .unwrap();
        self.keys.public_key(address)
    }
    fn inbox(&self, address: &FioAddress) -> Result<Option<InboxLocation>, DirectoryError> {
        self.keys.inbox(address)
    }
}

/// Counts lookups, answering at once.
struct Counting {
    keys: Arc<MapDirectory>,
    calls: AtomicUsize,
}

impl KeyDirectory for Counting {
    fn public_key(&self, address: &FioAddress) -> Result<PublicKey, DirectoryError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.keys.public_key(address)
    }
}

/// Bob on a database file (reads get their own connection only on a file).
fn bob_on_file(
    dir: &tempfile::TempDir,
    directory: Arc<dyn KeyDirectory>,
    keys: &MapDirectory,
) -> Wallet {
    let key = PrivateKey::generate();
    keys.register("bob@demo", key.public_key());
    Wallet::open(dir.path().join("bob.sqlite"), key, "bob@demo", directory).unwrap()
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    let took = started.elapsed();
    eprintln!("{what}: {took:?}");
    (value, took)
}

#[test]
fn local_reads_do_not_wait_for_a_hung_sender_lookup() {
    let keys = Arc::new(MapDirectory::default());
    let chain = BlackHole::new(keys.clone());
    let tmp = tempfile::tempdir().unwrap();
    let bob = Arc::new(bob_on_file(&tmp, chain.clone(), &keys));
    let alice = party(&keys, "alice@demo");
    let hello = alice.wallet.open_channel("bob@demo", Some("hi")).unwrap();

    let receiving = {
        let bob = bob.clone();
        std::thread::spawn(move || bob.receive_batch_holding(&[hello.envelope.as_bytes()]))
    };
    chain.wait_for_calls(1);
    // Generous bound for a loaded CI machine; benches/local_reads.rs
    // measures the real figures.
    let bound = Duration::from_millis(50);
    let reads: Vec<(&str, Duration)> = vec![
        ("queue", timed("queue", || bob.queue().unwrap()).1),
        ("channels", timed("channels", || bob.channels().unwrap()).1),
        (
            "channel",
            timed("channel", || bob.channel("alice@demo").unwrap()).1,
        ),
        (
            "history",
            timed("history", || bob.history("alice@demo").unwrap()).1,
        ),
        (
            "requests",
            timed("requests", || bob.requests(None).unwrap()).1,
        ),
        ("inbox", timed("inbox", || bob.inbox().unwrap()).1),
        (
            "automation",
            timed("automation", || bob.automation().unwrap()).1,
        ),
        ("fio_address", timed("fio_address", || bob.fio_address()).1),
        ("public_key", timed("public_key", || bob.public_key()).1),
    ];
    chain.release();
    let results = receiving.join().unwrap().unwrap();
    for (name, took) in reads {
        assert!(took < bound, "{name} waited {took:?} for the lookup");
    }
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert_eq!(bob.queue().unwrap().len(), 1);
}

#[test]
fn a_write_waits_for_no_lookup_either() {
    // dismiss, set_automation: short writes must not queue behind a lookup.
    let keys = Arc::new(MapDirectory::default());
    let chain = BlackHole::new(keys.clone());
    let tmp = tempfile::tempdir().unwrap();
    let bob = Arc::new(bob_on_file(&tmp, chain.clone(), &keys));
    let alice = party(&keys, "alice@demo");
    let hello = alice.wallet.open_channel("bob@demo", None).unwrap();
    let receiving = {
        let bob = bob.clone();
        std::thread::spawn(move || bob.receive_batch_holding(&[hello.envelope.as_bytes()]))
    };
    chain.wait_for_calls(1);
    let (_, took) = timed("set_automation", || {
        bob.set_automation(bob.automation().unwrap()).unwrap()
    });
    chain.release();
    receiving.join().unwrap().unwrap();
    assert!(
        took < Duration::from_millis(50),
        "set_automation waited {took:?}"
    );
}

/// Bob on a file, his lookups counted.
fn counted_bob() -> (Arc<MapDirectory>, Arc<Counting>, tempfile::TempDir, Wallet) {
    let keys = Arc::new(MapDirectory::default());
    let counting = Arc::new(Counting {
        keys: keys.clone(),
        calls: AtomicUsize::new(0),
    });
    let tmp = tempfile::tempdir().unwrap();
    let bob = bob_on_file(&tmp, counting.clone(), &keys);
    (keys, counting, tmp, bob)
}

/// `n` strangers, each registered, each sending Bob a first contact.
fn strangers(keys: &Arc<MapDirectory>, n: usize) -> Vec<Party> {
    (0..n)
        .map(|i| party(keys, &format!("stranger{i}@demo")))
        .collect()
}

#[test]
fn a_batch_of_first_contacts_costs_a_bounded_number_of_lookups() {
    let (keys, counting, _tmp, bob) = counted_bob();
    let crowd = strangers(&keys, LOOKUPS_PER_BATCH * 3);
    let envelopes: Vec<String> = crowd
        .iter()
        .map(|s| s.wallet.open_channel("bob@demo", None).unwrap().envelope)
        .collect();
    let refs: Vec<&[u8]> = envelopes.iter().map(|e| e.as_bytes()).collect();

    let results = bob.receive_batch_holding(&refs).unwrap();
    assert_eq!(counting.calls.load(Ordering::SeqCst), LOOKUPS_PER_BATCH);
    let received = results.iter().filter(|r| r.is_ok()).count();
    let held = results
        .iter()
        .filter(|r| matches!(r, Err(WalletError::Directory(_))))
        .count();
    assert_eq!((received, held), (LOOKUPS_PER_BATCH, LOOKUPS_PER_BATCH * 2));

    // The held ones come in over later syncs, a batch of lookups each.
    let mut rounds = 0;
    while bob.queue().unwrap().len() < crowd.len() {
        rounds += 1;
        assert!(rounds <= 2, "still held after {rounds} rounds");
        let before = counting.calls.load(Ordering::SeqCst);
        bob.receive_held(1000).unwrap();
        assert!(counting.calls.load(Ordering::SeqCst) - before <= LOOKUPS_PER_BATCH);
    }
    assert_eq!(counting.calls.load(Ordering::SeqCst), crowd.len());
}

#[test]
fn an_unregistered_sender_is_looked_up_once() {
    let (_keys, counting, _tmp, bob) = counted_bob();
    // A name nobody registered: its messages need only Bob's public key.
    let ghost_keys = Arc::new(MapDirectory::default());
    ghost_keys.register("bob@demo", &bob.public_key());
    let ghost = || {
        Wallet::open_in_memory(PrivateKey::generate(), "ghost@demo", ghost_keys.clone()).unwrap()
    };
    for round in 0..3 {
        let envelopes: Vec<String> = (0..5)
            .map(|_| ghost().open_channel("bob@demo", None).unwrap().envelope)
            .collect();
        let refs: Vec<&[u8]> = envelopes.iter().map(|e| e.as_bytes()).collect();
        let results = bob.receive_batch_holding(&refs).unwrap();
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(WalletError::Rejected { .. }))),
            "round {round}: {results:?}"
        );
        assert_eq!(counting.calls.load(Ordering::SeqCst), 1, "round {round}");
    }
    assert!(bob.queue().unwrap().is_empty());
}

// ---- one writer per file, close, and what other processes commit ----

fn is_already_open(r: Result<Wallet, WalletError>, path: &std::path::Path) -> bool {
    matches!(r, Err(WalletError::Store(StoreError::AlreadyOpen(p))) if p == path)
}

#[test]
fn a_second_open_of_one_file_in_a_process_is_refused_naming_the_file() {
    let keys = Arc::new(MapDirectory::default());
    let tmp = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate();
    let path = tmp.path().join("bob.sqlite");
    let canonical = std::fs::canonicalize(tmp.path())
        .unwrap()
        .join("bob.sqlite");
    let first = Wallet::open(&path, key.clone(), "bob@demo", keys.clone()).unwrap();
    // By the same path, and by another spelling of it.
    let again = Wallet::open(&path, key.clone(), "bob@demo", keys.clone());
    assert!(is_already_open(again, &canonical));
    let spelled = tmp
        .path()
        .join(".")
        .join("sub")
        .join("..")
        .join("bob.sqlite");
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    let again = Wallet::open(&spelled, key.clone(), "bob@demo", keys.clone());
    assert!(is_already_open(again, &canonical));
    // Another file is fine.
    let other = tmp.path().join("carol.sqlite");
    Wallet::open(&other, PrivateKey::generate(), "carol@demo", keys.clone()).unwrap();
    // Closed, the file opens again at once (dropped, too).
    first.close();
    let second = Wallet::open(&path, key.clone(), "bob@demo", keys.clone()).unwrap();
    drop(second);
    Wallet::open(&path, key, "bob@demo", keys).unwrap();
}

#[test]
fn a_closed_wallet_fails_every_call_with_closed_and_keeps_what_it_had() {
    let keys = Arc::new(MapDirectory::default());
    let tmp = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate();
    keys.register("bob@demo", key.public_key());
    let path = tmp.path().join("bob.sqlite");
    let bob = Wallet::open(&path, key.clone(), "bob@demo", keys.clone()).unwrap();
    let alice = party(&keys, "alice@demo");
    party(&keys, "carol@demo");
    let hello = alice.wallet.open_channel("bob@demo", None).unwrap();
    bob.receive(hello.envelope.as_bytes()).unwrap();
    bob.close();
    bob.close();
    let closed = |what: &str, r: Result<(), WalletError>| {
        assert!(
            matches!(r, Err(WalletError::Store(StoreError::Closed))),
            "{what}: {r:?}"
        )
    };
    closed("channels", bob.channels().map(drop));
    closed("channel", bob.channel("alice@demo").map(drop));
    closed("queue", bob.queue().map(drop));
    closed("history", bob.history("alice@demo").map(drop));
    closed("requests", bob.requests(None).map(drop));
    closed("inbox", bob.inbox().map(drop));
    closed("automation", bob.automation().map(drop));
    closed("outbox", bob.outbox().map(drop));
    closed("own_inbox", bob.own_inbox().map(drop));
    closed("dismiss", bob.dismiss(1));
    closed(
        "send_private_text",
        bob.send_private_text("alice@demo", "hi", None).map(drop),
    );
    closed(
        "open_channel",
        bob.open_channel("carol@demo", None).map(drop),
    );
    closed("receive", bob.receive(hello.envelope.as_bytes()).map(drop));
    closed(
        "receive_batch",
        bob.receive_batch(&[hello.envelope.as_bytes()]).map(drop),
    );
    assert!(bob.is_closed());
    // The identity still answers, and the file kept what was committed.
    assert_eq!(bob.fio_address().as_str(), "bob@demo");
    let reopened = Wallet::open(&path, key, "bob@demo", keys).unwrap();
    assert_eq!(reopened.queue().unwrap().len(), 1);
}

#[test]
fn what_another_process_commits_is_seen_and_used() {
    // Another process (an app's background job) creates the inbox and sets
    // automations; this wallet reads them and sends the new inbox.
    let keys = Arc::new(MapDirectory::default());
    let tmp = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate();
    keys.register("bob@demo", key.public_key());
    let path = tmp.path().join("bob.sqlite");
    let database_key = fio_peer::store::DatabaseKey::derive(&key);
    let bob = Wallet::open(&path, key, "bob@demo", keys.clone()).unwrap();
    let alice = party(&keys, "alice@demo");
    assert_eq!(bob.inbox().unwrap(), None);
    let other = fio_peer::store::open(&path, &database_key).unwrap();
    let url = "https://relay.example/v1/inboxes/abc/messages";
    other
        .execute(
            "UPDATE identity SET inbox_type = 'URL', inbox = ?1, automation = ?2 WHERE id = 1",
            rusqlite::params![url, r#"{"status_replies":false}"#],
        )
        .unwrap();
    assert_eq!(bob.inbox().unwrap().unwrap().address, url);
    assert!(!bob.automation().unwrap().status_replies);
    // The write connection reads them again before its next write: the
    // channel request carries the new return address.
    let hello = bob.open_channel("alice@demo", None).unwrap();
    let got = alice.wallet.receive(hello.envelope.as_bytes()).unwrap();
    let request = alice
        .wallet
        .history("bob@demo")
        .unwrap()
        .into_iter()
        .find(|m| m.message_id == got.message.message_id)
        .unwrap();
    assert_eq!(request.data.return_address.as_deref(), Some(url));
}

#[test]
fn the_queue_pages_each_item_exactly_once_in_order() {
    let keys = Arc::new(MapDirectory::default());
    let tmp = tempfile::tempdir().unwrap();
    let bob = bob_on_file(&tmp, keys.clone(), &keys);
    let alice = party(&keys, "alice@demo");
    let hello = alice.wallet.open_channel("bob@demo", None).unwrap();
    bob.receive(hello.envelope.as_bytes()).unwrap();
    bob.accept_request("alice@demo", &hello.message_id, Default::default())
        .unwrap();
    for reply in bob.outbox().unwrap() {
        alice.wallet.receive(reply.envelope.as_bytes()).ok();
    }
    let texts: Vec<_> = (0..120)
        .map(|i| {
            alice
                .wallet
                .send_private_text("bob@demo", &format!("t{i}"), None)
                .unwrap()
                .envelope
        })
        .collect();
    let bodies: Vec<&[u8]> = texts.iter().map(|e| e.as_bytes()).collect();
    bob.receive_batch(&bodies).unwrap();
    let all = bob.queue().unwrap();
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = bob.queue_page(after, 50).unwrap();
        assert!(page.len() <= 50);
        let Some(last) = page.last() else { break };
        after = last.id;
        paged.extend(page);
    }
    assert_eq!(paged.len(), all.len());
    assert!(all.len() >= 120, "{}", all.len());
    let ids =
        |items: &[fio_peer::wallet::QueueItem]| items.iter().map(|q| q.id).collect::<Vec<_>>();
    assert_eq!(ids(&paged), ids(&all));
}
