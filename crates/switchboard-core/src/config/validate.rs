//! Cross-checks of a deserialised configuration: the rules API Gateway enforces when a resource
//! is created or deployed, the safety rules of our extensions, and warnings about files that
//! would be served but probably not as meant. Every check runs, so one pass reports every
//! problem; each finding names the key path it is about.

use super::error::{KeyPath, Severity};
use super::model::*;
use super::route_selection;
use crate::arn::{is_account_id, is_partition, is_region, FunctionArn};
use crate::selection::{SelectionError, SelectionExpression};
use crate::template::{Template, TemplateError};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Largest mapping template API Gateway accepts: 300 KB (docs/behaviour.md §9).
const MAX_TEMPLATE_BYTES: usize = 300 * 1024;
/// Largest access log format API Gateway accepts: 3 KB (docs/behaviour.md §9).
const MAX_ACCESS_LOG_FORMAT_BYTES: usize = 3 * 1024;
/// Integration timeout range of WebSocket APIs, in milliseconds (docs/behaviour.md §4.1).
const TIMEOUT_MILLIS: std::ops::RangeInclusive<u64> = 50..=29_000;
/// Longest custom route key.
const MAX_ROUTE_KEY_CHARS: usize = 128;
/// API key value length bounds of API Gateway (imported keys need at least 20 characters).
const API_KEY_CHARS: std::ops::RangeInclusive<usize> = 20..=128;
/// Longest authorizer result cache time API Gateway allows (extension, see the model).
const MAX_AUTHORIZER_TTL_SECONDS: u64 = 3600;

/// A cross-check failure of a configuration, not yet located in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub(crate) path: KeyPath,
    pub(crate) message: String,
    pub(crate) severity: Severity,
}

impl Finding {
    /// Dotted TOML path of the offending key, e.g. `apis.chat.routes.sendmessage.target`.
    pub fn key_path(&self) -> String {
        self.path.to_string()
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the configuration must be refused for it.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl Config {
    /// Runs every cross-check on a configuration built in code (a file is checked by
    /// [`Config::from_toml_str`] already); no [`Finding::is_error`] means it can be served.
    pub fn validate(&self) -> Vec<Finding> {
        check_with(self, &BTreeSet::new())
    }
}

/// All cross-check findings of `config`, in model order. `broken` holds keys written in the file
/// but left out of `config` (their value was wrong, or their name misspelled): findings about
/// them, or about references to them, would repeat a problem already reported.
pub(crate) fn check_with(config: &Config, broken: &BTreeSet<KeyPath>) -> Vec<Finding> {
    let mut checks = Checks {
        findings: Vec::new(),
        broken,
    };
    checks.no_api(config);
    checks.server(&config.server);
    checks.management(&config.management, &config.server);
    checks.rate_limits(&config.server, &config.management);
    checks.aws(&config.aws);
    for (id, api) in &config.apis {
        checks.api(id, api);
    }
    checks.iam(&config.iam);
    checks.api_keys(config);
    if let Some(cluster) = &config.cluster {
        checks.cluster(cluster);
    }
    if let Some(control) = &config.control_plane {
        checks.control_plane(control);
    }
    checks.findings
}

struct Checks<'b> {
    findings: Vec<Finding>,
    broken: &'b BTreeSet<KeyPath>,
}

// === impl Checks: control plane ===

impl Checks<'_> {
    /// The control plane changes what is served: never without its own keys, and with bounds.
    fn control_plane(&mut self, control: &super::ControlPlaneConfig) {
        let path = KeyPath::root().key("controlPlane");
        if control.enabled && control.credentials.is_empty() {
            self.fail(
                path.key("credentials"),
                "the control plane needs at least one [[controlPlane.credentials]] key pair: \
                 every call is SigV4-signed",
            );
        }
        for (i, c) in control.credentials.iter().enumerate() {
            let at = path.key("credentials").index(i);
            self.non_empty(at.key("accessKeyId"), &c.access_key_id, "accessKeyId");
            self.non_empty(
                at.key("secretAccessKey"),
                &c.secret_access_key,
                "secretAccessKey",
            );
        }
        if let Some(listen) = &control.listen {
            self.listen_address(path.key("listen"), listen);
        }
        self.non_empty(path.key("dataDir"), &control.data_dir, "dataDir");
        let limit = control.rate_limit;
        if !(limit.rate.is_finite() && limit.rate > 0.0) || limit.burst == 0 {
            self.fail(
                path.key("rateLimit"),
                "rate must be a positive number and burst at least 1",
            );
        }
        for (key, value) in [
            ("maxApis", control.max_apis),
            ("maxResourcesPerApi", control.max_resources_per_api),
            ("maxDeploymentsPerApi", control.max_deployments_per_api),
        ] {
            if value == 0 || value > 100_000 {
                self.fail(path.key(key), format!("{key} must be between 1 and 100000"));
            }
        }
    }
}

// === impl Checks: cluster ===

impl Checks<'_> {
    /// Timings that keep the takeover safe: a node stops serving (`fenceMs`) before anyone may
    /// claim it (`leaseMs`), with two heartbeats of margin.
    fn cluster(&mut self, cluster: &super::ClusterConfig) {
        let path = KeyPath::root().key("cluster");
        if cluster.urls.is_empty() {
            self.fail(path.key("urls"), "urls must name at least one NATS server");
        }
        for url in &cluster.urls {
            let ok = ["nats://", "tls://", "ws://", "wss://"]
                .iter()
                .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len());
            if !ok {
                self.fail(
                    path.key("urls"),
                    format!("`{url}` is not a NATS URL such as nats://127.0.0.1:4222"),
                );
            }
        }
        let valid_name = !cluster.name.is_empty()
            && cluster.name.len() <= 32
            && cluster
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_name {
            self.fail(
                path.key("name"),
                format!(
                    "`{}` is not a cluster name: 1-32 letters, digits, `-` or `_` (it is part of \
                     NATS subjects and bucket names)",
                    cluster.name
                ),
            );
        }
        for (key, value, min) in [
            ("requestTimeoutMs", cluster.request_timeout_ms, 10),
            ("heartbeatMs", cluster.heartbeat_ms, 50),
            ("fenceMs", cluster.fence_ms, 100),
            ("leaseMs", cluster.lease_ms, 200),
            (
                "maxInflightPerNode",
                cluster.max_inflight_per_node as u64,
                1,
            ),
        ] {
            if value < min {
                self.fail(path.key(key), format!("{key} must be at least {min}"));
            }
        }
        let margin = 2 * cluster.heartbeat_ms;
        if cluster.fence_ms + margin > cluster.lease_ms {
            self.fail(
                path.key("fenceMs"),
                format!(
                    "fenceMs ({}) must be at most leaseMs ({}) minus two heartbeats ({} ms): a \
                     node must close its sockets before a survivor may claim it",
                    cluster.fence_ms, cluster.lease_ms, margin
                ),
            );
        }
        if cluster.user.is_some() != cluster.password.is_some() {
            self.fail(path.key("user"), "user and password go together");
        }
        if let Some(tls) = &cluster.tls {
            if tls.cert_file.is_some() != tls.key_file.is_some() {
                self.fail(
                    path.key("tls"),
                    "certFile and keyFile go together (a client certificate needs its key)",
                );
            }
        }
        if !matches!(cluster.kv.replicas, 1 | 3 | 5) {
            self.fail(path.key("kv").key("replicas"), "replicas must be 1, 3 or 5");
        }
    }
}

// === impl Checks: server, management, aws ===

impl Checks<'_> {
    fn fail(&mut self, path: KeyPath, message: impl Into<String>) {
        self.report(path, message.into(), Severity::Error);
    }

    fn warn(&mut self, path: KeyPath, message: impl Into<String>) {
        self.report(path, message.into(), Severity::Warning);
    }

    fn report(&mut self, path: KeyPath, message: String, severity: Severity) {
        if !self.is_broken(&path) {
            self.findings.push(Finding {
                path,
                message,
                severity,
            });
        }
    }

    /// Whether `path` was written in the file but left out of the model (or lies inside such a
    /// key), so findings about it or references to it would repeat a reported problem.
    fn is_broken(&self, path: &KeyPath) -> bool {
        self.broken.iter().any(|b| path.starts_with(b))
    }

    /// Whether something under `path` was left out of the model.
    fn has_broken_inside(&self, path: &KeyPath) -> bool {
        self.broken.iter().any(|b| b.starts_with(path))
    }

    /// A file without APIs serves nothing: every upgrade would get 404.
    fn no_api(&mut self, config: &Config) {
        let path = KeyPath::root().key("apis");
        // With the control plane on, APIs are made over its API: a file may define none.
        let control_plane = config.control_plane.as_ref().is_some_and(|c| c.enabled);
        if config.apis.is_empty() && !control_plane && !self.has_broken_inside(&path) {
            self.fail(
                path,
                "no API is defined: add an [apis.ID] table with a routeSelectionExpression, a \
                 stage, an integration and a route (see docs/configuration.md)",
            );
        }
    }

    fn non_empty(&mut self, path: KeyPath, value: &str, what: &str) {
        if value.trim().is_empty() {
            self.fail(path, format!("{what} must not be empty"));
        }
    }

    /// Checks a listen address: an IP address and port, or a host name and port (resolved when
    /// the listener binds). Returns the address when it is an IP address.
    fn listen_address(&mut self, path: KeyPath, value: &str) -> Option<ListenAddress> {
        let address = ListenAddress::parse(value);
        if address.is_none() {
            self.fail(
                path,
                format!(
                    "`{value}` is not an address to listen on; expected HOST:PORT such as \
                     127.0.0.1:8080, [::1]:8080 or localhost:8080"
                ),
            );
        }
        address
    }

    fn server(&mut self, server: &ServerConfig) {
        let path = KeyPath::root().key("server");
        self.listen_address(path.key("listen"), &server.listen);
        if let Some(domain) = &server.domain_name {
            self.non_empty(path.key("domainName"), domain, "domainName");
        }
        if let Some(tls) = &server.tls {
            let tls_path = path.key("tls");
            self.non_empty(tls_path.key("certFile"), &tls.cert_file, "certFile");
            self.non_empty(tls_path.key("keyFile"), &tls.key_file, "keyFile");
        }
        // A zero limit would refuse every connection or message; drainSeconds = 0 is a valid
        // "do not wait" and is not checked.
        let limits = &server.limits;
        let limits_path = path.key("limits");
        for (key, value) in [
            ("maxConnections", limits.max_connections as u64),
            ("handshakeTimeoutSeconds", limits.handshake_timeout_seconds),
            ("maxHeaderBytes", limits.max_header_bytes as u64),
            ("outboundQueueDepth", limits.outbound_queue_depth as u64),
            ("outboundQueueBytes", limits.outbound_queue_bytes as u64),
            (
                "maxInflightPerConnection",
                limits.max_inflight_per_connection as u64,
            ),
            ("maxTemplateSteps", limits.max_template_steps),
            (
                "maxTemplateOutputBytes",
                limits.max_template_output_bytes as u64,
            ),
            ("templateTimeoutMillis", limits.template_timeout_millis),
        ] {
            if value == 0 {
                self.fail(
                    limits_path.key(key),
                    format!("{key} must be greater than 0"),
                );
            }
        }
    }

    /// Extensions of issue 7: a zero or negative rate would refuse every connection or call.
    fn rate_limits(&mut self, server: &ServerConfig, management: &ManagementConfig) {
        let limits_path = KeyPath::root().key("server").key("limits");
        if let Some(rate) = server.limits.new_connections_per_second {
            if !(rate.is_finite() && rate > 0.0) {
                self.fail(
                    limits_path.key("newConnectionsPerSecond"),
                    format!("newConnectionsPerSecond must be a positive number, got {rate}"),
                );
            }
        }
        if server.limits.max_connections_per_ip == Some(0) {
            self.fail(
                limits_path.key("maxConnectionsPerIp"),
                "maxConnectionsPerIp must be greater than 0".to_owned(),
            );
        }
        let management_limits = KeyPath::root().key("management").key("limits");
        for (key, value) in [
            ("maxConnections", management.limits.max_connections as u64),
            (
                "requestTimeoutSeconds",
                management.limits.request_timeout_seconds,
            ),
        ] {
            if value == 0 {
                self.fail(
                    management_limits.key(key),
                    format!("{key} must be greater than 0"),
                );
            }
        }
        if let Some(limit) = management.rate_limit {
            if !(limit.rate.is_finite() && limit.rate > 0.0) || limit.burst == 0 {
                self.fail(
                    KeyPath::root().key("management").key("rateLimit"),
                    "rateLimit needs a positive rate and burst".to_owned(),
                );
            }
        }
    }

    fn management(&mut self, management: &ManagementConfig, server: &ServerConfig) {
        let path = KeyPath::root().key("management");
        let addr = self.listen_address(path.key("listen"), &management.listen);
        if let (Some(addr), Some(server_addr)) = (&addr, ListenAddress::parse(&server.listen)) {
            if *addr == server_addr && addr.port != 0 {
                self.fail(
                    path.key("listen"),
                    format!(
                        "management listen address {} is also server.listen; use another port",
                        management.listen
                    ),
                );
            }
        }
        match management.auth {
            ManagementAuth::Sigv4 if management.credentials.is_empty() => self.fail(
                path.key("auth"),
                "auth = \"sigv4\" needs at least one [[management.credentials]] key pair",
            ),
            // Security by default: the @connections API can post to and close every connection.
            ManagementAuth::None => {
                // A host name other than localhost is only known once resolved; the listener
                // refuses it then if it is not loopback.
                if let Some(false) = addr.as_ref().and_then(ListenAddress::is_loopback) {
                    let listen = &management.listen;
                    if !management.allow_unauthenticated_remote {
                        self.fail(
                            path.key("listen"),
                            format!(
                                "auth = \"none\" on non-loopback address {listen} lets anyone who can \
                                 reach it post to and close every connection; set \
                                 allowUnauthenticatedRemote = true to allow this, or use \
                                 auth = \"sigv4\" with credentials"
                            ),
                        );
                    } else {
                        self.warn(
                            path.key("allowUnauthenticatedRemote"),
                            format!(
                                "the management API on {listen} accepts calls without \
                                 authentication from anyone who can reach it: they can post to \
                                 and close every connection; use auth = \"sigv4\" with credentials \
                                 unless the network is trusted"
                            ),
                        );
                    }
                }
            }
            ManagementAuth::Sigv4 => {}
        }
        if management.metrics_auth == Some(ManagementAuth::Sigv4)
            && management.credentials.is_empty()
        {
            self.fail(
                path.key("metricsAuth"),
                "metricsAuth = \"sigv4\" needs at least one [[management.credentials]] key pair",
            );
        }
        if let Some(tls) = &management.tls {
            let tls_path = path.key("tls");
            self.non_empty(tls_path.key("certFile"), &tls.cert_file, "certFile");
            self.non_empty(tls_path.key("keyFile"), &tls.key_file, "keyFile");
        }
        for (i, credentials) in management.credentials.iter().enumerate() {
            self.credentials(path.key("credentials").index(i), credentials);
        }
    }

    fn credentials(&mut self, path: KeyPath, credentials: &AwsCredentials) {
        self.non_empty(
            path.key("accessKeyId"),
            &credentials.access_key_id,
            "accessKeyId",
        );
        self.non_empty(
            path.key("secretAccessKey"),
            &credentials.secret_access_key,
            "secretAccessKey",
        );
    }

    fn aws(&mut self, aws: &AwsConfig) {
        let path = KeyPath::root().key("aws");
        if !is_region(&aws.region) {
            self.fail(
                path.key("region"),
                format!(
                    "region `{}` is not a region name such as us-east-1",
                    aws.region
                ),
            );
        }
        // The account id appears in every ARN the gateway builds (docs/behaviour.md §8.1).
        if !is_account_id(&aws.account_id) {
            self.fail(
                path.key("accountId"),
                format!("accountId `{}` must be 12 digits", aws.account_id),
            );
        }
        for (service, endpoint) in &aws.endpoints {
            if !is_http_url(endpoint, false) {
                self.fail(
                    path.key("endpoints").key(service),
                    format!("endpoint `{endpoint}` must be an http:// or https:// URL"),
                );
            }
        }
    }
}

// === impl Checks: APIs and their stages ===

impl Checks<'_> {
    fn api(&mut self, id: &str, api: &ApiConfig) {
        let path = KeyPath::root().key("apis").key(id);
        if !is_identifier(id, 64, false) {
            self.fail(
                path.clone(),
                format!(
                    "API id `{id}` must match [A-Za-z0-9_-]{{1,64}} (it is part of URLs and ARNs)"
                ),
            );
        }
        if api.protocol_type == Some(ProtocolType::Http) {
            self.fail(
                path.key("protocolType"),
                "protocolType \"HTTP\" is not served: Switchboard serves WebSocket APIs only \
                 (protocolType = \"WEBSOCKET\")",
            );
        }
        // Required for WebSocket APIs (docs/behaviour.md §2.1).
        let rse_path = path.key("routeSelectionExpression");
        if api.route_selection_expression.trim().is_empty() {
            self.fail(rse_path, "routeSelectionExpression must not be empty");
        } else {
            match SelectionExpression::parse(&api.route_selection_expression) {
                Err(error) => self.fail(
                    rse_path,
                    selection_message(
                        "routeSelectionExpression",
                        &api.route_selection_expression,
                        &error,
                    ),
                ),
                Ok(expression) => {
                    if let Some(message) = route_selection::problem(&expression) {
                        self.fail(rse_path, message);
                    }
                }
            }
        }
        // Clients connect to a stage: an API without one cannot be reached.
        let stages_path = path.key("stages");
        if api.stages.is_empty() && !self.has_broken_inside(&stages_path) {
            self.fail(
                stages_path,
                format!(
                    "API `{id}` has no stage, so no client can connect to it; add one, e.g. \
                     [apis.{}.stages.dev]",
                    KeyPath::root().key(id)
                ),
            );
        }
        if api.disable_execute_api_endpoint {
            self.warn(
                path.key("disableExecuteApiEndpoint"),
                "disableExecuteApiEndpoint has no effect: Switchboard serves the API on its own \
                 listener, which is the only endpoint (AWS would refuse clients on the \
                 execute-api hostname)",
            );
        }
        self.message_routes(&path, api);
        // Only two values are supported (docs/behaviour.md §2.4).
        if let Some(expression) = &api.api_key_selection_expression {
            if expression != "$request.header.x-api-key"
                && expression != "$context.authorizer.usageIdentifierKey"
            {
                self.fail(
                    path.key("apiKeySelectionExpression"),
                    format!(
                        "apiKeySelectionExpression `{expression}` is not supported; use \
                         $request.header.x-api-key or $context.authorizer.usageIdentifierKey"
                    ),
                );
            }
        }
        // Deploying a stage needs a route (docs/behaviour.md §10).
        if !api.stages.is_empty()
            && api.routes.is_empty()
            && !self.has_broken_inside(&path.key("routes"))
        {
            self.fail(
                path.key("routes"),
                "At least one route is required before deploying the Api",
            );
        }
        for (name, stage) in &api.stages {
            self.stage(path.key("stages").key(name), name, stage, api);
        }
        for (integration_id, integration) in &api.integrations {
            self.integration(
                path.key("integrations").key(integration_id),
                integration_id,
                integration,
            );
        }
        for (route_key, route) in &api.routes {
            self.route(path.key("routes").key(route_key), route_key, route, api);
        }
        for (authorizer_id, authorizer) in &api.authorizers {
            self.authorizer(
                path.key("authorizers").key(authorizer_id),
                authorizer_id,
                authorizer,
            );
        }
        for (model_name, model) in &api.models {
            self.model(path.key("models").key(model_name), model_name, model);
        }
    }

    /// Warns when no message can reach an integration: without `$default` and custom routes,
    /// every message is answered with a Forbidden error frame (docs/behaviour.md §2.3).
    fn message_routes(&mut self, path: &KeyPath, api: &ApiConfig) {
        let routes_path = path.key("routes");
        let carries_messages = api
            .routes
            .keys()
            .any(|key| key != "$connect" && key != "$disconnect");
        if !api.routes.is_empty() && !carries_messages && !self.has_broken_inside(&routes_path) {
            self.warn(
                routes_path,
                "there is no $default route and no custom route, so every message a client \
                 sends is answered with {\"message\": \"Forbidden\"}; add a $default route or a \
                 route per action",
            );
        }
    }

    /// An optional field that repeats the table key (CloudFormation style) must agree with it.
    fn same_as_key(&mut self, path: KeyPath, field: &str, value: Option<&str>, key: &str) {
        if let Some(value) = value {
            if value != key {
                self.fail(
                    path,
                    format!("{field} `{value}` differs from its table key `{key}`; remove it or make them equal"),
                );
            }
        }
    }

    fn stage(&mut self, path: KeyPath, name: &str, stage: &StageConfig, api: &ApiConfig) {
        if !is_identifier(name, 128, false) {
            self.fail(
                path.clone(),
                format!("stage name `{name}` must match [A-Za-z0-9_-]{{1,128}}"),
            );
        }
        self.same_as_key(
            path.key("stageName"),
            "stageName",
            stage.stage_name.as_deref(),
            name,
        );
        for variable in stage.stage_variables.keys() {
            if !is_stage_variable_name(variable) {
                self.fail(
                    path.key("stageVariables").key(variable),
                    format!("stage variable name `{variable}` must match [A-Za-z0-9_]+"),
                );
            }
        }
        self.route_settings(
            path.key("defaultRouteSettings"),
            &stage.default_route_settings,
        );
        for (route_key, settings) in &stage.route_settings {
            let settings_path = path.key("routeSettings").key(route_key);
            let route_path = path
                .parent()
                .and_then(|stages| stages.parent())
                .map(|api_path| api_path.key("routes").key(route_key));
            if !api.routes.contains_key(route_key)
                && !route_path.is_some_and(|p| self.is_broken(&p))
            {
                self.fail(
                    settings_path.clone(),
                    format!(
                        "routeSettings names route `{route_key}`, which this API does not define"
                    ),
                );
            }
            self.route_settings(settings_path, settings);
        }
        if let Some(access_log) = &stage.access_log_settings {
            self.access_log(path.key("accessLogSettings"), access_log);
        }
        self.stage_limits(path.key("limits"), &stage.limits);
    }

    fn route_settings(&mut self, path: KeyPath, settings: &RouteSettings) {
        // throttlingBurstLimit is unsigned in the model, so serde already rejects negatives.
        if let Some(rate) = settings.throttling_rate_limit {
            if rate.is_nan() || rate.is_infinite() || rate < 0.0 {
                self.fail(
                    path.key("throttlingRateLimit"),
                    format!("throttlingRateLimit must be a non-negative number, got {rate}"),
                );
            }
        }
    }

    fn access_log(&mut self, path: KeyPath, settings: &AccessLogSettings) {
        let format_path = path.key("format");
        // AWS: a single line that includes $context.requestId, at most 3 KB (docs/behaviour.md §9, §10).
        if settings.format.trim().is_empty() {
            self.fail(format_path, "access log format must not be empty");
        } else if settings.format.len() > MAX_ACCESS_LOG_FORMAT_BYTES {
            self.fail(
                format_path,
                format!(
                    "access log format is {} bytes; the maximum is 3 KB ({MAX_ACCESS_LOG_FORMAT_BYTES} bytes)",
                    settings.format.len()
                ),
            );
        } else if settings.format.contains('\n') {
            self.fail(format_path, "access log format must be a single line");
        } else if !settings.format.contains("$context.requestId") {
            self.fail(
                format_path,
                "access log format must include $context.requestId",
            );
        }
        self.non_empty(
            path.key("destination"),
            &settings.destination,
            "destination",
        );
        if let Some(arn) = &settings.destination_arn {
            self.warn(
                path.key("destinationArn"),
                format!(
                    "destinationArn `{arn}` is not written to: access log lines go to \
                     destination = \"{}\" (stdout or a file)",
                    settings.destination
                ),
            );
        }
    }

    fn stage_limits(&mut self, path: KeyPath, limits: &StageLimits) {
        for (key, value) in [
            ("idleTimeoutSeconds", limits.idle_timeout_seconds),
            ("maxConnectionSeconds", limits.max_connection_seconds),
            ("maxFrameBytes", limits.max_frame_bytes as u64),
            ("maxMessageBytes", limits.max_message_bytes as u64),
        ] {
            // An unset frame limit follows a zero message limit; that one is reported.
            let follows = key == "maxFrameBytes" && limits.max_message_bytes == 0;
            if value == 0 && !follows {
                self.fail(path.key(key), format!("{key} must be greater than 0"));
            }
        }
        // A message is one or more frames, so a frame can never be larger than a message. The
        // frame limit only exceeds the message limit when both are written (see the model).
        if limits.max_frame_bytes > limits.max_message_bytes {
            self.fail(
                path.key("maxFrameBytes"),
                format!(
                    "maxFrameBytes ({}) must not exceed maxMessageBytes ({})",
                    limits.max_frame_bytes, limits.max_message_bytes
                ),
            );
        }
    }
}

// === impl Checks: integrations ===

impl Checks<'_> {
    fn integration(&mut self, path: KeyPath, id: &str, integration: &IntegrationConfig) {
        if !is_identifier(id, 128, true) {
            self.fail(
                path.clone(),
                format!("integration id `{id}` must match [A-Za-z0-9_.-]{{1,128}}"),
            );
        }
        let kind = integration.integration_type;
        let kind_name = integration_type_name(kind);
        // Spec §4.1: WebSocket APIs reject more than 29 s even though the shape allows 30 s.
        if !TIMEOUT_MILLIS.contains(&integration.timeout_in_millis) {
            self.fail(
                path.key("timeoutInMillis"),
                format!(
                    "timeoutInMillis must be between 50 and 29000 milliseconds for WebSocket APIs, got {}",
                    integration.timeout_in_millis
                ),
            );
        }
        self.integration_uri(&path, kind, integration.integration_uri.as_deref());

        if let Some(method) = &integration.integration_method {
            if !is_uppercase_http_token(method) {
                self.fail(
                    path.key("integrationMethod"),
                    format!("integrationMethod `{method}` must be an uppercase HTTP method such as POST"),
                );
            } else if kind == IntegrationType::AwsProxy && method != "POST" {
                // Lambda Invoke, and our HTTP form of it, are POST requests (docs/configuration.md).
                self.fail(
                    path.key("integrationMethod"),
                    format!("AWS_PROXY integrations are invoked with POST, not {method}"),
                );
            }
        }

        // Proxy integrations pass bodies through unchanged (docs/behaviour.md §5).
        let proxy = matches!(kind, IntegrationType::AwsProxy | IntegrationType::HttpProxy);
        if proxy && !integration.request_templates.is_empty() {
            self.fail(
                path.key("requestTemplates"),
                format!("requestTemplates apply only to AWS, HTTP and MOCK integrations; {kind_name} passes the message through unchanged"),
            );
        }
        if proxy && !integration.integration_responses.is_empty() {
            self.fail(
                path.key("integrationResponses"),
                format!("integrationResponses apply only to AWS, HTTP and MOCK integrations; {kind_name} returns the backend reply unchanged"),
            );
        }

        match &integration.credentials {
            Some(_) if kind != IntegrationType::Aws => self.fail(
                path.key("credentials"),
                format!("credentials apply only to AWS integrations, not {kind_name}"),
            ),
            Some(credentials) => self.credentials(path.key("credentials"), credentials),
            None => {}
        }
        self.integration_aws_fields(&path, integration);

        for (target, source) in &integration.request_parameters {
            self.integration_parameter(path.key("requestParameters").key(target), target, source);
        }

        for (key, source) in &integration.request_templates {
            let template_path = path.key("requestTemplates").key(key);
            self.non_empty(template_path.clone(), key, "template key");
            self.template(template_path, source);
        }
        if let Some(expression) = &integration.template_selection_expression {
            self.selection(
                path.key("templateSelectionExpression"),
                expression,
                "templateSelectionExpression",
            );
        }

        for (key, response) in &integration.integration_responses {
            let response_path = path.key("integrationResponses").key(key);
            self.integration_response_key(response_path.clone(), key);
            self.same_as_key(
                response_path.key("integrationResponseKey"),
                "integrationResponseKey",
                response.integration_response_key.as_deref(),
                key,
            );
            for (template_key, source) in &response.response_templates {
                let template_path = response_path.key("responseTemplates").key(template_key);
                self.non_empty(template_path.clone(), template_key, "template key");
                self.template(template_path, source);
            }
            if let Some(expression) = &response.template_selection_expression {
                self.selection(
                    response_path.key("templateSelectionExpression"),
                    expression,
                    "templateSelectionExpression",
                );
            }
        }
    }

    /// The apigatewayv2 integration fields that only matter elsewhere: refused where serving
    /// them would change behaviour, a warning where a setting is not honoured.
    fn integration_aws_fields(&mut self, path: &KeyPath, integration: &IntegrationConfig) {
        if integration.connection_type == Some(ConnectionType::VpcLink) {
            self.fail(
                path.key("connectionType"),
                "connectionType \"VPC_LINK\" (a private integration) is not served: Switchboard \
                 calls integrationUri directly; use connectionType = \"INTERNET\" with an address \
                 Switchboard can reach",
            );
        }
        // WebSocket APIs have one payload format (docs/behaviour.md §4.2).
        if let Some(version) = &integration.payload_format_version {
            if version != "1.0" {
                self.fail(
                    path.key("payloadFormatVersion"),
                    format!(
                        "payloadFormatVersion `{version}` is not supported: WebSocket APIs use 1.0"
                    ),
                );
            }
        }
        if let Some(arn) = &integration.credentials_arn {
            let used = match integration.integration_type {
                IntegrationType::Aws if integration.credentials.is_some() => {
                    "the integration's credentials table signs the calls"
                }
                IntegrationType::Aws | IntegrationType::AwsProxy => {
                    "calls are signed with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and \
                     AWS_SESSION_TOKEN from Switchboard's environment"
                }
                _ => "this integration type makes no AWS calls",
            };
            self.warn(
                path.key("credentialsArn"),
                format!("credentialsArn `{arn}` is not assumed: {used}"),
            );
        }
    }

    /// `integrationUri` forms of docs/configuration.md, after `${stageVariables.x}` placeholders (docs/behaviour.md §10).
    fn integration_uri(&mut self, path: &KeyPath, kind: IntegrationType, uri: Option<&str>) {
        let uri_path = path.key("integrationUri");
        let Some(uri) = uri else {
            if kind != IntegrationType::Mock {
                self.fail(
                    uri_path,
                    format!(
                        "integrationUri is required for {} integrations",
                        integration_type_name(kind)
                    ),
                );
            }
            return;
        };
        if kind == IntegrationType::Mock {
            return;
        }
        let (resolved, leading_variable) = match substitute_stage_variables(uri) {
            Ok(resolved) => resolved,
            Err(message) => {
                self.fail(uri_path, message);
                return;
            }
        };
        let valid = match kind {
            IntegrationType::Http | IntegrationType::HttpProxy => {
                is_http_url(&resolved, leading_variable)
            }
            IntegrationType::AwsProxy => {
                FunctionArn::parse(&resolved).is_some() || is_http_url(&resolved, leading_variable)
            }
            IntegrationType::Aws => is_aws_action_uri(&resolved) || leading_variable,
            IntegrationType::Mock => true,
        };
        if !valid {
            let expected = match kind {
                IntegrationType::Http | IntegrationType::HttpProxy => {
                    "an http:// or https:// URL".to_owned()
                }
                IntegrationType::AwsProxy => "arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations, arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}] or an http(s):// URL".to_owned(),
                _ => "arn:aws:apigateway:{region}:{service}:action/{Action}".to_owned(),
            };
            self.fail(
                uri_path,
                format!(
                    "integrationUri `{uri}` is not valid for {}: expected {expected}",
                    integration_type_name(kind)
                ),
            );
        }
    }

    /// Request parameter mappings (docs/behaviour.md §4.3).
    fn integration_parameter(&mut self, path: KeyPath, target: &str, source: &str) {
        let target_ok = target
            .strip_prefix("integration.request.header.")
            .or_else(|| target.strip_prefix("integration.request.querystring."))
            .is_some_and(is_parameter_name);
        if !target_ok {
            self.fail(
                path.clone(),
                format!(
                    "request parameter `{target}` must be integration.request.header.NAME or \
                     integration.request.querystring.NAME, NAME matching ^[a-zA-Z0-9._$-]+$"
                ),
            );
        }
        if !is_parameter_source(source) {
            self.fail(
                path,
                format!(
                    "request parameter source `{source}` must be context.X, stageVariables.X, \
                     route.request.header.X, route.request.querystring.X, \
                     route.request.multivalueheader.X, route.request.multivaluequerystring.X, \
                     route.request.body.PATH or a single-quoted static 'value'"
                ),
            );
        }
    }

    /// `$default` or `/regex/` (docs/behaviour.md §5).
    fn integration_response_key(&mut self, path: KeyPath, key: &str) {
        if key == "$default" {
            return;
        }
        let pattern = key
            .strip_prefix('/')
            .and_then(|k| k.strip_suffix('/'))
            .filter(|p| !p.is_empty());
        let Some(pattern) = pattern else {
            self.fail(
                path,
                format!("integration response key `{key}` must be $default or a /regex/ such as /2\\d\\d/"),
            );
            return;
        };
        if let Err(error) = regex::Regex::new(pattern) {
            // regex errors are drawn over several lines; the last one says what is wrong.
            let text = error.to_string();
            let reason = text.lines().last().unwrap_or_default().trim().to_owned();
            self.fail(
                path,
                format!("integration response key `{key}` is not a valid regex: {reason}"),
            );
        }
    }

    fn template(&mut self, path: KeyPath, source: &str) {
        if source.len() > MAX_TEMPLATE_BYTES {
            self.fail(
                path,
                format!(
                    "mapping template is {} bytes; the maximum is 300 KB ({MAX_TEMPLATE_BYTES} bytes)",
                    source.len()
                ),
            );
            return;
        }
        if let Err(error) = Template::parse(source) {
            self.fail(path, template_message(&error));
        }
    }

    fn selection(&mut self, path: KeyPath, expression: &str, what: &str) {
        if let Err(error) = SelectionExpression::parse(expression) {
            self.fail(path, selection_message(what, expression, &error));
        }
    }
}

// === impl Checks: routes, authorizers, models ===

impl Checks<'_> {
    fn route(&mut self, path: KeyPath, key: &str, route: &RouteConfig, api: &ApiConfig) {
        if let Some(reason) = route_key_problem(key) {
            self.fail(
                path.clone(),
                format!("The provided route key is not formatted properly: {reason}"),
            );
        }
        self.same_as_key(
            path.key("routeKey"),
            "routeKey",
            route.route_key.as_deref(),
            key,
        );
        let api_path = path.parent().and_then(|routes| routes.parent());
        let resource = |kind: &str, id: &str| api_path.as_ref().map(|p| p.key(kind).key(id));
        match &route.target {
            None => self.fail(
                path.key("target"),
                "route has no target; set target = \"integrations/{integrationId}\" \
                 (every route needs an integration; use a MOCK integration for a route without a backend)",
            ),
            Some(target) => match target.strip_prefix("integrations/") {
                Some(id) if api.integrations.contains_key(id) => {}
                // The integration is written but broken; that is reported where it is.
                Some(id) if resource("integrations", id).is_some_and(|p| self.is_broken(&p)) => {}
                Some(_) => self.fail(
                    path.key("target"),
                    format!("unknown route target {target}: no integration with that id in this API"),
                ),
                None => self.fail(
                    path.key("target"),
                    format!("route target `{target}` must be integrations/{{integrationId}}"),
                ),
            },
        }
        // Only `$default` is supported (docs/behaviour.md §2.4, §5).
        if let Some(expression) = &route.route_response_selection_expression {
            if expression != "$default" {
                self.fail(
                    path.key("routeResponseSelectionExpression"),
                    format!("routeResponseSelectionExpression `{expression}` is not supported; the only value is $default"),
                );
            }
        }

        if key == "$connect" {
            self.connect_authorization(&path, route, api);
            for name in route.request_parameters.keys() {
                let ok = name
                    .strip_prefix("route.request.header.")
                    .or_else(|| name.strip_prefix("route.request.querystring."))
                    .is_some_and(is_parameter_name);
                if !ok {
                    self.fail(
                        path.key("requestParameters").key(name),
                        format!("route request parameter `{name}` must be route.request.header.NAME or route.request.querystring.NAME"),
                    );
                }
            }
        } else {
            // Authorization settings only work on `$connect` (docs/behaviour.md §8, §8.3).
            let only_connect = |what: &str| format!("{what} applies only to the $connect route");
            if route
                .authorization_type
                .is_some_and(|t| t != AuthorizationType::None)
            {
                self.fail(
                    path.key("authorizationType"),
                    only_connect("authorizationType"),
                );
            }
            if route.authorizer_id.is_some() {
                self.fail(path.key("authorizerId"), only_connect("authorizerId"));
            }
            if route.api_key_required {
                self.fail(path.key("apiKeyRequired"), only_connect("apiKeyRequired"));
            }
            if !route.request_parameters.is_empty() {
                self.fail(
                    path.key("requestParameters"),
                    only_connect("requestParameters"),
                );
            }
        }

        if let Some(expression) = &route.model_selection_expression {
            self.selection(
                path.key("modelSelectionExpression"),
                expression,
                "modelSelectionExpression",
            );
        }
        for (model_key, model_name) in &route.request_models {
            self.model_reference(
                path.key("requestModels").key(model_key),
                model_name,
                api,
                resource("models", model_name),
            );
        }
        for (response_key, response) in &route.route_responses {
            let response_path = path.key("routeResponses").key(response_key);
            // WebSocket routes have one route response (docs/behaviour.md §2.4, §5).
            if response_key != "$default" {
                self.fail(
                    response_path.clone(),
                    format!("route response key `{response_key}` is not supported; the only route response is $default"),
                );
            }
            self.same_as_key(
                response_path.key("routeResponseKey"),
                "routeResponseKey",
                response.route_response_key.as_deref(),
                response_key,
            );
            if let Some(expression) = &response.model_selection_expression {
                self.selection(
                    response_path.key("modelSelectionExpression"),
                    expression,
                    "modelSelectionExpression",
                );
            }
            for (model_key, model_name) in &response.response_models {
                self.model_reference(
                    response_path.key("responseModels").key(model_key),
                    model_name,
                    api,
                    resource("models", model_name),
                );
            }
        }
    }

    /// A model named by a route or route response must exist (unless it is written but broken).
    fn model_reference(
        &mut self,
        path: KeyPath,
        model_name: &str,
        api: &ApiConfig,
        model_path: Option<KeyPath>,
    ) {
        if !api.models.contains_key(model_name) && !model_path.is_some_and(|p| self.is_broken(&p)) {
            self.fail(
                path,
                format!("unknown model `{model_name}`: no [models.{model_name}] in this API"),
            );
        }
    }

    /// `CUSTOM` needs a REQUEST authorizer, `JWT` a JWT one, and an authorizerId needs either.
    fn connect_authorization(&mut self, path: &KeyPath, route: &RouteConfig, api: &ApiConfig) {
        let wanted = match route.authorization_type {
            Some(AuthorizationType::Custom) => Some(("CUSTOM", AuthorizerType::Request)),
            Some(AuthorizationType::Jwt) => Some(("JWT", AuthorizerType::Jwt)),
            _ => None,
        };
        match (wanted, &route.authorizer_id) {
            (Some((type_name, kind)), None) => self.fail(
                path.key("authorizerId"),
                format!(
                    "authorizationType = \"{type_name}\" needs authorizerId naming a {} authorizer",
                    authorizer_type_name(kind)
                ),
            ),
            (Some((type_name, kind)), Some(id)) => match api.authorizers.get(id) {
                None if path
                    .parent()
                    .and_then(|routes| routes.parent())
                    .is_some_and(|api_path| self.is_broken(&api_path.key("authorizers").key(id))) => {}
                None => self.fail(
                    path.key("authorizerId"),
                    format!("unknown authorizer `{id}`: no [authorizers.{id}] in this API"),
                ),
                Some(authorizer) if authorizer.authorizer_type != kind => self.fail(
                    path.key("authorizerId"),
                    format!(
                        "authorizer `{id}` is a {} authorizer; authorizationType = \"{type_name}\" needs a {} authorizer",
                        authorizer_type_name(authorizer.authorizer_type),
                        authorizer_type_name(kind)
                    ),
                ),
                Some(_) => {}
            },
            (None, Some(_)) => self.fail(
                path.key("authorizerId"),
                "authorizerId needs authorizationType = \"CUSTOM\" or \"JWT\"",
            ),
            (None, None) => {}
        }
    }

    fn authorizer(&mut self, path: KeyPath, id: &str, authorizer: &AuthorizerConfig) {
        if !is_identifier(id, 128, true) {
            self.fail(
                path.clone(),
                format!("authorizer id `{id}` must match [A-Za-z0-9_.-]{{1,128}}"),
            );
        }
        match authorizer.authorizer_type {
            AuthorizerType::Request => {
                self.request_authorizer(&path, authorizer);
                if authorizer.jwt_configuration.is_some() {
                    self.fail(
                        path.key("jwtConfiguration"),
                        "jwtConfiguration applies only to JWT authorizers",
                    );
                }
            }
            AuthorizerType::Jwt => {
                if authorizer.authorizer_uri.is_some() {
                    self.fail(
                        path.key("authorizerUri"),
                        "authorizerUri applies only to REQUEST authorizers",
                    );
                }
                match &authorizer.jwt_configuration {
                    None => self.fail(
                        path.key("jwtConfiguration"),
                        "JWT authorizers need jwtConfiguration = { issuer, audience, jwksUri or jwksFile }",
                    ),
                    Some(jwt) => self.jwt(path.key("jwtConfiguration"), jwt),
                }
            }
        }
        // Identity source patterns of WebSocket authorizers (docs/behaviour.md §8.2).
        for (i, source) in authorizer.identity_source.iter().enumerate() {
            if !is_identity_source(source) {
                self.fail(
                    path.key("identitySource").index(i),
                    format!(
                        "identity source `{source}` must be route.request.header.X, \
                         route.request.querystring.X, stageVariables.X or context.X"
                    ),
                );
            }
        }
        if let Some(ttl) = authorizer.authorizer_result_ttl_in_seconds {
            if ttl > MAX_AUTHORIZER_TTL_SECONDS {
                self.fail(
                    path.key("authorizerResultTtlInSeconds"),
                    format!("authorizerResultTtlInSeconds must be at most {MAX_AUTHORIZER_TTL_SECONDS}, got {ttl}"),
                );
            }
        }
        self.authorizer_aws_fields(&path, authorizer);
    }

    /// The apigatewayv2 authorizer fields of HTTP and REST APIs: a warning where the file asks
    /// for something a WebSocket authorizer does not do here.
    fn authorizer_aws_fields(&mut self, path: &KeyPath, authorizer: &AuthorizerConfig) {
        if let Some(arn) = &authorizer.authorizer_credentials_arn {
            self.warn(
                path.key("authorizerCredentialsArn"),
                format!(
                    "authorizerCredentialsArn `{arn}` is not assumed: the authorizer is invoked \
                     with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from \
                     Switchboard's environment"
                ),
            );
        }
        if let Some(version) = &authorizer.authorizer_payload_format_version {
            if version != "1.0" {
                self.warn(
                    path.key("authorizerPayloadFormatVersion"),
                    format!(
                        "authorizerPayloadFormatVersion `{version}` has no effect: WebSocket \
                         authorizers receive the REQUEST event (format 1.0)"
                    ),
                );
            }
        }
        if authorizer.enable_simple_responses {
            self.warn(
                path.key("enableSimpleResponses"),
                "enableSimpleResponses has no effect: a WebSocket authorizer must answer with a \
                 principalId and an IAM policy",
            );
        }
    }

    fn request_authorizer(&mut self, path: &KeyPath, authorizer: &AuthorizerConfig) {
        match &authorizer.authorizer_uri {
            None => self.fail(
                path.key("authorizerUri"),
                "REQUEST authorizers need authorizerUri (a Lambda ARN or an http(s):// URL)",
            ),
            Some(uri) => match substitute_stage_variables(uri) {
                Err(message) => self.fail(path.key("authorizerUri"), message),
                Ok((resolved, leading_variable)) => {
                    if !(FunctionArn::parse(&resolved).is_some()
                        || is_http_url(&resolved, leading_variable))
                    {
                        self.fail(
                            path.key("authorizerUri"),
                            format!(
                                "authorizerUri `{uri}` must be \
                                 arn:aws:apigateway:{{region}}:lambda:path/2015-03-31/functions/{{functionArn}}/invocations, \
                                 arn:aws:lambda:{{region}}:{{account}}:function:{{name}} or an http(s):// URL"
                            ),
                        );
                    }
                }
            },
        }
        // All sources must be present on $connect, so an empty list would authorize nothing.
        if authorizer.identity_source.is_empty() {
            self.fail(
                path.key("identitySource"),
                "REQUEST authorizers need a non-empty identitySource list, e.g. [\"route.request.header.Authorization\"]",
            );
        }
    }

    fn jwt(&mut self, path: KeyPath, jwt: &JwtConfiguration) {
        self.non_empty(path.key("issuer"), &jwt.issuer, "issuer");
        match (&jwt.jwks_uri, &jwt.jwks_file) {
            (Some(_), Some(_)) => self.fail(
                path.key("jwksFile"),
                "set exactly one of jwksUri and jwksFile, not both",
            ),
            (None, None) => self.fail(path.clone(), "set exactly one of jwksUri and jwksFile"),
            (Some(uri), None) => {
                if !is_http_url(uri, false) {
                    self.fail(
                        path.key("jwksUri"),
                        format!("jwksUri `{uri}` must be an http:// or https:// URL"),
                    );
                }
            }
            (None, Some(file)) => self.non_empty(path.key("jwksFile"), file, "jwksFile"),
        }
        for (i, audience) in jwt.audience.iter().enumerate() {
            self.non_empty(path.key("audience").index(i), audience, "audience");
        }
    }

    fn model(&mut self, path: KeyPath, name: &str, model: &ModelConfig) {
        if !is_identifier(name, 128, true) {
            self.fail(
                path.clone(),
                format!("model name `{name}` must match [A-Za-z0-9_.-]{{1,128}}"),
            );
        }
        if let Some(content_type) = &model.content_type {
            self.non_empty(path.key("contentType"), content_type, "contentType");
        }
        // A draft-4 JSON Schema is a JSON object (docs/behaviour.md §4.7).
        match serde_json::from_str::<serde_json::Value>(&model.schema) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => self.fail(
                path.key("schema"),
                "schema must be a JSON object (a JSON Schema draft 4 document)",
            ),
            Err(error) => self.fail(
                path.key("schema"),
                format!("schema is not valid JSON: {error}"),
            ),
        }
    }
}

// === impl Checks: IAM principals and API keys ===

impl Checks<'_> {
    fn iam(&mut self, iam: &IamConfig) {
        let path = KeyPath::root().key("iam").key("principals");
        let mut seen = BTreeSet::new();
        for (i, principal) in iam.principals.iter().enumerate() {
            let principal_path = path.index(i);
            self.non_empty(
                principal_path.key("accessKeyId"),
                &principal.access_key_id,
                "accessKeyId",
            );
            self.non_empty(
                principal_path.key("secretAccessKey"),
                &principal.secret_access_key,
                "secretAccessKey",
            );
            // Two secrets for one key id would make signature checks ambiguous.
            if !principal.access_key_id.is_empty() && !seen.insert(&principal.access_key_id) {
                self.fail(
                    principal_path.key("accessKeyId"),
                    format!("accessKeyId `{}` is listed twice", principal.access_key_id),
                );
            }
            for (j, resource) in principal.allow.iter().enumerate() {
                // Policies name route ARNs (docs/behaviour.md §8.1).
                if !resource.starts_with("arn:aws:execute-api:") {
                    self.fail(
                        principal_path.key("allow").index(j),
                        format!("allow entry `{resource}` must be an execute-api ARN starting with arn:aws:execute-api:"),
                    );
                }
            }
        }
    }

    fn api_keys(&mut self, config: &Config) {
        let path = KeyPath::root().key("apiKeys");
        let mut values: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, key) in &config.api_keys {
            let key_path = path.key(name);
            self.non_empty(key_path.clone(), name, "API key name");
            let length = key.value.chars().count();
            if !API_KEY_CHARS.contains(&length) {
                self.fail(
                    key_path.key("value"),
                    format!("API key value must be 20 to 128 characters long, got {length}"),
                );
            }
            if let Some(first) = values.insert(&key.value, name) {
                // Restore the first owner so a third duplicate names it too.
                values.insert(&key.value, first);
                self.fail(
                    key_path.key("value"),
                    format!("API key value is already used by apiKeys.{first}"),
                );
            }
            for (i, stage) in key.stages.iter().enumerate() {
                let exists = stage.split_once('/').is_some_and(|(api_id, stage_name)| {
                    config
                        .apis
                        .get(api_id)
                        .is_some_and(|api| api.stages.contains_key(stage_name))
                        || self.is_broken(
                            &KeyPath::root()
                                .key("apis")
                                .key(api_id)
                                .key("stages")
                                .key(stage_name),
                        )
                });
                if !exists {
                    self.fail(
                        key_path.key("stages").index(i),
                        format!("`{stage}` is not an apiId/stageName pair of a defined stage"),
                    );
                }
            }
        }
    }
}

// === pure predicates and messages ===

/// A listen address as written: a host (an IP address or a name) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListenAddress {
    host: ListenHost,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ListenHost {
    Ip(IpAddr),
    /// A host name, resolved when the listener binds.
    Name(String),
}

impl ListenAddress {
    /// `IP:PORT`, `[IPv6]:PORT` or `NAME:PORT` with a DNS-shaped name.
    fn parse(value: &str) -> Option<Self> {
        if let Ok(addr) = value.parse::<SocketAddr>() {
            return Some(Self {
                host: ListenHost::Ip(addr.ip()),
                port: addr.port(),
            });
        }
        let (host, port) = value.rsplit_once(':')?;
        let port = port.parse().ok()?;
        let name_ok = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            // All digits and dots is a mistyped IPv4 address, not a name.
            && !host.chars().all(|c| c.is_ascii_digit() || c == '.');
        name_ok.then(|| Self {
            host: ListenHost::Name(host.to_ascii_lowercase()),
            port,
        })
    }

    /// Loopback or not; `None` for a name other than localhost (known only once resolved).
    fn is_loopback(&self) -> Option<bool> {
        match &self.host {
            ListenHost::Ip(ip) => Some(ip.is_loopback()),
            ListenHost::Name(name) if name == "localhost" => Some(true),
            ListenHost::Name(_) => None,
        }
    }
}

/// A selection expression parse error as a one-line message (position is 0-based, as given).
pub(crate) fn selection_message(what: &str, expression: &str, error: &SelectionError) -> String {
    format!(
        "{what} `{expression}` does not parse: {} at character {}",
        error.message, error.position
    )
}

/// A mapping template parse error; the template's own line and column point inside the string.
pub(crate) fn template_message(error: &TemplateError) -> String {
    format!(
        "mapping template does not parse: template line {}, column {}: {}",
        error.line, error.column, error.message
    )
}

fn integration_type_name(kind: IntegrationType) -> &'static str {
    match kind {
        IntegrationType::AwsProxy => "AWS_PROXY",
        IntegrationType::Aws => "AWS",
        IntegrationType::HttpProxy => "HTTP_PROXY",
        IntegrationType::Http => "HTTP",
        IntegrationType::Mock => "MOCK",
    }
}

fn authorizer_type_name(kind: AuthorizerType) -> &'static str {
    match kind {
        AuthorizerType::Request => "REQUEST",
        AuthorizerType::Jwt => "JWT",
    }
}

/// Why `key` is not a valid route key (docs/behaviour.md §2.1), if it is not.
fn route_key_problem(key: &str) -> Option<String> {
    match key {
        "$connect" | "$disconnect" | "$default" => None,
        "" => Some("a route key must not be empty".to_owned()),
        k if k.starts_with('$') => Some(format!(
            "`{k}` starts with `$`, which is reserved for $connect, $disconnect and $default"
        )),
        k if k.chars().count() > MAX_ROUTE_KEY_CHARS => Some(format!(
            "a custom route key has at most {MAX_ROUTE_KEY_CHARS} characters"
        )),
        _ => None,
    }
}

/// `[A-Za-z0-9_-]{1,max}`, plus `.` when `dots`.
fn is_identifier(s: &str, max: usize, dots: bool) -> bool {
    let count = s.chars().count();
    (1..=max).contains(&count)
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || (dots && c == '.'))
}

fn is_stage_variable_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Request parameter names: `^[a-zA-Z0-9._$-]+$` (docs/behaviour.md §4.3).
fn is_parameter_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '$' | '-'))
}

/// Request parameter mapping sources (docs/behaviour.md §4.3).
fn is_parameter_source(s: &str) -> bool {
    if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        return true;
    }
    const NAMED: [&str; 6] = [
        "context.",
        "stageVariables.",
        "route.request.header.",
        "route.request.querystring.",
        "route.request.multivalueheader.",
        "route.request.multivaluequerystring.",
    ];
    if let Some(name) = NAMED.iter().find_map(|prefix| s.strip_prefix(prefix)) {
        return is_parameter_name(name);
    }
    s.strip_prefix("route.request.body.")
        .is_some_and(|path| !path.is_empty() && !path.chars().any(char::is_whitespace))
}

/// Authorizer identity sources (docs/behaviour.md §8.2, CDK patterns).
fn is_identity_source(s: &str) -> bool {
    [
        "route.request.header.",
        "route.request.querystring.",
        "stageVariables.",
        "context.",
    ]
    .iter()
    .find_map(|prefix| s.strip_prefix(prefix))
    .is_some_and(|name| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    })
}

/// An HTTP method token without lowercase letters (RFC 9110 tchar).
fn is_uppercase_http_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "!#$%&'*+-.^_`|~".contains(c))
}

/// Replaces each `${stageVariables.NAME}` with a neutral token so the URI can be checked; also
/// says whether the URI starts with one (then the variable supplies scheme and host, docs/behaviour.md §10).
fn substitute_stage_variables(uri: &str) -> Result<(String, bool), String> {
    let mut resolved = String::with_capacity(uri.len());
    let mut rest = uri;
    while let Some(start) = rest.find("${") {
        resolved.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`{uri}` has an unterminated ${{"));
        };
        let inner = &after[..end];
        if !inner
            .strip_prefix("stageVariables.")
            .is_some_and(is_stage_variable_name)
        {
            return Err(format!(
                "`${{{inner}}}` is not a stage variable reference; only ${{stageVariables.NAME}} may appear here"
            ));
        }
        resolved.push_str("stagevar");
        rest = &after[end + 1..];
    }
    resolved.push_str(rest);
    Ok((resolved, uri.starts_with("${")))
}

/// An `http://` or `https://` URL with a host; with `leading_variable`, any URL-shaped text.
fn is_http_url(s: &str, leading_variable: bool) -> bool {
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        return false;
    }
    if leading_variable {
        return true;
    }
    s.strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .is_some_and(|host| !host.is_empty())
}

/// `arn:aws:apigateway:{region}:{service}:action/{Action}` (docs/behaviour.md §4.4).
fn is_aws_action_uri(s: &str) -> bool {
    let Some((partition, rest)) = s.strip_prefix("arn:").and_then(|r| r.split_once(':')) else {
        return false;
    };
    let Some((region, rest)) = rest
        .strip_prefix("apigateway:")
        .and_then(|r| r.split_once(':'))
    else {
        return false;
    };
    let Some((service, rest)) = rest.split_once(':') else {
        return false;
    };
    let action = rest.strip_prefix("action/").unwrap_or_default();
    is_partition(partition)
        && is_region(region)
        && !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !action.is_empty()
        && action.chars().all(|c| c.is_ascii_alphanumeric())
}
