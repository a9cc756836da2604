//! The FIO chain: EOSIO names and ABI packing, and transactions signed
//! byte-identically to fiojs (the vectors in tests/chain_transactions.rs).
//! The HTTP client and FIP-24 key directory come next (issue 5).

pub mod abi;
pub mod name;
pub mod transaction;

pub use abi::AbiError;
pub use name::Name;
pub use transaction::{
    parse_chain_time, tapos_from_block_id, Action, AddAddress, ChainId, PermissionLevel,
    RegAddress, SignedTransaction, TokenPubAddress, Transaction,
};
