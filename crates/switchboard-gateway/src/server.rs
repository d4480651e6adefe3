//! Starting, reloading and stopping a gateway: the shared state every task sees.

use crate::directory::{CloseCause, ConnectionDirectory, LocalDirectory};
use crate::error::BuildError;
use crate::integrations::IntegrationEnv;
use crate::listener;
use crate::metrics::Metrics;
use crate::runtime::Runtime;
use arc_swap::ArcSwap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::config::{AwsCredentials, Config, ManagementAuth};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// State shared by the listener, every connection task and the management API.
pub struct GatewayState {
    /// The compiled configuration; replaced whole on reload.
    pub runtime: ArcSwap<Runtime>,
    /// Live connections by id.
    pub directory: Arc<dyn ConnectionDirectory>,
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
        let management = config.management.clone();
        let metrics = Arc::new(Metrics::default());
        let ops = crate::ops::GatewayOps::start(&config, Arc::clone(&metrics));
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
        let acceptor = server.tls.as_ref().map(crate::tls::acceptor).transpose()?;
        let listener = bind(&server.listen, Listener::Server).await?;
        let ws_addr = listener.local_addr().map_err(|source| StartError::Listen {
            listener: Listener::Server,
            addr: server.listen.clone(),
            source,
        })?;
        let state = Arc::new(GatewayState {
            runtime: ArcSwap::from_pointee(runtime),
            directory: Arc::new(LocalDirectory::new()),
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            credentials,
            metrics,
            ops,
        });
        let tls = acceptor.is_some();
        let management_loop = tokio::spawn(crate::management::accept_loop(
            Arc::clone(&state),
            mgmt_listener,
        ));
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

    /// Applies a new configuration: routes and integrations change for the next message;
    /// connections whose API or stage no longer exists are closed with 1001.
    pub fn reload(&self, config: Config) -> Result<(), BuildError> {
        let mut runtime = Runtime::build(config, self.state.credentials.clone())?;
        crate::ops::attach(
            &mut runtime,
            &self.state.ops,
            Some(&self.state.runtime.load()),
        );
        let closed = self.state.directory.close_where(
            &|info| {
                runtime
                    .apis
                    .get(&info.api_id)
                    .is_none_or(|api| !api.stages.contains_key(&info.stage))
            },
            CloseCause::GoingAway,
        );
        self.state.runtime.store(Arc::new(runtime));
        tracing::info!(closed, "configuration reloaded");
        Ok(())
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
            .directory
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
