//! `HTTP_PROXY` (docs/behaviour.md §4.3): the raw message to `integrationMethod integrationUri`, the
//! backend's body back verbatim on two-way routes.

use super::client::BackendClient;
use super::http_request::HttpTarget;
use super::{IntegrationReply, Invocation};
use crate::error::{BuildError, IntegrationError};
use bytes::Bytes;
use http::header;
use switchboard_core::config::IntegrationConfig;
use switchboard_core::context::EventType;

/// A compiled `HTTP_PROXY` integration.
#[derive(Debug)]
pub struct HttpProxy {
    target: HttpTarget,
    client: BackendClient,
}

impl HttpProxy {
    /// Compiles the integration.
    pub fn build(
        path: &str,
        cfg: &IntegrationConfig,
        client: BackendClient,
    ) -> Result<Self, BuildError> {
        Ok(Self {
            target: HttpTarget::build(path, cfg)?,
            client,
        })
    }

    /// Calls the backend.
    pub async fn invoke(&self, inv: &Invocation<'_>) -> Result<IntegrationReply, IntegrationError> {
        let body = match inv.ctx.event_type {
            EventType::Message => Bytes::copy_from_slice(inv.body.as_bytes()),
            _ => Bytes::new(),
        };
        let request = self.target.request(inv, &[], body)?;
        let reply = self.client.send(request).await?;
        Ok(IntegrationReply {
            status: reply.status.as_u16(),
            subprotocol: reply
                .headers
                .get(header::SEC_WEBSOCKET_PROTOCOL)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            join_groups: joined(&reply.headers, crate::plane::JOIN_HEADER),
            body: (!reply.body.is_empty()).then_some(reply.body),
        })
    }
}

/// Every value of header `name`, comma-joined (`None` when absent).
fn joined(headers: &http::HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}
