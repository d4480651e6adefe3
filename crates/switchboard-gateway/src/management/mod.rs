//! The `@connections` management API (docs/behaviour.md §7): `POST` sends, `GET` describes, `DELETE`
//! disconnects; plus `/health` and `/metrics`. Wire-compatible with the AWS SDKs'
//! `ApiGatewayManagementApi` clients.

mod auth;
mod errors;

use crate::directory::{Outbound, PushError};
use crate::metrics::{ManagementLabels, PushLabels};
use crate::server::GatewayState;
use bytes::Bytes;
use errors::{respond, MgmtError, MgmtResponse};
use http::{Method, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use percent_encoding::percent_decode_str;
use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::config::ManagementAuth;
use switchboard_core::context::iso8601_millis;
use switchboard_core::ids::{uuid_v4, AwsId};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// `Data` limit of `PostToConnection` (docs/behaviour.md §7.2).
pub const MAX_POST_BYTES: usize = 131_072;
/// Largest over-limit body still read (and discarded) so that its 413 reaches the client.
const MAX_DRAIN_BYTES: usize = 2 * MAX_POST_BYTES;
/// Largest request head (SigV4 headers are small); hyper's minimum.
const MAX_HEAD_BYTES: usize = 8192;

/// Serves the management API until shutdown. At most `maxConnections` callers at once (more
/// get a short 503), each with `requestTimeoutSeconds` to send a whole request.
pub async fn accept_loop(state: Arc<GatewayState>, listener: TcpListener) {
    let limits = state.runtime.load().config.management.limits.clone();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let deadline = Duration::from_secs(limits.request_timeout_seconds);
    loop {
        let (stream, _) = tokio::select! {
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
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tokio::spawn(crate::listener::refuse_busy(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |req| handle(Arc::clone(&state), req, deadline));
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(deadline)
                .max_buf_size(MAX_HEAD_BYTES)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Which operation a call is.
#[derive(Clone, Copy)]
enum Operation {
    Post,
    Get,
    Delete,
    Other,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Post => "PostToConnection",
            Operation::Get => "GetConnection",
            Operation::Delete => "DeleteConnection",
            Operation::Other => "Other",
        }
    }
}

async fn handle(
    state: Arc<GatewayState>,
    req: Request<Incoming>,
    deadline: Duration,
) -> Result<MgmtResponse, Infallible> {
    let request_id = uuid_v4();
    let path = req.uri().path();
    if req.method() == Method::GET && path == "/health" {
        return Ok(respond(
            200,
            Some(Bytes::from_static(b"{\"status\":\"ok\"}")),
            &request_id,
        ));
    }
    if req.method() == Method::GET && path == "/ready" {
        let (status, body) = match state.ops.is_ready() {
            true => (200, &b"{\"status\":\"ready\"}"[..]),
            false => (503, &b"{\"status\":\"draining\"}"[..]),
        };
        return Ok(respond(status, Some(Bytes::from_static(body)), &request_id));
    }
    if req.method() == Method::GET && path == "/metrics" {
        let mut response = respond(200, Some(Bytes::from(state.metrics.encode())), &request_id);
        response.headers_mut().insert(
            "content-type",
            http::HeaderValue::from_static(
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
        );
        return Ok(response);
    }
    let operation = match *req.method() {
        Method::POST => Operation::Post,
        Method::GET => Operation::Get,
        Method::DELETE => Operation::Delete,
        _ => Operation::Other,
    };
    let response = match match state.ops.management_allows() {
        true => call(&state, operation, req, deadline).await,
        false => Err(MgmtError::LimitExceeded),
    } {
        Ok(response) => response,
        Err(e) => e.response(&request_id),
    };
    state
        .metrics
        .management_calls
        .get_or_create(&ManagementLabels {
            operation: operation.name(),
            status: response.status().as_u16(),
        })
        .inc();
    Ok(response)
}

async fn call(
    state: &GatewayState,
    operation: Operation,
    req: Request<Incoming>,
    deadline: Duration,
) -> Result<MgmtResponse, MgmtError> {
    let request_id = uuid_v4();
    let runtime = state.runtime.load_full();
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let (api_id, stage, id) = parse_path(
        req.uri().path(),
        host,
        |a| runtime.apis.contains_key(a),
        runtime.apis.len(),
    )
    .ok_or(MgmtError::Forbidden)?;
    let api = match api_id.as_str() {
        "" => runtime.apis.values().next(),
        id => runtime.apis.get(id),
    }
    .ok_or(MgmtError::Forbidden)?;
    let api_id = api.id.clone();
    if !api.stages.contains_key(&stage) {
        return Err(MgmtError::Forbidden);
    }
    if matches!(operation, Operation::Other) {
        return Err(MgmtError::MethodNotAllowed);
    }
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
    // Strangers are refused before their body is read.
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
    // An id that cannot be ours, or one of another API or stage, is as gone as a closed one.
    let id = AwsId::parse(&id).ok_or(MgmtError::Gone)?;
    let owner = state.directory.info(&id).await.ok_or(MgmtError::Gone)?;
    if owner.info.api_id != api_id || owner.info.stage != stage {
        return Err(MgmtError::Gone);
    }
    match operation {
        Operation::Post => {
            let result = state.directory.push(&id, Outbound::from_bytes(body)).await;
            let label = match result {
                Ok(()) => "delivered",
                Err(PushError::Gone) => "gone",
                Err(PushError::QueueFull) => "throttled",
            };
            state
                .metrics
                .pushes
                .get_or_create(&PushLabels { result: label })
                .inc();
            match result {
                Ok(()) => Ok(respond(200, None, &request_id)),
                Err(PushError::Gone) => Err(MgmtError::Gone),
                Err(PushError::QueueFull) => Err(MgmtError::LimitExceeded),
            }
        }
        Operation::Get => {
            let mut identity = serde_json::Map::new();
            identity.insert("sourceIp".into(), owner.info.source_ip.to_string().into());
            if let Some(ua) = &owner.info.user_agent {
                identity.insert("userAgent".into(), ua.clone().into());
            }
            let body = serde_json::json!({
                "connectedAt": iso8601_millis(owner.info.connected_at),
                "identity": identity,
                "lastActiveAt": iso8601_millis(owner.last_active_at),
            });
            Ok(respond(
                200,
                Some(Bytes::from(body.to_string())),
                &request_id,
            ))
        }
        Operation::Delete => {
            state
                .directory
                .disconnect(&id)
                .await
                .map_err(|_| MgmtError::Gone)?;
            Ok(respond(204, None, &request_id))
        }
        Operation::Other => Err(MgmtError::MethodNotAllowed),
    }
}

/// `(apiId, stage, connectionId)` from `/{apiId}/{stage}/@connections/{id}`, or
/// `/{stage}/@connections/{id}` with one API or an API chosen by `Host: {apiId}.…`.
/// Segments are percent-decoded (`%40connections` and `abc%3D` work).
fn parse_path(
    raw_path: &str,
    host: Option<&str>,
    api_exists: impl Fn(&str) -> bool,
    api_count: usize,
) -> Option<(String, String, String)> {
    // Borrowed unless a segment is percent-encoded.
    let segments: Vec<Cow<'_, str>> = raw_path
        .split('/')
        .skip(1)
        .map(|s| percent_decode_str(s).decode_utf8_lossy())
        .collect();
    let at = segments.iter().position(|s| s == "@connections")?;
    if at + 2 != segments.len() || segments[at + 1].is_empty() {
        return None;
    }
    let id = segments[at + 1].to_string();
    match at {
        2 => Some((segments[0].to_string(), segments[1].to_string(), id)),
        1 => {
            let by_host = host
                .and_then(|h| h.split_once('.'))
                .map(|(first, _)| first)
                .filter(|a| api_exists(a))
                .map(str::to_owned);
            let api = match by_host {
                Some(a) => a,
                None if api_count == 1 => String::new(),
                None => return None,
            };
            Some((api, segments[0].to_string(), id))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_path;

    #[test]
    fn paths_in_every_documented_shape() {
        let one = |p: &str| parse_path(p, None, |a| a == "chat", 1);
        assert_eq!(
            one("/chat/dev/@connections/abc%3D"),
            Some(("chat".into(), "dev".into(), "abc=".into()))
        );
        assert_eq!(
            one("/dev/%40connections/abc%3D"),
            Some((String::new(), "dev".into(), "abc=".into()))
        );
        assert_eq!(one("/dev/@connections/"), None);
        assert_eq!(one("/dev/@connections/a/b"), None);
        assert_eq!(one("/a/b/c/@connections/x"), None);
        let two = |p: &str, h: Option<&str>| parse_path(p, h, |a| a == "chat" || a == "game", 2);
        assert_eq!(two("/dev/@connections/x", None), None);
        assert_eq!(
            two("/dev/@connections/x", Some("game.example.com")),
            Some(("game".into(), "dev".into(), "x".into()))
        );
    }
}
