//! A real HTTP backend on `127.0.0.1:0` that records what the gateway sends it, for
//! HTTP_PROXY / HTTP integration tests (docs/behaviour.md §4.3), plus two misbehaving peers.

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// One request as the backend received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path only, as sent (still percent-encoded).
    pub path: String,
    /// The raw query string after `?`, if there was one.
    pub query: Option<String>,
    /// Headers with lowercase names, in the order they first appeared; repeated headers follow
    /// their first occurrence.
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of header `name` (any case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy), for assertions.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What the backend answers to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendReply {
    /// The status code.
    pub status: u16,
    /// Response headers, in order.
    pub headers: Vec<(String, String)>,
    /// The response body.
    pub body: Vec<u8>,
    /// Answer only after this long (integration timeout tests).
    pub delay: Option<Duration>,
    /// Never answer: the request is held open until the backend is dropped.
    pub hang: bool,
}

impl BackendReply {
    /// 200 with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
            delay: None,
            hang: false,
        }
    }

    /// `code` with an empty body.
    pub fn status(code: u16) -> Self {
        Self {
            status: code,
            ..Self::ok(Vec::new())
        }
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Answers after `delay`.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Never answers: holds the request open for as long as the backend lives.
    pub fn never() -> Self {
        Self {
            hang: true,
            ..Self::status(200)
        }
    }
}

/// A recording HTTP/1.1 backend; stops when dropped.
pub struct HttpBackend {
    /// Where it listens.
    pub addr: SocketAddr,
    recorded: Arc<Recorder<RecordedRequest>>,
    accepted: Arc<AtomicUsize>,
    _server: RunningServer,
}

impl HttpBackend {
    /// Starts a backend answering every request with `handler`'s reply. Each request is
    /// recorded before the handler runs.
    pub async fn start(
        handler: impl Fn(&RecordedRequest) -> BackendReply + Send + Sync + 'static,
    ) -> Self {
        let listener = bind_local().await;
        let addr = listener
            .local_addr()
            .expect("local address of a bound listener");
        let recorded = Arc::new(Recorder::default());
        let accepted = Arc::new(AtomicUsize::new(0));
        let handler = Arc::new(handler);
        let state = Arc::clone(&recorded);
        let server = RunningServer::spawn(listener, Arc::clone(&accepted), move |req| {
            let recorded = Arc::clone(&state);
            let handler = Arc::clone(&handler);
            async move {
                let (parts, body) = req.into_parts();
                let body = match body.collect().await {
                    Ok(collected) => collected.to_bytes().to_vec(),
                    Err(e) => return plain_response(400, format!("could not read body: {e}")),
                };
                let request = RecordedRequest {
                    method: parts.method.as_str().to_owned(),
                    path: parts.uri.path().to_owned(),
                    query: parts.uri.query().map(str::to_owned),
                    headers: header_list(&parts.headers),
                    body,
                };
                recorded.push(request.clone());
                let reply = handler(&request);
                if reply.hang {
                    std::future::pending::<()>().await;
                }
                if let Some(delay) = reply.delay {
                    tokio::time::sleep(delay).await;
                }
                let mut response = Response::builder().status(status_code(reply.status));
                for (name, value) in &reply.headers {
                    response = response.header(name.as_str(), value.as_str());
                }
                response
                    .body(Full::new(Bytes::from(reply.body)))
                    .unwrap_or_else(|e| plain_response(500, format!("bad reply: {e}")))
            }
        });
        Self {
            addr,
            recorded,
            accepted,
            _server: server,
        }
    }

    /// A backend that answers 200 with the request body.
    pub async fn echo() -> Self {
        Self::start(|request| BackendReply::ok(request.body.clone())).await
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.recorded.all()
    }

    /// Waits (at most [`crate::PATIENCE`]) until at least `n` requests arrived, then returns
    /// all of them; panics if they do not.
    pub async fn wait_for_requests(&self, n: usize) -> Vec<RecordedRequest> {
        self.recorded.wait_for(n, "backend requests").await
    }

    /// TCP connections accepted so far; lets tests assert keep-alive pooling.
    pub fn connections_accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A port on 127.0.0.1 with nothing listening (bound, then released), for "connection
/// refused" tests.
pub async fn closed_port() -> u16 {
    let listener = bind_local().await;
    listener
        .local_addr()
        .expect("local address of a bound listener")
        .port()
}

/// A server that answers every request with bytes that are not HTTP, then closes. It runs
/// until the test's runtime shuts down.
pub async fn garbage_server() -> SocketAddr {
    let listener = bind_local().await;
    let addr = listener
        .local_addr()
        .expect("local address of a bound listener");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Read the request head (or whatever arrives first) so the peer sees an answer,
                // not a reset, then answer nonsense.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => head.extend_from_slice(&buf[..read]),
                    }
                }
                let _ = stream.write_all(b"this is not http\r\n\r\n").await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

// === impl RunningServer ===

/// An accept loop serving HTTP/1.1 (keep-alive on) with `handle`; dropping it stops the loop
/// and every connection it accepted.
pub(crate) struct RunningServer {
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Spawns the accept loop, counting accepted connections in `accepted`.
    pub(crate) fn spawn<F, Fut>(
        listener: TcpListener,
        accepted: Arc<AtomicUsize>,
        handle: F,
    ) -> Self
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let task = tokio::spawn(async move {
            // Connections live in this set so that aborting the loop also drops them.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted_stream = listener.accept() => {
                        let Ok((stream, _)) = accepted_stream else { continue };
                        accepted.fetch_add(1, Ordering::SeqCst);
                        let handle = handle.clone();
                        connections.spawn(async move {
                            let service = service_fn(move |req| {
                                let response = handle(req);
                                async move { Ok::<_, Infallible>(response.await) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Self { task }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// === impl Recorder ===

/// Items recorded by a server, with a counter tests can wait on.
pub(crate) struct Recorder<T> {
    items: Mutex<Vec<T>>,
    count: watch::Sender<usize>,
}

impl<T> Default for Recorder<T> {
    fn default() -> Self {
        Self {
            items: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
        }
    }
}

impl<T: Clone> Recorder<T> {
    /// Records one item and wakes waiters.
    pub(crate) fn push(&self, item: T) {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        items.push(item);
        self.count.send_replace(items.len());
    }

    /// A copy of everything recorded.
    pub(crate) fn all(&self) -> Vec<T> {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least `n` items are recorded, bounded by [`crate::PATIENCE`].
    pub(crate) async fn wait_for(&self, n: usize, what: &str) -> Vec<T> {
        let mut count = self.count.subscribe();
        let reached = tokio::time::timeout(crate::PATIENCE, count.wait_for(|c| *c >= n)).await;
        if reached.is_err() {
            panic!(
                "gave up waiting for {n} {what}; got {}",
                *self.count.borrow()
            );
        }
        self.all()
    }
}

// === helpers ===

/// Binds `127.0.0.1:0`.
pub(crate) async fn bind_local() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

/// Headers as `(lowercase name, value)` pairs; non-UTF-8 values are kept lossily.
pub(crate) fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// `code` as a status, 500 if it is not a valid one.
pub(crate) fn status_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A plain-text response.
fn plain_response(code: u16, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status_code(code);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use tokio::net::TcpStream;

    /// Sends raw bytes and reads until the peer closes.
    async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request).await.expect("write");
        let mut answer = Vec::new();
        tokio::time::timeout(crate::PATIENCE, stream.read_to_end(&mut answer))
            .await
            .expect("answered in time")
            .expect("read");
        answer
    }

    #[tokio::test]
    async fn records_requests_byte_for_byte() {
        let backend = HttpBackend::start(|_| {
            BackendReply::status(201)
                .with_header("x-reply", "yes")
                .with_header("content-type", "text/plain")
        })
        .await;
        let body = " {\r\n\t\"a\" :  1 ,\"b\":\"x  y\"}\n\n  ";
        let request = format!(
            "PUT /some/p%20ath?b=2&a=%201&a=3 HTTP/1.1\r\nHost: {}\r\nX-Second: two\r\n\
             X-First: one\r\nX-Second: again\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            backend.addr,
            body.len()
        );
        let answer = String::from_utf8(raw_exchange(backend.addr, request.as_bytes()).await)
            .expect("utf-8 answer");
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
        assert!(answer.contains("x-reply: yes"), "{answer}");

        let requests = backend.wait_for_requests(1).await;
        let got = &requests[0];
        assert_eq!(got.method, "PUT");
        assert_eq!(got.path, "/some/p%20ath");
        assert_eq!(got.query.as_deref(), Some("b=2&a=%201&a=3"));
        assert_eq!(got.body, body.as_bytes());
        let names: Vec<&str> = got.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "host",
                "x-second",
                "x-second",
                "x-first",
                "content-length",
                "connection"
            ]
        );
        assert_eq!(got.header("X-Second"), Some("two"));
        assert_eq!(got.headers[2].1, "again");
    }

    #[tokio::test]
    async fn echo_answers_with_the_body_and_records_no_query_as_none() {
        let backend = HttpBackend::echo().await;
        let answer = raw_exchange(
            backend.addr,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        )
        .await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nhello"), "{answer}");
        assert_eq!(backend.requests()[0].query, None);
        assert_eq!(backend.url("/x"), format!("http://{}/x", backend.addr));
    }

    #[tokio::test]
    async fn after_delays_the_answer_but_not_the_recording() {
        let delay = Duration::from_millis(300);
        let backend = HttpBackend::start(move |_| BackendReply::ok("late").after(delay)).await;
        let started = tokio::time::Instant::now();
        let addr = backend.addr;
        let exchange = tokio::spawn(async move {
            raw_exchange(
                addr,
                b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .await
        });
        backend.wait_for_requests(1).await;
        let answer = exchange.await.expect("exchange task");
        assert!(started.elapsed() >= delay, "answered too early");
        assert!(String::from_utf8_lossy(&answer).ends_with("late"));
    }

    #[tokio::test]
    async fn never_holds_the_request_open() {
        let backend = HttpBackend::start(|_| BackendReply::never()).await;
        let mut stream = TcpStream::connect(backend.addr).await.expect("connect");
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        backend.wait_for_requests(1).await;
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
        assert!(read.is_err(), "backend answered: {read:?}");

        // Dropping the backend ends the held connection too.
        drop(backend);
        let read = tokio::time::timeout(crate::PATIENCE, stream.read(&mut buf))
            .await
            .expect("connection closed after drop");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }

    #[tokio::test]
    async fn counts_connections_and_keep_alive_reuse() {
        let backend = HttpBackend::echo().await;
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        for i in 0..3 {
            let request = Request::post(backend.url("/pooled"))
                .body(Full::new(Bytes::from(format!("m{i}"))))
                .expect("request");
            let response = client.request(request).await.expect("response");
            let body = response.into_body().collect().await.expect("body");
            assert_eq!(body.to_bytes(), format!("m{i}").as_bytes());
        }
        assert_eq!(backend.connections_accepted(), 1, "one pooled connection");

        raw_exchange(
            backend.addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(backend.connections_accepted(), 2);
        assert_eq!(backend.wait_for_requests(4).await.len(), 4);
    }

    #[tokio::test]
    async fn closed_port_refuses_connections() {
        let port = closed_port().await;
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    }

    #[tokio::test]
    async fn garbage_server_answers_non_http() {
        let addr = garbage_server().await;
        let answer = raw_exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(answer, b"this is not http\r\n\r\n");

        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let uri = format!("http://{addr}/").parse().expect("uri");
        assert!(client.get(uri).await.is_err());
    }
}
