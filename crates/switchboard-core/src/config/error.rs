//! Located configuration errors: every problem names the file, line, column and key path
//! (`docs/configuration.md`: "reported with the file name, line and column, and the path of the key").

use std::fmt;

/// Whether a problem stops the file from being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The file is refused: `validate` exits 1 and `serve` does not start.
    Error,
    /// The file is served, but something in it probably does not do what its author meant.
    Warning,
}

/// One thing wrong with a configuration file, at one place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file as the user named it (or the name given to `Config::from_toml_str`).
    pub file: String,
    /// 1-based line of the offending key (or of its nearest enclosing table when it is absent);
    /// 0 when the problem is about the whole file (it cannot be read, or is not TOML).
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Dotted TOML path of the key, e.g. `apis.chat.routes."$connect".authorizerId`; empty when
    /// the problem concerns the whole file (it could not be read).
    pub key_path: String,
    /// What is wrong, on one line.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl Problem {
    /// A problem about the whole file, printed as its message alone (which names the file).
    pub(crate) fn whole_file(file: &str, message: String) -> Self {
        Self {
            file: file.to_owned(),
            line: 0,
            column: 0,
            key_path: String::new(),
            message,
            severity: Severity::Error,
        }
    }

    /// Whether this problem stops the file from being served.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    /// `{file}:{line}:{column}: {key_path}: {message}`, with `warning: ` before the message of a
    /// warning; a whole-file problem is its message alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        }
        if !self.key_path.is_empty() {
            write!(f, "{}: ", self.key_path)?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Why a configuration file was rejected: every located problem, errors and warnings alike, so
/// a user fixes a file in one pass rather than one error per run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Every problem found, ordered by position in the file. At least one is an error.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// An error made of the given problems, sorted by position (stable, so problems at the same
    /// key keep the order in which they were found).
    pub(crate) fn new(mut problems: Vec<Problem>) -> Self {
        sort(&mut problems);
        Self { problems }
    }

    /// The problems that refuse the file.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }

    /// The problems that would not have refused the file on their own.
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| !p.is_error())
    }
}

/// Orders problems by position in the file, whole-file problems first.
pub(crate) fn sort(problems: &mut [Problem]) {
    problems.sort_by_key(|p| (p.line, p.column));
}

impl fmt::Display for ConfigError {
    /// One problem per line, `{file}:{line}:{column}: {key_path}: {message}`, the format editors
    /// and CI annotators understand.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// A path of keys and array indexes from the document root, rendered as TOML would spell it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct KeyPath(Vec<Segment>);

/// One step of a [`KeyPath`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Segment {
    /// A table key.
    Key(String),
    /// An array element.
    Index(usize),
}

impl KeyPath {
    /// The document root.
    pub(crate) fn root() -> Self {
        Self(Vec::new())
    }

    /// This path extended by a table key.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Self(segments)
    }

    /// This path extended by an array index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// Appends a key in place (used when converting serde paths).
    pub(crate) fn push_key(&mut self, key: &str) {
        self.0.push(Segment::Key(key.to_owned()));
    }

    /// The steps from the root.
    pub(crate) fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether `self` is `ancestor` or lies inside it.
    pub(crate) fn starts_with(&self, ancestor: &KeyPath) -> bool {
        self.0.starts_with(&ancestor.0)
    }

    /// The path one step up; the root has none.
    pub(crate) fn parent(&self) -> Option<KeyPath> {
        let (_, rest) = self.0.split_last()?;
        Some(Self(rest.to_vec()))
    }
}

impl fmt::Display for KeyPath {
    /// Bare keys as they are; other keys quoted like TOML (`routes."$connect"`), so the path can
    /// be pasted back into a table header.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare_key(key) {
                        f.write_str(key)?;
                    } else {
                        f.write_str("\"")?;
                        for c in key.chars() {
                            match c {
                                '"' => f.write_str("\\\"")?,
                                '\\' => f.write_str("\\\\")?,
                                '\n' => f.write_str("\\n")?,
                                c => write!(f, "{c}")?,
                            }
                        }
                        f.write_str("\"")?;
                    }
                }
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// TOML bare keys: `A-Za-z0-9_-`, at least one character.
fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
