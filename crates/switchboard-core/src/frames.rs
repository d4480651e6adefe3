//! Error frames sent to clients as text messages, byte for byte as API Gateway sends them
//! (docs/behaviour.md §6): one space after the first colon and after commas, none after the later colons.

/// `{"message": "Forbidden", …}`: no route matched and there is no `$default` (docs/behaviour.md §2.3).
pub fn forbidden(connection_id: &str, request_id: &str) -> String {
    with_request_id("Forbidden", connection_id, request_id)
}

/// `{"message": "Internal server error", …}`: the integration failed (docs/behaviour.md §6).
pub fn internal_server_error(connection_id: &str, request_id: &str) -> String {
    with_request_id("Internal server error", connection_id, request_id)
}

/// `{"message": "Too Many Requests", …}`: the message was throttled. The exact AWS text is
/// UNCONFIRMED (docs/behaviour.md §6); this follows the shape of the confirmed frames.
pub fn too_many_requests(connection_id: &str, request_id: &str) -> String {
    with_request_id("Too Many Requests", connection_id, request_id)
}

/// `{"message" : "Bad request body", …}`: model validation failed (docs/behaviour.md §4.7, documented literal).
pub fn bad_request_body(connection_id: &str, message_id: &str) -> String {
    format!(
        r#"{{"message" : "Bad request body", "connectionId": "{connection_id}", "messageId": "{message_id}"}}"#
    )
}

fn with_request_id(message: &str, connection_id: &str, request_id: &str) -> String {
    format!(
        r#"{{"message": "{message}", "connectionId":"{connection_id}", "requestId":"{request_id}"}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_aws_bytes() {
        assert_eq!(
            forbidden("XDmENcnwIE0CFEQ=", "XDmGEE2RoE0FRdQ="),
            r#"{"message": "Forbidden", "connectionId":"XDmENcnwIE0CFEQ=", "requestId":"XDmGEE2RoE0FRdQ="}"#
        );
        assert_eq!(
            internal_server_error("VNRUSeldSwMCIRQ=", "VNRXVFJOywMF3-Q="),
            r#"{"message": "Internal server error", "connectionId":"VNRUSeldSwMCIRQ=", "requestId":"VNRXVFJOywMF3-Q="}"#
        );
        assert_eq!(
            bad_request_body("c", "m"),
            r#"{"message" : "Bad request body", "connectionId": "c", "messageId": "m"}"#
        );
    }
}
