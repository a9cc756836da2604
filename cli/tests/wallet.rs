//! Two CLI wallets in their own directories hold a scripted conversation
//! over a relay and fio-devnet (started here, on loopback), through every
//! command family; bad input gets a clear message and a non-zero exit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fio_devnet::{Genesis, Running};
use fio_peer::crypto::PrivateKey;
use serde_json::Value;

struct Servers {
    _rt: tokio::runtime::Runtime,
    _devnet: Running,
    devnet: String,
    relay: String,
    _dir: tempfile::TempDir,
}

fn servers(parties: &[(&str, &PrivateKey)]) -> Servers {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<(&str, &fio_peer::crypto::PublicKey)> =
        parties.iter().map(|(n, k)| (*n, k.public_key())).collect();
    let genesis = Genesis::with_parties("cli", &keys, 1_000_000_000_000);
    let devnet = rt.block_on(Running::start(None, &genesis)).unwrap();
    let db = dir.path().join("relay.sqlite");
    let relay = rt
        .block_on(fio_inbox::spawn_on_loopback(db.to_str().unwrap()))
        .unwrap();
    Servers {
        devnet: devnet.url(),
        relay,
        _devnet: devnet,
        _rt: rt,
        _dir: dir,
    }
}

/// One CLI wallet: its home and the endpoints it was created with, and
/// everything its commands printed.
struct Cli {
    home: PathBuf,
    transcript: std::cell::RefCell<Vec<u8>>,
}

impl Cli {
    fn at(home: PathBuf) -> Cli {
        Cli {
            home,
            transcript: Default::default(),
        }
    }

    fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fio-peer"))
            .args(args)
            .env("FIO_PEER_HOME", &self.home)
            .env_remove("FIO_PEER_KEY")
            .env_remove("FIO_PEER_MNEMONIC")
            .env_remove("FIO_PEER_NODES")
            .env_remove("FIO_PEER_RELAY")
            .env_remove("FIO_PEER_NETWORK")
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
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        let mut transcript = self.transcript.borrow_mut();
        transcript.extend_from_slice(&out.stdout);
        transcript.extend_from_slice(&out.stderr);
        out
    }

    /// The wallet's secrets: its key (WIF and hex) and, from the database, the relay credential and every channel token.
    fn secrets(&self, key: &PrivateKey) -> Vec<String> {
        let database_key = fio_peer::store::DatabaseKey::derive(key);
        let db = fio_peer::store::open(&self.home.join("wallet.sqlite"), &database_key).unwrap();
        let mut secrets = vec![
            key.to_wif().to_string(),
            hex::encode(key.to_bytes().as_slice()),
        ];
        secrets.push(
            db.query_row("SELECT credential FROM own_inbox", [], |r| r.get(0))
                .unwrap(),
        );
        let mut tokens = db
            .prepare("SELECT our_token, peer_token FROM channels")
            .unwrap();
        let rows = tokens
            .query_map([], |r| {
                Ok([
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                ])
            })
            .unwrap();
        secrets.extend(rows.flat_map(|r| r.unwrap()).flatten());
        secrets
    }

    /// Runs with `--json`; the command must succeed.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run_stdin(&all, None);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Runs in text mode; the command must fail with `code`; returns stderr.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run_stdin(args, None);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }
}

fn import(dir: &Path, name: &str, key: &PrivateKey, s: &Servers) -> Cli {
    let cli = Cli::at(dir.join(name));
    let address = format!("{name}@cli");
    let out = cli.run_stdin(
        &[
            "--json",
            "wallet",
            "import",
            "--fio-address",
            &address,
            "--key",
            "-",
            "--node",
            &s.devnet,
            "--relay",
            &s.relay,
        ],
        Some(key.to_wif().as_str()),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fio_address"], address.as_str());
    cli
}

fn find<'a>(list: &'a Value, action: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|m| m["action"] == action || m["message"]["action"] == action)
        .unwrap_or_else(|| panic!("no {action} in {list}"))
}

#[test]
fn two_cli_wallets_hold_a_conversation_over_a_relay_and_the_devnet() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let s = servers(&[("alice", &ka), ("bob", &kb)]);
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (
        import(dir.path(), "alice", &ka, &s),
        import(dir.path(), "bob", &kb, &s),
    );

    // Each home remembers its endpoints; the key file is the owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(alice.home.join("wallet.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let shown = alice.json(&["wallet", "show"]);
    assert_eq!(shown["fio_address"], "alice@cli");
    assert_eq!(shown["nodes"][0], s.devnet.as_str());
    assert_eq!(shown["relay"], s.relay.as_str());

    // Inboxes: created on the relay, registered on chain.
    for w in [&alice, &bob] {
        let created = w.json(&["inbox", "create"]);
        assert!(created["inbox"].as_str().unwrap().starts_with(&s.relay));
        assert_eq!(w.json(&["inbox", "register"])["registered"], true);
    }

    // FIP-24: a channel, a funds request rejected, a text.
    let opened = alice.json(&["channel", "open", "bob@cli", "--memo", "Hi Bob"]);
    assert_eq!(opened["delivered"], true);
    assert_eq!(bob.json(&["sync"])["received"], 1);
    let queue = bob.json(&["queue"]);
    let hello = find(&queue, "peer_new_com_request");
    assert_eq!(hello["message"]["data"]["memo"], "Hi Bob");
    let id = hello["message"]["message_id"].as_str().unwrap().to_string();
    bob.json(&["accept", "alice@cli", &id]);
    // Answered, it no longer waits for Bob; `requests` shows its state.
    let left = bob.json(&["queue"]);
    assert!(left
        .as_array()
        .unwrap()
        .iter()
        .all(|q| q["id"] != hello["id"]));
    let qid = hello["id"].as_i64().unwrap().to_string();
    bob.fails(&["queue", "--dismiss", &qid], 2);
    let requests = bob.json(&["requests"]);
    assert_eq!(requests[0]["message_id"], id.as_str());
    assert_eq!(requests[0]["kind"], "channel");
    assert_eq!(requests[0]["state"], "accepted");
    alice.json(&["sync"]);
    let channels = alice.json(&["channel", "list"]);
    assert_eq!(channels[0]["state"], "open");

    let asked = alice.json(&[
        "request",
        "funds",
        "bob@cli",
        "--amount",
        "1.5",
        "--chain",
        "BTC",
        "--token",
        "BTC",
        "--to",
        "bc1qalicewantspaid",
        "--memo",
        "rent",
    ]);
    let paid = alice.json(&[
        "request",
        "funds",
        "bob@cli",
        "--amount",
        "2",
        "--chain",
        "BTC",
        "--token",
        "BTC",
        "--to",
        "bc1qalicewantspaid",
    ]);
    bob.json(&["sync"]);
    let rid = asked["message_id"].as_str().unwrap();
    let pid = paid["message_id"].as_str().unwrap();
    let waiting = |cli: &Cli| -> Vec<String> {
        cli.json(&["queue"])
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["message"]["message_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(waiting(&bob), vec![rid.to_string(), pid.to_string()]);
    bob.json(&["reject", "alice@cli", rid, "--memo", "not this month"]);
    bob.json(&["accept", "alice@cli", pid]);
    assert!(waiting(&bob).is_empty());
    let funds = bob.json(&["requests", "--peer", "alice@cli"]);
    let state_of = |list: &Value, id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["message_id"] == id)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state_of(&funds, rid), "rejected");
    assert_eq!(state_of(&funds, pid), "paid");
    let only_paid = bob.json(&["requests", "--state", "paid"]);
    assert_eq!(only_paid.as_array().unwrap().len(), 1);
    let text = String::from_utf8(bob.run_stdin(&["requests"], None).stdout).unwrap();
    assert!(
        text.contains("rejected") && text.contains("paid") && text.contains(pid),
        "{text}"
    );
    alice.json(&["sync"]);
    let history = alice.json(&["history", "bob@cli"]);
    // Alice's messages carry their delivery: the requests were delivered.
    for m in history.as_array().unwrap() {
        assert_eq!(m["delivery"].is_null(), m["direction"] == "in", "{m}");
        if m["message_id"] == rid || m["message_id"] == pid {
            assert_eq!(m["delivery"]["state"], "delivered", "{m}");
            assert!(m["delivery"]["seq"].as_i64().unwrap() > 0, "{m}");
        }
    }
    assert_eq!(state_of(&alice.json(&["requests"]), rid), "rejected");
    let rejection = find(&history, "peer_reject_request");
    assert_eq!(rejection["referenced_message_id"], rid);
    assert_eq!(rejection["data"]["memo"], "not this month");

    alice.json(&["send", "text", "bob@cli", "see you at 8"]);
    bob.json(&["sync"]);
    let history = bob.json(&["history", "alice@cli"]);
    assert_eq!(
        find(&history, "peer_send_private_text")["data"]["memo"],
        "see you at 8"
    );

    // Address request answered.
    let ask = bob.json(&[
        "request",
        "address",
        "alice@cli",
        "--chain",
        "ETH",
        "--token",
        "ETH",
    ]);
    alice.json(&["sync"]);
    alice.json(&[
        "accept",
        "bob@cli",
        ask["message_id"].as_str().unwrap(),
        "--address",
        "0xa11ce",
    ]);
    bob.json(&["sync"]);
    let history = bob.json(&["history", "alice@cli"]);
    let answers: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["action"] == "peer_accept_request" && m["direction"] == "in")
        .collect();
    assert_eq!(answers[0]["data"]["payee_public_address"], "0xa11ce");

    // FIP-3: friends, a private NBPA, a private request paid.
    bob.json(&["friend", "add", "alice@cli"]);
    assert_eq!(
        alice.json(&["friend", "check", "bob@cli"])["is_friend"],
        true
    );
    assert_eq!(
        bob.json(&["friend", "check", "alice@cli"])["is_friend"],
        false
    );
    bob.json(&[
        "nbpa",
        "add",
        "--chain",
        "BTC",
        "--token",
        "BTC",
        "bc1qbobsaddress",
    ]);
    bob.json(&["nbpa", "grant", "alice@cli", "--chain", "BTC"]);
    let got = alice.json(&["nbpa", "get", "bob@cli", "--chain", "BTC", "--token", "BTC"]);
    assert_eq!(got["public_address"], "bc1qbobsaddress");

    alice.json(&["friend", "add", "bob@cli"]);
    let new = bob.json(&[
        "private-request",
        "new",
        "alice@cli",
        "--amount",
        "0.01",
        "--chain",
        "BTC",
        "--token",
        "BTC",
        "--to",
        "bc1qbobsaddress",
        "--memo",
        "lunch",
    ]);
    let fid = new["fio_request_id"].as_u64().unwrap().to_string();
    let list = alice.json(&["private-request", "list"]);
    assert_eq!(list["received"][0]["memo"], "lunch");
    assert_eq!(list["received"][0]["status"], "requested");
    alice.json(&[
        "private-request",
        "pay",
        &fid,
        "--obt-id",
        "deadbeef",
        "--from",
        "bc1qalice",
    ]);
    let list = bob.json(&["private-request", "list"]);
    assert_eq!(list["sent"][0]["status"], "paid");
    assert_eq!(list["sent"][0]["payer"], "alice@cli");
    let friends = bob.json(&["friend", "list"]);
    assert_eq!(friends["friends"][0]["fio_address"], "alice@cli");

    // Text mode says it in a sentence.
    let out = alice.run_stdin(&["channel", "list"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("bob@cli"));

    // Nothing either wallet printed, on stdout or stderr, in text or JSON,
    // holds a secret of either.
    let secrets: Vec<String> = [alice.secrets(&ka), bob.secrets(&kb)].concat();
    assert!(secrets.len() >= 8, "{}", secrets.len());
    for cli in [&alice, &bob] {
        let printed = String::from_utf8_lossy(&cli.transcript.borrow()).into_owned();
        assert!(printed.len() > 1000);
        for secret in &secrets {
            assert!(secret.len() >= 16);
            assert!(!printed.contains(secret.as_str()), "a secret was printed");
        }
    }
}

#[test]
fn bad_input_gets_a_clear_message_and_a_non_zero_exit() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let s = servers(&[("alice", &ka), ("bob", &kb)]);
    let dir = tempfile::tempdir().unwrap();

    // No wallet yet.
    let nobody = Cli::at(dir.path().join("nobody"));
    let e = nobody.fails(&["channel", "list"], 2);
    assert!(
        e.contains("there is no wallet") && e.contains("wallet init"),
        "{e}"
    );
    // A bad FIO address and a bad key at import.
    let e = nobody.fails(
        &[
            "wallet",
            "import",
            "--fio-address",
            "no-at-sign",
            "--key",
            "5Kxx",
        ],
        2,
    );
    assert!(e.contains("--key") || e.contains("FIO address"), "{e}");
    let e = nobody.fails(&["wallet", "init", "--fio-address", "not an address"], 2);
    assert!(e.contains("is not a FIO address"), "{e}");

    let alice = import(dir.path(), "alice", &ka, &s);
    // A second wallet in the same home is refused.
    let e = alice.fails(&["wallet", "init", "--fio-address", "alice@cli"], 2);
    assert!(e.contains("already holds a wallet"), "{e}");
    // A peer that is not a FIO address.
    let e = alice.fails(&["channel", "open", "bob"], 2);
    assert!(e.contains("Invalid") && e.contains("\"bob\""), "{e}");
    // An unknown request id.
    let e = alice.fails(&["accept", "bob@cli", "0123456789abcdef"], 2);
    assert!(e.contains("no request 0123456789abcdef"), "{e}");
    // Granting to someone not on the list.
    let e = alice.fails(&["nbpa", "grant", "bob@cli", "--all"], 1);
    assert!(e.contains("friend add bob@cli"), "{e}");
    // A private request to a payer who has not added us.
    let e = alice.fails(
        &[
            "private-request",
            "new",
            "bob@cli",
            "--amount",
            "1",
            "--chain",
            "BTC",
            "--token",
            "BTC",
            "--to",
            "bc1q",
        ],
        1,
    );
    assert!(e.contains("not on bob@cli's friend list"), "{e}");
    // Nothing granted: exit 1 with a sentence.
    let e = alice.fails(
        &["nbpa", "get", "bob@cli", "--chain", "BTC", "--token", "BTC"],
        1,
    );
    assert!(e.contains("has not granted you"), "{e}");
    // An unreachable chain says what to check.
    let e = alice.fails(
        &["friend", "add", "bob@cli", "--node", "http://127.0.0.1:9"],
        1,
    );
    assert!(!e.is_empty(), "{e}");
    // Unknown network.
    let e = alice.fails(&["wallet", "--network", "moon", "show"], 2);
    assert!(e.contains("moon"), "{e}");
}

#[test]
fn offline_queues_and_failed_syncs_keep_the_message() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let s = servers(&[("alice", &ka), ("bob", &kb)]);
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (
        import(dir.path(), "alice", &ka, &s),
        import(dir.path(), "bob", &kb, &s),
    );
    bob.json(&["inbox", "create"]);
    bob.json(&["inbox", "register"]);
    // Registered already: a second register pushes nothing unless forced.
    assert_eq!(bob.json(&["inbox", "register"])["registered"], false);
    assert_eq!(
        bob.json(&["inbox", "register", "--force"])["registered"],
        true
    );

    // Alice's own relay is unreachable: the sync after her message fails
    // (she has no inbox), but the message was queued and still reached Bob's
    // inbox; the command succeeds and reports the sync's error.
    let queued = alice.json(&[
        "channel",
        "open",
        "bob@cli",
        "--relay",
        "http://127.0.0.1:9",
    ]);
    assert!(queued["sync_error"].is_string(), "{queued}");
    assert_eq!(queued["delivered"], true, "{queued}");
    let id = queued["message_id"].as_str().unwrap().to_string();
    // Her relay back: an inbox, and the channel opens.
    alice.json(&["inbox", "create"]);
    alice.json(&["inbox", "register"]);
    bob.json(&["sync"]);
    bob.json(&["accept", "alice@cli", &id]);
    alice.json(&["sync"]);
    // --offline only queues; the next sync delivers.
    let offline = alice.json(&["send", "text", "bob@cli", "queued offline", "--offline"]);
    assert_eq!(offline["delivered"], false);
    assert!(offline.get("sync").is_none());
    let synced = alice.json(&["sync"]);
    assert_eq!(synced["delivered"], 1, "{synced}");
    // Only a failed delivery is retried.
    let e = alice.fails(&["retry", "bob@cli", &id], 1);
    assert!(e.contains("has not failed"), "{e}");
    let e = alice.fails(&["retry", "bob@cli", "0000000000000000"], 1);
    assert!(e.contains("no message"), "{e}");
    bob.json(&["sync"]);
    let history = bob.json(&["history", "alice@cli"]);
    assert_eq!(
        find(&history, "peer_new_com_request")["message_id"],
        id.as_str()
    );
    assert_eq!(
        find(&history, "peer_send_private_text")["data"]["memo"],
        "queued offline"
    );

    // The endpoints can come from the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_fio-peer"))
        .args(["--json", "wallet", "show"])
        .env("FIO_PEER_HOME", &alice.home)
        .env("FIO_PEER_NODES", format!("{},http://127.0.0.1:9", s.devnet))
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["nodes"][1], "http://127.0.0.1:9");
    // A one-off --node is not saved.
    let shown = alice.json(&["wallet", "show"]);
    assert_eq!(shown["nodes"].as_array().unwrap().len(), 1);
}

#[test]
fn the_rest_of_the_commands() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let s = servers(&[("alice", &ka), ("bob", &kb)]);
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (
        import(dir.path(), "alice", &ka, &s),
        import(dir.path(), "bob", &kb, &s),
    );
    for w in [&alice, &bob] {
        w.json(&["inbox", "create"]);
        w.json(&["inbox", "register"]);
    }
    let hello = alice.json(&["channel", "open", "bob@cli"]);
    bob.json(&["sync"]);
    bob.json(&["accept", "alice@cli", hello["message_id"].as_str().unwrap()]);
    alice.json(&["sync"]);
    // A funds request cancelled by its sender.
    let asked = alice.json(&[
        "request", "funds", "bob@cli", "--amount", "3", "--chain", "ETH", "--token", "ETH", "--to",
        "0xa11ce",
    ]);
    let rid = asked["message_id"].as_str().unwrap();
    bob.json(&["sync"]);
    alice.json(&["cancel", "bob@cli", rid, "--memo", "never mind"]);
    bob.json(&["sync"]);
    assert_eq!(
        find(&bob.json(&["history", "alice@cli"]), "peer_cancel_request")["referenced_message_id"],
        rid
    );
    // Update, then close.
    bob.json(&["channel", "update", "alice@cli"]);
    alice.json(&["sync"]);
    alice.json(&["channel", "close", "bob@cli", "--memo", "bye"]);
    bob.json(&["sync"]);
    assert_eq!(bob.json(&["channel", "list"])[0]["state"], "closed");

    // FIP-3: grant all, reject a private request, remove a friend, restore.
    bob.json(&["friend", "add", "alice@cli"]);
    bob.json(&["nbpa", "add", "--chain", "ETH", "--token", "USDC", "0xb0b"]);
    bob.json(&["nbpa", "grant", "alice@cli", "--all"]);
    assert_eq!(
        alice.json(&["nbpa", "get", "bob@cli", "--chain", "ETH", "--token", "USDC"])
            ["public_address"],
        "0xb0b"
    );
    alice.json(&["friend", "add", "bob@cli"]);
    let new = bob.json(&[
        "private-request",
        "new",
        "alice@cli",
        "--amount",
        "5",
        "--chain",
        "ETH",
        "--token",
        "USDC",
        "--to",
        "0xb0b",
    ]);
    let fid = new["fio_request_id"].as_u64().unwrap().to_string();
    alice.json(&["private-request", "reject", &fid]);
    assert_eq!(
        bob.json(&["private-request", "list"])["sent"][0]["status"],
        "rejected"
    );
    alice.fails(
        &[
            "private-request",
            "pay",
            "999",
            "--obt-id",
            "x",
            "--from",
            "y",
        ],
        2,
    );

    // A second home for Bob's key restores his friend list from the chain.
    let again = Cli::at(dir.path().join("bob-again"));
    let out = again.run_stdin(
        &[
            "--json",
            "wallet",
            "import",
            "--fio-address",
            "bob@cli",
            "--key",
            "-",
            "--node",
            &s.devnet,
        ],
        Some(kb.to_wif().as_str()),
    );
    assert!(out.status.success());
    let restored = again.json(&["friend", "list", "--restore"]);
    assert_eq!(restored["restored"], 1);
    assert_eq!(restored["friends"][0]["fio_address"], "alice@cli");
    bob.json(&["friend", "remove", "alice@cli"]);
    assert_eq!(
        alice.json(&["friend", "check", "bob@cli"])["is_friend"],
        false
    );
    assert!(bob.json(&["friend", "list"])["friends"]
        .as_array()
        .unwrap()
        .is_empty());

    // wallet init prints the words once; they restore the same key.
    let fresh = Cli::at(dir.path().join("fresh"));
    let made = fresh.json(&[
        "wallet",
        "init",
        "--fio-address",
        "carol@cli",
        "--node",
        &s.devnet,
    ]);
    let words = made["mnemonic"].as_str().unwrap();
    assert_eq!(words.split(' ').count(), 12);
    let copy = Cli::at(dir.path().join("copy"));
    let out = copy.run_stdin(
        &[
            "--json",
            "wallet",
            "import",
            "--fio-address",
            "carol@cli",
            "--mnemonic",
            "-",
        ],
        Some(words),
    );
    let imported: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(imported["public_key"], made["public_key"]);
}

#[test]
fn push_registrations_and_the_notification_receive_from_the_cli() {
    let (ka, kb) = (PrivateKey::generate(), PrivateKey::generate());
    let s = servers(&[("alice", &ka), ("bob", &kb)]);
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (
        import(dir.path(), "alice", &ka, &s),
        import(dir.path(), "bob", &kb, &s),
    );
    for w in [&alice, &bob] {
        w.json(&["inbox", "create"]);
        w.json(&["inbox", "register"]);
    }
    let hello = alice.json(&["channel", "open", "bob@cli"]);
    bob.json(&["sync"]);
    bob.json(&["accept", "alice@cli", hello["message_id"].as_str().unwrap()]);
    alice.json(&["sync"]);

    // A gateway nobody serves: the registration is what is tested here.
    let gateway = "http://127.0.0.1:9/_matrix/push/v1/notify";
    let added = alice.json(&[
        "inbox",
        "push-add",
        "--gateway",
        gateway,
        "--app-id",
        "com.example.cli",
        "--pushkey",
        "tok-1",
    ]);
    let push_id = added["push_id"].as_str().unwrap().to_string();
    assert_eq!(added["kind"], "gateway");
    let listed = alice.json(&["inbox", "pushes"]);
    assert_eq!(listed["pushes"][0]["push_id"], push_id.as_str());
    assert_eq!(
        alice.json(&["inbox", "push-key"])["public_key"]
            .as_str()
            .unwrap()
            .len(),
        87
    );
    let refused = alice.fails(
        &[
            "inbox",
            "push-add",
            "--gateway",
            "http://127.0.0.1:9/notify",
            "--app-id",
            "a",
            "--pushkey",
            "k",
        ],
        1,
    );
    assert!(refused.contains("/_matrix/push/v1/notify"), "{refused}");

    // Everything so far (the channel's acceptance) is notified once.
    let first = alice.json(&["inbox", "notify"]);
    assert_eq!(
        first["notices"],
        serde_json::json!(["bob@cli accepted your connection"])
    );
    bob.json(&[
        "request",
        "funds",
        "alice@cli",
        "--amount",
        "3",
        "--chain",
        "ETH",
        "--token",
        "ETH",
        "--to",
        "0xb0b",
        "--memo",
        "rent",
    ]);
    bob.json(&["sync"]);
    let shown = alice.json(&["inbox", "notify", "--budget-ms", "5000"]);
    assert_eq!(
        shown["notices"],
        serde_json::json!(["bob@cli requests 3 ETH: rent"])
    );
    assert_eq!(
        alice.json(&["inbox", "notify"])["notices"],
        serde_json::json!([])
    );

    assert_eq!(
        alice.json(&["inbox", "push-remove", &push_id])["removed"],
        push_id.as_str()
    );
    assert_eq!(
        alice.json(&["inbox", "pushes"])["pushes"],
        serde_json::json!([])
    );
    alice.fails(&["inbox", "push-remove", &push_id], 2);
    // Nothing printed holds the key or the credential.
    let printed = String::from_utf8_lossy(&alice.transcript.borrow()).into_owned();
    for secret in alice.secrets(&ka) {
        assert!(!printed.contains(&secret), "a secret was printed");
    }
}
