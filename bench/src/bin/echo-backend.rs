//! `echo-backend`: a minimal HTTP/1.1 backend for the benchmarks.
//!
//! - Any POST is answered `200` with the request body (Switchboard `HTTP_PROXY` two-way routes,
//!   `$connect` integrations, and the `wrk` baseline).
//! - A request with `Content-Type: application/websocket-events` speaks Pushpin's
//!   WebSocket-over-HTTP protocol: `OPEN` is acknowledged with `OPEN`, each `TEXT`/`BINARY`
//!   event is echoed back, `PING` is answered with `PONG`, `CLOSE` with `CLOSE`. When the
//!   `OPEN` request's query has `channel=NAME`, the reply enables GRIP
//!   (`Sec-WebSocket-Extensions: grip; message-prefix=""`) and subscribes the connection to
//!   `NAME` with the control message `c:{"type":"subscribe","channel":"NAME"}` sent as a `TEXT`
//!   event.
//!
//! Prints `listening on http://ADDR` once it accepts connections.
#![forbid(unsafe_code)]

use bytes::{BufMut, Bytes, BytesMut};
use clap::Parser;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use switchboard_bench::{accept, bind_listener, fatal};

/// Command line of `echo-backend`.
#[derive(Parser)]
#[command(about = "HTTP echo backend and Pushpin WebSocket-over-HTTP echo")]
struct Args {
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;
/// The WebSocket-over-HTTP media type.
const WS_EVENTS: &str = "application/websocket-events";

/// One WebSocket-over-HTTP event: its name and optional content.
#[derive(Debug, PartialEq)]
struct Event<'a> {
    kind: &'a str,
    content: Option<&'a [u8]>,
}

/// Parses a WebSocket-over-HTTP body: `NAME\r\n` or `NAME HEXLEN\r\nCONTENT\r\n`, repeated.
fn parse_events(mut body: &[u8]) -> Result<Vec<Event<'_>>, String> {
    let mut events = Vec::new();
    while !body.is_empty() {
        let eol = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("event line without CRLF")?;
        let line = std::str::from_utf8(&body[..eol]).map_err(|_| "event line is not UTF-8")?;
        body = &body[eol + 2..];
        let (kind, len) = match line.split_once(' ') {
            Some((k, hex)) => (
                k,
                Some(usize::from_str_radix(hex, 16).map_err(|_| "bad hex length")?),
            ),
            None => (line, None),
        };
        let content = match len {
            Some(n) => {
                if body.len() < n + 2 || &body[n..n + 2] != b"\r\n" {
                    return Err(format!("{kind}: content shorter than {n} bytes or no CRLF"));
                }
                let c = &body[..n];
                body = &body[n + 2..];
                Some(c)
            }
            None => None,
        };
        events.push(Event { kind, content });
    }
    Ok(events)
}

/// Appends one event to `out`.
fn put_event(out: &mut BytesMut, kind: &str, content: Option<&[u8]>) {
    out.put_slice(kind.as_bytes());
    if let Some(c) = content {
        out.put_slice(format!(" {:x}\r\n", c.len()).as_bytes());
        out.put_slice(c);
    }
    out.put_slice(b"\r\n");
}

/// The value of `key` in a query string, if present.
fn query_param<'a>(query: Option<&'a str>, key: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Channel names are echoed into JSON: keep them to a safe alphabet.
fn valid_channel(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= 128
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn respond(status: StatusCode, content_type: &str, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

/// Answers a WebSocket-over-HTTP request.
fn websocket_events(query: Option<&str>, body: &[u8]) -> Response<Full<Bytes>> {
    let events = match parse_events(body) {
        Ok(e) => e,
        Err(e) => {
            return respond(
                StatusCode::BAD_REQUEST,
                "text/plain",
                Bytes::from(format!("{e}\n")),
            )
        }
    };
    let mut out = BytesMut::with_capacity(body.len() + 64);
    let mut grip = false;
    for ev in events {
        match ev.kind {
            "OPEN" => {
                put_event(&mut out, "OPEN", None);
                if let Some(channel) = query_param(query, "channel").filter(|c| valid_channel(c)) {
                    grip = true;
                    let control = format!(r#"c:{{"type":"subscribe","channel":"{channel}"}}"#);
                    put_event(&mut out, "TEXT", Some(control.as_bytes()));
                }
            }
            "TEXT" | "BINARY" => put_event(&mut out, ev.kind, Some(ev.content.unwrap_or(b""))),
            "PING" => put_event(&mut out, "PONG", ev.content),
            "CLOSE" => put_event(&mut out, "CLOSE", ev.content),
            _ => {} // PONG, DISCONNECT: nothing to answer
        }
    }
    let mut r = respond(StatusCode::OK, WS_EVENTS, out.freeze());
    if grip {
        r.headers_mut().insert(
            "sec-websocket-extensions",
            HeaderValue::from_static("grip; message-prefix=\"\""),
        );
    }
    r
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let query = req.uri().query().map(str::to_string);
    let is_post = req.method() == hyper::Method::POST;
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(respond(
                StatusCode::PAYLOAD_TOO_LARGE,
                "text/plain",
                Bytes::from(format!("{e}\n")),
            ))
        }
    };
    if content_type.starts_with(WS_EVENTS) {
        return Ok(websocket_events(query.as_deref(), &body));
    }
    if is_post {
        return Ok(respond(StatusCode::OK, &content_type, body));
    }
    Ok(respond(
        StatusCode::OK,
        "text/plain",
        Bytes::from_static(b"ok\n"),
    ))
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let listener = bind_listener(args.listen).unwrap_or_else(|e| fatal(format!("listen: {e}")));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| fatal(format!("local_addr: {e}")));
    println!("listening on http://{addr}");
    loop {
        let stream = accept(&listener).await;
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), hyper::service::service_fn(handle))
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events() {
        let ev = parse_events(b"OPEN\r\nTEXT 5\r\nhello\r\nCLOSE 2\r\n\x03\xe8\r\n").expect("ok");
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].kind, "OPEN");
        assert_eq!(ev[1].content, Some(&b"hello"[..]));
        assert_eq!(ev[2].content, Some(&b"\x03\xe8"[..]));
        assert!(parse_events(b"TEXT 9\r\nhi\r\n").is_err());
        assert!(parse_events(b"TEXT zz\r\nhi\r\n").is_err());
    }

    #[test]
    fn open_with_channel_subscribes() {
        let r = websocket_events(Some("channel=c7"), b"OPEN\r\n");
        assert_eq!(
            r.headers()
                .get("sec-websocket-extensions")
                .map(|v| v.as_bytes()),
            Some(&b"grip; message-prefix=\"\""[..])
        );
        let r = websocket_events(None, b"TEXT 2\r\nhi\r\n");
        assert!(r.headers().get("sec-websocket-extensions").is_none());
    }

    #[test]
    fn events_round_trip() {
        let mut out = BytesMut::new();
        put_event(&mut out, "TEXT", Some(b"hello world"));
        assert_eq!(&out[..], b"TEXT b\r\nhello world\r\n");
    }
}
