//! Errors of the data plane, each knowing whose fault it is: that decides the close code or
//! error frame, the metric label and the log level.

use switchboard_core::mapping::MappingError;
use switchboard_core::template::TemplateError;

/// Who caused a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The client sent something it must not.
    Client,
    /// The backend failed, was slow, or answered nonsense.
    Backend,
    /// The gateway itself (or its configuration) failed.
    Internal,
}

/// Why an integration call did not produce a usable result.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// A mapping template failed at render time.
    #[error("mapping template failed: {0}")]
    Template(#[from] TemplateError),
    /// The message cannot be converted as the integration's `contentHandlingStrategy` asks.
    #[error("message rejected: {0}")]
    BadRequest(String),
    /// No request template matched and passthrough is not allowed.
    #[error("no request template matches and passthroughBehavior forbids passthrough")]
    Unmapped,
    /// The backend did not answer within `timeoutInMillis`.
    #[error("backend timed out after {0} ms")]
    Timeout(u64),
    /// The backend could not be reached.
    #[error("backend unreachable: {0}")]
    Unreachable(String),
    /// The backend answered something that cannot be used.
    #[error("backend reply unusable: {0}")]
    BadReply(String),
    /// The Lambda function (or Lambda-style URL) failed.
    #[error("function error: {0}")]
    FunctionError(String),
    /// No integration response matches the backend's status and none is `$default` (docs/behaviour.md §5).
    #[error("no integration response matches status {0} and there is no $default")]
    NoIntegrationResponse(u16),
    /// Too many calls are in flight for this integration.
    #[error("integration is at its concurrency limit")]
    Saturated,
}

impl IntegrationError {
    /// Whose fault this is.
    pub fn fault(&self) -> Fault {
        match self {
            IntegrationError::BadRequest(_) => Fault::Client,
            // `$input.json` on a message that is not JSON: the client sent what the route's
            // template cannot read; the configuration is fine.
            IntegrationError::Template(e) if e.client_input => Fault::Client,
            IntegrationError::Template(_) | IntegrationError::Unmapped => Fault::Internal,
            IntegrationError::Saturated | IntegrationError::NoIntegrationResponse(_) => {
                Fault::Internal
            }
            _ => Fault::Backend,
        }
    }
}

/// Why a configuration cannot be served by this build of the gateway.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A mapping definition failed to compile.
    #[error("{path}: {source}")]
    Mapping {
        /// Key path in the configuration.
        path: String,
        /// The cause.
        source: MappingError,
    },
    /// Anything else wrong with a value.
    #[error("{path}: {message}")]
    Invalid {
        /// Key path in the configuration.
        path: String,
        /// What is wrong.
        message: String,
    },
}
