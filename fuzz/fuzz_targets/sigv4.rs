//! SigV4 (docs/behaviour.md §7.4): the claim parser and the verifier the management API and
//! `AWS_IAM` upgrades use, on fuzzed requests; and a round trip: a request signed by our signer
//! verifies, and the same request with another signature or body does not.
//!
//! Input: `mode \0 method \0 path \0 query \0 headers \0 body \0 seconds`, headers one
//! `name: value` a line, `seconds` the signing time as Unix seconds. A mode starting with `s`
//! is the round trip; anything else verifies the request as sent.
#![no_main]

mod common;

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use switchboard_core::sigv4::{self, CanonicalInput, Credential};
use switchboard_gateway::auth::sigv4::{verify, SigV4Failure, SignedRequest, Signer};
use time::OffsetDateTime;

const KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";
/// 2026-01-01T00:00:00Z: the clock of the verifying side when the input names none.
const NOW: i64 = 1_767_225_600;
/// 9000-01-01T00:00:00Z.
const LAST_CLOCK: i64 = 221_845_392_000;

fn signers() -> [Signer<'static>; 2] {
    [
        Signer {
            access_key_id: KEY,
            secret_access_key: SECRET,
            session_token: None,
        },
        Signer {
            access_key_id: "ASIATEMPORARY",
            secret_access_key: SECRET,
            session_token: Some("token"),
        },
    ]
}

/// The headers a client could send: lines that make a valid name and value.
fn header_map(lines: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in lines.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// A clock reading from the input, within what a server's clock could say (1970 to 9000: the
/// verifier may add its 15 minutes of skew to it).
fn time_of(seconds: &str) -> OffsetDateTime {
    let seconds = seconds
        .trim()
        .parse::<i64>()
        .unwrap_or(NOW)
        .clamp(0, LAST_CLOCK);
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fuzz_target!(|data: &[u8]| {
    let [mode, method, path, query, headers, body, seconds] =
        <[String; 7]>::try_from(common::fields(data, 7)).unwrap_or_default();
    if mode.starts_with('s') {
        round_trip(
            &method,
            &path,
            &query,
            &headers,
            body.as_bytes(),
            time_of(&seconds),
        );
    } else {
        as_sent(
            &method,
            &path,
            &query,
            &headers,
            body.as_bytes(),
            time_of(&seconds),
        );
    }
});

/// Whatever the request holds, parsing and verifying answer without panicking.
fn as_sent(method: &str, path: &str, query: &str, headers: &str, body: &[u8], now: OffsetDateTime) {
    let map = header_map(headers);
    let header = |name: &str| map.get(name).and_then(|v| v.to_str().ok());
    if let Ok(claim) = sigv4::parse_claim(header("authorization"), header("x-amz-date"), query) {
        let _ = sigv4::parse_amz_date(&claim.amz_date);
        let pairs: Vec<(&str, &str)> = map
            .iter()
            .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v)))
            .collect();
        let input = CanonicalInput {
            method,
            raw_path: path,
            raw_query: query,
            headers: &pairs,
            payload_hash: sigv4::UNSIGNED_PAYLOAD,
        };
        let _ = sigv4::verify(&input, &claim, SECRET);
    }
    let request = SignedRequest {
        method,
        raw_path: path,
        raw_query: query,
        headers: &map,
        body,
    };
    let _ = verify(&request, &signers(), REGION, now);
}

/// Keeps what an HTTP client could put in a header value: visible ASCII and spaces.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect()
}

/// A request signed by our own signer verifies; another signature or body does not.
fn round_trip(
    method: &str,
    path: &str,
    query: &str,
    headers: &str,
    body: &[u8],
    now: OffsetDateTime,
) {
    // What `sign` needs to be meaningful: a method token, a host, and no header of its own.
    let method: String = method.chars().filter(char::is_ascii_uppercase).collect();
    let method = if method.is_empty() {
        "POST".to_owned()
    } else {
        method
    };
    let mut map = HeaderMap::new();
    for (name, value) in &header_map(headers) {
        let reserved =
            name.as_str().starts_with("x-amz-") || name == "authorization" || name == "host";
        if let (false, Ok(value)) = (
            reserved,
            HeaderValue::from_str(&printable(value.to_str().unwrap_or_default())),
        ) {
            map.append(name.clone(), value);
        }
    }
    map.insert(
        "host",
        HeaderValue::from_static("abc123.execute-api.us-east-1.amazonaws.com"),
    );
    let body_hash = sigv4::sha256_hex(body);
    let pairs: Vec<(String, String)> = map
        .iter()
        .filter_map(|(n, v)| {
            v.to_str()
                .ok()
                .map(|v| (n.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let input = CanonicalInput {
        method: &method,
        raw_path: path,
        raw_query: query,
        headers: &pairs,
        payload_hash: &body_hash,
    };
    let cred = Credential {
        access_key_id: KEY,
        secret_access_key: SECRET,
        region: REGION,
        service: "execute-api",
    };
    let mut signed = map.clone();
    for (name, value) in sigv4::sign(&input, &cred, None, now) {
        match HeaderValue::from_str(&value) {
            Ok(value) => {
                signed.insert(name, value);
            }
            Err(_) => panic!("sign produced an invalid {name} header: {value:?}"),
        }
    }
    signed.insert(
        "x-amz-content-sha256",
        HeaderValue::from_str(&body_hash).unwrap_or(HeaderValue::from_static("")),
    );
    let request = SignedRequest {
        method: &method,
        raw_path: path,
        raw_query: query,
        headers: &signed,
        body,
    };
    if let Err(e) = verify(&request, &signers(), REGION, now) {
        panic!("our own signature does not verify: {e:?}");
    }
    // Another body under the same signature is a mismatch.
    let other_body = [body, b"x"].concat();
    let tampered = SignedRequest {
        body: &other_body,
        ..request
    };
    assert_eq!(
        verify(&tampered, &signers(), REGION, now).map(|_| ()),
        Err(SigV4Failure::Mismatch),
        "another body verified"
    );
    // Another method under the same signature is a mismatch too.
    let other_method = format!("{method}X");
    let tampered = SignedRequest {
        method: &other_method,
        raw_path: path,
        raw_query: query,
        headers: &signed,
        body,
    };
    assert_eq!(
        verify(&tampered, &signers(), REGION, now).map(|_| ()),
        Err(SigV4Failure::Mismatch),
        "another method verified"
    );
}
