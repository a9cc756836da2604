//! `fio-peer demo` run as a user runs it: it passes, its JSON says what was
//! checked, and `--keep` leaves working servers and wallet homes behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use serde_json::Value;

fn fio_peer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fio-peer"))
}

const FIP24: [&str; 10] = [
    "peer_new_com_request",
    "peer_new_funds_request",
    "peer_new_pub_address_request",
    "peer_return_message_status",
    "peer_accept_request",
    "peer_reject_request",
    "peer_cancel_request",
    "peer_update_com_data_request",
    "peer_close_com_request",
    "peer_send_private_text",
];
const FIP3: [&str; 6] = [
    "addfriend",
    "privaddadr",
    "privganbpa",
    "privfundsreq",
    "privrecsend",
    "priv_get_received_fio_requests",
];

#[test]
fn the_demo_passes_and_names_every_action() {
    let out = fio_peer().arg("demo").output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for action in FIP24.iter().chain(&FIP3) {
        assert!(stdout.contains(action), "{action} missing:\n{stdout}");
    }
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("All ") && last.contains(" checks of "),
        "{last}"
    );
    assert!(!stdout.contains('✗'));
}

#[test]
fn the_demo_in_json_lists_each_step_and_its_checks() {
    let out = fio_peer().args(["demo", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    let steps = v["steps"].as_array().unwrap();
    let checks: usize = steps
        .iter()
        .map(|s| s["checks"].as_array().unwrap().len())
        .sum();
    assert_eq!(v["checks"].as_u64(), Some(checks as u64));
    assert!(checks >= 20, "{checks}");
    assert!(steps
        .iter()
        .flat_map(|s| s["checks"].as_array().unwrap())
        .all(|c| c["ok"] == true));
    let actions: Vec<&str> = steps
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    for action in FIP24.iter().chain(&FIP3) {
        assert!(actions.contains(action), "{action}");
    }
    // Push: a registration, the relay's push, the extension's notice.
    for action in [
        "push registration",
        "push to bob's gateway",
        "receive_for_notification",
    ] {
        assert!(actions.contains(&action), "{action}");
    }
}

#[cfg(unix)]
#[test]
fn keep_leaves_the_servers_and_wallet_homes_until_interrupted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut child = fio_peer()
        .args(["demo", "--keep", "--json", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let v: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["ok"], true);

    // Each wallet has its home: config pointing at the running devnet and
    // relay, and its key file readable by the owner only.
    let alice = dir.path().join("alice");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(alice.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["network"], "devnet");
    assert_eq!(config["nodes"][0], v["devnet"]);
    assert_eq!(config["relay"], v["relay"]);
    let mode = std::fs::metadata(alice.join("wallet.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let wallet: Value =
        serde_json::from_str(&std::fs::read_to_string(alice.join("wallet.json")).unwrap()).unwrap();
    assert_eq!(wallet["fio_address"], "alice@demo");
    assert!(alice.join("wallet.sqlite").exists());

    // The servers still answer.
    for url in [&v["devnet"], &v["relay"]] {
        let host = url.as_str().unwrap().trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(
            s,
            "GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{url}: {answer}");
    }

    // The CLI wallet works on a kept home, against the kept servers.
    let out = fio_peer()
        .args(["--json", "channel", "list"])
        .env("FIO_PEER_HOME", &alice)
        .env_remove("FIO_PEER_NODES")
        .env_remove("FIO_PEER_RELAY")
        .env_remove("FIO_PEER_NETWORK")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let channels: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(channels[0]["peer"], "bob@demo");
    assert_eq!(channels[0]["state"], "closed");
    let out = fio_peer()
        .args([
            "--json", "nbpa", "get", "bob@demo", "--chain", "BTC", "--token", "BTC",
        ])
        .env("FIO_PEER_HOME", &alice)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A used directory is refused: the demo makes new keys and a new chain.
    let again = fio_peer()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"));

    // Ctrl-C stops them; the directory stays.
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());
    assert!(alice.join("wallet.sqlite").exists());
}
