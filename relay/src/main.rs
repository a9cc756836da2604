//! `fio-inbox`: serve the relay.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use fio_inbox::{router, AppState, Quota, Store};

#[derive(Parser)]
#[command(name = "fio-inbox", version, about = "The FIP-24 inbox relay")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FIO_INBOX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// SQLite database file.
    #[arg(long, env = "FIO_INBOX_DATABASE", default_value = "fio-inbox.sqlite")]
    database: PathBuf,
    /// Public base URL that inbox URLs are built from (default: http://<listen>).
    #[arg(long, env = "FIO_INBOX_PUBLIC_URL")]
    public_url: Option<String>,
    /// Days an unacknowledged envelope is kept.
    #[arg(long, env = "FIO_INBOX_TTL_DAYS", default_value_t = 30)]
    ttl_days: i64,
    /// Most envelopes one inbox may hold.
    #[arg(long, env = "FIO_INBOX_MAX_MESSAGES", default_value_t = 10_000)]
    max_messages: i64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let quota = Quota {
        max_messages: args.max_messages,
        ..Quota::default()
    };
    let store = match Store::open(&args.database, quota) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot open {}: {e}", args.database.display());
            std::process::exit(1);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{}", listener.local_addr().unwrap()));
    let state = Arc::new(AppState::new(store.clone(), &public_url));
    // Expiry of unacknowledged envelopes, hourly.
    let ttl = args.ttl_days * 86_400;
    tokio::spawn(async move {
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let _ = store.expire(now - ttl).await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
    eprintln!(
        "fio-inbox listening on {} (public URL {})",
        listener.local_addr().unwrap(),
        state.public_url
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    // In-flight requests (and their commits) finish before the process exits.
    if let Err(e) = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
