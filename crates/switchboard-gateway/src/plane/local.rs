//! The connections this process holds, and operations applied to them.

use super::group::{GroupName, MAX_PAGE_BYTES};
use super::index::Index;
use super::op::{ConnectionSnapshot, GroupLimit, Op, Outcome, Payload, Target};
use super::stage_op::{StageOp, StageOutcome};
use crate::outbound::{wait_for, Outbound, OutboundQueue, PushError};
use futures_util::task::AtomicWaker;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use switchboard_core::context::{now_millis, ConnectionInfo, EventExtension};
use switchboard_core::ids::AwsId;

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
    /// Why the gateway wants the connection closed ([`CloseCause::None`] while it does not).
    cause: AtomicU8,
    /// Wakes the connection task when a close is requested (it waits on every turn of its loop).
    close_waker: AtomicWaker,
}

impl ConnectionShared {
    /// Shared state of a new connection.
    pub fn new(info: ConnectionInfo) -> Self {
        let connected = info.connected_at;
        Self {
            info,
            last_active_at: AtomicI64::new(connected),
            cause: AtomicU8::new(CloseCause::None as u8),
            close_waker: AtomicWaker::new(),
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
        self.close_waker.wake();
    }

    /// Whether a close was requested.
    pub fn is_closing(&self) -> bool {
        self.close_cause() != CloseCause::None
    }

    /// Completes once a close is requested. One waiter at a time (the connection task).
    pub async fn closing(&self) {
        wait_for(&self.close_waker, || self.is_closing().then_some(())).await
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
            groups: Vec::new(),
            user: None,
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

/// The connections of this process, by id, with their groups and users.
#[derive(Debug, Default)]
pub struct LocalConnections {
    inner: RwLock<Inner>,
}

/// Connections and their index change together, under one lock.
#[derive(Debug, Default)]
struct Inner {
    map: HashMap<AwsId, ConnectionHandle>,
    index: Index,
    /// Connections whose `$connect` runs on a stage that takes pushes meanwhile: their queue,
    /// written to the client after the 101.
    pending: HashMap<AwsId, Pending>,
}

/// A connection still in `$connect`, reachable by pushes only.
#[derive(Debug)]
struct Pending {
    api_id: String,
    stage: String,
    outbound: Arc<OutboundQueue>,
}

impl LocalConnections {
    /// Makes a connection reachable.
    pub fn insert(&self, handle: ConnectionHandle) {
        let mut inner = self.write();
        let id = handle.shared.info.connection_id;
        inner.index.insert(&handle.shared.info);
        inner.pending.remove(&id);
        inner.map.insert(id, handle);
    }

    /// Makes a connection unreachable (its socket is gone); it leaves every group.
    pub fn remove(&self, id: &AwsId) {
        let mut inner = self.write();
        inner.map.remove(id);
        inner.index.remove(id);
    }

    /// Number of connections held.
    pub fn count(&self) -> usize {
        self.read().map.len()
    }

    /// The fixed facts of every connection held.
    pub fn infos(&self) -> Vec<ConnectionInfo> {
        self.read()
            .map
            .values()
            .map(|h| h.shared.info.clone())
            .collect()
    }

    /// Asks every connection matching `pred` to close with `cause`; returns how many.
    pub fn close_where(&self, pred: &dyn Fn(&ConnectionInfo) -> bool, cause: CloseCause) -> usize {
        let inner = self.read();
        let mut n = 0;
        for handle in inner.map.values().filter(|h| pred(&h.shared.info)) {
            handle.shared.request_close(cause);
            n += 1;
        }
        n
    }

    /// Makes a connection whose `$connect` is running reachable by pushes, which go to
    /// `outbound` (docs/groups.md "Pushes during `$connect`"); [`LocalConnections::insert`] or
    /// [`LocalConnections::forget_pending`] ends that.
    pub fn expect(&self, info: &ConnectionInfo, outbound: Arc<OutboundQueue>) {
        self.write().pending.insert(
            info.connection_id,
            Pending {
                api_id: info.api_id.clone(),
                stage: info.stage.clone(),
                outbound,
            },
        );
    }

    /// The connection's `$connect` ended: pushes no longer wait for it (on refusal, what was
    /// queued is dropped with the queue).
    pub fn forget_pending(&self, id: &AwsId) {
        self.write().pending.remove(id);
    }

    /// A push to a connection still in `$connect` on a stage that takes them.
    fn push_pending(&self, op: Op) -> Outcome {
        let Op::Post { target, payload } = op else {
            return Outcome::Gone;
        };
        let outbound = {
            let inner = self.read();
            let Some(pending) = inner
                .pending
                .get(&target.connection_id)
                .filter(|p| p.api_id == target.api_id && p.stage == target.stage)
            else {
                return Outcome::Gone;
            };
            Arc::clone(&pending.outbound)
        };
        match outbound.try_push(outbound_message(payload)) {
            Ok(()) => Outcome::Queued,
            Err(PushError::QueueFull) => Outcome::QueueFull,
            Err(PushError::Gone) => Outcome::Gone,
        }
    }

    /// Applies `op` to a connection of this process. Never waits.
    pub fn apply(&self, op: Op) -> Outcome {
        let Some(handle) = self.live(op.target()) else {
            return self.push_pending(op);
        };
        match op {
            Op::Post { payload, .. } => match handle.outbound.try_push(outbound_message(payload)) {
                Ok(()) => {
                    handle.shared.touch();
                    Outcome::Queued
                }
                Err(PushError::QueueFull) => Outcome::QueueFull,
                Err(PushError::Gone) => Outcome::Gone,
            },
            Op::Get { target } => {
                Outcome::Info(Box::new(self.describe(&handle, &target.connection_id)))
            }
            Op::Delete { .. } => {
                handle.shared.request_close(CloseCause::Deleted);
                Outcome::Closing
            }
            Op::Join { target, group } => {
                match self.write().index.join(&target.connection_id, &group) {
                    Ok(()) => Outcome::Done,
                    Err(limit) => Outcome::GroupLimit(limit),
                }
            }
            Op::Leave { target, group } => {
                self.write().index.leave(&target.connection_id, &group);
                Outcome::Done
            }
        }
    }

    /// Joins a connection to groups before its 101 (the `$connect` answer named them): as
    /// many as fit; the first bound passed is returned.
    pub fn join_all(&self, id: &AwsId, groups: &[GroupName]) -> Result<(), GroupLimit> {
        let mut inner = self.write();
        groups.iter().try_for_each(|g| inner.index.join(id, g))
    }

    /// Applies `op` to this process's connections of its stage. Never waits: a member whose
    /// queue is full is skipped, so a slow member never slows the others. A broadcast's body
    /// is checked once and shared by every member's queue.
    pub fn apply_stage(&self, op: &StageOp) -> StageOutcome {
        let inner = self.read();
        let live = |id: &AwsId| inner.map.get(id).filter(|h| !h.shared.is_closing());
        match op {
            StageOp::Broadcast {
                scope,
                filter,
                exclude,
                payload,
            } => {
                let message = outbound_message(payload.clone());
                let now = now_millis();
                let (mut queued, mut skipped) = (0, 0);
                let members = inner
                    .index
                    .select(&scope.api_id, &scope.stage, filter, None);
                for handle in members
                    .filter(|id| !exclude.contains(id))
                    .filter_map(|id| live(&id))
                {
                    match handle.outbound.try_push(message.clone()) {
                        Ok(()) => {
                            handle.shared.last_active_at.store(now, Ordering::Relaxed);
                            queued += 1;
                        }
                        Err(PushError::QueueFull) => skipped += 1,
                        Err(PushError::Gone) => {}
                    }
                }
                StageOutcome::Tally { queued, skipped }
            }
            StageOp::Disconnect { scope, filter } => {
                let mut queued = 0;
                let members = inner
                    .index
                    .select(&scope.api_id, &scope.stage, filter, None);
                for handle in members.filter_map(|id| live(&id)) {
                    handle.shared.request_close(CloseCause::Deleted);
                    queued += 1;
                }
                StageOutcome::Tally { queued, skipped: 0 }
            }
            StageOp::List {
                scope,
                filter,
                after,
                limit,
            } => {
                let mut entries = Vec::new();
                let mut more = false;
                let members = inner
                    .index
                    .select(&scope.api_id, &scope.stage, filter, *after);
                let mut bytes = 0;
                for (id, handle) in members.filter_map(|id| live(&id).map(|h| (id, h))) {
                    if entries.len() == *limit || bytes > MAX_PAGE_BYTES {
                        more = true;
                        break;
                    }
                    let mut entry = ConnectionSnapshot {
                        groups: inner.index.groups_of(&id),
                        user: inner.index.user_of(&id).map(str::to_owned),
                        ..handle.shared.snapshot()
                    };
                    // A listing shows neither; they would only weigh on a cluster reply.
                    entry.info.authorizer = None;
                    entry.info.caller = Default::default();
                    bytes += approximate_bytes(&entry);
                    entries.push(entry);
                }
                let total = inner.index.count(&scope.api_id, &scope.stage, filter) as u64;
                StageOutcome::Page {
                    entries,
                    more,
                    total,
                }
            }
        }
    }

    /// A connection's groups and user, as an event's extension field shows them.
    pub fn event_extension(&self, id: &AwsId) -> EventExtension {
        let inner = self.read();
        EventExtension {
            groups: inner
                .index
                .groups_of(id)
                .into_iter()
                .map(String::from)
                .collect(),
            user: inner.index.user_of(id).map(str::to_owned),
        }
    }

    /// A connection's description with its groups and user.
    fn describe(&self, handle: &ConnectionHandle, id: &AwsId) -> ConnectionSnapshot {
        let inner = self.read();
        ConnectionSnapshot {
            groups: inner.index.groups_of(id),
            user: inner.index.user_of(id).map(str::to_owned),
            ..handle.shared.snapshot()
        }
    }

    /// The connection `target` names, if it is live, not closing, and of the API and stage
    /// the caller addressed: one that is closing is already gone for everyone who addresses it
    /// (a push would be dropped, a GET would describe a connection that is ending).
    fn live(&self, target: &Target) -> Option<ConnectionHandle> {
        self.read()
            .map
            .get(&target.connection_id)
            .filter(|h| {
                let info = &h.shared.info;
                !h.shared.is_closing() && info.api_id == target.api_id && info.stage == target.stage
            })
            .cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// About how many bytes a listed connection takes as JSON.
fn approximate_bytes(entry: &ConnectionSnapshot) -> usize {
    const FIXED: usize = 400;
    let info = &entry.info;
    FIXED
        + info.user_agent.as_ref().map_or(0, String::len)
        + entry.user.as_ref().map_or(0, String::len)
        + entry
            .groups
            .iter()
            .map(|g| g.as_str().len() + 3)
            .sum::<usize>()
}

/// The queue's form of a payload: text only when it is UTF-8 (a remote node's flag is not
/// trusted blindly).
fn outbound_message(payload: Payload) -> Outbound {
    if payload.binary {
        Outbound::Binary(payload.data)
    } else {
        Outbound::from_bytes(payload.data)
    }
}
