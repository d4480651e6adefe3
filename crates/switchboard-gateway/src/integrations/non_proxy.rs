//! The mapping shared by the non-proxy integrations that call a backend (`HTTP`, `AWS`;
//! spec §4.3, §4.4, §5): a request template renders the body sent, the backend's status
//! selects an integration response, and its template renders what the client gets.

use super::{IntegrationReply, Invocation};
use crate::error::{BuildError, IntegrationError};
use bytes::Bytes;
use http::HeaderMap;
use switchboard_core::config::IntegrationConfig;
use switchboard_core::mapping::{
    IntegrationResponses, RequestMapping, RequestTemplates, ResponseFacts,
};
use switchboard_core::template::TemplateContext;

/// Compiled request templates and integration responses of one integration.
#[derive(Debug)]
pub struct NonProxyMapping {
    request: RequestTemplates,
    responses: IntegrationResponses,
}

impl NonProxyMapping {
    /// Compiles `requestTemplates`, `templateSelectionExpression`, `passthroughBehavior` and
    /// `integrationResponses`; template errors carry `path`.
    pub fn build(path: &str, cfg: &IntegrationConfig) -> Result<Self, BuildError> {
        let err = |source| BuildError::Mapping {
            path: path.to_owned(),
            source,
        };
        Ok(Self {
            request: RequestTemplates::compile(
                &cfg.request_templates,
                cfg.template_selection_expression.as_deref(),
                cfg.passthrough_behavior,
            )
            .map_err(err)?,
            responses: IntegrationResponses::compile(&cfg.integration_responses).map_err(err)?,
        })
    }

    /// The body to send: the selected request template rendered over the client's message,
    /// or the message itself when passthrough applies.
    pub fn request_body(&self, inv: &Invocation<'_>) -> Result<Bytes, IntegrationError> {
        match self.request.select(inv.body) {
            RequestMapping::Template(t) => {
                let tctx = TemplateContext::new(inv.body, inv.ctx, &inv.stage.variables);
                Ok(Bytes::from(t.render(&tctx)?))
            }
            RequestMapping::Passthrough => Ok(Bytes::copy_from_slice(inv.body.as_bytes())),
            RequestMapping::Rejected => Err(IntegrationError::Unmapped),
        }
    }

    /// What the client gets for a backend reply: the integration response whose key matches
    /// the status (else `$default`), its template rendered with `$input` = the backend's
    /// body, or that body unchanged when the response has no template. A status that no
    /// integration response matches is an integration failure.
    pub fn reply(
        &self,
        inv: &Invocation<'_>,
        status: u16,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<IntegrationReply, IntegrationError> {
        let response = self
            .responses
            .select(&status.to_string())
            .ok_or(IntegrationError::NoIntegrationResponse(status))?;
        let text = String::from_utf8_lossy(body);
        let headers: Vec<(String, String)> = headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let facts = ResponseFacts {
            status,
            headers: &headers,
            response_body: &text,
            request_body: inv.body,
        };
        let body = match response.template_for(&facts) {
            Some(t) => {
                let tctx = TemplateContext::new(&text, inv.ctx, &inv.stage.variables);
                Some(Bytes::from(t.render(&tctx)?))
            }
            None => (!body.is_empty()).then(|| body.clone()),
        };
        Ok(IntegrationReply {
            status,
            subprotocol: None,
            body,
        })
    }
}
