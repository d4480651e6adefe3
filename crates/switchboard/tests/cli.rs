//! The `switchboard` binary as a user runs it: `validate` on every kind of broken file, the
//! built-in demo, SIGHUP reload, SIGTERM shutdown, listen addresses and log colours.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use switchboard_testkit::WsClient;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A running `switchboard serve` and the URLs it printed.
struct Served {
    child: Child,
    urls: Vec<String>,
    management: String,
}

impl Served {
    fn start(dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("switchboard starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut urls = Vec::new();
        let mut management = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("stdout line");
            if let Some(url) = line.strip_prefix("listening on ") {
                urls.push(url.to_owned());
            }
            if let Some(m) = line.strip_prefix("management API on ") {
                management = m.to_owned();
                break;
            }
        }
        assert!(!urls.is_empty(), "serve printed no URL");
        Self {
            child,
            urls,
            management,
        }
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test]
async fn with_no_configuration_the_demo_api_is_served() {
    let dir = temp_dir("demo");
    let served = Served::start(
        &dir,
        &[
            "--listen",
            "127.0.0.1:0",
            "--management-listen",
            "127.0.0.1:0",
        ],
    );
    assert!(served.management.starts_with("http://127.0.0.1:"));
    let url = &served.urls[0];
    assert!(url.ends_with("/dev"), "{url}");
    let mut ws = WsClient::connect(url)
        .await
        .expect("demo accepts connections");
    ws.send_text("hello").await;
    assert_eq!(ws.recv_text().await, "hello");
    ws.send_text(r#"{"action":"whoami"}"#).await;
    let me: serde_json::Value = serde_json::from_str(&ws.recv_text().await).expect("JSON");
    assert_eq!(me["routeKey"], "whoami");
    assert_eq!(me["sourceIp"], "127.0.0.1");
    assert_eq!(me["greeting"], "hello from Switchboard");
    assert_eq!(me["connectionId"].as_str().map(str::len), Some(16));
}

const RELOADABLE: &str = r#"
[server]
listen = "127.0.0.1:0"
[management]
listen = "127.0.0.1:0"
[apis.r]
routeSelectionExpression = "$request.body.action"
[apis.r.stages.dev]
[apis.r.integrations.answer]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }
integrationResponses = { "$default" = { responseTemplates = { "$default" = 'VERSION' } } }
[apis.r.routes."$default"]
target = "integrations/answer"
routeResponseSelectionExpression = "$default"
"#;

#[tokio::test]
async fn sighup_reloads_the_file_and_a_broken_file_changes_nothing() {
    let dir = temp_dir("reload");
    let file = dir.join("switchboard.toml");
    std::fs::write(&file, RELOADABLE.replace("VERSION", "one")).expect("write");
    let served = Served::start(&dir, &[]);
    let mut ws = WsClient::connect(&served.urls[0]).await.expect("connects");
    ws.send_text("x").await;
    assert_eq!(ws.recv_text().await, "one");

    std::fs::write(&file, RELOADABLE.replace("VERSION", "two")).expect("write");
    served.signal("-HUP");
    // Poll with fresh messages until the reload has been applied (no sleeps decide it).
    let mut answers = 0;
    loop {
        ws.send_text("x").await;
        let answer = ws.recv_text().await;
        answers += 1;
        if answer == "two" {
            break;
        }
        assert_eq!(answer, "one");
        assert!(answers < 10_000, "the reload never took effect");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    std::fs::write(&file, "this is [not toml").expect("write");
    served.signal("-HUP");
    // The same connection keeps working with the last good configuration.
    let mut again = WsClient::connect(&served.urls[0])
        .await
        .expect("still serving");
    again.send_text("x").await;
    assert_eq!(again.recv_text().await, "two");
}

#[tokio::test]
async fn sigterm_closes_clients_with_1001_and_exits_0() {
    let dir = temp_dir("term");
    std::fs::write(
        dir.join("switchboard.toml"),
        RELOADABLE.replace("VERSION", "v"),
    )
    .expect("write");
    let mut served = Served::start(&dir, &[]);
    let mut ws = WsClient::connect(&served.urls[0]).await.expect("connects");
    served.signal("-TERM");
    assert_eq!(ws.recv_close().await, Some((1001, "Going away".into())));
    let status = served.child.wait().expect("exits");
    assert_eq!(status.code(), Some(0));
}

/// The status of `GET {management}{path}`, by hand.
async fn management_status(management: &str, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = management.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("management listener");
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
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
async fn sigterm_turns_ready_to_503_while_connections_are_still_served() {
    let dir = temp_dir("ready");
    let config = RELOADABLE.replace("VERSION", "v").replace(
        "[management]",
        "[server.limits]\ndrainDelaySeconds = 3600\n[management]",
    );
    std::fs::write(dir.join("switchboard.toml"), config).expect("write");
    let mut served = Served::start(&dir, &[]);
    let mut ws = WsClient::connect(&served.urls[0]).await.expect("connects");
    assert_eq!(management_status(&served.management, "/ready").await, 200);
    served.signal("-TERM");
    let mut polls = 0;
    while management_status(&served.management, "/ready").await != 503 {
        polls += 1;
        assert!(polls < 2_000, "/ready never turned 503");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Draining, not closed: the client is still served and the process still runs.
    assert_eq!(management_status(&served.management, "/health").await, 200);
    ws.send_text("x").await;
    assert_eq!(ws.recv_text().await, "v");
    assert!(served.child.try_wait().expect("status").is_none());
}

// === validate ===

/// What a finished command printed.
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `switchboard ARGS` in `dir` to completion.
fn run(dir: &Path, args: &[&str]) -> Finished {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("SWITCHBOARD_CONFIG")
        .output()
        .expect("switchboard runs");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A directory holding `file` with `text`.
fn dir_with(name: &str, file: &str, text: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    std::fs::write(dir.join(file), text).expect("write");
    dir
}

/// `validate FILE` of `text` must fail with exactly `expected` on stderr, one line each.
#[track_caller]
fn refused(name: &str, text: &str, expected: &[&str]) {
    let dir = dir_with(name, "broken.toml", text);
    let out = run(&dir, &["validate", "broken.toml"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.stderr.lines().collect::<Vec<_>>(), expected);
    assert_eq!(out.stdout, "");
}

/// A small valid file: one API with a stage, an integration and a `$default` route.
const VALID: &str = r#"[apis.chat]
routeSelectionExpression = "$request.body.action"

[apis.chat.stages.dev]

[apis.chat.integrations.echo]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }

[apis.chat.routes."$default"]
target = "integrations/echo"
"#;

#[test]
fn validate_accepts_every_example() {
    for example in ["demo", "chat", "http-backend", "dynamodb-chat"] {
        let file = format!("../../examples/{example}/switchboard.toml");
        let out = run(Path::new("."), &["validate", &file]);
        assert_eq!(out.code, Some(0), "{file}: {}", out.stderr);
        assert_eq!(out.stdout, format!("{file}: ok\n"));
        assert_eq!(out.stderr, "");
    }
}

#[test]
fn validate_takes_the_file_as_argument_or_option_and_defaults_to_serves_file() {
    let dir = dir_with("validate-default", "switchboard.toml", VALID);
    std::fs::write(dir.join("other.toml"), VALID).expect("write");
    assert_eq!(run(&dir, &["validate"]).stdout, "switchboard.toml: ok\n");
    assert_eq!(
        run(&dir, &["validate", "other.toml"]).stdout,
        "other.toml: ok\n"
    );
    assert_eq!(
        run(&dir, &["validate", "--config", "other.toml"]).stdout,
        "other.toml: ok\n"
    );
    assert_eq!(
        run(&dir, &["validate", "-c", "other.toml"]).stdout,
        "other.toml: ok\n"
    );
}

#[test]
fn validate_without_a_file_names_the_missing_default() {
    let dir = temp_dir("validate-missing");
    let out = run(&dir, &["validate"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr,
        "cannot read switchboard.toml: No such file or directory\n"
    );
    let out = run(&dir, &["validate", "nope.toml"]);
    assert_eq!(
        out.stderr,
        "cannot read nope.toml: No such file or directory\n"
    );
}

#[test]
fn validate_reports_every_problem_of_a_file_in_one_run() {
    refused(
        "validate-several",
        r#"[server]
listen = 8080

[apis.chat]
routeSelectionExpression = "$request.body.action"

[apis.chat.stages.dev]

[apis.chat.integrations.echo]
integrationType = "MOCK"
timeoutInMilis = 100

[apis.chat.routes."$default"]
targett = "integrations/echo"
"#,
        &[
            "broken.toml:2:10: server.listen: invalid type: integer `8080`, expected a string",
            "broken.toml:11:1: apis.chat.integrations.echo.timeoutInMilis: unknown field `timeoutInMilis`, did you mean `timeoutInMillis`?",
            "broken.toml:14:1: apis.chat.routes.\"$default\".targett: unknown field `targett`, did you mean `target`?",
        ],
    );
}

#[test]
fn validate_refuses_an_empty_file() {
    refused(
        "validate-empty",
        "",
        &["broken.toml:1:1: apis: no API is defined: add an [apis.ID] table with a routeSelectionExpression, a stage, an integration and a route (see docs/configuration.md)"],
    );
}

#[test]
fn validate_refuses_an_api_without_a_stage() {
    refused(
        "validate-no-stage",
        &VALID.replace("[apis.chat.stages.dev]\n", ""),
        &["broken.toml:1:7: apis.chat.stages: API `chat` has no stage, so no client can connect to it; add one, e.g. [apis.chat.stages.dev]"],
    );
}

#[test]
fn validate_refuses_a_route_selection_expression_without_a_dollar() {
    refused(
        "validate-rse-dollar",
        &VALID.replace("$request.body.action", "request.body.action"),
        &["broken.toml:2:1: apis.chat.routeSelectionExpression: routeSelectionExpression `request.body.action` has no `$` before `request`, so it is fixed text and every message would go to the route of that name or to $default; did you mean `$request.body.action`?"],
    );
}

#[test]
fn validate_refuses_a_route_selection_expression_with_a_stray_brace() {
    refused(
        "validate-rse-brace",
        &VALID.replace("$request.body.action", "$request.body.action}"),
        &["broken.toml:2:1: apis.chat.routeSelectionExpression: routeSelectionExpression `$request.body.action}` has a `}` outside any `${…}`; write a variable as $request.body.PATH or ${request.body.PATH}"],
    );
}

#[test]
fn validate_refuses_a_route_selection_expression_reading_a_header() {
    refused(
        "validate-rse-header",
        &VALID.replace("$request.body.action", "$request.header.action"),
        &["broken.toml:2:1: apis.chat.routeSelectionExpression: routeSelectionExpression `$request.header.action` reads `request.header.action`, which a WebSocket message does not have (every message would go to $default); a route selection expression reads the message body: $request.body.PATH or ${request.body.PATH}"],
    );
}

#[test]
fn validate_says_a_json_file_must_be_toml() {
    let dir = dir_with(
        "validate-json",
        "switchboard.json",
        r#"{"apis": {"chat": {}}}"#,
    );
    let out = run(&dir, &["validate", "switchboard.json"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr,
        "switchboard.json is JSON, but a Switchboard configuration file must be TOML (see docs/configuration.md)\n"
    );
}

#[test]
fn validate_says_a_sam_template_is_not_toml() {
    let template = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nResources:\n  ChatApi:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n      ProtocolType: WEBSOCKET\n";
    let dir = dir_with("validate-sam", "template.yaml", template);
    let out = run(&dir, &["validate", "template.yaml"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr,
        "template.yaml is a CloudFormation/SAM template (YAML), not a Switchboard configuration: templates are not TOML. Write the API as a TOML file (see docs/configuration.md)\n"
    );
}

#[test]
fn validate_prints_warnings_and_accepts_the_file() {
    let text = format!(
        "[management]\nlisten = \"0.0.0.0:0\"\nallowUnauthenticatedRemote = true\n\n{}",
        VALID.replace("routes.\"$default\"", "routes.\"$connect\"")
    );
    let dir = dir_with("validate-warnings", "switchboard.toml", &text);
    let out = run(&dir, &["validate"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "switchboard.toml: ok, 2 warnings\n");
    assert_eq!(
        out.stderr.lines().collect::<Vec<_>>(),
        [
            "switchboard.toml:3:1: management.allowUnauthenticatedRemote: warning: the management API on 0.0.0.0:0 accepts calls without authentication from anyone who can reach it: they can post to and close every connection; use auth = \"sigv4\" with credentials unless the network is trusted",
            "switchboard.toml:14:12: apis.chat.routes: warning: there is no $default route and no custom route, so every message a client sends is answered with {\"message\": \"Forbidden\"}; add a $default route or a route per action",
        ]
    );
}

#[test]
fn a_stage_that_only_lowers_the_message_limit_is_accepted() {
    let text = VALID.replace(
        "[apis.chat.stages.dev]\n",
        "[apis.chat.stages.dev]\nlimits = { maxMessageBytes = 1024 }\n",
    );
    let dir = dir_with("validate-limits", "switchboard.toml", &text);
    let out = run(&dir, &["validate"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "switchboard.toml: ok\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn serve_refuses_what_validate_refuses_with_the_same_lines() {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[management]\nlisten = \"127.0.0.1:0\"\n\n{}",
        VALID.replace("$request.body.action", "request.body.action")
    );
    let dir = dir_with("serve-refuses", "switchboard.toml", &text);
    let validated = run(&dir, &["validate"]);
    let served = run(&dir, &["serve"]);
    assert_eq!(served.code, Some(1));
    assert_eq!(served.stdout, "");
    assert!(!validated.stderr.is_empty());
    assert_eq!(served.stderr, validated.stderr);
}

// === listen addresses and logs ===

#[tokio::test]
async fn host_names_are_accepted_in_listen_addresses() {
    let dir = temp_dir("hostname");
    let served = Served::start(
        &dir,
        &[
            "--listen",
            "localhost:0",
            "--management-listen",
            "localhost:0",
        ],
    );
    let url = &served.urls[0];
    assert!(
        url.starts_with("ws://127.0.0.1:") || url.starts_with("ws://[::1]:"),
        "{url}"
    );
    let mut ws = WsClient::connect(url).await.expect("connects");
    ws.send_text("hello").await;
    assert_eq!(ws.recv_text().await, "hello");
}

#[test]
fn an_address_in_use_says_what_to_do() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = temp_dir("in-use");
    let out = run(
        &dir,
        &[
            "serve",
            "--listen",
            &addr,
            "--management-listen",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(out.code, Some(1));
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "error: cannot listen on {addr} (server.listen): Address already in use"
        )),
        "{}",
        out.stderr
    );
    assert!(
        last.ends_with("another program is listening there (another Switchboard?): stop it, or choose another address with --listen or server.listen in the configuration file"),
        "{last}"
    );
}

#[test]
fn the_implicit_configuration_file_is_named_in_the_log() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    // The listen address is taken, so serve logs what it loaded and exits.
    let dir = dir_with(
        "implicit",
        "switchboard.toml",
        &format!(
            "[server]\nlisten = \"{addr}\"\n[management]\nlisten = \"127.0.0.1:0\"\n\n{VALID}"
        ),
    );
    let out = run(&dir, &["serve"]);
    assert_eq!(out.code, Some(1));
    let absolute = std::fs::canonicalize(dir.join("switchboard.toml")).expect("exists");
    assert!(
        out.stderr.contains(&format!(
            "configuration loaded from {} (found in the current directory; --config names another file)",
            absolute.display()
        )),
        "{}",
        out.stderr
    );
}

/// The stderr of `serve` in `dir` run on a pseudo-terminal (through Python's `pty`), with
/// `NO_COLOR` set to `no_color` or removed.
fn serve_on_a_terminal(dir: &Path, no_color: Option<&str>) -> String {
    let mut command = Command::new("python3");
    command
        .args([
            "-c",
            "import pty, sys; pty.spawn(sys.argv[1:])",
            BIN,
            "serve",
        ])
        .current_dir(dir)
        .stdin(Stdio::null());
    match no_color {
        Some(value) => command.env("NO_COLOR", value),
        None => command.env_remove("NO_COLOR"),
    };
    let output = command.output().expect("python3 runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn log_colours_only_on_a_terminal_and_never_with_no_color() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = dir_with(
        "colour",
        "switchboard.toml",
        &format!(
            "[server]\nlisten = \"{addr}\"\n[management]\nlisten = \"127.0.0.1:0\"\n\n{VALID}"
        ),
    );
    // A pipe (what a file, a service manager or a log collector gets): plain text.
    let piped = Command::new(BIN)
        .arg("serve")
        .current_dir(&dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("runs");
    let piped = String::from_utf8_lossy(&piped.stderr);
    assert!(piped.contains("INFO"), "{piped}");
    assert!(!piped.contains('\u{1b}'), "{piped:?}");

    let terminal = serve_on_a_terminal(&dir, None);
    assert!(terminal.contains("configuration loaded"), "{terminal}");
    assert!(terminal.contains("\u{1b}["), "{terminal:?}");

    let no_color = serve_on_a_terminal(&dir, Some("1"));
    assert!(no_color.contains("configuration loaded"), "{no_color}");
    assert!(!no_color.contains('\u{1b}'), "{no_color:?}");
}

#[test]
fn version_names_the_git_revision_it_was_built_from() {
    let out = Command::new(BIN)
        .arg("--version")
        .output()
        .expect("switchboard runs");
    assert!(out.status.success());
    let version = String::from_utf8_lossy(&out.stdout);
    let pattern = version_pattern();
    let revision = pattern
        .captures(version.trim_end())
        .unwrap_or_else(|| panic!("--version printed {version:?}"))
        .get(1)
        .map(|m| m.as_str().to_owned())
        .expect("a revision");
    // Built from this checkout: the revision is its HEAD (build.rs rebuilds when HEAD moves).
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match head {
        Some(head) => assert_eq!(revision, head, "{version}"),
        None => assert_eq!(revision, "unknown", "{version}"),
    }
}

fn version_pattern() -> regex::Regex {
    regex::Regex::new(r"^switchboard \d+\.\d+\.\d+ \(git ([0-9a-f]{7,}|unknown)\)$").expect("regex")
}
