//! `fio-peer`: the command line for people and scripts.
//!
//! Every command prints one JSON value on stdout. Errors go to stderr as a
//! sentence that says what to do, with a non-zero exit status (1 for a
//! failed operation, 2 for bad usage).

mod cmd_crypto;
mod cmd_key;
mod demo;
mod error;
mod home;

use clap::{Parser, Subcommand};

use error::CliError;

#[derive(Parser)]
#[command(
    name = "fio-peer",
    version,
    about = "Private wallet-to-wallet payment messaging on the FIO Protocol"
)]
struct Cli {
    /// Print one JSON value instead of text (key and crypto always print JSON).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, inspect and derive FIO keys.
    #[command(subcommand)]
    Key(cmd_key::KeyCommand),
    /// Sign, verify, encrypt and decrypt exactly as fiojs/fiosdk do (a debugging tool).
    #[command(subcommand)]
    Crypto(cmd_crypto::CryptoCommand),
    /// Run a local FIO chain, a relay and four wallets, and show every FIP-24
    /// action and both FIP-3 stories over HTTP, checking each step.
    Demo(demo::DemoArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Key(cmd) => cmd_key::run(cmd),
        Command::Crypto(cmd) => cmd_crypto::run(cmd),
        Command::Demo(args) => demo::run(args, cli.json),
    };
    match result {
        // Text output is printed by the command itself.
        Ok(serde_json::Value::Null) => {}
        Ok(value) => println!("{value}"),
        Err(CliError {
            message,
            exit_code,
            output,
        }) => {
            if let Some(value) = output {
                println!("{value}");
            }
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            std::process::exit(exit_code);
        }
    }
}
