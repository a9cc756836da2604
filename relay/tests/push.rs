//! Push (docs/protocol.md §4.4), each scenario against a real relay and a
//! push receiver on loopback ports, on SQLite and on PostgreSQL. The
//! receiver plays a Web Push service and a Matrix push gateway; the
//! independent decryption of the Web Push body and the VAPID check are in
//! bindings/test_push.py (Python's http_ece and cryptography).

mod support;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use fio_inbox::push::PushConfig;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::receiver::{gateway, webpush, Receiver};
use support::{envelope, Backend, Inbox, Options, Relay};

fn main() {
    support::run(
        &[
            scenario!(subscriptions_are_registered_listed_replaced_and_removed),
            scenario!(a_sixth_subscription_is_refused_with_409),
            scenario!(malformed_and_insecure_subscriptions_are_refused_with_their_field),
            scenario!(a_submit_pushes_to_each_subscription_with_the_newest_seq),
            scenario!(pushes_within_the_window_are_coalesced_into_one_with_the_latest_seq),
            scenario!(a_duplicate_submit_pushes_nothing),
            scenario!(gone_endpoints_and_rejected_pushkeys_lose_their_subscription),
            scenario!(failures_are_retried_with_growing_gaps_and_never_remove_the_subscription),
            scenario!(a_hung_endpoint_delays_neither_submits_nor_other_pushes),
            scenario!(new_keys_while_a_push_is_in_flight_send_the_state_again),
            scenario!(subscriptions_and_the_vapid_key_survive_a_restart),
            scenario!(a_deleted_inbox_takes_its_subscriptions),
            scenario!(a_name_that_resolves_to_this_machine_is_never_pushed_to),
        ],
        &[scenario!(two_instances_on_one_database_push_once_per_state)],
    );
}

/// Relay options for these tests: loopback receivers allowed, quick
/// retries, and `coalesce` as the window.
fn options(coalesce: Duration) -> Options {
    Options {
        http: Box::new(move |c| {
            c.limits = fio_inbox::RateLimits::off();
            c.push = PushConfig {
                coalesce,
                allow_insecure: true,
                retry_base: Duration::from_millis(200),
                max_attempts: 3,
                request_timeout: Duration::from_secs(2),
                ..PushConfig::default()
            };
        }),
        ..Options::default()
    }
}

async fn start(backend: Backend) -> Relay {
    Relay::start_with(backend, options(Duration::from_millis(500))).await
}

async fn subscribe(relay: &Relay, inbox: &Inbox, body: &Value) -> (StatusCode, Value) {
    let r = relay
        .client
        .post(format!("{}/push", inbox.url))
        .bearer_auth(&inbox.credential)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn list(relay: &Relay, inbox: &Inbox) -> Vec<Value> {
    let r = relay
        .client
        .get(format!("{}/push", inbox.url))
        .bearer_auth(&inbox.credential)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["subscriptions"].as_array().unwrap().clone()
}

async fn vapid_key(relay: &Relay) -> String {
    let v: Value = relay
        .client
        .get(format!("{}/v1/push/vapid", relay.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["public_key"].as_str().unwrap().to_string()
}

async fn subscriptions_are_registered_listed_replaced_and_removed(backend: Backend) {
    let relay = start(backend).await;
    let inbox = relay.create().await;
    let (status, v) = subscribe(&relay, &inbox, &webpush("https://push.example.com/w/1")).await;
    assert_eq!(status, StatusCode::CREATED);
    let first = v["push_id"].as_str().unwrap().to_string();
    assert!(
        first.len() == 32
            && first
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    // The same endpoint again (renewed keys): the same subscription.
    let (status, v) = subscribe(&relay, &inbox, &webpush("https://push.example.com/w/1")).await;
    assert_eq!(
        (status, v["push_id"].as_str()),
        (StatusCode::CREATED, Some(first.as_str()))
    );
    let gw = gateway("https://gw.example.com/_matrix/push/v1/notify", "token-1");
    let (_, v) = subscribe(&relay, &inbox, &gw).await;
    let second = v["push_id"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let listed = list(&relay, &inbox).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["push_id"], first);
    assert_eq!(listed[0]["kind"], "webpush");
    assert_eq!(listed[0]["endpoint"], "https://push.example.com/w/1");
    assert!(
        listed[0].get("keys").is_none(),
        "a listing never shows keys"
    );
    assert_eq!(listed[1]["pushkey"], "token-1");
    // Another inbox's credential neither lists nor deletes them.
    let other = relay.create().await;
    let r = relay
        .client
        .get(format!("{}/push", inbox.url))
        .bearer_auth(&other.credential)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["type"], 401);
    let unauth = relay
        .client
        .post(format!("{}/push", inbox.url))
        .json(&webpush("https://push.example.com/w/2"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unauth.headers()["www-authenticate"], "Bearer");
    let delete = |id: String| {
        let (client, url, cred) = (
            relay.client.clone(),
            inbox.url.clone(),
            inbox.credential.clone(),
        );
        async move {
            client
                .delete(format!("{url}/push/{id}"))
                .bearer_auth(cred)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(delete(first.clone()).await.status(), StatusCode::NO_CONTENT);
    let again = delete(first).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(again.json::<Value>().await.unwrap()["error"]["type"], 404);
    assert_eq!(list(&relay, &inbox).await.len(), 1);
}

async fn a_sixth_subscription_is_refused_with_409(backend: Backend) {
    let relay = start(backend).await;
    let inbox = relay.create().await;
    for i in 0..5 {
        let (status, _) = subscribe(
            &relay,
            &inbox,
            &webpush(&format!("https://p.example.com/{i}")),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, v) = subscribe(&relay, &inbox, &webpush("https://p.example.com/6")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(v["error"]["type"], 409);
    // Re-registering one of the five is not a sixth.
    let (status, _) = subscribe(&relay, &inbox, &webpush("https://p.example.com/3")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(list(&relay, &inbox).await.len(), 5);
}

async fn malformed_and_insecure_subscriptions_are_refused_with_their_field(backend: Backend) {
    // The default configuration: https and public addresses only.
    let relay = Relay::start(backend).await;
    let inbox = relay.create().await;
    let mut bad_auth = webpush("https://push.example.com/w");
    bad_auth["keys"]["auth"] = json!(B64URL.encode([1u8; 15]));
    let mut off_curve = webpush("https://push.example.com/w");
    let mut point = [0u8; 65];
    point[0] = 4;
    point[1] = 1;
    off_curve["keys"]["p256dh"] = json!(B64URL.encode(point));
    let cases = [
        (webpush("http://push.example.com/w"), "endpoint"),
        (webpush("https://127.0.0.1/w"), "endpoint"),
        (webpush("https://localhost/w"), "endpoint"),
        (webpush("https://[::1]/w"), "endpoint"),
        (webpush("https://[::ffff:127.0.0.1]/w"), "endpoint"),
        (webpush("https://10.0.0.7/w"), "endpoint"),
        (webpush("https://169.254.169.254/latest"), "endpoint"),
        (webpush("ftp://push.example.com/w"), "endpoint"),
        (bad_auth, "auth"),
        (off_curve, "p256dh"),
        (gateway("https://gw.example.com/notify", "k"), "url"),
        (
            gateway("http://gw.example.com/_matrix/push/v1/notify", "k"),
            "url",
        ),
        (json!({"kind": "apns", "token": "x"}), "kind"),
    ];
    for (body, field) in cases {
        let (status, v) = subscribe(&relay, &inbox, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(v["error"]["type"], 400, "{body}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    let r = relay
        .client
        .post(format!("{}/push", inbox.url))
        .bearer_auth(&inbox.credential)
        .header("content-type", "text/plain")
        .body(webpush("https://push.example.com/w").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(list(&relay, &inbox).await.is_empty());
    // A public https endpoint is taken.
    let (status, _) = subscribe(&relay, &inbox, &webpush("https://push.example.com/w")).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn a_submit_pushes_to_each_subscription_with_the_newest_seq(backend: Backend) {
    let receiver = Receiver::start().await;
    let relay = start(backend).await;
    let inbox = relay.create().await;
    subscribe(&relay, &inbox, &webpush(&receiver.url("/ok/device-1"))).await;
    let gw = "/gw/_matrix/push/v1/notify";
    subscribe(&relay, &inbox, &gateway(&receiver.url(gw), "pushkey-1")).await;
    assert_eq!(
        relay.submit(&inbox, &envelope(1)).await.0,
        StatusCode::ACCEPTED
    );
    let web = receiver.wait_for("/ok/device-1", 1, 2).await;
    let gws = receiver.wait_for(gw, 1, 2).await;
    assert_eq!((web.len(), gws.len()), (1, 1), "one push each within 2 s");
    let h = &web[0].headers;
    assert_eq!(h["content-encoding"], "aes128gcm");
    assert_eq!(h["urgency"], "high");
    assert_eq!(h["ttl"], "86400");
    let auth = &h["authorization"];
    assert!(auth.starts_with("vapid t="), "{auth}");
    assert!(
        auth.ends_with(&format!(", k={}", vapid_key(&relay).await)),
        "{auth}"
    );
    // salt 16, rs 4, idlen 1, key 65, then the sealed {"inbox_id","seq"}.
    let plain_len = json!({"inbox_id": inbox.id, "seq": 1}).to_string().len();
    assert_eq!(web[0].body.len(), 86 + plain_len + 1 + 16);
    assert!(!String::from_utf8_lossy(&web[0].body).contains(&inbox.id));
    assert_eq!(
        gws[0].json(),
        json!({"notification": {
            "event_id": "1",
            "room_id": inbox.id,
            "counts": {"unread": 1},
            "prio": "high",
            "devices": [{"app_id": "com.example.wallet", "pushkey": "pushkey-1"}],
        }})
    );
    assert_eq!(
        relay
            .metric("fio_inbox_pushes_total{outcome=\"sent\"}")
            .await,
        2
    );
}

async fn pushes_within_the_window_are_coalesced_into_one_with_the_latest_seq(backend: Backend) {
    let receiver = Receiver::start().await;
    let relay = Relay::start_with(backend, options(Duration::from_secs(3))).await;
    let inbox = relay.create().await;
    let gw = "/gw/_matrix/push/v1/notify";
    subscribe(&relay, &inbox, &gateway(&receiver.url(gw), "k")).await;
    relay.submit(&inbox, &envelope(1)).await;
    let first = receiver.wait_for(gw, 1, 2).await;
    assert_eq!(first[0].json()["notification"]["event_id"], "1");
    for i in 2..=6 {
        relay.submit(&inbox, &envelope(i)).await;
    }
    // The window ends 3 s after the first push: one more, with seq 6.
    let got = receiver.wait_for(gw, 2, 5).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].json()["notification"]["event_id"], "6");
    assert_eq!(got[1].json()["notification"]["counts"]["unread"], 6);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(receiver.got(gw).len(), 2, "nothing new: no push");
}

async fn a_duplicate_submit_pushes_nothing(backend: Backend) {
    let receiver = Receiver::start().await;
    let relay = start(backend).await;
    let inbox = relay.create().await;
    subscribe(&relay, &inbox, &webpush(&receiver.url("/ok/d"))).await;
    relay.submit(&inbox, &envelope(1)).await;
    assert_eq!(receiver.wait_for("/ok/d", 1, 2).await.len(), 1);
    let (status, v) = relay.submit(&inbox, &envelope(1)).await;
    assert_eq!(
        (status, v["duplicate"].as_bool()),
        (StatusCode::ACCEPTED, Some(true))
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.got("/ok/d").len(), 1);
}

async fn gone_endpoints_and_rejected_pushkeys_lose_their_subscription(backend: Backend) {
    let receiver = Receiver::start().await;
    let relay = start(backend).await;
    let inbox = relay.create().await;
    let gw = "/gw/_matrix/push/v1/notify";
    subscribe(&relay, &inbox, &webpush(&receiver.url("/gone/d"))).await;
    subscribe(&relay, &inbox, &gateway(&receiver.url(gw), "reject-me")).await;
    subscribe(&relay, &inbox, &gateway(&receiver.url(gw), "keep-me")).await;
    relay.submit(&inbox, &envelope(1)).await;
    receiver.wait_for("/gone/d", 1, 2).await;
    receiver.wait_for(gw, 2, 2).await;
    let mut left = Vec::new();
    for _ in 0..40 {
        left = list(&relay, &inbox).await;
        if left.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["pushkey"], "keep-me");
    assert_eq!(
        relay
            .metric("fio_inbox_pushes_total{outcome=\"removed\"}")
            .await,
        2
    );
}

async fn failures_are_retried_with_growing_gaps_and_never_remove_the_subscription(
    backend: Backend,
) {
    let receiver = Receiver::start().await;
    let relay = start(backend).await;
    let inbox = relay.create().await;
    subscribe(&relay, &inbox, &webpush(&receiver.url("/flaky/d"))).await;
    subscribe(&relay, &inbox, &webpush(&receiver.url("/down/d"))).await;
    relay.submit(&inbox, &envelope(1)).await;
    // 503, 503, then 201: retried 200 ms, then 600 ms later.
    let flaky = receiver.wait_for("/flaky/d", 3, 5).await;
    assert_eq!(flaky.len(), 3);
    // Always 503: three tries (max_attempts), then given up until the next
    // submit; the subscription stays.
    let down = receiver.wait_for("/down/d", 3, 5).await;
    assert_eq!(down.len(), 3);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.got("/down/d").len(), 3, "given up after 3 tries");
    assert_eq!(receiver.got("/flaky/d").len(), 3, "delivered: nothing more");
    assert_eq!(list(&relay, &inbox).await.len(), 2);
    assert_eq!(
        relay
            .metric("fio_inbox_pushes_total{outcome=\"retried\"}")
            .await,
        4
    );
    assert_eq!(
        relay
            .metric("fio_inbox_pushes_total{outcome=\"failed\"}")
            .await,
        1
    );
    assert_eq!(
        relay
            .metric("fio_inbox_pushes_total{outcome=\"sent\"}")
            .await,
        1
    );
    // The next submit tries the failing one again.
    relay.submit(&inbox, &envelope(2)).await;
    assert_eq!(receiver.wait_for("/down/d", 4, 3).await.len(), 4);
}

async fn a_hung_endpoint_delays_neither_submits_nor_other_pushes(backend: Backend) {
    let receiver = Receiver::start().await;
    // The hung push waits out its whole 10 s timeout.
    let mut opts = options(Duration::from_millis(500));
    let set = opts.http;
    opts.http = Box::new(move |c| {
        set(c);
        c.push.request_timeout = Duration::from_secs(10);
    });
    let relay = Relay::start_with(backend, opts).await;
    let hung = relay.create().await;
    let fine = relay.create().await;
    subscribe(&relay, &hung, &webpush(&receiver.url("/hang/d"))).await;
    subscribe(&relay, &fine, &webpush(&receiver.url("/ok/d"))).await;
    for i in 0..20 {
        assert_eq!(
            relay.submit(&hung, &envelope(i)).await.0,
            StatusCode::ACCEPTED
        );
    }
    receiver.wait_for("/hang/d", 1, 2).await;
    relay.submit(&fine, &envelope(1)).await;
    assert_eq!(receiver.wait_for("/ok/d", 1, 2).await.len(), 1);
    assert!(receiver.got("/ok/d").len() == 1 && receiver.got("/hang/d").len() == 1);
}

async fn subscriptions_and_the_vapid_key_survive_a_restart(backend: Backend) {
    let receiver = Receiver::start().await;
    let mut relay = start(backend).await;
    let key = vapid_key(&relay).await;
    let inbox = relay.create().await;
    subscribe(&relay, &inbox, &webpush(&receiver.url("/ok/d"))).await;
    let db = relay.db.clone();
    relay.shut_down().await.unwrap();
    drop(relay);
    let relay = Relay::start_on(db, options(Duration::from_millis(500))).await;
    assert_eq!(vapid_key(&relay).await, key);
    let inbox = relay.inbox_here(&inbox);
    relay.submit(&inbox, &envelope(1)).await;
    assert_eq!(receiver.wait_for("/ok/d", 1, 2).await.len(), 1);
    let auth = &receiver.got("/ok/d")[0].headers["authorization"];
    assert!(auth.ends_with(&format!("k={key}")));
}

async fn a_deleted_inbox_takes_its_subscriptions(backend: Backend) {
    let receiver = Receiver::start().await;
    let relay = start(backend).await;
    let inbox = relay.create().await;
    subscribe(&relay, &inbox, &webpush(&receiver.url("/ok/d"))).await;
    let r = relay
        .client
        .delete(&inbox.url)
        .bearer_auth(&inbox.credential)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(relay.store.push_list(&inbox.id).await.unwrap(), vec![]);
}

/// Two relays on one PostgreSQL database: a state is pushed once, whichever
/// instance took the submit, and both publish the same VAPID key.
async fn two_instances_on_one_database_push_once_per_state(backend: Backend) {
    let receiver = Receiver::start().await;
    let a = Relay::start_with(backend, options(Duration::from_millis(300))).await;
    let b = Relay::start_on(a.db.clone(), options(Duration::from_millis(300))).await;
    assert_eq!(vapid_key(&a).await, vapid_key(&b).await);
    let inbox = a.create().await;
    let gw = "/gw/_matrix/push/v1/notify";
    subscribe(&a, &inbox, &gateway(&receiver.url(gw), "k")).await;
    let on_b = b.inbox_here(&inbox);
    for i in 1..=6u32 {
        let relay = if i % 2 == 0 { &b } else { &a };
        let target = if i % 2 == 0 { &on_b } else { &inbox };
        relay.submit(target, &envelope(i)).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let seqs: Vec<String> = receiver
        .got(gw)
        .iter()
        .map(|g| {
            g.json()["notification"]["event_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        seqs,
        ["1", "2", "3", "4", "5", "6"],
        "each state once, in order"
    );
    let sent = a.metric("fio_inbox_pushes_total{outcome=\"sent\"}").await
        + b.metric("fio_inbox_pushes_total{outcome=\"sent\"}").await;
    assert_eq!(sent, 6);
}

/// A name of this machine from /etc/hosts (not `localhost`, which is
/// refused by name): the subscription is taken, since names are checked
/// when sending, and the push is refused then, without a connection.
async fn a_name_that_resolves_to_this_machine_is_never_pushed_to(backend: Backend) {
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap();
    let mut local_name = None;
    for line in hosts.lines().map(|l| l.split('#').next().unwrap()) {
        let mut words = line.split_whitespace();
        let Some(Ok(ip)) = words.next().map(str::parse::<std::net::IpAddr>) else {
            continue;
        };
        if !fio_inbox::push::is_public(ip) {
            local_name = local_name.or(words.find(|w| !w.contains("localhost")).map(String::from));
        }
    }
    let name = local_name.expect("/etc/hosts names this machine beside localhost");
    let found: Vec<_> = tokio::net::lookup_host((name.as_str(), 0))
        .await
        .unwrap()
        .collect();
    assert!(
        found.iter().all(|a| !fio_inbox::push::is_public(a.ip())),
        "{name}: {found:?}"
    );
    let receiver = Receiver::start().await;
    let port = receiver.base.rsplit(':').next().unwrap();
    let relay = Relay::start_with(
        backend,
        Options {
            http: Box::new(|c| {
                c.limits = fio_inbox::RateLimits::off();
                c.push.coalesce = Duration::from_millis(200);
            }),
            ..Options::default()
        },
    )
    .await;
    let inbox = relay.create().await;
    let (status, _) = subscribe(
        &relay,
        &inbox,
        &webpush(&format!("https://{name}:{port}/ok/d")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    relay.submit(&inbox, &envelope(1)).await;
    for _ in 0..40 {
        if relay
            .metric("fio_inbox_pushes_total{outcome=\"refused\"}")
            .await
            == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        relay
            .metric("fio_inbox_pushes_total{outcome=\"refused\"}")
            .await,
        1
    );
    assert_eq!(
        relay
            .metric("fio_inbox_pushes_total{outcome=\"retried\"}")
            .await,
        0
    );
    assert!(
        receiver.got("/ok/d").is_empty(),
        "nothing reached the receiver"
    );
}

/// The device registers again (new keys) while a push encrypted to its old
/// keys is on the way: that push cannot wake it, so the state goes out
/// again, to the new keys.
async fn new_keys_while_a_push_is_in_flight_send_the_state_again(backend: Backend) {
    let receiver = Receiver::start().await;
    let relay = start(backend).await;
    let inbox = relay.create().await;
    let endpoint = receiver.url("/slow/d");
    let (_, first) = subscribe(&relay, &inbox, &webpush(&endpoint)).await;
    relay.submit(&inbox, &envelope(1)).await;
    assert_eq!(receiver.wait_for("/slow/d", 1, 2).await.len(), 1);
    let renewed = webpush(&endpoint);
    let (status, again) = subscribe(&relay, &inbox, &renewed).await;
    assert_eq!(
        (status, &again["push_id"]),
        (StatusCode::CREATED, &first["push_id"])
    );
    let got = receiver.wait_for("/slow/d", 2, 3).await;
    assert_eq!(got.len(), 2, "the state is pushed again after new keys");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.got("/slow/d").len(), 2, "and only once");
}
