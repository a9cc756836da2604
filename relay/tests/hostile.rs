//! Clients that misbehave: malformed HTTP, slow senders, floods. Each gets a
//! clear status (or a closed connection where HTTP has no answer), and the
//! relay goes on serving everyone else. Also graceful shutdown. Every
//! scenario runs on SQLite and on PostgreSQL.

mod support;

use std::time::{Duration, Instant};

use fio_inbox::limits::RateLimits;
use fio_inbox::ServeConfig;
use reqwest::StatusCode;
use serde_json::Value;
use support::{envelope, new_envelope, Backend, Options, Relay};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() {
    support::run(
        &[
            scenario!(malformed_requests_get_clear_statuses_and_the_server_stays_up),
            scenario!(slow_clients_are_cut_off_without_holding_up_others),
            scenario!(per_address_limits_answer_429_with_retry_after),
            scenario!(per_inbox_limits_are_stricter_for_first_contact),
            scenario!(a_trusted_proxy_header_names_the_client),
            scenario!(graceful_shutdown_lets_in_flight_submits_finish),
        ],
        &[],
    );
}

/// Sends raw bytes, then reads until the server closes or `wait` passes.
async fn raw(relay: &Relay, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(relay.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    read_all(&mut stream, wait).await
}

/// Reads one response (or until the server closes, or `wait` passes).
async fn read_all(stream: &mut TcpStream, wait: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        while !complete(&out) {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `bytes` hold a whole response with a Content-Length body.
fn complete(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .is_some_and(|n| body.len() >= n)
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {response:?}"))
}

async fn healthy(relay: &Relay) {
    let r = relay
        .client
        .get(format!("{}/healthz", relay.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the relay still serves");
}

async fn malformed_requests_get_clear_statuses_and_the_server_stays_up(backend: Backend) {
    let relay = Relay::start(backend).await;
    let inbox = relay.create().await;
    let path = format!("/v1/inboxes/{}", inbox.id);
    let second = Duration::from_secs(3);
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("garbage request line", b"HELLO THERE\r\n\r\n".to_vec(), 400),
        ("binary junk", vec![0u8, 0xff, 0x13, 0x10, b'\r', b'\n', b'\r', b'\n'], 400),
        (
            "bad content-length",
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n").into_bytes(),
            400,
        ),
        (
            "two different content-lengths",
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd").into_bytes(),
            400,
        ),
        (
            "oversize header",
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000)).into_bytes(),
            431,
        ),
        (
            "too many headers",
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..150).map(|i| format!("X-H{i}: v\r\n")).collect::<String>()
            )
            .into_bytes(),
            431,
        ),
        (
            "a declared body above the limit is refused before it is sent",
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n").into_bytes(),
            413,
        ),
        (
            "a chunked body that grows past the limit",
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{}",
                "1000\r\n".to_string() + &"a".repeat(4096) + "\r\n" + "1000\r\n" + &"a".repeat(4096) + "\r\n" + "1000\r\n" + &"a".repeat(4096) + "\r\n0\r\n\r\n"
            )
            .into_bytes(),
            413,
        ),
        (
            "wrong method on an inbox",
            format!("PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").into_bytes(),
            405,
        ),
        ("wrong method on create", b"GET /v1/inboxes HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 405),
        ("wrong method on health", b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 405),
        ("unknown path", b"GET /v2/anything HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 404),
        ("dot segments", b"GET /v1/inboxes/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 404),
        (
            "not an inbox id",
            b"POST /v1/inboxes/ZZZ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".to_vec(),
            404,
        ),
        (
            "no content type",
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}").into_bytes(),
            415,
        ),
        (
            "form content type",
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=b").into_bytes(),
            415,
        ),
        (
            "invalid UTF-8 JSON",
            {
                let mut r = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n").into_bytes();
                r.extend_from_slice(&[b'{', 0xff, 0xfe, b'}']);
                r
            },
            400,
        ),
        (
            "a bad query",
            format!("GET {path}/messages?limit=1e9 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n", inbox.credential).into_bytes(),
            400,
        ),
        // HTTP has no answer to give here: the connection is closed.
        ("HTTP/2 preface on an HTTP/1.1 port", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), 0),
    ];
    for (what, request, expected) in cases {
        let started = Instant::now();
        let response = raw(&relay, &request, second).await;
        if expected == 0 {
            assert!(response.is_empty(), "{what}: {response}");
        } else {
            assert!(!response.is_empty(), "{what}: no answer");
            assert_eq!(status_of(&response), expected, "{what}: {response}");
        }
        assert!(
            started.elapsed() < second,
            "{what}: answered (or closed) at once"
        );
        healthy(&relay).await;
    }
    // JSON error bodies on the relay's own statuses.
    let response = raw(&relay, b"GET /v2/x HTTP/1.1\r\nHost: x\r\n\r\n", second).await;
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["error"]["type"], 404);
    // A client that disconnects in the middle of a body leaves no trace.
    let _ = raw(
        &relay,
        format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"protocol\"").as_bytes(),
        Duration::from_millis(1),
    )
    .await;
    let (_, page) = relay.fetch(&inbox, "", Some(&inbox.credential)).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 0);
    healthy(&relay).await;
}

async fn slow_clients_are_cut_off_without_holding_up_others(backend: Backend) {
    let mut relay = Relay::start_with(
        backend,
        Options {
            http: Box::new(|c| {
                c.limits = RateLimits::off();
                c.body_timeout = Duration::from_secs(1);
            }),
            serve: ServeConfig {
                header_timeout: Duration::from_secs(1),
                ..ServeConfig::default()
            },
            ..Options::default()
        },
    )
    .await;
    // The relay closes connections idle for a second; a client must not
    // reuse one it kept longer (a real client's idle timeout is below the
    // server's for the same reason).
    fio_peer::chain::install_tls_provider();
    relay.client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let inbox = relay.create().await;
    // Headers that never finish: the connection is closed.
    let started = Instant::now();
    let mut slow_headers = TcpStream::connect(relay.addr).await.unwrap();
    slow_headers
        .write_all(format!("POST /v1/inboxes/{} HTTP/1.1\r\nHost: x\r\n", inbox.id).as_bytes())
        .await
        .unwrap();
    // A body that never finishes: 408.
    let mut slow_body = TcpStream::connect(relay.addr).await.unwrap();
    let body = envelope(1);
    slow_body
        .write_all(
            format!(
                "POST /v1/inboxes/{} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                inbox.id,
                body.len(),
                &body[..10]
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // An idle kept-alive connection: closed too.
    let mut idle = TcpStream::connect(relay.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Meanwhile everyone else is served at once.
    assert_eq!(
        relay.submit(&inbox, &envelope(2)).await.0,
        StatusCode::ACCEPTED
    );
    assert!(started.elapsed() < Duration::from_millis(900));

    let headers_answer = read_all(&mut slow_headers, Duration::from_secs(5)).await;
    assert!(
        headers_answer.is_empty() || status_of(&headers_answer) == 408,
        "closed (or 408) after the header timeout: {headers_answer:?}"
    );
    let body_answer = read_all(&mut slow_body, Duration::from_secs(5)).await;
    assert_eq!(status_of(&body_answer), 408, "{body_answer}");
    let idle_answer = read_all(&mut idle, Duration::from_secs(5)).await;
    assert_eq!(status_of(&idle_answer), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "all three were cut off within the timeouts ({:?})",
        started.elapsed()
    );
    // Only the complete submit was stored.
    let (_, page) = relay.fetch(&inbox, "", Some(&inbox.credential)).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert_eq!(page["messages"][0]["envelope"], envelope(2));
    healthy(&relay).await;
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()
        .get("retry-after")
        .expect("Retry-After on a 429")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn limits(f: impl FnOnce(&mut RateLimits) + Send + 'static) -> Options {
    Options {
        http: Box::new(move |c| {
            c.limits = RateLimits::off();
            f(&mut c.limits);
        }),
        ..Options::default()
    }
}

async fn per_address_limits_answer_429_with_retry_after(backend: Backend) {
    // Every request from one address (but health checks and scrapes).
    let relay = Relay::start_with(backend, limits(|l| l.ip = Some("3/min".parse().unwrap()))).await;
    let inbox = relay.create().await;
    for _ in 0..2 {
        assert_eq!(
            relay.fetch(&inbox, "", Some(&inbox.credential)).await.0,
            StatusCode::OK
        );
    }
    for _ in 0..5 {
        healthy(&relay).await;
    }
    let r = relay
        .client
        .get(format!("{}/messages", inbox.url))
        .bearer_auth(&inbox.credential)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&r);
    assert!((1..=20).contains(&wait), "one token per 20 s: {wait}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], 429);
    assert_eq!(
        relay
            .metric("fio_inbox_rate_limited_total{limit=\"ip\"}")
            .await,
        1
    );

    // Inbox creation.
    let relay = Relay::start_with(
        backend,
        limits(|l| l.ip_create = Some("2/h".parse().unwrap())),
    )
    .await;
    relay.create().await;
    relay.create().await;
    let r = relay
        .client
        .post(format!("{}/v1/inboxes", relay.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=1800).contains(&retry_after(&r)));

    // First contact from one address, whatever the inbox.
    let relay = Relay::start_with(
        backend,
        limits(|l| l.ip_new = Some("2/min".parse().unwrap())),
    )
    .await;
    let (a, b) = (relay.create().await, relay.create().await);
    assert_eq!(
        relay.submit(&a, &new_envelope(1)).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        relay.submit(&b, &new_envelope(2)).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        relay.submit(&b, &new_envelope(3)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Envelopes on an open channel are not first contact.
    assert_eq!(relay.submit(&b, &envelope(4)).await.0, StatusCode::ACCEPTED);
    let (_, page) = relay.fetch(&b, "", Some(&b.credential)).await;
    assert_eq!(
        page["messages"].as_array().unwrap().len(),
        2,
        "the refused envelope was not stored"
    );
    assert_eq!(
        relay
            .metric("fio_inbox_rate_limited_total{limit=\"ip_new\"}")
            .await,
        1
    );
}

async fn per_inbox_limits_are_stricter_for_first_contact(backend: Backend) {
    let relay = Relay::start_with(
        backend,
        limits(|l| {
            l.inbox = Some("4/min".parse().unwrap());
            l.inbox_new = Some("2/min".parse().unwrap());
        }),
    )
    .await;
    let (a, b) = (relay.create().await, relay.create().await);
    assert_eq!(
        relay.submit(&a, &new_envelope(1)).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        relay.submit(&a, &new_envelope(2)).await.0,
        StatusCode::ACCEPTED
    );
    let r = relay
        .post(&a.url, "application/json", &new_envelope(3))
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=30).contains(&retry_after(&r)));
    // Channel traffic still flows until the inbox's own limit (4, of which
    // the two first contacts took two).
    assert_eq!(relay.submit(&a, &envelope(4)).await.0, StatusCode::ACCEPTED);
    assert_eq!(relay.submit(&a, &envelope(5)).await.0, StatusCode::ACCEPTED);
    assert_eq!(
        relay.submit(&a, &envelope(6)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another inbox is not affected.
    assert_eq!(
        relay.submit(&b, &new_envelope(7)).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(relay.submit(&b, &envelope(8)).await.0, StatusCode::ACCEPTED);
    // Fetching is not limited per inbox, and holds exactly what was accepted.
    let (_, page) = relay.fetch(&a, "", Some(&a.credential)).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 4);
    assert_eq!(
        relay
            .metric("fio_inbox_rate_limited_total{limit=\"inbox_new\"}")
            .await,
        1
    );
    assert_eq!(
        relay
            .metric("fio_inbox_rate_limited_total{limit=\"inbox\"}")
            .await,
        1
    );
}

async fn a_trusted_proxy_header_names_the_client(backend: Backend) {
    let relay = Relay::start_with(
        backend,
        Options {
            http: Box::new(|c| {
                c.limits = RateLimits::off();
                c.limits.ip = Some("2/min".parse().unwrap());
                c.client_ip_header = Some("x-forwarded-for".parse().unwrap());
            }),
            ..Options::default()
        },
    )
    .await;
    let get = |from: &'static str| {
        let r = relay
            .client
            .post(format!("{}/v1/inboxes/{}/ack", relay.base, "0".repeat(32)))
            .header("x-forwarded-for", from);
        async move { r.send().await.unwrap().status() }
    };
    // (An unauthenticated ack: 401 when let through, 429 when limited.)
    const PASSED: StatusCode = StatusCode::UNAUTHORIZED;
    // The last entry is the one the trusted proxy added.
    assert_eq!(get("203.0.113.9, 198.51.100.1").await, PASSED);
    assert_eq!(get("198.51.100.1").await, PASSED);
    assert_eq!(
        get("10.0.0.1, 198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(get("198.51.100.2").await, PASSED);
    // IPv6 clients share their /64.
    assert_eq!(get("2001:db8::1").await, PASSED);
    assert_eq!(get("2001:db8::2").await, PASSED);
    assert_eq!(get("2001:db8::3").await, StatusCode::TOO_MANY_REQUESTS);
}

async fn graceful_shutdown_lets_in_flight_submits_finish(backend: Backend) {
    let mut relay = Relay::start(backend).await;
    let inbox = relay.create().await;
    // A long poll waiting for mail.
    let poll = {
        let (client, url, cred) = (
            relay.client.clone(),
            inbox.url.clone(),
            inbox.credential.clone(),
        );
        tokio::spawn(async move {
            let r = client
                .get(format!("{url}/messages?wait=25"))
                .bearer_auth(cred)
                .send()
                .await
                .unwrap();
            (r.status(), Instant::now())
        })
    };
    // A submit whose body is half sent.
    let body = envelope(42);
    let mut submit = TcpStream::connect(relay.addr).await.unwrap();
    submit
        .write_all(
            format!(
                "POST /v1/inboxes/{} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                inbox.id,
                body.len(),
                &body[..20]
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shutdown_began = Instant::now();
    let served = relay.shut_down();
    // The long poll answers at once, empty.
    let (status, answered) = poll.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(answered.duration_since(shutdown_began) < Duration::from_secs(3));
    // No new connections are taken.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = match TcpStream::connect(relay.addr).await {
        Err(_) => true,
        Ok(mut s) => {
            let _ = s
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .await;
            read_all(&mut s, Duration::from_secs(2)).await.is_empty()
        }
    };
    assert!(
        refused,
        "a new connection is not served after shutdown began"
    );
    // The in-flight submit completes and is durable.
    submit.write_all(&body.as_bytes()[20..]).await.unwrap();
    let answer = read_all(&mut submit, Duration::from_secs(5)).await;
    assert_eq!(status_of(&answer), 202, "{answer}");
    tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("serving ends once the in-flight request is done")
        .unwrap();
    let stored = relay.store.fetch(&inbox.id, 0, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].envelope, body);
}
