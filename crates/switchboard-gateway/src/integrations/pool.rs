//! Keep-alive HTTP/1.1 connections to backends, kept per origin (scheme and authority) on a
//! stack: a call takes the most recently used idle connection, so under a closed loop each
//! client connection ends up reusing "its" backend connection, as a bare relay would.
//!
//! Lighter than `hyper-util`'s legacy pool on the hot path: no hashed pool key, no checkout
//! future racing a connect, no task spawned per call to return the connection. A connection
//! goes back on the stack once its reply body has been read; the next call waits for it to be
//! ready (hyper finishes the previous exchange) and drops it if the backend closed it.

use crate::error::{ErrorKind, IntegrationError};
use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{header, HeaderValue, Request, Uri};
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::time::Instant;
use tower_service::Service;

/// A sender of one backend connection.
type Sender = SendRequest<Full<Bytes>>;

/// How often idle connections are looked at for closing.
const REAP_EVERY: Duration = Duration::from_secs(15);

/// One idle connection and when it was put back.
struct Idle {
    sender: Sender,
    since: Instant,
}

/// The idle connections to one origin, the most recently used last.
struct Origin {
    scheme: Scheme,
    authority: Authority,
    idle: Vec<Idle>,
}

#[derive(Default)]
struct State {
    origins: Vec<Origin>,
    /// A reaper task is running.
    reaping: bool,
}

/// Idle connections by origin, and how new ones are made.
pub struct Pool {
    connector: HttpsConnector<HttpConnector>,
    state: Mutex<State>,
    idle_timeout: Duration,
    max_idle_per_origin: usize,
}

impl Pool {
    /// An empty pool; connections idle longer than `idle_timeout` are closed, and at most
    /// `max_idle_per_origin` are kept per origin.
    pub fn new(
        connector: HttpsConnector<HttpConnector>,
        idle_timeout: Duration,
        max_idle_per_origin: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            connector,
            state: Mutex::new(State::default()),
            idle_timeout,
            max_idle_per_origin,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `request` (absolute URI) over an idle connection to its origin, or a new one.
    /// Returns the response and the connection to put back once its body has been read.
    pub async fn send(
        self: &Arc<Self>,
        mut request: Request<Full<Bytes>>,
    ) -> Result<(hyper::Response<hyper::body::Incoming>, Lease), IntegrationError> {
        let (scheme, authority) = match (request.uri().scheme(), request.uri().authority()) {
            (Some(s), Some(a)) => (s.clone(), a.clone()),
            _ => {
                return Err(IntegrationError::internal(
                    ErrorKind::Target,
                    format!("{} is not an absolute URL", request.uri()),
                ))
            }
        };
        let target = request.uri().clone();
        set_host(&mut request, &target);
        *request.uri_mut() = origin_form(&target);
        let mut sender = match self.idle(&scheme, &authority).await {
            Some(s) => s,
            // Boxed: the connect and TLS futures are large, and every call's future (moved
            // into its task) would otherwise carry their size.
            None => Box::pin(self.connect(target)).await?,
        };
        let response = sender.send_request(request).await.map_err(|e| {
            IntegrationError::backend(ErrorKind::BadReply, super::client::error_chain(&e))
        })?;
        let lease = Lease {
            pool: Arc::downgrade(self),
            scheme,
            authority,
            sender,
        };
        Ok((response, lease))
    }

    /// The most recently used idle connection to the origin that is still open.
    async fn idle(&self, scheme: &Scheme, authority: &Authority) -> Option<Sender> {
        loop {
            let mut candidate = {
                let mut state = self.state();
                let origin = state
                    .origins
                    .iter_mut()
                    .find(|o| &o.scheme == scheme && &o.authority == authority)?;
                let idle = origin.idle.pop()?;
                if idle.since.elapsed() >= self.idle_timeout {
                    // Every connection below it has been idle even longer.
                    origin.idle.clear();
                    return None;
                }
                idle.sender
            };
            if candidate.is_closed() {
                continue;
            }
            // Ready at once unless hyper has not yet finished the previous exchange.
            if candidate.ready().await.is_ok() {
                return Some(candidate);
            }
        }
    }

    /// Opens a new connection to the origin of `uri`.
    async fn connect(&self, uri: Uri) -> Result<Sender, IntegrationError> {
        let unreachable = |e: &dyn std::error::Error| {
            IntegrationError::backend(ErrorKind::Unreachable, super::client::error_chain(e))
        };
        let mut connector = self.connector.clone();
        let io = connector.call(uri).await.map_err(|e| unreachable(&*e))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| unreachable(&e))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "backend connection ended");
            }
        });
        Ok(sender)
    }

    /// Puts a connection back on its origin's stack.
    fn put_back(self: &Arc<Self>, scheme: Scheme, authority: Authority, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let start_reaper = {
            let mut state = self.state();
            let idle = Idle {
                sender,
                since: Instant::now(),
            };
            match state
                .origins
                .iter_mut()
                .find(|o| o.scheme == scheme && o.authority == authority)
            {
                Some(origin) => {
                    if origin.idle.len() < self.max_idle_per_origin {
                        origin.idle.push(idle);
                    }
                }
                None => state.origins.push(Origin {
                    scheme,
                    authority,
                    idle: vec![idle],
                }),
            }
            !std::mem::replace(&mut state.reaping, true)
        };
        if start_reaper {
            tokio::spawn(reap(Arc::downgrade(self)));
        }
    }

    /// Closes connections idle for longer than the idle timeout; `false` once none are left.
    fn reap_once(&self) -> bool {
        let mut state = self.state();
        let timeout = self.idle_timeout;
        for origin in &mut state.origins {
            origin.idle.retain(|i| i.since.elapsed() < timeout);
        }
        state.origins.retain(|o| !o.idle.is_empty());
        let any = !state.origins.is_empty();
        state.reaping = any;
        any
    }
}

/// Closes idle connections past their timeout while the pool exists and holds any.
async fn reap(pool: Weak<Pool>) {
    loop {
        tokio::time::sleep(REAP_EVERY).await;
        match pool.upgrade() {
            Some(p) if p.reap_once() => {}
            _ => return,
        }
    }
}

/// A connection in use; [`Lease::release`] puts it back once the reply has been read. Dropped
/// without that (an error or a timeout mid-reply), the connection is closed.
pub struct Lease {
    pool: Weak<Pool>,
    scheme: Scheme,
    authority: Authority,
    sender: Sender,
}

impl Lease {
    /// The reply body has been read in full: the connection may carry another call.
    pub fn release(self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.put_back(self.scheme, self.authority, self.sender);
        }
    }
}

/// Sets `Host` unless present (see [`host_value`]).
fn set_host(request: &mut Request<Full<Bytes>>, uri: &Uri) {
    if request.headers().contains_key(header::HOST) {
        return;
    }
    if let Some(v) = host_value(uri) {
        request.headers_mut().insert(header::HOST, v);
    }
}

/// The `Host` of a request to `uri`: the host, with the port when it is not the scheme's
/// default (what `hyper-util`'s client sends).
pub(super) fn host_value(uri: &Uri) -> Option<HeaderValue> {
    let host = uri.host()?;
    let secure = uri.scheme() == Some(&Scheme::HTTPS) || uri.scheme_str() == Some("wss");
    match uri.port_u16() {
        Some(443) if secure => HeaderValue::from_str(host).ok(),
        Some(80) if !secure => HeaderValue::from_str(host).ok(),
        Some(port) => HeaderValue::from_str(&format!("{host}:{port}")).ok(),
        None => HeaderValue::from_str(host).ok(),
    }
}

/// The request target of an HTTP/1.1 request to an origin server: path and query.
fn origin_form(uri: &Uri) -> Uri {
    match uri.path_and_query() {
        Some(p) if p.as_str() != "/" => {
            let mut parts = http::uri::Parts::default();
            parts.path_and_query = Some(p.clone());
            Uri::from_parts(parts).unwrap_or_default()
        }
        _ => Uri::from_static("/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_has_the_port_unless_it_is_the_default() {
        for (url, host) in [
            ("http://127.0.0.1:8080/x", "127.0.0.1:8080"),
            ("http://example.com:80/x", "example.com"),
            ("https://example.com:443/", "example.com"),
            ("https://example.com:80/", "example.com:80"),
            ("http://example.com/", "example.com"),
        ] {
            let uri: Uri = url.parse().expect("url");
            let mut request = Request::new(Full::new(Bytes::new()));
            set_host(&mut request, &uri);
            assert_eq!(request.headers()[header::HOST], host, "{url}");
        }
    }

    #[test]
    fn the_target_is_path_and_query() {
        let uri: Uri = "http://h:1/a/b?c=d".parse().expect("url");
        assert_eq!(origin_form(&uri), "/a/b?c=d");
        let uri: Uri = "http://h:1".parse().expect("url");
        assert_eq!(origin_form(&uri), "/");
    }
}
