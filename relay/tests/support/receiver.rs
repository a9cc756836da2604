//! A push service and a Matrix push gateway on loopback, for the relay's
//! push tests: it records what it gets and answers by path.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode as AxumStatus;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use p256::elliptic_curve::sec1::ToSec1Point;
use serde_json::{json, Value};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Got {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// When it arrived, to check coalescing windows from outside.
    pub at: Instant,
}

impl Got {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A push service and gateway on loopback. What it answers depends on the
/// path: `/ok/…` 201, `/gone/…` 410, `/down/…` 503, `/flaky/…` 503 twice
/// then 201, `/slow/…` 201 after 0.8 s, `/hang/…` never; a gateway (`…/_matrix/push/v1/notify`)
/// rejects pushkeys that start with "reject".
#[derive(Clone, Default)]
pub struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    seen: Arc<Mutex<HashMap<String, u32>>>,
    pub base: String,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            base: format!("http://{}", listener.local_addr().unwrap()),
            ..Receiver::default()
        };
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    pub fn got(&self, path: &str) -> Vec<Got> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|g| g.path == path).cloned().collect()
    }

    /// Waits (up to `secs`) until `path` got `n` requests; what it got.
    pub async fn wait_for(&self, path: &str, n: usize, secs: u64) -> Vec<Got> {
        for _ in 0..secs * 20 {
            let got = self.got(path);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.got(path)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn answer(State(r): State<Receiver>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let path = parts.uri.path().to_string();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    r.got.lock().unwrap().push(Got {
        path: path.clone(),
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    });
    let n = {
        let mut seen = r.seen.lock().unwrap();
        let n = seen.entry(path.clone()).or_default();
        *n += 1;
        *n
    };
    if path.ends_with("/_matrix/push/v1/notify") {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let key = v["notification"]["devices"][0]["pushkey"]
            .as_str()
            .unwrap_or("");
        let rejected: Vec<&str> = if key.starts_with("reject") {
            vec![key]
        } else {
            vec![]
        };
        return axum::Json(json!({ "rejected": rejected })).into_response();
    }
    let kind = path.split('/').nth(1).unwrap_or("");
    match kind {
        "ok" => AxumStatus::CREATED.into_response(),
        "gone" => AxumStatus::GONE.into_response(),
        "down" => AxumStatus::SERVICE_UNAVAILABLE.into_response(),
        "flaky" if n <= 2 => AxumStatus::SERVICE_UNAVAILABLE.into_response(),
        "flaky" => AxumStatus::CREATED.into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_millis(800)).await;
            AxumStatus::CREATED.into_response()
        }
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            AxumStatus::CREATED.into_response()
        }
        _ => AxumStatus::NOT_FOUND.into_response(),
    }
}

/// A Web Push subscription as a browser's `toJSON()` gives it, with a
/// fresh P-256 key pair and auth secret.
pub fn webpush(endpoint: &str) -> Value {
    let mut secret = [0u8; 32];
    fio_peer::crypto::random_bytes(&mut secret);
    let key = p256::SecretKey::from_slice(&secret).unwrap();
    let point = key.public_key().to_sec1_point(false);
    json!({
        "kind": "webpush",
        "endpoint": endpoint,
        "expirationTime": null,
        "keys": {"p256dh": B64URL.encode(point.as_bytes()), "auth": B64URL.encode([5u8; 16])},
    })
}

pub fn gateway(url: &str, pushkey: &str) -> Value {
    json!({"kind": "gateway", "url": url, "app_id": "com.example.wallet", "pushkey": pushkey})
}
