//! Rate limits: token buckets keyed by client address or inbox.
//!
//! A rate "N/unit" lets a key spend N requests at once and refills N per
//! unit, evenly. A refused request learns how long until one more token is
//! there, which becomes the `Retry-After` header.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most `burst` at once, refilled at `burst` per `per`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub burst: u32,
    pub per: Duration,
}

impl Rate {
    fn per_second(&self) -> f64 {
        f64::from(self.burst) / self.per.as_secs_f64()
    }

    /// A budget of units other than requests (bytes): `burst` at once,
    /// refilled at `per_second`.
    pub fn budget(per_second: u32, burst: u32) -> Rate {
        Rate {
            burst,
            per: Duration::from_secs_f64(f64::from(burst) / f64::from(per_second.max(1))),
        }
    }
}

/// A size: `65536`, `64KiB`, `4MiB`.
pub fn parse_size(s: &str) -> Result<u32, String> {
    let bad = || format!("invalid size {s:?}: expected N, NKiB or NMiB");
    let t = s.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        _ => return Err(bad()),
    };
    u32::try_from(n * factor)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(bad)
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// `100/s`, `30/min`, `60/h`.
    fn from_str(s: &str) -> Result<Rate, String> {
        let bad = || format!("invalid rate {s:?}: expected N/s, N/min or N/h (or \"off\")");
        let (n, unit) = s.split_once('/').ok_or_else(bad)?;
        let burst: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "min" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if burst == 0 {
            return Err(bad());
        }
        Ok(Rate { burst, per })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.burst)
    }
}

/// A rate, or `off` for none (a command-line value).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateOrOff(pub Option<Rate>);

impl std::str::FromStr for RateOrOff {
    type Err = String;

    fn from_str(s: &str) -> Result<RateOrOff, String> {
        if s.trim() == "off" {
            Ok(RateOrOff(None))
        } else {
            s.parse().map(|r| RateOrOff(Some(r)))
        }
    }
}

/// The relay's limits; `None` means unlimited.
#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    /// Every request from one client address (IPv6: its /64).
    pub ip: Option<Rate>,
    /// Inbox creations from one client address.
    pub ip_create: Option<Rate>,
    /// Submits with id_token NEW (unsolicited first contact) from one address.
    pub ip_new: Option<Rate>,
    /// Submits to one inbox.
    pub inbox: Option<Rate>,
    /// Submits with id_token NEW to one inbox.
    pub inbox_new: Option<Rate>,
    /// Envelope bytes submitted from one client address (a storage budget:
    /// a burst, then a sustained rate; duplicates count too).
    pub ip_bytes: Option<Rate>,
}

impl Default for RateLimits {
    fn default() -> Self {
        let rate = |s: &str| Some(s.parse().expect("default rates parse"));
        RateLimits {
            ip: rate("200/s"),
            ip_create: rate("60/h"),
            ip_new: rate("30/min"),
            inbox: rate("600/min"),
            inbox_new: rate("20/min"),
            ip_bytes: Some(Rate::budget(DEFAULT_STORE_RATE, DEFAULT_STORE_BURST)),
        }
    }
}

impl RateLimits {
    pub fn off() -> Self {
        RateLimits {
            ip: None,
            ip_create: None,
            ip_new: None,
            inbox: None,
            inbox_new: None,
            ip_bytes: None,
        }
    }
}

/// The default storage budget per client address: 64 KiB/s sustained
/// after a 4 MiB burst (one phone's traffic is a few KiB a day).
pub const DEFAULT_STORE_RATE: u32 = 64 << 10;
pub const DEFAULT_STORE_BURST: u32 = 4 << 20;

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

const SHARDS: usize = 16;
/// A shard is swept of full (idle) buckets when it grows past this; after a
/// sweep the threshold becomes twice what is left, so sweeping stays
/// amortized O(1) per new key even when nothing can be swept.
const SWEEP_AT: usize = 4096;

struct Shard<K> {
    buckets: HashMap<K, Bucket>,
    sweep_at: usize,
}

/// Token buckets for one kind of key.
pub struct Limiter<K> {
    rate: Option<Rate>,
    shards: Vec<Mutex<Shard<K>>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(rate: Option<Rate>) -> Self {
        Limiter {
            rate,
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        buckets: HashMap::new(),
                        sweep_at: SWEEP_AT,
                    })
                })
                .collect(),
        }
    }

    /// Takes one token for `key` at `now`, or says how long to wait.
    pub fn check_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        self.take_at(key, 1, now)
    }

    /// Takes `n` tokens for `key` (bytes, for a budget), or says how long
    /// until they are there.
    pub fn take(&self, key: &K, n: u32) -> Result<(), Duration> {
        self.take_at(key, n, Instant::now())
    }

    fn take_at(&self, key: &K, n: u32, now: Instant) -> Result<(), Duration> {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let (capacity, refill) = (f64::from(rate.burst), rate.per_second());
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let shard = &self.shards[hasher.finish() as usize % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        if shard.buckets.len() >= shard.sweep_at && !shard.buckets.contains_key(key) {
            // A bucket that has refilled completely carries no state.
            shard.buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * refill < capacity
            });
            shard.sweep_at = (shard.buckets.len() * 2).max(SWEEP_AT);
        }
        let bucket = shard.buckets.entry(key.clone()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * refill).min(capacity);
        bucket.at = now;
        let n = f64::from(n);
        if bucket.tokens >= n {
            bucket.tokens -= n;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((n - bucket.tokens) / refill))
        }
    }

    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// Buckets currently held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).buckets.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The key a client address is limited under: IPv4 as is, IPv6 by its /64
/// (one host usually holds a whole /64).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// Every limiter the relay keeps.
pub struct Limiters {
    pub ip: Limiter<IpAddr>,
    pub ip_create: Limiter<IpAddr>,
    pub ip_new: Limiter<IpAddr>,
    pub inbox: Limiter<String>,
    pub inbox_new: Limiter<String>,
    pub ip_bytes: Limiter<IpAddr>,
}

impl Limiters {
    pub fn new(limits: &RateLimits) -> Self {
        Limiters {
            ip: Limiter::new(limits.ip),
            ip_create: Limiter::new(limits.ip_create),
            ip_new: Limiter::new(limits.ip_new),
            inbox: Limiter::new(limits.inbox),
            inbox_new: Limiter::new(limits.inbox_new),
            ip_bytes: Limiter::new(limits.ip_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        let r: Rate = "30/min".parse().unwrap();
        assert_eq!(r.burst, 30);
        assert_eq!(r.per, Duration::from_secs(60));
        assert_eq!(r.to_string(), "30/min");
        assert_eq!("off".parse::<RateOrOff>().unwrap(), RateOrOff(None));
        assert_eq!("2/h".parse::<RateOrOff>().unwrap().0.unwrap().burst, 2);
        for bad in ["", "30", "0/s", "-1/s", "3/day", "x/s", "1.5/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills_evenly() {
        let l = Limiter::new(Some("4/s".parse().unwrap()));
        let t0 = Instant::now();
        for _ in 0..4 {
            assert_eq!(l.check_at(&"a", t0), Ok(()));
        }
        let wait = l.check_at(&"a", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.25).abs() < 1e-9, "{wait:?}");
        // Another key is not affected.
        assert_eq!(l.check_at(&"b", t0), Ok(()));
        // A quarter second later exactly one more is allowed.
        let t1 = t0 + Duration::from_millis(250);
        assert_eq!(l.check_at(&"a", t1), Ok(()));
        assert!(l.check_at(&"a", t1).is_err());
        // A long pause refills only up to the burst.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..4 {
            assert_eq!(l.check_at(&"a", t2), Ok(()));
        }
        assert!(l.check_at(&"a", t2).is_err());
    }

    #[test]
    fn no_rate_means_no_limit() {
        let l: Limiter<&str> = Limiter::new(None);
        for _ in 0..10_000 {
            assert_eq!(l.check(&"a"), Ok(()));
        }
        assert!(l.is_empty());
    }

    #[test]
    fn idle_buckets_are_swept_so_memory_stays_bounded() {
        let l = Limiter::new(Some("2/s".parse().unwrap()));
        let t0 = Instant::now();
        for i in 0..(SHARDS * SWEEP_AT * 2) as u64 {
            let _ = l.check_at(&i, t0);
        }
        let later = t0 + Duration::from_secs(5);
        for i in 0..(SHARDS * SWEEP_AT * 4) as u64 {
            let _ = l.check_at(&(u64::MAX - i), later);
        }
        // The first keys have refilled and are gone; only the new ones stay.
        assert_eq!(l.len(), SHARDS * SWEEP_AT * 4);
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
