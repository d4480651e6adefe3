//! Errors of the data plane, each knowing whose fault it is: that decides the close code or
//! error frame, the metric label and the log level.
//!
//! The side is chosen where the error is raised, not derived from what went wrong: a failed
//! request to an AWS endpoint is the backend's fault when the endpoint could not be reached,
//! and the gateway's own when it had no credentials to sign with (as pingora's
//! `Error::new_up / new_down / new_in`).

use http::StatusCode;
use switchboard_core::mapping::MappingError;

/// Who caused a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client sent something it must not.
    Client,
    /// The backend failed, was slow, or answered nonsense.
    Backend,
    /// The gateway itself or its configuration failed (credentials, ARNs, URLs, templates).
    Internal,
}

/// What went wrong, whoever caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A mapping template failed, or ran past its step, output or time budget.
    Template,
    /// The message cannot be converted as the integration's `contentHandlingStrategy` asks.
    Conversion,
    /// No request template matched and `passthroughBehavior` forbids passthrough.
    Unmapped,
    /// No integration response matches the backend's status and none is `$default`
    /// (docs/behaviour.md §5).
    NoIntegrationResponse,
    /// The backend did not answer within `timeoutInMillis`.
    Timeout,
    /// The backend could not be reached.
    Unreachable,
    /// The backend answered something that cannot be used.
    BadReply,
    /// The Lambda function (or Lambda-style URL) failed.
    FunctionError,
    /// Too many calls (or expensive renders) are waiting for this integration.
    Saturated,
    /// No credentials to sign with, or the AWS endpoint refused them.
    Credentials,
    /// The integration's URL, ARN or action is not valid once stage variables are filled in.
    Target,
    /// The gateway could not build a valid request (event serialisation), or the AWS endpoint
    /// refused it as invalid.
    Request,
}

impl ErrorKind {
    /// The words that start the error's text.
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Template => "mapping template failed",
            ErrorKind::Conversion => "message rejected",
            ErrorKind::Unmapped => "no request template matches",
            ErrorKind::NoIntegrationResponse => "no integration response matches",
            ErrorKind::Timeout => "backend timed out",
            ErrorKind::Unreachable => "backend unreachable",
            ErrorKind::BadReply => "backend reply unusable",
            ErrorKind::FunctionError => "function error",
            ErrorKind::Saturated => "integration saturated",
            ErrorKind::Credentials => "AWS credentials",
            ErrorKind::Target => "invalid integration target",
            ErrorKind::Request => "invalid request",
        }
    }
}

/// Why an integration call did not produce a usable result.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", kind.describe())]
pub struct IntegrationError {
    side: Side,
    kind: ErrorKind,
    message: String,
}

impl IntegrationError {
    /// The backend failed: refused, timed out, answered nonsense, or its function failed.
    pub fn backend(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(Side::Backend, kind, message)
    }

    /// The gateway or its configuration failed: credentials, targets, templates, limits.
    pub fn internal(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(Side::Internal, kind, message)
    }

    /// The client's message cannot be handled as configured.
    pub fn client(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(Side::Client, kind, message)
    }

    fn new(side: Side, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            side,
            kind,
            message: message.into(),
        }
    }

    /// Whose fault this is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The detail, without the kind's words (a function's own `errorMessage`, for instance).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The status a `$connect` that failed this way is refused with (docs/behaviour.md §3.1):
    /// 502 when the backend failed, 500 when the gateway or its configuration did, 400 when
    /// the client's request cannot be handled.
    pub fn connect_status(&self) -> StatusCode {
        match self.side {
            Side::Backend => StatusCode::BAD_GATEWAY,
            Side::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Side::Client => StatusCode::BAD_REQUEST,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_side_decides_the_connect_status_whatever_the_kind() {
        let backend = IntegrationError::backend(ErrorKind::Unreachable, "connection refused");
        let internal = IntegrationError::internal(ErrorKind::Credentials, "none configured");
        let client = IntegrationError::client(ErrorKind::Conversion, "not base64");
        assert_eq!(backend.connect_status(), StatusCode::BAD_GATEWAY);
        assert_eq!(internal.connect_status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(client.connect_status(), StatusCode::BAD_REQUEST);
        // The same kind raised on another side answers for that side.
        let refused = IntegrationError::internal(ErrorKind::FunctionError, "403");
        assert_eq!(refused.connect_status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn the_text_starts_with_what_went_wrong() {
        let e = IntegrationError::backend(ErrorKind::Timeout, "no reply within 50 ms");
        assert_eq!(e.to_string(), "backend timed out: no reply within 50 ms");
        assert_eq!(e.message(), "no reply within 50 ms");
    }
}
