//! Failures are blamed on the side that caused them (docs/behaviour.md §3.1, docs/operations.md
//! metrics): a backend that fails refuses `$connect` with 502 and counts as an integration
//! error; a gateway that cannot make the call — no credentials, credentials Lambda refuses, an
//! ARN or URL that stage variables made invalid — refuses with 500 and counts as an execution
//! error.

use switchboard_core::config::AwsCredentials;
use switchboard_testkit::{closed_port, ConnectError, LambdaReply, LambdaServer, TestGateway};

const KEY: &str = "AKIDSIDES";
const SECRET: &str = "sides-secret";

fn credentials(secret: &str) -> AwsCredentials {
    AwsCredentials {
        access_key_id: KEY.into(),
        secret_access_key: secret.into(),
        session_token: None,
    }
}

/// An API whose `$connect` invokes `integration` (the lines of an integration table), with
/// `variables` as the stage's stage variables and `lambda` as the Lambda endpoint.
fn api(integration: &str, variables: &str, lambda: &str) -> String {
    format!(
        r#"
[aws.endpoints]
lambda = "{lambda}"
[apis.s]
routeSelectionExpression = "$request.body.action"
[apis.s.stages.dev]
stageVariables = {{ {variables} }}
[apis.s.integrations.connect]
timeoutInMillis = 5000
{integration}
[apis.s.routes."$connect"]
target = "integrations/connect"
"#
    )
}

fn accept(_: &switchboard_testkit::Invocation) -> LambdaReply {
    LambdaReply::Ok(serde_json::json!({ "statusCode": 200 }))
}

/// The status a refused upgrade got.
async fn refusal(gw: &TestGateway) -> u16 {
    match gw.try_connect("/s/dev").await {
        Err(ConnectError::Refused(status, _)) => status,
        Err(ConnectError::Other(e)) => panic!("no HTTP answer: {e}"),
        Ok(_) => panic!("the upgrade was accepted"),
    }
}

/// `(integration errors, execution errors)` of the stage, from `/metrics`.
async fn error_counts(gw: &TestGateway) -> (f64, f64) {
    let (status, body) = gw.management("GET", "/metrics", b"").await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&body).into_owned();
    let count = |name: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(r#"stage="dev""#))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
            .sum::<f64>()
    };
    (
        count("switchboard_integration_errors_total"),
        count("switchboard_execution_errors_total"),
    )
}

/// What a cause must produce: the refusal status and which counter moved.
async fn assert_blamed(gw: &TestGateway, status: u16, side: &str) {
    assert_eq!(refusal(gw).await, status, "{side}");
    let want = match side {
        "backend" => (1.0, 0.0),
        "gateway" => (0.0, 1.0),
        other => panic!("unknown side {other}"),
    };
    assert_eq!(
        error_counts(gw).await,
        want,
        "(integration, execution) errors"
    );
}

#[tokio::test]
async fn missing_credentials_are_the_gateways_fault() {
    let lambda = LambdaServer::start(KEY, SECRET, accept).await;
    let integration = r#"integrationType = "AWS_PROXY"
integrationUri = "arn:aws:lambda:eu-west-1:123456789012:function:gate""#;
    // No credentials at all: a loopback endpoint gets placeholder credentials, which a Lambda
    // that checks signatures refuses; the function never runs and the gateway is blamed.
    let gw = TestGateway::start(&api(integration, "", &lambda.endpoint())).await;
    assert_blamed(&gw, 500, "gateway").await;
    assert!(lambda.invocations().is_empty());
    assert_eq!(lambda.rejected().len(), 1);
}

#[tokio::test]
async fn credentials_lambda_refuses_are_the_gateways_fault() {
    let lambda = LambdaServer::start(KEY, SECRET, accept).await;
    let integration = r#"integrationType = "AWS_PROXY"
integrationUri = "arn:aws:lambda:eu-west-1:123456789012:function:gate""#;
    let gw = TestGateway::start_with_credentials(
        &api(integration, "", &lambda.endpoint()),
        credentials("not-the-secret"),
    )
    .await;
    // Lambda answers 403 InvalidSignatureException: our signature, not the function, failed.
    assert_blamed(&gw, 500, "gateway").await;
    assert_eq!(lambda.rejected().len(), 1);
}

#[tokio::test]
async fn an_arn_made_invalid_by_stage_variables_is_the_gateways_fault() {
    let lambda = LambdaServer::start(KEY, SECRET, accept).await;
    let integration = r#"integrationType = "AWS_PROXY"
integrationUri = "arn:aws:lambda:eu-west-1:123456789012:function:${stageVariables.fn}""#;
    let gw = TestGateway::start_with_credentials(
        &api(integration, r#"fn = "not/a/function""#, &lambda.endpoint()),
        credentials(SECRET),
    )
    .await;
    assert_blamed(&gw, 500, "gateway").await;
    assert!(lambda.invocations().is_empty());
}

#[tokio::test]
async fn a_url_made_invalid_by_stage_variables_is_the_gateways_fault() {
    let integration = r#"integrationType = "HTTP_PROXY"
integrationUri = "${stageVariables.backend}/connect""#;
    let gw = TestGateway::start(&api(
        integration,
        r#"backend = "http://bad host""#,
        "http://127.0.0.1:9",
    ))
    .await;
    assert_blamed(&gw, 500, "gateway").await;
}

#[tokio::test]
async fn a_backend_that_refuses_the_connection_is_the_backends_fault() {
    let port = closed_port().await;
    let integration = format!(
        r#"integrationType = "HTTP_PROXY"
integrationUri = "http://127.0.0.1:{port}/connect""#
    );
    let gw = TestGateway::start(&api(&integration, "", "http://127.0.0.1:9")).await;
    assert_blamed(&gw, 502, "backend").await;
}

#[tokio::test]
async fn a_function_error_is_the_backends_fault() {
    let lambda = LambdaServer::start(KEY, SECRET, |_| {
        LambdaReply::unhandled("Error", "the handler crashed")
    })
    .await;
    let integration = r#"integrationType = "AWS_PROXY"
integrationUri = "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:gate""#;
    let gw = TestGateway::start_with_credentials(
        &api(integration, "", &lambda.endpoint()),
        credentials(SECRET),
    )
    .await;
    assert_blamed(&gw, 502, "backend").await;
    // The function was invoked: an aws-us-gov ARN is served, not refused at runtime.
    assert_eq!(lambda.invocations().len(), 1);
}

#[tokio::test]
async fn every_partition_passes_validation_and_reaches_the_function() {
    let lambda = LambdaServer::start(KEY, SECRET, accept).await;
    for arn in [
        "arn:aws:lambda:us-east-1:123456789012:function:gate",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:gate",
        "arn:aws-us-gov:apigateway:us-gov-west-1:lambda:path/2015-03-31/functions/arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:gate:live/invocations",
    ] {
        let integration = format!("integrationType = \"AWS_PROXY\"\nintegrationUri = \"{arn}\"");
        let gw = TestGateway::start_with_credentials(
            &api(&integration, "", &lambda.endpoint()),
            credentials(SECRET),
        )
        .await;
        let ws = gw.try_connect("/s/dev").await;
        assert!(ws.is_ok(), "{arn}: {:?}", ws.err());
    }
    assert_eq!(lambda.invocations().len(), 3);
}
