//! Selection expressions (spec §2.2): `$request.body.action`, `${request.body.a}-${request.body.b}`,
//! static text and `\$default`. STUB: being written.

use std::borrow::Cow;

/// A parsed selection expression.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionExpression {
    source: String,
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

impl SelectionExpression {
    /// Parses an expression.
    pub fn parse(source: &str) -> Result<Self, SelectionError> {
        Ok(Self {
            source: source.to_owned(),
        })
    }

    /// The value when the expression has no variables.
    pub fn static_value(&self) -> Option<&str> {
        Some(self.source.strip_prefix('\\').unwrap_or(&self.source))
    }

    /// Route selection over a message: `None` when the message is not JSON (→ `$default`).
    pub fn select_route<'a>(&self, _body: &'a str) -> Option<Cow<'a, str>> {
        None
    }
}
