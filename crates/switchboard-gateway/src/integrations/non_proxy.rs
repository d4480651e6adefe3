//! The mapping shared by the non-proxy integrations that call a backend (`HTTP`, `AWS`;
//! docs/behaviour.md §4.3, §4.4, §5): a request template renders the body sent, the backend's status
//! selects an integration response, and its template renders what the client gets.

use super::templates::{Place, RenderInput, TemplateRunner};
use super::{IntegrationReply, Invocation};
use crate::error::{BuildError, ErrorKind, IntegrationError};
use bytes::Bytes;
use http::HeaderMap;
use switchboard_core::config::{ContentHandlingStrategy, IntegrationConfig};
use switchboard_core::mapping::{
    convert_content, IntegrationResponses, RequestMapping, RequestTemplates, ResponseFacts,
};
use switchboard_core::template::InputParams;

/// Compiled request templates and integration responses of one integration.
#[derive(Debug)]
pub struct NonProxyMapping {
    request: RequestTemplates,
    responses: IntegrationResponses,
    content_handling: Option<ContentHandlingStrategy>,
    templates: TemplateRunner,
}

impl NonProxyMapping {
    /// Compiles `requestTemplates`, `templateSelectionExpression`, `passthroughBehavior` and
    /// `integrationResponses`; template errors carry `path`.
    pub fn build(
        path: &str,
        cfg: &IntegrationConfig,
        templates: TemplateRunner,
    ) -> Result<Self, BuildError> {
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
            content_handling: cfg.content_handling_strategy,
            templates,
        })
    }

    /// The request templates and integration responses (MOCK uses them without a backend).
    pub(super) fn parts(&self) -> (&RequestTemplates, &IntegrationResponses) {
        (&self.request, &self.responses)
    }

    /// Where and within what budget the templates render.
    pub(super) fn templates(&self) -> &TemplateRunner {
        &self.templates
    }

    /// No request template matched and passthrough is off: the configuration's choice.
    pub(super) fn unmapped() -> IntegrationError {
        IntegrationError::internal(
            ErrorKind::Unmapped,
            "passthroughBehavior forbids passing the message through",
        )
    }

    /// The body to send: the selected request template rendered over the client's message,
    /// or the message itself when passthrough applies (a binary frame as its bytes), then the
    /// integration's `contentHandlingStrategy`. On `$connect`, `$input.params()` holds the
    /// upgrade request's query string and headers.
    pub async fn request_body(&self, inv: &Invocation<'_>) -> Result<Bytes, IntegrationError> {
        let body = match self.request.select(inv.body) {
            RequestMapping::Template(t) => {
                let params = inv.handshake.map(|h| InputParams {
                    path: Default::default(),
                    querystring: h.query_pairs().into_iter().collect(),
                    header: h.headers.iter().cloned().collect(),
                });
                let mut input = RenderInput::new(inv, inv.body);
                if let Some(p) = &params {
                    input = input.with_params(p);
                }
                let rendered = self.templates.render(t, &input, Place::InlineFirst).await?;
                Bytes::from(rendered)
            }
            // A binary frame arrives base64-encoded; unless CONVERT_TO_TEXT asks for that
            // text, the backend gets the frame's bytes, as API Gateway passes binary through.
            RequestMapping::Passthrough
                if inv.is_base64
                    && self.content_handling != Some(ContentHandlingStrategy::ConvertToText) =>
            {
                let decoded = convert_content(
                    Some(ContentHandlingStrategy::ConvertToBinary),
                    inv.body.as_bytes(),
                )
                .map_err(|e| IntegrationError::client(ErrorKind::Conversion, e.to_string()))?;
                return Ok(Bytes::from(decoded.into_owned()));
            }
            RequestMapping::Passthrough => Bytes::copy_from_slice(inv.body.as_bytes()),
            RequestMapping::Rejected => return Err(Self::unmapped()),
        };
        match convert_content(self.content_handling, &body) {
            Ok(converted) => Ok(Bytes::from(converted.into_owned())),
            Err(e) => Err(IntegrationError::client(
                ErrorKind::Conversion,
                e.to_string(),
            )),
        }
    }

    /// What the client gets for a backend reply: the integration response whose key matches
    /// the status (else `$default`), its template rendered with `$input` = the backend's
    /// body, or that body unchanged when the response has no template. A status that no
    /// integration response matches is an integration failure.
    pub async fn reply(
        &self,
        inv: &Invocation<'_>,
        status: u16,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<IntegrationReply, IntegrationError> {
        let response = self.responses.select(&status.to_string()).ok_or_else(|| {
            IntegrationError::internal(
                ErrorKind::NoIntegrationResponse,
                format!("status {status}, and there is no $default"),
            )
        })?;
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
                let input = RenderInput::new(inv, &text);
                let rendered = self.templates.render(t, &input, Place::InlineFirst).await?;
                Some(Bytes::from(rendered))
            }
            None => (!body.is_empty()).then(|| body.clone()),
        };
        let body = match body {
            Some(b) => Some(Bytes::from(
                convert_content(response.content_handling(), &b)
                    .map_err(|e| IntegrationError::backend(ErrorKind::BadReply, e.to_string()))?
                    .into_owned(),
            )),
            None => None,
        };
        Ok(IntegrationReply {
            status,
            subprotocol: None,
            join_groups: None,
            body,
        })
    }
}
