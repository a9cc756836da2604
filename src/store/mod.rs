//! SQLite storage for a wallet: opening with the durability settings the
//! wallet promises, and schema migrations by `PRAGMA user_version`.
//!
//! Each migration runs in its own transaction together with the
//! `user_version` bump, so a crash leaves the database at one version or the
//! next, never between. A database from a newer fio-peer is refused.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// The migrations, in order; migration i brings the schema to version i + 1.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_channels.sql"),
    include_str!("migrations/0002_requests_queue.sql"),
    include_str!("migrations/0003_outbox_inbox.sql"),
    include_str!("migrations/0004_friends.sql"),
    include_str!("migrations/0005_registration_check.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database has schema version {found}, newer than this fio-peer understands ({supported}); upgrade fio-peer")]
    NewerSchema { found: u32, supported: u32 },
}

/// Opens (creating if needed) a wallet database and brings its schema up to
/// date. WAL journal, `synchronous=FULL` (a committed message survives power
/// loss), foreign keys on.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    migrate(&conn, SCHEMA_VERSION)?;
    Ok(conn)
}

/// A read-only connection to a wallet database that [`open`] has brought up
/// to date. In WAL mode its reads see the last commit and never wait for a
/// writer's transaction, so local reads stay fast while a sync writes.
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Waits only for a checkpoint's brief exclusive moments, never for a
    // write transaction.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Opens an in-memory database with the full schema (tests, benchmarks).
pub fn open_in_memory() -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory()?;
    configure(&conn)?;
    migrate(&conn, SCHEMA_VERSION)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
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
    let current = schema_version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for version in current..target.min(SCHEMA_VERSION) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
    Ok(())
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
