//! The relay's HTTP contract (docs/protocol.md §4), each scenario against
//! a real server on a loopback port, on SQLite and on PostgreSQL.

mod support;

use std::sync::Arc;
use std::time::Duration;

use fio_inbox::Quota;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{envelope, Backend, Inbox, Options, Relay};

fn main() {
    support::run(
        &[
            scenario!(submit_fetch_ack_round_trip),
            scenario!(the_same_envelope_is_stored_once_even_when_submitted_concurrently),
            scenario!(no_access_without_the_inbox_credential),
            scenario!(bad_submissions_get_clear_statuses),
            scenario!(a_full_inbox_refuses_with_507_and_keeps_what_it_accepted),
            scenario!(a_long_poll_returns_when_an_envelope_arrives),
            scenario!(a_deleted_inbox_is_gone),
            scenario!(unacknowledged_envelopes_expire_after_the_ttl),
            scenario!(acks_are_idempotent_and_sequence_numbers_never_repeat),
            scenario!(metrics_count_what_happened),
            scenario!(inboxes_survive_a_restart),
            scenario!(a_database_written_by_a_newer_relay_is_refused),
            scenario!(inboxes_nobody_fetches_from_expire_with_their_envelopes),
            scenario!(a_version_1_database_is_upgraded_in_place),
        ],
        &[scenario!(two_instances_share_one_inbox_set)],
    );
}

async fn submit_fetch_ack_round_trip(backend: Backend) {
    let relay = Relay::start(backend).await;
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

async fn the_same_envelope_is_stored_once_even_when_submitted_concurrently(backend: Backend) {
    let relay = Arc::new(Relay::start(backend).await);
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

async fn no_access_without_the_inbox_credential(backend: Backend) {
    let relay = Relay::start(backend).await;
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

async fn bad_submissions_get_clear_statuses(backend: Backend) {
    let relay = Relay::start(backend).await;
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
    let r = relay.post(&inbox.url, "text/plain", &envelope(1)).await;
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

async fn a_long_poll_returns_when_an_envelope_arrives(backend: Backend) {
    let relay = Arc::new(Relay::start(backend).await);
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

async fn a_deleted_inbox_is_gone(backend: Backend) {
    let relay = Relay::start(backend).await;
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

async fn metrics_count_what_happened(backend: Backend) {
    let relay = Relay::start(backend).await;
    let inbox = relay.create().await;
    for i in 0..5 {
        relay.submit(&inbox, &envelope(i)).await;
    }
    relay.submit(&inbox, &envelope(0)).await; // duplicate
    relay.submit(&inbox, "junk").await; // refused
    relay.fetch(&inbox, "", Some(&inbox.credential)).await;
    assert_eq!(relay.metric("fio_inbox_inboxes_created_total").await, 1);
    assert_eq!(
        relay
            .metric("fio_inbox_submits_total{outcome=\"accepted\"}")
            .await,
        5
    );
    assert_eq!(
        relay
            .metric("fio_inbox_submits_total{outcome=\"duplicate\"}")
            .await,
        1
    );
    assert_eq!(
        relay
            .metric("fio_inbox_submits_total{outcome=\"refused\"}")
            .await,
        1
    );
    assert_eq!(relay.metric("fio_inbox_fetches_total").await, 1);
    // Every write went through a commit; sequential writes commit one by one.
    let (commits, jobs) = (
        relay.metric("fio_inbox_commits_total").await,
        relay.metric("fio_inbox_committed_jobs_total").await,
    );
    assert!(
        commits >= 1 && jobs >= 6 && jobs >= commits,
        "{commits} commits, {jobs} jobs"
    );
}

async fn a_full_inbox_refuses_with_507_and_keeps_what_it_accepted(backend: Backend) {
    let relay = Relay::start_with(backend, Options::quota(2, 1 << 20)).await;
    let inbox = relay.create().await;
    assert_eq!(
        relay.submit(&inbox, &envelope(1)).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        relay.submit(&inbox, &envelope(2)).await.0,
        StatusCode::ACCEPTED
    );
    let (status, v) = relay.submit(&inbox, &envelope(3)).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(v["error"]["message"], "Inbox is full");
    assert_eq!(
        relay.submit(&inbox, &envelope(1)).await.0,
        StatusCode::ACCEPTED,
        "a duplicate is not a new message"
    );
    let (_, page) = relay.fetch(&inbox, "", Some(&inbox.credential)).await;
    let seqs: Vec<_> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 2], "both accepted envelopes are kept");
    // An ack frees room.
    assert_eq!(relay.ack(&inbox, 1).await.1, json!({"deleted": 1}));
    assert_eq!(relay.submit(&inbox, &envelope(3)).await.1["seq"], 3);

    // The byte quota counts the stored envelope's bytes.
    let one = envelope(9).len() as i64;
    let relay = Relay::start_with(backend, Options::quota(100, 2 * one)).await;
    let inbox = relay.create().await;
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
    relay.ack(&inbox, 2).await;
    assert_eq!(
        relay.submit(&inbox, &envelope(3)).await.0,
        StatusCode::ACCEPTED
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn unacknowledged_envelopes_expire_after_the_ttl(backend: Backend) {
    let relay = Relay::start_with(backend, Options::quota(3, 1 << 20)).await;
    let (a, b) = (relay.create().await, relay.create().await);
    for i in 1..=3 {
        assert_eq!(relay.submit(&a, &envelope(i)).await.0, StatusCode::ACCEPTED);
    }
    relay.submit(&b, &envelope(1)).await;
    assert_eq!(
        relay.submit(&a, &envelope(4)).await.0,
        StatusCode::INSUFFICIENT_STORAGE
    );
    // Expiry keeps what is younger than the cut-off...
    assert_eq!(relay.store.expire(now() - 60).await.unwrap(), 0);
    assert_eq!(
        relay.fetch(&a, "", Some(&a.credential)).await.1["messages"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // ...and deletes what is older, in every inbox, freeing the quota.
    assert_eq!(relay.store.expire(now() + 2).await.unwrap(), 4);
    let (_, page) = relay.fetch(&a, "", Some(&a.credential)).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 0);
    assert_eq!(
        relay.fetch(&b, "", Some(&b.credential)).await.1["messages"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Sequence numbers go on after the gap; the inbox has room again.
    let (status, v) = relay.submit(&a, &envelope(4)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(v["seq"], 4);
    for i in 5..=6 {
        assert_eq!(relay.submit(&a, &envelope(i)).await.0, StatusCode::ACCEPTED);
    }
    assert_eq!(
        relay.submit(&a, &envelope(7)).await.0,
        StatusCode::INSUFFICIENT_STORAGE
    );
}

async fn acks_are_idempotent_and_sequence_numbers_never_repeat(backend: Backend) {
    let relay = Relay::start(backend).await;
    let inbox = relay.create().await;
    for i in 1..=5 {
        relay.submit(&inbox, &envelope(i)).await;
    }
    assert_eq!(relay.ack(&inbox, 3).await.1, json!({"deleted": 3}));
    assert_eq!(relay.ack(&inbox, 3).await.1, json!({"deleted": 0}));
    assert_eq!(relay.ack(&inbox, 1).await.1, json!({"deleted": 0}));
    // Acking past the end deletes what is there, not what comes later.
    assert_eq!(relay.ack(&inbox, 99).await.1, json!({"deleted": 2}));
    let (_, v) = relay.submit(&inbox, &envelope(6)).await;
    assert_eq!(v["seq"], 6, "numbers are not reused after an ack");
    // A resubmitted envelope that was acked is new again (the wallet dedupes).
    let (_, v) = relay.submit(&inbox, &envelope(1)).await;
    assert_eq!(v, json!({"seq": 7, "duplicate": false}));
    // Bad ack bodies.
    for body in ["{}", "{\"up_to\": \"3\"}", "[]", "nope"] {
        let r = relay
            .client
            .post(format!("{}/ack", inbox.url))
            .bearer_auth(&inbox.credential)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let r = relay
        .client
        .post(format!("{}/ack", inbox.url))
        .bearer_auth(&inbox.credential)
        .body("{\"up_to\": 3}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn inboxes_survive_a_restart(backend: Backend) {
    let relay = Relay::start(backend).await;
    let inbox = relay.create().await;
    relay.submit(&inbox, &envelope(1)).await;
    let db = relay.db.clone();
    let mut relay = relay;
    relay.shut_down().await.unwrap();
    let relay = Relay::start_on(db, Options::default()).await;
    let inbox = relay.inbox_here(&inbox);
    let (status, page) = relay.fetch(&inbox, "", Some(&inbox.credential)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["messages"][0]["envelope"], envelope(1));
    assert_eq!(relay.submit(&inbox, &envelope(2)).await.1["seq"], 2);
}

/// Two relay instances on one PostgreSQL database, as behind a load
/// balancer: an inbox made on one is served by the other, sequence numbers
/// stay unique under concurrent submits through both, and a long poll on one
/// wakes for a submit through the other.
async fn two_instances_share_one_inbox_set(backend: Backend) {
    let a = Relay::start(backend).await;
    let b = Relay::start_on(a.db.clone(), Options::default()).await;
    let inbox_a = a.create().await;
    let inbox_b = b.inbox_here(&inbox_a);
    let waiter = {
        let (client, url, cred) = (
            b.client.clone(),
            inbox_b.url.clone(),
            inbox_b.credential.clone(),
        );
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let page: serde_json::Value = client
                .get(format!("{url}/messages?wait=20"))
                .bearer_auth(cred)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (page, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        a.submit(&inbox_a, &envelope(1)).await.0,
        StatusCode::ACCEPTED
    );
    let (page, waited) = waiter.await.unwrap();
    assert_eq!(page["messages"][0]["envelope"], envelope(1));
    assert!(
        waited < Duration::from_secs(4),
        "woken by the other instance's commit, after {waited:?}"
    );

    let (a, b, inbox_a, inbox_b) = (
        Arc::new(a),
        Arc::new(b),
        Arc::new(inbox_a),
        Arc::new(inbox_b),
    );
    let mut tasks = Vec::new();
    for i in 2..202u32 {
        let (relay, inbox) = if i % 2 == 0 {
            (a.clone(), inbox_a.clone())
        } else {
            (b.clone(), inbox_b.clone())
        };
        tasks.push(tokio::spawn(async move {
            // Every envelope twice, once through each instance.
            let first = relay.submit(&inbox, &envelope(i)).await;
            (i, first)
        }));
        let (relay, inbox) = if i % 2 == 0 {
            (b.clone(), inbox_b.clone())
        } else {
            (a.clone(), inbox_a.clone())
        };
        tasks.push(tokio::spawn(async move {
            (i, relay.submit(&inbox, &envelope(i)).await)
        }));
    }
    let mut by_envelope = std::collections::HashMap::<u32, Vec<i64>>::new();
    for t in tasks {
        let (i, (status, v)) = t.await.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED);
        by_envelope
            .entry(i)
            .or_default()
            .push(v["seq"].as_i64().unwrap());
    }
    let mut seqs: Vec<i64> = by_envelope
        .values()
        .map(|s| {
            assert_eq!(
                s[0], s[1],
                "both copies of one envelope got one sequence number"
            );
            s[0]
        })
        .collect();
    seqs.sort();
    assert_eq!(seqs, (2..202).collect::<Vec<i64>>(), "unique and gap-free");
    let (_, page) = b
        .fetch(&inbox_b, "limit=500", Some(&inbox_b.credential))
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 201);
}

async fn a_database_written_by_a_newer_relay_is_refused(backend: Backend) {
    let db = support::Db::fresh(backend, "fio_inbox_api").await;
    drop(db.open(Quota::default()).await);
    match backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(&db.database).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        Backend::Postgres => {
            postgres_execute(&db.database, "UPDATE fio_inbox_schema SET version = 99").await;
        }
    }
    let refused = fio_inbox::Store::open(&db.database, Quota::default(), 2).await;
    let Err(e) = refused else {
        panic!("a newer schema must be refused")
    };
    assert!(e.to_string().contains("schema version 99"), "{e}");
}

/// Finding 9 (issue 17): inboxes never expired. An inbox nobody fetched
/// from since the cut-off goes, with its envelopes; one fetched from stays.
async fn inboxes_nobody_fetches_from_expire_with_their_envelopes(backend: Backend) {
    let relay = Relay::start(backend).await;
    let (idle, used) = (relay.create().await, relay.create().await);
    relay.submit(&idle, &envelope(1)).await;
    relay.submit(&used, &envelope(1)).await;
    let created = now();
    // A second later, so that the fetch is recorded after the creations.
    while now() == created {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        relay.fetch(&used, "", Some(&used.credential)).await.0,
        StatusCode::OK
    );
    assert_eq!(relay.store.expire_idle(created).await.unwrap(), 0);
    assert_eq!(relay.store.expire_idle(created + 1).await.unwrap(), 1);
    // The idle one is gone (its credential opens nothing), the other intact.
    let (status, _) = relay.fetch(&idle, "", Some(&idle.credential)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        relay.submit(&idle, &envelope(2)).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, page) = relay.fetch(&used, "", Some(&used.credential)).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
}

/// A relay database of schema version 1 (before idle expiry) opens with
/// its inboxes and envelopes, and the upgraded schema equals a fresh one.
async fn a_version_1_database_is_upgraded_in_place(backend: Backend) {
    let mut relay = Relay::start(backend).await;
    let inbox = relay.create().await;
    relay.submit(&inbox, &envelope(1)).await;
    let db = relay.db.clone();
    relay.shut_down().await.unwrap();
    drop(relay);
    // Back to version 1, as an older relay left it.
    match backend {
        Backend::Sqlite => {
            let conn = rusqlite::Connection::open(&db.database).unwrap();
            conn.execute_batch(
                "DROP TABLE push_subscriptions; DROP TABLE push_keys;
                 ALTER TABLE inboxes DROP COLUMN fetched_at; PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        Backend::Postgres => {
            postgres_execute(
                &db.database,
                "DROP TABLE push_subscriptions; DROP TABLE push_keys;
                 ALTER TABLE inboxes DROP COLUMN fetched_at; UPDATE fio_inbox_schema SET version = 1",
            )
            .await;
        }
    }
    let insecure_push = Options {
        http: Box::new(|c| {
            c.limits = fio_inbox::RateLimits::off();
            c.push.allow_insecure = true;
        }),
        ..Options::default()
    };
    let relay = Relay::start_on(db.clone(), insecure_push).await;
    let inbox = relay.inbox_here(&inbox);
    let (_, page) = relay.fetch(&inbox, "", Some(&inbox.credential)).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert_eq!(relay.store.expire_idle(now() - 60).await.unwrap(), 0);
    // Version 3's push tables, and (PostgreSQL) the submit that feeds them.
    let receiver = support::receiver::Receiver::start().await;
    let gw = "/gw/_matrix/push/v1/notify";
    let r = relay
        .client
        .post(format!("{}/push", inbox.url))
        .bearer_auth(&inbox.credential)
        .json(&support::receiver::gateway(&receiver.url(gw), "k"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    relay.submit(&inbox, &envelope(2)).await;
    let got = receiver.wait_for(gw, 1, 3).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["notification"]["event_id"], "2");
    if backend == Backend::Sqlite {
        // The upgraded schema is the fresh one, statement for statement.
        let schema = |path: &str| -> Vec<(String, String)> {
            let conn = rusqlite::Connection::open(path).unwrap();
            let mut stmt = conn
                .prepare("SELECT name, COALESCE(sql, '') FROM sqlite_master ORDER BY name")
                .unwrap();
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
            rows.map(Result::unwrap).collect()
        };
        let fresh = Relay::start(backend).await;
        assert_eq!(schema(&db.database), schema(&fresh.db.database));
    }
}

/// Runs `sql` on the PostgreSQL database at `url`, as an operator would.
async fn postgres_execute(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client.batch_execute(sql).await.unwrap();
}
