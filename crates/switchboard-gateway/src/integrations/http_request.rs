//! The outbound request of the HTTP integrations (`HTTP_PROXY` and `HTTP`, docs/behaviour.md §4.3):
//! method, URI with stage variables, forwarded `$connect` headers, API Gateway's own headers
//! and `requestParameters` mappings. Only the body differs between the two types.

use super::{Invocation, UriTemplate};
use crate::error::{BuildError, ErrorKind, IntegrationError};
use bytes::Bytes;
use http::header::{HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use std::sync::{Arc, Mutex};
use switchboard_core::config::IntegrationConfig;
use switchboard_core::context::EventType;
use switchboard_core::ids::trace_id;
use switchboard_core::parameters::{self, ParameterInput, Source, Target};

/// Headers never forwarded from the upgrade request: the backend gets its own `Host`, and
/// the framing headers describe the client's request, not ours.
const NOT_FORWARDED: [&str; 4] = ["host", "content-length", "transfer-encoding", "expect"];
const TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
const API_ID: HeaderName = HeaderName::from_static("x-amzn-apigateway-api-id");

/// Where one `requestParameters` value goes. Header names are parsed once at load (the
/// configuration check already limits them to token characters).
#[derive(Debug)]
enum Destination {
    Header(HeaderName),
    Query(String),
}

/// Where and how an HTTP integration sends its requests.
#[derive(Debug)]
pub struct HttpTarget {
    method: Method,
    uri: UriTemplate,
    parameters: Vec<(Destination, Source)>,
    /// The parts of the last request head that repeat from message to message.
    head: Mutex<Option<Arc<HeadCache>>>,
}

/// What the last request's head had that the next one most likely shares: the API's own
/// headers and the parsed URL. Checked against the current values before use, so a reload
/// or another stage's variables only cost a rebuild.
#[derive(Debug)]
struct HeadCache {
    api_id: String,
    api_id_header: Option<HeaderValue>,
    user_agent: Option<HeaderValue>,
    /// `Host` for the URL (the pool sets the same when a request has none).
    host: Option<HeaderValue>,
    url: String,
    uri: Uri,
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
            .map_err(|e| invalid("requestParameters", e.to_string()))?
            .into_iter()
            .map(|m| {
                let destination = match m.target {
                    Target::Header(name) => Destination::Header(
                        HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                            invalid(
                                "requestParameters",
                                format!("\"{name}\" is not a valid HTTP header name"),
                            )
                        })?,
                    ),
                    Target::QueryString(name) => Destination::Query(name),
                };
                Ok((destination, m.source))
            })
            .collect::<Result<_, BuildError>>()?;
        Ok(Self {
            method,
            uri,
            parameters,
            head: Mutex::new(None),
        })
    }

    /// The request for one event: URL with stage variables and mapped query parameters,
    /// forwarded `$connect` headers, API Gateway's own headers, `defaults` (unless forwarded
    /// or mapped), mapped headers, and `body`.
    pub fn request(
        &self,
        inv: &Invocation<'_>,
        defaults: &[(HeaderName, HeaderValue)],
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
        let mut query: Vec<(String, String)> =
            handshake.map(|h| h.query_pairs()).unwrap_or_default();
        let mut headers = HeaderMap::new();
        if let Some(h) = handshake {
            for (name, value) in h.integration_headers(&ctx.connection.source_ip.to_string()) {
                if NOT_FORWARDED.iter().any(|x| name.eq_ignore_ascii_case(x)) {
                    continue;
                }
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::try_from(value),
                ) {
                    headers.append(n, v);
                }
            }
        } else if let Ok(v) = HeaderValue::try_from(trace_id(ctx.request_time_epoch / 1000)) {
            headers.insert(TRACE_ID, v);
        }
        let mut url = self.uri.render(&inv.stage.variables);
        let head = self.head(&ctx.connection.api_id, &url)?;
        if let Some(v) = &head.api_id_header {
            headers.insert(API_ID, v.clone());
        }
        if let Some(v) = &head.user_agent {
            headers.insert(USER_AGENT, v.clone());
        }
        if let Some(v) = &head.host {
            headers.insert(HOST, v.clone());
        }
        for (name, value) in defaults {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        for (destination, source) in &self.parameters {
            let Some(value) = parameters::resolve(source, &input) else {
                continue;
            };
            match destination {
                Destination::Header(name) => {
                    if let Ok(v) = HeaderValue::try_from(value) {
                        headers.insert(name.clone(), v);
                    }
                }
                Destination::Query(name) => {
                    query.retain(|(k, _)| k != name);
                    query.push((name.clone(), value));
                }
            }
        }
        let uri = if query.is_empty() {
            head.uri.clone()
        } else {
            append_query(&mut url, &query);
            parse_url(&url)?
        };

        let mut request = Request::new(Full::new(body));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

impl HttpTarget {
    /// The cached head parts for `api_id` and `url`, rebuilt when either changed.
    fn head(&self, api_id: &str, url: &str) -> Result<Arc<HeadCache>, IntegrationError> {
        let cached = self.head.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(c) = cached.filter(|c| c.api_id == api_id && c.url == url) {
            return Ok(c);
        }
        let uri = parse_url(url)?;
        let fresh = Arc::new(HeadCache {
            api_id: api_id.to_owned(),
            api_id_header: HeaderValue::from_str(api_id).ok(),
            user_agent: HeaderValue::try_from(format!("AmazonAPIGateway_{api_id}")).ok(),
            host: super::pool::host_value(&uri),
            url: url.to_owned(),
            uri,
        });
        *self.head.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&fresh));
        Ok(fresh)
    }
}

/// Stage variables can make the URL invalid: the configuration's fault, not the backend's.
fn parse_url(url: &str) -> Result<Uri, IntegrationError> {
    url.parse().map_err(|e| {
        IntegrationError::internal(ErrorKind::Target, format!("{url} is not a valid URL: {e}"))
    })
}

fn append_query(url: &mut String, pairs: &[(String, String)]) {
    for (i, (k, v)) in pairs.iter().enumerate() {
        let sep = if i == 0 && !url.contains('?') {
            '?'
        } else {
            '&'
        };
        url.push(sep);
        url.extend(utf8_percent_encode(k, NON_ALPHANUMERIC));
        url.push('=');
        url.extend(utf8_percent_encode(v, NON_ALPHANUMERIC));
    }
}
