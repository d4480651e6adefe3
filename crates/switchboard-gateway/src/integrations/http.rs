//! `HTTP` (non-proxy, docs/behaviour.md §4.3, §5): the request template's output to `integrationMethod
//! integrationUri`; the backend's status selects the integration response whose template
//! the client gets on two-way routes.

use super::client::BackendClient;
use super::http_request::HttpTarget;
use super::non_proxy::NonProxyMapping;
use super::templates::TemplateRunner;
use super::{IntegrationReply, Invocation};
use crate::error::{BuildError, IntegrationError};
use http::header::CONTENT_TYPE;
use http::HeaderValue;
use switchboard_core::config::IntegrationConfig;

/// Content type of a rendered request template unless `requestParameters` maps another
/// (API Gateway's non-proxy default for JSON templates).
const TEMPLATE_CONTENT_TYPE: &str = "application/json";

/// A compiled `HTTP` integration.
#[derive(Debug)]
pub struct HttpIntegration {
    target: HttpTarget,
    mapping: NonProxyMapping,
    client: BackendClient,
}

impl HttpIntegration {
    /// Compiles the integration.
    pub fn build(
        path: &str,
        cfg: &IntegrationConfig,
        client: BackendClient,
        templates: TemplateRunner,
    ) -> Result<Self, BuildError> {
        Ok(Self {
            target: HttpTarget::build(path, cfg)?,
            mapping: NonProxyMapping::build(path, cfg, templates)?,
            client,
        })
    }

    /// Renders, calls the backend, maps its reply.
    pub async fn invoke(&self, inv: &Invocation<'_>) -> Result<IntegrationReply, IntegrationError> {
        let body = self.mapping.request_body(inv).await?;
        let request = self.target.request(
            inv,
            &[(
                CONTENT_TYPE,
                HeaderValue::from_static(TEMPLATE_CONTENT_TYPE),
            )],
            body,
        )?;
        let reply = self.client.send(request).await?;
        self.mapping
            .reply(inv, reply.status.as_u16(), &reply.headers, &reply.body)
            .await
    }
}
