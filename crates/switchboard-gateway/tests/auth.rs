//! Authorization on `$connect` (docs/behaviour.md §8, §3.1): REQUEST authorizers through the Lambda Invoke
//! API, context propagation, API keys and JWT with a JWKS endpoint and key rotation.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use switchboard_core::config::AwsCredentials;
use switchboard_testkit::{
    BackendReply, ConnectError, HttpBackend, Invocation, LambdaReply, LambdaServer, TestGateway,
    WsClient,
};

const KEY: &str = "AKIDAUTHTEST";
const SECRET: &str = "auth/secret";

fn credentials() -> AwsCredentials {
    AwsCredentials {
        access_key_id: KEY.into(),
        secret_access_key: SECRET.into(),
        session_token: None,
    }
}

fn status(r: Result<WsClient, ConnectError>) -> u16 {
    match r {
        Ok(_) => 101,
        Err(ConnectError::Refused(s, _)) => s,
        Err(e) => panic!("{e:?}"),
    }
}

/// A `$connect` protected by a REQUEST authorizer on Lambda, with events observed on `events`.
fn custom_api(lambda: &LambdaServer, events: &HttpBackend, extra: &str) -> String {
    format!(
        r#"
[aws]
region = "us-east-1"
accountId = "123456789012"
[aws.endpoints]
lambda = "{}"
[apis.auth]
routeSelectionExpression = "$request.body.action"
[apis.auth.stages.dev]
stageVariables = {{ tenant = "acme" }}
[apis.auth.authorizers.gate]
authorizerType = "REQUEST"
authorizerUri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:gate/invocations"
identitySource = ["route.request.header.Auth", "route.request.querystring.room", "stageVariables.tenant"]
[apis.auth.integrations.events]
integrationType = "AWS_PROXY"
integrationUri = "{}"
[apis.auth.integrations.whoami]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '$context.authorizer.principalId/$context.authorizer.userId/$context.authorizer.n/$context.authorizer.admin' }} }} }}
[apis.auth.routes."$connect"]
target = "integrations/events"
authorizationType = "CUSTOM"
authorizerId = "gate"
{extra}
[apis.auth.routes."$disconnect"]
target = "integrations/events"
[apis.auth.routes."$default"]
target = "integrations/events"
[apis.auth.routes.whoami]
target = "integrations/whoami"
routeResponseSelectionExpression = "$default"
"#,
        lambda.endpoint(),
        events.url("/events")
    )
}

fn allow_policy(resource: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}]})
}

/// The authorizer: behaviour chosen by the `Auth` header.
fn gate(inv: &Invocation) -> LambdaReply {
    let arn = inv.event["methodArn"].as_str().unwrap_or("").to_owned();
    // tungstenite sends extra header names in lowercase; the event keeps that spelling.
    let auth = inv.event["headers"]
        .as_object()
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("auth")))
        .and_then(|(_, v)| v.as_str());
    match auth {
        Some("allow") => LambdaReply::Ok(json!({
            "principalId": "user-1",
            "policyDocument": allow_policy(&arn),
            "context": {"userId": "u1", "n": 1, "admin": true},
            "usageIdentifierKey": "abcdefghij0123456789"
        })),
        Some("deny") => LambdaReply::Ok(json!({
            "principalId": "user-1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": arn}]}
        })),
        Some("wrong-resource") => LambdaReply::Ok(json!({
            "principalId": "user-1",
            "policyDocument": allow_policy("arn:aws:execute-api:us-east-1:123456789012:auth/dev/*/*")
        })),
        Some("unauthorized") => LambdaReply::unhandled("Error", "Unauthorized"),
        Some("crash") => LambdaReply::unhandled("TypeError", "boom"),
        Some("nested") => LambdaReply::Ok(json!({
            "principalId": "user-1", "policyDocument": allow_policy(&arn), "context": {"obj": {"a": 1}}
        })),
        _ => LambdaReply::Ok(json!({"principalId": "user-1"})),
    }
}

async fn setup(extra: &str) -> (LambdaServer, HttpBackend, TestGateway) {
    let lambda = LambdaServer::start(KEY, SECRET, gate).await;
    let events = HttpBackend::start(|_| BackendReply::ok(r#"{"statusCode":200}"#)).await;
    let gw =
        TestGateway::start_with_credentials(&custom_api(&lambda, &events, extra), credentials())
            .await;
    (lambda, events, gw)
}

async fn connect_with(gw: &TestGateway, auth: &str, query: &str) -> Result<WsClient, ConnectError> {
    WsClient::connect_with(&gw.url(&format!("/auth/dev{query}")), &[("Auth", auth)]).await
}

#[tokio::test]
async fn a_missing_identity_source_is_401_without_calling_the_authorizer() {
    let (lambda, _events, gw) = setup("").await;
    assert_eq!(
        status(connect_with(&gw, "allow", "").await),
        401,
        "no ?room="
    );
    assert_eq!(
        status(gw.try_connect("/auth/dev?room=1").await),
        401,
        "no Auth header"
    );
    assert_eq!(
        status(connect_with(&gw, " ", "?room=1").await),
        401,
        "empty header"
    );
    assert!(
        lambda.invocations().is_empty(),
        "the authorizer was never called"
    );
}

#[tokio::test]
async fn policies_decide_deny_wins_and_resources_match_like_iam() {
    let (lambda, events, gw) = setup("").await;
    assert_eq!(status(connect_with(&gw, "deny", "?room=1").await), 403);
    assert_eq!(
        status(connect_with(&gw, "wrong-resource", "?room=1").await),
        403
    );
    assert_eq!(
        status(connect_with(&gw, "unauthorized", "?room=1").await),
        401
    );
    assert_eq!(status(connect_with(&gw, "crash", "?room=1").await), 500);
    assert_eq!(status(connect_with(&gw, "nested", "?room=1").await), 500);
    assert_eq!(status(connect_with(&gw, "no-policy", "?room=1").await), 500);
    assert_eq!(lambda.invocations().len(), 6);
    assert!(
        events.requests().is_empty(),
        "refused connections never reach $connect"
    );
    assert_eq!(status(connect_with(&gw, "allow", "?room=1").await), 101);
}

#[tokio::test]
async fn the_authorizer_event_has_the_request_shape() {
    let (lambda, _events, gw) = setup("").await;
    let _ws = connect_with(&gw, "allow", "?room=42")
        .await
        .expect("allowed");
    let e = &lambda.wait_for_invocations(1).await[0].event;
    assert_eq!(e["type"], "REQUEST");
    assert_eq!(
        e["methodArn"],
        "arn:aws:execute-api:us-east-1:123456789012:auth/dev/$connect"
    );
    assert_eq!(e["headers"]["auth"], "allow", "the client's spelling");
    assert!(e["headers"]["Connection"].is_string() && e["headers"]["Upgrade"].is_string());
    assert_eq!(e["multiValueHeaders"]["auth"], json!(["allow"]));
    assert_eq!(e["queryStringParameters"], json!({"room": "42"}));
    assert_eq!(e["stageVariables"], json!({"tenant": "acme"}));
    let rc = &e["requestContext"];
    assert_eq!(rc["routeKey"], "$connect");
    assert_eq!(rc["eventType"], "CONNECT");
    assert_eq!(rc["connectionId"].as_str().map(str::len), Some(16));
}

#[tokio::test]
async fn authorizer_context_travels_with_every_event_and_into_templates() {
    let (_lambda, events, gw) = setup("").await;
    let mut ws = connect_with(&gw, "allow", "?room=1")
        .await
        .expect("allowed");
    ws.send_text(r#"{"action":"whoami"}"#).await;
    assert_eq!(
        ws.recv_text().await,
        "user-1/u1/1/true",
        "stringified in templates"
    );
    ws.send_text("to $default").await;
    events.wait_for_requests(2).await;
    ws.close(Some(1000), "").await;
    let all = events.wait_for_requests(3).await;
    for (i, kind) in ["CONNECT", "MESSAGE", "DISCONNECT"].iter().enumerate() {
        let e: Value = serde_json::from_slice(&all[i].body).expect("event");
        assert_eq!(e["requestContext"]["eventType"], *kind);
        let a = &e["requestContext"]["authorizer"];
        assert_eq!(a["principalId"], "user-1", "{kind}");
        assert_eq!(a["userId"], "u1");
        assert_eq!(a["n"], 1);
        assert_eq!(a["admin"], true);
        assert!(a["integrationLatency"].is_u64(), "{kind}: {a}");
    }
}

#[tokio::test]
async fn api_keys_present_missing_unknown_and_for_another_stage() {
    let events = HttpBackend::start(|_| BackendReply::ok(r#"{"statusCode":200}"#)).await;
    let toml = format!(
        r#"
[apiKeys.mobile]
value = "0123456789abcdef01234567"
stages = ["keys/dev"]
[apiKeys.elsewhere]
value = "zzzzzzzzzzzzzzzzzzzzzzzz"
stages = ["keys/prod"]
[apis.keys]
routeSelectionExpression = "$request.body.action"
[apis.keys.stages.dev]
[apis.keys.stages.prod]
[apis.keys.integrations.events]
integrationType = "AWS_PROXY"
integrationUri = "{}"
[apis.keys.routes."$connect"]
target = "integrations/events"
apiKeyRequired = true
"#,
        events.url("/events")
    );
    let gw = TestGateway::start(&toml).await;
    let url = gw.url("/keys/dev");
    let with_key = |k: &'static str| {
        let url = url.clone();
        async move { WsClient::connect_with(&url, &[("x-api-key", k)]).await }
    };
    assert_eq!(status(gw.try_connect("/keys/dev").await), 403, "missing");
    assert_eq!(
        status(with_key("nope-nope-nope-nope-nope").await),
        403,
        "unknown"
    );
    assert_eq!(
        status(with_key("zzzzzzzzzzzzzzzzzzzzzzzz").await),
        403,
        "other stage"
    );
    assert_eq!(status(with_key("0123456789abcdef01234567").await), 101);
    let e: Value =
        serde_json::from_slice(&events.wait_for_requests(1).await[0].body).expect("event");
    assert_eq!(
        e["requestContext"]["identity"]["apiKey"],
        "0123456789abcdef01234567"
    );
    assert_eq!(e["requestContext"]["identity"]["apiKeyId"], "mobile");
}

// === JWT ===

struct Signer {
    key: EncodingKey,
    alg: Algorithm,
    kid: String,
}

impl Signer {
    fn new(pem: &str, alg: Algorithm, kid: &str) -> Self {
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
            _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
        }
        .expect("test key");
        Self {
            key,
            alg,
            kid: kid.into(),
        }
    }

    fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.key, self.alg).expect("jwk");
        jwk.common.key_id = Some(self.kid.clone());
        jwk
    }

    fn token(&self, claims: Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("sign")
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn claims(aud: &str, exp_offset: i64) -> Value {
    json!({"iss": "https://issuer.test", "aud": aud, "sub": "alice", "exp": now() + exp_offset, "iat": now(), "scope": "chat:read chat:write"})
}

async fn jwt_setup(keys: Arc<Mutex<Vec<Jwk>>>) -> (HttpBackend, HttpBackend, TestGateway) {
    let jwks = HttpBackend::start(move |_| {
        let set = JwkSet {
            keys: keys.lock().expect("keys").clone(),
        };
        BackendReply::ok(serde_json::to_vec(&set).expect("jwks"))
    })
    .await;
    let events = HttpBackend::start(|_| BackendReply::ok(r#"{"statusCode":200}"#)).await;
    let toml = format!(
        r#"
[apis.j]
routeSelectionExpression = "$request.body.action"
[apis.j.stages.dev]
[apis.j.authorizers.idp]
authorizerType = "JWT"
identitySource = ["route.request.querystring.access_token"]
jwtConfiguration = {{ issuer = "https://issuer.test", audience = ["chat-app"], jwksUri = "{}" }}
[apis.j.integrations.events]
integrationType = "AWS_PROXY"
integrationUri = "{}"
[apis.j.routes."$connect"]
target = "integrations/events"
authorizationType = "JWT"
authorizerId = "idp"
"#,
        jwks.url("/.well-known/jwks.json"),
        events.url("/events")
    );
    let gw = TestGateway::start(&toml).await;
    (jwks, events, gw)
}

const RSA: &str = include_str!("fixtures/jwt-rsa.pem");
const EC: &str = include_str!("fixtures/jwt-ec.pem");
const RSA_ROTATED: &str = include_str!("fixtures/jwt-rsa-rotated.pem");

#[tokio::test]
async fn jwts_signed_with_rsa_and_ec_keys_are_validated_against_the_jwks() {
    let rsa = Signer::new(RSA, Algorithm::RS256, "rsa-1");
    let ec = Signer::new(EC, Algorithm::ES256, "ec-1");
    let keys = Arc::new(Mutex::new(vec![rsa.jwk(), ec.jwk()]));
    let (_jwks, events, gw) = jwt_setup(keys).await;
    let connect = |token: String| gw.try_connect_owned(format!("/j/dev?access_token={token}"));
    assert_eq!(
        status(connect(rsa.token(claims("chat-app", 300))).await),
        101
    );
    assert_eq!(
        status(connect(ec.token(claims("chat-app", 300))).await),
        101
    );
    assert_eq!(
        status(connect(rsa.token(claims("chat-app", -300))).await),
        401,
        "expired"
    );
    assert_eq!(
        status(connect(rsa.token(claims("other-app", 300))).await),
        401,
        "wrong audience"
    );
    assert_eq!(status(connect("not.a.jwt".into()).await), 401);
    assert_eq!(status(gw.try_connect("/j/dev").await), 401, "no token");
    let e: Value =
        serde_json::from_slice(&events.wait_for_requests(1).await[0].body).expect("event");
    let a = &e["requestContext"]["authorizer"];
    assert_eq!(a["principalId"], "alice");
    assert_eq!(a["jwt"]["claims"]["sub"], "alice");
    assert_eq!(a["jwt"]["claims"]["iss"], "https://issuer.test");
    assert_eq!(a["jwt"]["scopes"], json!(["chat:read", "chat:write"]));
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_after_a_key_rotation() {
    let old = Signer::new(RSA, Algorithm::RS256, "2025");
    let new = Signer::new(RSA_ROTATED, Algorithm::RS256, "2026");
    let keys = Arc::new(Mutex::new(vec![old.jwk()]));
    let (jwks, _events, gw) = jwt_setup(Arc::clone(&keys)).await;
    let path = |t: String| format!("/j/dev?access_token={t}");
    assert_eq!(
        status(
            gw.try_connect(&path(old.token(claims("chat-app", 300))))
                .await
        ),
        101
    );
    let fetches_before = jwks.requests().len();
    // The identity provider rotates its key; tokens signed with the new kid start arriving.
    *keys.lock().expect("keys") = vec![new.jwk()];
    let token = new.token(claims("chat-app", 300));
    switchboard_testkit::eventually("a token with the rotated key is accepted", || async {
        gw.try_connect(&path(token.clone())).await.ok()
    })
    .await;
    assert!(
        jwks.requests().len() > fetches_before,
        "the JWKS was fetched again"
    );
}

#[tokio::test]
async fn no_caching_by_default_and_an_opt_in_cache_keyed_by_identity_values() {
    let (lambda, _events, gw) = setup("").await;
    for _ in 0..2 {
        assert_eq!(status(connect_with(&gw, "allow", "?room=1").await), 101);
    }
    assert_eq!(
        lambda.invocations().len(),
        2,
        "AWS never caches WebSocket authorizers"
    );

    let lambda = LambdaServer::start(KEY, SECRET, gate).await;
    let events = HttpBackend::start(|_| BackendReply::ok(r#"{"statusCode":200}"#)).await;
    let cached = custom_api(&lambda, &events, "").replace(
        "identitySource = [",
        "authorizerResultTtlInSeconds = 300\nidentitySource = [",
    );
    let gw = TestGateway::start_with_credentials(&cached, credentials()).await;
    for _ in 0..3 {
        assert_eq!(status(connect_with(&gw, "allow", "?room=1").await), 101);
    }
    assert_eq!(status(connect_with(&gw, "deny", "?room=1").await), 403);
    assert_eq!(status(connect_with(&gw, "deny", "?room=1").await), 403);
    assert_eq!(status(connect_with(&gw, "allow", "?room=2").await), 101);
    assert_eq!(
        lambda.invocations().len(),
        3,
        "one call per distinct identity"
    );
}
