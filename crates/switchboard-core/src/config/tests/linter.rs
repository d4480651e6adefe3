//! The loader as a linter: every problem of a file in one run, each with its exact message, and
//! the files that parse but cannot serve, or would serve something else than meant.

use super::*;

/// The whole report of a file, one rendered problem per line, errors and warnings alike.
fn report(text: &str) -> Vec<String> {
    match Config::check_toml_str(text, "test.toml") {
        Ok(checked) => checked.warnings.iter().map(ToString::to_string).collect(),
        Err(error) => error.problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_file_with_several_problems_reports_them_all_in_file_order() {
    let text = r#"[server]
listen = 8080
colour = "blue"

[management]
auth = "SIGV4"

[apis.chat]
routeSelectionExpression = "request.body.action"
descripton = "the chat API"

[apis.chat.stages.dev]
limits = { maxMessageBytes = "big" }

[apis.chat.integrations.backend]
integrationType = "HTTP_PROXY"
integrationUri = "ftp://example.com"
timeoutInMilis = 100

[apis.chat.routes."$default"]
targett = "integrations/backend"
"#;
    assert_eq!(
        report(text),
        [
            "test.toml:2:10: server.listen: invalid type: integer `8080`, expected a string",
            "test.toml:3:1: server.colour: unknown field `colour`, expected one of `listen`, `domainName`, `tls`, `limits`",
            "test.toml:6:8: management.auth: unknown variant `SIGV4`, expected `none` or `sigv4`; did you mean `sigv4`?",
            "test.toml:9:1: apis.chat.routeSelectionExpression: routeSelectionExpression `request.body.action` has no `$` before `request`, so it is fixed text and every message would go to the route of that name or to $default; did you mean `$request.body.action`?",
            "test.toml:10:1: apis.chat.descripton: unknown field `descripton`, did you mean `description`?",
            "test.toml:13:30: apis.chat.stages.dev.limits.maxMessageBytes: invalid type: string \"big\", expected usize",
            "test.toml:17:1: apis.chat.integrations.backend.integrationUri: integrationUri `ftp://example.com` is not valid for HTTP_PROXY: expected an http:// or https:// URL",
            "test.toml:18:1: apis.chat.integrations.backend.timeoutInMilis: unknown field `timeoutInMilis`, did you mean `timeoutInMillis`?",
            "test.toml:21:1: apis.chat.routes.\"$default\".targett: unknown field `targett`, did you mean `target`?",
        ]
    );
}

#[test]
fn a_wrong_required_value_is_reported_once() {
    // The integration cannot be read, so it is left out; the route naming it, and the missing
    // integrationType, would only repeat the one mistake.
    let text = BASE.replace("\"HTTP_PROXY\"", "\"LAMBDA\"");
    assert_eq!(
        report(&text),
        ["test.toml:7:19: apis.chat.integrations.backend.integrationType: unknown variant `LAMBDA`, expected one of `AWS_PROXY`, `AWS`, `HTTP_PROXY`, `HTTP`, `MOCK`"]
    );
    let text = BASE.replace(
        "integrationType = \"HTTP_PROXY\"",
        "integrationTyp = \"HTTP_PROXY\"",
    );
    assert_eq!(
        report(&text),
        ["test.toml:7:1: apis.chat.integrations.backend.integrationTyp: unknown field `integrationTyp`, did you mean `integrationType`?"]
    );
}

#[test]
fn cloudformation_property_names_suggest_the_camel_case_key() {
    let text = BASE.replace("routeSelectionExpression =", "RouteSelectionExpression =");
    assert_eq!(
        report(&text),
        ["test.toml:2:1: apis.chat.RouteSelectionExpression: unknown field `RouteSelectionExpression`, did you mean `routeSelectionExpression`?"]
    );
}

#[test]
fn an_empty_file_defines_no_api() {
    let expected = ["test.toml:1:1: apis: no API is defined: add an [apis.ID] table with a routeSelectionExpression, a stage, an integration and a route (see docs/configuration.md)"];
    assert_eq!(report(""), expected);
    assert_eq!(
        report("# nothing yet\n[server]\nlisten = \"127.0.0.1:8080\"\n"),
        expected
    );
}

#[test]
fn an_api_without_a_stage_cannot_be_reached() {
    let text = BASE.replace("[apis.chat.stages.dev]\n", "");
    assert_eq!(
        report(&text),
        ["test.toml:1:7: apis.chat.stages: API `chat` has no stage, so no client can connect to it; add one, e.g. [apis.chat.stages.dev]"]
    );
}

#[test]
fn route_selection_expressions_aws_would_not_route_by_are_refused() {
    let cases = [
        (
            "request.body.action",
            "routeSelectionExpression `request.body.action` has no `$` before `request`, so it is fixed text and every message would go to the route of that name or to $default; did you mean `$request.body.action`?",
        ),
        (
            "$request.body.action}",
            "routeSelectionExpression `$request.body.action}` has a `}` outside any `${…}`; write a variable as $request.body.PATH or ${request.body.PATH}",
        ),
        (
            "$request.header.action",
            "routeSelectionExpression `$request.header.action` reads `request.header.action`, which a WebSocket message does not have (every message would go to $default); a route selection expression reads the message body: $request.body.PATH or ${request.body.PATH}",
        ),
    ];
    for (expression, message) in cases {
        let text = BASE.replace("$request.body.action", expression);
        assert_eq!(
            report(&text),
            [format!(
                "test.toml:2:1: apis.chat.routeSelectionExpression: {message}"
            )]
        );
    }
    for fine in [
        "${request.body.service}/${request.body.action}",
        "action",
        "\\\\$default",
    ] {
        accepts(&BASE.replace("$request.body.action", fine));
    }
}

#[test]
fn an_api_that_routes_no_message_is_a_warning() {
    let text = BASE.replace("routes.\"$default\"", "routes.\"$connect\"");
    assert_eq!(
        report(&text),
        ["test.toml:10:12: apis.chat.routes: warning: there is no $default route and no custom route, so every message a client sends is answered with {\"message\": \"Forbidden\"}; add a $default route or a route per action"]
    );
    assert_eq!(warnings(BASE), []);
}

#[test]
fn a_stage_may_lower_the_message_limit_alone() {
    let config = accepts(&stage("limits = { maxMessageBytes = 1024 }\n"));
    let limits = &config.apis["chat"].stages["prod"].limits;
    assert_eq!(
        (limits.max_frame_bytes, limits.max_message_bytes),
        (1024, 1024)
    );

    // Unset, the frame limit keeps its 32 KB default below a larger message limit.
    let config = accepts(&stage("limits = { maxMessageBytes = 1048576 }\n"));
    let limits = &config.apis["chat"].stages["prod"].limits;
    assert_eq!(limits.max_frame_bytes, 32 * 1024);

    // Written, a frame limit above the message limit is still refused.
    let text = stage("limits = { maxMessageBytes = 1024, maxFrameBytes = 2048 }\n");
    rejects_at(
        &text,
        "maxFrameBytes",
        "apis.chat.stages.prod.limits.maxFrameBytes",
        "maxFrameBytes (2048) must not exceed maxMessageBytes (1024)",
    );
    let text = stage("limits = { maxMessageBytes = 0 }\n");
    rejects_at(
        &text,
        "maxMessageBytes",
        "apis.chat.stages.prod.limits.maxMessageBytes",
        "maxMessageBytes must be greater than 0",
    );
}

#[test]
fn a_json_file_is_told_to_be_toml() {
    let error = Config::check_toml_str("{\"apis\": {}}", "switchboard.json")
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(
        error.to_string(),
        "switchboard.json is JSON, but a Switchboard configuration file must be TOML (see docs/configuration.md)"
    );
    let template = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  ChatApi:\n    Type: AWS::ApiGatewayV2::Api\n";
    let error = Config::check_toml_str(template, "template.yaml")
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(
        error.to_string(),
        "template.yaml is a CloudFormation/SAM template (YAML), not a Switchboard configuration: templates are not TOML. Write the API as a TOML file (see docs/configuration.md)"
    );
}

#[test]
fn keys_come_from_the_model_so_every_table_knows_its_own() {
    // A key valid in one table is unknown in another: the known keys are per struct.
    let text = with_base("\n[apis.chat.stages.prod]\ntarget = \"integrations/backend\"\n");
    rejects_at_last(
        &text,
        "target = \"integrations/backend\"\n",
        "apis.chat.stages.prod.target",
        "unknown field `target`, expected one of `stageName`",
    );
    // Maps (stage variables, tags) take any key.
    accepts(&stage(
        "stageVariables = { anything = \"x\" }\ntags = { team = \"chat\" }\n",
    ));
}
