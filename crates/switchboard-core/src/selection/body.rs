//! Finding a value in a JSON text by walking it, and stringifying it like AWS (docs/behaviour.md §2.2, §2.3).
//!
//! The walk descends only along the path and skips everything else with `IgnoredAny`, so a
//! lookup allocates nothing and the found value is a `RawValue` borrowed from the text.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{BodyPath, PathSegment};

/// The stringified value at `path` in a JSON text, as route selection sees it (docs/behaviour.md §2.3).
///
/// `None` when `body` is not one valid JSON document (trailing characters count as invalid).
/// Otherwise `Some`: a missing path or `null` gives `""`, anything else [`stringify_value`].
/// A string without escapes is borrowed from `body`.
pub fn body_value<'a>(body: &'a str, path: &BodyPath) -> Option<Cow<'a, str>> {
    match lookup(body, &path.segments) {
        Ok(Some(raw)) => Some(stringify_value(raw)),
        Ok(None) => Some(Cow::Borrowed("")),
        Err(_) => None,
    }
}

/// Turns a JSON value into a selection key (docs/behaviour.md §2.2: "results are stringified").
///
/// - string: its unescaped value (borrowed when it has no escapes; a lone UTF-16 surrogate in a
///   `\u` escape becomes U+FFFD replacement characters);
/// - number: exactly its text in the message (`1.0` stays `1.0`, `1e3` stays `1e3`);
/// - `true` / `false`; `null`: `""` (as a missing path, docs/behaviour.md §2.3);
/// - array: `[item1, item2]`, the AWS-documented form, which is Java's `List.toString`: elements
///   stringified by these rules, except that a `null` element shows as `null`, joined by `", "`;
/// - containers nested deeper than 128 levels appear as their JSON text;
/// - object: **UNCONFIRMED on AWS.** Java's `Map.toString` form, `{room=room1234, n=1}`, members
///   in message order with values stringified as array elements are. Chosen because the
///   documented array form is Java's `List.toString`, and a Java JSONPath that returns a list
///   for an array returns a map for an object; if a key repeats, the last value wins in the
///   first key's place, as in a `LinkedHashMap`.
pub fn stringify_value(raw: &RawValue) -> Cow<'_, str> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => string_value(text),
        Some(b'n') => Cow::Borrowed(""),
        Some(b'[' | b'{') => {
            let mut out = String::new();
            write_element(&mut out, text, 0);
            Cow::Owned(out)
        }
        // Numbers and booleans: the exact text.
        _ => Cow::Borrowed(text),
    }
}

/// Whether `body` is one valid JSON document.
pub(super) fn is_json(body: &str) -> bool {
    let mut de = serde_json::Deserializer::from_str(body);
    IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok()
}

/// Walks `body` to `path`, validating the whole document (docs/behaviour.md §2.3: trailing garbage is invalid).
pub(super) fn lookup<'a>(
    body: &'a str,
    path: &[PathSegment],
) -> Result<Option<&'a RawValue>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(body);
    let found = Walk { path }.deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

/// A JSON string literal's value, borrowed when there is nothing to unescape.
fn string_value(literal: &str) -> Cow<'_, str> {
    let inner = literal
        .get(1..literal.len().saturating_sub(1))
        .unwrap_or_default();
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    // Bytes, not `String`: serde_json then accepts lone surrogates, as its validation did.
    let mut de = serde_json::Deserializer::from_str(literal);
    match de.deserialize_bytes(Utf8Lossy) {
        Ok(value) => Cow::Owned(value),
        Err(_) => Cow::Borrowed(inner),
    }
}

/// How deep [`write_element`] renders containers; serde_json skips values iteratively, so a
/// valid message can nest far deeper than the stack allows recursing.
const MAX_RENDER_DEPTH: usize = 128;

/// Appends a value as it appears inside an array or object (Java `toString`, see
/// [`stringify_value`]). Below [`MAX_RENDER_DEPTH`] the JSON text is appended as written.
fn write_element(out: &mut String, text: &str, depth: usize) {
    let mut de = serde_json::Deserializer::from_str(text);
    match text.as_bytes().first() {
        Some(b'[' | b'{') if depth >= MAX_RENDER_DEPTH => out.push_str(text),
        Some(b'[') => {
            let items = Vec::<&RawValue>::deserialize(&mut de).unwrap_or_default();
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                write_element(out, item.get(), depth + 1);
            }
            out.push(']');
        }
        Some(b'{') => {
            let members = de.deserialize_map(Members).unwrap_or_default();
            out.push('{');
            for (n, (key, value)) in members.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                write_element(out, value.get(), depth + 1);
            }
            out.push('}');
        }
        Some(b'"') => out.push_str(&string_value(text)),
        // Numbers, booleans and `null` print as written.
        _ => out.push_str(text),
    }
}

// === the walk ===

/// Deserializes the value at `path` below the current position, skipping everything else.
struct Walk<'p> {
    path: &'p [PathSegment],
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        match self.path.split_first() {
            // Arrived: keep the exact text so numbers keep their form (docs/behaviour.md §2.2).
            None => <&'de RawValue>::deserialize(de).map(Some),
            Some((segment, rest)) => de.deserialize_any(Step { segment, rest }),
        }
    }
}

/// One step down: finds `segment` in an object or array and walks `rest` from there.
struct Step<'p> {
    segment: &'p PathSegment,
    rest: &'p [PathSegment],
}

impl<'de> Visitor<'de> for Step<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        match self.segment {
            PathSegment::Key(name) => {
                // Every member is read so the whole document is validated; a repeated key's
                // last value wins.
                while let Some(hit) = map.next_key_seed(KeyIs(name))? {
                    if hit {
                        found = map.next_value_seed(Walk { path: self.rest })?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            PathSegment::Index(_) => while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {},
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        match self.segment {
            PathSegment::Index(index) => {
                let mut n = 0usize;
                loop {
                    if n == *index {
                        match seq.next_element_seed(Walk { path: self.rest })? {
                            Some(value) => found = value,
                            None => break,
                        }
                    } else if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                    n = n.saturating_add(1);
                }
            }
            PathSegment::Key(_) => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(found)
    }

    // Scalars have no members: the path is not there (docs/behaviour.md §2.3: top-level non-objects → "").
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Compares an object key with a name without allocating (escaped keys are unescaped into
/// serde_json's scratch buffer).
struct KeyIs<'n>(&'n str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        // Bytes rather than str: a key with a lone surrogate escape is valid JSON to skip.
        de.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<bool, E> {
        Ok(key == self.0.as_bytes())
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// A string's unescaped bytes as text, lone surrogates replaced.
struct Utf8Lossy;

impl Visitor<'_> for Utf8Lossy {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON string")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<String, E> {
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        Ok(text.to_owned())
    }
}

/// An object's members in order, values as raw text; a repeated key keeps its first place and
/// takes the last value (Java `LinkedHashMap`).
struct Members;

impl<'de> Visitor<'de> for Members {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Self::Value = Vec::new();
        while let Some(key) = map.next_key_seed(KeyText)? {
            let value = map.next_value::<&'de RawValue>()?;
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(member) => member.1 = value,
                None => members.push((key, value)),
            }
        }
        Ok(members)
    }
}

/// An object key as text, lone surrogates replaced.
struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<String, D::Error> {
        de.deserialize_bytes(Utf8Lossy)
    }
}
