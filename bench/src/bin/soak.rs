//! Soak: many connections doing a bit of everything for a long time, sampling the gateway's
//! memory, open files and latency into a CSV (bench/soak.sh drives it and plots the CSV).
//!
//! - `--connections` clients (spread over loopback source addresses) learn their ids with
//!   `{"action":"whoami"}`, then each sends an echo every `--echo-interval-ms` and measures the
//!   round trip;
//! - `--senders` HTTP senders post to random clients through `@connections`, each at most
//!   `--push-rate` posts per second, and every post that got 200 must arrive;
//! - every second, `--churn` clients close and are replaced by new ones;
//! - every `--sample-seconds`, one CSV line: elapsed seconds, gateway RSS and open files,
//!   connections open, echo p50/p99/max of the period, pushes accepted / delivered / refused
//!   so far, churned so far, errors so far.
//!
//! At the end, a JSON summary on stdout; the exit status is 1 when a push that got 200 never
//! arrived or a client saw an error it should not.
#![forbid(unsafe_code)]

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_bench::{
    connect_ws, encode_segment, fatal, new_histogram, parse_loopback_url, read_rss, record, Ws,
};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
#[command(about = "Soak load: echo, pushes and churn over many connections, sampled into a CSV")]
struct Args {
    /// WebSocket URL of the gateway's stage (loopback), e.g. ws://127.0.0.1:8080/dev.
    #[arg(long)]
    url: String,
    /// Management base of the same stage, e.g. http://127.0.0.1:8081/dev.
    #[arg(long)]
    mgmt: String,
    /// The gateway's PID (for RSS and open files).
    #[arg(long)]
    pid: u32,
    /// Connections kept open.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Each client sends one echo this often.
    #[arg(long, default_value_t = 5_000)]
    echo_interval_ms: u64,
    /// Concurrent push senders.
    #[arg(long, default_value_t = 8)]
    senders: usize,
    /// Posts per second per sender at most.
    #[arg(long, default_value_t = 100)]
    push_rate: u64,
    /// Clients replaced per second.
    #[arg(long, default_value_t = 20)]
    churn: usize,
    /// Seconds of soak.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 5)]
    sample_seconds: u64,
    /// Where the CSV goes.
    #[arg(long)]
    csv: String,
}

/// What every task reports into.
#[derive(Default)]
struct Counters {
    open: AtomicUsize,
    accepted: AtomicU64,
    delivered: AtomicU64,
    refused: AtomicU64,
    churned: AtomicU64,
    errors: AtomicU64,
    /// Pushes posted and not arrived yet: payload → the connection it was posted to.
    pending: Mutex<HashMap<String, String>>,
    /// Pushes that got 200 but whose client left (churned) before reading them.
    abandoned: AtomicU64,
    /// Connection ids of open clients, for senders to pick from.
    ids: Mutex<Vec<String>>,
    echo: Mutex<Option<hdrhistogram::Histogram<u64>>>,
}

impl Counters {
    fn echo(&self, d: Duration) {
        let mut h = self.echo.lock().unwrap_or_else(|e| e.into_inner());
        record(h.get_or_insert_with(new_histogram), d);
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let (target, _) = parse_loopback_url(&args.url).unwrap_or_else(|e| fatal(e));
    parse_loopback_url(&args.mgmt).unwrap_or_else(|e| fatal(e));
    let counters = Arc::new(Counters::default());
    let end = Instant::now() + Duration::from_secs(args.duration);
    let args = Arc::new(args);

    // Clients: slot i is kept occupied until the end; churn closes random slots.
    let next_index = Arc::new(AtomicUsize::new(0));
    let mut slots = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let (args, counters, next) = (args.clone(), counters.clone(), next_index.clone());
        slots.push(tokio::spawn(async move {
            while Instant::now() < end {
                let index = next.fetch_add(1, Ordering::Relaxed);
                match connect_ws(&args.url, target, index, Duration::from_secs(30)).await {
                    Ok(ws) => client(ws, &args, &counters, end).await,
                    Err(e) => {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("connect: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }));
        // Open gradually: at most ~1,000 handshakes per second.
        tokio::time::sleep(Duration::from_micros(1000)).await;
    }

    for _ in 0..args.senders {
        let (args, counters) = (args.clone(), counters.clone());
        tokio::spawn(async move { sender(&args, &counters, end).await });
    }

    let mut csv = std::fs::File::create(&args.csv).unwrap_or_else(|e| fatal(e));
    let _ = writeln!(
        csv,
        "seconds,rss_bytes,open_files,connections,echo_p50_us,echo_p99_us,echo_max_us,pushes_accepted,pushes_delivered,pushes_refused,churned,errors"
    );
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(args.sample_seconds));
    tick.tick().await;
    while Instant::now() < end {
        tick.tick().await;
        churn(&counters, args.churn * args.sample_seconds as usize);
        let echo = counters
            .echo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let (p50, p99, max) = echo.map_or((0, 0, 0), |h| {
            (h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max())
        });
        let line = format!(
            "{},{},{},{},{p50},{p99},{max},{},{},{},{},{}",
            started.elapsed().as_secs(),
            read_rss(args.pid).unwrap_or(0),
            std::fs::read_dir(format!("/proc/{}/fd", args.pid)).map_or(0, |d| d.count()),
            counters.open.load(Ordering::Relaxed),
            counters.accepted.load(Ordering::Relaxed),
            counters.delivered.load(Ordering::Relaxed),
            counters.refused.load(Ordering::Relaxed),
            counters.churned.load(Ordering::Relaxed),
            counters.errors.load(Ordering::Relaxed),
        );
        let _ = writeln!(csv, "{line}");
        eprintln!("{line}");
    }
    // Deliveries still on their way get a few seconds.
    let drain = Instant::now() + Duration::from_secs(10);
    while Instant::now() < drain && !lock(&counters.pending).is_empty() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lost = lock(&counters.pending).len();
    for s in slots {
        s.abort();
    }
    let summary = serde_json::json!({
        "pushes_accepted": counters.accepted.load(Ordering::Relaxed),
        "pushes_delivered": counters.delivered.load(Ordering::Relaxed),
        "pushes_refused": counters.refused.load(Ordering::Relaxed),
        "pushes_lost": lost,
        "pushes_abandoned_by_churn": counters.abandoned.load(Ordering::Relaxed),
        "churned": counters.churned.load(Ordering::Relaxed),
        "errors": counters.errors.load(Ordering::Relaxed),
    });
    println!("{summary}");
    if lost > 0 {
        std::process::exit(1);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Marks `n` random open clients for replacement (they notice at their next echo).
fn churn(counters: &Counters, n: usize) {
    let mut ids = lock(&counters.ids);
    for _ in 0..n.min(ids.len()) {
        let i = fastrand_index(ids.len());
        ids.swap_remove(i);
    }
}

/// A cheap pseudo-random index (no rand dependency for the bench crate).
fn fastrand_index(len: usize) -> usize {
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) % len.max(1) as u64) as usize
}

/// One client's life: learn the id, echo periodically, take pushes; leave when churned.
async fn client(mut ws: Ws, args: &Args, counters: &Counters, end: Instant) {
    if ws
        .send(Message::text(r#"{"action":"whoami"}"#))
        .await
        .is_err()
    {
        counters.errors.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let id = loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                match serde_json::from_str::<serde_json::Value>(&t)
                    .ok()
                    .and_then(|v| v["connectionId"].as_str().map(str::to_owned))
                {
                    Some(id) => break id,
                    None => continue,
                }
            }
            Ok(Some(Ok(_))) => continue,
            _ => {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    };
    lock(&counters.ids).push(id.clone());
    counters.open.fetch_add(1, Ordering::Relaxed);
    let mut echo = tokio::time::interval(Duration::from_millis(args.echo_interval_ms));
    echo.tick().await;
    let mut sent_at: Option<Instant> = None;
    let reason = loop {
        tokio::select! {
            _ = echo.tick() => {
                if Instant::now() >= end { break "end"; }
                if !lock(&counters.ids).contains(&id) { break "churn"; }
                if sent_at.is_none() {
                    sent_at = Some(Instant::now());
                    if ws.send(Message::text("echo")).await.is_err() { break "error"; }
                }
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => {
                    if t.as_str() == "echo" {
                        if let Some(at) = sent_at.take() { counters.echo(at.elapsed()); }
                    } else if lock(&counters.pending).remove(t.as_str()).is_some() {
                        counters.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(Ok(_)) => {}
                _ => break "error",
            },
        }
    };
    counters.open.fetch_sub(1, Ordering::Relaxed);
    match reason {
        "churn" => {
            counters.churned.fetch_add(1, Ordering::Relaxed);
            let _ = ws.close(None).await;
            // What was queued for it when it left is not lost: it chose to leave.
            let mut pending = lock(&counters.pending);
            let before = pending.len();
            pending.retain(|_, to| to != &id);
            counters
                .abandoned
                .fetch_add((before - pending.len()) as u64, Ordering::Relaxed);
        }
        "error" => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            lock(&counters.ids).retain(|i| i != &id);
        }
        _ => {}
    }
}

/// Posts unique payloads to random open clients at most `push_rate` per second.
async fn sender(args: &Args, counters: &Counters, end: Instant) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / args.push_rate.max(1)));
    let mut n = 0u64;
    let me = fastrand_index(usize::MAX);
    while Instant::now() < end {
        tick.tick().await;
        let id = {
            let ids = lock(&counters.ids);
            if ids.is_empty() {
                continue;
            }
            ids[fastrand_index(ids.len())].clone()
        };
        n += 1;
        let payload = format!("push-{me}-{n}");
        let uri = format!("{}/@connections/{}", args.mgmt, encode_segment(&id));
        let Ok(request) =
            hyper::Request::post(uri).body(Full::new(bytes::Bytes::from(payload.clone())))
        else {
            continue;
        };
        lock(&counters.pending).insert(payload.clone(), id.clone());
        match client.request(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.into_body().collect().await;
                if status == 200 {
                    counters.accepted.fetch_add(1, Ordering::Relaxed);
                } else {
                    lock(&counters.pending).remove(&payload);
                    // 410: the client was churned meanwhile; 429: its queue was full.
                    counters.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                lock(&counters.pending).remove(&payload);
                counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
