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
    let (claim, index) = check_claim(req.headers, req.raw_query, signers, region, now)?;
    verify_signature(req, &claim, &signers[index])?;
    Ok((claim, index))
}

/// Everything that can be checked before the body is read: a well-formed signature by a
/// configured key, for `execute-api` in `region`, made within the clock skew (or an unexpired
/// presigned URL), with the session token the key requires. Callers that must read a body
/// refuse strangers here, before buffering anything.
pub fn check_claim(
    headers: &HeaderMap,
    raw_query: &str,
    signers: &[Signer<'_>],
    region: &str,
    now: OffsetDateTime,
) -> Result<(SignatureClaim, usize), SigV4Failure> {
    check_claim_for(headers, raw_query, signers, (EXECUTE_API, region), now)
}

/// The service of `@connections` and `AWS_IAM` routes.
pub const EXECUTE_API: &str = "execute-api";

/// [`check_claim`] for a signature scoped to `(service, region)`: the control plane's callers
/// sign for `apigateway`.
pub fn check_claim_for(
    headers: &HeaderMap,
    raw_query: &str,
    signers: &[Signer<'_>],
    (service, region): (&str, &str),
    now: OffsetDateTime,
) -> Result<(SignatureClaim, usize), SigV4Failure> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let claim = sigv4::parse_claim(header("authorization"), header("x-amz-date"), raw_query)
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
    if claim.service != service {
        return Err(SigV4Failure::Rejected(format!(
            "Credential should be scoped to correct service: '{service}', not '{}'",
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
    check_time(&claim, signed_at, now)?;
    if let Some(token) = signer.session_token {
        let sent = header("x-amz-security-token")
            .map(str::to_owned)
            .or_else(|| {
                sigv4::query_pairs(raw_query)
                    .into_iter()
                    .find(|(k, _)| k == "X-Amz-Security-Token")
                    .map(|(_, v)| v)
            });
        if !sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(token.as_bytes()))) {
            return Err(SigV4Failure::UnknownKey);
        }
    }
    // A header-signed request must sign its body: with `UNSIGNED-PAYLOAD` a captured
    // signature could carry any other body. Only presigned URLs may leave it unsigned.
    if !claim.presigned && header("x-amz-content-sha256") == Some(sigv4::UNSIGNED_PAYLOAD) {
        return Err(SigV4Failure::Rejected(
            "UNSIGNED-PAYLOAD is accepted only in presigned URLs; sign the payload".into(),
        ));
    }
    Ok((claim, index))
}

/// Presigned: within `X-Amz-Expires` (at most 7 days). Header-signed: within 15 minutes
/// either side of our clock, worded as AWS words each side.
fn check_time(
    claim: &SignatureClaim,
    signed_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), SigV4Failure> {
    if claim.presigned {
        let expires = Duration::seconds(claim.expires.unwrap_or(900).min(604_800) as i64);
        // Differences, not `signed_at + expires`: a date near year 9999 plus the expiry is
        // past the last representable date, and that addition panicked (fuzz/fuzz_targets/sigv4.rs).
        if now - signed_at > expires || signed_at - now > MAX_SKEW {
            return Err(SigV4Failure::Rejected("Signature expired".into()));
        }
    } else if now - signed_at > MAX_SKEW {
        return Err(SigV4Failure::Rejected(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            claim.amz_date,
            sigv4::amz_date(now - MAX_SKEW),
            sigv4::amz_date(now)
        )));
    } else if signed_at - now > MAX_SKEW {
        return Err(SigV4Failure::Rejected(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            claim.amz_date,
            sigv4::amz_date(now + MAX_SKEW),
            sigv4::amz_date(now)
        )));
    }
    Ok(())
}

/// The signature itself, over the request and its whole body, for a claim that passed
/// [`check_claim`].
pub fn verify_signature(
    req: &SignedRequest<'_>,
    claim: &SignatureClaim,
    signer: &Signer<'_>,
) -> Result<(), SigV4Failure> {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
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
        sigv4::verify(&input, claim, signer.secret_access_key)
    });
    if matches {
        Ok(())
    } else {
        Err(SigV4Failure::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::sigv4::{sign, Credential};
    use time::macros::datetime;

    const KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SIGNED_AT: OffsetDateTime = datetime!(2024-02-19 07:11:42 UTC);

    /// A header-signed POST of `body`, with `content_sha` as `x-amz-content-sha256` if given.
    fn signed_post(body: &[u8], content_sha: Option<&str>) -> HeaderMap {
        let hash = content_sha
            .map(str::to_owned)
            .unwrap_or_else(|| sigv4::sha256_hex(body));
        let mut headers = vec![("host", "127.0.0.1:8081")];
        if let Some(sha) = content_sha {
            headers.push(("x-amz-content-sha256", sha));
        }
        let input = CanonicalInput {
            method: "POST",
            raw_path: "/dev/@connections/abc%3D",
            raw_query: "",
            headers: &headers,
            payload_hash: &hash,
        };
        let cred = Credential {
            access_key_id: KEY,
            secret_access_key: SECRET,
            region: "us-east-1",
            service: "execute-api",
        };
        let mut map = HeaderMap::new();
        for (name, value) in headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .chain(
                sign(&input, &cred, None, SIGNED_AT)
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), v)),
            )
        {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn check(headers: &HeaderMap, body: &[u8], now: OffsetDateTime) -> Result<(), SigV4Failure> {
        let signers = [Signer {
            access_key_id: KEY,
            secret_access_key: SECRET,
            session_token: None,
        }];
        let req = SignedRequest {
            method: "POST",
            raw_path: "/dev/@connections/abc%3D",
            raw_query: "",
            headers,
            body,
        };
        verify(&req, &signers, "us-east-1", now).map(|_| ())
    }

    #[test]
    fn a_signed_body_verifies_and_another_body_does_not() {
        let headers = signed_post(b"hello", None);
        assert_eq!(check(&headers, b"hello", SIGNED_AT), Ok(()));
        assert_eq!(
            check(&headers, b"HELLO", SIGNED_AT),
            Err(SigV4Failure::Mismatch)
        );
    }

    #[test]
    fn unsigned_payload_is_refused_on_header_signed_requests() {
        // Validly signed, but over the literal `UNSIGNED-PAYLOAD`: any body would pass.
        let headers = signed_post(b"hello", Some(sigv4::UNSIGNED_PAYLOAD));
        match check(&headers, b"anything else", SIGNED_AT) {
            Err(SigV4Failure::Rejected(why)) => assert!(why.contains("presigned"), "{why}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_presigned_url_dated_at_the_end_of_time_is_refused_without_panicking() {
        // Any caller who knows an access key id (not its secret) could send this.
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
            &X-Amz-Credential=AKIDEXAMPLE%2F99991231%2Fus-east-1%2Fexecute-api%2Faws4_request\
            &X-Amz-Date=99991231T235959Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host\
            &X-Amz-Signature=00";
        let signers = [Signer {
            access_key_id: KEY,
            secret_access_key: SECRET,
            session_token: None,
        }];
        match check_claim(&HeaderMap::new(), query, &signers, "us-east-1", SIGNED_AT) {
            Err(SigV4Failure::Rejected(why)) => assert_eq!(why, "Signature expired"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn stale_and_future_dates_are_worded_as_aws_words_them() {
        let headers = signed_post(b"", None);
        let late = SIGNED_AT + Duration::minutes(16);
        match check(&headers, b"", late) {
            Err(SigV4Failure::Rejected(why)) => assert_eq!(
                why,
                "Signature expired: 20240219T071142Z is now earlier than 20240219T071242Z (20240219T072742Z - 15 min.)"
            ),
            other => panic!("{other:?}"),
        }
        let early = SIGNED_AT - Duration::minutes(16);
        match check(&headers, b"", early) {
            Err(SigV4Failure::Rejected(why)) => assert_eq!(
                why,
                "Signature not yet current: 20240219T071142Z is still later than 20240219T071042Z (20240219T065542Z + 15 min.)"
            ),
            other => panic!("{other:?}"),
        }
    }
}
