//! Every apigatewayv2 field of a WebSocket API is accepted under its wire name: refused where
//! serving it would change behaviour, a warning where a setting is not honoured, silent where
//! it has no effect.

use super::*;

/// An API that writes every apigatewayv2 field Switchboard accepts, each with a value that is
/// served without warnings.
const EVERY_FIELD: &str = r#"[apis.chat]
name = "chat"
protocolType = "WEBSOCKET"
routeSelectionExpression = "$request.body.action"
apiKeySelectionExpression = "$request.header.x-api-key"
description = "The chat API"
tags = { team = "chat" }
version = "1.2"
disableExecuteApiEndpoint = false
disableSchemaValidation = true
ipAddressType = "dualstack"

[apis.chat.stages.dev]
stageName = "dev"
description = "development"
tags = { env = "dev" }
autoDeploy = true
deploymentId = "abc123"
clientCertificateId = "cert1"

[apis.chat.models.message]
contentType = "application/json"
schema = '{"type": "object"}'

[apis.chat.integrations.backend]
integrationType = "HTTP"
integrationUri = "http://127.0.0.1:3000/events"
integrationMethod = "POST"
connectionType = "INTERNET"
connectionId = "unused"
payloadFormatVersion = "1.0"
integrationSubtype = "SQS-SendMessage"
tlsConfig = { serverNameToVerify = "backend.internal" }
description = "the backend"
passthroughBehavior = "WHEN_NO_MATCH"
templateSelectionExpression = "\\$default"
requestTemplates = { "$default" = '$input.body' }

[apis.chat.integrations.backend.integrationResponses."$default"]
integrationResponseKey = "$default"
responseParameters = { "method.response.header.x" = "integration.response.header.x" }
responseTemplates = { "$default" = '$input.body' }

[apis.chat.authorizers.auth]
authorizerType = "REQUEST"
authorizerUri = "http://127.0.0.1:3000/auth"
identitySource = ["route.request.header.Authorization"]
authorizerPayloadFormatVersion = "1.0"
enableSimpleResponses = false
identityValidationExpression = "^x$"
authorizerResultTtlInSeconds = 300

[apis.chat.routes."$connect"]
routeKey = "$connect"
target = "integrations/backend"
operationName = "Connect"
authorizationType = "CUSTOM"
authorizerId = "auth"
authorizationScopes = ["chat/read"]

[apis.chat.routes.sendmessage]
target = "integrations/backend"
routeResponseSelectionExpression = "$default"
modelSelectionExpression = "$request.body.action"
requestModels = { sendmessage = "message" }

[apis.chat.routes.sendmessage.routeResponses."$default"]
routeResponseKey = "$default"
modelSelectionExpression = "$default"
responseModels = { "$default" = "message" }
responseParameters = { "route.response.header.x" = { required = false } }
"#;

#[test]
fn every_field_is_accepted_without_a_warning() {
    assert_eq!(warnings(EVERY_FIELD), []);
    let config = accepts(EVERY_FIELD);
    let chat = &config.apis["chat"];
    assert_eq!(chat.protocol_type, Some(ProtocolType::Websocket));
    assert!(chat.disable_schema_validation);
    assert!(chat.stages["dev"].auto_deploy);
    let backend = &chat.integrations["backend"];
    assert_eq!(backend.connection_type, Some(ConnectionType::Internet));
    assert_eq!(
        backend
            .tls_config
            .as_ref()
            .and_then(|t| t.server_name_to_verify.as_deref()),
        Some("backend.internal")
    );
    let send = &chat.routes["sendmessage"];
    assert_eq!(
        send.route_responses["$default"].response_models["$default"],
        "message"
    );
}

/// Every problem of [`EVERY_FIELD`] with `from` replaced by `to`.
fn report_with(from: &str, to: &str) -> Vec<String> {
    assert!(EVERY_FIELD.contains(from), "{from}");
    let text = EVERY_FIELD.replacen(from, to, 1);
    match Config::check_toml_str(&text, "test.toml") {
        Ok(checked) => checked.warnings.iter().map(ToString::to_string).collect(),
        Err(error) => error.problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn what_cannot_be_served_is_refused() {
    assert_eq!(
        report_with("protocolType = \"WEBSOCKET\"", "protocolType = \"HTTP\""),
        ["test.toml:3:1: apis.chat.protocolType: protocolType \"HTTP\" is not served: Switchboard serves WebSocket APIs only (protocolType = \"WEBSOCKET\")"]
    );
    assert_eq!(
        report_with("connectionType = \"INTERNET\"", "connectionType = \"VPC_LINK\""),
        ["test.toml:29:1: apis.chat.integrations.backend.connectionType: connectionType \"VPC_LINK\" (a private integration) is not served: Switchboard calls integrationUri directly; use connectionType = \"INTERNET\" with an address Switchboard can reach"]
    );
    assert_eq!(
        report_with("payloadFormatVersion = \"1.0\"", "payloadFormatVersion = \"2.0\""),
        ["test.toml:31:1: apis.chat.integrations.backend.payloadFormatVersion: payloadFormatVersion `2.0` is not supported: WebSocket APIs use 1.0"]
    );
    assert_eq!(
        report_with("routeResponses.\"$default\"]", "routeResponses.ok]"),
        ["test.toml:67:46: apis.chat.routes.sendmessage.routeResponses.ok: route response key `ok` is not supported; the only route response is $default", "test.toml:68:1: apis.chat.routes.sendmessage.routeResponses.ok.routeResponseKey: routeResponseKey `$default` differs from its table key `ok`; remove it or make them equal"]
    );
    assert_eq!(
        report_with("routeKey = \"$connect\"", "routeKey = \"$disconnect\""),
        ["test.toml:54:1: apis.chat.routes.\"$connect\".routeKey: routeKey `$disconnect` differs from its table key `$connect`; remove it or make them equal"]
    );
    assert_eq!(
        report_with("responseModels = { \"$default\" = \"message\" }", "responseModels = { \"$default\" = \"nope\" }"),
        ["test.toml:70:20: apis.chat.routes.sendmessage.routeResponses.\"$default\".responseModels.\"$default\": unknown model `nope`: no [models.nope] in this API"]
    );
}

#[test]
fn what_is_not_honoured_is_a_warning_that_says_what_happens_instead() {
    assert_eq!(
        report_with("connectionId = \"unused\"", "credentialsArn = \"arn:aws:iam::123456789012:role/call\""),
        ["test.toml:30:1: apis.chat.integrations.backend.credentialsArn: warning: credentialsArn `arn:aws:iam::123456789012:role/call` is not assumed: this integration type makes no AWS calls"]
    );
    let lambda = EVERY_FIELD
        .replacen("integrationType = \"HTTP\"", "integrationType = \"AWS_PROXY\"", 1)
        .replacen("integrationUri = \"http://127.0.0.1:3000/events\"", "integrationUri = \"arn:aws:lambda:us-east-1:123456789012:function:chat\"", 1)
        .replacen("passthroughBehavior = \"WHEN_NO_MATCH\"\ntemplateSelectionExpression = \"\\\\$default\"\nrequestTemplates = { \"$default\" = '$input.body' }\n", "credentialsArn = \"arn:aws:iam::123456789012:role/invoke\"\n", 1)
        .replacen("\n[apis.chat.integrations.backend.integrationResponses.\"$default\"]\nintegrationResponseKey = \"$default\"\nresponseParameters = { \"method.response.header.x\" = \"integration.response.header.x\" }\nresponseTemplates = { \"$default\" = '$input.body' }\n", "", 1);
    let found: Vec<String> = warnings(&lambda).iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        ["test.toml:35:1: apis.chat.integrations.backend.credentialsArn: warning: credentialsArn `arn:aws:iam::123456789012:role/invoke` is not assumed: calls are signed with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from Switchboard's environment"]
    );
    assert_eq!(
        report_with("disableExecuteApiEndpoint = false", "disableExecuteApiEndpoint = true"),
        ["test.toml:9:1: apis.chat.disableExecuteApiEndpoint: warning: disableExecuteApiEndpoint has no effect: Switchboard serves the API on its own listener, which is the only endpoint (AWS would refuse clients on the execute-api hostname)"]
    );
    assert_eq!(
        report_with("enableSimpleResponses = false", "enableSimpleResponses = true\nauthorizerCredentialsArn = \"arn:aws:iam::123456789012:role/auth\""),
        [
            "test.toml:49:1: apis.chat.authorizers.auth.enableSimpleResponses: warning: enableSimpleResponses has no effect: a WebSocket authorizer must answer with a principalId and an IAM policy",
            "test.toml:50:1: apis.chat.authorizers.auth.authorizerCredentialsArn: warning: authorizerCredentialsArn `arn:aws:iam::123456789012:role/auth` is not assumed: the authorizer is invoked with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from Switchboard's environment",
        ]
    );
    assert_eq!(
        report_with("authorizerPayloadFormatVersion = \"1.0\"", "authorizerPayloadFormatVersion = \"2.0\""),
        ["test.toml:48:1: apis.chat.authorizers.auth.authorizerPayloadFormatVersion: warning: authorizerPayloadFormatVersion `2.0` has no effect: WebSocket authorizers receive the REQUEST event (format 1.0)"]
    );
}

#[test]
fn a_cloudwatch_log_group_is_a_warning_that_names_where_lines_go() {
    let text = stage(
        "accessLogSettings = { format = \"$context.requestId\", destinationArn = \"arn:aws:logs:us-east-1:123456789012:log-group:chat\" }\n",
    );
    let found = warnings(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].message,
        "destinationArn `arn:aws:logs:us-east-1:123456789012:log-group:chat` is not written to: access log lines go to destination = \"stdout\" (stdout or a file)"
    );
}

#[test]
fn an_aws_integration_with_credentials_says_they_sign_instead_of_the_role() {
    let text = integration(
        "integrationType = \"AWS\"\nintegrationUri = \"arn:aws:apigateway:us-east-1:sqs:action/SendMessage\"\ncredentialsArn = \"arn:aws:iam::123456789012:role/sqs\"\ncredentials = { accessKeyId = \"AKID\", secretAccessKey = \"secret\" }\n",
    );
    let found = warnings(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].message,
        "credentialsArn `arn:aws:iam::123456789012:role/sqs` is not assumed: the integration's credentials table signs the calls"
    );
}

#[test]
fn a_stage_serves_its_deployment_only_when_the_control_plane_gave_the_api_one() {
    let mut config = accepts(EVERY_FIELD);
    let chat = config.apis.get_mut("chat").expect("the API");
    let dev = chat.stages["dev"].clone();
    assert_eq!(dev.deployment_id.as_deref(), Some("abc123"));
    assert!(
        chat.deployment_of(&dev).is_none(),
        "a file's stage serves the file, whatever deploymentId it names"
    );
    assert!(std::ptr::eq(chat.served_on(&dev), &*chat));
    let mut deployed = chat.clone();
    deployed.stages.clear();
    deployed.routes.clear();
    chat.deployments.insert("abc123".into(), deployed);
    let (id, api) = chat.deployment_of(&dev).expect("its deployment");
    assert_eq!(id, "abc123");
    assert!(api.routes.is_empty() && !chat.routes.is_empty());
    assert!(chat.served_on(&dev).routes.is_empty());
    let other = StageConfig {
        deployment_id: Some("gone99".into()),
        ..StageConfig::default()
    };
    assert!(
        std::ptr::eq(chat.served_on(&other), &*chat),
        "an unknown deployment: the API"
    );
}

#[test]
fn a_file_cannot_write_deployments() {
    let text = format!("{EVERY_FIELD}\n[apis.chat.deployments.abc123]\nrouteSelectionExpression = \"$request.body.action\"\n");
    assert!(Config::from_toml_str(&text, "test.toml").is_err());
}
