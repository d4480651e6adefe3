//! SigV4-signed outbound requests to AWS services (Lambda's Invoke API, the JSON-protocol
//! services of `AWS` integrations), shared so every AWS call is signed the same way.

use crate::error::IntegrationError;
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use switchboard_core::config::AwsCredentials;
use switchboard_core::sigv4::{self, CanonicalInput, Credential};

/// Who signs, and for which service and region.
pub struct SigningScope<'a> {
    /// The key pair (and session token) to sign with.
    pub credentials: &'a AwsCredentials,
    /// The region in the credential scope.
    pub region: &'a str,
    /// The signing name of the service (`lambda`, `dynamodb`, `states`, ...).
    pub service: &'a str,
}

/// A `POST url` with `headers` and `body`, signed over `host`, those headers and the body.
pub fn signed_post(
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
    scope: &SigningScope<'_>,
) -> Result<Request<Full<Bytes>>, IntegrationError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| IntegrationError::Unreachable(format!("bad AWS endpoint {url}: {e}")))?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| IntegrationError::Unreachable(format!("no host in {url}")))?;
    let mut signed_headers: Vec<(&str, &str)> = vec![("host", host.as_str())];
    signed_headers.extend_from_slice(headers);
    let payload_hash = sigv4::sha256_hex(&body);
    let signature = sigv4::sign(
        &CanonicalInput {
            method: "POST",
            raw_path: uri.path(),
            raw_query: uri.query().unwrap_or_default(),
            headers: &signed_headers,
            payload_hash: &payload_hash,
        },
        &Credential {
            access_key_id: &scope.credentials.access_key_id,
            secret_access_key: &scope.credentials.secret_access_key,
            region: scope.region,
            service: scope.service,
        },
        scope.credentials.session_token.as_deref(),
        time::OffsetDateTime::now_utc(),
    );
    let mut request = Request::post(uri.clone());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    for (name, value) in &signature {
        request = request.header(*name, value.as_str());
    }
    request
        .body(Full::new(body))
        .map_err(|e| IntegrationError::Unreachable(e.to_string()))
}
