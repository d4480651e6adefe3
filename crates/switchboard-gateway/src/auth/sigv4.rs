//! Verifying SigV4-signed requests (service `execute-api`), shared by the management API and
//! `AWS_IAM` upgrades: one canonicalisation, one clock rule, constant-time comparisons.

use http::HeaderMap;
use subtle::ConstantTimeEq;
use switchboard_core::sigv4::{self, CanonicalInput, SigV4Error, SignatureClaim};
use time::{Duration, OffsetDateTime};

/// How far a request's `X-Amz-Date` may be from ours.
pub const MAX_SKEW: Duration = Duration::minutes(15);

/// Why a signed request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigV4Failure {
    /// No signature at all.
    Missing,
    /// A signature that is not well-formed.
    Malformed(String),
    /// An access key nobody configured (or a session token that does not match).
    UnknownKey,
    /// Wrong service or region in the credential scope, or a stale date.
    Rejected(String),
    /// The signature does not match the request.
    Mismatch,
}

/// A key pair a signature may be made with.
pub struct Signer<'a> {
    /// Access key id.
    pub access_key_id: &'a str,
    /// Secret access key.
    pub secret_access_key: &'a str,
    /// Session token the request must carry, if any.
    pub session_token: Option<&'a str>,
}

/// The parts of a request a signature covers.
pub struct SignedRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path exactly as sent.
    pub raw_path: &'a str,
    /// Query exactly as sent.
    pub raw_query: &'a str,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The whole body.
    pub body: &'a [u8],
}

/// Verifies `req`, signed for `execute-api` in `region`, with one of `signers`. Returns the
/// claim and the index of the signer that matched.
pub fn verify(
    req: &SignedRequest<'_>,
    signers: &[Signer<'_>],
    region: &str,
    now: OffsetDateTime,
) -> Result<(SignatureClaim, usize), SigV4Failure> {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    let claim = sigv4::parse_claim(header("authorization"), header("x-amz-date"), req.raw_query)
        .map_err(|e| match e {
            SigV4Error::Missing => SigV4Failure::Missing,
            SigV4Error::Malformed(why) => SigV4Failure::Malformed(format!(
                "Authorization header requires a valid AWS4-HMAC-SHA256 signature ({why})"
            )),
        })?;
    let index = signers
        .iter()
        .position(|s| {
            bool::from(
                s.access_key_id
                    .as_bytes()
                    .ct_eq(claim.access_key_id.as_bytes()),
            )
        })
        .ok_or(SigV4Failure::UnknownKey)?;
    let signer = &signers[index];
    if claim.service != "execute-api" {
        return Err(SigV4Failure::Rejected(format!(
            "Credential should be scoped to correct service: 'execute-api', not '{}'",
            claim.service
        )));
    }
    if claim.region != region {
        return Err(SigV4Failure::Rejected(format!(
            "Credential should be scoped to a valid region, not '{}' (this gateway's region is '{region}')",
            claim.region
        )));
    }
    let signed_at = sigv4::parse_amz_date(&claim.amz_date)
        .ok_or_else(|| SigV4Failure::Rejected("X-Amz-Date is not a valid date".into()))?;
    if claim.presigned {
        let expires = Duration::seconds(claim.expires.unwrap_or(900).min(604_800) as i64);
        if now > signed_at + expires || signed_at - now > MAX_SKEW {
            return Err(SigV4Failure::Rejected("Signature expired".into()));
        }
    } else if (now - signed_at).abs() > MAX_SKEW {
        return Err(SigV4Failure::Rejected(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            claim.amz_date,
            sigv4::amz_date(now - MAX_SKEW),
            sigv4::amz_date(now)
        )));
    }
    if let Some(token) = signer.session_token {
        let sent = header("x-amz-security-token")
            .map(str::to_owned)
            .or_else(|| {
                sigv4::query_pairs(req.raw_query)
                    .into_iter()
                    .find(|(k, _)| k == "X-Amz-Security-Token")
                    .map(|(_, v)| v)
            });
        if !sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(token.as_bytes()))) {
            return Err(SigV4Failure::UnknownKey);
        }
    }
    let body_hash = sigv4::sha256_hex(req.body);
    // Presigned URLs carry no hash: botocore signs the empty body's hash, others
    // `UNSIGNED-PAYLOAD`; either is accepted.
    let payload_hashes: Vec<String> = match header("x-amz-content-sha256") {
        Some(h) => vec![h.to_owned()],
        None if claim.presigned => vec![body_hash.clone(), sigv4::UNSIGNED_PAYLOAD.to_owned()],
        None => vec![body_hash.clone()],
    };
    // A signed hash that does not match the body is a tampered body.
    if let [only] = payload_hashes.as_slice() {
        if only != sigv4::UNSIGNED_PAYLOAD && *only != body_hash {
            return Err(SigV4Failure::Mismatch);
        }
    }
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v)))
        .collect();
    let matches = payload_hashes.iter().any(|payload_hash| {
        let input = CanonicalInput {
            method: req.method,
            raw_path: req.raw_path,
            raw_query: req.raw_query,
            headers: &headers,
            payload_hash,
        };
        sigv4::verify(&input, &claim, signer.secret_access_key)
    });
    if matches {
        Ok((claim, index))
    } else {
        Err(SigV4Failure::Mismatch)
    }
}
