//! The connection plane (docs/architecture.md §4): the one seam through which anything
//! addresses a connection by id. Callers build a typed [`Op`]; [`ConnectionPlane::apply`]
//! applies it here when this process owns the connection (the id says so: it carries the
//! owner's [`NodeTag`]) and forwards it over the cluster link otherwise, and every answer is
//! one [`Outcome`]. Nothing here knows HTTP or WebSocket types.

pub mod group;
mod index;
mod local;
mod op;
mod stage_op;
#[cfg(test)]
mod test_support;

pub use group::GroupName;
pub use index::principal;
pub use local::{CloseCause, ConnectionHandle, ConnectionShared, LocalConnections};
pub use op::{ConnectionSnapshot, GroupLimit, Op, Outcome, Payload, Target};
pub use stage_op::{FanOut, Filter, Gathered, Scope, StageOp, StageOutcome};

/// The response header of a `$connect` integration (HTTP_PROXY, or a Lambda proxy result's
/// `headers`) naming groups, comma-separated, the connection joins before its 101
/// (docs/groups.md).
pub const JOIN_HEADER: &str = "x-switchboard-groups";

use futures_util::future::BoxFuture;
use std::sync::Arc;
use switchboard_core::context::{ConnectionInfo, DisconnectStatus};
use switchboard_core::ids::{AwsId, NodeTag};

/// What the plane needs from a cluster (implemented on NATS by `switchboard-cluster`).
pub trait ClusterLink: Send + Sync + 'static {
    /// Asks the node tagged `owner` to apply `op`, within the cluster's request deadline.
    fn forward(&self, owner: NodeTag, op: Op) -> BoxFuture<'_, Outcome>;
    /// Asks every other live node to apply `op` to its connections of the stage, within the
    /// cluster's request deadline; those that do not answer in time are left out.
    fn fan_out(&self, op: StageOp) -> BoxFuture<'_, FanOut>;
    /// Records a connection before its 101, so that a survivor can run its `$disconnect` if
    /// this node dies. An error refuses the connection (503).
    fn record(&self, info: &ConnectionInfo) -> BoxFuture<'_, Result<(), LinkDown>>;
    /// Deletes a connection's record once its `$disconnect` has returned.
    fn forget(&self, id: AwsId) -> BoxFuture<'_, ()>;
    /// Whether the node takes new connections (not while fenced).
    fn accepting(&self) -> bool;
    /// Whether the node is ready: it reaches its own subject through the cluster.
    fn ready(&self) -> bool;
    /// While fenced, keeps a closed connection's `$disconnect` (returns true) until the node
    /// learns whether a survivor claimed it: then it runs them, or drops them.
    fn hold_disconnect(&self, info: &ConnectionInfo, status: &DisconnectStatus) -> bool;
}

/// The cluster could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cluster link is down")]
pub struct LinkDown;

/// Connections of this process, and the way to everyone else's.
pub struct ConnectionPlane {
    tag: NodeTag,
    local: LocalConnections,
    cluster: Option<Arc<dyn ClusterLink>>,
}

impl std::fmt::Debug for ConnectionPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionPlane")
            .field("tag", &self.tag)
            .field("clustered", &self.cluster.is_some())
            .finish_non_exhaustive()
    }
}

impl ConnectionPlane {
    /// A plane for the process tagged `tag`; with `cluster`, ids of other nodes are forwarded.
    pub fn new(tag: NodeTag, cluster: Option<Arc<dyn ClusterLink>>) -> Self {
        Self {
            tag,
            local: LocalConnections::default(),
            cluster,
        }
    }

    /// This process's incarnation tag.
    pub fn tag(&self) -> NodeTag {
        self.tag
    }

    /// A fresh id for a connection of this process.
    pub fn new_connection_id(&self) -> AwsId {
        AwsId::connection(self.tag)
    }

    /// The connections this process holds.
    pub fn local(&self) -> &LocalConnections {
        &self.local
    }

    /// Applies `op` where the connection lives: here without waiting, or on its owner node.
    /// An id no live node can own is `Gone`.
    pub async fn apply(&self, op: Op) -> Outcome {
        match (op.target().connection_id.owner(), &self.cluster) {
            (Some(owner), _) if owner == self.tag => self.local.apply(op),
            (Some(owner), Some(cluster)) => cluster.forward(owner, op).await,
            _ => Outcome::Gone,
        }
    }

    /// Applies `op` to the connections of its stage on every node (here first, never waiting)
    /// and merges the answers: a cluster answer is a merge of each node's view at one moment.
    pub async fn apply_stage(&self, op: StageOp) -> Gathered {
        let here = self.local.apply_stage(&op);
        let others = match &self.cluster {
            Some(cluster) => cluster.fan_out(op.clone()).await,
            None => FanOut::default(),
        };
        let nodes_answered = 1 + others.answers.len();
        let mut answers = others.answers;
        answers.push(here);
        Gathered {
            outcome: StageOutcome::merge(&op, answers),
            nodes_asked: 1 + others.asked,
            nodes_answered,
        }
    }

    /// Makes a connection reachable once `$connect` succeeded, recording it in the cluster
    /// first; on `LinkDown` nothing is registered.
    pub async fn open(&self, handle: ConnectionHandle) -> Result<(), LinkDown> {
        if let Some(cluster) = &self.cluster {
            cluster.record(&handle.shared.info).await?;
        }
        self.local.insert(handle);
        Ok(())
    }

    /// The connection's socket is gone: unreachable from now on.
    pub fn close(&self, id: &AwsId) {
        self.local.remove(id);
    }

    /// Whether new connections are taken (a fenced cluster node takes none).
    pub fn accepting(&self) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.accepting())
    }

    /// Whether the plane is ready to serve (a cluster node: once it reaches itself).
    pub fn ready(&self) -> bool {
        self.cluster.as_ref().is_none_or(|c| c.ready())
    }

    /// Whether a closed connection's `$disconnect` must wait (a fenced cluster node).
    pub fn hold_disconnect(&self, info: &ConnectionInfo, status: &DisconnectStatus) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.hold_disconnect(info, status))
    }

    /// The connection's `$disconnect` has returned: its cluster record goes.
    pub async fn forget(&self, id: AwsId) {
        if let Some(cluster) = &self.cluster {
            cluster.forget(id).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::OutboundQueue;
    use bytes::Bytes;
    use std::sync::Mutex;

    use super::test_support::info;

    async fn connect(plane: &ConnectionPlane) -> (AwsId, Arc<OutboundQueue>) {
        let id = plane.new_connection_id();
        let outbound = Arc::new(OutboundQueue::new(1, 1 << 20));
        let handle = ConnectionHandle {
            shared: Arc::new(ConnectionShared::new(info(id))),
            outbound: Arc::clone(&outbound),
        };
        plane.open(handle).await.expect("no cluster to fail");
        (id, outbound)
    }

    fn target(id: AwsId, stage: &str) -> Target {
        Target {
            api_id: "chat".into(),
            stage: stage.into(),
            connection_id: id,
        }
    }

    fn post(id: AwsId, stage: &str, text: &'static str) -> Op {
        Op::Post {
            target: target(id, stage),
            payload: Payload::from_bytes(Bytes::from_static(text.as_bytes())),
        }
    }

    #[tokio::test]
    async fn local_operations_answer_in_one_step() {
        let plane = ConnectionPlane::new(NodeTag(7), None);
        let (id, outbound) = connect(&plane).await;
        assert_eq!(plane.apply(post(id, "dev", "hi")).await, Outcome::Queued);
        assert_eq!(
            plane.apply(post(id, "dev", "again")).await,
            Outcome::QueueFull
        );
        outbound.pop().await;
        // The owner checks the caller's stage itself.
        assert_eq!(plane.apply(post(id, "prod", "hi")).await, Outcome::Gone);
        match plane
            .apply(Op::Get {
                target: target(id, "dev"),
            })
            .await
        {
            Outcome::Info(snapshot) => assert_eq!(snapshot.info.connection_id, id),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            plane
                .apply(Op::Delete {
                    target: target(id, "dev")
                })
                .await,
            Outcome::Closing
        );
        // Closing is gone for everyone, before the socket is torn down.
        assert_eq!(plane.apply(post(id, "dev", "late")).await, Outcome::Gone);
        plane.close(&id);
        assert_eq!(plane.local().count(), 0);
    }

    #[tokio::test]
    async fn ids_of_other_nodes_go_to_the_cluster_or_are_gone() {
        let alone = ConnectionPlane::new(NodeTag(1), None);
        let foreign = AwsId::connection(NodeTag(2));
        assert_eq!(alone.apply(post(foreign, "dev", "x")).await, Outcome::Gone);

        struct Recorder(Mutex<Vec<(NodeTag, Op)>>);
        impl ClusterLink for Recorder {
            fn forward(&self, owner: NodeTag, op: Op) -> BoxFuture<'_, Outcome> {
                self.0.lock().unwrap().push((owner, op));
                Box::pin(async { Outcome::TimedOut })
            }
            fn fan_out(&self, _: StageOp) -> BoxFuture<'_, FanOut> {
                Box::pin(async { FanOut::default() })
            }
            fn record(&self, _: &ConnectionInfo) -> BoxFuture<'_, Result<(), LinkDown>> {
                Box::pin(async { Err(LinkDown) })
            }
            fn forget(&self, _: AwsId) -> BoxFuture<'_, ()> {
                Box::pin(async {})
            }
            fn accepting(&self) -> bool {
                true
            }
            fn ready(&self) -> bool {
                true
            }
            fn hold_disconnect(&self, _: &ConnectionInfo, _: &DisconnectStatus) -> bool {
                false
            }
        }
        let link = Arc::new(Recorder(Mutex::new(Vec::new())));
        let clustered = ConnectionPlane::new(NodeTag(1), Some(link.clone()));
        let op = post(foreign, "dev", "x");
        assert_eq!(clustered.apply(op.clone()).await, Outcome::TimedOut);
        assert_eq!(*link.0.lock().unwrap(), vec![(NodeTag(2), op)]);
        // A connection that cannot be recorded is not registered.
        let handle = ConnectionHandle {
            shared: Arc::new(ConnectionShared::new(info(clustered.new_connection_id()))),
            outbound: Arc::new(OutboundQueue::new(1, 1)),
        };
        assert_eq!(clustered.open(handle).await, Err(LinkDown));
        assert_eq!(clustered.local().count(), 0);
        // A garbled id has no owner.
        let garbled = AwsId::parse("!!!!!!!!!!!!!!!=");
        assert!(garbled.is_none());
    }
}
