//! A CLI wallet's home directory (`FIO_PEER_HOME`, default `~/.fio-peer`):
//!
//! - `config.json`: the network and its endpoints (chain nodes, chain id, relay);
//! - `wallet.json`: the FIO address and key (mode 0600: it holds the private key);
//! - `wallet.sqlite`: the wallet's database.
//!
//! `fio-peer demo --keep` leaves one home per demo wallet.

use std::io::Write;
use std::path::Path;

use fio_peer::crypto::PrivateKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

pub const CONFIG: &str = "config.json";
pub const WALLET_FILE: &str = "wallet.json";
pub const WALLET_DB: &str = "wallet.sqlite";

/// Where the wallet talks to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// "devnet", "testnet" or "mainnet".
    pub network: String,
    /// The chain id (64 hex digits); the network's own when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<String>,
    /// FIO API nodes; the network's published list when empty.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// The relay this wallet's inbox lives on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<String>,
}

/// The wallet's identity. The private key is WIF text, wiped on drop and
/// never shown by `Debug`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletFile {
    pub fio_address: String,
    pub public_key: String,
    pub private_key: String,
}

impl WalletFile {
    pub fn new(fio_address: &str, key: &PrivateKey) -> WalletFile {
        WalletFile {
            fio_address: fio_address.to_string(),
            public_key: key.public_key().to_fio_string(),
            private_key: key.to_wif().to_string(),
        }
    }
}

impl Drop for WalletFile {
    fn drop(&mut self) {
        self.private_key.zeroize();
    }
}

impl std::fmt::Debug for WalletFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletFile")
            .field("fio_address", &self.fio_address)
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

/// Creates `home` readable by its owner only (0700): the database holds
/// messages and the relay credential.
pub fn create_dir(home: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(home)?;
    restrict_dir(home)
}

#[cfg(unix)]
fn restrict_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn restrict_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Makes a file readable by its owner only (0600). SQLite gives its -wal
/// and -shm files the database's mode.
#[cfg(unix)]
pub fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
pub fn restrict(_: &Path) -> std::io::Result<()> {
    Ok(())
}

pub fn write_config(home: &Path, config: &Config) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(config).expect("plain data serializes");
    std::fs::write(home.join(CONFIG), text + "\n")
}

/// Writes `config.json` and `wallet.json` (0600, also when it existed) into
/// `home` (created 0700).
pub fn write(home: &Path, config: &Config, wallet: &WalletFile) -> std::io::Result<()> {
    create_dir(home)?;
    write_config(home, config)?;
    let mut text = serde_json::to_string_pretty(wallet).expect("plain data serializes");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let path = home.join(WALLET_FILE);
    let written = options.open(&path).and_then(|mut f| {
        restrict(&path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    text.zeroize();
    written
}

/// Reads `wallet.json`, wiping the text it was read from.
pub fn read_wallet(home: &Path) -> Result<Option<WalletFile>, String> {
    match std::fs::read_to_string(home.join(WALLET_FILE)) {
        Ok(text) => {
            let text = zeroize::Zeroizing::new(text);
            serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| e.to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}
