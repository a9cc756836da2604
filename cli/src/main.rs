//! `fio-peer`: the command line for people and scripts.
//!
//! Commands print text, or one JSON value with `--json` (`key` and `crypto`
//! always print JSON). Errors go to stderr as a sentence that says what to
//! do, with a non-zero exit status ([`EXIT_CODES`]).

mod cmd_crypto;
mod cmd_key;
mod demo;
mod error;
mod home;
mod wallet_cmd;

use clap::{CommandFactory, Parser, Subcommand};

use error::CliError;

/// What the exit status says, shown by `--help` and in the README.
const EXIT_CODES: &str = "\
Exit status:
  0    done
  1    the operation failed (the network, the chain, the relay or the peer
       refused or could not be reached; nothing is lost: what was queued
       stays queued)
  2    bad usage: an unknown command or option, or a value that does not parse
  141  the reader of the output went away (SIGPIPE, as any Unix tool)

Colors: only clap's help and usage errors are colored, on a terminal;
NO_COLOR turns that off.";

#[derive(Parser)]
#[command(
    name = "fio-peer",
    version,
    about = "Private wallet-to-wallet payment messaging on the FIO Protocol",
    after_help = EXIT_CODES
)]
struct Cli {
    /// Print one JSON value instead of text (key and crypto always print JSON).
    #[arg(long, global = true)]
    json: bool,
    /// Print nothing on success (errors still go to stderr, and the exit
    /// status says how it went).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

/// A wallet command group with the wallet's options (`--home`, `--node`, …),
/// which its subcommands take before or after their own.
#[derive(clap::Args)]
struct At<C: Subcommand> {
    #[command(flatten)]
    endpoints: wallet_cmd::Endpoints,
    #[command(subcommand)]
    command: C,
}

/// The top-level help's groups of commands, in order; every command is in
/// exactly one (a test checks it).
const GROUPS: &[(&str, &[&str])] = &[
    ("Wallet", &["wallet", "inbox", "sync"]),
    (
        "FIP-24 messages",
        &[
            "channel", "request", "send", "accept", "reject", "cancel", "history", "queue",
            "requests", "retry",
        ],
    ),
    (
        "FIP-3 friends, private addresses and requests",
        &["friend", "nbpa", "private-request"],
    ),
    ("Keys and crypto", &["key", "crypto"]),
    ("Try it", &["demo"]),
    ("This tool", &["completions", "man", "help"]),
];

/// The command, its top-level help grouped by [`GROUPS`].
fn command() -> clap::Command {
    let mut command = Cli::command();
    command.build();
    let width = GROUPS
        .iter()
        .flat_map(|(_, names)| names.iter())
        .map(|n| n.len())
        .max()
        .unwrap_or(0);
    let mut groups = String::new();
    for (title, names) in GROUPS {
        groups.push_str(&format!("{title}:\n"));
        for name in *names {
            let about = command
                .find_subcommand(name)
                .and_then(|c| c.get_about())
                .map(|a| a.to_string())
                .unwrap_or_default();
            groups.push_str(&format!("  {name:<width$}  {about}\n"));
        }
        groups.push('\n');
    }
    command.help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{groups}Options:\n{{options}}{{after-help}}"
    ))
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
    Wallet(At<wallet_cmd::WalletCommand>),
    /// Create the wallet's inbox on a relay, or register it on chain.
    Inbox(At<wallet_cmd::InboxCommand>),
    /// FIP-24 channels: open, list, close, update.
    Channel(At<wallet_cmd::ChannelCommand>),
    /// Ask a peer for funds or for a public address.
    Request(At<wallet_cmd::RequestCommand>),
    /// Send a private text.
    Send(At<SendCommand>),
    /// Accept a request (pay it, answer it, or accept a channel).
    Accept {
        #[command(flatten)]
        answer: wallet_cmd::AcceptArgs,
        #[command(flatten)]
        at: wallet_cmd::Endpoints,
    },
    /// Reject a request.
    Reject {
        #[command(flatten)]
        answer: wallet_cmd::AnswerArgs,
        #[command(flatten)]
        at: wallet_cmd::Endpoints,
    },
    /// Cancel a request you sent.
    Cancel {
        #[command(flatten)]
        answer: wallet_cmd::AnswerArgs,
        #[command(flatten)]
        at: wallet_cmd::Endpoints,
    },
    /// The messages exchanged with a peer.
    History {
        /// The peer's FIO address.
        peer: String,
        #[command(flatten)]
        at: wallet_cmd::Endpoints,
    },
    /// What waits for you to act on (`--dismiss <id>` once handled).
    Queue {
        /// Remove this item (by its id) from the queue: you handled it.
        #[arg(long)]
        dismiss: Option<i64>,
        #[command(flatten)]
        at: wallet_cmd::Endpoints,
    },
    /// Requests both ways with their state (pending, accepted, paid, …).
    Requests {
        /// Only those with this peer (a FIO address).
        #[arg(long)]
        peer: Option<String>,
        /// Only those in this state.
        #[arg(long, value_parser = ["pending", "accepted", "rejected", "cancelled", "paid", "voided"])]
        state: Option<String>,
        #[command(flatten)]
        at: wallet_cmd::Endpoints,
    },
    /// Queue a message whose delivery failed again, and sync.
    Retry {
        /// The peer's FIO address.
        peer: String,
        /// The message's id (see `fio-peer history <peer>`).
        message_id: String,
        #[command(flatten)]
        at: wallet_cmd::Endpoints,
    },
    /// Deliver the outbox and fetch the inbox.
    Sync {
        #[command(flatten)]
        at: wallet_cmd::Endpoints,
    },
    /// FIP-3 friend list: add, remove, list, check.
    Friend(At<wallet_cmd::FriendCommand>),
    /// FIP-3 private native-chain addresses: add, grant, get.
    Nbpa(At<wallet_cmd::NbpaCommand>),
    /// FIP-3 private funds requests: new, pay, reject, list.
    #[command(name = "private-request")]
    PrivateRequest(At<wallet_cmd::PrivateRequestCommand>),
    /// Print a shell completion script (`fio-peer completions bash >
    /// /etc/bash_completion.d/fio-peer`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page, fio-peer(1), or write one per command.
    Man {
        /// Write fio-peer.1 and a page per subcommand (fio-peer-key.1, …)
        /// into this directory instead.
        #[arg(long)]
        out_dir: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum SendCommand {
    /// A private text to a peer (peer_send_private_text).
    Text {
        /// The peer's FIO address.
        peer: String,
        /// The text to send.
        text: String,
    },
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

/// `--quiet`: standard output goes to /dev/null for the rest of the process,
/// whichever part of the CLI prints (errors are on stderr).
#[cfg(unix)]
fn silence_stdout() {
    use std::os::fd::AsRawFd;
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: both descriptors are open; dup2 replaces fd 1 atomically.
        unsafe {
            libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO);
        }
    }
}

/// The man page of fio-peer (to stdout), or of every command (into `dir`).
fn man(out_dir: Option<std::path::PathBuf>) -> error::CliResult {
    let command = command();
    match out_dir {
        Some(dir) => {
            clap_mangen::generate_to(command, &dir).map_err(|e| {
                CliError::new(format!(
                    "could not write the man pages into {}: {e}",
                    dir.display()
                ))
            })?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| CliError::new(format!("could not render the man page: {e}")))?;
            std::io::Write::write_all(&mut std::io::stdout(), &page)
                .map_err(|e| CliError::new(format!("could not print the man page: {e}")))?;
        }
    }
    Ok(serde_json::Value::Null)
}

fn main() {
    #[cfg(unix)]
    end_quietly_when_the_reader_goes_away();
    let cli = match command()
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if cli.quiet {
        wallet_cmd::QUIET.store(true, std::sync::atomic::Ordering::Relaxed);
        #[cfg(unix)]
        silence_stdout();
    }
    let result = match cli.command {
        Command::Key(cmd) => cmd_key::run(cmd),
        Command::Crypto(cmd) => cmd_crypto::run(cmd),
        Command::Demo(args) => demo::run(args, cli.json),
        Command::Wallet(At { endpoints, command }) => {
            wallet_cmd::wallet(command, &endpoints, cli.json)
        }
        Command::Inbox(At { endpoints, command }) => {
            wallet_cmd::inbox(command, &endpoints, cli.json)
        }
        Command::Channel(At { endpoints, command }) => {
            wallet_cmd::channel(command, &endpoints, cli.json)
        }
        Command::Request(At { endpoints, command }) => {
            wallet_cmd::request(command, &endpoints, cli.json)
        }
        Command::Send(At {
            endpoints,
            command: SendCommand::Text { peer, text },
        }) => wallet_cmd::send_text(peer, text, &endpoints, cli.json),
        Command::Accept { answer, at } => wallet_cmd::accept(answer, &at, cli.json),
        Command::Reject { answer, at } => wallet_cmd::answer("reject", answer, &at, cli.json),
        Command::Cancel { answer, at } => wallet_cmd::answer("cancel", answer, &at, cli.json),
        Command::History { peer, at } => wallet_cmd::history(peer, &at, cli.json),
        Command::Queue { dismiss, at } => wallet_cmd::queue(dismiss, &at, cli.json),
        Command::Requests { peer, state, at } => wallet_cmd::requests(peer, state, &at, cli.json),
        Command::Retry {
            peer,
            message_id,
            at,
        } => wallet_cmd::retry(peer, message_id, &at, cli.json),
        Command::Sync { at } => wallet_cmd::sync(&at, cli.json),
        Command::Friend(At { endpoints, command }) => {
            wallet_cmd::friend(command, &endpoints, cli.json)
        }
        Command::Nbpa(At { endpoints, command }) => wallet_cmd::nbpa(command, &endpoints, cli.json),
        Command::PrivateRequest(At { endpoints, command }) => {
            wallet_cmd::private_request(command, &endpoints, cli.json)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "fio-peer", &mut std::io::stdout());
            Ok(serde_json::Value::Null)
        }
        Command::Man { out_dir } => man(out_dir),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls `f` on `command` and every subcommand under it, with its path.
    fn walk(command: &clap::Command, path: &str, f: &mut dyn FnMut(&str, &clap::Command)) {
        f(path, command);
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), f);
        }
    }

    /// The ids of the wallet's options (Endpoints).
    const WALLET_OPTIONS: [&str; 5] = ["home", "network", "nodes", "relay", "offline"];

    fn ids(command: &clap::Command) -> Vec<String> {
        command
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .collect()
    }

    #[test]
    fn the_definitions_are_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_command_and_option_says_what_it_is() {
        let mut missing = Vec::new();
        walk(&command(), "fio-peer", &mut |path, command| {
            // clap's own `help` mirrors the tree without texts of its own.
            if path.starts_with("fio-peer help ") {
                return;
            }
            if command.get_about().is_none() {
                missing.push(path.to_string());
            }
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if !matches!(id, "help" | "version") && arg.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
        });
        assert!(missing.is_empty(), "without a help sentence: {missing:#?}");
    }

    #[test]
    fn only_wallet_commands_take_the_wallets_options() {
        let top = command();
        assert!(ids(&top)
            .iter()
            .all(|id| !WALLET_OPTIONS.contains(&id.as_str())));
        let mut leaves = 0;
        for sub in top.get_subcommands() {
            let wallet = GROUPS[..3]
                .iter()
                .any(|(_, names)| names.contains(&sub.get_name()));
            walk(
                sub,
                &format!("fio-peer {}", sub.get_name()),
                &mut |path, command| {
                    // clap's `help` subcommands (and the tree they mirror)
                    // take no options at all.
                    if path.split(' ').any(|part| part == "help") {
                        return;
                    }
                    let ids = ids(command);
                    for option in WALLET_OPTIONS {
                        assert_eq!(
                            ids.iter().any(|id| id == option),
                            wallet,
                            "{path}: --{option} {}",
                            if wallet {
                                "missing"
                            } else {
                                "means nothing here"
                            }
                        );
                    }
                    leaves += usize::from(command.get_subcommands().next().is_none());
                },
            );
        }
        assert!(leaves > 40, "{leaves}");
    }

    #[test]
    fn the_top_level_help_groups_every_command_once() {
        let top = command();
        let mut grouped: Vec<&str> = GROUPS.iter().flat_map(|(_, n)| n.iter().copied()).collect();
        grouped.sort_unstable();
        let mut names: Vec<&str> = top.get_subcommands().map(|c| c.get_name()).collect();
        names.sort_unstable();
        assert_eq!(grouped, names);
        let help = command().render_help().to_string();
        for (title, names) in GROUPS {
            assert!(help.contains(&format!("{title}:")), "{help}");
            for name in *names {
                assert!(help.contains(&format!("\n  {name} ")), "{name}: {help}");
            }
        }
    }

    #[test]
    fn help_documents_the_exit_codes() {
        let help = command().render_long_help().to_string();
        for code in ["0 ", "1 ", "2 ", "141"] {
            assert!(help.contains(&format!("  {code}")), "{code}: {help}");
        }
        assert!(help.contains("NO_COLOR"));
    }

    #[test]
    fn completions_generate_for_every_shell() {
        use clap::ValueEnum;
        for shell in clap_complete::Shell::value_variants() {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command(), "fio-peer", &mut script);
            let script = String::from_utf8(script).unwrap();
            // Every command can be completed.
            for name in ["private-request", "completions", "accept"] {
                assert!(script.contains(name), "{shell}: {name}");
            }
        }
    }

    #[test]
    fn man_pages_generate_for_every_command() {
        let dir = tempfile::tempdir().unwrap();
        clap_mangen::generate_to(command(), dir.path()).unwrap();
        for page in [
            "fio-peer.1",
            "fio-peer-friend-add.1",
            "fio-peer-crypto-encrypt.1",
        ] {
            let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
            assert!(text.contains(".TH"), "{page}");
        }
        let mut top = Vec::new();
        clap_mangen::Man::new(command()).render(&mut top).unwrap();
        let top = String::from_utf8(top).unwrap();
        assert!(
            top.contains("fio\\-peer") && top.contains("Exit status"),
            "{top}"
        );
    }
}
