//! `ws-relay`: a bare WebSocket-to-HTTP relay, the machine's limit for the `HTTP_PROXY` echo.
//!
//! Each WebSocket connection owns one keep-alive HTTP/1.1 connection to the backend (opened
//! with its first message); each data message is POSTed over it and the response body is
//! written back as the reply (text stays text). No routing, events, metrics or timeouts: the
//! same loopback TCP crossings as Switchboard's `HTTP_PROXY` two-way route, and nothing else.
//! Prints `listening on ws://ADDR/` once it accepts connections.
#![forbid(unsafe_code)]

use bytes::Bytes;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use switchboard_bench::{accept, bind_listener, fatal, parse_loopback_url, ws_config};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Command line of `ws-relay`.
#[derive(Parser)]
#[command(about = "Bare WebSocket-to-HTTP relay (benchmark limit for HTTP_PROXY)")]
struct Args {
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Backend URL each message is POSTed to, e.g. `http://127.0.0.1:8080/echo`.
    #[arg(long)]
    backend: String,
}

/// Largest backend reply relayed (the gateway's message limit).
const MAX_REPLY: usize = 128 * 1024;

/// Opens the keep-alive backend connection of one WebSocket connection.
async fn open_backend(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("backend connect: {e}"))?;
    tcp.set_nodelay(true)
        .map_err(|e| format!("backend nodelay: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("backend handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(sender)
}

/// POSTs `body` and returns the response body.
async fn call(
    sender: &mut SendRequest<Full<Bytes>>,
    host: &str,
    path: &str,
    body: Bytes,
) -> Result<Bytes, String> {
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, host)
        .body(Full::new(body))
        .map_err(|e| format!("request: {e}"))?;
    sender.ready().await.map_err(|e| format!("backend: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("backend: {e}"))?;
    let body = Limited::new(response.into_body(), MAX_REPLY)
        .collect()
        .await
        .map_err(|e| format!("backend body: {e}"))?;
    Ok(body.to_bytes())
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let (backend, path) = parse_loopback_url(&args.backend).unwrap_or_else(|e| fatal(e));
    let host = backend.to_string();
    let listener = bind_listener(args.listen).unwrap_or_else(|e| fatal(format!("listen: {e}")));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| fatal(format!("local_addr: {e}")));
    println!("listening on ws://{addr}/");
    loop {
        let stream = accept(&listener).await;
        let (host, path) = (host.clone(), path.clone());
        tokio::spawn(async move {
            let Ok(mut ws) =
                tokio_tungstenite::accept_async_with_config(stream, Some(ws_config())).await
            else {
                return;
            };
            let mut sender: Option<SendRequest<Full<Bytes>>> = None;
            while let Some(Ok(msg)) = ws.next().await {
                let (body, text) = match msg {
                    Message::Text(t) => (Bytes::from(t), true),
                    Message::Binary(b) => (b, false),
                    _ => continue,
                };
                if sender.as_ref().is_none_or(|s| s.is_closed()) {
                    match open_backend(backend).await {
                        Ok(s) => sender = Some(s),
                        Err(e) => {
                            eprintln!("{e}");
                            return;
                        }
                    }
                }
                let Some(s) = sender.as_mut() else { return };
                let reply = match call(s, &host, &path, body).await {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("{e}");
                        sender = None;
                        continue;
                    }
                };
                let out = if text {
                    match Utf8Bytes::try_from(reply.clone()) {
                        Ok(t) => Message::Text(t),
                        Err(_) => Message::Binary(reply),
                    }
                } else {
                    Message::Binary(reply)
                };
                if ws.send(out).await.is_err() {
                    return;
                }
            }
        });
    }
}
