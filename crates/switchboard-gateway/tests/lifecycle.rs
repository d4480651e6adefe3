//! `$disconnect` fires exactly once per connection, after the socket is gone, with the cause
//! in `disconnectStatusCode`/`disconnectReason` (docs/behaviour.md §3.3); shutdown and reload.
//! Events are observed through an `AWS_PROXY` route whose URI is a real HTTP backend.

use serde_json::Value;
use std::time::Duration;
use switchboard_testkit::{eventually, BackendReply, HttpBackend, TestGateway};

fn api(backend: &HttpBackend, stage_extra: &str) -> String {
    format!(
        r#"
[apis.life]
routeSelectionExpression = "$request.body.action"
[apis.life.stages.dev]
{stage_extra}
[apis.life.stages.prod]
[apis.life.integrations.events]
integrationType = "AWS_PROXY"
integrationUri = "{}"
[apis.life.integrations.echo]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = 'v1' }} }} }}
[apis.life.routes."$connect"]
target = "integrations/events"
[apis.life.routes."$disconnect"]
target = "integrations/events"
[apis.life.routes."$default"]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
"#,
        backend.url("/events")
    )
}

async fn events_backend() -> HttpBackend {
    HttpBackend::start(|_| BackendReply::ok(r#"{"statusCode":200}"#)).await
}

/// DISCONNECT events received so far, as JSON.
fn disconnects(backend: &HttpBackend) -> Vec<Value> {
    backend
        .requests()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|e| e["requestContext"]["eventType"] == "DISCONNECT")
        .collect()
}

async fn one_disconnect(backend: &HttpBackend, connection_id: &str) -> Value {
    eventually("the $disconnect event", || async {
        disconnects(backend)
            .into_iter()
            .find(|e| e["requestContext"]["connectionId"] == connection_id)
    })
    .await
}

async fn connection_id(gw: &TestGateway, backend: &HttpBackend, n: usize) -> String {
    let connects = backend.wait_for_requests(n).await;
    let event: Value = serde_json::from_slice(&connects[n - 1].body).expect("event JSON");
    assert_eq!(event["requestContext"]["eventType"], "CONNECT");
    let _ = gw;
    event["requestContext"]["connectionId"]
        .as_str()
        .expect("connectionId")
        .to_owned()
}

#[tokio::test]
async fn a_client_close_code_and_reason_reach_disconnect() {
    let backend = events_backend().await;
    let gw = TestGateway::start(&api(&backend, "")).await;
    let ws = gw.connect("/life/dev").await;
    let id = connection_id(&gw, &backend, 1).await;
    ws.close(Some(4000), "bye").await;
    let event = one_disconnect(&backend, &id).await;
    assert_eq!(event["requestContext"]["disconnectStatusCode"], 4000);
    assert_eq!(event["requestContext"]["disconnectReason"], "bye");
    assert_eq!(event["requestContext"]["routeKey"], "$disconnect");
}

#[tokio::test]
async fn a_close_frame_without_status_is_1005() {
    let backend = events_backend().await;
    let gw = TestGateway::start(&api(&backend, "")).await;
    let ws = gw.connect("/life/dev").await;
    let id = connection_id(&gw, &backend, 1).await;
    ws.close(None, "").await;
    let event = one_disconnect(&backend, &id).await;
    assert_eq!(event["requestContext"]["disconnectStatusCode"], 1005);
    assert_eq!(
        event["requestContext"]["disconnectReason"],
        "Client-side close frame status not set"
    );
}

#[tokio::test]
async fn a_dead_tcp_connection_is_1006() {
    let backend = events_backend().await;
    let gw = TestGateway::start(&api(&backend, "")).await;
    let ws = gw.connect("/life/dev").await;
    let id = connection_id(&gw, &backend, 1).await;
    ws.abort();
    let event = one_disconnect(&backend, &id).await;
    assert_eq!(event["requestContext"]["disconnectStatusCode"], 1006);
}

#[tokio::test]
async fn idle_timeout_is_1001_going_away_on_both_sides() {
    let backend = events_backend().await;
    let gw = TestGateway::start(&api(&backend, "limits = { idleTimeoutSeconds = 1 }")).await;
    let mut ws = gw.connect("/life/dev").await;
    let id = connection_id(&gw, &backend, 1).await;
    assert_eq!(ws.recv_close().await, Some((1001, "Going away".into())));
    let event = one_disconnect(&backend, &id).await;
    assert_eq!(event["requestContext"]["disconnectStatusCode"], 1001);
    assert_eq!(event["requestContext"]["disconnectReason"], "Going away");
}

#[tokio::test]
async fn an_oversize_frame_closes_1009_and_disconnect_says_so() {
    let backend = events_backend().await;
    let gw = TestGateway::start(&api(&backend, "")).await;
    let mut ws = gw.connect("/life/dev").await;
    let id = connection_id(&gw, &backend, 1).await;
    ws.send_text(&"x".repeat(40_000)).await;
    assert_eq!(ws.recv_close().await.map(|c| c.0), Some(1009));
    let event = one_disconnect(&backend, &id).await;
    assert_eq!(event["requestContext"]["disconnectStatusCode"], 1009);
}

#[tokio::test]
async fn a_refused_connect_never_gets_a_disconnect() {
    let backend = HttpBackend::start(|_| BackendReply::ok(r#"{"statusCode":401}"#)).await;
    let gw = TestGateway::start(&api(&backend, "")).await;
    assert!(gw.try_connect("/life/dev").await.is_err());
    // A second, accepted connection proves the backend is reachable and events flow.
    let accepted = HttpBackend::start(|_| BackendReply::ok(r#"{"statusCode":200}"#)).await;
    let gw2 = TestGateway::start(&api(&accepted, "")).await;
    let ws = gw2.connect("/life/dev").await;
    let id = connection_id(&gw2, &accepted, 1).await;
    ws.close(Some(1000), "").await;
    one_disconnect(&accepted, &id).await;
    assert_eq!(backend.requests().len(), 1, "only the CONNECT");
    assert!(disconnects(&backend).is_empty());
}

#[tokio::test]
async fn shutdown_closes_everyone_with_1001_and_runs_every_disconnect_once() {
    let backend = events_backend().await;
    let gw = TestGateway::start(&api(&backend, "")).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(gw.connect("/life/dev").await);
    }
    backend.wait_for_requests(5).await;
    let closing = tokio::spawn(async move {
        let mut codes = Vec::new();
        for mut c in clients {
            codes.push(c.recv_close().await);
        }
        codes
    });
    let drained = gw.handle.shutdown(Duration::from_secs(20)).await;
    assert!(drained, "every connection task and $disconnect finished");
    for code in closing.await.expect("clients") {
        assert_eq!(code, Some((1001, "Going away".into())));
    }
    let events = disconnects(&backend);
    assert_eq!(events.len(), 5, "exactly one $disconnect per connection");
    let mut ids: Vec<&str> = events
        .iter()
        .filter_map(|e| e["requestContext"]["connectionId"].as_str())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    for e in &events {
        assert_eq!(e["requestContext"]["disconnectStatusCode"], 1001);
    }
}

#[tokio::test]
async fn reload_changes_routes_for_the_next_message_and_closes_removed_stages() {
    let backend = events_backend().await;
    let config = api(&backend, "");
    let gw = TestGateway::start(&config).await;
    let mut dev = gw.connect("/life/dev").await;
    let mut prod = gw.connect("/life/prod").await;
    dev.send_text("hi").await;
    assert_eq!(dev.recv_text().await, "v1");

    let changed = config
        .replace("'v1'", "'v2'")
        .replace("[apis.life.stages.prod]\n", "");
    let mut new_config =
        switchboard_core::config::Config::from_toml_str(&changed, "reload.toml").expect("valid");
    new_config.server.listen = "127.0.0.1:0".into();
    new_config.management.listen = "127.0.0.1:0".into();
    gw.handle.reload(new_config).expect("reload accepted");

    dev.send_text("hi").await;
    assert_eq!(dev.recv_text().await, "v2", "same connection, new route");
    assert_eq!(prod.recv_close().await, Some((1001, "Going away".into())));
}

#[tokio::test]
async fn shutdown_waits_for_message_integrations_in_flight() {
    let events = events_backend().await;
    let slow = HttpBackend::start(|_| BackendReply::never()).await;
    let config = format!(
        "{}\n[apis.life.integrations.slow]\nintegrationType = \"HTTP_PROXY\"\nintegrationUri = \"{}\"\ntimeoutInMillis = 3000\n[apis.life.routes.slow]\ntarget = \"integrations/slow\"\n",
        api(&events, "routeSettings = { slow = { detailedMetricsEnabled = true } }"),
        slow.url("/slow")
    );
    let gw = TestGateway::start(&config).await;
    let mut ws = gw.connect("/life/dev").await;
    ws.send_text(r#"{"action":"slow"}"#).await;
    slow.wait_for_requests(1).await;
    // The client leaves at once, so nothing but the call can hold shutdown back.
    drop(ws);
    let state = std::sync::Arc::clone(&gw.handle.state);
    let TestGateway { handle } = gw;
    assert!(handle.shutdown(Duration::from_secs(20)).await);
    // The call ended (by its timeout) before shutdown returned: its latency was observed.
    let metrics = state.metrics.encode();
    let observed = metrics
        .lines()
        .find(|l| {
            l.starts_with("switchboard_integration_latency_seconds_count{")
                && l.contains(r#"route="slow""#)
        })
        .unwrap_or_else(|| panic!("no integration latency series:\n{metrics}"));
    assert!(!observed.ends_with(" 0"), "{observed}");
}
