//! Identifiers in the shape API Gateway uses (docs/behaviour.md §1): 16 characters of URL-safe base64
//! carrying 11 random bytes, ending in one `=` pad, e.g. `L0SM9cOFvHcCIhw=`.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use rand::RngCore as _;
use std::fmt;

/// Random bytes behind an id.
const ID_BYTES: usize = 11;
/// Trailing bytes a `messageId` shares with its connection's id, as observed on AWS.
const SHARED_TAIL: usize = 5;

/// A 16-character AWS-style identifier (connection, request or message id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AwsId([u8; 16]);

impl AwsId {
    /// A fresh random id.
    pub fn random() -> Self {
        let mut raw = [0u8; ID_BYTES];
        rand::rng().fill_bytes(&mut raw);
        Self::encode(&raw)
    }

    /// A fresh `messageId` that ends like `connection_id`, as AWS's do.
    pub fn message_id_for(connection_id: &AwsId) -> Self {
        let mut raw = [0u8; ID_BYTES];
        rand::rng().fill_bytes(&mut raw[..ID_BYTES - SHARED_TAIL]);
        if let Some(tail) = connection_id.raw() {
            raw[ID_BYTES - SHARED_TAIL..].copy_from_slice(&tail[ID_BYTES - SHARED_TAIL..]);
        }
        Self::encode(&raw)
    }

    /// Parses an id as it appears in a URL (already percent-decoded).
    pub fn parse(text: &str) -> Option<Self> {
        let bytes: [u8; 16] = text.as_bytes().try_into().ok()?;
        let id = Self(bytes);
        id.raw().map(|_| id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Always ASCII: built from the base64 alphabet only.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    fn encode(raw: &[u8; ID_BYTES]) -> Self {
        let mut out = [0u8; 16];
        // 11 bytes always encode to exactly 16 characters with padding.
        let written = URL_SAFE.encode_slice(raw, &mut out).unwrap_or(0);
        debug_assert_eq!(written, 16);
        Self(out)
    }

    fn raw(&self) -> Option<[u8; ID_BYTES]> {
        let mut raw = [0u8; ID_BYTES + 1];
        let n = URL_SAFE.decode_slice(self.0, &mut raw).ok()?;
        (n == ID_BYTES).then(|| {
            let mut out = [0u8; ID_BYTES];
            out.copy_from_slice(&raw[..ID_BYTES]);
            out
        })
    }
}

impl fmt::Display for AwsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AwsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AwsId({})", self.as_str())
    }
}

/// A new `X-Amzn-Trace-Id` value, `Root=1-{epoch seconds hex}-{96 random bits hex}`.
pub fn trace_id(epoch_seconds: i64) -> String {
    let mut random = [0u8; 12];
    rand::rng().fill_bytes(&mut random);
    // Eight hex digits, as AWS writes them (epoch seconds fit until 2106).
    let seconds = epoch_seconds.clamp(0, i64::from(u32::MAX)) as u32;
    let mut id = String::with_capacity(40);
    id.push_str("Root=1-");
    push_hex(&mut id, &seconds.to_be_bytes());
    id.push('-');
    push_hex(&mut id, &random);
    id
}

/// A random (version 4) UUID in its 36-character text form, as API Gateway's
/// `x-amzn-RequestId`.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, group) in [&b[0..4], &b[4..6], &b[6..8], &b[8..10], &b[10..16]]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            id.push('-');
        }
        push_hex(&mut id, group);
    }
    id
}

/// Appends `bytes` as lowercase hex (no `format!` per byte: ids are made on hot paths).
fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_have_the_aws_shape() {
        let id = trace_id(1_764_000_000);
        let (root, random) = id.rsplit_once('-').expect("three parts");
        assert_eq!(root, format!("Root=1-{:08x}", 1_764_000_000u32));
        assert_eq!(random.len(), 24);
        assert!(random
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(trace_id(1), trace_id(1), "the random part differs");
        assert_eq!(&trace_id(0)[..16], "Root=1-00000000-");
    }

    #[test]
    fn request_ids_are_version_4_uuids() {
        let id = uuid_v4();
        let groups: Vec<&str> = id.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(id
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert!(groups[2].starts_with('4'), "version 4: {id}");
        assert!(
            matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "RFC 4122 variant: {id}"
        );
        assert_ne!(uuid_v4(), uuid_v4());
    }

    #[test]
    fn ids_have_the_aws_shape() {
        for _ in 0..200 {
            let id = AwsId::random();
            let s = id.as_str();
            assert_eq!(s.len(), 16);
            assert!(s.ends_with('='));
            assert!(s[..15]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(AwsId::parse(s), Some(id));
        }
    }

    #[test]
    fn message_ids_share_the_connection_tail() {
        let conn = AwsId::random();
        let msg = AwsId::message_id_for(&conn);
        assert_ne!(conn, msg);
        assert_eq!(&conn.as_str()[10..], &msg.as_str()[10..]);
    }

    #[test]
    fn parse_rejects_other_shapes() {
        assert_eq!(AwsId::parse("short"), None);
        assert_eq!(AwsId::parse("!!!!!!!!!!!!!!!="), None);
        assert_eq!(AwsId::parse("AAAAAAAAAAAAAAAAAAAA"), None);
    }
}
