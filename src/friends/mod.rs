//! FIP-3 friending, the wallet side: a friend list kept on chain (and
//! restorable from the key alone), private NBPAs granted per friend, and
//! private funds requests whose counterparties chain observers cannot see.
//!
//! [`Friends`] talks to any node that implements FIP-3's `priv_*` endpoints
//! (fio-devnet does) through the [`ChainClient`], and keeps its working copy
//! in the wallet's database. Each pair's shared secret and indexes are
//! derived once per process and cached, so no call repeats an ECDH.
//! Constructions: [`secrets`] and docs/protocol.md §3.

pub mod secrets;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::chain::{
    AddFriend, ChainClient, ChainError, DecryptKey, FriendListEntry, Name, Page, PrivAddAddress,
    PrivFundsRequest, PrivGrantAccess, PrivPublicAddress, PrivRecordSend, PrivRequestRecord,
    PrivacyAction, PrivacyResponse, RemoveFriend, SetAddressPrivacy,
};
use crate::crypto::{
    decrypt_fip3_content, encrypt_fip3_content, FriendContent, NewFundsContent,
    PrivRecordSendContent, PrivateKey, PublicKey, RecordObtDataContent, SharedSecret,
};
use crate::protocol::FioAddress;
use crate::store::StoreError;
use crate::wallet::Wallet;

pub use secrets::{
    backup_secret, decrypt_friend, encrypt_friend, is_index, look_up_index, request_index,
    LevelKey, WalletSecret,
};
pub use store::{Friend, PlacedNbpa};

/// Look-up indexes per read request: one batch holds a 1,000-friend wallet.
pub const INDEX_BATCH: usize = 1000;
/// Records per page when reading lists from the chain.
const PAGE: u32 = 1000;
/// Pairs whose secrets a [`Friends`] keeps at most.
pub const MAX_CACHED_PAIRS: usize = 100_000;
/// NBPAs per privaddadr, decrypt keys per privganbpa (the FIP's maximum).
pub const MAX_PER_CALL: usize = 5;

/// Status of a send action: the payer paid.
pub const STATUS_PAID: &str = "sent_to_blockchain";
/// Status of a send action: the payer rejected the request.
pub const STATUS_REJECTED: &str = "rejected";

/// Fee settings of the actions a [`Friends`] pushes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FriendsConfig {
    /// Most SUFs an action may cost (the FIP's `max_fee`).
    pub max_fee: i64,
    /// The `tpid` of every action: a FIO address, or empty.
    pub tpid: String,
}

impl Default for FriendsConfig {
    fn default() -> Self {
        FriendsConfig {
            max_fee: 2_000_000_000,
            tpid: String::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FriendsError {
    /// A value the caller passed is not valid.
    #[error("invalid {field} {value:?}: {message}")]
    InvalidInput {
        field: &'static str,
        value: String,
        message: String,
    },
    /// The friend is not on our list (add them first).
    #[error("{0} is not on our friend list")]
    NotAFriend(String),
    /// We are not on the payer's list, so the payer would never look for
    /// our request.
    #[error("we are not on the friend list of {0}")]
    NotOnTheirFriendList(String),
    /// A pay or reject of a request we did not receive (one we sent, say):
    /// it would record a payment to ourselves.
    #[error("request {0} is not addressed to us")]
    NotAddressedToUs(u64),
    /// An NBPA-level grant names an NBPA we have not placed.
    #[error("no NBPA of ours for {chain_code}/{token_code}; place it first")]
    UnknownNbpa {
        chain_code: String,
        token_code: String,
    },
    /// Something granted to us does not decrypt: the one error for every
    /// decryption failure.
    #[error("decryption failed")]
    Undecryptable,
    /// The chain refused or could not be reached.
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for FriendsError {
    fn from(e: rusqlite::Error) -> Self {
        FriendsError::Store(StoreError::Sqlite(e))
    }
}

fn invalid(field: &'static str, value: &str, message: &str) -> FriendsError {
    FriendsError::InvalidInput {
        field,
        value: value.to_string(),
        message: message.to_string(),
    }
}

/// A `tpid` must be empty or a FIO address (the FIP's rule).
pub fn check_tpid(tpid: &str) -> Result<(), FriendsError> {
    if !tpid.is_empty() && FioAddress::parse(tpid).is_none() {
        return Err(invalid(
            "tpid",
            tpid,
            "TPID must be empty or valid FIO address",
        ));
    }
    Ok(())
}

/// One NBPA to place: the chain and token codes stay readable, the address
/// is encrypted at the three levels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nbpa {
    pub chain_code: String,
    pub token_code: String,
    pub public_address: String,
}

/// What to grant a friend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Every NBPA of our FIO address.
    Address,
    /// Every NBPA of this chain, present and future.
    Chain(String),
    /// This one placed NBPA.
    Nbpa {
        chain_code: String,
        token_code: String,
    },
}

/// Where a private request stands, from joining it with the send actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestStatus {
    Requested,
    /// The payer recorded a payment (`sent_to_blockchain`).
    Paid(Box<RecordObtDataContent>),
    Rejected,
}

/// A private funds request, decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateRequest {
    pub fio_request_id: u64,
    pub payee_fio_address: String,
    pub payee_public_key: PublicKey,
    /// The payer's FIO address as our friend list knows it ('' if unknown).
    pub payer_fio_address: String,
    pub payer_public_key: PublicKey,
    pub content: NewFundsContent,
    pub status: RequestStatus,
}

/// A send action a payer recorded for us, decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedAction {
    pub payer_fio_address: String,
    pub payer_public_key: PublicKey,
    pub content: PrivRecordSendContent,
}

/// Records read from the chain: those that decrypted, and how many were
/// skipped because they did not (wrong key, tampered, not for us).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched<T> {
    pub items: Vec<T>,
    pub skipped: u32,
}

/// What [`Friends::restore`] found on chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    pub restored: u32,
    /// Entries that did not decrypt with our key or whose index did not
    /// match the key inside.
    pub skipped: u32,
}

/// Everything derived from one pair's shared secret.
struct Pair {
    /// The fiojs secret first, then the padded form when it differs.
    secrets: Vec<SharedSecret>,
    /// Them on our friend list.
    their_look_up_index: String,
    /// Us on their friend list.
    our_look_up_index: String,
    /// How we find what they leave for us (requests, actions).
    index_for_us: String,
    /// How they find what we leave for them.
    index_for_them: String,
}

impl Pair {
    fn derive(own: &PrivateKey, them: &PublicKey) -> Pair {
        let secrets = own.shared_secret_candidates(them);
        let s = &secrets[0];
        Pair {
            their_look_up_index: look_up_index(s, them),
            our_look_up_index: look_up_index(s, own.public_key()),
            index_for_us: request_index(s, own.public_key()),
            index_for_them: request_index(s, them),
            secrets,
        }
    }
}

/// FIP-3 for one wallet. Cheap to share behind an `Arc`; methods take `&self`.
pub struct Friends {
    wallet: Arc<Wallet>,
    chain: ChainClient,
    config: FriendsConfig,
    key: PrivateKey,
    address: FioAddress,
    actor: Name,
    wallet_secret: WalletSecret,
    pairs: Mutex<HashMap<[u8; 33], Arc<Pair>>>,
}

impl Friends {
    pub fn new(
        wallet: Arc<Wallet>,
        chain: ChainClient,
        config: FriendsConfig,
    ) -> Result<Friends, FriendsError> {
        check_tpid(&config.tpid)?;
        if config.max_fee < 0 {
            return Err(invalid(
                "max_fee",
                &config.max_fee.to_string(),
                "Invalid fee value",
            ));
        }
        let key = wallet.private_key()?;
        let actor = Name::parse(&key.public_key().account_name())
            .map_err(|e| invalid("actor", &key.public_key().account_name(), &e.to_string()))?;
        Ok(Friends {
            address: wallet.fio_address(),
            wallet_secret: WalletSecret::derive(&key),
            key,
            actor,
            wallet,
            chain,
            config,
            pairs: Mutex::new(HashMap::new()),
        })
    }

    /// The pair with `them`, derived once and cached (the cache is emptied
    /// when it reaches [`MAX_CACHED_PAIRS`]).
    fn pair(&self, them: &PublicKey) -> Arc<Pair> {
        let mut pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner());
        if pairs.len() >= MAX_CACHED_PAIRS && !pairs.contains_key(them.as_bytes()) {
            pairs.clear();
        }
        pairs
            .entry(*them.as_bytes())
            .or_insert_with(|| Arc::new(Pair::derive(&self.key, them)))
            .clone()
    }

    /// Forgets the cached pair secrets (they are derived again on use).
    pub fn clear_secret_cache(&self) {
        self.pairs.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    async fn push(&self, action: PrivacyAction) -> Result<PrivacyResponse, FriendsError> {
        Ok(self.chain.push_privacy(&self.key, action).await?.1)
    }

    async fn key_of(&self, fio_address: &str) -> Result<(FioAddress, PublicKey), FriendsError> {
        let address = FioAddress::parse(fio_address)
            .ok_or_else(|| invalid("fio_address", fio_address, "Invalid FIO Address"))?;
        let key = self.chain.fio_public_key(&address).await?;
        Ok((address, key))
    }

    // ---- friend list ----

    /// Adds the owner of `fio_address` to our friend list (addfriend), with
    /// the entry encrypted to ourselves so the list can be restored. Adding
    /// a friend already on the list on chain only records them locally.
    pub async fn add_friend(&self, fio_address: &str) -> Result<Friend, FriendsError> {
        let (address, key) = self.key_of(fio_address).await?;
        self.add_friend_key(&key, address.as_str()).await
    }

    /// Adds the friend `key` (their FIO address, or '' if unknown).
    pub async fn add_friend_key(
        &self,
        key: &PublicKey,
        fio_address: &str,
    ) -> Result<Friend, FriendsError> {
        if key == self.key.public_key() {
            return Err(invalid(
                "public_key",
                &key.to_fio_string(),
                "a wallet cannot befriend itself",
            ));
        }
        let pair = self.pair(key);
        let content = encrypt_friend(
            &self.key,
            &FriendContent {
                fio_address: fio_address.to_string(),
                public_key: key.to_fio_string(),
            },
        );
        let pushed = self
            .push(PrivacyAction::AddFriend(AddFriend {
                fio_public_key_hash: pair.their_look_up_index.clone(),
                content,
                max_fee: self.config.max_fee,
                tpid: self.config.tpid.clone(),
                actor: self.actor,
            }))
            .await;
        match pushed {
            Ok(_) => {}
            Err(FriendsError::Chain(e))
                if chain_says(&e, "FIO public key already in Friend List") =>
            {
                // Already on the list on chain (an earlier call whose answer
                // was lost): only the local copy is missing.
            }
            Err(e) => return Err(e),
        }
        let friend = Friend {
            public_key: *key,
            fio_address: fio_address.to_string(),
            look_up_index: pair.their_look_up_index.clone(),
            added_at: crate::wallet::now(),
        };
        self.wallet.with_db(|c| store::upsert_friend(c, &friend))?;
        Ok(self
            .wallet
            .with_db(|c| store::find_friend(c, &key.to_fio_string()))?
            .unwrap_or(friend))
    }

    /// Removes a friend (by FIO address or FIO key) from our list on chain
    /// (removefriend; the chain drops what we granted them) and locally.
    pub async fn remove_friend(&self, friend: &str) -> Result<(), FriendsError> {
        let found = self.wallet.read_db(|c| store::find_friend(c, friend))?;
        let friend = found.ok_or_else(|| FriendsError::NotAFriend(friend.to_string()))?;
        let pushed = self
            .push(PrivacyAction::RemoveFriend(RemoveFriend {
                fio_public_key_hash: friend.look_up_index.clone(),
                max_fee: self.config.max_fee,
                tpid: self.config.tpid.clone(),
                actor: self.actor,
            }))
            .await;
        match pushed {
            Ok(_) => {}
            // Not on the list on chain any more: finish locally.
            Err(FriendsError::Chain(e)) if chain_says(&e, "FIO public key not in Friend List") => {}
            Err(e) => return Err(e),
        }
        self.wallet
            .with_db(|c| store::delete_friend(c, &friend.public_key))?;
        Ok(())
    }

    /// Our friends in the order they were added.
    pub fn friends(&self, limit: u32, offset: u32) -> Result<Vec<Friend>, FriendsError> {
        Ok(self.wallet.read_db(|c| store::friends(c, limit, offset))?)
    }

    pub fn friend_count(&self) -> Result<u64, FriendsError> {
        Ok(self.wallet.read_db(store::friend_count)?)
    }

    /// Whether the owner of `fio_address` has us on their friend list.
    pub async fn is_on_friend_list_of(&self, fio_address: &str) -> Result<bool, FriendsError> {
        let (_, key) = self.key_of(fio_address).await?;
        self.on_list_of(&key).await
    }

    /// Whether our look-up index is on `owner`'s own list. Reading the
    /// owner's list, not asking whether the index is on any list: indexes
    /// are public once used, and anyone could copy ours onto their list.
    async fn on_list_of(&self, owner: &PublicKey) -> Result<bool, FriendsError> {
        let ours = self.pair(owner).our_look_up_index.clone();
        let entries = self.friend_list(owner).await?;
        Ok(entries.iter().any(|e| e.fio_public_key_hash == ours))
    }

    /// Every row a read by look-up indexes returns: the indexes go in
    /// batches of [`INDEX_BATCH`], each read to its last page.
    async fn in_batches<T, F, Fut>(
        &self,
        indexes: &[String],
        fetch: F,
    ) -> Result<Vec<T>, FriendsError>
    where
        F: Fn(ChainClient, Vec<String>, Page) -> Fut,
        Fut: std::future::Future<Output = Result<(Vec<T>, u64), ChainError>>,
    {
        let mut rows = Vec::new();
        for batch in indexes.chunks(INDEX_BATCH) {
            let page =
                all_pages(|offset| fetch(self.chain.clone(), batch.to_vec(), page_at(offset)))
                    .await?;
            rows.extend(page);
        }
        Ok(rows)
    }

    /// Every entry of `owner`'s friend list on chain.
    async fn friend_list(&self, owner: &PublicKey) -> Result<Vec<FriendListEntry>, FriendsError> {
        let owner = owner.to_fio_string();
        all_pages(|offset| {
            let owner = owner.clone();
            async move {
                let page = self
                    .chain
                    .priv_get_friend_list(&owner, page_at(offset))
                    .await?;
                Ok((page.friends, page.more))
            }
        })
        .await
    }

    /// Rebuilds the local friend list from the chain with the key alone
    /// (after restoring a wallet from its seed phrase).
    pub async fn restore(&self) -> Result<RestoreReport, FriendsError> {
        let entries = self.friend_list(self.key.public_key()).await?;
        let mut report = RestoreReport::default();
        for entry in &entries {
            match self.restored_friend(&entry.fio_public_key_hash, &entry.content) {
                Some(friend) => {
                    self.wallet.with_db(|c| store::upsert_friend(c, &friend))?;
                    report.restored += 1;
                }
                None => report.skipped += 1,
            }
        }
        Ok(report)
    }

    /// A backup entry, if it opens with our key and its index is the one
    /// of the key inside.
    fn restored_friend(&self, hash: &str, content: &str) -> Option<Friend> {
        let entry = decrypt_friend(&self.key, content).ok()?;
        let key = PublicKey::parse(&entry.public_key).ok()?;
        let pair = self.pair(&key);
        if pair.their_look_up_index != hash {
            return None;
        }
        Some(Friend {
            public_key: key,
            fio_address: entry.fio_address,
            look_up_index: hash.to_string(),
            added_at: crate::wallet::now(),
        })
    }

    // ---- NBPAs ----

    /// Places up to five NBPAs of our FIO address (privaddadr), each
    /// encrypted at the address, chain and NBPA levels. Placing a chain and
    /// token again replaces the old NBPA under a new key id.
    pub async fn place_nbpas(&self, nbpas: &[Nbpa]) -> Result<Vec<PlacedNbpa>, FriendsError> {
        if nbpas.is_empty() || nbpas.len() > MAX_PER_CALL {
            return Err(invalid(
                "public_addresses",
                &nbpas.len().to_string(),
                "Min 1, Max 5 public addresses are allowed",
            ));
        }
        let address = self.address.as_str();
        let address_key = self.wallet_secret.address_key(address);
        let mut entries = Vec::with_capacity(nbpas.len());
        let mut normal = Vec::with_capacity(nbpas.len());
        for n in nbpas {
            let n = Nbpa {
                chain_code: code("chain_code", &n.chain_code, false)?,
                token_code: code("token_code", &n.token_code, true)?,
                public_address: n.public_address.clone(),
            };
            if n.public_address.is_empty()
                || n.public_address.len() > 128
                || n.public_address.contains(' ')
            {
                return Err(invalid(
                    "public_address",
                    &n.public_address,
                    "Invalid public address format",
                ));
            }
            entries.push(PrivPublicAddress {
                chain_code: n.chain_code.clone(),
                token_code: n.token_code.clone(),
                public_key_address_level: address_key.encrypt_nbpa(&n.public_address),
                public_key_chain_level: self
                    .wallet_secret
                    .chain_key(address, &n.chain_code)
                    .encrypt_nbpa(&n.public_address),
                public_key_nbpa_level: self
                    .wallet_secret
                    .nbpa_key(&n.public_address)
                    .encrypt_nbpa(&n.public_address),
            });
            normal.push(n);
        }
        let response = self
            .push(PrivacyAction::AddAddress(PrivAddAddress {
                fio_address: address.to_string(),
                public_addresses: entries,
                max_fee: self.config.max_fee,
                tpid: self.config.tpid.clone(),
                actor: self.actor,
            }))
            .await?;
        // The contract numbers one call's NBPAs consecutively from key_id.
        // A push answered "already accepted" (409) carries no response: the
        // NBPAs are on chain but their ids unknown; an NBPA-level grant
        // places such an NBPA again first.
        let placed: Vec<PlacedNbpa> = normal
            .into_iter()
            .enumerate()
            .map(|(i, n)| PlacedNbpa {
                chain_code: n.chain_code,
                token_code: n.token_code,
                public_address: n.public_address,
                key_id: response.key_id.map(|first| first + i as u64),
            })
            .collect();
        let now = crate::wallet::now();
        self.wallet.with_db(|c| {
            placed
                .iter()
                .try_for_each(|p| store::upsert_nbpa(c, p, now))
        })?;
        Ok(placed)
    }

    /// Our placed NBPAs.
    pub fn own_nbpas(&self) -> Result<Vec<PlacedNbpa>, FriendsError> {
        Ok(self.wallet.read_db(store::own_nbpas)?)
    }

    /// Grants a friend (FIO address or key) up to five decrypt keys
    /// (privganbpa), each encrypted to the pair's shared secret.
    pub async fn grant(&self, friend: &str, grants: &[Grant]) -> Result<(), FriendsError> {
        if grants.is_empty() || grants.len() > MAX_PER_CALL {
            return Err(invalid(
                "decrypt_keys",
                &grants.len().to_string(),
                "Min 1, Max 5 decrypt keys are allowed",
            ));
        }
        let found = self.wallet.read_db(|c| store::find_friend(c, friend))?;
        let friend = found.ok_or_else(|| FriendsError::NotAFriend(friend.to_string()))?;
        let pair = self.pair(&friend.public_key);
        let address = self.address.as_str();
        let mut keys = Vec::with_capacity(grants.len());
        for g in grants {
            let (level, index, key) = match g {
                Grant::Address => (
                    "address",
                    address.to_string(),
                    self.wallet_secret.address_key(address),
                ),
                Grant::Chain(chain) => {
                    let chain = code("chain_code", chain, false)?;
                    (
                        "chain",
                        format!("{address}/{chain}"),
                        self.wallet_secret.chain_key(address, &chain),
                    )
                }
                Grant::Nbpa {
                    chain_code,
                    token_code,
                } => {
                    let (chain, token) = (
                        code("chain_code", chain_code, false)?,
                        code("token_code", token_code, true)?,
                    );
                    let mut placed = self
                        .wallet
                        .read_db(|c| store::own_nbpa(c, &chain, &token))?
                        .ok_or_else(|| FriendsError::UnknownNbpa {
                            chain_code: chain.clone(),
                            token_code: token.clone(),
                        })?;
                    if placed.key_id.is_none() {
                        placed = self
                            .place_nbpas(&[Nbpa {
                                chain_code: chain,
                                token_code: token,
                                public_address: placed.public_address,
                            }])
                            .await?
                            .remove(0);
                    }
                    let key_id = placed.key_id.ok_or_else(|| ChainError::InvalidResponse {
                        node: "priv_add_pub_address".into(),
                        detail: "the chain gave no key_id for the NBPA; place it again".into(),
                    })?;
                    (
                        "nbpa",
                        key_id.to_string(),
                        self.wallet_secret.nbpa_key(&placed.public_address),
                    )
                }
            };
            keys.push(DecryptKey {
                level: level.into(),
                level_index: index,
                decrypt_key: key.grant(&pair.secrets[0]),
            });
        }
        self.push(PrivacyAction::GrantAccess(PrivGrantAccess {
            fio_public_key_hash: pair.their_look_up_index.clone(),
            decrypt_keys: keys.clone(),
            max_fee: self.config.max_fee,
            tpid: self.config.tpid.clone(),
            actor: self.actor,
        }))
        .await?;
        let now = crate::wallet::now();
        self.wallet.with_db(|c| {
            keys.iter().try_for_each(|k| {
                store::record_grant(c, &friend.public_key, &k.level, &k.level_index, now)
            })
        })?;
        Ok(())
    }

    /// (level, level_index) of what we granted a friend.
    pub fn grants_of(&self, friend: &PublicKey) -> Result<Vec<(String, String)>, FriendsError> {
        Ok(self.wallet.read_db(|c| store::grants_of(c, friend))?)
    }

    /// The NBPA the owner of `fio_address` placed for `chain_code`/
    /// `token_code`, if they granted us a key that opens it (the chain picks
    /// the most specific one). `None` when nothing is placed or granted.
    pub async fn lookup_nbpa(
        &self,
        fio_address: &str,
        chain_code: &str,
        token_code: &str,
    ) -> Result<Option<String>, FriendsError> {
        let chain_code = &code("chain_code", chain_code, false)?;
        let token_code = &code("token_code", token_code, true)?;
        let (address, owner) = self.key_of(fio_address).await?;
        let pair = self.pair(&owner);
        let found = self
            .chain
            .priv_get_pub_address(
                &pair.our_look_up_index,
                address.as_str(),
                chain_code,
                token_code,
            )
            .await?;
        let Some(found) = found else { return Ok(None) };
        let key = LevelKey::from_grant(&pair.secrets, &found.decrypt_key)
            .map_err(|_| FriendsError::Undecryptable)?;
        key.decrypt_nbpa(&found.public_address)
            .map(Some)
            .map_err(|_| FriendsError::Undecryptable)
    }

    /// Elects private (true) or public mode for our FIO address (setaddpriv).
    pub async fn set_address_private(&self, private: bool) -> Result<(), FriendsError> {
        self.push(PrivacyAction::SetPrivacy(SetAddressPrivacy {
            fio_address: self.address.as_str().to_string(),
            privacy: i64::from(private),
            max_fee: self.config.max_fee,
            tpid: self.config.tpid.clone(),
            actor: self.actor,
        }))
        .await?;
        Ok(())
    }

    // ---- private requests ----

    /// Sends a private funds request to the owner of `payer_fio_address`
    /// (privfundsreq), encrypted as fiosdk encrypts new_funds_request
    /// content. We must be on the payer's friend list (or they would never
    /// look); the payer joins ours if not yet there, as the FIP asks, so we
    /// can read our own request back. Returns the chain's request id
    /// (`None` if the push was answered "already accepted").
    pub async fn request_funds(
        &self,
        payer_fio_address: &str,
        content: &NewFundsContent,
    ) -> Result<Option<u64>, FriendsError> {
        check_request(content)?;
        let (address, payer) = self.key_of(payer_fio_address).await?;
        let pair = self.pair(&payer);
        if !self.on_list_of(&payer).await? {
            return Err(FriendsError::NotOnTheirFriendList(address.to_string()));
        }
        let known = self
            .wallet
            .read_db(|c| store::find_friend(c, &payer.to_fio_string()))?;
        if known.is_none() {
            self.add_friend_key(&payer, address.as_str()).await?;
        }
        let response = self
            .push(PrivacyAction::FundsRequest(PrivFundsRequest {
                payee_fio_address: self.address.as_str().to_string(),
                payee_fio_public_key: self.key.public_key().to_fio_string(),
                lookup_index_for_payer: pair.index_for_them.clone(),
                content: encrypt_fip3_content(&pair.secrets[0], content),
                max_fee: self.config.max_fee,
                tpid: self.config.tpid.clone(),
                actor: self.actor,
            }))
            .await?;
        Ok(response.fio_request_id)
    }

    /// Records a send action for the owner of `payee_fio_address`
    /// (privrecsend): a payment (status `sent_to_blockchain`) or a rejection.
    pub async fn record_send(
        &self,
        payee_fio_address: &str,
        send: &PrivRecordSendContent,
    ) -> Result<(), FriendsError> {
        let (_, payee) = self.key_of(payee_fio_address).await?;
        self.record_send_to(&payee, send).await
    }

    /// Pays a received request: records `record` (its status is set to
    /// `sent_to_blockchain`) against the request's id.
    pub async fn pay_request(
        &self,
        request: &PrivateRequest,
        record: RecordObtDataContent,
    ) -> Result<(), FriendsError> {
        self.check_addressed_to_us(request)?;
        let send = PrivRecordSendContent {
            record: RecordObtDataContent {
                status: STATUS_PAID.into(),
                ..record
            },
            fio_request_id: Some(request.fio_request_id.to_string()),
        };
        self.record_send_to(&request.payee_public_key, &send).await
    }

    fn check_addressed_to_us(&self, request: &PrivateRequest) -> Result<(), FriendsError> {
        if request.payer_public_key != *self.key.public_key() {
            return Err(FriendsError::NotAddressedToUs(request.fio_request_id));
        }
        Ok(())
    }

    /// Rejects a received request.
    pub async fn reject_request(&self, request: &PrivateRequest) -> Result<(), FriendsError> {
        self.check_addressed_to_us(request)?;
        let send = PrivRecordSendContent {
            record: RecordObtDataContent {
                status: STATUS_REJECTED.into(),
                ..Default::default()
            },
            fio_request_id: Some(request.fio_request_id.to_string()),
        };
        self.record_send_to(&request.payee_public_key, &send).await
    }

    async fn record_send_to(
        &self,
        payee: &PublicKey,
        send: &PrivRecordSendContent,
    ) -> Result<(), FriendsError> {
        let status = send.record.status.as_str();
        if status != STATUS_PAID && status != STATUS_REJECTED {
            return Err(invalid(
                "status",
                status,
                "a send action is sent_to_blockchain or rejected",
            ));
        }
        let pair = self.pair(payee);
        self.push(PrivacyAction::RecordSend(PrivRecordSend {
            payer_fio_address: self.address.as_str().to_string(),
            payer_fio_public_key: self.key.public_key().to_fio_string(),
            lookup_index_for_payee: pair.index_for_them.clone(),
            content: encrypt_fip3_content(&pair.secrets[0], send),
            max_fee: self.config.max_fee,
            tpid: self.config.tpid.clone(),
            actor: self.actor,
        }))
        .await?;
        Ok(())
    }

    /// Friends by an index of theirs.
    fn friends_by(
        &self,
        index: impl Fn(&Pair) -> String,
    ) -> Result<HashMap<String, (Friend, Arc<Pair>)>, FriendsError> {
        let friends = self.wallet.read_db(store::all_friends)?;
        Ok(friends
            .into_iter()
            .map(|f| {
                let pair = self.pair(&f.public_key);
                (index(&pair), (f, pair))
            })
            .collect())
    }

    /// Requests our friends sent us, each decrypted and joined with the send
    /// actions we recorded for it. One batch of look-up indexes per
    /// [`INDEX_BATCH`] friends.
    pub async fn received_requests(&self) -> Result<Fetched<PrivateRequest>, FriendsError> {
        let by_index = self.friends_by(|p| p.index_for_us.clone())?;
        let indexes: Vec<String> = by_index.keys().cloned().collect();
        let rows = self
            .in_batches(&indexes, |chain, batch, page| async move {
                let page = chain.priv_get_received_fio_requests(&batch, page).await?;
                Ok((page.requests, page.more))
            })
            .await?;
        self.open_requests(&rows, &by_index, true).await
    }

    /// Requests we sent, decrypted and joined with the payers' send actions.
    pub async fn sent_requests(&self) -> Result<Fetched<PrivateRequest>, FriendsError> {
        let by_index = self.friends_by(|p| p.index_for_them.clone())?;
        let own = self.key.public_key().to_fio_string();
        let rows = all_pages(|offset| {
            let own = own.clone();
            async move {
                let page = self
                    .chain
                    .priv_get_sent_fio_requests(&own, page_at(offset))
                    .await?;
                Ok((page.requests, page.more))
            }
        })
        .await?;
        self.open_requests(&rows, &by_index, false).await
    }

    /// Opens request rows attributed to friends by `by_index` and joins each
    /// with its send actions. `we_pay`: the friend is the payee (its key
    /// must be the row's payee key); else we are the payee.
    async fn open_requests(
        &self,
        rows: &[PrivRequestRecord],
        by_index: &HashMap<String, (Friend, Arc<Pair>)>,
        we_pay: bool,
    ) -> Result<Fetched<PrivateRequest>, FriendsError> {
        let own = (self.address.as_str().to_string(), *self.key.public_key());
        let mut requests = Vec::new();
        let mut skipped = 0;
        for r in rows {
            let opened = by_index
                .get(&r.lookup_index_for_payer)
                .and_then(|(f, pair)| {
                    let friend = (f.fio_address.clone(), f.public_key);
                    let (payee, payer) = if we_pay {
                        (friend, own.clone())
                    } else {
                        (own.clone(), friend)
                    };
                    // Only the payee's own key may have filed it.
                    if !same_key(&r.payee_fio_public_key, &payee.1) {
                        return None;
                    }
                    let content = decrypt_fip3_content(&pair.secrets, &r.content).ok()?;
                    Some(PrivateRequest {
                        fio_request_id: r.fio_request_id,
                        payee_fio_address: r.payee_fio_address.clone(),
                        payee_public_key: payee.1,
                        payer_fio_address: payer.0,
                        payer_public_key: payer.1,
                        content,
                        status: RequestStatus::Requested,
                    })
                });
            match opened {
                Some(request) => requests.push(request),
                None => skipped += 1,
            }
        }
        // The counterparty of each request, and the index its send actions
        // are filed under: ours when we pay (the payee reads them with its
        // index), the friend's "for us" index when we are the payee.
        let counterparty = |r: &PrivateRequest| {
            if we_pay {
                r.payee_public_key
            } else {
                r.payer_public_key
            }
        };
        let keys = unique_keys(requests.iter().map(counterparty));
        let (actions, _) = if we_pay {
            self.actions_at(&keys, |p| p.index_for_them.clone(), true)
                .await?
        } else {
            self.actions_at(&keys, |p| p.index_for_us.clone(), false)
                .await?
        };
        for r in &mut requests {
            r.status = status_of(&actions, &counterparty(r), r.fio_request_id);
        }
        Ok(Fetched {
            items: requests,
            skipped,
        })
    }

    /// Send actions our friends recorded for us (payments and rejections).
    pub async fn received_actions(&self) -> Result<Fetched<ReceivedAction>, FriendsError> {
        let friends = self.wallet.read_db(store::all_friends)?;
        let keys: Vec<PublicKey> = friends.iter().map(|f| f.public_key).collect();
        let (items, skipped) = self
            .actions_at(&keys, |p| p.index_for_us.clone(), false)
            .await?;
        Ok(Fetched {
            items: items.into_iter().map(|(_, a)| a).collect(),
            skipped,
        })
    }

    /// Send actions filed under `index` of the pairs with `counterparties`,
    /// decrypted, each with its counterparty. An action counts only if its
    /// payer key is the pair's payer: ours when `by_us`, else the
    /// counterparty's.
    async fn actions_at(
        &self,
        counterparties: &[PublicKey],
        index: impl Fn(&Pair) -> String,
        by_us: bool,
    ) -> Result<(Vec<(PublicKey, ReceivedAction)>, u32), FriendsError> {
        let by_index: HashMap<String, (PublicKey, Arc<Pair>)> = counterparties
            .iter()
            .map(|k| {
                let pair = self.pair(k);
                (index(&pair), (*k, pair))
            })
            .collect();
        let indexes: Vec<String> = by_index.keys().cloned().collect();
        let rows = self
            .in_batches(&indexes, |chain, batch, page| async move {
                let page = chain.priv_get_received_actions(&batch, page).await?;
                Ok((page.actions, page.more))
            })
            .await?;
        let mut items = Vec::new();
        let mut skipped = 0;
        for a in &rows {
            let opened = by_index
                .get(&a.lookup_index_for_payer)
                .and_then(|(k, pair)| {
                    let payer = if by_us { *self.key.public_key() } else { *k };
                    if !same_key(&a.payer_fio_public_key, &payer) {
                        return None;
                    }
                    let content: PrivRecordSendContent =
                        decrypt_fip3_content(&pair.secrets, &a.content).ok()?;
                    let status = content.record.status.as_str();
                    (status == STATUS_PAID || status == STATUS_REJECTED).then(|| {
                        (
                            *k,
                            ReceivedAction {
                                payer_fio_address: a.payer_fio_address.clone(),
                                payer_public_key: payer,
                                content,
                            },
                        )
                    })
                });
            match opened {
                Some(action) => items.push(action),
                None => skipped += 1,
            }
        }
        Ok((items, skipped))
    }
}

/// Most rows one list read follows, however many a node claims there are.
pub const MAX_ROWS: usize = 1_000_000;

fn page_at(offset: u32) -> Page {
    Page {
        limit: Some(PAGE),
        offset,
    }
}

/// Every row of a paged read. `fetch(offset)` gives a page and the node's
/// `more`. The first page fixes how many rows there are: a node that keeps
/// answering past that, or past [`MAX_ROWS`], is not followed.
async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, FriendsError>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, u64), ChainError>>,
{
    let mut rows: Vec<T> = Vec::new();
    let mut total = None;
    loop {
        let offset = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        let (page, more) = fetch(offset).await?;
        let got = page.len() as u64;
        rows.extend(page);
        let total = *total.get_or_insert(got.saturating_add(more));
        if total > MAX_ROWS as u64 {
            return Err(ChainError::InvalidResponse {
                node: "list".into(),
                detail: format!("the node claims {total} rows; at most {MAX_ROWS} are read"),
            }
            .into());
        }
        if got == 0 || more == 0 || rows.len() as u64 >= total {
            return Ok(rows);
        }
    }
}

/// Whether the key text a node returned is `key` (any accepted form).
fn same_key(text: &str, key: &PublicKey) -> bool {
    PublicKey::parse(text).is_ok_and(|k| &k == key)
}

/// The status of request `id` with `counterparty`: its latest send action.
fn status_of(
    actions: &[(PublicKey, ReceivedAction)],
    counterparty: &PublicKey,
    id: u64,
) -> RequestStatus {
    let id = id.to_string();
    actions
        .iter()
        .rev()
        .find(|(k, a)| {
            k == counterparty && a.content.fio_request_id.as_deref() == Some(id.as_str())
        })
        .map(|(_, a)| {
            if a.content.record.status == STATUS_PAID {
                RequestStatus::Paid(Box::new(a.content.record.clone()))
            } else {
                RequestStatus::Rejected
            }
        })
        .unwrap_or(RequestStatus::Requested)
}

/// The keys in order of first appearance.
fn unique_keys(keys: impl Iterator<Item = PublicKey>) -> Vec<PublicKey> {
    let mut seen = std::collections::HashSet::new();
    keys.filter(|k| seen.insert(*k.as_bytes())).collect()
}

/// Whether a chain error is the contract's 400 with this message.
fn chain_says(e: &ChainError, message: &str) -> bool {
    matches!(e, ChainError::Fio(f) if f.status == 400 && f.fields.iter().any(|x| x.error == message))
}

/// A chain or token code, checked and in upper case (the form level keys,
/// grants and the chain's rows use).
fn code(field: &'static str, text: &str, token: bool) -> Result<String, FriendsError> {
    check_code(field, text, token)?;
    Ok(text.to_ascii_uppercase())
}

/// chain_code: 1–10 of `[A-Za-z0-9$]`; token_code may also be `*`.
fn check_code(field: &'static str, code: &str, token: bool) -> Result<(), FriendsError> {
    let ok = (token && code == "*")
        || ((1..=10).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'$'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            code,
            if token {
                "Invalid Token Code"
            } else {
                "Invalid Chain Code"
            },
        ))
    }
}

/// A funds request names where to pay, how much, and on which chain/token.
fn check_request(c: &NewFundsContent) -> Result<(), FriendsError> {
    check_code("chain_code", &c.chain_code, false)?;
    check_code("token_code", &c.token_code, true)?;
    if c.payee_public_address.is_empty() || c.payee_public_address.len() > 128 {
        return Err(invalid(
            "payee_public_address",
            &c.payee_public_address,
            "Invalid public address format",
        ));
    }
    let amount_ok = !c.amount.is_empty()
        && c.amount
            .parse::<f64>()
            .is_ok_and(|a| a.is_finite() && a > 0.0);
    if !amount_ok {
        return Err(invalid("amount", &c.amount, "Invalid amount value"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn paging_follows_the_first_pages_count_and_no_further() {
        // A node that keeps saying "more" gets read up to what its first
        // page announced.
        let mut calls = 0;
        let rows = run(all_pages(|offset| {
            calls += 1;
            async move { Ok((vec![offset; 2], 4)) }
        }))
        .unwrap();
        assert_eq!(rows, vec![0, 0, 2, 2, 4, 4]);
        assert_eq!(calls, 3);
        // An empty page ends the read, whatever `more` says.
        let rows: Vec<u32> = run(all_pages(|_| async { Ok((vec![], 10)) })).unwrap();
        assert!(rows.is_empty());
        // A claim beyond MAX_ROWS is refused before anything is read further.
        let err = run(all_pages(|_| async { Ok((vec![1u8], u64::MAX)) })).unwrap_err();
        assert!(matches!(
            err,
            FriendsError::Chain(ChainError::InvalidResponse { .. })
        ));
    }

    #[test]
    fn codes_are_checked_and_upper_cased() {
        assert_eq!(code("chain_code", "btc", false).unwrap(), "BTC");
        assert_eq!(code("token_code", "*", true).unwrap(), "*");
        assert!(code("chain_code", "*", false).is_err());
        assert!(code("chain_code", "BTC!", false).is_err());
        assert!(code("chain_code", "ABCDEFGHIJK", false).is_err());
    }

    #[test]
    fn a_copied_key_string_is_compared_as_a_key() {
        let k = *PrivateKey::generate().public_key();
        assert!(same_key(&k.to_fio_string(), &k));
        assert!(same_key(&k.to_pub_k1(), &k));
        assert!(!same_key("FIO", &k));
        assert!(!same_key(
            &PrivateKey::generate().public_key().to_fio_string(),
            &k
        ));
    }
}
