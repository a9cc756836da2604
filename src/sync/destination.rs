//! Where the wallet may post a peer's envelopes (docs/protocol.md §2.9).
//!
//! A return address is chosen by whoever sent the message, so a stranger
//! could point our wallet at the phone's own LAN (a blind POST into the
//! router, a printer, a dev server) or at `http://` to watch it in clear.
//! By default a destination must be `https` and every address it resolves
//! to must be public; the check runs on the URL and again on each address
//! the resolver returns at connect time, so a name that resolves to
//! 192.168.1.1 (or rebinds to it later) is refused too.
//! `allow_insecure_destinations` lifts both rules for the devnet and tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use crate::protocol::InboxLocation;

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{0} is not https (http is allowed only by allow_insecure_destinations)")]
    NotHttps(String),
    #[error("{0} is not a public address (loopback, private, link-local, multicast and reserved addresses are allowed only by allow_insecure_destinations)")]
    NotPublic(IpAddr),
    #[error("{0:?} is not a URL")]
    NotUrl(String),
}

/// True for an address on the public Internet: not loopback, private
/// (RFC 1918, unique local), shared (CGNAT), link-local, multicast,
/// broadcast, unspecified, documentation, benchmarking or reserved; for
/// IPv6, inside global unicast 2000::/3. IPv6 forms that carry an IPv4
/// address (mapped, compatible, NAT64, 6to4) are judged by that address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    // IPv4-compatible (deprecated) ::a.b.c.d, but not :: and ::1.
    if s[..6] == [0; 6] && !(ip.is_unspecified() || ip.is_loopback()) {
        return is_public_v4(embedded(s[6], s[7]));
    }
    // NAT64 (64:ff9b::/96): how IPv6-only mobile networks reach IPv4 hosts.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(s[6], s[7]));
    }
    // 6to4 (2002::/16) carries its IPv4 address in bits 16–47.
    if s[0] == 0x2002 {
        return is_public_v4(embedded(s[1], s[2]));
    }
    // Only global unicast (2000::/3) is routed on the Internet: this also
    // shuts out local-use NAT64 (64:ff9b:1::/48, RFC 8215) and every
    // reserved block outside it.
    if (s[0] & 0xe000) != 0x2000 {
        return false;
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only 100::/64
}

/// The URL to post to, if the destination passes the rules. `allow`:
/// `allow_insecure_destinations`.
pub fn check(location: &InboxLocation, allow: bool) -> Result<url::Url, Refused> {
    let text = location.submit_url();
    let url = url::Url::parse(&text).map_err(|_| Refused::NotUrl(text.clone()))?;
    if allow {
        return Ok(url);
    }
    if url.scheme() != "https" {
        return Err(Refused::NotHttps(text));
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
        None => return Err(Refused::NotUrl(text)),
    };
    // A literal address is never handed to the resolver: check it here.
    match literal {
        Some(ip) if !is_public(ip) => Err(Refused::NotPublic(ip)),
        _ => Ok(url),
    }
}

/// The resolver of peer deliveries: the system's, keeping only public
/// addresses. A name with none left fails to connect with [`Refused`] as
/// the error's source.
pub(crate) struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> =
                all.iter().copied().filter(|a| is_public(a.ip())).collect();
            match (public.is_empty(), all.first()) {
                (false, _) => Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs),
                (true, Some(first)) => Err(Box::new(Refused::NotPublic(first.ip())) as _),
                (true, None) => Err(format!("{host} has no address").into()),
            }
        })
    }
}

/// The system resolver keeping only public addresses, as a reqwest
/// resolver: fio-inbox sends its pushes (docs/protocol.md §4.4) with it. A
/// name with no public address fails with [`Refused`] (see [`refused`]).
pub fn public_only_resolver() -> Arc<dyn reqwest::dns::Resolve> {
    Arc::new(PublicOnly)
}

/// The resolver to give the peer delivery client, if the rules apply.
pub(crate) fn resolver(allow: bool) -> Option<Arc<dyn reqwest::dns::Resolve>> {
    (!allow).then(|| Arc::new(PublicOnly) as Arc<dyn reqwest::dns::Resolve>)
}

/// The [`Refused`] behind a failed request, if a resolver refused it.
pub fn refused(error: &reqwest::Error) -> Option<Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(r) = e.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.251",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:192.168.0.1",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "64:ff9b:1::a00:1",
            "fe00::1",
            "4000::1",
        ] {
            assert!(!is_public(ip(private)), "{private} passed");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "64:ff9b::101:101",
            "2002:0101:0101::1",
        ] {
            assert!(is_public(ip(public)), "{public} refused");
        }
    }

    #[test]
    fn destinations_must_be_https_on_a_public_literal() {
        let url = |a: &str| InboxLocation::parse("URL", a).unwrap();
        assert!(check(&url("https://relay.example/v1/inboxes/a/messages"), false).is_ok());
        assert!(check(&url("https://1.1.1.1/x"), false).is_ok());
        assert_eq!(
            check(&url("http://relay.example/x"), false),
            Err(Refused::NotHttps("http://relay.example/x".into()))
        );
        assert_eq!(
            check(&url("https://192.168.1.1/x"), false),
            Err(Refused::NotPublic(ip("192.168.1.1")))
        );
        assert_eq!(
            check(&url("https://[::1]:8443/x"), false),
            Err(Refused::NotPublic(ip("::1")))
        );
        // IPA is plain http to ip:port.
        let ipa = InboxLocation::parse("IPA", "8.8.8.8:9000").unwrap();
        assert!(matches!(check(&ipa, false), Err(Refused::NotHttps(_))));
        // The development setting lets all of them through.
        assert!(check(&url("http://127.0.0.1:8080/x"), true).is_ok());
        assert!(check(&ipa, true).is_ok());
    }
}
