//! Backend integrations (docs/behaviour.md §4): what a route invokes, and the reply it hands back.

mod aws;
mod client;
mod http;
mod http_proxy;
mod http_request;
mod lambda;
mod mock;
mod non_proxy;
mod pool;
mod signing;
mod templates;

use crate::error::{BuildError, IntegrationError};
use crate::outbound::MAX_MESSAGE_BYTES;
use crate::runtime::Stage;
pub use aws::AwsIntegration;
use bytes::Bytes;
pub use client::BackendClient;
pub use http::HttpIntegration;
pub use http_proxy::HttpProxy;
pub use lambda::LambdaProxy;
pub use mock::MockIntegration;
use std::collections::BTreeMap;
use std::time::Duration;
use switchboard_core::config::{AwsConfig, AwsCredentials, IntegrationConfig, IntegrationType};
use switchboard_core::context::RequestContext;
use switchboard_core::event::Handshake;
use switchboard_core::selection::{SelectionExpression, Variable};
pub use templates::{Place, RenderInput, TemplateRunner, INLINE_STEPS, INLINE_TIME, POOL_WAIT};

/// One configured integration.
#[derive(Debug)]
pub enum Integration {
    /// No backend: templates decide the status and the reply (docs/behaviour.md §4.5).
    Mock(MockIntegration),
    /// An HTTP endpoint, proxied (docs/behaviour.md §4.3).
    HttpProxy(HttpProxy),
    /// A Lambda function (or a Lambda-style URL), proxied (docs/behaviour.md §4.2).
    Lambda(LambdaProxy),
    /// An HTTP endpoint through mapping templates (docs/behaviour.md §4.3, §5).
    Http(HttpIntegration),
    /// An AWS service action through mapping templates (docs/behaviour.md §4.4).
    Aws(AwsIntegration),
}

/// What an integration is asked to handle.
pub struct Invocation<'a> {
    /// The event's request context.
    pub ctx: &'a RequestContext<'a>,
    /// The message text (empty for `$connect` and `$disconnect`).
    pub body: &'a str,
    /// Whether `body` is base64 of a binary frame.
    pub is_base64: bool,
    /// The stage the connection belongs to.
    pub stage: &'a Stage,
    /// The upgrade request, on `$connect`.
    pub handshake: Option<&'a Handshake>,
}

/// What an integration answered.
#[derive(Debug, Default)]
pub struct IntegrationReply {
    /// The status that decides `$connect` and selects integration responses.
    pub status: u16,
    /// `Sec-WebSocket-Protocol` chosen by a `$connect` integration.
    pub subprotocol: Option<String>,
    /// Extension: the groups a `$connect` answer names in its
    /// [`JOIN_HEADER`](crate::plane::JOIN_HEADER) header, unparsed (docs/groups.md).
    pub join_groups: Option<String>,
    /// What a two-way route sends back; `None` sends nothing.
    pub body: Option<Bytes>,
}

/// What integrations need from outside their own configuration.
#[derive(Debug, Clone, Default)]
pub struct IntegrationEnv {
    /// `[aws]`: region, account, endpoint overrides.
    pub aws: AwsConfig,
    /// Credentials for outbound AWS calls (from the environment).
    pub credentials: Option<AwsCredentials>,
    /// Cap on concurrent calls per integration.
    pub max_concurrent_calls: usize,
    /// The budget of every mapping-template render, and where renders run.
    pub templates: TemplateRunner,
}

impl IntegrationEnv {
    /// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
    pub fn credentials_from_env() -> Option<AwsCredentials> {
        let key = std::env::var("AWS_ACCESS_KEY_ID")
            .ok()
            .filter(|k| !k.is_empty())?;
        let secret = std::env::var("AWS_SECRET_ACCESS_KEY")
            .ok()
            .filter(|k| !k.is_empty())?;
        Some(AwsCredentials {
            access_key_id: key,
            secret_access_key: secret,
            session_token: std::env::var("AWS_SESSION_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
        })
    }
}

impl Integration {
    /// Compiles an integration from its configuration.
    pub fn build(
        path: &str,
        cfg: &IntegrationConfig,
        env: &IntegrationEnv,
    ) -> Result<Self, BuildError> {
        // A proxied HTTP reply goes to the client verbatim, so it can be no larger than a
        // message; other replies are transformed first (Lambda's JSON, templates).
        let max_reply = match cfg.integration_type {
            IntegrationType::HttpProxy => MAX_MESSAGE_BYTES,
            _ => client::MAX_TRANSFORMED_REPLY_BYTES,
        };
        let client = || {
            BackendClient::new(
                Duration::from_millis(cfg.timeout_in_millis),
                env.max_concurrent_calls,
                max_reply,
            )
            .map_err(|message| BuildError::Invalid {
                path: path.to_owned(),
                message,
            })
        };
        match cfg.integration_type {
            IntegrationType::Mock => Ok(Integration::Mock(MockIntegration::build(
                path,
                cfg,
                env.templates.clone(),
            )?)),
            IntegrationType::HttpProxy => Ok(Integration::HttpProxy(HttpProxy::build(
                path,
                cfg,
                client()?,
            )?)),
            IntegrationType::AwsProxy => Ok(Integration::Lambda(LambdaProxy::build(
                path,
                cfg.integration_uri.as_deref().unwrap_or_default(),
                env.aws.endpoints.get("lambda").map(String::as_str),
                env.credentials.clone(),
                client()?,
            )?)),
            IntegrationType::Http => Ok(Integration::Http(HttpIntegration::build(
                path,
                cfg,
                client()?,
                env.templates.clone(),
            )?)),
            IntegrationType::Aws => Ok(Integration::Aws(AwsIntegration::build(
                path,
                cfg,
                env,
                client()?,
            )?)),
        }
    }

    /// Calls the integration.
    pub async fn invoke(&self, inv: &Invocation<'_>) -> Result<IntegrationReply, IntegrationError> {
        match self {
            Integration::Mock(mock) => mock.invoke(inv, Place::InlineFirst).await,
            Integration::HttpProxy(http) => http.invoke(inv).await,
            Integration::Lambda(lambda) => lambda.invoke(inv).await,
            Integration::Http(http) => http.invoke(inv).await,
            Integration::Aws(aws) => aws.invoke(inv).await,
        }
    }
}

/// A URI or ARN with `${stageVariables.x}` placeholders, resolved per call.
#[derive(Debug)]
pub struct UriTemplate(SelectionExpression);

impl UriTemplate {
    /// Parses the template.
    pub fn parse(text: &str) -> Result<Self, String> {
        let expr = SelectionExpression::parse(text).map_err(|e| e.to_string())?;
        if let Some(v) = expr
            .variables()
            .find(|v| !matches!(v, Variable::StageVariable(_)))
        {
            return Err(format!(
                "only ${{stageVariables.NAME}} may appear in a URI, not ${{{v}}}"
            ));
        }
        Ok(Self(expr))
    }

    /// The URI when it has no stage variables.
    pub fn static_value(&self) -> Option<&str> {
        self.0.static_value()
    }

    /// The URI with stage variables filled in (missing ones are empty).
    pub fn render(&self, stage_variables: &BTreeMap<String, String>) -> String {
        if let Some(s) = self.0.static_value() {
            return s.to_owned();
        }
        self.0.evaluate(|v| match v {
            Variable::StageVariable(name) => stage_variables.get(name).map(|s| s.as_str().into()),
            _ => None,
        })
    }
}
