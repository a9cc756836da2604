//! `fio-inbox`: serve the relay.

use std::time::Duration;

use clap::Parser;
use fio_inbox::limits::{parse_size, Rate, RateLimits, RateOrOff};
use fio_inbox::{serve, AppState, HttpConfig, Quota, ServeConfig, Store};

#[derive(Parser)]
#[command(
    name = "fio-inbox",
    version,
    about = "The FIP-24 inbox relay: holds encrypted envelopes for wallets that are not online",
    after_help = "Every flag can also be set by the environment variable named beside it.\n\
                  Rates are N/s, N/min or N/h (bursts of up to N, refilled evenly), or off."
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FIO_INBOX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// SQLite file, or a PostgreSQL URL (postgres://user:password@host/db) to
    /// let several relay instances share one set of inboxes.
    #[arg(long, env = "FIO_INBOX_DATABASE", default_value = "fio-inbox.sqlite")]
    database: String,
    /// Most PostgreSQL connections this instance opens.
    #[arg(long, env = "FIO_INBOX_PG_POOL", default_value_t = 16)]
    pg_pool: usize,
    /// Public base URL that inbox URLs are built from (default: http://<listen>).
    #[arg(long, env = "FIO_INBOX_PUBLIC_URL")]
    public_url: Option<String>,
    /// Days an unacknowledged envelope is kept.
    #[arg(long, env = "FIO_INBOX_TTL_DAYS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..))]
    ttl_days: i64,
    /// Most envelopes one inbox may hold (507 beyond).
    #[arg(long, env = "FIO_INBOX_MAX_MESSAGES", default_value_t = 10_000, value_parser = clap::value_parser!(i64).range(1..))]
    max_messages: i64,
    /// Most envelope bytes one inbox may hold (507 beyond).
    #[arg(long, env = "FIO_INBOX_MAX_BYTES", default_value_t = 64 << 20, value_parser = clap::value_parser!(i64).range(8192..))]
    max_bytes: i64,
    /// Every request from one client address (IPv6: per /64).
    #[arg(long, env = "FIO_INBOX_RATE_IP", default_value = "200/s", value_parser = clap::value_parser!(RateOrOff))]
    rate_ip: RateOrOff,
    /// Inbox creations from one client address.
    #[arg(long, env = "FIO_INBOX_RATE_IP_CREATE", default_value = "60/h", value_parser = clap::value_parser!(RateOrOff))]
    rate_ip_create: RateOrOff,
    /// Envelopes with id_token NEW (first contact) from one client address.
    #[arg(long, env = "FIO_INBOX_RATE_IP_NEW", default_value = "30/min", value_parser = clap::value_parser!(RateOrOff))]
    rate_ip_new: RateOrOff,
    /// Envelopes submitted to one inbox.
    #[arg(long, env = "FIO_INBOX_RATE_INBOX", default_value = "600/min", value_parser = clap::value_parser!(RateOrOff))]
    rate_inbox: RateOrOff,
    /// Envelopes with id_token NEW submitted to one inbox.
    #[arg(long, env = "FIO_INBOX_RATE_INBOX_NEW", default_value = "20/min", value_parser = clap::value_parser!(RateOrOff))]
    rate_inbox_new: RateOrOff,
    /// Envelope bytes one client address may store per second, sustained
    /// after --store-burst (N, NKiB or NMiB), or off.
    #[arg(long, env = "FIO_INBOX_STORE_RATE", default_value = "64KiB")]
    store_rate: String,
    /// Envelope bytes one client address may store at once.
    #[arg(long, env = "FIO_INBOX_STORE_BURST", default_value = "4MiB", value_parser = parse_size)]
    store_burst: u32,
    /// Long polls open at once on one inbox (429 beyond).
    #[arg(long, env = "FIO_INBOX_MAX_POLLS_PER_INBOX", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    max_polls_per_inbox: u64,
    /// Long polls open at once from one client address (IPv6: per /64).
    #[arg(long, env = "FIO_INBOX_MAX_POLLS_PER_CLIENT", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    max_polls_per_client: u64,
    /// Days after which an inbox nobody fetched from is deleted with its
    /// envelopes.
    #[arg(long, env = "FIO_INBOX_IDLE_INBOX_DAYS", default_value_t = 90, value_parser = clap::value_parser!(i64).range(1..))]
    idle_inbox_days: i64,
    /// Turn every rate limit off (benchmarks, private deployments).
    #[arg(long, env = "FIO_INBOX_NO_RATE_LIMITS")]
    no_rate_limits: bool,
    /// Header in which a trusted reverse proxy passes the client address
    /// (for example X-Forwarded-For; its last entry is used). Only set this
    /// behind a proxy that overwrites it, or clients can choose their address.
    #[arg(long, env = "FIO_INBOX_CLIENT_IP_HEADER")]
    client_ip_header: Option<axum::http::HeaderName>,
    /// Seconds a client has to send a request's headers.
    #[arg(long, env = "FIO_INBOX_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a client has to send a request's body.
    #[arg(long, env = "FIO_INBOX_BODY_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout: u64,
    /// Connections open at once.
    #[arg(long, env = "FIO_INBOX_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT.
    #[arg(long, env = "FIO_INBOX_SHUTDOWN_GRACE", default_value_t = 30)]
    shutdown_grace: u64,
    /// Seconds within which one push subscription gets at most one push
    /// (it carries the newest seq when the window ends).
    #[arg(long, env = "FIO_INBOX_PUSH_COALESCE", default_value_t = 2.0, value_parser = parse_seconds)]
    push_coalesce: f64,
    /// Let push subscriptions use http and loopback, private or link-local
    /// addresses (tests, a devnet on one machine). Never on a public relay:
    /// it lets anyone make the relay send requests into your network.
    #[arg(long, env = "FIO_INBOX_PUSH_ALLOW_INSECURE")]
    push_allow_insecure: bool,
    /// How push services reach the operator: the VAPID `sub` claim, a
    /// mailto: or https: URL.
    #[arg(
        long,
        env = "FIO_INBOX_PUSH_CONTACT",
        default_value = "mailto:operator@fio-inbox.invalid"
    )]
    push_contact: String,
    /// Log filter: error, warn, info, debug, or per target
    /// (info,fio_inbox::access=warn silences the access log).
    #[arg(long, env = "FIO_INBOX_LOG", default_value = "info")]
    log: String,
    /// Log format.
    #[arg(long, env = "FIO_INBOX_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

/// A non-negative number of seconds, decimals allowed.
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=3600.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds from 0 to 3600"
        )),
    }
}

fn init_logging(args: &Args) {
    // The HTTP client's own debug lines name the hosts pushes go to (a
    // subscriber's endpoint): off unless asked for by name.
    let mut directives = args.log.clone();
    for quiet in ["hyper_util", "reqwest", "hyper"] {
        if !args.log.contains(quiet) {
            directives.push_str(&format!(",{quiet}=info"));
        }
    }
    let filter = match tracing_subscriber::EnvFilter::try_new(&directives) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: invalid --log {:?}: {e}", args.log);
            std::process::exit(2);
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    init_logging(&args);
    let quota = Quota {
        max_messages: args.max_messages,
        max_bytes: args.max_bytes,
    };
    let store = match Store::open(&args.database, quota, args.pg_pool).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot open the database");
            std::process::exit(1);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, listen = %args.listen, "cannot listen");
            std::process::exit(1);
        }
    };
    let local = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "no local address");
            std::process::exit(1);
        }
    };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let limits = if args.no_rate_limits {
        RateLimits::off()
    } else {
        RateLimits {
            ip: args.rate_ip.0,
            ip_create: args.rate_ip_create.0,
            ip_new: args.rate_ip_new.0,
            inbox: args.rate_inbox.0,
            inbox_new: args.rate_inbox_new.0,
            ip_bytes: match args.store_rate.trim() {
                "off" => None,
                rate => match parse_size(rate) {
                    Ok(rate) => Some(Rate::budget(rate, args.store_burst)),
                    Err(e) => {
                        eprintln!("error: --store-rate: {e}");
                        std::process::exit(2);
                    }
                },
            },
        }
    };
    let mut http = HttpConfig::new(&public_url);
    http.limits = limits;
    http.client_ip_header = args.client_ip_header.clone();
    http.body_timeout = Duration::from_secs(args.body_timeout);
    http.max_polls_per_inbox = args.max_polls_per_inbox as usize;
    http.max_polls_per_client = args.max_polls_per_client as usize;
    if !(args.push_contact.starts_with("mailto:") || args.push_contact.starts_with("https://")) {
        eprintln!("error: --push-contact must be a mailto: or https: URL");
        std::process::exit(2);
    }
    http.push.coalesce = Duration::from_secs_f64(args.push_coalesce);
    http.push.allow_insecure = args.push_allow_insecure;
    http.push.contact = args.push_contact.clone();
    if args.push_allow_insecure {
        tracing::warn!("--push-allow-insecure: pushes may go to http and local addresses");
    }
    let state = match AppState::start(store.clone(), http).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot load the push key");
            std::process::exit(1);
        }
    };

    // Hourly: unacknowledged envelopes past their time, and inboxes nobody
    // fetched from for --idle-inbox-days.
    let ttl = args.ttl_days * 86_400;
    let idle = args.idle_inbox_days * 86_400;
    let expiring = store.clone();
    tokio::spawn(async move {
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            match expiring.expire(now - ttl).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "expired unacknowledged envelopes"),
                Err(e) => tracing::error!(error = %e, "expiry failed"),
            }
            match expiring.expire_idle(now - idle).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "deleted idle inboxes"),
                Err(e) => tracing::error!(error = %e, "idle inbox expiry failed"),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });

    tracing::info!(
        listen = %local,
        public_url = %state.public_url(),
        database = store.backend(),
        "fio-inbox started"
    );
    // One machine-readable line on stdout for scripts and tests.
    println!("fio-inbox listening on {local}");
    let serve_config = ServeConfig {
        header_timeout: Duration::from_secs(args.header_timeout),
        max_connections: args.max_connections as usize,
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
    };
    serve(listener, state, serve_config, shutdown_signal()).await;
    tracing::info!("fio-inbox stopped");
}
