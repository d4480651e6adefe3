//! The connections this process holds, and operations applied to them.

use super::op::{ConnectionSnapshot, Op, Outcome, Payload, Target};
use crate::outbound::{Outbound, OutboundQueue, PushError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use switchboard_core::context::{now_millis, ConnectionInfo};
use switchboard_core::ids::AwsId;
use tokio_util::sync::CancellationToken;

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

    fn snapshot(&self) -> ConnectionSnapshot {
        ConnectionSnapshot {
            info: self.info.clone(),
            last_active_at: self.last_active_at.load(Ordering::Relaxed),
        }
    }
}

/// A live connection as the plane holds it.
#[derive(Debug, Clone)]
pub struct ConnectionHandle {
    /// Shared state.
    pub shared: Arc<ConnectionShared>,
    /// The bounded outbound queue.
    pub outbound: Arc<OutboundQueue>,
}

/// The connections of this process, by id.
#[derive(Debug, Default)]
pub struct LocalConnections {
    map: RwLock<HashMap<AwsId, ConnectionHandle>>,
}

impl LocalConnections {
    /// Makes a connection reachable.
    pub fn insert(&self, handle: ConnectionHandle) {
        let id = handle.shared.info.connection_id;
        self.write().insert(id, handle);
    }

    /// Makes a connection unreachable (its socket is gone).
    pub fn remove(&self, id: &AwsId) {
        self.write().remove(id);
    }

    /// Number of connections held.
    pub fn count(&self) -> usize {
        self.read().len()
    }

    /// The fixed facts of every connection held.
    pub fn infos(&self) -> Vec<ConnectionInfo> {
        self.read()
            .values()
            .map(|h| h.shared.info.clone())
            .collect()
    }

    /// Asks every connection matching `pred` to close with `cause`; returns how many.
    pub fn close_where(&self, pred: &dyn Fn(&ConnectionInfo) -> bool, cause: CloseCause) -> usize {
        let map = self.read();
        let mut n = 0;
        for handle in map.values().filter(|h| pred(&h.shared.info)) {
            handle.shared.request_close(cause);
            n += 1;
        }
        n
    }

    /// Applies `op` to a connection of this process. Never waits.
    pub fn apply(&self, op: Op) -> Outcome {
        let Some(handle) = self.live(op.target()) else {
            return Outcome::Gone;
        };
        match op {
            Op::Post { payload, .. } => match handle.outbound.try_push(outbound(payload)) {
                Ok(()) => {
                    handle.shared.touch();
                    Outcome::Queued
                }
                Err(PushError::QueueFull) => Outcome::QueueFull,
                Err(PushError::Gone) => Outcome::Gone,
            },
            Op::Get { .. } => Outcome::Info(Box::new(handle.shared.snapshot())),
            Op::Delete { .. } => {
                handle.shared.request_close(CloseCause::Deleted);
                Outcome::Closing
            }
        }
    }

    /// The connection `target` names, if it is live, not closing, and of the API and stage
    /// the caller addressed: one that is closing is already gone for everyone who addresses it
    /// (a push would be dropped, a GET would describe a connection that is ending).
    fn live(&self, target: &Target) -> Option<ConnectionHandle> {
        self.read()
            .get(&target.connection_id)
            .filter(|h| {
                let info = &h.shared.info;
                !h.shared.close.is_cancelled()
                    && info.api_id == target.api_id
                    && info.stage == target.stage
            })
            .cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<AwsId, ConnectionHandle>> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<AwsId, ConnectionHandle>> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The queue's form of a payload: text only when it is UTF-8 (a remote node's flag is not
/// trusted blindly).
fn outbound(payload: Payload) -> Outbound {
    if payload.binary {
        Outbound::Binary(payload.data)
    } else {
        Outbound::from_bytes(payload.data)
    }
}
