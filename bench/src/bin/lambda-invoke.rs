//! `lambda-invoke`: latency of Lambda Invoke API calls, one at a time over one keep-alive
//! connection. The first call of each function in `--functions` is recorded as a cold start
//! (start those functions fresh); then `--warm` more calls of the first function are recorded
//! as warm invocations. Prints one JSON object: `{cold: {...}, warm: {...}}` in microseconds.
#![forbid(unsafe_code)]

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::time::Instant;
use switchboard_bench::{fatal, new_histogram, parse_loopback_url, record, summary};

#[derive(Parser)]
#[command(about = "Cold and warm latency of Lambda Invoke API calls (loopback only)")]
struct Cli {
    /// Invoke API base URL, e.g. `http://127.0.0.1:9001`.
    #[arg(long)]
    endpoint: String,
    /// Functions whose first call is a cold start (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    functions: Vec<String>,
    /// Warm calls of the first function after the cold ones.
    #[arg(long, default_value_t = 200)]
    warm: usize,
    /// The event sent.
    #[arg(long, default_value = r#"{"message":"hello"}"#)]
    payload: String,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(endpoint: &str) -> Sender {
    let (addr, _) = parse_loopback_url(&endpoint.replacen("http://", "ws://", 1))
        .unwrap_or_else(|e| fatal(format!("--endpoint: {e}")));
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| fatal(format!("connecting to {addr}: {e}")));
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap_or_else(|e| fatal(format!("HTTP handshake: {e}")));
    tokio::spawn(connection);
    sender
}

/// One call; fails the run on anything but a 200 without a function error.
async fn invoke(sender: &mut Sender, host: &str, function: &str, payload: &str) {
    let request = hyper::Request::post(format!("/2015-03-31/functions/{function}/invocations"))
        .header(hyper::header::HOST, host)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(payload.to_owned())))
        .unwrap_or_else(|e| fatal(format!("request: {e}")));
    let response = sender
        .send_request(request)
        .await
        .unwrap_or_else(|e| fatal(format!("invoking {function}: {e}")));
    let status = response.status();
    let failed = response.headers().contains_key("x-amz-function-error");
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| fatal(format!("reading {function}'s reply: {e}")))
        .to_bytes();
    if !status.is_success() || failed {
        fatal(format!(
            "{function} answered {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    let host = cli
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut sender = connect(&cli.endpoint).await;
    let mut cold = new_histogram();
    for function in &cli.functions {
        let started = Instant::now();
        invoke(&mut sender, &host, function, &cli.payload).await;
        record(&mut cold, started.elapsed());
    }
    let mut warm = new_histogram();
    for _ in 0..cli.warm {
        let started = Instant::now();
        invoke(&mut sender, &host, &cli.functions[0], &cli.payload).await;
        record(&mut warm, started.elapsed());
    }
    let result = serde_json::json!({
        "cold": summary(&cold),
        "cold_samples": cli.functions.len(),
        "warm": summary(&warm),
        "warm_samples": cli.warm,
    });
    println!("{result}");
}
