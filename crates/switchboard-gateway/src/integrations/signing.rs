//! SigV4-signed outbound requests to AWS services (Lambda's Invoke API, the JSON-protocol
//! services of `AWS` integrations), shared so every AWS call is signed the same way.

use crate::error::{ErrorKind, IntegrationError};
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

/// The access key id of [`local_endpoint_credentials`], recognisable in a local server's logs.
pub const LOCAL_ACCESS_KEY_ID: &str = "SWITCHBOARDLOCAL";

/// Fixed placeholder credentials for calls to an AWS endpoint on this machine (a local Lambda
/// runtime, an emulator) when none are configured. The request keeps the SigV4 shape every AWS
/// SDK sends, which local emulators expect; nothing secret is in it, and AWS itself never sees
/// it because only loopback endpoints get it (see [`is_loopback_endpoint`]).
pub fn local_endpoint_credentials() -> AwsCredentials {
    AwsCredentials {
        access_key_id: LOCAL_ACCESS_KEY_ID.to_owned(),
        secret_access_key: "switchboard-local-endpoint-placeholder".to_owned(),
        session_token: None,
    }
}

/// Whether `url` is an `http://` or `https://` URL whose host is a loopback address
/// (`127.0.0.0/8`, `[::1]`) or `localhost`.
pub fn is_loopback_endpoint(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return false;
    }
    let Some(host) = uri.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A `POST url` with `headers` and `body`, signed over `host`, those headers and the body.
pub fn signed_post(
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
    scope: &SigningScope<'_>,
) -> Result<Request<Full<Bytes>>, IntegrationError> {
    let target = |message: String| IntegrationError::internal(ErrorKind::Target, message);
    let uri: http::Uri = url
        .parse()
        .map_err(|e| target(format!("bad AWS endpoint {url}: {e}")))?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| target(format!("no host in the AWS endpoint {url}")))?;
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
        .map_err(|e| IntegrationError::internal(ErrorKind::Request, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_endpoints_count_as_local() {
        for local in [
            "http://127.0.0.1:9001",
            "http://127.8.9.1:80/",
            "https://localhost:3001",
            "http://LOCALHOST",
            "http://[::1]:9001",
        ] {
            assert!(is_loopback_endpoint(local), "{local}");
        }
        for remote in [
            "https://lambda.us-east-1.amazonaws.com",
            "http://10.0.0.1:9001",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "ftp://127.0.0.1",
            "127.0.0.1:9001",
            "",
        ] {
            assert!(!is_loopback_endpoint(remote), "{remote}");
        }
    }
}
