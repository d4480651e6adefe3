//! Serverless Framework services.

use super::*;
use crate::config::{AuthorizationType, AuthorizerType};

const SERVICE: &str = r#"
service: relay
custom:
  suffix: ${sls:stage}-x
  tables: {dev: t-dev, prod: t-prod}
provider:
  name: aws
  runtime: nodejs20.x
  stage: ${opt:stage, 'dev'}
  websocketsApiRouteSelectionExpression: $request.body.type
  environment:
    TABLE: ${self:custom.tables.${sls:stage}}
    HOME_DIR: ${env:SB_TEST_HOME, '/nowhere'}
    REGION: ${aws:region}
functions:
  connect:
    handler: h.connect
    events:
      - websocket:
          route: $connect
          authorizer: auth
  echo-back:
    handler: h.echo
    name: echo-${self:custom.suffix}
    reservedConcurrency: 2
    timeout: 12
    environment:
      TABLE: own
    events:
      - websocket: {route: echo, routeResponseSelectionExpression: $default}
  auth:
    handler: h.auth
"#;

#[test]
fn a_service_compiles_to_the_framework_resources() {
    let imported = ok(SERVICE);
    assert_eq!(imported.format, TemplateFormat::Serverless);
    let api = &imported.config.apis["WebsocketsApi"];
    assert_eq!(api.name.as_deref(), Some("dev-relay-websockets"));
    assert_eq!(api.route_selection_expression, "$request.body.type");
    assert!(api.stages.contains_key("dev"));
    let connect = &api.routes["$connect"];
    assert_eq!(connect.authorization_type, Some(AuthorizationType::Custom));
    assert_eq!(
        connect.authorizer_id.as_deref(),
        Some("AuthWebsocketsAuthorizer")
    );
    let authorizer = &api.authorizers["AuthWebsocketsAuthorizer"];
    assert_eq!(authorizer.authorizer_type, AuthorizerType::Request);
    assert_eq!(
        authorizer.identity_source,
        vec!["route.request.header.Auth".to_owned()]
    );
    assert!(authorizer
        .authorizer_uri
        .as_deref()
        .is_some_and(|u| u.ends_with(":function:relay-dev-auth/invocations")));
    let echo = &api.routes["echo"];
    assert_eq!(
        echo.target.as_deref(),
        Some("integrations/EchoDashbackWebsocketsIntegration")
    );
    assert_eq!(
        echo.route_response_selection_expression.as_deref(),
        Some("$default")
    );
    assert!(echo.route_responses.contains_key("$default"));
    let uri = api.integrations["EchoDashbackWebsocketsIntegration"]
        .integration_uri
        .as_deref();
    assert_eq!(
        uri,
        Some("arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:echo-dev-x/invocations")
    );
}

#[test]
fn variables_resolve_stage_self_env_and_aws_with_fallbacks() {
    let mut options = options();
    options
        .parameter_overrides
        .insert("stage".into(), "prod".into());
    options
        .environment
        .insert("SB_TEST_HOME".into(), "/home/sb".into());
    let imported = ok_with(SERVICE, &options);
    assert!(imported.config.apis["WebsocketsApi"]
        .stages
        .contains_key("prod"));
    let connect = imported
        .functions
        .iter()
        .find(|f| f.logical_id == "ConnectLambdaFunction");
    let connect = connect.expect("the connect function");
    assert_eq!(connect.name, "relay-prod-connect");
    assert_eq!(connect.environment["TABLE"], "t-prod");
    assert_eq!(connect.environment["HOME_DIR"], "/home/sb");
    assert_eq!(connect.environment["REGION"], "eu-west-1");
    assert_eq!(connect.timeout_seconds, 6, "the framework's default");
    assert_eq!(connect.memory_mb, 1024, "the framework's default");
    let echo = imported
        .functions
        .iter()
        .find(|f| f.name == "echo-prod-x")
        .expect("echo");
    assert_eq!(
        echo.environment["TABLE"], "own",
        "the function's environment wins"
    );
    assert_eq!(echo.timeout_seconds, 12);
    assert_eq!(echo.reserved_concurrency, Some(2));
    assert_eq!(connect.reserved_concurrency, None);
    assert_eq!(echo.handler.as_deref(), Some("h.echo"));

    let defaults = ok(SERVICE);
    let connect = &defaults.functions[0];
    assert_eq!(
        connect.environment["HOME_DIR"], "/nowhere",
        "the fallback of ${{env:…}}"
    );
}

#[test]
fn variables_from_outside_the_file_are_errors_in_the_api_and_warnings_in_functions() {
    let service = SERVICE
        .replace(
            "runtime: nodejs20.x",
            "runtime: nodejs20.x\n  websocketsApiName: ${ssm:/relay/name}",
        )
        .replace(
            "HOME_DIR: ${env:SB_TEST_HOME, '/nowhere'}",
            "SECRET: ${ssm:/relay/secret}",
        );
    let problems = refused(&service);
    let error = find(
        &problems,
        Severity::Error,
        "provider (the service's WebSocket API)",
    );
    assert!(error.message.contains("${ssm:/relay/name}"), "{error}");
    assert!(error.message.contains("write its value instead"), "{error}");

    let service = SERVICE.replace(
        "HOME_DIR: ${env:SB_TEST_HOME, '/nowhere'}",
        "SECRET: ${ssm:/relay/secret}",
    );
    let imported = ok(&service);
    assert!(imported
        .functions
        .iter()
        .all(|f| !f.environment.contains_key("SECRET")));
    let warning = imported
        .warnings
        .iter()
        .find(|w| w.message.contains("SECRET"))
        .expect("a warning about SECRET");
    assert!(
        warning.message.contains("${ssm:/relay/secret}"),
        "{warning}"
    );
}

#[test]
fn unsupported_service_features_are_warned_and_wrong_ones_refused() {
    let service = format!(
        "{SERVICE}plugins: [serverless-offline, serverless-esbuild]\n"
    )
    .replace(
        "  auth:\n    handler: h.auth\n",
        "  auth:\n    handler: h.auth\n    events:\n      - http: {path: /, method: get}\n      - schedule: rate(1 minute)\n",
    )
    .replace("route: echo,", "route: echo, cors: true,");
    let imported = ok(&service);
    let w = &imported.warnings;
    assert!(find(w, Severity::Warning, "plugins")
        .message
        .contains("serverless-esbuild"));
    assert!(find(w, Severity::Warning, "functions.auth.events[0].http")
        .message
        .contains("REST API"));
    assert!(
        find(w, Severity::Warning, "functions.auth.events[1].schedule")
            .message
            .contains("schedule event source")
    );
    assert!(find(
        w,
        Severity::Warning,
        "functions.echo-back.events[0].websocket.cors"
    )
    .message
    .contains("ignored"));

    let wrong = SERVICE.replace(
        "websocket: {route: echo, routeResponseSelectionExpression: $default}",
        "websocket: {route: echo, authorizer: auth}",
    );
    let problems = refused(&wrong);
    let error = find(
        &problems,
        Severity::Error,
        "functions.echo-back.events[0].websocket.authorizer",
    );
    assert!(
        error.message.contains("only be set on the $connect route"),
        "{error}"
    );

    let unknown = SERVICE.replace("authorizer: auth", "authorizer: nobody");
    let problems = refused(&unknown);
    assert!(
        problems.iter().any(|p| p
            .message
            .contains("nobody is not a function of this service")),
        "{problems:#?}"
    );
}

#[test]
fn resources_of_the_service_merge_over_the_compiled_ones() {
    let service = format!(
        "{SERVICE}resources:\n  Resources:\n    WebsocketsApi:\n      Properties:\n        Description: mine\n    Extra:\n      Type: AWS::ApiGatewayV2::Route\n      Properties:\n        ApiId: !Ref WebsocketsApi\n        RouteKey: extra\n        Target: !Join [/, [integrations, !Ref EchoDashbackWebsocketsIntegration]]\n"
    );
    let imported = ok(&service);
    let api = &imported.config.apis["WebsocketsApi"];
    assert_eq!(api.description.as_deref(), Some("mine"));
    assert_eq!(
        api.routes["extra"].target.as_deref(),
        Some("integrations/EchoDashbackWebsocketsIntegration")
    );
}
