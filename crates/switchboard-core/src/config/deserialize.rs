//! The model from a parsed TOML document, collecting every unknown key and wrong value instead
//! of stopping at the first.
//!
//! The known keys come from serde itself: a derived `Deserialize` hands each struct's field names
//! to `deserialize_struct`, so this deserializer skips (and reports) every key not among them
//! before the struct sees it. The model stays the one source of truth; nothing here lists keys.
//!
//! A wrong value cannot be skipped that way (serde asks for a value of a type only this
//! deserializer's caller knows), so it fails the pass; the failing key is then left out and the
//! document deserialised again, until a pass succeeds. Each pass leaves out one more key, so a
//! file with N wrong values takes N + 1 passes over a small document.

use super::error::KeyPath;
use super::model::Config;
use super::suggest;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use toml_edit::{Item, Table, Value};

/// Most passes before giving up on a file with very many wrong values (each pass is cheap; this
/// only bounds a pathological file).
const MAX_PASSES: usize = 1000;

/// A problem found while deserialising, at a key path and a byte range of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Structural {
    /// Where the problem is.
    pub(crate) path: KeyPath,
    /// The byte range of the offending key or value, when the document records one.
    pub(crate) span: Option<Range<usize>>,
    /// What is wrong.
    pub(crate) message: String,
}

/// The outcome of deserialising a document.
pub(crate) struct Deserialized {
    /// The model without the keys that had to be left out; `None` when even that failed.
    pub(crate) config: Option<Config>,
    /// Every unknown key and wrong value.
    pub(crate) problems: Vec<Structural>,
    /// Keys written in the file but missing from the model: left out because their value was
    /// wrong, or misspelled (the key a suggestion names). Cross-checks stay quiet about these, so
    /// one mistake is reported once.
    pub(crate) broken: BTreeSet<KeyPath>,
}

/// Deserialises `root` into the model, collecting every structural problem.
pub(crate) fn deserialize(root: &Table) -> Deserialized {
    let mut dropped = BTreeSet::new();
    let mut problems = Vec::new();
    let mut unknown = BTreeMap::new();
    let mut misspelled = BTreeSet::new();
    let mut config = None;
    for _ in 0..MAX_PASSES {
        let pass = Pass {
            dropped: &dropped,
            unknown: RefCell::new(BTreeMap::new()),
            misspelled: RefCell::new(BTreeSet::new()),
        };
        let result = Config::deserialize(Node::root(root, &pass));
        unknown.extend(pass.unknown.into_inner());
        misspelled.extend(pass.misspelled.into_inner());
        match result {
            Ok(c) => {
                config = Some(c);
                break;
            }
            Err(error) => {
                let (path, span) = error.at.unwrap_or_default();
                if !error.consequential {
                    problems.push(Structural {
                        path: path.clone(),
                        span,
                        message: error.message,
                    });
                }
                // The root cannot be left out, and a path cannot fail twice: stop either way.
                if path.segments().is_empty() || !dropped.insert(path) {
                    break;
                }
            }
        }
    }
    problems.extend(unknown.into_values());
    let mut broken = dropped;
    broken.extend(misspelled);
    Deserialized {
        config,
        problems,
        broken,
    }
}

/// What one pass knows and collects.
struct Pass<'d> {
    /// Keys left out because an earlier pass failed on them.
    dropped: &'d BTreeSet<KeyPath>,
    /// Unknown keys found, by path.
    unknown: RefCell<BTreeMap<KeyPath, Structural>>,
    /// Known keys an unknown key was probably meant to be.
    misspelled: RefCell<BTreeSet<KeyPath>>,
}

impl Pass<'_> {
    /// Whether an earlier pass left out `path`, or a missing `path` has a misspelled stand-in:
    /// then a failure about it is a consequence of a problem already reported.
    fn accounted_for(&self, path: &KeyPath) -> bool {
        self.dropped.contains(path) || self.misspelled.borrow().contains(path)
    }

    fn unknown_key(
        &self,
        table: &KeyPath,
        key: &str,
        span: Option<Range<usize>>,
        known: &'static [&'static str],
    ) {
        let message = match suggest::closest(key, known.iter().copied()) {
            Some(meant) => {
                self.misspelled.borrow_mut().insert(table.key(meant));
                format!("unknown field `{key}`, did you mean `{meant}`?")
            }
            None => <Error as de::Error>::unknown_field(key, known).to_string(),
        };
        let path = table.key(key);
        self.unknown.borrow_mut().insert(
            path.clone(),
            Structural {
                path,
                span,
                message,
            },
        );
    }
}

// === the error ===

/// A deserialisation failure, located by the innermost node it passes through.
#[derive(Debug)]
pub(crate) struct Error {
    message: String,
    /// Key path and byte range of the node that failed; set once, by the deepest node.
    at: Option<(KeyPath, Option<Range<usize>>)>,
    /// The field a struct missed, if that is the failure.
    missing: Option<&'static str>,
    /// The failure follows from a problem already reported (a required key left out).
    consequential: bool,
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self {
            message: message.to_string(),
            at: None,
            missing: None,
            consequential: false,
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            missing: Some(field),
            ..Self::custom(format_args!("missing field `{field}`"))
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

// === the deserializer ===

/// A value of the document.
#[derive(Clone, Copy)]
enum Content<'a> {
    /// A `[table]`, an `[[array]]` element or the root.
    Table(&'a Table),
    /// Anything written after `=`, or an implicit table.
    Item(&'a Item),
    /// An element of an inline array.
    Value(&'a Value),
}

/// One node of the document, with where it is.
struct Node<'a, 'p> {
    content: Content<'a>,
    path: KeyPath,
    span: Option<Range<usize>>,
    pass: &'p Pass<'p>,
}

/// The entries of a table, inline or not: key, span of the key, value.
type Entries<'a> = Vec<(&'a str, Option<Range<usize>>, Content<'a>)>;

impl<'a, 'p> Node<'a, 'p> {
    fn root(table: &'a Table, pass: &'p Pass<'p>) -> Self {
        Self {
            content: Content::Table(table),
            path: KeyPath::root(),
            span: None,
            pass,
        }
    }

    /// A child at `path`; its span is its own, else the one given (its key's, or its parent's).
    fn child(&self, content: Content<'a>, path: KeyPath, fallback: Option<Range<usize>>) -> Self {
        let own = match content {
            Content::Table(t) => t.span(),
            Content::Item(Item::Value(v)) | Content::Value(v) => v.span(),
            Content::Item(Item::Table(t)) => t.span(),
            Content::Item(Item::ArrayOfTables(a)) => a.span(),
            Content::Item(Item::None) => None,
        };
        Self {
            content,
            path,
            span: own.or(fallback).or_else(|| self.span.clone()),
            pass: self.pass,
        }
    }

    /// The entries when this node is a table.
    fn entries(&self) -> Option<Entries<'a>> {
        let table_entries = |t: &'a Table| {
            t.iter()
                .filter_map(|(k, _)| t.get_key_value(k))
                .map(|(key, item)| (key.get(), key.span(), Content::Item(item)))
                .collect()
        };
        match self.content {
            Content::Table(t) | Content::Item(Item::Table(t)) => Some(table_entries(t)),
            Content::Item(Item::Value(Value::InlineTable(t)))
            | Content::Value(Value::InlineTable(t)) => Some(
                t.iter()
                    .filter_map(|(k, _)| t.get_key_value(k))
                    .map(|(key, item)| (key.get(), key.span(), Content::Item(item)))
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The elements when this node is an array.
    fn elements(&self) -> Option<Vec<Content<'a>>> {
        match self.content {
            Content::Item(Item::ArrayOfTables(a)) => Some(a.iter().map(Content::Table).collect()),
            Content::Item(Item::Value(Value::Array(a))) | Content::Value(Value::Array(a)) => {
                Some(a.iter().map(Content::Value).collect())
            }
            _ => None,
        }
    }

    /// The scalar, if this node is one.
    fn value(&self) -> Option<&'a Value> {
        match self.content {
            Content::Item(Item::Value(v)) | Content::Value(v) => Some(v),
            _ => None,
        }
    }

    /// How serde names this node in "invalid type" messages.
    fn unexpected(&self) -> Unexpected<'a> {
        match self.value() {
            Some(Value::String(s)) => Unexpected::Str(s.value()),
            Some(Value::Integer(i)) => Unexpected::Signed(*i.value()),
            Some(Value::Float(f)) => Unexpected::Float(*f.value()),
            Some(Value::Boolean(b)) => Unexpected::Bool(*b.value()),
            Some(Value::Datetime(_)) => Unexpected::Other("datetime"),
            Some(Value::Array(_)) => Unexpected::Other("array"),
            Some(Value::InlineTable(_)) | None => match self.elements() {
                Some(_) => Unexpected::Other("array"),
                None => Unexpected::Other("table"),
            },
        }
    }

    /// See [`Located::locate`].
    fn locate<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        self.located().locate(result)
    }

    fn invalid<T>(&self, expected: &dyn de::Expected) -> Result<T, Error> {
        Err(de::Error::invalid_type(self.unexpected(), expected))
    }

    fn any<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if let Some(entries) = self.entries() {
            return visitor.visit_map(TableAccess::new(self, entries, None));
        }
        if let Some(elements) = self.elements() {
            return visitor.visit_seq(ArrayAccess::new(self, elements));
        }
        match self.value() {
            Some(Value::String(s)) => visitor.visit_str(s.value()),
            Some(Value::Integer(i)) => visitor.visit_i64(*i.value()),
            Some(Value::Float(f)) => visitor.visit_f64(*f.value()),
            Some(Value::Boolean(b)) => visitor.visit_bool(*b.value()),
            _ => self.invalid(&visitor),
        }
    }
}

impl<'de> de::Deserializer<'de> for Node<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let located = self.located();
        located.locate(self.any(visitor))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // A key that is written always has a value: TOML has no null.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let located = self.located();
        let result = match self.entries() {
            Some(entries) => visitor.visit_map(TableAccess::new(self, entries, Some(fields))),
            // Serde would say "expected struct StageLimits"; the user wrote TOML.
            None => self.invalid(&"a table"),
        };
        located.locate(result)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let located = self.located();
        let result = match self.entries() {
            Some(entries) => visitor.visit_map(TableAccess::new(self, entries, None)),
            None => self.invalid(&"a table"),
        };
        located.locate(result)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let located = self.located();
        let result = match self.elements() {
            Some(elements) => visitor.visit_seq(ArrayAccess::new(self, elements)),
            None => self.invalid(&"an array"),
        };
        located.locate(result)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let result = match self.value() {
            // Every enum of the model is a string naming a unit variant.
            Some(Value::String(s)) => {
                let written = s.value().as_str();
                let deserializer: de::value::StrDeserializer<'_, Error> =
                    written.into_deserializer();
                visitor.visit_enum(deserializer).map_err(|mut error| {
                    if let Some(meant) = suggest::closest(written, variants.iter().copied()) {
                        error.message = format!("{}; did you mean `{meant}`?", error.message);
                    }
                    error
                })
            }
            _ => self.invalid(&"a string"),
        };
        self.locate(result)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct identifier
    }
}

impl<'p> Node<'_, 'p> {
    /// The path and span alone, to locate an error after `self` has been consumed.
    fn located(&self) -> Located<'p> {
        Located {
            path: self.path.clone(),
            span: self.span.clone(),
            pass: self.pass,
        }
    }
}

/// Where a consumed node was, for [`Node::locate`].
struct Located<'p> {
    path: KeyPath,
    span: Option<Range<usize>>,
    pass: &'p Pass<'p>,
}

impl Located<'_> {
    /// Sets the location of an error that no deeper node claimed, and marks a missing field as
    /// consequential when that field was left out or misspelled.
    fn locate<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        result.map_err(|mut error| {
            if error.at.is_none() {
                if let Some(field) = error.missing {
                    error.consequential |= self.pass.accounted_for(&self.path.key(field));
                }
                error.at = Some((self.path.clone(), self.span.clone()));
            }
            error
        })
    }
}

// === tables and arrays ===

/// A table's entries handed to a struct or map visitor; for a struct, unknown keys are reported
/// and skipped.
struct TableAccess<'a, 'p> {
    node: Node<'a, 'p>,
    entries: std::vec::IntoIter<(&'a str, Option<Range<usize>>, Content<'a>)>,
    fields: Option<&'static [&'static str]>,
    pending: Option<Node<'a, 'p>>,
}

impl<'a, 'p> TableAccess<'a, 'p> {
    fn new(
        node: Node<'a, 'p>,
        entries: Entries<'a>,
        fields: Option<&'static [&'static str]>,
    ) -> Self {
        Self {
            node,
            entries: entries.into_iter(),
            fields,
            pending: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for TableAccess<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for (key, key_span, content) in self.entries.by_ref() {
            let path = self.node.path.key(key);
            if self.node.pass.dropped.contains(&path) {
                continue;
            }
            if let Some(fields) = self.fields {
                if !fields.contains(&key) {
                    let span = key_span.or_else(|| self.node.span.clone());
                    self.node
                        .pass
                        .unknown_key(&self.node.path, key, span, fields);
                    continue;
                }
            }
            self.pending = Some(self.node.child(content, path, key_span));
            let deserializer: de::value::StrDeserializer<'_, Error> = key.into_deserializer();
            return seed.deserialize(deserializer).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.pending.take() {
            Some(node) => seed.deserialize(node),
            None => Err(de::Error::custom("a value was asked for before its key")),
        }
    }
}

/// An array's elements handed to a sequence visitor.
struct ArrayAccess<'a, 'p> {
    node: Node<'a, 'p>,
    elements: std::iter::Enumerate<std::vec::IntoIter<Content<'a>>>,
}

impl<'a, 'p> ArrayAccess<'a, 'p> {
    fn new(node: Node<'a, 'p>, elements: Vec<Content<'a>>) -> Self {
        Self {
            node,
            elements: elements.into_iter().enumerate(),
        }
    }
}

impl<'de> de::SeqAccess<'de> for ArrayAccess<'_, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        for (index, content) in self.elements.by_ref() {
            let path = self.node.path.index(index);
            if self.node.pass.dropped.contains(&path) {
                continue;
            }
            let child = self.node.child(content, path, None);
            return seed.deserialize(child).map(Some);
        }
        Ok(None)
    }
}
