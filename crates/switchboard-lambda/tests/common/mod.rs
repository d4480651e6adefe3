//! Shared by the tests: the runtime interface clients (installed once into target/lambda-ric by
//! ric/install.sh), the test functions under tests/functions, an HTTP client for the Invoke
//! API, and a log capture.
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use switchboard_lambda::{FunctionSpec, LocalLambda, Runtime, Settings};
use switchboard_testkit::PATIENCE;

/// The two languages every behaviour is checked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Node,
    Python,
}

impl Lang {
    pub fn runtime(self) -> Runtime {
        let id = match self {
            Lang::Node => "nodejs20.x",
            Lang::Python => "python3.12",
        };
        Runtime::parse(id).expect("supported runtime")
    }

    pub fn dir(self) -> &'static str {
        match self {
            Lang::Node => "node",
            Lang::Python => "python",
        }
    }
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/lambda-ric (or $CARGO_TARGET_DIR/lambda-ric), installed by ric/install.sh on first
/// use; the script skips what is already installed.
pub fn ric_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate_dir().join("../../target"));
        let dir = target.join("lambda-ric");
        let output = std::process::Command::new("bash")
            .arg(crate_dir().join("ric/install.sh"))
            .arg(&dir)
            .output()
            .expect("running ric/install.sh");
        assert!(
            output.status.success(),
            "ric/install.sh failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        dir
    })
    .clone()
}

/// A test function in tests/functions/{dir}.
pub fn spec(name: &str, lang: Lang) -> FunctionSpec {
    spec_in(name, lang, lang.dir())
}

/// A test function in tests/functions/{dir}, with handler `app.handler`.
pub fn spec_in(name: &str, lang: Lang, dir: &str) -> FunctionSpec {
    FunctionSpec::new(
        name,
        lang.runtime(),
        "app.handler",
        crate_dir().join("tests/functions").join(dir),
    )
}

/// Settings using the installed runtime interface clients.
pub fn settings() -> Settings {
    Settings::default().with_ric_dir(&ric_dir())
}

pub async fn start(specs: Vec<FunctionSpec>, settings: Settings) -> LocalLambda {
    LocalLambda::start(specs, settings)
        .await
        .unwrap_or_else(|e| panic!("local Lambda did not start: {e}"))
}

/// An Invoke API answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// `POST /2015-03-31/functions/{name}/invocations` with `payload`, over HTTP.
pub async fn invoke(local: &LocalLambda, name: &str, payload: &Value) -> Answer {
    invoke_with(local, name, payload.to_string().into_bytes(), &[]).await
}

/// The same with raw bytes and extra headers.
pub async fn invoke_with(
    local: &LocalLambda,
    name: &str,
    payload: Vec<u8>,
    headers: &[(&str, &str)],
) -> Answer {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut request = http::Request::post(format!(
        "{}/2015-03-31/functions/{name}/invocations",
        local.endpoint()
    ))
    .header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request
        .body(Full::new(Bytes::from(payload)))
        .expect("request");
    let response = tokio::time::timeout(PATIENCE, client.request(request))
        .await
        .expect("Invoke API answered in time")
        .expect("Invoke API reachable");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// The pid a handler reports (`{"action":"whoami"}`).
pub async fn pid_of(local: &LocalLambda, name: &str) -> u64 {
    let answer = invoke(local, name, &serde_json::json!({"action": "whoami"})).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["pid"].as_u64().expect("pid")
}

/// Whether a process with this pid exists (Linux).
pub fn process_exists(pid: u64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Everything logged through `tracing` in this test process, as text.
pub fn logs() -> String {
    let buffer = log_buffer();
    let bytes = buffer.lock().unwrap_or_else(|e| e.into_inner());
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Installs the capturing subscriber (once per test binary).
pub fn capture_logs() {
    log_buffer();
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_buffer() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let writer = Capture(Arc::clone(&buffer));
            let _ = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_env_filter("info")
                .with_writer(move || writer.clone())
                .try_init();
            buffer
        })
        .clone()
}

/// A short function timeout for the timeout tests.
pub const SHORT_TIMEOUT: Duration = Duration::from_secs(1);
