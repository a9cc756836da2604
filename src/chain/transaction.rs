//! FIO (EOSIO) transactions: the binary layout, the signing digest, and the
//! fio.address actions FIP-24 needs (register the inbox location with
//! `addaddress`, take it back with `remaddress`, and `regaddress`).
//! Byte layouts: ../shared/research/fio-chain.md §3; vectors in
//! tests/chain_transactions.rs.

use super::abi::{AbiError, Reader, Writer};
use super::name::Name;
use crate::crypto::{sha256, PrivateKey, Signature};

/// A chain's identity, which every signature commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainId(pub [u8; 32]);

impl ChainId {
    /// FIO mainnet.
    pub const MAINNET: ChainId = ChainId(hex_literal(
        b"21dcae42c0182200e93f954a074011f9048a7624c6fe81d3c9541a614a88bd1c",
    ));
    /// FIO testnet.
    pub const TESTNET: ChainId = ChainId(hex_literal(
        b"b20901380af44ef59c5918439a1f9a41d83669020319a80574b804a5f95cbd7e",
    ));

    /// Mainnet or testnet: a chain whose nodes and relays must be https
    /// (anything else is a devnet or a private chain).
    pub fn is_public(&self) -> bool {
        *self == ChainId::MAINNET || *self == ChainId::TESTNET
    }

    pub fn parse(text: &str) -> Result<ChainId, AbiError> {
        let bytes = hex::decode(text).map_err(|_| AbiError::Invalid {
            field: "chain_id",
            why: "not hex".into(),
        })?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| AbiError::Invalid {
            field: "chain_id",
            why: "not 32 bytes".into(),
        })?;
        Ok(ChainId(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

const fn hex_literal(text: &[u8; 64]) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not lowercase hex"),
        }
    }
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(text[2 * i]) << 4) | nibble(text[2 * i + 1]);
        i += 1;
    }
    out
}

/// `actor@permission`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PermissionLevel {
    pub actor: Name,
    pub permission: Name,
}

impl PermissionLevel {
    /// `actor@active`, what every FIO action in this crate uses.
    pub fn active(actor: Name) -> Self {
        PermissionLevel {
            actor,
            permission: Name::parse("active").expect("valid name"),
        }
    }
}

/// One action: contract account, action name, authorizations, packed data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub account: Name,
    pub name: Name,
    pub authorization: Vec<PermissionLevel>,
    pub data: Vec<u8>,
}

/// A transaction without context-free actions or extensions (FIO uses none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// Seconds since the Unix epoch (chain time).
    pub expiration: u32,
    pub ref_block_num: u16,
    pub ref_block_prefix: u32,
    pub actions: Vec<Action>,
}

/// TAPOS fields from a block id: the id's first 4 bytes are the big-endian
/// block number; the prefix is bytes 8..12 read little-endian.
pub fn tapos_from_block_id(block_id: &str) -> Result<(u16, u32), AbiError> {
    let bytes = hex::decode(block_id).map_err(|_| AbiError::Invalid {
        field: "block_id",
        why: "not hex".into(),
    })?;
    if bytes.len() != 32 {
        return Err(AbiError::Invalid {
            field: "block_id",
            why: "not 32 bytes".into(),
        });
    }
    let num = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let prefix = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    Ok(((num & 0xffff) as u16, prefix))
}

impl Transaction {
    /// The packed bytes (`packed_trx`).
    pub fn pack(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u32(self.expiration)
            .u16(self.ref_block_num)
            .u32(self.ref_block_prefix)
            .varuint32(0) // max_net_usage_words
            .u8(0) // max_cpu_usage_ms
            .varuint32(0) // delay_sec
            .varuint32(0) // context_free_actions
            .varuint32(self.actions.len() as u32);
        for a in &self.actions {
            w.name(a.account)
                .name(a.name)
                .varuint32(a.authorization.len() as u32);
            for p in &a.authorization {
                w.name(p.actor).name(p.permission);
            }
            w.bytes(&a.data);
        }
        w.varuint32(0); // transaction_extensions
        w.bytes
    }

    /// Unpacks `packed_trx`, refusing what this crate would not have built:
    /// resource limits, a delay, context-free actions or extensions.
    pub fn unpack(packed: &[u8]) -> Result<Transaction, AbiError> {
        let mut r = Reader::new(packed);
        let expiration = r.u32("expiration")?;
        let ref_block_num = r.u16("ref_block_num")?;
        let ref_block_prefix = r.u32("ref_block_prefix")?;
        let zero = |v: u64, field: &'static str| {
            if v == 0 {
                Ok(())
            } else {
                Err(AbiError::Invalid {
                    field,
                    why: "must be 0".into(),
                })
            }
        };
        zero(
            r.varuint32("max_net_usage_words")?.into(),
            "max_net_usage_words",
        )?;
        zero(r.u8("max_cpu_usage_ms")?.into(), "max_cpu_usage_ms")?;
        zero(r.varuint32("delay_sec")?.into(), "delay_sec")?;
        zero(
            r.varuint32("context_free_actions")?.into(),
            "context_free_actions",
        )?;
        let count = r.varuint32("actions")?;
        let mut actions = Vec::new();
        for _ in 0..count {
            let account = r.name("action.account")?;
            let name = r.name("action.name")?;
            let n = r.varuint32("action.authorization")?;
            let mut authorization = Vec::new();
            for _ in 0..n {
                authorization.push(PermissionLevel {
                    actor: r.name("authorization.actor")?,
                    permission: r.name("authorization.permission")?,
                });
            }
            let data = r.bytes("action.data")?.to_vec();
            actions.push(Action {
                account,
                name,
                authorization,
                data,
            });
        }
        zero(
            r.varuint32("transaction_extensions")?.into(),
            "transaction_extensions",
        )?;
        r.finish()?;
        Ok(Transaction {
            expiration,
            ref_block_num,
            ref_block_prefix,
            actions,
        })
    }

    /// sha256(chain_id ‖ packed_trx ‖ 32 zero bytes): what is signed.
    pub fn signing_digest(chain_id: &ChainId, packed: &[u8]) -> [u8; 32] {
        let mut pre = Vec::with_capacity(64 + packed.len());
        pre.extend_from_slice(&chain_id.0);
        pre.extend_from_slice(packed);
        pre.extend_from_slice(&[0u8; 32]);
        sha256(&pre)
    }

    /// sha256(packed_trx), the transaction id the chain reports.
    pub fn id(packed: &[u8]) -> [u8; 32] {
        sha256(packed)
    }

    /// Packs and signs (a canonical signature, byte-identical to fiojs).
    pub fn sign(&self, chain_id: &ChainId, key: &PrivateKey) -> SignedTransaction {
        let packed_trx = self.pack();
        let digest = Transaction::signing_digest(chain_id, &packed_trx);
        SignedTransaction {
            signatures: vec![key.sign_digest(&digest)],
            packed_trx,
        }
    }
}

/// What `push_transaction` takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTransaction {
    pub signatures: Vec<Signature>,
    pub packed_trx: Vec<u8>,
}

impl SignedTransaction {
    /// The request body of /v1/chain/push_transaction.
    pub fn push_body(&self) -> serde_json::Value {
        serde_json::json!({
            "signatures": self.signatures.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "compression": 0,
            "packed_context_free_data": "",
            "packed_trx": hex::encode(&self.packed_trx),
        })
    }

    pub fn id_hex(&self) -> String {
        hex::encode(Transaction::id(&self.packed_trx))
    }
}

/// A `tokenpubaddr`: one public address of a chain/token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenPubAddress {
    pub token_code: String,
    pub chain_code: String,
    pub public_address: String,
}

/// `fio.address::addaddress` and `remaddress` (same layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddAddress {
    pub fio_address: String,
    pub public_addresses: Vec<TokenPubAddress>,
    pub max_fee: i64,
    pub actor: Name,
    pub tpid: String,
}

impl AddAddress {
    pub fn pack(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.string(&self.fio_address)
            .varuint32(self.public_addresses.len() as u32);
        for a in &self.public_addresses {
            // ABI order: token_code first.
            w.string(&a.token_code)
                .string(&a.chain_code)
                .string(&a.public_address);
        }
        w.i64(self.max_fee).name(self.actor).string(&self.tpid);
        w.bytes
    }

    pub fn unpack(data: &[u8]) -> Result<AddAddress, AbiError> {
        let mut r = Reader::new(data);
        let fio_address = r.string("fio_address")?;
        let n = r.varuint32("public_addresses")?;
        let mut public_addresses = Vec::new();
        for _ in 0..n {
            public_addresses.push(TokenPubAddress {
                token_code: r.string("token_code")?,
                chain_code: r.string("chain_code")?,
                public_address: r.string("public_address")?,
            });
        }
        let out = AddAddress {
            fio_address,
            public_addresses,
            max_fee: r.i64("max_fee")?,
            actor: r.name("actor")?,
            tpid: r.string("tpid")?,
        };
        r.finish()?;
        Ok(out)
    }

    /// The `addaddress` action, authorized by `actor@active`.
    pub fn add_action(&self) -> Action {
        fio_address_action("addaddress", self.actor, self.pack())
    }

    /// The `remaddress` action (same data), authorized by `actor@active`.
    pub fn remove_action(&self) -> Action {
        fio_address_action("remaddress", self.actor, self.pack())
    }
}

/// `fio.address::regaddress`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegAddress {
    pub fio_address: String,
    pub owner_fio_public_key: String,
    pub max_fee: i64,
    pub actor: Name,
    pub tpid: String,
}

impl RegAddress {
    pub fn pack(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.string(&self.fio_address)
            .string(&self.owner_fio_public_key)
            .i64(self.max_fee)
            .name(self.actor)
            .string(&self.tpid);
        w.bytes
    }

    pub fn unpack(data: &[u8]) -> Result<RegAddress, AbiError> {
        let mut r = Reader::new(data);
        let out = RegAddress {
            fio_address: r.string("fio_address")?,
            owner_fio_public_key: r.string("owner_fio_public_key")?,
            max_fee: r.i64("max_fee")?,
            actor: r.name("actor")?,
            tpid: r.string("tpid")?,
        };
        r.finish()?;
        Ok(out)
    }

    pub fn action(&self) -> Action {
        fio_address_action("regaddress", self.actor, self.pack())
    }
}

/// An action of the fio.address contract, authorized by `actor@active`.
fn fio_address_action(name: &str, actor: Name, data: Vec<u8>) -> Action {
    Action {
        account: Name::parse("fio.address").expect("valid name"),
        name: Name::parse(name).expect("valid name"),
        authorization: vec![PermissionLevel::active(actor)],
        data,
    }
}

/// Seconds since the epoch from the chain's `YYYY-MM-DDTHH:MM:SS[.fff]`
/// (UTC, no zone suffix), as get_info's `head_block_time` gives it.
pub fn parse_chain_time(text: &str) -> Result<u32, AbiError> {
    let bad = || AbiError::Invalid {
        field: "time",
        why: format!("{text:?} is not YYYY-MM-DDTHH:MM:SS[.fff]"),
    };
    let main = text.split('.').next().unwrap_or("");
    let fraction = &text[main.len()..];
    if !(fraction.is_empty()
        || (fraction.len() > 1 && fraction[1..].bytes().all(|b| b.is_ascii_digit())))
    {
        return Err(bad());
    }
    let b = main.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, AbiError> {
        let s = &main[r];
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m)
        || d < 1
        || d > month_days[(m - 1) as usize]
        || hh > 23
        || mm > 59
        || ss > 59
    {
        return Err(bad());
    }
    // Days from 1970-01-01 to the date (proleptic Gregorian calendar).
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    u32::try_from(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_time_parses_like_the_node_prints_it() {
        assert_eq!(
            parse_chain_time("2024-01-01T00:03:00").unwrap(),
            1_704_067_380
        );
        assert_eq!(
            parse_chain_time("2024-01-01T00:03:00.500").unwrap(),
            1_704_067_380
        );
        assert_eq!(parse_chain_time("1970-01-01T00:00:00").unwrap(), 0);
        assert_eq!(
            parse_chain_time("2000-02-29T12:00:00").unwrap(),
            951_825_600
        );
        assert_eq!(parse_chain_time("2106-02-07T06:28:15").unwrap(), u32::MAX);
        for bad in [
            "",
            "2024-01-01",
            "2024-01-01 00:03:00",
            "2024-13-01T00:00:00",
            "2023-02-29T00:00:00",
            "2024-01-01T24:00:00",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.",
            "1969-12-31T23:59:59",
            "2106-02-07T06:28:16",
            "+024-01-01T00:00:00",
        ] {
            assert!(parse_chain_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tapos_comes_from_the_block_id() {
        let id = "001255f8d3e9e4a573265d5e9f4a0b1c2d3e4f5061728394a5b6c7d8e9f00112";
        assert_eq!(tapos_from_block_id(id).unwrap(), (22008, 1_583_162_995));
        assert!(tapos_from_block_id("00").is_err());
        assert!(tapos_from_block_id(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn the_built_in_chain_ids_are_the_published_ones() {
        assert_eq!(
            ChainId::MAINNET.to_hex(),
            "21dcae42c0182200e93f954a074011f9048a7624c6fe81d3c9541a614a88bd1c"
        );
        assert_eq!(
            ChainId::parse(&ChainId::TESTNET.to_hex()).unwrap(),
            ChainId::TESTNET
        );
    }
}
