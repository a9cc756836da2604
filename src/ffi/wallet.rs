//! A FIP-24 wallet with its sync engine: 1:1 over `crate::wallet::Wallet`
//! and `crate::sync::SyncEngine`.

use std::sync::Arc;

use super::FioPeerError;
use crate::chain::{ChainClient, ChainConfig, ChainId};
use crate::crypto::PrivateKey;
use crate::sync::{CancelToken, SyncConfig, SyncEngine, SyncReport};
use crate::wallet::{Acceptance, FundsRequest, KeyDirectory, Outgoing, Wallet};

/// Where a wallet lives and what it talks to.
#[derive(uniffi::Record)]
pub struct WalletConfig {
    /// The SQLite file (created if missing).
    pub database_path: String,
    /// WIF or PVT_K1_ private key.
    pub private_key: String,
    pub fio_address: String,
    /// 64 hex digits.
    pub chain_id: String,
    /// FIO API nodes.
    pub chain_nodes: Vec<String>,
    /// The relay to keep the inbox on.
    pub relay: Option<String>,
}

/// A message queued for delivery.
#[derive(uniffi::Record)]
pub struct SentMessage {
    pub peer: String,
    /// The FIP-24 action name, e.g. `peer_new_funds_request`.
    pub action: String,
    pub message_id: String,
}

impl From<Outgoing> for SentMessage {
    fn from(o: Outgoing) -> Self {
        SentMessage {
            peer: o.peer.to_string(),
            action: o.action.name().to_string(),
            message_id: o.message_id,
        }
    }
}

/// A funds request (peer_new_funds_request).
#[derive(uniffi::Record)]
pub struct FundsRequestData {
    pub payee_public_address: String,
    pub chain_code: String,
    pub token_code: String,
    pub amount: String,
    pub memo: Option<String>,
}

/// What one sync did.
#[derive(uniffi::Record)]
pub struct SyncSummary {
    pub received: u64,
    pub delivered: u64,
    pub retrying: u64,
    pub failed: u64,
    pub registered: bool,
}

impl From<SyncReport> for SyncSummary {
    fn from(r: SyncReport) -> Self {
        SyncSummary {
            received: r.received,
            delivered: r.delivered,
            retrying: r.retrying,
            failed: r.failed,
            registered: r.registered,
        }
    }
}

/// A wallet: its database, chain client and sync engine.
#[derive(uniffi::Object)]
pub struct FioWallet {
    wallet: Arc<Wallet>,
    engine: SyncEngine,
}

#[uniffi::export(async_runtime = "tokio")]
impl FioWallet {
    /// Opens (or creates) the wallet.
    #[uniffi::constructor]
    pub fn open(config: WalletConfig) -> Result<Arc<FioWallet>, FioPeerError> {
        let key = PrivateKey::parse(&config.private_key)?;
        let chain_id = ChainId::parse(&config.chain_id)
            .map_err(|e| FioPeerError::input("chain_id", &config.chain_id, e))?;
        let chain = ChainClient::new(ChainConfig::new(chain_id, config.chain_nodes))?;
        let directory: Arc<dyn KeyDirectory> = Arc::new(chain.clone());
        let wallet = Arc::new(Wallet::open(
            &config.database_path,
            key,
            &config.fio_address,
            directory,
        )?);
        let engine = SyncEngine::new(
            wallet.clone(),
            chain,
            SyncConfig {
                relay: config.relay,
                ..SyncConfig::default()
            },
        )?;
        Ok(Arc::new(FioWallet { wallet, engine }))
    }

    pub fn fio_address(&self) -> String {
        self.wallet.fio_address().to_string()
    }

    pub fn public_key(&self) -> String {
        self.wallet.public_key().to_fio_string()
    }

    /// peer_new_com_request.
    pub fn open_channel(
        &self,
        peer: String,
        memo: Option<String>,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self.wallet.open_channel(&peer, memo.as_deref())?.into())
    }

    /// peer_new_funds_request.
    pub fn request_funds(
        &self,
        peer: String,
        request: FundsRequestData,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self
            .wallet
            .request_funds(
                &peer,
                FundsRequest {
                    payee_public_address: request.payee_public_address,
                    chain_code: request.chain_code,
                    token_code: request.token_code,
                    amount: request.amount,
                    memo: request.memo,
                    ..Default::default()
                },
            )?
            .into())
    }

    /// peer_send_private_text.
    pub fn send_private_text(
        &self,
        peer: String,
        text: String,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self.wallet.send_private_text(&peer, &text, None)?.into())
    }

    /// peer_accept_request (a channel, or a funds request as paid).
    pub fn accept_request(
        &self,
        peer: String,
        message_id: String,
        memo: Option<String>,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self
            .wallet
            .accept_request(
                &peer,
                &message_id,
                Acceptance {
                    memo,
                    ..Default::default()
                },
            )?
            .into())
    }

    /// peer_reject_request.
    pub fn reject_request(
        &self,
        peer: String,
        message_id: String,
        memo: Option<String>,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self
            .wallet
            .reject_request(&peer, &message_id, memo.as_deref())?
            .into())
    }

    /// peer_close_com_request.
    pub fn close_channel(
        &self,
        peer: String,
        memo: Option<String>,
    ) -> Result<SentMessage, FioPeerError> {
        Ok(self.wallet.close_channel(&peer, memo.as_deref())?.into())
    }

    /// Delivers the outbox and fetches the inbox (creating and registering
    /// it first when needed), on the library's runtime.
    pub async fn sync(&self) -> Result<SyncSummary, FioPeerError> {
        Ok(self.engine.sync(None, CancelToken::new()).await?.into())
    }

    /// The memos of the private texts received from `peer`, oldest first.
    pub fn received_texts(&self, peer: String) -> Result<Vec<String>, FioPeerError> {
        Ok(self
            .wallet
            .history(&peer)?
            .into_iter()
            .filter(|m| {
                m.direction == crate::wallet::Direction::Incoming
                    && m.action == crate::protocol::Action::SendPrivateText
            })
            .filter_map(|m| m.data.memo)
            .collect())
    }
}
