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
    let payload_hash = match header("x-amz-content-sha256") {
        Some(h) => h.to_owned(),
        None if claim.presigned => sigv4::UNSIGNED_PAYLOAD.to_owned(),
        None => sigv4::sha256_hex(body),
    };
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v)))
        .collect();
    let input = CanonicalInput {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query,
        headers: &headers,
        payload_hash: &payload_hash,
    };
    // A signed hash that does not match the body is a tampered body.
    if payload_hash != sigv4::UNSIGNED_PAYLOAD && payload_hash != sigv4::sha256_hex(body) {
        return Err(MgmtError::InvalidSignature(
            "The request body does not match x-amz-content-sha256".into(),
        ));
    }
    if sigv4::verify(&input, &claim, &cred.secret_access_key) {
        Ok(())
    } else {
        Err(MgmtError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        ))
    }
}
