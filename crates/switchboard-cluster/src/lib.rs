//! Switchboard's cluster mode on NATS (docs/cluster.md): many nodes serve one API. A
//! connection id carries its owner's incarnation tag, so an `@connections` call reaching any
//! node is forwarded to the owner in one request/reply; node leases in JetStream key-value let
//! exactly one survivor claim a dead node and run its `$disconnect`s; a node that cannot renew
//! its lease fences itself first, so no socket outlives its `$disconnect`.
#![forbid(unsafe_code)]

mod buckets;
mod control;
mod lease;
mod membership;
mod names;
mod node;
mod run;
mod takeover;
mod wire;

pub use membership::{NodeRecord, NodeState};
pub use node::JoinError;

use node::Node;
use std::sync::Arc;
use switchboard_core::config::ClusterConfig;
use switchboard_core::ids::NodeTag;
use switchboard_gateway::metrics::ClusterMetrics;
use switchboard_gateway::plane::ClusterLink;
use switchboard_gateway::server::GatewayState;

/// This process as a node of a cluster.
#[derive(Clone)]
pub struct Cluster {
    node: Arc<Node>,
}

impl Cluster {
    /// Connects to NATS and registers a fresh node (a new incarnation tag).
    pub async fn join(config: &ClusterConfig) -> Result<Self, JoinError> {
        Ok(Self {
            node: Node::join(config).await?,
        })
    }

    /// This node's incarnation tag: every connection id it hands out carries it.
    pub fn tag(&self) -> NodeTag {
        self.node.tag
    }

    /// What the gateway's connection plane calls.
    pub fn link(&self) -> Arc<dyn ClusterLink> {
        Arc::clone(&self.node) as Arc<dyn ClusterLink>
    }

    /// The cluster's metrics, for the gateway to export.
    pub fn metrics(&self) -> ClusterMetrics {
        self.node.metrics.clone()
    }

    /// Starts serving the gateway's connections to the cluster.
    pub async fn start(&self, gateway: Arc<GatewayState>) -> Result<(), JoinError> {
        self.node.start(gateway).await
    }

    /// Resolves if another node claimed this one: the process must stop (its connections'
    /// `$disconnect`s were run elsewhere).
    pub async fn claimed(&self) {
        self.node.claimed.cancelled().await
    }

    /// Shutdown on a signal begins: this node runs its own `$disconnect`s.
    pub async fn leaving(&self) {
        self.node.leaving().await
    }

    /// Shutdown ended; `drained` when every `$disconnect` ran.
    pub async fn left(&self, drained: bool) {
        self.node.left(drained).await
    }
}
