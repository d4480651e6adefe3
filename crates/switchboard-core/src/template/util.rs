//! The string functions behind `$util.*` (docs/behaviour.md §4.6), matching the Java library calls API
//! Gateway is built on.

use base64::Engine as _;
use std::fmt::Write as _;

/// `$util.escapeJavaScript`: Apache commons-lang 2 `StringEscapeUtils.escapeJavaScript` —
/// escapes `'`, `"`, `\`, `/`, control characters, and every non-ASCII UTF-16 unit as
/// `\uXXXX` (upper-case hex).
pub(crate) fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    let mut units = [0u16; 2];
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{08}' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{:04X}", unit);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `$util.urlEncode`: Java `URLEncoder.encode(s, "UTF-8")` — letters, digits and `.-*_` stay,
/// space becomes `+`, everything else `%XX` of its UTF-8 bytes.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `$util.urlDecode`: Java `URLDecoder.decode(s, "UTF-8")` — `+` is a space, `%XX` a byte;
/// a malformed escape is an error, as Java throws.
pub(crate) fn url_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = |j: usize| bytes.get(j).and_then(|&h| char::from(h).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(hi), Some(lo)) => {
                        out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                        i += 3;
                    }
                    _ => return Err("urlDecode: incomplete or invalid % escape".into()),
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `$util.base64Encode`: standard alphabet with padding, over the UTF-8 bytes.
pub(crate) fn base64_encode(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// `$util.base64Decode`: standard alphabet, padding optional; the bytes are read as UTF-8
/// (invalid sequences become U+FFFD).
pub(crate) fn base64_decode(s: &str) -> Result<String, String> {
    let trimmed = s.trim();
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(trimmed.as_bytes())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| format!("base64Decode: {e}"))
}
