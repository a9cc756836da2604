//! The binary as a Unix tool: it ends quietly when the reader of its output
//! goes away (`fio-peer queue --json | head -c 100`), `--quiet` prints
//! nothing but errors, NO_COLOR is honoured, and the completions and man
//! pages generate.
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

#[test]
fn quiet_prints_nothing_on_success_and_still_reports_errors() {
    let home = tempfile::tempdir().unwrap();
    let loud = fio_peer(home.path())
        .args(["key", "generate"])
        .output()
        .unwrap();
    assert!(loud.status.success());
    assert!(!loud.stdout.is_empty());
    for flag in ["--quiet", "-q"] {
        let out = fio_peer(home.path())
            .args([flag, "key", "generate"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{flag}");
    }
    let failed = fio_peer(home.path())
        .args(["--quiet", "key", "inspect", "not a key"])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(2));
    assert!(failed.stdout.is_empty());
    assert!(String::from_utf8_lossy(&failed.stderr).starts_with("error: "));
}

#[test]
fn no_color_turns_off_the_colors_of_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let stderr = |no_color: bool| {
        let mut c = fio_peer(home.path());
        // As a terminal would get them.
        c.arg("--no-such-option").env("CLICOLOR_FORCE", "1");
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        out.stderr
    };
    assert!(stderr(false).contains(&0x1b), "colored without NO_COLOR");
    assert!(!stderr(true).contains(&0x1b), "no escape with NO_COLOR");
}

#[test]
fn completions_and_man_pages_are_printed_and_written() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = fio_peer(home.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("private-request"),
            "{shell}"
        );
    }
    let man = fio_peer(home.path()).arg("man").output().unwrap();
    assert!(man.status.success());
    assert!(String::from_utf8_lossy(&man.stdout).starts_with(".ie"));
    let dir = tempfile::tempdir().unwrap();
    let out = fio_peer(home.path())
        .args(["man", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pages = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(pages > 40, "{pages} pages");
}
