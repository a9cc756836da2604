//! EOSIO `name`: up to 13 characters of `.12345a-z` in a u64 (5 bits per
//! character, 4 for the 13th), serialized little-endian.

use super::abi::AbiError;

const CHARMAP: &[u8; 32] = b".12345abcdefghijklmnopqrstuvwxyz";

/// An account, action or permission name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(pub u64);

fn symbol(c: u8) -> Option<u64> {
    CHARMAP.iter().position(|&m| m == c).map(|p| p as u64)
}

impl Name {
    /// Parses a name, refusing what the chain would store as another name:
    /// more than 13 characters, other characters, a 13th character beyond
    /// `j` (it has only 4 bits) and trailing dots (they vanish on the way
    /// back to text).
    pub fn parse(text: &str) -> Result<Name, AbiError> {
        let bad = |why: &str| AbiError::InvalidName {
            name: text.to_string(),
            why: why.to_string(),
        };
        let bytes = text.as_bytes();
        if bytes.len() > 13 {
            return Err(bad("longer than 13 characters"));
        }
        if bytes.last() == Some(&b'.') {
            return Err(bad("ends with a dot"));
        }
        let mut value = 0u64;
        for (i, &c) in bytes.iter().enumerate() {
            let s = symbol(c).ok_or_else(|| bad("only . 1-5 a-z are allowed"))?;
            if i < 12 {
                value |= s << (64 - 5 * (i + 1));
            } else {
                if s > 0x0f {
                    return Err(bad("the 13th character must be one of . 1-5 a-j"));
                }
                value |= s;
            }
        }
        Ok(Name(value))
    }

    /// The text form (trailing dots dropped, as EOSIO does).
    pub fn as_string(&self) -> String {
        let mut out = [b'.'; 13];
        let mut v = self.0;
        for i in (0..13).rev() {
            let (mask, shift) = if i == 12 { (0x0f, 4) } else { (0x1f, 5) };
            out[i] = CHARMAP[(v & mask) as usize];
            v >>= shift;
        }
        let text = String::from_utf8(out.to_vec()).expect("charmap is ASCII");
        text.trim_end_matches('.').to_string()
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_string())
    }
}

/// JSON form: the text, as the chain's API writes names.
impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_string())
    }
}

impl<'de> serde::Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        let text = String::deserialize(d)?;
        Name::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Name {
    type Err = AbiError;
    fn from_str(s: &str) -> Result<Name, AbiError> {
        Name::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_encode_as_the_chain_does() {
        // Little-endian hex of the u64, from fio-chain.md §3.3.
        for (text, le_hex) in [
            ("fio.address", "003056372503a85b"),
            ("addaddress", "0000c6eaa6645232"),
            ("active", "00000000a8ed3232"),
            ("ltwagbt4qpuk", "0075b5241f66788e"),
        ] {
            let n = Name::parse(text).unwrap();
            assert_eq!(hex::encode(n.0.to_le_bytes()), le_hex, "{text}");
            assert_eq!(n.as_string(), text);
        }
    }

    #[test]
    fn names_the_chain_would_change_are_refused() {
        for bad in [
            "UPPER",
            "a b",
            "toolongname.abc",
            "abc.",
            "aaaaaaaaaaaaz",
            "é",
        ] {
            assert!(Name::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Name::parse("").unwrap(), Name(0));
        assert_eq!(
            Name::parse("aaaaaaaaaaaaj").unwrap().as_string(),
            "aaaaaaaaaaaaj"
        );
    }
}
