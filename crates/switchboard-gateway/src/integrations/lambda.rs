//! `AWS_PROXY` (docs/behaviour.md §4.2): the Lambda proxy event, sent through the Lambda Invoke API
//! (SigV4, service `lambda`) or POSTed to a plain URL (extension), and the
//! `{statusCode, headers, body}` reply read back.

use super::client::BackendClient;
use super::signing::{is_loopback_endpoint, local_endpoint_credentials, signed_post, SigningScope};
use super::{IntegrationReply, Invocation, UriTemplate};
use crate::error::{BuildError, IntegrationError};
use base64::Engine as _;
use bytes::Bytes;
use http::{header, Request};
use http_body_util::Full;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use std::collections::HashMap;
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

/// A function named by an ARN.
#[derive(Debug, PartialEq, Eq)]
pub struct FunctionArn {
    /// Region (from the ARN).
    pub region: String,
    /// Function name.
    pub name: String,
    /// Version or alias.
    pub qualifier: Option<String>,
}

impl FunctionArn {
    /// Parses `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations`
    /// or `arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}]`.
    pub fn parse(uri: &str) -> Option<Self> {
        let function_arn = match uri.strip_prefix("arn:aws:apigateway:") {
            Some(rest) => rest
                .split_once(":lambda:path/2015-03-31/functions/")?
                .1
                .strip_suffix("/invocations")?,
            None => uri,
        };
        let rest = function_arn.strip_prefix("arn:aws:lambda:")?;
        let mut parts = rest.split(':');
        let region = parts.next().filter(|r| !r.is_empty())?;
        let _account = parts.next()?;
        if parts.next()? != "function" {
            return None;
        }
        let name = parts.next().filter(|n| !n.is_empty())?;
        let qualifier = parts.next().map(str::to_owned);
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            region: region.to_owned(),
            name: name.to_owned(),
            qualifier,
        })
    }
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
                "{uri:?} is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME, or the arn:aws:apigateway:…/invocations form) nor an http(s) URL"
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
        .map_err(|e| IntegrationError::BadReply(format!("event serialisation: {e}")))?;
        let payload = self.invoke_payload(event, &inv.stage.variables).await?;
        parse_reply(&payload)
    }

    /// Sends any JSON event (a proxy event, an authorizer event) and returns the function's
    /// payload. A function error, or a non-2xx answer, is [`IntegrationError::FunctionError`]
    /// carrying the function's `errorMessage` when it has one.
    pub async fn invoke_payload(
        &self,
        event: Vec<u8>,
        stage_variables: &std::collections::BTreeMap<String, String>,
    ) -> Result<Bytes, IntegrationError> {
        let uri = self.uri.render(stage_variables);
        if is_url(&uri) {
            let request = Request::post(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(event)))
                .map_err(|e| IntegrationError::Unreachable(e.to_string()))?;
            let reply = self.client.send(request).await?;
            if !reply.status.is_success() {
                return Err(IntegrationError::FunctionError(error_message(
                    &reply.body,
                    &format!("handler URL answered {}", reply.status),
                )));
            }
            return Ok(reply.body);
        }
        let function = FunctionArn::parse(&uri).ok_or_else(|| {
            IntegrationError::Unreachable(format!(
                "{uri:?} is not a Lambda function ARN nor an http(s) URL"
            ))
        })?;
        let credentials = self.credentials.as_ref().ok_or_else(|| {
            IntegrationError::Unreachable(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (not needed when [aws.endpoints] lambda is a loopback URL)".into(),
            )
        })?;
        let request = invoke_request(&function, self.endpoint.as_deref(), credentials, event)?;
        let reply = self.client.send(request).await?;
        if reply.headers.contains_key("x-amz-function-error") || !reply.status.is_success() {
            return Err(IntegrationError::FunctionError(error_message(
                &reply.body,
                &format!("Lambda Invoke answered {}", reply.status),
            )));
        }
        Ok(reply.body)
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
        .unwrap_or_else(|| format!("https://lambda.{}.amazonaws.com", function.region));
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
        .map_err(|e| IntegrationError::BadReply(format!("reply is not JSON: {e}")))?;
    if value.is_null() {
        return Ok(IntegrationReply {
            status: 200,
            ..IntegrationReply::default()
        });
    }
    if !value.is_object() {
        return Err(IntegrationError::BadReply(
            "reply must be an object like {\"statusCode\": 200, \"body\": \"…\"}".into(),
        ));
    }
    let reply: ProxyReply = serde_json::from_value(value)
        .map_err(|e| IntegrationError::BadReply(format!("malformed proxy reply: {e}")))?;
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
    let body = match (reply.body, reply.is_base64_encoded.unwrap_or(false)) {
        (Some(b), true) => Some(Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|e| IntegrationError::BadReply(format!("body is not base64: {e}")))?,
        )),
        (Some(b), false) => Some(Bytes::from(b)),
        (None, _) => None,
    };
    Ok(IntegrationReply {
        status: reply.status_code.unwrap_or(200),
        subprotocol,
        body,
    })
}

fn find_header<'a>(
    mut headers: impl Iterator<Item = (&'a String, &'a serde_json::Value)>,
) -> Option<String> {
    headers
        .find(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-protocol"))
        .and_then(|(_, v)| v.as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_arn_forms_parse() {
        let want = FunctionArn {
            region: "eu-west-1".into(),
            name: "chat".into(),
            qualifier: None,
        };
        assert_eq!(
            FunctionArn::parse("arn:aws:lambda:eu-west-1:123456789012:function:chat"),
            Some(want)
        );
        let long = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:chat:live/invocations";
        assert_eq!(
            FunctionArn::parse(long).and_then(|f| f.qualifier),
            Some("live".to_owned())
        );
        assert_eq!(
            FunctionArn::parse("arn:aws:lambda:eu-west-1:1:layer:x"),
            None
        );
        assert_eq!(FunctionArn::parse("chat"), None);
    }

    #[test]
    fn the_invoke_path_escapes_only_what_the_aws_sdks_escape() {
        let credentials = AwsCredentials {
            access_key_id: "AKID".into(),
            secret_access_key: "s".into(),
            session_token: None,
        };
        let function = FunctionArn {
            region: "eu-west-1".into(),
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
