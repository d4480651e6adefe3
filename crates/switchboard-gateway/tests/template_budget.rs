//! Expensive mapping templates (docs/configuration.md `[server.limits]`): a render is bounded
//! by its step, output and time budget, and one that proves costly finishes away from the I/O
//! workers, so other clients keep being served.

use std::time::Duration;
use switchboard_testkit::{TestGateway, WsClient};
use tokio::time::Instant;

/// `heavy` answers with a template of two million steps (the hardening report's attack),
/// `medium` with one of 300,000 (more than the default budget); everything else is echoed.
fn api(limits: &str) -> String {
    format!(
        r#"
[server.limits]
{limits}
[apis.t]
routeSelectionExpression = "$request.body.action"
[apis.t.stages.dev]
[apis.t.integrations.echo]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '$input.body' }} }} }}
[apis.t.integrations.heavy]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '#foreach($a in [1..2000])#foreach($b in [1..1000])#end#end done' }} }} }}
[apis.t.integrations.medium]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '#foreach($a in [1..300])#foreach($b in [1..1000])#end#end done' }} }} }}
[apis.t.routes."$default"]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
[apis.t.routes.heavy]
target = "integrations/heavy"
routeResponseSelectionExpression = "$default"
[apis.t.routes.medium]
target = "integrations/medium"
routeResponseSelectionExpression = "$default"
"#
    )
}

const HEAVY: &str = r#"{"action":"heavy"}"#;

fn is_internal_error(frame: &str) -> bool {
    frame.starts_with(r#"{"message": "Internal server error""#)
}

/// Two workers, as on the 2-core machine of the hardening report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_clients_on_a_pathological_template_do_not_stall_another_clients_echo() {
    let gw = TestGateway::start(&api("")).await;
    let mut victim = gw.connect("/t/dev").await;
    let mut attackers: Vec<WsClient> = Vec::new();
    for _ in 0..10 {
        attackers.push(gw.connect("/t/dev").await);
    }
    for attacker in &mut attackers {
        for _ in 0..3 {
            attacker.send_text(HEAVY).await;
        }
    }
    // A liveness bound, not a speed measurement: rendered on the I/O workers, the thirty
    // renders ahead of this echo hold both workers for many seconds.
    let started = Instant::now();
    victim.send_text(r#"{"say":"still here"}"#).await;
    assert_eq!(victim.recv_text().await, r#"{"say":"still here"}"#);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(3),
        "the echo took {waited:?} while the templates rendered"
    );
    // The budget stops every pathological render: each attacker gets its error frames.
    for attacker in &mut attackers {
        for _ in 0..3 {
            let frame = attacker.recv_text().await;
            assert!(is_internal_error(&frame), "{frame}");
        }
    }
}

const MEDIUM: &str = r#"{"action":"medium"}"#;

#[tokio::test]
async fn a_demanding_user_can_raise_the_budget() {
    let gw = TestGateway::start(&api("")).await;
    let mut ws = gw.connect("/t/dev").await;
    ws.send_text(MEDIUM).await;
    assert!(is_internal_error(&ws.recv_text().await));
    // A million steps and a clock no debug build reaches: the same template finishes.
    let gw = TestGateway::start(&api(
        "maxTemplateSteps = 1000000\ntemplateTimeoutMillis = 600000",
    ))
    .await;
    let mut ws = gw.connect("/t/dev").await;
    ws.send_text(MEDIUM).await;
    assert_eq!(ws.recv_text().await, " done");
}

#[tokio::test]
async fn a_small_step_budget_fails_the_render_with_an_internal_server_error() {
    let gw = TestGateway::start(&api("maxTemplateSteps = 100")).await;
    let mut ws = gw.connect("/t/dev").await;
    ws.send_text(HEAVY).await;
    assert!(is_internal_error(&ws.recv_text().await));
    // Cheap renders are untouched by it.
    ws.send_text("hello").await;
    assert_eq!(ws.recv_text().await, "hello");
}

#[tokio::test]
async fn the_output_budget_fails_a_reply_larger_than_it() {
    let gw = TestGateway::start(&api("maxTemplateOutputBytes = 32")).await;
    let mut ws = gw.connect("/t/dev").await;
    let fits = "0123456789abcdef0123456789abcdef";
    ws.send_text(fits).await;
    assert_eq!(ws.recv_text().await, fits);
    ws.send_text(&format!("{fits}!")).await;
    assert!(is_internal_error(&ws.recv_text().await));
}
