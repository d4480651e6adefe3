//! Templates as configuration, through the binary as a user runs it: `import` prints TOML that
//! `validate` accepts, and `serve --template` serves the API the template describes — a SAM
//! chat backed by Lambda functions, a CloudFormation API with a REQUEST authorizer and a MOCK
//! route, and a Serverless Framework service. Lambda functions are the testkit's Invoke API
//! stand-in, reached through `[aws.endpoints] lambda` of the settings file.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use switchboard_testkit::{ConnectError, Invocation, LambdaReply, LambdaServer, WsClient};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const KEY: &str = "AKIDTEMPLATETEST";
const SECRET: &str = "template-test-secret";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/templates")
        .join(name)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-templates-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("switchboard runs")
}

/// Runs a command expected to exit by itself, killing it (and failing) if it does not within
/// the testkit's patience: `serve` with a template it must refuse would otherwise hang the test.
fn run_to_exit(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("switchboard runs");
    let deadline = std::time::Instant::now() + switchboard_testkit::PATIENCE;
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("switchboard {args:?} did not exit");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A settings file for `--config`: any free ports, Lambda at `lambda`.
fn settings(dir: &Path, lambda: &LambdaServer) -> PathBuf {
    let path = dir.join("settings.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[management]\nlisten = \"127.0.0.1:0\"\n\
             [aws]\nregion = \"us-east-1\"\n[aws.endpoints]\nlambda = \"{}\"\n",
            lambda.endpoint()
        ),
    )
    .expect("write settings");
    path
}

/// A running `switchboard serve --template …` and the URLs it printed.
struct Served {
    child: Child,
    urls: Vec<String>,
}

impl Served {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(args)
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env_remove("AWS_SESSION_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("switchboard starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut urls = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("stdout line");
            if let Some(url) = line.strip_prefix("listening on ") {
                urls.push(url.to_owned());
            }
            if line.starts_with("management API on ") {
                break;
            }
        }
        assert!(!urls.is_empty(), "serve printed no URL");
        Self { child, urls }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status(result: Result<WsClient, ConnectError>) -> u16 {
    match result {
        Ok(_) => 101,
        Err(ConnectError::Refused(status, _)) => status,
        Err(ConnectError::Other(e)) => panic!("connection failed: {e}"),
    }
}

fn allow(event: &Value, principal: &str) -> LambdaReply {
    LambdaReply::Ok(json!({
        "principalId": principal,
        "policyDocument": {"Version": "2012-10-17", "Statement": [{
            "Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]
        }]}
    }))
}

fn deny(event: &Value) -> LambdaReply {
    LambdaReply::Ok(json!({
        "principalId": "nobody",
        "policyDocument": {"Version": "2012-10-17", "Statement": [{
            "Action": "execute-api:Invoke", "Effect": "Deny", "Resource": event["methodArn"]
        }]}
    }))
}

#[test]
fn each_fixture_imports_to_toml_that_validate_accepts() {
    let dir = temp_dir("validate");
    for (name, first_table) in [
        (
            "sam-chat.yaml",
            "# from AWS::ApiGatewayV2::Api ChatApi\n[apis.ChatApi]",
        ),
        (
            "cfn-authorizer.json",
            "# from AWS::ApiGatewayV2::Api TicketApi\n[apis.TicketApi]",
        ),
        ("serverless.yml", "[apis.WebsocketsApi]"),
    ] {
        let template = fixture(name);
        let output = run(&["import", template.to_str().expect("path")]);
        let toml = text(&output.stdout);
        assert!(
            output.status.success(),
            "import {name}: {}",
            text(&output.stderr)
        );
        assert!(toml.contains(first_table), "{name}:\n{toml}");
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, &toml).expect("write");
        let output = run(&["validate", file.to_str().expect("path")]);
        assert!(
            output.status.success(),
            "validate {name}: {}\n{toml}",
            text(&output.stderr)
        );
        let output = run(&["validate", "--template", template.to_str().expect("path")]);
        assert!(
            output.status.success(),
            "validate --template {name}: {}",
            text(&output.stderr)
        );
        assert!(
            text(&output.stdout).ends_with(": ok\n"),
            "{}",
            text(&output.stdout)
        );
    }
}

#[test]
fn import_names_each_source_resource_in_a_comment() {
    let output = run(&["import", fixture("sam-chat.yaml").to_str().expect("path")]);
    let toml = text(&output.stdout);
    for comment in [
        "# from AWS::ApiGatewayV2::Route SendRoute\n[apis.ChatApi.routes.sendmessage]",
        "# from AWS::ApiGatewayV2::Stage Stage\n[apis.ChatApi.stages.dev]",
        "# from AWS::ApiGatewayV2::Integration ConnectIntegration\n",
        "#   SendMessageFunction: name switchboard-local-send, runtime nodejs20.x, handler app.handler",
    ] {
        assert!(toml.contains(comment), "missing {comment:?} in\n{toml}");
    }
    // --parameter-overrides and --stack-name reach the template.
    let output = run(&[
        "import",
        fixture("sam-chat.yaml").to_str().expect("path"),
        "--stack-name",
        "room",
        "--parameter-overrides",
        "StageName=prod",
    ]);
    let toml = text(&output.stdout);
    assert!(toml.contains("[apis.ChatApi.stages.prod]"), "{toml}");
    assert!(toml.contains("throttlingRateLimit = 500.0"), "{toml}");
    assert!(toml.contains(":function:room-send/invocations"), "{toml}");
}

#[tokio::test]
async fn a_served_sam_chat_invokes_its_functions_through_the_invoke_api() {
    let lambda = LambdaServer::start(KEY, SECRET, |_: &Invocation| {
        LambdaReply::Ok(json!({"statusCode": 200}))
    })
    .await;
    let dir = temp_dir("sam");
    let settings = settings(&dir, &lambda);
    let served = Served::start(&[
        "--template",
        fixture("sam-chat.yaml").to_str().expect("path"),
        "--config",
        settings.to_str().expect("path"),
    ]);
    // One API: the short AWS-shaped URL, ws://HOST/{stage}.
    let url = &served.urls[0];
    assert!(url.ends_with("/dev") && !url.contains("ChatApi"), "{url}");
    let mut ws = WsClient::connect(url).await.expect("connects");
    ws.send_text(r#"{"action":"sendmessage","data":"hello room"}"#)
        .await;
    let calls = lambda.wait_for_invocations(2).await;
    let names: Vec<&str> = calls.iter().map(|c| c.function.as_str()).collect();
    // The Invoke API names each function by the name in its ARN: FunctionName, else the
    // logical id.
    assert_eq!(names[0], "OnConnectFunction");
    assert_eq!(calls[0].event["requestContext"]["eventType"], "CONNECT");
    assert_eq!(names[1], "switchboard-local-send");
    assert_eq!(calls[1].event["requestContext"]["routeKey"], "sendmessage");
    assert_eq!(calls[1].event["requestContext"]["stage"], "dev");
    assert_eq!(
        calls[1].event["body"],
        r#"{"action":"sendmessage","data":"hello room"}"#
    );
    ws.close(None, "").await;
    let calls = lambda.wait_for_invocations(3).await;
    assert_eq!(calls[2].function, "OnDisconnectFunction");
    assert_eq!(calls[2].event["requestContext"]["eventType"], "DISCONNECT");
}

#[tokio::test]
async fn a_served_cloudformation_api_authorizes_connections_and_answers_its_mock_route() {
    let lambda = LambdaServer::start(KEY, SECRET, |inv: &Invocation| {
        assert_eq!(inv.function, "ticket-checker");
        let header = inv.event["headers"]
            .as_object()
            .and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            })
            .and_then(|(_, v)| v.as_str());
        match header {
            Some("Bearer good") => allow(&inv.event, "user-7"),
            _ => deny(&inv.event),
        }
    })
    .await;
    let dir = temp_dir("cfn");
    let settings = settings(&dir, &lambda);
    let served = Served::start(&[
        "--template",
        fixture("cfn-authorizer.json").to_str().expect("path"),
        "--config",
        settings.to_str().expect("path"),
    ]);
    let url = &served.urls[0];
    assert!(
        url.ends_with("/live"),
        "the first of the Stages parameter: {url}"
    );

    assert_eq!(
        status(WsClient::connect(url).await),
        401,
        "no identity source"
    );
    assert!(
        lambda.invocations().is_empty(),
        "401 without calling the authorizer"
    );
    assert_eq!(
        status(WsClient::connect_with(url, &[("Authorization", "Bearer bad")]).await),
        403
    );
    let mut ws = WsClient::connect_with(url, &[("Authorization", "Bearer good")])
        .await
        .expect("the authorizer allows it");
    ws.send_text(r#"{"kind":"ping"}"#).await;
    let answer: Value = serde_json::from_str(&ws.recv_text().await).expect("JSON");
    assert_eq!(
        answer,
        json!({"pong": "ping", "stage": "live", "who": "user-7"})
    );
    // The condition AuditOn is false: no audit route, so the message has nowhere to go.
    ws.send_text(r#"{"kind":"audit"}"#).await;
    let answer: Value = serde_json::from_str(&ws.recv_text().await).expect("JSON");
    assert_eq!(answer["message"], "Forbidden", "{answer}");
}

#[tokio::test]
async fn a_served_serverless_service_runs_its_authorizer_and_two_way_route() {
    let lambda = LambdaServer::start(KEY, SECRET, |inv: &Invocation| {
        match inv.function.as_str() {
            "relay-test-auth" => match inv.event["queryStringParameters"]["token"].as_str() {
                Some("t0k3n") => allow(&inv.event, "sls-user"),
                _ => deny(&inv.event),
            },
            "relay-test-echo" => {
                let body: Value = serde_json::from_str(inv.event["body"].as_str().unwrap_or("{}"))
                    .unwrap_or(Value::Null);
                LambdaReply::Ok(json!({
                    "statusCode": 200,
                    "body": format!("echo:{}", body["text"].as_str().unwrap_or(""))
                }))
            }
            _ => LambdaReply::Ok(json!({"statusCode": 200})),
        }
    })
    .await;
    let dir = temp_dir("sls");
    let settings = settings(&dir, &lambda);
    let served = Served::start(&[
        "--template",
        fixture("serverless.yml").to_str().expect("path"),
        "--config",
        settings.to_str().expect("path"),
        "--parameter-overrides",
        "stage=test",
    ]);
    let url = &served.urls[0];
    assert!(
        url.ends_with("/test"),
        "${{opt:stage}} from --parameter-overrides: {url}"
    );
    assert_eq!(status(WsClient::connect(url).await), 401, "no ?token=");
    assert_eq!(
        status(WsClient::connect(&format!("{url}?token=nope")).await),
        403
    );
    let mut ws = WsClient::connect(&format!("{url}?token=t0k3n"))
        .await
        .expect("the authorizer allows it");
    ws.send_text(r#"{"type":"echo","text":"hi"}"#).await;
    assert_eq!(ws.recv_text().await, "echo:hi");
    let calls = lambda.invocations();
    let connect = calls
        .iter()
        .find(|c| c.function == "relay-test-connect")
        .expect("the connect function ran");
    assert_eq!(
        connect.event["requestContext"]["authorizer"]["principalId"],
        "sls-user"
    );
}

#[test]
fn warnings_name_the_resource_and_property_and_errors_refuse_the_template() {
    let dir = temp_dir("problems");
    let warned = dir.join("warned.yaml");
    std::fs::write(
        &warned,
        "Resources:\n  Api:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n      ProtocolType: WEBSOCKET\n      RouteSelectionExpression: $request.body.action\n      CorsConfiguration: {AllowOrigins: ['*']}\n  Stage:\n    Type: AWS::ApiGatewayV2::Stage\n    Properties: {ApiId: !Ref Api, StageName: dev}\n  Echo:\n    Type: AWS::ApiGatewayV2::Integration\n    Properties: {ApiId: !Ref Api, IntegrationType: MOCK, RequestTemplates: {$default: '{\"statusCode\": 200}'}}\n  Route:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: integrations/Echo}\n  Domain:\n    Type: AWS::ApiGatewayV2::DomainName\n    Properties: {DomainName: ws.example.com}\n",
    )
    .expect("write");
    let output = run(&["import", warned.to_str().expect("path")]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let name = warned.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{name}:7:7: Resources.Api.Properties.CorsConfiguration: warning: CorsConfiguration applies to HTTP APIs only"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{name}:17:3: Resources.Domain: warning: custom domain names are not served"
        )),
        "{stderr}"
    );
    assert!(
        text(&output.stdout).contains("[apis.Api]"),
        "the TOML still goes to stdout"
    );

    let broken = dir.join("broken.yaml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&warned).expect("read").replace(
            "Target: integrations/Echo",
            "Target: !ImportValue shared-target",
        ),
    )
    .expect("write");
    let output = run(&["import", broken.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("Resources.Route.Properties.Target: Fn::ImportValue reads an output exported by another stack"),
        "{stderr}"
    );
    let output = run_to_exit(&[
        "serve",
        "--template",
        broken.to_str().expect("path"),
        "--listen",
        "127.0.0.1:0",
        "--management-listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(output.status.code(), Some(1), "serve refuses it too");
    assert!(text(&output.stderr).contains("Fn::ImportValue"));
}

const ANSWERING: &str = r#"Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: dev}
  Answer:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: MOCK
      RequestTemplates: {$default: '{"statusCode": 200}'}
  AnswerResponse:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Api
      IntegrationId: !Ref Answer
      IntegrationResponseKey: $default
      ResponseTemplates: {$default: VERSION}
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: $default
      RouteResponseSelectionExpression: $default
      Target: !Join [/, [integrations, !Ref Answer]]
"#;

#[tokio::test]
async fn sighup_reads_the_template_again_and_a_broken_one_changes_nothing() {
    let dir = temp_dir("reload");
    let template = dir.join("template.yaml");
    std::fs::write(&template, ANSWERING.replace("VERSION", "one")).expect("write");
    let served = Served::start(&[
        "--template",
        template.to_str().expect("path"),
        "--listen",
        "127.0.0.1:0",
        "--management-listen",
        "127.0.0.1:0",
    ]);
    let mut ws = WsClient::connect(&served.urls[0]).await.expect("connects");
    ws.send_text("x").await;
    assert_eq!(ws.recv_text().await, "one");

    std::fs::write(&template, ANSWERING.replace("VERSION", "two")).expect("write");
    let hup = |child: &Child| {
        let status = Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    };
    hup(&served.child);
    let mut answers = 0;
    loop {
        ws.send_text("x").await;
        let answer = ws.recv_text().await;
        if answer == "two" {
            break;
        }
        assert_eq!(answer, "one");
        answers += 1;
        assert!(answers < 10_000, "the reload never took effect");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    std::fs::write(
        &template,
        ANSWERING.replace("!Ref Answer", "!ImportValue elsewhere"),
    )
    .expect("write");
    hup(&served.child);
    let mut again = WsClient::connect(&served.urls[0])
        .await
        .expect("still serving");
    again.send_text("x").await;
    assert_eq!(again.recv_text().await, "two");
}

#[test]
fn functions_that_cannot_run_locally_are_named_unless_lambda_is_elsewhere() {
    let dir = temp_dir("unrunnable");
    let template = dir.join("template.yaml");
    std::fs::write(
        &template,
        format!(
            "{ANSWERING}  Worker:\n    Type: AWS::Serverless::Function\n    Properties:\n      \
             Runtime: java21\n      Handler: app.Handler\n      CodeUri: worker/\n  \
             Inline:\n    Type: AWS::Serverless::Function\n    Properties:\n      \
             Runtime: python3.12\n      Handler: index.handler\n      InlineCode: 'x = 1'\n"
        )
        .replace("VERSION", "one"),
    )
    .expect("write");
    let path = template.to_str().expect("path");
    let output = run(&["validate", "--template", path]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("cannot run locally"), "{stderr}");
    assert!(stderr.contains("Worker: runtime \"java21\""), "{stderr}");
    assert!(stderr.contains("Inline: inline code"), "{stderr}");

    let settings = dir.join("settings.toml");
    std::fs::write(
        &settings,
        "[aws.endpoints]\nlambda = \"http://127.0.0.1:3001\"\n",
    )
    .expect("write");
    let elsewhere = run(&[
        "validate",
        "--template",
        path,
        "--config",
        settings.to_str().expect("path"),
    ]);
    assert!(elsewhere.status.success(), "{}", text(&elsewhere.stderr));
}
