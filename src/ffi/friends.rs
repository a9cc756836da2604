//! FIP-3 for one wallet: 1:1 over `crate::friends::Friends`. Every call
//! that touches the chain is async and runs on the library's runtime.

use std::future::Future;
use std::sync::Arc;

use super::records::{signed, small, FundsRequestData};
use super::wallet::page_limit;
use super::{runtime, FioPeerError};
use crate::crypto::{NewFundsContent, PrivRecordSendContent, PublicKey, RecordObtDataContent};
use crate::friends::{
    Friend, Friends, FriendsError, Grant, Nbpa, PlacedNbpa, PrivateRequest, ReceivedAction,
    RequestStatus, STATUS_PAID,
};
use crate::sync::CancelToken;

/// A friend on our list.
#[derive(Debug, uniffi::Record)]
pub struct FriendInfo {
    /// Empty when only the key is known (a restored entry of a key that
    /// has no FIO address any more).
    pub fio_address: String,
    pub public_key: String,
    /// The friend's look-up index on our list (FIP-3 `fio_public_key_hash`).
    pub look_up_index: String,
    /// Unix seconds.
    pub added_at: i64,
}

impl From<Friend> for FriendInfo {
    fn from(f: Friend) -> Self {
        FriendInfo {
            fio_address: f.fio_address,
            public_key: f.public_key.to_fio_string(),
            look_up_index: f.look_up_index,
            added_at: f.added_at,
        }
    }
}

/// A native blockchain public address (NBPA).
#[derive(Debug, uniffi::Record)]
pub struct NbpaData {
    pub chain_code: String,
    pub token_code: String,
    pub public_address: String,
}

/// One of our NBPAs as placed on chain.
#[derive(Debug, uniffi::Record)]
pub struct PlacedNbpaInfo {
    pub chain_code: String,
    pub token_code: String,
    pub public_address: String,
    /// The chain's id of it; `None` when the chain did not say.
    pub key_id: Option<i64>,
}

impl From<PlacedNbpa> for PlacedNbpaInfo {
    fn from(p: PlacedNbpa) -> Self {
        PlacedNbpaInfo {
            chain_code: p.chain_code,
            token_code: p.token_code,
            public_address: p.public_address,
            key_id: p.key_id.map(signed),
        }
    }
}

/// What a friend may decrypt (FIP-3's three levels).
#[derive(Debug, uniffi::Enum)]
pub enum GrantScope {
    /// Every NBPA of our FIO address.
    Address,
    /// Every NBPA of one chain, present and future.
    Chain { chain_code: String },
    /// One placed NBPA.
    Nbpa {
        chain_code: String,
        token_code: String,
    },
}

impl From<GrantScope> for Grant {
    fn from(g: GrantScope) -> Self {
        match g {
            GrantScope::Address => Grant::Address,
            GrantScope::Chain { chain_code } => Grant::Chain(chain_code),
            GrantScope::Nbpa {
                chain_code,
                token_code,
            } => Grant::Nbpa {
                chain_code,
                token_code,
            },
        }
    }
}

/// A payment record (FIO's record_obt_data content). In what the chain
/// returns, `status` is `sent_to_blockchain` (paid) or `rejected`; what
/// the app passes to [`FioFriends::pay_request`] and
/// [`FioFriends::record_payment`] is always recorded as
/// `sent_to_blockchain` (a rejection is [`FioFriends::reject_request`]).
#[derive(Debug, uniffi::Record)]
pub struct PaymentRecord {
    pub payer_public_address: String,
    pub payee_public_address: String,
    pub amount: String,
    pub chain_code: String,
    pub token_code: String,
    /// The transaction id on the paid chain.
    pub obt_id: String,
    #[uniffi(default = "sent_to_blockchain")]
    pub status: String,
    #[uniffi(default = None)]
    pub memo: Option<String>,
    #[uniffi(default = None)]
    pub hash: Option<String>,
    #[uniffi(default = None)]
    pub offline_url: Option<String>,
}

impl From<RecordObtDataContent> for PaymentRecord {
    fn from(r: RecordObtDataContent) -> Self {
        PaymentRecord {
            payer_public_address: r.payer_public_address,
            payee_public_address: r.payee_public_address,
            amount: r.amount,
            chain_code: r.chain_code,
            token_code: r.token_code,
            obt_id: r.obt_id,
            status: r.status,
            memo: r.memo,
            hash: r.hash,
            offline_url: r.offline_url,
        }
    }
}

impl From<PaymentRecord> for RecordObtDataContent {
    fn from(r: PaymentRecord) -> Self {
        RecordObtDataContent {
            payer_public_address: r.payer_public_address,
            payee_public_address: r.payee_public_address,
            amount: r.amount,
            chain_code: r.chain_code,
            token_code: r.token_code,
            status: r.status,
            obt_id: r.obt_id,
            memo: r.memo,
            hash: r.hash,
            offline_url: r.offline_url,
        }
    }
}

impl From<FundsRequestData> for NewFundsContent {
    fn from(r: FundsRequestData) -> Self {
        NewFundsContent {
            payee_public_address: r.payee_public_address,
            amount: r.amount,
            chain_code: r.chain_code,
            token_code: r.token_code,
            memo: r.memo,
            hash: r.hash,
            offline_url: r.offline_url,
        }
    }
}

impl From<NewFundsContent> for FundsRequestData {
    fn from(c: NewFundsContent) -> Self {
        FundsRequestData {
            payee_public_address: c.payee_public_address,
            chain_code: c.chain_code,
            token_code: c.token_code,
            amount: c.amount,
            memo: c.memo,
            hash: c.hash,
            offline_url: c.offline_url,
        }
    }
}

/// Where a private request stands.
// Lowered to a buffer at the FFI at once: the size of the variants is moot.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, uniffi::Enum)]
pub enum PrivateRequestStatus {
    Requested,
    /// The payer recorded this payment.
    Paid {
        record: PaymentRecord,
    },
    Rejected,
}

/// A private funds request, decrypted.
#[derive(Debug, uniffi::Record)]
pub struct PrivateRequestInfo {
    /// The chain's id: what pay and reject refer to.
    pub fio_request_id: i64,
    pub payee_fio_address: String,
    pub payee_public_key: String,
    /// As our friend list knows it ('' if unknown).
    pub payer_fio_address: String,
    pub payer_public_key: String,
    pub request: FundsRequestData,
    pub status: PrivateRequestStatus,
}

impl From<PrivateRequest> for PrivateRequestInfo {
    fn from(r: PrivateRequest) -> Self {
        PrivateRequestInfo {
            fio_request_id: signed(r.fio_request_id),
            payee_fio_address: r.payee_fio_address,
            payee_public_key: r.payee_public_key.to_fio_string(),
            payer_fio_address: r.payer_fio_address,
            payer_public_key: r.payer_public_key.to_fio_string(),
            request: r.content.into(),
            status: match r.status {
                RequestStatus::Requested => PrivateRequestStatus::Requested,
                RequestStatus::Paid(record) => PrivateRequestStatus::Paid {
                    record: (*record).into(),
                },
                RequestStatus::Rejected => PrivateRequestStatus::Rejected,
            },
        }
    }
}

impl TryFrom<PrivateRequestInfo> for PrivateRequest {
    type Error = FioPeerError;

    fn try_from(r: PrivateRequestInfo) -> Result<Self, FioPeerError> {
        let key = |field: &str, value: &str| {
            PublicKey::parse(value).map_err(|e| FioPeerError::input(field, value, e))
        };
        let fio_request_id = u64::try_from(r.fio_request_id).map_err(|_| {
            FioPeerError::input(
                "fio_request_id",
                &r.fio_request_id.to_string(),
                "at least 0",
            )
        })?;
        Ok(PrivateRequest {
            fio_request_id,
            payee_public_key: key("payee_public_key", &r.payee_public_key)?,
            payer_public_key: key("payer_public_key", &r.payer_public_key)?,
            payee_fio_address: r.payee_fio_address,
            payer_fio_address: r.payer_fio_address,
            content: r.request.into(),
            status: match r.status {
                PrivateRequestStatus::Requested => RequestStatus::Requested,
                PrivateRequestStatus::Paid { record } => {
                    RequestStatus::Paid(Box::new(record.into()))
                }
                PrivateRequestStatus::Rejected => RequestStatus::Rejected,
            },
        })
    }
}

/// Private requests read from the chain, and how many did not decrypt.
#[derive(Debug, uniffi::Record)]
pub struct PrivateRequests {
    pub items: Vec<PrivateRequestInfo>,
    pub skipped: i32,
}

/// A payment (or rejection) a payer recorded for us.
#[derive(Debug, uniffi::Record)]
pub struct ReceivedPayment {
    pub payer_fio_address: String,
    pub payer_public_key: String,
    pub record: PaymentRecord,
    /// The request it answers, if any.
    pub fio_request_id: Option<i64>,
}

impl From<ReceivedAction> for ReceivedPayment {
    fn from(a: ReceivedAction) -> Self {
        ReceivedPayment {
            payer_fio_address: a.payer_fio_address,
            payer_public_key: a.payer_public_key.to_fio_string(),
            record: a.content.record.into(),
            // The content carries it as text; one that is not a request id
            // answers no request of ours.
            fio_request_id: a.content.fio_request_id.and_then(|id| id.parse().ok()),
        }
    }
}

#[derive(Debug, uniffi::Record)]
pub struct ReceivedPayments {
    pub items: Vec<ReceivedPayment>,
    pub skipped: i32,
}

/// What a restore found on chain.
#[derive(Debug, uniffi::Record)]
pub struct RestoreSummary {
    pub restored: i32,
    /// Entries that were not ours to read.
    pub skipped: i32,
}

impl From<FriendsError> for FioPeerError {
    fn from(e: FriendsError) -> Self {
        match e {
            FriendsError::InvalidInput {
                field,
                value,
                message,
            } => FioPeerError::InvalidInput {
                field: field.to_string(),
                value,
                detail: message,
            },
            e @ (FriendsError::NotAFriend(_)
            | FriendsError::NotOnTheirFriendList(_)
            | FriendsError::NotAddressedToUs(_)
            | FriendsError::UnknownNbpa { .. }) => FioPeerError::NotAllowed {
                detail: e.to_string(),
            },
            FriendsError::Undecryptable => FioPeerError::decryption_failed(),
            FriendsError::Chain(c) => c.into(),
            FriendsError::Store(s) => s.into(),
        }
    }
}

/// FIP-3 friending for one wallet (get it with `FioWallet.friends()`).
#[derive(uniffi::Object)]
pub struct FioFriends {
    inner: Arc<Friends>,
    /// The wallet's: cancelled when it shuts down.
    closing: CancelToken,
}

impl FioFriends {
    pub(crate) fn new(friends: Friends, closing: CancelToken) -> FioFriends {
        FioFriends {
            inner: Arc::new(friends),
            closing,
        }
    }

    /// Runs `op` on the library's runtime; `Closed` at once when the
    /// wallet is (or gets) shut down.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, FioPeerError>
    where
        F: FnOnce(Arc<Friends>) -> Fut,
        Fut: Future<Output = Result<T, FriendsError>> + Send + 'static,
        T: Send + 'static,
    {
        if self.closing.is_cancelled() {
            return Err(FioPeerError::closed());
        }
        let fut = op(self.inner.clone());
        let closing = self.closing.clone();
        runtime()?
            .run(async move {
                tokio::select! {
                    r = fut => r.map_err(FioPeerError::from),
                    _ = closing.cancelled() => Err(FioPeerError::closed()),
                }
            })
            .await
    }
}

#[uniffi::export]
impl FioFriends {
    /// Adds the owner of `fio_address` to our friend list (addfriend).
    pub async fn add_friend(&self, fio_address: String) -> Result<FriendInfo, FioPeerError> {
        let friend = self
            .run(|f| async move { f.add_friend(&fio_address).await })
            .await?;
        Ok(friend.into())
    }

    /// Removes a friend (FIO address or key): the chain drops what we
    /// granted them.
    pub async fn remove_friend(&self, friend: String) -> Result<(), FioPeerError> {
        self.run(|f| async move { f.remove_friend(&friend).await })
            .await
    }

    /// Our friend list as kept locally, a page at a time.
    #[uniffi::method(default(limit = 100, offset = 0))]
    pub fn friends(&self, limit: i32, offset: i32) -> Result<Vec<FriendInfo>, FioPeerError> {
        let limit = u32::try_from(page_limit(limit)?).unwrap_or(u32::MAX);
        let offset = u32::try_from(offset)
            .map_err(|_| FioPeerError::input("offset", &offset.to_string(), "at least 0"))?;
        Ok(self
            .inner
            .friends(limit, offset)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    pub fn friend_count(&self) -> Result<i64, FioPeerError> {
        Ok(signed(self.inner.friend_count()?))
    }

    /// Whether the owner of `fio_address` has us on their friend list.
    pub async fn is_on_friend_list_of(&self, fio_address: String) -> Result<bool, FioPeerError> {
        self.run(|f| async move { f.is_on_friend_list_of(&fio_address).await })
            .await
    }

    /// Rebuilds the friend list from the chain with the key alone.
    pub async fn restore(&self) -> Result<RestoreSummary, FioPeerError> {
        let r = self.run(|f| async move { f.restore().await }).await?;
        Ok(RestoreSummary {
            restored: small(r.restored),
            skipped: small(r.skipped),
        })
    }

    /// Places up to five NBPAs, encrypted at the three levels (privaddadr).
    pub async fn place_nbpas(
        &self,
        nbpas: Vec<NbpaData>,
    ) -> Result<Vec<PlacedNbpaInfo>, FioPeerError> {
        let nbpas: Vec<Nbpa> = nbpas
            .into_iter()
            .map(|n| Nbpa {
                chain_code: n.chain_code,
                token_code: n.token_code,
                public_address: n.public_address,
            })
            .collect();
        let placed = self
            .run(|f| async move { f.place_nbpas(&nbpas).await })
            .await?;
        Ok(placed.into_iter().map(Into::into).collect())
    }

    /// The NBPAs we placed, as kept locally.
    pub fn own_nbpas(&self) -> Result<Vec<PlacedNbpaInfo>, FioPeerError> {
        Ok(self
            .inner
            .own_nbpas()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Grants a friend (FIO address or key) up to five decrypt keys
    /// (privganbpa).
    pub async fn grant(&self, friend: String, scopes: Vec<GrantScope>) -> Result<(), FioPeerError> {
        let grants: Vec<Grant> = scopes.into_iter().map(Into::into).collect();
        self.run(|f| async move { f.grant(&friend, &grants).await })
            .await
    }

    /// The NBPA the owner of `fio_address` placed for a chain and token,
    /// if they granted us a key to it.
    pub async fn lookup_nbpa(
        &self,
        fio_address: String,
        chain_code: String,
        token_code: String,
    ) -> Result<Option<String>, FioPeerError> {
        self.run(|f| async move { f.lookup_nbpa(&fio_address, &chain_code, &token_code).await })
            .await
    }

    /// Private (true) or public mode for our FIO address (setaddpriv).
    pub async fn set_address_private(&self, private: bool) -> Result<(), FioPeerError> {
        self.run(|f| async move { f.set_address_private(private).await })
            .await
    }

    /// Sends a private funds request to `payer_fio_address`, who must have
    /// us on their friend list. Returns the chain's request id (`None`
    /// when the chain already had it).
    pub async fn request_funds(
        &self,
        payer_fio_address: String,
        request: FundsRequestData,
    ) -> Result<Option<i64>, FioPeerError> {
        let content: NewFundsContent = request.into();
        let id = self
            .run(|f| async move { f.request_funds(&payer_fio_address, &content).await })
            .await?;
        Ok(id.map(signed))
    }

    /// Pays a received request: records `record` as `sent_to_blockchain`.
    pub async fn pay_request(
        &self,
        request: PrivateRequestInfo,
        record: PaymentRecord,
    ) -> Result<(), FioPeerError> {
        let request = PrivateRequest::try_from(request)?;
        let record: RecordObtDataContent = record.into();
        self.run(|f| async move { f.pay_request(&request, record).await })
            .await
    }

    /// Rejects a received request.
    pub async fn reject_request(&self, request: PrivateRequestInfo) -> Result<(), FioPeerError> {
        let request = PrivateRequest::try_from(request)?;
        self.run(|f| async move { f.reject_request(&request).await })
            .await
    }

    /// Records a payment to `payee_fio_address` that answers no request.
    pub async fn record_payment(
        &self,
        payee_fio_address: String,
        record: PaymentRecord,
    ) -> Result<(), FioPeerError> {
        let send = PrivRecordSendContent {
            record: RecordObtDataContent {
                status: STATUS_PAID.into(),
                ..record.into()
            },
            fio_request_id: None,
        };
        self.run(|f| async move { f.record_send(&payee_fio_address, &send).await })
            .await
    }

    /// Requests our friends sent us, with their status.
    pub async fn received_requests(&self) -> Result<PrivateRequests, FioPeerError> {
        let r = self
            .run(|f| async move { f.received_requests().await })
            .await?;
        Ok(PrivateRequests {
            items: r.items.into_iter().map(Into::into).collect(),
            skipped: small(r.skipped),
        })
    }

    /// Requests we sent, with their status.
    pub async fn sent_requests(&self) -> Result<PrivateRequests, FioPeerError> {
        let r = self.run(|f| async move { f.sent_requests().await }).await?;
        Ok(PrivateRequests {
            items: r.items.into_iter().map(Into::into).collect(),
            skipped: small(r.skipped),
        })
    }

    /// Payments and rejections payers recorded for us.
    pub async fn received_payments(&self) -> Result<ReceivedPayments, FioPeerError> {
        let r = self
            .run(|f| async move { f.received_actions().await })
            .await?;
        Ok(ReceivedPayments {
            items: r.items.into_iter().map(Into::into).collect(),
            skipped: small(r.skipped),
        })
    }
}
