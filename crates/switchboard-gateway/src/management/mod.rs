//! The `@connections` management API (docs/behaviour.md §7): `POST` sends, `GET` describes, `DELETE`
//! disconnects; plus `/health` and `/metrics`. Wire-compatible with the AWS SDKs'
//! `ApiGatewayManagementApi` clients.

pub(crate) mod auth;
pub(crate) mod errors;
mod extensions;
/// Reading a call from its method and path (pure; public for the fuzz targets, docs/fuzzing.md).
pub mod request;
mod server_listener;

use crate::metrics::{ManagementLabels, PushLabels};
use crate::plane::{Op, Outcome, Payload, Scope, Target};
use crate::server::GatewayState;
use bytes::Bytes;
pub use errors::MgmtResponse;
use errors::{outcome_response, respond, MgmtError};
use http::{Method, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use request::{Kind, Query};
pub use server_listener::{is_connections_path, serve_on_server_listener, ServerListenerSlot};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::config::ManagementAuth;
use switchboard_core::ids::uuid_v4;
use tokio::net::TcpListener;

/// `Data` limit of `PostToConnection` (docs/behaviour.md §7.2).
pub const MAX_POST_BYTES: usize = 131_072;
/// Largest over-limit body still read (and discarded) so that its 413 reaches the client.
const MAX_DRAIN_BYTES: usize = 2 * MAX_POST_BYTES;
/// Largest request head (SigV4 headers are small); hyper's minimum.
const MAX_HEAD_BYTES: usize = 8192;

/// Serves the management API until shutdown, over TLS when `tls` is given. At most
/// `maxConnections` callers at once (more get a short 503; the count is shared with the callers
/// served on the WebSocket listener and the control plane's own listener), each with
/// `requestTimeoutSeconds` to finish its TLS handshake and to send a whole request.
pub async fn accept_loop(
    state: Arc<GatewayState>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    serve_loop(state, listener, tls, false).await
}

/// Serves only the control plane (`/v2/...`) on `controlPlane.listen`, with the management
/// listener's limits.
pub async fn control_accept_loop(state: Arc<GatewayState>, listener: TcpListener) {
    serve_loop(state, listener, None, true).await
}

async fn serve_loop(
    state: Arc<GatewayState>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    control_only: bool,
) {
    let limits = state.runtime.load().config.management.limits.clone();
    let deadline = Duration::from_secs(limits.request_timeout_seconds);
    loop {
        let (stream, peer) = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "management accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&state.management_slots).try_acquire_owned() else {
            tokio::spawn(crate::listener::refuse_busy(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(state, stream, deadline, control_only).await,
                Some(acceptor) => {
                    match tokio::time::timeout(deadline, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_connection(state, stream, deadline, control_only).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "management TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "management TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// One caller's HTTP/1.1 connection on the management listener (or, `control_only`, on the
/// control plane's own listener).
async fn serve_connection<S>(
    state: Arc<GatewayState>,
    io: S,
    deadline: Duration,
    control_only: bool,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let state = Arc::clone(&state);
        async move {
            match control_only {
                true => Ok::<_, Infallible>(control(&state, req, deadline).await),
                false => handle(state, req, deadline).await,
            }
        }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(deadline)
        .max_buf_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// Answers one management request (`@connections`, `/health`, `/ready`, `/metrics`);
/// `deadline` bounds reading its body. The management listener serves every request with it,
/// and any other listener that serves the management API calls it too.
pub async fn handle(
    state: Arc<GatewayState>,
    req: Request<Incoming>,
    deadline: Duration,
) -> Result<MgmtResponse, Infallible> {
    let request_id = uuid_v4();
    if let Some(response) = service_endpoint(&state, &req, &request_id) {
        return Ok(response);
    }
    let on_this_listener = state.control.as_ref().is_some_and(|c| c.listen().is_none());
    if on_this_listener && req.uri().path().starts_with("/v2/") {
        return Ok(control(&state, req, deadline).await);
    }
    let (operation, result) = match state.ops.management_allows() {
        true => call(&state, req, deadline).await,
        false => ("Other", Err(MgmtError::LimitExceeded)),
    };
    let response = match result {
        Ok(Reply::Outcome(outcome)) => outcome_response(outcome, &request_id),
        Ok(Reply::Json(body)) => respond(200, Some(body), &request_id),
        Err(e) => e.response(&request_id),
    };
    state
        .metrics
        .management_calls
        .get_or_create(&ManagementLabels {
            operation,
            status: response.status().as_u16(),
        })
        .inc();
    Ok(response)
}

/// One control plane call (docs/control-plane.md); 404 when the control plane is off.
async fn control(state: &GatewayState, req: Request<Incoming>, deadline: Duration) -> MgmtResponse {
    let request_id = uuid_v4();
    match &state.control {
        Some(control) => control.handle(state, req, deadline, &request_id).await,
        None => respond(
            404,
            Some(Bytes::from_static(b"{\"message\":\"Not Found\"}")),
            &request_id,
        ),
    }
}

/// `/health`, `/ready` and `/metrics`.
fn service_endpoint(
    state: &GatewayState,
    req: &Request<Incoming>,
    request_id: &str,
) -> Option<MgmtResponse> {
    if req.method() != Method::GET {
        return None;
    }
    match req.uri().path() {
        "/health" => Some(respond(
            200,
            Some(Bytes::from_static(b"{\"status\":\"ok\"}")),
            request_id,
        )),
        "/ready" => {
            let (status, body) = match (state.ops.is_ready(), state.plane.ready()) {
                (true, true) => (200, &b"{\"status\":\"ready\"}"[..]),
                (false, _) => (503, &b"{\"status\":\"draining\"}"[..]),
                (true, false) => (503, &b"{\"status\":\"cluster unreachable\"}"[..]),
            };
            Some(respond(status, Some(Bytes::from_static(body)), request_id))
        }
        "/metrics" => {
            if let Err(e) = metrics_caller(state, req) {
                return Some(e.response(request_id));
            }
            let mut response = respond(200, Some(Bytes::from(state.metrics.encode())), request_id);
            response.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            Some(response)
        }
        _ => None,
    }
}

/// Whether a `/metrics` caller may read (`metricsAuth`, by default the same as `auth`): with
/// `sigv4` the scrape is signed like an `@connections` call, over an empty body.
fn metrics_caller(state: &GatewayState, req: &Request<Incoming>) -> Result<(), MgmtError> {
    let runtime = state.runtime.load();
    let management = &runtime.config.management;
    if management.metrics_auth() != ManagementAuth::Sigv4 {
        return Ok(());
    }
    let mut head = Request::new(());
    *head.method_mut() = req.method().clone();
    *head.uri_mut() = req.uri().clone();
    *head.headers_mut() = req.headers().clone();
    let (parts, ()) = head.into_parts();
    let now = time::OffsetDateTime::now_utc();
    let claimed = auth::check_head(
        &parts,
        &management.credentials,
        &runtime.config.aws.region,
        now,
    )?;
    auth::check_body(&parts, b"", &claimed)
}

/// What a call answers: one connection's outcome, or an extension's JSON (200).
enum Reply {
    Outcome(Outcome),
    Json(Bytes),
}

/// One `@connections` call in phases: address → authenticate the head → read the body →
/// authenticate the body → limit → apply the operation on the connection plane. Returns the
/// operation's name (for metrics) and its outcome.
async fn call(
    state: &GatewayState,
    req: Request<Incoming>,
    deadline: Duration,
) -> (&'static str, Result<Reply, MgmtError>) {
    let runtime = state.runtime.load_full();
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let call = match request::parse(&runtime, req.method(), req.uri().path(), host) {
        Ok(call) => call,
        // A bad group or user name is told only to a caller allowed to ask.
        Err(e @ MgmtError::BadRequest(_)) => {
            return match read_body(&runtime, req, deadline).await {
                Ok(_) => ("Other", Err(e)),
                Err(refused) => ("Other", Err(refused)),
            };
        }
        Err(e) => return ("Other", Err(e)),
    };
    let name = call.kind.name();
    let on_one = matches!(
        call.kind,
        Kind::Post | Kind::Get | Kind::Delete | Kind::Join(_) | Kind::Leave(_)
    );
    let query = match on_one {
        true => Ok(Query::default()),
        false => request::parse_query(req.uri().query()),
    };
    let body = match read_body(&runtime, req, deadline).await {
        Ok(body) => body,
        Err(e) => return (name, Err(e)),
    };
    // Bad parameters are reported once the caller is known to be allowed to ask.
    let query = match query {
        Ok(query) => query,
        Err(e) => return (name, Err(e)),
    };
    if !on_one {
        let scope = Scope {
            api_id: call.api_id,
            stage: call.stage,
        };
        let json = extensions::apply(state, call.kind, scope, query, body).await;
        return (name, Ok(Reply::Json(json)));
    }
    // An id that cannot be ours, or one of another API or stage, is as gone as a closed one.
    let Some(connection_id) = call.connection_id else {
        return (name, Ok(Reply::Outcome(Outcome::Gone)));
    };
    let target = Target {
        api_id: call.api_id,
        stage: call.stage,
        connection_id,
    };
    let op = match call.kind {
        Kind::Post => Op::Post {
            target,
            payload: Payload::from_bytes(body),
        },
        Kind::Get => Op::Get { target },
        Kind::Delete => Op::Delete { target },
        Kind::Join(group) => Op::Join { target, group },
        Kind::Leave(group) => Op::Leave { target, group },
        // The operations on many connections were applied above.
        _ => return (name, Ok(Reply::Outcome(Outcome::Gone))),
    };
    let post = matches!(op, Op::Post { .. });
    let outcome = state.plane.apply(op).await;
    if post {
        state
            .metrics
            .pushes
            .get_or_create(&PushLabels {
                result: push_label(&outcome),
            })
            .inc();
    }
    (name, Ok(Reply::Outcome(outcome)))
}

/// The request body, within the limits: signature head checked before anything is read
/// (strangers are refused without buffering), at most `MAX_DRAIN_BYTES` read within
/// `deadline`, the signature over the body checked, then the `Data` limit.
async fn read_body(
    runtime: &crate::runtime::Runtime,
    req: Request<Incoming>,
    deadline: Duration,
) -> Result<Bytes, MgmtError> {
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // A body somewhat over the limit is read to its end before the 413 goes out: answering
    // while the client is still sending makes hyper close the socket under it, and the SDKs
    // then report a dropped connection instead of PayloadTooLargeException.
    if let Some(n) = declared.filter(|n| *n > MAX_DRAIN_BYTES) {
        return Err(MgmtError::PayloadTooLarge(n));
    }
    let (parts, body) = req.into_parts();
    let config = &runtime.config;
    let sigv4 = config.management.auth == ManagementAuth::Sigv4;
    let now = time::OffsetDateTime::now_utc();
    let claimed = sigv4
        .then(|| {
            auth::check_head(
                &parts,
                &config.management.credentials,
                &config.aws.region,
                now,
            )
        })
        .transpose()?;
    let body = tokio::time::timeout(deadline, Limited::new(body, MAX_DRAIN_BYTES).collect())
        .await
        .map_err(|_| MgmtError::RequestTimeout)?
        .map_err(|_| MgmtError::PayloadTooLarge(MAX_DRAIN_BYTES + 1))?
        .to_bytes();
    if let Some(claimed) = &claimed {
        auth::check_body(&parts, &body, claimed)?;
    }
    // After authentication: an unsigned oversized body is refused as unsigned (403).
    if body.len() > MAX_POST_BYTES {
        return Err(MgmtError::PayloadTooLarge(body.len()));
    }
    Ok(body)
}

/// The `pushes` metric's label for a post's outcome.
fn push_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Queued => "delivered",
        Outcome::QueueFull => "throttled",
        Outcome::Unavailable => "unavailable",
        Outcome::TimedOut => "timed_out",
        _ => "gone",
    }
}
