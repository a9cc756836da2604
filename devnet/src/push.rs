//! A pushed transaction, checked in the node's order (fio-chain.md §3.9):
//! body, unpack, expiration, TAPOS, duplicate, signatures and authorization,
//! the endpoint's action whitelist, the contract's `require_auth(actor)`,
//! then the fio.address contract's own checks. Effects and the duplicate
//! record commit together.

use fio_peer::chain::{
    AddAddress, Name, PrivacyAction, RegAddress, Transaction, PRIVACY_ACTIONS, PRIVACY_CONTRACT,
};
use fio_peer::crypto::{PublicKey, Signature};
use rusqlite::{params, Connection};
use serde_json::{json, Value};

use crate::chain_time;
use crate::errors::ApiError;
use crate::fees::{charge, check_fee_and_tpid};
use crate::privacy;
use crate::state::{self, Devnet};

/// The chain's longest transaction lifetime (mainnet genesis).
const MAX_LIFETIME_SECS: i64 = 3600;
/// addaddress: at most this many mappings per handle (`MAX_SET_ADDRESSES`).
const MAX_SET_ADDRESSES: i64 = 200;

/// Which actions an endpoint takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// push_transaction: any action the devnet implements.
    Any,
    /// add_pub_address and friends: exactly one action of this name.
    Only(&'static str),
}

/// What the contract did, for the trace.
struct Applied {
    response: String,
}

pub fn push(devnet: &Devnet, body: &[u8], endpoint: Endpoint) -> Result<Value, ApiError> {
    let v = crate::body_json(body)?;
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::parse_error("the body is not a JSON object"))?;
    if let Endpoint::Only(_) = endpoint {
        // The action endpoints take exactly the four push_transaction keys.
        let expected = [
            "signatures",
            "compression",
            "packed_context_free_data",
            "packed_trx",
        ];
        if obj.len() != 4 || !expected.iter().all(|k| obj.contains_key(*k)) {
            return Err(ApiError::invalid_transaction());
        }
    }
    let signatures = obj
        .get("signatures")
        .ok_or_else(|| ApiError::invalid_transaction_field("Missing signatures".into()))?
        .as_array()
        .ok_or_else(|| ApiError::invalid_transaction_field("signatures is not an array".into()))?;
    match obj.get("compression") {
        None => {
            return Err(ApiError::invalid_transaction_field(
                "Missing compression".into(),
            ))
        }
        Some(c) if c == &json!(0) || c == &json!("none") => {}
        Some(c) => return Err(ApiError::unknown_compression(format!("compression {c}"))),
    }
    match obj.get("packed_context_free_data") {
        None => {}
        Some(Value::String(h)) if hex::decode(h).is_ok() => {}
        Some(other) => {
            return Err(ApiError::invalid_transaction_field(format!(
                "packed_context_free_data {other} is not a hex string"
            )))
        }
    }
    let packed_hex = obj.get("packed_trx").and_then(Value::as_str).unwrap_or("");
    let unpacked = hex::decode(packed_hex)
        .map_err(|e| e.to_string())
        .and_then(|packed| {
            Transaction::unpack(&packed)
                .map(|t| (packed, t))
                .map_err(|e| e.to_string())
        });
    let (packed, trx) = match unpacked {
        Ok(x) => x,
        Err(why) => {
            return Err(match endpoint {
                Endpoint::Only(_) => {
                    ApiError::ForbiddenText(format!("Invalid packed transaction: {why}"))
                }
                Endpoint::Any => ApiError::invalid_packed(why),
            })
        }
    };

    // The action endpoints check what they carry before the transaction is
    // pushed (chain_plugin), so these come before expiration and TAPOS.
    if let Endpoint::Only(name) = endpoint {
        if trx.actions.len() != 1
            || trx.actions[0].account != contract_of(name)
            || trx.actions[0].name.as_string() != name
        {
            return Err(ApiError::invalid_account_or_action());
        }
        if trx.actions[0].authorization.is_empty() {
            return Err(ApiError::invalid_transaction());
        }
    }

    let head = devnet.head();
    let now = head.time_ms.div_euclid(1000);
    let expiration = trx.expiration as i64;
    if expiration <= now {
        return Err(ApiError::expired(format!(
            "expired transaction {}, expiration {}, block time {}",
            hex::encode(Transaction::id(&packed)),
            chain_time::format_secs(expiration),
            chain_time::format_ms(head.time_ms)
        )));
    }
    if expiration > now + MAX_LIFETIME_SECS {
        return Err(ApiError::expiration_too_far(format!(
            "Transaction expiration is too far in the future relative to the reference time of {}, expiration {}",
            chain_time::format_ms(head.time_ms),
            chain_time::format_secs(expiration)
        )));
    }
    if devnet
        .tapos_block(head.num, trx.ref_block_num, trx.ref_block_prefix)
        .is_none()
    {
        return Err(ApiError::invalid_ref_block(format!(
            "Transaction's reference block did not match. Is this transaction from a different fork? ref_block_num {}, ref_block_prefix {}",
            trx.ref_block_num, trx.ref_block_prefix
        )));
    }
    let id = hex::encode(Transaction::id(&packed));

    let mut conn = devnet.lock();
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM transactions WHERE expiration < ?1", [now])?;
    let seen = tx.query_row(
        "SELECT count(*) FROM transactions WHERE id = ?1",
        [&id],
        |r| r.get::<_, i64>(0),
    )?;
    if seen > 0 {
        return Err(ApiError::duplicate(&id));
    }

    // Keys that signed: every signature must parse and recover.
    let digest = Transaction::signing_digest(&devnet.chain_id(), &packed);
    let mut signers: Vec<PublicKey> = Vec::new();
    for s in signatures {
        let text = s.as_str().unwrap_or_default();
        let sig = Signature::parse(text)
            .map_err(|e| ApiError::invalid_signature_format(format!("{text:?}: {e}")))?;
        let key = sig
            .recover_digest(&digest)
            .map_err(|e| ApiError::invalid_signature_format(format!("{text:?}: {e}")))?;
        signers.push(key);
    }
    if trx.actions.is_empty() {
        return Err(ApiError::invalid_transaction_field(
            "Transaction should have at least one normal action".into(),
        ));
    }
    for action in &trx.actions {
        if action.authorization.is_empty() {
            return Err(match endpoint {
                Endpoint::Only(_) => ApiError::invalid_transaction(),
                Endpoint::Any => ApiError::invalid_transaction_field(
                    "Transaction should have at least one required authority".into(),
                ),
            });
        }
        for level in &action.authorization {
            let satisfied = level.permission == Name::parse("active").expect("name")
                && signers
                    .iter()
                    .any(|k| k.account_name() == level.actor.as_string());
            if !satisfied {
                return Err(ApiError::unsatisfied_authorization(format!(
                    "transaction declares authority '{{\"actor\":\"{}\",\"permission\":\"{}\"}}', but does not have signatures for it.",
                    level.actor, level.permission
                )));
            }
        }
    }

    if endpoint == Endpoint::Any {
        for a in &trx.actions {
            let name = a.name.as_string();
            let implemented = FIO_ADDRESS_ACTIONS.contains(&name.as_str())
                || PRIVACY_ACTIONS.iter().any(|(n, _)| *n == name);
            if !implemented || a.account != contract_of(&name) {
                return Err(ApiError::invalid_account_or_action());
            }
        }
    }

    let mut traces = Vec::new();
    for action in &trx.actions {
        let name = action.name.as_string();
        let signer = action.authorization[0].actor;
        let applied = match name.as_str() {
            _ if a_privacy_action(&name) => {
                let data = PrivacyAction::unpack(&name, &action.data)
                    .map_err(|e| ApiError::invalid_action_args(e.to_string()))?;
                require_auth(data.actor(), signer)?;
                Applied {
                    response: privacy::apply(&tx, head.time_ms.div_euclid(1000), &data)?,
                }
            }
            "addaddress" | "remaddress" => {
                let data = AddAddress::unpack(&action.data)
                    .map_err(|e| ApiError::invalid_action_args(e.to_string()))?;
                require_auth(data.actor, signer)?;
                if name == "addaddress" {
                    add_address(&tx, &data)?
                } else {
                    remove_address(&tx, &data)?
                }
            }
            _ => {
                let data = RegAddress::unpack(&action.data)
                    .map_err(|e| ApiError::invalid_action_args(e.to_string()))?;
                require_auth(data.actor, signer)?;
                reg_address(&tx, &data)?
            }
        };
        traces.push(json!({
            "receipt": {
                "receiver": action.account.as_string(),
                "response": applied.response,
                "act_digest": hex::encode(fio_peer::crypto::sha256(&action.data)),
                "global_sequence": 0, "recv_sequence": 0, "auth_sequence": [], "code_sequence": 0, "abi_sequence": 0,
            },
            "receiver": action.account.as_string(),
            "act": {
                "account": action.account.as_string(),
                "name": name,
                "authorization": action.authorization.iter().map(|l| json!({"actor": l.actor.as_string(), "permission": l.permission.as_string()})).collect::<Vec<_>>(),
                "data": hex::encode(&action.data),
            },
            "block_num": head.num,
            "block_time": chain_time::format_ms(head.time_ms),
        }));
    }
    tx.execute(
        "INSERT INTO transactions VALUES (?1, ?2)",
        params![id, expiration],
    )?;
    tx.commit()?;
    Ok(json!({
        "transaction_id": id,
        "processed": {
            "id": id,
            "block_num": head.num,
            "block_time": chain_time::format_ms(head.time_ms),
            "producer_block_id": null,
            "receipt": {"status": "executed", "cpu_usage_us": 100, "net_usage_words": packed.len().div_ceil(8)},
            "elapsed": 100,
            "net_usage": packed.len(),
            "scheduled": false,
            "action_traces": traces,
            "account_ram_delta": null,
            "except": null,
            "error_code": null,
        }
    }))
}

const FIO_ADDRESS_ACTIONS: &[&str] = &["addaddress", "remaddress", "regaddress"];

fn a_privacy_action(name: &str) -> bool {
    PRIVACY_ACTIONS.iter().any(|(n, _)| *n == name)
}

/// The contract account of an implemented action.
fn contract_of(action: &str) -> Name {
    let account = if a_privacy_action(action) {
        PRIVACY_CONTRACT
    } else {
        "fio.address"
    };
    Name::parse(account).expect("valid name")
}

/// The contract's `require_auth(actor)`: the data's actor must have signed.
fn require_auth(actor: Name, signer: Name) -> Result<(), ApiError> {
    if actor == signer {
        Ok(())
    } else {
        Err(ApiError::missing_auth(format!(
            "missing authority of {actor}"
        )))
    }
}

/// The handle `data` acts on, owned by its actor and public, with valid entries.
fn owned_handle(conn: &Connection, data: &AddAddress) -> Result<String, ApiError> {
    let address = state::handle(&data.fio_address).ok_or_else(|| {
        ApiError::field("fio_address", &data.fio_address, "FIO Address not found")
    })?;
    check_fee_and_tpid(data.max_fee, &data.tpid)?;
    let (owner, _bundles) = state::owner(conn, &address)?
        .ok_or_else(|| ApiError::not_found("FIO Address not found"))?;
    if owner != data.actor.as_string() {
        return Err(ApiError::invalid_signature());
    }
    if state::is_private(conn, &address)? {
        return Err(ApiError::private_mode(&address));
    }
    if data.public_addresses.is_empty() || data.public_addresses.len() > 5 {
        return Err(ApiError::field(
            "public_addresses",
            &data.public_addresses.len().to_string(),
            "Min 1, Max 5 public addresses are allowed",
        ));
    }
    for a in &data.public_addresses {
        if !state::valid_token_code(&a.token_code) {
            return Err(ApiError::field(
                "token_code",
                &a.token_code,
                "Invalid token code format",
            ));
        }
        if !state::valid_chain_code(&a.chain_code) {
            return Err(ApiError::field(
                "chain_code",
                &a.chain_code,
                "Invalid chain code format",
            ));
        }
        if !state::valid_public_address(&a.public_address) {
            return Err(ApiError::field(
                "public_address",
                &a.public_address,
                "Invalid public address format",
            ));
        }
    }
    Ok(address)
}

/// One bundled transaction of the handle, else the endpoint's fee, charged
/// after every other check (a failing push rolls back anyway).
fn pay(
    conn: &Connection,
    data: &AddAddress,
    address: &str,
    endpoint: &str,
) -> Result<u64, ApiError> {
    charge(
        conn,
        endpoint,
        data.max_fee,
        &data.actor.as_string(),
        Some(address),
    )
}

fn fee_response(fee: u64) -> String {
    format!(r#"{{"status": "OK","fee_collected":{fee}}}"#)
}

/// Upsert per exact (token_code, chain_code), as `chain_data_update` does.
fn add_address(conn: &Connection, data: &AddAddress) -> Result<Applied, ApiError> {
    let address = owned_handle(conn, data)?;
    for a in &data.public_addresses {
        let updated = conn.execute(
            "UPDATE pub_addresses SET public_address = ?4 WHERE fio_address = ?1 AND token_code = ?2 AND chain_code = ?3",
            params![address, a.token_code, a.chain_code, a.public_address],
        )?;
        if updated == 0 {
            let count: i64 = conn.query_row(
                "SELECT count(*) FROM pub_addresses WHERE fio_address = ?1",
                [&address],
                |r| r.get(0),
            )?;
            if count >= MAX_SET_ADDRESSES {
                return Err(ApiError::field(
                    "token_code",
                    &a.token_code,
                    "Maximum token codes mapped to single FIO Address reached. Only 200 can be mapped.",
                ));
            }
            conn.execute(
                "INSERT INTO pub_addresses (fio_address, token_code, chain_code, public_address) VALUES (?1, ?2, ?3, ?4)",
                params![address, a.token_code, a.chain_code, a.public_address],
            )?;
        }
    }
    let fee = pay(conn, data, &address, "add_pub_address")?;
    Ok(Applied {
        response: fee_response(fee),
    })
}

/// Removes exact (token, chain, public address) triples; FIO/FIO stays.
fn remove_address(conn: &Connection, data: &AddAddress) -> Result<Applied, ApiError> {
    let address = owned_handle(conn, data)?;
    for a in &data.public_addresses {
        if a.token_code == "FIO" && a.chain_code == "FIO" {
            return Err(ApiError::field(
                "public_address",
                &a.public_address,
                "Invalid public address format",
            ));
        }
        let removed = conn.execute(
            "DELETE FROM pub_addresses WHERE fio_address = ?1 AND token_code = ?2 AND chain_code = ?3 AND public_address = ?4",
            params![address, a.token_code, a.chain_code, a.public_address],
        )?;
        if removed == 0 {
            return Err(ApiError::field(
                "public_address",
                &a.public_address,
                "Invalid public address",
            ));
        }
    }
    let fee = pay(conn, data, &address, "remove_pub_address")?;
    Ok(Applied {
        response: fee_response(fee),
    })
}

fn reg_address(conn: &Connection, data: &RegAddress) -> Result<Applied, ApiError> {
    let address = state::handle(&data.fio_address).ok_or_else(|| {
        ApiError::field(
            "fio_address",
            &data.fio_address,
            "Invalid FIO Address format",
        )
    })?;
    check_fee_and_tpid(data.max_fee, &data.tpid)?;
    let owner = PublicKey::parse(&data.owner_fio_public_key)
        .ok()
        .filter(|_| data.owner_fio_public_key.starts_with("FIO"))
        .ok_or_else(|| {
            ApiError::field(
                "owner_fio_public_key",
                &data.owner_fio_public_key,
                "Invalid FIO Public Key",
            )
        })?;
    let domain = address.split_once('@').map(|(_, d)| d).unwrap_or_default();
    if !state::domain_exists(conn, domain)? {
        return Err(ApiError::field(
            "fio_name",
            &data.fio_address,
            "FIO Domain not registered",
        ));
    }
    if state::exists(conn, &address)? {
        return Err(ApiError::field(
            "fio_name",
            &data.fio_address,
            "FIO address already registered",
        ));
    }
    let fee = charge(
        conn,
        "register_fio_address",
        data.max_fee,
        &data.actor.as_string(),
        None,
    )?;
    state::insert_address(conn, &address, &owner, state::DEFAULT_BUNDLES)?;
    Ok(Applied {
        response: format!(
            r#"{{"status": "OK","expiration":"{}","fee_collected":{fee}}}"#,
            state::HANDLE_EXPIRATION
        ),
    })
}
