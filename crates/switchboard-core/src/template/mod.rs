//! Mapping templates (API Gateway's Velocity dialect). STUB: being written.

use std::collections::BTreeMap;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
}

/// A template error with its position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TemplateError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Supplies `$context.*` values.
pub trait ContextVariables {
    /// The value at a dotted path below `$context`, e.g. `connectionId` or `authorizer.principalId`.
    fn get(&self, path: &str) -> Option<serde_json::Value>;
}

/// What a template can see when rendered.
pub struct TemplateContext<'a> {
    /// The raw message text (`$input.body`).
    pub body: &'a str,
    /// `$context.*`.
    pub context: &'a dyn ContextVariables,
    /// `$stageVariables.*`.
    pub stage_variables: &'a BTreeMap<String, String>,
}

impl Template {
    /// Parses a template.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        Ok(Self {
            source: source.to_owned(),
        })
    }

    /// Renders the template.
    pub fn render(&self, _ctx: &TemplateContext<'_>) -> Result<String, TemplateError> {
        Ok(self.source.clone())
    }
}
