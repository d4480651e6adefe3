//! The Lambda proxy event (docs/behaviour.md §4.2) for CONNECT, MESSAGE and DISCONNECT, written straight
//! from borrowed parts into a byte buffer.

use crate::context::{clf_time, CallerIdentity, EventExtension, EventType, RequestContext};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// What the client sent on the upgrade request, as `$connect` integrations see it.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    /// Request headers with the client's spelling, in order.
    pub headers: Vec<(String, String)>,
    /// The raw query string, without `?`, when the URL had one.
    pub raw_query: Option<String>,
    /// `X-Amzn-Trace-Id` given to this connection's `$connect`.
    pub trace_id: String,
    /// The listener port (`X-Forwarded-Port`).
    pub port: u16,
    /// `http` or `https` (`X-Forwarded-Proto`).
    pub proto: &'static str,
}

impl Handshake {
    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, by case-insensitive name.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Decoded query parameters in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.raw_query
            .as_deref()
            .map(crate::sigv4::query_pairs_plus)
            .unwrap_or_default()
    }

    /// The headers `$connect` integrations receive: the client's, without the hop-by-hop
    /// `Connection`/`Upgrade` (absent from captured events), plus the ones API Gateway adds.
    pub fn integration_headers(&self, source_ip: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| {
                !n.eq_ignore_ascii_case("connection")
                    && !n.eq_ignore_ascii_case("upgrade")
                    && !n.eq_ignore_ascii_case("x-forwarded-for")
                    && !n.eq_ignore_ascii_case("x-forwarded-port")
                    && !n.eq_ignore_ascii_case("x-forwarded-proto")
                    && !n.eq_ignore_ascii_case("x-amzn-trace-id")
            })
            .cloned()
            .collect();
        // An X-Forwarded-For from the client is kept and the peer appended, as proxies do.
        let forwarded = match self.header("x-forwarded-for") {
            Some(prior) => format!("{prior}, {source_ip}"),
            None => source_ip.to_owned(),
        };
        out.push(("X-Amzn-Trace-Id".into(), self.trace_id.clone()));
        out.push(("X-Forwarded-For".into(), forwarded));
        out.push(("X-Forwarded-Port".into(), self.port.to_string()));
        out.push(("X-Forwarded-Proto".into(), self.proto.to_owned()));
        out
    }
}

/// The fixed header set of DISCONNECT events (docs/behaviour.md §4.2).
fn disconnect_headers(host: &str) -> Vec<(String, String)> {
    vec![
        ("Host".into(), host.to_owned()),
        ("x-api-key".into(), String::new()),
        ("X-Forwarded-For".into(), String::new()),
        ("x-restapi".into(), String::new()),
    ]
}

/// Everything an event is made of.
pub struct EventInput<'a> {
    /// The request context.
    pub ctx: &'a RequestContext<'a>,
    /// MESSAGE: the message text (base64 when `is_base64`).
    pub body: Option<&'a str>,
    /// Whether `body` is base64-encoded binary.
    pub is_base64: bool,
    /// CONNECT: the upgrade request.
    pub handshake: Option<&'a Handshake>,
}

/// Writes the Lambda proxy event into `out`.
pub fn write_lambda_event(
    input: &EventInput<'_>,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    let ctx = input.ctx;
    let (headers, query) = match ctx.event_type {
        EventType::Connect => {
            let hs = input.handshake;
            let headers = hs.map(|h| h.integration_headers(&ctx.connection.source_ip.to_string()));
            // Present only when the URL had a query string (docs/behaviour.md §4.2).
            let query = hs.and_then(|h| h.raw_query.as_ref().map(|_| h.query_pairs()));
            (headers, query)
        }
        EventType::Disconnect => (Some(disconnect_headers(&ctx.connection.domain_name)), None),
        EventType::Message => (None, None),
    };
    let event = Event {
        headers: headers.as_deref().map(SingleValues),
        multi_value_headers: headers.as_deref().map(MultiValues),
        query_string_parameters: query.as_deref().map(SingleValues),
        multi_value_query_string_parameters: query.as_deref().map(MultiValues),
        request_context: context_of(ctx),
        body: input.body,
        is_base64_encoded: input.is_base64,
    };
    serde_json::to_writer(out, &event)
}

/// Writes the REQUEST authorizer event (docs/behaviour.md §8.2) into `out`: every client header (hop-by-hop
/// ones included, as captured on AWS), query parameters, stage variables and the CONNECT
/// request context.
pub fn write_authorizer_event(
    ctx: &RequestContext<'_>,
    handshake: &Handshake,
    method_arn: &str,
    stage_variables: &std::collections::BTreeMap<String, String>,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    let mut headers = handshake.headers.clone();
    headers.extend(
        handshake
            .integration_headers(&ctx.connection.source_ip.to_string())
            .into_iter()
            .filter(|(n, _)| n.starts_with("X-Amzn") || n.starts_with("X-Forwarded"))
            .filter(|(n, _)| {
                !handshake
                    .headers
                    .iter()
                    .any(|(h, _)| h.eq_ignore_ascii_case(n))
            }),
    );
    let query = handshake
        .raw_query
        .as_ref()
        .map(|_| handshake.query_pairs());
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct AuthorizerEvent<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        method_arn: &'a str,
        headers: SingleValues<'a>,
        multi_value_headers: MultiValues<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        query_string_parameters: Option<SingleValues<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        multi_value_query_string_parameters: Option<MultiValues<'a>>,
        stage_variables: &'a std::collections::BTreeMap<String, String>,
        request_context: Context<'a>,
    }
    let event = AuthorizerEvent {
        kind: "REQUEST",
        method_arn,
        headers: SingleValues(&headers),
        multi_value_headers: MultiValues(&headers),
        query_string_parameters: query.as_deref().map(SingleValues),
        multi_value_query_string_parameters: query.as_deref().map(MultiValues),
        stage_variables,
        request_context: context_of(ctx),
    };
    serde_json::to_writer(out, &event)
}

fn context_of<'a>(ctx: &'a RequestContext<'a>) -> Context<'a> {
    Context {
        route_key: ctx.route_key,
        message_id: ctx.message_id.as_ref().map(|m| m.as_str()),
        disconnect_status_code: ctx.disconnect.map(|d| d.code),
        disconnect_reason: ctx.disconnect.map(|d| d.reason.as_str()),
        event_type: ctx.event_type.as_str(),
        extended_request_id: ctx.request_id.as_str(),
        request_time: clf_time(ctx.request_time_epoch),
        message_direction: "IN",
        stage: &ctx.connection.stage,
        connected_at: ctx.connection.connected_at,
        request_time_epoch: ctx.request_time_epoch,
        identity: Identity {
            user_agent: ctx.connection.user_agent.as_deref(),
            source_ip: ctx.connection.source_ip.to_string(),
            caller: &ctx.connection.caller,
        },
        request_id: ctx.request_id.as_str(),
        domain_name: &ctx.connection.domain_name,
        connection_id: ctx.connection.connection_id.as_str(),
        api_id: &ctx.connection.api_id,
        authorizer: ctx.connection.authorizer.as_deref(),
        extension: ctx.extension,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<SingleValues<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multi_value_headers: Option<MultiValues<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_parameters: Option<SingleValues<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multi_value_query_string_parameters: Option<MultiValues<'a>>,
    request_context: Context<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Context<'a> {
    route_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disconnect_status_code: Option<u16>,
    event_type: &'a str,
    extended_request_id: &'a str,
    request_time: String,
    message_direction: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    disconnect_reason: Option<&'a str>,
    stage: &'a str,
    connected_at: i64,
    request_time_epoch: i64,
    identity: Identity<'a>,
    request_id: &'a str,
    domain_name: &'a str,
    connection_id: &'a str,
    api_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// Extension (docs/groups.md): absent unless the stage sets `eventExtensions`.
    #[serde(rename = "switchboard", skip_serializing_if = "Option::is_none")]
    extension: Option<&'a EventExtension>,
}

struct Identity<'a> {
    user_agent: Option<&'a str>,
    source_ip: String,
    caller: &'a CallerIdentity,
}

impl Serialize for Identity<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(ua) = self.user_agent {
            map.serialize_entry("userAgent", ua)?;
        }
        map.serialize_entry("sourceIp", &self.source_ip)?;
        for (name, value) in self.caller.fields() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// `{"name": "last value"}`: a later value of a repeated name wins, as in REST proxy events.
struct SingleValues<'a>(&'a [(String, String)]);
/// `{"name": ["v1", "v2"]}`, names in first-seen order.
struct MultiValues<'a>(&'a [(String, String)]);

impl Serialize for SingleValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let names = distinct_names(self.0);
        let mut map = s.serialize_map(Some(names.len()))?;
        for name in names {
            let last = self.0.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v);
            map.serialize_entry(name, &last)?;
        }
        map.end()
    }
}

impl Serialize for MultiValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let names = distinct_names(self.0);
        let mut map = s.serialize_map(Some(names.len()))?;
        for name in names {
            let values: Vec<&str> = self
                .0
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect();
            map.serialize_entry(name, &values)?;
        }
        map.end()
    }
}

fn distinct_names(pairs: &[(String, String)]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::with_capacity(pairs.len());
    for (n, _) in pairs {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    names
}
