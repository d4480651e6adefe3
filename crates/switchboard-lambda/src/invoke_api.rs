//! The Lambda Invoke API (`POST /2015-03-31/functions/{FunctionName}/invocations`) on a loopback
//! port: the front door the gateway's `AWS_PROXY` integrations (and any AWS SDK) call.
//! Requests are not authenticated: the listener only binds loopback addresses.

use crate::function::{Function, Outcome};
use crate::ids;
use crate::payloads::{ApiError, MAX_REQUEST_BYTES};
use crate::runtime_api::Delivery;
use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The declared functions by name.
pub struct Registry {
    /// By name.
    pub functions: HashMap<String, Arc<Function>>,
    /// `arn:aws:lambda:{region}:{account}:function:`, for naming functions that do not exist.
    pub arn_prefix: String,
}

impl Registry {
    /// The function called `name`, or Lambda's 404 naming its ARN.
    pub fn get(&self, name: &str) -> Result<&Arc<Function>, ApiError> {
        self.functions
            .get(name)
            .ok_or_else(|| ApiError::not_found(&format!("{}{name}", self.arn_prefix)))
    }
}

/// Serves the Invoke API on `listener` until `stop`.
pub fn serve(
    listener: TcpListener,
    registry: Arc<Registry>,
    stop: CancellationToken,
    tracker: &TaskTracker,
) {
    let connections = tracker.clone();
    tracker.spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!("Invoke API accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stop.cancelled() => return,
            };
            let _ = stream.set_nodelay(true);
            let registry = Arc::clone(&registry);
            let stop = stop.clone();
            let background = connections.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let registry = Arc::clone(&registry);
                    let background = background.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(answer(&registry, &background, req).await)
                    }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    _ = stop.cancelled() => {}
                }
            });
        }
    });
}

/// How the caller wants the function run (`X-Amz-Invocation-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

/// The function a path and query name: `(name, qualifier)`.
fn function_target(path: &str, query: Option<&str>) -> Option<(String, Option<String>)> {
    let segment = path
        .strip_prefix("/2015-03-31/functions/")?
        .strip_suffix("/invocations")?;
    if segment.is_empty() || segment.contains('/') {
        return None;
    }
    let decoded = percent_decode_str(segment).decode_utf8().ok()?.into_owned();
    // A full ARN, a partial ARN (`ACCOUNT:function:NAME`), or `NAME[:QUALIFIER]`.
    let tail = match decoded.strip_prefix("arn:") {
        Some(arn) => arn.splitn(6, ':').nth(5)?.to_owned(),
        None => match decoded.split_once(":function:") {
            Some((_, tail)) => tail.to_owned(),
            None => decoded,
        },
    };
    let (name, mut qualifier) = match tail.split_once(':') {
        Some((n, q)) => (n.to_owned(), Some(q.to_owned())),
        None => (tail, None),
    };
    if let Some(q) = query.into_iter().flat_map(|q| q.split('&')).find_map(|kv| {
        kv.strip_prefix("Qualifier=")
            .and_then(|v| percent_decode_str(v).decode_utf8().ok())
            .map(|v| v.into_owned())
    }) {
        qualifier = Some(q);
    }
    Some((name, qualifier))
}

async fn answer(
    registry: &Registry,
    background: &TaskTracker,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let request_id = ids::request_id();
    match invoke(registry, background, req, &request_id).await {
        Ok(response) => response,
        Err(e) => api_error(&e, &request_id),
    }
}

async fn invoke(
    registry: &Registry,
    background: &TaskTracker,
    req: Request<Incoming>,
    request_id: &str,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let target = (parts.method == Method::POST)
        .then(|| function_target(path, parts.uri.query()))
        .flatten();
    let Some((name, qualifier)) = target else {
        return Err(ApiError::unknown_operation(parts.method.as_str(), path));
    };
    let function = registry.get(&name)?;
    let invoked_arn = match qualifier.as_deref() {
        None => function.arn.clone(),
        Some("$LATEST") => format!("{}:$LATEST", function.arn),
        Some(q) => return Err(ApiError::not_found(&format!("{}:{q}", function.arn))),
    };
    let invocation_type = match header_str(&parts.headers, "x-amz-invocation-type") {
        None | Some("RequestResponse") => InvocationType::RequestResponse,
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "X-Amz-Invocation-Type {other:?} must be RequestResponse, Event or DryRun"
            )))
        }
    };
    let client_context = header_str(&parts.headers, "x-amz-client-context")
        .map(client_context)
        .transpose()?;
    let payload = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::request_too_large())
        }
        Err(e) => return Err(ApiError::invalid_content(&e.to_string())),
    };
    let payload = if payload.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        serde_json::from_slice::<serde::de::IgnoredAny>(&payload)
            .map_err(|e| ApiError::invalid_content(&e.to_string()))?;
        payload
    };
    if invocation_type == InvocationType::DryRun {
        return Ok(reply(
            StatusCode::NO_CONTENT,
            Bytes::new(),
            request_id,
            false,
        ));
    }
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let delivery = Delivery {
        request_id: request_id.to_owned(),
        payload,
        invoked_arn,
        trace_id: ids::trace_id(epoch),
        client_context,
        cognito_identity: None,
    };
    if invocation_type == InvocationType::Event {
        let function = Arc::clone(function);
        background.spawn(async move {
            if let Err(e) = function.invoke(delivery).await {
                tracing::warn!(function = %function.spec.name, "asynchronous invocation refused: {}", e.error_type);
            }
        });
        return Ok(reply(StatusCode::ACCEPTED, Bytes::new(), request_id, false));
    }
    Ok(match function.invoke(delivery).await? {
        Outcome::Response(body) => reply(StatusCode::OK, body, request_id, false),
        Outcome::FunctionError(body) => reply(StatusCode::OK, body, request_id, true),
    })
}

/// Lambda's limit on the decoded `X-Amz-Client-Context`.
const MAX_CLIENT_CONTEXT_BYTES: usize = 3583;

/// The decoded `X-Amz-Client-Context` (base64 JSON), re-serialised compactly so it fits in the
/// `Lambda-Runtime-Client-Context` header whatever whitespace it had.
fn client_context(encoded: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::invalid_parameter(format!(
            "X-Amz-Client-Context must be a base64-encoded JSON object of at most {MAX_CLIENT_CONTEXT_BYTES} bytes"
        ))
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| invalid())?;
    if raw.len() > MAX_CLIENT_CONTEXT_BYTES {
        return Err(invalid());
    }
    match serde_json::from_slice::<serde_json::Value>(&raw) {
        Ok(value @ serde_json::Value::Object(_)) => Ok(value.to_string()),
        _ => Err(invalid()),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn reply(
    status: StatusCode,
    body: Bytes,
    request_id: &str,
    function_error: bool,
) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-Amzn-RequestId", request_id)
        .header("X-Amz-Executed-Version", "$LATEST");
    if function_error {
        builder = builder.header("X-Amz-Function-Error", "Unhandled");
    }
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn api_error(e: &ApiError, request_id: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(e.status)
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-Amzn-RequestId", request_id)
        .header("X-Amzn-ErrorType", e.error_type)
        .body(Full::new(Bytes::from(e.body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str, query: Option<&str>) -> Option<(String, Option<String>)> {
        function_target(path, query)
    }

    #[test]
    fn client_contexts_are_base64_json_objects_made_header_safe() {
        let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            client_context(&encode("{\n  \"custom\": {\"a\": 1}\n}")),
            Ok(r#"{"custom":{"a":1}}"#.to_owned())
        );
        assert!(client_context("not base64!").is_err());
        assert!(client_context(&encode("[1]")).is_err());
        let big = format!("{{\"k\":\"{}\"}}", "x".repeat(MAX_CLIENT_CONTEXT_BYTES));
        assert!(client_context(&encode(&big)).is_err());
    }

    #[test]
    fn names_arns_and_qualifiers_resolve_as_lambda_reads_them() {
        let name = |n: &str| Some((n.to_owned(), None));
        assert_eq!(
            target("/2015-03-31/functions/chat/invocations", None),
            name("chat")
        );
        assert_eq!(
            target("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Achat/invocations", None),
            name("chat")
        );
        assert_eq!(
            target(
                "/2015-03-31/functions/123456789012:function:chat:live/invocations",
                None
            ),
            Some(("chat".into(), Some("live".into())))
        );
        assert_eq!(
            target(
                "/2015-03-31/functions/chat/invocations",
                Some("Qualifier=%24LATEST")
            ),
            Some(("chat".into(), Some("$LATEST".into())))
        );
        assert_eq!(target("/2015-03-31/functions//invocations", None), None);
        assert_eq!(target("/2015-03-31/functions/chat", None), None);
        assert_eq!(target("/2015-03-31/functions/a/b/invocations", None), None);
    }
}
