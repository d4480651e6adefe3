//! The request-validation step of message dispatch (docs/behaviour.md §4.7): a message the route's model
//! rejects never reaches the integration; the client gets the `Bad request body` frame (§6).

use crate::runtime::Route;
use switchboard_core::context::ConnectionInfo;
use switchboard_core::frames;
use switchboard_core::ids::AwsId;

/// The `Bad request body` frame when `route` validates messages and `body` fails; `None`
/// when the message may go on to the integration.
pub fn reject(route: &Route, info: &ConnectionInfo, body: &str) -> Option<String> {
    let invalid = route.validator.as_ref()?.validate(body).err()?;
    // A fresh id: the message never becomes an integration request with a context of its own.
    let message_id = AwsId::random();
    tracing::debug!(
        connection_id = %info.connection_id,
        message_id = %message_id.as_str(),
        route = %route.key,
        reason = %invalid,
        "request validation failed"
    );
    Some(frames::bad_request_body(
        info.connection_id.as_str(),
        message_id.as_str(),
    ))
}
