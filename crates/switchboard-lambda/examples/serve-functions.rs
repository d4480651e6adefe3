//! Serves functions through the local Lambda runtime, for trying it by hand and for bench/:
//!
//! ```text
//! crates/switchboard-lambda/ric/install.sh            # once: the runtime interface clients
//! cargo run -p switchboard-lambda --example serve-functions -- \
//!     chat=nodejs20.x:app.handler:crates/switchboard-lambda/tests/functions/node
//! curl -s -d '{"action":"whoami"}' http://127.0.0.1:9001/2015-03-31/functions/chat/invocations
//! ```
//!
//! Prints `invoke-api http://ADDR` on standard output once listening; on Ctrl-C or SIGTERM it
//! kills its workers and exits.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use switchboard_lambda::{FunctionSpec, LocalLambda, Runtime, Settings};

#[derive(Parser)]
struct Args {
    /// Functions as NAME=RUNTIME:HANDLER:CODE_DIR (e.g. chat=nodejs20.x:app.handler:./src).
    #[arg(required = true)]
    functions: Vec<String>,
    /// Invoke API address (loopback).
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// Where crates/switchboard-lambda/ric/install.sh put the runtime interface clients.
    #[arg(long)]
    ric: Option<PathBuf>,
    /// AWS_REGION of the functions.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Timeout of every function, in seconds.
    #[arg(long, default_value_t = 3)]
    timeout: u64,
    /// Workers per function.
    #[arg(long, default_value_t = 10)]
    concurrency: usize,
    /// Extra variables as NAME:KEY=VALUE (for function NAME).
    #[arg(long = "env")]
    env: Vec<String>,
}

fn default_ric_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("lambda-ric")
}

fn parse_function(text: &str, timeout: u64) -> Result<FunctionSpec, String> {
    let (name, rest) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected NAME=RUNTIME:HANDLER:CODE_DIR"))?;
    let mut parts = rest.splitn(3, ':');
    let (Some(runtime), Some(handler), Some(dir)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("{text:?}: expected NAME=RUNTIME:HANDLER:CODE_DIR"));
    };
    let runtime = Runtime::parse(runtime).map_err(|e| e.to_string())?;
    let mut spec = FunctionSpec::new(name, runtime, handler, dir);
    spec.timeout = Duration::from_secs(timeout);
    Ok(spec)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut specs = args
        .functions
        .iter()
        .map(|f| parse_function(f, args.timeout))
        .collect::<Result<Vec<_>, _>>()?;
    for assignment in &args.env {
        let (function, kv) = assignment
            .split_once(':')
            .ok_or_else(|| format!("--env {assignment:?}: expected NAME:KEY=VALUE"))?;
        let (key, value) = kv
            .split_once('=')
            .ok_or_else(|| format!("--env {assignment:?}: expected NAME:KEY=VALUE"))?;
        let spec = specs
            .iter_mut()
            .find(|s| s.name == function)
            .ok_or_else(|| format!("--env {assignment:?}: no function {function}"))?;
        spec.environment.insert(key.into(), value.into());
    }
    let settings = Settings {
        region: args.region,
        invoke_listen: args.listen,
        default_concurrency: args.concurrency,
        ..Settings::default()
    }
    .with_ric_dir(&args.ric.unwrap_or_else(default_ric_dir));
    let local = LocalLambda::start(specs, settings)
        .await
        .map_err(|e| e.to_string())?;
    println!("invoke-api {}", local.endpoint());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("SIGTERM handler: {e}"))?;
    tokio::select! {
        signal = tokio::signal::ctrl_c() => signal.map_err(|e| format!("waiting for Ctrl-C: {e}"))?,
        _ = terminate.recv() => {}
    }
    local.shutdown().await;
    Ok(())
}
