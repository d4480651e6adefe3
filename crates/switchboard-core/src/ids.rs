//! Identifiers in the shape API Gateway uses (docs/behaviour.md §1): 16 characters of URL-safe base64
//! carrying 11 bytes, ending in one `=` pad, e.g. `L0SM9cOFvHcCIhw=`.
//!
//! A connection id is 7 random bytes followed by the 4-byte [`NodeTag`] of the process that
//! holds the connection, so any node can tell who owns an id without a lookup, and an id from a
//! previous life of a process never names the new one. Request ids are 11 random bytes.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use rand::RngCore as _;
use std::fmt;

/// Bytes behind an id.
const ID_BYTES: usize = 11;
/// Where a connection id's node tag starts.
const TAG_AT: usize = ID_BYTES - 4;
/// Trailing bytes a `messageId` shares with its connection's id, as observed on AWS.
const SHARED_TAIL: usize = 5;

/// A 16-character AWS-style identifier (connection, request or message id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AwsId([u8; 16]);

/// The incarnation tag of one process start: random, and in a cluster reserved so no two
/// live processes share it. Carried by every connection id the process hands out.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeTag(pub u32);

impl NodeTag {
    /// A fresh random tag.
    pub fn random() -> Self {
        Self(rand::rng().next_u32())
    }

    /// Parses the 8-digit lowercase hex form.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(text, 16).ok().map(Self))
            .flatten()
    }
}

impl fmt::Display for NodeTag {
    /// 8 lowercase hex digits (used in NATS subjects and KV keys).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for NodeTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeTag({self})")
    }
}

impl AwsId {
    /// A fresh random id (request ids).
    pub fn random() -> Self {
        let mut raw = [0u8; ID_BYTES];
        rand::rng().fill_bytes(&mut raw);
        Self::encode(&raw)
    }

    /// A fresh connection id owned by the process tagged `owner`.
    pub fn connection(owner: NodeTag) -> Self {
        let mut raw = [0u8; ID_BYTES];
        rand::rng().fill_bytes(&mut raw[..TAG_AT]);
        raw[TAG_AT..].copy_from_slice(&owner.0.to_be_bytes());
        Self::encode(&raw)
    }

    /// The tag of the process that owns this connection id.
    pub fn owner(&self) -> Option<NodeTag> {
        let raw = self.raw()?;
        let mut tag = [0u8; 4];
        tag.copy_from_slice(&raw[TAG_AT..]);
        Some(NodeTag(u32::from_be_bytes(tag)))
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

impl serde::Serialize for AwsId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for AwsId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        AwsId::parse(&text).ok_or_else(|| serde::de::Error::custom("not a 16-character id"))
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
    fn connection_ids_carry_their_owner_and_keep_the_aws_shape() {
        let tag = NodeTag(0xdead_beef);
        for _ in 0..200 {
            let id = AwsId::connection(tag);
            assert_eq!(id.as_str().len(), 16);
            assert!(id.as_str().ends_with('='));
            assert_eq!(AwsId::parse(id.as_str()), Some(id));
            assert_eq!(id.owner(), Some(tag));
        }
        assert_ne!(AwsId::connection(tag), AwsId::connection(tag));
        // The tag shows in the id's tail, which a message id shares.
        let id = AwsId::connection(tag);
        assert_eq!(AwsId::message_id_for(&id).owner(), Some(tag));
        assert_eq!(tag.to_string(), "deadbeef");
        assert_eq!(NodeTag::parse("deadbeef"), Some(tag));
        assert_eq!(NodeTag::parse("deadbee"), None);
        assert_eq!(NodeTag::parse("deadbeeg"), None);
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
