//! Management API responses as the AWS SDKs parse them (docs/behaviour.md §7.3): the error code in
//! `x-amzn-ErrorType`, the message in the JSON body, a request id on every response.

use crate::plane::group::{MAX_GROUPS_PER_CONNECTION, MAX_GROUPS_PER_STAGE};
use crate::plane::{ConnectionSnapshot, GroupLimit, Outcome};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use switchboard_core::context::iso8601_millis;

/// A management API response.
pub type MgmtResponse = Response<Full<Bytes>>;

/// Every way a management call can fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MgmtError {
    /// 410, empty body: unknown, closed, or still in `$connect`.
    Gone,
    /// 413: `Data` over 131,072 bytes.
    PayloadTooLarge(usize),
    /// 429: the connection's outbound queue is full, or the API's rate limit was hit.
    LimitExceeded,
    /// 403 `{"message":"Forbidden"}`: wrong path or stage.
    Forbidden,
    /// 403: no signature at all.
    MissingAuthenticationToken,
    /// 403: an access key nobody configured.
    UnrecognizedClient,
    /// 403: the signature does not match, or is stale.
    InvalidSignature(String),
    /// 405 for a method the path does not take.
    MethodNotAllowed,
    /// 408: the request was not sent whole within `requestTimeoutSeconds`.
    RequestTimeout,
    /// 503: the cluster link is down; retry after a second.
    Unavailable,
    /// 504: the node holding the connection did not answer in time.
    TimedOut,
    /// 400: a bad group or user name, or query parameter (extensions, docs/groups.md).
    BadRequest(String),
    /// 409: joining would pass a bound on groups; nothing changed.
    GroupLimit(GroupLimit),
}

impl MgmtError {
    /// The HTTP response, with `request_id` in `x-amzn-RequestId`.
    pub fn response(&self, request_id: &str) -> MgmtResponse {
        let (status, code, body): (u16, &str, Option<String>) = match self {
            MgmtError::Gone => (410, "GoneException", None),
            MgmtError::PayloadTooLarge(n) => (
                413,
                "PayloadTooLargeException",
                Some(message(&format!(
                    "Request data ({n} bytes) exceeds the maximum of 131072 bytes"
                ))),
            ),
            MgmtError::LimitExceeded => (
                429,
                "LimitExceededException",
                Some(message(
                    "Rate exceeded or the client's outbound buffer is full",
                )),
            ),
            MgmtError::Forbidden => (403, "ForbiddenException", Some(message("Forbidden"))),
            MgmtError::MissingAuthenticationToken => (
                403,
                "MissingAuthenticationTokenException",
                Some(message("Missing Authentication Token")),
            ),
            MgmtError::UnrecognizedClient => (
                403,
                "UnrecognizedClientException",
                Some(message(
                    "The security token included in the request is invalid.",
                )),
            ),
            MgmtError::InvalidSignature(why) => {
                (403, "InvalidSignatureException", Some(message(why)))
            }
            MgmtError::MethodNotAllowed => (
                405,
                "MethodNotAllowedException",
                Some(message("Method Not Allowed")),
            ),
            MgmtError::RequestTimeout => (
                408,
                "RequestTimeoutException",
                Some(message("The request body was not received in time")),
            ),
            MgmtError::Unavailable => (
                503,
                "ServiceUnavailableException",
                Some(message("Service Unavailable")),
            ),
            MgmtError::TimedOut => (
                504,
                "GatewayTimeoutException",
                Some(message(
                    "The node holding the connection did not answer in time",
                )),
            ),
            MgmtError::BadRequest(why) => (400, "BadRequestException", Some(message(why))),
            MgmtError::GroupLimit(GroupLimit::PerConnection) => (
                409,
                "GroupLimitExceededException",
                Some(message(&format!(
                    "The connection is already in {MAX_GROUPS_PER_CONNECTION} groups, the most one connection may join"
                ))),
            ),
            MgmtError::GroupLimit(GroupLimit::PerStage) => (
                409,
                "GroupLimitExceededException",
                Some(message(&format!(
                    "The stage already has {MAX_GROUPS_PER_STAGE} groups on this node, the most it may have"
                ))),
            ),
        };
        let mut response = respond(status, body.map(Bytes::from), request_id);
        if let Ok(v) = HeaderValue::from_str(code) {
            response.headers_mut().insert("x-amzn-ErrorType", v);
        }
        if status == 503 {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
        }
        response
    }
}

fn message(text: &str) -> String {
    serde_json::json!({ "message": text }).to_string()
}

/// The response to an operation's outcome: 200 (with the connection for `GetConnection`), 204,
/// or the error shapes of the AWS SDKs; a cluster that cannot reach the owner answers 503 with
/// `Retry-After`, an owner that does not answer in time 504 — never a false 410.
pub fn outcome_response(outcome: Outcome, request_id: &str) -> MgmtResponse {
    match outcome {
        Outcome::Queued => respond(200, None, request_id),
        Outcome::Info(snapshot) => respond(200, Some(connection_json(&snapshot)), request_id),
        Outcome::Closing => respond(204, None, request_id),
        Outcome::Gone => MgmtError::Gone.response(request_id),
        Outcome::QueueFull => MgmtError::LimitExceeded.response(request_id),
        Outcome::Unavailable => MgmtError::Unavailable.response(request_id),
        Outcome::TimedOut => MgmtError::TimedOut.response(request_id),
        Outcome::Done => respond(204, None, request_id),
        Outcome::GroupLimit(limit) => MgmtError::GroupLimit(limit).response(request_id),
    }
}

/// `GetConnection`'s body (docs/behaviour.md §7.2): ISO-8601 times, `userAgent` only when the
/// client sent one; the extension fields `groups` and `user` only when the connection has
/// any (docs/groups.md), so an AWS app sees AWS's body.
fn connection_json(snapshot: &ConnectionSnapshot) -> Bytes {
    let mut body = connection_value(snapshot);
    if !snapshot.groups.is_empty() {
        body["groups"] = serde_json::json!(snapshot.groups);
    }
    if let Some(user) = &snapshot.user {
        body["user"] = user.clone().into();
    }
    Bytes::from(body.to_string())
}

/// A connection's AWS fields, as `GetConnection` and listings show them.
pub fn connection_value(snapshot: &ConnectionSnapshot) -> serde_json::Value {
    let info = &snapshot.info;
    let mut identity = serde_json::Map::new();
    identity.insert("sourceIp".into(), info.source_ip.to_string().into());
    if let Some(ua) = &info.user_agent {
        identity.insert("userAgent".into(), ua.clone().into());
    }
    serde_json::json!({
        "connectedAt": iso8601_millis(info.connected_at),
        "identity": identity,
        "lastActiveAt": iso8601_millis(snapshot.last_active_at),
    })
}

/// A response with an optional JSON body and the request id header.
pub fn respond(status: u16, body: Option<Bytes>, request_id: &str) -> MgmtResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = Response::builder()
        .status(status)
        .header("x-amzn-RequestId", request_id);
    if body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    builder
        .body(Full::new(body.unwrap_or_default()))
        .unwrap_or_default()
}
