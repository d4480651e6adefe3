//! SigV4 on management calls (spec §7.4): service `execute-api`, the double-encoded canonical
//! path the SDKs sign, `X-Amz-Date` within 15 minutes, session tokens, several key pairs.

use super::errors::MgmtError;
use http::request::Parts;
use subtle::ConstantTimeEq;
use switchboard_core::config::AwsCredentials;
use switchboard_core::sigv4::{self, CanonicalInput, SigV4Error};
use time::{Duration, OffsetDateTime};

/// How far a request's date may be from ours.
const MAX_SKEW: Duration = Duration::minutes(15);

/// Verifies a signed management request; `body` is the whole request body.
pub fn verify(
    parts: &Parts,
    body: &[u8],
    credentials: &[AwsCredentials],
    region: &str,
    now: OffsetDateTime,
) -> Result<(), MgmtError> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let raw_query = parts.uri.query().unwrap_or("");
    let claim = sigv4::parse_claim(header("authorization"), header("x-amz-date"), raw_query)
        .map_err(|e| match e {
            SigV4Error::Missing => MgmtError::MissingAuthenticationToken,
            SigV4Error::Malformed(why) => MgmtError::InvalidSignature(format!(
                "Authorization header requires a valid AWS4-HMAC-SHA256 signature ({why})"
            )),
        })?;
    let Some(cred) = credentials.iter().find(|c| {
        bool::from(
            c.access_key_id
                .as_bytes()
                .ct_eq(claim.access_key_id.as_bytes()),
        )
    }) else {
        return Err(MgmtError::UnrecognizedClient);
    };
    if claim.service != "execute-api" {
        return Err(MgmtError::InvalidSignature(format!(
            "Credential should be scoped to correct service: 'execute-api', not '{}'",
            claim.service
        )));
    }
    if claim.region != region {
        return Err(MgmtError::InvalidSignature(format!(
            "Credential should be scoped to a valid region, not '{}' (this gateway's region is '{region}')",
            claim.region
        )));
    }
    let signed_at = sigv4::parse_amz_date(&claim.amz_date)
        .ok_or_else(|| MgmtError::InvalidSignature("X-Amz-Date is not a valid date".into()))?;
    if claim.presigned {
        let expires = Duration::seconds(claim.expires.unwrap_or(900).min(604_800) as i64);
        if now > signed_at + expires || signed_at - now > MAX_SKEW {
            return Err(MgmtError::InvalidSignature("Signature expired".into()));
        }
    } else if (now - signed_at).abs() > MAX_SKEW {
        return Err(MgmtError::InvalidSignature(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            claim.amz_date,
            sigv4::amz_date(now - MAX_SKEW),
            sigv4::amz_date(now)
        )));
    }
    if let Some(token) = &cred.session_token {
        let sent = header("x-amz-security-token").or_else(|| {
            raw_query
                .split('&')
                .find_map(|p| p.strip_prefix("X-Amz-Security-Token="))
        });
        let sent = sent.map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        });
        if !sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(token.as_bytes()))) {
            return Err(MgmtError::UnrecognizedClient);
        }
    }
    // Without `x-amz-content-sha256` the signer hashed the body itself. Presigned URLs are
    // signed either with `UNSIGNED-PAYLOAD` (S3 style) or, as botocore's `SigV4QueryAuth`
    // does for execute-api, with the hash of the (empty) body: accept both.
    let body_hash = sigv4::sha256_hex(body);
    let payload_hashes: Vec<String> = match header("x-amz-content-sha256") {
        Some(h) => vec![h.to_owned()],
        None if claim.presigned => vec![body_hash.clone(), sigv4::UNSIGNED_PAYLOAD.to_owned()],
        None => vec![body_hash.clone()],
    };
    // A signed hash that does not match the body is a tampered body.
    if let [only] = payload_hashes.as_slice() {
        if only != sigv4::UNSIGNED_PAYLOAD && *only != body_hash {
            return Err(MgmtError::InvalidSignature(
                "The request body does not match x-amz-content-sha256".into(),
            ));
        }
    }
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v)))
        .collect();
    let matches = payload_hashes.iter().any(|payload_hash| {
        let input = CanonicalInput {
            method: parts.method.as_str(),
            raw_path: parts.uri.path(),
            raw_query,
            headers: &headers,
            payload_hash,
        };
        sigv4::verify(&input, &claim, &cred.secret_access_key)
    });
    if matches {
        Ok(())
    } else {
        Err(MgmtError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::verify;
    use switchboard_core::config::AwsCredentials;
    use time::macros::datetime;

    /// Made by botocore's `SigV4QueryAuth` (execute-api, us-east-1, 2024-02-19T07:11:42Z,
    /// expires 60): it signs the SHA-256 of the empty body, not `UNSIGNED-PAYLOAD`.
    const BOTOCORE_PRESIGNED: &str = "/dev/@connections/abc%3D?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240219%2Fus-east-1%2Fexecute-api%2Faws4_request&X-Amz-Date=20240219T071142Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=94f8e8cb1b5bb2d1be20cf89ed27cd8afa3aced773e01d1da159206cdc2c3efe";

    fn parts(uri: &str) -> http::request::Parts {
        http::Request::get(uri)
            .header("host", "127.0.0.1:8081")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    fn creds() -> Vec<AwsCredentials> {
        vec![AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }]
    }

    #[test]
    fn botocore_presigned_url_is_accepted_within_its_expiry() {
        let now = datetime!(2024-02-19 07:12:00 UTC);
        assert_eq!(
            verify(&parts(BOTOCORE_PRESIGNED), b"", &creds(), "us-east-1", now),
            Ok(())
        );
        let late = datetime!(2024-02-19 07:13:00 UTC);
        assert!(verify(&parts(BOTOCORE_PRESIGNED), b"", &creds(), "us-east-1", late).is_err());
        let altered = BOTOCORE_PRESIGNED.replace("abc%3D", "abd%3D");
        assert!(verify(&parts(&altered), b"", &creds(), "us-east-1", now).is_err());
    }
}
