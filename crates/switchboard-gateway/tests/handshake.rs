//! The upgrade request: addresses, refusals, `$connect` status, subprotocols (docs/behaviour.md §1, §3.1).

use switchboard_testkit::{ConnectError, TestGateway, WsClient};

const OPEN_API: &str = r#"
[apis.chat]
routeSelectionExpression = "$request.body.action"
[apis.chat.stages.dev]
[apis.chat.stages.prod]
[apis.chat.integrations.ok]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }
integrationResponses = { "$default" = { responseTemplates = { "$default" = 'pong' } } }
[apis.chat.routes.ping]
target = "integrations/ok"
routeResponseSelectionExpression = "$default"
"#;

#[tokio::test]
async fn stage_urls_with_and_without_the_api_id_reach_the_same_api() {
    let gw = TestGateway::start(OPEN_API).await;
    for path in ["/chat/dev", "/dev", "/dev/", "/chat/prod?token=1"] {
        let mut ws = gw.connect(path).await;
        ws.send_text(r#"{"action":"ping"}"#).await;
        assert_eq!(ws.recv_text().await, "pong", "via {path}");
    }
}

#[tokio::test]
async fn host_header_selects_the_api_custom_domain_style() {
    let gw = TestGateway::start(OPEN_API).await;
    let response = gw
        .raw_http(
            "GET /dev HTTP/1.1\r\nHost: chat.example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await;
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    assert!(
        response.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{response}"
    );
}

#[tokio::test]
async fn unknown_api_or_stage_is_404() {
    let gw = TestGateway::start(OPEN_API).await;
    for path in ["/chat/nope", "/nope", "/other/dev", "/chat/dev/extra", "/"] {
        match gw.try_connect(path).await {
            Err(ConnectError::Refused(404, body)) => {
                assert_eq!(body, r#"{"message":"Not Found"}"#)
            }
            other => panic!("{path}: expected 404, got {:?}", other.map(|_| "connected")),
        }
    }
}

#[tokio::test]
async fn a_plain_get_to_a_stage_is_426() {
    let gw = TestGateway::start(OPEN_API).await;
    let response = gw
        .raw_http("GET /chat/dev HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await;
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(response.to_ascii_lowercase().contains("upgrade: websocket"));
}

#[tokio::test]
async fn oversized_headers_are_refused_before_any_route_runs() {
    let gw = TestGateway::start(OPEN_API).await;
    let big = "x".repeat(40_000);
    let response = gw
        .raw_http(&format!(
            "GET /chat/dev HTTP/1.1\r\nHost: localhost\r\nX-Big: {big}\r\n\r\n"
        ))
        .await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");
}

#[tokio::test]
async fn connect_status_from_a_mock_refuses_the_upgrade_with_that_status() {
    let gw = TestGateway::start(
        r#"
[apis.a]
routeSelectionExpression = "$request.body.action"
[apis.a.stages.dev]
[apis.a.integrations.deny]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 403}' }
[apis.a.routes."$connect"]
target = "integrations/deny"
"#,
    )
    .await;
    match gw.try_connect("/a/dev").await {
        Err(ConnectError::Refused(403, body)) => assert_eq!(body, r#"{"message":"Forbidden"}"#),
        other => panic!("expected 403, got {:?}", other.map(|_| "connected")),
    }
    assert_eq!(gw.connection_count(), 0);
}

#[tokio::test]
async fn without_a_connect_route_the_upgrade_is_accepted() {
    let gw = TestGateway::start(OPEN_API).await;
    let _ws = gw.connect("/chat/dev").await;
    assert_eq!(gw.connection_count(), 1);
}

#[tokio::test]
async fn no_subprotocol_is_chosen_unless_connect_names_one() {
    let gw = TestGateway::start(OPEN_API).await;
    // The client offers one; nothing chose it, so no header comes back, and a strict client
    // (like a browser) refuses the connection, as on AWS (docs/behaviour.md §3.1).
    let offered = WsClient::connect_with(
        &gw.url("/chat/dev"),
        &[("Sec-WebSocket-Protocol", "chat.v1")],
    )
    .await;
    match offered {
        Err(ConnectError::Other(msg)) => assert!(msg.contains("SubProtocol"), "{msg}"),
        other => panic!(
            "expected a subprotocol failure, got {:?}",
            other.map(|c| c.protocol)
        ),
    }
    let plain = gw.connect("/chat/dev").await;
    assert_eq!(plain.protocol, None);
}

/// An upgrade request with `extra` header lines, and `version` in the request line.
fn upgrade(version: &str, key_and_version: &str) -> String {
    format!(
        "GET /chat/dev HTTP/{version}\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{key_and_version}\r\n"
    )
}

#[tokio::test]
async fn malformed_upgrades_are_refused_before_connect_runs() {
    // `$connect` would count itself in the stage's connect metric; it must never run.
    let gw = TestGateway::start(&format!(
        "{OPEN_API}\n[apis.chat.routes.\"$connect\"]\ntarget = \"integrations/ok\"\n"
    ))
    .await;
    let good_key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let cases = [
        (
            "1.0",
            format!("{good_key}Sec-WebSocket-Version: 13\r\n"),
            400,
        ),
        // 24 characters, but not base64 of 16 bytes.
        (
            "1.1",
            "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!!!\r\nSec-WebSocket-Version: 13\r\n".into(),
            400,
        ),
        (
            "1.1",
            format!("{good_key}{good_key}Sec-WebSocket-Version: 13\r\n"),
            400,
        ),
        (
            "1.1",
            format!("{good_key}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n"),
            426,
        ),
    ];
    for (version, headers, status) in cases {
        let response = gw.raw_http(&upgrade(version, &headers)).await;
        assert!(
            response.contains(&format!(" {status} ")),
            "HTTP/{version} {headers:?}: {response}"
        );
    }
    // The well-formed request still works, and is the only connect counted.
    let response = gw
        .raw_http(&upgrade(
            "1.1",
            &format!("{good_key}Sec-WebSocket-Version: 13\r\n"),
        ))
        .await;
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    let (_, metrics) = gw.management("GET", "/metrics", b"").await;
    let metrics = String::from_utf8_lossy(&metrics);
    let connects: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("switchboard_connects_total{"))
        .collect();
    assert_eq!(connects.len(), 1, "{metrics}");
    assert!(connects[0].ends_with(" 1"), "{metrics}");
}
