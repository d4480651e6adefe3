//! `AWS_PROXY` through the real Lambda Invoke API wire protocol (docs/behaviour.md §4.2): the local
//! `LambdaServer` verifies the gateway's SigV4 signature with the independent `aws-sigv4`
//! implementation and records every event, which is checked field by field.

use regex::Regex;
use serde_json::{json, Value};
use std::time::Duration;
use switchboard_core::config::AwsCredentials;
use switchboard_testkit::{
    closed_port, ConnectError, LambdaReply, LambdaServer, TestGateway, WsClient,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "AKIDLAMBDATEST";
const SECRET: &str = "lambda/secret/for/tests";

fn credentials() -> AwsCredentials {
    AwsCredentials {
        access_key_id: KEY.into(),
        secret_access_key: SECRET.into(),
        session_token: None,
    }
}

/// `$connect`, `$disconnect`, a two-way `echo` route and a one-way `$default`, all on Lambda.
fn api(endpoint: &str, extra_integration: &str) -> String {
    format!(
        r#"
[aws]
region = "eu-west-1"
accountId = "123456789012"
[aws.endpoints]
lambda = "{endpoint}"
[apis.ev]
routeSelectionExpression = "$request.body.action"
[apis.ev.stages.dev]
[apis.ev.integrations.fn]
integrationType = "AWS_PROXY"
integrationUri = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:chat-handler:live/invocations"
timeoutInMillis = 2000
{extra_integration}
[apis.ev.integrations.bare]
integrationType = "AWS_PROXY"
integrationUri = "arn:aws:lambda:eu-west-1:123456789012:function:other"
[apis.ev.routes."$connect"]
target = "integrations/fn"
[apis.ev.routes."$disconnect"]
target = "integrations/fn"
[apis.ev.routes.echo]
target = "integrations/fn"
routeResponseSelectionExpression = "$default"
[apis.ev.routes.bare]
target = "integrations/bare"
routeResponseSelectionExpression = "$default"
[apis.ev.routes."$default"]
target = "integrations/fn"
"#
    )
}

/// A handler that accepts connections and echoes `body` on two-way routes.
fn echo_handler(inv: &switchboard_testkit::Invocation) -> LambdaReply {
    let body = inv.event["body"].as_str().unwrap_or("").to_owned();
    LambdaReply::Ok(json!({ "statusCode": 200, "body": body }))
}

async fn start(
    handler: fn(&switchboard_testkit::Invocation) -> LambdaReply,
) -> (LambdaServer, TestGateway) {
    let lambda = LambdaServer::start(KEY, SECRET, handler).await;
    let gw = TestGateway::start_with_credentials(&api(&lambda.endpoint(), ""), credentials()).await;
    (lambda, gw)
}

fn event_of(lambda: &LambdaServer, event_type: &str) -> Vec<Value> {
    lambda
        .invocations()
        .into_iter()
        .map(|i| i.event)
        .filter(|e| e["requestContext"]["eventType"] == event_type)
        .collect()
}

fn assert_id(v: &Value) -> String {
    let id = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    assert!(
        Regex::new(r"^[A-Za-z0-9_-]{15}=$")
            .expect("re")
            .is_match(id),
        "{id}"
    );
    id.to_owned()
}

#[tokio::test]
async fn the_connect_event_has_every_field_in_its_aws_shape() {
    let (lambda, gw) = start(echo_handler).await;
    // A raw upgrade, to send header names in unusual spelling and a repeated query parameter.
    let mut tcp = tokio::net::TcpStream::connect(gw.handle.ws_addr)
        .await
        .expect("tcp");
    let request = "GET /ev/dev?token=abc&multi=1&multi=2 HTTP/1.1\r\nHost: ev.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nHeaderAuth1: headerValue1\r\nUser-Agent: test-agent/1.0\r\nx-custom: a\r\nx-custom: b\r\n\r\n";
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut buf = [0u8; 512];
    let n = tcp.read(&mut buf).await.expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 101"));

    let invocations = lambda.wait_for_invocations(1).await;
    assert!(
        lambda.rejected().is_empty(),
        "signature refused: {:?}",
        lambda.rejected()
    );
    assert_eq!(invocations[0].function, "chat-handler");
    assert_eq!(invocations[0].qualifier.as_deref(), Some("live"));
    let e = &invocations[0].event;
    let headers = e["headers"].as_object().expect("headers");
    assert_eq!(headers["Host"], "ev.example.test");
    assert_eq!(
        headers["HeaderAuth1"], "headerValue1",
        "client spelling kept"
    );
    assert_eq!(headers["Sec-WebSocket-Key"], "dGhlIHNhbXBsZSBub25jZQ==");
    assert_eq!(headers["Sec-WebSocket-Version"], "13");
    assert_eq!(headers["User-Agent"], "test-agent/1.0");
    assert_eq!(headers["X-Forwarded-For"], "127.0.0.1");
    assert_eq!(
        headers["X-Forwarded-Port"],
        gw.handle.ws_addr.port().to_string()
    );
    assert_eq!(headers["X-Forwarded-Proto"], "http");
    assert!(Regex::new(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$")
        .expect("re")
        .is_match(headers["X-Amzn-Trace-Id"].as_str().expect("trace")));
    assert!(!headers.contains_key("Connection") && !headers.contains_key("Upgrade"));
    assert_eq!(headers["x-custom"], "b");
    assert_eq!(e["multiValueHeaders"]["x-custom"], json!(["a", "b"]));
    assert_eq!(e["multiValueHeaders"]["Host"], json!(["ev.example.test"]));
    assert_eq!(
        e["queryStringParameters"],
        json!({"token": "abc", "multi": "2"})
    );
    assert_eq!(
        e["multiValueQueryStringParameters"],
        json!({"token": ["abc"], "multi": ["1", "2"]})
    );
    assert_eq!(e["isBase64Encoded"], false);
    assert!(e.get("body").is_none());

    let rc = e["requestContext"].as_object().expect("requestContext");
    assert_eq!(rc["routeKey"], "$connect");
    assert_eq!(rc["eventType"], "CONNECT");
    assert_eq!(rc["messageDirection"], "IN");
    assert_eq!(rc["stage"], "dev");
    assert_eq!(rc["apiId"], "ev");
    assert_eq!(rc["domainName"], "ev.example.test");
    assert_eq!(
        assert_id(&rc["requestId"]),
        assert_id(&rc["extendedRequestId"])
    );
    assert_id(&rc["connectionId"]);
    assert!(!rc.contains_key("messageId"));
    assert!(
        Regex::new(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")
            .expect("re")
            .is_match(rc["requestTime"].as_str().expect("requestTime"))
    );
    let connected_at = rc["connectedAt"].as_i64().expect("connectedAt is a number");
    let epoch = rc["requestTimeEpoch"]
        .as_i64()
        .expect("requestTimeEpoch is a number");
    assert!(connected_at > 1_700_000_000_000, "milliseconds");
    assert!(epoch >= connected_at);
    assert_eq!(
        rc["identity"],
        json!({"sourceIp": "127.0.0.1", "userAgent": "test-agent/1.0"})
    );
}

#[tokio::test]
async fn without_a_query_string_there_are_no_query_parameters() {
    let (lambda, gw) = start(echo_handler).await;
    let _ws = gw.connect("/ev/dev").await;
    let e = &lambda.wait_for_invocations(1).await[0].event;
    assert!(e.get("queryStringParameters").is_none());
    assert!(e.get("multiValueQueryStringParameters").is_none());
    assert!(
        e["requestContext"]["identity"].get("userAgent").is_none(),
        "no User-Agent sent"
    );
}

#[tokio::test]
async fn message_events_carry_the_raw_body_and_their_own_ids() {
    let (lambda, gw) = start(echo_handler).await;
    let mut ws = gw.connect("/ev/dev").await;
    let raw = "{\r\n\t\"action\" :  \"echo\",\n  \"data\": \"hi\"   }";
    ws.send_text(raw).await;
    assert_eq!(
        ws.recv_text().await,
        raw,
        "two-way: the Lambda's body comes back"
    );
    ws.send_text(r#"{"action":"echo"}"#).await;
    ws.recv_text().await;

    let messages = event_of(&lambda, "MESSAGE");
    assert_eq!(messages.len(), 2);
    let connect = &event_of(&lambda, "CONNECT")[0];
    let (m1, m2) = (&messages[0], &messages[1]);
    assert_eq!(m1["body"], raw, "byte for byte");
    assert!(m1.get("headers").is_none() && m1.get("multiValueHeaders").is_none());
    let rc = &m1["requestContext"];
    assert_eq!(rc["routeKey"], "echo");
    assert_eq!(rc["eventType"], "MESSAGE");
    let cid = assert_id(&rc["connectionId"]);
    assert_eq!(cid, connect["requestContext"]["connectionId"]);
    let mid = assert_id(&rc["messageId"]);
    assert_ne!(mid, assert_id(&rc["requestId"]));
    assert_eq!(
        &mid[10..],
        &cid[10..],
        "messageId ends like its connectionId"
    );
    assert_eq!(
        rc["connectedAt"], connect["requestContext"]["connectedAt"],
        "connectedAt is fixed"
    );
    assert_ne!(rc["requestId"], m2["requestContext"]["requestId"]);
    assert_ne!(rc["messageId"], m2["requestContext"]["messageId"]);
    assert_ne!(rc["requestId"], connect["requestContext"]["requestId"]);
}

#[tokio::test]
async fn the_disconnect_event_has_the_fixed_header_set_and_the_close_status() {
    let (lambda, gw) = start(echo_handler).await;
    let ws = gw.connect("/ev/dev").await;
    lambda.wait_for_invocations(1).await;
    ws.close(Some(4001), "done").await;
    let all = lambda.wait_for_invocations(2).await;
    let e = &all[1].event;
    let host = gw.handle.ws_addr.to_string();
    assert_eq!(
        e["headers"],
        json!({"Host": host, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""})
    );
    assert_eq!(e["multiValueHeaders"]["x-restapi"], json!([""]));
    let rc = &e["requestContext"];
    assert_eq!(rc["routeKey"], "$disconnect");
    assert_eq!(rc["eventType"], "DISCONNECT");
    assert_eq!(rc["disconnectStatusCode"], 4001);
    assert_eq!(rc["disconnectReason"], "done");
    assert!(rc.get("messageId").is_none());
}

#[tokio::test]
async fn the_bare_function_arn_form_invokes_by_name() {
    let (lambda, gw) = start(echo_handler).await;
    let mut ws = gw.connect("/ev/dev").await;
    ws.send_text(r#"{"action":"bare"}"#).await;
    assert_eq!(ws.recv_text().await, r#"{"action":"bare"}"#);
    let other = lambda
        .invocations()
        .into_iter()
        .find(|i| i.function == "other")
        .expect("invoked by name");
    assert_eq!(other.qualifier, None);
}

#[tokio::test]
async fn two_way_bodies_go_back_whatever_the_status_and_one_way_routes_stay_silent() {
    fn handler(inv: &switchboard_testkit::Invocation) -> LambdaReply {
        match inv.event["requestContext"]["routeKey"].as_str() {
            Some("echo") => LambdaReply::Ok(json!({"statusCode": 500, "body": "still delivered"})),
            Some("$default") => LambdaReply::Ok(json!({"statusCode": 200, "body": "never sent"})),
            _ => LambdaReply::Ok(json!({"statusCode": 200})),
        }
    }
    let (_lambda, gw) = start(handler).await;
    let mut ws = gw.connect("/ev/dev").await;
    ws.send_text("one-way message").await;
    ws.send_text(r#"{"action":"echo"}"#).await;
    assert_eq!(ws.recv_text().await, "still delivered");
}

#[tokio::test]
async fn connect_status_refuses_and_a_function_error_is_502() {
    fn refuse(inv: &switchboard_testkit::Invocation) -> LambdaReply {
        match inv.event["queryStringParameters"]["mode"].as_str() {
            Some("deny") => LambdaReply::Ok(json!({"statusCode": 403})),
            Some("crash") => LambdaReply::unhandled("Error", "boom"),
            Some("garbage") => LambdaReply::Raw(200, b"not json".to_vec()),
            _ => LambdaReply::Ok(json!({"statusCode": 200})),
        }
    }
    let (_lambda, gw) = start(refuse).await;
    let status = |r: Result<WsClient, ConnectError>| match r {
        Err(ConnectError::Refused(s, _)) => s,
        Ok(_) => 101,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(status(gw.try_connect("/ev/dev?mode=deny").await), 403);
    assert_eq!(status(gw.try_connect("/ev/dev?mode=crash").await), 502);
    assert_eq!(status(gw.try_connect("/ev/dev?mode=garbage").await), 502);
    assert_eq!(status(gw.try_connect("/ev/dev?mode=ok").await), 101);
}

#[tokio::test]
async fn a_subprotocol_named_by_connect_is_returned() {
    fn choose(inv: &switchboard_testkit::Invocation) -> LambdaReply {
        let offered = inv.event["headers"]["Sec-WebSocket-Protocol"]
            .as_str()
            .unwrap_or("");
        let first = offered.split(',').next().unwrap_or("").trim().to_owned();
        LambdaReply::Ok(
            json!({"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": first, "Set-Cookie": "a=b"}}),
        )
    }
    let (_lambda, gw) = start(choose).await;
    let ws = WsClient::connect_with(
        &gw.url("/ev/dev"),
        &[("Sec-WebSocket-Protocol", "chat.v2, chat.v1")],
    )
    .await
    .expect("connects with the chosen protocol");
    assert_eq!(ws.protocol.as_deref(), Some("chat.v2"));
}

#[tokio::test]
async fn failed_invocations_send_internal_server_error_and_the_connection_keeps_working() {
    fn flaky(inv: &switchboard_testkit::Invocation) -> LambdaReply {
        let body = inv.event["body"].as_str().unwrap_or("");
        match body {
            "crash" => LambdaReply::unhandled("TypeError", "x is undefined"),
            "garbage" => LambdaReply::Raw(200, b"<html>".to_vec()),
            "string" => LambdaReply::Ok(json!("just a string")),
            "slow" => LambdaReply::Ok(json!({"statusCode": 200})).after(Duration::from_secs(30)),
            _ => LambdaReply::Ok(json!({"statusCode": 200, "body": body})),
        }
    }
    let (_lambda, gw) = start(flaky).await;
    let mut ws = gw.connect("/ev/dev").await;
    let ise = Regex::new(
        r#"^\{"message": "Internal server error", "connectionId":"[A-Za-z0-9_-]{15}=", "requestId":"[A-Za-z0-9_-]{15}="\}$"#,
    )
    .expect("re");
    for failing in ["crash", "garbage", "string", "slow"] {
        ws.send_text(failing).await;
        let frame = ws.recv_text().await;
        assert!(ise.is_match(&frame), "{failing}: {frame}");
    }
    ws.send_text(r#"{"action":"echo","ok":true}"#).await;
    assert_eq!(ws.recv_text().await, r#"{"action":"echo","ok":true}"#);
}

#[tokio::test]
async fn an_unreachable_lambda_endpoint_is_an_internal_server_error_on_messages_and_502_on_connect()
{
    let port = closed_port().await;
    let toml = api(&format!("http://127.0.0.1:{port}"), "");
    let gw = TestGateway::start_with_credentials(
        &toml.replace(
            "[apis.ev.routes.\"$connect\"]\ntarget = \"integrations/fn\"\n",
            "",
        ),
        credentials(),
    )
    .await;
    let mut ws = gw.connect("/ev/dev").await;
    ws.send_text(r#"{"action":"echo"}"#).await;
    assert!(ws
        .recv_text()
        .await
        .starts_with(r#"{"message": "Internal server error""#));
    let gw2 = TestGateway::start_with_credentials(&toml, credentials()).await;
    match gw2.try_connect("/ev/dev").await {
        Err(ConnectError::Refused(502, _)) => {}
        other => panic!("expected 502, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_lambda_and_surfaces_as_an_error() {
    let lambda = LambdaServer::start(KEY, SECRET, echo_handler).await;
    let wrong = AwsCredentials {
        secret_access_key: "not-the-secret".into(),
        ..credentials()
    };
    let gw = TestGateway::start_with_credentials(&api(&lambda.endpoint(), ""), wrong).await;
    // Lambda refusing our signature is the gateway's configuration failing, not the
    // function: 500, not the 502 of a failed invocation.
    match gw.try_connect("/ev/dev").await {
        Err(ConnectError::Refused(500, _)) => {}
        other => panic!("expected 500, got {:?}", other.map(|_| ())),
    }
    assert_eq!(
        lambda.rejected().len(),
        1,
        "the Lambda side saw a bad signature"
    );
    assert!(lambda.invocations().is_empty());
}

#[tokio::test]
async fn the_http_url_form_posts_the_same_event_to_a_plain_endpoint() {
    let backend = switchboard_testkit::HttpBackend::start(|req| {
        let event: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let body = event["body"].as_str().unwrap_or("").to_owned();
        switchboard_testkit::BackendReply::ok(json!({"statusCode": 200, "body": body}).to_string())
    })
    .await;
    let gw = TestGateway::start(&format!(
        r#"
[apis.u]
routeSelectionExpression = "$request.body.action"
[apis.u.stages.dev]
stageVariables = {{ handler = "{}" }}
[apis.u.integrations.handler]
integrationType = "AWS_PROXY"
# Whether this is a URL or an ARN is only known once the stage variable is filled in.
integrationUri = "${{stageVariables.handler}}"
[apis.u.routes."$default"]
target = "integrations/handler"
routeResponseSelectionExpression = "$default"
"#,
        backend.url("/lambda")
    ))
    .await;
    let mut ws = gw.connect("/u/dev").await;
    ws.send_text("over plain http").await;
    assert_eq!(ws.recv_text().await, "over plain http");
    let req = &backend.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/lambda")
    );
    let event: Value = serde_json::from_slice(&req.body).expect("event JSON");
    assert_eq!(event["requestContext"]["eventType"], "MESSAGE");
}
