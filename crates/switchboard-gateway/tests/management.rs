//! The management listener's own endpoints: `/health`, `/metrics`, and the `@connections`
//! operations as seen from a plain HTTP client (the SDK suites live in tests/compat and tests/js).

use switchboard_testkit::TestGateway;

const API: &str = r#"
[apis.m]
routeSelectionExpression = "$request.body.action"
[apis.m.stages.dev]
[apis.m.integrations.who]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }
integrationResponses = { "$default" = { responseTemplates = { "$default" = '$context.connectionId' } } }
[apis.m.routes."$default"]
target = "integrations/who"
routeResponseSelectionExpression = "$default"
"#;

/// The value of one sample line of the text exposition, e.g. `switchboard_pushes_total{result="gone"}`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test]
async fn health_and_metrics_report_connections_and_pushes_by_result() {
    let gw = TestGateway::start(API).await;
    let (status, body) = gw.management("GET", "/health", b"").await;
    assert_eq!((status, body.as_slice()), (200, &br#"{"status":"ok"}"#[..]));

    let mut ws = gw.connect("/m/dev").await;
    ws.send_text("who").await;
    let id = ws.recv_text().await.replace('=', "%3D");
    for _ in 0..3 {
        assert_eq!(
            gw.management("POST", &format!("/dev/@connections/{id}"), b"x")
                .await
                .0,
            200
        );
        assert_eq!(ws.recv_text().await, "x");
    }
    let gone = "AAAAAAAAAAAAAAA%3D";
    assert_eq!(
        gw.management("POST", &format!("/dev/@connections/{gone}"), b"x")
            .await
            .0,
        410
    );
    let (status, text) = gw.management("GET", "/metrics", b"").await;
    assert_eq!(status, 200);
    let text = String::from_utf8(text).expect("utf-8");
    assert_eq!(
        sample(
            &text,
            r#"switchboard_connections_open{api="m",stage="dev"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"switchboard_pushes_total{result="delivered"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"switchboard_pushes_total{result="gone"}"#),
        Some(1.0),
        "a push to an unknown id is a push that found its connection gone"
    );
    assert_eq!(
        sample(
            &text,
            r#"switchboard_management_calls_total{operation="PostToConnection",status="410"}"#
        ),
        Some(1.0),
        "{text}"
    );
    ws.close(Some(1000), "").await;
    let text = switchboard_testkit::eventually("the gauge drops to 0", || async {
        let (_, t) = gw.management("GET", "/metrics", b"").await;
        let t = String::from_utf8(t).ok()?;
        (sample(&t, r#"switchboard_connections_open{api="m",stage="dev"}"#) == Some(0.0))
            .then_some(t)
    })
    .await;
    assert_eq!(
        sample(&text, r#"switchboard_connects_total{api="m",stage="dev"}"#),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_connection_of_another_stage_is_gone_and_a_wrong_path_is_forbidden() {
    let gw = TestGateway::start(&API.replace(
        "[apis.m.stages.dev]",
        "[apis.m.stages.dev]\n[apis.m.stages.prod]",
    ))
    .await;
    let mut ws = gw.connect("/m/dev").await;
    ws.send_text("who").await;
    let id = ws.recv_text().await.replace('=', "%3D");
    assert_eq!(
        gw.management("GET", &format!("/m/prod/@connections/{id}"), b"")
            .await
            .0,
        410
    );
    assert_eq!(
        gw.management("GET", &format!("/m/dev/%40connections/{id}"), b"")
            .await
            .0,
        200
    );
    assert_eq!(
        gw.management("GET", &format!("/m/nope/@connections/{id}"), b"")
            .await
            .0,
        403
    );
    assert_eq!(
        gw.management("DELETE", &format!("/m/dev/@connections/{id}"), b"")
            .await
            .0,
        204
    );
    assert_eq!(ws.recv_close().await, Some((1000, String::new())));
}
