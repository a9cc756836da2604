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

/// Writes `config.json` and `wallet.json` (0600) into `home`.
pub fn write(home: &Path, config: &Config, wallet: &WalletFile) -> std::io::Result<()> {
    std::fs::create_dir_all(home)?;
    let text = serde_json::to_string_pretty(config).expect("plain data serializes");
    std::fs::write(home.join(CONFIG), text + "\n")?;
    let mut text = serde_json::to_string_pretty(wallet).expect("plain data serializes");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(home.join(WALLET_FILE))
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all()));
    text.zeroize();
    written
}
