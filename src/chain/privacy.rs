//! FIP-3's chain side as fio-peer speaks it: the `fio.privacy` contract's
//! actions (their ABI is docs/protocol.md §3.5) and the twelve `priv_*`
//! endpoints. Write endpoints take a signed transaction of one action, as
//! FIO's `add_pub_address` does; read endpoints take the FIP's JSON.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::abi::{AbiError, AbiField, Reader, Writer};
use super::client::{ChainClient, ChainError, PushResult};
use super::name::Name;
use super::transaction::{Action, PermissionLevel};
use crate::crypto::PrivateKey;

/// The account of the FIP-3 contract.
pub const PRIVACY_CONTRACT: &str = "fio.privacy";

/// A struct of ABI fields packed in declaration order (the order of the
/// FIP's request tables).
macro_rules! abi_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }

        impl AbiField for $name {
            fn write(&self, w: &mut Writer) {
                $(self.$field.write(w);)*
            }
            fn read(r: &mut Reader<'_>, _: &'static str) -> Result<Self, AbiError> {
                Ok($name { $($field: AbiField::read(r, stringify!($field))?),* })
            }
        }
    };
}

abi_struct!(
    /// `addfriend` (/priv_add_friend).
    AddFriend {
        fio_public_key_hash: String,
        content: String,
        max_fee: i64,
        tpid: String,
        actor: Name,
    }
);

abi_struct!(
    /// `removefriend` (/priv_remove_friend).
    RemoveFriend {
        fio_public_key_hash: String,
        max_fee: i64,
        tpid: String,
        actor: Name,
    }
);

abi_struct!(
    /// One NBPA of `privaddadr`, encrypted at the three levels.
    PrivPublicAddress {
        chain_code: String,
        token_code: String,
        public_key_address_level: String,
        public_key_chain_level: String,
        public_key_nbpa_level: String,
    }
);

abi_struct!(
    /// `privaddadr` (/priv_add_pub_address).
    PrivAddAddress {
        fio_address: String,
        public_addresses: Vec<PrivPublicAddress>,
        max_fee: i64,
        tpid: String,
        actor: Name,
    }
);

abi_struct!(
    /// One granted key of `privganbpa`: `level` is "address", "chain" or
    /// "nbpa"; `level_index` the FIO address, "fio_address/CHAIN", or the
    /// NBPA's key id.
    DecryptKey {
        level: String,
        level_index: String,
        decrypt_key: String,
    }
);

abi_struct!(
    /// `privganbpa` (/priv_grant_pub_address_access).
    PrivGrantAccess {
        fio_public_key_hash: String,
        decrypt_keys: Vec<DecryptKey>,
        max_fee: i64,
        tpid: String,
        actor: Name,
    }
);

abi_struct!(
    /// `privfundsreq` (/priv_new_funds_request).
    PrivFundsRequest {
        payee_fio_address: String,
        payee_fio_public_key: String,
        lookup_index_for_payer: String,
        content: String,
        max_fee: i64,
        tpid: String,
        actor: Name,
    }
);

abi_struct!(
    /// `privrecsend` (/priv_record_send_action).
    PrivRecordSend {
        payer_fio_address: String,
        payer_fio_public_key: String,
        lookup_index_for_payee: String,
        content: String,
        max_fee: i64,
        tpid: String,
        actor: Name,
    }
);

abi_struct!(
    /// `setaddpriv` (/set_fio_address_privacy): 0 public, 1 private.
    SetAddressPrivacy {
        fio_address: String,
        privacy: i64,
        max_fee: i64,
        tpid: String,
        actor: Name,
    }
);

/// One `fio.privacy` action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrivacyAction {
    AddFriend(AddFriend),
    RemoveFriend(RemoveFriend),
    AddAddress(PrivAddAddress),
    GrantAccess(PrivGrantAccess),
    FundsRequest(PrivFundsRequest),
    RecordSend(PrivRecordSend),
    SetPrivacy(SetAddressPrivacy),
}

/// (action name, endpoint) of every `fio.privacy` action.
pub const PRIVACY_ACTIONS: &[(&str, &str)] = &[
    ("addfriend", "priv_add_friend"),
    ("removefriend", "priv_remove_friend"),
    ("privaddadr", "priv_add_pub_address"),
    ("privganbpa", "priv_grant_pub_address_access"),
    ("privfundsreq", "priv_new_funds_request"),
    ("privrecsend", "priv_record_send_action"),
    ("setaddpriv", "set_fio_address_privacy"),
];

impl PrivacyAction {
    pub fn name(&self) -> &'static str {
        PRIVACY_ACTIONS[self.index()].0
    }

    /// The endpoint under /v1/chain/ that takes this action.
    pub fn endpoint(&self) -> &'static str {
        PRIVACY_ACTIONS[self.index()].1
    }

    fn index(&self) -> usize {
        match self {
            PrivacyAction::AddFriend(_) => 0,
            PrivacyAction::RemoveFriend(_) => 1,
            PrivacyAction::AddAddress(_) => 2,
            PrivacyAction::GrantAccess(_) => 3,
            PrivacyAction::FundsRequest(_) => 4,
            PrivacyAction::RecordSend(_) => 5,
            PrivacyAction::SetPrivacy(_) => 6,
        }
    }

    pub fn actor(&self) -> Name {
        match self {
            PrivacyAction::AddFriend(a) => a.actor,
            PrivacyAction::RemoveFriend(a) => a.actor,
            PrivacyAction::AddAddress(a) => a.actor,
            PrivacyAction::GrantAccess(a) => a.actor,
            PrivacyAction::FundsRequest(a) => a.actor,
            PrivacyAction::RecordSend(a) => a.actor,
            PrivacyAction::SetPrivacy(a) => a.actor,
        }
    }

    /// The action data as the FIP's request JSON.
    pub fn to_json(&self) -> Value {
        match self {
            PrivacyAction::AddFriend(a) => serde_json::to_value(a),
            PrivacyAction::RemoveFriend(a) => serde_json::to_value(a),
            PrivacyAction::AddAddress(a) => serde_json::to_value(a),
            PrivacyAction::GrantAccess(a) => serde_json::to_value(a),
            PrivacyAction::FundsRequest(a) => serde_json::to_value(a),
            PrivacyAction::RecordSend(a) => serde_json::to_value(a),
            PrivacyAction::SetPrivacy(a) => serde_json::to_value(a),
        }
        .expect("plain data serializes")
    }

    /// Action `name` from the FIP's request JSON (every field, no others).
    pub fn from_json(name: &str, v: &Value) -> Result<PrivacyAction, serde_json::Error> {
        fn de<T: for<'de> Deserialize<'de>>(v: &Value) -> Result<T, serde_json::Error> {
            T::deserialize(v)
        }
        Ok(match name {
            "addfriend" => PrivacyAction::AddFriend(de(v)?),
            "removefriend" => PrivacyAction::RemoveFriend(de(v)?),
            "privaddadr" => PrivacyAction::AddAddress(de(v)?),
            "privganbpa" => PrivacyAction::GrantAccess(de(v)?),
            "privfundsreq" => PrivacyAction::FundsRequest(de(v)?),
            "privrecsend" => PrivacyAction::RecordSend(de(v)?),
            "setaddpriv" => PrivacyAction::SetPrivacy(de(v)?),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "{other} is not a {PRIVACY_CONTRACT} action"
                )))
            }
        })
    }

    /// The action data.
    pub fn pack(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            PrivacyAction::AddFriend(a) => a.write(&mut w),
            PrivacyAction::RemoveFriend(a) => a.write(&mut w),
            PrivacyAction::AddAddress(a) => a.write(&mut w),
            PrivacyAction::GrantAccess(a) => a.write(&mut w),
            PrivacyAction::FundsRequest(a) => a.write(&mut w),
            PrivacyAction::RecordSend(a) => a.write(&mut w),
            PrivacyAction::SetPrivacy(a) => a.write(&mut w),
        }
        w.bytes
    }

    /// Reads the data of action `name`; every byte must be used.
    pub fn unpack(name: &str, data: &[u8]) -> Result<PrivacyAction, AbiError> {
        fn read<T: AbiField>(data: &[u8]) -> Result<T, AbiError> {
            let mut r = Reader::new(data);
            let v = T::read(&mut r, "data")?;
            r.finish()?;
            Ok(v)
        }
        Ok(match name {
            "addfriend" => PrivacyAction::AddFriend(read(data)?),
            "removefriend" => PrivacyAction::RemoveFriend(read(data)?),
            "privaddadr" => PrivacyAction::AddAddress(read(data)?),
            "privganbpa" => PrivacyAction::GrantAccess(read(data)?),
            "privfundsreq" => PrivacyAction::FundsRequest(read(data)?),
            "privrecsend" => PrivacyAction::RecordSend(read(data)?),
            "setaddpriv" => PrivacyAction::SetPrivacy(read(data)?),
            other => {
                return Err(AbiError::Invalid {
                    field: "name",
                    why: format!("{other} is not a {PRIVACY_CONTRACT} action"),
                })
            }
        })
    }

    /// The action on [`PRIVACY_CONTRACT`], authorized by `actor@active`.
    pub fn action(&self) -> Action {
        Action {
            account: Name::parse(PRIVACY_CONTRACT).expect("valid name"),
            name: Name::parse(self.name()).expect("valid name"),
            authorization: vec![PermissionLevel::active(self.actor())],
            data: self.pack(),
        }
    }
}

/// The contract's answer to a write: `status`, `fee_collected`, and the id
/// the action created (`key_id` of privaddadr, `fio_request_id` of privfundsreq).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyResponse {
    pub status: String,
    #[serde(default, deserialize_with = "super::client::flex_u64")]
    pub fee_collected: u64,
    #[serde(
        default,
        deserialize_with = "super::client::flex_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub key_id: Option<u64>,
    #[serde(
        default,
        deserialize_with = "super::client::flex_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub fio_request_id: Option<u64>,
}

/// One entry of a friend list as the chain holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FriendListEntry {
    pub fio_public_key_hash: String,
    pub content: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FriendListPage {
    pub friends: Vec<FriendListEntry>,
    pub more: u64,
}

/// A private funds request as the chain holds it. `fio_request_id` is not
/// in the FIP's response table; the chain returns it because the payer's
/// send action names the request it answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivRequestRecord {
    pub fio_request_id: u64,
    pub payee_fio_address: String,
    pub payee_fio_public_key: String,
    pub lookup_index_for_payer: String,
    pub content: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivRequestsPage {
    pub requests: Vec<PrivRequestRecord>,
    pub more: u64,
}

/// A send action as the chain holds it. The FIP names the index field
/// `lookup_index_for_payer`; it carries the action's `lookup_index_for_payee`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivActionRecord {
    pub payer_fio_address: String,
    pub payer_fio_public_key: String,
    pub lookup_index_for_payer: String,
    pub content: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivActionsPage {
    pub actions: Vec<PrivActionRecord>,
    pub more: u64,
}

/// What /priv_get_pub_address answers: the NBPA at the level of the most
/// specific key granted, and that key, encrypted for the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivPubAddress {
    pub public_address: String,
    pub decrypt_key: String,
}

/// Paging of the list endpoints; `None` limit means all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub limit: Option<u32>,
    pub offset: u32,
}

impl Page {
    fn body(self, mut v: Value) -> Value {
        if let Some(limit) = self.limit {
            v["limit"] = json!(limit);
        }
        v["offset"] = json!(self.offset);
        v
    }
}

impl ChainClient {
    /// Signs `action` with `key` and pushes it to its endpoint. The
    /// contract's response is parsed; a 409 (this exact transaction already
    /// accepted) gives an `OK` response without its ids.
    pub async fn push_privacy(
        &self,
        key: &PrivateKey,
        action: PrivacyAction,
    ) -> Result<(PushResult, PrivacyResponse), ChainError> {
        let result = self
            .sign_and_push(action.endpoint(), action.action(), key)
            .await?;
        let response = match &result.response {
            Some(text) => serde_json::from_str(text).map_err(|e| ChainError::InvalidResponse {
                node: action.endpoint().into(),
                detail: format!("contract response {text:?}: {e}"),
            })?,
            None => PrivacyResponse {
                status: "OK".into(),
                ..Default::default()
            },
        };
        Ok((result, response))
    }

    /// /priv_get_friend_list of the owner of `fio_public_key`; an empty list
    /// (the chain's 404) is an empty page.
    pub async fn priv_get_friend_list(
        &self,
        fio_public_key: &str,
        page: Page,
    ) -> Result<FriendListPage, ChainError> {
        let body = page.body(json!({ "fio_public_key": fio_public_key }));
        self.read_or_empty("priv_get_friend_list", body).await
    }

    /// /priv_check_friend_list: whether `fio_public_key_hash` is on *any*
    /// list. Indexes are public once used, so this cannot tell whose list;
    /// read the owner's list to know (docs/protocol.md §3.4).
    pub async fn priv_check_friend_list(
        &self,
        fio_public_key_hash: &str,
    ) -> Result<bool, ChainError> {
        #[derive(Deserialize)]
        struct R {
            is_friend: u8,
        }
        let v = self
            .read(
                "priv_check_friend_list",
                json!({ "fio_public_key_hash": fio_public_key_hash }),
            )
            .await?;
        super::client::parse::<R>("priv_check_friend_list", v).map(|r| r.is_friend == 1)
    }

    /// /priv_get_pub_address; `None` when nothing is granted or placed.
    pub async fn priv_get_pub_address(
        &self,
        fio_public_key_hash: &str,
        fio_address: &str,
        chain_code: &str,
        token_code: &str,
    ) -> Result<Option<PrivPubAddress>, ChainError> {
        let body = json!({
            "fio_public_key_hash": fio_public_key_hash,
            "fio_address": fio_address,
            "chain_code": chain_code,
            "token_code": token_code,
        });
        match self.read("priv_get_pub_address", body).await {
            Ok(v) => super::client::parse("priv_get_pub_address", v).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// /priv_get_received_fio_requests for these look-up indexes.
    pub async fn priv_get_received_fio_requests(
        &self,
        lookup_indexes_for_payer: &[String],
        page: Page,
    ) -> Result<PrivRequestsPage, ChainError> {
        let body = page.body(json!({ "lookup_indexes_for_payer": lookup_indexes_for_payer }));
        self.read_or_empty("priv_get_received_fio_requests", body)
            .await
    }

    /// /priv_get_sent_fio_requests of the payee key `fio_public_key`.
    pub async fn priv_get_sent_fio_requests(
        &self,
        fio_public_key: &str,
        page: Page,
    ) -> Result<PrivRequestsPage, ChainError> {
        let body = page.body(json!({ "fio_public_key": fio_public_key }));
        self.read_or_empty("priv_get_sent_fio_requests", body).await
    }

    /// /priv_get_received_actions for these look-up indexes (the actions'
    /// `lookup_index_for_payee` values, under the FIP's field name).
    pub async fn priv_get_received_actions(
        &self,
        lookup_indexes: &[String],
        page: Page,
    ) -> Result<PrivActionsPage, ChainError> {
        let body = page.body(json!({ "lookup_indexes_for_payer": lookup_indexes }));
        self.read_or_empty("priv_get_received_actions", body).await
    }

    async fn read_or_empty<T: for<'de> Deserialize<'de> + Default>(
        &self,
        endpoint: &'static str,
        body: Value,
    ) -> Result<T, ChainError> {
        match self.read(endpoint, body).await {
            Ok(v) => super::client::parse(endpoint, v),
            Err(e) if e.is_not_found() => Ok(T::default()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_and_refuses_trailing_or_missing_bytes() {
        let actor = Name::parse("aftyershcu22").unwrap();
        let actions = vec![
            PrivacyAction::AddFriend(AddFriend {
                fio_public_key_hash: "0x00".into(),
                content: "c".into(),
                max_fee: 5,
                tpid: String::new(),
                actor,
            }),
            PrivacyAction::AddAddress(PrivAddAddress {
                fio_address: "a@b".into(),
                public_addresses: vec![PrivPublicAddress {
                    chain_code: "BTC".into(),
                    token_code: "BTC".into(),
                    public_key_address_level: "x".into(),
                    public_key_chain_level: "y".into(),
                    public_key_nbpa_level: "z".into(),
                }],
                max_fee: 0,
                tpid: "t@b".into(),
                actor,
            }),
            PrivacyAction::GrantAccess(PrivGrantAccess {
                fio_public_key_hash: "0x01".into(),
                decrypt_keys: vec![],
                max_fee: -1,
                tpid: String::new(),
                actor,
            }),
        ];
        for a in actions {
            let data = a.pack();
            assert_eq!(PrivacyAction::unpack(a.name(), &data).unwrap(), a);
            let mut longer = data.clone();
            longer.push(0);
            assert!(PrivacyAction::unpack(a.name(), &longer).is_err());
            assert!(PrivacyAction::unpack(a.name(), &data[..data.len() - 1]).is_err());
        }
        // Ids and fees as numbers or (the FIP's example) decimal strings.
        let r: PrivacyResponse =
            serde_json::from_str(r#"{"fio_request_id": "10", "status": "OK", "fee_collected": 0}"#)
                .unwrap();
        assert_eq!((r.fio_request_id, r.key_id), (Some(10), None));
        let r: PrivacyResponse = serde_json::from_str(
            r#"{"status": "OK", "key_id": 1000000, "fee_collected": "2000000000"}"#,
        )
        .unwrap();
        assert_eq!(
            (r.key_id, r.fee_collected),
            (Some(1_000_000), 2_000_000_000)
        );
        assert!(
            serde_json::from_str::<PrivacyResponse>(r#"{"status": "OK", "key_id": -1}"#).is_err()
        );
        // A forged element count fails without allocating for it.
        let mut forged = Writer::new();
        forged.string("a@b").varuint32(u32::MAX);
        assert!(PrivacyAction::unpack("privaddadr", &forged.bytes).is_err());
        assert!(PrivacyAction::unpack("nosuchaction", &[]).is_err());
    }
}
