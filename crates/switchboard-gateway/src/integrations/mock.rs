//! MOCK integrations (docs/behaviour.md §4.5): the request template's `statusCode` is the status; the
//! selected integration response's template is the reply.

use super::non_proxy::NonProxyMapping;
use super::templates::{Place, RenderInput, TemplateRunner};
use super::{IntegrationReply, Invocation};
use crate::error::{BuildError, IntegrationError};
use switchboard_core::config::IntegrationConfig;
use switchboard_core::mapping::RequestMapping;
use switchboard_core::template::Template;

/// A compiled MOCK integration: the same request templates and integration responses as the
/// other non-proxy integrations, with no backend in between.
#[derive(Debug)]
pub struct MockIntegration {
    mapping: NonProxyMapping,
}

/// The templates a MOCK call renders, chosen before any is rendered where possible.
enum RequestStep<'t> {
    /// Render this template; its `statusCode` is the status.
    Render(&'t Template),
    /// No template: the default status.
    Status(u16),
}

impl MockIntegration {
    /// Compiles the templates of a MOCK integration.
    pub fn build(
        path: &str,
        cfg: &IntegrationConfig,
        templates: TemplateRunner,
    ) -> Result<Self, BuildError> {
        Ok(Self {
            mapping: NonProxyMapping::build(path, cfg, templates)?,
        })
    }

    /// Runs the templates on the caller's task; `None` when one of them is too costly to
    /// render there and the call must be made with [`Place::Pool`] instead.
    pub fn invoke_inline(
        &self,
        inv: &Invocation<'_>,
    ) -> Option<Result<IntegrationReply, IntegrationError>> {
        let input = RenderInput::new(inv, inv.body);
        let runner = self.mapping.templates();
        let status = match self.request_step(inv) {
            Ok(RequestStep::Render(t)) => match runner.render_inline(t, &input)? {
                Ok(text) => status_of(&text),
                Err(e) => return Some(Err(e)),
            },
            Ok(RequestStep::Status(status)) => status,
            Err(e) => return Some(Err(e)),
        };
        let body = match self.response_template(status) {
            Some(t) => match runner.render_inline(t, &input)? {
                Ok(text) => Some(text),
                Err(e) => return Some(Err(e)),
            },
            None => None,
        };
        Some(Ok(reply(status, body)))
    }

    /// Runs the templates, inline while cheap or on the render pool (`place`).
    pub async fn invoke(
        &self,
        inv: &Invocation<'_>,
        place: Place,
    ) -> Result<IntegrationReply, IntegrationError> {
        let input = RenderInput::new(inv, inv.body);
        let runner = self.mapping.templates();
        let status = match self.request_step(inv)? {
            RequestStep::Render(t) => status_of(&runner.render(t, &input, place).await?),
            RequestStep::Status(status) => status,
        };
        let body = match self.response_template(status) {
            Some(t) => Some(runner.render(t, &input, place).await?),
            None => None,
        };
        Ok(reply(status, body))
    }

    fn request_step(&self, inv: &Invocation<'_>) -> Result<RequestStep<'_>, IntegrationError> {
        let (request, _) = self.mapping.parts();
        match request.select(inv.body) {
            RequestMapping::Template(t) => Ok(RequestStep::Render(t)),
            RequestMapping::Passthrough => Ok(RequestStep::Status(DEFAULT_STATUS)),
            RequestMapping::Rejected => Err(NonProxyMapping::unmapped()),
        }
    }

    /// For MOCK, `$input` in response templates is the client's message: there is no
    /// backend body, and this is what lets a MOCK route echo (docs/configuration.md example).
    fn response_template(&self, status: u16) -> Option<&Template> {
        let (_, responses) = self.mapping.parts();
        responses
            .select(&status.to_string())
            .and_then(|r| r.template(status))
    }
}

fn reply(status: u16, body: Option<String>) -> IntegrationReply {
    IntegrationReply {
        status,
        subprotocol: None,
        join_groups: None,
        body: body.map(Into::into),
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
