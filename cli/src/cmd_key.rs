//! `fio-peer key …`

use clap::builder::TypedValueParser;
use clap::Subcommand;
use fio_peer::crypto::{derive_account_from_mnemonic, generate_mnemonic, PrivateKey, PublicKey};
use serde_json::json;

use crate::error::{private_key_arg, CliError, CliResult};

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a new mnemonic and its FIO key (m/44'/235'/ACCOUNT'/0/0).
    Generate {
        /// Number of mnemonic words.
        #[arg(long, default_value_t = 12, value_parser = clap::builder::PossibleValuesParser::new(["12", "24"]).map(|s| s.parse::<usize>().expect("12 or 24")))]
        words: usize,
        /// The account of the mnemonic (0 is fiosdk's key).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(..=i64::from(fio_peer::crypto::MAX_ACCOUNT)))]
        account: u32,
    },
    /// Show the public key forms and account of a private or public key.
    Inspect {
        /// A WIF, PVT_K1_…, FIO… or PUB_K1_… key; `-` reads it from standard input.
        key: String,
    },
    /// Derive the FIO key of a BIP39 mnemonic, as fiosdk does
    /// (m/44'/235'/ACCOUNT'/0/0).
    Derive {
        /// The mnemonic words, quoted; `-` reads them from standard input.
        #[arg(long, env = "FIO_PEER_MNEMONIC", hide_env_values = true)]
        mnemonic: String,
        /// The account of the mnemonic (0 is fiosdk's key).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(..=i64::from(fio_peer::crypto::MAX_ACCOUNT)))]
        account: u32,
    },
}

pub fn run(cmd: KeyCommand) -> CliResult {
    match cmd {
        KeyCommand::Generate { words, account } => {
            let mnemonic = generate_mnemonic(words).map_err(|e| CliError::new(e.to_string()))?;
            let key = derive_account_from_mnemonic(&mnemonic, account)
                .map_err(|e| CliError::new(e.to_string()))?;
            Ok(json!({
                "mnemonic": mnemonic.as_str(),
                "private_key": key.to_wif().as_str(),
                "public_key": key.public_key().to_fio_string(),
                "account": key.public_key().account_name(),
            }))
        }
        KeyCommand::Inspect { key } => {
            let public = match PublicKey::parse(&key) {
                Ok(public) => public,
                Err(_) => match private_key_arg("key", &key) {
                    Ok(private) => *private.public_key(),
                    Err(_) => {
                        return Err(CliError::usage(format!(
                            "{:?} is not a FIO key. Give a private key (5…, PVT_K1_…) or a public key (FIO…, PUB_K1_…).",
                            if key.len() > 12 { format!("{}…", &key[..key.char_indices().nth(12).map_or(key.len(), |(i, _)| i)]) } else { key }
                        )))
                    }
                },
            };
            Ok(json!({
                "public_key": public.to_fio_string(),
                "pub_k1": public.to_pub_k1(),
                "account": public.account_name(),
            }))
        }
        KeyCommand::Derive { mnemonic, account } => {
            let mnemonic = if mnemonic == "-" {
                let mut buf = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut buf).map_err(|e| {
                    CliError::new(format!(
                        "could not read the mnemonic from standard input: {e}"
                    ))
                })?;
                zeroize::Zeroizing::new(buf)
            } else {
                zeroize::Zeroizing::new(mnemonic)
            };
            let key: PrivateKey = derive_account_from_mnemonic(&mnemonic, account).map_err(|e| {
                CliError::usage(format!("--mnemonic: {e}. Check the words: 12 or 24 English BIP39 words separated by spaces."))
            })?;
            Ok(json!({
                "private_key": key.to_wif().as_str(),
                "public_key": key.public_key().to_fio_string(),
                "account": key.public_key().account_name(),
            }))
        }
    }
}
