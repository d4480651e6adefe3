//! The JSON bodies Lambda answers with when something other than the handler's code fails:
//! a timeout, a runtime that exited, a reply too large, and the Invoke API's own errors.

use serde_json::json;
use std::time::Duration;

/// Largest synchronous invocation payload Lambda accepts (6 MB).
pub const MAX_REQUEST_BYTES: usize = 6_291_456;
/// Largest function response Lambda returns, as its own error message states it.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

fn to_bytes(value: serde_json::Value) -> bytes::Bytes {
    bytes::Bytes::from(value.to_string())
}

/// The function ran past its timeout and its worker was killed (`Sandbox.Timedout`).
pub fn timed_out(request_id: &str, timeout: Duration) -> bytes::Bytes {
    to_bytes(json!({
        "errorType": "Sandbox.Timedout",
        "errorMessage": format!(
            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
            timeout.as_secs_f64()
        ),
    }))
}

/// The worker process ended before the invocation had an answer (`Runtime.ExitError`).
/// `status` reads like `exit status 1` or `signal: 9 (SIGKILL)`.
pub fn exited(request_id: &str, status: &str) -> bytes::Bytes {
    to_bytes(json!({
        "errorType": "Runtime.ExitError",
        "errorMessage": format!("RequestId: {request_id} Error: Runtime exited with error: {status}"),
    }))
}

/// The worker process could not be started at all.
pub fn start_failed(request_id: &str, reason: &str) -> bytes::Bytes {
    to_bytes(json!({
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": format!("RequestId: {request_id} Error: {reason}"),
    }))
}

/// The handler returned more than [`MAX_RESPONSE_BYTES`].
pub fn response_too_large() -> bytes::Bytes {
    to_bytes(json!({
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": format!(
            "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
        ),
    }))
}

/// What a runtime posted to `/error` or `/init/error`, passed on as Lambda does: verbatim when
/// it is a JSON object, else wrapped with the `Lambda-Runtime-Function-Error-Type` header.
pub fn runtime_error(body: &[u8], error_type: Option<&str>) -> bytes::Bytes {
    if let Ok(serde_json::Value::Object(_)) = serde_json::from_slice::<serde_json::Value>(body) {
        return bytes::Bytes::copy_from_slice(body);
    }
    to_bytes(json!({
        "errorType": error_type.unwrap_or("Runtime.Unknown"),
        "errorMessage": String::from_utf8_lossy(body).trim(),
    }))
}

/// An Invoke API error: its HTTP status, `X-Amzn-ErrorType` and body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The exception name, also sent as `X-Amzn-ErrorType`.
    pub error_type: &'static str,
    /// The JSON body.
    pub body: serde_json::Value,
}

impl ApiError {
    /// 404 `ResourceNotFoundException` for a function (or version) that is not declared.
    pub fn not_found(arn: &str) -> Self {
        Self {
            status: 404,
            error_type: "ResourceNotFoundException",
            body: json!({"Type": "User", "Message": format!("Function not found: {arn}")}),
        }
    }

    /// 429 `TooManyRequestsException`: every worker is busy and the queue is full.
    pub fn throttled() -> Self {
        Self {
            status: 429,
            error_type: "TooManyRequestsException",
            body: json!({
                "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                "Type": "User",
                "message": "Rate Exceeded.",
            }),
        }
    }

    /// 413 `RequestTooLargeException`.
    pub fn request_too_large() -> Self {
        Self {
            status: 413,
            error_type: "RequestTooLargeException",
            body: json!({
                "Type": "User",
                "message": format!("Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation"),
            }),
        }
    }

    /// 400 `InvalidRequestContentException`: the payload is not JSON.
    pub fn invalid_content(reason: &str) -> Self {
        Self {
            status: 400,
            error_type: "InvalidRequestContentException",
            body: json!({"Type": "User", "message": format!("Could not parse request body into json: {reason}")}),
        }
    }

    /// 400 `InvalidParameterValueException`.
    pub fn invalid_parameter(message: String) -> Self {
        Self {
            status: 400,
            error_type: "InvalidParameterValueException",
            body: json!({"Type": "User", "message": message}),
        }
    }

    /// 404 for a path that is not the Invoke operation.
    pub fn unknown_operation(method: &str, path: &str) -> Self {
        Self {
            status: 404,
            error_type: "UnknownOperationException",
            body: json!({"Type": "User", "message": format!("{method} {path} is not an operation served here: only POST /2015-03-31/functions/NAME/invocations")}),
        }
    }

    /// 503 `ServiceException` while shutting down.
    pub fn unavailable() -> Self {
        Self {
            status: 503,
            error_type: "ServiceException",
            body: json!({"Type": "Service", "message": "the local Lambda runtime is shutting down"}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).expect("json")
    }

    #[test]
    fn timeouts_read_as_lambda_reports_them() {
        let v = json(&timed_out("abc", Duration::from_secs(3)));
        assert_eq!(v["errorType"], "Sandbox.Timedout");
        assert_eq!(
            v["errorMessage"],
            "RequestId: abc Error: Task timed out after 3.00 seconds"
        );
    }

    #[test]
    fn runtime_errors_pass_through_verbatim_or_get_wrapped() {
        let posted = br#"{"errorType":"Error","errorMessage":"boom","trace":["at x"]}"#;
        assert_eq!(&runtime_error(posted, Some("Error"))[..], &posted[..]);
        let wrapped = json(&runtime_error(b"segfault\n", Some("Runtime.Crash")));
        assert_eq!(wrapped["errorType"], "Runtime.Crash");
        assert_eq!(wrapped["errorMessage"], "segfault");
        assert_eq!(
            json(&runtime_error(b"[1]", None))["errorType"],
            "Runtime.Unknown"
        );
    }
}
