//! `AWS` service integrations (docs/behaviour.md §4.4): the request template's output POSTed to an AWS
//! JSON-protocol service (`X-Amz-Target: {prefix}.{Action}`), SigV4-signed; the service's HTTP
//! status selects the integration response, whose template sees the service's reply as `$input`.

use super::client::BackendClient;
use super::non_proxy::NonProxyMapping;
use super::signing::{signed_post, SigningScope};
use super::{IntegrationEnv, IntegrationReply, Invocation, UriTemplate};
use crate::error::{BuildError, ErrorKind, IntegrationError};
use switchboard_core::aws_action::ServiceAction;
use switchboard_core::config::{AwsCredentials, IntegrationConfig};

/// A compiled `AWS` integration.
#[derive(Debug)]
pub struct AwsIntegration {
    uri: UriTemplate,
    /// The action, when the URI has no stage variables (checked at load).
    action: Option<ServiceAction>,
    mapping: NonProxyMapping,
    /// `aws.endpoints` overrides by service name.
    endpoints: std::collections::BTreeMap<String, String>,
    credentials: Option<AwsCredentials>,
    client: BackendClient,
}

impl AwsIntegration {
    /// Compiles the integration; signs with `cfg.credentials` (extension) or the environment's.
    pub fn build(
        path: &str,
        cfg: &IntegrationConfig,
        env: &IntegrationEnv,
        client: BackendClient,
    ) -> Result<Self, BuildError> {
        let invalid = |message: String| BuildError::Invalid {
            path: format!("{path}.integrationUri"),
            message,
        };
        // The call's headers are the JSON protocol's own; parameters would be dropped silently.
        if let Some(target) = cfg.request_parameters.keys().next() {
            return Err(BuildError::Invalid {
                path: format!("{path}.requestParameters.\"{target}\""),
                message: "requestParameters are not applied to AWS integrations: the service is \
                          called with its JSON protocol's own Content-Type and X-Amz-Target; put \
                          what the call needs in the request template"
                    .into(),
            });
        }
        let uri = UriTemplate::parse(cfg.integration_uri.as_deref().unwrap_or_default())
            .map_err(invalid)?;
        let action = match uri.static_value() {
            Some(text) => Some(ServiceAction::parse(text).map_err(|e| invalid(e.to_string()))?),
            None => None,
        };
        Ok(Self {
            uri,
            action,
            mapping: NonProxyMapping::build(path, cfg, env.templates.clone())?,
            endpoints: env.aws.endpoints.clone(),
            credentials: cfg.credentials.clone().or_else(|| env.credentials.clone()),
            client,
        })
    }

    /// Renders, calls the service, maps its reply.
    pub async fn invoke(&self, inv: &Invocation<'_>) -> Result<IntegrationReply, IntegrationError> {
        let rendered;
        let action = match &self.action {
            Some(action) => action,
            None => {
                let uri = self.uri.render(&inv.stage.variables);
                rendered = ServiceAction::parse(&uri).map_err(|e| {
                    IntegrationError::internal(
                        ErrorKind::Target,
                        format!("integrationUri after stage variables: {e}"),
                    )
                })?;
                &rendered
            }
        };
        let credentials = self.credentials.as_ref().ok_or_else(|| {
            IntegrationError::internal(
                ErrorKind::Credentials,
                "none to sign with: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the \
                 integration's credentials",
            )
        })?;
        let body = self.mapping.request_body(inv).await?;
        let url = self
            .endpoints
            .get(&action.service)
            .cloned()
            .unwrap_or_else(|| action.default_endpoint());
        let target = action.target();
        let request = signed_post(
            &url,
            &[
                ("content-type", action.protocol.content_type),
                ("x-amz-target", &target),
            ],
            body,
            &SigningScope {
                credentials,
                region: &action.region,
                service: action.protocol.signing_name,
            },
        )?;
        let reply = self.client.send(request).await?;
        self.mapping
            .reply(inv, reply.status.as_u16(), &reply.headers, &reply.body)
            .await
    }
}
