//! Tests of loading and cross-checking configuration files: every rejection must name the file,
//! the line and column of the offending key, its path, and say what is wrong.

use super::validate::{selection_message, template_message};
use super::*;
use crate::selection::{SelectionError, SelectionExpression};
use crate::template::{Template, TemplateError};
use std::collections::BTreeSet;

/// The short example of `docs/configuration.md`, verbatim (checked by
/// `the_short_example_of_the_configuration_doc_is_this_one`).
const EXAMPLE: &str = r#####"[server]
listen = "127.0.0.1:8080"            # client WebSocket listener (ws://, or wss:// with [server.tls])
# domainName = "ws.example.com"      # requestContext.domainName; default: the upgrade request's Host
# [server.tls]
# certFile = "cert.pem"
# keyFile  = "key.pem"

[management]                          # the @connections API, /metrics, /health
listen = "127.0.0.1:8081"
auth = "none"                         # "none" | "sigv4"
# [[management.credentials]]
# accessKeyId = "AKIDEXAMPLE"
# secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

[aws]                                 # identity used in ARNs, and outbound AWS calls
region = "us-east-1"
accountId = "123456789012"
# [aws.endpoints]                     # overrides for local emulators; default: the real regional endpoints
# lambda = "http://127.0.0.1:3001"
# dynamodb = "http://127.0.0.1:8000"
# credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from the environment

[apis.chat]
name = "chat"
routeSelectionExpression = "$request.body.action"
# apiKeySelectionExpression = "$request.header.x-api-key"

[apis.chat.stages.dev]
stageVariables = { backend = "http://127.0.0.1:3000" }
defaultRouteSettings = { throttlingBurstLimit = 5000, throttlingRateLimit = 10000.0 }
routeSettings = { sendmessage = { throttlingBurstLimit = 100, throttlingRateLimit = 50.0 } }
# accessLogSettings = { format = '{"requestId":"$context.requestId","routeKey":"$context.routeKey","status":"$context.status"}', destination = "stdout" }
# limits = { idleTimeoutSeconds = 600, maxConnectionSeconds = 7200, maxFrameBytes = 32768, maxMessageBytes = 131072, binaryFrames = "reject" }   # extension

[apis.chat.integrations.backend]
integrationType = "HTTP_PROXY"
integrationMethod = "POST"
integrationUri = "${stageVariables.backend}/events"
timeoutInMillis = 29000
requestParameters = { "integration.request.header.connectionId" = "context.connectionId" }

[apis.chat.integrations.echo]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }
templateSelectionExpression = "\\$default"
integrationResponses = { "$default" = { responseTemplates = { "$default" = "{\"echo\": $input.json('$')}" } } }

[apis.chat.routes."$connect"]
target = "integrations/backend"

[apis.chat.routes."$disconnect"]
target = "integrations/backend"

[apis.chat.routes.sendmessage]
target = "integrations/backend"
routeResponseSelectionExpression = "$default"     # two-way: the backend's reply goes back to the client

[apis.chat.routes."$default"]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
"#####;

/// A small valid file that tests extend with tables of their own.
const BASE: &str = r#"[apis.chat]
routeSelectionExpression = "$request.body.action"

[apis.chat.stages.dev]

[apis.chat.integrations.backend]
integrationType = "HTTP_PROXY"
integrationUri = "http://127.0.0.1:3000/events"

[apis.chat.routes."$default"]
target = "integrations/backend"
"#;

fn with_base(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// `text` (settings outside `[apis]`) followed by [`BASE`], so the file has an API to serve.
fn with_api(text: &str) -> String {
    format!("{text}\n{BASE}")
}

/// Every error of a file that must be rejected.
fn problems(text: &str) -> Vec<Problem> {
    match Config::from_toml_str(text, "test.toml") {
        Ok(_) => panic!("expected the file to be rejected:\n{text}"),
        Err(error) => error.errors().cloned().collect(),
    }
}

/// Every warning of a file that is accepted.
fn warnings(text: &str) -> Vec<Problem> {
    match Config::check_toml_str(text, "test.toml") {
        Ok(checked) => checked.warnings,
        Err(error) => panic!("expected the file to be accepted, got:\n{error}\n{text}"),
    }
}

/// The single problem of a file with exactly one mistake.
fn problem(text: &str) -> Problem {
    let mut found = problems(text);
    assert_eq!(found.len(), 1, "expected one problem, got {found:#?}");
    found.remove(0)
}

/// Line and column (1-based) of the `nth` occurrence (0-based) of `needle` in `text`.
fn at(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Asserts file, position, key path and that the message contains `message`.
#[track_caller]
fn assert_problem(p: &Problem, position: (usize, usize), key_path: &str, message: &str) {
    assert_eq!(p.file, "test.toml");
    assert_eq!((p.line, p.column), position, "position of {p:#?}");
    assert_eq!(p.key_path, key_path, "key path of {p:#?}");
    assert!(
        p.message.contains(message),
        "message `{}` lacks `{message}`",
        p.message
    );
}

/// Asserts the file is rejected with one problem at the first occurrence of `needle`.
#[track_caller]
fn rejects_at(text: &str, needle: &str, key_path: &str, message: &str) {
    assert_problem(&problem(text), at(text, needle, 0), key_path, message);
}

/// Like [`rejects_at`], at the last occurrence (for keys that [`BASE`] also writes).
#[track_caller]
fn rejects_at_last(text: &str, needle: &str, key_path: &str, message: &str) {
    let last = text.matches(needle).count() - 1;
    assert_problem(&problem(text), at(text, needle, last), key_path, message);
}

#[track_caller]
fn accepts(text: &str) -> Config {
    match Config::from_toml_str(text, "test.toml") {
        Ok(config) => config,
        Err(error) => panic!("expected the file to be accepted, got:\n{error}\n{text}"),
    }
}

// === the example, syntax and type errors ===

#[test]
fn the_complete_example_of_the_contract_parses() {
    let config = accepts(EXAMPLE);
    assert_eq!(config.server.listen, "127.0.0.1:8080");
    assert_eq!(config.management.auth, ManagementAuth::None);
    let chat = &config.apis["chat"];
    assert_eq!(chat.route_selection_expression, "$request.body.action");
    assert_eq!(
        chat.routes.keys().map(String::as_str).collect::<Vec<_>>(),
        ["$connect", "$default", "$disconnect", "sendmessage"]
    );
    let backend = &chat.integrations["backend"];
    assert_eq!(backend.integration_type, IntegrationType::HttpProxy);
    assert_eq!(
        backend.integration_uri.as_deref(),
        Some("${stageVariables.backend}/events")
    );
    let echo = &chat.integrations["echo"];
    assert_eq!(
        echo.template_selection_expression.as_deref(),
        Some("\\$default")
    );
    assert_eq!(
        echo.integration_responses["$default"].response_templates["$default"],
        "{\"echo\": $input.json('$')}"
    );
    let dev = &chat.stages["dev"];
    assert_eq!(
        dev.route_settings["sendmessage"].throttling_burst_limit,
        Some(100)
    );
    assert_eq!(dev.limits, StageLimits::default());
    assert!(config.validate().is_empty());
}

#[test]
fn the_commented_out_lines_of_the_example_are_valid_too() {
    // Uncommenting the optional settings must not produce a file we reject.
    let text = EXAMPLE
        .replace("# accessLogSettings", "accessLogSettings")
        .replace("# limits", "limits")
        .replace("# apiKeySelectionExpression", "apiKeySelectionExpression")
        .replace("# domainName", "domainName")
        .replace("# [aws.endpoints]", "[aws.endpoints]")
        .replace("# lambda", "lambda")
        .replace("# dynamodb", "dynamodb");
    let config = accepts(&text);
    assert_eq!(config.aws.endpoints["lambda"], "http://127.0.0.1:3001");
    assert!(config.apis["chat"].stages["dev"]
        .access_log_settings
        .is_some());
}

#[test]
fn a_syntax_error_reports_position_and_the_key_being_written() {
    let text = "[server]\nlisten = \n";
    assert_problem(
        &problem(text),
        (2, 10),
        "server.listen",
        "string values must be quoted",
    );
}

#[test]
fn a_syntax_error_under_a_quoted_header_names_the_full_path() {
    let text = "[apis.chat]\nrouteSelectionExpression = \"x\"\n\n[apis.chat.routes.\"$connect\"]\ntarget = \"integrations/a\" \"b\"\n";
    let p = problem(text);
    assert_eq!(p.line, 5);
    assert_eq!(p.key_path, "apis.chat.routes.\"$connect\".target");
}

#[test]
fn a_duplicate_key_is_a_syntax_error() {
    let text = "[server]\nlisten = \"127.0.0.1:1\"\nlisten = \"127.0.0.1:2\"\n";
    let p = problem(text);
    assert_eq!(p.line, 3);
    assert_eq!(p.key_path, "server.listen");
    assert!(p.message.contains("duplicate"), "{}", p.message);
}

#[test]
fn an_unknown_key_is_located_and_suggests_the_known_one() {
    // The misspelled target is the one problem: "route has no target" would repeat it.
    let text = with_base("\n[apis.chat.routes.sendmessage]\ntargett = \"integrations/backend\"\n");
    let p = problem(&text);
    assert_problem(
        &p,
        at(&text, "targett", 0),
        "apis.chat.routes.sendmessage.targett",
        "unknown field `targett`, did you mean `target`?",
    );
    assert_eq!(p.message, "unknown field `targett`, did you mean `target`?");
}

#[test]
fn an_unknown_key_without_a_close_name_lists_the_expected_names() {
    let text = with_base(
        "\n[apis.chat.routes.sendmessage]\ntarget = \"integrations/backend\"\ncolour = \"red\"\n",
    );
    let p = problem(&text);
    assert_problem(
        &p,
        at(&text, "colour", 0),
        "apis.chat.routes.sendmessage.colour",
        "unknown field `colour`, expected one of `routeKey`, `operationName`",
    );
    assert!(p.message.contains("`target`"), "{}", p.message);
}

#[test]
fn an_unknown_top_level_table_is_an_error() {
    let text = with_api("[sever]\nlisten = \"127.0.0.1:8080\"\n");
    assert_problem(
        &problem(&text),
        (1, 2),
        "sever",
        "unknown field `sever`, did you mean `server`?",
    );
}

#[test]
fn an_unknown_key_inside_an_inline_table_is_located() {
    let text =
        with_base("\n[apis.chat.stages.prod]\ndefaultRouteSettings = { throttlingBurst = 5 }\n");
    rejects_at(
        &text,
        "throttlingBurst ",
        "apis.chat.stages.prod.defaultRouteSettings.throttlingBurst",
        "unknown field `throttlingBurst`",
    );
}

#[test]
fn a_wrong_type_is_located_at_the_value() {
    let text = with_base("\n[apis.chat.routes.sendmessage]\ntarget = 5\n");
    rejects_at(
        &text,
        "5",
        "apis.chat.routes.sendmessage.target",
        "invalid type: integer `5`, expected a string",
    );
}

#[test]
fn a_wrong_enum_value_lists_the_variants() {
    let text = with_api("[management]\nauth = \"basic\"\n");
    rejects_at(
        &text,
        "\"basic\"",
        "management.auth",
        "expected `none` or `sigv4`",
    );
}

#[test]
fn a_negative_burst_limit_is_rejected() {
    let text = with_base(
        "\n[apis.chat.stages.prod]\ndefaultRouteSettings = { throttlingBurstLimit = -1 }\n",
    );
    rejects_at(
        &text,
        "-1",
        "apis.chat.stages.prod.defaultRouteSettings.throttlingBurstLimit",
        "invalid value: integer `-1`",
    );
}

#[test]
fn a_missing_required_key_is_reported_at_its_table() {
    // The API is left out of the model; "no API is defined" would repeat the problem.
    let text = "[server]\n\n[apis.chat]\nname = \"chat\"\n";
    assert_problem(
        &problem(text),
        (3, 1),
        "apis.chat",
        "missing field `routeSelectionExpression`",
    );
}

#[test]
fn an_array_of_tables_entry_is_located() {
    let text = with_api("[[iam.principals]]\naccessKeyId = \"a\"\nsecretAccessKey = \"s\"\n\n[[iam.principals]]\naccessKeyId = \"b\"\nsecretAccessKey = \"s\"\nallow = [1]\n");
    assert_problem(
        &problem(&text),
        (8, 10),
        "iam.principals[1].allow[0]",
        "expected a string",
    );
}

// === reporting ===

#[test]
fn every_cross_check_problem_is_reported_in_file_order() {
    let text = with_base(
        r#"
[apis.chat.integrations.slow]
integrationType = "HTTP"
integrationUri = "ftp://example.com"
timeoutInMillis = 30000

[apis.chat.routes.sendmessage]
target = "integrations/nope"
"#,
    );
    let found = problems(&text);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_problem(
        &found[0],
        at(&text, "integrationUri = \"ftp", 0),
        "apis.chat.integrations.slow.integrationUri",
        "http:// or https:// URL",
    );
    assert_problem(
        &found[1],
        at(&text, "timeoutInMillis", 0),
        "apis.chat.integrations.slow.timeoutInMillis",
        "between 50 and 29000",
    );
    assert_problem(
        &found[2],
        at(&text, "target = \"integrations/nope\"", 0),
        "apis.chat.routes.sendmessage.target",
        "unknown route target integrations/nope",
    );
}

#[test]
fn the_error_prints_one_problem_per_line() {
    let text = with_api("[server]\nlisten = \"nowhere\"\n\n[management]\nlisten = \"localhost\"\n");
    let error = Config::from_toml_str(&text, "switchboard.toml")
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    let rendered = error.to_string();
    let lines: Vec<&str> = rendered.lines().collect();
    assert_eq!(lines.len(), 2, "{rendered}");
    assert!(
        lines[0].starts_with(
            "switchboard.toml:2:1: server.listen: `nowhere` is not an address to listen on"
        ),
        "{rendered}"
    );
    assert!(
        lines[1].starts_with(
            "switchboard.toml:5:1: management.listen: `localhost` is not an address to listen on"
        ),
        "{rendered}"
    );
}

#[test]
fn load_reads_a_file_and_names_it_in_problems() {
    let dir = std::env::temp_dir().join(format!("switchboard-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let good = dir.join("good.toml");
    std::fs::write(&good, EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    assert!(Config::load(&good).is_ok());

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, with_api("[server]\nlisten = 1\n")).unwrap_or_else(|e| panic!("{e}"));
    let error = Config::load(&bad)
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(error.problems[0].file, bad.display().to_string());
    assert_eq!((error.problems[0].line, error.problems[0].column), (2, 10));

    let missing = dir.join("missing.toml");
    let error = Config::load(&missing)
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].file, missing.display().to_string());
    assert_eq!(
        error.to_string(),
        format!(
            "cannot read {}: No such file or directory",
            missing.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn validate_checks_a_configuration_built_in_code() {
    let mut config = accepts(EXAMPLE);
    if let Some(api) = config.apis.get_mut("chat") {
        if let Some(integration) = api.integrations.get_mut("backend") {
            integration.timeout_in_millis = 10;
        }
    }
    let findings = config.validate();
    assert_eq!(findings.len(), 1);
    assert_eq!(
        findings[0].key_path(),
        "apis.chat.integrations.backend.timeoutInMillis"
    );
    assert!(findings[0].message().contains("between 50 and 29000"));
}

// === identifiers ===

#[test]
fn api_ids_must_be_url_safe() {
    let text = BASE.replace("apis.chat", "apis.\"chat room\"");
    rejects_at(
        &text,
        "\"chat room\"",
        "apis.\"chat room\"",
        "[A-Za-z0-9_-]{1,64}",
    );
    let long = "a".repeat(65);
    let text = BASE.replace("apis.chat", &format!("apis.{long}"));
    rejects_at(&text, &long, &format!("apis.{long}"), "must match");
}

#[test]
fn stage_names_must_be_url_safe() {
    let text = with_base("\n[apis.chat.stages.\"v1.0\"]\n");
    rejects_at(
        &text,
        "\"v1.0\"",
        "apis.chat.stages.\"v1.0\"",
        "[A-Za-z0-9_-]{1,128}",
    );
}

#[test]
fn integration_authorizer_and_model_ids_are_checked() {
    let text = with_base(
        r#"
[apis.chat.integrations."a b"]
integrationType = "MOCK"

[apis.chat.authorizers."x/y"]
authorizerType = "REQUEST"
authorizerUri = "http://127.0.0.1:9000/auth"
identitySource = ["route.request.header.Authorization"]

[apis.chat.models.""]
schema = "{}"
"#,
    );
    let found = problems(&text);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_problem(
        &found[0],
        at(&text, "\"a b\"", 0),
        "apis.chat.integrations.\"a b\"",
        "integration id",
    );
    assert_problem(
        &found[1],
        at(&text, "\"x/y\"", 0),
        "apis.chat.authorizers.\"x/y\"",
        "authorizer id",
    );
    assert_problem(
        &found[2],
        at(&text, "\"\"]", 0),
        "apis.chat.models.\"\"",
        "model name",
    );
}

// === routes ===

#[test]
fn custom_route_keys_must_not_start_with_a_dollar() {
    let text = with_base("\n[apis.chat.routes.\"$message\"]\ntarget = \"integrations/backend\"\n");
    rejects_at(
        &text,
        "\"$message\"",
        "apis.chat.routes.\"$message\"",
        "The provided route key is not formatted properly",
    );
}

#[test]
fn route_keys_are_non_empty_and_short() {
    let text = with_base("\n[apis.chat.routes.\"\"]\ntarget = \"integrations/backend\"\n");
    rejects_at(&text, "\"\"]", "apis.chat.routes.\"\"", "must not be empty");
    let long = "k".repeat(129);
    let text = with_base(&format!(
        "\n[apis.chat.routes.{long}]\ntarget = \"integrations/backend\"\n"
    ));
    rejects_at(
        &text,
        &long,
        &format!("apis.chat.routes.{long}"),
        "at most 128 characters",
    );
    let ok = "k".repeat(128);
    accepts(&with_base(&format!(
        "\n[apis.chat.routes.{ok}]\ntarget = \"integrations/backend\"\n"
    )));
}

#[test]
fn a_route_needs_a_target() {
    let text = with_base(
        "\n[apis.chat.routes.sendmessage]\nrouteResponseSelectionExpression = \"$default\"\n",
    );
    rejects_at(
        &text,
        "sendmessage",
        "apis.chat.routes.sendmessage.target",
        "route has no target",
    );
}

#[test]
fn a_route_target_must_name_an_existing_integration() {
    let text = with_base("\n[apis.chat.routes.sendmessage]\ntarget = \"integrations/nope\"\n");
    rejects_at(
        &text,
        "target = \"integrations/nope\"",
        "apis.chat.routes.sendmessage.target",
        "unknown route target integrations/nope",
    );
    let text = with_base("\n[apis.chat.routes.sendmessage]\ntarget = \"backend\"\n");
    rejects_at(
        &text,
        "target = \"backend\"",
        "apis.chat.routes.sendmessage.target",
        "must be integrations/{integrationId}",
    );
}

#[test]
fn route_response_selection_expression_must_be_default() {
    let text = with_base("\n[apis.chat.routes.sendmessage]\ntarget = \"integrations/backend\"\nrouteResponseSelectionExpression = \"$request.body.x\"\n");
    rejects_at(
        &text,
        "routeResponseSelectionExpression",
        "apis.chat.routes.sendmessage.routeResponseSelectionExpression",
        "the only value is $default",
    );
}

#[test]
fn authorization_settings_only_apply_to_connect() {
    let text = with_base(
        r#"
[apis.chat.routes.sendmessage]
target = "integrations/backend"
authorizationType = "AWS_IAM"
apiKeyRequired = true
requestParameters = { "route.request.querystring.token" = { required = true } }
"#,
    );
    let found = problems(&text);
    assert_eq!(found.len(), 3, "{found:#?}");
    let base = "apis.chat.routes.sendmessage";
    assert_problem(
        &found[0],
        at(&text, "authorizationType", 0),
        &format!("{base}.authorizationType"),
        "applies only to the $connect route",
    );
    assert_problem(
        &found[1],
        at(&text, "apiKeyRequired", 0),
        &format!("{base}.apiKeyRequired"),
        "applies only to the $connect route",
    );
    assert_problem(
        &found[2],
        at(&text, "requestParameters", 0),
        &format!("{base}.requestParameters"),
        "applies only to the $connect route",
    );
    // NONE is the default and harmless anywhere.
    accepts(&with_base("\n[apis.chat.routes.sendmessage]\ntarget = \"integrations/backend\"\nauthorizationType = \"NONE\"\n"));
}

const AUTHORIZERS: &str = r#"
[apis.chat.authorizers.lambda]
authorizerType = "REQUEST"
authorizerUri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations"
identitySource = ["route.request.header.Authorization", "route.request.querystring.token", "stageVariables.key", "context.requestId"]

[apis.chat.authorizers.jwt]
authorizerType = "JWT"
identitySource = ["route.request.querystring.token"]
jwtConfiguration = { issuer = "https://issuer.example.com", audience = ["chat"], jwksUri = "https://issuer.example.com/.well-known/jwks.json" }
"#;

fn connect_with(settings: &str) -> String {
    with_base(&format!(
        "{AUTHORIZERS}\n[apis.chat.routes.\"$connect\"]\ntarget = \"integrations/backend\"\n{settings}"
    ))
}

#[test]
fn custom_and_jwt_authorization_name_matching_authorizers() {
    accepts(&connect_with(
        "authorizationType = \"CUSTOM\"\nauthorizerId = \"lambda\"\n",
    ));
    accepts(&connect_with(
        "authorizationType = \"JWT\"\nauthorizerId = \"jwt\"\n",
    ));
    accepts(&connect_with(
        "authorizationType = \"AWS_IAM\"\napiKeyRequired = true\nrequestParameters = { \"route.request.header.x-token\" = { required = false } }\n",
    ));

    let connect = "apis.chat.routes.\"$connect\".authorizerId";
    let text = connect_with("authorizationType = \"CUSTOM\"\n");
    rejects_at(
        &text,
        "\"$connect\"",
        connect,
        "needs authorizerId naming a REQUEST authorizer",
    );
    let text = connect_with("authorizationType = \"CUSTOM\"\nauthorizerId = \"jwt\"\n");
    rejects_at(
        &text,
        "authorizerId",
        connect,
        "is a JWT authorizer; authorizationType = \"CUSTOM\" needs a REQUEST authorizer",
    );
    let text = connect_with("authorizationType = \"JWT\"\nauthorizerId = \"lambda\"\n");
    rejects_at(&text, "authorizerId", connect, "needs a JWT authorizer");
    let text = connect_with("authorizationType = \"CUSTOM\"\nauthorizerId = \"nope\"\n");
    rejects_at(&text, "authorizerId", connect, "unknown authorizer `nope`");
    let text = connect_with("authorizationType = \"AWS_IAM\"\nauthorizerId = \"lambda\"\n");
    rejects_at(
        &text,
        "authorizerId",
        connect,
        "authorizerId needs authorizationType = \"CUSTOM\" or \"JWT\"",
    );
}

#[test]
fn connect_request_parameters_are_header_or_querystring() {
    let text = connect_with(
        "requestParameters = { \"route.request.body.token\" = { required = true } }\n",
    );
    rejects_at(
        &text,
        "\"route.request.body.token\"",
        "apis.chat.routes.\"$connect\".requestParameters.\"route.request.body.token\"",
        "route.request.header.NAME or route.request.querystring.NAME",
    );
}

#[test]
fn request_models_name_existing_models_and_schemas_are_json() {
    let text = with_base(
        r#"
[apis.chat.models.message]
schema = '{"type": "object", "required": ["action"]}'

[apis.chat.routes.sendmessage]
target = "integrations/backend"
modelSelectionExpression = "$default"
requestModels = { "$default" = "message" }
"#,
    );
    accepts(&text);
    let text = with_base(
        r#"
[apis.chat.routes.sendmessage]
target = "integrations/backend"
modelSelectionExpression = "$default"
requestModels = { "$default" = "nope" }
"#,
    );
    rejects_at(
        &text,
        "\"$default\" = \"nope\"",
        "apis.chat.routes.sendmessage.requestModels.\"$default\"",
        "unknown model `nope`",
    );
    let text = with_base("\n[apis.chat.models.message]\nschema = '{\"type\": '\n");
    rejects_at(
        &text,
        "schema",
        "apis.chat.models.message.schema",
        "schema is not valid JSON",
    );
    let text = with_base("\n[apis.chat.models.message]\nschema = '[1]'\n");
    rejects_at(
        &text,
        "schema",
        "apis.chat.models.message.schema",
        "must be a JSON object",
    );
}

#[test]
fn a_stage_needs_at_least_one_route() {
    let text = "[apis.chat]\nrouteSelectionExpression = \"$request.body.action\"\n\n[apis.chat.stages.dev]\n";
    rejects_at(
        text,
        "chat",
        "apis.chat.routes",
        "At least one route is required before deploying the Api",
    );
}

// === integrations ===

fn integration(body: &str) -> String {
    with_base(&format!("\n[apis.chat.integrations.it]\n{body}"))
}

#[test]
fn timeout_is_within_the_websocket_range() {
    for ok in [50, 29000] {
        accepts(&integration(&format!(
            "integrationType = \"MOCK\"\ntimeoutInMillis = {ok}\n"
        )));
    }
    for bad in [49, 29001, 30000] {
        let text = integration(&format!(
            "integrationType = \"MOCK\"\ntimeoutInMillis = {bad}\n"
        ));
        rejects_at(
            &text,
            "timeoutInMillis",
            "apis.chat.integrations.it.timeoutInMillis",
            "must be between 50 and 29000 milliseconds for WebSocket APIs",
        );
    }
}

#[test]
fn integration_uri_is_required_except_for_mock() {
    accepts(&integration("integrationType = \"MOCK\"\n"));
    for kind in ["HTTP", "HTTP_PROXY", "AWS_PROXY", "AWS"] {
        let text = integration(&format!("integrationType = \"{kind}\"\n"));
        rejects_at(
            &text,
            "it]",
            "apis.chat.integrations.it.integrationUri",
            &format!("integrationUri is required for {kind} integrations"),
        );
    }
}

#[test]
fn http_integrations_need_http_urls_stage_variables_allowed() {
    for ok in [
        "http://127.0.0.1:3000/events",
        "https://api.example.com",
        "${stageVariables.backend}/events",
        "https://${stageVariables.host}/v1?x=1",
    ] {
        accepts(&integration(&format!(
            "integrationType = \"HTTP\"\nintegrationUri = \"{ok}\"\n"
        )));
    }
    for bad in [
        "127.0.0.1:3000",
        "http://",
        "ws://example.com",
        "http://exa mple.com",
    ] {
        let text = integration(&format!(
            "integrationType = \"HTTP_PROXY\"\nintegrationUri = \"{bad}\"\n"
        ));
        rejects_at_last(
            &text,
            "integrationUri",
            "apis.chat.integrations.it.integrationUri",
            "expected an http:// or https:// URL",
        );
    }
    let text = integration("integrationType = \"HTTP\"\nintegrationUri = \"${context.x}/a\"\n");
    rejects_at_last(
        &text,
        "integrationUri",
        "apis.chat.integrations.it.integrationUri",
        "only ${stageVariables.NAME} may appear here",
    );
}

#[test]
fn aws_proxy_accepts_the_lambda_forms_and_http() {
    for ok in [
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:chat/invocations",
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:chat:${stageVariables.alias}/invocations",
        "arn:aws:lambda:eu-west-1:123456789012:function:chat",
        "arn:aws:lambda:eu-west-1:123456789012:function:chat:$LATEST",
        "http://127.0.0.1:3000/lambda",
    ] {
        accepts(&integration(&format!("integrationType = \"AWS_PROXY\"\nintegrationUri = \"{ok}\"\n")));
    }
    for bad in [
        "arn:aws:lambda:us-east-1:1234:function:chat",
        "arn:aws:lambda:us-east-1:123456789012:chat",
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/chat/invocations",
        "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem",
    ] {
        let text = integration(&format!(
            "integrationType = \"AWS_PROXY\"\nintegrationUri = \"{bad}\"\n"
        ));
        rejects_at_last(
            &text,
            "integrationUri",
            "apis.chat.integrations.it.integrationUri",
            "is not valid for AWS_PROXY",
        );
    }
}

#[test]
fn aws_integrations_need_a_service_action_arn() {
    accepts(&integration(
        "integrationType = \"AWS\"\nintegrationUri = \"arn:aws:apigateway:us-east-1:dynamodb:action/PutItem\"\n",
    ));
    let text =
        integration("integrationType = \"AWS\"\nintegrationUri = \"http://127.0.0.1:8000\"\n");
    rejects_at_last(
        &text,
        "integrationUri",
        "apis.chat.integrations.it.integrationUri",
        "arn:aws:apigateway:{region}:{service}:action/{Action}",
    );
}

#[test]
fn integration_method_is_an_uppercase_token() {
    accepts(&integration(
        "integrationType = \"HTTP\"\nintegrationUri = \"http://a\"\nintegrationMethod = \"PUT\"\n",
    ));
    let text = integration(
        "integrationType = \"HTTP\"\nintegrationUri = \"http://a\"\nintegrationMethod = \"post\"\n",
    );
    rejects_at(
        &text,
        "integrationMethod",
        "apis.chat.integrations.it.integrationMethod",
        "uppercase HTTP method",
    );
    let text = integration("integrationType = \"AWS_PROXY\"\nintegrationUri = \"http://a\"\nintegrationMethod = \"GET\"\n");
    rejects_at(
        &text,
        "integrationMethod",
        "apis.chat.integrations.it.integrationMethod",
        "invoked with POST",
    );
}

#[test]
fn proxy_integrations_have_no_templates_or_integration_responses() {
    let text = integration(
        "integrationType = \"HTTP_PROXY\"\nintegrationUri = \"http://a\"\nrequestTemplates = { \"$default\" = \"x\" }\nintegrationResponses = { \"$default\" = {} }\n",
    );
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_problem(
        &found[0],
        at(&text, "requestTemplates", 0),
        "apis.chat.integrations.it.requestTemplates",
        "apply only to AWS, HTTP and MOCK",
    );
    assert_problem(
        &found[1],
        at(&text, "integrationResponses", 0),
        "apis.chat.integrations.it.integrationResponses",
        "apply only to AWS, HTTP and MOCK",
    );
}

#[test]
fn credentials_are_for_aws_integrations_only() {
    accepts(&integration(
        "integrationType = \"AWS\"\nintegrationUri = \"arn:aws:apigateway:us-east-1:sqs:action/SendMessage\"\ncredentials = { accessKeyId = \"AKID\", secretAccessKey = \"secret\" }\n",
    ));
    let text = integration(
        "integrationType = \"HTTP\"\nintegrationUri = \"http://a\"\ncredentials = { accessKeyId = \"AKID\", secretAccessKey = \"secret\" }\n",
    );
    rejects_at(
        &text,
        "credentials",
        "apis.chat.integrations.it.credentials",
        "apply only to AWS integrations, not HTTP",
    );
}

#[test]
fn integration_response_keys_are_default_or_a_compiling_regex() {
    accepts(&integration(
        "integrationType = \"MOCK\"\nintegrationResponses = { \"$default\" = {}, \"/2\\\\d\\\\d/\" = {}, \"/4\\\\d{2}/\" = {} }\n",
    ));
    let text =
        integration("integrationType = \"MOCK\"\nintegrationResponses = { \"/4(\\\\d/\" = {} }\n");
    rejects_at(
        &text,
        "\"/4(",
        "apis.chat.integrations.it.integrationResponses.\"/4(\\\\d/\"",
        "is not a valid regex",
    );
    let text = integration("integrationType = \"MOCK\"\nintegrationResponses = { \"200\" = {} }\n");
    rejects_at(
        &text,
        "\"200\"",
        "apis.chat.integrations.it.integrationResponses.200",
        "must be $default or a /regex/",
    );
}

#[test]
fn integration_request_parameters_have_known_targets_and_sources() {
    let sources = [
        "context.connectionId",
        "context.authorizer.userId",
        "stageVariables.key",
        "route.request.header.Authorization",
        "route.request.querystring.token",
        "route.request.multivalueheader.X-Forwarded-For",
        "route.request.multivaluequerystring.tag",
        "route.request.body.data.room",
        "'0'",
    ];
    let mappings: Vec<String> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| format!("\"integration.request.header.h{i}\" = \"{s}\""))
        .collect();
    accepts(&integration(&format!(
        "integrationType = \"HTTP\"\nintegrationUri = \"http://a\"\nrequestParameters = {{ {}, \"integration.request.querystring.q\" = \"'x'\" }}\n",
        mappings.join(", ")
    )));

    let text = integration("integrationType = \"HTTP\"\nintegrationUri = \"http://a\"\nrequestParameters = { \"integration.request.path.id\" = \"context.connectionId\" }\n");
    rejects_at(
        &text,
        "\"integration.request.path.id\"",
        "apis.chat.integrations.it.requestParameters.\"integration.request.path.id\"",
        "must be integration.request.header.NAME or integration.request.querystring.NAME",
    );
    let text = integration("integrationType = \"HTTP\"\nintegrationUri = \"http://a\"\nrequestParameters = { \"integration.request.header.id\" = \"connectionId\" }\n");
    rejects_at(
        &text,
        "\"integration.request.header.id\"",
        "apis.chat.integrations.it.requestParameters.\"integration.request.header.id\"",
        "source `connectionId` must be context.X",
    );
}

// === selection expressions and templates (parsers are shared with crate::selection and
// crate::template; these tests hold whichever of them accept or reject) ===

#[test]
fn a_selection_error_becomes_a_located_problem() {
    let bad = "${request.body.action";
    let text = format!(
        "[apis.chat]\nrouteSelectionExpression = \"{bad}\"\n\n[apis.chat.routes.\"$default\"]\ntarget = \"integrations/m\"\n\n[apis.chat.integrations.m]\nintegrationType = \"MOCK\"\ntemplateSelectionExpression = \"{bad}\"\n"
    );
    match SelectionExpression::parse(bad) {
        Ok(_) => {
            accepts(&text);
        }
        Err(_) => {
            let found = problems(&text);
            assert_eq!(found.len(), 3, "{found:#?}");
            assert_problem(
                &found[1],
                at(&text, "routeSelectionExpression", 0),
                "apis.chat.routeSelectionExpression",
                "routeSelectionExpression `${request.body.action` does not parse",
            );
            assert_problem(
                &found[2],
                at(&text, "templateSelectionExpression", 0),
                "apis.chat.integrations.m.templateSelectionExpression",
                "does not parse",
            );
            assert_problem(&found[0], (1, 7), "apis.chat.stages", "has no stage");
        }
    }
    let message = selection_message(
        "routeSelectionExpression",
        bad,
        &SelectionError {
            message: "unterminated ${".to_owned(),
            position: 0,
        },
    );
    assert_eq!(
        message,
        "routeSelectionExpression `${request.body.action` does not parse: unterminated ${ at character 0"
    );
}

#[test]
fn an_empty_route_selection_expression_is_rejected() {
    let text = BASE.replace("\"$request.body.action\"", "\"\"");
    rejects_at(
        &text,
        "routeSelectionExpression",
        "apis.chat.routeSelectionExpression",
        "must not be empty",
    );
}

#[test]
fn api_key_selection_expression_has_two_values() {
    for ok in [
        "$request.header.x-api-key",
        "$context.authorizer.usageIdentifierKey",
    ] {
        accepts(&BASE.replace(
            "routeSelectionExpression",
            &format!("apiKeySelectionExpression = \"{ok}\"\nrouteSelectionExpression"),
        ));
    }
    let text = BASE.replace(
        "routeSelectionExpression",
        "apiKeySelectionExpression = \"$request.header.x-key\"\nrouteSelectionExpression",
    );
    rejects_at(
        &text,
        "apiKeySelectionExpression",
        "apis.chat.apiKeySelectionExpression",
        "is not supported",
    );
}

#[test]
fn a_template_error_becomes_a_located_problem_with_the_template_position() {
    let bad = "#if($x)\\n unterminated";
    let text = integration(&format!(
        "integrationType = \"MOCK\"\nrequestTemplates = {{ \"$default\" = \"{bad}\" }}\nintegrationResponses = {{ \"$default\" = {{ responseTemplates = {{ \"$default\" = \"{bad}\" }} }} }}\n"
    ));
    match Template::parse("#if($x)\n unterminated") {
        Ok(_) => {
            accepts(&text);
        }
        Err(_) => {
            let found = problems(&text);
            assert_eq!(found.len(), 2, "{found:#?}");
            assert_problem(
                &found[0],
                at(&text, "\"$default\" = \"#if", 0),
                "apis.chat.integrations.it.requestTemplates.\"$default\"",
                "mapping template does not parse: template line",
            );
            assert_problem(&found[1], at(&text, "\"$default\" = \"#if", 1), "apis.chat.integrations.it.integrationResponses.\"$default\".responseTemplates.\"$default\"", "template line");
        }
    }
    let message = template_message(&TemplateError {
        line: 2,
        column: 5,
        message: "#if without #end".to_owned(),
        client_input: false,
    });
    assert_eq!(
        message,
        "mapping template does not parse: template line 2, column 5: #if without #end"
    );
}

#[test]
fn templates_are_limited_to_300_kb() {
    let big = "x".repeat(300 * 1024 + 1);
    let text = integration(&format!(
        "integrationType = \"MOCK\"\nrequestTemplates = {{ \"$default\" = \"{big}\" }}\n"
    ));
    rejects_at(
        &text,
        "\"$default\" = \"xx",
        "apis.chat.integrations.it.requestTemplates.\"$default\"",
        "the maximum is 300 KB",
    );
}

// === stages ===

fn stage(body: &str) -> String {
    with_base(&format!("\n[apis.chat.stages.prod]\n{body}"))
}

#[test]
fn route_settings_name_existing_routes() {
    accepts(&stage(
        "routeSettings = { \"$default\" = { throttlingBurstLimit = 1 } }\n",
    ));
    let text = stage("routeSettings = { sendmesage = { throttlingBurstLimit = 1 } }\n");
    rejects_at(
        &text,
        "sendmesage",
        "apis.chat.stages.prod.routeSettings.sendmesage",
        "names route `sendmesage`, which this API does not define",
    );
}

#[test]
fn throttling_rate_is_non_negative() {
    let text = stage("defaultRouteSettings = { throttlingRateLimit = -1.0 }\n");
    rejects_at(
        &text,
        "throttlingRateLimit",
        "apis.chat.stages.prod.defaultRouteSettings.throttlingRateLimit",
        "must be a non-negative number",
    );
    let text = stage("routeSettings = { \"$default\" = { throttlingRateLimit = nan } }\n");
    rejects_at(
        &text,
        "throttlingRateLimit",
        "apis.chat.stages.prod.routeSettings.\"$default\".throttlingRateLimit",
        "non-negative",
    );
}

#[test]
fn stage_limits_are_positive_and_frames_fit_in_messages() {
    let text = stage("limits = { idleTimeoutSeconds = 0 }\n");
    rejects_at(
        &text,
        "idleTimeoutSeconds",
        "apis.chat.stages.prod.limits.idleTimeoutSeconds",
        "must be greater than 0",
    );
    let text = stage("limits = { maxFrameBytes = 65536, maxMessageBytes = 65535 }\n");
    rejects_at(
        &text,
        "maxFrameBytes",
        "apis.chat.stages.prod.limits.maxFrameBytes",
        "must not exceed maxMessageBytes",
    );
    accepts(&stage(
        "limits = { maxFrameBytes = 65536, maxMessageBytes = 65536, binaryFrames = \"accept\" }\n",
    ));
}

#[test]
fn access_log_format_follows_the_aws_rules() {
    accepts(&stage(
        "accessLogSettings = { format = '$context.requestId $context.routeKey' }\n",
    ));
    let text = stage("accessLogSettings = { format = '' }\n");
    rejects_at(
        &text,
        "format",
        "apis.chat.stages.prod.accessLogSettings.format",
        "must not be empty",
    );
    let text = stage("accessLogSettings = { format = '$context.routeKey $context.status' }\n");
    rejects_at(
        &text,
        "format",
        "apis.chat.stages.prod.accessLogSettings.format",
        "must include $context.requestId",
    );
    let long = format!("$context.requestId {}", "-".repeat(3 * 1024));
    let text = stage(&format!("accessLogSettings = {{ format = '{long}' }}\n"));
    rejects_at(
        &text,
        "format",
        "apis.chat.stages.prod.accessLogSettings.format",
        "the maximum is 3 KB",
    );
}

#[test]
fn stage_variable_names_are_alphanumeric() {
    let text = stage("stageVariables = { \"back-end\" = \"x\" }\n");
    rejects_at(
        &text,
        "\"back-end\"",
        "apis.chat.stages.prod.stageVariables.back-end",
        "[A-Za-z0-9_]+",
    );
}

// === authorizers ===

fn authorizer(body: &str) -> String {
    with_base(&format!("\n[apis.chat.authorizers.auth]\n{body}"))
}

#[test]
fn the_authorizers_used_by_the_connect_tests_are_valid() {
    accepts(&with_base(AUTHORIZERS));
    accepts(&authorizer(
        "authorizerType = \"REQUEST\"\nauthorizerUri = \"arn:aws:lambda:us-east-1:123456789012:function:auth\"\nidentitySource = [\"route.request.header.Authorization\"]\n",
    ));
    accepts(&authorizer(
        "authorizerType = \"JWT\"\njwtConfiguration = { issuer = \"me\", jwksFile = \"jwks.json\" }\n",
    ));
}

#[test]
fn request_authorizers_need_a_uri_and_identity_sources() {
    let text = authorizer(
        "authorizerType = \"REQUEST\"\nidentitySource = [\"route.request.header.Authorization\"]\n",
    );
    rejects_at(
        &text,
        "auth]",
        "apis.chat.authorizers.auth.authorizerUri",
        "REQUEST authorizers need authorizerUri",
    );
    let text = authorizer("authorizerType = \"REQUEST\"\nauthorizerUri = \"lambda:auth\"\nidentitySource = [\"route.request.header.Authorization\"]\n");
    rejects_at(
        &text,
        "authorizerUri",
        "apis.chat.authorizers.auth.authorizerUri",
        "authorizerUri `lambda:auth` must be",
    );
    let text = authorizer("authorizerType = \"REQUEST\"\nauthorizerUri = \"http://a/auth\"\n");
    rejects_at(
        &text,
        "auth]",
        "apis.chat.authorizers.auth.identitySource",
        "non-empty identitySource",
    );
    let text = authorizer("authorizerType = \"REQUEST\"\nauthorizerUri = \"http://a/auth\"\nidentitySource = [\"route.request.header.Authorization\", \"$request.header.Authorization\"]\n");
    rejects_at(
        &text,
        "\"$request.header",
        "apis.chat.authorizers.auth.identitySource[1]",
        "identity source `$request.header.Authorization` must be",
    );
}

#[test]
fn jwt_authorizers_need_an_issuer_and_exactly_one_key_source() {
    let text = authorizer("authorizerType = \"JWT\"\n");
    rejects_at(
        &text,
        "auth]",
        "apis.chat.authorizers.auth.jwtConfiguration",
        "JWT authorizers need jwtConfiguration",
    );
    let text = authorizer("authorizerType = \"JWT\"\njwtConfiguration = { issuer = \"me\" }\n");
    rejects_at(
        &text,
        "jwtConfiguration",
        "apis.chat.authorizers.auth.jwtConfiguration",
        "exactly one of jwksUri and jwksFile",
    );
    let text = authorizer("authorizerType = \"JWT\"\njwtConfiguration = { issuer = \"me\", jwksUri = \"https://a/jwks\", jwksFile = \"j.json\" }\n");
    rejects_at(
        &text,
        "jwksFile",
        "apis.chat.authorizers.auth.jwtConfiguration.jwksFile",
        "not both",
    );
    let text = authorizer(
        "authorizerType = \"JWT\"\njwtConfiguration = { issuer = \"\", jwksFile = \"j.json\" }\n",
    );
    rejects_at(
        &text,
        "issuer",
        "apis.chat.authorizers.auth.jwtConfiguration.issuer",
        "issuer must not be empty",
    );
    let text = authorizer("authorizerType = \"JWT\"\nauthorizerUri = \"http://a\"\njwtConfiguration = { issuer = \"me\", jwksFile = \"j.json\" }\n");
    rejects_at(
        &text,
        "authorizerUri",
        "apis.chat.authorizers.auth.authorizerUri",
        "applies only to REQUEST authorizers",
    );
}

// === server and management ===

#[test]
fn listen_addresses_are_ip_addresses_or_host_names_with_a_port() {
    accepts(&with_api(
        "[server]\nlisten = \"[::1]:8080\"\n[management]\nlisten = \"127.0.0.1:0\"\n",
    ));
    accepts(&with_api(
        "[server]\nlisten = \"localhost:8080\"\n[management]\nlisten = \"gateway.internal:0\"\n",
    ));
    for bad in [
        "localhost",
        "localhost:http",
        "::1:8080",
        "300.1.1.1:80",
        "a b:80",
        ":80",
    ] {
        let text = with_api(&format!("[server]\nlisten = \"{bad}\"\n"));
        rejects_at(
            &text,
            "listen",
            "server.listen",
            &format!("`{bad}` is not an address to listen on; expected HOST:PORT"),
        );
    }
}

#[test]
fn signed_metrics_need_credentials_and_default_to_the_management_auth() {
    let text = with_api("[management]\nmetricsAuth = \"sigv4\"\n");
    rejects_at(
        &text,
        "metricsAuth",
        "management.metricsAuth",
        "needs at least one [[management.credentials]]",
    );
    let signed = accepts(&with_api(
        "[management]\nauth = \"sigv4\"\n[[management.credentials]]\naccessKeyId = \"A\"\nsecretAccessKey = \"S\"\n",
    ));
    assert_eq!(signed.management.metrics_auth(), ManagementAuth::Sigv4);
    let open = accepts(&with_api("[management]\nmetricsAuth = \"none\"\n"));
    assert_eq!(open.management.metrics_auth(), ManagementAuth::None);
    assert!(!open.management.on_server_listener, "opt-in for TOML");
}

#[test]
fn sigv4_management_needs_credentials() {
    let text = with_api("[management]\nauth = \"sigv4\"\n");
    rejects_at(
        &text,
        "auth",
        "management.auth",
        "needs at least one [[management.credentials]]",
    );
    accepts(&with_api("[management]\nlisten = \"0.0.0.0:8081\"\nauth = \"sigv4\"\n[[management.credentials]]\naccessKeyId = \"AKID\"\nsecretAccessKey = \"secret\"\n"));
}

#[test]
fn unauthenticated_management_is_loopback_only_unless_allowed() {
    let text = with_api("[management]\nlisten = \"0.0.0.0:8081\"\n");
    rejects_at(
        &text,
        "listen",
        "management.listen",
        "auth = \"none\" on non-loopback address 0.0.0.0:8081",
    );
    assert!(problem(&text)
        .message
        .contains("set allowUnauthenticatedRemote = true to allow this"));
    assert_eq!(
        warnings(&with_api("[management]\nlisten = \"[::1]:8081\"\n")),
        []
    );
    assert_eq!(
        warnings(&with_api("[management]\nlisten = \"localhost:8081\"\n")),
        []
    );
}

#[test]
fn an_unauthenticated_management_api_open_to_the_network_is_a_warning() {
    let text =
        with_api("[management]\nlisten = \"0.0.0.0:8081\"\nallowUnauthenticatedRemote = true\n");
    let found = warnings(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].to_string(),
        "test.toml:3:1: management.allowUnauthenticatedRemote: warning: the management API on \
         0.0.0.0:8081 accepts calls without authentication from anyone who can reach it: they \
         can post to and close every connection; use auth = \"sigv4\" with credentials unless \
         the network is trusted"
    );
}

#[test]
fn server_limits_are_positive() {
    let text = with_api("[server.limits]\nmaxConnections = 0\ndrainSeconds = 0\n");
    rejects_at(
        &text,
        "maxConnections",
        "server.limits.maxConnections",
        "must be greater than 0",
    );
}

// === API keys and IAM principals ===

#[test]
fn api_keys_name_defined_stages_and_are_long_and_unique() {
    accepts(&with_base(
        "\n[apiKeys.mobile]\nvalue = \"0123456789abcdef01234567\"\nstages = [\"chat/dev\"]\n",
    ));
    let text = with_base("\n[apiKeys.mobile]\nvalue = \"0123456789abcdef01234567\"\nstages = [\"chat/dev\", \"chat/prod\", \"dev\"]\n");
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_problem(
        &found[0],
        at(&text, "\"chat/prod\"", 0),
        "apiKeys.mobile.stages[1]",
        "`chat/prod` is not an apiId/stageName pair of a defined stage",
    );
    assert_problem(
        &found[1],
        at(&text, "\"dev\"", 0),
        "apiKeys.mobile.stages[2]",
        "apiId/stageName",
    );

    let text = with_base("\n[apiKeys.mobile]\nvalue = \"short\"\n");
    rejects_at(
        &text,
        "value",
        "apiKeys.mobile.value",
        "20 to 128 characters long, got 5",
    );

    let text = with_base("\n[apiKeys.a]\nvalue = \"0123456789abcdef01234567\"\n\n[apiKeys.b]\nvalue = \"0123456789abcdef01234567\"\n");
    assert_problem(
        &problem(&text),
        at(&text, "value", 1),
        "apiKeys.b.value",
        "already used by apiKeys.a",
    );
}

#[test]
fn iam_principals_have_keys_and_execute_api_resources() {
    let text = with_api("[[iam.principals]]\naccessKeyId = \"\"\nsecretAccessKey = \"s\"\nallow = [\"arn:aws:execute-api:us-east-1:123456789012:chat/dev/$connect\", \"chat/dev/*\"]\n");
    let text = text.as_str();
    let found = problems(text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_problem(
        &found[0],
        (2, 1),
        "iam.principals[0].accessKeyId",
        "accessKeyId must not be empty",
    );
    assert_problem(
        &found[1],
        at(text, "\"chat/dev/*\"", 0),
        "iam.principals[0].allow[1]",
        "must be an execute-api ARN starting with arn:aws:execute-api:",
    );
}

// === aws ===

#[test]
fn aws_identity_and_endpoints_are_checked() {
    let text =
        with_api("[aws]\naccountId = \"1234\"\nendpoints = { lambda = \"127.0.0.1:3001\" }\n");
    let text = text.as_str();
    let found = problems(text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_problem(&found[0], (2, 1), "aws.accountId", "must be 12 digits");
    assert_problem(
        &found[1],
        at(text, "lambda", 0),
        "aws.endpoints.lambda",
        "http:// or https:// URL",
    );
}

// === smaller checks ===

#[test]
fn server_optional_settings_must_not_be_empty() {
    let text = with_api(
        "[server]\ndomainName = \"\"\n\n[server.tls]\ncertFile = \"cert.pem\"\nkeyFile = \" \"\n",
    );
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_problem(
        &found[0],
        (2, 1),
        "server.domainName",
        "domainName must not be empty",
    );
    assert_problem(
        &found[1],
        (6, 1),
        "server.tls.keyFile",
        "keyFile must not be empty",
    );
}

#[test]
fn management_and_server_listeners_differ() {
    let text = with_api(
        "[server]\nlisten = \"127.0.0.1:9000\"\n\n[management]\nlisten = \"127.0.0.1:9000\"\n",
    );
    rejects_at_last(
        &text,
        "listen",
        "management.listen",
        "is also server.listen",
    );
    let text = with_api(
        "[server]\nlisten = \"localhost:9000\"\n\n[management]\nlisten = \"LOCALHOST:9000\"\n",
    );
    rejects_at_last(
        &text,
        "listen",
        "management.listen",
        "is also server.listen",
    );
}

#[test]
fn management_credentials_have_both_halves() {
    let text = with_api("[management]\nauth = \"sigv4\"\n\n[[management.credentials]]\naccessKeyId = \"AKID\"\nsecretAccessKey = \"\"\n");
    rejects_at(
        &text,
        "secretAccessKey",
        "management.credentials[0].secretAccessKey",
        "secretAccessKey must not be empty",
    );
}

#[test]
fn iam_access_key_ids_are_unique() {
    let text = with_api("[[iam.principals]]\naccessKeyId = \"AKID\"\nsecretAccessKey = \"a\"\n\n[[iam.principals]]\naccessKeyId = \"AKID\"\nsecretAccessKey = \"b\"\n");
    assert_problem(
        &problem(&text),
        (6, 1),
        "iam.principals[1].accessKeyId",
        "accessKeyId `AKID` is listed twice",
    );
}

#[test]
fn jwt_key_sources_and_audiences_are_well_formed() {
    let text = authorizer(
        "authorizerType = \"JWT\"\njwtConfiguration = { issuer = \"me\", audience = [\"a\", \"\"], jwksUri = \"file:///jwks.json\" }\n",
    );
    let found = problems(&text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_problem(
        &found[0],
        at(&text, "\"\"]", 0),
        "apis.chat.authorizers.auth.jwtConfiguration.audience[1]",
        "audience must not be empty",
    );
    assert_problem(
        &found[1],
        at(&text, "jwksUri", 0),
        "apis.chat.authorizers.auth.jwtConfiguration.jwksUri",
        "must be an http:// or https:// URL",
    );
}

#[test]
fn authorizer_cache_time_is_bounded() {
    let text = authorizer(
        "authorizerType = \"REQUEST\"\nauthorizerUri = \"http://a\"\nidentitySource = [\"context.x\"]\nauthorizerResultTtlInSeconds = 3601\n",
    );
    rejects_at(
        &text,
        "authorizerResultTtlInSeconds",
        "apis.chat.authorizers.auth.authorizerResultTtlInSeconds",
        "at most 3600",
    );
}

#[test]
fn access_log_format_is_one_line_and_models_have_a_content_type() {
    let text = stage("accessLogSettings = { format = \"$context.requestId\\n$context.status\" }\n");
    rejects_at(
        &text,
        "format",
        "apis.chat.stages.prod.accessLogSettings.format",
        "single line",
    );
    let text = with_base("\n[apis.chat.models.m]\ncontentType = \"\"\nschema = \"{}\"\n");
    rejects_at(
        &text,
        "contentType",
        "apis.chat.models.m.contentType",
        "contentType must not be empty",
    );
}

// === operations extensions (issue 7) ===

#[test]
fn the_operations_extensions_parse_and_default_to_off() {
    let config = accepts(BASE);
    assert_eq!(config.server.limits.new_connections_per_second, None);
    assert_eq!(config.server.limits.max_connections_per_ip, None);
    assert_eq!(config.server.limits.drain_delay_seconds, 0);
    assert_eq!(config.management.rate_limit, None);
    let config = accepts(&format!(
        "[server.limits]\nnewConnectionsPerSecond = 200.0\nmaxConnectionsPerIp = 10\ndrainDelaySeconds = 5\n[management]\nrateLimit = {{ rate = 100.0, burst = 20 }}\n{BASE}"
    ));
    assert_eq!(config.server.limits.new_connections_per_second, Some(200.0));
    assert_eq!(config.server.limits.max_connections_per_ip, Some(10));
    assert_eq!(config.server.limits.drain_delay_seconds, 5);
    assert_eq!(
        config.management.rate_limit,
        Some(RateLimit {
            rate: 100.0,
            burst: 20
        })
    );
}

#[test]
fn operations_limits_that_would_refuse_everything_are_rejected() {
    let text = format!("[server.limits]\nmaxConnectionsPerIp = 0\n{BASE}");
    let p = problem(&text);
    assert_eq!(p.key_path, "server.limits.maxConnectionsPerIp");
    let text = format!("[server.limits]\nnewConnectionsPerSecond = 0.0\n{BASE}");
    let p = problem(&text);
    assert_eq!(p.key_path, "server.limits.newConnectionsPerSecond");
    let text = format!("[management]\nrateLimit = {{ rate = 1.0, burst = 0 }}\n{BASE}");
    let p = problem(&text);
    assert_eq!(p.key_path, "management.rateLimit");
}

// === docs/configuration.md: its examples load, and the complete one uses every key ===

/// The configuration reference, read at build time so the page cannot drift from the model.
const CONFIGURATION_DOC: &str = include_str!("../../../../../docs/configuration.md");

/// The fenced ```toml blocks of a Markdown text, in order, each ending with a newline.
fn toml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim_end() == "```toml" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "a ```toml block is not closed");
    blocks
}

#[test]
fn every_toml_block_of_the_configuration_doc_loads() {
    let blocks = toml_blocks(CONFIGURATION_DOC);
    assert!(blocks.len() >= 2, "found {} toml blocks", blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        let name = format!("docs/configuration.md toml block {}", i + 1);
        if let Err(error) = Config::from_toml_str(block, &name) {
            panic!("{name} does not load:\n{error}");
        }
    }
}

#[test]
fn the_short_example_of_the_configuration_doc_is_this_one() {
    assert!(
        toml_blocks(CONFIGURATION_DOC).iter().any(|b| b == EXAMPLE),
        "docs/configuration.md no longer contains EXAMPLE verbatim"
    );
}

/// The block headed "The complete example".
fn complete_example() -> String {
    let at = CONFIGURATION_DOC
        .find("## The complete example")
        .expect("docs/configuration.md has a section \"The complete example\"");
    toml_blocks(&CONFIGURATION_DOC[at..])
        .into_iter()
        .next()
        .expect("a toml block in \"The complete example\"")
}

/// One instance of every table of the model in the complete example, as its keys separated by
/// spaces (keys may contain dots); a numeric segment is an array index.
const MODEL_TABLES: &[&str] = &[
    "",
    "server",
    "server tls",
    "server limits",
    "management",
    "management credentials 0",
    "management rateLimit",
    "management tls",
    "aws",
    "cluster",
    "cluster tls",
    "cluster kv",
    "controlPlane",
    "controlPlane credentials 0",
    "controlPlane rateLimit",
    "apis chat",
    "apis chat stages prod",
    "apis chat stages prod defaultRouteSettings",
    "apis chat stages prod accessLogSettings",
    "apis chat stages prod limits",
    "apis chat integrations store",
    "apis chat integrations store credentials",
    "apis chat integrations store integrationResponses /4\\d{2}/",
    "apis chat routes $connect",
    "apis chat routes $connect requestParameters route.request.querystring.room",
    "apis chat authorizers gate",
    "apis feed authorizers sso jwtConfiguration",
    "apis chat models Message",
    "iam",
    "iam principals 0",
    "apiKeys mobile",
];

/// The table at `path` in a parsed document.
fn table_at<'a>(root: &'a mut toml::Table, path: &str) -> &'a mut toml::Table {
    let mut table = root;
    let mut segments = path.split_whitespace().peekable();
    while let Some(segment) = segments.next() {
        let value = table
            .get_mut(segment)
            .unwrap_or_else(|| panic!("the complete example has no {path:?}"));
        let value = match (value, segments.peek()) {
            (toml::Value::Array(items), Some(index)) => {
                let i: usize = index.parse().expect("an array index");
                segments.next();
                &mut items[i]
            }
            (value, _) => value,
        };
        table = value
            .as_table_mut()
            .unwrap_or_else(|| panic!("{path:?} is not a table in the complete example"));
    }
    table
}

/// Every key written anywhere in a document.
fn all_keys(value: &toml::Value, out: &mut BTreeSet<String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, inner) in table {
                out.insert(key.clone());
                all_keys(inner, out);
            }
        }
        toml::Value::Array(items) => items.iter().for_each(|v| all_keys(v, out)),
        _ => {}
    }
}

/// The field names the model accepts at `path`: an unknown key makes the deserializer list them.
fn model_fields(example: &toml::Table, path: &str) -> Vec<String> {
    let mut document = example.clone();
    table_at(&mut document, path).insert("zzUnknownKey".into(), toml::Value::Boolean(true));
    let text = toml::to_string(&document).expect("the document serialises");
    let p = problem(&text);
    let listed = p
        .message
        .split_once("expected")
        .unwrap_or_else(|| panic!("no field list in {:?} at {path:?}", p.message))
        .1;
    listed
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_complete_example_of_the_configuration_doc_uses_every_key() {
    let text = complete_example();
    accepts(&text);
    let example: toml::Table = toml::from_str(&text).expect("the complete example parses");
    let mut written = BTreeSet::new();
    all_keys(&toml::Value::Table(example.clone()), &mut written);
    let mut missing = Vec::new();
    for path in MODEL_TABLES {
        let fields = model_fields(&example, path);
        assert!(!fields.is_empty(), "no fields listed at {path:?}");
        missing.extend(
            fields
                .into_iter()
                .filter(|f| !written.contains(f))
                .map(|f| format!("{}.{f}", path.replace(' ', "."))),
        );
    }
    assert!(
        missing.is_empty(),
        "keys of the model missing from the complete example of docs/configuration.md: {missing:?}"
    );
}
mod apigatewayv2;
mod linter;
