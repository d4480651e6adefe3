//! Subjects and buckets of one cluster: every name starts with the cluster's name, so several
//! clusters can share a NATS deployment.

use switchboard_core::ids::NodeTag;

/// The names of a cluster.
#[derive(Debug, Clone)]
pub struct Names {
    cluster: String,
}

impl Names {
    /// Names of the cluster `cluster` (validated: letters, digits, `-`, `_`).
    pub fn new(cluster: &str) -> Self {
        Self {
            cluster: cluster.to_owned(),
        }
    }

    /// Where a node answers operations on its connections.
    pub fn operations(&self, node: NodeTag) -> String {
        format!("sb.{}.n.{node}.conn", self.cluster)
    }

    /// Where a node answers operations on many of its connections (broadcast, listing).
    pub fn stage_operations(&self, node: NodeTag) -> String {
        format!("sb.{}.n.{node}.stage", self.cluster)
    }

    /// Where a node answers the readiness probe.
    pub fn ping(&self, node: NodeTag) -> String {
        format!("sb.{}.n.{node}.ping", self.cluster)
    }

    /// Node leases, keyed by tag.
    pub fn nodes_bucket(&self) -> String {
        format!("sb_{}_nodes", self.cluster)
    }

    /// The control plane's APIs, keyed by apiId.
    pub fn control_bucket(&self) -> String {
        format!("sb_{}_control", self.cluster)
    }

    /// Connection records, keyed `<tag>.<connectionId>`.
    pub fn connections_bucket(&self) -> String {
        format!("sb_{}_conns", self.cluster)
    }

    /// The key of a connection's record.
    pub fn connection_key(node: NodeTag, id: &str) -> String {
        format!("{node}.{id}")
    }

    /// The subject filter of every record of one node in the connections bucket.
    pub fn node_records(&self, node: NodeTag) -> String {
        format!("$KV.{}.{node}.>", self.connections_bucket())
    }
}
