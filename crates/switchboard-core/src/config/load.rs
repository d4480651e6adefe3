//! Reading a configuration file: TOML syntax, then the typed model, then the cross-checks, every
//! failure located at a line and column of the file (`docs/configuration.md`, introduction).

use super::deserialize;
use super::error::{self, ConfigError, KeyPath, Problem, Segment, Severity};
use super::model::Config;
use super::sniff;
use super::validate;
use std::path::Path;
use toml_edit::{Array, ArrayOfTables, InlineTable, Item, Table, Value};

/// A configuration that can be served, and what looked suspicious in its file.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The configuration.
    pub config: Config,
    /// Problems that do not stop it from being served, in file order.
    pub warnings: Vec<Problem>,
}

impl Config {
    /// Parses and checks a configuration document. `file_name` only labels the problems (and
    /// its extension helps name a file that is JSON or YAML instead of TOML).
    ///
    /// Returns every problem found in one pass: unknown keys, wrong values, and the cross-checks
    /// of everything that could be read. Only a TOML syntax error stops early, since nothing
    /// after it can be read. A file with warnings and no errors is accepted with its warnings.
    pub fn check_toml_str(text: &str, file_name: &str) -> Result<Checked, ConfigError> {
        check_toml(text, file_name, None)
    }

    /// [`Config::check_toml_str`] without the warnings.
    pub fn from_toml_str(text: &str, file_name: &str) -> Result<Config, ConfigError> {
        Self::check_toml_str(text, file_name).map(|checked| checked.config)
    }

    /// Reads, parses and checks the file at `path`; an unreadable file is a [`ConfigError`] too
    /// ("cannot read FILE: REASON"), so `switchboard validate` reports every failure the same way.
    pub fn check_file(path: &Path) -> Result<Checked, ConfigError> {
        let file_name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Self::check_toml_str(&text, &file_name),
            Err(error) => Err(ConfigError::new(vec![Problem::whole_file(
                &file_name,
                format!("cannot read {file_name}: {}", io_reason(&error)),
            )])),
        }
    }

    /// [`Config::check_file`] without the warnings.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::check_file(path).map(|checked| checked.config)
    }
}

/// APIs that come from elsewhere than the file (a template), and where problems about them are
/// reported: `locate` gives the file, line, column and a note for a key path under `apis`.
pub(crate) struct ForeignApis<'a> {
    pub(crate) apis: std::collections::BTreeMap<String, super::model::ApiConfig>,
    pub(crate) why: &'a str,
    pub(crate) locate: &'a dyn Fn(&KeyPath) -> Option<Elsewhere>,
}

/// Where a problem about a foreign API is reported, and a note appended to its message.
pub(crate) struct Elsewhere {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) note: String,
}

/// [`Config::check_toml_str`], with `foreign` APIs in place of the file's `[apis]` (which is then
/// an error: the file must not define any).
pub(crate) fn check_toml(
    text: &str,
    file_name: &str,
    foreign: Option<ForeignApis<'_>>,
) -> Result<Checked, ConfigError> {
    let lines = LineIndex::new(text);
    let document = match toml_edit::Document::parse(text) {
        Ok(document) => document,
        Err(error) => {
            return Err(match sniff::not_toml(file_name, text) {
                Some(message) => ConfigError::new(vec![Problem::whole_file(file_name, message)]),
                None => syntax_error(text, file_name, &lines, &error),
            })
        }
    };
    let locator = Locator {
        document: Some(document.as_table()),
        lines: &lines,
    };
    let problem = |path: &KeyPath, position: (usize, usize), message: &str, severity| Problem {
        file: file_name.to_owned(),
        line: position.0,
        column: position.1,
        key_path: path.to_string(),
        message: one_line(message),
        severity,
    };

    let mut read = deserialize::deserialize(document.as_table());
    let mut problems: Vec<Problem> = read
        .problems
        .iter()
        .map(|p| {
            let position = match &p.span {
                Some(span) => lines.line_column(span.start),
                None => locator.locate(&p.path),
            };
            problem(&p.path, position, &p.message, Severity::Error)
        })
        .collect();
    if let Some(foreign) = &foreign {
        if let Some((key, _)) = document.as_table().get_key_value("apis") {
            let position = key
                .span()
                .map_or((1, 1), |span| lines.line_column(span.start));
            problems.push(problem(
                &KeyPath::root().key("apis"),
                position,
                &format!("an [apis] table cannot be used here: {}", foreign.why),
                Severity::Error,
            ));
        }
        if let Some(config) = &mut read.config {
            config.apis = foreign.apis.clone();
        }
    }
    if let Some(config) = &read.config {
        for finding in validate::check_with(config, &read.broken) {
            let elsewhere = foreign
                .as_ref()
                .filter(|_| finding.path.starts_with(&KeyPath::root().key("apis")))
                .and_then(|f| (f.locate)(&finding.path));
            match elsewhere {
                Some(place) => problems.push(Problem {
                    file: place.file,
                    line: place.line,
                    column: place.column,
                    key_path: finding.path.to_string(),
                    message: one_line(&format!("{}{}", finding.message, place.note)),
                    severity: finding.severity,
                }),
                None => {
                    let position = locator.locate(&finding.path);
                    problems.push(problem(
                        &finding.path,
                        position,
                        &finding.message,
                        finding.severity,
                    ));
                }
            }
        }
    }
    error::sort(&mut problems);
    match read.config {
        Some(config) if !problems.iter().any(Problem::is_error) => Ok(Checked {
            config,
            warnings: problems,
        }),
        _ => {
            if !problems.iter().any(Problem::is_error) {
                // Unreachable in practice: a failed read records why. Never accept silently.
                problems.push(Problem::whole_file(
                    file_name,
                    format!("{file_name} could not be read as a configuration"),
                ));
            }
            Err(ConfigError::new(problems))
        }
    }
}

/// An I/O error as the operating system words it, without Rust's "(os error 2)" suffix.
fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
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
    error: &toml_edit::TomlError,
) -> ConfigError {
    let offset = error.span().map(|s| s.start).unwrap_or(0);
    let (line, column) = lines.line_column(offset);
    ConfigError::new(vec![Problem {
        file: file_name.to_owned(),
        line,
        column,
        key_path: syntax_key_path(text, line).to_string(),
        message: one_line(error.message()),
        severity: Severity::Error,
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
    /// or its closest written ancestor when the key is absent (a missing key is reported at the
    /// name of its table), or 1:1 when nothing of it is written.
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
