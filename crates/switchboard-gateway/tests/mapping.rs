//! Non-proxy integrations end to end (docs/behaviour.md §4.3–§4.5, §5): `HTTP` and `MOCK` with request
//! templates and several integration responses, `AWS` against a recording endpoint, and
//! request validation (§4.7) with its `Bad request body` frame (§6).
//!
//! The `AWS` tests here check the gateway's side of the mapping only (what it sends, how it maps
//! a status). Whether real services accept those calls and their signatures is checked against
//! moto_server by tests/compat/test_dynamodb.py and tests/compat/test_aws_services.py.

use switchboard_core::config::AwsCredentials;
use switchboard_testkit::{BackendReply, HttpBackend, TestGateway};

/// An API whose `$default` route is two-way and targets integration `it`, configured by
/// `integration` (TOML lines under `[apis.m.integrations.it]`) and `extra` tables.
fn api(integration: &str, extra: &str) -> String {
    format!(
        r#"
[apis.m]
routeSelectionExpression = "$request.body.action"
[apis.m.stages.dev]
stageVariables = {{ table = "Messages" }}
[apis.m.integrations.it]
{integration}
{extra}
[apis.m.routes."$default"]
target = "integrations/it"
routeResponseSelectionExpression = "$default"
"#
    )
}

fn http_integration(backend: &HttpBackend) -> String {
    format!(
        r#"
integrationType = "HTTP"
integrationMethod = "PUT"
integrationUri = "{}/items"
timeoutInMillis = 2000
templateSelectionExpression = "$request.body.kind"
requestParameters = {{ "integration.request.header.connectionId" = "context.connectionId" }}
[apis.m.integrations.it.requestTemplates]
"$default" = '''{{"wrapped": $input.json('$'), "stage": "$context.stage", "table": "$stageVariables.table"}}'''
"raw" = '''raw=$input.path('$.text')'''
[apis.m.integrations.it.integrationResponses."$default".responseTemplates]
"$default" = '''{{"ok": true, "backend": $input.json('$')}}'''
[apis.m.integrations.it.integrationResponses."/4\\d{{2}}/"]
templateSelectionExpression = "${{integration.response.header.X-Kind}}"
[apis.m.integrations.it.integrationResponses."/4\\d{{2}}/".responseTemplates]
"$default" = '''{{"error": "client", "message": $input.json('$.message')}}'''
"teapot" = '{{"error": "teapot"}}'
[apis.m.integrations.it.integrationResponses."/5\\d\\d/"]
"#,
        backend.url("")
    )
}

async fn http_backend() -> HttpBackend {
    HttpBackend::start(|req| {
        let body = req.body_text();
        if body.contains("fail") {
            BackendReply {
                status: 400,
                ..BackendReply::ok(r#"{"message":"bad thing"}"#)
            }
        } else if body.contains("teapot") {
            BackendReply {
                status: 418,
                ..BackendReply::ok("{}")
            }
            .with_header("X-Kind", "teapot")
        } else if body.contains("crash") {
            BackendReply {
                status: 503,
                ..BackendReply::ok("backend down")
            }
        } else {
            BackendReply::ok(r#"{"stored":1}"#)
        }
    })
    .await
}

#[tokio::test]
async fn http_request_template_renders_the_body_sent_to_the_backend() {
    let backend = http_backend().await;
    let gw = TestGateway::start(&api(&http_integration(&backend), "")).await;
    let mut ws = gw.connect("/dev").await;
    ws.send_text(r#"{"action":"x","text":"hi"}"#).await;
    assert_eq!(
        ws.recv_text().await,
        r#"{"ok": true, "backend": {"stored":1}}"#
    );
    let req = &backend.wait_for_requests(1).await[0];
    assert_eq!(req.method, "PUT");
    assert_eq!(req.path, "/items");
    assert_eq!(
        req.body_text(),
        r#"{"wrapped": {"action":"x","text":"hi"}, "stage": "dev", "table": "Messages"}"#
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert!(req.header("connectionId").is_some_and(|c| !c.is_empty()));
}

#[tokio::test]
async fn http_template_selection_picks_the_template_named_by_the_message() {
    let backend = http_backend().await;
    let gw = TestGateway::start(&api(&http_integration(&backend), "")).await;
    let mut ws = gw.connect("/dev").await;
    ws.send_text(r#"{"kind":"raw","text":"plain words"}"#).await;
    ws.recv_text().await;
    assert_eq!(
        backend.wait_for_requests(1).await[0].body_text(),
        "raw=plain words"
    );
}

#[tokio::test]
async fn http_status_selects_the_integration_response() {
    let backend = http_backend().await;
    let gw = TestGateway::start(&api(&http_integration(&backend), "")).await;
    let mut ws = gw.connect("/dev").await;
    ws.send_text(r#"{"text":"fail"}"#).await;
    assert_eq!(
        ws.recv_text().await,
        r#"{"error": "client", "message": "bad thing"}"#
    );
    // The response's own templateSelectionExpression reads a backend header.
    ws.send_text(r#"{"text":"teapot"}"#).await;
    assert_eq!(ws.recv_text().await, r#"{"error": "teapot"}"#);
    // An integration response without templates passes the backend body through.
    ws.send_text(r#"{"text":"crash"}"#).await;
    assert_eq!(ws.recv_text().await, "backend down");
}

#[tokio::test]
async fn http_status_without_a_matching_response_is_an_internal_server_error() {
    let backend = HttpBackend::start(|_| BackendReply::status(302)).await;
    let integration = format!(
        r#"
integrationType = "HTTP"
integrationUri = "{}/x"
[apis.m.integrations.it.integrationResponses."/2\\d\\d/".responseTemplates]
"$default" = 'fine'
"#,
        backend.url("")
    );
    let gw = TestGateway::start(&api(&integration, "")).await;
    let mut ws = gw.connect("/dev").await;
    ws.send_text("{}").await;
    assert!(ws
        .recv_text()
        .await
        .starts_with(r#"{"message": "Internal server error""#));
}

#[tokio::test]
async fn http_passthrough_behaviour_decides_unmatched_messages() {
    let backend = HttpBackend::echo().await;
    let integration = |behaviour: &str| {
        format!(
            r#"
integrationType = "HTTP"
integrationUri = "{}/x"
templateSelectionExpression = "$request.body.kind"
passthroughBehavior = "{behaviour}"
requestTemplates = {{ "known" = 'templated' }}
[apis.m.integrations.it.integrationResponses."$default"]
"#,
            backend.url("")
        )
    };
    let gw = TestGateway::start(&api(&integration("WHEN_NO_MATCH"), "")).await;
    let mut ws = gw.connect("/dev").await;
    ws.send_text(r#"{"kind":"other"}"#).await;
    assert_eq!(ws.recv_text().await, r#"{"kind":"other"}"#);
    ws.send_text(r#"{"kind":"known"}"#).await;
    assert_eq!(ws.recv_text().await, "templated");

    let gw = TestGateway::start(&api(&integration("NEVER"), "")).await;
    let mut ws = gw.connect("/dev").await;
    ws.send_text(r#"{"kind":"other"}"#).await;
    assert!(ws
        .recv_text()
        .await
        .starts_with(r#"{"message": "Internal server error""#));
}

const MOCK: &str = r#"
integrationType = "MOCK"
templateSelectionExpression = "\\$default"
requestTemplates = { "$default" = '''{"statusCode": $input.json('$.code')}''' }
[apis.m.integrations.it.integrationResponses."$default".responseTemplates]
"$default" = '''{"result": "ok", "echo": $input.json('$.text')}'''
[apis.m.integrations.it.integrationResponses."/4\\d\\d/".responseTemplates]
"$default" = '''{"result": "client error $input.path('$.code')"}'''
[apis.m.integrations.it.integrationResponses."/5\\d\\d/".responseTemplates]
"$default" = '{"result": "server error"}'
"#;

#[tokio::test]
async fn mock_status_from_the_request_template_selects_among_several_responses() {
    let gw = TestGateway::start(&api(MOCK, "")).await;
    let mut ws = gw.connect("/dev").await;
    ws.send_text(r#"{"code":200,"text":"hi"}"#).await;
    assert_eq!(ws.recv_text().await, r#"{"result": "ok", "echo": "hi"}"#);
    ws.send_text(r#"{"code":404}"#).await;
    assert_eq!(ws.recv_text().await, r#"{"result": "client error 404"}"#);
    ws.send_text(r#"{"code":503}"#).await;
    assert_eq!(ws.recv_text().await, r#"{"result": "server error"}"#);
}

const MODELS: &str = r#"
[apis.m.models.Message]
schema = '''
{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
 "required": ["action", "text"],
 "properties": {"action": {"type": "string"}, "text": {"type": "string", "maxLength": 10}}}
'''
[apis.m.routes.send]
target = "integrations/it"
routeResponseSelectionExpression = "$default"
modelSelectionExpression = "$request.body.action"
requestModels = { send = "Message" }
"#;

#[tokio::test]
async fn valid_messages_reach_the_integration_and_invalid_ones_get_bad_request_body() {
    let backend = HttpBackend::echo().await;
    let integration = format!(
        r#"
integrationType = "HTTP_PROXY"
integrationUri = "{}/x"
"#,
        backend.url("")
    );
    let gw = TestGateway::start(&api(&integration, MODELS)).await;
    let mut ws = gw.connect("/dev").await;
    let valid = r#"{"action":"send","text":"hello"}"#;
    ws.send_text(valid).await;
    assert_eq!(ws.recv_text().await, valid);

    let frame = regex::Regex::new(
        r#"^\{"message" : "Bad request body", "connectionId": "[A-Za-z0-9_=-]+", "messageId": "[A-Za-z0-9_=-]+"\}$"#,
    )
    .expect("regex");
    for invalid in [
        r#"{"action":"send","text":"far too long for the model"}"#,
        r#"{"action":"send"}"#,
        r#"{"action":"send","text":5}"#,
    ] {
        ws.send_text(invalid).await;
        let got = ws.recv_text().await;
        assert!(frame.is_match(&got), "{invalid} -> {got}");
    }
    // Only the valid message was sent on.
    ws.send_text(valid).await;
    assert_eq!(ws.recv_text().await, valid);
    assert_eq!(backend.requests().len(), 2);
}

#[tokio::test]
async fn a_selection_without_a_model_and_no_default_fails_validation() {
    let routes = r#"
[apis.m.models.Any]
schema = '{"type": "object"}'
[apis.m.routes.send]
target = "integrations/it"
routeResponseSelectionExpression = "$default"
modelSelectionExpression = "$request.body.kind"
requestModels = { known = "Any" }
"#;
    let gw = TestGateway::start(&api(MOCK, routes)).await;
    let mut ws = gw.connect("/dev").await;
    ws.send_text(r#"{"action":"send","kind":"known","code":200,"text":"a"}"#)
        .await;
    assert_eq!(ws.recv_text().await, r#"{"result": "ok", "echo": "a"}"#);
    ws.send_text(r#"{"action":"send","kind":"unknown","code":200}"#)
        .await;
    assert!(ws
        .recv_text()
        .await
        .starts_with(r#"{"message" : "Bad request body""#));
}

#[tokio::test]
async fn an_invalid_schema_is_a_configuration_error_naming_its_key() {
    let config = api(
        MOCK,
        r#"
[apis.m.models.Broken]
schema = '{"type": "no-such-type"}'
"#,
    );
    let config = switchboard_core::config::Config::from_toml_str(&config, "t.toml")
        .expect("parses and validates");
    let err =
        switchboard_gateway::runtime::Runtime::build(config, None).expect_err("schema is invalid");
    assert!(
        err.to_string().contains("apis.m.models.Broken.schema"),
        "{err}"
    );
}

fn dynamodb_integration(endpoint: &str) -> String {
    format!(
        r#"
integrationType = "AWS"
integrationMethod = "POST"
integrationUri = "arn:aws:apigateway:eu-west-1:dynamodb:action/PutItem"
requestTemplates = {{ "$default" = '''{{"TableName":"$stageVariables.table","Item":{{"id":{{"S":"$context.requestId"}},"userData":{{"S":$input.json('$.data')}}}}}}''' }}
[apis.m.integrations.it.integrationResponses."$default".responseTemplates]
"$default" = '{{"success": true}}'
[apis.m.integrations.it.integrationResponses."/4\\d{{2}}/".responseTemplates]
"$default" = '''{{"error": "Bad request", "message": $input.json('$.Message')}}'''
[aws.endpoints]
dynamodb = "{endpoint}"
"#
    )
}

/// The rendered template goes out as a JSON-protocol call for the ARN's service and region, and
/// the answer's status picks the integration response. The endpoint answers as DynamoDB does
/// (a canned reply; the real one is in tests/compat/test_dynamodb.py).
#[tokio::test]
async fn aws_integration_sends_the_template_as_a_json_protocol_call_and_maps_the_status() {
    let backend = HttpBackend::start(|req| {
        if req.body_text().contains(r#""S":1"#) {
            BackendReply {
                status: 400,
                ..BackendReply::ok(
                    r#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"NUMBER_VALUE cannot be converted to String"}"#,
                )
            }
        } else {
            BackendReply::ok("{}")
        }
    })
    .await;
    let toml = api(&dynamodb_integration(&backend.url("")), "");
    let gw = TestGateway::start_with_credentials(
        &toml,
        AwsCredentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: "secret".into(),
            session_token: None,
        },
    )
    .await;
    let mut ws = gw.connect("/dev").await;
    ws.send_text(r#"{"action":"putItem","data":"hello"}"#).await;
    assert_eq!(ws.recv_text().await, r#"{"success": true}"#);
    ws.send_text(r#"{"action":"putItem","data":1}"#).await;
    assert_eq!(
        ws.recv_text().await,
        r#"{"error": "Bad request", "message": "NUMBER_VALUE cannot be converted to String"}"#
    );

    let req = &backend.wait_for_requests(2).await[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/");
    assert_eq!(
        req.header("x-amz-target"),
        Some("DynamoDB_20120810.PutItem")
    );
    assert_eq!(
        req.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    let body: serde_json::Value = serde_json::from_slice(&req.body).expect("JSON body");
    assert_eq!(body["TableName"], "Messages");
    assert_eq!(body["Item"]["userData"]["S"], "hello");
    // Signed for the ARN's region and service (moto, which checks the signature itself, takes
    // both from this scope, so only this test sees a wrong region).
    let auth = req.header("authorization").expect("signed");
    assert!(
        auth.contains("Credential=AKIDTEST/") && auth.contains("/eu-west-1/dynamodb/aws4_request"),
        "scope: {auth}"
    );
}

#[tokio::test]
async fn request_parameters_on_an_aws_integration_are_refused_naming_the_key() {
    let integration = dynamodb_integration("http://127.0.0.1:1").replacen(
        "integrationMethod",
        "requestParameters = { \"integration.request.header.Content-Type\" = \"'application/x-www-form-urlencoded'\" }\nintegrationMethod",
        1,
    );
    let config = switchboard_core::config::Config::from_toml_str(&api(&integration, ""), "t.toml")
        .expect("parses and validates");
    let err = switchboard_gateway::runtime::Runtime::build(config, None)
        .expect_err("the parameters would be ignored");
    let text = err.to_string();
    assert!(
        text.contains(
            r#"apis.m.integrations.it.requestParameters."integration.request.header.Content-Type""#
        ) && text.contains("not applied to AWS integrations"),
        "{text}"
    );
}

#[tokio::test]
async fn integration_credentials_take_precedence_over_the_environment() {
    let backend = HttpBackend::start(|_| BackendReply::ok("{}")).await;
    let integration = dynamodb_integration(&backend.url("")).replacen(
        "integrationMethod",
        "credentials = { accessKeyId = \"AKIDINTEGRATION\", secretAccessKey = \"s\" }\nintegrationMethod",
        1,
    );
    let gw = TestGateway::start_with_credentials(
        &api(&integration, ""),
        AwsCredentials {
            access_key_id: "AKIDENV".into(),
            secret_access_key: "e".into(),
            session_token: None,
        },
    )
    .await;
    let mut ws = gw.connect("/dev").await;
    ws.send_text(r#"{"data":"x"}"#).await;
    ws.recv_text().await;
    let auth = backend.wait_for_requests(1).await[0]
        .header("authorization")
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(auth.contains("Credential=AKIDINTEGRATION/"), "{auth}");
}

#[tokio::test]
async fn content_handling_converts_the_request_and_the_response() {
    let backend =
        HttpBackend::start(|req| BackendReply::ok([&[0xffu8, 0x00][..], &req.body].concat())).await;
    let integration = format!(
        r#"
integrationType = "HTTP"
integrationUri = "{}/bin"
contentHandlingStrategy = "CONVERT_TO_BINARY"
[apis.m.integrations.it.integrationResponses."$default"]
contentHandlingStrategy = "CONVERT_TO_TEXT"
"#,
        backend.url("")
    );
    let gw = TestGateway::start(&api(&integration, "")).await;
    let mut ws = gw.connect("/dev").await;
    // "aGk=" is base64 of "hi": the backend gets the bytes, and its binary reply comes back
    // base64-encoded as text.
    ws.send_text("aGk=").await;
    assert_eq!(ws.recv_text().await, "/wBoaQ==");
    assert_eq!(backend.wait_for_requests(1).await[0].body, b"hi");
    // Not base64: the call is refused before it reaches the backend.
    ws.send_text("not base64!").await;
    assert!(ws
        .recv_text()
        .await
        .starts_with(r#"{"message": "Internal server error""#));
    assert_eq!(backend.requests().len(), 1);
}

#[tokio::test]
async fn connect_templates_see_the_upgrade_request_through_input_params() {
    let backend = HttpBackend::start(|_| BackendReply::status(200)).await;
    let toml = format!(
        r#"
[apis.m]
routeSelectionExpression = "$request.body.action"
[apis.m.stages.dev]
[apis.m.integrations.auth]
integrationType = "HTTP"
integrationUri = "{}/connect"
requestTemplates = {{ "$default" = '''{{"user": "$input.params('user')", "agent": "$input.params('x-client')", "event": "$context.eventType"}}''' }}
[apis.m.integrations.auth.integrationResponses."$default"]
[apis.m.routes."$connect"]
target = "integrations/auth"
"#,
        backend.url("")
    );
    let gw = TestGateway::start(&toml).await;
    let _ws = switchboard_testkit::WsClient::connect_with(
        &gw.url("/dev?user=ann"),
        &[("X-Client", "tests")],
    )
    .await
    .expect("connects");
    assert_eq!(
        backend.wait_for_requests(1).await[0].body_text(),
        r#"{"user": "ann", "agent": "tests", "event": "CONNECT"}"#
    );
}

#[tokio::test]
async fn a_connect_backend_status_refuses_the_upgrade() {
    let backend = HttpBackend::start(|_| BackendReply::status(403)).await;
    let toml = format!(
        r#"
[apis.m]
routeSelectionExpression = "$request.body.action"
[apis.m.stages.dev]
[apis.m.integrations.auth]
integrationType = "HTTP"
integrationUri = "{}/connect"
[apis.m.integrations.auth.integrationResponses."$default"]
[apis.m.routes."$connect"]
target = "integrations/auth"
"#,
        backend.url("")
    );
    let gw = TestGateway::start(&toml).await;
    assert!(gw.try_connect("/dev").await.is_err());
}

#[test]
fn the_dynamodb_chat_example_compiles_for_serving() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/dynamodb-chat/switchboard.toml"
    );
    let text = std::fs::read_to_string(path).expect("example config");
    let config =
        switchboard_core::config::Config::from_toml_str(&text, path).expect("example validates");
    switchboard_gateway::runtime::Runtime::build(config, None).expect("example compiles");
}
