//! Outbound HTTP: one keep-alive pool per integration (`pool.rs`), `TCP_NODELAY`, no retries, a deadline
//! per call and a cap on concurrent calls (architecture "Performance rules").

use super::pool::Pool;
use crate::error::{ErrorKind, IntegrationError};
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Largest reply body read from a backend whose reply is transformed before it reaches a
/// client (Lambda's own response payload limit, 6 MB).
pub const MAX_TRANSFORMED_REPLY_BYTES: usize = 6 * 1024 * 1024;

/// A backend's answer.
#[derive(Debug)]
pub struct HttpReply {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Bytes,
}

/// A pooled client with a concurrency cap.
#[derive(Clone)]
pub struct BackendClient {
    pool: Arc<Pool>,
    slots: Arc<Semaphore>,
    timeout: Duration,
    max_reply_bytes: usize,
}

impl std::fmt::Debug for BackendClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl BackendClient {
    /// A new pool; `timeout` bounds each call from queueing to the last body byte, and a reply
    /// body over `max_reply_bytes` fails the call instead of being buffered.
    pub fn new(
        timeout: Duration,
        max_concurrent: usize,
        max_reply_bytes: usize,
    ) -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("TLS client setup failed: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            pool: Pool::new(https, Duration::from_secs(90), 4096),
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            timeout,
            max_reply_bytes,
        })
    }

    /// The deadline of one call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one request; no retries (integrations are not idempotent).
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<HttpReply, IntegrationError> {
        let deadline = Instant::now() + self.timeout;
        let millis = self.timeout.as_millis() as u64;
        let call = async {
            let _slot = self.slots.acquire().await.map_err(|_| {
                IntegrationError::internal(ErrorKind::Saturated, "the call pool is closed")
            })?;
            // Boxed, as hyper-util's client boxed its response future: the future of every
            // call task stays small (moving a large one costs more than the allocation).
            let (response, lease) = Box::pin(self.pool.send(request)).await?;
            let (parts, body) = response.into_parts();
            let limit = self.max_reply_bytes;
            let body = Limited::new(body, limit)
                .collect()
                .await
                .map_err(|e| match e.downcast_ref::<LengthLimitError>() {
                    Some(_) => IntegrationError::backend(
                        ErrorKind::BadReply,
                        format!("reply body is larger than {limit} bytes"),
                    ),
                    None => IntegrationError::backend(
                        ErrorKind::BadReply,
                        format!("reading the body: {e}"),
                    ),
                })?
                .to_bytes();
            lease.release();
            Ok(HttpReply {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout_at(deadline, call).await.map_err(|_| {
            IntegrationError::backend(ErrorKind::Timeout, format!("no reply within {millis} ms"))
        })?
    }
}

/// The error's text followed by its sources'.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
