//! The security review's relay findings (issue 17), each against the real
//! `fio-inbox` binary over raw TCP: what the relay answers to requests
//! that bend HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fio_peer::protocol::{Envelope, IdToken};
use serde_json::Value;

/// The binary on a loopback port with a fresh SQLite file.
struct Relay {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Relay {
    fn start(extra: &[&str]) -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_fio-inbox"))
            .args(["--listen", "127.0.0.1:0", "--log", "warn", "--database"])
            .arg(dir.path().join("relay.sqlite"))
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("fio-inbox listening on ")
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .parse()
            .unwrap();
        Relay {
            child,
            addr,
            _dir: dir,
        }
    }

    /// Sends `request` and reads the answer (until the server closes, a
    /// whole Content-Length body is in, or 10 s pass).
    fn raw(&self, request: &[u8]) -> Response {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream.write_all(request).unwrap();
        read_response(&mut stream)
    }

    /// A new inbox: (id, credential).
    fn create(&self) -> (String, String) {
        let r = self.raw(b"POST /v1/inboxes HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(r.status, 201, "{r:?}");
        let v = r.json();
        (
            v["inbox_id"].as_str().unwrap().to_string(),
            v["credential"].as_str().unwrap().to_string(),
        )
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// §4.2's error body, with the status as its type.
    fn assert_json_error(&self, status: u16) {
        assert_eq!(self.status, status, "{self:?}");
        let v = self.json();
        assert_eq!(v["error"]["type"], status, "{self:?}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
}

fn read_response(stream: &mut TcpStream) -> Response {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&out).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            });
            if length.is_some_and(|n| body.len() >= n) {
                break;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    Response {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// A well-formed envelope; `n` makes it distinct.
fn envelope(n: u32) -> String {
    let mut content = vec![0u8; 64];
    content[..4].copy_from_slice(&n.to_be_bytes());
    Envelope {
        id_token: IdToken::Token("a".repeat(32)),
        content,
    }
    .to_json()
}

fn submit(relay: &Relay, inbox: &str, content_type: &str, body: &str) -> Response {
    relay.raw(
        format!(
            "POST /v1/inboxes/{inbox} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

fn fetch(relay: &Relay, inbox: &str, authorization: &str) -> Response {
    relay.raw(
        format!(
            "GET /v1/inboxes/{inbox}/messages HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\n\r\n"
        )
        .as_bytes(),
    )
}

/// A body trickled one byte every 250 ms never made the body timeout fire
/// (it timed the gap between reads): answered 503 at 45 s. Now: 408 once
/// the whole body is late.
#[test]
fn a_trickled_body_gets_408_within_the_body_timeout() {
    let relay = Relay::start(&["--no-rate-limits", "--body-timeout", "1"]);
    let (inbox, _) = relay.create();
    let body = envelope(1);
    let mut stream = TcpStream::connect(relay.addr).unwrap();
    stream
        .write_all(
            format!(
                "POST /v1/inboxes/{inbox} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    let started = Instant::now();
    stream.set_nonblocking(true).unwrap();
    // One byte every 250 ms until the relay answers (or closes).
    for byte in body.as_bytes() {
        std::thread::sleep(Duration::from_millis(250));
        let mut peek = [0u8; 1];
        let answered = matches!(stream.peek(&mut peek), Ok(n) if n > 0);
        if answered || stream.write_all(&[*byte]).is_err() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "no answer while the body trickled"
        );
    }
    stream.set_nonblocking(false).unwrap();
    let answer = read_response(&mut stream);
    answer.assert_json_error(408);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "408 after {took:?}");
}

/// An ack body `[1]` was obeyed as `{"up_to": 1}`.
#[test]
fn an_ack_body_must_be_the_documented_object() {
    let relay = Relay::start(&["--no-rate-limits"]);
    let (inbox, credential) = relay.create();
    assert_eq!(
        submit(&relay, &inbox, "application/json", &envelope(1)).status,
        202
    );
    for body in ["[1]", "1", r#"{"up_to":1,"more":2}"#, r#"{"up_to":"1"}"#] {
        let r = relay.raw(
            format!(
                "POST /v1/inboxes/{inbox}/ack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {credential}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        r.assert_json_error(400);
    }
    let page = fetch(&relay, &inbox, &format!("Bearer {credential}")).json();
    assert_eq!(page["messages"].as_array().unwrap().len(), 1, "{page}");
}

/// Error answers without the JSON body: a path that does not parse,
/// headers too large, too many headers.
#[test]
fn every_error_carries_the_json_error_body() {
    let relay = Relay::start(&["--no-rate-limits"]);
    let (inbox, _) = relay.create();
    relay
        .raw(b"POST /v1/inboxes/%ff HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        .assert_json_error(400);
    relay
        .raw(b"GET /v1/inboxes/%ff/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n\r\n")
        .assert_json_error(400);
    relay
        .raw(
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(20_000)
            )
            .as_bytes(),
        )
        .assert_json_error(431);
    relay
        .raw(
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..150)
                    .map(|i| format!("X-H{i}: v\r\n"))
                    .collect::<String>()
            )
            .as_bytes(),
        )
        .assert_json_error(431);
    submit(&relay, &inbox, "text/plain", "{}").assert_json_error(415);
    submit(&relay, &inbox, "application/json", "{}").assert_json_error(400);
}

/// `Content-Type: Application/JSON` got 415 and the scheme `bearer` got
/// 401, although both are case-insensitive (RFC 9110).
#[test]
fn media_types_and_the_auth_scheme_are_case_insensitive() {
    let relay = Relay::start(&["--no-rate-limits"]);
    let (inbox, credential) = relay.create();
    let r = submit(
        &relay,
        &inbox,
        "Application/JSON; Charset=UTF-8",
        &envelope(1),
    );
    assert_eq!(r.status, 202, "{r:?}");
    let page = fetch(&relay, &inbox, &format!("bearer {credential}"));
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(page.json()["messages"].as_array().unwrap().len(), 1);
    let r = relay.raw(
        format!(
            "POST /v1/inboxes/{inbox}/ack HTTP/1.1\r\nHost: x\r\nAuthorization: BEARER {credential}\r\nContent-Type: APPLICATION/json\r\nContent-Length: 11\r\n\r\n{{\"up_to\":1}}"
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.head.contains("200"));
}

/// Starts a long poll of `inbox` and returns its connection (the answer
/// comes when an envelope arrives or the wait ends).
fn long_poll(relay: &Relay, inbox: &str, credential: &str, wait: u32) -> TcpStream {
    let mut stream = TcpStream::connect(relay.addr).unwrap();
    stream
        .write_all(
            format!(
                "GET /v1/inboxes/{inbox}/messages?wait={wait} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {credential}\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    stream
}

/// A counter from /metrics.
fn metric(relay: &Relay, line_start: &str) -> u64 {
    let r = relay.raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    r.body
        .lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in {}", r.body))
}

/// Waits until `metric` reaches `value` (or 5 s pass); its last value.
fn metric_reaches(relay: &Relay, name: &str, value: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let v = metric(relay, name);
        if v >= value || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Finding 8: every stored envelope, in any inbox, woke every waiting long
/// poll. Now a submit wakes the polls of its own inbox only.
#[test]
fn a_submit_wakes_only_the_polls_of_its_inbox() {
    let relay = Relay::start(&["--no-rate-limits", "--max-polls-per-inbox", "50"]);
    let (a, a_credential) = relay.create();
    let (b, _) = relay.create();
    let mut polls: Vec<TcpStream> = (0..20)
        .map(|_| long_poll(&relay, &a, &a_credential, 20))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..20 {
        assert_eq!(
            submit(&relay, &b, "application/json", &envelope(i)).status,
            202
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(metric(&relay, "fio_inbox_poll_wakeups_total"), 0);
    assert_eq!(
        submit(&relay, &a, "application/json", &envelope(100)).status,
        202
    );
    for poll in &mut polls {
        let r = read_response(poll);
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["messages"].as_array().unwrap().len(), 1);
    }
    assert_eq!(
        metric_reaches(&relay, "fio_inbox_poll_wakeups_total", 20),
        20
    );
}

/// Finding 8: one credential could hold any number of long polls. Now at
/// most --max-polls-per-inbox per inbox and --max-polls-per-client per
/// address; 429 beyond, with the JSON error and Retry-After.
#[test]
fn long_polls_are_capped_per_inbox_and_per_client() {
    let relay = Relay::start(&[
        "--no-rate-limits",
        "--max-polls-per-inbox",
        "2",
        "--max-polls-per-client",
        "3",
    ]);
    let (a, a_credential) = relay.create();
    let (b, b_credential) = relay.create();
    let _held: Vec<TcpStream> = vec![
        long_poll(&relay, &a, &a_credential, 20),
        long_poll(&relay, &a, &a_credential, 20),
    ];
    std::thread::sleep(Duration::from_millis(300));
    let mut third = long_poll(&relay, &a, &a_credential, 20);
    let r = read_response(&mut third);
    r.assert_json_error(429);
    assert!(r.head.to_ascii_lowercase().contains("retry-after"), "{r:?}");
    // A fetch that does not wait is never refused for that.
    assert_eq!(
        fetch(&relay, &a, &format!("Bearer {a_credential}")).status,
        200
    );
    // The client's third poll (on another inbox) is fine, its fourth is not.
    let _b1 = long_poll(&relay, &b, &b_credential, 20);
    std::thread::sleep(Duration::from_millis(300));
    let mut b2 = long_poll(&relay, &b, &b_credential, 20);
    read_response(&mut b2).assert_json_error(429);
    assert_eq!(
        metric(&relay, "fio_inbox_rate_limited_total{limit=\"polls\"}"),
        2
    );
}

/// Finding 9: one address stored ≈ 1.4 MB/s. Now a stored-bytes budget
/// per client address: a burst, then the sustained rate; 429 beyond.
#[test]
fn one_client_address_has_a_storage_budget() {
    let relay = Relay::start(&[
        "--rate-ip",
        "off",
        "--rate-ip-create",
        "off",
        "--rate-ip-new",
        "off",
        "--rate-inbox",
        "off",
        "--rate-inbox-new",
        "off",
        "--store-rate",
        "1KiB",
        "--store-burst",
        "8KiB",
    ]);
    let (inbox, _) = relay.create();
    let mut stored = 0usize;
    let mut refused = None;
    for i in 0..200 {
        let body = envelope(i);
        let r = submit(&relay, &inbox, "application/json", &body);
        if r.status == 202 {
            stored += body.len();
        } else {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("the budget never ran out");
    r.assert_json_error(429);
    assert!(r.head.to_ascii_lowercase().contains("retry-after"), "{r:?}");
    // The burst and what refilled while the submits ran (well under a second).
    assert!(
        (7 * 1024..=10 * 1024).contains(&stored),
        "{stored} bytes stored"
    );
    assert_eq!(
        metric(&relay, "fio_inbox_rate_limited_total{limit=\"ip_bytes\"}"),
        1
    );
}
