//! The examples under `examples/` work as their READMEs say.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use switchboard_testkit::{ConnectError, WsClient};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a process and returns it with the first stdout line containing `marker`.
fn start(cmd: &mut Command, marker: &str) -> (Killed, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .find_map(|l| l.ok().filter(|l| l.contains(marker)))
        .expect("announces itself");
    std::thread::spawn(move || for _ in lines {});
    (Killed(child), line)
}

#[tokio::test]
async fn the_http_backend_example_serves_messages_through_a_python_http_service() {
    let (_backend, line) = start(
        Command::new("python3")
            .arg("../../examples/http-backend/backend.py")
            .env("BACKEND_PORT", "0"),
        "backend listening on",
    );
    let backend_url = line
        .trim_start_matches("backend listening on ")
        .trim()
        .to_owned();
    let config = std::fs::read_to_string("../../examples/http-backend/switchboard.toml")
        .expect("example config")
        .replace("127.0.0.1:8080", "127.0.0.1:0")
        .replace("127.0.0.1:8081", "127.0.0.1:0")
        .replace("http://127.0.0.1:3000", &backend_url);
    let dir = std::env::temp_dir().join(format!("switchboard-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("switchboard.toml");
    std::fs::write(&file, config).expect("write");
    let (_gateway, line) = start(
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--config"])
            .arg(&file),
        "listening on ws://",
    );
    let url = line.trim_start_matches("listening on ").trim().to_owned();

    match WsClient::connect(&url).await {
        // The backend's status refuses the upgrade; its body stays private (a generic one goes out).
        Err(ConnectError::Refused(400, body)) => assert_eq!(body, r#"{"message":"Bad Request"}"#),
        other => panic!("expected the backend's 400, got {:?}", other.map(|_| ())),
    }
    let mut ws = WsClient::connect(&format!("{url}?name=ann"))
        .await
        .expect("accepted");
    ws.send_text("hello there").await;
    let reply: serde_json::Value = serde_json::from_str(&ws.recv_text().await).expect("JSON");
    assert_eq!(reply["to"], "ann");
    assert_eq!(reply["youSaid"], "hello there");
    assert_eq!(reply["online"], 1);
}

#[tokio::test]
async fn the_dynamodb_example_says_in_one_line_that_moto_server_is_missing() {
    // Nothing listens on this port, and there is no moto_server to start on it.
    let port = switchboard_testkit::closed_port().await;
    let out = Command::new("bash")
        .arg("../../examples/dynamodb-chat/run.sh")
        .env("DYNAMODB_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("MOTO_SERVER", "/nonexistent/moto_server")
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "error: moto_server is not installed and nothing listens on 127.0.0.1:{port}: \
             pip install \"moto[server]\" (or start DynamoDB Local there, or set \
             DYNAMODB_ENDPOINT)\n"
        )
    );
    // It stopped before building or starting anything.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}
