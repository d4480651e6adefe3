//! MOCK integrations (docs/behaviour.md §4.5): the request template's `statusCode` is the status; the
//! selected integration response's template is the reply.

use super::non_proxy::NonProxyMapping;
use super::{IntegrationReply, Invocation};
use crate::error::{BuildError, IntegrationError};
use switchboard_core::config::IntegrationConfig;
use switchboard_core::mapping::RequestMapping;
use switchboard_core::template::TemplateContext;

/// A compiled MOCK integration: the same request templates and integration responses as the
/// other non-proxy integrations, with no backend in between.
#[derive(Debug)]
pub struct MockIntegration {
    mapping: NonProxyMapping,
}

impl MockIntegration {
    /// Compiles the templates of a MOCK integration.
    pub fn build(path: &str, cfg: &IntegrationConfig) -> Result<Self, BuildError> {
        Ok(Self {
            mapping: NonProxyMapping::build(path, cfg)?,
        })
    }

    /// Runs the templates; no I/O.
    pub fn invoke(&self, inv: &Invocation<'_>) -> Result<IntegrationReply, IntegrationError> {
        let tctx = TemplateContext::new(inv.body, inv.ctx, &inv.stage.variables);
        let (request, responses) = self.mapping.parts();
        let status = match request.select(inv.body) {
            RequestMapping::Template(t) => status_of(&t.render(&tctx)?),
            RequestMapping::Passthrough => DEFAULT_STATUS,
            RequestMapping::Rejected => return Err(IntegrationError::Unmapped),
        };
        // For MOCK, `$input` in response templates is the client's message: there is no
        // backend body, and this is what lets a MOCK route echo (docs/configuration.md example).
        let body = match responses
            .select(&status.to_string())
            .and_then(|r| r.template(status))
        {
            Some(t) => Some(t.render(&tctx)?.into()),
            None => None,
        };
        Ok(IntegrationReply {
            status,
            subprotocol: None,
            body,
        })
    }
}

/// Status when the request template gives none (docs/behaviour.md §4.5: UNCONFIRMED, assume 200).
const DEFAULT_STATUS: u16 = 200;

/// `statusCode` of a rendered MOCK request template, e.g. `{"statusCode": 403}`.
fn status_of(rendered: &str) -> u16 {
    #[derive(serde::Deserialize)]
    struct Status {
        #[serde(rename = "statusCode")]
        status_code: Option<serde_json::Value>,
    }
    serde_json::from_str::<Status>(rendered)
        .ok()
        .and_then(|s| s.status_code)
        .and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .and_then(|n| u16::try_from(n).ok())
        .filter(|n| (100..=599).contains(n))
        .unwrap_or(DEFAULT_STATUS)
}

#[cfg(test)]
mod tests {
    use super::status_of;

    #[test]
    fn status_comes_from_the_template_output() {
        assert_eq!(status_of(r#"{"statusCode": 403}"#), 403);
        assert_eq!(status_of(r#"{"statusCode": "201"}"#), 201);
        assert_eq!(status_of("not json"), 200);
        assert_eq!(status_of(r#"{"statusCode": 99999}"#), 200);
        assert_eq!(status_of("{}"), 200);
    }
}
