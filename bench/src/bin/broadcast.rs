//! Broadcast benchmark (docs/groups.md): N idle clients in one group, spread over one or more
//! gateway nodes; each round is one `POST @groups/{group}`, timed from just before the call to
//! the last client's delivery. Prints one JSON object: per round the answer, the time to the
//! last delivery and deliveries per second, and the gateways' CPU per delivery (from
//! /proc/PID/stat over all rounds).

use bytes::Bytes;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_bench::{connect_ws, encode_segment, fatal, parse_loopback_url};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Args {
    /// Client URL of a node's stage (repeat for several nodes; clients are spread round-robin).
    #[arg(long, required = true)]
    ws: Vec<String>,
    /// Management endpoint of the stage the broadcast is posted to, e.g. http://127.0.0.1:9001/dev.
    #[arg(long)]
    mgmt: String,
    /// Management endpoint of each node, in the order of `--ws` (joins go to the client's node;
    /// default: `--mgmt` for all).
    #[arg(long)]
    node_mgmt: Vec<String>,
    /// Number of clients (members of the group).
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Broadcast rounds.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Payload bytes per broadcast.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Gateway process ids whose CPU time is measured.
    #[arg(long)]
    pid: Vec<u32>,
    /// Name of the setup, printed with the results.
    #[arg(long, default_value = "switchboard")]
    label: String,
    /// Message each client sends to learn its connection id.
    #[arg(long, default_value = r#"{"action":"whoami"}"#)]
    whoami: String,
}

/// Deliveries of the current round and the latest arrival, in ns since `origin`.
struct Tally {
    round: AtomicUsize,
    delivered: AtomicUsize,
    last_ns: AtomicU64,
    origin: Instant,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let tally = Arc::new(Tally {
        round: AtomicUsize::new(usize::MAX),
        delivered: AtomicUsize::new(0),
        last_ns: AtomicU64::new(0),
        origin: Instant::now(),
    });
    let node_mgmt: Vec<String> = if args.node_mgmt.is_empty() {
        vec![args.mgmt.clone(); args.ws.len()]
    } else {
        args.node_mgmt.clone()
    };
    // Connect every client and learn its id.
    let slots = Arc::new(Semaphore::new(64));
    let mut opening = Vec::with_capacity(args.connections);
    for i in 0..args.connections {
        let url = args.ws[i % args.ws.len()].clone();
        let whoami = args.whoami.clone();
        let slots = Arc::clone(&slots);
        let tally = Arc::clone(&tally);
        opening.push(tokio::spawn(async move {
            let _slot = slots.acquire().await.ok()?;
            let (target, _) = parse_loopback_url(&url).ok()?;
            let mut ws = connect_ws(&url, target, i, Duration::from_secs(30))
                .await
                .ok()?;
            ws.send(Message::text(whoami)).await.ok()?;
            let id = loop {
                match ws.next().await? {
                    Ok(Message::Text(t)) => {
                        let v: serde_json::Value = serde_json::from_str(&t).ok()?;
                        break v.get("connectionId")?.as_str()?.to_owned();
                    }
                    Ok(_) => continue,
                    Err(_) => return None,
                }
            };
            // Reads forever, counting deliveries of the current round.
            tokio::spawn(async move {
                while let Some(Ok(m)) = ws.next().await {
                    if let Message::Text(t) = m {
                        let round = tally.round.load(Ordering::Acquire);
                        if round_of(t.as_str()) == Some(round) {
                            let now = tally.origin.elapsed().as_nanos() as u64;
                            tally.last_ns.fetch_max(now, Ordering::AcqRel);
                            tally.delivered.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                }
            });
            Some(id)
        }));
    }
    let mut members = Vec::new();
    for (i, handle) in opening.into_iter().enumerate() {
        if let Ok(Some(id)) = handle.await {
            members.push((i % args.ws.len(), id));
        }
    }
    if members.len() < args.connections {
        fatal(format!(
            "only {} of {} clients connected",
            members.len(),
            args.connections
        ));
    }
    // Join them all to the group, each through its own node, 32 at a time.
    let joins = Arc::new(Semaphore::new(32));
    let mut joining = Vec::new();
    for (node, id) in members {
        let base = node_mgmt[node].clone();
        let joins = Arc::clone(&joins);
        joining.push(tokio::spawn(async move {
            let _slot = joins.acquire().await.ok()?;
            let path = format!("/@connections/{}/groups/bench", encode_segment(&id));
            let (status, _) = call(&base, "PUT", &path, Bytes::new()).await.ok()?;
            (status == 204).then_some(())
        }));
    }
    let mut joined = 0;
    for handle in joining {
        if let Ok(Some(())) = handle.await {
            joined += 1;
        }
    }
    if joined < args.connections {
        fatal(format!("only {joined} of {} joined", args.connections));
    }
    let mut rounds = Vec::new();
    let cpu_before = cpu_ticks(&args.pid);
    let client_before = cpu_ticks(&[std::process::id()]);
    let mut total_delivered = 0usize;
    for round in 0..args.rounds {
        tally.delivered.store(0, Ordering::Release);
        tally.round.store(round, Ordering::Release);
        let mut body = format!("r{round}:");
        body.push_str(&"x".repeat(args.size.saturating_sub(body.len())));
        let started = tally.origin.elapsed().as_nanos() as u64;
        let (status, answer) = call(&args.mgmt, "POST", "/@groups/bench", Bytes::from(body))
            .await
            .unwrap_or_else(|e| fatal(e));
        let answered = tally.origin.elapsed().as_nanos() as u64;
        let deadline = Instant::now() + Duration::from_secs(30);
        while tally.delivered.load(Ordering::Acquire) < args.connections
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let delivered = tally.delivered.load(Ordering::Acquire);
        total_delivered += delivered;
        let last = tally
            .last_ns
            .load(Ordering::Acquire)
            .saturating_sub(started);
        let ms = last as f64 / 1e6;
        rounds.push(serde_json::json!({
            "status": status,
            "answer": serde_json::from_slice::<serde_json::Value>(&answer).unwrap_or_default(),
            "answered_ms": (answered - started) as f64 / 1e6,
            "delivered": delivered,
            "post_to_last_delivery_ms": ms,
            "deliveries_per_sec": (delivered as f64 / (ms / 1e3)).round(),
        }));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Over every round, sleeps included (nobody works during them).
    let (user, system) = cpu_before.per_delivery(cpu_ticks(&args.pid), total_delivered);
    let (client_user, client_system) =
        client_before.per_delivery(cpu_ticks(&[std::process::id()]), total_delivered);
    println!(
        "{}",
        serde_json::json!({
            "setup": args.label,
            "connections": args.connections,
            "nodes": args.ws.len(),
            "size": args.size,
            "rounds": rounds,
            "gateway_cpu_us_per_delivery": user + system,
            "gateway_user_us_per_delivery": user,
            "gateway_system_us_per_delivery": system,
            // The clients' own cost shares the machine's cores with the gateway.
            "client_cpu_us_per_delivery": client_user + client_system,
        })
    );
    std::process::exit(0);
}

/// The round a delivery belongs to: its body starts with `r{round}:` (parsed without
/// allocating, so the clients' own cost per delivery stays small on a shared machine).
fn round_of(body: &str) -> Option<usize> {
    let (round, _) = body.strip_prefix('r')?.split_once(':')?;
    round.parse().ok()
}

/// One management call on a fresh HTTP/1.1 connection: (status, body).
async fn call(base: &str, method: &str, path: &str, body: Bytes) -> Result<(u16, Bytes), String> {
    let (addr, prefix) = parse_loopback_url(base)?;
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tcp))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let request = hyper::Request::builder()
        .method(method)
        .uri(format!("{}{path}", prefix.trim_end_matches('/')))
        .header(hyper::header::HOST, addr.to_string())
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// utime and stime of every process, summed.
fn cpu_ticks(pids: &[u32]) -> Cpu {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            // Fields after the command name (which may hold spaces) in parentheses.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some(Cpu {
                user: utime,
                system: stime,
            })
        })
        .fold(Cpu::default(), |a, b| Cpu {
            user: a.user + b.user,
            system: a.system + b.system,
        })
}

/// CPU time in clock ticks (100 per second on Linux).
#[derive(Default, Clone, Copy)]
struct Cpu {
    user: u64,
    system: u64,
}

impl Cpu {
    /// Microseconds per delivery spent from `self` to `later`: (user, system).
    fn per_delivery(self, later: Cpu, deliveries: usize) -> (f64, f64) {
        let us = |ticks: u64| ticks as f64 * 1e4 / deliveries.max(1) as f64;
        (us(later.user - self.user), us(later.system - self.system))
    }
}
