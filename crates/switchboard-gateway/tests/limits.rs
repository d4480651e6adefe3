//! Frame and message limits, binary frames and pings (docs/behaviour.md §3.2, §3.4).

use switchboard_testkit::TestGateway;
use tokio_tungstenite::tungstenite::Message;

fn echo_api(limits: &str) -> String {
    format!(
        r#"
[apis.e]
routeSelectionExpression = "$request.body.action"
[apis.e.stages.dev]
{limits}
[apis.e.integrations.echo]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '$input.body' }} }} }}
[apis.e.routes."$default"]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
"#
    )
}

#[tokio::test]
async fn a_frame_over_32kb_closes_with_1009() {
    let gw = TestGateway::start(&echo_api("")).await;
    let mut ws = gw.connect("/e/dev").await;
    ws.send_text(&"a".repeat(32 * 1024 + 1)).await;
    let (code, _) = ws.recv_close().await.expect("a close frame");
    assert_eq!(code, 1009);
}

#[tokio::test]
async fn a_message_over_128kb_in_small_frames_closes_with_1009() {
    let gw = TestGateway::start(&echo_api("")).await;
    let mut ws = gw.connect("/e/dev").await;
    let chunk = vec![b'a'; 30 * 1024];
    ws.send_frame(&chunk, true, false).await;
    for _ in 0..4 {
        ws.send_frame(&chunk, false, false).await;
    }
    ws.send_frame(&chunk, false, true).await;
    let (code, _) = ws.recv_close().await.expect("a close frame");
    assert_eq!(code, 1009);
}

#[tokio::test]
async fn a_100kb_message_in_32kb_frames_is_accepted_whole() {
    let gw = TestGateway::start(&echo_api("")).await;
    let mut ws = gw.connect("/e/dev").await;
    let text: String = (0..100 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let bytes = text.as_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(32 * 1024).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        ws.send_frame(chunk, i == 0, i == chunks.len() - 1).await;
    }
    assert_eq!(ws.recv_text().await, text);
}

#[tokio::test]
async fn stage_limits_override_the_aws_defaults() {
    let gw = TestGateway::start(&echo_api(
        "limits = { maxFrameBytes = 100, maxMessageBytes = 150 }",
    ))
    .await;
    let mut ws = gw.connect("/e/dev").await;
    ws.send_text(&"b".repeat(100)).await;
    assert_eq!(ws.recv_text().await.len(), 100);
    ws.send_text(&"b".repeat(101)).await;
    assert_eq!(ws.recv_close().await.map(|c| c.0), Some(1009));
}

#[tokio::test]
async fn a_binary_frame_closes_with_1003() {
    let gw = TestGateway::start(&echo_api("")).await;
    let mut ws = gw.connect("/e/dev").await;
    ws.send_binary(&[0, 1, 2, 255]).await;
    let (code, _) = ws.recv_close().await.expect("a close frame");
    assert_eq!(code, 1003);
}

#[tokio::test]
async fn accepted_binary_frames_reach_integrations_base64_encoded() {
    let gw = TestGateway::start(&echo_api(r#"limits = { binaryFrames = "accept" }"#)).await;
    let mut ws = gw.connect("/e/dev").await;
    ws.send_binary(&[0, 1, 2, 255]).await;
    assert_eq!(ws.recv_text().await, "AAEC/w==");
}

#[tokio::test]
async fn pings_are_answered_and_the_connection_stays() {
    let gw = TestGateway::start(&echo_api("")).await;
    let mut ws = gw.connect("/e/dev").await;
    ws.ping(b"are you there").await;
    match ws.next_message().await {
        Some(Message::Pong(p)) => assert_eq!(&p[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
    ws.send_text("still here").await;
    assert_eq!(ws.recv_text().await, "still here");
}
