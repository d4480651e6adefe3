//! Selection expressions (docs/behaviour.md §2.2): `$request.body.action`, `${request.body.a}-${request.body.b}`,
//! static text and `\$default`.
//!
//! An expression is parsed once, at configuration time, into static text and [`Variable`]s. Route
//! selection ([`SelectionExpression::select_route`]) is the per-message hot path: it walks the
//! message text with serde_json without building a `Value`, and for the usual
//! `$request.body.action` it returns the route key borrowed from the message. Other expressions
//! (template, integration response, API key selection, docs/behaviour.md §2.4) are evaluated with
//! [`SelectionExpression::evaluate`], the caller supplying each variable's value.

use std::borrow::Cow;
use std::fmt;

mod body;
mod parse;
#[cfg(test)]
mod tests;

pub use body::{body_value, stringify_value};

/// A parsed selection expression.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionExpression {
    /// The text as configured, for messages and round-tripping.
    source: String,
    /// Static text and variables in source order; adjacent text is merged.
    parts: Vec<Part>,
    /// The whole value when there are no variables, precomputed so evaluation is a copy.
    static_value: Option<String>,
}

/// One piece of an expression.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    /// Literal text, escapes already applied (`\$` → `$`).
    Text(String),
    /// A value looked up at evaluation time.
    Variable(Variable),
}

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at character {position}")]
pub struct SelectionError {
    /// What is wrong.
    pub message: String,
    /// 0-based character offset.
    pub position: usize,
}

/// A variable of a selection expression: its root (which request or response part it reads)
/// and, for the roots that have one, a name or a JSON path (docs/behaviour.md §2.2, §2.4).
///
/// A config validator matches on the variant to check that, for example, a
/// `routeSelectionExpression` only uses [`Variable::RequestBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Variable {
    /// `request.body.PATH`: a value in the message, parsed as JSON.
    RequestBody(BodyPath),
    /// `request.header.NAME`: a header of the `$connect` request, name as written.
    RequestHeader(String),
    /// `request.querystring.NAME`: a query-string parameter of the `$connect` request.
    RequestQueryString(String),
    /// `context.X.Y`: a request context value; holds the dotted path after `context.`
    /// (e.g. `authorizer.usageIdentifierKey`).
    Context(String),
    /// `stageVariables.NAME`: a stage variable.
    StageVariable(String),
    /// `integration.response.statuscode`: the backend's HTTP status code.
    IntegrationStatusCode,
    /// `integration.response.header.NAME`: a header of the backend's response.
    IntegrationHeader(String),
    /// `integration.response.multivalueheader.NAME`: all values of a backend response header.
    IntegrationMultiValueHeader(String),
    /// `integration.response.body.PATH`: a value in the backend's response body, parsed as JSON.
    IntegrationBody(BodyPath),
}

/// A JSON path into a body: the part after `request.body` or `integration.response.body`
/// (docs/behaviour.md §2.2), e.g. `.data.room`, `['quoted name'][0]`. Empty means the whole body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BodyPath {
    /// The steps from the root value down.
    segments: Vec<PathSegment>,
}

/// One step of a [`BodyPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// An object member: `.name`, `['name']` or `["name"]`.
    Key(String),
    /// An array element: `[0]`.
    Index(usize),
}

// === impl SelectionExpression ===

impl SelectionExpression {
    /// Parses an expression (docs/behaviour.md §2.2). Errors carry the character position of the problem.
    pub fn parse(source: &str) -> Result<Self, SelectionError> {
        let parts = parse::parse_parts(source).map_err(|e| SelectionError {
            message: e.message,
            // Byte offsets are internal; users count characters.
            position: source.get(..e.byte).map_or(0, |s| s.chars().count()),
        })?;
        let static_value = match parts.as_slice() {
            [] => Some(String::new()),
            [Part::Text(text)] => Some(text.clone()),
            _ => None,
        };
        Ok(Self {
            source: source.to_owned(),
            parts,
            static_value,
        })
    }

    /// The expression as it was written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The value when the expression has no variables: `\$default` → `$default`,
    /// `$default` → `$default` (docs/behaviour.md §2.2), `action` → `action`.
    pub fn static_value(&self) -> Option<&str> {
        self.static_value.as_deref()
    }

    /// The variables in source order, so a validator can check which roots an attribute uses
    /// (docs/behaviour.md §2.4).
    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable(variable) => Some(variable),
            Part::Text(_) => None,
        })
    }

    /// Evaluates the expression once (no recursion, docs/behaviour.md §2.2), asking `resolve` for each
    /// variable's value; `None` (not found) evaluates to `""`.
    ///
    /// For body variables a resolver would typically call [`body_value`].
    pub fn evaluate<'v>(
        &self,
        mut resolve: impl FnMut(&Variable) -> Option<Cow<'v, str>>,
    ) -> String {
        if let Some(value) = &self.static_value {
            return value.clone();
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Variable(variable) => {
                    if let Some(value) = resolve(variable) {
                        out.push_str(&value);
                    }
                }
            }
        }
        out
    }

    /// Route selection over a message text (docs/behaviour.md §2.3).
    ///
    /// Returns `None` when the message is not a single valid JSON document (the caller then
    /// uses `$default`); this holds for static expressions too, since AWS sends every non-JSON
    /// message to `$default`. Otherwise returns the evaluated route key; body values are
    /// stringified as described in [`stringify_value`], and a missing path or `null` gives `""`.
    /// Variables other than `request.body` have no value in a message and evaluate to `""`
    /// (configuration validation rejects them in a `routeSelectionExpression`).
    ///
    /// `$request.body.action` over a string without escapes borrows from `body`: no allocation.
    /// A static expression allocates its copy; callers can check [`Self::static_value`] first.
    pub fn select_route<'a>(&self, body: &'a str) -> Option<Cow<'a, str>> {
        // The hot path: a single body variable and nothing else.
        if let [Part::Variable(Variable::RequestBody(path))] = self.parts.as_slice() {
            return body_value(body, path);
        }
        let mut validated = false;
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Variable(Variable::RequestBody(path)) => {
                    // Each lookup checks the whole document, so one failure means "not JSON".
                    out.push_str(&body_value(body, path)?);
                    validated = true;
                }
                Part::Variable(_) => {}
            }
        }
        if !validated && !body::is_json(body) {
            return None;
        }
        Some(Cow::Owned(out))
    }
}

impl std::str::FromStr for SelectionExpression {
    type Err = SelectionError;

    fn from_str(source: &str) -> Result<Self, Self::Err> {
        Self::parse(source)
    }
}

impl fmt::Display for SelectionExpression {
    /// Shows the expression as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

// === impl Variable ===

impl Variable {
    /// The root as written in an expression: `request.body`, `request.header`,
    /// `request.querystring`, `context`, `stageVariables`, `integration.response.statuscode`,
    /// `integration.response.header`, `integration.response.multivalueheader` or
    /// `integration.response.body`.
    pub fn root(&self) -> &'static str {
        match self {
            Variable::RequestBody(_) => "request.body",
            Variable::RequestHeader(_) => "request.header",
            Variable::RequestQueryString(_) => "request.querystring",
            Variable::Context(_) => "context",
            Variable::StageVariable(_) => "stageVariables",
            Variable::IntegrationStatusCode => "integration.response.statuscode",
            Variable::IntegrationHeader(_) => "integration.response.header",
            Variable::IntegrationMultiValueHeader(_) => "integration.response.multivalueheader",
            Variable::IntegrationBody(_) => "integration.response.body",
        }
    }

    /// The name after the root for header, query-string, stage-variable and context variables
    /// (for `context`, the dotted path such as `authorizer.usageIdentifierKey`).
    pub fn name(&self) -> Option<&str> {
        match self {
            Variable::RequestHeader(name)
            | Variable::RequestQueryString(name)
            | Variable::Context(name)
            | Variable::StageVariable(name)
            | Variable::IntegrationHeader(name)
            | Variable::IntegrationMultiValueHeader(name) => Some(name),
            Variable::RequestBody(_)
            | Variable::IntegrationBody(_)
            | Variable::IntegrationStatusCode => None,
        }
    }

    /// The JSON path for `request.body` and `integration.response.body` variables.
    pub fn body_path(&self) -> Option<&BodyPath> {
        match self {
            Variable::RequestBody(path) | Variable::IntegrationBody(path) => Some(path),
            _ => None,
        }
    }
}

impl fmt::Display for Variable {
    /// Shows the variable without `$`, e.g. `request.body.action`, `request.header.x-api-key`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.root())?;
        if let Some(path) = self.body_path() {
            write!(f, "{path}")
        } else if let Some(name) = self.name() {
            write!(f, ".{name}")
        } else {
            Ok(())
        }
    }
}

// === impl BodyPath ===

impl BodyPath {
    /// Parses the text that follows `body` in `request.body.a.b`: `.a.b`, `['a'][0]`, or `""`
    /// for the whole body. Reusable for `route.request.body.PATH` request parameters.
    pub fn parse(path: &str) -> Result<Self, SelectionError> {
        parse::parse_body_path(path, 0).map_err(|e| SelectionError {
            message: e.message,
            position: path.get(..e.byte).map_or(0, |s| s.chars().count()),
        })
    }

    /// The steps from the root value down; empty for the whole body.
    pub fn segments(&self) -> &[PathSegment] {
        &self.segments
    }

    /// Looks the path up in a JSON text without building a `Value`: `Err` when `body` is not
    /// one valid JSON document, `Ok(None)` when the path is not there, otherwise the value's
    /// exact text borrowed from `body`. Use [`stringify_value`] to turn it into a selection key.
    pub fn lookup<'a>(
        &self,
        body: &'a str,
    ) -> Result<Option<&'a serde_json::value::RawValue>, serde_json::Error> {
        body::lookup(body, &self.segments)
    }
}

impl fmt::Display for BodyPath {
    /// Shows the path as it follows `body`: `.data.room`, `['a b'][0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.segments {
            match segment {
                PathSegment::Key(key) if parse::is_plain_name(key) => write!(f, ".{key}")?,
                PathSegment::Key(key) => {
                    f.write_str("['")?;
                    for ch in key.chars() {
                        if ch == '\'' || ch == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{ch}")?;
                    }
                    f.write_str("']")?;
                }
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}
