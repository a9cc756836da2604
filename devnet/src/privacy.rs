//! The chain side of FIP-3: the `fio.privacy` contract's actions (checked,
//! then charged and applied, all in the push's one SQLite transaction) and
//! the six read endpoints. devnet/README.md lists every check in order.
//! Chain and token codes are stored in upper case.

use fio_peer::chain::{
    DecryptKey, PrivAddAddress, PrivFundsRequest, PrivGrantAccess, PrivRecordSend, PrivacyAction,
    SetAddressPrivacy,
};
use fio_peer::crypto::PublicKey;
use fio_peer::friends::is_index;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::errors::ApiError;
use crate::fees::{charge, check_fee_and_tpid};
use crate::state::{self, Devnet};

/// Longest encrypted `content` (FIP-32 lifted FIO's 296-character limit;
/// this bound only keeps the devnet's rows sane).
const MAX_CONTENT: usize = 8192;
/// Longest encrypted NBPA or decrypt key.
const MAX_CIPHERTEXT: usize = 1024;
/// Most look-up indexes one read takes.
pub const MAX_LOOKUP_INDEXES: usize = 10_000;
/// A domain stays usable this long after it expires (FIO's grace period).
const DOMAIN_GRACE_SECS: i64 = 30 * 24 * 3600;

/// Applies one action at chain time `now` (seconds); returns the
/// contract's response string.
pub(crate) fn apply(
    conn: &Connection,
    now: i64,
    action: &PrivacyAction,
) -> Result<String, ApiError> {
    match action {
        PrivacyAction::AddFriend(a) => {
            index_field("fio_public_key_hash", &a.fio_public_key_hash)?;
            text_field("content", &a.content, MAX_CONTENT)?;
            let owner = a.actor.as_string();
            if friend_id(conn, &owner, &a.fio_public_key_hash)?.is_some() {
                return Err(ApiError::field(
                    "fio_public_key_hash",
                    &a.fio_public_key_hash,
                    "FIO public key already in Friend List",
                ));
            }
            check_fee_and_tpid(a.max_fee, &a.tpid)?;
            let fee = charge(conn, "priv_add_friend", a.max_fee, &owner, None)?;
            conn.execute(
                "INSERT INTO friends (owner_account, fio_public_key_hash, content) VALUES (?1, ?2, ?3)",
                params![owner, a.fio_public_key_hash, a.content],
            )?;
            Ok(fee_response(fee))
        }
        PrivacyAction::RemoveFriend(a) => {
            index_field("fio_public_key_hash", &a.fio_public_key_hash)?;
            let owner = a.actor.as_string();
            let Some(id) = friend_id(conn, &owner, &a.fio_public_key_hash)? else {
                return Err(not_in_list(&a.fio_public_key_hash));
            };
            check_fee_and_tpid(a.max_fee, &a.tpid)?;
            let fee = charge(conn, "priv_remove_friend", a.max_fee, &owner, None)?;
            conn.execute("DELETE FROM friends WHERE id = ?1", [id])?;
            // What was granted to the friend goes with them.
            conn.execute(
                "DELETE FROM priv_grants WHERE owner_account = ?1 AND fio_public_key_hash = ?2",
                params![owner, a.fio_public_key_hash],
            )?;
            Ok(fee_response(fee))
        }
        PrivacyAction::AddAddress(a) => add_nbpas(conn, a),
        PrivacyAction::GrantAccess(a) => grant(conn, a),
        PrivacyAction::FundsRequest(a) => funds_request(conn, now, a),
        PrivacyAction::RecordSend(a) => record_send(conn, now, a),
        PrivacyAction::SetPrivacy(a) => set_privacy(conn, a),
    }
}

fn fee_response(fee: u64) -> String {
    format!(r#"{{"status": "OK","fee_collected":{fee}}}"#)
}

fn not_in_list(hash: &str) -> ApiError {
    ApiError::field(
        "fio_public_key_hash",
        hash,
        "FIO public key not in Friend List",
    )
}

fn index_field(name: &'static str, value: &str) -> Result<(), ApiError> {
    if is_index(value) {
        Ok(())
    } else {
        Err(ApiError::field(name, value, "Invalid look-up index"))
    }
}

fn text_field(name: &'static str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.is_empty() || value.len() > max {
        return Err(ApiError::field(
            name,
            value,
            &format!("Invalid {name}: 1 to {max} characters"),
        ));
    }
    Ok(())
}

fn friend_id(conn: &Connection, owner: &str, hash: &str) -> Result<Option<i64>, ApiError> {
    Ok(conn
        .query_row(
            "SELECT id FROM friends WHERE owner_account = ?1 AND fio_public_key_hash = ?2",
            params![owner, hash],
            |r| r.get(0),
        )
        .optional()?)
}

/// The handle `text` names, which must exist and be the actor's: 404 and
/// 403 as the FIP's tables give them.
fn owned(
    conn: &Connection,
    text: &str,
    actor: &str,
) -> Result<(String, state::HandleRow), ApiError> {
    let address =
        state::handle(text).ok_or_else(|| ApiError::not_found("FIO Address not found"))?;
    let row = state::handle_row(conn, &address)?
        .ok_or_else(|| ApiError::not_found("FIO Address not found"))?;
    if row.owner_account != actor {
        return Err(ApiError::invalid_signature());
    }
    Ok((address, row))
}

fn add_nbpas(conn: &Connection, a: &PrivAddAddress) -> Result<String, ApiError> {
    let actor = a.actor.as_string();
    let (address, _) = owned(conn, &a.fio_address, &actor)?;
    if a.public_addresses.is_empty() || a.public_addresses.len() > 5 {
        return Err(ApiError::field(
            "public_addresses",
            &a.public_addresses.len().to_string(),
            "Min 1, Max 5 public addresses are allowed",
        ));
    }
    for p in &a.public_addresses {
        if !state::valid_chain_code(&p.chain_code) {
            return Err(ApiError::field(
                "chain_code",
                &p.chain_code,
                "Invalid Chain Code",
            ));
        }
        if !state::valid_token_code(&p.token_code) {
            return Err(ApiError::field(
                "token_code",
                &p.token_code,
                "Invalid Token Code",
            ));
        }
        text_field(
            "public_key_address_level",
            &p.public_key_address_level,
            MAX_CIPHERTEXT,
        )?;
        text_field(
            "public_key_chain_level",
            &p.public_key_chain_level,
            MAX_CIPHERTEXT,
        )?;
        text_field(
            "public_key_nbpa_level",
            &p.public_key_nbpa_level,
            MAX_CIPHERTEXT,
        )?;
    }
    check_fee_and_tpid(a.max_fee, &a.tpid)?;
    let fee = charge(
        conn,
        "priv_add_pub_address",
        a.max_fee,
        &actor,
        Some(&address),
    )?;
    let mut first_key_id = None;
    for p in &a.public_addresses {
        let (chain, token) = (
            p.chain_code.to_ascii_uppercase(),
            p.token_code.to_ascii_uppercase(),
        );
        // A new NBPA for a (chain, token) replaces the old one under a new id.
        conn.execute(
            "DELETE FROM priv_nbpas WHERE fio_address = ?1 AND chain_code = ?2 AND token_code = ?3",
            params![address, chain, token],
        )?;
        conn.execute(
            "INSERT INTO priv_nbpas (fio_address, chain_code, token_code, public_key_address_level, public_key_chain_level, public_key_nbpa_level) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                address,
                chain,
                token,
                p.public_key_address_level,
                p.public_key_chain_level,
                p.public_key_nbpa_level
            ],
        )?;
        first_key_id.get_or_insert(conn.last_insert_rowid());
    }
    Ok(format!(
        r#"{{"status": "OK","key_id":{},"fee_collected":{fee}}}"#,
        first_key_id.unwrap_or_default()
    ))
}

/// A decrypt key's `level_index`, checked and normalised.
fn grant_index(conn: &Connection, actor: &str, k: &DecryptKey) -> Result<String, ApiError> {
    match k.level.as_str() {
        "address" => Ok(owned(conn, &k.level_index, actor)?.0),
        "chain" => {
            let bad_chain = || ApiError::field("level_index", &k.level_index, "Invalid Chain Code");
            let (address, chain) = k.level_index.rsplit_once('/').ok_or_else(bad_chain)?;
            if !state::valid_chain_code(chain) {
                return Err(bad_chain());
            }
            let (address, _) = owned(conn, address, actor)?;
            Ok(format!("{address}/{}", chain.to_ascii_uppercase()))
        }
        "nbpa" => {
            // The FIP's message for a bad NBPA id is "Invalid Chain Code" too.
            let bad = || ApiError::field("level_index", &k.level_index, "Invalid Chain Code");
            let key_id: i64 = k
                .level_index
                .parse()
                .ok()
                .filter(|id: &i64| *id > 0 && k.level_index == id.to_string())
                .ok_or_else(bad)?;
            let owner: Option<String> = conn
                .query_row(
                    "SELECT a.owner_account FROM priv_nbpas n JOIN addresses a ON a.fio_address = n.fio_address WHERE n.key_id = ?1",
                    [key_id],
                    |r| r.get(0),
                )
                .optional()?;
            match owner {
                Some(o) if o == actor => Ok(key_id.to_string()),
                _ => Err(bad()),
            }
        }
        _ => Err(ApiError::field("level", &k.level, "Invalid level.")),
    }
}

fn grant(conn: &Connection, a: &PrivGrantAccess) -> Result<String, ApiError> {
    index_field("fio_public_key_hash", &a.fio_public_key_hash)?;
    let actor = a.actor.as_string();
    if friend_id(conn, &actor, &a.fio_public_key_hash)?.is_none() {
        return Err(not_in_list(&a.fio_public_key_hash));
    }
    if a.decrypt_keys.is_empty() || a.decrypt_keys.len() > 5 {
        return Err(ApiError::field(
            "decrypt_keys",
            &a.decrypt_keys.len().to_string(),
            "Min 1, Max 5 decrypt keys are allowed",
        ));
    }
    let mut rows = Vec::with_capacity(a.decrypt_keys.len());
    for k in &a.decrypt_keys {
        let index = grant_index(conn, &actor, k)?;
        text_field("decrypt_key", &k.decrypt_key, MAX_CIPHERTEXT)?;
        rows.push((k.level.as_str(), index, k.decrypt_key.as_str()));
    }
    check_fee_and_tpid(a.max_fee, &a.tpid)?;
    let fee = charge(
        conn,
        "priv_grant_pub_address_access",
        a.max_fee,
        &actor,
        None,
    )?;
    for (level, index, key) in rows {
        conn.execute(
            "INSERT INTO priv_grants VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (owner_account, fio_public_key_hash, level, level_index) DO UPDATE SET decrypt_key = excluded.decrypt_key",
            params![actor, a.fio_public_key_hash, level, index, key],
        )?;
    }
    Ok(fee_response(fee))
}

/// The checks of a party's handle in privfundsreq/privrecsend: it exists,
/// has not expired, its domain is not expired past the grace period, and the
/// actor owns it with the key named beside it.
fn party(
    conn: &Connection,
    now: i64,
    address_field: &'static str,
    address_text: &str,
    key_field: &'static str,
    key_text: &str,
    actor: &str,
) -> Result<(String, String), ApiError> {
    let invalid = || {
        ApiError::field(
            address_field,
            address_text,
            "FIO Address invalid or does not exist.",
        )
    };
    let address = state::handle(address_text).ok_or_else(invalid)?;
    let row = state::handle_row(conn, &address)?.ok_or_else(invalid)?;
    if row.expiration.is_some_and(|e| e <= now) {
        return Err(ApiError::field(
            address_field,
            address_text,
            "FIO Address expired.",
        ));
    }
    if row
        .domain_expiration
        .is_some_and(|e| e + DOMAIN_GRACE_SECS <= now)
    {
        return Err(ApiError::field(
            address_field,
            address_text,
            "FIO Domain expired.",
        ));
    }
    if row.owner_account != actor {
        return Err(ApiError::invalid_signature());
    }
    let key = PublicKey::parse(key_text)
        .ok()
        .filter(|_| key_text.starts_with("FIO"))
        .ok_or_else(|| ApiError::field(key_field, key_text, "Invalid FIO Public Key"))?;
    // The key beside the address is how its owner finds the record again;
    // it must be the signer's, or anyone could file records under any key.
    if key.account_name() != actor {
        return Err(ApiError::field(
            key_field,
            key_text,
            "FIO Public Key is not the signer's",
        ));
    }
    // Stored in its canonical form, so reads by key find it.
    Ok((address, key.to_fio_string()))
}

/// One private record (a request or a send action) as filed: the filer's
/// role names its fields, table and endpoint.
struct Filing<'a> {
    role: &'static str,
    address: &'a str,
    key: &'a str,
    index: &'a str,
    content: &'a str,
    max_fee: i64,
    tpid: &'a str,
    actor: String,
}

/// Checks, charges and stores a filing; returns the new row's id and the fee.
fn file(
    conn: &Connection,
    now: i64,
    f: Filing<'_>,
    endpoint: &str,
    table: &str,
) -> Result<(i64, u64), ApiError> {
    let (address_field, key_field, index_field_name) = match f.role {
        "payee" => (
            "payee_fio_address",
            "payee_fio_public_key",
            "lookup_index_for_payer",
        ),
        _ => (
            "payer_fio_address",
            "payer_fio_public_key",
            "lookup_index_for_payee",
        ),
    };
    let (address, key) = party(
        conn,
        now,
        address_field,
        f.address,
        key_field,
        f.key,
        &f.actor,
    )?;
    index_field(index_field_name, f.index)?;
    text_field("content", f.content, MAX_CONTENT)?;
    check_fee_and_tpid(f.max_fee, f.tpid)?;
    let fee = charge(conn, endpoint, f.max_fee, &f.actor, Some(&address))?;
    conn.execute(
        &format!("INSERT INTO {table} ({address_field}, {key_field}, {index_field_name}, content) VALUES (?1, ?2, ?3, ?4)"),
        params![address, key, f.index, f.content],
    )?;
    Ok((conn.last_insert_rowid(), fee))
}

fn funds_request(conn: &Connection, now: i64, a: &PrivFundsRequest) -> Result<String, ApiError> {
    let filing = Filing {
        role: "payee",
        address: &a.payee_fio_address,
        key: &a.payee_fio_public_key,
        index: &a.lookup_index_for_payer,
        content: &a.content,
        max_fee: a.max_fee,
        tpid: &a.tpid,
        actor: a.actor.as_string(),
    };
    let (id, fee) = file(conn, now, filing, "priv_new_funds_request", "priv_requests")?;
    Ok(format!(
        r#"{{"fio_request_id":{id},"status": "OK","fee_collected":{fee}}}"#
    ))
}

fn record_send(conn: &Connection, now: i64, a: &PrivRecordSend) -> Result<String, ApiError> {
    let filing = Filing {
        role: "payer",
        address: &a.payer_fio_address,
        key: &a.payer_fio_public_key,
        index: &a.lookup_index_for_payee,
        content: &a.content,
        max_fee: a.max_fee,
        tpid: &a.tpid,
        actor: a.actor.as_string(),
    };
    let (_, fee) = file(conn, now, filing, "priv_record_send_action", "priv_actions")?;
    Ok(fee_response(fee))
}

fn set_privacy(conn: &Connection, a: &SetAddressPrivacy) -> Result<String, ApiError> {
    let actor = a.actor.as_string();
    let (address, _) = owned(conn, &a.fio_address, &actor)?;
    if !(0..=1).contains(&a.privacy) {
        return Err(ApiError::field(
            "privacy",
            &a.privacy.to_string(),
            "Invalid privacy option: 0 public, 1 private",
        ));
    }
    check_fee_and_tpid(a.max_fee, &a.tpid)?;
    let fee = charge(
        conn,
        "set_fio_address_privacy",
        a.max_fee,
        &actor,
        Some(&address),
    )?;
    conn.execute(
        "UPDATE addresses SET privacy = ?2 WHERE fio_address = ?1",
        params![address, a.privacy],
    )?;
    Ok(fee_response(fee))
}

// ---- read endpoints ----

/// `limit` (absent or 0: all) and `offset` of the list endpoints.
#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    offset: Option<i64>,
}

impl Paging {
    fn check(&self) -> Result<(i64, i64), ApiError> {
        let limit = self.limit.unwrap_or(0);
        let offset = self.offset.unwrap_or(0);
        if limit < 0 {
            return Err(ApiError::field(
                "limit",
                &limit.to_string(),
                "Invalid limit",
            ));
        }
        if offset < 0 {
            return Err(ApiError::field(
                "offset",
                &offset.to_string(),
                "Invalid offset",
            ));
        }
        // SQLite's LIMIT -1 is "no limit".
        Ok((if limit == 0 { -1 } else { limit }, offset))
    }
}

fn params_of<T: for<'de> Deserialize<'de>>(body: &Value) -> Result<T, ApiError> {
    serde_json::from_value(body.clone()).map_err(|e| ApiError::parse_error(&e.to_string()))
}

fn fio_key_field(name: &'static str, text: &str) -> Result<PublicKey, ApiError> {
    PublicKey::parse(text)
        .ok()
        .filter(|_| text.starts_with("FIO"))
        .ok_or_else(|| ApiError::field(name, text, "Invalid FIO Public Key"))
}

/// One page of `sql`'s rows (its last two parameters are LIMIT and OFFSET),
/// how many rows remain after it, and how many `count_sql` counts in all.
fn page(
    conn: &Connection,
    sql: &str,
    count_sql: &str,
    args: &[&dyn rusqlite::ToSql],
    paging: (i64, i64),
    row: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<Value>,
) -> Result<(Vec<Value>, i64, i64), ApiError> {
    let total: i64 = conn.query_row(count_sql, args, |r| r.get(0))?;
    let mut all: Vec<&dyn rusqlite::ToSql> = args.to_vec();
    all.push(&paging.0);
    all.push(&paging.1);
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt
        .query_map(all.as_slice(), row)?
        .collect::<Result<Vec<_>, _>>()?;
    let more = (total - paging.1 - rows.len() as i64).max(0);
    Ok((rows, more, total))
}

/// The look-up indexes of a batch read, as a JSON array for `json_each`.
fn indexes(body: &Value) -> Result<String, ApiError> {
    let field = "lookup_indexes_for_payer";
    let bad = |why: &str| {
        ApiError::field(
            field,
            &body.get(field).map(|v| v.to_string()).unwrap_or_default(),
            why,
        )
    };
    let list = body
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Invalid look-up indexes: an array of strings is required"))?;
    if list.is_empty() || list.len() > MAX_LOOKUP_INDEXES {
        return Err(bad(&format!(
            "Invalid look-up indexes: 1 to {MAX_LOOKUP_INDEXES} are allowed"
        )));
    }
    for v in list {
        match v.as_str() {
            Some(s) if is_index(s) => {}
            _ => {
                return Err(ApiError::field(
                    field,
                    &v.to_string(),
                    "Invalid look-up index",
                ))
            }
        }
    }
    Ok(Value::Array(list.clone()).to_string())
}

/// The request of the reads by key: `fio_public_key` and paging.
#[derive(Deserialize)]
struct ByKey {
    fio_public_key: String,
    #[serde(flatten)]
    paging: Paging,
}

pub(crate) fn read(devnet: &Devnet, endpoint: &str, body: &Value) -> Result<Value, ApiError> {
    let conn = devnet.lock();
    match endpoint {
        "priv_get_friend_list" => {
            let p: ByKey = params_of(body)?;
            let owner = fio_key_field("fio_public_key", &p.fio_public_key)?.account_name();
            let (friends, more, total) = page(
                &conn,
                "SELECT fio_public_key_hash, content FROM friends WHERE owner_account = ?1 ORDER BY id LIMIT ?2 OFFSET ?3",
                "SELECT count(*) FROM friends WHERE owner_account = ?1",
                &[&owner],
                p.paging.check()?,
                |r| Ok(json!({"fio_public_key_hash": r.get::<_, String>(0)?, "content": r.get::<_, String>(1)?})),
            )?;
            if total == 0 {
                return Err(ApiError::not_found("No items in friend list"));
            }
            Ok(json!({ "friends": friends, "more": more }))
        }
        "priv_check_friend_list" => {
            #[derive(Deserialize)]
            struct P {
                fio_public_key_hash: String,
            }
            let p: P = params_of(body)?;
            index_field("fio_public_key_hash", &p.fio_public_key_hash)?;
            let found: i64 = conn.query_row(
                "SELECT count(*) FROM friends WHERE fio_public_key_hash = ?1",
                [&p.fio_public_key_hash],
                |r| r.get(0),
            )?;
            Ok(json!({ "is_friend": i64::from(found > 0) }))
        }
        "priv_get_pub_address" => {
            #[derive(Deserialize)]
            struct P {
                fio_public_key_hash: String,
                fio_address: String,
                chain_code: String,
                token_code: String,
            }
            let p: P = params_of(body)?;
            index_field("fio_public_key_hash", &p.fio_public_key_hash)?;
            let address = state::handle(&p.fio_address).ok_or_else(|| {
                ApiError::field("fio_address", &p.fio_address, "Invalid FIO Address")
            })?;
            if !state::valid_chain_code(&p.chain_code) {
                return Err(ApiError::field(
                    "chain_code",
                    &p.chain_code,
                    "Invalid Chain Code",
                ));
            }
            if !state::valid_token_code(&p.token_code) {
                return Err(ApiError::field(
                    "token_code",
                    &p.token_code,
                    "Invalid Token Code",
                ));
            }
            let not_found = || ApiError::not_found("Public address not found");
            let Some(owner) = state::handle_row(&conn, &address)? else {
                return Err(not_found());
            };
            type Nbpa = (i64, String, String, String, String);
            let nbpa: Nbpa = conn
                .query_row(
                    "SELECT key_id, chain_code, public_key_address_level, public_key_chain_level, public_key_nbpa_level FROM priv_nbpas
                     WHERE fio_address = ?1 AND chain_code = ?2 AND token_code = ?3",
                    params![
                        address,
                        p.chain_code.to_ascii_uppercase(),
                        p.token_code.to_ascii_uppercase()
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?
                .ok_or_else(not_found)?;
            let (key_id, chain, at_address, at_chain, at_nbpa) = nbpa;
            // The most specific key granted wins: NBPA, then chain, then address.
            let levels = [
                ("nbpa", key_id.to_string(), at_nbpa),
                ("chain", format!("{address}/{chain}"), at_chain),
                ("address", address.clone(), at_address),
            ];
            for (level, index, public_address) in levels {
                let key: Option<String> = conn
                    .query_row(
                        "SELECT decrypt_key FROM priv_grants WHERE owner_account = ?1 AND fio_public_key_hash = ?2 AND level = ?3 AND level_index = ?4",
                        params![owner.owner_account, p.fio_public_key_hash, level, index],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(decrypt_key) = key {
                    return Ok(
                        json!({ "public_address": public_address, "decrypt_key": decrypt_key }),
                    );
                }
            }
            Err(not_found())
        }
        "priv_get_received_fio_requests" | "priv_get_received_actions" => {
            let paging: Paging = params_of(body)?;
            let list = indexes(body)?;
            let (table, column, group, empty) = if endpoint == "priv_get_received_fio_requests" {
                (
                    "priv_requests",
                    "lookup_index_for_payer",
                    "requests",
                    "No FIO Requests.",
                )
            } else {
                (
                    "priv_actions",
                    "lookup_index_for_payee",
                    "actions",
                    "No Received Actions.",
                )
            };
            let order = if table == "priv_requests" {
                "fio_request_id"
            } else {
                "id"
            };
            let filter = format!("{column} IN (SELECT value FROM json_each(?1))");
            let (rows, more, _) = page(
                &conn,
                &format!(
                    "SELECT * FROM {table} WHERE {filter} ORDER BY {order} LIMIT ?2 OFFSET ?3"
                ),
                &format!("SELECT count(*) FROM {table} WHERE {filter}"),
                &[&list],
                paging.check()?,
                if table == "priv_requests" {
                    request_row
                } else {
                    action_row
                },
            )?;
            if rows.is_empty() && more == 0 {
                return Err(ApiError::not_found(empty));
            }
            Ok(json!({ group: rows, "more": more }))
        }
        "priv_get_sent_fio_requests" => {
            let p: ByKey = params_of(body)?;
            let key = fio_key_field("fio_public_key", &p.fio_public_key)?.to_fio_string();
            let (rows, more, _) = page(
                &conn,
                "SELECT * FROM priv_requests WHERE payee_fio_public_key = ?1 ORDER BY fio_request_id LIMIT ?2 OFFSET ?3",
                "SELECT count(*) FROM priv_requests WHERE payee_fio_public_key = ?1",
                &[&key],
                p.paging.check()?,
                request_row,
            )?;
            if rows.is_empty() && more == 0 {
                return Err(ApiError::not_found("No FIO Requests."));
            }
            Ok(json!({ "requests": rows, "more": more }))
        }
        _ => Err(ApiError::unknown_endpoint()),
    }
}

fn request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    Ok(json!({
        "fio_request_id": r.get::<_, i64>("fio_request_id")?,
        "payee_fio_address": r.get::<_, String>("payee_fio_address")?,
        "payee_fio_public_key": r.get::<_, String>("payee_fio_public_key")?,
        "lookup_index_for_payer": r.get::<_, String>("lookup_index_for_payer")?,
        "content": r.get::<_, String>("content")?,
    }))
}

/// The FIP names the index of a received action `lookup_index_for_payer`;
/// it holds the action's `lookup_index_for_payee`.
fn action_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    Ok(json!({
        "payer_fio_address": r.get::<_, String>("payer_fio_address")?,
        "payer_fio_public_key": r.get::<_, String>("payer_fio_public_key")?,
        "lookup_index_for_payer": r.get::<_, String>("lookup_index_for_payee")?,
        "content": r.get::<_, String>("content")?,
    }))
}
