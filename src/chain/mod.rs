//! The FIO chain: EOSIO names and ABI packing, transactions signed
//! byte-identically to fiojs (the vectors in tests/chain_transactions.rs),
//! and the HTTP client of the FIO API with the FIP-24 key directory.

pub mod abi;
pub mod client;
pub mod name;
pub mod privacy;
pub mod runtime;
pub(crate) mod tls;
pub mod transaction;

pub use abi::AbiError;
pub use client::{
    http_client_builder, inbox_entry, install_tls_provider, transaction_at, ChainClient,
    ChainConfig, ChainError, ChainInfo, FioAddressInfo, FioDomainInfo, FioError, FioFieldError,
    FioNames, NodeError, PubAddress, PubAddresses, PushResult, EXPIRATION_SECONDS, MAINNET_NODES,
    TESTNET_NODES,
};
pub use name::Name;
pub use privacy::{
    AddFriend, DecryptKey, FriendListEntry, FriendListPage, Page, PrivActionRecord,
    PrivActionsPage, PrivAddAddress, PrivFundsRequest, PrivGrantAccess, PrivPubAddress,
    PrivPublicAddress, PrivRecordSend, PrivRequestRecord, PrivRequestsPage, PrivacyAction,
    PrivacyResponse, RemoveFriend, SetAddressPrivacy, PRIVACY_ACTIONS, PRIVACY_CONTRACT,
};
pub use runtime::NetRuntime;
pub use transaction::{
    parse_chain_time, tapos_from_block_id, Action, AddAddress, ChainId, PermissionLevel,
    RegAddress, SignedTransaction, TokenPubAddress, Transaction,
};
