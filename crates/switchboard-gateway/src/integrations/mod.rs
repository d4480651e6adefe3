//! Backend integrations (spec §4): what a route invokes, and the reply it hands back.

mod mock;

use crate::error::{BuildError, IntegrationError};
use crate::runtime::Stage;
pub use mock::MockIntegration;
use switchboard_core::config::{IntegrationConfig, IntegrationType};
use switchboard_core::context::RequestContext;

/// One configured integration.
#[derive(Debug)]
pub enum Integration {
    /// No backend: templates decide the status and the reply (spec §4.5).
    Mock(MockIntegration),
}

/// What an integration is asked to handle.
pub struct Invocation<'a> {
    /// The event's request context.
    pub ctx: &'a RequestContext<'a>,
    /// The message text (empty for `$connect` and `$disconnect`).
    pub body: &'a str,
    /// The stage the connection belongs to.
    pub stage: &'a Stage,
}

/// What an integration answered.
#[derive(Debug, Default)]
pub struct IntegrationReply {
    /// The status that decides `$connect` and selects integration responses.
    pub status: u16,
    /// `Sec-WebSocket-Protocol` chosen by a `$connect` integration.
    pub subprotocol: Option<String>,
    /// What a two-way route sends back; `None` sends nothing.
    pub body: Option<String>,
}

impl Integration {
    /// Compiles an integration from its configuration.
    pub fn build(path: &str, cfg: &IntegrationConfig) -> Result<Self, BuildError> {
        match cfg.integration_type {
            IntegrationType::Mock => Ok(Integration::Mock(MockIntegration::build(path, cfg)?)),
            other => Err(BuildError::Unsupported {
                path: format!("{path}.integrationType"),
                what: format!("{other:?}"),
            }),
        }
    }

    /// True when the integration needs no I/O and can run inside the connection task.
    pub fn is_inline(&self) -> bool {
        matches!(self, Integration::Mock(_))
    }

    /// Calls the integration.
    pub async fn invoke(&self, inv: &Invocation<'_>) -> Result<IntegrationReply, IntegrationError> {
        match self {
            Integration::Mock(mock) => mock.invoke(inv),
        }
    }
}
