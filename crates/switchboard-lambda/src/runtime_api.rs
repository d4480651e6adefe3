//! The Lambda Runtime API (`/2018-06-01/runtime/...`) as one worker process sees it. Each worker
//! has its own loopback listener, so whoever calls it is that worker: `next` hands it the
//! invocation its supervisor delivered, and `response`/`error`/`init/error` become events for
//! that supervisor.

use crate::payloads::{self, MAX_RESPONSE_BYTES};
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// One invocation handed to a worker.
#[derive(Debug)]
pub struct Delivery {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// The event.
    pub payload: Bytes,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub invoked_arn: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
    /// `Lambda-Runtime-Client-Context` (the decoded `X-Amz-Client-Context`).
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`.
    pub cognito_identity: Option<String>,
}

/// What a worker told its Runtime API.
#[derive(Debug)]
pub enum RuntimeEvent {
    /// `next` returned this invocation; it must be answered by `deadline`.
    Started {
        /// The invocation.
        request_id: String,
        /// When it times out.
        deadline: Instant,
    },
    /// The handler returned.
    Response {
        /// The invocation.
        request_id: String,
        /// The handler's result.
        body: Bytes,
    },
    /// The handler failed (or its result was too large).
    Error {
        /// The invocation.
        request_id: String,
        /// `{errorMessage, errorType, ...}`.
        body: Bytes,
    },
    /// The handler could not be loaded; the runtime exits next.
    InitError {
        /// `{errorMessage, errorType, ...}`.
        body: Bytes,
    },
}

/// The state a worker's Runtime API shares with its supervisor.
pub struct Link {
    deliveries: tokio::sync::Mutex<mpsc::Receiver<Delivery>>,
    events: mpsc::Sender<RuntimeEvent>,
    current: Mutex<Option<String>>,
    timeout: Duration,
}

/// The supervisor's ends of a [`Link`].
pub struct LinkEnds {
    /// Where the supervisor puts the next invocation.
    pub deliveries: mpsc::Sender<Delivery>,
    /// What the worker reported.
    pub events: mpsc::Receiver<RuntimeEvent>,
}

/// Events a worker may post before its supervisor reads them; more are dropped (only a
/// misbehaving runtime posts more than two per invocation).
const EVENT_BACKLOG: usize = 16;

impl Link {
    /// A link for a function with this timeout.
    pub fn new(timeout: Duration) -> (Arc<Self>, LinkEnds) {
        let (delivery_tx, delivery_rx) = mpsc::channel(1);
        let (event_tx, event_rx) = mpsc::channel(EVENT_BACKLOG);
        let link = Arc::new(Self {
            deliveries: tokio::sync::Mutex::new(delivery_rx),
            events: event_tx,
            current: Mutex::new(None),
            timeout,
        });
        (
            link,
            LinkEnds {
                deliveries: delivery_tx,
                events: event_rx,
            },
        )
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn report(&self, event: RuntimeEvent) {
        if let Err(e) = self.events.try_send(event) {
            tracing::warn!("runtime API event dropped: {e}");
        }
    }
}

/// Serves the Runtime API of one worker on `listener` until `stop`.
pub fn serve(
    listener: TcpListener,
    link: Arc<Link>,
    stop: CancellationToken,
    tracker: &TaskTracker,
) {
    let connections = tracker.clone();
    tracker.spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::debug!("runtime API accept failed: {e}");
                        continue;
                    }
                },
                _ = stop.cancelled() => return,
            };
            let _ = stream.set_nodelay(true);
            let link = Arc::clone(&link);
            let stop = stop.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let link = Arc::clone(&link);
                    async move { Ok::<_, std::convert::Infallible>(answer(&link, req).await) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    _ = stop.cancelled() => {}
                }
            });
        }
    });
}

const PREFIX: &str = "/2018-06-01/runtime/";

async fn answer(link: &Link, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return error(
            StatusCode::NOT_FOUND,
            "UnknownPath",
            &format!("no route {path}"),
        );
    };
    match (req.method().clone(), rest) {
        (Method::GET, "invocation/next") => next(link).await,
        (Method::POST, "init/error") => {
            let error_type = error_type_header(&req);
            let body = match read_body(req).await {
                Ok(body) => body,
                Err(reply) => return reply,
            };
            link.report(RuntimeEvent::InitError {
                body: payloads::runtime_error(&body, error_type.as_deref()),
            });
            accepted()
        }
        (Method::POST, rest) => {
            let Some((request_id, action)) = rest
                .strip_prefix("invocation/")
                .and_then(|r| r.split_once('/'))
            else {
                return error(
                    StatusCode::NOT_FOUND,
                    "UnknownPath",
                    &format!("no route {path}"),
                );
            };
            if link.current().as_deref() != Some(request_id) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestID",
                    &format!("Invalid request ID: {request_id} is not the invocation in progress"),
                );
            }
            let request_id = request_id.to_owned();
            match action {
                "response" => respond(link, request_id, req).await,
                "error" => {
                    let error_type = error_type_header(&req);
                    let body = match read_body(req).await {
                        Ok(body) => body,
                        Err(reply) => return reply,
                    };
                    link.current().take();
                    link.report(RuntimeEvent::Error {
                        request_id,
                        body: payloads::runtime_error(&body, error_type.as_deref()),
                    });
                    accepted()
                }
                _ => error(
                    StatusCode::NOT_FOUND,
                    "UnknownPath",
                    &format!("no route {path}"),
                ),
            }
        }
        (method, _) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("{method} {path}"),
        ),
    }
}

/// `GET invocation/next`: waits for the supervisor's next delivery.
async fn next(link: &Link) -> Response<Full<Bytes>> {
    let delivery = {
        let mut deliveries = link.deliveries.lock().await;
        deliveries.recv().await
    };
    let Some(d) = delivery else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ShuttingDown",
            "this execution environment is being shut down",
        );
    };
    let deadline_ms = SystemTime::now()
        .checked_add(link.timeout)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis());
    *link.current() = Some(d.request_id.clone());
    link.report(RuntimeEvent::Started {
        request_id: d.request_id.clone(),
        deadline: Instant::now() + link.timeout,
    });
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header("Lambda-Runtime-Aws-Request-Id", d.request_id.as_str())
        .header("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string())
        .header(
            "Lambda-Runtime-Invoked-Function-Arn",
            d.invoked_arn.as_str(),
        )
        .header("Lambda-Runtime-Trace-Id", d.trace_id.as_str());
    if let Some(cc) = &d.client_context {
        response = response.header("Lambda-Runtime-Client-Context", cc.as_str());
    }
    if let Some(ci) = &d.cognito_identity {
        response = response.header("Lambda-Runtime-Cognito-Identity", ci.as_str());
    }
    response
        .body(Full::new(d.payload))
        .unwrap_or_else(|e| internal(&e.to_string()))
}

/// `POST invocation/{id}/response`.
async fn respond(link: &Link, request_id: String, req: Request<Incoming>) -> Response<Full<Bytes>> {
    match Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
    {
        Ok(body) => {
            link.current().take();
            link.report(RuntimeEvent::Response {
                request_id,
                body: body.to_bytes(),
            });
            accepted()
        }
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            link.current().take();
            link.report(RuntimeEvent::Error {
                request_id,
                body: payloads::response_too_large(),
            });
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
            )
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            &format!("reading the response body failed: {e}"),
        ),
    }
}

fn error_type_header(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, Response<Full<Bytes>>> {
    match Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
    {
        Ok(body) => Ok(body.to_bytes()),
        Err(e) => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("error body unreadable or larger than {MAX_RESPONSE_BYTES} bytes: {e}"),
        )),
    }
}

fn accepted() -> Response<Full<Bytes>> {
    json_response(StatusCode::ACCEPTED, r#"{"status":"OK"}"#.into())
}

fn error(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"errorMessage": message, "errorType": error_type});
    json_response(status, body.to_string())
}

fn internal(message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_owned())));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
