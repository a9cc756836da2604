//! FIP-3 friending, the wallet side.

pub mod secrets;

pub use secrets::{
    backup_secret, decrypt_friend, encrypt_friend, is_index, look_up_index, request_index,
    LevelKey, WalletSecret,
};
