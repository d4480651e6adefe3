//! Per-message cost of the issue-7 hooks (throttle, metrics, access log) in isolation:
//! `cargo run --release -p switchboard-gateway --example ops_overhead`. A measurement, not a test.
use std::sync::Arc;
use switchboard_core::config::Config;
use switchboard_core::context::{now_millis, ConnectionInfo, EventType, RequestContext};
use switchboard_core::ids::AwsId;
use switchboard_gateway::integrations::{IntegrationReply, Invocation};
use switchboard_gateway::metrics::Metrics;
use switchboard_gateway::ops::{attach, GatewayOps};
use switchboard_gateway::outbound::Outbound;
use switchboard_gateway::runtime::Runtime;

const BASE: &str = r#"
[apis.t]
routeSelectionExpression = "$request.body.action"
[apis.t.stages.dev]
defaultRouteSettings = { throttlingBurstLimit = 1000000, throttlingRateLimit = 10000000.0 }
LOG
[apis.t.integrations.ok]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }
[apis.t.routes."$default"]
target = "integrations/ok"
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    for (label, log) in [
        ("metrics+throttle", ""),
        (
            "metrics+throttle+access log (/dev/null)",
            r#"accessLogSettings = { destination = "/dev/null", format = '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","eventType":"$context.eventType","routeKey":"$context.routeKey","status":"$context.status","connectionId":"$context.connectionId","integrationLatency":"$context.integrationLatency"}' }"#,
        ),
    ] {
        let config = Config::from_toml_str(&BASE.replace("LOG", log), "x.toml").expect("config");
        let ops = GatewayOps::start(&config, Arc::new(Metrics::default()));
        let mut runtime = Runtime::build(config, None).expect("build");
        attach(&mut runtime, &ops, None);
        let stage = Arc::clone(&runtime.apis["t"].stages["dev"]);
        let info = ConnectionInfo {
            connection_id: AwsId::random(),
            connected_at: now_millis(),
            api_id: "t".into(),
            stage: "dev".into(),
            domain_name: "localhost".into(),
            source_ip: "127.0.0.1".parse().expect("ip"),
            user_agent: None,
            caller: Default::default(),
            authorizer: None,
        };
        let reply = Outbound::Text("x".repeat(64).into());
        let n = 1_000_000u32;
        let baseline = std::time::Instant::now();
        for _ in 0..n {
            let ctx = RequestContext::new(&info, EventType::Message, "$default");
            std::hint::black_box(&ctx);
        }
        println!(
            "  RequestContext::new alone (exists without issue 7): {:?}",
            baseline.elapsed() / n
        );
        let started = std::time::Instant::now();
        for i in 0..n {
            assert!(stage.ops.admit_message(&info, "$default", 64).is_none());
            let ctx = RequestContext::new(&info, EventType::Message, "$default");
            let inv = Invocation {
                ctx: &ctx,
                body: "{}",
                is_base64: false,
                stage: &stage,
                handshake: None,
            };
            let _ = stage
                .ops
                .observe(&inv, async {
                    Ok(IntegrationReply {
                        status: 200,
                        subprotocol: None,
                        join_groups: None,
                        body: None,
                    })
                })
                .await;
            stage.ops.sent(&reply);
            if i % 256 == 0 {
                tokio::task::yield_now().await; // let the log writer run
            }
        }
        let per = started.elapsed() / n;
        println!(
            "{label}: {per:?} per message ({} lines dropped)",
            ops.metrics.access_log_dropped.get()
        );
    }
}
