//! `push-bare`: a bare push server, the machine's limit for `@connections` pushes.
//!
//! A WebSocket listener registers each connection in a map under a new id and answers any text
//! message `{"action":"whoami"}` with `{"connectionId":"ID"}` (what `loadgen push` asks); an
//! HTTP/1.1 listener takes `POST …/@connections/{id}`, looks the id up and queues the body for
//! that connection (200), or answers 410 for an unknown id and 429 when its queue is full. It is
//! also the bare limit for broadcasts (`bench/broadcast.sh`): `PUT …/groups/{group}` answers 204
//! (every connection is in every group) and `POST …/@groups/{group}` queues one shared body for
//! every connection, answering `{"queued":N,"skipped":M}`. No authentication, events or metrics. Prints `listening on ws://ADDR/` and
//! `management API on http://ADDR` (the same lines as `switchboard serve`).
#![forbid(unsafe_code)]

use bytes::Bytes;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use switchboard_bench::{accept, bind_listener, fatal, ws_config};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Command line of `push-bare`.
#[derive(Parser)]
#[command(about = "Bare push server (benchmark limit for @connections pushes)")]
struct Args {
    /// Loopback address of the WebSocket listener (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Loopback address of the HTTP push listener.
    #[arg(long, default_value = "127.0.0.1:0")]
    push_listen: SocketAddr,
}

/// Messages queued per connection (Switchboard's default outbound queue depth).
const QUEUE: usize = 64;
/// Largest push body (the gateway's message limit).
const MAX_BODY: usize = 128 * 1024;

/// Open connections by id.
type Registry = Arc<RwLock<HashMap<u64, mpsc::Sender<Utf8Bytes>>>>;

fn respond(status: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// `POST …/@connections/{id}`: queues the body for connection `id`; `POST …/@groups/{group}`
/// queues it for every connection; `PUT …/groups/{group}` (a join) is accepted as a no-op.
async fn push(registry: Registry, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() == hyper::Method::PUT && req.uri().path().contains("/groups/") {
        return respond(StatusCode::NO_CONTENT);
    }
    if req.method() == hyper::Method::POST && req.uri().path().contains("/@groups/") {
        return broadcast(registry, req).await;
    }
    let id = req
        .uri()
        .path()
        .rsplit_once("/@connections/")
        .and_then(|(_, id)| id.parse::<u64>().ok());
    let Some(id) = id.filter(|_| req.method() == hyper::Method::POST) else {
        return respond(StatusCode::NOT_FOUND);
    };
    let text = match text_body(req).await {
        Ok(text) => text,
        Err(status) => return respond(status),
    };
    let sender = match registry.read() {
        Ok(map) => map.get(&id).cloned(),
        Err(_) => None,
    };
    match sender.map(|s| s.try_send(text)) {
        Some(Ok(())) => respond(StatusCode::OK),
        Some(Err(mpsc::error::TrySendError::Full(_))) => respond(StatusCode::TOO_MANY_REQUESTS),
        _ => respond(StatusCode::GONE),
    }
}

/// The request's body as text, or the status refusing it.
async fn text_body(req: Request<Incoming>) -> Result<Utf8Bytes, StatusCode> {
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(StatusCode::PAYLOAD_TOO_LARGE),
    };
    Utf8Bytes::try_from(body).map_err(|_| StatusCode::BAD_REQUEST)
}

/// Queues one body (shared, not copied) for every connection; a full queue is skipped.
async fn broadcast(registry: Registry, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let text = match text_body(req).await {
        Ok(text) => text,
        Err(status) => return respond(status),
    };
    let (mut queued, mut skipped) = (0u64, 0u64);
    if let Ok(map) = registry.read() {
        for sender in map.values() {
            match sender.try_send(text.clone()) {
                Ok(()) => queued += 1,
                Err(_) => skipped += 1,
            }
        }
    }
    let answer = format!(r#"{{"queued":{queued},"skipped":{skipped}}}"#);
    Response::new(Full::new(Bytes::from(answer)))
}

/// Serves one WebSocket connection registered as `id`.
async fn serve_ws(registry: Registry, id: u64, stream: tokio::net::TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(ws_config())).await
    else {
        return;
    };
    let (tx, mut rx) = mpsc::channel(QUEUE);
    if let Ok(mut map) = registry.write() {
        map.insert(id, tx);
    }
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Text(_))) => {
                    let reply = format!(r#"{{"connectionId":"{id}"}}"#);
                    if ws.send(Message::text(reply)).await.is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                _ => break,
            },
            Some(text) = rx.recv() => {
                if ws.send(Message::Text(text)).await.is_err() {
                    break;
                }
            }
        }
    }
    if let Ok(mut map) = registry.write() {
        map.remove(&id);
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let ws_listener = bind_listener(args.listen).unwrap_or_else(|e| fatal(format!("listen: {e}")));
    let http_listener =
        bind_listener(args.push_listen).unwrap_or_else(|e| fatal(format!("push listen: {e}")));
    let ws_addr = ws_listener
        .local_addr()
        .unwrap_or_else(|e| fatal(format!("local_addr: {e}")));
    let http_addr = http_listener
        .local_addr()
        .unwrap_or_else(|e| fatal(format!("local_addr: {e}")));
    println!("listening on ws://{ws_addr}/");
    println!("management API on http://{http_addr}");
    let registry: Registry = Arc::default();
    let pushes = Arc::clone(&registry);
    tokio::spawn(async move {
        loop {
            let stream = accept(&http_listener).await;
            let registry = Arc::clone(&pushes);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let registry = Arc::clone(&registry);
                    async move { Ok::<_, Infallible>(push(registry, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let mut next_id = 0u64;
    loop {
        let stream = accept(&ws_listener).await;
        next_id += 1;
        tokio::spawn(serve_ws(Arc::clone(&registry), next_id, stream));
    }
}
