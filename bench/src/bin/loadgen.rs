//! `loadgen`: the WebSocket load generator of the Switchboard benchmarks.
//!
//! Each subcommand runs one bounded scenario against a loopback target and prints one JSON
//! object of results on stdout (progress and errors go to stderr):
//!
//! - `idle`: open N connections and report the server's RSS growth per connection;
//! - `echo`: closed-loop request/reply throughput and round-trip latency;
//! - `push`: `@connections` pushes through Switchboard's management API;
//! - `push-pushpin`: the same through Pushpin's publish API;
//! - `connect`: new connections per second.
#![forbid(unsafe_code)]

use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_bench::{
    connect_tcp, connect_ws, encode_segment, fatal, new_histogram, parse_loopback_url,
    read_rss_sum, record, summary, Ws, MAX_CLIENT_CONNECTIONS,
};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Command line of `loadgen`.
#[derive(Parser)]
#[command(about = "WebSocket load generator (loopback targets only)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Open N idle connections and report the server's RSS per connection.
    Idle(IdleArgs),
    /// Closed-loop echo: one message in flight per connection.
    Echo(EchoArgs),
    /// Pushes through Switchboard's `@connections` API.
    Push(PushArgs),
    /// Pushes through Pushpin's publish API (one channel per client).
    PushPushpin(PushPushpinArgs),
    /// New connections per second (connect, handshake, close).
    Connect(ConnectArgs),
}

/// Options shared by the scenarios that open many connections.
#[derive(Args, Clone)]
struct Common {
    /// WebSocket URL of the system under test (loopback only).
    #[arg(long)]
    url: String,
    /// Handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Time limit for one connection's TCP connect and handshake, in seconds.
    #[arg(long, default_value_t = 10)]
    connect_timeout: u64,
}

#[derive(Args)]
struct IdleArgs {
    #[command(flatten)]
    common: Common,
    /// Number of connections to open.
    #[arg(long)]
    connections: usize,
    /// Process whose RSS is measured.
    #[arg(long)]
    pid: Option<u32>,
    /// More processes (comma-separated) whose RSS is added, e.g. Pushpin's.
    #[arg(long, value_delimiter = ',')]
    pids: Vec<u32>,
    /// Seconds to wait after the last connection opened before sampling RSS.
    #[arg(long, default_value_t = 2)]
    settle: u64,
    /// Time limit for opening all connections, in seconds.
    #[arg(long, default_value_t = 300)]
    open_timeout: u64,
}

#[derive(Args)]
struct EchoArgs {
    #[command(flatten)]
    common: Common,
    /// Number of connections (one message in flight each).
    #[arg(long, default_value_t = 50)]
    connections: usize,
    /// Payload size in bytes (the filler that replaces PAYLOAD in the template).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Unmeasured seconds before the measurement.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Message text in which `PAYLOAD` is replaced by SIZE bytes of filler (default: the filler).
    #[arg(long)]
    message_template: Option<String>,
    /// Time limit for one reply, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    reply_timeout_ms: u64,
}

#[derive(Args)]
struct PushArgs {
    #[command(flatten)]
    common: Common,
    /// Management API base, e.g. `http://127.0.0.1:8081/dev`.
    #[arg(long)]
    mgmt: String,
    #[command(flatten)]
    push: PushCommon,
    /// Message sent by each client to learn its connection id.
    #[arg(long, default_value = r#"{"action":"whoami"}"#)]
    whoami: String,
}

#[derive(Args)]
struct PushPushpinArgs {
    #[command(flatten)]
    common: Common,
    /// Pushpin's publish URL, e.g. `http://127.0.0.1:5561/publish/`.
    #[arg(long)]
    publish: String,
    /// Client i subscribes to channel PREFIX{i} (query `channel=` of its URL).
    #[arg(long, default_value = "c")]
    channel_prefix: String,
    #[command(flatten)]
    push: PushCommon,
}

#[derive(Args, Clone)]
struct PushCommon {
    /// Number of receiving clients.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Concurrent HTTP/1.1 keep-alive senders.
    #[arg(long, default_value_t = 64)]
    senders: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// At most this many seconds to wait for queued deliveries after the last push.
    #[arg(long, default_value_t = 10)]
    drain: u64,
}

#[derive(Args)]
struct ConnectArgs {
    /// WebSocket URL of the system under test (loopback only).
    #[arg(long)]
    url: String,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

/// Counts errors and keeps the first one's text.
#[derive(Default)]
struct Errors {
    count: AtomicUsize,
    first: Mutex<Option<String>>,
}

impl Errors {
    fn add(&self, e: impl Into<String>) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut f) = self.first.lock() {
            if f.is_none() {
                *f = Some(e.into());
            }
        }
    }
    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
    fn first(&self) -> Option<String> {
        self.first.lock().ok().and_then(|f| f.clone())
    }
}

fn check_connections(n: usize) {
    if n == 0 || n > MAX_CLIENT_CONNECTIONS {
        fatal(format!(
            "--connections must be 1..={MAX_CLIENT_CONNECTIONS} (one process may hold 20,000 files)"
        ));
    }
}

fn target(url: &str) -> SocketAddr {
    parse_loopback_url(url).unwrap_or_else(|e| fatal(e)).0
}

fn emit(v: serde_json::Value) {
    println!("{v}");
}

/// Opens `n` connections with bounded concurrency. `setup` runs on each new connection (e.g.
/// `whoami`) and its output is returned with it. Failed connections are counted in `errors`.
/// Returns the open connections in index order of success.
async fn open_many<T, F, Fut>(
    common: &Common,
    n: usize,
    url_for: impl Fn(usize) -> String,
    setup: F,
    errors: Arc<Errors>,
    deadline: Duration,
) -> Vec<(usize, Ws, T)>
where
    T: Send + 'static,
    F: Fn(usize, Ws) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(Ws, T), String>> + Send,
{
    let addr = target(&common.url);
    let sem = Arc::new(Semaphore::new(common.connect_concurrency.max(1)));
    let timeout = Duration::from_secs(common.connect_timeout);
    let mut handles: Vec<JoinHandle<Option<(usize, Ws, T)>>> = Vec::with_capacity(n);
    let all = async {
        for i in 0..n {
            let Ok(permit) = sem.clone().acquire_owned().await else {
                break;
            };
            let url = url_for(i);
            let setup = setup.clone();
            let errors = errors.clone();
            handles.push(tokio::spawn(async move {
                let r = match connect_ws(&url, addr, i, timeout).await {
                    Ok(ws) => match tokio::time::timeout(timeout, setup(i, ws)).await {
                        Ok(r) => r,
                        Err(_) => Err("setup timed out".to_string()),
                    },
                    Err(e) => Err(e),
                };
                drop(permit);
                match r {
                    Ok((ws, t)) => Some((i, ws, t)),
                    Err(e) => {
                        errors.add(e);
                        None
                    }
                }
            }));
        }
    };
    if tokio::time::timeout(deadline, all).await.is_err() {
        eprintln!("warning: opening connections ran out of time");
    }
    let mut out = Vec::with_capacity(n);
    for h in handles {
        if let Ok(Some(c)) = h.await {
            out.push(c);
        }
    }
    out
}

async fn no_setup(_: usize, ws: Ws) -> Result<(Ws, ()), String> {
    Ok((ws, ()))
}

/// Reads until a Text or Binary message arrives (skipping pings), within `timeout`.
async fn next_data(ws: &mut Ws, timeout: Duration) -> Result<Message, String> {
    let read = async {
        loop {
            match ws.next().await {
                Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => return Ok(m),
                Some(Ok(Message::Close(f))) => return Err(format!("closed by server: {f:?}")),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("read: {e}")),
                None => return Err("connection ended".to_string()),
            }
        }
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| Err("reply timed out".to_string()))
}

/// Sends a Close and waits (bounded) for the server's.
async fn close(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

async fn close_all(conns: Vec<Ws>) {
    let mut hs = Vec::with_capacity(conns.len());
    for ws in conns {
        hs.push(tokio::spawn(close(ws)));
    }
    for h in hs {
        let _ = h.await;
    }
}

/// What one connection's task measured: latencies, a count, and the connection if still open.
type Measured = (Histogram<u64>, u64, Option<Ws>);

/// Merges what per-connection tasks measured (latencies and a count), then closes the
/// connections that are still open (10 s at most).
async fn gather(tasks: Vec<JoinHandle<Measured>>) -> (Histogram<u64>, u64) {
    let mut total = new_histogram();
    let mut count = 0u64;
    let mut alive = Vec::new();
    for t in tasks {
        if let Ok((h, c, ws)) = t.await {
            let _ = total.add(&h);
            count += c;
            alive.extend(ws);
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), close_all(alive)).await;
    (total, count)
}

// ---------------------------------------------------------------------------------------- idle

async fn idle(a: IdleArgs) {
    check_connections(a.connections);
    let mut pids = a.pids.clone();
    pids.extend(a.pid);
    if pids.is_empty() {
        fatal("idle needs --pid or --pids");
    }
    let before = read_rss_sum(&pids).unwrap_or_else(|e| fatal(e));
    let errors = Arc::new(Errors::default());
    let url = a.common.url.clone();
    let conns = open_many(
        &a.common,
        a.connections,
        |_| url.clone(),
        no_setup,
        errors.clone(),
        Duration::from_secs(a.open_timeout),
    )
    .await;
    let opened = conns.len();
    // Keep reading (pings, closes) while the server settles.
    let (stop_tx, stop_rx) = watch::channel(false);
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut holders = Vec::with_capacity(opened);
    for (_, mut ws, ()) in conns {
        let mut stop = stop_rx.clone();
        let dropped = dropped.clone();
        holders.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    m = ws.next() => match m {
                        Some(Ok(_)) => continue,
                        _ => { dropped.fetch_add(1, Ordering::Relaxed); return None; }
                    }
                }
            }
            Some(ws)
        }));
    }
    tokio::time::sleep(Duration::from_secs(a.settle)).await;
    let after = read_rss_sum(&pids).unwrap_or_else(|e| fatal(e));
    let _ = stop_tx.send(true);
    let mut alive = Vec::with_capacity(opened);
    for h in holders {
        if let Ok(Some(ws)) = h.await {
            alive.push(ws);
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(20), close_all(alive)).await;
    let per = if opened > 0 {
        (after as f64 - before as f64) / opened as f64
    } else {
        0.0
    };
    emit(json!({
        "scenario": "idle",
        "connections": a.connections,
        "opened": opened,
        "failed": errors.count(),
        "dropped_before_sample": dropped.load(Ordering::Relaxed),
        "first_error": errors.first(),
        "rss_before_bytes": before,
        "rss_after_bytes": after,
        "bytes_per_connection": per.round(),
    }));
}

// ---------------------------------------------------------------------------------------- echo

async fn echo(a: EchoArgs) {
    check_connections(a.connections);
    let filler = "x".repeat(a.size);
    let text = match &a.message_template {
        Some(t) => t.replace("PAYLOAD", &filler),
        None => filler,
    };
    let payload: Utf8Bytes = text.into();
    let errors = Arc::new(Errors::default());
    let url = a.common.url.clone();
    let conns = open_many(
        &a.common,
        a.connections,
        |_| url.clone(),
        no_setup,
        errors.clone(),
        Duration::from_secs(120),
    )
    .await;
    let connect_errors = errors.count();
    let opened = conns.len();
    if opened == 0 {
        fatal(format!(
            "no connection opened: {}",
            errors.first().unwrap_or_default()
        ));
    }
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(a.warmup);
    let end = measure_from + Duration::from_secs(a.duration);
    let reply_timeout = Duration::from_millis(a.reply_timeout_ms);
    let io_errors = Arc::new(Errors::default());
    let mismatched = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(opened);
    for (_, mut ws, ()) in conns {
        let payload = payload.clone();
        let io_errors = io_errors.clone();
        let mismatched = mismatched.clone();
        tasks.push(tokio::spawn(async move {
            let mut h = new_histogram();
            let mut count = 0u64;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                if let Err(e) = ws.send(Message::Text(payload.clone())).await {
                    io_errors.add(format!("send: {e}"));
                    return (h, count, None);
                }
                match next_data(&mut ws, reply_timeout).await {
                    Ok(reply) => {
                        if reply.len() != payload.len() {
                            mismatched.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        io_errors.add(e);
                        return (h, count, None);
                    }
                }
                if t0 >= measure_from {
                    record(&mut h, t0.elapsed());
                    count += 1;
                }
            }
            (h, count, Some(ws))
        }));
    }
    let (total, messages) = gather(tasks).await;
    let mut out = json!({
        "scenario": "echo",
        "connections": a.connections,
        "opened": opened,
        "size": a.size,
        "message_bytes": payload.len(),
        "duration_s": a.duration,
        "messages": messages,
        "messages_per_sec": (messages as f64 / a.duration.max(1) as f64).round(),
        "errors": io_errors.count() + connect_errors,
        "connect_errors": connect_errors,
        "reply_size_mismatches": mismatched.load(Ordering::Relaxed),
        "first_error": io_errors.first().or(errors.first()),
    });
    merge(&mut out, summary(&total));
    emit(out);
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    if let (Some(a), serde_json::Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

// ---------------------------------------------------------------------------------------- push

/// How the senders address one client.
enum PushTarget {
    /// `POST {prefix}/@connections/{id}` with the timestamp as the body.
    Switchboard { prefix: String },
    /// `POST {path}` with a Pushpin publish document for channel `{prefix}{i}`.
    Pushpin { path: String },
}

/// Deliveries seen by all receivers so far, and the time of the last one (ns since base).
#[derive(Default)]
struct Progress {
    delivered: AtomicU64,
    last_ns: AtomicU64,
}

/// The receiving side of one client: counts deliveries and records their latency.
fn spawn_receiver(
    mut ws: Ws,
    base: Instant,
    mut stop: watch::Receiver<bool>,
    progress: Arc<Progress>,
) -> JoinHandle<Measured> {
    #[derive(serde::Deserialize)]
    struct Stamp {
        t: u64,
    }
    tokio::spawn(async move {
        let mut h = new_histogram();
        let mut delivered = 0u64;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                m = ws.next() => match m {
                    Some(Ok(Message::Text(t))) => {
                        if let Ok(s) = serde_json::from_str::<Stamp>(t.as_str()) {
                            let now = base.elapsed().as_nanos() as u64;
                            record(&mut h, Duration::from_nanos(now.saturating_sub(s.t)));
                            delivered += 1;
                            progress.delivered.fetch_add(1, Ordering::Relaxed);
                            progress.last_ns.fetch_max(now, Ordering::Relaxed);
                        }
                    }
                    Some(Ok(_)) => continue,
                    _ => return (h, delivered, None),
                }
            }
        }
        (h, delivered, Some(ws))
    })
}

/// Per-sender counters.
#[derive(Default)]
struct SendStats {
    sent: u64,
    ok: u64,
    s429: u64,
    s410: u64,
    other: u64,
    reconnects: u64,
}

async fn http_sender(
    addr: SocketAddr,
    index: usize,
    requests: Vec<(String, String)>, // (path, channel or connection id)
    kind: Arc<PushTarget>,
    base: Instant,
    end: Instant,
    errors: Arc<Errors>,
) -> SendStats {
    let mut st = SendStats::default();
    if requests.is_empty() {
        return st;
    }
    let host = addr.to_string();
    let mut conn: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>> = None;
    let mut i = 0usize;
    while Instant::now() < end {
        if conn.as_ref().is_none_or(|s| s.is_closed()) {
            match connect_tcp(addr, index).await {
                Ok(tcp) => {
                    match hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tcp))
                        .await
                    {
                        Ok((s, c)) => {
                            tokio::spawn(c);
                            conn = Some(s);
                        }
                        Err(e) => {
                            errors.add(format!("http handshake: {e}"));
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    }
                }
                Err(e) => {
                    errors.add(format!("http connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
        }
        let Some(sender) = conn.as_mut() else {
            continue;
        };
        let (path, key) = &requests[i % requests.len()];
        i += 1;
        let stamp = format!(r#"{{"t":{}}}"#, base.elapsed().as_nanos());
        let body = match kind.as_ref() {
            PushTarget::Switchboard { .. } => stamp,
            PushTarget::Pushpin { .. } => json!({
                "items": [{"channel": key, "formats": {"ws-message": {"content": stamp}}}]
            })
            .to_string(),
        };
        let req = hyper::Request::post(path.as_str())
            .header(hyper::header::HOST, &host)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)));
        let req = match req {
            Ok(r) => r,
            Err(e) => fatal(format!("building request for {path}: {e}")),
        };
        st.sent += 1;
        let res = tokio::time::timeout(Duration::from_secs(10), async {
            sender.ready().await?;
            let resp = sender.send_request(req).await?;
            let status = resp.status().as_u16();
            let closing = resp
                .headers()
                .get(hyper::header::CONNECTION)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
            resp.into_body().collect().await?;
            Ok::<_, hyper::Error>((status, closing))
        })
        .await;
        // Pushpin's publish endpoint answers `Connection: close`: open a new connection then.
        let res = res.map(|r| {
            r.map(|(status, closing)| {
                if closing {
                    st.reconnects += 1;
                    conn = None;
                }
                status
            })
        });
        match res {
            Ok(Ok(200)) => st.ok += 1,
            Ok(Ok(429)) => st.s429 += 1,
            Ok(Ok(410)) => st.s410 += 1,
            Ok(Ok(code)) => {
                st.other += 1;
                errors.add(format!("HTTP {code} for {path}"));
            }
            Ok(Err(e)) => {
                st.other += 1;
                errors.add(format!("http: {e}"));
                conn = None;
            }
            Err(_) => {
                st.other += 1;
                errors.add("http request timed out");
                conn = None;
            }
        }
    }
    st
}

/// Connected clients with the key each is addressed by (connection id or channel).
type Keyed = Vec<(usize, Ws, String)>;

async fn run_push(
    scenario: &str,
    http_base: &str,
    kind: PushTarget,
    p: PushCommon,
    clients: Keyed,
    connect_errors: Arc<Errors>,
) {
    let (http_addr, _) = parse_loopback_url(http_base).unwrap_or_else(|e| fatal(e));
    let opened = clients.len();
    if opened == 0 {
        fatal(format!(
            "no client ready: {}",
            connect_errors.first().unwrap_or_default()
        ));
    }
    let base = Instant::now();
    let progress = Arc::new(Progress::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut keys = Vec::with_capacity(opened);
    let mut receivers = Vec::with_capacity(opened);
    for (_, ws, key) in clients {
        keys.push(key);
        receivers.push(spawn_receiver(ws, base, stop_rx.clone(), progress.clone()));
    }
    // Pushpin subscriptions are applied asynchronously after OPEN: let them settle.
    if matches!(kind, PushTarget::Pushpin { .. }) {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let senders = p.senders.clamp(1, 1024);
    let kind = Arc::new(kind);
    let http_errors = Arc::new(Errors::default());
    let start = Instant::now();
    let end = start + Duration::from_secs(p.duration);
    let mut hs = Vec::with_capacity(senders);
    for s in 0..senders {
        let reqs: Vec<(String, String)> = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| i % senders == s)
            .map(|(_, k)| match kind.as_ref() {
                PushTarget::Switchboard { prefix } => (
                    format!("{prefix}/@connections/{}", encode_segment(k)),
                    k.clone(),
                ),
                PushTarget::Pushpin { path } => (path.clone(), k.clone()),
            })
            .collect();
        hs.push(tokio::spawn(http_sender(
            http_addr,
            s,
            reqs,
            kind.clone(),
            base,
            end,
            http_errors.clone(),
        )));
    }
    let mut st = SendStats::default();
    for h in hs {
        if let Ok(s) = h.await {
            st.sent += s.sent;
            st.ok += s.ok;
            st.s429 += s.s429;
            st.s410 += s.s410;
            st.other += s.other;
            st.reconnects += s.reconnects;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Wait for the queued deliveries: until all accepted pushes arrived, or nothing arrived for
    // one second, or --drain seconds passed.
    let drain_end = Instant::now() + Duration::from_secs(p.drain);
    let mut seen = progress.delivered.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    while Instant::now() < drain_end && seen < st.ok {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now_seen = progress.delivered.load(Ordering::Relaxed);
        if now_seen != seen {
            seen = now_seen;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= Duration::from_secs(1) {
            break;
        }
    }
    let start_ns = start.duration_since(base).as_nanos() as u64;
    let delivery_window_s = progress
        .last_ns
        .load(Ordering::Relaxed)
        .saturating_sub(start_ns) as f64
        / 1e9;
    let _ = stop_tx.send(true);
    let (lat, delivered) = gather(receivers).await;
    let share = if st.ok > 0 {
        delivered as f64 / st.ok as f64
    } else {
        0.0
    };
    let s = summary(&lat);
    emit(json!({
        "scenario": scenario,
        "connections": p.connections,
        "opened": opened,
        "connect_errors": connect_errors.count(),
        "senders": senders,
        "duration_s": p.duration,
        "pushes_sent": st.sent,
        "accepted": st.ok,
        "pushes_per_sec": (st.ok as f64 / elapsed.max(0.001)).round(),
        "status_429": st.s429,
        "status_410": st.s410,
        "other_errors": st.other,
        "server_closed_http_connections": st.reconnects,
        "first_error": http_errors.first().or(connect_errors.first()),
        "delivered": delivered,
        "delivered_share": (share * 10000.0).round() / 10000.0,
        "delivered_per_sec": (delivered as f64 / delivery_window_s.max(0.001)).round(),
        "latency_p50_us": s["p50_us"],
        "latency_p99_us": s["p99_us"],
        "latency_max_us": s["max_us"],
    }));
}

async fn push(a: PushArgs) {
    check_connections(a.push.connections);
    let (_, prefix) = parse_loopback_url(&a.mgmt).unwrap_or_else(|e| fatal(e));
    let prefix = prefix.trim_end_matches('/').to_string();
    let errors = Arc::new(Errors::default());
    let url = a.common.url.clone();
    let whoami: Utf8Bytes = a.whoami.clone().into();
    let setup = move |_i: usize, mut ws: Ws| {
        let whoami = whoami.clone();
        async move {
            ws.send(Message::Text(whoami))
                .await
                .map_err(|e| format!("whoami send: {e}"))?;
            let reply = next_data(&mut ws, Duration::from_secs(10)).await?;
            let text = reply.to_text().map_err(|_| "whoami reply is not text")?;
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| format!("whoami reply is not JSON ({e}): {text:.200}"))?;
            let id = v
                .get("connectionId")
                .and_then(|c| c.as_str())
                .ok_or_else(|| format!("whoami reply has no connectionId: {text:.200}"))?
                .to_string();
            Ok((ws, id))
        }
    };
    let clients = open_many(
        &a.common,
        a.push.connections,
        |_| url.clone(),
        setup,
        errors.clone(),
        Duration::from_secs(120),
    )
    .await;
    run_push(
        "push",
        &a.mgmt,
        PushTarget::Switchboard { prefix },
        a.push,
        clients,
        errors,
    )
    .await;
}

async fn push_pushpin(a: PushPushpinArgs) {
    check_connections(a.push.connections);
    let (_, path) = parse_loopback_url(&a.publish).unwrap_or_else(|e| fatal(e));
    let errors = Arc::new(Errors::default());
    let base_url = a.common.url.clone();
    let prefix = a.channel_prefix.clone();
    let sep = if base_url.contains('?') { '&' } else { '?' };
    // Each client echoes one message first: once the echo is back, OPEN (and with it the
    // subscription) has been processed.
    let setup = move |i: usize, mut ws: Ws| async move {
        ws.send(Message::text("ready"))
            .await
            .map_err(|e| format!("ready send: {e}"))?;
        next_data(&mut ws, Duration::from_secs(10)).await?;
        Ok((ws, i))
    };
    let clients = open_many(
        &a.common,
        a.push.connections,
        |i| format!("{base_url}{sep}channel={prefix}{i}"),
        setup,
        errors.clone(),
        Duration::from_secs(120),
    )
    .await;
    let clients = clients
        .into_iter()
        .map(|(i, ws, _)| (i, ws, format!("{}{i}", a.channel_prefix)))
        .collect();
    run_push(
        "push-pushpin",
        &a.publish,
        PushTarget::Pushpin { path },
        a.push,
        clients,
        errors,
    )
    .await;
}

// ------------------------------------------------------------------------------------- connect

async fn connect(a: ConnectArgs) {
    let addr = target(&a.url);
    let k = a.concurrency.clamp(1, 2000);
    let end = Instant::now() + Duration::from_secs(a.duration);
    let errors = Arc::new(Errors::default());
    let next = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::with_capacity(k);
    for _ in 0..k {
        let url = a.url.clone();
        let errors = errors.clone();
        let next = next.clone();
        hs.push(tokio::spawn(async move {
            let mut h = new_histogram();
            let mut ok = 0u64;
            while Instant::now() < end {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                match connect_ws(&url, addr, i, Duration::from_secs(10)).await {
                    Ok(ws) => {
                        record(&mut h, t0.elapsed());
                        ok += 1;
                        close(ws).await;
                    }
                    Err(e) => {
                        errors.add(e);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (h, ok)
        }));
    }
    let mut total = new_histogram();
    let mut ok = 0u64;
    for h in hs {
        if let Ok((hh, c)) = h.await {
            let _ = total.add(&hh);
            ok += c;
        }
    }
    let s = summary(&total);
    emit(json!({
        "scenario": "connect",
        "concurrency": k,
        "duration_s": a.duration,
        "connections": ok,
        "connections_per_sec": (ok as f64 / a.duration.max(1) as f64).round(),
        "errors": errors.count(),
        "first_error": errors.first(),
        "handshake_p50_us": s["p50_us"],
        "handshake_p99_us": s["p99_us"],
        "handshake_max_us": s["max_us"],
    }));
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Idle(a) => idle(a).await,
        Cmd::Echo(a) => echo(a).await,
        Cmd::Push(a) => push(a).await,
        Cmd::PushPushpin(a) => push_pushpin(a).await,
        Cmd::Connect(a) => connect(a).await,
    }
}
