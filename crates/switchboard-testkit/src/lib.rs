//! Test support for Switchboard: the real gateway started in-process on port 0, real WebSocket
//! clients, and helpers that wait for conditions instead of sleeping.
#![forbid(unsafe_code)]

mod backend;
mod client;
mod gateway;
mod lambda;

pub use backend::{closed_port, garbage_server, BackendReply, HttpBackend, RecordedRequest};
pub use client::{ConnectError, WsClient};
pub use gateway::TestGateway;
pub use lambda::{Invocation, LambdaReply, LambdaServer};

use std::future::Future;
use std::time::Duration;

/// How long a test waits for something that should happen promptly. Generous on purpose: it
/// only bounds a hung test, it never decides a result.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `check` until it returns `Some`, or panics after [`PATIENCE`] with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("gave up waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
