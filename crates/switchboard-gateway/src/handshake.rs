//! The upgrade request (docs/behaviour.md §3.1), in phases: resolve API and stage, admit
//! (limits and throttles), authorize, run `$connect` while the client waits, register the
//! connection, and only then answer `101 Switching Protocols` — or refuse with the status the
//! phase that refused chose.

use crate::auth::sigv4::SignedRequest;
use crate::auth::{ConnectAuth, ConnectRequest, Grant};
use crate::connection::ConnectionTask;
use crate::dispatch;
use crate::error::{ErrorKind, IntegrationError};
use crate::head::{parse_headers, RecordedHead};
use crate::integrations::Invocation;
use crate::metrics::{RefusalLabels, StageLabels};
use crate::outbound::OutboundQueue;
use crate::plane::group::{parse_group_list, MAX_GROUPS_PER_CONNECTION};
use crate::plane::{ConnectionHandle, ConnectionShared, GroupName, JOIN_HEADER};
use crate::runtime::{Api, Route, Runtime, Stage};
use crate::server::GatewayState;
use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use switchboard_core::context::{
    now_millis, ConnectionInfo, DisconnectStatus, EventType, RequestContext,
};
use switchboard_core::event::Handshake;
use switchboard_core::ids::{trace_id, AwsId};
use tokio::sync::OwnedSemaphorePermit;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// API Gateway's URL length quota (docs/behaviour.md §9).
const MAX_URL_LENGTH: usize = 4096;

type HttpResponse = Response<Full<Bytes>>;

/// What is known about the TCP connection a request arrived on.
pub struct ClientConn {
    /// The client's address.
    pub peer: SocketAddr,
    /// The listener port it connected to (`X-Forwarded-Port`).
    pub local_port: u16,
    /// Whether it speaks TLS.
    pub tls: bool,
    /// The raw request head, for header spelling.
    pub head: RecordedHead,
    /// Its place under `maxConnections`, held for the connection's life.
    pub slot: Arc<OwnedSemaphorePermit>,
    /// Its place under `[management.limits] maxConnections` once it carried an `@connections`
    /// call.
    pub management_slot: crate::management::ServerListenerSlot,
}

/// Answers one HTTP request on the client listener.
pub async fn handle(
    state: Arc<GatewayState>,
    client: Arc<ClientConn>,
    req: Request<Incoming>,
) -> Result<HttpResponse, Infallible> {
    Ok(upgrade(state, client, req)
        .await
        .unwrap_or_else(|refused| refused.response()))
}

/// A refused upgrade: the status the client gets.
struct Refused(StatusCode);

impl Refused {
    fn response(self) -> HttpResponse {
        match self.0 {
            StatusCode::UPGRADE_REQUIRED => upgrade_required(),
            status => refusal(status),
        }
    }
}

/// The phases of an upgrade: resolve → admit → authorize → `$connect` → register → 101.
async fn upgrade(
    state: Arc<GatewayState>,
    client: Arc<ClientConn>,
    mut req: Request<Incoming>,
) -> Result<HttpResponse, Refused> {
    // The raw head is read once; the buffer must not live as long as the connection does.
    let recorded = std::mem::take(&mut *client.head.lock().unwrap_or_else(|e| e.into_inner()));
    let runtime = state.runtime.load_full();
    let (api, stage, key) = resolve(&state, &runtime, &req)?;
    let mut info = new_connection(&state, &runtime, api, &stage.name, &req, client.peer);
    let ip_slot = stage.ops.admit_connect(&info).map_err(Refused)?;
    // Extension: pushes made while `$connect` runs wait in the connection's own queue.
    // The stage's deployment decides `$connect` and its authorization.
    let definition = &stage.definition;
    let early = (stage.pushes_during_connect && definition.routes.contains_key("$connect"))
        .then(|| EarlyPushes::open(&state, &runtime, &info));
    // `$connect` runs before the 101; with no `$connect` route the upgrade is accepted (§3.1).
    let (subprotocol, groups) = match definition.routes.get("$connect") {
        Some(route) => {
            let handshake = handshake_of(&req, &recorded, &client, info.connected_at);
            let ids = EventIds::new();
            if let Some(auth) = &definition.connect_auth {
                let ctx = ids.context(&info, route);
                let grant =
                    authorize(&state, &runtime, stage, auth, &req, &handshake, &ctx).await?;
                info.caller = grant.caller;
                info.authorizer = grant.authorizer.map(Arc::new);
            }
            run_connect(stage, route, &ids.context(&info, route), &handshake).await?
        }
        None => {
            stage.ops.accepted_without_route(&info);
            (None, Vec::new())
        }
    };
    let queue = early.as_ref().map(|e| Arc::clone(&e.queue));
    let task = register(&state, &runtime, stage, info, &groups, queue).await?;
    drop(early);
    let on_upgrade = hyper::upgrade::on(&mut req);
    let slot = Arc::clone(&client.slot);
    state.tasks.spawn(async move {
        let _slot = (slot, ip_slot);
        task.run(on_upgrade).await;
    });
    Ok(switching_protocols(&key, subprotocol))
}

/// The API, stage and client key a well-formed upgrade addresses.
fn resolve<'r>(
    state: &GatewayState,
    runtime: &'r Runtime,
    req: &Request<Incoming>,
) -> Result<(&'r Arc<Api>, &'r Arc<Stage>, String), Refused> {
    if req.uri().to_string().len() > MAX_URL_LENGTH {
        return Err(Refused(StatusCode::URI_TOO_LONG));
    }
    let (api, stage_name) = runtime
        .resolve(host(req), req.uri().path())
        .ok_or(Refused(StatusCode::NOT_FOUND))?;
    let stage = api
        .stages
        .get(stage_name)
        .ok_or(Refused(StatusCode::NOT_FOUND))?;
    let key = upgrade_key(req).map_err(Refused)?;
    if state.shutdown.is_cancelled() || !state.plane.accepting() {
        return Err(Refused(StatusCode::SERVICE_UNAVAILABLE));
    }
    Ok((api, stage, key))
}

/// The new connection's fixed facts; its id names this node as the owner.
fn new_connection(
    state: &GatewayState,
    runtime: &Runtime,
    api: &Api,
    stage: &str,
    req: &Request<Incoming>,
    peer: SocketAddr,
) -> ConnectionInfo {
    ConnectionInfo {
        connection_id: state.plane.new_connection_id(),
        connected_at: now_millis(),
        api_id: api.id.clone(),
        stage: stage.to_owned(),
        domain_name: runtime
            .server
            .domain_name
            .clone()
            .or_else(|| host(req).map(str::to_owned))
            .unwrap_or_default(),
        source_ip: peer.ip(),
        user_agent: header_text(req.headers(), header::USER_AGENT),
        caller: Default::default(),
        authorizer: None,
    }
}

/// The request id and time of the `$connect` event, shared by the authorizer and the
/// integration (one event, one request id).
struct EventIds {
    request_id: AwsId,
    request_time_epoch: i64,
}

impl EventIds {
    fn new() -> Self {
        Self {
            request_id: AwsId::random(),
            request_time_epoch: now_millis(),
        }
    }

    fn context<'a>(&self, info: &'a ConnectionInfo, route: &'a Route) -> RequestContext<'a> {
        RequestContext {
            request_id: self.request_id,
            request_time_epoch: self.request_time_epoch,
            ..RequestContext::new(info, EventType::Connect, &route.key)
        }
    }
}

/// Parameters, IAM, API key and authorizer of `$connect` (docs/behaviour.md §8); a refusal is
/// counted and logged like every other.
async fn authorize(
    state: &GatewayState,
    runtime: &Runtime,
    stage: &Stage,
    auth: &ConnectAuth,
    req: &Request<Incoming>,
    handshake: &Handshake,
    ctx: &RequestContext<'_>,
) -> Result<Grant, Refused> {
    let connect = ConnectRequest {
        signed: SignedRequest {
            method: req.method().as_str(),
            raw_path: req.uri().path(),
            raw_query: req.uri().query().unwrap_or(""),
            headers: req.headers(),
            body: b"",
        },
        handshake,
        stage_variables: &stage.variables,
    };
    auth.authorize(&runtime.auth, &connect, ctx)
        .await
        .map_err(|refused| {
            tracing::debug!(status = %refused.status, reason = %refused.reason, api = %ctx.connection.api_id, "$connect authorization refused");
            state
                .metrics
                .connect_refusals
                .get_or_create(&RefusalLabels {
                    status: refused.status.as_u16(),
                })
                .inc();
            stage.ops.connect_refused(ctx, refused.status);
            Refused(refused.status)
        })
}

/// Runs the `$connect` integration; a 2xx accepts (with the subprotocol it chose and the
/// groups it joins, docs/groups.md), anything else refuses with that status, a failure with
/// 500 or 502 (docs/behaviour.md §3.1).
async fn run_connect(
    stage: &Stage,
    route: &Route,
    ctx: &RequestContext<'_>,
    handshake: &Handshake,
) -> Result<(Option<String>, Vec<GroupName>), Refused> {
    let inv = Invocation {
        ctx,
        body: "",
        is_base64: false,
        stage,
        handshake: Some(handshake),
    };
    // A 2xx naming bad groups is read inside the observed call, so that it is counted and
    // logged as the backend's failure (502), not as a connection accepted.
    let mut groups = Vec::new();
    let call = async {
        let reply = route.integration.invoke(&inv).await?;
        if (200..300).contains(&reply.status) {
            groups = connect_groups(reply.join_groups.as_deref())?;
        }
        Ok(reply)
    };
    match stage.ops.observe(&inv, call).await {
        Ok(reply) if (200..300).contains(&reply.status) => Ok((reply.subprotocol, groups)),
        Ok(reply) => {
            tracing::debug!(status = reply.status, "$connect refused the connection");
            Err(Refused(
                StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            ))
        }
        // 502 when the backend failed, 500 when the gateway did (docs/behaviour.md §3.1).
        Err(e) => Err(Refused(e.connect_status())),
    }
}

/// A connection's queue, reachable by pushes while its `$connect` runs; dropped (with what it
/// holds, when `$connect` refused) once the connection is registered or refused.
struct EarlyPushes {
    state: Arc<GatewayState>,
    id: AwsId,
    queue: Arc<OutboundQueue>,
}

impl EarlyPushes {
    fn open(state: &Arc<GatewayState>, runtime: &Runtime, info: &ConnectionInfo) -> Self {
        let queue = new_queue(runtime);
        state.plane.local().expect(info, Arc::clone(&queue));
        Self {
            state: Arc::clone(state),
            id: info.connection_id,
            queue,
        }
    }
}

impl Drop for EarlyPushes {
    fn drop(&mut self) {
        self.state.plane.local().forget_pending(&self.id);
    }
}

/// A connection's bounded outbound queue.
fn new_queue(runtime: &Runtime) -> Arc<OutboundQueue> {
    let limits = &runtime.server.limits;
    Arc::new(OutboundQueue::new(
        limits.outbound_queue_depth,
        limits.outbound_queue_bytes,
    ))
}

/// The groups a `$connect` answer joins; a bad list is the backend's fault (502).
fn connect_groups(header: Option<&str>) -> Result<Vec<GroupName>, IntegrationError> {
    let Some(header) = header else {
        return Ok(Vec::new());
    };
    let refuse = |why: String| {
        IntegrationError::backend(
            ErrorKind::BadReply,
            format!("the $connect answer's {JOIN_HEADER} header: {why}"),
        )
    };
    let groups = parse_group_list(header).map_err(|e| refuse(e.to_string()))?;
    if groups.len() > MAX_GROUPS_PER_CONNECTION {
        return Err(refuse(format!(
            "{} groups, more than the {MAX_GROUPS_PER_CONNECTION} a connection may join",
            groups.len()
        )));
    }
    Ok(groups)
}

/// Makes the connection reachable (a push made right after `$connect` succeeded is queued,
/// not lost) and builds its task. When the cluster cannot record it, the connection is not
/// made: its `$disconnect` runs here (the backend saw its `$connect` succeed) and the client
/// gets 503.
async fn register(
    state: &Arc<GatewayState>,
    runtime: &Runtime,
    stage: &Arc<Stage>,
    info: ConnectionInfo,
    groups: &[GroupName],
    early: Option<Arc<OutboundQueue>>,
) -> Result<ConnectionTask, Refused> {
    let limits = &runtime.server.limits;
    let outbound = early.unwrap_or_else(|| new_queue(runtime));
    let shared = Arc::new(ConnectionShared::new(info));
    let handle = ConnectionHandle {
        shared: Arc::clone(&shared),
        outbound: Arc::clone(&outbound),
    };
    if let Err(e) = state.plane.open(handle).await {
        tracing::warn!(error = %e, connection_id = %shared.info.connection_id, "connection refused: the cluster could not record it");
        let status = DisconnectStatus {
            code: 1011,
            reason: "Internal error: the cluster could not record the connection".into(),
        };
        dispatch::disconnect(state, &shared.info, Some(stage), status).await;
        return Err(Refused(StatusCode::SERVICE_UNAVAILABLE));
    }
    let id = shared.info.connection_id;
    if let Err(limit) = state.plane.local().join_all(&id, groups) {
        tracing::warn!(connection_id = %id, ?limit, "the $connect answer's groups pass a bound: joined those that fit");
    }
    let labels = StageLabels {
        api: shared.info.api_id.clone(),
        stage: stage.name.clone(),
    };
    state.metrics.connects.get_or_create(&labels).inc();
    let open = state.metrics.connections_open.get_or_create_owned(&labels);
    open.inc();
    Ok(ConnectionTask {
        open,
        state: Arc::clone(state),
        shared,
        stage: Arc::clone(stage),
        outbound,
        max_inflight: limits.max_inflight_per_connection.max(1),
    })
}

/// The `101 Switching Protocols` answer; only a protocol the `$connect` result names goes back
/// (docs/behaviour.md §3.1).
fn switching_protocols(key: &str, subprotocol: Option<String>) -> HttpResponse {
    let mut response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        );
    if let Some(p) = subprotocol.and_then(|p| HeaderValue::from_str(&p).ok()) {
        response = response.header(header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    response
        .body(Full::default())
        .unwrap_or_else(|_| refusal(StatusCode::INTERNAL_SERVER_ERROR))
}

fn host(req: &Request<Incoming>) -> Option<&str> {
    req.headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
}

/// The upgrade request as integrations see it: headers in the client's spelling.
fn handshake_of(
    req: &Request<Incoming>,
    recorded: &[u8],
    client: &ClientConn,
    now: i64,
) -> Handshake {
    let headers = parse_headers(recorded).unwrap_or_else(|| {
        req.headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect()
    });
    Handshake {
        headers,
        raw_query: req.uri().query().map(str::to_owned),
        trace_id: trace_id(now / 1000),
        port: client.local_port,
        proto: if client.tls { "https" } else { "http" },
    }
}

/// Checks the RFC 6455 upgrade request (HTTP/1.1 or later, one key of 16 base64-encoded
/// bytes, one version 13); returns the client's key. Refused before `$connect` runs. Public
/// for the fuzz target of request heads (docs/fuzzing.md).
pub fn upgrade_key<B>(req: &Request<B>) -> Result<String, StatusCode> {
    let headers = req.headers();
    if req.version() < http::Version::HTTP_11 {
        return Err(StatusCode::BAD_REQUEST);
    }
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
                .unwrap_or(false)
        })
    };
    if req.method() != http::Method::GET
        || !has_token(header::UPGRADE, "websocket")
        || !has_token(header::CONNECTION, "upgrade")
    {
        return Err(StatusCode::UPGRADE_REQUIRED);
    }
    let versions: Vec<&[u8]> = headers
        .get_all(header::SEC_WEBSOCKET_VERSION)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    if versions != [b"13"] {
        return Err(StatusCode::UPGRADE_REQUIRED);
    }
    let mut keys = headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let key = key.to_str().map_err(|_| StatusCode::BAD_REQUEST)?;
    match base64::engine::general_purpose::STANDARD.decode(key) {
        Ok(nonce) if nonce.len() == 16 => Ok(key.to_owned()),
        _ => Err(StatusCode::BAD_REQUEST),
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A refused upgrade: the status and a `{"message": …}` body in API Gateway's style (the
/// exact bodies are UNCONFIRMED, docs/behaviour.md §3.1).
fn refusal(status: StatusCode) -> HttpResponse {
    let message = match status.as_u16() {
        500 | 502 => "Internal server error",
        other => StatusCode::from_u16(other)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error"),
    };
    let body = serde_json::json!({ "message": message }).to_string();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONNECTION, "close")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

/// 426 (a plain GET to a stage, docs/behaviour.md §1), telling the client which version we
/// speak.
fn upgrade_required() -> HttpResponse {
    let mut response = refusal(StatusCode::UPGRADE_REQUIRED);
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(
        header::SEC_WEBSOCKET_VERSION,
        HeaderValue::from_static("13"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Side;

    #[test]
    fn a_bad_join_list_in_a_connect_answer_is_the_backends_failure() {
        assert!(connect_groups(None).expect("no header").is_empty());
        let groups = connect_groups(Some("a, b")).expect("valid");
        assert_eq!(
            groups.iter().map(GroupName::as_str).collect::<Vec<_>>(),
            ["a", "b"]
        );
        for bad in [
            "a,bad name".to_owned(),
            (0..=MAX_GROUPS_PER_CONNECTION)
                .map(|n| format!("g{n}"))
                .collect::<Vec<_>>()
                .join(","),
        ] {
            let e = connect_groups(Some(&bad)).expect_err(&bad);
            assert_eq!((e.side(), e.kind()), (Side::Backend, ErrorKind::BadReply));
            assert_eq!(e.connect_status(), StatusCode::BAD_GATEWAY);
            assert!(e.message().contains(JOIN_HEADER), "{e}");
        }
    }
}
