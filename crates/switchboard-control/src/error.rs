//! Why a control plane operation failed, by the apigatewayv2 exception it maps to.

/// A refused operation; the variant names the apigatewayv2 exception the SDKs raise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// 404 `NotFoundException`: the named resource does not exist.
    #[error("{message}")]
    NotFound {
        /// What was looked for.
        message: String,
        /// The resource type, as AWS's `resourceType` field.
        resource_type: &'static str,
    },
    /// 400 `BadRequestException`: the request is malformed, invalid, or over a limit.
    #[error("{0}")]
    BadRequest(String),
    /// 409 `ConflictException`: the change conflicts with an existing resource.
    #[error("{0}")]
    Conflict(String),
    /// 429 `TooManyRequestsException`: the caller is over the request rate.
    #[error("Too Many Requests")]
    TooManyRequests,
    /// 503 `ServiceUnavailableException`: in cluster mode, the shared store is unreachable.
    #[error("{0}")]
    Unavailable(String),
}

impl ControlError {
    /// The exception name, sent in `x-amzn-ErrorType`.
    pub fn code(&self) -> &'static str {
        match self {
            ControlError::NotFound { .. } => "NotFoundException",
            ControlError::BadRequest(_) => "BadRequestException",
            ControlError::Conflict(_) => "ConflictException",
            ControlError::TooManyRequests => "TooManyRequestsException",
            ControlError::Unavailable(_) => "ServiceUnavailableException",
        }
    }

    /// The HTTP status of the exception.
    pub fn status(&self) -> u16 {
        match self {
            ControlError::NotFound { .. } => 404,
            ControlError::BadRequest(_) => 400,
            ControlError::Conflict(_) => 409,
            ControlError::TooManyRequests => 429,
            ControlError::Unavailable(_) => 503,
        }
    }

    /// The JSON body AWS sends with the exception.
    pub fn body(&self) -> serde_json::Value {
        match self {
            ControlError::NotFound {
                message,
                resource_type,
            } => serde_json::json!({ "message": message, "resourceType": resource_type }),
            ControlError::TooManyRequests => {
                serde_json::json!({ "message": self.to_string(), "limitType": "RequestRate" })
            }
            other => serde_json::json!({ "message": other.to_string() }),
        }
    }

    pub(crate) fn not_found(resource_type: &'static str, id: &str) -> Self {
        ControlError::NotFound {
            message: format!("Invalid {resource_type} identifier specified {id}"),
            resource_type,
        }
    }
}
