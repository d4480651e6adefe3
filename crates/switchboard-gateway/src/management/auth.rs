//! SigV4 on management calls (docs/behaviour.md §7.4): the shared verifier of [`crate::auth::sigv4`] with
//! the configured key pairs, its failures mapped to the error shapes the SDKs expect.

use super::errors::MgmtError;
use crate::auth::sigv4::{self, SigV4Failure, SignedRequest, Signer};
use http::request::Parts;
use switchboard_core::config::AwsCredentials;
use switchboard_core::sigv4::SignatureClaim;
use time::OffsetDateTime;

/// A request whose signature head passed: a configured key, the right scope, a fresh date.
pub struct Claimed<'c> {
    /// The parsed signature; its `access_key_id` names the caller.
    pub claim: SignatureClaim,
    signer: Signer<'c>,
}

/// The checks that need no body: strangers are refused before anything is buffered.
pub fn check_head<'c>(
    parts: &Parts,
    credentials: &'c [AwsCredentials],
    region: &str,
    now: OffsetDateTime,
) -> Result<Claimed<'c>, MgmtError> {
    check_head_for(parts, credentials, (sigv4::EXECUTE_API, region), now)
}

/// [`check_head`] for a signature scoped to `(service, region)`.
pub fn check_head_for<'c>(
    parts: &Parts,
    credentials: &'c [AwsCredentials],
    scope: (&str, &str),
    now: OffsetDateTime,
) -> Result<Claimed<'c>, MgmtError> {
    let signers: Vec<Signer<'c>> = credentials.iter().map(signer).collect();
    let query = parts.uri.query().unwrap_or("");
    let (claim, index) =
        sigv4::check_claim_for(&parts.headers, query, &signers, scope, now).map_err(refusal)?;
    Ok(Claimed {
        claim,
        signer: signer(&credentials[index]),
    })
}

/// The signature over the request and its whole `body`.
pub fn check_body(parts: &Parts, body: &[u8], claimed: &Claimed<'_>) -> Result<(), MgmtError> {
    let request = SignedRequest {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
    };
    sigv4::verify_signature(&request, &claimed.claim, &claimed.signer).map_err(refusal)
}

fn signer(c: &AwsCredentials) -> Signer<'_> {
    Signer {
        access_key_id: &c.access_key_id,
        secret_access_key: &c.secret_access_key,
        session_token: c.session_token.as_deref(),
    }
}

/// The error shapes the SDKs expect for each failure (docs/behaviour.md §7.3).
fn refusal(failure: SigV4Failure) -> MgmtError {
    match failure {
        SigV4Failure::Missing => MgmtError::MissingAuthenticationToken,
        SigV4Failure::UnknownKey => MgmtError::UnrecognizedClient,
        SigV4Failure::Malformed(why) | SigV4Failure::Rejected(why) => {
            MgmtError::InvalidSignature(why)
        }
        SigV4Failure::Mismatch => MgmtError::InvalidSignature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use time::macros::datetime;

    /// Verifies a signed management request; `body` is the whole request body.
    fn verify(
        parts: &Parts,
        body: &[u8],
        credentials: &[AwsCredentials],
        region: &str,
        now: OffsetDateTime,
    ) -> Result<(), MgmtError> {
        let claimed = check_head(parts, credentials, region, now)?;
        check_body(parts, body, &claimed)
    }

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
