//! Execution logs (`loggingLevel`, `dataTraceEnabled`) and the process log's connection lines,
//! as a person reads them on the stderr of a real `switchboard serve`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use switchboard_testkit::WsClient;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
/// How long a line may take to appear before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);
const EXECUTION: &str = "switchboard::execution:";

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
[management]
listen = "127.0.0.1:0"

[apis.logs]
routeSelectionExpression = "$request.body.action"

[apis.logs.stages.off]
[apis.logs.stages.errors]
defaultRouteSettings = { loggingLevel = "ERROR" }
routeSettings = { echo = { loggingLevel = "INFO" } }
[apis.logs.stages.info]
defaultRouteSettings = { loggingLevel = "INFO" }
[apis.logs.stages.trace]
defaultRouteSettings = { loggingLevel = "INFO", dataTraceEnabled = true }

[apis.logs.integrations.accept]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }

# Answers "REQUEST-ID BODY".
[apis.logs.integrations.echo]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }
integrationResponses = { "$default" = { responseTemplates = { "$default" = '$context.requestId $input.body' } } }

# Reads the message as JSON: a client that sends something else gets Internal server error.
[apis.logs.integrations.strict]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200, "n": $input.json("$.n")}' }
integrationResponses = { "$default" = { responseTemplates = { "$default" = 'ok' } } }

# A template that always fails: a configuration error.
[apis.logs.integrations.broken]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}$util.base64Decode("***")' }

[apis.logs.routes."$connect"]
target = "integrations/accept"
[apis.logs.routes."$default"]
target = "integrations/strict"
routeResponseSelectionExpression = "$default"
[apis.logs.routes.echo]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
[apis.logs.routes.broken]
target = "integrations/broken"
routeResponseSelectionExpression = "$default"
"#;

/// A running `switchboard serve` of [`CONFIG`] whose stderr lines are collected.
struct Served {
    child: Child,
    base: String,
    stderr: Receiver<String>,
    lines: Vec<String>,
}

impl Served {
    fn start(name: &str, log_level: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("switchboard-exec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("switchboard.toml"), CONFIG).expect("write config");
        let mut child = Command::new(BIN)
            .args(["--log-level", log_level, "serve"])
            .current_dir(&dir)
            .env_remove("SWITCHBOARD_LOG_FORMAT")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("switchboard starts");
        let (tx, stderr) = channel();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let out = child.stdout.take().expect("stdout");
        let mut base = None;
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let (root, _stage) = url.rsplit_once('/').expect("a stage URL");
                base = Some(root.to_owned());
            }
            if line.starts_with("management API on ") {
                break;
            }
        }
        Self {
            child,
            base: base.expect("serve printed no URL"),
            stderr,
            lines: Vec::new(),
        }
    }

    fn url(&self, stage: &str) -> String {
        format!("{}/{stage}", self.base)
    }

    /// Waits until a line containing every one of `parts` has been written; returns it.
    fn wait_for(&mut self, parts: &[&str]) -> String {
        let matches = |line: &String| parts.iter().all(|p| line.contains(p));
        if let Some(line) = self.lines.iter().find(|l| matches(l)) {
            return line.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.lines.push(line.clone());
                    if matches(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "no stderr line with {parts:?}; stderr so far:\n{}",
                    self.lines.join("\n")
                ),
            }
        }
    }

    /// The execution log lines written so far for `stage`.
    fn execution_lines(&self, stage: &str) -> Vec<&String> {
        let stage = format!("stage={stage} ");
        self.lines
            .iter()
            .filter(|l| l.contains(EXECUTION) && l.contains(&stage))
            .collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(connectionId, requestId)` of an error frame.
fn ids_of(frame: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(frame).expect("an error frame");
    (
        v["connectionId"].as_str().expect("connectionId").to_owned(),
        v["requestId"].as_str().expect("requestId").to_owned(),
    )
}

/// Sends `{"action":"echo",…}` and returns the request id the reply names.
async fn echo(ws: &mut WsClient, extra: &str) -> String {
    let message = format!(r#"{{"action":"echo"{extra}}}"#);
    ws.send_text(&message).await;
    let reply = ws.recv_text().await;
    let (rid, body) = reply.split_once(' ').expect("REQUEST-ID BODY");
    assert_eq!(body, message);
    rid.to_owned()
}

#[tokio::test]
async fn off_writes_no_execution_lines_and_connections_show_at_the_default_level() {
    let mut served = Served::start("off", "info,switchboard_gateway::process_log=debug");
    let mut ws = WsClient::connect(&served.url("off"))
        .await
        .expect("connects");
    echo(&mut ws, "").await;
    // Not JSON, for a route whose template reads JSON: the client's mistake.
    ws.send_text("not json").await;
    let frame = ws.recv_text().await;
    assert!(
        frame.starts_with(r#"{"message": "Internal server error""#),
        "{frame}"
    );
    let (connection_id, request_id) = ids_of(&frame);
    ws.close(Some(1000), "bye").await;

    // The default level shows each connection arrive and leave.
    let connected = served.wait_for(&[
        "switchboard::connections: connected",
        &format!("connection_id={connection_id}"),
    ]);
    assert!(
        connected.contains(" INFO ")
            && connected.contains("stage=off")
            && connected.contains("source_ip=127.0.0.1"),
        "{connected}"
    );
    let gone = served.wait_for(&[
        "switchboard::connections: disconnected",
        &format!("connection_id={connection_id}"),
    ]);
    assert!(
        gone.contains("code=1000") && gone.contains("reason=bye"),
        "{gone}"
    );
    // A body that is not JSON is logged as the client's problem, not as a broken configuration.
    let client_error = served.wait_for(&[&format!("request_id={request_id}")]);
    assert!(client_error.contains("DEBUG"), "{client_error}");
    assert!(client_error.contains("a client error"), "{client_error}");
    assert!(client_error.contains("not valid JSON"), "{client_error}");

    // Lines are written before the reply they belong to: once a later request's line is
    // there, every line of the `off` stage's requests would be too.
    let mut other = WsClient::connect(&served.url("info"))
        .await
        .expect("connects");
    let rid = echo(&mut other, "").await;
    served.wait_for(&[
        EXECUTION,
        &format!("({rid}) Method completed with status: 200"),
    ]);
    assert_eq!(served.execution_lines("off"), Vec::<&String>::new());
    let warnings: Vec<_> = served
        .lines
        .iter()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    assert_eq!(warnings, Vec::<&String>::new());
}

#[tokio::test]
async fn error_writes_only_failed_requests_and_route_settings_override_the_stage() {
    let mut served = Served::start("error", "info");
    let mut ws = WsClient::connect(&served.url("errors"))
        .await
        .expect("connects");
    // `echo` has its own loggingLevel INFO: all its lines.
    let echo_rid = echo(&mut ws, "").await;
    ws.send_text(r#"{"action":"broken"}"#).await;
    let (_, rid) = ids_of(&ws.recv_text().await);
    let done = served.wait_for(&[
        EXECUTION,
        &format!("({rid}) Method completed with status: 500"),
    ]);
    assert!(done.contains(" ERROR "), "{done}");

    let lines = served.execution_lines("errors");
    // The message of each line, without the target before it and the fields after it.
    let texts: Vec<&str> = lines
        .iter()
        .map(|l| {
            let message = l.split_once(EXECUTION).expect("target").1.trim();
            message.split(" api=logs ").next().unwrap_or(message)
        })
        .collect();
    let route_lines = |rid: &str| -> Vec<&str> {
        texts
            .iter()
            .copied()
            .filter(|t| t.starts_with(&format!("({rid})")))
            .collect()
    };
    // The failed request: every line, at ERROR, the route and the cause named.
    let failed = route_lines(&rid);
    assert!(
        failed.iter().any(|t| t.contains("Extended Request Id: "))
            && failed.contains(&format!("({rid}) WebSocket Request Route: [broken]").as_str())
            && failed.iter().any(|t| t.contains(
                "Execution failed due to a configuration error: mapping template failed"
            )),
        "{failed:#?}"
    );
    // `echo` wrote its lines at INFO; `$connect` (ERROR, succeeded) wrote none.
    let echoed = route_lines(&echo_rid);
    assert!(
        echoed.contains(&format!("({echo_rid}) WebSocket Request Route: [echo]").as_str())
            && echoed.contains(&format!("({echo_rid}) Method completed with status: 200").as_str()),
        "{echoed:#?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("[$connect]")),
        "{texts:#?}"
    );
    assert_eq!(texts.len(), failed.len() + echoed.len(), "{texts:#?}");
}

#[tokio::test]
async fn info_writes_every_request_without_bodies() {
    let mut served = Served::start("info", "info");
    let mut ws = WsClient::connect_with(&served.url("info"), &[("User-Agent", "log-test/1.0")])
        .await
        .expect("connects");
    let rid = echo(&mut ws, r#","secret":"s3cr3t""#).await;
    served.wait_for(&[
        EXECUTION,
        "Client [UserAgent: log-test/1.0, SourceIp: 127.0.0.1] is connecting to WebSocket API [logs].",
    ]);
    served.wait_for(&[EXECUTION, "WebSocket Request Route: [$connect]"]);
    for text in [
        format!("({rid}) Starting execution for request: {rid}"),
        format!("({rid}) WebSocket Request Route: [echo]"),
        format!("({rid}) MOCK integration: no endpoint request"),
        format!("({rid}) Received response. Status: 200, Integration latency: "),
        format!("({rid}) Method completed with status: 200"),
    ] {
        let line = served.wait_for(&[EXECUTION, &text]);
        assert!(
            line.contains(" INFO ") && line.contains("stage=info"),
            "{line}"
        );
    }
    ws.close(Some(1001), "").await;
    served.wait_for(&[EXECUTION, "WebSocket Request Route: [$disconnect]"]);
    served.wait_for(&[EXECUTION, "disconnected with status code 1001"]);
    let bodies: Vec<_> = served
        .lines
        .iter()
        .filter(|l| l.contains("s3cr3t") || l.contains("body"))
        .collect();
    assert_eq!(
        bodies,
        Vec::<&String>::new(),
        "no data trace without dataTraceEnabled"
    );
}

#[tokio::test]
async fn data_trace_adds_headers_and_bodies_cut_at_1_kb() {
    let mut served = Served::start("trace", "info");
    let mut ws = WsClient::connect_with(
        &served.url("trace"),
        &[("Authorization", "Bearer s3cr3t"), ("X-Room", "lobby")],
    )
    .await
    .expect("connects");
    let headers = served.wait_for(&[EXECUTION, "Method request headers: {"]);
    // The client library sends the names it was given in lower case.
    assert!(headers.contains("x-room=lobby"), "{headers}");
    assert!(headers.contains("authorization=****"), "{headers}");
    assert!(!headers.contains("s3cr3t"), "{headers}");

    let pad = "x".repeat(3000);
    let rid = echo(&mut ws, &format!(r#","pad":"{pad}\nline""#)).await;
    let request = served.wait_for(&[
        EXECUTION,
        &format!("({rid}) Method request body before transformations: "),
    ]);
    let body = request
        .split_once("Method request body before transformations: ")
        .expect("body")
        .1;
    let message_len = r#"{"action":"echo","pad":""#.len() + 3000 + r#"\nline"}"#.len();
    assert!(body.starts_with(r#"{"action":"echo","pad":"xxx"#), "{body}");
    assert!(
        body.contains(&format!("x [TRUNCATED: {message_len} bytes in all]")),
        "{body}"
    );
    assert_eq!(
        body.split(" [TRUNCATED").next().map(str::len),
        Some(1024),
        "1 KB of the body"
    );
    let response = served.wait_for(&[
        EXECUTION,
        &format!("({rid}) Method response body after transformations: {rid} "),
    ]);
    assert!(response.contains("[TRUNCATED: "), "{response}");
}
