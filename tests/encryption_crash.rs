//! kill -9 in the middle of the database's one-time encryption and of a
//! rekey: whatever the moment, the file opens afterwards, with the old key
//! (or as plaintext) or the new one, and holds every row.
//!
//! The child process is this test binary started again with
//! `FIO_PEER_CRASH_CHILD` set (`harness = false`, so there is no test of its
//! own that only works under a parent).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fio_peer::store::{self, encryption, DatabaseKey, StoreError};
use libtest_mimic::{Arguments, Failed, Trial};
use rusqlite::Connection;

/// Enough rows (about 4 MB) that the copy takes a while to be killed in.
const ROWS: i64 = 20_000;
const KILLS: usize = 12;
const CHILD: &str = "FIO_PEER_CRASH_CHILD";

fn old_key() -> DatabaseKey {
    DatabaseKey::from_bytes([0x11; 32])
}

fn new_key() -> DatabaseKey {
    DatabaseKey::from_bytes([0x22; 32])
}

fn fill(conn: &Connection) {
    conn.execute_batch(
        "CREATE TABLE crash_rows (n INTEGER PRIMARY KEY, body BLOB NOT NULL);
         BEGIN;",
    )
    .unwrap();
    let mut insert = conn
        .prepare("INSERT INTO crash_rows (n, body) VALUES (?1, zeroblob(200))")
        .unwrap();
    for n in 0..ROWS {
        insert.execute([n]).unwrap();
    }
    drop(insert);
    conn.execute_batch("COMMIT").unwrap();
}

fn rows(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM crash_rows", [], |r| r.get(0))
        .unwrap()
}

/// A plaintext database of today's schema, as fio-peer wrote before
/// encryption, with the rows.
fn plaintext(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    store::migrate(&conn, store::SCHEMA_VERSION).unwrap();
    fill(&conn);
}

fn encrypted(path: &Path) {
    let conn = store::open(path, &old_key()).unwrap();
    fill(&conn);
}

/// A small xorshift for kill times; the seed is printed, so a failure can be
/// run again.
struct Times(u64);

impl Times {
    fn next(&mut self, below: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        below.mul_f64((self.0 % 10_000) as f64 / 10_000.0)
    }
}

fn child(mode: &str, path: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(CHILD, format!("{mode}:{}", path.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    cmd
}

/// Starts `mode` on fresh copies of `made` (by `make`) and kills it at
/// random moments up to the time an undisturbed run takes, then checks each
/// copy with `check`, which tells whether the change had taken.
fn kill_at_random(
    mode: &str,
    make: fn(&Path),
    check: fn(&Path) -> Result<bool, String>,
) -> Result<(), Failed> {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.sqlite");
    make(&template);
    let copy = |name: &str| -> PathBuf {
        let path = dir.path().join(name);
        for side in ["", "-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{side}", template.display()));
            if from.exists() {
                std::fs::copy(&from, format!("{}{side}", path.display())).unwrap();
            }
        }
        path
    };

    let calibrate = copy("calibrate.sqlite");
    let started = Instant::now();
    let status = child(mode, &calibrate).status().unwrap();
    let whole = started.elapsed();
    if !status.success() {
        return Err(format!("the undisturbed {mode} failed: {status}").into());
    }
    if !check(&calibrate)? {
        return Err(format!("the undisturbed {mode} did not take").into());
    }

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut times = Times(seed);
    let (mut before, mut after) = (0, 0);
    for i in 0..KILLS {
        let path = copy(&format!("kill{i}.sqlite"));
        // A quarter beyond the run, so some kills come after it finished.
        let wait = times.next(whole.mul_f64(1.25));
        let mut running = child(mode, &path).spawn().unwrap();
        std::thread::sleep(wait);
        // SIGKILL: no destructor, no unwinding, as when a phone kills an app.
        let _ = running.kill();
        running.wait().unwrap();
        let took = check(&path)
            .map_err(|e| format!("seed {seed}, kill {i} at {wait:?} of {whole:?}: {e}"))?;
        if took {
            after += 1;
        } else {
            before += 1;
        }
    }
    eprintln!(
        "{mode}: {KILLS} kills in a {whole:?} run (seed {seed}): {before} before it took, {after} after; every copy whole"
    );
    Ok(())
}

/// After a killed encryption: the file opens with the key (encrypting it
/// now if the kill came first) and has every row. `Ok(true)` if the killed
/// run had finished.
fn check_encrypt(path: &Path) -> Result<bool, String> {
    let was_plaintext = encryption::is_plaintext(path).map_err(|e| e.to_string())?;
    let conn = store::open(path, &old_key()).map_err(|e| format!("open: {e}"))?;
    let n = rows(&conn);
    if n != ROWS {
        return Err(format!("{n} rows of {ROWS}"));
    }
    drop(conn);
    if encryption::is_plaintext(path).map_err(|e| e.to_string())? {
        return Err("still plaintext after open".into());
    }
    if encryption::encrypting_path(path).exists() {
        return Err("the .encrypting copy was left behind".into());
    }
    Ok(!was_plaintext)
}

/// After a killed rekey: the file opens with exactly one of the keys and has
/// every row. `Ok(true)` if that is the new key.
fn check_rekey(path: &Path) -> Result<bool, String> {
    let (took, conn) = match store::open(path, &old_key()) {
        Ok(conn) => (false, conn),
        Err(StoreError::WrongKey) => (
            true,
            store::open(path, &new_key()).map_err(|e| format!("opens with neither key: {e}"))?,
        ),
        Err(e) => return Err(format!("open with the old key: {e}")),
    };
    let n = rows(&conn);
    if n != ROWS {
        return Err(format!("{n} rows of {ROWS}"));
    }
    Ok(took)
}

fn run_child(spec: &str) {
    let (mode, path) = spec.split_once(':').expect("mode:path");
    let path = Path::new(path);
    match mode {
        "encrypt" => drop(store::open(path, &old_key()).unwrap()),
        "rekey" => {
            let conn = store::open(path, &old_key()).unwrap();
            store::rekey(&conn, &new_key()).unwrap();
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        run_child(&spec);
        return;
    }
    let tests = vec![
        Trial::test("kill_during_encryption_of_a_plaintext_database", || {
            kill_at_random("encrypt", plaintext, check_encrypt)
        }),
        Trial::test("kill_during_rekey", || {
            kill_at_random("rekey", encrypted, check_rekey)
        }),
    ];
    libtest_mimic::run(&Arguments::from_args(), tests).exit();
}
