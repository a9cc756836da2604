//! The FIO node's two families of error answers (fio-chain.md §2.1): FIO
//! errors whose status is embedded in the exception code (400 with fields,
//! 403 with a type, 404 with a message only), and generic EOSIO errors
//! `{"code","message","error":{"code","name","what","details"}}`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// 400 invalid_input with one field.
    Field {
        name: &'static str,
        value: String,
        error: String,
    },
    /// 403 with a type and its message.
    Forbidden { kind: &'static str },
    /// 403 whose body is an exception's text (add_pub_address and the other
    /// action endpoints when the transaction does not unpack).
    ForbiddenText(String),
    /// 404 `{"message"}`.
    NotFound(String),
    /// A generic EOSIO error.
    Eosio {
        status: u16,
        code: u64,
        name: &'static str,
        what: &'static str,
        detail: String,
    },
}

impl ApiError {
    pub fn field(name: &'static str, value: &str, error: &str) -> ApiError {
        ApiError::Field {
            name,
            value: value.to_string(),
            error: error.to_string(),
        }
    }

    /// FIP-3's advisory: a public action on a handle that elected private mode.
    pub fn private_mode(address: &str) -> ApiError {
        ApiError::field(
            "fio_address",
            address,
            "FIO Address only supports private mode: use the priv_ actions",
        )
    }

    pub fn not_found(message: &str) -> ApiError {
        ApiError::NotFound(message.to_string())
    }

    pub fn invalid_signature() -> ApiError {
        ApiError::Forbidden {
            kind: "invalid_signature",
        }
    }

    pub fn invalid_transaction() -> ApiError {
        ApiError::Forbidden {
            kind: "invalid_transaction",
        }
    }

    pub fn invalid_account_or_action() -> ApiError {
        ApiError::Forbidden {
            kind: "invalid_account_or_action",
        }
    }

    fn eosio(
        status: u16,
        code: u64,
        name: &'static str,
        what: &'static str,
        detail: String,
    ) -> ApiError {
        ApiError::Eosio {
            status,
            code,
            name,
            what,
            detail,
        }
    }

    pub fn parse_error(detail: &str) -> ApiError {
        ApiError::eosio(
            500,
            4,
            "parse_error_exception",
            "Parse Error",
            detail.to_string(),
        )
    }

    pub fn unknown_endpoint() -> ApiError {
        ApiError::eosio(
            404,
            0,
            "exception",
            "unspecified",
            "Unknown Endpoint".into(),
        )
    }

    pub fn expired(detail: String) -> ApiError {
        ApiError::eosio(
            500,
            3040005,
            "expired_tx_exception",
            "Expired Transaction",
            detail,
        )
    }

    pub fn expiration_too_far(detail: String) -> ApiError {
        ApiError::eosio(
            500,
            3040006,
            "tx_exp_too_far_exception",
            "Transaction Expiration Too Far",
            detail,
        )
    }

    pub fn invalid_ref_block(detail: String) -> ApiError {
        ApiError::eosio(
            500,
            3040007,
            "invalid_ref_block_exception",
            "Invalid Reference Block",
            detail,
        )
    }

    pub fn duplicate(id: &str) -> ApiError {
        ApiError::eosio(
            409,
            3040008,
            "tx_duplicate",
            "Duplicate transaction",
            format!("duplicate transaction {id}"),
        )
    }

    pub fn invalid_packed(detail: String) -> ApiError {
        ApiError::eosio(
            500,
            3010010,
            "packed_transaction_type_exception",
            "Invalid packed transaction",
            detail,
        )
    }

    pub fn invalid_transaction_field(detail: String) -> ApiError {
        ApiError::eosio(
            500,
            3010006,
            "transaction_type_exception",
            "Invalid transaction",
            detail,
        )
    }

    pub fn unknown_compression(detail: String) -> ApiError {
        ApiError::eosio(
            500,
            3040014,
            "unknown_transaction_compression",
            "Unknown transaction compression",
            detail,
        )
    }

    pub fn invalid_signature_format(detail: String) -> ApiError {
        ApiError::eosio(
            500,
            3010014,
            "signature_type_exception",
            "Invalid signature",
            detail,
        )
    }

    pub fn unsatisfied_authorization(detail: String) -> ApiError {
        ApiError::eosio(
            401,
            3090003,
            "unsatisfied_authorization",
            "Provided keys, permissions, and delays do not satisfy declared authorizations",
            detail,
        )
    }

    pub fn missing_auth(detail: String) -> ApiError {
        ApiError::eosio(
            500,
            3090004,
            "missing_auth_exception",
            "Missing required authority",
            detail,
        )
    }

    pub fn invalid_action_args(detail: String) -> ApiError {
        ApiError::eosio(
            500,
            3050002,
            "invalid_action_args_exception",
            "Invalid Action Arguments",
            detail,
        )
    }

    pub fn storage(detail: String) -> ApiError {
        ApiError::eosio(500, 0, "exception", "unspecified", detail)
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Field { .. } => 400,
            ApiError::Forbidden { .. } | ApiError::ForbiddenText(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Eosio { status, .. } => *status,
        }
    }

    /// The body the node sends.
    pub fn body(&self) -> Value {
        match self {
            ApiError::Field { name, value, error } => json!({
                "type": "invalid_input",
                "message": "An invalid request was sent in, please check the nested errors for details.",
                "fields": [{"name": name, "value": value, "error": error}],
            }),
            ApiError::Forbidden { kind } => json!({
                "type": kind,
                "message": match *kind {
                    "invalid_signature" => "Request signature is not valid or this user is not allowed to sign this transaction.",
                    "invalid_transaction" => "Signed transaction is not valid or is not formatted properly",
                    _ => "Provided account or action is not valid for this endpoint",
                },
            }),
            ApiError::ForbiddenText(text) => Value::String(text.clone()),
            ApiError::NotFound(message) => json!({ "message": message }),
            ApiError::Eosio {
                status,
                code,
                name,
                what,
                detail,
            } => json!({
                "code": status,
                "message": match status {
                    400 => "Unknown Block",
                    401 => "UnAuthorized",
                    404 => "Not Found",
                    409 => "Conflict",
                    _ => "Internal Service Error",
                },
                "error": {
                    "code": code,
                    "name": name,
                    "what": what,
                    "details": [{"message": detail, "file": "fio-devnet", "line_number": 0, "method": name}],
                },
            }),
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::storage(format!("storage: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self {
            ApiError::ForbiddenText(text) => {
                (status, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
            }
            other => (status, Json(other.body())).into_response(),
        }
    }
}
