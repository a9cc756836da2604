//! SQLite storage for a wallet: opening with the durability settings the
//! wallet promises, encrypted at rest (SQLCipher, [`encryption`]), and
//! schema migrations by `PRAGMA user_version`.
//!
//! Each migration runs in its own transaction together with the
//! `user_version` bump, so a crash leaves the database at one version or the
//! next, never between. A database from a newer fio-peer is refused.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

mod cipher;
pub mod encryption;

pub use encryption::DatabaseKey;

/// The migrations, in order; migration i brings the schema to version i + 1.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_channels.sql"),
    include_str!("migrations/0002_requests_queue.sql"),
    include_str!("migrations/0003_outbox_inbox.sql"),
    include_str!("migrations/0004_friends.sql"),
    include_str!("migrations/0005_registration_check.sql"),
    include_str!("migrations/0006_delivery_age.sql"),
    include_str!("migrations/0007_key_change.sql"),
    include_str!("migrations/0008_events_waiting_queue.sql"),
    include_str!("migrations/0009_push_registrations.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database has schema version {found}, newer than this fio-peer understands ({supported}); upgrade fio-peer")]
    NewerSchema { found: u32, supported: u32 },
    /// Another wallet object of this process has the file open: one writer
    /// per database file.
    #[error("{} is already open in this process; close the other wallet first", .0.display())]
    AlreadyOpen(PathBuf),
    /// The database key does not open the file: its first pages fail
    /// authentication (a wrong key, or a damaged or altered file: the
    /// same to the cipher) or it is not a database. Nothing was written.
    #[error(
        "the database key does not open this wallet database (a wrong key, or a damaged file)"
    )]
    WrongKey,
    /// The wallet was closed; open it again to go on.
    #[error("the wallet was closed")]
    Closed,
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The database files open in this process, by canonical path.
static OPEN_FILES: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// A database file claimed by one wallet object of this process; the claim
/// ends when this is dropped.
#[derive(Debug)]
pub struct FileClaim(PathBuf);

impl FileClaim {
    /// Claims `path`, or fails with [`StoreError::AlreadyOpen`]. Paths are
    /// compared canonically (the file's directory resolved, so
    /// `./a.sqlite` and `/home/me/a.sqlite` are one file).
    pub fn claim(path: &Path) -> Result<FileClaim, StoreError> {
        let canonical = canonical(path);
        let mut open = OPEN_FILES.lock().unwrap_or_else(|e| e.into_inner());
        if !open
            .get_or_insert_with(HashSet::new)
            .insert(canonical.clone())
        {
            return Err(StoreError::AlreadyOpen(canonical));
        }
        Ok(FileClaim(canonical))
    }

    /// The claimed file, canonical.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for FileClaim {
    fn drop(&mut self) {
        let mut open = OPEN_FILES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = open.as_mut() {
            set.remove(&self.0);
        }
    }
}

/// `path` with its directory resolved (the file itself may not exist yet).
fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(absolute),
        _ => absolute,
    }
}

/// The sync lock beside a database file: `<file>.sync-lock`.
pub fn sync_lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".sync-lock");
    PathBuf::from(name)
}

/// Takes the advisory lock that makes one process at a time sync the wallet
/// in `db` (an app, its background job and its notification extension may
/// open one file). `None` when another process (or another open file
/// description) holds it. The lock ends when the file is dropped, and when
/// the process dies, so a killed sync never blocks the next one.
pub fn try_lock_sync(db: &Path) -> Result<Option<File>, StoreError> {
    let path = sync_lock_path(db);
    let file = open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Io { path, source }),
    }
}

/// Waits for the sync lock of `db` (see [`try_lock_sync`]).
fn lock_sync(db: &Path) -> Result<File, StoreError> {
    let path = sync_lock_path(db);
    let file = open_lock_file(&path)?;
    file.lock()
        .map_err(|source| StoreError::Io { path, source })?;
    Ok(file)
}

fn open_lock_file(path: &Path) -> Result<File, StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Opens (creating if needed, with mode 0600) the wallet database at `path`
/// with `key` and brings its schema up to date. WAL journal,
/// `synchronous=FULL` (a committed message survives power loss), foreign
/// keys on. A plaintext database (from before encryption) is encrypted in
/// place first; a wrong key is [`StoreError::WrongKey`] and changes nothing.
pub fn open(path: &Path, key: &DatabaseKey) -> Result<Connection, StoreError> {
    open_file(path, Some(key))
}

/// Benchmarks only: [`open`] without encryption, the baseline that shows
/// what encryption costs (`cargo bench --bench receive`). Never in an app:
/// everything in the file is readable.
#[doc(hidden)]
pub fn open_unencrypted_baseline(path: &Path) -> Result<Connection, StoreError> {
    open_file(path, None)
}

fn open_file(path: &Path, key: Option<&DatabaseKey>) -> Result<Connection, StoreError> {
    cipher::linked();
    if let Some(key) = key {
        if encryption::is_plaintext(path)? {
            // One process encrypts; the others wait for it and find it done.
            let lock = lock_sync(path)?;
            if encryption::is_plaintext(path)? {
                encryption::encrypt_plaintext(path, key)?;
            }
            drop(lock);
        }
    }
    encryption::create_private(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    if let Some(key) = key {
        encryption::apply_key(&conn, key)?;
    }
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    if key.is_some() {
        encryption::check_key(&conn)?;
    }
    configure(&conn)?;
    migrate(&conn, SCHEMA_VERSION)?;
    Ok(conn)
}

/// A read-only connection to a wallet database that [`open`] has brought up
/// to date. In WAL mode its reads see the last commit and never wait for a
/// writer's transaction, so local reads stay fast while a sync writes.
pub fn open_reader(path: &Path, key: &DatabaseKey) -> Result<Connection, StoreError> {
    open_reader_file(path, Some(key))
}

/// The reader of [`open_unencrypted_baseline`] (benchmarks only).
#[doc(hidden)]
pub fn open_unencrypted_baseline_reader(path: &Path) -> Result<Connection, StoreError> {
    open_reader_file(path, None)
}

fn open_reader_file(path: &Path, key: Option<&DatabaseKey>) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    if let Some(key) = key {
        encryption::apply_key(&conn, key)?;
    }
    // Waits only for a checkpoint's brief exclusive moments, never for a
    // write transaction.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    if key.is_some() {
        encryption::check_key(&conn)?;
    }
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Changes the key of the database `conn` (from [`open`]) has open. Other
/// connections to the file, in this process or another, stop reading it
/// (their reads fail as [`StoreError::WrongKey`]) until opened again with
/// the new key.
pub fn rekey(conn: &Connection, key: &DatabaseKey) -> Result<(), StoreError> {
    encryption::rekey(conn, key)
}

/// Opens an in-memory database with the full schema (tests, benchmarks).
pub fn open_in_memory() -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory()?;
    configure(&conn)?;
    migrate(&conn, SCHEMA_VERSION)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    // First, so that the pragmas below wait for another process opening
    // the same file instead of failing.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The writer's page cache: 8 MiB at most, filled only as pages are
    // used. A page read back from the file costs a decryption and an HMAC
    // check; with the working set of a 10,000-message receive cached, it
    // ran a third faster than with SQLite's 2 MiB default, and encryption
    // cost 4 % instead of 9 % (tests/system/benches/sync.rs, head to
    // head). The reader keeps the default.
    conn.pragma_update(None, "cache_size", -8192)?;
    // The engine uses a few dozen statements; rusqlite keeps 16 by default,
    // and a re-prepare costs more than the statement itself.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

pub fn schema_version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Applies migrations until the schema is at `target` (≤ [`SCHEMA_VERSION`]).
/// Public so that tests can stop at an older version and upgrade from it.
pub fn migrate(conn: &Connection, target: u32) -> Result<(), StoreError> {
    let target = target.min(SCHEMA_VERSION);
    let check = |current: u32| {
        if current > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(current)
    };
    if check(schema_version(conn)?)? >= target {
        return Ok(());
    }
    loop {
        // Immediate: the version is read again under the write lock, so two
        // processes creating one file at once migrate it once.
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
        let current = check(schema_version(&tx)?)?;
        if current >= target {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[current as usize])?;
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
    }
}

/// The schema as SQLite describes it (type, name, SQL), sorted: two databases
/// with equal dumps have equal schemas.
pub fn schema_dump(conn: &Connection) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT type, name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
