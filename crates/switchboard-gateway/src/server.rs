//! Starting, reloading and stopping a gateway: the shared state every task sees.

use crate::error::BuildError;
use crate::integrations::IntegrationEnv;
use crate::listener;
use crate::metrics::{ClusterMetrics, Metrics};
use crate::plane::{CloseCause, ClusterLink, ConnectionPlane};
use crate::runtime::Runtime;
use arc_swap::ArcSwap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::config::{AwsCredentials, Config, ManagementAuth};
use switchboard_core::ids::NodeTag;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// State shared by the listener, every connection task and the management API.
pub struct GatewayState {
    /// The compiled configuration; replaced whole on reload.
    pub runtime: ArcSwap<Runtime>,
    /// Connections by id: this process's, and the way to other nodes'.
    pub plane: ConnectionPlane,
    /// Connection and `$disconnect` tasks, awaited on shutdown.
    pub tasks: TaskTracker,
    /// Cancelled when the gateway starts shutting down.
    pub shutdown: CancellationToken,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Credentials for outbound AWS calls, kept for reloads.
    pub credentials: Option<AwsCredentials>,
    /// Readiness, admission limits and the access-log writer.
    pub ops: Arc<crate::ops::GatewayOps>,
    /// Places under `[management.limits] maxConnections`, shared by the management listener
    /// and the `@connections` callers of the WebSocket listener.
    pub management_slots: Arc<tokio::sync::Semaphore>,
    /// The apigatewayv2 control plane, when `[controlPlane]` enables it.
    pub control: Option<Arc<crate::control::ControlPlane>>,
}

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration cannot be served.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A listen address is invalid, does not resolve, or is taken.
    #[error(
        "cannot listen on {addr} ({listener}): {source}{}",
        in_use_hint(source, listener)
    )]
    Listen {
        /// Which listener: `server.listen` or `management.listen`.
        listener: Listener,
        /// The address as configured.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The control plane's store cannot be read.
    #[error("control plane: {0}")]
    Control(String),
    /// The management API would be open to the network without authentication.
    #[error("management.listen {0} is not a loopback address and management.auth is \"none\": configure auth = \"sigv4\" with credentials, or set management.allowUnauthenticatedRemote = true if an open management API is intended")]
    OpenManagement(String),
}

/// The two listeners of a gateway, named by their configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The client-facing WebSocket listener (`server.listen`, `--listen`).
    Server,
    /// The management API (`management.listen`, `--management-listen`).
    Management,
}

impl Listener {
    /// The command-line flag that overrides this listener's address.
    pub fn flag(self) -> &'static str {
        match self {
            Listener::Server => "--listen",
            Listener::Management => "--management-listen",
        }
    }
}

impl std::fmt::Display for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Listener::Server => "server.listen",
            Listener::Management => "management.listen",
        })
    }
}

/// What to do about an address that is taken.
fn in_use_hint(source: &std::io::Error, listener: &Listener) -> String {
    if source.kind() == std::io::ErrorKind::AddrInUse {
        format!(
            "; another program is listening there (another Switchboard?): stop it, or choose \
             another address with {} or {listener} in the configuration file",
            listener.flag()
        )
    } else {
        String::new()
    }
}

/// Entry point: `Gateway::start(config).await`.
pub struct Gateway;

/// How a gateway starts, beyond its configuration.
#[derive(Default)]
pub struct StartOptions {
    /// Credentials for outbound AWS calls (default: none).
    pub credentials: Option<AwsCredentials>,
    /// This process's incarnation tag (default: a random one; a cluster reserves it first).
    pub tag: Option<NodeTag>,
    /// The cluster this node belongs to (default: none, a single node).
    pub cluster: Option<Arc<dyn ClusterLink>>,
    /// The cluster's metrics, to export with the gateway's.
    pub cluster_metrics: Option<ClusterMetrics>,
}

/// A running gateway.
pub struct GatewayHandle {
    /// The shared state.
    pub state: Arc<GatewayState>,
    /// Where the WebSocket listener is bound.
    pub ws_addr: SocketAddr,
    /// Where the management API is bound.
    pub mgmt_addr: SocketAddr,
    /// Whether the listener speaks TLS.
    pub tls: bool,
    /// Whether the management listener speaks TLS.
    pub mgmt_tls: bool,
    accept_loop: tokio::task::JoinHandle<()>,
    management_loop: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Compiles `config`, binds the listener and starts accepting; outbound AWS calls use the
    /// credentials of the standard environment variables.
    pub async fn start(config: Config) -> Result<GatewayHandle, StartError> {
        Self::start_with_credentials(config, IntegrationEnv::credentials_from_env()).await
    }

    /// Like [`Gateway::start`], with explicit credentials for outbound AWS calls.
    pub async fn start_with_credentials(
        config: Config,
        credentials: Option<AwsCredentials>,
    ) -> Result<GatewayHandle, StartError> {
        Self::start_with(
            config,
            StartOptions {
                credentials,
                ..StartOptions::default()
            },
        )
        .await
    }

    /// Starts with everything explicit.
    pub async fn start_with(
        config: Config,
        options: StartOptions,
    ) -> Result<GatewayHandle, StartError> {
        let StartOptions {
            credentials,
            tag,
            cluster,
            cluster_metrics,
        } = options;
        let management = config.management.clone();
        let mut metrics = Metrics::default();
        if let Some(cluster_metrics) = &cluster_metrics {
            metrics.register_cluster(cluster_metrics);
        }
        let metrics = Arc::new(metrics);
        let ops = crate::ops::GatewayOps::start(&config, Arc::clone(&metrics));
        let control = crate::control::ControlPlane::open(&config)
            .map_err(StartError::Control)?
            .map(Arc::new);
        let config = match &control {
            Some(control) => control.compose(config),
            None => config,
        };
        let mut runtime = Runtime::build(config, credentials.clone())?;
        crate::ops::attach(&mut runtime, &ops, None);
        let server = runtime.server.clone();
        let mgmt_listener = bind(&management.listen, Listener::Management).await?;
        let mgmt_addr = mgmt_listener
            .local_addr()
            .map_err(|source| StartError::Listen {
                listener: Listener::Management,
                addr: management.listen.clone(),
                source,
            })?;
        // Security by default: an unauthenticated management API stays on loopback.
        if management.auth == ManagementAuth::None
            && !mgmt_addr.ip().is_loopback()
            && !management.allow_unauthenticated_remote
        {
            return Err(StartError::OpenManagement(management.listen));
        }
        let acceptor = server
            .tls
            .as_ref()
            .map(|tls| crate::tls::acceptor("server.tls", tls))
            .transpose()?;
        let mgmt_acceptor = management
            .tls
            .as_ref()
            .map(|tls| crate::tls::acceptor("management.tls", tls))
            .transpose()?;
        let listener = bind(&server.listen, Listener::Server).await?;
        let ws_addr = listener.local_addr().map_err(|source| StartError::Listen {
            listener: Listener::Server,
            addr: server.listen.clone(),
            source,
        })?;
        let control_listener = match control.as_ref().and_then(|c| c.listen()) {
            Some(addr) => Some(bind(addr, Listener::Management).await?),
            None => None,
        };
        if let Some(control) = &control {
            control.set_endpoint(if acceptor.is_some() { "wss" } else { "ws" }, ws_addr);
        }
        let state = Arc::new(GatewayState {
            control,
            runtime: ArcSwap::from_pointee(runtime),
            plane: ConnectionPlane::new(tag.unwrap_or_else(NodeTag::random), cluster),
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            credentials,
            metrics,
            ops,
            management_slots: Arc::new(tokio::sync::Semaphore::new(
                management.limits.max_connections,
            )),
        });
        let tls = acceptor.is_some();
        let mgmt_tls = mgmt_acceptor.is_some();
        let management_loop = tokio::spawn(crate::management::accept_loop(
            Arc::clone(&state),
            mgmt_listener,
            mgmt_acceptor,
        ));
        if let Some(control_listener) = control_listener {
            tokio::spawn(crate::management::control_accept_loop(
                Arc::clone(&state),
                control_listener,
            ));
        }
        let accept_loop = tokio::spawn(listener::accept_loop(
            Arc::clone(&state),
            listener,
            acceptor,
            server.limits.clone(),
        ));
        Ok(GatewayHandle {
            state,
            ws_addr,
            mgmt_addr,
            tls,
            mgmt_tls,
            accept_loop,
            management_loop,
        })
    }
}

impl GatewayHandle {
    /// The client URL of a stage, e.g. `ws://127.0.0.1:8080/chat/dev`.
    pub fn url(&self, api: &str, stage: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/{api}/{stage}", self.ws_addr)
    }

    /// The management API's base URL, e.g. `http://127.0.0.1:8081` (`https://` with
    /// `[management.tls]`).
    pub fn mgmt_url(&self) -> String {
        let scheme = if self.mgmt_tls { "https" } else { "http" };
        format!("{scheme}://{}", self.mgmt_addr)
    }

    /// Applies a new configuration ([`GatewayState::reload`]).
    pub fn reload(&self, config: Config) -> Result<(), BuildError> {
        self.state.reload(config)
    }

    /// Turns `/ready` to 503, waits `drainDelaySeconds` (still serving, so a load balancer
    /// notices first), then stops accepting, closes every connection with 1001 and waits up to
    /// `drain` for the connection tasks and their `$disconnect` integrations. Returns false on
    /// a timeout.
    pub async fn shutdown(self, drain: Duration) -> bool {
        self.state.ops.stop_ready();
        let delay = self.state.runtime.load().server.limits.drain_delay_seconds;
        tokio::time::sleep(Duration::from_secs(delay)).await;
        self.state.shutdown.cancel();
        self.accept_loop.abort();
        self.management_loop.abort();
        self.state
            .plane
            .local()
            .close_where(&|_| true, CloseCause::GoingAway);
        self.state.tasks.close();
        let drained = tokio::time::timeout(drain, self.state.tasks.wait())
            .await
            .is_ok();
        // The last `$disconnect` lines reach the access log before the process exits.
        let _ =
            tokio::time::timeout(Duration::from_secs(2), self.state.ops.access_log.flush()).await;
        drained
    }
}

impl GatewayState {
    /// Applies a new configuration without dropping anyone: routes and integrations change
    /// for the next message; connections whose API or stage no longer exists are closed with
    /// 1001. Settings read only at start (listen addresses, TLS, listener and management
    /// limits) keep their running values, and a changed one is logged as needing a restart.
    /// Every way of changing the configuration file goes through here (SIGHUP today); the
    /// control plane's APIs are added to it.
    pub fn reload(&self, config: Config) -> Result<(), BuildError> {
        match &self.control {
            Some(control) => control.reload(self, config),
            None => self.install(config),
        }
    }

    /// Serves `config` as [`GatewayState::reload`] does, as it is (the control plane's
    /// deployments come here with the file's configuration and their APIs).
    pub fn install(&self, config: Config) -> Result<(), BuildError> {
        let previous = self.runtime.load_full();
        let mut runtime = Runtime::build(config, self.credentials.clone())?;
        crate::ops::attach(&mut runtime, &self.ops, Some(&previous));
        for setting in needs_restart(&previous.config, &runtime.config) {
            tracing::warn!(
                setting,
                "changed in the configuration but applied only at start: restart to apply it"
            );
        }
        let closed = self.plane.local().close_where(
            &|info| {
                runtime
                    .apis
                    .get(&info.api_id)
                    .is_none_or(|api| !api.stages.contains_key(&info.stage))
            },
            CloseCause::GoingAway,
        );
        self.runtime.store(Arc::new(runtime));
        tracing::info!(closed, "configuration reloaded");
        Ok(())
    }
}

/// Settings of `next` that differ from `running` and are read only when the gateway starts.
fn needs_restart(running: &Config, next: &Config) -> Vec<&'static str> {
    let (a, b) = (&running.server, &next.server);
    let (la, lb) = (&a.limits, &b.limits);
    let (ma, mb) = (&running.management, &next.management);
    [
        ("server.listen", a.listen != b.listen),
        (
            "server.tls",
            a.tls.as_ref().map(|t| (&t.cert_file, &t.key_file))
                != b.tls.as_ref().map(|t| (&t.cert_file, &t.key_file)),
        ),
        (
            "server.limits.maxConnections",
            la.max_connections != lb.max_connections,
        ),
        (
            "server.limits.handshakeTimeoutSeconds",
            la.handshake_timeout_seconds != lb.handshake_timeout_seconds,
        ),
        (
            "server.limits.maxHeaderBytes",
            la.max_header_bytes != lb.max_header_bytes,
        ),
        (
            "server.limits.newConnectionsPerSecond",
            la.new_connections_per_second != lb.new_connections_per_second,
        ),
        (
            "server.limits.maxConnectionsPerIp",
            la.max_connections_per_ip != lb.max_connections_per_ip,
        ),
        ("management.listen", ma.listen != mb.listen),
        (
            "management.tls",
            ma.tls.as_ref().map(|t| (&t.cert_file, &t.key_file))
                != mb.tls.as_ref().map(|t| (&t.cert_file, &t.key_file)),
        ),
        ("management.rateLimit", ma.rate_limit != mb.rate_limit),
        ("management.limits", ma.limits != mb.limits),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}

/// Binds `addr` (`IP:PORT` or `HOST:PORT`): a host name is resolved and the first of its
/// addresses that binds is used (`localhost` may resolve to `::1` where IPv6 is off).
async fn bind(addr: &str, listener: Listener) -> Result<TcpListener, StartError> {
    let err = |source| StartError::Listen {
        listener,
        addr: addr.to_owned(),
        source,
    };
    let candidates: Vec<SocketAddr> = match addr.parse::<SocketAddr>() {
        Ok(sock_addr) => vec![sock_addr],
        Err(_) => tokio::net::lookup_host(addr).await.map_err(err)?.collect(),
    };
    let mut last = std::io::Error::new(
        std::io::ErrorKind::AddrNotAvailable,
        "the host name resolves to no address",
    );
    for sock_addr in candidates {
        match bind_one(sock_addr) {
            Ok(bound) => return Ok(bound),
            Err(e) => last = e,
        }
    }
    Err(err(last))
}

/// Binds with a large backlog: the default 128 drops connection bursts (docs/architecture.md "Dependencies").
fn bind_one(sock_addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if sock_addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }?;
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(sock_addr)?;
    socket.listen(4096)
}

#[cfg(test)]
mod tests {
    use super::needs_restart;
    use switchboard_core::config::Config;

    #[test]
    fn a_reload_names_the_settings_it_cannot_apply() {
        let running = Config::default();
        assert!(needs_restart(&running, &running.clone()).is_empty());
        let mut next = running.clone();
        next.server.listen = "127.0.0.1:9999".into();
        next.server.limits.max_connections = 10;
        next.management.limits.max_connections = 5;
        // Applied by a reload: not named.
        next.server.limits.outbound_queue_depth = 3;
        next.server.limits.drain_seconds = 1;
        assert_eq!(
            needs_restart(&running, &next),
            [
                "server.listen",
                "server.limits.maxConnections",
                "management.limits"
            ]
        );
    }
}
