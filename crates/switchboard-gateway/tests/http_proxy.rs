//! `HTTP_PROXY` against real HTTP backends on port 0 (docs/behaviour.md §4.3): what the backend receives,
//! what the client gets back, and what happens when the backend misbehaves.

use std::time::Duration;
use switchboard_testkit::{
    closed_port, eventually, garbage_server, BackendReply, ConnectError, HttpBackend, TestGateway,
};

fn api(uri: &str, extra: &str) -> String {
    format!(
        r#"
[apis.hp]
routeSelectionExpression = "$request.body.action"
[apis.hp.stages.dev]
stageVariables = {{ base = "{uri}", env = "test" }}
[apis.hp.integrations.backend]
integrationType = "HTTP_PROXY"
integrationMethod = "PUT"
integrationUri = "${{stageVariables.base}}/ws/events"
timeoutInMillis = 1000
{extra}
[apis.hp.routes."$connect"]
target = "integrations/backend"
[apis.hp.routes."$disconnect"]
target = "integrations/backend"
[apis.hp.routes."$default"]
target = "integrations/backend"
routeResponseSelectionExpression = "$default"
"#
    )
}

const MAPPINGS: &str = r#"
[apis.hp.integrations.backend.requestParameters]
"integration.request.header.connectionId" = "context.connectionId"
"integration.request.header.X-Env" = "stageVariables.env"
"integration.request.header.X-Static" = "'fixed'"
"integration.request.header.X-Token" = "route.request.header.x-token"
"integration.request.querystring.room" = "route.request.body.data.room"
"integration.request.querystring.user" = "route.request.querystring.user"
"#;

#[tokio::test]
async fn messages_reach_the_backend_byte_for_byte_and_the_reply_comes_back_verbatim() {
    let backend = HttpBackend::start(|req| {
        if req.body.is_empty() {
            BackendReply::status(200)
        } else {
            BackendReply::ok(format!("got:{}", req.body_text()))
        }
    })
    .await;
    let gw = TestGateway::start(&api(&backend.url(""), MAPPINGS)).await;
    let mut ws = gw.connect("/hp/dev?user=ann").await;
    let raw = "{ \"action\" :\t\"x\" ,\r\n \"data\" : {\"room\":\"r 1\"}  }";
    ws.send_text(raw).await;
    assert_eq!(ws.recv_text().await, format!("got:{raw}"));

    let requests = backend.wait_for_requests(2).await;
    let connect = &requests[0];
    let message = &requests[1];
    assert_eq!(message.method, "PUT");
    assert_eq!(message.path, "/ws/events");
    assert_eq!(message.body, raw.as_bytes());
    assert_eq!(message.header("x-amzn-apigateway-api-id"), Some("hp"));
    assert_eq!(message.header("user-agent"), Some("AmazonAPIGateway_hp"));
    assert!(message
        .header("x-amzn-trace-id")
        .is_some_and(|t| t.starts_with("Root=1-")));
    let cid = message
        .header("connectionid")
        .expect("mapped connectionId header");
    assert_eq!(cid.len(), 16);
    assert_eq!(connect.header("connectionid"), Some(cid));
    assert_eq!(message.header("x-env"), Some("test"));
    assert_eq!(message.header("x-static"), Some("fixed"));
    assert_eq!(message.query.as_deref(), Some("room=r%201"));
    assert_eq!(
        message.header("sec-websocket-key"),
        None,
        "handshake headers only on $connect"
    );
}

#[tokio::test]
async fn connect_forwards_the_handshake_and_the_backend_status_decides() {
    let backend = HttpBackend::start(|req| match req.header("x-token") {
        Some("good") => BackendReply::status(200).with_header("Sec-WebSocket-Protocol", "v2"),
        _ => BackendReply::status(401),
    })
    .await;
    let gw = TestGateway::start(&api(&backend.url(""), MAPPINGS)).await;
    match gw.try_connect("/hp/dev").await {
        Err(ConnectError::Refused(401, _)) => {}
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    let ws = switchboard_testkit::WsClient::connect_with(
        &gw.url("/hp/dev?user=bob&x=1"),
        &[("X-Token", "good"), ("Sec-WebSocket-Protocol", "v2")],
    )
    .await
    .expect("accepted");
    assert_eq!(ws.protocol.as_deref(), Some("v2"));
    let connect = &backend.wait_for_requests(2).await[1];
    assert_eq!(connect.method, "PUT");
    assert!(connect.body.is_empty());
    assert_eq!(connect.header("sec-websocket-version"), Some("13"));
    assert!(connect.header("sec-websocket-key").is_some());
    assert_eq!(connect.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(connect.header("x-token"), Some("good"));
    assert_eq!(connect.header("user-agent"), Some("AmazonAPIGateway_hp"));
    let query = connect.query.clone().unwrap_or_default();
    assert!(
        query.contains("user=bob") && query.contains("x=1"),
        "{query}"
    );
    assert_eq!(
        connect.header("host").map(|h| h.starts_with("127.0.0.1:")),
        Some(true)
    );
}

#[tokio::test]
async fn disconnect_sends_an_empty_body_with_the_integration_method() {
    let backend = HttpBackend::start(|_| BackendReply::status(200)).await;
    let gw = TestGateway::start(&api(&backend.url(""), "")).await;
    let ws = gw.connect("/hp/dev").await;
    ws.close(Some(1000), "").await;
    let requests = backend.wait_for_requests(2).await;
    assert_eq!(requests[1].method, "PUT");
    assert!(requests[1].body.is_empty());
}

#[tokio::test]
async fn backend_connections_are_pooled_and_kept_alive() {
    let backend = HttpBackend::echo().await;
    let gw = TestGateway::start(&api(&backend.url(""), "")).await;
    let mut ws = gw.connect("/hp/dev").await;
    for i in 0..20 {
        ws.send_text(&format!("m{i}")).await;
        assert_eq!(ws.recv_text().await, format!("m{i}"));
    }
    assert_eq!(backend.requests().len(), 21);
    assert_eq!(
        backend.connections_accepted(),
        1,
        "one keep-alive connection served all"
    );
}

#[tokio::test]
async fn a_down_slow_or_garbage_backend_gives_internal_server_error_and_the_connection_lives() {
    let ok = HttpBackend::echo().await;
    let slow =
        HttpBackend::start(|_| BackendReply::ok("late").after(Duration::from_secs(30))).await;
    let garbage = garbage_server().await;
    let down = closed_port().await;
    let gw = TestGateway::start(&format!(
        r#"
[apis.f]
routeSelectionExpression = "$request.body.action"
[apis.f.stages.dev]
[apis.f.integrations.ok]
integrationType = "HTTP_PROXY"
integrationUri = "{}"
[apis.f.integrations.slow]
integrationType = "HTTP_PROXY"
integrationUri = "{}"
timeoutInMillis = 200
[apis.f.integrations.garbage]
integrationType = "HTTP_PROXY"
integrationUri = "http://{garbage}/"
[apis.f.integrations.down]
integrationType = "HTTP_PROXY"
integrationUri = "http://127.0.0.1:{down}/"
[apis.f.routes.ok]
target = "integrations/ok"
routeResponseSelectionExpression = "$default"
[apis.f.routes.slow]
target = "integrations/slow"
routeResponseSelectionExpression = "$default"
[apis.f.routes.garbage]
target = "integrations/garbage"
routeResponseSelectionExpression = "$default"
[apis.f.routes.down]
target = "integrations/down"
routeResponseSelectionExpression = "$default"
"#,
        ok.url("/"),
        slow.url("/")
    ))
    .await;
    let mut ws = gw.connect("/f/dev").await;
    for route in ["down", "slow", "garbage"] {
        ws.send_text(&format!(r#"{{"action":"{route}"}}"#)).await;
        let frame = ws.recv_text().await;
        assert!(
            frame.starts_with(r#"{"message": "Internal server error", "connectionId":""#),
            "{route}: {frame}"
        );
    }
    ws.send_text(r#"{"action":"ok"}"#).await;
    assert_eq!(ws.recv_text().await, r#"{"action":"ok"}"#);
}

#[tokio::test]
async fn a_backend_that_never_answers_stalls_neither_other_connections_nor_pushes() {
    let stuck = HttpBackend::start(|_| BackendReply::never()).await;
    let fast = HttpBackend::echo().await;
    let gw = TestGateway::start(&format!(
        r#"
[server.limits]
maxInflightPerConnection = 4
[apis.b]
routeSelectionExpression = "$request.body.action"
[apis.b.stages.dev]
[apis.b.integrations.stuck]
integrationType = "HTTP_PROXY"
integrationUri = "{}"
[apis.b.integrations.fast]
integrationType = "HTTP_PROXY"
integrationUri = "{}"
[apis.b.integrations.who]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '$context.connectionId' }} }} }}
[apis.b.routes.stuck]
target = "integrations/stuck"
routeResponseSelectionExpression = "$default"
[apis.b.routes.fast]
target = "integrations/fast"
routeResponseSelectionExpression = "$default"
[apis.b.routes.who]
target = "integrations/who"
routeResponseSelectionExpression = "$default"
"#,
        stuck.url("/"),
        fast.url("/")
    ))
    .await;
    let mut a = gw.connect("/b/dev").await;
    a.send_text(r#"{"action":"who"}"#).await;
    let a_id = a.recv_text().await;
    // A fills its in-flight allowance and more: its reading pauses, nothing else does.
    for _ in 0..10 {
        a.send_text(r#"{"action":"stuck"}"#).await;
    }
    stuck.wait_for_requests(4).await;
    let mut b = gw.connect("/b/dev").await;
    b.send_text(r#"{"action":"fast"}"#).await;
    assert_eq!(b.recv_text().await, r#"{"action":"fast"}"#);
    let (status, _) = gw
        .management(
            "POST",
            &format!("/b/dev/@connections/{}", a_id.replace('=', "%3D")),
            b"pushed",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(a.recv_text().await, "pushed");
    assert_eq!(
        stuck.requests().len(),
        4,
        "at most maxInflightPerConnection calls from A"
    );
}

#[tokio::test]
async fn a_message_sent_just_before_closing_still_reaches_the_backend() {
    // The message's call is in flight when the close frame arrives; the gateway lets it
    // finish (as API Gateway does) instead of cancelling it with the connection.
    let backend = HttpBackend::start(|r| {
        if r.body.is_empty() {
            BackendReply::status(200)
        } else {
            BackendReply::ok("too late to deliver").after(Duration::from_millis(200))
        }
    })
    .await;
    let gw = TestGateway::start(&api(&backend.url(""), "")).await;
    let mut ws = gw.connect("/hp/dev").await;
    ws.send_text("last words").await;
    ws.close(Some(1000), "bye").await;
    let requests = backend.wait_for_requests(3).await;
    assert!(
        requests.iter().any(|r| r.body_text() == "last words"),
        "the backend got: {:?}",
        requests.iter().map(|r| r.body_text()).collect::<Vec<_>>()
    );
    // Completed, not abandoned: $connect, the message and $disconnect all finish.
    eventually("three finished integration calls", || async {
        let (_, body) = gw.management("GET", "/metrics", b"").await;
        let finished: f64 = String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| l.starts_with("switchboard_integration_latency_seconds_count"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        (finished == 3.0).then_some(())
    })
    .await;
}
