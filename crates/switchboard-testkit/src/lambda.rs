//! A local stand-in for AWS Lambda that speaks the real Invoke API wire protocol
//! (`POST /2015-03-31/functions/{FunctionName}/invocations`), so the gateway's own Lambda client
//! and SigV4 signer are exercised end to end (AWS_PROXY, docs/behaviour.md §4.2).
//!
//! Signatures are checked by re-signing each request with the `aws-sigv4` crate, an
//! implementation independent of the gateway's signer.

use crate::backend::{bind_local, header_list, status_code, Recorder, RunningServer};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;

/// How far `X-Amz-Date` may be from now, as AWS allows.
const CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// The service name requests must be signed for.
const SERVICE: &str = "lambda";

/// The only signing algorithm accepted.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// One accepted (authenticated, well-formed) invocation.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// The `{FunctionName}` path segment, percent-decoded (a name or an ARN).
    pub function: String,
    /// The `Qualifier` query parameter, if given.
    pub qualifier: Option<String>,
    /// The JSON event the caller sent.
    pub event: serde_json::Value,
    /// Request headers with lowercase names, in order.
    pub headers: Vec<(String, String)>,
}

/// How the stand-in answers an invocation.
#[derive(Clone, Debug, PartialEq)]
pub enum LambdaReply {
    /// 200 with this JSON payload: the function returned normally.
    Ok(serde_json::Value),
    /// 200 with `X-Amz-Function-Error: Unhandled` and this payload (normally
    /// `{"errorMessage": .., "errorType": ..}`; see [`LambdaReply::unhandled`]).
    FunctionError(serde_json::Value),
    /// Any status and bytes, e.g. a malformed payload or a throttling error.
    Raw(u16, Vec<u8>),
    /// The inner reply, after a delay (integration timeout tests).
    Delay(Duration, Box<LambdaReply>),
}

impl LambdaReply {
    /// A function error with Lambda's usual payload shape.
    pub fn unhandled(error_type: &str, message: &str) -> Self {
        Self::FunctionError(serde_json::json!({
            "errorMessage": message,
            "errorType": error_type,
        }))
    }

    /// This reply, after `delay`.
    pub fn after(self, delay: Duration) -> Self {
        Self::Delay(delay, Box::new(self))
    }
}

/// The credentials requests must be signed with.
struct AcceptedCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

/// Shared by the server's connections.
struct LambdaState {
    credentials: AcceptedCredentials,
    handler: Box<dyn Fn(&Invocation) -> LambdaReply + Send + Sync>,
    invocations: Recorder<Invocation>,
    rejected: Recorder<String>,
}

/// The Lambda stand-in; stops when dropped.
pub struct LambdaServer {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<LambdaState>,
    _server: RunningServer,
}

impl LambdaServer {
    /// Starts a server accepting requests SigV4-signed for service `lambda` (any region) with
    /// these credentials, answering each invocation with `handler`'s reply.
    pub async fn start(
        access_key_id: &str,
        secret_access_key: &str,
        handler: impl Fn(&Invocation) -> LambdaReply + Send + Sync + 'static,
    ) -> Self {
        Self::start_with_token(access_key_id, secret_access_key, None, handler).await
    }

    /// Like [`LambdaServer::start`], but with temporary credentials: requests must carry
    /// `X-Amz-Security-Token` equal to `session_token` when it is given, and none otherwise.
    pub async fn start_with_token(
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<&str>,
        handler: impl Fn(&Invocation) -> LambdaReply + Send + Sync + 'static,
    ) -> Self {
        let listener = bind_local().await;
        let addr = listener
            .local_addr()
            .expect("local address of a bound listener");
        let state = Arc::new(LambdaState {
            credentials: AcceptedCredentials {
                access_key_id: access_key_id.to_owned(),
                secret_access_key: secret_access_key.to_owned(),
                session_token: session_token.map(str::to_owned),
            },
            handler: Box::new(handler),
            invocations: Recorder::default(),
            rejected: Recorder::default(),
        });
        let shared = Arc::clone(&state);
        let server = RunningServer::spawn(listener, Arc::new(AtomicUsize::new(0)), move |req| {
            let state = Arc::clone(&shared);
            async move { state.answer(req).await }
        });
        Self {
            addr,
            state,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT`, for `[aws.endpoints] lambda`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every accepted invocation so far.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.state.invocations.all()
    }

    /// Waits (at most [`crate::PATIENCE`]) until at least `n` invocations were accepted, then
    /// returns all of them; panics if they were not.
    pub async fn wait_for_invocations(&self, n: usize) -> Vec<Invocation> {
        self.state
            .invocations
            .wait_for(n, "Lambda invocations")
            .await
    }

    /// Why each refused request (bad or missing signature, unknown key, ...) was refused.
    pub fn rejected(&self) -> Vec<String> {
        self.state.rejected.all()
    }
}

// === impl LambdaState ===

impl LambdaState {
    /// Authenticates, routes and answers one request.
    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                return user_error(400, "InvalidRequestContentException", &e.to_string());
            }
        };
        if let Err(refusal) = self.authenticate(&parts, &body) {
            self.rejected.push(refusal.reason.clone());
            return lambda_response(
                403,
                &refusal.json_body(),
                &[("x-amzn-ErrorType", refusal.error_type)],
            );
        }
        let Some(function) = function_name(&parts) else {
            return user_error(
                404,
                "ResourceNotFoundException",
                &format!("No such operation: {} {}", parts.method, parts.uri.path()),
            );
        };
        if let Some(kind) = parts.headers.get("x-amz-invocation-type") {
            if kind.as_bytes() != b"RequestResponse" {
                let kind = String::from_utf8_lossy(kind.as_bytes());
                return user_error(
                    400,
                    "InvalidParameterValueException",
                    &format!("this stand-in only serves RequestResponse invocations, not '{kind}'"),
                );
            }
        }
        let event: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(event) => event,
            Err(e) => {
                return user_error(
                    400,
                    "InvalidRequestContentException",
                    &format!("Could not parse request body into json: {e}"),
                );
            }
        };
        let invocation = Invocation {
            function,
            qualifier: qualifier(parts.uri.query()),
            event,
            headers: header_list(&parts.headers),
        };
        self.invocations.push(invocation.clone());
        let mut reply = (self.handler)(&invocation);
        while let LambdaReply::Delay(delay, inner) = reply {
            tokio::time::sleep(delay).await;
            reply = *inner;
        }
        match reply {
            LambdaReply::Ok(payload) => lambda_response(200, &json_bytes(&payload), &[]),
            LambdaReply::FunctionError(payload) => lambda_response(
                200,
                &json_bytes(&payload),
                &[("X-Amz-Function-Error", "Unhandled")],
            ),
            LambdaReply::Raw(status, bytes) => lambda_response(status, &bytes, &[]),
            LambdaReply::Delay(..) => unreachable!("delays are unwrapped above"),
        }
    }

    /// Checks the request's SigV4 signature by signing it again with `aws-sigv4`.
    fn authenticate(&self, parts: &Parts, body: &[u8]) -> Result<(), Refusal> {
        let expected = &self.credentials;
        let Some(authorization) = parts.headers.get(http::header::AUTHORIZATION) else {
            return Err(Refusal::missing_token("no Authorization header"));
        };
        let authorization = authorization
            .to_str()
            .map_err(|_| Refusal::signature("Authorization header is not ASCII"))?;
        let auth = AuthorizationHeader::parse(authorization)?;
        if auth.access_key_id != expected.access_key_id {
            return Err(Refusal::unrecognized(format!(
                "unknown access key id '{}'",
                auth.access_key_id
            )));
        }
        if auth.service != SERVICE {
            return Err(Refusal::signature(format!(
                "Credential should be scoped to correct service: '{SERVICE}', not '{}'",
                auth.service
            )));
        }
        for required in ["host", "x-amz-date"] {
            if !auth.signed_headers.iter().any(|h| h == required) {
                return Err(Refusal::signature(format!(
                    "'{required}' must be a signed header; SignedHeaders={}",
                    auth.signed_headers.join(";")
                )));
            }
        }

        let amz_date = header_str(parts, "x-amz-date")?
            .ok_or_else(|| Refusal::signature("no X-Amz-Date header"))?;
        let signed_at = parse_amz_date(amz_date)
            .ok_or_else(|| Refusal::signature(format!("X-Amz-Date '{amz_date}' is malformed")))?;
        if !amz_date.starts_with(&auth.date) || auth.date.len() != 8 {
            return Err(Refusal::signature(format!(
                "credential scope date '{}' does not match X-Amz-Date '{amz_date}'",
                auth.date
            )));
        }
        let now = SystemTime::now();
        let skew = now
            .duration_since(signed_at)
            .or_else(|_| signed_at.duration_since(now))
            .unwrap_or(Duration::MAX);
        if skew > CLOCK_SKEW {
            return Err(Refusal::signature(format!(
                "Signature expired: X-Amz-Date {amz_date} is more than 15 minutes from now"
            )));
        }

        let token = header_str(parts, "x-amz-security-token")?;
        let token_ok = match (token, expected.session_token.as_deref()) {
            (None, None) => true,
            (Some(got), Some(want)) => bool::from(got.as_bytes().ct_eq(want.as_bytes())),
            _ => false,
        };
        if !token_ok {
            return Err(Refusal::unrecognized(
                "X-Amz-Security-Token missing, unexpected or wrong",
            ));
        }

        let signs_content_sha = auth
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-content-sha256");
        if let Some(claimed) = header_str(parts, "x-amz-content-sha256")? {
            let actual = format!("{:x}", Sha256::digest(body));
            if claimed != actual {
                return Err(Refusal::signature(format!(
                    "x-amz-content-sha256 '{claimed}' is not the body's hash {actual}"
                )));
            }
        }

        // The signer adds x-amz-date, x-amz-security-token and x-amz-content-sha256 itself;
        // every other signed header is passed as received.
        let mut signable_headers = Vec::new();
        for name in &auth.signed_headers {
            if matches!(
                name.as_str(),
                "x-amz-date" | "x-amz-security-token" | "x-amz-content-sha256"
            ) {
                continue;
            }
            let mut present = false;
            for value in parts.headers.get_all(name.as_str()) {
                let value = value
                    .to_str()
                    .map_err(|_| Refusal::signature(format!("header '{name}' is not ASCII")))?;
                signable_headers.push((name.as_str(), value));
                present = true;
            }
            if !present {
                return Err(Refusal::signature(format!(
                    "signed header '{name}' is not in the request"
                )));
            }
        }
        let signs_token = auth
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-security-token");
        let identity = Credentials::new(
            &expected.access_key_id,
            &expected.secret_access_key,
            token.filter(|_| signs_token).map(str::to_owned),
            None,
            "switchboard-testkit",
        )
        .into();
        let mut settings = SigningSettings::default();
        settings.excluded_headers = None;
        settings.payload_checksum_kind = if signs_content_sha {
            PayloadChecksumKind::XAmzSha256
        } else {
            PayloadChecksumKind::NoHeader
        };
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&auth.region)
            .name(SERVICE)
            .time(signed_at)
            .settings(settings)
            .build()
            .map_err(|e| Refusal::signature(format!("cannot build signing parameters: {e}")))?
            .into();
        let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let signable = SignableRequest::new(
            parts.method.as_str(),
            format!("http://localhost{path_and_query}"),
            signable_headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| Refusal::signature(format!("request cannot be signed: {e}")))?;
        let computed = sign(signable, &params)
            .map_err(|e| Refusal::signature(format!("request cannot be signed: {e}")))?;
        if !bool::from(
            computed
                .signature()
                .as_bytes()
                .ct_eq(auth.signature.as_bytes()),
        ) {
            return Err(Refusal::signature(
                "The request signature we calculated does not match the signature you provided",
            ));
        }
        Ok(())
    }
}

// === impl AuthorizationHeader ===

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..`.
struct AuthorizationHeader {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

impl AuthorizationHeader {
    fn parse(header: &str) -> Result<Self, Refusal> {
        let (algorithm, rest) = header.split_once(' ').unwrap_or((header, ""));
        if algorithm != ALGORITHM {
            return Err(Refusal::signature(format!(
                "unsupported algorithm '{algorithm}', expected {ALGORITHM}"
            )));
        }
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for field in rest.split(',') {
            match field.trim().split_once('=') {
                Some(("Credential", v)) => credential = Some(v),
                Some(("SignedHeaders", v)) => signed_headers = Some(v),
                Some(("Signature", v)) => signature = Some(v),
                _ => {}
            }
        }
        let (Some(credential), Some(signed_headers), Some(signature)) =
            (credential, signed_headers, signature)
        else {
            return Err(Refusal::signature(
                "Authorization header requires Credential, SignedHeaders and Signature",
            ));
        };
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
            return Err(Refusal::signature(format!(
                "malformed credential scope '{credential}'"
            )));
        };
        Ok(Self {
            access_key_id: access_key_id.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
            signature: signature.to_owned(),
        })
    }
}

// === impl Refusal ===

/// Why a request was refused with 403, and how Lambda would say it.
struct Refusal {
    error_type: &'static str,
    message: &'static str,
    reason: String,
}

impl Refusal {
    fn missing_token(reason: impl Into<String>) -> Self {
        Self {
            error_type: "MissingAuthenticationTokenException",
            message: "Missing Authentication Token",
            reason: reason.into(),
        }
    }

    fn unrecognized(reason: impl Into<String>) -> Self {
        Self {
            error_type: "UnrecognizedClientException",
            message: "The security token included in the request is invalid.",
            reason: reason.into(),
        }
    }

    fn signature(reason: impl Into<String>) -> Self {
        Self {
            error_type: "InvalidSignatureException",
            message: "",
            reason: reason.into(),
        }
    }

    /// `{"message": ..}`; signature errors carry the reason, as AWS's messages do.
    fn json_body(&self) -> Vec<u8> {
        let message = if self.message.is_empty() {
            self.reason.as_str()
        } else {
            self.message
        };
        json_bytes(&serde_json::json!({ "message": message }))
    }
}

// === helpers ===

/// The decoded `{FunctionName}` of `POST /2015-03-31/functions/{FunctionName}/invocations`.
fn function_name(parts: &Parts) -> Option<String> {
    if parts.method != Method::POST {
        return None;
    }
    let name = parts
        .uri
        .path()
        .strip_prefix("/2015-03-31/functions/")?
        .strip_suffix("/invocations")?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    Some(percent_decode_str(name).decode_utf8_lossy().into_owned())
}

/// The decoded `Qualifier` query parameter.
fn qualifier(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "Qualifier")
        .map(|(_, value)| percent_decode_str(value).decode_utf8_lossy().into_owned())
}

/// A header's value as text; a non-ASCII value refuses the request.
fn header_str<'a>(parts: &'a Parts, name: &str) -> Result<Option<&'a str>, Refusal> {
    parts
        .headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| Refusal::signature(format!("header '{name}' is not ASCII")))
        })
        .transpose()
}

/// `YYYYMMDD'T'HHMMSS'Z'` as a time.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(number(4..6)?).ok()?).ok()?;
    let day = u8::try_from(number(6..8)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(number(9..11)?).ok()?,
        u8::try_from(number(11..13)?).ok()?,
        u8::try_from(number(13..15)?).ok()?,
    )
    .ok()?;
    Some(
        time::PrimitiveDateTime::new(date, clock)
            .assume_utc()
            .into(),
    )
}

/// A random request id shaped like Lambda's (a v4 UUID).
fn request_id() -> String {
    let n: u128 = rand::random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (n >> 96) as u32,
        (n >> 80) as u16,
        ((n >> 64) as u16) & 0x0fff,
        (((n >> 48) as u16) & 0x3fff) | 0x8000,
        n & 0xffff_ffff_ffff
    )
}

fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A Lambda error of the caller's making: `{"Type":"User","message":..}`.
fn user_error(status: u16, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json_bytes(&serde_json::json!({ "Type": "User", "message": message }));
    lambda_response(status, &body, &[("x-amzn-ErrorType", error_type)])
}

/// A response with the headers every Lambda answer carries.
fn lambda_response(status: u16, body: &[u8], extra: &[(&str, &str)]) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(status_code(status))
        .header("content-type", "application/json")
        .header("x-amzn-RequestId", request_id())
        .header("X-Amz-Executed-Version", "$LATEST");
    for (name, value) in extra {
        response = response.header(*name, *value);
    }
    response
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap_or_else(|_| {
            let mut fallback = Response::new(Full::new(Bytes::new()));
            *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::http_request::SigningParams;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use serde_json::json;

    const KEY: &str = "AKIDTESTKIT";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// What a client signs and sends.
    struct Call {
        path: String,
        body: Vec<u8>,
        headers: Vec<(&'static str, String)>,
        key: &'static str,
        secret: &'static str,
        token: Option<&'static str>,
        time: SystemTime,
        content_sha256: bool,
        region: &'static str,
        service: &'static str,
    }

    impl Call {
        fn invoke(function: &str, body: &str) -> Self {
            Self {
                path: format!("/2015-03-31/functions/{function}/invocations"),
                body: body.as_bytes().to_vec(),
                headers: vec![("content-type", "application/json".to_owned())],
                key: KEY,
                secret: SECRET,
                token: None,
                time: SystemTime::now(),
                content_sha256: false,
                region: "us-east-1",
                service: SERVICE,
            }
        }

        /// Signs with `aws-sigv4`, as an SDK client would.
        fn signed(&self, server: &LambdaServer) -> Request<Full<Bytes>> {
            let uri = format!("{}{}", server.endpoint(), self.path);
            let identity = Credentials::new(
                self.key,
                self.secret,
                self.token.map(str::to_owned),
                None,
                "test",
            )
            .into();
            let mut settings = SigningSettings::default();
            if self.content_sha256 {
                settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            }
            let params: SigningParams<'_> = v4::SigningParams::builder()
                .identity(&identity)
                .region(self.region)
                .name(self.service)
                .time(self.time)
                .settings(settings)
                .build()
                .expect("signing params")
                .into();
            let signable = SignableRequest::new(
                "POST",
                uri.clone(),
                self.headers.iter().map(|(n, v)| (*n, v.as_str())),
                SignableBody::Bytes(&self.body),
            )
            .expect("signable");
            let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
            let mut request = self.unsigned(server);
            instructions.apply_to_request_http1x(&mut request);
            request
        }

        fn unsigned(&self, server: &LambdaServer) -> Request<Full<Bytes>> {
            let mut request = Request::post(format!("{}{}", server.endpoint(), self.path));
            for (name, value) in &self.headers {
                request = request.header(*name, value.as_str());
            }
            request
                .body(Full::new(Bytes::from(self.body.clone())))
                .expect("request")
        }
    }

    struct Answer {
        status: u16,
        headers: http::HeaderMap,
        body: serde_json::Value,
    }

    async fn send(request: Request<Full<Bytes>>) -> Answer {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let response = client.request(request).await.expect("response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        });
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn echo_server() -> LambdaServer {
        LambdaServer::start(KEY, SECRET, |inv| {
            LambdaReply::Ok(json!({ "statusCode": 200, "body": inv.event.to_string() }))
        })
        .await
    }

    fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
        answer.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn signed_invocation_is_recorded_and_answered() {
        let server = echo_server().await;
        let answer = send(Call::invoke("chat-handler", r#"{"a": 1}"#).signed(&server)).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert_eq!(answer.body, json!({"statusCode": 200, "body": "{\"a\":1}"}));
        assert_eq!(header(&answer, "x-amz-executed-version"), Some("$LATEST"));
        let id = header(&answer, "x-amzn-requestid").expect("request id");
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(header(&answer, "x-amz-function-error"), None);

        let invocations = server.wait_for_invocations(1).await;
        assert_eq!(invocations[0].function, "chat-handler");
        assert_eq!(invocations[0].qualifier, None);
        assert_eq!(invocations[0].event, json!({"a": 1}));
        assert!(invocations[0]
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/json"));
        assert!(server.rejected().is_empty());
    }

    #[tokio::test]
    async fn arn_names_qualifiers_content_sha_and_extra_signed_headers_verify() {
        let server = echo_server().await;
        let mut call = Call::invoke(
            "arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Amy-fn",
            r#"{"k":"v"}"#,
        );
        call.path.push_str("?Qualifier=live");
        call.content_sha256 = true;
        call.region = "eu-west-1";
        call.headers
            .push(("x-amz-invocation-type", "RequestResponse".into()));
        call.headers
            .push(("x-amz-user-agent", "switchboard/0.1".into()));
        let answer = send(call.signed(&server)).await;
        assert_eq!(
            answer.status,
            200,
            "{:?} {:?}",
            answer.body,
            server.rejected()
        );
        let invocation = &server.invocations()[0];
        assert_eq!(
            invocation.function,
            "arn:aws:lambda:eu-west-1:123456789012:function:my-fn"
        );
        assert_eq!(invocation.qualifier.as_deref(), Some("live"));
    }

    #[tokio::test]
    async fn session_token_must_match_when_configured() {
        let server = LambdaServer::start_with_token(KEY, SECRET, Some("tok/en=="), |_| {
            LambdaReply::Ok(json!(null))
        })
        .await;
        let mut call = Call::invoke("f", "{}");
        call.token = Some("tok/en==");
        assert_eq!(send(call.signed(&server)).await.status, 200);

        call.token = Some("other");
        let answer = send(call.signed(&server)).await;
        assert_eq!(answer.status, 403);
        assert_eq!(
            header(&answer, "x-amzn-errortype"),
            Some("UnrecognizedClientException")
        );
        call.token = None;
        assert_eq!(send(call.signed(&server)).await.status, 403);
        assert_eq!(server.invocations().len(), 1);
        assert_eq!(server.rejected().len(), 2);
    }

    /// Sends `request`, expecting a 403 of `error_type` and no invocation.
    async fn assert_refused(
        server: &LambdaServer,
        request: Request<Full<Bytes>>,
        error_type: &str,
    ) {
        let before = server.rejected().len();
        let answer = send(request).await;
        assert_eq!(answer.status, 403, "{:?}", answer.body);
        assert_eq!(header(&answer, "x-amzn-errortype"), Some(error_type));
        assert!(answer.body["message"].is_string(), "{:?}", answer.body);
        assert!(header(&answer, "x-amzn-requestid").is_some());
        assert!(server.invocations().is_empty());
        assert_eq!(server.rejected().len(), before + 1);
    }

    #[tokio::test]
    async fn wrong_secret_is_refused() {
        let server = echo_server().await;
        let mut call = Call::invoke("f", "{}");
        call.secret = "not-the-secret";
        assert_refused(&server, call.signed(&server), "InvalidSignatureException").await;
        assert!(server.rejected()[0].contains("does not match"));
    }

    #[tokio::test]
    async fn unknown_access_key_is_refused() {
        let server = echo_server().await;
        let mut call = Call::invoke("f", "{}");
        call.key = "AKIDSOMEONEELSE";
        assert_refused(&server, call.signed(&server), "UnrecognizedClientException").await;
    }

    #[tokio::test]
    async fn tampered_body_is_refused() {
        let server = echo_server().await;
        for content_sha256 in [false, true] {
            let mut call = Call::invoke("f", r#"{"amount":1}"#);
            call.content_sha256 = content_sha256;
            let (parts, _) = call.signed(&server).into_parts();
            let tampered = Request::from_parts(parts, Full::new(Bytes::from(r#"{"amount":9}"#)));
            assert_refused(&server, tampered, "InvalidSignatureException").await;
        }
    }

    #[tokio::test]
    async fn tampered_path_and_wrong_service_are_refused() {
        let server = echo_server().await;
        let call = Call::invoke("f", "{}");
        let (mut parts, body) = call.signed(&server).into_parts();
        parts.uri = format!("{}/2015-03-31/functions/g/invocations", server.endpoint())
            .parse()
            .expect("uri");
        assert_refused(
            &server,
            Request::from_parts(parts, body),
            "InvalidSignatureException",
        )
        .await;

        let mut call = Call::invoke("f", "{}");
        call.service = "execute-api";
        assert_refused(&server, call.signed(&server), "InvalidSignatureException").await;
    }

    #[tokio::test]
    async fn stale_date_is_refused() {
        let server = echo_server().await;
        let mut call = Call::invoke("f", "{}");
        call.time = SystemTime::now() - Duration::from_secs(20 * 60);
        assert_refused(&server, call.signed(&server), "InvalidSignatureException").await;
        assert!(
            server.rejected()[0].contains("expired"),
            "{:?}",
            server.rejected()
        );
    }

    #[tokio::test]
    async fn unsigned_request_is_refused() {
        let server = echo_server().await;
        let call = Call::invoke("f", "{}");
        assert_refused(
            &server,
            call.unsigned(&server),
            "MissingAuthenticationTokenException",
        )
        .await;
    }

    #[tokio::test]
    async fn function_error_carries_the_header() {
        let server =
            LambdaServer::start(KEY, SECRET, |_| LambdaReply::unhandled("Error", "boom")).await;
        let answer = send(Call::invoke("f", "{}").signed(&server)).await;
        assert_eq!(answer.status, 200);
        assert_eq!(header(&answer, "x-amz-function-error"), Some("Unhandled"));
        assert_eq!(
            answer.body,
            json!({"errorMessage": "boom", "errorType": "Error"})
        );
    }

    #[tokio::test]
    async fn raw_and_delayed_replies() {
        let delay = Duration::from_millis(200);
        let server = LambdaServer::start(KEY, SECRET, move |inv| {
            if inv.function == "slow" {
                LambdaReply::Raw(200, b"not json".to_vec()).after(delay)
            } else {
                LambdaReply::Raw(429, br#"{"message":"Rate exceeded"}"#.to_vec())
            }
        })
        .await;
        let started = tokio::time::Instant::now();
        let answer = send(Call::invoke("slow", "{}").signed(&server)).await;
        assert!(started.elapsed() >= delay);
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, json!("not json"));
        let answer = send(Call::invoke("fast", "{}").signed(&server)).await;
        assert_eq!(answer.status, 429);
    }

    #[tokio::test]
    async fn invalid_json_unknown_path_and_async_invocation_are_client_errors() {
        let server = echo_server().await;
        let answer = send(Call::invoke("f", "{not json").signed(&server)).await;
        assert_eq!(answer.status, 400);
        assert_eq!(
            header(&answer, "x-amzn-errortype"),
            Some("InvalidRequestContentException")
        );
        assert_eq!(answer.body["Type"], "User");
        let message = answer.body["message"].as_str().expect("message");
        assert!(message.starts_with("Could not parse request body into json: "));

        let mut call = Call::invoke("f", "{}");
        call.path = "/2015-03-31/functions/f".into();
        let answer = send(call.signed(&server)).await;
        assert_eq!(answer.status, 404);
        assert_eq!(
            header(&answer, "x-amzn-errortype"),
            Some("ResourceNotFoundException")
        );

        let mut call = Call::invoke("f", "{}");
        call.headers.push(("x-amz-invocation-type", "Event".into()));
        let answer = send(call.signed(&server)).await;
        assert_eq!(answer.status, 400);
        assert_eq!(
            header(&answer, "x-amzn-errortype"),
            Some("InvalidParameterValueException")
        );
        assert!(server.invocations().is_empty());
        assert!(server.rejected().is_empty());
    }

    /// The gateway's own signer (switchboard-core) must satisfy this independent verifier,
    /// including the double encoding of an ARN's `%3A` in the path.
    #[tokio::test]
    async fn the_gateway_signer_is_accepted() {
        use switchboard_core::sigv4;
        let server = echo_server().await;
        let path =
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Aws/invocations";
        let body = r#"{"requestContext":{"routeKey":"$default"},"body":"hi  there"}"#;
        let host = server.addr.to_string();
        let payload_hash = format!("{:x}", Sha256::digest(body.as_bytes()));
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/json"),
            ("x-amz-invocation-type", "RequestResponse"),
        ];
        let added = sigv4::sign(
            &sigv4::CanonicalInput {
                method: "POST",
                raw_path: path,
                raw_query: "Qualifier=%24LATEST",
                headers: &headers,
                payload_hash: &payload_hash,
            },
            &sigv4::Credential {
                access_key_id: KEY,
                secret_access_key: SECRET,
                region: "us-east-1",
                service: SERVICE,
            },
            None,
            time::OffsetDateTime::now_utc(),
        );
        let mut request = Request::post(format!("{}{path}?Qualifier=%24LATEST", server.endpoint()));
        for (name, value) in headers.iter().skip(1) {
            request = request.header(*name, *value);
        }
        for (name, value) in &added {
            request = request.header(*name, value.as_str());
        }
        let request = request.body(Full::new(Bytes::from(body))).expect("request");
        let answer = send(request).await;
        assert_eq!(
            answer.status,
            200,
            "{:?} {:?}",
            answer.body,
            server.rejected()
        );
        let invocation = &server.invocations()[0];
        assert_eq!(
            invocation.function,
            "arn:aws:lambda:us-east-1:1:function:ws"
        );
        assert_eq!(invocation.qualifier.as_deref(), Some("$LATEST"));
    }

    #[test]
    fn amz_dates_parse() {
        let parsed = parse_amz_date("20150830T123600Z").expect("valid date");
        let expected = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        assert_eq!(parsed, expected);
        assert!(parse_amz_date("2015-08-30T12:36:00Z").is_none());
        assert!(parse_amz_date("20151330T123600Z").is_none());
    }
}
