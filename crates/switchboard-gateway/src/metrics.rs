//! Prometheus metrics, served on the management listener's `/metrics`. Handles are resolved
//! once and kept; nothing is looked up by name per message.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of per-stage series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    /// apiId.
    pub api: String,
    /// Stage name.
    pub stage: String,
}

/// Labels of per-route series. `route` is empty (Prometheus' "no label") on the stage-level
/// series that every route without `detailedMetricsEnabled` counts into.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// apiId.
    pub api: String,
    /// Stage name.
    pub stage: String,
    /// Route key with detailed metrics; empty otherwise.
    pub route: String,
}

/// Labels of per-direction series (messages and bytes).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabels {
    /// apiId.
    pub api: String,
    /// Stage name.
    pub stage: String,
    /// Route key with detailed metrics (inbound only); empty otherwise.
    pub route: String,
    /// `in` (client to gateway) or `out` (gateway to client: replies, pushes, error frames).
    pub direction: &'static str,
}

/// Integration latency buckets in seconds, up to the 29 s integration timeout (docs/behaviour.md §9).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 29.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
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
    /// `delivered` (queued), `gone`, `throttled` (queue full), `unavailable` (cluster link
    /// down), `timed_out` (the owner node did not answer).
    pub result: &'static str,
}

/// Labels of broadcast deliveries (docs/groups.md).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BroadcastLabels {
    /// `queued`, or `skipped` (the member's outbound queue was full).
    pub result: &'static str,
}

/// Labels of refused `$connect` authorizations.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// The status the client got (400, 401, 403, 500).
    pub status: u16,
}

/// Labels of operations forwarded to another node.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ForwardLabels {
    /// `PostToConnection`, `GetConnection`, `DeleteConnection`.
    pub operation: &'static str,
    /// `queued`, `info`, `closing`, `gone`, `queue_full`, `unavailable`, `timed_out`,
    /// `no_responders` (the owner is gone), `overloaded` (too many calls in flight to it).
    pub result: &'static str,
}

/// Forwarding latency buckets in seconds, up to a generous request deadline.
const FORWARD_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

fn forward_histogram() -> Histogram {
    Histogram::new(FORWARD_BUCKETS)
}

/// Metrics of cluster mode; made by the cluster, registered by the gateway it starts.
#[derive(Clone)]
pub struct ClusterMetrics {
    /// Operations forwarded to their owner node, by result.
    pub forwarded: Family<ForwardLabels, Counter>,
    /// Time from sending a forwarded operation to its answer.
    pub forward_latency: Histogram,
    /// Nodes whose lease is current (this one included).
    pub nodes_live: Gauge,
    /// 1 while the NATS connection is up.
    pub link_up: Gauge,
    /// 1 while this node is fenced (it could not renew its lease).
    pub fenced: Gauge,
    /// `$disconnect`s this node ran for connections of nodes it claimed.
    pub takeover_disconnects: Counter,
}

impl Default for ClusterMetrics {
    fn default() -> Self {
        Self {
            forwarded: Family::default(),
            forward_latency: forward_histogram(),
            nodes_live: Gauge::default(),
            link_up: Gauge::default(),
            fenced: Gauge::default(),
            takeover_disconnects: Counter::default(),
        }
    }
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
    /// Data messages (`MessageCount`, both directions).
    pub messages: Family<DirectionLabels, Counter>,
    /// Payload bytes of data messages.
    pub bytes: Family<DirectionLabels, Counter>,
    /// Integration call latency (`IntegrationLatency`).
    pub integration_latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// The integration failed or answered 4xx/5xx (`IntegrationError`).
    pub integration_errors: Family<RouteLabels, Counter>,
    /// Refused before the integration: no route, throttled, refused connects (`ClientError`).
    pub client_errors: Family<RouteLabels, Counter>,
    /// The gateway failed to run the integration (`ExecutionError`).
    pub execution_errors: Family<RouteLabels, Counter>,
    /// Throttled `$connect`s and messages.
    pub throttled: Family<RouteLabels, Counter>,
    /// Access-log lines dropped because the writer fell behind.
    pub access_log_dropped: Counter,
    /// Broadcast deliveries (group, stage and user broadcasts) by result.
    pub broadcast_deliveries: Family<BroadcastLabels, Counter>,
    /// Time from a broadcast's call to the last member queued on every node that answered.
    pub broadcast_latency: Histogram,
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
        let messages = Family::<DirectionLabels, Counter>::default();
        let bytes = Family::<DirectionLabels, Counter>::default();
        let integration_latency =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram as fn() -> Histogram,
            );
        let integration_errors = Family::<RouteLabels, Counter>::default();
        let client_errors = Family::<RouteLabels, Counter>::default();
        let execution_errors = Family::<RouteLabels, Counter>::default();
        let throttled = Family::<RouteLabels, Counter>::default();
        let access_log_dropped = Counter::default();
        registry.register(
            "messages",
            "Data messages by direction (MessageCount)",
            messages.clone(),
        );
        registry.register(
            "message_bytes",
            "Payload bytes of data messages by direction",
            bytes.clone(),
        );
        registry.register(
            "integration_latency_seconds",
            "Integration call latency (IntegrationLatency)",
            integration_latency.clone(),
        );
        registry.register(
            "integration_errors",
            "Integration failures and 4xx/5xx integration replies (IntegrationError)",
            integration_errors.clone(),
        );
        registry.register(
            "client_errors",
            "Requests refused before the integration: no route, throttled, refused (ClientError)",
            client_errors.clone(),
        );
        registry.register(
            "execution_errors",
            "Failures of the gateway itself while running an integration (ExecutionError)",
            execution_errors.clone(),
        );
        registry.register(
            "throttled",
            "Throttled $connect requests and messages",
            throttled.clone(),
        );
        registry.register(
            "access_log_dropped",
            "Access-log lines dropped because the writer fell behind",
            access_log_dropped.clone(),
        );
        let broadcast_deliveries = Family::<BroadcastLabels, Counter>::default();
        let broadcast_latency = forward_histogram();
        registry.register(
            "broadcast_deliveries",
            "Messages queued to members by broadcasts (stage, group, user), or skipped because the member's queue was full",
            broadcast_deliveries.clone(),
        );
        registry.register(
            "broadcast_fanout_seconds",
            "Time from a broadcast call to the last member queued on every node that answered",
            broadcast_latency.clone(),
        );
        Self {
            registry,
            broadcast_deliveries,
            broadcast_latency,
            connections_open,
            connects,
            pushes,
            management_calls,
            connect_refusals,
            messages,
            bytes,
            integration_latency,
            integration_errors,
            client_errors,
            execution_errors,
            throttled,
            access_log_dropped,
        }
    }
}

impl Metrics {
    /// Adds the cluster's series (`switchboard_cluster_*`).
    pub fn register_cluster(&mut self, cluster: &ClusterMetrics) {
        let registry = self.registry.sub_registry_with_prefix("cluster");
        registry.register(
            "forwarded",
            "@connections operations forwarded to the node that holds the connection, by result",
            cluster.forwarded.clone(),
        );
        registry.register(
            "forward_latency_seconds",
            "Time from forwarding an operation to its answer",
            cluster.forward_latency.clone(),
        );
        registry.register(
            "nodes_live",
            "Nodes whose lease is current, this one included",
            cluster.nodes_live.clone(),
        );
        registry.register(
            "link_up",
            "1 while the NATS connection is up",
            cluster.link_up.clone(),
        );
        registry.register(
            "fenced",
            "1 while this node is fenced: it could not renew its lease",
            cluster.fenced.clone(),
        );
        registry.register(
            "takeover_disconnects",
            "$disconnects run for connections of dead nodes this node claimed",
            cluster.takeover_disconnects.clone(),
        );
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
