//! The request context of one event (docs/behaviour.md §4.2, §4.6): what `$context.*` shows to templates and
//! what `requestContext` carries in Lambda events.

use crate::ids::AwsId;
use crate::template::ContextVariables;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::net::IpAddr;
use std::sync::Arc;
use time::OffsetDateTime;

/// Which lifecycle event a context belongs to (`requestContext.eventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `$connect`, before the upgrade is answered.
    Connect,
    /// A data message from the client.
    Message,
    /// `$disconnect`, after the socket is gone.
    Disconnect,
}

impl EventType {
    /// The wire name: `CONNECT`, `MESSAGE` or `DISCONNECT`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Connect => "CONNECT",
            EventType::Message => "MESSAGE",
            EventType::Disconnect => "DISCONNECT",
        }
    }
}

/// What stays fixed for the life of a connection. Serializable: in a cluster it is the
/// connection's record, from which another node can run its `$disconnect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    /// `connectionId`.
    pub connection_id: AwsId,
    /// `connectedAt`, epoch milliseconds.
    pub connected_at: i64,
    /// `apiId`.
    pub api_id: String,
    /// `stage`.
    pub stage: String,
    /// `domainName`.
    pub domain_name: String,
    /// `identity.sourceIp`.
    pub source_ip: IpAddr,
    /// `identity.userAgent`, when the client sent one.
    pub user_agent: Option<String>,
    /// Who the caller is, when `$connect` authorization established it.
    #[serde(default)]
    pub caller: CallerIdentity,
    /// `requestContext.authorizer` (`principalId`, `integrationLatency`, context keys), when an
    /// authorizer ran on `$connect`; travels with every later event (docs/behaviour.md §4.2).
    pub authorizer: Option<Arc<Map<String, Value>>>,
}

/// The `identity` fields filled by API keys and `AWS_IAM` (docs/behaviour.md §8.1, §8.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CallerIdentity {
    /// `identity.apiKey`.
    pub api_key: Option<String>,
    /// `identity.apiKeyId`.
    pub api_key_id: Option<String>,
    /// `identity.accessKey` (AWS_IAM).
    pub access_key: Option<String>,
    /// `identity.accountId` (AWS_IAM).
    pub account_id: Option<String>,
    /// `identity.caller` (AWS_IAM).
    pub caller: Option<String>,
    /// `identity.user` (AWS_IAM).
    pub user: Option<String>,
    /// `identity.userArn` (AWS_IAM).
    pub user_arn: Option<String>,
}

impl CallerIdentity {
    /// `(wire name, value)` of every field that is set.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("apiKey", &self.api_key),
            ("apiKeyId", &self.api_key_id),
            ("accessKey", &self.access_key),
            ("accountId", &self.account_id),
            ("caller", &self.caller),
            ("user", &self.user),
            ("userArn", &self.user_arn),
        ]
        .into_iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| (name, v)))
    }
}

/// How a connection ended, for DISCONNECT events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisconnectStatus {
    /// `disconnectStatusCode`.
    pub code: u16,
    /// `disconnectReason`.
    pub reason: String,
}

/// The context of one event.
#[derive(Debug, Clone)]
pub struct RequestContext<'a> {
    /// The connection the event belongs to.
    pub connection: &'a ConnectionInfo,
    /// `eventType`.
    pub event_type: EventType,
    /// `routeKey`.
    pub route_key: &'a str,
    /// `requestId` (= `extendedRequestId`).
    pub request_id: AwsId,
    /// `messageId`, MESSAGE only.
    pub message_id: Option<AwsId>,
    /// `requestTimeEpoch`, epoch milliseconds.
    pub request_time_epoch: i64,
    /// DISCONNECT only.
    pub disconnect: Option<&'a DisconnectStatus>,
    /// Extension, MESSAGE only and when the stage asks for it: `requestContext.switchboard`.
    pub extension: Option<&'a EventExtension>,
}

/// Extension fields of an event (`requestContext.switchboard`, docs/groups.md): the
/// connection's groups and user. Never written unless the stage sets `eventExtensions`, so AWS
/// events stay byte-identical.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventExtension {
    /// The connection's groups, in name order.
    pub groups: Vec<String>,
    /// The connection's user (`principalId`), or null.
    pub user: Option<String>,
}

/// Current time in epoch milliseconds.
pub fn now_millis() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// `requestTime` in the CLF form `20/Jan/2024:11:55:00 +0000` (docs/behaviour.md §4.2).
pub fn clf_time(epoch_millis: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = OffsetDateTime::from_unix_timestamp(epoch_millis.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// ISO-8601 with milliseconds, `2020-04-30T20:10:33.236Z` (docs/behaviour.md §7.2).
pub fn iso8601_millis(epoch_millis: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(epoch_millis.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        epoch_millis.rem_euclid(1000)
    )
}

impl<'a> RequestContext<'a> {
    /// A context for a new event of `connection` at the current time.
    pub fn new(connection: &'a ConnectionInfo, event_type: EventType, route_key: &'a str) -> Self {
        Self {
            connection,
            event_type,
            route_key,
            request_id: AwsId::random(),
            message_id: (event_type == EventType::Message)
                .then(|| AwsId::message_id_for(&connection.connection_id)),
            request_time_epoch: now_millis(),
            disconnect: None,
            extension: None,
        }
    }

    /// The `identity` object: `sourceIp`, and `userAgent` when known (the 2022+ compact shape).
    pub fn identity_json(&self) -> Value {
        let mut identity = serde_json::Map::new();
        if let Some(ua) = &self.connection.user_agent {
            identity.insert("userAgent".into(), Value::String(ua.clone()));
        }
        identity.insert(
            "sourceIp".into(),
            Value::String(self.connection.source_ip.to_string()),
        );
        for (name, value) in self.connection.caller.fields() {
            identity.insert(name.into(), Value::String(value.to_owned()));
        }
        Value::Object(identity)
    }
}

impl ContextVariables for RequestContext<'_> {
    fn get(&self, path: &str) -> Option<Value> {
        let c = self.connection;
        let s = |v: &str| Some(Value::String(v.to_owned()));
        match path {
            "connectionId" => s(c.connection_id.as_str()),
            "connectedAt" => Some(Value::from(c.connected_at)),
            "domainName" => s(&c.domain_name),
            "eventType" => s(self.event_type.as_str()),
            "messageId" => self.message_id.map(|m| Value::String(m.to_string())),
            "routeKey" => s(self.route_key),
            "requestId" | "extendedRequestId" => s(self.request_id.as_str()),
            "apiId" => s(&c.api_id),
            "stage" => s(&c.stage),
            "requestTime" => Some(Value::String(clf_time(self.request_time_epoch))),
            "requestTimeEpoch" => Some(Value::from(self.request_time_epoch)),
            "messageDirection" => s("IN"),
            "identity" => Some(self.identity_json()),
            "identity.sourceIp" => Some(Value::String(c.source_ip.to_string())),
            "identity.userAgent" => c.user_agent.as_deref().and_then(s),
            "disconnectStatusCode" => self.disconnect.map(|d| Value::from(d.code)),
            "disconnectReason" => self.disconnect.map(|d| Value::String(d.reason.clone())),
            "authorizer" => c.authorizer.as_ref().map(|a| Value::Object((**a).clone())),
            other => {
                if let Some(key) = other.strip_prefix("authorizer.") {
                    // Templates and mappings see authorizer values stringified (docs/behaviour.md §4.6).
                    return c.authorizer.as_ref()?.get(key).map(|v| match v {
                        Value::String(s) => Value::String(s.clone()),
                        other => Value::String(other.to_string()),
                    });
                }
                let key = other.strip_prefix("identity.")?;
                c.caller
                    .fields()
                    .find(|(name, _)| *name == key)
                    .map(|(_, v)| Value::String(v.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_and_iso_times() {
        // 2024-01-20T11:55:00.453Z
        let t = 1_705_751_700_453;
        assert_eq!(clf_time(t), "20/Jan/2024:11:55:00 +0000");
        assert_eq!(iso8601_millis(t), "2024-01-20T11:55:00.453Z");
    }
}
