//! The receive pipeline, in FIP-24's processing order: validate the raw
//! envelope, identify the sender (NEW: by sender_fio_address after
//! decrypting with our key; otherwise by id_token), decrypt, verify the
//! signature, validate the content, then persist, reply, automate, queue.
//!
//! Nothing is answered before the sender is authenticated by its
//! signature (a MAC alone is not enough: the channel key is the same both
//! ways), and replays are dropped unanswered before any state check: either
//! would let someone else make us send messages.

use rusqlite::{params, Connection};

use super::db::{self, ChannelRow};
use super::senders::SenderKeys;
use super::types::*;
use super::{now, Acceptance, Ctx};
use crate::crypto::Signature;
use crate::protocol::{
    open_new, parse_plaintext, verify_data, Action, Envelope, ErrorKind, FioAddress, IdToken,
    MessageData, ProtocolError, ValidData,
};

fn rejected(error: ProtocolError) -> WalletError {
    WalletError::Rejected {
        error,
        replies: Vec::new(),
    }
}

/// What an authenticated channel message will do, decided before any write.
enum Plan {
    Status { reference_row: i64 },
    NewRequest(RequestKind),
    Accept(db::RequestRow),
    Reject(db::RequestRow),
    Cancel(db::RequestRow),
    Update,
    Close,
    Text,
}

impl Ctx {
    /// Phase two of a receive, under the wallet's lock: `senders` holds
    /// the chain's answers gathered before it (no lookup happens here).
    /// `hold_unseen`: a message that references a peer's message not
    /// received yet fails with [`WalletError::Unseen`] (to be held and
    /// tried again) instead of being refused.
    pub(super) fn receive(
        &mut self,
        conn: &Connection,
        body: &[u8],
        senders: &SenderKeys,
        hold_unseen: bool,
    ) -> Result<Received, WalletError> {
        let envelope = Envelope::parse(body).map_err(rejected)?;
        match envelope.id_token {
            IdToken::New => self.receive_new(conn, &envelope.content, senders),
            IdToken::Token(token) => {
                self.receive_channel(conn, &token, &envelope.content, hold_unseen)
            }
        }
    }

    fn receive_new(
        &mut self,
        conn: &Connection,
        content: &[u8],
        senders: &SenderKeys,
    ) -> Result<Received, WalletError> {
        let plaintext = open_new(&self.key, content)
            .map_err(|_| rejected(ProtocolError::new(ErrorKind::DecryptionFailure)))?;
        let (data_text, sig_text) = parse_plaintext(&plaintext).map_err(rejected)?;
        let data = MessageData::parse(&data_text).map_err(rejected)?;
        let sender = FioAddress::parse(&data.sender_fio_address).ok_or_else(|| {
            rejected(ProtocolError::with_value(
                ErrorKind::InvalidSenderFioAddress,
                &data.sender_fio_address,
            ))
        })?;
        let sender_key = match senders.get(&sender) {
            Ok(key) => key,
            Err(DirectoryError::NotFound(_)) => {
                return Err(rejected(ProtocolError::with_value(
                    ErrorKind::InvalidSenderFioAddress,
                    sender.as_str(),
                )))
            }
            Err(e) => return Err(WalletError::Directory(e)),
        };
        let signature = parse_signature(&sig_text).map_err(rejected)?;
        if !verify_data(&sender_key, self.key.public_key(), &data_text, &signature) {
            // A well-formed signature by someone other than the address's owner.
            return Err(rejected(ProtocolError::new(ErrorKind::NotOwner)));
        }
        let valid = data.validate().map_err(rejected)?;
        if valid.recipient != self.address {
            return Err(rejected(ProtocolError::with_value(
                ErrorKind::InvalidRecipientFioAddress,
                &data.recipient_fio_address,
            )));
        }
        if valid.sender == self.address {
            return Err(rejected(ProtocolError::with_value(
                ErrorKind::InvalidSenderFioAddress,
                &data.sender_fio_address,
            )));
        }
        if valid.action != Action::NewComRequest {
            // Only a channel request travels as NEW; everything else needs a token.
            return Err(rejected(ProtocolError::with_value(
                ErrorKind::InvalidId,
                "NEW",
            )));
        }
        let existing = db::channel_by_peer(conn, &self.address, &sender)?;
        if let Some(ch) = &existing {
            if db::message_exists(conn, ch.id, Direction::Incoming, &data.message_id)? {
                return Err(rejected(ProtocolError::with_value(
                    ErrorKind::InvalidMessageId,
                    &data.message_id,
                )));
            }
        }
        // The address's chain key is not the one the channel pinned (a
        // transfer, a re-registration): whoever holds it now is not known
        // to be the peer. What was pending with the old key is voided, the
        // user is told, and no automation accepts the new key.
        let key_change = match &existing {
            Some(ch) if ch.peer_key != sender_key => {
                Some(db::void_for_key_change(conn, ch, &sender_key)?)
            }
            _ => None,
        };
        // Both sides asked at once: keep the token we already sent (to
        // this key: one sent to a previous key is not kept).
        let keep_ours = existing
            .filter(|ch| {
                ch.state == ChannelState::Requested && ch.initiator_us && key_change.is_none()
            })
            .and_then(|ch| ch.our_token);
        let channel_id = db::upsert_requested_channel(
            conn,
            &self.address,
            &sender,
            &sender_key,
            keep_ours.is_some(),
            keep_ours.as_deref(),
            data.return_id_token.as_deref(),
            valid.return_inbox.as_ref(),
        )?;
        let ch = db::channel_by_id(conn, channel_id)?;
        let row = db::insert_message(
            conn,
            ch.id,
            Direction::Incoming,
            &data,
            &data_text,
            &sig_text,
            None,
            now(),
        )?;
        db::insert_request(conn, row, RequestKind::Channel)?;
        let auto_accept = key_change.is_none()
            && match &self.automation.accept_channels {
                AcceptPolicy::Never => false,
                AcceptPolicy::Always => true,
                AcceptPolicy::AllowList(list) => list
                    .iter()
                    .any(|a| FioAddress::parse(a).as_ref() == Some(&sender)),
            };
        // The queue is what waits for the user: a request an automation
        // answers does not.
        let queue_id = if auto_accept {
            None
        } else {
            Some(db::insert_queue_with(
                conn,
                ch.id,
                row,
                valid.action,
                key_change.as_ref().map(|k| &k.previous_key),
            )?)
        };
        // A stranger's request is answered only once it is accepted (by an
        // automation rule here, or later by the user): before that nothing
        // goes to the address it chose (docs/protocol.md §2.9).
        let mut replies = Vec::new();
        if auto_accept {
            if self.automation.status_replies {
                replies.extend(self.status_reply(conn, &ch, &valid, "success")?);
            }
            let req = db::request(conn, ch.id, Direction::Incoming, &data.message_id)?
                .expect("just inserted");
            let mut out = self.accept(conn, &ch, &req, Acceptance::default())?;
            out.to = valid.return_inbox.clone().or(out.to);
            replies.push(out);
        }
        Ok(Received {
            message: db::message_record_by_row(conn, row)?,
            replies,
            queue_id,
            key_change,
        })
    }

    fn receive_channel(
        &mut self,
        conn: &Connection,
        token: &str,
        content: &[u8],
        hold_unseen: bool,
    ) -> Result<Received, WalletError> {
        let ch = db::channel_by_token(conn, token)?
            .ok_or_else(|| rejected(ProtocolError::with_value(ErrorKind::InvalidId, token)))?;
        let plaintext = self
            .channel_key(&ch)
            .open(content)
            .map_err(|_| rejected(ProtocolError::new(ErrorKind::DecryptionFailure)))?;
        let (data_text, sig_text) = parse_plaintext(&plaintext).map_err(rejected)?;
        // The MAC is not enough to answer: the channel key is the same both
        // ways, so our own content reposted to us passes it. The peer is
        // authenticated by its signature; a failure here is never answered.
        let signature = parse_signature(&sig_text).map_err(rejected)?;
        if !verify_data(&ch.peer_key, self.key.public_key(), &data_text, &signature) {
            return Err(rejected(ProtocolError::with_value(
                ErrorKind::InvalidSignature,
                &sig_text,
            )));
        }
        // A replay is dropped, unanswered, before any state check: an
        // accept applied once must not be refused (and answered) as "not
        // pending" the second time.
        if let (_, Some(id)) = MessageData::peek(&data_text) {
            if db::message_exists(conn, ch.id, Direction::Incoming, &id)? {
                return Err(rejected(ProtocolError::with_value(
                    ErrorKind::InvalidMessageId,
                    &id,
                )));
            }
        }
        match self.check_channel_message(conn, &ch, &data_text, hold_unseen) {
            Ok((valid, plan)) => self.apply(conn, ch, valid, &data_text, &sig_text, plan),
            Err(WalletError::Rejected { error, .. }) => {
                // The message id is needed to answer; take it if it is well formed.
                let (peeked_action, peeked_id) = MessageData::peek(&data_text);
                let mut replies = Vec::new();
                // Replays are not answered, nor are statuses (that could loop).
                let answerable = error.kind != ErrorKind::InvalidMessageId
                    && peeked_action.as_deref() != Some(Action::ReturnMessageStatus.name());
                let reference = peeked_id.filter(|id| crate::protocol::is_message_id(id));
                if let (true, true, Some(id)) =
                    (answerable, self.automation.status_replies, reference)
                {
                    replies.extend(self.status_reply_to(
                        conn,
                        &ch,
                        &id,
                        &error.message_status(),
                        None,
                    )?);
                }
                Err(WalletError::Rejected { error, replies })
            }
            Err(e) => Err(e),
        }
    }

    /// Everything that can reject a channel message whose signature was
    /// verified, without writing.
    fn check_channel_message(
        &self,
        conn: &Connection,
        ch: &ChannelRow,
        data_text: &str,
        hold_unseen: bool,
    ) -> Result<(ValidData, Plan), WalletError> {
        let data = MessageData::parse(data_text).map_err(rejected)?;
        let valid = data.validate().map_err(rejected)?;
        if valid.sender != ch.peer {
            return Err(rejected(ProtocolError::with_value(
                ErrorKind::InvalidSenderFioAddress,
                &data.sender_fio_address,
            )));
        }
        if valid.recipient != self.address {
            return Err(rejected(ProtocolError::with_value(
                ErrorKind::InvalidRecipientFioAddress,
                &data.recipient_fio_address,
            )));
        }
        // A replay is caught by the UNIQUE constraint on the first write (apply).
        let reference = data.referenced_message_id.as_deref().unwrap_or_default();
        let bad_reference = || {
            rejected(ProtocolError::with_value(
                ErrorKind::InvalidReferencedMessageId,
                reference,
            ))
        };
        // A peer's message we have never seen may still be on its way
        // (through an inbox we moved away from, a relay that was down):
        // held and tried again, not refused, until the tries run out.
        let unseen = || -> Result<bool, WalletError> {
            Ok(hold_unseen
                && crate::protocol::is_message_id(reference)
                && db::message_row(conn, ch.id, Direction::Incoming, reference)?.is_none())
        };
        let unseen_error = || WalletError::Unseen {
            referenced_message_id: reference.to_string(),
        };
        let not_pending = || {
            rejected(ProtocolError::with_value(
                ErrorKind::InvalidState,
                reference,
            ))
        };
        let plan = match valid.action {
            Action::NewComRequest => {
                return Err(rejected(ProtocolError::with_value(
                    ErrorKind::InvalidId,
                    "NEW required",
                )))
            }
            Action::ReturnMessageStatus => Plan::Status {
                reference_row: db::message_row(conn, ch.id, Direction::Outgoing, reference)?
                    .ok_or_else(bad_reference)?,
            },
            Action::NewFundsRequest => Plan::NewRequest(RequestKind::Funds),
            Action::NewPubAddressRequest => Plan::NewRequest(RequestKind::PublicAddress),
            Action::AcceptRequest | Action::RejectRequest => {
                let req = db::request(conn, ch.id, Direction::Outgoing, reference)?
                    .ok_or_else(bad_reference)?;
                if req.state != RequestState::Pending {
                    return Err(not_pending());
                }
                if valid.action == Action::RejectRequest {
                    Plan::Reject(req)
                } else {
                    check_acceptance(conn, &data, &req)?;
                    Plan::Accept(req)
                }
            }
            Action::CancelRequest => {
                let Some(req) = db::request(conn, ch.id, Direction::Incoming, reference)? else {
                    return Err(if unseen()? {
                        unseen_error()
                    } else {
                        bad_reference()
                    });
                };
                if req.kind == RequestKind::Channel {
                    return Err(bad_reference());
                }
                if req.state != RequestState::Pending {
                    return Err(not_pending());
                }
                Plan::Cancel(req)
            }
            Action::UpdateComDataRequest => Plan::Update,
            Action::CloseComRequest => Plan::Close,
            Action::SendPrivateText => {
                if data.referenced_message_id.is_some()
                    && db::message_row(conn, ch.id, Direction::Incoming, reference)?.is_none()
                    && db::message_row(conn, ch.id, Direction::Outgoing, reference)?.is_none()
                {
                    return Err(if unseen()? {
                        unseen_error()
                    } else {
                        bad_reference()
                    });
                }
                Plan::Text
            }
        };
        Ok((valid, plan))
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        conn: &Connection,
        ch: ChannelRow,
        valid: ValidData,
        data_text: &str,
        sig_text: &str,
        plan: Plan,
    ) -> Result<Received, WalletError> {
        let data = &valid.data;
        let created_at = now();
        let row = db::insert_message(
            conn,
            ch.id,
            Direction::Incoming,
            data,
            data_text,
            sig_text,
            None,
            created_at,
        )
        .map_err(|e| match e {
            // Nothing is written before this insert, so a replay leaves no trace.
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                rejected(ProtocolError::with_value(
                    ErrorKind::InvalidMessageId,
                    &data.message_id,
                ))
            }
            e => e.into(),
        })?;
        let mut queue = true;
        let mut close_after = false;
        let mut opened = false;
        let mut automated = Vec::new();
        match plan {
            Plan::Status { reference_row } => {
                let status = data.message_status.as_deref().unwrap_or_default();
                db::set_peer_status(conn, reference_row, status)?;
                // Success receipts only update the message; errors need the user.
                queue = status != "success";
            }
            Plan::NewRequest(kind) => {
                db::insert_request(conn, row, kind)?;
            }
            Plan::Accept(req) => {
                let state = if req.kind == RequestKind::Funds {
                    RequestState::Paid
                } else {
                    RequestState::Accepted
                };
                db::settle_request(conn, req.row, state, row)?;
                if req.kind == RequestKind::Channel {
                    opened = true;
                    conn.execute(
                        "UPDATE channels SET state = 'open', peer_token = ?1, updated_at = ?2 WHERE id = ?3",
                        params![data.return_id_token, now(), ch.id],
                    )?;
                }
            }
            Plan::Reject(req) => {
                db::settle_request(conn, req.row, RequestState::Rejected, row)?;
                close_after = req.kind == RequestKind::Channel;
            }
            Plan::Cancel(req) => {
                db::settle_request(conn, req.row, RequestState::Cancelled, row)?;
                db::unqueue_message(conn, req.row)?;
                queue = false;
            }
            Plan::Update => {
                conn.execute(
                    "UPDATE channels SET peer_token = COALESCE(?1, peer_token), peer_inbox_type = COALESCE(?2, peer_inbox_type),
                                         peer_inbox = COALESCE(?3, peer_inbox), updated_at = ?4 WHERE id = ?5",
                    params![
                        data.return_id_token,
                        valid.return_inbox.as_ref().map(|i| i.kind.code()),
                        valid.return_inbox.as_ref().map(|i| i.address.clone()),
                        now(),
                        ch.id
                    ],
                )?;
                queue = false;
            }
            Plan::Close => close_after = self.automation.close_on_request,
            Plan::Text => {}
        }
        // An accepted channel request just gave us the peer's token.
        let ch = if opened {
            db::channel_by_id(conn, ch.id)?
        } else {
            ch
        };
        if valid.action == Action::NewPubAddressRequest {
            if let Some(release) = self.automation.release_addresses.iter().find(|r| {
                Some(&r.chain_code) == data.chain_code.as_ref()
                    && Some(&r.token_code) == data.token_code.as_ref()
            }) {
                let answer = Acceptance {
                    payee_public_address: Some(release.public_address.clone()),
                    ..Default::default()
                };
                let req = db::request(conn, ch.id, Direction::Incoming, &data.message_id)?
                    .expect("just inserted");
                automated.push(self.accept(conn, &ch, &req, answer)?);
                queue = false;
            }
        }
        let queue_id = if queue {
            Some(db::insert_queue(conn, ch.id, row, valid.action)?)
        } else {
            None
        };
        let mut replies = Vec::new();
        if self.automation.status_replies && valid.action.wants_status_reply() {
            replies.extend(self.status_reply(conn, &ch, &valid, "success")?);
        }
        replies.extend(automated.into_iter().map(|mut o| {
            o.to = valid.return_inbox.clone().or(o.to);
            o
        }));
        if close_after {
            db::close_channel(conn, ch.id)?;
        }
        // Built from what we hold rather than read back and parsed again.
        let message = MessageRecord {
            id: row,
            peer: ch.peer.clone(),
            direction: Direction::Incoming,
            message_id: valid.data.message_id.clone(),
            action: valid.action,
            referenced_message_id: valid.data.referenced_message_id.clone(),
            data: valid.data,
            data_text: data_text.to_string(),
            signature: sig_text.to_string(),
            peer_status: None,
            created_at,
            delivery: None,
        };
        Ok(Received {
            message,
            replies,
            queue_id,
            key_change: None,
        })
    }

    fn status_reply(
        &mut self,
        conn: &Connection,
        ch: &ChannelRow,
        valid: &ValidData,
        status: &str,
    ) -> Result<Option<Outgoing>, WalletError> {
        self.status_reply_to(
            conn,
            ch,
            &valid.data.message_id,
            status,
            valid.return_inbox.clone(),
        )
    }

    /// peer_return_message_status for `reference`, if the peer has given us a
    /// token to write with.
    fn status_reply_to(
        &mut self,
        conn: &Connection,
        ch: &ChannelRow,
        reference: &str,
        status: &str,
        to: Option<crate::protocol::InboxLocation>,
    ) -> Result<Option<Outgoing>, WalletError> {
        if ch.peer_token.is_none() {
            return Ok(None);
        }
        let mut data = self.base_data(Action::ReturnMessageStatus, ch);
        data.referenced_message_id = Some(reference.to_string());
        data.message_status = Some(status.to_string());
        let (mut out, row) = self.compose(conn, ch, data, false)?;
        if let Some(to) = to {
            // The return address the message came with beats the channel's inbox.
            conn.execute(
                "UPDATE outbox SET to_type = ?1, to_address = ?2 WHERE message_row = ?3",
                rusqlite::params![to.kind.code(), to.address, row],
            )?;
            out.to = Some(to);
        }
        Ok(Some(out))
    }
}

/// SIG_K1 text to a signature; only canonical low-S signatures pass.
fn parse_signature(text: &str) -> Result<Signature, ProtocolError> {
    Signature::parse(text)
        .ok()
        .filter(|s| s.is_canonical() && s.is_low_s())
        .ok_or_else(|| ProtocolError::with_value(ErrorKind::InvalidSignature, text))
}

/// An accept must carry what its request needs: a token for a channel, an
/// address for the chain and token that were asked for.
fn check_acceptance(
    conn: &Connection,
    data: &MessageData,
    req: &db::RequestRow,
) -> Result<(), WalletError> {
    match req.kind {
        RequestKind::Channel if data.return_id_token.is_none() => Err(rejected(ProtocolError::at(
            ErrorKind::InvalidReturnIdToken,
            "return_id_token",
            None,
        ))),
        RequestKind::PublicAddress => {
            if data.payee_public_address.is_none() {
                return Err(rejected(ProtocolError::at(
                    ErrorKind::InvalidPublicAddress,
                    "payee_public_address",
                    None,
                )));
            }
            let asked = db::message_data(conn, req.row)?;
            if data.chain_code.is_some() && data.chain_code != asked.chain_code {
                return Err(rejected(ProtocolError::with_value(
                    ErrorKind::InvalidChainCode,
                    data.chain_code.as_deref().unwrap_or_default(),
                )));
            }
            if data.token_code.is_some() && data.token_code != asked.token_code {
                return Err(rejected(ProtocolError::with_value(
                    ErrorKind::InvalidTokenCode,
                    data.token_code.as_deref().unwrap_or_default(),
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
