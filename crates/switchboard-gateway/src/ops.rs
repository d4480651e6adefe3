//! What an operator configures and observes per stage (docs/behaviour.md §9, §10): route throttles, the
//! access log, the execution log and the metric handles, all resolved once per configuration
//! load and kept in the compiled [`Stage`](crate::runtime::Stage). The data plane calls a
//! handful of hooks here; the logic stays out of the handshake, the connection loop and
//! dispatch. The process log's connection and failure lines are written here too.

use crate::access_log::{AccessLogSink, StageAccessLog};
use crate::error::{IntegrationError, Side};
use crate::execution_log::RouteLog;
use crate::integrations::{IntegrationReply, Invocation};
use crate::metrics::{DirectionLabels, Metrics, RouteLabels};
use crate::outbound::Outbound;
use crate::process_log;
use crate::runtime::Runtime;
use crate::throttle::{ConnectRefusal, ConnectionLimiter, IpSlot, Limits, TokenBucket};
use http::StatusCode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use switchboard_core::access_log_format::{AccessLogFormat, AccessOutcome};
use switchboard_core::config::{ApiConfig, Config, StageConfig};
use switchboard_core::context::{ConnectionInfo, DisconnectStatus, EventType, RequestContext};
use switchboard_core::frames;
use tokio::time::Instant;

/// Gateway-wide operations state: metrics, the access-log writer, connection admission, the
/// management rate limit and readiness.
pub struct GatewayOps {
    /// Every metric.
    pub metrics: Arc<Metrics>,
    /// The access-log writer's sink.
    pub access_log: AccessLogSink,
    /// `newConnectionsPerSecond` and `maxConnectionsPerIp` (read at start).
    pub connections: ConnectionLimiter,
    /// `[management] rateLimit` (read at start).
    pub management: Option<TokenBucket>,
    /// `/ready`: true while accepting, false once shutdown began.
    ready: AtomicBool,
}

impl std::fmt::Debug for GatewayOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayOps").finish_non_exhaustive()
    }
}

impl GatewayOps {
    /// Builds it for `config` and spawns the access-log writer.
    pub fn start(config: &Config, metrics: Arc<Metrics>) -> Arc<Self> {
        let limits = &config.server.limits;
        Arc::new(Self {
            access_log: AccessLogSink::spawn(metrics.access_log_dropped.clone()),
            metrics,
            connections: ConnectionLimiter::new(
                limits.new_connections_per_second,
                limits.max_connections_per_ip,
            ),
            management: config.management.rate_limit.map(|l| {
                TokenBucket::new(Limits {
                    rate: l.rate,
                    burst: l.burst,
                })
            }),
            ready: AtomicBool::new(true),
        })
    }

    /// For runtimes built outside a gateway (`switchboard validate`): writes and counts nothing
    /// anyone reads.
    fn detached() -> Arc<Self> {
        static DETACHED: OnceLock<Arc<GatewayOps>> = OnceLock::new();
        Arc::clone(DETACHED.get_or_init(|| {
            Arc::new(Self {
                metrics: Arc::new(Metrics::default()),
                access_log: AccessLogSink::disabled(),
                connections: ConnectionLimiter::default(),
                management: None,
                ready: AtomicBool::new(true),
            })
        }))
    }

    /// Whether `/ready` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Turns `/ready` to 503 for good: shutdown has begun.
    pub fn stop_ready(&self) {
        self.ready.store(false, Ordering::SeqCst);
    }

    /// Whether a management API call may proceed under `rateLimit`.
    pub fn management_allows(&self) -> bool {
        self.management
            .as_ref()
            .is_none_or(TokenBucket::try_acquire)
    }
}

/// The handles of one route in one stage (or of the stage-level series).
#[derive(Clone)]
struct RouteOps {
    bucket: Option<Arc<TokenBucket>>,
    /// What `loggingLevel` and `dataTraceEnabled` ask for.
    exec: RouteLog,
    messages_in: Counter,
    bytes_in: Counter,
    latency: Histogram,
    integration_errors: Counter,
    client_errors: Counter,
    execution_errors: Counter,
    throttled: Counter,
}

impl RouteOps {
    fn new(
        metrics: &Metrics,
        labels: RouteLabels,
        bucket: Option<Arc<TokenBucket>>,
        exec: RouteLog,
    ) -> Self {
        let direction = |d| DirectionLabels {
            api: labels.api.clone(),
            stage: labels.stage.clone(),
            route: labels.route.clone(),
            direction: d,
        };
        Self {
            bucket,
            exec,
            messages_in: metrics.messages.get_or_create_owned(&direction("in")),
            bytes_in: metrics.bytes.get_or_create_owned(&direction("in")),
            latency: metrics.integration_latency.get_or_create_owned(&labels),
            integration_errors: metrics.integration_errors.get_or_create_owned(&labels),
            client_errors: metrics.client_errors.get_or_create_owned(&labels),
            execution_errors: metrics.execution_errors.get_or_create_owned(&labels),
            throttled: metrics.throttled.get_or_create_owned(&labels),
        }
    }
}

/// A stage's throttles, access log and metric handles.
pub struct StageOps {
    gateway: Arc<GatewayOps>,
    access_log: Option<StageAccessLog>,
    routes: HashMap<String, RouteOps>,
    stage_level: RouteOps,
    messages_out: Counter,
    bytes_out: Counter,
}

impl std::fmt::Debug for StageOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageOps")
            .field("access_log", &self.access_log)
            .field("routes", &self.routes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for StageOps {
    fn default() -> Self {
        Self::build(
            &GatewayOps::detached(),
            "",
            "",
            &StageConfig::default(),
            None,
            &[],
            None,
        )
    }
}

/// Compiles the operations state of every stage of `runtime`, keeping the token buckets of
/// `previous` whose limits did not change (a reload does not refill or reset them).
pub fn attach(runtime: &mut Runtime, gateway: &Arc<GatewayOps>, previous: Option<&Runtime>) {
    let config = Arc::clone(&runtime.config);
    for (api_id, api) in runtime.apis.iter_mut() {
        let Some(api_config) = config.apis.get(api_id) else {
            continue;
        };
        // Freshly built: nothing else holds these Arcs yet.
        let Some(api) = Arc::get_mut(api) else {
            unattached(api_id, "*");
            continue;
        };
        for (name, stage) in api.stages.iter_mut() {
            let Some(stage_config) = api_config.stages.get(name) else {
                continue;
            };
            // The routes of the stage's own deployment.
            let mut keys: Vec<String> = stage.definition.routes.keys().cloned().collect();
            if !keys.iter().any(|k| k == "$connect") {
                keys.push("$connect".to_owned());
            }
            let before = previous
                .and_then(|p| p.apis.get(api_id))
                .and_then(|a| a.stages.get(name))
                .map(|s| &s.ops);
            let ops = StageOps::build(
                gateway,
                api_id,
                name,
                stage_config,
                Some(api_config.served_on(stage_config)),
                &keys,
                before,
            );
            match Arc::get_mut(stage) {
                Some(stage) => stage.ops = ops,
                None => unattached(api_id, name),
            }
        }
    }
}

/// A stage whose compiled form is already shared cannot get its throttles, access log and
/// metrics: a bug in runtime building, loud in debug builds and in the log.
fn unattached(api: &str, stage: &str) {
    tracing::error!(
        api,
        stage,
        "stage operations not attached: throttles, access log and metrics are off"
    );
    debug_assert!(false, "stage {api}/{stage} was shared before ops::attach");
}

impl StageOps {
    fn build(
        gateway: &Arc<GatewayOps>,
        api: &str,
        stage: &str,
        config: &StageConfig,
        api_config: Option<&ApiConfig>,
        route_keys: &[String],
        previous: Option<&StageOps>,
    ) -> Self {
        let metrics = &gateway.metrics;
        let labels = |route: &str| RouteLabels {
            api: api.to_owned(),
            stage: stage.to_owned(),
            route: route.to_owned(),
        };
        let default = &config.default_route_settings;
        let routes = route_keys
            .iter()
            .map(|key| {
                let own = config.route_settings.get(key);
                let bucket = Limits::for_route(default, own).map(|limits| {
                    previous
                        .and_then(|p| p.routes.get(key))
                        .and_then(|r| r.bucket.as_ref())
                        .filter(|b| b.limits() == limits)
                        .map(Arc::clone)
                        .unwrap_or_else(|| Arc::new(TokenBucket::new(limits)))
                });
                let detailed = own
                    .and_then(|r| r.detailed_metrics_enabled)
                    .or(default.detailed_metrics_enabled)
                    .unwrap_or(false);
                let route_label = if detailed { key.as_str() } else { "" };
                let integration = api_config.and_then(|api| {
                    let target = api.routes.get(key)?.target.as_deref()?;
                    api.integrations.get(target.strip_prefix("integrations/")?)
                });
                let exec = RouteLog::resolve(default, own, integration, &config.stage_variables);
                (
                    key.clone(),
                    RouteOps::new(metrics, labels(route_label), bucket, exec),
                )
            })
            .collect();
        let out = DirectionLabels {
            api: api.to_owned(),
            stage: stage.to_owned(),
            route: String::new(),
            direction: "out",
        };
        Self {
            gateway: Arc::clone(gateway),
            access_log: config
                .access_log_settings
                .as_ref()
                .map(|settings| StageAccessLog {
                    format: AccessLogFormat::compile(&settings.format),
                    destination: Arc::from(settings.destination.as_str()),
                }),
            routes,
            stage_level: RouteOps::new(
                metrics,
                labels(""),
                None,
                RouteLog::resolve(default, None, None, &config.stage_variables),
            ),
            messages_out: metrics.messages.get_or_create_owned(&out),
            bytes_out: metrics.bytes.get_or_create_owned(&out),
        }
    }

    fn route(&self, key: &str) -> &RouteOps {
        self.routes.get(key).unwrap_or(&self.stage_level)
    }

    fn log(&self, ctx: &RequestContext<'_>, outcome: &AccessOutcome<'_>) {
        if let Some(log) = &self.access_log {
            self.gateway
                .access_log
                .write(&log.destination, log.format.render(ctx, outcome));
        }
    }

    /// Admission of a new connection before `$connect` runs: `maxConnectionsPerIp`,
    /// `newConnectionsPerSecond`, then the `$connect` route throttle. Refusals are 429 (docs/behaviour.md
    /// §9), logged and counted. The slot must be held for the connection's life.
    pub fn admit_connect(&self, info: &ConnectionInfo) -> Result<IpSlot, StatusCode> {
        let route = self.route("$connect");
        let refused = match self.gateway.connections.admit(info.source_ip) {
            Ok(slot) if route.bucket.as_ref().is_none_or(|b| b.try_acquire()) => return Ok(slot),
            Ok(_) => "THROTTLED",
            Err(ConnectRefusal::Rate) => "THROTTLED",
            Err(ConnectRefusal::PerIp) => "QUOTA_EXCEEDED",
        };
        route.throttled.inc();
        route.client_errors.inc();
        let ctx = RequestContext::new(info, EventType::Connect, "$connect");
        self.log(
            &ctx,
            &AccessOutcome {
                status: 429,
                error_message: Some("Too Many Requests"),
                error_response_type: Some(refused),
                ..AccessOutcome::default()
            },
        );
        if route.exec.is_on() {
            route.exec.without_integration(
                &ctx,
                429,
                format_args!("Execution failed: too many requests ({refused})"),
            );
        }
        tracing::debug!(source_ip = %info.source_ip, refused, "connection refused with 429");
        Err(StatusCode::TOO_MANY_REQUESTS)
    }

    /// `$connect` refused by its authorization (parameters, IAM, API key, authorizer): counted
    /// as a client error and logged with the status the client gets.
    pub fn connect_refused(&self, ctx: &RequestContext<'_>, status: StatusCode) {
        self.route("$connect").client_errors.inc();
        let (message, response_type) = match status.as_u16() {
            401 => ("Unauthorized", "UNAUTHORIZED"),
            403 => ("Forbidden", "ACCESS_DENIED"),
            400 => ("Bad Request", "BAD_REQUEST_PARAMETERS"),
            _ => ("Internal server error", "AUTHORIZER_FAILURE"),
        };
        self.log(
            ctx,
            &AccessOutcome {
                status: status.as_u16(),
                error_message: Some(message),
                error_response_type: Some(response_type),
                ..AccessOutcome::default()
            },
        );
    }

    /// An upgrade accepted without a `$connect` route (docs/behaviour.md §3.1): logged with status 200.
    pub fn accepted_without_route(&self, info: &ConnectionInfo) {
        let ctx = RequestContext::new(info, EventType::Connect, "$connect");
        self.log(
            &ctx,
            &AccessOutcome {
                status: 200,
                ..AccessOutcome::default()
            },
        );
        let route = self.route("$connect");
        if route.exec.is_on() {
            route.exec.without_integration(
                &ctx,
                200,
                format_args!("No $connect route: the connection is accepted"),
            );
        }
        process_log::connected(info);
    }

    /// A connection ended and there is no `$disconnect` route: logged with status 200.
    pub fn disconnected_without_route(&self, info: &ConnectionInfo, status: &DisconnectStatus) {
        process_log::disconnected(info, status);
        let mut ctx = RequestContext::new(info, EventType::Disconnect, "$disconnect");
        ctx.disconnect = Some(status);
        self.log(
            &ctx,
            &AccessOutcome {
                status: 200,
                ..AccessOutcome::default()
            },
        );
        let route = self.route("$disconnect");
        if route.exec.is_on() {
            route.exec.without_integration(
                &ctx,
                200,
                format_args!("No $disconnect route: nothing to call"),
            );
        }
    }

    /// Counts an inbound message for `route_key` and applies its throttle; a throttled message
    /// gets the `Too Many Requests` frame (docs/behaviour.md §6, UNCONFIRMED text) and goes nowhere else.
    pub fn admit_message(
        &self,
        info: &ConnectionInfo,
        route_key: &str,
        bytes: usize,
    ) -> Option<Outbound> {
        let route = self.route(route_key);
        route.messages_in.inc();
        route.bytes_in.inc_by(bytes as u64);
        if route.bucket.as_ref().is_none_or(|b| b.try_acquire()) {
            return None;
        }
        route.throttled.inc();
        route.client_errors.inc();
        let ctx = RequestContext::new(info, EventType::Message, route_key);
        self.log(
            &ctx,
            &AccessOutcome {
                status: 429,
                error_message: Some("Too Many Requests"),
                error_response_type: Some("THROTTLED"),
                ..AccessOutcome::default()
            },
        );
        if route.exec.is_on() {
            route.exec.without_integration(
                &ctx,
                429,
                format_args!("Execution failed: the route is throttled (too many requests)"),
            );
        }
        let frame = frames::too_many_requests(info.connection_id.as_str(), ctx.request_id.as_str());
        Some(Outbound::Text(frame.into()))
    }

    /// A message no route matched (docs/behaviour.md §2.3): counted, logged as 403, answered `Forbidden`.
    pub fn unrouted(&self, info: &ConnectionInfo, bytes: usize) -> Outbound {
        let route = &self.stage_level;
        route.messages_in.inc();
        route.bytes_in.inc_by(bytes as u64);
        route.client_errors.inc();
        let ctx = RequestContext::new(info, EventType::Message, "-");
        self.log(
            &ctx,
            &AccessOutcome {
                status: 403,
                error_message: Some("Forbidden"),
                error_response_type: Some("DEFAULT_4XX"),
                ..AccessOutcome::default()
            },
        );
        if route.exec.is_on() {
            route.exec.without_integration(
                &ctx,
                403,
                format_args!(
                    "Execution failed: no route matches the message and there is no $default route"
                ),
            );
        }
        let frame = frames::forbidden(info.connection_id.as_str(), ctx.request_id.as_str());
        Outbound::Text(frame.into())
    }

    /// Runs an integration call for `inv`, timing it, counting its errors, and writing its
    /// access-log line, its execution-log lines (when the route's `loggingLevel` asks for
    /// them) and the process log's connection and failure lines.
    pub async fn observe<F>(
        &self,
        inv: &Invocation<'_>,
        call: F,
    ) -> Result<IntegrationReply, IntegrationError>
    where
        F: Future<Output = Result<IntegrationReply, IntegrationError>>,
    {
        let started = self.begin(inv);
        self.observe_from(inv, started, call).await
    }

    /// [`StageOps::observe`] for a request that [`StageOps::begin`] already started (a MOCK
    /// render that began inline and goes on in its own task).
    pub async fn observe_from<F>(
        &self,
        inv: &Invocation<'_>,
        started: Instant,
        call: F,
    ) -> Result<IntegrationReply, IntegrationError>
    where
        F: Future<Output = Result<IntegrationReply, IntegrationError>>,
    {
        let result = call.await;
        self.record(inv, started, &result);
        result
    }

    /// The start of a request for `inv`: its first execution-log lines; returns when it began.
    pub fn begin(&self, inv: &Invocation<'_>) -> Instant {
        let ctx = inv.ctx;
        if ctx.event_type == EventType::Disconnect {
            if let Some(status) = ctx.disconnect {
                process_log::disconnected(ctx.connection, status);
            }
        }
        let route = self.route(ctx.route_key);
        if route.exec.writes_starts() {
            route.exec.started(inv);
        }
        Instant::now()
    }

    /// Counts and logs the end of a request for `inv` that began at `started`.
    pub fn record(
        &self,
        inv: &Invocation<'_>,
        started: Instant,
        result: &Result<IntegrationReply, IntegrationError>,
    ) {
        let ctx = inv.ctx;
        let route = self.route(ctx.route_key);
        let elapsed = started.elapsed();
        route.latency.observe(elapsed.as_secs_f64());
        let connect = ctx.event_type == EventType::Connect;
        let error_text;
        let outcome = match result {
            Ok(reply) => {
                if reply.status >= 400 {
                    route.integration_errors.inc();
                }
                let status = if connect && (200..300).contains(&reply.status) {
                    200
                } else {
                    reply.status
                };
                AccessOutcome {
                    status,
                    integration_status: Some(reply.status),
                    ..AccessOutcome::default()
                }
            }
            Err(e) => {
                match e.side() {
                    Side::Backend => route.integration_errors.inc(),
                    Side::Internal => route.execution_errors.inc(),
                    Side::Client => route.client_errors.inc(),
                };
                error_text = e.to_string();
                AccessOutcome {
                    // The `$connect` refusal status of the handshake (docs/behaviour.md §3.1).
                    status: if connect {
                        e.connect_status().as_u16()
                    } else {
                        500
                    },
                    integration_error: Some(&error_text),
                    error_message: Some("Internal server error"),
                    error_response_type: Some("INTEGRATION_FAILURE"),
                    ..AccessOutcome::default()
                }
            }
        };
        if route.exec.is_on() {
            route.exec.finished(inv, result, outcome.status, elapsed);
        }
        match (result, ctx.event_type) {
            // The result of `$disconnect` is ignored (docs/behaviour.md §3.3); dispatch says so at debug.
            (_, EventType::Disconnect) => {}
            (Err(e), _) => process_log::integration_failed(ctx, e),
            (Ok(_), EventType::Connect) if outcome.status == 200 => {
                process_log::connected(ctx.connection)
            }
            (Ok(_), EventType::Connect) => {
                process_log::connect_refused(ctx.connection, outcome.status)
            }
            (Ok(_), EventType::Message) => {}
        }
        if self.access_log.is_some() {
            let outcome = AccessOutcome {
                integration_latency_ms: Some(elapsed.as_millis() as u64),
                ..outcome
            };
            self.log(ctx, &outcome);
        }
    }

    /// Counts a message about to be written to the client.
    pub fn sent(&self, out: &Outbound) {
        self.messages_out.inc();
        let len = match out {
            Outbound::Text(t) => t.len(),
            Outbound::Binary(b) => b.len(),
        };
        self.bytes_out.inc_by(len as u64);
    }
}
