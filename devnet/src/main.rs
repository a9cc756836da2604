//! `fio-devnet`: serve a local FIO chain API emulator (devnet/README.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use fio_devnet::{Devnet, Genesis};

#[derive(Parser)]
#[command(
    name = "fio-devnet",
    version,
    about = "A local emulator of the FIO chain API for development and tests"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FIO_DEVNET_LISTEN", default_value = "127.0.0.1:8889")]
    listen: String,
    /// SQLite database file (state survives restarts); in memory if absent.
    #[arg(long, env = "FIO_DEVNET_DATABASE")]
    database: Option<PathBuf>,
    /// Genesis file (JSON: chain_id, domains, addresses); empty if absent.
    #[arg(long, env = "FIO_DEVNET_GENESIS")]
    genesis: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fio-devnet: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let genesis: Genesis = match &args.genesis {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Genesis::default(),
    };
    let devnet = Arc::new(Devnet::open(args.database.as_deref(), &genesis)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen).await?;
        println!(
            "fio-devnet listening on {} (chain {})",
            listener.local_addr()?,
            devnet.chain_id().to_hex()
        );
        fio_devnet::serve(listener, devnet, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(())
    })
}
