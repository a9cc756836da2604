//! CLI errors: a sentence for stderr, an exit status, and optionally a JSON
//! value that still belongs on stdout (`crypto verify` prints `{"valid":false}`).

use std::io::Read;

use fio_peer::crypto::{PrivateKey, PublicKey};
use serde_json::Value;

pub struct CliError {
    pub message: String,
    pub exit_code: i32,
    pub output: Option<Value>,
}

impl CliError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: 1,
            output: None,
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            exit_code: 2,
            output: None,
        }
    }
}

pub type CliResult = Result<Value, CliError>;

/// Reads a private key given as text, or from standard input when it is `-`
/// (so it does not show in the process list or shell history).
pub fn private_key_arg(flag: &str, text: &str) -> Result<PrivateKey, CliError> {
    let text = if text == "-" {
        let mut buf = String::new();
        std::io::stdin().read_to_string(&mut buf).map_err(|e| {
            CliError::new(format!("could not read {flag} from standard input: {e}"))
        })?;
        zeroize::Zeroizing::new(buf)
    } else {
        zeroize::Zeroizing::new(text.to_string())
    };
    PrivateKey::parse(&text).map_err(|e| {
        CliError::usage(format!(
            "{flag}: {e}. Give a WIF private key (5…, K…, L…) or a PVT_K1_… key."
        ))
    })
}

pub fn public_key_arg(flag: &str, text: &str) -> Result<PublicKey, CliError> {
    PublicKey::parse(text).map_err(|e| {
        CliError::usage(format!(
            "{flag}: {e}. Give a FIO public key (FIO…) or a PUB_K1_… key."
        ))
    })
}

pub fn hex_arg(flag: &str, text: &str) -> Result<Vec<u8>, CliError> {
    hex::decode(text.trim()).map_err(|e| {
        CliError::usage(format!(
            "{flag}: not hexadecimal ({e}); give an even number of 0-9a-f digits."
        ))
    })
}
