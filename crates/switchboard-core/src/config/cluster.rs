//! `[cluster]` (extension): several Switchboard nodes serving one API over NATS
//! (docs/cluster.md). Absent: one node, and NATS is not needed.

use serde::Deserialize;

/// `[cluster]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterConfig {
    /// The engine; `"nats"` is the only one.
    pub engine: ClusterEngine,
    /// NATS server URLs; the client fails over between them.
    #[serde(default = "default_urls")]
    pub urls: Vec<String>,
    /// Nodes with the same name form one cluster (it prefixes every subject and bucket).
    #[serde(default = "default_name")]
    pub name: String,
    /// A label for logs and metrics; a node's identity is its per-start incarnation tag.
    #[serde(default)]
    pub node_name: Option<String>,
    /// Deadline of a call forwarded to another node; exceeded → 504.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    /// How often a node renews its lease.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_ms: u64,
    /// A node that could not renew its lease this long stops serving: it closes its sockets
    /// (1001) and holds their `$disconnect`s until it knows whether it was claimed.
    #[serde(default = "default_fence")]
    pub fence_ms: u64,
    /// Silence after which a survivor claims a node and runs its `$disconnect`s.
    #[serde(default = "default_lease")]
    pub lease_ms: u64,
    /// Calls in flight from this node to one other node; more get 429.
    #[serde(default = "default_inflight")]
    pub max_inflight_per_node: usize,
    /// A NATS credentials file (`.creds`: user JWT and NKey seed).
    #[serde(default)]
    pub credentials_file: Option<String>,
    /// A NATS token.
    #[serde(default)]
    pub token: Option<String>,
    /// A NATS user name (with `password`).
    #[serde(default)]
    pub user: Option<String>,
    /// A NATS password (with `user`).
    #[serde(default)]
    pub password: Option<String>,
    /// TLS to the NATS servers.
    #[serde(default)]
    pub tls: Option<ClusterTls>,
    /// The JetStream key-value buckets of node leases and connection records.
    #[serde(default)]
    pub kv: ClusterKv,
}

/// The cluster engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterEngine {
    /// NATS core request/reply and JetStream key-value.
    Nats,
}

/// `[cluster.tls]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterTls {
    /// PEM CA certificates to verify the servers with (default: the web PKI roots).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// PEM client certificate, for servers that require one (with `keyFile`).
    #[serde(default)]
    pub cert_file: Option<String>,
    /// PEM client key.
    #[serde(default)]
    pub key_file: Option<String>,
}

/// `[cluster.kv]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterKv {
    /// Replicas of each bucket (1, or 3/5 on a NATS cluster).
    #[serde(default = "default_replicas")]
    pub replicas: usize,
    /// `"file"` (survives a NATS restart) or `"memory"`.
    #[serde(default)]
    pub storage: ClusterStorage,
}

impl Default for ClusterKv {
    fn default() -> Self {
        Self {
            replicas: default_replicas(),
            storage: ClusterStorage::File,
        }
    }
}

/// Where JetStream keeps the buckets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterStorage {
    /// On disk.
    #[default]
    File,
    /// In memory.
    Memory,
}

fn default_urls() -> Vec<String> {
    vec!["nats://127.0.0.1:4222".to_owned()]
}
fn default_name() -> String {
    "switchboard".to_owned()
}
fn default_request_timeout() -> u64 {
    1000
}
fn default_heartbeat() -> u64 {
    1000
}
fn default_fence() -> u64 {
    10_000
}
fn default_lease() -> u64 {
    15_000
}
fn default_inflight() -> usize {
    1024
}
fn default_replicas() -> usize {
    1
}
