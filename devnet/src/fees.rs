//! Fees, bundles and balances, and the checks every write shares: `max_fee`
//! and `tpid`, as the FIO contracts make them.

use rusqlite::{params, Connection, OptionalExtension};

use crate::errors::ApiError;
use crate::state;

/// `max_fee` must not be negative; `tpid` must be empty or a FIO address.
pub(crate) fn check_fee_and_tpid(max_fee: i64, tpid: &str) -> Result<(), ApiError> {
    if !tpid.is_empty() && state::handle(tpid).is_none() {
        return Err(ApiError::field(
            "tpid",
            tpid,
            "TPID must be empty or valid FIO address",
        ));
    }
    if max_fee < 0 {
        return Err(ApiError::field(
            "max_fee",
            &max_fee.to_string(),
            "Invalid fee value",
        ));
    }
    Ok(())
}

/// The fee of `endpoint` in SUFs.
pub(crate) fn fee(conn: &Connection, endpoint: &str) -> Result<u64, ApiError> {
    Ok(conn
        .query_row(
            "SELECT fee FROM fees WHERE endpoint = ?1",
            [endpoint],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0) as u64)
}

pub(crate) fn balance(conn: &Connection, account: &str) -> Result<u64, ApiError> {
    Ok(conn
        .query_row(
            "SELECT balance FROM accounts WHERE account = ?1",
            [account],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0) as u64)
}

/// Charges `actor` for one `endpoint` action: one bundled transaction of
/// `bundled` when it has any left, else the fee from the actor's balance.
/// Returns the fee collected.
pub(crate) fn charge(
    conn: &Connection,
    endpoint: &str,
    max_fee: i64,
    actor: &str,
    bundled: Option<&str>,
) -> Result<u64, ApiError> {
    if let Some(address) = bundled {
        let used = conn.execute(
            "UPDATE addresses SET bundles = bundles - 1 WHERE fio_address = ?1 AND bundles > 0",
            [address],
        )?;
        if used == 1 {
            return Ok(0);
        }
    }
    let fee = fee(conn, endpoint)?;
    if fee > max_fee.max(0) as u64 {
        return Err(ApiError::field(
            "max_fee",
            &max_fee.to_string(),
            "Fee exceeds supplied maximum",
        ));
    }
    if fee == 0 {
        return Ok(0);
    }
    if balance(conn, actor)? < fee {
        return Err(ApiError::field(
            "max_fee",
            &max_fee.to_string(),
            "Insufficient funds to cover fee",
        ));
    }
    conn.execute(
        "UPDATE accounts SET balance = balance - ?2 WHERE account = ?1",
        params![actor, fee as i64],
    )?;
    Ok(fee)
}
