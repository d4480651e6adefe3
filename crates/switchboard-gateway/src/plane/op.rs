//! Operations on connections and their outcomes: plain data, with no HTTP or WebSocket types,
//! so the same values travel between nodes of a cluster (docs/architecture.md §4).

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use switchboard_core::context::ConnectionInfo;
use switchboard_core::ids::AwsId;

use super::group::GroupName;

/// The connection an operation addresses, with the API and stage the caller named: the owner
/// answers `Gone` when they do not match, so a wrong stage costs one hop, not two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `apiId` the caller addressed.
    pub api_id: String,
    /// Stage the caller addressed.
    pub stage: String,
    /// The connection.
    pub connection_id: AwsId,
}

/// A message for a client: its bytes and whether it goes as a binary frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// The message bytes, shared, never copied per hop.
    pub data: Bytes,
    /// Binary frame (bytes that are not UTF-8); text otherwise.
    pub binary: bool,
}

impl Payload {
    /// Text when `data` is valid UTF-8, binary otherwise (docs/behaviour.md §7.2).
    pub fn from_bytes(data: Bytes) -> Self {
        let binary = std::str::from_utf8(&data).is_err();
        Self { data, binary }
    }
}

/// What a caller asks of a connection (the `@connections` operations, docs/behaviour.md §7.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Op {
    /// `PostToConnection`: queue a message.
    Post {
        /// Who.
        target: Target,
        /// What.
        payload: Payload,
    },
    /// `GetConnection`: describe the connection.
    Get {
        /// Who.
        target: Target,
    },
    /// `DeleteConnection`: close it (close code 1000; its `$disconnect` follows).
    Delete {
        /// Who.
        target: Target,
    },
    /// Extension: add the connection to a group (docs/groups.md).
    Join {
        /// Who.
        target: Target,
        /// Which group.
        group: GroupName,
    },
    /// Extension: remove the connection from a group.
    Leave {
        /// Who.
        target: Target,
        /// Which group.
        group: GroupName,
    },
}

impl Op {
    /// The connection addressed.
    pub fn target(&self) -> &Target {
        match self {
            Op::Post { target, .. }
            | Op::Get { target }
            | Op::Delete { target }
            | Op::Join { target, .. }
            | Op::Leave { target, .. } => target,
        }
    }

    /// The operation's name in the AWS API (metric labels, logs).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Post { .. } => "PostToConnection",
            Op::Get { .. } => "GetConnection",
            Op::Delete { .. } => "DeleteConnection",
            Op::Join { .. } => "JoinGroup",
            Op::Leave { .. } => "LeaveGroup",
        }
    }
}

/// A connection as `GetConnection` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionSnapshot {
    /// What is fixed for the connection's life.
    pub info: ConnectionInfo,
    /// `lastActiveAt`, epoch milliseconds.
    pub last_active_at: i64,
    /// Extension: its groups, in name order (docs/groups.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupName>,
    /// Extension: its user (`principalId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// Every answer an operation can get, wherever the connection lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum Outcome {
    /// Queued on the owner, to be written to the client (200).
    Queued,
    /// The connection's description (200).
    Info(Box<ConnectionSnapshot>),
    /// The close was requested (204).
    Closing,
    /// No such connection here: unknown, closed, closing, still in `$connect`, or of another
    /// API or stage (410).
    Gone,
    /// The connection's outbound queue is full; nothing was queued (429).
    QueueFull,
    /// The cluster link is down: the owner could not be asked (503, `Retry-After`).
    Unavailable,
    /// The owner did not answer in time; whether it acted is unknown (504).
    TimedOut,
    /// A group was joined or left (204).
    Done,
    /// Joining would pass a bound on groups; nothing changed (409).
    GroupLimit(GroupLimit),
}

/// Which bound on groups a join would pass (docs/groups.md "Limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GroupLimit {
    /// The connection is in as many groups as one may be.
    PerConnection,
    /// The stage has as many groups on this node as it may.
    PerStage,
}
