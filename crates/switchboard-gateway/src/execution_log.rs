//! Execution logs as API Gateway writes them (docs/operations.md "Execution logs"): what a
//! route's `loggingLevel` and `dataTraceEnabled` turn on, resolved once per configuration load,
//! and the lines themselves. Every line goes through `tracing` with the target [`TARGET`] and
//! starts with `(requestId)`, as on AWS.
//!
//! `INFO` writes every request's lines; `ERROR` writes the same lines, all at once when it
//! ends, for requests that fail (an integration error or a status of 400 or more); `OFF`, the
//! default, writes none and costs one comparison per request. `dataTraceEnabled` adds the
//! client's message (or the upgrade's headers) and the reply, each cut at
//! [`DATA_TRACE_BYTES`], to the lines of whatever the level writes.

use crate::error::{IntegrationError, Side};
use crate::integrations::{IntegrationReply, Invocation, UriTemplate};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::config::{IntegrationConfig, IntegrationType, LoggingLevel, RouteSettings};
use switchboard_core::context::{EventType, RequestContext};
use tracing::Level;

/// The `tracing` target of every execution log line.
pub const TARGET: &str = "switchboard::execution";
/// How much of a body or of the upgrade's headers `dataTraceEnabled` writes.
pub const DATA_TRACE_BYTES: usize = 1024;
/// Header values `dataTraceEnabled` never writes.
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "x-amz-security-token",
    "x-api-key",
];

/// A route's `loggingLevel`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Verbosity {
    /// No lines (the default, as on AWS).
    #[default]
    Off,
    /// The lines of failed requests.
    Error,
    /// The lines of every request.
    Info,
}

/// What one route of one stage writes to the execution log.
#[derive(Debug, Clone, Default)]
pub struct RouteLog {
    verbosity: Verbosity,
    data_trace: bool,
    /// What the route calls, for the `Endpoint request URI` line; `None` for MOCK.
    endpoint: Option<Arc<str>>,
}

impl RouteLog {
    /// The settings of one route: its own `routeSettings` entry field by field over the
    /// stage's `defaultRouteSettings`. `integration` (with the stage's variables) names the
    /// endpoint.
    pub fn resolve(
        default: &RouteSettings,
        own: Option<&RouteSettings>,
        integration: Option<&IntegrationConfig>,
        stage_variables: &BTreeMap<String, String>,
    ) -> Self {
        let level = own.and_then(|r| r.logging_level).or(default.logging_level);
        let verbosity = match level {
            Some(LoggingLevel::Info) => Verbosity::Info,
            Some(LoggingLevel::Error) => Verbosity::Error,
            Some(LoggingLevel::Off) | None => Verbosity::Off,
        };
        if verbosity == Verbosity::Off {
            return Self::default();
        }
        let data_trace = own
            .and_then(|r| r.data_trace_enabled)
            .or(default.data_trace_enabled)
            .unwrap_or(false);
        let endpoint = integration
            .filter(|i| i.integration_type != IntegrationType::Mock)
            .and_then(|i| i.integration_uri.as_deref())
            .map(|uri| match UriTemplate::parse(uri) {
                Ok(template) => Arc::from(template.render(stage_variables)),
                Err(_) => Arc::from(uri),
            });
        Self {
            verbosity,
            data_trace,
            endpoint,
        }
    }

    /// Whether this route writes anything: the one check made when it does not.
    #[inline]
    pub fn is_on(&self) -> bool {
        self.verbosity != Verbosity::Off
    }

    /// Whether every request is written as it starts (`INFO`).
    #[inline]
    pub fn writes_starts(&self) -> bool {
        self.verbosity == Verbosity::Info
    }

    /// The lines written when a request starts: only at `INFO`. At `ERROR` they are written
    /// by [`RouteLog::finished`] when the request failed.
    #[cold]
    #[inline(never)]
    pub fn started(&self, inv: &Invocation<'_>) {
        if self.writes_starts() {
            self.opening(inv.ctx, Level::INFO, Some(inv));
        }
    }

    /// The lines of a request whose integration call ended with `result` after `latency`;
    /// `status` is what the client got (for `$connect`, 200 or the refusal).
    #[cold]
    #[inline(never)]
    pub fn finished(
        &self,
        inv: &Invocation<'_>,
        result: &Result<IntegrationReply, IntegrationError>,
        status: u16,
        latency: Duration,
    ) {
        let failed = result.is_err() || status >= 400;
        let level = match (self.verbosity, failed) {
            (Verbosity::Off, _) | (Verbosity::Error, false) => return,
            (Verbosity::Error, true) => {
                self.opening(inv.ctx, Level::ERROR, Some(inv));
                Level::ERROR
            }
            (Verbosity::Info, true) => Level::ERROR,
            (Verbosity::Info, false) => Level::INFO,
        };
        let ctx = inv.ctx;
        let ms = latency.as_millis();
        match result {
            Ok(reply) => {
                line(
                    ctx,
                    level,
                    format_args!(
                        "Received response. Status: {}, Integration latency: {ms} ms",
                        reply.status
                    ),
                );
                if self.data_trace {
                    let body = reply.body.as_deref().unwrap_or_default();
                    line(
                        ctx,
                        level,
                        format_args!(
                            "Method response body after transformations: {}",
                            TraceText(
                                &String::from_utf8_lossy(&body[..body.len().min(DATA_TRACE_BYTES)]),
                                body.len()
                            )
                        ),
                    );
                }
            }
            Err(e) => line(
                ctx,
                level,
                format_args!(
                    "Execution failed due to {}: {e} (after {ms} ms)",
                    match e.side() {
                        Side::Backend => "an integration error",
                        Side::Internal => "a configuration error",
                        Side::Client => "a client error",
                    }
                ),
            ),
        }
        line(
            ctx,
            level,
            format_args!("Method completed with status: {status}"),
        );
    }

    /// A request that ended before any integration ran (no route, throttled, no `$connect`
    /// route): its lines, when the level writes them, with `why` naming what happened.
    #[cold]
    #[inline(never)]
    pub fn without_integration(
        &self,
        ctx: &RequestContext<'_>,
        status: u16,
        why: fmt::Arguments<'_>,
    ) {
        let level = match (self.verbosity, status >= 400) {
            (Verbosity::Off, _) | (Verbosity::Error, false) => return,
            (_, true) => Level::ERROR,
            (Verbosity::Info, false) => Level::INFO,
        };
        self.opening(ctx, level, None);
        line(ctx, level, why);
        line(
            ctx,
            level,
            format_args!("Method completed with status: {status}"),
        );
    }

    /// The lines that open a request: its ids, its route, who it is from, and (with data
    /// trace) what it carries.
    fn opening(&self, ctx: &RequestContext<'_>, level: Level, inv: Option<&Invocation<'_>>) {
        let rid = &ctx.request_id;
        let info = ctx.connection;
        line(ctx, level, format_args!("Extended Request Id: {rid}"));
        line(
            ctx,
            level,
            format_args!("Starting execution for request: {rid}"),
        );
        line(
            ctx,
            level,
            format_args!("WebSocket Request Route: [{}]", ctx.route_key),
        );
        match ctx.event_type {
            EventType::Connect => line(
                ctx,
                level,
                format_args!(
                    "Client [UserAgent: {}, SourceIp: {}] is connecting to WebSocket API [{}].",
                    TraceText(info.user_agent.as_deref().unwrap_or("null"), 0),
                    info.source_ip,
                    info.api_id
                ),
            ),
            EventType::Message => {
                let bytes = inv.map_or(0, |i| i.body.len());
                line(
                    ctx,
                    level,
                    format_args!(
                        "Client [Connection Id: {}] sent a message of {bytes} bytes",
                        info.connection_id
                    ),
                );
            }
            EventType::Disconnect => {
                let (code, reason) = ctx
                    .disconnect
                    .map_or((1006, ""), |d| (d.code, d.reason.as_str()));
                line(
                    ctx,
                    level,
                    format_args!(
                        "Client [Connection Id: {}] disconnected with status code {code}, reason: {}",
                        info.connection_id,
                        TraceText(reason, 0)
                    ),
                );
            }
        }
        let Some(inv) = inv else {
            return;
        };
        if self.data_trace {
            match inv.handshake {
                Some(handshake) => line(
                    ctx,
                    level,
                    format_args!("Method request headers: {}", headers(&handshake.headers)),
                ),
                None if ctx.event_type == EventType::Message => line(
                    ctx,
                    level,
                    format_args!(
                        "Method request body before transformations: {}{}",
                        TraceText(inv.body, inv.body.len()),
                        if inv.is_base64 {
                            " (base64 of a binary message)"
                        } else {
                            ""
                        }
                    ),
                ),
                None => {}
            }
        }
        match &self.endpoint {
            Some(uri) => line(ctx, level, format_args!("Endpoint request URI: {uri}")),
            None => line(
                ctx,
                level,
                format_args!("MOCK integration: no endpoint request"),
            ),
        }
    }
}

/// Writes one execution log line for `ctx` at `level`.
fn line(ctx: &RequestContext<'_>, level: Level, text: fmt::Arguments<'_>) {
    let info = ctx.connection;
    let rid = &ctx.request_id;
    macro_rules! emit {
        ($level:expr) => {
            tracing::event!(
                target: TARGET,
                $level,
                api = %info.api_id,
                stage = %info.stage,
                connection_id = %info.connection_id,
                "({rid}) {text}"
            )
        };
    }
    if level == Level::ERROR {
        emit!(Level::ERROR)
    } else {
        emit!(Level::INFO)
    }
}

/// Text from a client or a backend in a log line: at most [`DATA_TRACE_BYTES`] of it, control
/// characters escaped (a body cannot forge log lines), and the full size when it was cut.
/// The second field is the full size in bytes (0 when the text is known to be short).
pub(crate) struct TraceText<'a>(pub &'a str, pub usize);

impl fmt::Display for TraceText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut end = self.0.len().min(DATA_TRACE_BYTES);
        while !self.0.is_char_boundary(end) {
            end -= 1;
        }
        for c in self.0[..end].chars() {
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        let total = self.1.max(self.0.len());
        if total > end {
            write!(f, " [TRUNCATED: {total} bytes in all]")?;
        }
        Ok(())
    }
}

/// The upgrade's headers as API Gateway prints them (`{Name=value, …}`), secrets masked, cut
/// at [`DATA_TRACE_BYTES`].
fn headers(list: &[(String, String)]) -> String {
    let mut text = String::from("{");
    for (i, (name, value)) in list.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        let secret = SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name));
        let _ = write!(
            text,
            "{name}={}",
            if secret { "****" } else { value.as_str() }
        );
    }
    text.push('}');
    TraceText(&text, text.len()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_text_escapes_control_characters_and_cuts_at_the_limit() {
        assert_eq!(
            TraceText("a\nb\r\tc\u{1b}", 0).to_string(),
            "a\\nb\\r\\tc\\u{1b}"
        );
        let long = "é".repeat(DATA_TRACE_BYTES);
        let shown = TraceText(&long, long.len()).to_string();
        assert!(shown.starts_with(&"é".repeat(DATA_TRACE_BYTES / 2)));
        assert!(
            shown.ends_with(&format!(" [TRUNCATED: {} bytes in all]", long.len())),
            "{shown}"
        );
    }

    #[test]
    fn headers_are_printed_with_secrets_masked() {
        let list = vec![
            ("Host".to_owned(), "example.com".to_owned()),
            ("Authorization".to_owned(), "Bearer secret".to_owned()),
            ("X-Api-Key".to_owned(), "key".to_owned()),
        ];
        assert_eq!(
            headers(&list),
            "{Host=example.com, Authorization=****, X-Api-Key=****}"
        );
    }

    #[test]
    fn route_settings_override_the_stage_default_and_off_needs_nothing() {
        let info = RouteSettings {
            logging_level: Some(LoggingLevel::Info),
            data_trace_enabled: Some(true),
            ..RouteSettings::default()
        };
        let off = RouteSettings {
            logging_level: Some(LoggingLevel::Off),
            ..RouteSettings::default()
        };
        let vars = BTreeMap::new();
        let log = RouteLog::resolve(&info, None, None, &vars);
        assert!(log.writes_starts() && log.data_trace);
        assert!(!RouteLog::resolve(&info, Some(&off), None, &vars).is_on());
        assert!(!RouteLog::resolve(&RouteSettings::default(), None, None, &vars).is_on());
        // dataTraceEnabled alone writes nothing: the level decides.
        let trace_only = RouteSettings {
            data_trace_enabled: Some(true),
            ..RouteSettings::default()
        };
        assert!(!RouteLog::resolve(&trace_only, None, None, &vars).is_on());
    }

    #[test]
    fn the_endpoint_is_the_uri_with_stage_variables() {
        let integration: IntegrationConfig = serde_json::from_str(
            r#"{"integrationType": "HTTP_PROXY", "integrationUri": "${stageVariables.backend}/events"}"#,
        )
        .expect("integration");
        let settings = RouteSettings {
            logging_level: Some(LoggingLevel::Error),
            ..RouteSettings::default()
        };
        let vars = BTreeMap::from([("backend".to_owned(), "http://10.0.0.1:3000".to_owned())]);
        let log = RouteLog::resolve(&settings, None, Some(&integration), &vars);
        assert_eq!(log.endpoint.as_deref(), Some("http://10.0.0.1:3000/events"));
        assert!(log.is_on() && !log.writes_starts());
    }
}
