//! The lines the data plane writes to the process log at its default level (docs/operations.md
//! "Process logs"): one when a connection is accepted, refused by `$connect` or ends, and one
//! per failed integration call at the level its cause deserves. Never one per message.

use crate::error::{IntegrationError, Side};
use crate::execution_log::TraceText;
use switchboard_core::context::{ConnectionInfo, DisconnectStatus, RequestContext};

/// The target of the connection lines, so they can be filtered
/// (`--log-level info,switchboard::connections=warn`).
pub const CONNECTIONS: &str = "switchboard::connections";

/// The process log's line for an accepted connection (target `switchboard::connections`):
/// who, where, from which address. Written at the default level, once per connection.
#[cold]
#[inline(never)]
pub fn connected(info: &ConnectionInfo) {
    tracing::info!(
        target: CONNECTIONS,
        connection_id = %info.connection_id,
        api = %info.api_id,
        stage = %info.stage,
        source_ip = %info.source_ip,
        "connected"
    );
}

/// The process log's line for a connection that ended, with the close code and reason and
/// how long it lasted.
#[cold]
#[inline(never)]
pub fn disconnected(info: &ConnectionInfo, status: &DisconnectStatus) {
    let lasted = switchboard_core::context::now_millis().saturating_sub(info.connected_at);
    tracing::info!(
        target: CONNECTIONS,
        connection_id = %info.connection_id,
        api = %info.api_id,
        stage = %info.stage,
        code = status.code,
        reason = %TraceText(&status.reason, 0),
        seconds = lasted as f64 / 1000.0,
        "disconnected"
    );
}

/// The process log's line for an upgrade the `$connect` integration refused with `status`.
#[cold]
#[inline(never)]
pub fn connect_refused(info: &ConnectionInfo, status: u16) {
    tracing::info!(
        target: CONNECTIONS,
        api = %info.api_id,
        stage = %info.stage,
        source_ip = %info.source_ip,
        status,
        "connection refused by the $connect integration"
    );
}

/// The process log's line for a failed integration call, at the level its cause deserves: a
/// backend or configuration failure is a warning an operator must act on; a client's message
/// the route cannot read (not JSON for a template that reads `$input.json`, not base64 for
/// `CONVERT_TO_BINARY`) is the client's problem and only shows at debug level.
#[cold]
#[inline(never)]
pub fn integration_failed(ctx: &RequestContext<'_>, error: &IntegrationError) {
    let (connection_id, request_id, route) = (
        &ctx.connection.connection_id,
        &ctx.request_id,
        ctx.route_key,
    );
    match error.side() {
        Side::Client => tracing::debug!(
            %connection_id, %request_id, route,
            error = %error,
            "the client's message cannot be handled by the route's integration (a client error; \
             the client got `Internal server error`)"
        ),
        Side::Backend => tracing::warn!(
            %connection_id, %request_id, route,
            error = %error,
            "integration failed: the backend"
        ),
        Side::Internal => tracing::warn!(
            %connection_id, %request_id, route,
            error = %error,
            "integration failed: the gateway or its configuration"
        ),
    }
}
