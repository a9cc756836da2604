//! FIO addresses (handles) and inbox locations.

use std::fmt;
use std::net::SocketAddr;

use super::error::{ErrorKind, ProtocolError};

/// A FIO address `name@domain`, lower-cased (the chain lower-cases before it
/// compares). Chain rule: 3–64 characters, one `@` with a non-empty name
/// before it; name and domain of `[a-z0-9-]` without a leading or trailing
/// `-`; the domain at most 62 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct FioAddress(String);

impl FioAddress {
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.to_ascii_lowercase();
        if !(3..=64).contains(&lower.len()) {
            return None;
        }
        let (name, domain) = lower.split_once('@')?;
        let part_ok = |p: &str| {
            !p.is_empty()
                && !p.starts_with('-')
                && !p.ends_with('-')
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        (part_ok(name) && part_ok(domain) && domain.len() <= 62).then_some(FioAddress(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FioAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `return_address_type` values, and the FIB token codes an inbox is
/// registered under on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InboxKind {
    /// `URL`: an http or https URL of an inbox.
    Url,
    /// `IPA`: `ip:port`.
    Ipa,
}

impl InboxKind {
    pub fn code(self) -> &'static str {
        match self {
            InboxKind::Url => "URL",
            InboxKind::Ipa => "IPA",
        }
    }
}

/// Where a wallet's inbox is: what `return_address`/`return_address_type`
/// carry and what FIB/URL or FIB/IPA holds on chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InboxLocation {
    pub kind: InboxKind,
    pub address: String,
}

/// The chain's limit on a public address, which an inbox location must fit.
pub const MAX_INBOX_ADDRESS_LEN: usize = 128;

impl InboxLocation {
    /// Validates a `(return_address_type, return_address)` pair. OA3 (onion)
    /// and any other type are "Unsupported return address type".
    pub fn parse(kind: &str, address: &str) -> Result<Self, ProtocolError> {
        let kind = match kind {
            "URL" => InboxKind::Url,
            "IPA" => InboxKind::Ipa,
            other => {
                return Err(ProtocolError::with_value(
                    ErrorKind::InvalidReturnAddressType,
                    other,
                ))
            }
        };
        let bad = || ProtocolError::with_value(ErrorKind::InvalidReturnAddress, address);
        if address.is_empty() || address.len() > MAX_INBOX_ADDRESS_LEN {
            return Err(bad());
        }
        match kind {
            InboxKind::Url => {
                let url = url::Url::parse(address).map_err(|_| bad())?;
                if !matches!(url.scheme(), "http" | "https")
                    || url.host().is_none()
                    || address.contains(' ')
                {
                    return Err(bad());
                }
            }
            InboxKind::Ipa => {
                address.parse::<SocketAddr>().map_err(|_| bad())?;
            }
        }
        Ok(InboxLocation {
            kind,
            address: address.to_string(),
        })
    }

    /// The URL a sender posts envelopes to.
    pub fn submit_url(&self) -> String {
        match self.kind {
            InboxKind::Url => self.address.clone(),
            InboxKind::Ipa => format!("http://{}/", self.address),
        }
    }
}
