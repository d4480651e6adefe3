//! Lambda REQUEST authorizers (docs/behaviour.md §8.2): identity sources checked first (401 without a call
//! when one is missing), the authorizer event sent like an `AWS_PROXY` invocation, and its
//! output — `principalId`, `policyDocument`, `context`, `usageIdentifierKey` — applied.

use super::{Grant, Refusal};
use crate::error::ErrorKind;
use crate::integrations::LambdaProxy;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;
use switchboard_core::context::RequestContext;
use switchboard_core::event::{write_authorizer_event, Handshake};
use switchboard_core::policy::{self, Decision, INVOKE_ACTION};
use switchboard_core::template::ContextVariables;
use tokio::time::Instant;

/// AWS's limit on an authorizer's output (docs/behaviour.md §9); a larger one is not even read.
pub(crate) const MAX_OUTPUT_BYTES: usize = 8 * 1024;
/// Most cached results per authorizer (extension cache).
const MAX_CACHED: usize = 10_000;

/// Where an identity source value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// `route.request.header.X` (case-insensitive).
    Header(String),
    /// `route.request.querystring.X`.
    QueryString(String),
    /// `stageVariables.X`.
    StageVariable(String),
    /// `context.X`.
    Context(String),
}

impl IdentitySource {
    /// Parses `route.request.header.Auth` and friends.
    pub fn parse(text: &str) -> Option<Self> {
        let name = |p: &str| {
            text.strip_prefix(p)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
        };
        name("route.request.header.")
            .map(Self::Header)
            .or_else(|| name("route.request.querystring.").map(Self::QueryString))
            .or_else(|| name("stageVariables.").map(Self::StageVariable))
            .or_else(|| name("context.").map(Self::Context))
    }

    /// The value for this request; `None` when absent or empty.
    pub fn value(
        &self,
        handshake: &Handshake,
        stage_variables: &BTreeMap<String, String>,
        ctx: &RequestContext<'_>,
    ) -> Option<String> {
        let v = match self {
            IdentitySource::Header(n) => handshake.header(n).map(str::to_owned),
            IdentitySource::QueryString(n) => handshake
                .query_pairs()
                .into_iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v),
            IdentitySource::StageVariable(n) => stage_variables.get(n).cloned(),
            IdentitySource::Context(n) => ctx.get(n).map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            }),
        };
        v.filter(|v| !v.trim().is_empty())
    }
}

/// A cached decision and when it was made (extension cache, keyed by identity values).
type CachedDecision = (Instant, Result<Grant, Refusal>);

/// A compiled REQUEST authorizer.
#[derive(Debug)]
pub struct RequestAuthorizer {
    function: LambdaProxy,
    sources: Vec<IdentitySource>,
    ttl: Option<Duration>,
    cache: Mutex<HashMap<Vec<String>, CachedDecision>>,
}

/// What an authorizer returns.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Output {
    principal_id: Option<Value>,
    policy_document: Option<Value>,
    #[serde(default)]
    context: Option<Map<String, Value>>,
    #[serde(default)]
    usage_identifier_key: Option<String>,
}

impl RequestAuthorizer {
    /// An authorizer invoking `function` after checking `sources`; `ttl` enables the cache.
    pub fn new(function: LambdaProxy, sources: Vec<IdentitySource>, ttl: Option<Duration>) -> Self {
        Self {
            function,
            sources,
            ttl: ttl.filter(|t| !t.is_zero()),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Authorizes one `$connect`.
    pub async fn authorize(
        &self,
        ctx: &RequestContext<'_>,
        handshake: &Handshake,
        stage_variables: &BTreeMap<String, String>,
        method_arn: &str,
    ) -> Result<Grant, Refusal> {
        let mut values = Vec::with_capacity(self.sources.len());
        for source in &self.sources {
            match source.value(handshake, stage_variables, ctx) {
                Some(v) => values.push(v),
                None => {
                    return Err(Refusal::new(
                        StatusCode::UNAUTHORIZED,
                        format!("identity source {source:?} is missing or empty"),
                    ))
                }
            }
        }
        if let Some(ttl) = self.ttl {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, outcome)) = cache.get(&values) {
                if at.elapsed() < ttl {
                    return outcome.clone();
                }
            }
        }
        let outcome = self.call(ctx, handshake, stage_variables, method_arn).await;
        if let Some(ttl) = self.ttl {
            // Only decisions are cached, never failures of the authorizer itself.
            if outcome.is_ok()
                || outcome
                    .as_ref()
                    .is_err_and(|r| r.status != StatusCode::INTERNAL_SERVER_ERROR)
            {
                let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                if cache.len() >= MAX_CACHED {
                    cache.retain(|_, (at, _)| at.elapsed() < ttl);
                }
                if cache.len() < MAX_CACHED {
                    cache.insert(values, (Instant::now(), outcome.clone()));
                }
            }
        }
        outcome
    }

    async fn call(
        &self,
        ctx: &RequestContext<'_>,
        handshake: &Handshake,
        stage_variables: &BTreeMap<String, String>,
        method_arn: &str,
    ) -> Result<Grant, Refusal> {
        let mut event = Vec::with_capacity(1024);
        write_authorizer_event(ctx, handshake, method_arn, stage_variables, &mut event)
            .map_err(|e| Refusal::internal(format!("authorizer event: {e}")))?;
        let started = Instant::now();
        let payload = match self.function.invoke_payload(event, stage_variables).await {
            Ok(p) => p,
            // The documented way for an authorizer to say 401 (docs/behaviour.md §3.1).
            Err(e) if e.kind() == ErrorKind::FunctionError && e.message() == "Unauthorized" => {
                return Err(Refusal::new(
                    StatusCode::UNAUTHORIZED,
                    "authorizer said Unauthorized",
                ))
            }
            Err(e) => return Err(Refusal::internal(format!("authorizer failed: {e}"))),
        };
        let latency = started.elapsed().as_millis() as u64;
        if payload.len() > MAX_OUTPUT_BYTES {
            return Err(Refusal::internal("authorizer output is over 8 KB"));
        }
        let output: Output = serde_json::from_slice(&payload)
            .map_err(|e| Refusal::internal(format!("authorizer output is malformed: {e}")))?;
        apply(output, method_arn, latency)
    }
}

/// Turns an authorizer's output into a grant or a refusal.
fn apply(output: Output, method_arn: &str, latency: u64) -> Result<Grant, Refusal> {
    let principal = match output.principal_id {
        Some(Value::String(p)) if !p.is_empty() => p,
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(Refusal::internal("authorizer output has no principalId")),
    };
    let document = output
        .policy_document
        .ok_or_else(|| Refusal::internal("authorizer output has no policyDocument"))?;
    match policy::evaluate(&document, INVOKE_ACTION, method_arn) {
        Ok(Decision::Allow) => {}
        Ok(_) => {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!("policy of principal {principal} does not allow {method_arn}"),
            ))
        }
        Err(e) => return Err(Refusal::internal(e.to_string())),
    }
    let mut authorizer = Map::new();
    for (key, value) in output.context.unwrap_or_default() {
        // AWS accepts only string, number and boolean context values.
        if !(value.is_string() || value.is_number() || value.is_boolean()) {
            return Err(Refusal::internal(format!(
                "authorizer context value {key:?} must be a string, number or boolean"
            )));
        }
        authorizer.insert(key, value);
    }
    authorizer.insert("principalId".into(), Value::String(principal));
    authorizer.insert("integrationLatency".into(), Value::from(latency));
    Ok(Grant {
        authorizer: Some(authorizer),
        usage_identifier_key: output.usage_identifier_key,
        ..Grant::default()
    })
}
