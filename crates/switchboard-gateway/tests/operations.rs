//! Running it in production (docs/behaviour.md §9, §10): route throttles observed from the outside with
//! paused time, connection admission limits, access-log lines parsed back field by field,
//! `/metrics` parsed as Prometheus text, readiness during shutdown, and reloads.

use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use switchboard_core::config::Config;
use switchboard_testkit::{eventually, ConnectError, TestGateway, WsClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// MOCK echo routes `echo`, `other` and `$default` (all two-way), a `fail` route whose backend
/// is down, and `$connect`/`$disconnect` MOCKs; `stage` is spliced into the stage table.
fn api(stage: &str, with_default: bool) -> String {
    let default_route = if with_default {
        "[apis.t.routes.\"$default\"]\ntarget = \"integrations/echo\"\nrouteResponseSelectionExpression = \"$default\""
    } else {
        ""
    };
    format!(
        r#"
[apis.t]
routeSelectionExpression = "$request.body.action"
[apis.t.stages.dev]
{stage}
[apis.t.integrations.echo]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '$input.body' }} }} }}
[apis.t.integrations.ok]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
[apis.t.integrations.down]
integrationType = "HTTP_PROXY"
integrationUri = "http://127.0.0.1:{port}/down"
timeoutInMillis = 5000
[apis.t.routes."$connect"]
target = "integrations/ok"
[apis.t.routes."$disconnect"]
target = "integrations/ok"
[apis.t.routes.echo]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
[apis.t.routes.other]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
[apis.t.routes.fail]
target = "integrations/down"
{default_route}
"#,
        port = DOWN_PORT.with(|p| *p),
    )
}

thread_local! {
    /// A port nothing listens on (taken once per test thread; only refused connections matter).
    static DOWN_PORT: u16 = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9);
}

fn msg(action: &str) -> String {
    format!(r#"{{"action":"{action}"}}"#)
}

/// Sends `action` and returns the reply text.
async fn ask(ws: &mut WsClient, action: &str) -> String {
    ws.send_text(&msg(action)).await;
    ws.recv_text().await
}

fn is_throttled(reply: &str) -> bool {
    serde_json::from_str::<Value>(reply)
        .map(|v| v["message"] == "Too Many Requests")
        .unwrap_or(false)
}

/// A client for paused-time tests: its timeouts must outlast the gateway's own timers.
async fn patient(gw: &TestGateway) -> WsClient {
    let mut ws = gw.connect("/t/dev").await;
    ws.patience = Duration::from_secs(24 * 3600);
    ws
}

// === throttling ===

#[tokio::test(start_paused = true)]
async fn a_route_allows_its_burst_then_its_rate_and_stays_open() {
    let gw = TestGateway::start(&api(
        "defaultRouteSettings = { throttlingBurstLimit = 3, throttlingRateLimit = 2.0 }",
        true,
    ))
    .await;
    let mut ws = patient(&gw).await;
    let started = tokio::time::Instant::now();
    for _ in 0..3 {
        assert_eq!(ask(&mut ws, "echo").await, msg("echo"));
    }
    let reply = ask(&mut ws, "echo").await;
    // Nothing in the burst may have taken virtual time, or the bucket refilled under us.
    assert_eq!(started.elapsed(), Duration::ZERO);
    let frame: Value = serde_json::from_str(&reply).expect("throttle frame is JSON");
    assert_eq!(frame["message"], "Too Many Requests");
    assert_eq!(frame["connectionId"].as_str().map(str::len), Some(16));
    assert_ne!(frame["requestId"], frame["connectionId"]);
    // The exact spacing of the other error frames (docs/behaviour.md §6).
    assert!(reply.starts_with(r#"{"message": "Too Many Requests", "connectionId":""#));

    // Rate 2/s: half a second buys exactly one more message.
    tokio::time::advance(Duration::from_millis(500)).await;
    assert_eq!(ask(&mut ws, "echo").await, msg("echo"));
    assert!(is_throttled(&ask(&mut ws, "echo").await));
    // The connection stayed open all along.
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(ask(&mut ws, "echo").await, msg("echo"));
}

#[tokio::test(start_paused = true)]
async fn route_settings_override_the_stage_default_with_their_own_bucket() {
    let gw = TestGateway::start(&api(
        r#"defaultRouteSettings = { throttlingBurstLimit = 1, throttlingRateLimit = 1.0 }
routeSettings = { other = { throttlingBurstLimit = 4 }, "$connect" = { throttlingBurstLimit = 10 } }"#,
        true,
    ))
    .await;
    let mut ws = patient(&gw).await;
    assert_eq!(ask(&mut ws, "echo").await, msg("echo"));
    assert!(is_throttled(&ask(&mut ws, "echo").await));
    // `other` has its own bucket of 4, untouched by `echo`'s.
    for _ in 0..4 {
        assert_eq!(ask(&mut ws, "other").await, msg("other"));
    }
    assert!(is_throttled(&ask(&mut ws, "other").await));
    // `$default` gets the stage default, in a bucket of its own.
    assert_eq!(
        ask(&mut ws, "nothing-matches").await,
        msg("nothing-matches")
    );
    assert!(is_throttled(&ask(&mut ws, "nothing-matches").await));
    // Buckets belong to the stage's route, not to a connection.
    let mut second = patient(&gw).await;
    assert!(is_throttled(&ask(&mut second, "echo").await));
}

#[tokio::test]
async fn messages_never_select_the_lifecycle_routes_or_spend_their_throttle() {
    let gw = TestGateway::start(&api(
        r#"routeSettings = { "$connect" = { throttlingBurstLimit = 2, throttlingRateLimit = 0.0001 } }"#,
        true,
    ))
    .await;
    let mut ws = gw.connect("/t/dev").await;
    // `$connect` and `$disconnect` as message keys fall to `$default` (here an echo), many
    // times over, without touching the `$connect` bucket.
    for _ in 0..5 {
        assert_eq!(ask(&mut ws, "$connect").await, msg("$connect"));
        assert_eq!(ask(&mut ws, "$disconnect").await, msg("$disconnect"));
    }
    // One token of two was spent by the first connection: a second still gets in.
    let _second = gw.connect("/t/dev").await;
}

#[tokio::test]
async fn a_lifecycle_key_without_a_default_route_is_forbidden() {
    let gw = TestGateway::start(&api("", false)).await;
    let mut ws = gw.connect("/t/dev").await;
    let reply = ask(&mut ws, "$connect").await;
    assert!(reply.starts_with(r#"{"message": "Forbidden""#), "{reply}");
}

#[tokio::test]
async fn a_throttled_connect_is_refused_with_429_before_its_integration() {
    let gw = TestGateway::start(&api(
        r#"routeSettings = { "$connect" = { throttlingBurstLimit = 1, throttlingRateLimit = 0.0001 } }"#,
        true,
    ))
    .await;
    let _first = gw.connect("/t/dev").await;
    match gw.try_connect("/t/dev").await {
        Err(ConnectError::Refused(429, body)) => {
            assert_eq!(body, r#"{"message":"Too Many Requests"}"#)
        }
        Err(e) => panic!("expected 429, got {e:?}"),
        Ok(_) => panic!("expected 429, got a connection"),
    }
}

#[tokio::test]
async fn connections_per_ip_and_new_connections_per_second_are_limited() {
    let per_ip = format!(
        "[server.limits]\nmaxConnectionsPerIp = 2\n{}",
        api("", true)
    );
    let gw = TestGateway::start(&per_ip).await;
    let first = gw.connect("/t/dev").await;
    let _second = gw.connect("/t/dev").await;
    assert!(matches!(
        gw.try_connect("/t/dev").await,
        Err(ConnectError::Refused(429, _))
    ));
    first.close(Some(1000), "").await;
    eventually("a slot is free again", || async {
        gw.try_connect("/t/dev").await.ok()
    })
    .await;

    let rate = format!(
        "[server.limits]\nnewConnectionsPerSecond = 0.0001\n{}",
        api("", true)
    );
    let gw = TestGateway::start(&rate).await;
    let _only = gw.connect("/t/dev").await;
    assert!(matches!(
        gw.try_connect("/t/dev").await,
        Err(ConnectError::Refused(429, _))
    ));
}

#[tokio::test]
async fn the_management_api_rate_limit_answers_limit_exceeded() {
    let toml = format!(
        "[management]\nrateLimit = {{ rate = 0.0001, burst = 2 }}\n{}",
        api("", true)
    );
    let gw = TestGateway::start(&toml).await;
    let path = "/t/dev/@connections/AAAAAAAAAAAAAAA=";
    assert_eq!(gw.management("GET", path, b"").await.0, 410);
    assert_eq!(gw.management("GET", path, b"").await.0, 410);
    let (status, body) = gw.management("GET", path, b"").await;
    assert_eq!(status, 429);
    let body: Value = serde_json::from_slice(&body).expect("JSON body");
    assert!(body["message"].as_str().is_some());
    // Health and metrics stay reachable while the API is limited.
    assert_eq!(gw.management("GET", "/health", b"").await.0, 200);
}

// === access logs ===

const LOG_FORMAT: &str = r#"{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId","connectionId":"$context.connectionId","eventType":"$context.eventType","routeKey":"$context.routeKey","status":"$context.status","integrationLatency":"$context.integrationLatency","integration.latency":"$context.integration.latency","integrationStatus":"$context.integration.status","requestTime":"$context.requestTime","requestTimeEpoch":"$context.requestTimeEpoch","sourceIp":"$context.identity.sourceIp","userAgent":"$context.identity.userAgent","apiId":"$context.apiId","stage":"$context.stage","messageId":"$context.messageId","error":"$context.error.message","responseType":"$context.error.responseType","integrationError":"$context.integration.error","authorizer":"$context.authorizer.principalId","waf":"$context.waf.status","responseLatency":"$context.responseLatency"}"#;

fn temp_log(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "switchboard-{name}-{}-{}.log",
        std::process::id(),
        rand_suffix()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn log_stage(path: &std::path::Path, format: &str, extra: &str) -> String {
    format!(
        "accessLogSettings = {{ format = '{format}', destination = '{}' }}\n{extra}",
        path.display()
    )
}

/// The log's lines, parsed, once there are at least `n`.
async fn log_lines(path: &std::path::Path, n: usize) -> Vec<Value> {
    eventually(&format!("{n} access-log lines"), || async {
        let text = std::fs::read_to_string(path).ok()?;
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}")))
            .collect();
        (lines.len() >= n).then_some(lines)
    })
    .await
}

#[tokio::test]
async fn every_event_writes_one_access_log_line_with_its_fields() {
    let path = temp_log("events");
    let stage = log_stage(
        &path,
        LOG_FORMAT,
        r#"routeSettings = { other = { throttlingBurstLimit = 0, throttlingRateLimit = 0.0 } }"#,
    );
    let gw = TestGateway::start(&api(&stage, false)).await;
    let mut ws = WsClient::connect_with(&gw.url("/t/dev"), &[("User-Agent", "tester/1.0")])
        .await
        .expect("connect");
    assert_eq!(ask(&mut ws, "echo").await, msg("echo"));
    assert!(is_throttled(&ask(&mut ws, "other").await));
    let forbidden: Value = serde_json::from_str(&ask(&mut ws, "nope").await).expect("frame");
    assert_eq!(forbidden["message"], "Forbidden");
    let failed: Value = serde_json::from_str(&ask(&mut ws, "fail").await).expect("frame");
    assert_eq!(failed["message"], "Internal server error");
    ws.close(Some(1000), "bye").await;

    let lines = log_lines(&path, 6).await;
    assert_eq!(lines.len(), 6, "{lines:#?}");
    let field = |line: &Value, name: &str| line[name].as_str().unwrap_or("<absent>").to_owned();
    let connect = &lines[0];
    let connection_id = field(connect, "connectionId");
    assert_eq!(connection_id.len(), 16);
    for line in &lines {
        assert_eq!(field(line, "connectionId"), connection_id);
        assert_eq!(field(line, "apiId"), "t");
        assert_eq!(field(line, "stage"), "dev");
        assert_eq!(field(line, "sourceIp"), "127.0.0.1");
        assert_eq!(field(line, "userAgent"), "tester/1.0");
        assert_eq!(field(line, "requestId"), field(line, "extendedRequestId"));
        assert_eq!(field(line, "requestId").len(), 16);
        assert_eq!(
            field(line, "integration.latency"),
            field(line, "integrationLatency")
        );
        // Not applicable to WebSocket, or no value here: a dash, as AWS writes.
        assert_eq!(field(line, "authorizer"), "-");
        assert_eq!(field(line, "waf"), "-");
        assert_eq!(field(line, "responseLatency"), "-");
        let epoch: i64 = field(line, "requestTimeEpoch").parse().expect("epoch");
        assert_eq!(
            field(line, "requestTime"),
            switchboard_core::context::clf_time(epoch)
        );
    }
    let check = |line: &Value, event: &str, route: &str, status: &str| {
        assert_eq!(field(line, "eventType"), event, "{line}");
        assert_eq!(field(line, "routeKey"), route, "{line}");
        assert_eq!(field(line, "status"), status, "{line}");
    };
    check(connect, "CONNECT", "$connect", "200");
    assert_eq!(field(connect, "messageId"), "-");
    assert_eq!(field(connect, "integrationStatus"), "200");
    assert!(field(connect, "integrationLatency").parse::<u64>().is_ok());

    check(&lines[1], "MESSAGE", "echo", "200");
    assert_ne!(field(&lines[1], "messageId"), "-");
    assert_eq!(field(&lines[1], "error"), "-");

    check(&lines[2], "MESSAGE", "other", "429");
    assert_eq!(field(&lines[2], "error"), "Too Many Requests");
    assert_eq!(field(&lines[2], "responseType"), "THROTTLED");
    assert_eq!(field(&lines[2], "integrationLatency"), "-");

    check(&lines[3], "MESSAGE", "-", "403");
    assert_eq!(field(&lines[3], "error"), "Forbidden");
    assert_eq!(field(&lines[3], "requestId"), forbidden["requestId"]);

    check(&lines[4], "MESSAGE", "fail", "500");
    assert_eq!(field(&lines[4], "error"), "Internal server error");
    assert_eq!(field(&lines[4], "requestId"), failed["requestId"]);
    assert!(field(&lines[4], "integrationError").contains("unreachable"));

    check(&lines[5], "DISCONNECT", "$disconnect", "200");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_refused_connect_is_logged_with_its_status() {
    let path = temp_log("refused");
    let stage = log_stage(
        &path,
        "$context.eventType $context.routeKey $context.status $context.error.responseType $context.requestId",
        r#"routeSettings = { "$connect" = { throttlingBurstLimit = 1, throttlingRateLimit = 0.0001 } }"#,
    );
    let gw = TestGateway::start(&api(&stage, true)).await;
    let _ok = gw.connect("/t/dev").await;
    assert!(gw.try_connect("/t/dev").await.is_err());
    let text = eventually("two lines", || async {
        std::fs::read_to_string(&path)
            .ok()
            .filter(|t| t.lines().count() >= 2)
    })
    .await;
    // The request id closes each line: 16 characters, different per event.
    let lines: Vec<&str> = text.lines().map(|l| &l[..l.len() - 17]).collect();
    assert_eq!(
        lines,
        ["CONNECT $connect 200 -", "CONNECT $connect 429 THROTTLED"]
    );
    let ids: Vec<&str> = text.lines().map(|l| &l[l.len() - 16..]).collect();
    assert_ne!(ids[0], ids[1]);
    let _ = std::fs::remove_file(&path);
}

// === metrics ===

/// One sample of the exposition: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A strict parser of the Prometheus / OpenMetrics text format: every line is a comment
/// (`# HELP`, `# TYPE`, `# UNIT`, `# EOF`) or `name{label="value",…} value`.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut saw_eof = false;
    for line in text.lines() {
        assert!(!saw_eof, "text after # EOF: {line}");
        if line == "# EOF" {
            saw_eof = true;
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap_or_default();
            assert!(
                ["HELP", "TYPE", "UNIT"].contains(&kind),
                "bad comment {line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                let mut labels = BTreeMap::new();
                let mut chars = body.chars().peekable();
                while chars.peek().is_some() {
                    let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
                    assert_eq!(chars.next(), Some('"'), "label value is quoted in {line}");
                    let mut value = String::new();
                    loop {
                        match chars.next().expect("closing quote") {
                            '\\' => value.push(chars.next().expect("escaped char")),
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                    labels.insert(key, value);
                    if chars.peek() == Some(&',') {
                        chars.next();
                    }
                }
                (name.to_owned(), labels)
            }
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad name {name}"
        );
        samples.push((name, labels, value));
    }
    assert!(saw_eof, "exposition ends with # EOF");
    samples
}

/// The value of the one sample named `name` whose labels include `labels`; 0 if none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<&Sample> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(matching.len() <= 1, "{name} {labels:?} is ambiguous");
    matching.first().map(|s| s.2).unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_a_known_sequence_of_events() {
    let stage = r#"routeSettings = { echo = { detailedMetricsEnabled = true }, other = { throttlingBurstLimit = 0, throttlingRateLimit = 0.0 } }"#;
    let gw = TestGateway::start(&api(stage, false)).await;
    let mut ws = gw.connect("/t/dev").await;
    assert_eq!(ask(&mut ws, "echo").await, msg("echo"));
    assert_eq!(ask(&mut ws, "echo").await, msg("echo"));
    assert!(is_throttled(&ask(&mut ws, "other").await));
    let forbidden: Value = serde_json::from_str(&ask(&mut ws, "nope").await).expect("frame");
    assert!(ask(&mut ws, "fail").await.contains("Internal server error"));
    let id = forbidden["connectionId"].as_str().expect("id").to_owned();
    let push = format!("/t/dev/@connections/{id}");
    assert_eq!(gw.management("POST", &push, b"pushed!").await.0, 200);
    assert_eq!(ws.recv_text().await, "pushed!");
    assert_eq!(
        gw.management("POST", "/t/dev/@connections/AAAAAAAAAAAAAAA=", b"x")
            .await
            .0,
        410
    );

    let (status, body) = gw.management("GET", "/metrics", b"").await;
    assert_eq!(status, 200);
    let samples = parse_exposition(&String::from_utf8(body).expect("UTF-8"));
    let stage = [("api", "t"), ("stage", "dev")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        stage.iter().chain(extra).copied().collect()
    };
    assert_eq!(value(&samples, "switchboard_connections_open", &stage), 1.0);
    assert_eq!(value(&samples, "switchboard_connects_total", &stage), 1.0);
    // In: two to the detailed `echo` route; `other`, the unrouted one and `fail` count into
    // the stage-level series (route label empty).
    let inbound = |route| with(&[("direction", "in"), ("route", route)]);
    assert_eq!(
        value(&samples, "switchboard_messages_total", &inbound("echo")),
        2.0
    );
    assert_eq!(
        value(&samples, "switchboard_messages_total", &inbound("")),
        3.0
    );
    assert_eq!(
        value(
            &samples,
            "switchboard_message_bytes_total",
            &inbound("echo")
        ),
        2.0 * msg("echo").len() as f64
    );
    // Out: two echoes, the throttle, Forbidden and Internal server error frames, one push.
    let out = with(&[("direction", "out")]);
    assert_eq!(value(&samples, "switchboard_messages_total", &out), 6.0);
    let out_bytes = value(&samples, "switchboard_message_bytes_total", &out);
    assert!(out_bytes > (2 * msg("echo").len() + "pushed!".len()) as f64);
    let stage_level = with(&[("route", "")]);
    assert_eq!(
        value(&samples, "switchboard_throttled_total", &stage_level),
        1.0
    );
    assert_eq!(
        value(&samples, "switchboard_client_errors_total", &stage_level),
        2.0
    );
    assert_eq!(
        value(
            &samples,
            "switchboard_integration_errors_total",
            &stage_level
        ),
        1.0
    );
    assert_eq!(
        value(&samples, "switchboard_execution_errors_total", &stage_level),
        0.0
    );
    let echo = with(&[("route", "echo")]);
    assert_eq!(
        value(&samples, "switchboard_client_errors_total", &echo),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            "switchboard_integration_latency_seconds_count",
            &echo
        ),
        2.0
    );
    // `$connect` and `fail` ran integrations without detailed metrics.
    assert_eq!(
        value(
            &samples,
            "switchboard_integration_latency_seconds_count",
            &stage_level
        ),
        2.0
    );
    let inf = with(&[("route", "echo"), ("le", "+Inf")]);
    assert_eq!(
        value(
            &samples,
            "switchboard_integration_latency_seconds_bucket",
            &inf
        ),
        2.0
    );
    let post = |status| [("operation", "PostToConnection"), ("status", status)];
    assert_eq!(
        value(&samples, "switchboard_management_calls_total", &post("200")),
        1.0
    );
    assert_eq!(
        value(&samples, "switchboard_management_calls_total", &post("410")),
        1.0
    );
    assert_eq!(
        value(&samples, "switchboard_access_log_dropped_total", &[]),
        0.0
    );
    // Without detailed metrics no series names `other` or `fail`.
    assert!(samples
        .iter()
        .all(|(_, l, _)| !matches!(l.get("route").map(String::as_str), Some("other" | "fail"))));

    ws.close(Some(1000), "").await;
    eventually("the gauge drops", || async {
        let (_, body) = gw.management("GET", "/metrics", b"").await;
        let samples = parse_exposition(&String::from_utf8(body).ok()?);
        (value(&samples, "switchboard_connections_open", &stage) == 0.0).then_some(())
    })
    .await;
}

// === readiness ===

/// `GET path` on the management listener, by hand (the handle is consumed by shutdown).
async fn get_status(addr: std::net::SocketAddr, path: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line")
}

#[tokio::test]
async fn ready_turns_503_when_shutdown_begins_before_connections_close() {
    let toml = format!(
        "[server.limits]\ndrainDelaySeconds = 3600\n{}",
        api("", true)
    );
    let gw = TestGateway::start(&toml).await;
    let mgmt = gw.handle.mgmt_addr;
    let mut ws = gw.connect("/t/dev").await;
    assert_eq!(get_status(mgmt, "/ready").await, 200);
    assert_eq!(get_status(mgmt, "/health").await, 200);
    let shutdown = tokio::spawn(gw.handle.shutdown(Duration::from_secs(5)));
    eventually("/ready answers 503", || async {
        (get_status(mgmt, "/ready").await == 503).then_some(())
    })
    .await;
    // Draining: still alive, and the open connection is still served, not closed.
    assert_eq!(get_status(mgmt, "/health").await, 200);
    assert_eq!(ask(&mut ws, "echo").await, msg("echo"));
    assert!(!shutdown.is_finished());
    shutdown.abort();
}

#[tokio::test(start_paused = true)]
async fn connections_close_with_1001_after_the_drain_delay() {
    let toml = format!("[server.limits]\ndrainDelaySeconds = 30\n{}", api("", true));
    let gw = TestGateway::start(&toml).await;
    let mut ws = patient(&gw).await;
    let started = tokio::time::Instant::now();
    let shutdown = tokio::spawn(gw.handle.shutdown(Duration::from_secs(5)));
    assert_eq!(ws.recv_close().await, Some((1001, "Going away".into())));
    assert!(started.elapsed() >= Duration::from_secs(30));
    assert!(shutdown.await.expect("shutdown task"));
}

// === reload ===

#[tokio::test(start_paused = true)]
async fn reload_applies_new_throttles_and_log_formats_without_dropping_connections() {
    let path = temp_log("reload");
    let before = api(
        &log_stage(
            &path,
            "one $context.routeKey $context.status $context.requestId",
            "defaultRouteSettings = { throttlingBurstLimit = 1, throttlingRateLimit = 0.001 }",
        ),
        true,
    );
    let gw = TestGateway::start(&before).await;
    let mut ws = patient(&gw).await;
    assert_eq!(ask(&mut ws, "echo").await, msg("echo"));
    assert!(is_throttled(&ask(&mut ws, "echo").await));

    // Same limits for `echo`: its bucket is kept (still empty); `other` gets a bigger burst.
    let after = api(
        &log_stage(
            &path,
            "two $context.routeKey $context.status $context.requestId",
            r#"defaultRouteSettings = { throttlingBurstLimit = 1, throttlingRateLimit = 0.001 }
routeSettings = { other = { throttlingBurstLimit = 3 } }"#,
        ),
        true,
    );
    let mut config = Config::from_toml_str(&after, "test.toml").expect("config");
    config.server.listen = "127.0.0.1:0".into();
    config.management.listen = "127.0.0.1:0".into();
    gw.handle.reload(config).expect("reload");
    assert!(is_throttled(&ask(&mut ws, "echo").await));
    for _ in 0..3 {
        assert_eq!(ask(&mut ws, "other").await, msg("other"));
    }
    let text = eventually("lines in both formats", || async {
        std::fs::read_to_string(&path)
            .ok()
            .filter(|t| t.lines().count() >= 7)
    })
    .await;
    let lines: Vec<&str> = text.lines().map(|l| &l[..l.len() - 17]).collect();
    assert_eq!(
        lines,
        [
            "one $connect 200",
            "one echo 200",
            "one echo 429",
            "two echo 429",
            "two other 200",
            "two other 200",
            "two other 200",
        ]
    );
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn shutdown_returns_only_after_the_last_access_log_lines_are_written() {
    let path = temp_log("shutdown");
    let stage = log_stage(&path, "$context.eventType $context.requestId", "");
    let gw = TestGateway::start(&api(&stage, true)).await;
    let mut ws = gw.connect("/t/dev").await;
    assert_eq!(ask(&mut ws, "echo").await, msg("echo"));
    assert!(gw.handle.shutdown(Duration::from_secs(5)).await);
    // No waiting here: shutdown flushed the writer.
    let text = std::fs::read_to_string(&path).expect("log file");
    let events: Vec<&str> = text
        .lines()
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(events, ["CONNECT", "MESSAGE", "DISCONNECT"]);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn without_connect_and_disconnect_routes_both_events_are_still_logged() {
    let path = temp_log("routeless");
    let toml = format!(
        r#"
[apis.t]
routeSelectionExpression = "$request.body.action"
[apis.t.stages.dev]
{}
[apis.t.integrations.echo]
integrationType = "MOCK"
requestTemplates = {{ "$default" = '{{"statusCode": 200}}' }}
integrationResponses = {{ "$default" = {{ responseTemplates = {{ "$default" = '$input.body' }} }} }}
[apis.t.routes."$default"]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
"#,
        log_stage(
            &path,
            "$context.eventType $context.routeKey $context.status $context.integrationLatency $context.requestId",
            ""
        )
    );
    let gw = TestGateway::start(&toml).await;
    let mut ws = gw.connect("/t/dev").await;
    assert_eq!(ask(&mut ws, "x").await, msg("x"));
    ws.close(Some(1000), "").await;
    let text = eventually("three lines", || async {
        std::fs::read_to_string(&path)
            .ok()
            .filter(|t| t.lines().count() >= 3)
    })
    .await;
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0][..4], ["CONNECT", "$connect", "200", "-"]);
    assert_eq!(lines[1][..3], ["MESSAGE", "$default", "200"]);
    assert!(lines[1][3].parse::<u64>().is_ok(), "{text}");
    assert_eq!(lines[2][..4], ["DISCONNECT", "$disconnect", "200", "-"]);
    let _ = std::fs::remove_file(&path);
}
