//! Shared pieces of the Switchboard benchmark binaries: small-buffer WebSocket clients spread
//! over loopback source addresses, listeners with a deep backlog, RSS sampling and latency
//! summaries.
//!
//! Every target is checked to be a loopback address: these tools generate load and must never
//! be pointed at another machine.
#![forbid(unsafe_code)]

use hdrhistogram::Histogram;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

/// A client WebSocket over a plain TCP stream.
pub type Ws = WebSocketStream<TcpStream>;

/// Number of loopback source addresses the clients are spread over (127.0.0.2 – 127.0.0.9).
pub const SOURCE_ADDRESSES: usize = 8;

/// The most client connections one process may hold (the fd limit is 20,000 per process).
pub const MAX_CLIENT_CONNECTIONS: usize = 15_000;

/// Listen backlog of the bench servers: `TcpListener::bind` uses 128, which drops bursts.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Prints `error: {msg}` to stderr and exits with status 2.
pub fn fatal(msg: impl std::fmt::Display) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(2)
}

/// The small-buffer WebSocket configuration used by every client and by `ws-echo`:
/// a 4 KiB read buffer and no write buffering.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// Splits `scheme://host:port/path` into the socket address and the path (with query).
///
/// Only `ws://` and `http://` with a numeric loopback address (or `localhost`) are accepted.
pub fn parse_loopback_url(url: &str) -> Result<(SocketAddr, String), String> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url}: only ws:// and http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let authority = authority.replace("localhost", "127.0.0.1");
    let addr: SocketAddr = authority
        .parse()
        .map_err(|_| format!("{url}: the host must be a numeric loopback address with a port"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{url}: only loopback (127.0.0.0/8, ::1) targets are allowed"
        ));
    }
    Ok((addr, path))
}

/// The loopback source address for client number `index`: 127.0.0.{2 + index % 8}.
pub fn source_addr(index: usize) -> SocketAddr {
    let last = 2 + (index % SOURCE_ADDRESSES) as u8;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), 0)
}

/// Opens a TCP connection to `target` from the source address of client `index`.
pub async fn connect_tcp(target: SocketAddr, index: usize) -> std::io::Result<TcpStream> {
    let socket = if target.is_ipv4() {
        let s = TcpSocket::new_v4()?;
        s.bind(source_addr(index))?;
        s
    } else {
        TcpSocket::new_v6()?
    };
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Connects client number `index` to `url` (resolved to `target`) and completes the handshake,
/// within `timeout`.
pub async fn connect_ws(
    url: &str,
    target: SocketAddr,
    index: usize,
    timeout: Duration,
) -> Result<Ws, String> {
    let attempt = async {
        let stream = connect_tcp(target, index)
            .await
            .map_err(|e| format!("tcp connect: {e}"))?;
        let (ws, _response) =
            tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
        Ok::<_, String>(ws)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err("connect timed out".to_string()),
    }
}

/// Binds a listener on `addr` (which must be loopback) with [`LISTEN_BACKLOG`].
pub fn bind_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "bench servers listen on loopback addresses only",
        ));
    }
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The next connection on `listener`, with `TCP_NODELAY`; on errors such as `EMFILE` it backs
/// off for 50 ms and tries again instead of spinning.
pub async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                return stream;
            }
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The resident set size of process `pid` in bytes, from `/proc/PID/status` (`VmRSS`).
pub fn read_rss(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let line = text
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or_else(|| format!("{path}: no VmRSS line"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .map_err(|_| format!("{path}: cannot parse {line:?}"))?;
    Ok(kb * 1024)
}

/// The sum of [`read_rss`] over `pids`.
pub fn read_rss_sum(pids: &[u32]) -> Result<u64, String> {
    pids.iter().map(|&p| read_rss(p)).sum()
}

/// A latency histogram in microseconds, 1 µs to 60 s, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, 60_000_000, 3) {
        Ok(h) => h,
        Err(e) => fatal(format!("histogram: {e}")),
    }
}

/// Records `d` (saturated to the histogram's range) into `h`.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = (d.as_micros() as u64).clamp(1, 60_000_000);
    h.saturating_record(us);
}

/// `{p50_us, p99_us, max_us, mean_us}` of a histogram (zeros when empty).
pub fn summary(h: &Histogram<u64>) -> serde_json::Value {
    if h.is_empty() {
        return serde_json::json!({"p50_us": 0, "p99_us": 0, "max_us": 0, "mean_us": 0.0});
    }
    serde_json::json!({
        "p50_us": h.value_at_quantile(0.50),
        "p99_us": h.value_at_quantile(0.99),
        "max_us": h.max(),
        "mean_us": (h.mean() * 10.0).round() / 10.0,
    })
}

/// Percent-encodes everything but ASCII letters, digits, `-`, `_`, `.` and `~` (one path segment).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_loopback() {
        let (a, p) = parse_loopback_url("ws://127.0.0.1:8080/dev?x=1").expect("loopback");
        assert_eq!(a.port(), 8080);
        assert_eq!(p, "/dev?x=1");
        assert!(parse_loopback_url("ws://10.0.0.1:80/").is_err());
        assert!(parse_loopback_url("ws://example.com:80/").is_err());
        assert!(parse_loopback_url("http://localhost:81").is_ok());
    }

    #[test]
    fn source_addresses_cycle() {
        assert_eq!(source_addr(0).ip().to_string(), "127.0.0.2");
        assert_eq!(source_addr(7).ip().to_string(), "127.0.0.9");
        assert_eq!(source_addr(8).ip().to_string(), "127.0.0.2");
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("ab+/="), "ab%2B%2F%3D");
    }
}
