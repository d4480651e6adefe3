//! A template document as a tree of positioned nodes: YAML (with the CloudFormation short forms
//! `!Ref`, `!Sub`, `!GetAtt`, …) or JSON, read by `saphyr` and rewritten into the JSON long form
//! (`{"Ref": X}`, `{"Fn::Sub": X}`) so the rest of the importer sees one shape.

use saphyr::{MarkedYaml, Scalar, YamlData};
use std::fmt;

/// Largest template read, in bytes (CloudFormation itself accepts at most 1 MB from S3).
pub const MAX_TEMPLATE_BYTES: usize = 4 * 1024 * 1024;

/// Most nodes YAML aliases may expand to; a few nested anchors could otherwise make billions.
const ALIAS_LIMIT: usize = 100_000;

/// Deepest nesting accepted; real templates are a dozen levels deep.
const MAX_DEPTH: usize = 128;

/// A place in the template file: 1-based line and column (0 for both when unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One value of the document, where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Where the value starts.
    pub at: Position,
    /// The value.
    pub value: Value,
}

/// The kinds of values a template holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Node>),
    Map(Vec<Entry>),
}

/// One key of a mapping, where the key was written, and its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The key.
    pub key: String,
    /// Where the key is written (warnings about a property point here).
    pub at: Position,
    /// The value.
    pub node: Node,
}

impl Node {
    /// A node built by the importer itself (compiled Serverless resources, resolved values).
    pub(crate) fn new(at: Position, value: Value) -> Self {
        Self { at, value }
    }

    /// A string node.
    pub(crate) fn str(at: Position, s: impl Into<String>) -> Self {
        Self::new(at, Value::Str(s.into()))
    }

    /// A mapping node from `(key, value)` pairs, every key placed at `at`.
    pub(crate) fn map(at: Position, entries: Vec<(&str, Node)>) -> Self {
        Self::new(
            at,
            Value::Map(
                entries
                    .into_iter()
                    .map(|(key, node)| Entry {
                        key: key.to_owned(),
                        at,
                        node,
                    })
                    .collect(),
            ),
        )
    }

    /// The entries of a mapping.
    pub(crate) fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items of a sequence.
    pub(crate) fn as_list(&self) -> Option<&[Node]> {
        match &self.value {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The text of a string node.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entry `key` of a mapping.
    pub(crate) fn entry(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key == key)
    }

    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.node)
    }

    /// A scalar as CloudFormation passes it to a string property: numbers and booleans become
    /// their text.
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// What kind of value this is, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The value as JSON (mapping order kept).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => items.iter().map(Node::to_json).collect(),
            Value::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.node.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Why a template could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub at: Position,
    pub message: String,
}

/// Reads a YAML or JSON document (JSON is YAML 1.2) into nodes, short-form tags rewritten.
pub(crate) fn parse(text: &str) -> Result<Node, ParseError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(ParseError {
            at: Position::default(),
            message: format!(
                "the template is {} bytes; at most {MAX_TEMPLATE_BYTES} are read",
                text.len()
            ),
        });
    }
    let mut loader = saphyr::YamlLoader::<MarkedYaml<'_>>::default();
    loader.alias_limit(ALIAS_LIMIT);
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let loaded = parser.load(&mut loader, true);
    if let Some(error) = loaded.err().or_else(|| loader.error().cloned()) {
        let marker = error.marker();
        return Err(ParseError {
            at: Position {
                line: marker.line(),
                column: marker.col() + 1,
            },
            message: error.info().to_owned(),
        });
    }
    let documents = loader.into_documents();
    let Some(first) = documents.first() else {
        return Err(ParseError {
            at: Position::default(),
            message: "the template is empty".to_owned(),
        });
    };
    convert(first, None, 0)
}

fn position_of(node: &MarkedYaml<'_>, fallback: Option<Position>) -> Position {
    let start = node.span.start;
    match (start.line(), fallback) {
        // Scalars under a tag carry no position of their own: use the tag's.
        (0, Some(fallback)) => fallback,
        (line, _) => Position {
            line,
            column: start.col() + 1,
        },
    }
}

fn convert(
    node: &MarkedYaml<'_>,
    fallback: Option<Position>,
    depth: usize,
) -> Result<Node, ParseError> {
    let at = position_of(node, fallback);
    if depth > MAX_DEPTH {
        return Err(ParseError {
            at,
            message: format!("values are nested more than {MAX_DEPTH} levels deep"),
        });
    }
    let value = match &node.data {
        YamlData::Value(scalar) => scalar_value(scalar),
        YamlData::Representation(text, _, _) => Value::Str(text.to_string()),
        YamlData::Sequence(items) => Value::List(
            items
                .iter()
                .map(|item| convert(item, Some(at), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let key_at = position_of(key, Some(at));
                let key_text = match &key.data {
                    YamlData::Value(scalar) => match scalar_value(scalar) {
                        Value::Str(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => "null".to_owned(),
                    },
                    YamlData::Representation(text, _, _) => text.to_string(),
                    _ => {
                        return Err(ParseError {
                            at: key_at,
                            message: "mapping keys must be plain scalars".to_owned(),
                        })
                    }
                };
                out.push(Entry {
                    key: key_text,
                    at: key_at,
                    node: convert(value, Some(key_at), depth + 1)?,
                });
            }
            Value::Map(out)
        }
        YamlData::Tagged(tag, inner) => {
            let inner = convert(inner, Some(at), depth + 1)?;
            return tagged(&tag.handle, &tag.suffix, inner, at);
        }
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err(ParseError {
                at,
                message: "unreadable value (an unknown alias, or one that expands too far)"
                    .to_owned(),
            })
        }
    };
    Ok(Node { at, value })
}

fn scalar_value(scalar: &Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.to_string()),
    }
}

/// `!Ref X` → `{"Ref": X}`, `!Condition X` → `{"Condition": X}`, `!Name X` → `{"Fn::Name": X}`.
fn tagged(handle: &str, suffix: &str, inner: Node, at: Position) -> Result<Node, ParseError> {
    if handle == "!!" || handle == "tag:yaml.org,2002:" {
        // Core schema tags: `!!str 123` and friends; the scalar was read as written.
        return Ok(inner);
    }
    if handle != "!" {
        return Err(ParseError {
            at,
            message: format!("unknown YAML tag {handle}{suffix}"),
        });
    }
    let key = match suffix {
        "Ref" | "Condition" => suffix.to_owned(),
        _ => format!("Fn::{suffix}"),
    };
    Ok(Node {
        at,
        value: Value::Map(vec![Entry {
            key,
            at,
            node: inner,
        }]),
    })
}
