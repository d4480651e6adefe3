//! Access-log output (spec §10): connection tasks render a line and hand it to ONE writer task
//! through a bounded channel with `try_send`. When the writer falls behind, the line is dropped
//! and counted in `switchboard_access_log_dropped_total`: logging never stalls traffic.

use prometheus_client::metrics::counter::Counter;
use std::collections::HashMap;
use std::sync::Arc;
use switchboard_core::access_log_format::AccessLogFormat;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

/// Lines buffered between the connection tasks and the writer.
pub const QUEUE_DEPTH: usize = 8192;

/// Where a stage's lines go: `stdout` or a file path (appended to).
pub type Destination = Arc<str>;

/// A stage's compiled `accessLogSettings`.
#[derive(Debug, Clone)]
pub struct StageAccessLog {
    /// The format, compiled once per configuration load.
    pub format: AccessLogFormat,
    /// `stdout` or a file path.
    pub destination: Destination,
}

/// The sending side, shared by every stage.
#[derive(Debug, Clone)]
pub struct AccessLogSink {
    tx: Option<mpsc::Sender<(Destination, String)>>,
    dropped: Counter,
}

impl AccessLogSink {
    /// Spawns the writer task (on the current runtime) and returns its sink.
    pub fn spawn(dropped: Counter) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(writer(rx, dropped.clone()));
        Self {
            tx: Some(tx),
            dropped,
        }
    }

    /// A sink that writes nothing (a runtime built outside a running gateway).
    pub fn disabled() -> Self {
        Self {
            tx: None,
            dropped: Counter::default(),
        }
    }

    /// Queues one line without waiting; a full queue drops it and counts the drop.
    pub fn write(&self, destination: &Destination, line: String) {
        let Some(tx) = &self.tx else { return };
        if tx.try_send((Arc::clone(destination), line)).is_err() {
            self.dropped.inc();
        }
    }
}

/// Writes lines until every sender is gone; flushes whenever the queue runs dry.
async fn writer(mut rx: mpsc::Receiver<(Destination, String)>, dropped: Counter) {
    let mut outputs: HashMap<Destination, Option<Box<dyn AsyncWrite + Send + Unpin>>> =
        HashMap::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some((destination, mut line)) = next.take() {
            let output = match outputs.get_mut(&destination) {
                Some(output) => output,
                None => {
                    let opened = open(&destination).await;
                    outputs.entry(Arc::clone(&destination)).or_insert(opened)
                }
            };
            match output {
                Some(out) => {
                    line.push('\n');
                    if let Err(e) = out.write_all(line.as_bytes()).await {
                        tracing::warn!(destination = %destination, error = %e, "access log write failed");
                        dropped.inc();
                    }
                }
                None => {
                    dropped.inc();
                }
            }
            next = rx.try_recv().ok();
        }
        for out in outputs.values_mut().flatten() {
            let _ = out.flush().await;
        }
    }
}

async fn open(destination: &str) -> Option<Box<dyn AsyncWrite + Send + Unpin>> {
    if destination == "stdout" {
        return Some(Box::new(BufWriter::new(tokio::io::stdout())));
    }
    match tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(destination)
        .await
    {
        Ok(file) => Some(Box::new(BufWriter::new(file))),
        Err(e) => {
            tracing::error!(destination, error = %e, "cannot open the access log; its lines are dropped");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (tx, mut rx) = mpsc::channel(2);
        let dropped = Counter::default();
        let sink = AccessLogSink {
            tx: Some(tx),
            dropped: dropped.clone(),
        };
        let destination: Destination = Arc::from("stdout");
        for n in 0..5 {
            sink.write(&destination, format!("line {n}"));
        }
        assert_eq!(dropped.get(), 3);
        assert_eq!(
            rx.try_recv().map(|(_, l)| l).ok().as_deref(),
            Some("line 0")
        );
        assert_eq!(
            rx.try_recv().map(|(_, l)| l).ok().as_deref(),
            Some("line 1")
        );
    }

    #[tokio::test]
    async fn the_writer_appends_lines_to_a_file() {
        let path = std::env::temp_dir().join(format!(
            "switchboard-writer-{}-{:?}.log",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_file(&path);
        let dropped = Counter::default();
        let sink = AccessLogSink::spawn(dropped.clone());
        let destination: Destination = Arc::from(path.to_string_lossy().as_ref());
        sink.write(&destination, "first".to_owned());
        sink.write(&destination, "second".to_owned());
        drop(sink);
        let mut text = String::new();
        for _ in 0..2000 {
            text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.lines().count() == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(text, "first\nsecond\n");
        assert_eq!(dropped.get(), 0);
        let _ = std::fs::remove_file(&path);
    }
}
