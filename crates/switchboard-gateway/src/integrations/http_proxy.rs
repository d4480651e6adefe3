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

/// Every value of header `name`, comma-joined (`None` when absent). A value that is not
/// visible ASCII is kept (bytes that are not UTF-8 become U+FFFD), so that a bad group name
/// refuses the connection instead of being dropped unseen.
fn joined(headers: &http::HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plane::group::parse_group_list;
    use crate::plane::JOIN_HEADER;
    use http::HeaderValue;

    #[test]
    fn repeated_join_headers_are_joined_and_none_is_dropped() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(joined(&headers, JOIN_HEADER), None);
        headers.append(JOIN_HEADER, HeaderValue::from_static("a,b"));
        headers.append(JOIN_HEADER, HeaderValue::from_static("c"));
        assert_eq!(joined(&headers, JOIN_HEADER).as_deref(), Some("a,b,c"));
        // Latin-1 `café` (not UTF-8), as many HTTP servers write it: a bad name, not no header.
        headers.append(
            JOIN_HEADER,
            HeaderValue::from_bytes(b"caf\xe9").expect("obs-text is a valid header value"),
        );
        let value = joined(&headers, JOIN_HEADER).expect("present");
        assert!(value.starts_with("a,b,c,caf"), "{value}");
        assert!(parse_group_list(&value).is_err());
    }
}
