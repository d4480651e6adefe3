//! The connection directory (docs/architecture.md §4): the one place that maps a connection id to its
//! live connection. Pushes, two-way replies and the management API only talk to this seam; the
//! in-process implementation is here, a cluster one can stand behind the same trait.

use crate::outbound::OutboundQueue;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use switchboard_core::context::{now_millis, ConnectionInfo};
use switchboard_core::ids::AwsId;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

/// A message on its way to a client.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message (pushed bytes that are not UTF-8).
    Binary(Bytes),
}

impl Outbound {
    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Outbound::Text(t) => t.len(),
            Outbound::Binary(b) => b.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Text when `bytes` are valid UTF-8, binary otherwise (README: how pushes are framed).
    pub fn from_bytes(bytes: Bytes) -> Self {
        match Utf8Bytes::try_from(bytes.clone()) {
            Ok(text) => Outbound::Text(text),
            Err(_) => Outbound::Binary(bytes),
        }
    }
}

/// Why the gateway closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CloseCause {
    /// Not closing.
    None = 0,
    /// `DELETE @connections/{id}`: close 1000.
    Deleted = 1,
    /// Shutdown, or its stage was removed by a reload: close 1001 "Going away".
    GoingAway = 2,
}

/// State shared between a connection's task and everyone who can reach it.
#[derive(Debug)]
pub struct ConnectionShared {
    /// What is fixed for the life of the connection.
    pub info: ConnectionInfo,
    /// `lastActiveAt`, epoch milliseconds.
    pub last_active_at: AtomicI64,
    /// Cancelled when the gateway wants the connection closed.
    pub close: CancellationToken,
    cause: AtomicU8,
}

impl ConnectionShared {
    /// Shared state of a new connection.
    pub fn new(info: ConnectionInfo) -> Self {
        let connected = info.connected_at;
        Self {
            info,
            last_active_at: AtomicI64::new(connected),
            close: CancellationToken::new(),
            cause: AtomicU8::new(CloseCause::None as u8),
        }
    }

    /// Asks the connection task to close for `cause` (the first cause wins).
    pub fn request_close(&self, cause: CloseCause) {
        let _ = self.cause.compare_exchange(
            CloseCause::None as u8,
            cause as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.close.cancel();
    }

    /// Why the close was requested.
    pub fn close_cause(&self) -> CloseCause {
        match self.cause.load(Ordering::Acquire) {
            1 => CloseCause::Deleted,
            2 => CloseCause::GoingAway,
            _ => CloseCause::None,
        }
    }

    /// Records activity now (messages either way reset `lastActiveAt`).
    pub fn touch(&self) {
        self.last_active_at.store(now_millis(), Ordering::Relaxed);
    }
}

/// A live connection as the directory holds it.
#[derive(Debug, Clone)]
pub struct ConnectionHandle {
    /// Shared state.
    pub shared: Arc<ConnectionShared>,
    /// The bounded outbound queue.
    pub outbound: Arc<OutboundQueue>,
}

/// What a connection looks like from the management API (`GetConnection`).
#[derive(Debug, Clone)]
pub struct ConnectionSnapshot {
    /// Fixed connection facts.
    pub info: ConnectionInfo,
    /// `lastActiveAt`, epoch milliseconds.
    pub last_active_at: i64,
}

/// Why a push or disconnect failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// No such connection (unknown, closed, or still in `$connect`): 410.
    #[error("connection is gone")]
    Gone,
    /// The connection's outbound queue is full: 429, and nothing was queued.
    #[error("connection outbound queue is full")]
    QueueFull,
}

/// The seam between connections and everything that addresses them by id.
pub trait ConnectionDirectory: Send + Sync + 'static {
    /// Makes a connection reachable (after `$connect` succeeded).
    fn register(&self, handle: ConnectionHandle);
    /// Makes a connection unreachable (its socket is gone).
    fn unregister(&self, id: &AwsId);
    /// Queues a message for a connection without waiting.
    fn push<'a>(&'a self, id: &'a AwsId, message: Outbound)
        -> BoxFuture<'a, Result<(), PushError>>;
    /// Details of a connection.
    fn info<'a>(&'a self, id: &'a AwsId) -> BoxFuture<'a, Option<ConnectionSnapshot>>;
    /// Closes a connection (its `$disconnect` follows).
    fn disconnect<'a>(&'a self, id: &'a AwsId) -> BoxFuture<'a, Result<(), PushError>>;
    /// Number of connections this node holds.
    fn local_count(&self) -> usize;
    /// Asks every local connection matching `pred` to close with `cause`; returns how many.
    fn close_where(&self, pred: &dyn Fn(&ConnectionInfo) -> bool, cause: CloseCause) -> usize;
}

/// The in-process directory.
#[derive(Debug, Default)]
pub struct LocalDirectory {
    map: RwLock<HashMap<AwsId, ConnectionHandle>>,
}

impl LocalDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// A live connection; one that is closing is already gone for everyone who addresses it
    /// (a push would be dropped, a GET would describe a connection that is ending).
    fn get(&self, id: &AwsId) -> Option<ConnectionHandle> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .filter(|h| !h.shared.close.is_cancelled())
            .cloned()
    }

    /// Queues without waiting; the synchronous core of [`ConnectionDirectory::push`].
    pub fn try_push(&self, id: &AwsId, message: Outbound) -> Result<(), PushError> {
        let handle = self.get(id).ok_or(PushError::Gone)?;
        handle.outbound.try_push(message)?;
        handle.shared.touch();
        Ok(())
    }
}

impl ConnectionDirectory for LocalDirectory {
    fn register(&self, handle: ConnectionHandle) {
        let id = handle.shared.info.connection_id;
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, handle);
    }

    fn unregister(&self, id: &AwsId) {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    fn push<'a>(
        &'a self,
        id: &'a AwsId,
        message: Outbound,
    ) -> BoxFuture<'a, Result<(), PushError>> {
        let result = self.try_push(id, message);
        Box::pin(async move { result })
    }

    fn info<'a>(&'a self, id: &'a AwsId) -> BoxFuture<'a, Option<ConnectionSnapshot>> {
        let snapshot = self.get(id).map(|h| ConnectionSnapshot {
            info: h.shared.info.clone(),
            last_active_at: h.shared.last_active_at.load(Ordering::Relaxed),
        });
        Box::pin(async move { snapshot })
    }

    fn disconnect<'a>(&'a self, id: &'a AwsId) -> BoxFuture<'a, Result<(), PushError>> {
        let result = match self.get(id) {
            Some(h) => {
                h.shared.request_close(CloseCause::Deleted);
                Ok(())
            }
            None => Err(PushError::Gone),
        };
        Box::pin(async move { result })
    }

    fn local_count(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn close_where(&self, pred: &dyn Fn(&ConnectionInfo) -> bool, cause: CloseCause) -> usize {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        for handle in map.values().filter(|h| pred(&h.shared.info)) {
            handle.shared.request_close(cause);
            n += 1;
        }
        n
    }
}
