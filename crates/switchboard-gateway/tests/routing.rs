//! Route selection as API Gateway does it (docs/behaviour.md §2), and the error frames byte for byte (§6).

use regex::Regex;
use switchboard_testkit::TestGateway;

/// An API whose every route answers with its own key, under a given selection expression.
fn api(expression: &str, routes: &[&str], with_default: bool) -> String {
    let mut toml = format!(
        r#"
[apis.r]
routeSelectionExpression = '{expression}'
[apis.r.stages.dev]
"#
    );
    let mut keys: Vec<&str> = routes.to_vec();
    if with_default {
        keys.push("$default");
    }
    for (i, key) in keys.iter().enumerate() {
        toml.push_str(&format!(
            r#"
[apis.r.integrations.i{i}]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = 'route:{key}' }} }} }}
[apis.r.routes."{key}"]
target = "integrations/i{i}"
routeResponseSelectionExpression = "$default"
"#
        ));
    }
    toml
}

const DOC: &str = r#"{"service":"chat","action":"join","data":{"room":"room1234"}}"#;

async fn route_of(gw: &TestGateway, message: &str) -> String {
    let mut ws = gw.connect("/r/dev").await;
    ws.send_text(message).await;
    ws.recv_text().await
}

#[tokio::test]
async fn the_documented_expression_table() {
    // docs/behaviour.md §2.2: each expression evaluated against the same message selects the route named
    // by its result.
    let cases = [
        ("$request.body.action", "join"),
        ("${request.body.action}", "join"),
        (
            "${request.body.service}/${request.body.action}",
            "chat/join",
        ),
        (
            "${request.body.action}-${request.body.invalidPath}",
            "join-",
        ),
        ("action", "action"),
        ("\\$default", "$default"),
    ];
    for (expression, key) in cases {
        let routes: Vec<&str> = if key == "$default" { vec![] } else { vec![key] };
        let gw = TestGateway::start(&api(expression, &routes, true)).await;
        assert_eq!(
            route_of(&gw, DOC).await,
            format!("route:{key}"),
            "{expression}"
        );
    }
}

#[tokio::test]
async fn nested_paths_and_stringified_values_select_routes() {
    let gw = TestGateway::start(&api(
        "$request.body.service.do",
        &["42", "true", "1.50", "[a, b]", "go"],
        true,
    ))
    .await;
    let cases = [
        (r#"{"service":{"do":"go"}}"#, "go"),
        (r#"{"service":{"do":42}}"#, "42"),
        (r#"{"service":{"do":true}}"#, "true"),
        (r#"{"service":{"do":1.50}}"#, "1.50"),
        (r#"{"service":{"do":["a","b"]}}"#, "[a, b]"),
        (r#"{"service":{"do":null}}"#, "$default"),
        (r#"{"service":{}}"#, "$default"),
        ("not json at all", "$default"),
        (r#"{"service":{"do":"go"}} trailing"#, "$default"),
        ("[1,2,3]", "$default"),
    ];
    for (message, key) in cases {
        assert_eq!(
            route_of(&gw, message).await,
            format!("route:{key}"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn matching_is_exact_and_case_sensitive() {
    let gw = TestGateway::start(&api("$request.body.action", &["join"], true)).await;
    assert_eq!(
        route_of(&gw, r#"{"action":"Join"}"#).await,
        "route:$default"
    );
    assert_eq!(
        route_of(&gw, r#"{"action":"join "}"#).await,
        "route:$default"
    );
    assert_eq!(route_of(&gw, r#"{"action":"join"}"#).await, "route:join");
}

#[tokio::test]
async fn no_route_and_no_default_is_the_exact_forbidden_frame_and_the_connection_stays() {
    let gw = TestGateway::start(&api("$request.body.action", &["join"], false)).await;
    let mut ws = gw.connect("/r/dev").await;
    ws.send_text(r#"{"action":"leave"}"#).await;
    let frame = ws.recv_text().await;
    let shape = Regex::new(
        r#"^\{"message": "Forbidden", "connectionId":"([A-Za-z0-9_-]{15}=)", "requestId":"([A-Za-z0-9_-]{15}=)"\}$"#,
    )
    .expect("regex");
    let caps = shape.captures(&frame).unwrap_or_else(|| panic!("{frame}"));
    assert_ne!(caps[1], caps[2], "requestId differs from connectionId");
    ws.send_text("not json").await;
    let second = ws.recv_text().await;
    let caps2 = shape
        .captures(&second)
        .unwrap_or_else(|| panic!("{second}"));
    assert_eq!(caps[1], caps2[1], "same connection");
    assert_ne!(caps[2], caps2[2], "a requestId per message");
    ws.send_text(r#"{"action":"join"}"#).await;
    assert_eq!(ws.recv_text().await, "route:join");
}

#[tokio::test]
async fn a_failing_integration_sends_the_exact_internal_server_error_frame() {
    let gw = TestGateway::start(
        r#"
[apis.r]
routeSelectionExpression = "$request.body.action"
[apis.r.stages.dev]
[apis.r.integrations.strict]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }
integrationResponses = { "$default" = { responseTemplates = { "$default" = '''{"echo": $input.json('$')}''' } } }
[apis.r.routes."$default"]
target = "integrations/strict"
"#,
    )
    .await;
    let mut ws = gw.connect("/r/dev").await;
    // $input.json on a body that is not JSON fails the template: an integration failure.
    ws.send_text("not json").await;
    let frame = ws.recv_text().await;
    let shape = Regex::new(
        r#"^\{"message": "Internal server error", "connectionId":"[A-Za-z0-9_-]{15}=", "requestId":"[A-Za-z0-9_-]{15}="\}$"#,
    )
    .expect("regex");
    assert!(shape.is_match(&frame), "{frame}");
    // One-way route: a success sends nothing, and the connection is still usable.
    ws.send_text(r#"{"ok":1}"#).await;
    ws.send_text("again not json").await;
    assert!(shape.is_match(&ws.recv_text().await));
}

#[tokio::test]
async fn two_way_mock_routes_render_context_and_stage_variables() {
    let gw = TestGateway::start(
        r#"
[apis.r]
routeSelectionExpression = "$request.body.action"
[apis.r.stages.dev]
stageVariables = { color = "blue" }
[apis.r.integrations.info]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }
integrationResponses = { "$default" = { responseTemplates = { "$default" = '''{"color":"$stageVariables.color","route":"$context.routeKey","stage":"$context.stage","api":"$context.apiId","event":"$context.eventType","data":$input.json('$.data')}''' } } }
[apis.r.routes.info]
target = "integrations/info"
routeResponseSelectionExpression = "$default"
"#,
    )
    .await;
    let mut ws = gw.connect("/r/dev").await;
    ws.send_text(r#"{"action":"info","data":{"n":[1,2]}}"#)
        .await;
    let reply: serde_json::Value = serde_json::from_str(&ws.recv_text().await).expect("JSON");
    assert_eq!(
        reply,
        serde_json::json!({"color":"blue","route":"info","stage":"dev","api":"r","event":"MESSAGE","data":{"n":[1,2]}})
    );
}

#[tokio::test]
async fn integration_responses_are_selected_by_the_mock_status() {
    let gw = TestGateway::start(
        r#"
[apis.r]
routeSelectionExpression = "$request.body.action"
[apis.r.stages.dev]
[apis.r.integrations.status]
integrationType = "MOCK"
templateSelectionExpression = "${request.body.want}"
requestTemplates = { "$default" = '{"statusCode": 200}', "missing" = '{"statusCode": 404}', "broken" = '{"statusCode": 500}' }
[apis.r.integrations.status.integrationResponses."$default".responseTemplates]
"$default" = 'fine'
[apis.r.integrations.status.integrationResponses."/4\\d{2}/".responseTemplates]
"$default" = 'client error $context.requestId'
[apis.r.integrations.status.integrationResponses."/5\\d\\d/".responseTemplates]
"$default" = 'server error'
[apis.r.routes."$default"]
target = "integrations/status"
routeResponseSelectionExpression = "$default"
"#,
    )
    .await;
    let mut ws = gw.connect("/r/dev").await;
    ws.send_text(r#"{"want":"ok"}"#).await;
    assert_eq!(ws.recv_text().await, "fine");
    ws.send_text(r#"{"want":"missing"}"#).await;
    assert!(ws.recv_text().await.starts_with("client error "));
    ws.send_text(r#"{"want":"broken"}"#).await;
    assert_eq!(ws.recv_text().await, "server error");
}
