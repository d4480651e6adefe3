//! Authorization on `$connect` (docs/behaviour.md §8, §3.1): `AWS_IAM` signatures, Lambda REQUEST
//! authorizers, JWT (extension), API keys and required request parameters. It runs once per
//! connection, before the `$connect` integration; what it learns travels with every event.
//! Refusals are logged at debug with the reason; the client only gets the status.

mod jwt;
mod request;
pub mod sigv4;

pub use jwt::{JwksSource, JwtAuthorizer};
pub use request::{IdentitySource, RequestAuthorizer};

use crate::error::BuildError;
use crate::integrations::{BackendClient, IntegrationEnv, LambdaProxy};
use http::StatusCode;
use serde_json::{Map, Value};
use sigv4::{SigV4Failure, SignedRequest, Signer};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use switchboard_core::config::{
    ApiConfig, AuthorizationType, AuthorizerConfig, AuthorizerType, Config, IamPrincipal,
    RouteConfig,
};
use switchboard_core::context::{CallerIdentity, RequestContext};
use switchboard_core::event::Handshake;
use switchboard_core::policy::{connect_arn, wildcard_match};

/// Deadline of a REQUEST authorizer call.
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// What authorization established about a caller.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// `requestContext.authorizer`.
    pub authorizer: Option<Map<String, Value>>,
    /// An authorizer's `usageIdentifierKey`, for `$context.authorizer.usageIdentifierKey`.
    pub usage_identifier_key: Option<String>,
    /// Identity fields (IAM, API key).
    pub caller: CallerIdentity,
}

/// A refused `$connect`: the status the client gets and the reason only the log gets.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// HTTP status of the refused upgrade.
    pub status: StatusCode,
    /// Why, for the debug log.
    pub reason: String,
}

impl Refusal {
    /// A refusal with `status`.
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }

    /// The authorizer itself failed: 500 (docs/behaviour.md §3.1).
    pub fn internal(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, reason)
    }
}

/// How a `$connect` route is protected.
#[derive(Debug)]
pub enum AuthKind {
    /// Open.
    None,
    /// SigV4-signed upgrade.
    Iam,
    /// Lambda REQUEST authorizer.
    Custom(Arc<RequestAuthorizer>),
    /// JWT validation.
    Jwt(Arc<JwtAuthorizer>),
}

/// Where the API key is read from (`apiKeySelectionExpression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeySource {
    /// `$request.header.x-api-key`.
    Header,
    /// `$context.authorizer.usageIdentifierKey`.
    Authorizer,
}

/// The protection of one API's `$connect` route.
#[derive(Debug)]
pub struct ConnectAuth {
    /// Signature or authorizer.
    pub kind: AuthKind,
    /// `apiKeyRequired`.
    pub api_key_required: bool,
    /// Where the key is read from.
    pub api_key_source: ApiKeySource,
    /// Request parameters declared `required = true`.
    pub required: Vec<IdentitySource>,
}

/// One API key.
#[derive(Debug, Clone)]
pub struct ApiKey {
    /// Its name in the configuration, reported as `identity.apiKeyId`.
    pub id: String,
    /// The key.
    pub value: String,
    /// `apiId/stageName` pairs it is valid for.
    pub stages: Vec<String>,
}

/// Gateway-wide facts authorization needs.
#[derive(Debug, Default)]
pub struct AuthDirectory {
    /// `[aws] region`.
    pub region: String,
    /// `[aws] accountId`.
    pub account_id: String,
    /// `[[iam.principals]]`.
    pub principals: Vec<IamPrincipal>,
    /// `[apiKeys.*]`.
    pub api_keys: Vec<ApiKey>,
}

impl AuthDirectory {
    /// Collects the gateway-wide parts of `config`.
    pub fn from_config(config: &Config) -> Self {
        Self {
            region: config.aws.region.clone(),
            account_id: config.aws.account_id.clone(),
            principals: config.iam.principals.clone(),
            api_keys: config
                .api_keys
                .iter()
                .map(|(id, k)| ApiKey {
                    id: id.clone(),
                    value: k.value.clone(),
                    stages: k.stages.clone(),
                })
                .collect(),
        }
    }
}

/// Everything about one upgrade request authorization looks at.
pub struct ConnectRequest<'a> {
    /// The signed parts (method, raw path and query, headers).
    pub signed: SignedRequest<'a>,
    /// Headers in the client's spelling and the query string.
    pub handshake: &'a Handshake,
    /// Stage variables of the stage.
    pub stage_variables: &'a BTreeMap<String, String>,
}

impl ConnectAuth {
    /// Compiles the protection of `api`'s `$connect` route.
    pub fn build(
        path: &str,
        api: &ApiConfig,
        route: &RouteConfig,
        authorizers: &HashMap<String, AuthKindTemplate>,
    ) -> Result<Self, BuildError> {
        let kind = match route.authorization_type.unwrap_or(AuthorizationType::None) {
            AuthorizationType::None => AuthKind::None,
            AuthorizationType::AwsIam => AuthKind::Iam,
            AuthorizationType::Custom | AuthorizationType::Jwt => {
                let id = route.authorizer_id.as_deref().unwrap_or_default();
                match authorizers.get(id) {
                    Some(AuthKindTemplate::Request(a)) => AuthKind::Custom(Arc::clone(a)),
                    Some(AuthKindTemplate::Jwt(a)) => AuthKind::Jwt(Arc::clone(a)),
                    None => {
                        return Err(BuildError::Invalid {
                            path: format!("{path}.authorizerId"),
                            message: format!("unknown authorizer {id:?}"),
                        })
                    }
                }
            }
        };
        let api_key_source = match api.api_key_selection_expression.as_deref() {
            Some("$context.authorizer.usageIdentifierKey") => ApiKeySource::Authorizer,
            _ => ApiKeySource::Header,
        };
        let required = route
            .request_parameters
            .iter()
            .filter(|(_, p)| p.required)
            .filter_map(|(name, _)| IdentitySource::parse(name))
            .collect();
        Ok(Self {
            kind,
            api_key_required: route.api_key_required,
            api_key_source,
            required,
        })
    }

    /// Authorizes one `$connect`; `ctx` is its CONNECT request context.
    pub async fn authorize(
        &self,
        directory: &AuthDirectory,
        req: &ConnectRequest<'_>,
        ctx: &RequestContext<'_>,
    ) -> Result<Grant, Refusal> {
        for source in &self.required {
            if source
                .value(req.handshake, req.stage_variables, ctx)
                .is_none()
            {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("required request parameter {source:?} is missing"),
                ));
            }
        }
        let info = ctx.connection;
        let method_arn = connect_arn(
            &directory.region,
            &directory.account_id,
            &info.api_id,
            &info.stage,
        );
        let mut grant = match &self.kind {
            AuthKind::None => Grant::default(),
            AuthKind::Iam => iam(directory, &req.signed, &method_arn)?,
            AuthKind::Custom(a) => {
                a.authorize(ctx, req.handshake, req.stage_variables, &method_arn)
                    .await?
            }
            AuthKind::Jwt(a) => a.authorize(ctx, req.handshake, req.stage_variables).await?,
        };
        if self.api_key_required {
            let presented = match self.api_key_source {
                ApiKeySource::Header => req.handshake.header("x-api-key").map(str::to_owned),
                ApiKeySource::Authorizer => grant.usage_identifier_key.clone(),
            }
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Refusal::new(StatusCode::FORBIDDEN, "API key missing"))?;
            let stage = format!("{}/{}", info.api_id, info.stage);
            // Compare against every key so timing does not reveal which prefix matched.
            let mut found = None;
            for key in &directory.api_keys {
                if bool::from(key.value.as_bytes().ct_eq(presented.as_bytes())) {
                    found = Some(key);
                }
            }
            let key =
                found.ok_or_else(|| Refusal::new(StatusCode::FORBIDDEN, "unknown API key"))?;
            if !key.stages.contains(&stage) {
                return Err(Refusal::new(
                    StatusCode::FORBIDDEN,
                    format!("API key {} is not valid for {stage}", key.id),
                ));
            }
            grant.caller.api_key = Some(presented);
            grant.caller.api_key_id = Some(key.id.clone());
        }
        Ok(grant)
    }
}

/// `AWS_IAM`: a SigV4 signature by a configured principal allowed on the route ARN.
fn iam(
    directory: &AuthDirectory,
    signed: &SignedRequest<'_>,
    method_arn: &str,
) -> Result<Grant, Refusal> {
    let signers: Vec<Signer<'_>> = directory
        .principals
        .iter()
        .map(|p| Signer {
            access_key_id: &p.access_key_id,
            secret_access_key: &p.secret_access_key,
            session_token: None,
        })
        .collect();
    let (_, index) = sigv4::verify(
        signed,
        &signers,
        &directory.region,
        time::OffsetDateTime::now_utc(),
    )
    .map_err(|f| {
        let why = match f {
            SigV4Failure::Missing => "no SigV4 signature".to_owned(),
            SigV4Failure::Malformed(m) | SigV4Failure::Rejected(m) => m,
            SigV4Failure::UnknownKey => "unknown access key".to_owned(),
            SigV4Failure::Mismatch => "signature does not match".to_owned(),
        };
        Refusal::new(StatusCode::FORBIDDEN, why)
    })?;
    let principal = &directory.principals[index];
    if !principal
        .allow
        .iter()
        .any(|pattern| wildcard_match(pattern, method_arn))
    {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "principal {} may not connect to {method_arn}",
                principal.access_key_id
            ),
        ));
    }
    let account = principal
        .user_arn
        .as_deref()
        .and_then(|arn| arn.split(':').nth(4))
        .filter(|a| !a.is_empty())
        .unwrap_or(&directory.account_id);
    Ok(Grant {
        caller: CallerIdentity {
            access_key: Some(principal.access_key_id.clone()),
            account_id: Some(account.to_owned()),
            caller: Some(principal.access_key_id.clone()),
            user: Some(principal.access_key_id.clone()),
            user_arn: principal.user_arn.clone(),
            ..CallerIdentity::default()
        },
        ..Grant::default()
    })
}

/// An authorizer as compiled from `[apis.ID.authorizers.ID]`, shared by the routes using it.
#[derive(Debug)]
pub enum AuthKindTemplate {
    /// REQUEST.
    Request(Arc<RequestAuthorizer>),
    /// JWT.
    Jwt(Arc<JwtAuthorizer>),
}

/// Compiles the authorizers of an API.
pub fn build_authorizers(
    path: &str,
    api: &ApiConfig,
    env: &IntegrationEnv,
) -> Result<HashMap<String, AuthKindTemplate>, BuildError> {
    api.authorizers
        .iter()
        .map(|(id, cfg)| {
            Ok((
                id.clone(),
                build_authorizer(&format!("{path}.authorizers.{id}"), cfg, env)?,
            ))
        })
        .collect()
}

fn build_authorizer(
    path: &str,
    cfg: &AuthorizerConfig,
    env: &IntegrationEnv,
) -> Result<AuthKindTemplate, BuildError> {
    let invalid = |key: &str, message: String| BuildError::Invalid {
        path: format!("{path}.{key}"),
        message,
    };
    let sources = cfg
        .identity_source
        .iter()
        .map(|s| {
            IdentitySource::parse(s).ok_or_else(|| {
                invalid(
                    "identitySource",
                    format!("{s:?} is not a valid identity source"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    match cfg.authorizer_type {
        AuthorizerType::Request => {
            let client = BackendClient::new(
                AUTHORIZER_TIMEOUT,
                env.max_concurrent_calls,
                request::MAX_OUTPUT_BYTES,
            )
            .map_err(|m| invalid("authorizerUri", m))?;
            let function = LambdaProxy::build(
                path,
                cfg.authorizer_uri.as_deref().unwrap_or_default(),
                env.aws.endpoints.get("lambda").map(String::as_str),
                env.credentials.clone(),
                client,
            )?;
            let ttl = cfg
                .authorizer_result_ttl_in_seconds
                .map(Duration::from_secs);
            Ok(AuthKindTemplate::Request(Arc::new(RequestAuthorizer::new(
                function, sources, ttl,
            ))))
        }
        AuthorizerType::Jwt => {
            let jwt = cfg.jwt_configuration.as_ref().ok_or_else(|| {
                invalid("jwtConfiguration", "required for JWT authorizers".into())
            })?;
            let source = sources
                .into_iter()
                .next()
                .unwrap_or_else(|| IdentitySource::Header("Authorization".into()));
            let jwks = match (&jwt.jwks_uri, &jwt.jwks_file) {
                (Some(uri), _) => JwksSource::Url(
                    uri.clone(),
                    JwtAuthorizer::client().map_err(|m| invalid("jwtConfiguration.jwksUri", m))?,
                ),
                (None, Some(file)) => JwksSource::File(file.clone()),
                (None, None) => {
                    return Err(invalid(
                        "jwtConfiguration",
                        "jwksUri or jwksFile is required".into(),
                    ))
                }
            };
            Ok(AuthKindTemplate::Jwt(Arc::new(JwtAuthorizer::new(
                source,
                jwt.issuer.clone(),
                jwt.audience.clone(),
                jwks,
            ))))
        }
    }
}
