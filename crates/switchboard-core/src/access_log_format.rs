//! Access-log formats (docs/behaviour.md §10): `accessLogSettings.format` compiled once per configuration
//! load into literal and variable segments, then rendered per event without parsing again.
//!
//! Every `$context` variable AWS lists for WebSocket APIs is recognised. Those that do not
//! apply to an event (or that this gateway has no value for, such as Cognito identities or WAF)
//! render `-`, as AWS renders them; so does any name AWS does not know.

use crate::context::{clf_time, RequestContext};
use crate::template::ContextVariables as _;

/// One compiled `accessLogSettings.format`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLogFormat {
    segments: Vec<Segment>,
}

/// A piece of a compiled format.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    /// Text copied as it is.
    Literal(String),
    /// A `$context` variable.
    Var(Variable),
    /// `$context.authorizer.X` / `$context.identity.X`, read from the connection.
    Context(Box<str>),
}

/// The `$context` variables of docs/behaviour.md §10 that can have a value here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variable {
    ApiId,
    ConnectedAt,
    ConnectionId,
    DomainName,
    ErrorMessage,
    ErrorMessageString,
    ErrorResponseType,
    EventType,
    ExtendedRequestId,
    SourceIp,
    UserAgent,
    IntegrationError,
    IntegrationIntegrationStatus,
    IntegrationLatency,
    IntegrationStatus,
    MessageId,
    RequestId,
    RequestTime,
    RequestTimeEpoch,
    RouteKey,
    Stage,
    Status,
    /// Listed by AWS but without a value in this gateway (authorizers, WAF, Cognito, …), or
    /// not a known variable at all.
    Dash,
}

impl Variable {
    /// The variable for a name after `$context.`.
    fn named(name: &str) -> Variable {
        match name {
            "apiId" => Variable::ApiId,
            "connectedAt" => Variable::ConnectedAt,
            "connectionId" => Variable::ConnectionId,
            "domainName" => Variable::DomainName,
            "error.message" => Variable::ErrorMessage,
            "error.messageString" => Variable::ErrorMessageString,
            "error.responseType" => Variable::ErrorResponseType,
            "eventType" => Variable::EventType,
            "extendedRequestId" => Variable::ExtendedRequestId,
            "identity.sourceIp" => Variable::SourceIp,
            "identity.userAgent" => Variable::UserAgent,
            "integration.error" => Variable::IntegrationError,
            "integration.integrationStatus" => Variable::IntegrationIntegrationStatus,
            "integration.latency" | "integrationLatency" => Variable::IntegrationLatency,
            "integration.status" => Variable::IntegrationStatus,
            "messageId" => Variable::MessageId,
            "requestId" => Variable::RequestId,
            "requestTime" => Variable::RequestTime,
            "requestTimeEpoch" => Variable::RequestTimeEpoch,
            "routeKey" => Variable::RouteKey,
            "stage" => Variable::Stage,
            "status" => Variable::Status,
            _ => Variable::Dash,
        }
    }
}

/// How one event ended, as far as the access log is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessOutcome<'a> {
    /// `$context.status`: 200, or the refusal / error status (403, 429, 500, 502, …).
    pub status: u16,
    /// `$context.integrationLatency` and `$context.integration.latency`, milliseconds;
    /// `None` when no integration ran.
    pub integration_latency_ms: Option<u64>,
    /// `$context.integration.status` and `.integrationStatus`: what the integration returned.
    pub integration_status: Option<u16>,
    /// `$context.integration.error`: why the integration call failed.
    pub integration_error: Option<&'a str>,
    /// `$context.error.message`: the message the client saw (`Forbidden`, …).
    pub error_message: Option<&'a str>,
    /// `$context.error.responseType`: `THROTTLED`, `INTEGRATION_FAILURE`, `DEFAULT_4XX`, ….
    pub error_response_type: Option<&'a str>,
}

impl AccessLogFormat {
    /// Compiles a format: `$context.name` (letters, digits, `_` and inner dots) is a variable;
    /// everything else, a lone `$` included, is literal text.
    pub fn compile(format: &str) -> Self {
        const PREFIX: &str = "$context.";
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = format;
        while let Some(at) = rest.find(PREFIX) {
            let after = &rest[at + PREFIX.len()..];
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(after.len());
            // A sentence-ending dot is not part of the name.
            let name = after[..len].trim_end_matches('.');
            literal.push_str(&rest[..at]);
            if name.is_empty() {
                literal.push_str(PREFIX);
                rest = after;
                continue;
            }
            if !literal.is_empty() {
                segments.push(Segment::Literal(std::mem::take(&mut literal)));
            }
            segments.push(match Variable::named(name) {
                // Authorizer and caller identity values are per connection: looked up by name.
                Variable::Dash
                    if name.starts_with("authorizer.") || name.starts_with("identity.") =>
                {
                    Segment::Context(name.into())
                }
                var => Segment::Var(var),
            });
            rest = &after[name.len()..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Self { segments }
    }

    /// One log line (without the newline) for an event. Values are escaped as JSON string
    /// content, so a JSON format stays parseable whatever a client puts in its User-Agent.
    pub fn render(&self, ctx: &RequestContext<'_>, outcome: &AccessOutcome<'_>) -> String {
        let mut out = String::with_capacity(256);
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Var(var) => write_var(&mut out, *var, ctx, outcome),
                Segment::Context(name) => match ctx.get(name) {
                    Some(serde_json::Value::String(v)) if !v.is_empty() => {
                        escape_into(&mut out, &v)
                    }
                    Some(v) if !v.is_null() && !v.is_string() => {
                        escape_into(&mut out, &v.to_string())
                    }
                    _ => out.push('-'),
                },
            }
        }
        out
    }
}

fn write_var(out: &mut String, var: Variable, ctx: &RequestContext<'_>, o: &AccessOutcome<'_>) {
    use std::fmt::Write as _;
    let c = ctx.connection;
    let text = |out: &mut String, v: Option<&str>| match v {
        Some(v) if !v.is_empty() => escape_into(out, v),
        _ => out.push('-'),
    };
    let number = |out: &mut String, v: Option<u64>| match v {
        Some(v) => {
            let _ = write!(out, "{v}");
        }
        None => out.push('-'),
    };
    match var {
        Variable::ApiId => text(out, Some(&c.api_id)),
        Variable::ConnectedAt => {
            let _ = write!(out, "{}", c.connected_at);
        }
        Variable::ConnectionId => text(out, Some(c.connection_id.as_str())),
        Variable::DomainName => text(out, Some(&c.domain_name)),
        Variable::ErrorMessage => text(out, o.error_message),
        Variable::ErrorMessageString => match o.error_message {
            Some(m) => {
                out.push_str("\\\"");
                escape_into(out, m);
                out.push_str("\\\"");
            }
            None => out.push('-'),
        },
        Variable::ErrorResponseType => text(out, o.error_response_type),
        Variable::EventType => out.push_str(ctx.event_type.as_str()),
        Variable::ExtendedRequestId | Variable::RequestId => {
            text(out, Some(ctx.request_id.as_str()))
        }
        Variable::SourceIp => {
            let _ = write!(out, "{}", c.source_ip);
        }
        Variable::UserAgent => text(out, c.user_agent.as_deref()),
        Variable::IntegrationError => text(out, o.integration_error),
        Variable::IntegrationIntegrationStatus | Variable::IntegrationStatus => {
            number(out, o.integration_status.map(u64::from))
        }
        Variable::IntegrationLatency => number(out, o.integration_latency_ms),
        Variable::MessageId => text(out, ctx.message_id.as_ref().map(|m| m.as_str())),
        Variable::RequestTime => out.push_str(&clf_time(ctx.request_time_epoch)),
        Variable::RequestTimeEpoch => {
            let _ = write!(out, "{}", ctx.request_time_epoch);
        }
        Variable::RouteKey => text(out, Some(ctx.route_key)),
        Variable::Stage => text(out, Some(&c.stage)),
        Variable::Status => number(out, Some(u64::from(o.status))),
        Variable::Dash => out.push('-'),
    }
}

/// Appends `value` escaped as the content of a JSON string.
fn escape_into(out: &mut String, value: &str) {
    use std::fmt::Write as _;
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{ConnectionInfo, EventType};
    use crate::ids::AwsId;

    fn info() -> ConnectionInfo {
        ConnectionInfo {
            connection_id: AwsId::parse("VNRUSeldSwMCIRQ=").expect("id"),
            connected_at: 1_705_751_700_453,
            api_id: "chat".into(),
            stage: "dev".into(),
            domain_name: "ws.example.com".into(),
            source_ip: "203.0.113.7".parse().expect("ip"),
            user_agent: Some("agent \"x\"".into()),
            caller: Default::default(),
            authorizer: None,
        }
    }

    #[test]
    fn every_applicable_variable_renders_and_the_rest_are_dashes() {
        let info = info();
        let mut ctx = RequestContext::new(&info, EventType::Message, "sendmessage");
        ctx.request_time_epoch = 1_705_751_700_453;
        let format = AccessLogFormat::compile(
            "$context.apiId $context.stage $context.connectionId $context.eventType \
             $context.routeKey $context.status $context.integrationLatency \
             $context.integration.latency $context.integration.status $context.requestTime \
             $context.requestTimeEpoch $context.identity.sourceIp $context.identity.userAgent \
             $context.error.message $context.error.messageString $context.waf.status \
             $context.authorizer.claims.sub $context.nonsense $context.domainName \
             $context.connectedAt $context.requestId.",
        );
        let outcome = AccessOutcome {
            status: 500,
            integration_latency_ms: Some(12),
            integration_status: Some(502),
            error_message: Some("Internal server error"),
            ..AccessOutcome::default()
        };
        let line = format.render(&ctx, &outcome);
        let expected = format!(
            "chat dev VNRUSeldSwMCIRQ= MESSAGE sendmessage 500 12 12 502 \
             20/Jan/2024:11:55:00 +0000 1705751700453 203.0.113.7 agent \\\"x\\\" \
             Internal server error \\\"Internal server error\\\" - - - ws.example.com \
             1705751700453 {}.",
            ctx.request_id
        );
        assert_eq!(line, expected);
    }

    #[test]
    fn inapplicable_values_render_dashes() {
        let info = ConnectionInfo {
            user_agent: None,
            ..info()
        };
        let ctx = RequestContext::new(&info, EventType::Connect, "$connect");
        let format = AccessLogFormat::compile(
            r#"{"messageId":"$context.messageId","ua":"$context.identity.userAgent","lat":$context.integrationLatency,"err":"$context.error.message"}"#,
        );
        let line = format.render(
            &ctx,
            &AccessOutcome {
                status: 200,
                ..AccessOutcome::default()
            },
        );
        assert_eq!(line, r#"{"messageId":"-","ua":"-","lat":-,"err":"-"}"#);
    }

    #[test]
    fn literal_dollars_and_empty_names_stay_text() {
        let info = info();
        let ctx = RequestContext::new(&info, EventType::Connect, "$connect");
        let format = AccessLogFormat::compile("cost $5 $context. $context.stage$");
        assert_eq!(
            format.render(&ctx, &AccessOutcome::default()),
            "cost $5 $context. dev$"
        );
    }

    #[test]
    fn authorizer_and_caller_identity_values_come_from_the_connection() {
        let mut info = info();
        let mut authorizer = serde_json::Map::new();
        authorizer.insert("principalId".into(), "user-1".into());
        authorizer.insert("n".into(), 7.into());
        info.authorizer = Some(std::sync::Arc::new(authorizer));
        info.caller.api_key_id = Some("mobile".into());
        let ctx = RequestContext::new(&info, EventType::Message, "x");
        let format = AccessLogFormat::compile(
            "$context.authorizer.principalId $context.authorizer.n $context.authorizer.missing \
             $context.identity.apiKeyId $context.identity.userArn",
        );
        assert_eq!(
            format.render(&ctx, &AccessOutcome::default()),
            "user-1 7 - mobile -"
        );
    }
}
