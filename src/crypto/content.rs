//! The encrypted `content` of FIO requests and OBT records, byte-identical to
//! fiojs `createSharedCipher(...).encrypt(type, obj)` and fiosdk
//! `getCipherContent`:
//!
//! content = base64(checkEncrypt(getSharedSecret(own, peer), abi_pack(type, obj)))
//!
//! ABI packing (eosjs): fields in ABI order; `string` = varuint32 length ‖
//! UTF-8 bytes; `string?` = 0x00 for null, else 0x01 ‖ string. `""` and null
//! differ. Unknown keys are ignored; a missing required field is an error.
//! Unpacking is strict: bad UTF-8, optional flags other than 0/1, reads past
//! the end and trailing bytes are all rejected.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::check::{check_decrypt_any, check_encrypt, check_encrypt_with_iv, IV_LEN};
use super::{CryptoError, DecryptError, PrivateKey, PublicKey, SharedSecret};

struct Field {
    name: &'static str,
    optional: bool,
}

const fn req(name: &'static str) -> Field {
    Field {
        name,
        optional: false,
    }
}
const fn opt(name: &'static str) -> Field {
    Field {
        name,
        optional: true,
    }
}

const NEW_FUNDS_FIELDS: &[Field] = &[
    req("payee_public_address"),
    req("amount"),
    req("chain_code"),
    req("token_code"),
    opt("memo"),
    opt("hash"),
    opt("offline_url"),
];

const RECORD_OBT_DATA_FIELDS: &[Field] = &[
    req("payer_public_address"),
    req("payee_public_address"),
    req("amount"),
    req("chain_code"),
    req("token_code"),
    req("status"),
    req("obt_id"),
    opt("memo"),
    opt("hash"),
    opt("offline_url"),
];

/// FIP-3 `privrecsend` content: `record_obt_data_content` and the request it
/// answers (absent for a payment that answers no request).
const PRIV_RECORD_SEND_FIELDS: &[Field] = &[
    req("payer_public_address"),
    req("payee_public_address"),
    req("amount"),
    req("chain_code"),
    req("token_code"),
    req("status"),
    req("obt_id"),
    opt("memo"),
    opt("hash"),
    opt("offline_url"),
    opt("fio_request_id"),
];

/// FIP-3 `addfriend` content: who the friend is, so the list can be
/// restored from the key alone.
const FRIEND_FIELDS: &[Field] = &[req("fio_address"), req("public_key")];

/// The ABI struct a content blob packs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// `new_funds_content`: the content of a funds request.
    NewFundsContent,
    /// `record_obt_data_content`: the content of an OBT (payment) record.
    RecordObtDataContent,
    /// `priv_record_send_content`: FIP-3 send action (payment or rejection).
    PrivRecordSendContent,
    /// `friend_content`: FIP-3 friend-list backup entry.
    FriendContent,
}

impl ContentType {
    pub fn name(self) -> &'static str {
        match self {
            ContentType::NewFundsContent => "new_funds_content",
            ContentType::RecordObtDataContent => "record_obt_data_content",
            ContentType::PrivRecordSendContent => "priv_record_send_content",
            ContentType::FriendContent => "friend_content",
        }
    }

    pub fn parse(name: &str) -> Result<Self, CryptoError> {
        match name {
            "new_funds_content" => Ok(ContentType::NewFundsContent),
            "record_obt_data_content" => Ok(ContentType::RecordObtDataContent),
            "priv_record_send_content" => Ok(ContentType::PrivRecordSendContent),
            "friend_content" => Ok(ContentType::FriendContent),
            other => Err(CryptoError::InvalidContent(format!(
                "unknown content type {other:?}: expected new_funds_content, record_obt_data_content, priv_record_send_content or friend_content"
            ))),
        }
    }

    fn fields(self) -> &'static [Field] {
        match self {
            ContentType::NewFundsContent => NEW_FUNDS_FIELDS,
            ContentType::RecordObtDataContent => RECORD_OBT_DATA_FIELDS,
            ContentType::PrivRecordSendContent => PRIV_RECORD_SEND_FIELDS,
            ContentType::FriendContent => FRIEND_FIELDS,
        }
    }

    /// Packs field values given in ABI order (`None` = null).
    pub fn pack_values(self, values: &[Option<&str>]) -> Result<Vec<u8>, CryptoError> {
        let fields = self.fields();
        if values.len() != fields.len() {
            return Err(CryptoError::InvalidContent(format!(
                "{} has {} fields, got {}",
                self.name(),
                fields.len(),
                values.len()
            )));
        }
        let mut out = Vec::with_capacity(64);
        for (field, value) in fields.iter().zip(values) {
            match (value, field.optional) {
                (Some(v), false) => push_string(&mut out, v),
                (Some(v), true) => {
                    out.push(1);
                    push_string(&mut out, v);
                }
                (None, true) => out.push(0),
                (None, false) => {
                    return Err(CryptoError::InvalidContent(format!(
                        "missing {}.{}",
                        self.name(),
                        field.name
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Unpacks into field values in ABI order.
    pub fn unpack_values(self, bytes: &[u8]) -> Result<Vec<Option<String>>, CryptoError> {
        self.unpack_values_with(bytes, false)
    }

    /// [`unpack_values`](Self::unpack_values) that also accepts the zero
    /// bytes of FIP-3 content profile 2's padding after the struct.
    pub fn unpack_padded_values(self, bytes: &[u8]) -> Result<Vec<Option<String>>, CryptoError> {
        self.unpack_values_with(bytes, true)
    }

    fn unpack_values_with(
        self,
        bytes: &[u8],
        padded: bool,
    ) -> Result<Vec<Option<String>>, CryptoError> {
        let mut reader = Reader { bytes, pos: 0 };
        let mut values = Vec::with_capacity(self.fields().len());
        for field in self.fields() {
            let present = if field.optional {
                match reader.byte(field.name)? {
                    0 => false,
                    1 => true,
                    flag => {
                        return Err(CryptoError::InvalidContent(format!(
                            "{}: optional flag must be 0 or 1, got {flag}",
                            field.name
                        )))
                    }
                }
            } else {
                true
            };
            values.push(if present {
                Some(reader.string(field.name)?)
            } else {
                None
            });
        }
        let rest = &bytes[reader.pos..];
        let padding = padded && rest.iter().all(|&b| b == 0);
        if !(rest.is_empty() || padding) {
            return Err(CryptoError::InvalidContent(format!(
                "{} trailing bytes after {}",
                bytes.len() - reader.pos,
                self.name()
            )));
        }
        Ok(values)
    }

    /// Packs a JSON object. Optional fields may be absent or null; values must be strings.
    pub fn pack_json(self, object: &Value) -> Result<Vec<u8>, CryptoError> {
        let map = object.as_object().ok_or_else(|| {
            CryptoError::InvalidContent(format!("{} must be a JSON object", self.name()))
        })?;
        let mut values = Vec::with_capacity(self.fields().len());
        for field in self.fields() {
            values.push(match map.get(field.name) {
                None | Some(Value::Null) if field.optional => None,
                None => {
                    return Err(CryptoError::InvalidContent(format!(
                        "missing {}.{}",
                        self.name(),
                        field.name
                    )))
                }
                Some(Value::String(s)) => Some(s.as_str()),
                Some(other) => {
                    return Err(CryptoError::InvalidContent(format!(
                        "{}.{} must be a string{}, got {other}",
                        self.name(),
                        field.name,
                        if field.optional { " or null" } else { "" }
                    )))
                }
            });
        }
        self.pack_values(&values)
    }

    /// Unpacks into a JSON object with every field, in ABI order (null for absent optionals).
    pub fn unpack_json(self, bytes: &[u8]) -> Result<Value, CryptoError> {
        let values = self.unpack_values(bytes)?;
        let mut map = Map::new();
        for (field, value) in self.fields().iter().zip(values) {
            map.insert(
                field.name.to_string(),
                value.map(Value::String).unwrap_or(Value::Null),
            );
        }
        Ok(Value::Object(map))
    }
}

fn push_string(out: &mut Vec<u8>, s: &str) {
    let mut len = s.len() as u32;
    loop {
        let mut b = (len & 0x7f) as u8;
        len >>= 7;
        if len != 0 {
            b |= 0x80;
        }
        out.push(b);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self, field: &str) -> Result<u8, CryptoError> {
        let b = *self.bytes.get(self.pos).ok_or_else(|| {
            CryptoError::InvalidContent(format!("{field}: read past end of buffer"))
        })?;
        self.pos += 1;
        Ok(b)
    }

    fn varuint32(&mut self, field: &str) -> Result<u32, CryptoError> {
        let mut value: u64 = 0;
        for shift in (0..35).step_by(7) {
            let b = self.byte(field)?;
            value |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                // More bytes than the value needs: one content, one encoding.
                if b == 0 && shift > 0 {
                    return Err(CryptoError::InvalidContent(format!(
                        "{field}: varuint32 in more bytes than it needs"
                    )));
                }
                return u32::try_from(value).map_err(|_| {
                    CryptoError::InvalidContent(format!("{field}: length overflows varuint32"))
                });
            }
        }
        Err(CryptoError::InvalidContent(format!(
            "{field}: varuint32 longer than 5 bytes"
        )))
    }

    fn string(&mut self, field: &str) -> Result<String, CryptoError> {
        let len = self.varuint32(field)? as usize;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| {
                CryptoError::InvalidContent(format!("{field}: read past end of buffer"))
            })?;
        let s = std::str::from_utf8(&self.bytes[self.pos..end])
            .map_err(|_| CryptoError::InvalidContent(format!("{field}: not valid UTF-8")))?;
        self.pos = end;
        Ok(s.to_string())
    }
}

/// A typed content struct.
pub trait FioContent: Sized {
    const TYPE: ContentType;
    /// Field values in ABI order.
    fn values(&self) -> Vec<Option<&str>>;
    /// From field values in ABI order (as produced by [`ContentType::unpack_values`]).
    fn from_values(values: Vec<Option<String>>) -> Self;

    fn pack(&self) -> Vec<u8> {
        // Typed structs always have their required fields.
        Self::TYPE
            .pack_values(&self.values())
            .expect("typed content has every required field")
    }

    fn unpack(bytes: &[u8]) -> Result<Self, CryptoError> {
        Self::TYPE.unpack_values(bytes).map(Self::from_values)
    }

    /// Packed and padded as FIP-3 content profile 2 ([`pad_fip3`]).
    fn pack_padded(&self) -> Vec<u8> {
        pad_fip3(self.pack())
    }

    /// Unpacks profile 2 (padded) or profile 1 (not padded) content.
    fn unpack_padded(bytes: &[u8]) -> Result<Self, CryptoError> {
        Self::TYPE
            .unpack_padded_values(bytes)
            .map(Self::from_values)
    }
}

/// The sizes FIP-3 content profile 2 pads a packed struct to with zero
/// bytes (docs/protocol.md §3.3). Each is 16 below a power of two, so the
/// ciphertext is exactly that power of two: a chain observer sees a size
/// class, not whether a payment was made or rejected, nor the length of
/// its amount, addresses or memo. A larger struct is not padded.
pub const FIP3_CONTENT_BUCKETS: [usize; 5] = [240, 496, 1008, 2032, 4080];

/// Pads a packed struct to the smallest [`FIP3_CONTENT_BUCKETS`] size that
/// holds it.
pub fn pad_fip3(mut packed: Vec<u8>) -> Vec<u8> {
    if let Some(&size) = FIP3_CONTENT_BUCKETS.iter().find(|&&b| b >= packed.len()) {
        packed.resize(size, 0);
    }
    packed
}

/// `new_funds_content`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFundsContent {
    pub payee_public_address: String,
    pub amount: String,
    pub chain_code: String,
    pub token_code: String,
    #[serde(default)]
    pub memo: Option<String>,
    #[serde(default)]
    pub hash: Option<String>,
    #[serde(default)]
    pub offline_url: Option<String>,
}

impl FioContent for NewFundsContent {
    const TYPE: ContentType = ContentType::NewFundsContent;
    fn values(&self) -> Vec<Option<&str>> {
        vec![
            Some(&self.payee_public_address),
            Some(&self.amount),
            Some(&self.chain_code),
            Some(&self.token_code),
            self.memo.as_deref(),
            self.hash.as_deref(),
            self.offline_url.as_deref(),
        ]
    }
    fn from_values(v: Vec<Option<String>>) -> Self {
        let mut v = v.into_iter();
        let mut next = || v.next().flatten();
        Self {
            payee_public_address: next().unwrap_or_default(),
            amount: next().unwrap_or_default(),
            chain_code: next().unwrap_or_default(),
            token_code: next().unwrap_or_default(),
            memo: next(),
            hash: next(),
            offline_url: next(),
        }
    }
}

/// `record_obt_data_content`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordObtDataContent {
    pub payer_public_address: String,
    pub payee_public_address: String,
    pub amount: String,
    pub chain_code: String,
    pub token_code: String,
    pub status: String,
    pub obt_id: String,
    #[serde(default)]
    pub memo: Option<String>,
    #[serde(default)]
    pub hash: Option<String>,
    #[serde(default)]
    pub offline_url: Option<String>,
}

impl FioContent for RecordObtDataContent {
    const TYPE: ContentType = ContentType::RecordObtDataContent;
    fn values(&self) -> Vec<Option<&str>> {
        vec![
            Some(&self.payer_public_address),
            Some(&self.payee_public_address),
            Some(&self.amount),
            Some(&self.chain_code),
            Some(&self.token_code),
            Some(&self.status),
            Some(&self.obt_id),
            self.memo.as_deref(),
            self.hash.as_deref(),
            self.offline_url.as_deref(),
        ]
    }
    fn from_values(v: Vec<Option<String>>) -> Self {
        let mut v = v.into_iter();
        let mut next = || v.next().flatten();
        Self {
            payer_public_address: next().unwrap_or_default(),
            payee_public_address: next().unwrap_or_default(),
            amount: next().unwrap_or_default(),
            chain_code: next().unwrap_or_default(),
            token_code: next().unwrap_or_default(),
            status: next().unwrap_or_default(),
            obt_id: next().unwrap_or_default(),
            memo: next(),
            hash: next(),
            offline_url: next(),
        }
    }
}

/// FIP-3 `priv_record_send_content`: what a payer records with `privrecsend`,
/// a payment (`status` "sent_to_blockchain") or a rejection ("rejected").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivRecordSendContent {
    #[serde(flatten)]
    pub record: RecordObtDataContent,
    /// The FIO request this answers, when it answers one.
    #[serde(default)]
    pub fio_request_id: Option<String>,
}

impl FioContent for PrivRecordSendContent {
    const TYPE: ContentType = ContentType::PrivRecordSendContent;
    fn values(&self) -> Vec<Option<&str>> {
        let mut v = self.record.values();
        v.push(self.fio_request_id.as_deref());
        v
    }
    fn from_values(mut v: Vec<Option<String>>) -> Self {
        let fio_request_id = if v.len() == PRIV_RECORD_SEND_FIELDS.len() {
            v.pop().flatten()
        } else {
            None
        };
        Self {
            record: RecordObtDataContent::from_values(v),
            fio_request_id,
        }
    }
}

/// FIP-3 `friend_content`: one friend-list entry as its owner stores it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FriendContent {
    pub fio_address: String,
    pub public_key: String,
}

impl FioContent for FriendContent {
    const TYPE: ContentType = ContentType::FriendContent;
    fn values(&self) -> Vec<Option<&str>> {
        vec![Some(&self.fio_address), Some(&self.public_key)]
    }
    fn from_values(v: Vec<Option<String>>) -> Self {
        let mut v = v.into_iter();
        let mut next = || v.next().flatten().unwrap_or_default();
        Self {
            fio_address: next(),
            public_key: next(),
        }
    }
}

/// Encrypts FIP-3 content (content profile 2: padded, [`pad_fip3`]) under
/// an already derived shared secret (FIP-3 wallets cache one per friend
/// instead of repeating the ECDH).
pub fn encrypt_fip3_content<T: FioContent>(secret: &SharedSecret, content: &T) -> String {
    BASE64.encode(check_encrypt(secret.as_bytes(), &content.pack_padded()))
}

/// As [`encrypt_fip3_content`] with a fixed IV, for test vectors only.
pub fn encrypt_fip3_content_with_iv<T: FioContent>(
    secret: &SharedSecret,
    content: &T,
    iv: &[u8; IV_LEN],
) -> String {
    BASE64.encode(check_encrypt_with_iv(
        secret.as_bytes(),
        &content.pack_padded(),
        iv,
    ))
}

/// Decrypts FIP-3 content, padded (profile 2) or not (profile 1), with the
/// first of `secrets` whose MAC matches (a pair's fiojs and padded ECDH
/// forms). Any failure is the one [`DecryptError`].
pub fn decrypt_fip3_content<T: FioContent>(
    secrets: &[SharedSecret],
    content: &str,
) -> Result<T, DecryptError> {
    let data = BASE64.decode(content.trim()).map_err(|_| DecryptError)?;
    let packed = check_decrypt_any(secrets, &data)?;
    T::unpack_padded(&packed).map_err(|_| DecryptError)
}

/// Encrypts typed content from `sender` to `recipient`: base64 text for the chain.
pub fn encrypt_content<T: FioContent>(
    sender: &PrivateKey,
    recipient: &PublicKey,
    content: &T,
) -> String {
    let secret = sender.shared_secret(recipient);
    BASE64.encode(check_encrypt(secret.as_bytes(), &content.pack()))
}

/// As [`encrypt_content`] with a fixed IV, for test vectors only.
pub fn encrypt_content_with_iv<T: FioContent>(
    sender: &PrivateKey,
    recipient: &PublicKey,
    content: &T,
    iv: &[u8; IV_LEN],
) -> String {
    let secret = sender.shared_secret(recipient);
    BASE64.encode(check_encrypt_with_iv(
        secret.as_bytes(),
        &content.pack(),
        iv,
    ))
}

/// Decrypts typed content with our key and the counterparty's public key.
/// Tries the fiojs and the padded ECDH forms. Any failure (base64, MAC,
/// padding, ABI) is the one [`DecryptError`].
pub fn decrypt_content<T: FioContent>(
    own: &PrivateKey,
    counterparty: &PublicKey,
    content: &str,
) -> Result<T, DecryptError> {
    let packed = decrypt_packed(own, counterparty, content)?;
    T::unpack(&packed).map_err(|_| DecryptError)
}

/// Encrypts a JSON object as content of type `ty`.
pub fn encrypt_content_json(
    ty: ContentType,
    sender: &PrivateKey,
    recipient: &PublicKey,
    object: &Value,
) -> Result<String, CryptoError> {
    let packed = ty.pack_json(object)?;
    let secret = sender.shared_secret(recipient);
    Ok(BASE64.encode(check_encrypt(secret.as_bytes(), &packed)))
}

/// Decrypts content of type `ty` into a JSON object.
pub fn decrypt_content_json(
    ty: ContentType,
    own: &PrivateKey,
    counterparty: &PublicKey,
    content: &str,
) -> Result<Value, DecryptError> {
    let packed = decrypt_packed(own, counterparty, content)?;
    ty.unpack_json(&packed).map_err(|_| DecryptError)
}

fn decrypt_packed(
    own: &PrivateKey,
    counterparty: &PublicKey,
    content: &str,
) -> Result<Vec<u8>, DecryptError> {
    let data = BASE64.decode(content.trim()).map_err(|_| DecryptError)?;
    check_decrypt_any(&own.shared_secret_candidates(counterparty), &data)
}
