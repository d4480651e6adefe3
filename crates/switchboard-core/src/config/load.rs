//! Reading a configuration file: TOML syntax, then the typed model, then the cross-checks, every
//! failure located at a line and column of the file (`docs/configuration.md`, introduction).

use super::error::{ConfigError, KeyPath, Problem, Segment};
use super::model::Config;
use super::validate;
use std::path::Path;
use toml_edit::{Array, ArrayOfTables, InlineTable, Item, Table, Value};

impl Config {
    /// Parses and checks a configuration document. `file_name` only labels the problems.
    ///
    /// Returns every problem found: a syntax or type error stops before the cross-checks (the
    /// model does not exist yet), otherwise all cross-check failures are reported together.
    pub fn from_toml_str(text: &str, file_name: &str) -> Result<Config, ConfigError> {
        let lines = LineIndex::new(text);
        let deserializer = match toml::Deserializer::parse(text) {
            Ok(deserializer) => deserializer,
            Err(error) => return Err(syntax_error(text, file_name, &lines, &error)),
        };
        let document = toml_edit::Document::parse(text).ok();
        let locator = Locator {
            document: document.as_ref().map(|d| d.as_table()),
            lines: &lines,
        };

        let config: Config = match serde_path_to_error::deserialize(deserializer) {
            Ok(config) => config,
            Err(error) => {
                let path = serde_key_path(error.path());
                let inner = error.into_inner();
                let (line, column) = match inner.span() {
                    Some(span) => lines.line_column(span.start),
                    None => locator.locate(&path),
                };
                return Err(ConfigError::new(vec![Problem {
                    file: file_name.to_owned(),
                    line,
                    column,
                    key_path: path.to_string(),
                    message: one_line(inner.message()),
                }]));
            }
        };

        let problems: Vec<Problem> = validate::check(&config)
            .into_iter()
            .map(|finding| {
                let (line, column) = locator.locate(&finding.path);
                Problem {
                    file: file_name.to_owned(),
                    line,
                    column,
                    key_path: finding.path.to_string(),
                    message: one_line(&finding.message),
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::new(problems))
        }
    }

    /// Reads, parses and checks the file at `path`; an unreadable file is a [`ConfigError`] too,
    /// naming the file, so `switchboard validate` reports every failure the same way.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file_name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_toml_str(&text, &file_name),
            Err(error) => Err(ConfigError::new(vec![Problem {
                file: file_name,
                line: 1,
                column: 1,
                key_path: String::new(),
                message: format!("cannot read configuration file: {error}"),
            }])),
        }
    }
}

/// Keeps the one-problem-per-line output format intact whatever a message contains.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A TOML syntax error: toml's span gives the position; the key path is recovered from the
/// nearest table header above it and the key on the failing line, since no model exists yet.
fn syntax_error(
    text: &str,
    file_name: &str,
    lines: &LineIndex<'_>,
    error: &toml::de::Error,
) -> ConfigError {
    let offset = error.span().map(|s| s.start).unwrap_or(0);
    let (line, column) = lines.line_column(offset);
    ConfigError::new(vec![Problem {
        file: file_name.to_owned(),
        line,
        column,
        key_path: syntax_key_path(text, line).to_string(),
        message: one_line(error.message()),
    }])
}

/// Best-effort key path of line `line` (1-based) of a document that does not parse.
fn syntax_key_path(text: &str, line: usize) -> KeyPath {
    let mut path = KeyPath::root();
    let mut current = None;
    for (number, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if number + 1 == line {
            current = Some(trimmed);
            break;
        }
        if trimmed.starts_with('[') {
            if let Some(header) = header_path(trimmed) {
                path = header;
            }
        }
    }
    if let Some(current) = current {
        if current.starts_with('[') {
            if let Some(header) = header_path(current) {
                return header;
            }
        } else if let Some((key, _)) = current.split_once('=') {
            // Reparse just `key = 0` so quoted and dotted keys come out exactly as TOML reads them.
            if let Ok(doc) = toml_edit::Document::parse(format!("{} = 0", key.trim())) {
                append_single_chain(&mut path, doc.as_table());
            }
        }
    }
    path
}

/// The key path named by a `[table]` or `[[array]]` header line, if that line parses alone.
fn header_path(line: &str) -> Option<KeyPath> {
    // Drop a trailing comment or garbage after the closing bracket by cutting at the last `]`.
    let end = line.rfind(']')?;
    let doc = toml_edit::Document::parse(line[..=end].to_owned()).ok()?;
    let mut path = KeyPath::root();
    append_single_chain(&mut path, doc.as_table());
    Some(path)
}

/// Follows a document of one key chain (`a.b.c = 0` or `[a.b.c]`) and appends its keys.
fn append_single_chain(path: &mut KeyPath, mut table: &Table) {
    loop {
        let Some((key, item)) = table.iter().next() else {
            return;
        };
        path.push_key(key);
        match item {
            Item::Table(inner) => table = inner,
            Item::ArrayOfTables(array) => match array.iter().next() {
                Some(inner) => table = inner,
                None => return,
            },
            _ => return,
        }
    }
}

/// Converts serde_path_to_error's path into ours (map keys and struct fields are both keys).
fn serde_key_path(path: &serde_path_to_error::Path) -> KeyPath {
    let mut out = KeyPath::root();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_index(*index),
            serde_path_to_error::Segment::Map { key } => out.push_key(key),
            serde_path_to_error::Segment::Enum { variant } => out.push_key(variant),
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

/// Byte offset → 1-based line and character column.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        Self { text }
    }

    /// The line and column of the character at byte `offset` (clamped to the text).
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

/// Finds where a key path is written in the document, using toml_edit's spans.
pub(crate) struct Locator<'a> {
    document: Option<&'a Table>,
    lines: &'a LineIndex<'a>,
}

/// A node of the document while walking a key path.
enum Node<'a> {
    Table(&'a Table),
    InlineTable(&'a InlineTable),
    Tables(&'a ArrayOfTables),
    Array(&'a Array),
    Scalar,
}

impl<'a> Node<'a> {
    fn of_item(item: &'a Item) -> Self {
        match item {
            Item::Table(t) => Node::Table(t),
            Item::ArrayOfTables(a) => Node::Tables(a),
            Item::Value(v) => Node::of_value(v),
            Item::None => Node::Scalar,
        }
    }

    fn of_value(value: &'a Value) -> Self {
        match value {
            Value::InlineTable(t) => Node::InlineTable(t),
            Value::Array(a) => Node::Array(a),
            _ => Node::Scalar,
        }
    }
}

impl Locator<'_> {
    /// Line and column of the deepest part of `path` present in the document: the key itself,
    /// or its closest written ancestor when the key is absent (a missing required key is
    /// reported at its table), or 1:1 when nothing of it is written.
    pub(crate) fn locate(&self, path: &KeyPath) -> (usize, usize) {
        let Some(root) = self.document else {
            return (1, 1);
        };
        let mut node = Node::Table(root);
        let mut span: Option<std::ops::Range<usize>> = None;
        for segment in path.segments() {
            let step = match (&node, segment) {
                (Node::Table(t), Segment::Key(k)) => t
                    .get_key_value(k)
                    .map(|(key, item)| (key.span(), Node::of_item(item))),
                (Node::InlineTable(t), Segment::Key(k)) => t
                    .get_key_value(k)
                    .map(|(key, item)| (key.span(), Node::of_item(item))),
                (Node::Tables(a), Segment::Index(i)) => {
                    a.get(*i).map(|t| (t.span(), Node::Table(t)))
                }
                (Node::Array(a), Segment::Index(i)) => {
                    a.get(*i).map(|v| (v.span(), Node::of_value(v)))
                }
                _ => None,
            };
            let Some((step_span, next)) = step else {
                break;
            };
            if step_span.is_some() {
                span = step_span;
            }
            node = next;
        }
        match span {
            Some(span) => self.lines.line_column(span.start),
            None => (1, 1),
        }
    }
}
