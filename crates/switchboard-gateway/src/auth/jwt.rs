//! JWT authorizer (extension, `authorizerType = "JWT"`): the token from the first identity
//! source (`Bearer` header or query parameter — browsers cannot set headers on WebSocket
//! upgrades), checked against a JWKS from a file or URL, with `iss`, `aud`, `exp` and `nbf`.

use super::{Grant, Refusal};
use crate::integrations::BackendClient;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use switchboard_core::context::RequestContext;
use switchboard_core::event::Handshake;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::request::IdentitySource;

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;
/// A JWKS is fetched again for an unknown `kid` at most this often.
const MIN_REFRESH: Duration = Duration::from_secs(1);
/// Deadline of a JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest JWKS document read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Asymmetric algorithms only: a shared secret has no place in a JWKS-based check.
const ALLOWED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Where keys come from.
#[derive(Debug)]
pub enum JwksSource {
    /// A JWKS document at a URL.
    Url(String, BackendClient),
    /// A JWKS file.
    File(String),
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    without_kid: Vec<DecodingKey>,
    fetched: Option<Instant>,
}

/// A compiled JWT authorizer.
pub struct JwtAuthorizer {
    source: IdentitySource,
    issuer: String,
    audience: Vec<String>,
    jwks: JwksSource,
    keys: Mutex<Keys>,
}

impl std::fmt::Debug for JwtAuthorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthorizer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("jwks", &self.jwks)
            .finish_non_exhaustive()
    }
}

impl JwtAuthorizer {
    /// A JWT authorizer reading the token from `source`.
    pub fn new(
        source: IdentitySource,
        issuer: String,
        audience: Vec<String>,
        jwks: JwksSource,
    ) -> Self {
        Self {
            source,
            issuer,
            audience,
            jwks,
            keys: Mutex::new(Keys::default()),
        }
    }

    /// Validates the token of one `$connect`.
    pub async fn authorize(
        &self,
        ctx: &RequestContext<'_>,
        handshake: &Handshake,
        stage_variables: &BTreeMap<String, String>,
    ) -> Result<Grant, Refusal> {
        let unauthorized = |why: String| Refusal::new(StatusCode::UNAUTHORIZED, why);
        let raw = self
            .source
            .value(handshake, stage_variables, ctx)
            .ok_or_else(|| unauthorized("no token in the identity source".into()))?;
        let token = match raw.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim().to_owned(),
            _ => raw,
        };
        let header = jsonwebtoken::decode_header(&token)
            .map_err(|e| unauthorized(format!("not a JWT: {e}")))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(unauthorized(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let key = self.key_for(header.kid.as_deref()).await?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        if self.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.audience);
        }
        validation.set_required_spec_claims(&["exp", "iss"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(&token, &key, &validation)
            .map_err(|e| unauthorized(format!("JWT rejected: {e}")))?;
        let claims = data.claims;
        let principal = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let scopes = claims
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| Value::from(s.split_whitespace().collect::<Vec<_>>()))
            .unwrap_or(Value::Null);
        let mut jwt = Map::new();
        jwt.insert("claims".into(), Value::Object(claims));
        jwt.insert("scopes".into(), scopes);
        let mut authorizer = Map::new();
        authorizer.insert("jwt".into(), Value::Object(jwt));
        authorizer.insert("principalId".into(), Value::String(principal));
        authorizer.insert("integrationLatency".into(), Value::from(0));
        Ok(Grant {
            authorizer: Some(authorizer),
            ..Grant::default()
        })
    }

    /// The key for `kid`, fetching the JWKS again when the kid is unknown (key rotation).
    async fn key_for(&self, kid: Option<&str>) -> Result<DecodingKey, Refusal> {
        let mut keys = self.keys.lock().await;
        if let Some(k) = lookup(&keys, kid) {
            return Ok(k);
        }
        if keys.fetched.is_some_and(|at| at.elapsed() < MIN_REFRESH) {
            return Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                format!("unknown key id {kid:?}"),
            ));
        }
        *keys = self.fetch().await.map_err(|e| {
            tracing::warn!(error = %e, "JWKS could not be loaded");
            Refusal::new(StatusCode::UNAUTHORIZED, format!("JWKS unavailable: {e}"))
        })?;
        lookup(&keys, kid).ok_or_else(|| {
            Refusal::new(StatusCode::UNAUTHORIZED, format!("unknown key id {kid:?}"))
        })
    }

    async fn fetch(&self) -> Result<Keys, String> {
        let text = match &self.jwks {
            JwksSource::File(path) => tokio::fs::read(path)
                .await
                .map_err(|e| format!("{path}: {e}"))?,
            JwksSource::Url(url, client) => {
                let request = http::Request::get(url.as_str())
                    .body(Full::new(Bytes::new()))
                    .map_err(|e| e.to_string())?;
                let reply = client.send(request).await.map_err(|e| e.to_string())?;
                if !reply.status.is_success() {
                    return Err(format!("{url} answered {}", reply.status));
                }
                reply.body.to_vec()
            }
        };
        let set: JwkSet = serde_json::from_slice(&text).map_err(|e| format!("not a JWKS: {e}"))?;
        let mut keys = Keys {
            fetched: Some(Instant::now()),
            ..Keys::default()
        };
        for jwk in &set.keys {
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            match &jwk.common.key_id {
                Some(kid) => {
                    keys.by_kid.insert(kid.clone(), key);
                }
                None => keys.without_kid.push(key),
            }
        }
        Ok(keys)
    }
}

fn lookup(keys: &Keys, kid: Option<&str>) -> Option<DecodingKey> {
    match kid {
        Some(kid) => keys.by_kid.get(kid).cloned(),
        None if keys.without_kid.len() + keys.by_kid.len() == 1 => keys
            .without_kid
            .first()
            .or(keys.by_kid.values().next())
            .cloned(),
        None => None,
    }
}

impl JwtAuthorizer {
    /// A client for JWKS URLs.
    pub fn client() -> Result<BackendClient, String> {
        BackendClient::new(FETCH_TIMEOUT, 4, MAX_JWKS_BYTES)
    }
}
