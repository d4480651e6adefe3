//! Idle timeout and maximum connection lifetime close with 1001 "Going away" (docs/behaviour.md §3.4),
//! tested with paused time: the clock jumps to the next timer instead of waiting.

use std::time::Duration;
use switchboard_testkit::TestGateway;

fn api(limits: &str) -> String {
    format!(
        r#"
[apis.t]
routeSelectionExpression = "$request.body.action"
[apis.t.stages.dev]
limits = {{ {limits} }}
[apis.t.integrations.echo]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '$input.body' }} }} }}
[apis.t.routes."$default"]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
"#
    )
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_closed_with_1001_going_away() {
    let gw = TestGateway::start(&api("idleTimeoutSeconds = 600")).await;
    let mut ws = gw.connect("/t/dev").await;
    ws.patience = Duration::from_secs(24 * 3600);
    let started = tokio::time::Instant::now();
    assert_eq!(ws.recv_close().await, Some((1001, "Going away".into())));
    assert!(started.elapsed() >= Duration::from_secs(600));
}

#[tokio::test(start_paused = true)]
async fn messages_reset_the_idle_timer() {
    let gw = TestGateway::start(&api("idleTimeoutSeconds = 600")).await;
    let mut ws = gw.connect("/t/dev").await;
    ws.patience = Duration::from_secs(24 * 3600);
    let started = tokio::time::Instant::now();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(400)).await;
        ws.send_text("keep me").await;
        assert_eq!(ws.recv_text().await, "keep me");
    }
    assert_eq!(ws.recv_close().await, Some((1001, "Going away".into())));
    assert!(started.elapsed() >= Duration::from_secs(1800));
}

#[tokio::test(start_paused = true)]
async fn the_lifetime_limit_closes_even_a_busy_connection() {
    let gw = TestGateway::start(&api(
        "idleTimeoutSeconds = 600, maxConnectionSeconds = 7200",
    ))
    .await;
    let mut ws = gw.connect("/t/dev").await;
    ws.patience = Duration::from_secs(24 * 3600);
    let started = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(500)).await;
        ws.send_text("busy").await;
        match ws.next_message().await {
            Some(tokio_tungstenite::tungstenite::Message::Text(t)) => {
                assert_eq!(t.as_str(), "busy")
            }
            Some(tokio_tungstenite::tungstenite::Message::Close(Some(f))) => {
                assert_eq!(u16::from(f.code), 1001);
                assert_eq!(f.reason.as_str(), "Going away");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(7200), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(7800), "{elapsed:?}");
}
