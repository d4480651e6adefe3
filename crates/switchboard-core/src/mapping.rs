//! Non-proxy mapping (docs/behaviour.md §2.4, §5): choosing the request template, the integration response
//! and the response template. Rendering itself lives in [`crate::template`].

use crate::config::{ContentHandlingStrategy, IntegrationResponseConfig, PassthroughBehavior};
use crate::selection::{SelectionError, SelectionExpression, Variable};
use crate::template::{Template, TemplateError};
use base64::Engine as _;
use regex::Regex;
use std::collections::BTreeMap;

/// The key that names the catch-all template, integration response or route.
pub const DEFAULT_KEY: &str = "$default";

/// Why a mapping definition does not compile.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// A template does not parse.
    #[error("template {key}: {source}")]
    Template {
        /// Template key.
        key: String,
        /// The template's own error.
        source: TemplateError,
    },
    /// A selection expression does not parse.
    #[error("selection expression: {0}")]
    Selection(#[from] SelectionError),
    /// An integration response key is neither `$default` nor `/regex/`.
    #[error("integration response key {0:?} must be $default or /regex/")]
    ResponseKey(String),
    /// A `/regex/` key does not compile.
    #[error("integration response key {key}: {message}")]
    Regex {
        /// The key.
        key: String,
        /// The regex engine's message.
        message: String,
    },
}

/// Request templates with their selection expression and passthrough behaviour.
#[derive(Debug, Clone)]
pub struct RequestTemplates {
    templates: BTreeMap<String, Template>,
    selection: SelectionExpression,
    passthrough: PassthroughBehavior,
}

/// What to send to the backend for one request.
#[derive(Debug)]
pub enum RequestMapping<'t> {
    /// Render this template.
    Template(&'t Template),
    /// Send the message unchanged.
    Passthrough,
    /// No template matched and passthrough is not allowed (AWS: 415).
    Rejected,
}

impl RequestTemplates {
    /// Compiles the request side of an integration.
    pub fn compile(
        templates: &BTreeMap<String, String>,
        selection: Option<&str>,
        passthrough: Option<PassthroughBehavior>,
    ) -> Result<Self, MappingError> {
        Ok(Self {
            templates: compile_templates(templates)?,
            selection: SelectionExpression::parse(selection.unwrap_or("\\$default"))?,
            passthrough: passthrough.unwrap_or(PassthroughBehavior::WhenNoMatch),
        })
    }

    /// Chooses the template for a message (docs/behaviour.md §2.4: falls back to the `$default` template).
    pub fn select(&self, body: &str) -> RequestMapping<'_> {
        let key = match self.selection.static_value() {
            Some(key) => std::borrow::Cow::Borrowed(key),
            None => self.selection.select_route(body).unwrap_or_default(),
        };
        if let Some(t) = self
            .templates
            .get(key.as_ref())
            .or_else(|| self.templates.get(DEFAULT_KEY))
        {
            return RequestMapping::Template(t);
        }
        match self.passthrough {
            PassthroughBehavior::WhenNoMatch => RequestMapping::Passthrough,
            PassthroughBehavior::WhenNoTemplates if self.templates.is_empty() => {
                RequestMapping::Passthrough
            }
            _ => RequestMapping::Rejected,
        }
    }
}

/// One integration response: its templates and their selection expression.
#[derive(Debug, Clone)]
pub struct IntegrationResponse {
    templates: BTreeMap<String, Template>,
    selection: Option<SelectionExpression>,
    content_handling: Option<ContentHandlingStrategy>,
}

impl IntegrationResponse {
    /// `contentHandlingStrategy` of this response (docs/behaviour.md §5).
    pub fn content_handling(&self) -> Option<ContentHandlingStrategy> {
        self.content_handling
    }

    /// The response template for this reply; `None` means pass the body through.
    pub fn template(&self, status: u16) -> Option<&Template> {
        self.template_for(&ResponseFacts {
            status,
            ..ResponseFacts::default()
        })
    }

    /// The response template for this reply, with the backend's headers and the client's
    /// message available to the response's `templateSelectionExpression` (docs/behaviour.md §2.4).
    pub fn template_for(&self, facts: &ResponseFacts<'_>) -> Option<&Template> {
        let key = match &self.selection {
            None => DEFAULT_KEY.to_owned(),
            Some(sel) => sel.evaluate(|var| match var {
                Variable::IntegrationStatusCode => Some(facts.status.to_string().into()),
                Variable::IntegrationHeader(name) => facts.header(name).map(Into::into),
                Variable::IntegrationMultiValueHeader(name) => {
                    let values: Vec<&str> = facts
                        .headers
                        .iter()
                        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.as_str())
                        .collect();
                    (!values.is_empty()).then(|| values.join(",").into())
                }
                Variable::IntegrationBody(path) => {
                    crate::selection::body_value(facts.response_body, path)
                        .map(|v| v.into_owned().into())
                }
                Variable::RequestBody(path) => {
                    crate::selection::body_value(facts.request_body, path)
                        .map(|v| v.into_owned().into())
                }
                _ => None,
            }),
        };
        self.templates
            .get(&key)
            .or_else(|| self.templates.get(DEFAULT_KEY))
    }
}

/// What a response's `templateSelectionExpression` can refer to.
#[derive(Debug, Default)]
pub struct ResponseFacts<'a> {
    /// The backend's status code (`integration.response.statuscode`).
    pub status: u16,
    /// The backend's headers (`integration.response.header.NAME`), in arrival order.
    pub headers: &'a [(String, String)],
    /// The backend's body (`integration.response.body.PATH`).
    pub response_body: &'a str,
    /// The client's message (`request.body.PATH`).
    pub request_body: &'a str,
}

impl ResponseFacts<'_> {
    /// The first value of a header, by case-insensitive name.
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

/// Integration responses keyed `$default` or `/regex/` (docs/behaviour.md §5).
#[derive(Debug, Clone, Default)]
pub struct IntegrationResponses {
    patterns: Vec<(Regex, IntegrationResponse)>,
    default: Option<IntegrationResponse>,
}

impl IntegrationResponses {
    /// Compiles the integration responses of an integration.
    pub fn compile(
        responses: &BTreeMap<String, IntegrationResponseConfig>,
    ) -> Result<Self, MappingError> {
        let mut out = Self::default();
        for (key, cfg) in responses {
            let response = IntegrationResponse {
                templates: compile_templates(&cfg.response_templates)?,
                selection: cfg
                    .template_selection_expression
                    .as_deref()
                    .map(SelectionExpression::parse)
                    .transpose()?,
                content_handling: cfg.content_handling_strategy,
            };
            if key == DEFAULT_KEY {
                out.default = Some(response);
            } else if let Some(pattern) = key
                .strip_prefix('/')
                .and_then(|k| k.strip_suffix('/'))
                .filter(|p| !p.is_empty())
            {
                // Anchored: the pattern must match the whole selector, as API Gateway's do.
                let regex =
                    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| MappingError::Regex {
                        key: key.clone(),
                        message: e.to_string(),
                    })?;
                out.patterns.push((regex, response));
            } else {
                return Err(MappingError::ResponseKey(key.clone()));
            }
        }
        Ok(out)
    }

    /// True when no integration response is configured.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.default.is_none()
    }

    /// The response whose key matches `selector` (a status code, or a Lambda `errorMessage`),
    /// else `$default`. Patterns are tried in key order.
    pub fn select(&self, selector: &str) -> Option<&IntegrationResponse> {
        self.patterns
            .iter()
            .find(|(re, _)| re.is_match(selector))
            .map(|(_, r)| r)
            .or(self.default.as_ref())
    }
}

/// A body that `CONVERT_TO_BINARY` cannot decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CONVERT_TO_BINARY: the payload is not base64: {0}")]
pub struct NotBase64(String);

/// Applies a `contentHandlingStrategy` to a payload (docs/behaviour.md §5): `CONVERT_TO_BINARY` base64-decodes
/// it; `CONVERT_TO_TEXT` base64-encodes it when it is binary (not UTF-8), and leaves text as it
/// is; no strategy passes it through.
pub fn convert_content(
    strategy: Option<ContentHandlingStrategy>,
    payload: &[u8],
) -> Result<std::borrow::Cow<'_, [u8]>, NotBase64> {
    use std::borrow::Cow;
    match strategy {
        None => Ok(Cow::Borrowed(payload)),
        Some(ContentHandlingStrategy::ConvertToBinary) => {
            let text = std::str::from_utf8(payload).map_err(|e| NotBase64(e.to_string()))?;
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map(Cow::Owned)
                .map_err(|e| NotBase64(e.to_string()))
        }
        Some(ContentHandlingStrategy::ConvertToText) => match std::str::from_utf8(payload) {
            Ok(_) => Ok(Cow::Borrowed(payload)),
            Err(_) => Ok(Cow::Owned(
                base64::engine::general_purpose::STANDARD
                    .encode(payload)
                    .into_bytes(),
            )),
        },
    }
}

fn compile_templates(
    templates: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Template>, MappingError> {
    templates
        .iter()
        .map(|(key, src)| {
            Template::parse(src)
                .map(|t| (key.clone(), t))
                .map_err(|source| MappingError::Template {
                    key: key.clone(),
                    source,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn responses(keys: &[&str]) -> IntegrationResponses {
        let map = keys
            .iter()
            .map(|k| {
                let mut cfg = IntegrationResponseConfig::default();
                cfg.response_templates
                    .insert(DEFAULT_KEY.into(), (*k).to_owned());
                ((*k).to_owned(), cfg)
            })
            .collect();
        IntegrationResponses::compile(&map).expect("compiles")
    }

    fn chosen(r: &IntegrationResponses, sel: &str) -> Option<String> {
        r.select(sel)
            .and_then(|r| r.templates.get(DEFAULT_KEY))
            .map(|_| {
                r.select(sel)
                    .map(|x| format!("{:?}", x.templates.keys().collect::<Vec<_>>()))
                    .unwrap_or_default()
            })
    }

    #[test]
    fn regex_keys_match_whole_status_and_fall_back_to_default() {
        let r = responses(&["$default", "/4\\d{2}/"]);
        assert!(r.select("404").is_some());
        assert!(chosen(&r, "200").is_some());
        let only_regex = responses(&["/4\\d{2}/"]);
        assert!(only_regex.select("404").is_some());
        assert!(only_regex.select("1404").is_none(), "anchored");
        assert!(only_regex.select("200").is_none());
    }

    #[test]
    fn content_handling_converts_both_ways() {
        use ContentHandlingStrategy::*;
        assert_eq!(convert_content(None, b"aGk=").unwrap().as_ref(), b"aGk=");
        assert_eq!(
            convert_content(Some(ConvertToBinary), b"aGk=")
                .unwrap()
                .as_ref(),
            b"hi"
        );
        assert!(convert_content(Some(ConvertToBinary), b"not base64!").is_err());
        assert_eq!(
            convert_content(Some(ConvertToText), &[0xff, 0x00])
                .unwrap()
                .as_ref(),
            b"/wA="
        );
        assert_eq!(
            convert_content(Some(ConvertToText), b"text")
                .unwrap()
                .as_ref(),
            b"text"
        );
    }

    #[test]
    fn response_template_selection_reads_headers_and_bodies() {
        let mut cfg = IntegrationResponseConfig {
            template_selection_expression: Some(
                "${integration.response.header.x-kind}-${request.body.v}".into(),
            ),
            ..Default::default()
        };
        for key in ["a-1", "$default"] {
            cfg.response_templates.insert(key.into(), key.into());
        }
        let map = [(DEFAULT_KEY.to_owned(), cfg)].into();
        let responses = IntegrationResponses::compile(&map).expect("compiles");
        let response = responses.select("200").expect("default");
        let headers = [("X-Kind".to_owned(), "a".to_owned())];
        let facts = |body| ResponseFacts {
            status: 200,
            headers: &headers,
            response_body: "{}",
            request_body: body,
        };
        let chosen = |body| {
            response
                .template_for(&facts(body))
                .map(|t| t.source().to_owned())
        };
        assert_eq!(chosen(r#"{"v":1}"#).as_deref(), Some("a-1"));
        assert_eq!(chosen(r#"{"v":2}"#).as_deref(), Some("$default"));
    }

    #[test]
    fn bad_keys_are_errors() {
        let mut map = BTreeMap::new();
        map.insert("oops".to_owned(), IntegrationResponseConfig::default());
        assert!(matches!(
            IntegrationResponses::compile(&map),
            Err(MappingError::ResponseKey(_))
        ));
        let mut map = BTreeMap::new();
        map.insert("/(/".to_owned(), IntegrationResponseConfig::default());
        assert!(matches!(
            IntegrationResponses::compile(&map),
            Err(MappingError::Regex { .. })
        ));
    }
}
