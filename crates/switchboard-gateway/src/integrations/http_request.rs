//! The outbound request of the HTTP integrations (`HTTP_PROXY` and `HTTP`, spec §4.3):
//! method, URI with stage variables, forwarded `$connect` headers, API Gateway's own headers
//! and `requestParameters` mappings. Only the body differs between the two types.

use super::{Invocation, UriTemplate};
use crate::error::{BuildError, IntegrationError};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::Full;
use switchboard_core::config::IntegrationConfig;
use switchboard_core::context::EventType;
use switchboard_core::ids::trace_id;
use switchboard_core::parameters::{self, ParameterInput, ParameterMapping, Target};

/// Headers never forwarded from the upgrade request: the backend gets its own `Host`, and
/// the framing headers describe the client's request, not ours.
const NOT_FORWARDED: [&str; 4] = ["host", "content-length", "transfer-encoding", "expect"];

/// Where and how an HTTP integration sends its requests.
#[derive(Debug)]
pub struct HttpTarget {
    method: Method,
    uri: UriTemplate,
    parameters: Vec<ParameterMapping>,
}

impl HttpTarget {
    /// Compiles `integrationMethod`, `integrationUri` and `requestParameters`.
    pub fn build(path: &str, cfg: &IntegrationConfig) -> Result<Self, BuildError> {
        let invalid = |key: &str, message: String| BuildError::Invalid {
            path: format!("{path}.{key}"),
            message,
        };
        let method = Method::from_bytes(
            cfg.integration_method
                .as_deref()
                .unwrap_or("POST")
                .as_bytes(),
        )
        .map_err(|e| invalid("integrationMethod", e.to_string()))?;
        let uri = UriTemplate::parse(cfg.integration_uri.as_deref().unwrap_or_default())
            .map_err(|e| invalid("integrationUri", e))?;
        let parameters = parameters::parse_mappings(&cfg.request_parameters)
            .map_err(|e| invalid("requestParameters", e.to_string()))?;
        Ok(Self {
            method,
            uri,
            parameters,
        })
    }

    /// The request for one event: URL with stage variables and mapped query parameters,
    /// forwarded `$connect` headers, API Gateway's own headers, `defaults` (unless forwarded
    /// or mapped), mapped headers, and `body`.
    pub fn request(
        &self,
        inv: &Invocation<'_>,
        defaults: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, IntegrationError> {
        let ctx = inv.ctx;
        let handshake = inv
            .handshake
            .filter(|_| ctx.event_type == EventType::Connect);
        let input = ParameterInput {
            context: ctx,
            stage_variables: &inv.stage.variables,
            handshake,
            body: (ctx.event_type == EventType::Message).then_some(inv.body),
        };
        let mut url = self.uri.render(&inv.stage.variables);
        let mut query: Vec<(String, String)> =
            handshake.map(|h| h.query_pairs()).unwrap_or_default();
        let mut headers: Vec<(String, String)> = Vec::new();
        if let Some(h) = handshake {
            headers.extend(
                h.integration_headers(&ctx.connection.source_ip.to_string())
                    .into_iter()
                    .filter(|(n, _)| !NOT_FORWARDED.iter().any(|x| n.eq_ignore_ascii_case(x))),
            );
        } else {
            headers.push((
                "X-Amzn-Trace-Id".into(),
                trace_id(ctx.request_time_epoch / 1000),
            ));
        }
        set(
            &mut headers,
            "x-amzn-apigateway-api-id",
            &ctx.connection.api_id,
        );
        set(
            &mut headers,
            "User-Agent",
            &format!("AmazonAPIGateway_{}", ctx.connection.api_id),
        );
        for (name, value) in defaults {
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                headers.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        for m in &self.parameters {
            let Some(value) = parameters::resolve(&m.source, &input) else {
                continue;
            };
            match &m.target {
                Target::Header(name) => set(&mut headers, name, &value),
                Target::QueryString(name) => {
                    query.retain(|(k, _)| k != name);
                    query.push((name.clone(), value));
                }
            }
        }
        append_query(&mut url, &query);

        let mut request = Request::builder().method(self.method.clone()).uri(&url);
        for (name, value) in &headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                request = request.header(n, v);
            }
        }
        request
            .body(Full::new(body))
            .map_err(|e| IntegrationError::Unreachable(format!("invalid request to {url}: {e}")))
    }
}

/// Replaces every header of that name (case-insensitively) with one value.
fn set(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    headers.push((name.to_owned(), value.to_owned()));
}

fn append_query(url: &mut String, pairs: &[(String, String)]) {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    for (i, (k, v)) in pairs.iter().enumerate() {
        let sep = if i == 0 && !url.contains('?') {
            '?'
        } else {
            '&'
        };
        url.push(sep);
        url.push_str(&utf8_percent_encode(k, NON_ALPHANUMERIC).to_string());
        url.push('=');
        url.push_str(&utf8_percent_encode(v, NON_ALPHANUMERIC).to_string());
    }
}
