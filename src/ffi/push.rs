//! Push through the bindings (docs/ffi.md "Push"): where the relay wakes
//! the wallet, and what a notification extension shows. A push target is
//! an opaque object: its auth secret, endpoint and device token are
//! capabilities, so it prints as its kind only.

use std::sync::Arc;

use super::records::{MessageAction, SyncSummary};
use super::FioPeerError;
use crate::sync;

/// Where the relay pushes to wake this wallet (docs/protocol.md §4.4).
#[derive(uniffi::Object, PartialEq, Eq)]
#[uniffi::export(Display, Eq)]
pub struct FioPushTarget(pub(crate) sync::PushTarget);

impl std::fmt::Display for FioPushTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match &self.0 {
            sync::PushTarget::WebPush { .. } => "FioPushTarget(webpush)",
            sync::PushTarget::Gateway { .. } => "FioPushTarget(gateway)",
        })
    }
}

fn field(name: &str, value: &str, max: usize) -> Result<(), FioPeerError> {
    if value.is_empty() || value.len() > max {
        let shown = if value.is_empty() { "" } else { "…" };
        return Err(FioPeerError::input(
            name,
            shown,
            format!("1 to {max} characters"),
        ));
    }
    Ok(())
}

#[uniffi::export]
impl FioPushTarget {
    /// A Web Push subscription: a browser's, or a UnifiedPush distributor's
    /// on Android. `p256dh` and `auth` are base64url, as the platform gives
    /// them. Make it with the relay's key (`FioWallet.relay_push_key`).
    #[uniffi::constructor]
    pub fn web_push(
        endpoint: String,
        p256dh: String,
        auth: String,
    ) -> Result<Arc<FioPushTarget>, FioPeerError> {
        field("endpoint", &endpoint, 2048)?;
        field("p256dh", &p256dh, 100)?;
        field("auth", &auth, 100)?;
        Ok(Arc::new(FioPushTarget(sync::PushTarget::WebPush {
            endpoint,
            p256dh,
            auth,
        })))
    }

    /// A Matrix push gateway (Sygnal, or the vendor's own) holding the
    /// app's APNs or FCM credentials: its URL ending in
    /// `/_matrix/push/v1/notify`, the app id it knows, and the device token
    /// (APNs or FCM) as `pushkey`.
    #[uniffi::constructor]
    pub fn gateway(
        url: String,
        app_id: String,
        pushkey: String,
    ) -> Result<Arc<FioPushTarget>, FioPeerError> {
        field("url", &url, 2048)?;
        field("app_id", &app_id, 64)?;
        field("pushkey", &pushkey, 512)?;
        Ok(Arc::new(FioPushTarget(sync::PushTarget::Gateway {
            url,
            app_id,
            pushkey,
        })))
    }

    /// `webpush` or `gateway`.
    pub fn kind(&self) -> String {
        match &self.0 {
            sync::PushTarget::WebPush { .. } => "webpush".into(),
            sync::PushTarget::Gateway { .. } => "gateway".into(),
        }
    }
}

/// A push registration of the wallet's inbox.
#[derive(uniffi::Record)]
pub struct PushRegistration {
    /// The relay's id for it: what `remove_push` takes.
    pub push_id: String,
    pub target: Arc<FioPushTarget>,
    /// Unix seconds.
    pub created_at: i64,
}

impl From<sync::PushRegistration> for PushRegistration {
    fn from(r: sync::PushRegistration) -> Self {
        PushRegistration {
            push_id: r.push_id,
            target: Arc::new(FioPushTarget(r.target)),
            created_at: r.created_at,
        }
    }
}

/// One line a notification shows.
#[derive(Debug, uniffi::Record)]
pub struct Notice {
    /// The event it comes from (see `events`).
    pub event_id: i64,
    pub peer: String,
    pub action: MessageAction,
    /// E.g. "bob@wallet requests 0.01 BTC: dinner".
    pub text: String,
}

/// What `receive_for_notification` did.
#[derive(Debug, uniffi::Record)]
pub struct NotificationReceive {
    /// What to show, oldest first (at most 50, the newest).
    pub notices: Vec<Notice>,
    /// Notices left out beyond those ("and 12 more").
    pub omitted: i64,
    /// The fetch: what came in, and `stopped` when the budget or another
    /// sync of the wallet ended it.
    pub summary: SyncSummary,
    /// Set when the fetch failed after committing what `notices` shows.
    pub error: Option<String>,
}

impl From<sync::NotificationReceive> for NotificationReceive {
    fn from(r: sync::NotificationReceive) -> Self {
        NotificationReceive {
            notices: r
                .notices
                .into_iter()
                .map(|n| Notice {
                    event_id: n.event_id,
                    peer: n.peer,
                    action: n.action.into(),
                    text: n.text,
                })
                .collect(),
            omitted: i64::try_from(r.omitted).unwrap_or(i64::MAX),
            summary: (&r.report).into(),
            error: r.error,
        }
    }
}
