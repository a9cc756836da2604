//! What a wallet registers to be woken (docs/protocol.md §4.4): a Web Push
//! subscription (W3C `PushSubscription.toJSON()`) or a Matrix push gateway,
//! parsed strictly, and the address rules every push target obeys.

use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::{json, Map, Value};

/// Longest subscription body read, in bytes.
pub const MAX_SUBSCRIPTION_LEN: usize = 4096;
/// Longest endpoint or gateway URL.
pub const MAX_URL_LEN: usize = 2048;
/// Longest gateway `app_id` (Matrix: 64) and `pushkey` (Matrix: 512).
pub const MAX_APP_ID_LEN: usize = 64;
pub const MAX_PUSHKEY_LEN: usize = 512;
/// The path a Matrix push gateway serves (Push Gateway API v1).
pub const GATEWAY_PATH: &str = "/_matrix/push/v1/notify";

/// A registered push target. Its keys are secrets of the subscriber's
/// device: Debug shows neither them nor the URLs (which are capabilities).
#[derive(Clone, PartialEq)]
pub enum PushTarget {
    WebPush {
        endpoint: String,
        /// The user agent's P-256 public key, uncompressed (65 bytes).
        p256dh: [u8; 65],
        auth: [u8; 16],
        /// As the browser sent it (null or a number of milliseconds).
        expiration_time: Option<f64>,
    },
    Gateway {
        url: String,
        app_id: String,
        pushkey: String,
    },
}

impl std::fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PushTarget::WebPush { .. } => "PushTarget::WebPush(..)",
            PushTarget::Gateway { .. } => "PushTarget::Gateway(..)",
        })
    }
}

/// Why a subscription was refused: the field and a message (the relay's
/// 400 body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> TargetError {
    TargetError {
        field,
        message: message.into(),
    }
}

impl PushTarget {
    /// Parses a subscription body. `allow_insecure` (the relay's
    /// `--push-allow-insecure`) lets http and local addresses through.
    /// `on_curve` checks that p256dh is a point of P-256.
    pub fn parse(
        body: &[u8],
        allow_insecure: bool,
        on_curve: impl Fn(&[u8; 65]) -> bool,
    ) -> Result<PushTarget, TargetError> {
        if body.len() > MAX_SUBSCRIPTION_LEN {
            return Err(refuse("kind", "The subscription is larger than 4096 bytes"));
        }
        PushTarget::parse_any_size(body, allow_insecure, on_curve)
    }

    fn parse_any_size(
        body: &[u8],
        allow_insecure: bool,
        on_curve: impl Fn(&[u8; 65]) -> bool,
    ) -> Result<PushTarget, TargetError> {
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(body) else {
            return Err(refuse("kind", "The body must be a JSON object"));
        };
        let kind = take_string(&mut object, "kind")?;
        let target = match kind.as_str() {
            "webpush" => {
                let endpoint = take_string(&mut object, "endpoint")?;
                check_url(&endpoint, "endpoint", allow_insecure)?;
                let expiration_time = match object.remove("expirationTime") {
                    None | Some(Value::Null) => None,
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(_) => {
                        return Err(refuse(
                            "expirationTime",
                            "expirationTime must be null or a number",
                        ))
                    }
                };
                let Some(Value::Object(mut keys)) = object.remove("keys") else {
                    return Err(refuse(
                        "keys",
                        "keys must be an object with p256dh and auth",
                    ));
                };
                let p256dh: [u8; 65] = decode_key(&mut keys, "p256dh", 65)?
                    .try_into()
                    .map_err(|_| refuse("p256dh", "p256dh must be 65 bytes"))?;
                if p256dh[0] != 4 || !on_curve(&p256dh) {
                    return Err(refuse(
                        "p256dh",
                        "p256dh must be an uncompressed point on P-256",
                    ));
                }
                let auth: [u8; 16] = decode_key(&mut keys, "auth", 16)?
                    .try_into()
                    .map_err(|_| refuse("auth", "auth must be 16 bytes"))?;
                if let Some(extra) = keys.keys().next() {
                    return Err(refuse("keys", format!("Unknown field keys.{extra}")));
                }
                PushTarget::WebPush {
                    endpoint,
                    p256dh,
                    auth,
                    expiration_time,
                }
            }
            "gateway" => {
                let url = take_string(&mut object, "url")?;
                check_url(&url, "url", allow_insecure)?;
                let path_ok = url::Url::parse(&url).is_ok_and(|u| {
                    u.path().ends_with(GATEWAY_PATH) && u.query().is_none() && !url.ends_with('?')
                });
                if !path_ok {
                    return Err(refuse(
                        "url",
                        format!("The gateway URL must end in {GATEWAY_PATH}"),
                    ));
                }
                let app_id = take_string(&mut object, "app_id")?;
                let pushkey = take_string(&mut object, "pushkey")?;
                if app_id.is_empty() || app_id.len() > MAX_APP_ID_LEN {
                    return Err(refuse("app_id", "app_id must be 1 to 64 characters"));
                }
                if pushkey.is_empty() || pushkey.len() > MAX_PUSHKEY_LEN {
                    return Err(refuse("pushkey", "pushkey must be 1 to 512 characters"));
                }
                PushTarget::Gateway {
                    url,
                    app_id,
                    pushkey,
                }
            }
            _ => return Err(refuse("kind", "kind must be webpush or gateway")),
        };
        if let Some(extra) = object.keys().next() {
            return Err(refuse("kind", format!("Unknown field {extra}")));
        }
        Ok(target)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            PushTarget::WebPush { .. } => "webpush",
            PushTarget::Gateway { .. } => "gateway",
        }
    }

    /// The URL pushes are POSTed to.
    pub fn url(&self) -> &str {
        match self {
            PushTarget::WebPush { endpoint, .. } => endpoint,
            PushTarget::Gateway { url, .. } => url,
        }
    }

    /// What makes two registrations the same device: re-registering it
    /// replaces the first (a browser renews its keys; an app re-registers
    /// at every start). One rule with the wallet's
    /// (`fio_peer::sync::push_identity`).
    pub fn identity(&self) -> String {
        fio_peer::sync::push_identity(&self.public_json())
            .expect("a target's JSON has its identity")
    }

    /// The stored form: the subscription as it was registered.
    pub fn to_json(&self) -> String {
        self.json(true).to_string()
    }

    /// The form a listing shows: without the Web Push keys.
    pub fn public_json(&self) -> Value {
        self.json(false)
    }

    fn json(&self, with_keys: bool) -> Value {
        match self {
            PushTarget::WebPush {
                endpoint,
                p256dh,
                auth,
                expiration_time,
            } => {
                let mut v = json!({
                    "kind": "webpush",
                    "endpoint": endpoint,
                    "expirationTime": expiration_time,
                });
                if with_keys {
                    v["keys"] =
                        json!({"p256dh": B64URL.encode(p256dh), "auth": B64URL.encode(auth)});
                }
                v
            }
            PushTarget::Gateway {
                url,
                app_id,
                pushkey,
            } => json!({"kind": "gateway", "url": url, "app_id": app_id, "pushkey": pushkey}),
        }
    }

    /// Reads back the stored form (already checked when it was registered;
    /// it may be a few bytes longer than what was sent, so no size limit).
    pub fn from_stored(text: &str) -> Option<PushTarget> {
        PushTarget::parse_any_size(text.as_bytes(), true, |_| true).ok()
    }
}

fn take_string(
    object: &mut Map<String, Value>,
    field: &'static str,
) -> Result<String, TargetError> {
    match object.remove(field) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(refuse(field, format!("{field} must be a string"))),
        None => Err(refuse(field, format!("Missing required field {field}"))),
    }
}

/// A key in base64url without padding (RFC 7515 §2), as browsers send it.
fn decode_key(
    keys: &mut Map<String, Value>,
    field: &'static str,
    len: usize,
) -> Result<Vec<u8>, TargetError> {
    let text = take_string(keys, field)?;
    let bytes = B64URL
        .decode(text.as_bytes())
        .map_err(|_| refuse(field, format!("{field} must be base64url without padding")))?;
    if bytes.len() != len {
        return Err(refuse(field, format!("{field} must be {len} bytes")));
    }
    Ok(bytes)
}

/// https only (http too under `allow_insecure`), no credentials or fragment,
/// and, without `allow_insecure`, no host that names this machine or a
/// private network. Names are resolved and checked again when sending.
fn check_url(text: &str, field: &'static str, allow_insecure: bool) -> Result<(), TargetError> {
    if text.len() > MAX_URL_LEN {
        return Err(refuse(
            field,
            format!("{field} is longer than 2048 characters"),
        ));
    }
    let url = url::Url::parse(text).map_err(|_| refuse(field, format!("{field} is not a URL")))?;
    match (url.scheme(), allow_insecure) {
        ("https", _) | ("http", true) => {}
        _ => return Err(refuse(field, format!("{field} must be an https URL"))),
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(refuse(
            field,
            format!("{field} must not carry credentials or a fragment"),
        ));
    }
    let local = match url.host() {
        None => return Err(refuse(field, format!("{field} has no host"))),
        Some(url::Host::Domain(d)) => is_local_name(d),
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
    };
    if local && !allow_insecure {
        return Err(refuse(
            field,
            format!("{field} must not be a loopback, private or link-local address"),
        ));
    }
    Ok(())
}

/// `localhost` and its subdomains (RFC 6761 §6.3) name this machine.
pub fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// Whether a push may go to `ip`: the wallet's own rule for where it
/// delivers (a public unicast address; IPv6 forms embedding IPv4 judged by
/// that address), one definition in the core.
pub use fio_peer::sync::is_public;

#[cfg(test)]
mod tests {
    use super::*;

    fn point() -> String {
        let mut p = [0u8; 65];
        p[0] = 4;
        B64URL.encode(p)
    }

    fn webpush(endpoint: &str) -> String {
        json!({"kind":"webpush","endpoint":endpoint,"expirationTime":null,
               "keys":{"p256dh":point(),"auth":B64URL.encode([7u8;16])}})
        .to_string()
    }

    fn parse(body: &str, insecure: bool) -> Result<PushTarget, TargetError> {
        PushTarget::parse(body.as_bytes(), insecure, |_| true)
    }

    #[test]
    fn subscriptions_at_the_field_limits_read_back_from_their_stored_form() {
        let gw = json!({"kind":"gateway","url":"https://g.example.com/_matrix/push/v1/notify","app_id":"a".repeat(64),"pushkey":"k".repeat(512)}).to_string();
        let t = parse(&gw, false).unwrap();
        assert_eq!(PushTarget::from_stored(&t.to_json()), Some(t));
        let near = webpush(&format!("https://p.example.com/{}", "a".repeat(2000)));
        let t = parse(&near, false).unwrap();
        assert!(t.to_json().len() >= near.len());
        assert_eq!(PushTarget::from_stored(&t.to_json()), Some(t));
    }

    #[test]
    fn a_browser_subscription_round_trips_through_its_stored_form() {
        let t = parse(&webpush("https://push.example.com/wpush/abc"), false).unwrap();
        assert_eq!(PushTarget::from_stored(&t.to_json()), Some(t.clone()));
        assert!(t.public_json().get("keys").is_none());
        assert_eq!(format!("{t:?}"), "PushTarget::WebPush(..)");
    }

    #[test]
    fn every_local_form_is_refused_without_the_flag_and_taken_with_it() {
        for host in [
            "localhost",
            "foo.localhost",
            "LOCALHOST.",
            "127.0.0.1",
            "127.1.2.3",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "[::ffff:10.0.0.1]",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "[fe80::1]",
            "[fd00::1]",
            "0.0.0.0",
            "[::]",
            "100.64.0.1",
            "[64:ff9b::7f00:1]",
            "[2002:7f00:1::]",
        ] {
            let body = webpush(&format!("https://{host}/push"));
            let e = parse(&body, false).unwrap_err();
            assert_eq!(e.field, "endpoint", "{host}");
            assert!(parse(&body, true).is_ok(), "{host}");
        }
        for host in ["8.8.8.8", "[2001:4860:4860::8888]", "push.example.com"] {
            assert!(
                parse(&webpush(&format!("https://{host}/p")), false).is_ok(),
                "{host}"
            );
        }
    }

    #[test]
    fn http_needs_the_flag_and_other_schemes_never_pass() {
        assert!(parse(&webpush("http://push.example.com/p"), false).is_err());
        assert!(parse(&webpush("http://push.example.com/p"), true).is_ok());
        for url in [
            "ftp://push.example.com/p",
            "file:///etc/passwd",
            "ws://push.example.com/",
        ] {
            assert!(parse(&webpush(url), true).is_err(), "{url}");
        }
        let with_user = webpush("https://user:pw@push.example.com/p");
        assert!(parse(&with_user, true).is_err());
    }

    #[test]
    fn malformed_keys_name_their_field() {
        let cases = [
            (
                json!({"p256dh": point(), "auth": B64URL.encode([1u8; 15])}),
                "auth",
            ),
            (
                json!({"p256dh": point(), "auth": "AAAAAAAAAAAAAAAAAAAAAA=="}),
                "auth",
            ),
            (
                json!({"p256dh": B64URL.encode([4u8; 64]), "auth": B64URL.encode([1u8; 16])}),
                "p256dh",
            ),
            (
                json!({"p256dh": B64URL.encode([2u8; 65]), "auth": B64URL.encode([1u8; 16])}),
                "p256dh",
            ),
            (json!({"auth": B64URL.encode([1u8; 16])}), "p256dh"),
            (json!("x"), "keys"),
        ];
        for (keys, field) in cases {
            let body = json!({"kind":"webpush","endpoint":"https://p.example.com/x","keys":keys});
            let e = parse(&body.to_string(), false).unwrap_err();
            assert_eq!(e.field, field, "{keys}");
        }
        let off_curve = webpush("https://p.example.com/x");
        let e = PushTarget::parse(off_curve.as_bytes(), false, |_| false).unwrap_err();
        assert_eq!(e.field, "p256dh");
    }

    #[test]
    fn a_gateway_url_ends_in_the_matrix_notify_path() {
        let gw = |url: &str| {
            json!({"kind":"gateway","url":url,"app_id":"com.example.wallet","pushkey":"tok"})
                .to_string()
        };
        assert!(parse(&gw("https://gw.example.com/_matrix/push/v1/notify"), false).is_ok());
        for url in [
            "https://gw.example.com/_matrix/push/v1/notify/x",
            "https://gw.example.com/notify",
            "https://gw.example.com/_matrix/push/v1/notify?x=1",
        ] {
            assert_eq!(parse(&gw(url), false).unwrap_err().field, "url", "{url}");
        }
        let long_key = json!({"kind":"gateway","url":"https://gw.example.com/_matrix/push/v1/notify",
                              "app_id":"a","pushkey":"k".repeat(513)});
        assert_eq!(
            parse(&long_key.to_string(), false).unwrap_err().field,
            "pushkey"
        );
    }

    #[test]
    fn unknown_kinds_fields_and_non_objects_are_refused() {
        for body in [
            "[]",
            "{}",
            r#"{"kind":"apns"}"#,
            r#"{"kind":"gateway","url":"https://g.example.com/_matrix/push/v1/notify","app_id":"a","pushkey":"k","extra":1}"#,
        ] {
            assert!(parse(body, false).is_err(), "{body}");
        }
        assert!(parse(&"x".repeat(5000), false).is_err());
    }
}
