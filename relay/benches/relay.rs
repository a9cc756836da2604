//! The relay under load on loopback: durable submits/s and fetch+ack/s at
//! 64 concurrent clients, with p50/p99 latency, on SQLite and (when
//! FIO_INBOX_TEST_POSTGRES names a server) PostgreSQL, printed beside the
//! disk's fsync rate measured in the same run and the targets.
//!
//!   scripts/bench-relay.sh          (starts PostgreSQL, builds, runs this)
//!   cargo bench -p fio-inbox --bench relay
//!
//! The relay is the release `fio-inbox` binary in its own process, started
//! with rate limits off; the clients are in this process, each on its own
//! kept-alive HTTP/1.1 connection driven by hyper (a light load generator,
//! since client and relay share the machine's cores, as they would not in
//! production).

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fio_peer::protocol::{Envelope, IdToken};
use serde_json::Value;

const CLIENTS: usize = 64;
const CONTENT: usize = 336; // a sealed fio_dm message in the 256-byte padding bucket
const SUBMIT_TARGET: f64 = 10_000.0;
const PER_FSYNC_TARGET: f64 = 5.0;

fn phase() -> Duration {
    let secs = std::env::var("FIO_INBOX_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    Duration::from_secs_f64(secs)
}

/// Appends 4 KiB and fdatasyncs it, again and again, for `for_`: the rate
/// at which this disk makes a write durable.
fn fsync_rate(dir: &std::path::Path, for_: Duration) -> f64 {
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0x5au8; 4096];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < for_ {
        file.write_all(&block).unwrap();
        file.sync_data().unwrap();
        n += 1;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    drop(file);
    let _ = std::fs::remove_file(path);
    rate
}

#[path = "../tests/support/mod.rs"]
mod support;

use support::{create_inbox, metric, Process};

/// The release relay, tuned for load: no rate limits, quiet logs, no quota
/// in the way, a larger PostgreSQL pool.
fn start_relay(database: &str) -> Process {
    Process::start(
        database,
        &[
            "--log",
            "warn",
            "--max-messages",
            "10000000",
            "--max-bytes",
            "100000000000",
            "--pg-pool",
            "32",
        ],
    )
}

fn envelope(client: usize, i: u64) -> String {
    let mut content = vec![0u8; CONTENT];
    content[..8].copy_from_slice(&(client as u64).to_be_bytes());
    content[8..16].copy_from_slice(&i.to_be_bytes());
    Envelope {
        id_token: IdToken::Token(format!("{:032x}", client)),
        content,
    }
    .to_json()
}

struct Inbox {
    /// The inbox URL's path.
    path: String,
    credential: String,
}

type Sender = hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>;

/// One kept-alive connection to the relay.
async fn connect(base: &str) -> Sender {
    let addr = base.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

/// Sends one request and reads the whole answer.
async fn send(
    sender: &mut Sender,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, bytes::Bytes) {
    use http_body_util::BodyExt;
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "relay");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    sender.ready().await.unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

struct Measured {
    ops: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        self.latencies_us.sort_unstable();
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

/// Runs `client` for each of the CLIENTS connections until `for_` has
/// passed; each returns its operations' latencies in microseconds.
async fn measure<F, Fut>(base: &str, for_: Duration, client: F) -> Measured
where
    F: Fn(usize, Sender, Instant) -> Fut,
    Fut: std::future::Future<Output = Vec<u32>> + Send + 'static,
{
    let mut senders = Vec::new();
    for _ in 0..CLIENTS {
        senders.push(connect(base).await);
    }
    let started = Instant::now();
    let deadline = started + for_;
    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(c, sender)| tokio::spawn(client(c, sender, deadline)))
        .collect();
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.unwrap());
    }
    Measured {
        ops: latencies_us.len() as u64,
        elapsed: started.elapsed(),
        latencies_us,
    }
}

/// Each client submits distinct envelopes to its own inbox.
async fn submits(base: &str, inboxes: &Arc<Vec<Inbox>>, for_: Duration, first: u64) -> Measured {
    measure(base, for_, |c, mut sender, deadline| {
        let inboxes = inboxes.clone();
        async move {
            let mut latencies = Vec::new();
            let mut i = first;
            while Instant::now() < deadline {
                let body = envelope(c, i);
                i += 1;
                let t = Instant::now();
                let (status, answer) = send(
                    &mut sender,
                    "POST",
                    &inboxes[c].path,
                    &[("content-type", "application/json")],
                    body.into_bytes(),
                )
                .await;
                assert_eq!(status, 202, "{}", String::from_utf8_lossy(&answer));
                latencies.push(t.elapsed().as_micros() as u32);
            }
            latencies
        }
    })
    .await
}

/// Each client drains its inbox one envelope at a time: fetch (limit 1),
/// then ack it. One op = one envelope fetched and acknowledged.
async fn fetch_acks(base: &str, inboxes: &Arc<Vec<Inbox>>, for_: Duration) -> Measured {
    measure(base, for_, |c, mut sender, deadline| {
        let inboxes = inboxes.clone();
        async move {
            let inbox = &inboxes[c];
            let auth = format!("Bearer {}", inbox.credential);
            let (messages, ack) = (
                format!("{}/messages?limit=1", inbox.path),
                format!("{}/ack", inbox.path),
            );
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let (status, page) = send(
                    &mut sender,
                    "GET",
                    &messages,
                    &[("authorization", &auth)],
                    Vec::new(),
                )
                .await;
                assert_eq!(status, 200);
                let page: Value = serde_json::from_slice(&page).unwrap();
                let Some(seq) = page["messages"][0]["seq"].as_i64() else {
                    break; // drained
                };
                let (status, _) = send(
                    &mut sender,
                    "POST",
                    &ack,
                    &[
                        ("authorization", &auth),
                        ("content-type", "application/json"),
                    ],
                    format!("{{\"up_to\":{seq}}}").into_bytes(),
                )
                .await;
                assert_eq!(status, 200);
                latencies.push(t.elapsed().as_micros() as u32);
            }
            latencies
        }
    })
    .await
}

/// PostgreSQL's count of WAL fsyncs (pg_stat_wal.wal_sync).
async fn pg_wal_syncs(url: &str) -> f64 {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one("SELECT wal_sync::float8 FROM pg_stat_wal", &[])
        .await
        .unwrap();
    row.get(0)
}

async fn run_backend(label: &str, database: &str, pg_url: Option<&str>, disk_fsyncs: f64) {
    let relay = start_relay(database);
    fio_peer::chain::install_tls_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS * 2)
        .build()
        .unwrap();
    let mut inboxes = Vec::new();
    for _ in 0..CLIENTS {
        let v = create_inbox(&client, &relay.base).await;
        let url = v["inbox_url"].as_str().unwrap().to_string();
        inboxes.push(Inbox {
            path: url[relay.base.len()..].to_string(),
            credential: v["credential"].as_str().unwrap().into(),
        });
    }
    let inboxes = Arc::new(inboxes);
    // Warm up connections and caches.
    let warm = submits(&relay.base, &inboxes, Duration::from_millis(500), 0).await;

    let commits0 = metric(&client, &relay.base, "fio_inbox_commits_total").await;
    let accepted0 = metric(
        &client,
        &relay.base,
        "fio_inbox_submits_total{outcome=\"accepted\"}",
    )
    .await;
    let wal0 = match pg_url {
        Some(u) => pg_wal_syncs(u).await,
        None => 0.0,
    };
    let mut s = submits(&relay.base, &inboxes, phase(), warm.ops + 1_000_000).await;
    let commits = metric(&client, &relay.base, "fio_inbox_commits_total").await - commits0;
    let accepted = metric(
        &client,
        &relay.base,
        "fio_inbox_submits_total{outcome=\"accepted\"}",
    )
    .await
        - accepted0;
    let wal = match pg_url {
        Some(u) => pg_wal_syncs(u).await - wal0,
        None => 0.0,
    };
    let secs = s.elapsed.as_secs_f64();
    let (p50, p99) = (s.percentile(0.5), s.percentile(0.99));
    // The throughput target is for SQLite; PostgreSQL is shown beside it.
    let target = if pg_url.is_none() {
        let met = if s.rate() >= SUBMIT_TARGET {
            "met"
        } else {
            "NOT MET"
        };
        format!("target >= {SUBMIT_TARGET:.0}  {met}")
    } else {
        "(no target: shares the cores with relay and clients here)".to_string()
    };
    println!(
        "{label:<9} durable submits/s     {:>9.0}   p50 {p50:>6.2} ms  p99 {p99:>6.2} ms   {target}",
        s.rate(),
    );
    if pg_url.is_none() {
        let per_fsync = accepted / commits.max(1.0);
        println!(
            "{label:<9} envelopes per fsync    {per_fsync:>9.1}   ({:.0} commits/s beside the disk's {disk_fsyncs:.0} fsyncs/s)   target >= {PER_FSYNC_TARGET:.0}{}",
            commits / secs,
            if per_fsync >= PER_FSYNC_TARGET { "  met" } else { "  NOT MET" }
        );
    } else {
        println!(
            "{label:<9} envelopes per WAL fsync {:>8.1}   ({:.0} WAL fsyncs/s beside the disk's {disk_fsyncs:.0} fsyncs/s)",
            accepted / wal.max(1.0),
            wal / secs,
        );
    }
    let mut f = fetch_acks(&relay.base, &inboxes, phase()).await;
    let (p50, p99) = (f.percentile(0.5), f.percentile(0.99));
    println!(
        "{label:<9} fetch+ack/s            {:>9.0}   p50 {p50:>6.2} ms  p99 {p99:>6.2} ms   (one envelope fetched and acked per op)",
        f.rate()
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let dir =
        tempfile::tempdir_in(std::env::var("FIO_INBOX_BENCH_DIR").unwrap_or_else(|_| ".".into()))
            .unwrap();
    println!(
        "fio-inbox relay benchmark: {CLIENTS} clients on loopback, {:.0} s per phase, {}-byte envelopes",
        phase().as_secs_f64(),
        envelope(0, 0).len()
    );
    let disk = fsync_rate(dir.path(), Duration::from_secs(2));
    println!(
        "baseline  disk fsyncs/s          {disk:>9.0}   (4 KiB append + fdatasync in {}, same run)",
        dir.path().display()
    );
    let sqlite = dir.path().join("bench.sqlite");
    run_backend("sqlite", sqlite.to_str().unwrap(), None, disk).await;
    match std::env::var("FIO_INBOX_TEST_POSTGRES").ok().filter(|s| !s.is_empty()) {
        Some(admin) => {
            let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute("DROP DATABASE IF EXISTS fio_inbox_bench")
                .await
                .unwrap();
            client
                .batch_execute("CREATE DATABASE fio_inbox_bench")
                .await
                .unwrap();
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/fio_inbox_bench"),
                None => admin.clone(),
            };
            run_backend("postgres", &url, Some(&url), disk).await;
        }
        None => println!("postgres  (not run: FIO_INBOX_TEST_POSTGRES is not set; scripts/bench-relay.sh sets it)"),
    }
}
