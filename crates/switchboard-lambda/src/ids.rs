//! Identifiers Lambda hands a function: request ids, X-Ray trace headers, log stream names.

use rand::Rng;
use std::fmt::Write as _;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A random version-4 UUID (`8-4-4-4-12` hex), the shape of Lambda's request ids.
pub fn request_id() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `Root=1-{epoch seconds, 8 hex}-{24 hex};Parent={16 hex};Sampled=0`, an X-Ray trace header
/// for an unsampled request.
pub fn trace_id(epoch_seconds: u64) -> String {
    let root: [u8; 12] = rand::rng().random();
    let parent: [u8; 8] = rand::rng().random();
    format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        epoch_seconds as u32,
        hex(&root),
        hex(&parent)
    )
}

/// `YYYY/MM/DD/[$LATEST]{32 hex}`, the log stream of one execution environment.
pub fn log_stream_name(date: time::Date) -> String {
    let tag: [u8; 16] = rand::rng().random();
    format!(
        "{:04}/{:02}/{:02}/[$LATEST]{}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        hex(&tag)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_version_4_uuids() {
        let id = request_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_ne!(request_id(), id);
    }

    #[test]
    fn trace_headers_and_log_streams_have_lambdas_shape() {
        let trace = trace_id(0x5f84c7a0);
        assert!(trace.starts_with("Root=1-5f84c7a0-"), "{trace}");
        assert!(trace.ends_with(";Sampled=0"));
        assert_eq!(
            trace.len(),
            "Root=1-5f84c7a0-".len() + 24 + ";Parent=".len() + 16 + ";Sampled=0".len()
        );
        let date = time::macros::date!(2026 - 03 - 07);
        let stream = log_stream_name(date);
        assert!(stream.starts_with("2026/03/07/[$LATEST]"), "{stream}");
        assert_eq!(stream.len(), "2026/03/07/[$LATEST]".len() + 32);
    }
}
