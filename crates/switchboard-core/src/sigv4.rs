//! AWS Signature Version 4: signing outbound requests (Lambda, AWS services) and verifying
//! inbound ones (the management API, `AWS_IAM` upgrades). One canonicalisation serves both, so
//! what we sign and what we accept cannot drift apart.
//!
//! The canonical URI follows botocore for every service but S3 (docs/behaviour.md §7.4): the path *as sent*
//! is URI-encoded once more, so `/prod/@connections/abc%3D` is signed as
//! `/prod/%40connections/abc%253D`.

use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm SigV4 defines.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// `x-amz-content-sha256` value for presigned URLs and unsigned bodies.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The parts of a request that the signature covers.
#[derive(Debug, Clone)]
pub struct CanonicalInput<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The path exactly as sent on the request line (still percent-encoded).
    pub raw_path: &'a str,
    /// The query string as sent, without `?`.
    pub raw_query: &'a str,
    /// Every request header (name, value); only the signed ones are used.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    pub payload_hash: &'a str,
}

/// Credential scope and key of a signature.
#[derive(Debug, Clone)]
pub struct Credential<'a> {
    /// Access key id.
    pub access_key_id: &'a str,
    /// Secret access key.
    pub secret_access_key: &'a str,
    /// Region of the scope.
    pub region: &'a str,
    /// Service of the scope (`execute-api`, `lambda`, `dynamodb`, …).
    pub service: &'a str,
}

/// What a parsed signature claims (from an `Authorization` header or a presigned query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureClaim {
    /// Access key id of the credential.
    pub access_key_id: String,
    /// `YYYYMMDD` of the scope.
    pub scope_date: String,
    /// Region of the scope.
    pub region: String,
    /// Service of the scope.
    pub service: String,
    /// `X-Amz-Date`, `YYYYMMDD'T'HHMMSS'Z'`.
    pub amz_date: String,
    /// Lowercase signed header names, in order.
    pub signed_headers: Vec<String>,
    /// Hex signature.
    pub signature: String,
    /// `X-Amz-Expires` of a presigned URL.
    pub expires: Option<u64>,
    /// True when it came from the query string.
    pub presigned: bool,
}

/// Why a signature cannot even be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No `Authorization` header and no presigned query.
    #[error("missing authentication token")]
    Missing,
    /// Present but not well-formed.
    #[error("malformed signature: {0}")]
    Malformed(&'static str),
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// `YYYYMMDD'T'HHMMSS'Z'` for `t`.
pub fn amz_date(t: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses an `X-Amz-Date` value.
pub fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let date = time::Date::from_calendar_date(
        num(0..4)? as i32,
        time::Month::try_from(num(4..6)? as u8).ok()?,
        num(6..8)? as u8,
    )
    .ok()?;
    let tod =
        time::Time::from_hms(num(9..11)? as u8, num(11..13)? as u8, num(13..15)? as u8).ok()?;
    Some(date.with_time(tod).assume_utc())
}

/// The canonical request (SigV4 task 1).
pub fn canonical_request(
    input: &CanonicalInput<'_>,
    signed_headers: &[String],
    skip_query: Option<&str>,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(input.method);
    out.push('\n');
    out.push_str(&canonical_uri(input.raw_path));
    out.push('\n');
    out.push_str(&canonical_query(input.raw_query, skip_query));
    out.push('\n');
    for name in signed_headers {
        let mut values = input
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| collapse_spaces(v));
        out.push_str(name);
        out.push(':');
        if let Some(first) = values.next() {
            out.push_str(&first);
            for v in values {
                out.push(',');
                out.push_str(&v);
            }
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(input.payload_hash);
    out
}

/// The signature of a canonical request.
pub fn signature(canonical: &str, amz_date: &str, cred: &Credential<'_>) -> String {
    let date = amz_date.get(..8).unwrap_or_default();
    let scope = format!("{date}/{}/{}/aws4_request", cred.region, cred.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let mut key = hmac(
        format!("AWS4{}", cred.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    key = hmac(&key, cred.region.as_bytes());
    key = hmac(&key, cred.service.as_bytes());
    key = hmac(&key, b"aws4_request");
    hex(&hmac(&key, string_to_sign.as_bytes()))
}

/// Headers to add to an outbound request so that it is signed: `X-Amz-Date`,
/// `X-Amz-Security-Token` (with a session token) and `Authorization`. `input.headers` must
/// already hold every header to sign (at least `host`).
pub fn sign(
    input: &CanonicalInput<'_>,
    cred: &Credential<'_>,
    session_token: Option<&str>,
    now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    let date = amz_date(now);
    let mut extra: Vec<(&'static str, String)> = vec![("x-amz-date", date.clone())];
    if let Some(token) = session_token {
        extra.push(("x-amz-security-token", token.to_owned()));
    }
    let mut all: Vec<(&str, &str)> = input.headers.to_vec();
    all.extend(extra.iter().map(|(n, v)| (*n, v.as_str())));
    let mut names: Vec<String> = all.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    names.sort();
    names.dedup();
    let full = CanonicalInput {
        headers: &all,
        ..input.clone()
    };
    let canonical = canonical_request(&full, &names, None);
    let sig = signature(&canonical, &date, cred);
    let scope_date = date.get(..8).unwrap_or_default();
    extra.push((
        "authorization",
        format!(
            "{ALGORITHM} Credential={}/{scope_date}/{}/{}/aws4_request, SignedHeaders={}, Signature={sig}",
            cred.access_key_id,
            cred.region,
            cred.service,
            names.join(";")
        ),
    ));
    extra
}

/// Reads the claim of a request: its `Authorization` header, else a presigned query.
pub fn parse_claim(
    authorization: Option<&str>,
    amz_date_header: Option<&str>,
    raw_query: &str,
) -> Result<SignatureClaim, SigV4Error> {
    if let Some(auth) = authorization {
        return parse_authorization(auth, amz_date_header);
    }
    let params = query_pairs(raw_query);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let Some(algorithm) = get("X-Amz-Algorithm") else {
        return Err(SigV4Error::Missing);
    };
    if algorithm != ALGORITHM {
        return Err(SigV4Error::Malformed("unsupported algorithm"));
    }
    let credential = get("X-Amz-Credential").ok_or(SigV4Error::Malformed("no X-Amz-Credential"))?;
    let (access_key_id, scope_date, region, service) = parse_scope(credential)?;
    Ok(SignatureClaim {
        access_key_id,
        scope_date,
        region,
        service,
        amz_date: get("X-Amz-Date")
            .ok_or(SigV4Error::Malformed("no X-Amz-Date"))?
            .to_owned(),
        signed_headers: get("X-Amz-SignedHeaders")
            .ok_or(SigV4Error::Malformed("no X-Amz-SignedHeaders"))?
            .split(';')
            .map(str::to_owned)
            .collect(),
        signature: get("X-Amz-Signature")
            .ok_or(SigV4Error::Malformed("no X-Amz-Signature"))?
            .to_owned(),
        expires: get("X-Amz-Expires").and_then(|e| e.parse().ok()),
        presigned: true,
    })
}

fn parse_authorization(auth: &str, amz_date: Option<&str>) -> Result<SignatureClaim, SigV4Error> {
    let rest = auth
        .strip_prefix(ALGORITHM)
        .ok_or(SigV4Error::Malformed("unsupported algorithm"))?;
    let (mut credential, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            sig = Some(v);
        }
    }
    let (access_key_id, scope_date, region, service) =
        parse_scope(credential.ok_or(SigV4Error::Malformed("no Credential"))?)?;
    Ok(SignatureClaim {
        access_key_id,
        scope_date,
        region,
        service,
        amz_date: amz_date
            .ok_or(SigV4Error::Malformed("no X-Amz-Date header"))?
            .to_owned(),
        signed_headers: signed
            .ok_or(SigV4Error::Malformed("no SignedHeaders"))?
            .split(';')
            .map(str::to_owned)
            .collect(),
        signature: sig.ok_or(SigV4Error::Malformed("no Signature"))?.to_owned(),
        expires: None,
        presigned: false,
    })
}

fn parse_scope(credential: &str) -> Result<(String, String, String, String), SigV4Error> {
    let mut parts = credential.rsplitn(5, '/');
    let terminator = parts.next();
    let service = parts.next();
    let region = parts.next();
    let date = parts.next();
    let key = parts.next();
    match (key, date, region, service, terminator) {
        (Some(k), Some(d), Some(r), Some(s), Some("aws4_request")) if !k.is_empty() => {
            Ok((k.to_owned(), d.to_owned(), r.to_owned(), s.to_owned()))
        }
        _ => Err(SigV4Error::Malformed("bad credential scope")),
    }
}

/// Checks a claim against the request and the secret, in constant time. `host` must be among
/// the signed headers, as every SDK signs it.
pub fn verify(input: &CanonicalInput<'_>, claim: &SignatureClaim, secret_access_key: &str) -> bool {
    if !claim.signed_headers.iter().any(|h| h == "host")
        || !claim.amz_date.starts_with(&claim.scope_date)
    {
        return false;
    }
    let skip = claim.presigned.then_some("X-Amz-Signature");
    let canonical = canonical_request(input, &claim.signed_headers, skip);
    let expected = signature(
        &canonical,
        &claim.amz_date,
        &Credential {
            access_key_id: &claim.access_key_id,
            secret_access_key,
            region: &claim.region,
            service: &claim.service,
        },
    );
    expected.as_bytes().ct_eq(claim.signature.as_bytes()).into()
}

/// botocore's canonical URI: normalise dot segments, then encode the sent path once more.
fn canonical_uri(raw_path: &str) -> String {
    let path = if raw_path.is_empty() { "/" } else { raw_path };
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 8);
    for seg in &segments {
        out.push('/');
        uri_encode_into(&mut out, seg.as_bytes());
    }
    if out.is_empty() || (path.ends_with('/') && !segments.is_empty()) {
        out.push('/');
    }
    out
}

/// Sorted, strictly encoded query parameters, optionally without one key.
fn canonical_query(raw_query: &str, skip: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(raw_query)
        .into_iter()
        .filter(|(k, _)| Some(k.as_str()) != skip)
        .map(|(k, v)| {
            let (mut ek, mut ev) = (String::new(), String::new());
            uri_encode_into(&mut ek, k.as_bytes());
            uri_encode_into(&mut ev, v.as_bytes());
            (ek, ev)
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Decoded `key=value` pairs of a query string (`+` stays `+`, as SigV4 expects).
pub fn query_pairs(raw_query: &str) -> Vec<(String, String)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode_str(k).decode_utf8_lossy().into_owned(),
                percent_decode_str(v).decode_utf8_lossy().into_owned(),
            )
        })
        .collect()
}

/// Decoded pairs of a URL query as browsers and servers read it (`+` is a space).
pub fn query_pairs_plus(raw_query: &str) -> Vec<(String, String)> {
    query_pairs(&raw_query.replace('+', "%20"))
}

fn uri_encode_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn collapse_spaces(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    // The "get-vanilla-query-order-key-case" case of the AWS SigV4 test suite.
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn cred() -> Credential<'static> {
        Credential {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            region: "us-east-1",
            service: "service",
        }
    }

    #[test]
    fn aws_test_suite_get_vanilla_query_order() {
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        let input = CanonicalInput {
            method: "GET",
            raw_path: "/",
            raw_query: "Param2=value2&Param1=value1",
            headers: &headers,
            payload_hash: &sha256_hex(b""),
        };
        let names = vec!["host".to_owned(), "x-amz-date".to_owned()];
        let canonical = canonical_request(&input, &names, None);
        assert_eq!(
            canonical,
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            signature(&canonical, "20150830T123600Z", &cred()),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn aws_test_suite_get_vanilla() {
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        let input = CanonicalInput {
            method: "GET",
            raw_path: "/",
            raw_query: "",
            headers: &headers,
            payload_hash: &sha256_hex(b""),
        };
        let names = vec!["host".to_owned(), "x-amz-date".to_owned()];
        let sig = signature(
            &canonical_request(&input, &names, None),
            "20150830T123600Z",
            &cred(),
        );
        assert_eq!(
            sig,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn connection_paths_are_double_encoded_like_botocore() {
        assert_eq!(
            canonical_uri("/prod/@connections/abc%3D"),
            "/prod/%40connections/abc%253D"
        );
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a/./b/../c/"), "/a/c/");
    }

    #[test]
    fn sign_then_verify_round_trips_and_tampering_fails() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        let body_hash = sha256_hex(b"hello");
        let headers = [
            ("host", "127.0.0.1:9000"),
            ("content-type", "application/json"),
        ];
        let input = CanonicalInput {
            method: "POST",
            raw_path: "/2015-03-31/functions/f/invocations",
            raw_query: "",
            headers: &headers,
            payload_hash: &body_hash,
        };
        let added = sign(&input, &cred(), Some("token"), now);
        let auth = added
            .iter()
            .find(|(n, _)| *n == "authorization")
            .map(|(_, v)| v.as_str());
        let date = added
            .iter()
            .find(|(n, _)| *n == "x-amz-date")
            .map(|(_, v)| v.as_str());
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        all.extend(added.iter().map(|(n, v)| (*n, v.as_str())));
        let claim = parse_claim(auth, date, "").expect("claim");
        assert_eq!(claim.service, "service");
        let signed_input = CanonicalInput {
            headers: &all,
            ..input.clone()
        };
        assert!(verify(&signed_input, &claim, SECRET));
        assert!(!verify(&signed_input, &claim, "wrong"));
        let tampered = CanonicalInput {
            payload_hash: &sha256_hex(b"hellO"),
            ..signed_input.clone()
        };
        assert!(!verify(&tampered, &claim, SECRET));
    }

    #[test]
    fn amz_dates_round_trip() {
        let t = parse_amz_date("20150830T123600Z").expect("date");
        assert_eq!(amz_date(t), "20150830T123600Z");
        assert!(parse_amz_date("2015-08-30").is_none());
    }
}
