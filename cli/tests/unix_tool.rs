//! The binary as a Unix tool: it ends quietly when the reader of its output
//! goes away (`fio-peer queue --json | head -c 100`).
#![cfg(unix)]

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn fio_peer(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fio-peer"));
    c.env("FIO_PEER_HOME", home)
        .env_remove("FIO_PEER_KEY")
        .env_remove("FIO_PEER_MNEMONIC")
        .env_remove("FIO_PEER_NODES")
        .env_remove("FIO_PEER_RELAY")
        .env_remove("FIO_PEER_NETWORK");
    c
}

/// Runs `args` with standard output a pipe whose reader is already gone:
/// the first write fails, whatever the output's size.
fn with_the_reader_gone(home: &Path, args: &[&str]) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = fio_peer(home)
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{args:?}: {stderr}"
    );
    // Killed by SIGPIPE (a shell reports 141), as `cat` or `ls` would be.
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{args:?}: {:?}",
        out.status
    );
}

#[test]
fn a_reader_that_goes_away_ends_each_command_quietly() {
    let home = tempfile::tempdir().unwrap();
    let key = fio_peer(home.path())
        .args(["key", "generate"])
        .output()
        .unwrap();
    assert!(key.status.success());
    let key: serde_json::Value = serde_json::from_slice(&key.stdout).unwrap();
    let imported = fio_peer(home.path())
        .args(["wallet", "import", "--fio-address", "me@devnet", "--key"])
        .arg(key["private_key"].as_str().unwrap())
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    for args in [
        &["queue"][..],
        &["--json", "queue"],
        &["history", "peer@devnet"],
        &["key", "generate"],
        &["--json", "demo"],
    ] {
        with_the_reader_gone(home.path(), args);
    }
}
