//! `@connections` on the WebSocket listener, where AWS serves it
//! (`https://{domainName}/{stage}/@connections/{id}`, docs/configuration.md "Addresses"): the
//! same [`handle`](super::handle) as the management listener, behind the same bounds — a place
//! under `[management.limits] maxConnections`, the body limit and `requestTimeoutSeconds` — and
//! the same authentication. With `auth = "none"` only loopback callers are served, as the
//! management listener itself stays on loopback then.

use super::errors::{MgmtError, MgmtResponse};
use crate::server::GatewayState;
use http::Request;
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use switchboard_core::config::ManagementAuth;
use switchboard_core::ids::uuid_v4;
use tokio::sync::OwnedSemaphorePermit;

/// A client connection's place under `[management.limits] maxConnections`, taken by its first
/// `@connections` call and held until the connection closes.
pub type ServerListenerSlot = OnceLock<OwnedSemaphorePermit>;

/// Whether a request on the WebSocket listener is a management call to hand to the management
/// API: `onServerListener` is on and a path segment is `@connections`, or one of the extensions'
/// `@groups` and `@users` (percent-decoded, as the management API reads it).
pub fn is_connections_path(state: &GatewayState, path: &str) -> bool {
    state.runtime.load().config.management.on_server_listener && names_connections(path)
}

/// Whether a path segment is `@connections`, `@groups` or `@users`, percent-decoded.
fn names_connections(path: &str) -> bool {
    path.split('/').any(|segment| {
        matches!(
            percent_decode_str(segment).decode_utf8_lossy().as_ref(),
            "@connections" | "@groups" | "@users"
        )
    })
}

/// Answers an `@connections` call that arrived on the WebSocket listener from `peer`.
pub async fn serve_on_server_listener(
    state: Arc<GatewayState>,
    peer: SocketAddr,
    slot: &ServerListenerSlot,
    req: Request<Incoming>,
) -> MgmtResponse {
    let (open, deadline) = {
        let runtime = state.runtime.load();
        let management = &runtime.config.management;
        (
            management.auth == ManagementAuth::None && !management.allow_unauthenticated_remote,
            Duration::from_secs(management.limits.request_timeout_seconds),
        )
    };
    if open && !peer.ip().to_canonical().is_loopback() {
        tracing::debug!(%peer, "unauthenticated @connections call from a remote caller refused");
        return MgmtError::Forbidden.response(&uuid_v4());
    }
    if slot.get().is_none() {
        match Arc::clone(&state.management_slots).try_acquire_owned() {
            Ok(permit) => {
                let _ = slot.set(permit);
            }
            Err(_) => return busy(),
        }
    }
    match super::handle(state, req, deadline).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Over `[management.limits] maxConnections`: the short 503 the management listener gives.
fn busy() -> MgmtResponse {
    let mut response = http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
        b"{\"message\":\"Service Unavailable\"}",
    )));
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::names_connections as has;

    #[test]
    fn connections_segments_are_read_decoded() {
        assert!(has("/dev/@connections/abc="));
        assert!(has("/chat/dev/%40connections/abc%3D"));
        assert!(!has("/dev"));
        assert!(!has("/dev/x@connections"));
        assert!(has("/dev/@groups/room-1"), "the groups extension");
        assert!(has("/dev/@users/alice"), "the users extension");
        assert!(!has("/dev/@group/room-1"));
    }
}
