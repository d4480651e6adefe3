//! `AWS_PROXY` (docs/behaviour.md §4.2): the Lambda proxy event, sent through the Lambda Invoke API
//! (SigV4, service `lambda`) or POSTed to a plain URL (extension), and the
//! `{statusCode, headers, body}` reply read back.

use super::client::BackendClient;
use super::signing::{is_loopback_endpoint, local_endpoint_credentials, signed_post, SigningScope};
use super::{IntegrationReply, Invocation, UriTemplate};
use crate::error::{BuildError, ErrorKind, IntegrationError};
use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderMap, Request, StatusCode};
use http_body_util::Full;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use std::collections::HashMap;
use switchboard_core::arn::FunctionArn;
use switchboard_core::config::AwsCredentials;
use switchboard_core::event::{write_lambda_event, EventInput};

/// A compiled `AWS_PROXY` integration. The URI may hold stage variables, so whether it names a
/// Lambda function (Invoke API) or a plain URL (extension) is decided per call, after they are
/// filled in.
#[derive(Debug)]
pub struct LambdaProxy {
    uri: UriTemplate,
    endpoint: Option<String>,
    credentials: Option<AwsCredentials>,
    client: BackendClient,
}

fn is_url(uri: &str) -> bool {
    uri.starts_with("http://") || uri.starts_with("https://")
}

impl LambdaProxy {
    /// Compiles the integration. `endpoint` is `aws.endpoints.lambda`; `credentials` come from
    /// the environment. Without credentials, a loopback endpoint (a local Lambda runtime or
    /// emulator) is called with fixed placeholder credentials rather than refused.
    pub fn build(
        path: &str,
        uri: &str,
        endpoint: Option<&str>,
        credentials: Option<AwsCredentials>,
        client: BackendClient,
    ) -> Result<Self, BuildError> {
        let invalid = |message: String| BuildError::Invalid {
            path: format!("{path}.integrationUri"),
            message,
        };
        let template = UriTemplate::parse(uri).map_err(invalid)?;
        // Without stage variables the form can be checked now rather than at the first call.
        if !uri.contains("${") && !is_url(uri) && FunctionArn::parse(uri).is_none() {
            return Err(invalid(format!(
                "{uri:?} is not a Lambda function ARN (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME, or the arn:PARTITION:apigateway:…/invocations form) nor an http(s) URL"
            )));
        }
        let credentials = credentials.or_else(|| {
            endpoint
                .filter(|e| is_loopback_endpoint(e))
                .map(|_| local_endpoint_credentials())
        });
        Ok(Self {
            uri: template,
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_owned()),
            credentials,
            client,
        })
    }

    /// Invokes the function with the event of `inv`.
    pub async fn invoke(&self, inv: &Invocation<'_>) -> Result<IntegrationReply, IntegrationError> {
        let mut event = Vec::with_capacity(512 + inv.body.len());
        write_lambda_event(
            &EventInput {
                ctx: inv.ctx,
                body: (inv.ctx.event_type == switchboard_core::context::EventType::Message)
                    .then_some(inv.body),
                is_base64: inv.is_base64,
                handshake: inv.handshake,
            },
            &mut event,
        )
        .map_err(|e| {
            IntegrationError::internal(ErrorKind::Request, format!("event serialisation: {e}"))
        })?;
        let payload = self.invoke_payload(event, &inv.stage.variables).await?;
        parse_reply(&payload)
    }

    /// Sends any JSON event (a proxy event, an authorizer event) and returns the function's
    /// payload. A function error, or a handler URL's non-2xx answer, is the backend's
    /// [`ErrorKind::FunctionError`] carrying the function's `errorMessage` when it has one; the
    /// Invoke API refusing the call itself is sorted by [`invoke_refusal`].
    pub async fn invoke_payload(
        &self,
        event: Vec<u8>,
        stage_variables: &std::collections::BTreeMap<String, String>,
    ) -> Result<Bytes, IntegrationError> {
        let uri = self.uri.render(stage_variables);
        if is_url(&uri) {
            // Stage variables filled in: a URL that does not parse is the configuration's fault.
            let request = Request::post(uri.as_str())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(event)))
                .map_err(|e| {
                    IntegrationError::internal(
                        ErrorKind::Target,
                        format!("{uri} is not a valid URL: {e}"),
                    )
                })?;
            let reply = self.client.send(request).await?;
            if !reply.status.is_success() {
                return Err(IntegrationError::backend(
                    ErrorKind::FunctionError,
                    error_message(
                        &reply.body,
                        &format!("handler URL answered {}", reply.status),
                    ),
                ));
            }
            return Ok(reply.body);
        }
        let function = FunctionArn::parse(&uri).ok_or_else(|| {
            IntegrationError::internal(
                ErrorKind::Target,
                format!("{uri:?} is not a Lambda function ARN nor an http(s) URL"),
            )
        })?;
        let credentials = self.credentials.as_ref().ok_or_else(|| {
            IntegrationError::internal(
                ErrorKind::Credentials,
                "none to sign with: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (not needed when [aws.endpoints] lambda is a loopback URL)",
            )
        })?;
        let request = invoke_request(&function, self.endpoint.as_deref(), credentials, event)?;
        let reply = self.client.send(request).await?;
        if reply.headers.contains_key("x-amz-function-error") {
            return Err(IntegrationError::backend(
                ErrorKind::FunctionError,
                error_message(&reply.body, "the function failed"),
            ));
        }
        if !reply.status.is_success() {
            return Err(invoke_refusal(reply.status, &reply.headers, &reply.body));
        }
        Ok(reply.body)
    }
}

/// The Lambda Invoke API refused the call before the function ran. A 4xx other than 429 is
/// the gateway's configuration — credentials it does not accept (403
/// `InvalidSignatureException`, `UnrecognizedClientException`), no `lambda:InvokeFunction`
/// permission (403 `AccessDeniedException`), a function that does not exist (404) — and
/// answers 500 as API Gateway's "configuration error" does; throttling (429) and the
/// service's own failures (5xx) are the backend's (docs/behaviour.md §3.1).
fn invoke_refusal(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> IntegrationError {
    let error_type = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.split(':').next().unwrap_or(t))
        .unwrap_or("");
    let detail = error_message(body, "");
    let message = format!("Lambda Invoke answered {status} {error_type} {detail}");
    let message = message.trim_end().to_owned();
    if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
        let kind = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ErrorKind::Credentials,
            StatusCode::NOT_FOUND => ErrorKind::Target,
            _ => ErrorKind::Request,
        };
        IntegrationError::internal(kind, message)
    } else {
        IntegrationError::backend(ErrorKind::FunctionError, message)
    }
}

/// The `errorMessage` of a function error payload, else the body text, else `fallback`.
fn error_message(body: &[u8], fallback: &str) -> String {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct FunctionErrorPayload {
        error_message: String,
    }
    if let Ok(p) = serde_json::from_slice::<FunctionErrorPayload>(body) {
        return p.error_message;
    }
    match std::str::from_utf8(body) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => fallback.to_owned(),
    }
}

/// What is escaped in the function name and qualifier: everything but RFC 3986's unreserved
/// characters, as the AWS SDKs write them (`my-fn`, not `my%2Dfn`).
const PATH_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A signed `POST /2015-03-31/functions/{name}/invocations`.
fn invoke_request(
    function: &FunctionArn,
    endpoint: Option<&str>,
    credentials: &AwsCredentials,
    event: Vec<u8>,
) -> Result<Request<Full<Bytes>>, IntegrationError> {
    let base = endpoint
        .map(str::to_owned)
        .unwrap_or_else(|| function.regional_endpoint());
    let path = format!(
        "/2015-03-31/functions/{}/invocations",
        utf8_percent_encode(&function.name, PATH_ESCAPED)
    );
    let query = function
        .qualifier
        .as_deref()
        .map(|q| format!("Qualifier={}", utf8_percent_encode(q, PATH_ESCAPED)))
        .unwrap_or_default();
    let url = if query.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{query}")
    };
    signed_post(
        &url,
        &[
            ("content-type", "application/json"),
            ("x-amz-invocation-type", "RequestResponse"),
        ],
        Bytes::from(event),
        &SigningScope {
            credentials,
            region: &function.region,
            service: "lambda",
        },
    )
}

/// The proxy reply a handler returns.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProxyReply {
    status_code: Option<u16>,
    #[serde(default)]
    headers: Option<HashMap<String, serde_json::Value>>,
    #[serde(default)]
    multi_value_headers: Option<HashMap<String, Vec<serde_json::Value>>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: Option<bool>,
}

/// Reads a `{statusCode, headers, body, isBase64Encoded}` reply. `null` (a handler that
/// returns nothing) counts as 200 with no body; anything that is not an object is malformed.
fn parse_reply(payload: &[u8]) -> Result<IntegrationReply, IntegrationError> {
    let value: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|e| bad_reply(format!("reply is not JSON: {e}")))?;
    if value.is_null() {
        return Ok(IntegrationReply {
            status: 200,
            ..IntegrationReply::default()
        });
    }
    if !value.is_object() {
        return Err(bad_reply(
            "reply must be an object like {\"statusCode\": 200, \"body\": \"…\"}".into(),
        ));
    }
    let reply: ProxyReply = serde_json::from_value(value)
        .map_err(|e| bad_reply(format!("malformed proxy reply: {e}")))?;
    let subprotocol = reply
        .headers
        .as_ref()
        .and_then(|h| find_header(h.iter()))
        .or_else(|| {
            reply
                .multi_value_headers
                .as_ref()
                .and_then(|h| find_header(h.iter().filter_map(|(k, v)| v.first().map(|f| (k, f)))))
        });
    let join_groups = reply
        .headers
        .as_ref()
        .and_then(|h| header_value(h.iter(), crate::plane::JOIN_HEADER))
        .or_else(|| {
            reply.multi_value_headers.as_ref().and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(crate::plane::JOIN_HEADER))
                    .map(|(_, v)| {
                        v.iter()
                            .filter_map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
            })
        });
    let body = match (reply.body, reply.is_base64_encoded.unwrap_or(false)) {
        (Some(b), true) => Some(Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|e| bad_reply(format!("body is not base64: {e}")))?,
        )),
        (Some(b), false) => Some(Bytes::from(b)),
        (None, _) => None,
    };
    Ok(IntegrationReply {
        status: reply.status_code.unwrap_or(200),
        subprotocol,
        join_groups,
        body,
    })
}

fn bad_reply(message: String) -> IntegrationError {
    IntegrationError::backend(ErrorKind::BadReply, message)
}

fn find_header<'a>(
    headers: impl Iterator<Item = (&'a String, &'a serde_json::Value)>,
) -> Option<String> {
    header_value(headers, "sec-websocket-protocol")
}

/// The text value of header `name`, matched case-insensitively.
fn header_value<'a>(
    mut headers: impl Iterator<Item = (&'a String, &'a serde_json::Value)>,
    name: &str,
) -> Option<String> {
    headers
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Side;

    #[test]
    fn the_invoke_api_refusing_the_call_is_blamed_on_the_configuration_unless_throttled_or_failing()
    {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amzn-errortype",
            http::HeaderValue::from_static("InvalidSignatureException:http://internal.amazon.com/"),
        );
        let refused = invoke_refusal(StatusCode::FORBIDDEN, &headers, b"{\"message\":\"bad\"}");
        assert_eq!(
            (refused.side(), refused.kind()),
            (Side::Internal, ErrorKind::Credentials)
        );
        assert!(refused
            .message()
            .contains("403 Forbidden InvalidSignatureException"));
        let cases = [
            (StatusCode::NOT_FOUND, Side::Internal, ErrorKind::Target),
            (StatusCode::BAD_REQUEST, Side::Internal, ErrorKind::Request),
            (
                StatusCode::TOO_MANY_REQUESTS,
                Side::Backend,
                ErrorKind::FunctionError,
            ),
            (
                StatusCode::BAD_GATEWAY,
                Side::Backend,
                ErrorKind::FunctionError,
            ),
        ];
        for (status, side, kind) in cases {
            let e = invoke_refusal(status, &HeaderMap::new(), b"");
            assert_eq!((e.side(), e.kind()), (side, kind), "{status}");
        }
    }

    #[test]
    fn the_invoke_path_escapes_only_what_the_aws_sdks_escape() {
        let credentials = AwsCredentials {
            access_key_id: "AKID".into(),
            secret_access_key: "s".into(),
            session_token: None,
        };
        let function = FunctionArn {
            partition: "aws".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            name: "chat-handler_v2.x".into(),
            qualifier: Some("$LATEST".into()),
        };
        let request = invoke_request(&function, Some("http://127.0.0.1:1"), &credentials, vec![])
            .expect("request");
        assert_eq!(
            request.uri().path_and_query().map(|p| p.as_str()),
            Some("/2015-03-31/functions/chat-handler_v2.x/invocations?Qualifier=%24LATEST")
        );
    }

    #[test]
    fn without_credentials_only_a_loopback_endpoint_gets_placeholder_ones() {
        let build = |endpoint: Option<&str>| {
            let client =
                BackendClient::new(std::time::Duration::from_secs(1), 1, 1024).expect("client");
            LambdaProxy::build(
                "i",
                "arn:aws:lambda:us-east-1:123456789012:function:chat",
                endpoint,
                None,
                client,
            )
            .expect("build")
            .credentials
            .map(|c| c.access_key_id)
        };
        assert_eq!(
            build(Some("http://127.0.0.1:9001")).as_deref(),
            Some(super::super::signing::LOCAL_ACCESS_KEY_ID)
        );
        assert_eq!(build(Some("https://lambda.example.com")), None);
        assert_eq!(build(None), None);
    }

    #[test]
    fn replies_parse_leniently_but_not_blindly() {
        let r = parse_reply(
            br#"{"statusCode":500,"body":"oops","headers":{"Sec-WebSocket-Protocol":"v1"}}"#,
        )
        .expect("valid");
        assert_eq!((r.status, r.subprotocol.as_deref()), (500, Some("v1")));
        assert_eq!(r.body.as_deref(), Some(&b"oops"[..]));
        assert_eq!(parse_reply(b"null").expect("null").status, 200);
        assert!(parse_reply(b"\"just a string\"").is_err());
        assert!(parse_reply(b"{\"statusCode\":\"x\"}").is_err());
        assert!(parse_reply(b"not json").is_err());
        let b64 = parse_reply(br#"{"body":"AAE=","isBase64Encoded":true}"#).expect("b64");
        assert_eq!(b64.body.as_deref(), Some(&[0u8, 1][..]));
    }
}
