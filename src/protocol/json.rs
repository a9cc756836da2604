//! A strict reader for the flat JSON objects of fio_dm: the envelope, the
//! plaintext and the data object. Duplicate keys are rejected (parsers
//! disagree on which copy wins, so a duplicate could make a signed object
//! mean two things); every value must be a string.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

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
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(de::Error::custom(format!("duplicate key {key}")));
                    }
                    let value: serde_json::Value = map.next_value()?;
                    match value {
                        serde_json::Value::String(s) => out.push((key, s)),
                        _ => return Err(de::Error::custom(format!("not a string {key}"))),
                    }
                }
                Ok(FlatObject(out))
            }
        }
        d.deserialize_map(V)
    }
}
