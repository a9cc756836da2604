//! `fio-peer crypto …`: the fiojs/fiosdk operations, for debugging and scripts.

use clap::{Args, Subcommand};
use fio_peer::crypto::{
    decrypt_content_json, encrypt_content_json, hash_a, ContentType, Signature,
};
use serde_json::{json, Value};

use crate::error::{hex_arg, private_key_arg, public_key_arg, CliError, CliResult};

#[derive(Subcommand)]
pub enum CryptoCommand {
    /// Sign sha256(message) as fiojs Ecc.sign; prints {"signature"}.
    Sign {
        #[command(flatten)]
        key: KeyArg,
        #[command(flatten)]
        message: MessageArg,
    },
    /// Verify a SIG_K1 signature; prints {"valid"} and exits 0 only if valid.
    Verify {
        /// The signer's public key (FIO… or PUB_K1_…).
        #[arg(long)]
        public_key: String,
        #[command(flatten)]
        message: MessageArg,
        /// The signature (SIG_K1_…).
        #[arg(long)]
        signature: String,
    },
    /// The fiojs shared secret (SHA-512 of the ECDH x coordinate), in hex.
    SharedSecret {
        #[command(flatten)]
        key: KeyArg,
        /// The other party's public key (FIO… or PUB_K1_…).
        #[arg(long)]
        peer: String,
    },
    /// Encrypt a content object as fiosdk does; prints {"content"} (base64).
    Encrypt {
        #[command(flatten)]
        key: KeyArg,
        /// The other party's public key (FIO… or PUB_K1_…).
        #[arg(long)]
        peer: String,
        /// The content's FIO type.
        #[arg(long = "type", value_parser = ["new_funds_content", "record_obt_data_content"])]
        content_type: String,
        /// The content object, e.g. '{"payee_public_address":"…","amount":"1","chain_code":"BTC","token_code":"BTC"}'.
        #[arg(long)]
        object: String,
    },
    /// Decrypt content (base64) and print the object.
    Decrypt {
        #[command(flatten)]
        key: KeyArg,
        /// The other party's public key (FIO… or PUB_K1_…).
        #[arg(long)]
        peer: String,
        /// The content's FIO type.
        #[arg(long = "type", value_parser = ["new_funds_content", "record_obt_data_content"])]
        content_type: String,
        /// The encrypted content, base64.
        #[arg(long)]
        content: String,
    },
    /// FIP-3 look-up index: hashA of the peer's 33-byte key under the shared secret.
    LookupIndex {
        #[command(flatten)]
        key: KeyArg,
        /// The other party's public key (FIO… or PUB_K1_…).
        #[arg(long)]
        peer: String,
    },
}

#[derive(Args)]
pub struct KeyArg {
    /// Our private key (WIF or PVT_K1_…); `-` reads it from standard input.
    #[arg(long, env = "FIO_PEER_KEY", hide_env_values = true)]
    key: String,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct MessageArg {
    /// The message as UTF-8 text.
    #[arg(long)]
    message: Option<String>,
    /// The message as hex bytes.
    #[arg(long)]
    message_hex: Option<String>,
}

impl MessageArg {
    fn bytes(&self) -> Result<Vec<u8>, CliError> {
        match (&self.message, &self.message_hex) {
            (Some(text), _) => Ok(text.as_bytes().to_vec()),
            (None, Some(h)) => hex_arg("--message-hex", h),
            (None, None) => Err(CliError::usage(
                "give the message with --message or --message-hex.",
            )),
        }
    }
}

pub fn run(cmd: CryptoCommand) -> CliResult {
    match cmd {
        CryptoCommand::Sign { key, message } => {
            let key = private_key_arg("--key", &key.key)?;
            Ok(json!({ "signature": key.sign_message(&message.bytes()?).to_string() }))
        }
        CryptoCommand::Verify {
            public_key,
            message,
            signature,
        } => {
            let public = public_key_arg("--public-key", &public_key)?;
            let sig = Signature::parse(&signature).map_err(|e| {
                CliError::usage(format!("--signature: {e}. Give a SIG_K1_… signature."))
            })?;
            let valid = sig.verify_message(&message.bytes()?, &public);
            let out = json!({ "valid": valid });
            if valid {
                Ok(out)
            } else {
                Err(CliError {
                    message: String::new(),
                    exit_code: 1,
                    output: Some(out),
                })
            }
        }
        CryptoCommand::SharedSecret { key, peer } => {
            let key = private_key_arg("--key", &key.key)?;
            let peer = public_key_arg("--peer", &peer)?;
            Ok(json!({ "shared_secret": hex::encode(key.shared_secret(&peer).as_bytes()) }))
        }
        CryptoCommand::Encrypt {
            key,
            peer,
            content_type,
            object,
        } => {
            let key = private_key_arg("--key", &key.key)?;
            let peer = public_key_arg("--peer", &peer)?;
            let ty =
                ContentType::parse(&content_type).map_err(|e| CliError::usage(e.to_string()))?;
            let object: Value = serde_json::from_str(&object).map_err(|e| {
                CliError::usage(format!(
                    "--object is not valid JSON ({e}); quote the object in single quotes."
                ))
            })?;
            let content = encrypt_content_json(ty, &key, &peer, &object)
                .map_err(|e| CliError::usage(format!("--json: {e}.")))?;
            Ok(json!({ "content": content }))
        }
        CryptoCommand::Decrypt {
            key,
            peer,
            content_type,
            content,
        } => {
            let key = private_key_arg("--key", &key.key)?;
            let peer = public_key_arg("--peer", &peer)?;
            let ty =
                ContentType::parse(&content_type).map_err(|e| CliError::usage(e.to_string()))?;
            decrypt_content_json(ty, &key, &peer, &content).map_err(|_| {
                CliError::new(format!(
                    "could not decrypt this content. Check that --key is yours, --peer is the other party's public key, and --type is {}.",
                    if ty == ContentType::NewFundsContent { "right (new_funds_content for requests)" } else { "right (record_obt_data_content for OBT records)" }
                ))
            })
        }
        CryptoCommand::LookupIndex { key, peer } => {
            let key = private_key_arg("--key", &key.key)?;
            let peer = public_key_arg("--peer", &peer)?;
            let secret = key.shared_secret(&peer);
            Ok(json!({ "lookup_index": hash_a(secret.as_bytes(), peer.as_bytes()) }))
        }
    }
}
