//! Prometheus metrics, served on the management listener's `/metrics`. Handles are resolved
//! once and kept; nothing is looked up by name per message.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels of per-stage series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    /// apiId.
    pub api: String,
    /// Stage name.
    pub stage: String,
}

/// Labels of management API calls.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ManagementLabels {
    /// `PostToConnection`, `GetConnection`, `DeleteConnection`, or `Other`.
    pub operation: &'static str,
    /// HTTP status code.
    pub status: u16,
}

/// Labels of push outcomes.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PushLabels {
    /// `delivered` (queued), `gone`, `throttled` (queue full), `too_large`.
    pub result: &'static str,
}

/// Labels of refused `$connect` authorizations.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// The status the client got (400, 401, 403, 500).
    pub status: u16,
}

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    /// Open client connections.
    pub connections_open: Family<StageLabels, Gauge>,
    /// Accepted `$connect`s.
    pub connects: Family<StageLabels, Counter>,
    /// Pushes through `POST @connections` by result.
    pub pushes: Family<PushLabels, Counter>,
    /// Management API calls by operation and status.
    pub management_calls: Family<ManagementLabels, Counter>,
    /// `$connect` requests refused by authorization, by status.
    pub connect_refusals: Family<RefusalLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let connections_open = Family::<StageLabels, Gauge>::default();
        let connects = Family::<StageLabels, Counter>::default();
        let pushes = Family::<PushLabels, Counter>::default();
        let management_calls = Family::<ManagementLabels, Counter>::default();
        registry.register(
            "connections_open",
            "Open client WebSocket connections",
            connections_open.clone(),
        );
        registry.register(
            "connects",
            "Accepted $connect requests (ConnectCount)",
            connects.clone(),
        );
        registry.register(
            "pushes",
            "POST @connections calls by result",
            pushes.clone(),
        );
        registry.register(
            "management_calls",
            "@connections management API calls by operation and HTTP status",
            management_calls.clone(),
        );
        let connect_refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "connect_refusals",
            "$connect requests refused by authorization (IAM, authorizers, API keys), by status",
            connect_refusals.clone(),
        );
        Self {
            registry,
            connections_open,
            connects,
            pushes,
            management_calls,
            connect_refusals,
        }
    }
}

impl Metrics {
    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
