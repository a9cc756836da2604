//! The wallet database encrypted at rest: SQLCipher 4 (AES-256-CBC pages,
//! each with an HMAC-SHA512; the WAL encrypted the same way), its key, and
//! the one-time encryption of a plaintext database from an older fio-peer.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use zeroize::Zeroizing;

use super::StoreError;
use crate::crypto::PrivateKey;

/// What HKDF mixes into the database key derived from a FIO key, so that
/// key is used for nothing else.
const DERIVATION_INFO: &[u8] = b"fio-peer database key v1";

/// What HKDF mixes into the salt derived from a database key.
const SALT_INFO: &[u8] = b"fio-peer database salt v1";

/// The first 16 bytes of every SQLite database, plaintext or (with the
/// plaintext header) encrypted.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Bytes at the start of the file SQLCipher leaves as SQLite wrote them:
/// iOS reads them to recognise a WAL database, and lets a suspended app keep
/// such a file open in a shared App Group container (it kills one holding
/// any other lock there: 0xdead10cc). 32 is SQLCipher's recommendation
/// (two AES blocks; the magic, page size, WAL versions and reserved bytes,
/// no schema or data). docs/protocol.md §6.1.
const PLAINTEXT_HEADER_SIZE: u32 = 32;

/// Header byte 20: bytes reserved at the end of each page. SQLCipher 4
/// reserves 80 (IV and HMAC-SHA512); a plaintext fio-peer database none.
const RESERVED_BYTES_OFFSET: usize = 20;

/// The 32-byte key of a wallet database. Zeroized when dropped; never
/// printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseKey(Zeroizing<[u8; 32]>);

impl DatabaseKey {
    /// A key the app keeps itself (e.g. in the Keychain or the Keystore).
    pub fn from_bytes(bytes: [u8; 32]) -> DatabaseKey {
        DatabaseKey(Zeroizing::new(bytes))
    }

    /// The default: derived from the wallet's FIO private key (HKDF-SHA256,
    /// info "fio-peer database key v1"), so there is no second secret to
    /// keep. Whoever holds the FIO key can read the database, and no one
    /// else.
    pub fn derive(key: &PrivateKey) -> DatabaseKey {
        let secret = key.to_bytes();
        let mut out = Zeroizing::new([0u8; 32]);
        hkdf::Hkdf::<sha2::Sha256>::new(None, secret.as_slice())
            .expand(DERIVATION_INFO, out.as_mut_slice())
            .expect("32 bytes is a valid HKDF-SHA256 length");
        DatabaseKey(out)
    }

    /// The salt SQLCipher would otherwise keep in the file's first 16
    /// bytes, which the plaintext header takes: derived from the key, so
    /// nothing else must be stored.
    fn salt(&self) -> [u8; 16] {
        let mut salt = [0u8; 16];
        hkdf::Hkdf::<sha2::Sha256>::new(None, self.0.as_slice())
            .expand(SALT_INFO, &mut salt)
            .expect("16 bytes is a valid HKDF-SHA256 length");
        salt
    }

    /// The key and its salt as SQLCipher's raw-key literal `x'<key><salt>'`
    /// (no PBKDF2 of a passphrase: the key is already uniform).
    fn raw_literal(&self) -> Zeroizing<Vec<u8>> {
        let mut literal = Zeroizing::new(Vec::with_capacity(99));
        literal.extend_from_slice(b"x'");
        literal.extend_from_slice(Zeroizing::new(hex::encode(self.0.as_slice())).as_bytes());
        literal.extend_from_slice(hex::encode(self.salt()).as_bytes());
        literal.push(b'\'');
        literal
    }
}

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(…)")
    }
}

/// Gives `conn` its key and the plaintext header. Must come before any
/// other statement. The key through `sqlite3_key_v2`, not a PRAGMA, so no
/// SQL text holds it.
pub(super) fn apply_key(conn: &Connection, key: &DatabaseKey) -> Result<(), StoreError> {
    call_with_key(conn, key, rusqlite::ffi::sqlite3_key_v2)?;
    plaintext_header(conn, "main")
}

/// Sets the plaintext header of schema `schema` (after its key).
fn plaintext_header(conn: &Connection, schema: &str) -> Result<(), StoreError> {
    conn.pragma_update(
        Some(schema),
        "cipher_plaintext_header_size",
        PLAINTEXT_HEADER_SIZE,
    )?;
    Ok(())
}

/// `f` (sqlite3_key_v2 or sqlite3_rekey_v2) on the main database of `conn`
/// with the raw-key literal of `key`.
fn call_with_key(
    conn: &Connection,
    key: &DatabaseKey,
    f: unsafe extern "C" fn(
        *mut rusqlite::ffi::sqlite3,
        *const std::ffi::c_char,
        *const std::ffi::c_void,
        std::ffi::c_int,
    ) -> std::ffi::c_int,
) -> Result<(), StoreError> {
    let literal = key.raw_literal();
    // SAFETY: the handle is open for as long as `conn` lives; SQLCipher
    // copies the key bytes before returning.
    let rc = unsafe {
        f(
            conn.handle(),
            c"main".as_ptr(),
            literal.as_ptr().cast(),
            literal.len() as std::ffi::c_int,
        )
    };
    sqlite_result(conn, rc)
}

/// An error of a keying call with SQLite's message for it (SQLCipher sets
/// one), so a failure says what failed.
fn sqlite_result(conn: &Connection, rc: std::ffi::c_int) -> Result<(), StoreError> {
    if rc == rusqlite::ffi::SQLITE_OK {
        return Ok(());
    }
    // SAFETY: the handle is open for as long as `conn` lives; the message
    // is copied before any other call on it.
    let message = unsafe {
        let m = rusqlite::ffi::sqlite3_errmsg(conn.handle());
        (!m.is_null()).then(|| std::ffi::CStr::from_ptr(m).to_string_lossy().into_owned())
    };
    Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rc),
        Some(format!(
            "setting the database key: {}",
            message.unwrap_or_else(|| "no message".into())
        )),
    )))
}

/// Reads the schema, the first read that needs the key: a wrong key, or a
/// file that is no database, is [`StoreError::WrongKey`]. Until the key is
/// known good, closing `conn` does not checkpoint the -wal into the file,
/// so a refused key leaves the file as it was, byte for byte.
pub(super) fn check_key(conn: &Connection) -> Result<(), StoreError> {
    use rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE;
    conn.set_db_config(SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => {
            conn.set_db_config(SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
            Ok(())
        }
        // A page that fails its HMAC is one error whatever the cause (a
        // wrong key, a damaged or altered file), as for every decryption:
        // SQLCipher reports it as "not a database" or, behind the
        // plaintext header, as a malformed first page.
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            ) =>
        {
            Err(StoreError::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

/// Changes the key of the database `conn` has open (SQLCipher's rekey: every
/// page rewritten in one transaction, so a crash leaves the old key or the
/// new one).
pub(super) fn rekey(conn: &Connection, key: &DatabaseKey) -> Result<(), StoreError> {
    call_with_key(conn, key, rusqlite::ffi::sqlite3_rekey_v2)?;
    check_key(conn)
}

/// Whether the file at `path` is a plaintext SQLite database (one written
/// before fio-peer encrypted its databases): SQLite's magic and no bytes
/// reserved per page. An encrypted one has the same magic (the plaintext
/// header) but reserves 80.
pub fn is_plaintext(path: &Path) -> Result<bool, StoreError> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(io(path, source)),
    };
    let mut header = [0u8; 32];
    match file.read_exact(&mut header) {
        Ok(()) => Ok(&header[..16] == SQLITE_MAGIC && header[RESERVED_BYTES_OFFSET] == 0),
        // Shorter than a header: empty (about to be created), not plaintext.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(source) => Err(io(path, source)),
    }
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The file the encrypted copy is written to before it replaces the
/// plaintext one.
pub fn encrypting_path(path: &Path) -> PathBuf {
    with_suffix(path, ".encrypting")
}

/// Creates `path` empty with mode 0600 if it does not exist (SQLite creates
/// files 0644, and gives its -wal and -shm the database file's mode).
pub(super) fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(io(path, source)),
    }
}

/// Encrypts the plaintext database at `path` with `key`, in place and
/// atomically: the encrypted copy is written beside it
/// (`<file>.encrypting`), synced, and renamed over it. A crash before the
/// rename leaves the plaintext file whole (the next open starts again); after
/// it, the encrypted one. The caller holds the file's sync lock, so no other
/// fio-peer process is using it.
pub(super) fn encrypt_plaintext(path: &Path, key: &DatabaseKey) -> Result<(), StoreError> {
    let target = encrypting_path(path);
    for stale in [
        target.clone(),
        with_suffix(&target, "-journal"),
        with_suffix(&target, "-wal"),
        with_suffix(&target, "-shm"),
    ] {
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(io(&stale, source)),
        }
    }
    create_private(&target)?;
    {
        let plain = Connection::open(path)?;
        plain.busy_timeout(std::time::Duration::from_secs(5))?;
        // Everything in the -wal goes into the file first, so the -wal can
        // be deleted: the copy below is of the whole database.
        let (busy, _, _): (i64, i64, i64) =
            plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        if busy != 0 {
            return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                Some("another connection holds the plaintext database".into()),
            )));
        }
        let version: u32 = plain.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let path_text = target.to_str().ok_or_else(|| {
            io(
                &target,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "path is not UTF-8"),
            )
        })?;
        let literal = key.raw_literal();
        plain.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            rusqlite::params![path_text, literal.as_slice()],
        )?;
        plaintext_header(&plain, "encrypted")?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        plain.pragma_update(Some("encrypted"), "user_version", version)?;
        plain.execute("DETACH DATABASE encrypted", [])?;
    }
    sync_file(&target)?;
    for side in ["-wal", "-shm"] {
        let side = with_suffix(path, side);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(io(&side, source)),
        }
    }
    std::fs::rename(&target, path).map_err(|source| io(path, source))?;
    if let Some(dir) = path.parent() {
        // The rename itself survives power loss once the directory is synced.
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        sync_file(dir)?;
    }
    Ok(())
}

/// Tests and benchmarks only: an unencrypted copy at `to` of the database at
/// `from` (a plaintext wallet as builds before encryption left it, or the
/// baseline of what encryption costs). Never in an app.
#[doc(hidden)]
pub fn export_unencrypted(from: &Path, key: &DatabaseKey, to: &Path) -> Result<(), StoreError> {
    let conn = super::open(from, key)?;
    let to_text = to.to_str().ok_or_else(|| {
        io(
            to,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "path is not UTF-8"),
        )
    })?;
    conn.execute("ATTACH DATABASE ?1 AS plain KEY ''", [to_text])?;
    conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))?;
    conn.pragma_update(Some("plain"), "user_version", super::SCHEMA_VERSION)?;
    conn.execute("DETACH DATABASE plain", [])?;
    Ok(())
}

fn sync_file(path: &Path) -> Result<(), StoreError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| io(path, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store;

    const MARKER: &str = "memo-that-must-not-be-readable-4711";

    fn files_contain(path: &Path, needle: &[u8]) -> bool {
        ["", "-wal", "-shm"].iter().any(|side| {
            std::fs::read(with_suffix(path, side))
                .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        })
    }

    fn write_marker(conn: &Connection) {
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (memo TEXT)")
            .unwrap();
        conn.execute("INSERT INTO t VALUES (?1)", [MARKER]).unwrap();
    }

    fn markers(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t WHERE memo = ?1", [MARKER], |r| {
            r.get(0)
        })
        .unwrap()
    }

    #[test]
    fn pages_and_wal_are_encrypted_by_this_provider() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let key = DatabaseKey::from_bytes([1; 32]);
        let conn = store::open(&path, &key).unwrap();
        write_marker(&conn);
        // Still open: the row is in the -wal, which must be encrypted too.
        assert!(std::path::Path::new(&with_suffix(&path, "-wal")).exists());
        assert!(!files_contain(&path, MARKER.as_bytes()));
        assert!(!is_plaintext(&path).unwrap());
        #[cfg(not(target_vendor = "apple"))]
        assert_eq!(
            conn.pragma_query_value(None, "cipher_provider", |r| r.get::<_, String>(0))
                .unwrap(),
            crate::store::cipher::PROVIDER_NAME.to_str().unwrap()
        );
        drop(conn);
        assert!(!files_contain(&path, MARKER.as_bytes()));
        assert_eq!(markers(&store::open(&path, &key).unwrap()), 1);
    }

    #[test]
    fn the_header_stays_sqlites_so_ios_sees_a_wal_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let key = DatabaseKey::from_bytes([2; 32]);
        let conn = store::open(&path, &key).unwrap();
        write_marker(&conn);
        drop(conn);
        let file = std::fs::read(&path).unwrap();
        assert_eq!(&file[..16], SQLITE_MAGIC);
        // Page size 4096, then the file format write/read versions: 2 = WAL.
        assert_eq!(file[16..18], [0x10, 0x00]);
        assert_eq!(file[18..20], [2, 2]);
        // 80 bytes reserved per page (IV and HMAC): encrypted, not plaintext.
        assert_eq!(file[RESERVED_BYTES_OFFSET], 80);
        assert!(!is_plaintext(&path).unwrap());
        // Past the header nothing is SQLite's: the schema's first page
        // (a b-tree page header at offset 100) is ciphertext.
        assert!(!files_contain(&path, b"CREATE TABLE"));
        // Without the key or with another, it does not open.
        assert!(matches!(
            store::open(&path, &DatabaseKey::from_bytes([3; 32])),
            Err(StoreError::WrongKey)
        ));
        assert_eq!(markers(&store::open(&path, &key).unwrap()), 1);
    }

    #[test]
    fn the_salt_comes_from_the_key() {
        let a = DatabaseKey::from_bytes([4; 32]);
        assert_eq!(a.salt(), a.clone().salt());
        assert_ne!(a.salt(), DatabaseKey::from_bytes([5; 32]).salt());
        assert_ne!(a.salt()[..], a.0[..16]);
    }

    #[test]
    fn files_are_private() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("w.sqlite");
            let conn = store::open(&path, &DatabaseKey::from_bytes([1; 32])).unwrap();
            write_marker(&conn);
            for side in ["", "-wal", "-shm"] {
                let mode = std::fs::metadata(with_suffix(&path, side))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{side}");
            }
        }
    }

    #[test]
    fn a_wrong_key_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let key = DatabaseKey::from_bytes([1; 32]);
        write_marker(&store::open(&path, &key).unwrap());
        let before = std::fs::read(&path).unwrap();
        let wrong = DatabaseKey::from_bytes([2; 32]);
        assert!(matches!(
            store::open(&path, &wrong),
            Err(StoreError::WrongKey)
        ));
        assert!(matches!(
            store::open_reader(&path, &wrong),
            Err(StoreError::WrongKey)
        ));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(markers(&store::open(&path, &key).unwrap()), 1);
    }

    #[test]
    fn a_wrong_key_does_not_checkpoint_a_left_wal() {
        // A -wal left by a process that ended without checkpointing it (or
        // by another that still has the file open): the refused connection,
        // closing last, must not copy it into the file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let key = DatabaseKey::from_bytes([1; 32]);
        let conn = store::open(&path, &key).unwrap();
        write_marker(&conn);
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .unwrap();
        drop(conn);
        let wal = with_suffix(&path, "-wal");
        let before = (std::fs::read(&path).unwrap(), std::fs::read(&wal).unwrap());
        assert!(!before.1.is_empty());
        assert!(matches!(
            store::open(&path, &DatabaseKey::from_bytes([2; 32])),
            Err(StoreError::WrongKey)
        ));
        assert_eq!(
            (std::fs::read(&path).unwrap(), std::fs::read(&wal).unwrap()),
            before
        );
        assert_eq!(markers(&store::open(&path, &key).unwrap()), 1);
    }

    #[test]
    fn a_plaintext_database_is_encrypted_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        {
            let plain = Connection::open(&path).unwrap();
            plain.pragma_update(None, "journal_mode", "WAL").unwrap();
            store::migrate(&plain, store::SCHEMA_VERSION).unwrap();
            write_marker(&plain);
            // Left open: the row may be only in the plaintext -wal.
            std::mem::forget(plain);
        }
        assert!(is_plaintext(&path).unwrap());
        let key = DatabaseKey::from_bytes([3; 32]);
        let conn = store::open(&path, &key).unwrap();
        assert_eq!(markers(&conn), 1);
        assert_eq!(store::schema_version(&conn).unwrap(), store::SCHEMA_VERSION);
        drop(conn);
        assert!(!is_plaintext(&path).unwrap());
        assert!(!files_contain(&path, MARKER.as_bytes()));
        assert!(!encrypting_path(&path).exists());
        assert!(matches!(
            store::open(&path, &DatabaseKey::from_bytes([4; 32])),
            Err(StoreError::WrongKey)
        ));
    }

    #[test]
    fn rekey_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let (old, new) = (
            DatabaseKey::from_bytes([5; 32]),
            DatabaseKey::from_bytes([6; 32]),
        );
        let conn = store::open(&path, &old).unwrap();
        write_marker(&conn);
        store::rekey(&conn, &new).unwrap();
        write_marker(&conn);
        drop(conn);
        assert!(matches!(
            store::open(&path, &old),
            Err(StoreError::WrongKey)
        ));
        let conn = store::open(&path, &new).unwrap();
        assert_eq!(markers(&conn), 2);
        store::rekey(&conn, &old).unwrap();
        drop(conn);
        assert_eq!(markers(&store::open(&path, &old).unwrap()), 2);
    }

    #[test]
    fn the_derived_key_depends_on_the_fio_key_and_never_prints() {
        let a = PrivateKey::generate();
        let b = PrivateKey::generate();
        assert_eq!(DatabaseKey::derive(&a), DatabaseKey::derive(&a));
        assert_ne!(DatabaseKey::derive(&a), DatabaseKey::derive(&b));
        let key = DatabaseKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{key:?}"), "DatabaseKey(…)");
    }
}
