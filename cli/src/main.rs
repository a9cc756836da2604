//! `fio-peer`: the command line for people and scripts.
//!
//! Commands print text, or one JSON value with `--json` (`key` and `crypto`
//! always print JSON). Errors go to stderr as a sentence that says what to
//! do, with a non-zero exit status (1 for a failed operation, 2 for bad
//! usage).

mod cmd_crypto;
mod cmd_key;
mod demo;
mod error;
mod home;
mod wallet_cmd;

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
    #[command(flatten)]
    endpoints: wallet_cmd::Endpoints,
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
    /// Create, import or show this home's wallet.
    #[command(subcommand)]
    Wallet(wallet_cmd::WalletCommand),
    /// Create the wallet's inbox on a relay, or register it on chain.
    #[command(subcommand)]
    Inbox(wallet_cmd::InboxCommand),
    /// FIP-24 channels: open, list, close, update.
    #[command(subcommand)]
    Channel(wallet_cmd::ChannelCommand),
    /// Ask a peer for funds or for a public address.
    #[command(subcommand)]
    Request(wallet_cmd::RequestCommand),
    /// Send a private text.
    #[command(subcommand)]
    Send(SendCommand),
    /// Accept a request (pay it, answer it, or accept a channel).
    Accept(wallet_cmd::AcceptArgs),
    /// Reject a request.
    Reject(wallet_cmd::AnswerArgs),
    /// Cancel a request you sent.
    Cancel(wallet_cmd::AnswerArgs),
    /// The messages exchanged with a peer.
    History { peer: String },
    /// What waits for you to act on (`--dismiss <id>` once handled).
    Queue {
        #[arg(long)]
        dismiss: Option<i64>,
    },
    /// Deliver the outbox and fetch the inbox.
    Sync,
    /// FIP-3 friend list: add, remove, list, check.
    #[command(subcommand)]
    Friend(wallet_cmd::FriendCommand),
    /// FIP-3 private native-chain addresses: add, grant, get.
    #[command(subcommand)]
    Nbpa(wallet_cmd::NbpaCommand),
    /// FIP-3 private funds requests: new, pay, reject, list.
    #[command(subcommand, name = "private-request")]
    PrivateRequest(wallet_cmd::PrivateRequestCommand),
}

#[derive(Subcommand)]
enum SendCommand {
    /// A private text to a peer (peer_send_private_text).
    Text { peer: String, text: String },
}

/// Rust ignores SIGPIPE, so a write to a reader that went away is an error,
/// and `println!` panics on it (`fio-peer queue --json | head -c 100`
/// printed a backtrace). A Unix tool dies of the signal instead, quietly:
/// the shell sees status 141.
#[cfg(unix)]
fn end_quietly_when_the_reader_goes_away() {
    // SAFETY: at the start of main, before any other thread exists, and
    // SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() {
    #[cfg(unix)]
    end_quietly_when_the_reader_goes_away();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Key(cmd) => cmd_key::run(cmd),
        Command::Crypto(cmd) => cmd_crypto::run(cmd),
        Command::Demo(args) => demo::run(args, cli.json),
        Command::Wallet(cmd) => wallet_cmd::wallet(cmd, &cli.endpoints, cli.json),
        Command::Inbox(cmd) => wallet_cmd::inbox(cmd, &cli.endpoints, cli.json),
        Command::Channel(cmd) => wallet_cmd::channel(cmd, &cli.endpoints, cli.json),
        Command::Request(cmd) => wallet_cmd::request(cmd, &cli.endpoints, cli.json),
        Command::Send(SendCommand::Text { peer, text }) => {
            wallet_cmd::send_text(peer, text, &cli.endpoints, cli.json)
        }
        Command::Accept(a) => wallet_cmd::accept(a, &cli.endpoints, cli.json),
        Command::Reject(a) => wallet_cmd::answer("reject", a, &cli.endpoints, cli.json),
        Command::Cancel(a) => wallet_cmd::answer("cancel", a, &cli.endpoints, cli.json),
        Command::History { peer } => wallet_cmd::history(peer, &cli.endpoints, cli.json),
        Command::Queue { dismiss } => wallet_cmd::queue(dismiss, &cli.endpoints, cli.json),
        Command::Sync => wallet_cmd::sync(&cli.endpoints, cli.json),
        Command::Friend(cmd) => wallet_cmd::friend(cmd, &cli.endpoints, cli.json),
        Command::Nbpa(cmd) => wallet_cmd::nbpa(cmd, &cli.endpoints, cli.json),
        Command::PrivateRequest(cmd) => wallet_cmd::private_request(cmd, &cli.endpoints, cli.json),
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
