//! The relay's HTTP contract (docs/protocol.md §4), against a real server on
//! a loopback port with its own SQLite file.

use std::sync::Arc;

use fio_inbox::{router, AppState, Quota, Store};
use fio_peer::protocol::{Envelope, IdToken};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

struct Relay {
    base: String,
    client: Client,
    _dir: tempfile::TempDir,
}

async fn relay_with(quota: Quota) -> Relay {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("relay.sqlite"), quota).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(AppState::new(store, &base));
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    Relay {
        base,
        client: Client::new(),
        _dir: dir,
    }
}

async fn relay() -> Relay {
    relay_with(Quota::default()).await
}

fn envelope(fill: u8) -> String {
    Envelope {
        id_token: IdToken::Token("0123456789abcdef0123456789abcdef".into()),
        content: vec![fill; 64],
    }
    .to_json()
}

struct Inbox {
    id: String,
    credential: String,
    url: String,
}

impl Relay {
    async fn create(&self) -> Inbox {
        let r = self
            .client
            .post(format!("{}/v1/inboxes", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
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

    async fn submit(&self, inbox: &Inbox, body: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .post(&inbox.url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn fetch(
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
}

#[tokio::test]
async fn submit_fetch_ack_round_trip() {
    let relay = relay().await;
    let inbox = relay.create().await;
    let (s1, v1) = relay.submit(&inbox, &envelope(1)).await;
    let (s2, v2) = relay.submit(&inbox, &envelope(2)).await;
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(v1, json!({"seq": 1, "duplicate": false}));
    assert_eq!(v2["seq"], 2);
    let (status, page) = relay
        .fetch(&inbox, "after=0&limit=1", Some(&inbox.credential))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert_eq!(page["messages"][0]["envelope"], envelope(1));
    assert_eq!(page["next_after"], 1);
    let (_, page) = relay
        .fetch(&inbox, "after=1", Some(&inbox.credential))
        .await;
    assert_eq!(page["messages"][0]["seq"], 2);
    let r = relay
        .client
        .post(format!("{}/ack", inbox.url))
        .bearer_auth(&inbox.credential)
        .json(&json!({"up_to": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"deleted": 1}));
    let (_, page) = relay.fetch(&inbox, "", Some(&inbox.credential)).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert_eq!(page["messages"][0]["seq"], 2);
}

#[tokio::test]
async fn the_same_envelope_is_stored_once_even_when_submitted_concurrently() {
    let relay = Arc::new(relay().await);
    let inbox = Arc::new(relay.create().await);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (relay, inbox) = (relay.clone(), inbox.clone());
        tasks.push(tokio::spawn(async move {
            relay.submit(&inbox, &envelope(7)).await
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED);
        seqs.push(v["seq"].as_i64().unwrap());
    }
    assert!(seqs.iter().all(|&s| s == seqs[0]));
    let (_, page) = relay
        .fetch(&inbox, "limit=500", Some(&inbox.credential))
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn no_access_without_the_inbox_credential() {
    let relay = relay().await;
    let (a, b) = (relay.create().await, relay.create().await);
    assert_ne!(a.id, b.id);
    relay.submit(&a, &envelope(1)).await;
    assert_eq!(relay.fetch(&a, "", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        relay.fetch(&a, "", Some("00")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        relay.fetch(&a, "", Some(&b.credential)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = relay
        .client
        .post(format!("{}/ack", a.url))
        .bearer_auth(&b.credential)
        .json(&json!({"up_to": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = relay
        .client
        .delete(&a.url)
        .bearer_auth(&b.credential)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // a's envelope is still there for a.
    let (_, page) = relay.fetch(&a, "", Some(&a.credential)).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_submissions_get_clear_statuses() {
    let relay = relay_with(Quota {
        max_messages: 2,
        ..Quota::default()
    })
    .await;
    let inbox = relay.create().await;
    // Oversize: 413 before buffering.
    let big = format!(
        r#"{{"protocol":"fio_dm","version":"1.0","id_token":"NEW","content":"{}"}}"#,
        "00".repeat(5000)
    );
    assert_eq!(
        relay.submit(&inbox, &big).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Structure: the FIP row's field and message.
    let (status, v) = relay
        .submit(&inbox, &envelope(1).replace("fio_dm", "fio_https"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["error"],
        json!({"type": 400, "field": "protocol", "message": "Protocol not supported"})
    );
    assert_eq!(
        relay.submit(&inbox, "not json").await.0,
        StatusCode::BAD_REQUEST
    );
    // Content type.
    let r = relay
        .client
        .post(&inbox.url)
        .header("content-type", "text/plain")
        .body(envelope(1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Unknown inbox.
    let ghost = Inbox {
        id: "0".repeat(32),
        credential: String::new(),
        url: format!("{}/v1/inboxes/{}", relay.base, "0".repeat(32)),
    };
    assert_eq!(
        relay.submit(&ghost, &envelope(1)).await.0,
        StatusCode::NOT_FOUND
    );
    // Quota: the third distinct envelope is refused, the first two are kept.
    assert_eq!(
        relay.submit(&inbox, &envelope(1)).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        relay.submit(&inbox, &envelope(2)).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        relay.submit(&inbox, &envelope(3)).await.0,
        StatusCode::INSUFFICIENT_STORAGE
    );
    assert_eq!(
        relay.submit(&inbox, &envelope(1)).await.0,
        StatusCode::ACCEPTED,
        "a duplicate is not a new message"
    );
    // Bad fetch parameters.
    assert_eq!(
        relay
            .fetch(&inbox, "limit=0", Some(&inbox.credential))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        relay
            .fetch(&inbox, "wait=99", Some(&inbox.credential))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        relay
            .fetch(&inbox, "after=x", Some(&inbox.credential))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    // Wrong method.
    let r = relay.client.put(&inbox.url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    // The server is still up.
    let r = relay
        .client
        .get(format!("{}/healthz", relay.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_long_poll_returns_when_an_envelope_arrives() {
    let relay = Arc::new(relay().await);
    let inbox = Arc::new(relay.create().await);
    let (r2, i2) = (relay.clone(), inbox.clone());
    let waiter = tokio::spawn(async move {
        let start = std::time::Instant::now();
        let (status, page) = r2.fetch(&i2, "wait=10", Some(&i2.credential)).await;
        (status, page, start.elapsed())
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    relay.submit(&inbox, &envelope(5)).await;
    let (status, page, elapsed) = waiter.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "returned on arrival, not at the deadline"
    );
    // With nothing to wait for, it returns empty at the deadline.
    let (_, page) = relay
        .fetch(&inbox, "after=1&wait=1", Some(&inbox.credential))
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 0);
    assert_eq!(page["next_after"], 1);
}

#[tokio::test]
async fn a_deleted_inbox_is_gone() {
    let relay = relay().await;
    let inbox = relay.create().await;
    relay.submit(&inbox, &envelope(1)).await;
    let r = relay
        .client
        .delete(&inbox.url)
        .bearer_auth(&inbox.credential)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        relay.submit(&inbox, &envelope(2)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        relay.fetch(&inbox, "", Some(&inbox.credential)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let relay = relay().await;
    let inbox = relay.create().await;
    for i in 0..5 {
        relay.submit(&inbox, &envelope(i)).await;
    }
    relay.submit(&inbox, &envelope(0)).await; // duplicate
    relay.submit(&inbox, "junk").await; // refused
    relay.fetch(&inbox, "", Some(&inbox.credential)).await;
    let text = relay
        .client
        .get(format!("{}/metrics", relay.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("fio_inbox_inboxes_created_total"), 1);
    assert_eq!(value("fio_inbox_submits_total{outcome=\"accepted\"}"), 5);
    assert_eq!(value("fio_inbox_submits_total{outcome=\"duplicate\"}"), 1);
    assert_eq!(value("fio_inbox_submits_total{outcome=\"refused\"}"), 1);
    assert_eq!(value("fio_inbox_fetches_total"), 1);
    // Every write went through a commit; sequential writes commit one by one.
    let (commits, jobs) = (
        value("fio_inbox_commits_total"),
        value("fio_inbox_committed_jobs_total"),
    );
    assert!(
        commits >= 1 && jobs >= 7 && jobs >= commits,
        "{commits} commits, {jobs} jobs"
    );
}
