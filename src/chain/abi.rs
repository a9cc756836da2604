//! EOSIO ABI binary packing, the subset FIO transactions use: fixed-width
//! little-endian integers, LEB128 `varuint32`, length-prefixed strings and
//! bytes, and `name`s. The reader is strict: truncation, overlong varints,
//! invalid UTF-8 and trailing bytes are errors, never panics.

use super::name::Name;

/// Why bytes could not be packed or unpacked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AbiError {
    #[error("invalid name {name:?}: {why}")]
    InvalidName { name: String, why: String },
    #[error("truncated: {field} needs more bytes")]
    Truncated { field: &'static str },
    #[error("{field}: varuint32 is longer than 5 bytes or above 2^32-1")]
    BadVarint { field: &'static str },
    #[error("{field}: not valid UTF-8")]
    BadUtf8 { field: &'static str },
    #[error("{count} bytes left over after the last field")]
    TrailingBytes { count: usize },
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
}

/// Appends packed values to a buffer.
#[derive(Default, Debug)]
pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn varuint32(&mut self, mut v: u32) -> &mut Self {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.bytes.push(byte);
                return self;
            }
            self.bytes.push(byte | 0x80);
        }
    }
    pub fn name(&mut self, n: Name) -> &mut Self {
        self.bytes.extend_from_slice(&n.0.to_le_bytes());
        self
    }
    /// Length-prefixed bytes. Lengths above u32 cannot be packed; FIO's
    /// limits are far below, and callers bound their inputs.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.varuint32(u32::try_from(b.len()).unwrap_or(u32::MAX));
        self.bytes.extend_from_slice(b);
        self
    }
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }
}

/// Reads packed values from a slice.
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], AbiError> {
        if self.rest.len() < n {
            return Err(AbiError::Truncated { field });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], AbiError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, AbiError> {
        Ok(self.take(1, field)?[0])
    }
    pub fn u16(&mut self, field: &'static str) -> Result<u16, AbiError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    pub fn u32(&mut self, field: &'static str) -> Result<u32, AbiError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    pub fn i64(&mut self, field: &'static str) -> Result<i64, AbiError> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }
    pub fn name(&mut self, field: &'static str) -> Result<Name, AbiError> {
        Ok(Name(u64::from_le_bytes(self.array(field)?)))
    }
    pub fn varuint32(&mut self, field: &'static str) -> Result<u32, AbiError> {
        let mut value: u64 = 0;
        for i in 0..5 {
            let byte = self.u8(field)?;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                // A last byte of 0 after the first: more bytes than the
                // value needs. Refused, so one value has one encoding.
                if byte == 0 && i > 0 {
                    return Err(AbiError::BadVarint { field });
                }
                return u32::try_from(value).map_err(|_| AbiError::BadVarint { field });
            }
        }
        Err(AbiError::BadVarint { field })
    }
    pub fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], AbiError> {
        let n = self.varuint32(field)? as usize;
        self.take(n, field)
    }
    pub fn string(&mut self, field: &'static str) -> Result<String, AbiError> {
        let b = self.bytes(field)?;
        String::from_utf8(b.to_vec()).map_err(|_| AbiError::BadUtf8 { field })
    }
    /// Ends reading: anything left is an error.
    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub fn finish(self) -> Result<(), AbiError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(AbiError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }
}

/// A value with an ABI binary form: the fields of FIP-3's action structs.
pub trait AbiField: Sized {
    fn write(&self, w: &mut Writer);
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, AbiError>;
}

impl AbiField for String {
    fn write(&self, w: &mut Writer) {
        w.string(self);
    }
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, AbiError> {
        r.string(field)
    }
}

impl AbiField for i64 {
    fn write(&self, w: &mut Writer) {
        w.i64(*self);
    }
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, AbiError> {
        r.i64(field)
    }
}

impl AbiField for Name {
    fn write(&self, w: &mut Writer) {
        w.name(*self);
    }
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, AbiError> {
        r.name(field)
    }
}

/// `T[]`: varuint32 count, then the items. The count is checked against the
/// bytes left (each item takes at least one), so a forged count cannot make
/// the reader allocate.
impl<T: AbiField> AbiField for Vec<T> {
    fn write(&self, w: &mut Writer) {
        w.varuint32(self.len() as u32);
        for item in self {
            item.write(w);
        }
    }
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Self, AbiError> {
        let n = r.varuint32(field)? as usize;
        if n > r.remaining() {
            return Err(AbiError::Truncated { field });
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(T::read(r, field)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varuint32_round_trips_and_refuses_overlong_forms() {
        for v in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut w = Writer::new();
            w.varuint32(v);
            let mut r = Reader::new(&w.bytes);
            assert_eq!(r.varuint32("v").unwrap(), v);
            r.finish().unwrap();
        }
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).varuint32("v"),
            Err(AbiError::BadVarint { field: "v" })
        );
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x7f]).varuint32("v"),
            Err(AbiError::BadVarint { field: "v" })
        );
        assert_eq!(
            Reader::new(&[0x80]).varuint32("v"),
            Err(AbiError::Truncated { field: "v" })
        );
        // A value in more bytes than it needs (found by the fio_content
        // fuzz target): one value, one encoding.
        for overlong in [&[0x80, 0x00][..], &[0xb3, 0x00], &[0x81, 0x80, 0x00]] {
            assert_eq!(
                Reader::new(overlong).varuint32("v"),
                Err(AbiError::BadVarint { field: "v" }),
                "{overlong:?}"
            );
        }
    }

    #[test]
    fn strings_are_length_prefixed_utf8() {
        let mut w = Writer::new();
        w.string("alice@wallet");
        assert_eq!(hex::encode(&w.bytes), "0c616c6963654077616c6c6574");
        assert_eq!(
            Reader::new(&[2, 0xff, 0xfe]).string("s"),
            Err(AbiError::BadUtf8 { field: "s" })
        );
        assert_eq!(
            Reader::new(&[5, b'a']).string("s"),
            Err(AbiError::Truncated { field: "s" })
        );
    }
}
