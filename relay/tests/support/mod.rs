//! What the relay's test binaries share: one scenario runs on each storage
//! backend. PostgreSQL comes from FIO_INBOX_TEST_POSTGRES (a URL of a
//! database on a server where the user may create databases; scripts/test.sh
//! starts one). Without it the PostgreSQL trials are listed as ignored, or
//! fail when FIO_INBOX_REQUIRE_POSTGRES=1 (as in CI) so they cannot be
//! skipped silently.
#![allow(dead_code)]

pub mod receiver;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use fio_inbox::{serve, AppState, HttpConfig, Quota, ServeConfig, Store};
use fio_peer::protocol::{Envelope, IdToken};
use libtest_mimic::{Arguments, Failed, Trial};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database: a SQLite file in a temporary directory, or a
/// new PostgreSQL database.
pub struct Db {
    pub backend: Backend,
    /// What `--database` takes.
    pub database: String,
    _dir: Option<tempfile::TempDir>,
}

pub fn postgres_admin_url() -> Option<String> {
    std::env::var("FIO_INBOX_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

/// The admin URL with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    format!("{base}/{db}{query}")
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Db {
    pub async fn fresh(backend: Backend, prefix: &str) -> Db {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let database = dir.path().join("relay.sqlite").display().to_string();
                Db {
                    backend,
                    database,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url().expect("FIO_INBOX_TEST_POSTGRES");
                let name = format!(
                    "{prefix}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                );
                let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                    .await
                    .expect("connect to FIO_INBOX_TEST_POSTGRES");
                tokio::spawn(connection);
                for sql in [
                    format!("DROP DATABASE IF EXISTS {name}"),
                    format!("CREATE DATABASE {name}"),
                ] {
                    client.batch_execute(&sql).await.unwrap();
                }
                Db {
                    backend,
                    database: with_database(&admin, &name),
                    _dir: None,
                }
            }
        }
    }

    pub async fn open(&self, quota: Quota) -> Store {
        Store::open(&self.database, quota, 8).await.unwrap()
    }
}

pub type Scenario = fn(Backend) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs every scenario on SQLite and on PostgreSQL, as named trials.
pub fn run(scenarios: &[(&'static str, Scenario)], postgres_only: &[(&'static str, Scenario)]) {
    let args = Arguments::from_args();
    let pg = postgres_admin_url().is_some();
    let required = std::env::var("FIO_INBOX_REQUIRE_POSTGRES").as_deref() == Ok("1");
    let mut trials = Vec::new();
    let trial = |backend: Backend, name: &str, scenario: Scenario| {
        let label = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let t = Trial::test(format!("{label}::{name}"), move || {
            if backend == Backend::Postgres && !pg {
                return Err(Failed::from(
                    "FIO_INBOX_REQUIRE_POSTGRES=1 but FIO_INBOX_TEST_POSTGRES is not set",
                ));
            }
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
                .block_on(scenario(backend));
            Ok(())
        });
        t.with_ignored_flag(backend == Backend::Postgres && !pg && !required)
    };
    for &(name, scenario) in scenarios {
        trials.push(trial(Backend::Sqlite, name, scenario));
        trials.push(trial(Backend::Postgres, name, scenario));
    }
    for &(name, scenario) in postgres_only {
        trials.push(trial(Backend::Postgres, name, scenario));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// Wraps `async fn name(Backend)` as a scenario.
#[macro_export]
macro_rules! scenario {
    ($f:ident) => {
        (
            stringify!($f),
            (|b| Box::pin($f(b))) as $crate::support::Scenario,
        )
    };
}

/// A relay served in-process on a loopback port, through the same accept
/// loop the binary uses.
pub struct Relay {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub client: Client,
    pub store: Store,
    pub state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    pub db: Arc<Db>,
}

pub struct Options {
    pub quota: Quota,
    pub http: Box<dyn FnOnce(&mut HttpConfig) + Send>,
    pub serve: ServeConfig,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            quota: Quota::default(),
            http: Box::new(|c| c.limits = fio_inbox::RateLimits::off()),
            serve: ServeConfig::default(),
        }
    }
}

impl Options {
    /// Defaults but for the per-inbox quota.
    pub fn quota(max_messages: i64, max_bytes: i64) -> Options {
        Options {
            quota: Quota {
                max_messages,
                max_bytes,
            },
            ..Options::default()
        }
    }
}

impl Relay {
    pub async fn start(backend: Backend) -> Relay {
        Relay::start_with(backend, Options::default()).await
    }

    pub async fn start_with(backend: Backend, options: Options) -> Relay {
        let db = Arc::new(Db::fresh(backend, "fio_inbox_api").await);
        Relay::start_on(db, options).await
    }

    /// Another relay instance on the same database.
    pub async fn start_on(db: Arc<Db>, options: Options) -> Relay {
        let store = db.open(options.quota).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mut http = HttpConfig::new(&base);
        (options.http)(&mut http);
        let state = AppState::start(store.clone(), http).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(serve(listener, state.clone(), options.serve, async {
            let _ = stopped.await;
        }));
        fio_peer::chain::install_tls_provider();
        Relay {
            base,
            addr,
            client: Client::new(),
            store,
            state,
            stop: Some(stop),
            served: Some(served),
            db,
        }
    }

    /// Begins a graceful shutdown; the handle resolves when serving ended.
    pub fn shut_down(&mut self) -> tokio::task::JoinHandle<()> {
        let _ = self.stop.take().unwrap().send(());
        self.served.take().unwrap()
    }

    pub async fn create(&self) -> Inbox {
        let v = create_inbox(&self.client, &self.base).await;
        let id = v["inbox_id"].as_str().unwrap().to_string();
        assert_eq!(id.len(), 32);
        assert_eq!(v["credential"].as_str().unwrap().len(), 64);
        assert_eq!(v["inbox_url"], format!("{}/v1/inboxes/{}", self.base, id));
        Inbox {
            id,
            credential: v["credential"].as_str().unwrap().into(),
            url: v["inbox_url"].as_str().unwrap().into(),
        }
    }

    /// The same inbox as seen through this relay instance.
    pub fn inbox_here(&self, inbox: &Inbox) -> Inbox {
        Inbox {
            id: inbox.id.clone(),
            credential: inbox.credential.clone(),
            url: format!("{}/v1/inboxes/{}", self.base, inbox.id),
        }
    }

    /// POSTs `body` to `url` with `content_type`; the whole response.
    pub async fn post(&self, url: &str, content_type: &str, body: &str) -> reqwest::Response {
        self.client
            .post(url)
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn submit(&self, inbox: &Inbox, body: &str) -> (StatusCode, Value) {
        let r = self.post(&inbox.url, "application/json", body).await;
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn fetch(
        &self,
        inbox: &Inbox,
        query: &str,
        credential: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.get(format!("{}/messages?{query}", inbox.url));
        if let Some(c) = credential {
            req = req.bearer_auth(c);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn ack(&self, inbox: &Inbox, up_to: i64) -> (StatusCode, Value) {
        let r = self
            .client
            .post(format!("{}/ack", inbox.url))
            .bearer_auth(&inbox.credential)
            .json(&serde_json::json!({ "up_to": up_to }))
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn metric(&self, name: &str) -> u64 {
        metric(&self.client, &self.base, name).await as u64
    }
}

/// Creates an inbox on the relay at `base`; its JSON answer.
pub async fn create_inbox(client: &Client, base: &str) -> Value {
    let r = client
        .post(format!("{base}/v1/inboxes"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

/// One value from the relay's /metrics (`name` with its labels).
pub async fn metric(client: &Client, base: &str, name: &str) -> f64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or_else(|| panic!("metric {name} missing"))
        .parse()
        .unwrap()
}

pub struct Inbox {
    pub id: String,
    pub credential: String,
    pub url: String,
}

pub const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A structurally valid envelope whose content starts with `i`.
pub fn envelope(i: u32) -> String {
    let mut content = vec![0u8; 64];
    content[..4].copy_from_slice(&i.to_be_bytes());
    Envelope {
        id_token: IdToken::Token(TOKEN.into()),
        content,
    }
    .to_json()
}

/// A first-contact envelope (id_token NEW).
pub fn new_envelope(i: u32) -> String {
    let mut content = vec![1u8; 64];
    content[..4].copy_from_slice(&i.to_be_bytes());
    Envelope {
        id_token: IdToken::New,
        content,
    }
    .to_json()
}

/// The relay binary, started on a free loopback port.
pub struct Process {
    pub child: Child,
    pub base: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Process {
    pub fn start(database: &str, extra: &[&str]) -> Process {
        use std::io::{BufRead, BufReader, Read};
        let mut child = Command::new(env!("CARGO_BIN_EXE_fio-inbox"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--no-rate-limits",
                "--database",
                database,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .strip_prefix("fio-inbox listening on ")
            .unwrap_or_else(|| panic!("no listening line, got {line:?}"))
            .trim()
            .to_string();
        Process {
            child,
            base: format!("http://{addr}"),
            stderr: Some(stderr),
        }
    }

    /// Everything the process wrote to stderr (waits for it to close).
    pub fn logs(&mut self) -> String {
        self.stderr
            .take()
            .map(|t| t.join().unwrap())
            .unwrap_or_default()
    }

    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends a signal (SIGTERM, say) by its number.
    pub fn signal(&self, signal: i32) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// A relay left running is killed with its handle (benchmarks, failed tests).
impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn path_of(db: &Db) -> &Path {
    Path::new(&db.database)
}
