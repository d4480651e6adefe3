//! Access-log output (docs/behaviour.md §10): connection tasks render a line and hand it to ONE writer task
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
/// Write buffer per destination: large, so a file write (a blocking-pool round trip in tokio)
/// carries hundreds of lines.
const WRITE_BUFFER: usize = 64 * 1024;

/// Where a stage's lines go: `stdout` or a file path (appended to).
pub type Destination = Arc<str>;

/// What the writer task receives.
#[derive(Debug)]
enum Item {
    /// One line for one destination.
    Line(Destination, String),
    /// Flush everything queued before this, then answer.
    Flush(tokio::sync::oneshot::Sender<()>),
}

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
    tx: Option<mpsc::Sender<Item>>,
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
        if tx
            .try_send(Item::Line(Arc::clone(destination), line))
            .is_err()
        {
            self.dropped.inc();
        }
    }
}

impl AccessLogSink {
    /// Waits until every line queued so far is written and flushed (used on shutdown, so the
    /// last `$disconnect` lines are not lost when the process exits).
    pub async fn flush(&self) {
        let Some(tx) = &self.tx else { return };
        let (done, wait) = tokio::sync::oneshot::channel();
        if tx.send(Item::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

/// Writes lines until every sender is gone; flushes whenever the queue runs dry.
async fn writer(mut rx: mpsc::Receiver<Item>, dropped: Counter) {
    let mut outputs: HashMap<Destination, Option<Box<dyn AsyncWrite + Send + Unpin>>> =
        HashMap::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let mut flushed = Vec::new();
        while let Some(item) = next.take() {
            let (destination, mut line) = match item {
                Item::Line(destination, line) => (destination, line),
                Item::Flush(done) => {
                    flushed.push(done);
                    next = rx.try_recv().ok();
                    continue;
                }
            };
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
        for done in flushed {
            let _ = done.send(());
        }
    }
}

async fn open(destination: &str) -> Option<Box<dyn AsyncWrite + Send + Unpin>> {
    if destination == "stdout" {
        return Some(Box::new(BufWriter::with_capacity(
            WRITE_BUFFER,
            tokio::io::stdout(),
        )));
    }
    match tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(destination)
        .await
    {
        Ok(file) => Some(Box::new(BufWriter::with_capacity(WRITE_BUFFER, file))),
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
        for expected in ["line 0", "line 1"] {
            match rx.try_recv() {
                Ok(Item::Line(_, line)) => assert_eq!(line, expected),
                other => panic!("expected {expected}, got {other:?}"),
            }
        }
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
        sink.flush().await;
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(text, "first\nsecond\n");
        assert_eq!(dropped.get(), 0);
        let _ = std::fs::remove_file(&path);
    }
}
