//! CloudFormation and SAM templates.

use super::*;
use crate::config::{AuthorizationType, Config, IntegrationType};

const MOCK: &str = r#"  Echo:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: MOCK
      RequestTemplates:
        $default: '{"statusCode": 200}'
  EchoRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: $default
      Target: !Sub integrations/${Echo}
"#;

#[test]
fn every_intrinsic_is_evaluated_as_the_stack_would() {
    let text = r#"
Parameters:
  Env: {Type: String, Default: dev}
  Zones: {Type: CommaDelimitedList, Default: "a,b,c"}
Mappings:
  Sizes: {dev: {Memory: 256}, prod: {Memory: 1024}}
Conditions:
  IsDev: !Equals [!Ref Env, dev]
  NotDev: !Not [!Condition IsDev]
  Both: !And [!Condition IsDev, !Equals [x, x]]
  Either: !Or [!Condition NotDev, !Equals [!Select [1, !Ref Zones], b]]
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: !Join ["-", [!Ref AWS::StackName, !Ref Env, !Select [2, !Split [",", "x,y,z"]]]]
      Description: !Sub
        - "${AWS::Region}/${AWS::AccountId}/${AWS::Partition}/${AWS::URLSuffix}/${Extra}/${!Literal}"
        - Extra: !If [Both, yes, no]
      Version: !If [Either, "on", "off"]
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !GetAtt Api.ApiId
      StageName: !Ref Env
      StageVariables:
        endpoint: !GetAtt Api.ApiEndpoint
        arn: !GetAtt Fn.Arn
        table: !Ref Table
        memory: !FindInMap [Sizes, !Ref Env, Memory]
        b64: !Base64 hi
        json: !ToJsonString {a: 1}
        absent: !If [NotDev, x, !Ref AWS::NoValue]
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {TableName: !Sub "${AWS::StackName}-t"}
  Fn:
    Type: AWS::Lambda::Function
    Properties: {FunctionName: worker, Handler: index.handler, Runtime: python3.12}
"#;
    let imported = ok(text);
    let api = &imported.config.apis["Api"];
    assert_eq!(api.name.as_deref(), Some("chat-dev-z"));
    assert_eq!(
        api.description.as_deref(),
        Some("eu-west-1/111122223333/aws/amazonaws.com/yes/${Literal}")
    );
    assert_eq!(api.version.as_deref(), Some("on"));
    let variables = &api.stages["dev"].stage_variables;
    assert_eq!(
        variables["endpoint"],
        "wss://Api.execute-api.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        variables["arn"],
        "arn:aws:lambda:eu-west-1:111122223333:function:worker"
    );
    assert_eq!(variables["table"], "chat-t");
    assert_eq!(variables["memory"], "256");
    assert_eq!(variables["b64"], "aGk=");
    assert_eq!(variables["json"], r#"{"a":1}"#);
    assert!(
        !variables.contains_key("absent"),
        "AWS::NoValue removes the key"
    );
}

#[test]
fn parameter_overrides_replace_defaults_and_are_checked_against_allowed_values() {
    let text = api("").replace(
        "Resources:",
        "Parameters:\n  Name: {Type: String, Default: dev, AllowedValues: [dev, prod]}\nResources:",
    ).replace("StageName: dev", "StageName: !Ref Name");
    let mut options = options();
    options
        .parameter_overrides
        .insert("Name".into(), "prod".into());
    assert!(ok_with(&text, &options).config.apis["Api"]
        .stages
        .contains_key("prod"));

    options
        .parameter_overrides
        .insert("Name".into(), "qa".into());
    let problems = refused_with(&text, &options);
    let refusal = find(&problems, Severity::Error, "Parameters.Name");
    assert!(
        refusal
            .message
            .contains("`qa` is not one of its AllowedValues (dev, prod)"),
        "{refusal}"
    );
    assert_eq!((refusal.line, refusal.column), (2, 3));
}

#[test]
fn a_parameter_without_default_or_override_is_an_error_where_it_is_used() {
    let text = api("")
        .replace(
            "Resources:",
            "Parameters:\n  Name: {Type: String}\nResources:",
        )
        .replace("StageName: dev", "StageName: !Ref Name");
    let problems = refused(&text);
    let error = find(
        &problems,
        Severity::Error,
        "Resources.Stage.Properties.StageName",
    );
    assert!(
        error.message.contains("--parameter-overrides Name=VALUE"),
        "{error}"
    );
}

#[test]
fn resources_whose_condition_is_false_are_not_created() {
    let text = api(&format!(
        "{MOCK}  Extra:\n    Type: AWS::ApiGatewayV2::Route\n    Condition: Never\n    Properties:\n      ApiId: !Ref Api\n      RouteKey: extra\n      Target: !Sub integrations/${{Echo}}\n"
    ))
    .replace("Resources:", "Conditions:\n  Never: !Equals [a, b]\nResources:");
    let imported = ok(&text);
    assert!(!imported.config.apis["Api"].routes.contains_key("extra"));
    assert!(imported.config.apis["Api"].routes.contains_key("$default"));
}

#[test]
fn api_children_are_keyed_by_logical_id_and_routes_by_route_key() {
    let imported = ok(&api(MOCK));
    let api = &imported.config.apis["Api"];
    assert_eq!(
        api.protocol_type,
        Some(crate::config::ProtocolType::Websocket)
    );
    let integration = &api.integrations["Echo"];
    assert_eq!(integration.integration_type, IntegrationType::Mock);
    assert_eq!(
        api.routes["$default"].target.as_deref(),
        Some("integrations/Echo")
    );
    let labels: Vec<(String, String)> = imported
        .origins
        .iter()
        .map(|o| (o.key_path.join("."), o.label.clone()))
        .collect();
    assert!(
        labels.contains(&(
            "apis.Api.routes.$default".into(),
            "AWS::ApiGatewayV2::Route EchoRoute".into()
        )),
        "{labels:?}"
    );
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
}

#[test]
fn lambda_integration_uris_keep_the_function_name_in_the_arn() {
    let text = api(r#"  Integ:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Handler.Arn}/invocations
  Handler:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/, Handler: app.handler, Runtime: nodejs20.x}
"#);
    let imported = ok(&text);
    assert_eq!(
        imported.config.apis["Api"].integrations["Integ"].integration_uri.as_deref(),
        Some("arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:Handler/invocations")
    );
    let function = &imported.functions[0];
    assert_eq!(
        function.name, "Handler",
        "no FunctionName: the logical id, as sam local names it"
    );
    assert_eq!(function.timeout_seconds, 3);
    assert_eq!(function.memory_mb, 128);
}

#[test]
fn sam_globals_apply_to_functions_whose_own_values_win() {
    let text = r#"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 9
    Layers: [arn:aws:lambda:eu-west-1:1:layer:common:1]
    Environment: {Variables: {A: global, B: global}}
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub ${AWS::StackName}-f
      Handler: app.lambda_handler
      CodeUri: ./code
      MemorySize: 512
      ReservedConcurrentExecutions: 3
      Architectures: [arm64]
      Layers: [arn:aws:lambda:eu-west-1:1:layer:own:1]
      Environment: {Variables: {B: own, C: !Ref AWS::Region}}
  G:
    Type: AWS::Lambda::Function
    Properties:
      Handler: index.handler
      Runtime: nodejs20.x
      Code: {ZipFile: "exports.handler = async () => ({statusCode: 200})"}
"#;
    let text = format!("{text}{}", api("").trim_start_matches("Resources:\n"));
    let imported = ok(&text);
    let f = &imported.functions[0];
    assert_eq!(f.name, "chat-f");
    assert_eq!(f.runtime.as_deref(), Some("python3.12"));
    assert_eq!(f.timeout_seconds, 9);
    assert_eq!(f.memory_mb, 512);
    assert_eq!(
        f.reserved_concurrency,
        Some(3),
        "the local runtime's worker limit"
    );
    assert_eq!(f.architectures, vec!["arm64".to_owned()]);
    assert_eq!(
        f.layers.len(),
        2,
        "global layers come first, then the function's"
    );
    assert_eq!(
        f.code,
        Some(FunctionCode::Directory(std::path::PathBuf::from("./code")))
    );
    let env: Vec<(&str, &str)> = f
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, vec![("A", "global"), ("B", "own"), ("C", "eu-west-1")]);
    let g = &imported.functions[1];
    assert_eq!(
        g.runtime.as_deref(),
        Some("nodejs20.x"),
        "AWS::Lambda::Function has no Globals"
    );
    assert!(matches!(g.code, Some(FunctionCode::Inline(_))));
    assert_eq!(g.reserved_concurrency, None);
}

#[test]
fn a_function_variable_that_cannot_be_computed_is_left_unset_with_a_warning() {
    let text = api(r#"  F:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.b
      Environment:
        Variables:
          QUEUE: !ImportValue shared-queue
          OK: fine
"#);
    let imported = ok(&text);
    assert_eq!(imported.functions[0].environment.len(), 1);
    let warning = find(
        &imported.warnings,
        Severity::Warning,
        "Resources.F.Properties.Environment.Variables.QUEUE",
    );
    assert!(warning.message.contains("Fn::ImportValue"), "{warning}");
}

#[test]
fn what_cannot_affect_the_api_is_skipped_silently() {
    let text = api(r#"  Table:
    Type: AWS::DynamoDB::Table
    Properties: {BillingMode: PAY_PER_REQUEST}
  Permission:
    Type: AWS::Lambda::Permission
    Properties: {Action: lambda:InvokeFunction, FunctionName: x, Principal: apigateway.amazonaws.com}
  Role:
    Type: AWS::IAM::Role
    Properties: {AssumeRolePolicyDocument: {}}
  Deployment:
    Type: AWS::ApiGatewayV2::Deployment
    DependsOn: [Stage]
    Properties: {ApiId: !Ref Api}
"#)
    .replace("Resources:", "Outputs:\n  Url: {Value: !GetAtt Api.ApiEndpoint}\nResources:");
    assert!(ok(&text).warnings.is_empty());
}

#[test]
fn unsupported_features_are_named_in_warnings_at_their_resource_and_property() {
    let text = api(r#"  Http:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: HTTP, Name: h}
  HttpRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Http, RouteKey: GET /}
  Mapping:
    Type: AWS::ApiGatewayV2::ApiMapping
    Properties: {ApiId: !Ref Api, DomainName: ws.example.com, Stage: dev}
  Rest:
    Type: AWS::Serverless::Api
    Properties: {StageName: prod}
  Queue:
    Type: AWS::Custom::Thing
  Integ:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: MOCK
      Colour: blue
      ResponseParameters: {"200": {}}
  F:
    Type: AWS::Serverless::Function
    Properties:
      Handler: a.b
      Events:
        Poll: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
        Web: {Type: Api, Properties: {Path: /, Method: get}}
"#)
    .replace(
        "Resources:",
        "Transform: [AWS::Serverless-2016-10-31, MyMacro]\nRules: {}\nResources:",
    );
    let imported = ok(&text);
    let w = &imported.warnings;
    assert!(find(
        w,
        Severity::Warning,
        "Resources.Http.Properties.ProtocolType"
    )
    .message
    .contains("HTTP APIs are not served"));
    assert!(find(w, Severity::Warning, "Resources.Mapping")
        .message
        .contains("custom domain"));
    assert!(find(w, Severity::Warning, "Resources.Rest")
        .message
        .contains("REST or HTTP API"));
    assert!(find(w, Severity::Warning, "Resources.Queue")
        .message
        .contains("not a resource switchboard import reads"));
    assert!(
        find(w, Severity::Warning, "Resources.Integ.Properties.Colour")
            .message
            .contains("no property Colour")
    );
    assert!(find(
        w,
        Severity::Warning,
        "Resources.Integ.Properties.ResponseParameters"
    )
    .message
    .contains("HTTP APIs only"));
    assert!(
        find(w, Severity::Warning, "Resources.F.Properties.Events.Poll")
            .message
            .contains("Schedule event source")
    );
    assert!(
        find(w, Severity::Warning, "Resources.F.Properties.Events.Web")
            .message
            .contains("REST API")
    );
    assert!(find(w, Severity::Warning, "Transform")
        .message
        .contains("MyMacro"));
    assert!(find(w, Severity::Warning, "Rules")
        .message
        .contains("not checked"));
    // The HTTP API's route goes with its API, without a warning of its own.
    assert!(
        !w.iter().any(|p| p.key_path.contains("HttpRoute")),
        "{w:#?}"
    );
    let at = find(w, Severity::Warning, "Resources.Integ.Properties.Colour");
    assert_eq!(at.file, "t.yaml");
    assert!(at.line > 1 && at.column == 7, "{at}");
}

#[test]
fn what_would_change_behaviour_is_an_error_each_at_its_resource() {
    let text = api(r#"  Integ:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !ImportValue shared-function-arn
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties: {ApiId: !Ref Api, AuthorizerType: JWT, Name: j, IdentitySource: [$request.header.Authorization]}
  Reply:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {ApiId: !Ref Api, RouteId: NoSuchRoute, RouteResponseKey: $default}
  Answer:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties: {ApiId: !Ref Api, IntegrationId: Nope, IntegrationResponseKey: $default}
  Other:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: other
      Target: !GetAtt Table.StreamLabel
  Table:
    Type: AWS::DynamoDB::Table
  Sam:
    Type: AWS::Serverless::WebSocketApi
"#);
    let problems = refused(&text);
    let error = |path| find(&problems, Severity::Error, path).message.clone();
    assert!(error("Resources.Integ.Properties.IntegrationUri").contains("Fn::ImportValue"));
    assert!(error("Resources.Auth.Properties.AuthorizerType")
        .contains("JWT authorizers exist for HTTP APIs only"));
    assert!(error("Resources.Reply.Properties.RouteId")
        .contains("`NoSuchRoute` is not a route of API Api"));
    assert!(
        error("Resources.Answer.Properties.IntegrationId").contains("`Nope` is not an integration")
    );
    assert!(error("Resources.Other.Properties.Target").contains("Table.StreamLabel"));
    assert!(error("Resources.Sam").contains("AWS::Serverless::WebSocketApi is not converted"));
}

#[test]
fn a_template_without_a_websocket_api_is_refused() {
    let problems = refused("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n");
    assert!(
        problems[0].message.contains("declares no WebSocket API"),
        "{problems:?}"
    );
}

#[test]
fn yaml_and_json_errors_name_the_line() {
    let problems = refused("Resources:\n  A:\n    Type: [unclosed\n");
    assert!(
        problems[0].message.contains("not valid YAML or JSON"),
        "{problems:?}"
    );
    assert_eq!(problems[0].line, 4);
    let problems = refused("{\"Resources\": {\"A\": 1,}");
    assert!(problems[0].message.contains("not valid YAML or JSON"));
    let problems = refused("Resources:\n  A: {Type: x}\n  A: {Type: y}\n");
    assert!(
        problems[0].message.contains("duplicate") || problems[0].message.contains("duplicated"),
        "{problems:?}"
    );
}

#[test]
fn json_templates_convert_like_yaml_ones() {
    let text = r#"{"Resources": {
  "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"}},
  "Stage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": {"Ref": "Api"}, "StageName": "dev"}},
  "Auth": {"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": {"ApiId": {"Ref": "Api"}, "AuthorizerType": "REQUEST", "Name": "a",
     "AuthorizerUri": {"Fn::Join": ["", ["arn:aws:apigateway:", {"Ref": "AWS::Region"}, ":lambda:path/2015-03-31/functions/", {"Fn::GetAtt": ["F", "Arn"]}, "/invocations"]]},
     "IdentitySource": ["route.request.querystring.token"]}},
  "Connect": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": {"Ref": "Api"}, "RouteKey": "$connect", "AuthorizationType": "CUSTOM", "AuthorizerId": {"Ref": "Auth"}}},
  "F": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "i.h", "Runtime": "nodejs20.x", "Timeout": 30, "MemorySize": "1024"}}
}}"#;
    let imported = ok(text);
    let route = &imported.config.apis["Api"].routes["$connect"];
    assert_eq!(route.authorization_type, Some(AuthorizationType::Custom));
    assert_eq!(route.authorizer_id.as_deref(), Some("Auth"));
    assert_eq!(imported.functions[0].timeout_seconds, 30);
    assert_eq!(imported.functions[0].memory_mb, 1024);
}

#[test]
fn the_printed_toml_loads_back_into_the_same_apis() {
    let text = api(&format!(
        "{MOCK}{}",
        r#"  Answer:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Api
      IntegrationId: !Ref Echo
      IntegrationResponseKey: /4\d\d/
      ResponseTemplates: {"$default": "multi\nline 'quoted' \"both\""}
      TemplateSelectionExpression: \$default
  Reply:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties:
      ApiId: !Ref Api
      RouteId: !Ref EchoRoute
      RouteResponseKey: $default
      ResponseParameters: {route.response.header.x: {Required: false}}
  Model:
    Type: AWS::ApiGatewayV2::Model
    Properties: {ApiId: !Ref Api, Name: M, Schema: {type: object}}
  Other:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: other
      RequestModels: {other: M}
      ModelSelectionExpression: other
      RouteResponseSelectionExpression: $default
      Target: !Sub integrations/${Echo}
  Connect:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $connect, ApiKeyRequired: "true", AuthorizationType: CUSTOM, AuthorizerId: !Ref Auth, Target: integrations/Echo}
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties: {ApiId: !Ref Api, AuthorizerType: REQUEST, Name: a, AuthorizerUri: "https://auth.example/check", IdentitySource: [route.request.header.A]}
"#
    ))
    .replace(
        "      StageName: dev\n",
        "      StageName: dev\n      StageVariables: {a: b}\n      RouteSettings: {other: {ThrottlingBurstLimit: 5, LoggingLevel: INFO}}\n      AccessLogSettings: {Format: $context.requestId}\n",
    )
    .replace("RouteSelectionExpression: $request.body.action", "RouteSelectionExpression: $request.body.action\n      ApiKeySelectionExpression: $request.header.x-api-key\n      Tags: [{Key: k, Value: v}]");
    let imported = ok(&text);
    let printed = to_toml(&imported, &["header".to_owned()]);
    assert!(printed.starts_with("# header\n"), "{printed}");
    assert!(printed.contains("# from AWS::ApiGatewayV2::IntegrationResponse Answer\n[apis.Api.integrations.Echo.integrationResponses.\"/4\\\\d\\\\d/\"]") || printed.contains("# from AWS::ApiGatewayV2::IntegrationResponse Answer\n[apis.Api.integrations.Echo.integrationResponses.'/4\\d\\d/']"), "{printed}");
    let loaded = match Config::check_toml_str(&printed, "printed.toml") {
        Ok(checked) => checked.config,
        Err(e) => panic!("{e}\n{printed}"),
    };
    assert_eq!(
        format!("{:?}", loaded.apis),
        format!("{:?}", imported.config.apis),
        "{printed}"
    );
}

#[test]
fn problems_the_linter_finds_in_a_converted_api_point_at_the_template_resource() {
    let text = api(r#"  Broken:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: send
      Target: integrations/Missing
"#);
    let error = match check_with_template(
        &text,
        options(),
        Some(("[server]\nlisten = \"127.0.0.1:0\"\n", "s.toml")),
    ) {
        Ok(_) => panic!("a route to a missing integration was accepted"),
        Err(e) => e,
    };
    let problem = error
        .problems
        .iter()
        .find(|p| p.key_path == "apis.Api.routes.send.target")
        .unwrap_or_else(|| panic!("{error}"));
    assert_eq!(problem.file, "t.yaml");
    assert_eq!(
        problem.line, 12,
        "the line of the Broken resource: {problem}"
    );
    assert!(
        problem
            .message
            .ends_with("(from AWS::ApiGatewayV2::Route Broken)"),
        "{problem}"
    );
}

#[test]
fn a_settings_file_with_apis_is_refused_and_its_aws_identity_reaches_the_template() {
    let text = api(r#"  Integ:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: HTTP_PROXY
      IntegrationMethod: POST
      IntegrationUri: !Sub "https://${AWS::Region}.${AWS::AccountId}.example"
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: integrations/Integ}
"#);
    let settings = "[aws]\nregion = \"ap-south-1\"\naccountId = \"999988887777\"\n";
    let checked = match check_with_template(&text, options(), Some((settings, "s.toml"))) {
        Ok(checked) => checked,
        Err(e) => panic!("{e}"),
    };
    let uri = &checked.checked.config.apis["Api"].integrations["Integ"].integration_uri;
    assert_eq!(
        uri.as_deref(),
        Some("https://ap-south-1.999988887777.example")
    );
    assert_eq!(checked.checked.config.aws.region, "ap-south-1");
    // As on AWS, a template's API serves @connections on its own endpoint.
    assert!(checked.checked.config.management.on_server_listener);

    let with_apis = "[apis.x]\nrouteSelectionExpression = \"$request.body.a\"\n";
    let error = match check_with_template(&text, options(), Some((with_apis, "s.toml"))) {
        Ok(_) => panic!("[apis] in the settings file was accepted"),
        Err(e) => e,
    };
    let refusal = find(&error.problems, Severity::Error, "apis");
    assert_eq!((refusal.file.as_str(), refusal.line), ("s.toml", 1));
    assert!(refusal
        .message
        .contains("the template given with --template"));
}
