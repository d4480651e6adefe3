//! Request parameter mapping (docs/behaviour.md §4.3): `integration.request.header.X` and
//! `integration.request.querystring.X` filled from the context, stage variables, the upgrade
//! request (`$connect` only), the message body, or a quoted static value.

use crate::event::Handshake;
use crate::selection::{body_value, BodyPath};
use crate::template::ContextVariables;
use std::collections::BTreeMap;

/// Where a mapped value goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An HTTP header of the integration request.
    Header(String),
    /// A query string parameter of the integration request.
    QueryString(String),
}

/// Where a mapped value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `context.X` (e.g. `context.connectionId`, `context.authorizer.userId`).
    Context(String),
    /// `stageVariables.X`.
    StageVariable(String),
    /// `route.request.header.X` (`$connect` only).
    Header(String),
    /// `route.request.multivalueheader.X`: all values joined with `,`.
    MultiValueHeader(String),
    /// `route.request.querystring.X` (`$connect` only).
    QueryString(String),
    /// `route.request.multivaluequerystring.X`: all values joined with `,`.
    MultiValueQueryString(String),
    /// `route.request.body.PATH`.
    Body(BodyPath),
    /// `'static value'`.
    Static(String),
}

/// One mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterMapping {
    /// Where it goes.
    pub target: Target,
    /// Where it comes from.
    pub source: Source,
}

/// Why a mapping does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("requestParameters {key:?}: {message}")]
pub struct ParameterError {
    /// The target key.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Everything a source can be read from.
pub struct ParameterInput<'a> {
    /// `$context` values.
    pub context: &'a dyn ContextVariables,
    /// Stage variables.
    pub stage_variables: &'a BTreeMap<String, String>,
    /// The upgrade request, on `$connect`.
    pub handshake: Option<&'a Handshake>,
    /// The message text, on messages.
    pub body: Option<&'a str>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'$' | b'-'))
}

/// Parses a `requestParameters` map.
pub fn parse_mappings(
    map: &BTreeMap<String, String>,
) -> Result<Vec<ParameterMapping>, ParameterError> {
    map.iter()
        .map(|(key, value)| {
            let err = |message: String| ParameterError {
                key: key.clone(),
                message,
            };
            let target = if let Some(n) = key.strip_prefix("integration.request.header.") {
                Target::Header(n.to_owned())
            } else if let Some(n) = key.strip_prefix("integration.request.querystring.") {
                Target::QueryString(n.to_owned())
            } else {
                return Err(err("target must be integration.request.header.NAME or integration.request.querystring.NAME".into()));
            };
            let name = match &target {
                Target::Header(n) | Target::QueryString(n) => n,
            };
            if !valid_name(name) {
                return Err(err("parameter names must match ^[a-zA-Z0-9._$-]+$".into()));
            }
            let source = parse_source(value).map_err(err)?;
            Ok(ParameterMapping { target, source })
        })
        .collect()
}

fn parse_source(value: &str) -> Result<Source, String> {
    let prefixed = |p: &str| {
        value
            .strip_prefix(p)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
    };
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        return Ok(Source::Static(value[1..value.len() - 1].to_owned()));
    }
    if let Some(path) = value.strip_prefix("route.request.body") {
        return BodyPath::parse(path)
            .map(Source::Body)
            .map_err(|e| format!("bad body path: {e}"));
    }
    let source = if let Some(n) = prefixed("context.") {
        Source::Context(n)
    } else if let Some(n) = prefixed("stageVariables.") {
        Source::StageVariable(n)
    } else if let Some(n) = prefixed("route.request.header.") {
        Source::Header(n)
    } else if let Some(n) = prefixed("route.request.multivalueheader.") {
        Source::MultiValueHeader(n)
    } else if let Some(n) = prefixed("route.request.querystring.") {
        Source::QueryString(n)
    } else if let Some(n) = prefixed("route.request.multivaluequerystring.") {
        Source::MultiValueQueryString(n)
    } else {
        return Err(format!(
            "unknown source {value:?}: use context.X, stageVariables.X, route.request.header.X, route.request.querystring.X, route.request.body.PATH or 'static'"
        ));
    };
    Ok(source)
}

/// The value of one source; `None` when it is absent (the parameter is then not sent).
pub fn resolve(source: &Source, input: &ParameterInput<'_>) -> Option<String> {
    match source {
        Source::Static(v) => Some(v.clone()),
        Source::StageVariable(n) => input.stage_variables.get(n).cloned(),
        Source::Context(path) => input.context.get(path).map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }),
        Source::Header(n) => input.handshake?.header(n).map(str::to_owned),
        Source::MultiValueHeader(n) => {
            let values: Vec<&str> = input.handshake?.header_values(n).collect();
            (!values.is_empty()).then(|| values.join(","))
        }
        Source::QueryString(n) => input
            .handshake?
            .query_pairs()
            .into_iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v),
        Source::MultiValueQueryString(n) => {
            let values: Vec<String> = input
                .handshake?
                .query_pairs()
                .into_iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v)
                .collect();
            (!values.is_empty()).then(|| values.join(","))
        }
        Source::Body(path) => body_value(input.body?, path)
            .filter(|v| !v.is_empty())
            .map(|v| v.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ctx;
    impl ContextVariables for Ctx {
        fn get(&self, path: &str) -> Option<serde_json::Value> {
            (path == "connectionId").then(|| serde_json::Value::String("abc=".into()))
        }
    }

    #[test]
    fn every_source_kind_resolves() {
        let mut map = BTreeMap::new();
        for (k, v) in [
            ("integration.request.header.cid", "context.connectionId"),
            ("integration.request.header.env", "stageVariables.env"),
            (
                "integration.request.header.tok",
                "route.request.header.X-Token",
            ),
            (
                "integration.request.querystring.q",
                "route.request.querystring.q",
            ),
            (
                "integration.request.querystring.all",
                "route.request.multivaluequerystring.q",
            ),
            (
                "integration.request.header.room",
                "route.request.body.data.room",
            ),
            ("integration.request.header.fixed", "'v1'"),
        ] {
            map.insert(k.to_owned(), v.to_owned());
        }
        let mappings = parse_mappings(&map).expect("parses");
        let stage: BTreeMap<String, String> = [("env".to_owned(), "dev".to_owned())].into();
        let hs = Handshake {
            headers: vec![("x-token".into(), "t1".into())],
            raw_query: Some("q=1&q=2".into()),
            ..Handshake::default()
        };
        let input = ParameterInput {
            context: &Ctx,
            stage_variables: &stage,
            handshake: Some(&hs),
            body: Some(r#"{"data":{"room":"r1"}}"#),
        };
        let got: BTreeMap<String, Option<String>> = mappings
            .iter()
            .map(|m| (format!("{:?}", m.target), resolve(&m.source, &input)))
            .collect();
        let want = |t: &str, v: &str| (t.to_owned(), Some(v.to_owned()));
        let expected: BTreeMap<String, Option<String>> = [
            want("Header(\"cid\")", "abc="),
            want("Header(\"env\")", "dev"),
            want("Header(\"tok\")", "t1"),
            want("QueryString(\"q\")", "1"),
            want("QueryString(\"all\")", "1,2"),
            want("Header(\"room\")", "r1"),
            want("Header(\"fixed\")", "v1"),
        ]
        .into();
        assert_eq!(got, expected);
    }

    #[test]
    fn bad_targets_and_sources_are_errors() {
        let one = |k: &str, v: &str| {
            let mut m = BTreeMap::new();
            m.insert(k.to_owned(), v.to_owned());
            parse_mappings(&m)
        };
        assert!(one("integration.request.path.x", "'a'").is_err());
        assert!(one("integration.request.header.a b", "'a'").is_err());
        assert!(one("integration.request.header.a", "method.request.x").is_err());
    }
}
