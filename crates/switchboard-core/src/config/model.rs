//! The configuration file model: one struct per table of `docs/configuration.md`.
//!
//! Key names are the wire names of the matching API Gateway v2 fields (camelCase). Every
//! apigatewayv2 field of a WebSocket API is accepted; the ones that change nothing here say so
//! in their doc line ("No effect"). Every struct denies unknown fields so a typo is an error,
//! not a silently ignored setting; the loader reads the known keys from these derives.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The client-facing WebSocket listener.
    #[serde(default)]
    pub server: ServerConfig,
    /// The `@connections` management API, `/health` and `/metrics`.
    #[serde(default)]
    pub management: ManagementConfig,
    /// AWS identity used in ARNs and for outbound AWS calls.
    #[serde(default)]
    pub aws: AwsConfig,
    /// WebSocket APIs keyed by apiId.
    #[serde(default)]
    pub apis: BTreeMap<String, ApiConfig>,
    /// Callers allowed on `AWS_IAM` routes.
    #[serde(default)]
    pub iam: IamConfig,
    /// API keys keyed by name.
    #[serde(default, rename = "apiKeys")]
    pub api_keys: BTreeMap<String, ApiKeyConfig>,
    /// Extension: cluster mode on NATS; absent for a single node.
    #[serde(default)]
    pub cluster: Option<super::ClusterConfig>,
    /// The apigatewayv2 control plane (docs/control-plane.md); off when absent.
    #[serde(default, rename = "controlPlane")]
    pub control_plane: Option<ControlPlaneConfig>,
}

/// `[controlPlane]`: create and change WebSocket APIs with the `apigatewayv2` API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ControlPlaneConfig {
    /// Serve the control plane; `false` keeps the table without serving it.
    #[serde(default)]
    pub enabled: bool,
    /// A listener of its own; default: the management listener, at `/v2/...`.
    #[serde(default)]
    pub listen: Option<String>,
    /// Key pairs allowed to call it (SigV4, service `apigateway`); at least one is required.
    #[serde(default)]
    pub credentials: Vec<AwsCredentials>,
    /// Directory of the embedded store (`control-plane.json`).
    #[serde(default = "default_control_data_dir")]
    pub data_dir: String,
    /// A token bucket over all control plane calls; over it, 429 `TooManyRequestsException`.
    #[serde(default = "default_control_rate_limit")]
    pub rate_limit: RateLimit,
    /// Most APIs the control plane holds.
    #[serde(default = "default_control_max_apis")]
    pub max_apis: usize,
    /// Most resources of one kind (routes, integrations, ...) in one API.
    #[serde(default = "default_control_max_resources")]
    pub max_resources_per_api: usize,
    /// Deployments kept per API (the oldest no stage uses go first): each is a snapshot of
    /// the API, and in cluster mode the API with them must fit in one NATS message.
    #[serde(default = "default_control_max_deployments")]
    pub max_deployments_per_api: usize,
}

fn default_control_data_dir() -> String {
    "switchboard-data".to_owned()
}
fn default_control_rate_limit() -> RateLimit {
    RateLimit {
        rate: 50.0,
        burst: 100,
    }
}
fn default_control_max_apis() -> usize {
    600
}
fn default_control_max_resources() -> usize {
    300
}
fn default_control_max_deployments() -> usize {
    20
}

/// `[server]`: where clients connect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerConfig {
    /// Socket address of the WebSocket listener.
    #[serde(default = "default_server_listen")]
    pub listen: String,
    /// `requestContext.domainName`; default: the upgrade request's Host.
    #[serde(default)]
    pub domain_name: Option<String>,
    /// TLS for `wss://`.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Extension: connection-level limits of the listener itself.
    #[serde(default)]
    pub limits: ServerLimits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_server_listen(),
            domain_name: None,
            tls: None,
            limits: ServerLimits::default(),
        }
    }
}

fn default_server_listen() -> String {
    "127.0.0.1:8080".to_owned()
}

/// `[server.tls]`: PEM certificate chain and private key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsConfig {
    /// Path to the PEM certificate chain.
    pub cert_file: String,
    /// Path to the PEM private key.
    pub key_file: String,
}

/// `[server.limits]` (extension): protection of the listener before any API is involved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerLimits {
    /// Most concurrent client connections (handshakes included); more are refused with 503.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds a client has to send a complete upgrade request.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout_seconds: u64,
    /// Largest upgrade request head (request line plus headers) in bytes.
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: usize,
    /// Seconds that shutdown waits for `$disconnect` integrations before exiting.
    #[serde(default = "default_drain_seconds")]
    pub drain_seconds: u64,
    /// Depth of each connection's outbound queue (pushes and two-way replies).
    #[serde(default = "default_outbound_queue")]
    pub outbound_queue_depth: usize,
    /// Payload bytes each connection's outbound queue may hold (an empty queue still takes one
    /// message of up to 131072 bytes); over it a push answers 429.
    #[serde(default = "default_outbound_queue_bytes")]
    pub outbound_queue_bytes: usize,
    /// Most integration calls in flight for one client connection.
    #[serde(default = "default_max_inflight")]
    pub max_inflight_per_connection: usize,
    /// Most calls in flight to one integration across all connections.
    #[serde(default = "default_max_concurrent_calls")]
    pub max_concurrent_calls_per_integration: usize,
    /// Extension: most new connections per second, gateway-wide (a token bucket with a burst
    /// of one second's worth); over it the upgrade is refused with 429. Off when absent.
    #[serde(default)]
    pub new_connections_per_second: Option<f64>,
    /// Extension: most connections (handshakes included) from one client IP; over it the
    /// upgrade is refused with 429. Off when absent.
    #[serde(default)]
    pub max_connections_per_ip: Option<usize>,
    /// Extension: seconds between `/ready` turning 503 and connections being closed on
    /// shutdown, so a load balancer notices first. Default 0.
    #[serde(default)]
    pub drain_delay_seconds: u64,
    /// Extension: most evaluation steps one mapping-template render may take.
    #[serde(default = "default_max_template_steps")]
    pub max_template_steps: u64,
    /// Extension: largest output of one mapping-template render, in bytes.
    #[serde(default = "default_max_template_output_bytes")]
    pub max_template_output_bytes: usize,
    /// Extension: longest one mapping-template render may run, in milliseconds.
    #[serde(default = "default_template_timeout_millis")]
    pub template_timeout_millis: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: default_max_connections(),
            handshake_timeout_seconds: default_handshake_timeout(),
            max_header_bytes: default_max_header_bytes(),
            drain_seconds: default_drain_seconds(),
            outbound_queue_depth: default_outbound_queue(),
            outbound_queue_bytes: default_outbound_queue_bytes(),
            max_inflight_per_connection: default_max_inflight(),
            max_concurrent_calls_per_integration: default_max_concurrent_calls(),
            new_connections_per_second: None,
            max_connections_per_ip: None,
            drain_delay_seconds: 0,
            max_template_steps: default_max_template_steps(),
            max_template_output_bytes: default_max_template_output_bytes(),
            template_timeout_millis: default_template_timeout_millis(),
        }
    }
}

impl ServerLimits {
    /// The budget of one mapping-template render these limits give.
    pub fn render_budget(&self) -> crate::template::RenderBudget {
        crate::template::RenderBudget {
            max_steps: self.max_template_steps,
            max_output_bytes: self.max_template_output_bytes,
            max_time: Some(std::time::Duration::from_millis(
                self.template_timeout_millis,
            )),
        }
    }
}

fn default_max_connections() -> usize {
    15_000
}
fn default_handshake_timeout() -> u64 {
    10
}
fn default_max_header_bytes() -> usize {
    16 * 1024
}
fn default_drain_seconds() -> u64 {
    10
}
fn default_outbound_queue() -> usize {
    64
}
fn default_outbound_queue_bytes() -> usize {
    256 * 1024
}
fn default_max_inflight() -> usize {
    16
}
fn default_max_concurrent_calls() -> usize {
    1024
}
fn default_max_template_steps() -> u64 {
    crate::template::DEFAULT_MAX_STEPS
}
fn default_max_template_output_bytes() -> usize {
    crate::template::DEFAULT_MAX_OUTPUT_BYTES
}
fn default_template_timeout_millis() -> u64 {
    crate::template::DEFAULT_MAX_TIME.as_millis() as u64
}

/// `[management]`: the `@connections` API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManagementConfig {
    /// Socket address of the management listener.
    #[serde(default = "default_management_listen")]
    pub listen: String,
    /// `none` or `sigv4`.
    #[serde(default)]
    pub auth: ManagementAuth,
    /// Key pairs accepted when `auth = "sigv4"`.
    #[serde(default)]
    pub credentials: Vec<AwsCredentials>,
    /// Extension: allow `auth = "none"` on a non-loopback address.
    #[serde(default)]
    pub allow_unauthenticated_remote: bool,
    /// Extension: a token bucket over all management API calls; over it, 429
    /// `LimitExceededException`. Off when absent.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Extension: protection of the management listener itself.
    #[serde(default)]
    pub limits: ManagementLimits,
    /// Extension: TLS for the management listener (`https://`); plain HTTP when absent.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Extension: also serve `@connections` on the WebSocket listener (`[server] listen`, its
    /// TLS), where AWS serves it; always on for an API served from a template.
    #[serde(default)]
    pub on_server_listener: bool,
    /// Extension: who may read `/metrics`; absent: the same as `auth`.
    #[serde(default)]
    pub metrics_auth: Option<ManagementAuth>,
}

impl ManagementConfig {
    /// How `/metrics` callers authenticate: `metricsAuth`, else `auth`.
    pub fn metrics_auth(&self) -> ManagementAuth {
        self.metrics_auth.unwrap_or(self.auth)
    }
}

/// `[management.limits]` (extension): what one caller can hold on the management listener.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManagementLimits {
    /// Most open connections to the management listener; more are refused with 503.
    #[serde(default = "default_management_connections")]
    pub max_connections: usize,
    /// Seconds a caller has to send a whole request, head and body; later it gets 408.
    #[serde(default = "default_management_request_timeout")]
    pub request_timeout_seconds: u64,
}

impl Default for ManagementLimits {
    fn default() -> Self {
        Self {
            max_connections: default_management_connections(),
            request_timeout_seconds: default_management_request_timeout(),
        }
    }
}

fn default_management_connections() -> usize {
    1024
}
fn default_management_request_timeout() -> u64 {
    10
}

/// A token bucket: `rate` tokens per second, at most `burst` stored.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimit {
    /// Tokens added per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

impl Default for ManagementConfig {
    fn default() -> Self {
        Self {
            listen: default_management_listen(),
            auth: ManagementAuth::None,
            credentials: Vec::new(),
            allow_unauthenticated_remote: false,
            rate_limit: None,
            limits: ManagementLimits::default(),
            tls: None,
            on_server_listener: false,
            metrics_auth: None,
        }
    }
}

fn default_management_listen() -> String {
    "127.0.0.1:8081".to_owned()
}

/// How management API callers authenticate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManagementAuth {
    /// No authentication (loopback only unless explicitly allowed).
    #[default]
    None,
    /// AWS Signature Version 4, service `execute-api`.
    Sigv4,
}

/// An AWS access key pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Optional session token.
    #[serde(default)]
    pub session_token: Option<String>,
}

/// `[aws]`: region and account used in ARNs, and endpoint overrides.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsConfig {
    /// Region used in ARNs and for outbound calls.
    #[serde(default = "default_region")]
    pub region: String,
    /// Account id used in ARNs.
    #[serde(default = "default_account")]
    pub account_id: String,
    /// Service name → endpoint URL (e.g. `lambda = "http://127.0.0.1:3001"`).
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
}

impl Default for AwsConfig {
    fn default() -> Self {
        Self {
            region: default_region(),
            account_id: default_account(),
            endpoints: BTreeMap::new(),
        }
    }
}

fn default_region() -> String {
    "us-east-1".to_owned()
}
fn default_account() -> String {
    "123456789012".to_owned()
}

/// `[apis.ID]`: one WebSocket API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiConfig {
    /// Display name (default: the id).
    #[serde(default)]
    pub name: Option<String>,
    /// `WEBSOCKET`, the only protocol served; `HTTP` is refused.
    #[serde(default)]
    pub protocol_type: Option<ProtocolType>,
    /// Route selection expression, e.g. `$request.body.action`.
    pub route_selection_expression: String,
    /// Where the API key is read from.
    #[serde(default)]
    pub api_key_selection_expression: Option<String>,
    /// Free text. No effect.
    #[serde(default)]
    pub description: Option<String>,
    /// Resource tags. No effect.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Version label. No effect.
    #[serde(default)]
    pub version: Option<String>,
    /// AWS turns off the `execute-api` hostname; here there is no other endpoint, so this has
    /// no effect (a warning says so when it is `true`).
    #[serde(default)]
    pub disable_execute_api_endpoint: bool,
    /// AWS skips checking model schemas at deployment. No effect: schemas are always checked.
    #[serde(default)]
    pub disable_schema_validation: bool,
    /// `ipv4` or `dualstack` endpoints on AWS. No effect: the listen address decides.
    #[serde(default)]
    pub ip_address_type: Option<String>,
    /// Stages keyed by stage name.
    #[serde(default)]
    pub stages: BTreeMap<String, StageConfig>,
    /// Integrations keyed by integration id.
    #[serde(default)]
    pub integrations: BTreeMap<String, IntegrationConfig>,
    /// Routes keyed by route key.
    #[serde(default)]
    pub routes: BTreeMap<String, RouteConfig>,
    /// Authorizers keyed by authorizer id.
    #[serde(default)]
    pub authorizers: BTreeMap<String, AuthorizerConfig>,
    /// Models keyed by model name.
    #[serde(default)]
    pub models: BTreeMap<String, ModelConfig>,
    /// The APIs (without stages) the stages' deployments captured, by deployment id: a stage
    /// whose `deploymentId` names one serves it ([`ApiConfig::deployment_of`]). Only the control
    /// plane fills this in (docs/control-plane.md); a file cannot, so every stage of a file's
    /// API serves the API itself.
    #[serde(skip)]
    pub deployments: BTreeMap<String, ApiConfig>,
}

impl ApiConfig {
    /// The deployment `stage` serves, with its id, when the stage names one this API holds;
    /// `None`: the stage serves the API itself (always, for a file's API).
    pub fn deployment_of(&self, stage: &StageConfig) -> Option<(&str, &ApiConfig)> {
        let id = stage.deployment_id.as_deref()?;
        self.deployments
            .get_key_value(id)
            .map(|(id, api)| (id.as_str(), api))
    }

    /// What `stage` serves: the routes, integrations, authorizers, models and selection
    /// expressions of its deployment ([`ApiConfig::deployment_of`]), else of the API itself.
    pub fn served_on(&self, stage: &StageConfig) -> &ApiConfig {
        self.deployment_of(stage).map_or(self, |(_, api)| api)
    }
}

/// `protocolType` of an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProtocolType {
    /// A WebSocket API.
    Websocket,
    /// An HTTP API: accepted by the parser so the check can say it is not served.
    Http,
}

/// `[apis.ID.stages.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StageConfig {
    /// The stage name again, as in CloudFormation; must equal the table key.
    #[serde(default)]
    pub stage_name: Option<String>,
    /// Stage variables.
    #[serde(default)]
    pub stage_variables: BTreeMap<String, String>,
    /// Stage-wide route settings.
    #[serde(default)]
    pub default_route_settings: RouteSettings,
    /// Per-route settings keyed by route key.
    #[serde(default)]
    pub route_settings: BTreeMap<String, RouteSettings>,
    /// Access logging.
    #[serde(default)]
    pub access_log_settings: Option<AccessLogSettings>,
    /// Extension: connection limits.
    #[serde(default)]
    pub limits: StageLimits,
    /// Extension: a `POST @connections/{id}` made while that connection's `$connect` runs is
    /// queued and delivered after the 101 (dropped if `$connect` refuses), instead of AWS's 410.
    #[serde(default)]
    pub pushes_during_connect: bool,
    /// Extension: MESSAGE events to `AWS_PROXY` integrations carry the connection's groups and
    /// user in `requestContext.switchboard` (off: events are AWS's, byte for byte).
    #[serde(default)]
    pub event_extensions: bool,
    /// Free text. No effect.
    #[serde(default)]
    pub description: Option<String>,
    /// Resource tags. No effect.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// AWS redeploys on every change. No effect: a change is served after SIGHUP or a restart.
    #[serde(default)]
    pub auto_deploy: bool,
    /// The deployment the stage serves. In a file, no effect: the stage serves the file (the
    /// control plane sets it, with the API's `deployments`).
    #[serde(default)]
    pub deployment_id: Option<String>,
    /// Client certificate for backend calls. No effect: backends see no client certificate.
    #[serde(default)]
    pub client_certificate_id: Option<String>,
}

/// `RouteSettings` as in API Gateway.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteSettings {
    /// Token bucket size.
    #[serde(default)]
    pub throttling_burst_limit: Option<u32>,
    /// Token refill rate per second.
    #[serde(default)]
    pub throttling_rate_limit: Option<f64>,
    /// `ERROR`, `INFO` or `OFF`.
    #[serde(default)]
    pub logging_level: Option<LoggingLevel>,
    /// Log full request/response data.
    #[serde(default)]
    pub data_trace_enabled: Option<bool>,
    /// Per-route metrics labels.
    #[serde(default)]
    pub detailed_metrics_enabled: Option<bool>,
}

/// Execution logging level of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LoggingLevel {
    /// Errors only.
    Error,
    /// Everything.
    Info,
    /// Nothing.
    Off,
}

/// `accessLogSettings`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccessLogSettings {
    /// One line with `$context.*` variables.
    pub format: String,
    /// `stdout` or a file path.
    #[serde(default = "default_log_destination")]
    pub destination: String,
    /// The CloudWatch Logs group AWS writes to. Not written to (a warning says so): lines go to
    /// `destination`.
    #[serde(default)]
    pub destination_arn: Option<String>,
}

fn default_log_destination() -> String {
    "stdout".to_owned()
}

/// `limits` of a stage (extension); defaults are the AWS quotas.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "StageLimitsFile")]
pub struct StageLimits {
    /// Close with 1001 after this many seconds without a data message either way.
    pub idle_timeout_seconds: u64,
    /// Close with 1001 after this many seconds connected.
    pub max_connection_seconds: u64,
    /// Largest single frame; larger closes with 1009.
    pub max_frame_bytes: usize,
    /// Largest reassembled message; larger closes with 1009.
    pub max_message_bytes: usize,
    /// What to do with binary frames.
    pub binary_frames: BinaryFrames,
}

/// `limits` as written: an unset `maxFrameBytes` follows `maxMessageBytes` down, so a stage that
/// only lowers the message limit is not refused for a frame limit nobody wrote.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StageLimitsFile {
    #[serde(default = "default_idle")]
    idle_timeout_seconds: u64,
    #[serde(default = "default_lifetime")]
    max_connection_seconds: u64,
    /// Default: the smaller of 32 KB and `maxMessageBytes`.
    #[serde(default)]
    max_frame_bytes: Option<usize>,
    #[serde(default = "default_max_message")]
    max_message_bytes: usize,
    #[serde(default)]
    binary_frames: BinaryFrames,
}

impl From<StageLimitsFile> for StageLimits {
    fn from(file: StageLimitsFile) -> Self {
        Self {
            idle_timeout_seconds: file.idle_timeout_seconds,
            max_connection_seconds: file.max_connection_seconds,
            max_frame_bytes: file
                .max_frame_bytes
                .unwrap_or_else(|| default_max_frame().min(file.max_message_bytes)),
            max_message_bytes: file.max_message_bytes,
            binary_frames: file.binary_frames,
        }
    }
}

impl Default for StageLimits {
    fn default() -> Self {
        Self {
            idle_timeout_seconds: default_idle(),
            max_connection_seconds: default_lifetime(),
            max_frame_bytes: default_max_frame(),
            max_message_bytes: default_max_message(),
            binary_frames: BinaryFrames::Reject,
        }
    }
}

fn default_idle() -> u64 {
    600
}
fn default_lifetime() -> u64 {
    7200
}
fn default_max_frame() -> usize {
    32 * 1024
}
fn default_max_message() -> usize {
    128 * 1024
}

/// Treatment of binary frames from clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BinaryFrames {
    /// Close with 1003, as AWS does.
    #[default]
    Reject,
    /// Deliver base64-encoded with `isBase64Encoded: true`.
    Accept,
}

/// `[apis.ID.integrations.ID]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IntegrationConfig {
    /// The kind of backend.
    pub integration_type: IntegrationType,
    /// URL or ARN; `${stageVariables.x}` allowed.
    #[serde(default)]
    pub integration_uri: Option<String>,
    /// HTTP method for `HTTP`/`HTTP_PROXY`.
    #[serde(default)]
    pub integration_method: Option<String>,
    /// Deadline of one call, 50–29000 ms.
    #[serde(default = "default_timeout")]
    pub timeout_in_millis: u64,
    /// Target → source parameter mappings.
    #[serde(default)]
    pub request_parameters: BTreeMap<String, String>,
    /// Template key → mapping template.
    #[serde(default)]
    pub request_templates: BTreeMap<String, String>,
    /// Selects the request template.
    #[serde(default)]
    pub template_selection_expression: Option<String>,
    /// What to do when no template matches.
    #[serde(default)]
    pub passthrough_behavior: Option<PassthroughBehavior>,
    /// Binary/text conversion of the request.
    #[serde(default)]
    pub content_handling_strategy: Option<ContentHandlingStrategy>,
    /// Integration responses keyed `$default` or `/regex/`.
    #[serde(default)]
    pub integration_responses: BTreeMap<String, IntegrationResponseConfig>,
    /// Extension: credentials for `AWS` integrations.
    #[serde(default)]
    pub credentials: Option<AwsCredentials>,
    /// Free text. No effect.
    #[serde(default)]
    pub description: Option<String>,
    /// `INTERNET` (the default); `VPC_LINK` is refused: backends are reached directly.
    #[serde(default)]
    pub connection_type: Option<ConnectionType>,
    /// The VPC link of a `VPC_LINK` integration. No effect.
    #[serde(default)]
    pub connection_id: Option<String>,
    /// The IAM role AWS assumes for the call. Not assumed here (a warning says so): AWS
    /// integrations sign with `credentials` or the environment's keys, Lambda calls with the
    /// environment's keys.
    #[serde(default)]
    pub credentials_arn: Option<String>,
    /// `1.0`, the only payload format of WebSocket APIs; anything else is refused.
    #[serde(default)]
    pub payload_format_version: Option<String>,
    /// The AWS service action of an HTTP API integration. No effect.
    #[serde(default)]
    pub integration_subtype: Option<String>,
    /// TLS settings of a private integration. No effect.
    #[serde(default)]
    pub tls_config: Option<IntegrationTlsConfig>,
}

/// `connectionType` of an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionType {
    /// The backend is reached over the network, as written in `integrationUri`.
    Internet,
    /// Through a VPC link: accepted by the parser so the check can say it is not served.
    VpcLink,
}

/// `tlsConfig` of an integration. No effect.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IntegrationTlsConfig {
    /// Host name checked in a private backend's certificate. No effect.
    #[serde(default)]
    pub server_name_to_verify: Option<String>,
}

fn default_timeout() -> u64 {
    29_000
}

/// `integrationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntegrationType {
    /// Lambda proxy.
    AwsProxy,
    /// AWS service (non-proxy).
    Aws,
    /// HTTP proxy.
    HttpProxy,
    /// HTTP non-proxy.
    Http,
    /// No backend.
    Mock,
}

/// `passthroughBehavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PassthroughBehavior {
    /// Pass the body through when no template matches.
    WhenNoMatch,
    /// Reject when no template matches.
    Never,
    /// Pass through only when no templates are defined.
    WhenNoTemplates,
}

/// `contentHandlingStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContentHandlingStrategy {
    /// Base64-decode text into binary.
    ConvertToBinary,
    /// Base64-encode binary into text.
    ConvertToText,
}

/// One integration response.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IntegrationResponseConfig {
    /// The key again, as in CloudFormation; must equal the table key.
    #[serde(default)]
    pub integration_response_key: Option<String>,
    /// Response header mappings. No effect: a WebSocket reply is a frame, without headers.
    #[serde(default)]
    pub response_parameters: BTreeMap<String, String>,
    /// Template key → response template.
    #[serde(default)]
    pub response_templates: BTreeMap<String, String>,
    /// Selects the response template.
    #[serde(default)]
    pub template_selection_expression: Option<String>,
    /// Binary/text conversion of the response.
    #[serde(default)]
    pub content_handling_strategy: Option<ContentHandlingStrategy>,
}

/// `[apis.ID.routes.ROUTEKEY]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteConfig {
    /// The route key again, as in CloudFormation; must equal the table key.
    #[serde(default)]
    pub route_key: Option<String>,
    /// Operation name for documentation. No effect.
    #[serde(default)]
    pub operation_name: Option<String>,
    /// OAuth scopes a JWT authorizer requires on HTTP APIs. No effect.
    #[serde(default)]
    pub authorization_scopes: Vec<String>,
    /// Route responses keyed by `routeResponseKey`; only `$default` exists.
    #[serde(default)]
    pub route_responses: BTreeMap<String, RouteResponseConfig>,
    /// `integrations/{integrationId}`.
    #[serde(default)]
    pub target: Option<String>,
    /// `$default` makes the route two-way.
    #[serde(default)]
    pub route_response_selection_expression: Option<String>,
    /// `NONE`, `AWS_IAM`, `CUSTOM`, `JWT`.
    #[serde(default)]
    pub authorization_type: Option<AuthorizationType>,
    /// Authorizer for `CUSTOM`/`JWT`.
    #[serde(default)]
    pub authorizer_id: Option<String>,
    /// Require an API key (`$connect` only).
    #[serde(default)]
    pub api_key_required: bool,
    /// Declared request parameters (`$connect` only).
    #[serde(default)]
    pub request_parameters: BTreeMap<String, RouteRequestParameter>,
    /// Selects the request model.
    #[serde(default)]
    pub model_selection_expression: Option<String>,
    /// Model key → model name.
    #[serde(default)]
    pub request_models: BTreeMap<String, String>,
}

/// `routeResponses."$default"` of a route. Two-way routes are set by
/// `routeResponseSelectionExpression` alone; the response's own settings have no effect
/// (AWS: "currently unsupported" for WebSocket route responses).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteResponseConfig {
    /// The key again, as in CloudFormation; must equal the table key.
    #[serde(default)]
    pub route_response_key: Option<String>,
    /// Selects a response model. No effect.
    #[serde(default)]
    pub model_selection_expression: Option<String>,
    /// Model key → model name; models must exist. No effect otherwise.
    #[serde(default)]
    pub response_models: BTreeMap<String, String>,
    /// Declared response parameters. No effect.
    #[serde(default)]
    pub response_parameters: BTreeMap<String, RouteRequestParameter>,
}

/// A declared route request parameter.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteRequestParameter {
    /// Missing → 400 on `$connect`.
    #[serde(default)]
    pub required: bool,
}

/// `authorizationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationType {
    /// Open.
    None,
    /// SigV4-signed upgrade.
    AwsIam,
    /// Lambda REQUEST authorizer.
    Custom,
    /// Extension: JWT validation.
    Jwt,
}

/// `[apis.ID.authorizers.ID]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthorizerConfig {
    /// `REQUEST` or `JWT`.
    pub authorizer_type: AuthorizerType,
    /// Lambda ARN or http(s) URL for `REQUEST`.
    #[serde(default)]
    pub authorizer_uri: Option<String>,
    /// Identity sources.
    #[serde(default)]
    pub identity_source: Vec<String>,
    /// JWT settings.
    #[serde(default)]
    pub jwt_configuration: Option<JwtConfiguration>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Extension: cache results keyed by identity source values for this many seconds.
    #[serde(default)]
    pub authorizer_result_ttl_in_seconds: Option<u64>,
    /// The IAM role AWS assumes to invoke the authorizer. Not assumed here (a warning says so):
    /// the authorizer is invoked with the environment's keys.
    #[serde(default)]
    pub authorizer_credentials_arn: Option<String>,
    /// Payload format of HTTP API authorizers. No effect: WebSocket authorizers receive the
    /// REQUEST event (a warning says so for a value other than `1.0`).
    #[serde(default)]
    pub authorizer_payload_format_version: Option<String>,
    /// Simple responses of HTTP API authorizers. No effect: WebSocket authorizers answer with an
    /// IAM policy (a warning says so when `true`).
    #[serde(default)]
    pub enable_simple_responses: bool,
    /// Identity validation of REST API TOKEN authorizers. No effect.
    #[serde(default)]
    pub identity_validation_expression: Option<String>,
}

/// `authorizerType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthorizerType {
    /// Lambda REQUEST authorizer.
    Request,
    /// Extension: JWT.
    Jwt,
}

/// `jwtConfiguration`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JwtConfiguration {
    /// Expected `iss`.
    pub issuer: String,
    /// Accepted `aud` values.
    #[serde(default)]
    pub audience: Vec<String>,
    /// JWKS URL.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// JWKS file.
    #[serde(default)]
    pub jwks_file: Option<String>,
}

/// `[apis.ID.models.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModelConfig {
    /// Content type (default `application/json`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// JSON Schema draft 4 document as a string.
    pub schema: String,
}

/// `[iam]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IamConfig {
    /// Callers allowed to connect to `AWS_IAM` routes.
    #[serde(default)]
    pub principals: Vec<IamPrincipal>,
}

/// `[[iam.principals]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IamPrincipal {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Resource ARNs (IAM wildcards) this caller may connect to.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Reported as `identity.userArn`.
    #[serde(default)]
    pub user_arn: Option<String>,
}

/// `[apiKeys.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiKeyConfig {
    /// The key value.
    pub value: String,
    /// `apiId/stageName` pairs the key is valid for.
    #[serde(default)]
    pub stages: Vec<String>,
}
