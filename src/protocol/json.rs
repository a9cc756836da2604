//! A strict reader for the flat JSON objects of fio_dm: the envelope, the
//! plaintext and the data object. Duplicate keys are rejected (parsers
//! disagree on which copy wins, so a duplicate could make a signed object
//! mean two things); every value must be a string.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::error::{ErrorKind, ProtocolError};

/// A JSON object whose values are all strings, keys unique, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatObject(pub Vec<(String, String)>);

/// Why a flat object was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlatError {
    /// Not JSON, not an object, or trailing data.
    Syntax,
    /// A key appears twice.
    DuplicateKey(String),
    /// A value is not a string (the key is given).
    NotAString(String),
}

/// A refused flat object is a malformed message, naming the key at fault.
impl From<FlatError> for ProtocolError {
    fn from(e: FlatError) -> Self {
        match e {
            FlatError::Syntax => ProtocolError::new(ErrorKind::MalformedMessage),
            FlatError::DuplicateKey(k) | FlatError::NotAString(k) => {
                ProtocolError::at(ErrorKind::MalformedMessage, &k, None)
            }
        }
    }
}

impl FlatObject {
    pub fn parse(text: &[u8]) -> Result<Self, FlatError> {
        let mut de = serde_json::Deserializer::from_slice(text);
        let obj = match FlatObject::deserialize(&mut de) {
            Ok(obj) => obj,
            Err(e) => {
                // The visitor reports its own errors as custom messages.
                let msg = e.to_string();
                return Err(if let Some(k) = msg.strip_prefix("duplicate key ") {
                    FlatError::DuplicateKey(k.split(" at line").next().unwrap_or(k).to_string())
                } else if let Some(k) = msg.strip_prefix("not a string ") {
                    FlatError::NotAString(k.split(" at line").next().unwrap_or(k).to_string())
                } else {
                    FlatError::Syntax
                });
            }
        };
        de.end().map_err(|_| FlatError::Syntax)?;
        Ok(obj)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl<'de> Deserialize<'de> for FlatObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FlatObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FlatObject, A::Error> {
                let mut out: Vec<(String, String)> = Vec::with_capacity(8);
                while let Some(key) = map.next_key::<String>()? {
                    // Objects here have at most a few dozen keys: a scan beats hashing.
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!("duplicate key {key}")));
                    }
                    match map.next_value::<StringOnly>()?.0 {
                        Some(value) => out.push((key, value)),
                        None => return Err(de::Error::custom(format!("not a string {key}"))),
                    }
                }
                Ok(FlatObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A JSON value read as `Some(string)`, or `None` for any other type (which
/// is consumed without being built).
struct StringOnly(Option<String>);

impl<'de> Deserialize<'de> for StringOnly {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringOnly;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringOnly, E> {
                Ok(StringOnly(Some(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<StringOnly, E> {
                Ok(StringOnly(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<StringOnly, E> {
                Ok(StringOnly(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StringOnly, E> {
                Ok(StringOnly(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StringOnly, E> {
                Ok(StringOnly(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<StringOnly, E> {
                Ok(StringOnly(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StringOnly, E> {
                Ok(StringOnly(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StringOnly, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(StringOnly(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringOnly, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(StringOnly(None))
            }
        }
        d.deserialize_any(V)
    }
}
