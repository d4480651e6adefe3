//! One node of a cluster: its NATS link, its lease, the records of its connections, and the
//! [`ClusterLink`] the gateway's connection plane calls.

use crate::buckets::{self, BucketError};
use crate::membership::{Membership, NodeRecord, NodeState};
use crate::names::Names;
use crate::wire;
use async_nats::jetstream::{self, kv, stream};
use async_nats::{Client, ConnectOptions, Event, Request, RequestErrorKind, ServerAddr};
use futures_util::future::BoxFuture;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use switchboard_core::config::ClusterConfig;
use switchboard_core::context::{ConnectionInfo, DisconnectStatus};
use switchboard_core::ids::{AwsId, NodeTag};
use switchboard_gateway::metrics::{ClusterMetrics, ForwardLabels};
use switchboard_gateway::plane::{
    ClusterLink, FanOut, LinkDown, Op, Outcome, StageOp, StageOutcome,
};
use switchboard_gateway::server::GatewayState;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Records of dead and finished nodes expire after a day (their keys are never renewed).
const NODE_RECORD_AGE: Duration = Duration::from_secs(24 * 3600);

/// How soon to ask again a node that holds no subscription but renewed its lease lately.
const NO_RESPONDERS_RETRY: Duration = Duration::from_millis(50);

/// An owner without a subscription.
enum Absence {
    /// Its lease lapsed: its connections are gone.
    Gone,
    /// It renewed lately: ask again.
    Reconnecting,
    /// It renewed lately and time is up: 503.
    NotYet,
}

/// Why a node could not join its cluster.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The NATS servers could not be reached or refused us.
    #[error("cannot connect to NATS at {urls}: {message}")]
    Connect {
        /// The configured URLs.
        urls: String,
        /// What failed.
        message: String,
    },
    /// A bucket could not be created or bound.
    #[error(transparent)]
    Bucket(#[from] BucketError),
    /// The node's lease could not be written.
    #[error("cannot register this node in the cluster: {0}")]
    Register(String),
}

/// The timing settings, as durations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timings {
    pub request: Duration,
    pub heartbeat: Duration,
    pub fence: Duration,
    pub lease: Duration,
}

impl Timings {
    fn of(config: &ClusterConfig) -> Self {
        Self {
            request: Duration::from_millis(config.request_timeout_ms),
            heartbeat: Duration::from_millis(config.heartbeat_ms),
            fence: Duration::from_millis(config.fence_ms),
            lease: Duration::from_millis(config.lease_ms),
        }
    }
}

/// This node's own lease: its record, the revision to replace, when it was last renewed.
#[derive(Debug)]
pub(crate) struct Lease {
    pub record: NodeRecord,
    pub revision: u64,
    pub renewed_at: Instant,
}

/// A node of the cluster.
pub struct Node {
    pub(crate) names: Names,
    pub(crate) tag: NodeTag,
    pub(crate) name: String,
    pub(crate) timings: Timings,
    pub(crate) client: Client,
    pub(crate) nodes: kv::Store,
    pub(crate) conns: kv::Store,
    pub(crate) conns_stream: stream::Stream,
    /// The connection records' stream name, for deletes by sequence.
    conns_stream_name: String,
    js: jetstream::Context,
    /// Replicas and storage of the buckets (the control plane's is made when it is on).
    pub(crate) kv_settings: switchboard_core::config::ClusterKv,
    pub(crate) metrics: ClusterMetrics,
    pub(crate) membership: Mutex<Membership>,
    pub(crate) lease: Mutex<Lease>,
    /// Could not renew its lease for `fenceMs`: takes no connections, holds `$disconnect`s.
    pub(crate) fenced: AtomicBool,
    /// Another node claimed this one: it must stop (its `$disconnect`s were run elsewhere).
    pub(crate) claimed: CancellationToken,
    /// Reached its own subject through NATS recently.
    pub(crate) reachable: AtomicBool,
    pub(crate) link_up: AtomicBool,
    /// `$disconnect`s held while fenced.
    pub(crate) held: Mutex<Vec<(ConnectionInfo, DisconnectStatus)>>,
    /// Stream sequence of each of this node's connection records.
    pub(crate) records: Mutex<HashMap<AwsId, u64>>,
    /// Record sequences whose deletion failed, retried on the next heartbeat.
    pub(crate) stale: Mutex<Vec<u64>>,
    inflight: Mutex<HashMap<NodeTag, Arc<Semaphore>>>,
    max_inflight: usize,
    /// The gateway this node serves, once started.
    pub(crate) gateway: OnceLock<Arc<GatewayState>>,
    /// Link events (connected, disconnected) from the client library.
    pub(crate) events: Mutex<Option<mpsc::UnboundedReceiver<Event>>>,
    /// Nodes this one is taking over now.
    pub(crate) taking_over: Mutex<HashSet<NodeTag>>,
    /// Cancelled when the node leaves: its background tasks end.
    pub(crate) stopped: CancellationToken,
}

/// Locks a mutex, surviving a panic elsewhere (the data stays consistent per operation).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Node {
    /// Connects to NATS, makes sure the buckets exist, and reserves a fresh incarnation tag by
    /// creating its lease record (create-if-absent: a tag is never shared).
    pub async fn join(config: &ClusterConfig) -> Result<Arc<Self>, JoinError> {
        let names = Names::new(&config.name);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let client = connect(config, events_tx).await?;
        let js = jetstream::new(client.clone());
        let (nodes, _) =
            buckets::ensure(&js, &names.nodes_bucket(), &config.kv, NODE_RECORD_AGE).await?;
        let (conns, conns_stream) =
            buckets::ensure(&js, &names.connections_bucket(), &config.kv, Duration::ZERO).await?;
        let name = config.node_name.clone().unwrap_or_default();
        let record = NodeRecord::alive(&name);
        let (tag, revision) = reserve_tag(&nodes, &record).await?;
        let name = if name.is_empty() {
            tag.to_string()
        } else {
            name
        };
        let node = Arc::new(Self {
            tag,
            timings: Timings::of(config),
            client,
            nodes,
            conns,
            conns_stream_name: buckets::stream_name(&names.connections_bucket()),
            conns_stream,
            js,
            kv_settings: config.kv.clone(),
            metrics: ClusterMetrics::default(),
            membership: Mutex::new(Membership::new(tag)),
            lease: Mutex::new(Lease {
                record,
                revision,
                renewed_at: Instant::now(),
            }),
            fenced: AtomicBool::new(false),
            claimed: CancellationToken::new(),
            reachable: AtomicBool::new(false),
            link_up: AtomicBool::new(true),
            held: Mutex::new(Vec::new()),
            records: Mutex::new(HashMap::new()),
            stale: Mutex::new(Vec::new()),
            inflight: Mutex::new(HashMap::new()),
            max_inflight: config.max_inflight_per_node,
            gateway: OnceLock::new(),
            events: Mutex::new(Some(events_rx)),
            taking_over: Mutex::new(HashSet::new()),
            stopped: CancellationToken::new(),
            names,
            name,
        });
        node.metrics.link_up.set(1);
        tracing::info!(node = %node.name, tag = %tag, cluster = %config.name, "joined the cluster");
        Ok(node)
    }

    /// The gateway served, once [`crate::Cluster::start`] ran.
    pub(crate) fn gateway(&self) -> Option<&Arc<GatewayState>> {
        self.gateway.get()
    }

    pub(crate) fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }

    /// The per-node cap on calls in flight.
    fn slots(&self, owner: NodeTag) -> Arc<Semaphore> {
        Arc::clone(
            lock(&self.inflight)
                .entry(owner)
                .or_insert_with(|| Arc::new(Semaphore::new(self.max_inflight))),
        )
    }

    /// Sends `op` to its owner and reads the answer.
    async fn forward_op(&self, owner: NodeTag, op: Op) -> (Outcome, &'static str) {
        if lock(&self.membership).is_gone(owner) {
            return (Outcome::Gone, "gone");
        }
        if !self.link_up.load(Ordering::SeqCst) {
            return (Outcome::Unavailable, "unavailable");
        }
        let slots = self.slots(owner);
        let Ok(_slot) = slots.try_acquire() else {
            return (Outcome::QueueFull, "overloaded");
        };
        let (headers, body) = wire::encode_op(&op);
        let started = Instant::now();
        let deadline = started + self.timings.request;
        let answer = loop {
            let request = Request::new()
                .headers(headers.clone())
                .payload(body.clone())
                .timeout(Some(deadline.saturating_duration_since(Instant::now())));
            let answer = self
                .client
                .send_request(self.names.operations(owner), request)
                .await;
            match &answer {
                Err(e) if e.kind() == RequestErrorKind::NoResponders => {
                    match self.absent(owner, deadline) {
                        Absence::Gone => break answer,
                        Absence::NotYet => return (Outcome::Unavailable, "unavailable"),
                        Absence::Reconnecting => {
                            tokio::time::sleep(NO_RESPONDERS_RETRY).await;
                        }
                    }
                }
                _ => break answer,
            }
        };
        self.metrics
            .forward_latency
            .observe(started.elapsed().as_secs_f64());
        match answer {
            Ok(reply) => match wire::decode_outcome(reply.headers.as_ref(), &reply.payload) {
                Ok(outcome) => {
                    let label = outcome_label(&outcome);
                    (outcome, label)
                }
                Err(e) => {
                    tracing::warn!(node = %owner, error = %e, "unreadable answer from a node");
                    (Outcome::Unavailable, "unavailable")
                }
            },
            // Nobody holds that node's subject: it is gone, and so are its connections.
            Err(e) if e.kind() == RequestErrorKind::NoResponders => {
                (Outcome::Gone, "no_responders")
            }
            Err(e) if e.kind() == RequestErrorKind::TimedOut => (Outcome::TimedOut, "timed_out"),
            Err(e) => {
                tracing::debug!(node = %owner, error = %e, "forwarding failed");
                (Outcome::Unavailable, "unavailable")
            }
        }
    }

    /// What "nobody answers on `owner`'s subject" means: its lease lapsed (it renewed nothing
    /// for two heartbeats while this node's link was up, or it was never seen), so it is gone;
    /// or it renewed lately and is reconnecting (ask again until `deadline`, then 503).
    fn absent(&self, owner: NodeTag, deadline: Instant) -> Absence {
        let now = Instant::now();
        let silence = lock(&self.membership).silence(owner, now);
        match silence {
            None => Absence::Gone,
            Some(silent) if silent >= 2 * self.timings.heartbeat => Absence::Gone,
            Some(_) if now + NO_RESPONDERS_RETRY >= deadline => Absence::NotYet,
            Some(_) => Absence::Reconnecting,
        }
    }

    /// Writes a connection's record; its sequence is kept to delete it later.
    async fn record_connection(&self, info: &ConnectionInfo) -> Result<(), LinkDown> {
        if !self.link_up.load(Ordering::SeqCst) || self.is_fenced() {
            return Err(LinkDown);
        }
        let value = serde_json::to_vec(info).map_err(|_| LinkDown)?;
        let key = Names::connection_key(self.tag, info.connection_id.as_str());
        match tokio::time::timeout(self.timings.request, self.conns.put(key, value.into())).await {
            Ok(Ok(sequence)) => {
                lock(&self.records).insert(info.connection_id, sequence);
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot record a connection");
                Err(LinkDown)
            }
            Err(_) => Err(LinkDown),
        }
    }

    /// Deletes a connection's record (by sequence: no tombstone is left).
    pub(crate) async fn forget_connection(&self, id: AwsId) {
        let Some(sequence) = lock(&self.records).remove(&id) else {
            return;
        };
        self.delete_record(sequence).await;
    }

    pub(crate) async fn delete_record(&self, sequence: u64) {
        let deleted = tokio::time::timeout(
            self.timings.request,
            buckets::delete_message(&self.js, &self.conns_stream_name, sequence),
        )
        .await;
        if !matches!(deleted, Ok(Ok(()))) {
            lock(&self.stale).push(sequence);
        }
    }
}

/// The `result` label of a forwarded operation's outcome.
fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Queued => "queued",
        Outcome::Info(_) => "info",
        Outcome::Closing => "closing",
        Outcome::Gone => "gone",
        Outcome::QueueFull => "queue_full",
        Outcome::Unavailable => "unavailable",
        Outcome::TimedOut => "timed_out",
        Outcome::Done => "done",
        Outcome::GroupLimit(_) => "group_limit",
    }
}

impl Node {
    /// Asks every other live node to apply `op`, all at once; each answer within the request
    /// deadline is kept, the rest are left out (the caller reports an incomplete answer).
    async fn fan_out_op(&self, op: StageOp) -> FanOut {
        let others: Vec<NodeTag> = {
            let membership = lock(&self.membership);
            membership
                .live_tags(Instant::now(), self.timings.lease)
                .into_iter()
                .filter(|tag| *tag != self.tag)
                .collect()
        };
        if others.is_empty() {
            return FanOut::default();
        }
        if !self.link_up.load(Ordering::SeqCst) {
            return FanOut {
                asked: others.len(),
                answers: Vec::new(),
            };
        }
        let operation = op.name();
        let (headers, body) = wire::encode_stage_op(&op);
        let asks = others.iter().map(|tag| {
            let request = Request::new()
                .headers(headers.clone())
                .payload(body.clone())
                .timeout(Some(self.timings.request));
            let subject = self.names.stage_operations(*tag);
            async move {
                let answer = self.client.send_request(subject, request).await;
                let (outcome, result) = match answer {
                    Ok(reply) => match wire::decode_stage_outcome(&reply.payload) {
                        Ok(outcome) => (Some(outcome), "answered"),
                        Err(_) => (None, "unavailable"),
                    },
                    Err(e) if e.kind() == RequestErrorKind::TimedOut => (None, "timed_out"),
                    Err(e) if e.kind() == RequestErrorKind::NoResponders => (None, "no_responders"),
                    Err(_) => (None, "unavailable"),
                };
                self.metrics
                    .forwarded
                    .get_or_create(&ForwardLabels { operation, result })
                    .inc();
                outcome
            }
        });
        let started = Instant::now();
        let answers: Vec<StageOutcome> = futures_util::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect();
        self.metrics
            .forward_latency
            .observe(started.elapsed().as_secs_f64());
        FanOut {
            asked: others.len(),
            answers,
        }
    }
}

impl ClusterLink for Node {
    fn forward(&self, owner: NodeTag, op: Op) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let operation = op.name();
            let (outcome, result) = self.forward_op(owner, op).await;
            self.metrics
                .forwarded
                .get_or_create(&ForwardLabels { operation, result })
                .inc();
            outcome
        })
    }

    fn fan_out(&self, op: StageOp) -> BoxFuture<'_, FanOut> {
        Box::pin(self.fan_out_op(op))
    }

    fn record(&self, info: &ConnectionInfo) -> BoxFuture<'_, Result<(), LinkDown>> {
        let info = info.clone();
        Box::pin(async move { self.record_connection(&info).await })
    }

    fn forget(&self, id: AwsId) -> BoxFuture<'_, ()> {
        Box::pin(self.forget_connection(id))
    }

    fn accepting(&self) -> bool {
        !self.is_fenced() && !self.claimed.is_cancelled()
    }

    fn ready(&self) -> bool {
        self.accepting()
            && self.link_up.load(Ordering::SeqCst)
            && self.reachable.load(Ordering::SeqCst)
    }

    fn hold_disconnect(&self, info: &ConnectionInfo, status: &DisconnectStatus) -> bool {
        if self.claimed.is_cancelled() {
            // A survivor already ran it.
            return true;
        }
        if !self.is_fenced() {
            return false;
        }
        lock(&self.held).push((info.clone(), status.clone()));
        true
    }
}

/// Connects with the configured credentials and TLS; link events go to `events`.
async fn connect(
    config: &ClusterConfig,
    events: mpsc::UnboundedSender<Event>,
) -> Result<Client, JoinError> {
    let urls = config.urls.join(", ");
    let fail = |message: String| JoinError::Connect {
        urls: urls.clone(),
        message,
    };
    let addrs: Vec<ServerAddr> = config
        .urls
        .iter()
        .map(|u| {
            u.parse::<ServerAddr>()
                .map_err(|e| fail(format!("{u}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let mut options = ConnectOptions::new()
        .name(format!(
            "switchboard {}",
            config.node_name.as_deref().unwrap_or("")
        ))
        .connection_timeout(Duration::from_secs(5))
        // Back within a second of a restarted server: an outage shorter than fenceMs must
        // not fence anyone.
        .reconnect_delay_callback(|attempts| Duration::from_millis((attempts as u64 * 50).min(250)))
        .event_callback(move |event| {
            let events = events.clone();
            async move {
                let _ = events.send(event);
            }
        });
    if let Some(file) = &config.credentials_file {
        options = options
            .credentials_file(file)
            .await
            .map_err(|e| fail(format!("credentials file {file}: {e}")))?;
    }
    if let Some(token) = &config.token {
        options = options.token(token.clone());
    }
    if let (Some(user), Some(password)) = (&config.user, &config.password) {
        options = options.user_and_password(user.clone(), password.clone());
    }
    if let Some(tls) = &config.tls {
        options = options.require_tls(true);
        if let Some(ca) = &tls.ca_file {
            options = options.add_root_certificates(ca.into());
        }
        if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
            options = options.add_client_certificate(cert.into(), key.into());
        }
    }
    options
        .connect(addrs)
        .await
        .map_err(|e| fail(e.to_string()))
}

/// A random tag whose lease record did not exist yet (create-if-absent).
async fn reserve_tag(nodes: &kv::Store, record: &NodeRecord) -> Result<(NodeTag, u64), JoinError> {
    let value = serde_json::to_vec(record).map_err(|e| JoinError::Register(e.to_string()))?;
    for _ in 0..16 {
        let tag = NodeTag::random();
        match nodes.create(tag.to_string(), value.clone().into()).await {
            Ok(revision) => return Ok((tag, revision)),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => continue,
            Err(e) => return Err(JoinError::Register(e.to_string())),
        }
    }
    Err(JoinError::Register(
        "no free incarnation tag after 16 tries".into(),
    ))
}

/// A record the nodes bucket holds, if it parses.
pub(crate) fn parse_record(value: &[u8]) -> Option<NodeRecord> {
    serde_json::from_slice(value).ok()
}

/// Whether a record's state means its node is finished or being finished by someone else.
pub(crate) fn taken(record: &NodeRecord) -> bool {
    matches!(record.state, NodeState::Claimed | NodeState::Dead)
}
