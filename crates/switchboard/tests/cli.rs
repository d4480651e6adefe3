//! The `switchboard` binary as a user runs it: the built-in demo, `validate`, SIGHUP reload
//! and SIGTERM shutdown.

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

#[test]
fn validate_accepts_the_examples_and_names_file_line_and_key_of_errors() {
    let ok = Command::new(BIN)
        .args([
            "validate",
            "--config",
            "../../examples/demo/switchboard.toml",
        ])
        .output()
        .expect("runs");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let dir = temp_dir("validate");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "[apis.chat]\nrouteSelectionExpression = \"$request.body.action\"\n\n[apis.chat.routes.sendmessage]\ntargett = \"integrations/x\"\n",
    )
    .expect("write");
    let bad = Command::new(BIN)
        .args(["validate", "--config"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("bad.toml:5:1"), "{err}");
    assert!(
        err.contains("apis.chat.routes.sendmessage.targett"),
        "{err}"
    );
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
