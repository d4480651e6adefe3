//! One worker: a runtime process (Node.js with aws-lambda-ric, Python with awslambdaric) that
//! runs one invocation at a time, and the task that supervises it: delivers invocations,
//! enforces the timeout (killing the process), and forwards its output to the log.

use crate::environment::{worker_variables, WorkerContext};
use crate::function::{Function, Job, Outcome};
use crate::runtime_api::{self, Delivery, Link, RuntimeEvent};
use crate::{ids, payloads};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

/// Longest line of handler output forwarded to the log; longer ones are cut.
const MAX_LOG_LINE: usize = 16 * 1024;

/// Whether a worker can take another invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// It answered and waits for the next one.
    Warm,
    /// It exited, was killed, or failed to initialise.
    Gone,
}

/// A running worker process and the supervisor's ends of its Runtime API.
struct Worker {
    child: Child,
    pid: u32,
    deliveries: mpsc::Sender<Delivery>,
    events: mpsc::Receiver<RuntimeEvent>,
    /// Stops this worker's Runtime API listener.
    api_stop: CancellationToken,
}

/// The life of one worker: start the process, take invocations until it dies or the
/// function shuts down, then kill it and tell the function.
pub async fn supervise(function: Arc<Function>) {
    let mut worker = match Worker::start(&function).await {
        Ok(worker) => worker,
        Err(reason) => {
            tracing::error!(function = %function.spec.name, "worker did not start: {reason}");
            // Fail one waiting invocation with the reason, so callers see it rather than wait.
            function.idle_begin();
            let job = tokio::select! {
                job = function.next_job() => job,
                _ = function.stop.cancelled() => None,
            };
            match job {
                Some(job) => {
                    function.took_job();
                    let id = job.delivery.request_id.clone();
                    let _ = job
                        .reply
                        .send(Outcome::FunctionError(payloads::start_failed(&id, &reason)));
                }
                None => function.idle_end(),
            }
            function.worker_gone();
            return;
        }
    };
    tracing::info!(function = %function.spec.name, pid = worker.pid, "cold start: worker started");
    let mut cold = true;
    loop {
        function.idle_begin();
        let job = tokio::select! {
            job = function.next_job() => job,
            status = worker.child.wait() => {
                function.idle_end();
                tracing::info!(function = %function.spec.name, pid = worker.pid,
                    "idle worker exited: {}", describe(status.ok()));
                break;
            }
            _ = function.stop.cancelled() => {
                function.idle_end();
                break;
            }
        };
        let Some(Job { delivery, reply }) = job else {
            function.idle_end();
            break;
        };
        function.took_job();
        if reply.is_closed() {
            continue; // The caller gave up while the invocation waited.
        }
        let request_id = delivery.request_id.clone();
        let started = Instant::now();
        let (outcome, fate) = worker.run(&function, delivery, cold).await;
        cold = false;
        tracing::debug!(function = %function.spec.name, pid = worker.pid, request_id,
            duration_ms = started.elapsed().as_millis() as u64,
            error = matches!(outcome, Outcome::FunctionError(_)), "invocation done");
        let _ = reply.send(outcome);
        if fate == Fate::Gone {
            break;
        }
    }
    worker.stop().await;
    function.worker_gone();
}

impl Worker {
    /// Binds its Runtime API, starts the process and its log forwarders.
    async fn start(function: &Arc<Function>) -> Result<Self, String> {
        let spec = &function.spec;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("binding a Runtime API port on 127.0.0.1: {e}"))?;
        let api_addr = listener
            .local_addr()
            .map_err(|e| format!("Runtime API address: {e}"))?
            .to_string();
        let log_stream = ids::log_stream_name(time::OffsetDateTime::now_utc().date());
        let vars = worker_variables(
            spec,
            &WorkerContext {
                runtime_api: &api_addr,
                region: &function.region,
                log_stream: &log_stream,
            },
        );
        let mut command = Command::new(&function.launch.program);
        command
            .args(&function.launch.args)
            .arg(&spec.handler)
            .current_dir(&spec.code_dir)
            .envs(vars)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            format!(
                "running {} in {}: {e}",
                function.launch.program.display(),
                spec.code_dir.display()
            )
        })?;
        let pid = child.id().unwrap_or_default();
        let name: Arc<str> = Arc::from(spec.name.as_str());
        if let Some(out) = child.stdout.take() {
            function
                .tracker
                .spawn(forward_output(out, Arc::clone(&name), pid, "stdout"));
        }
        if let Some(err) = child.stderr.take() {
            function
                .tracker
                .spawn(forward_output(err, Arc::clone(&name), pid, "stderr"));
        }
        let (link, ends) = Link::new(spec.timeout);
        let api_stop = function.stop.child_token();
        runtime_api::serve(listener, link, api_stop.clone(), &function.tracker);
        Ok(Self {
            child,
            pid,
            deliveries: ends.deliveries,
            events: ends.events,
            api_stop,
        })
    }

    /// Delivers one invocation and waits for its outcome: the handler's answer, or a timeout
    /// (then the process is killed), or the process's death.
    async fn run(
        &mut self,
        function: &Function,
        delivery: Delivery,
        cold: bool,
    ) -> (Outcome, Fate) {
        let id = delivery.request_id.clone();
        let timeout = function.spec.timeout;
        let timed_out = || Outcome::FunctionError(payloads::timed_out(&id, timeout));
        if self.deliveries.send(delivery).await.is_err() {
            return (
                Outcome::FunctionError(payloads::exited(&id, "Runtime API closed")),
                Fate::Gone,
            );
        }
        // A new worker first loads the handler (Lambda's init phase); a warm one is already
        // waiting in `next`.
        let pickup = Instant::now()
            + timeout
            + if cold {
                function.init_timeout
            } else {
                std::time::Duration::ZERO
            };
        let deadline = loop {
            tokio::select! {
                biased;
                event = self.events.recv() => match event {
                    Some(RuntimeEvent::Started { request_id, deadline }) if request_id == id => break deadline,
                    Some(RuntimeEvent::InitError { body }) => {
                        tracing::warn!(function = %function.spec.name, pid = self.pid,
                            "handler failed to initialise: {}", String::from_utf8_lossy(&body));
                        return (Outcome::FunctionError(body), Fate::Gone);
                    }
                    Some(_) => continue,
                    None => return (self.exit_outcome(&id).await, Fate::Gone),
                },
                _ = self.child.wait() => return (self.exit_outcome(&id).await, Fate::Gone),
                _ = sleep_until(pickup) => {
                    self.report_timeout(function, &id);
                    return (timed_out(), Fate::Gone);
                }
                _ = function.stop.cancelled() => return (self.shutdown_outcome(&id), Fate::Gone),
            }
        };
        loop {
            tokio::select! {
                biased;
                event = self.events.recv() => match event {
                    Some(RuntimeEvent::Response { request_id, body }) if request_id == id => {
                        return (Outcome::Response(body), Fate::Warm);
                    }
                    Some(RuntimeEvent::Error { request_id, body }) if request_id == id => {
                        return (Outcome::FunctionError(body), Fate::Warm);
                    }
                    Some(RuntimeEvent::InitError { body }) => return (Outcome::FunctionError(body), Fate::Gone),
                    Some(_) => continue,
                    None => return (self.exit_outcome(&id).await, Fate::Gone),
                },
                _ = self.child.wait() => return (self.exit_outcome(&id).await, Fate::Gone),
                _ = sleep_until(deadline) => {
                    self.report_timeout(function, &id);
                    return (timed_out(), Fate::Gone);
                }
                _ = function.stop.cancelled() => return (self.shutdown_outcome(&id), Fate::Gone),
            }
        }
    }

    fn report_timeout(&self, function: &Function, request_id: &str) {
        tracing::warn!(function = %function.spec.name, pid = self.pid, request_id,
            "task timed out after {:.2} seconds: killing the worker", function.spec.timeout.as_secs_f64());
    }

    fn shutdown_outcome(&self, request_id: &str) -> Outcome {
        Outcome::FunctionError(payloads::exited(request_id, "shutting down"))
    }

    async fn exit_outcome(&mut self, request_id: &str) -> Outcome {
        let status = self.child.wait().await.ok();
        Outcome::FunctionError(payloads::exited(request_id, &describe(status)))
    }

    /// Kills the process (if it still runs) and stops its Runtime API.
    async fn stop(mut self) {
        self.api_stop.cancel();
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.start_kill();
        }
        let _ = self.child.wait().await;
    }
}

/// `exit status 1` or `signal: 9`, as Lambda words it.
fn describe(status: Option<ExitStatus>) -> String {
    let Some(status) = status else {
        return "unknown exit status".into();
    };
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("signal: {signal}");
        }
    }
    status.to_string()
}

/// Each line the handler writes becomes a log event tagged with the function's name. Lines
/// longer than [`MAX_LOG_LINE`] are cut; the pipe is always drained so the handler never blocks.
async fn forward_output(
    stream: impl AsyncRead + Unpin,
    function: Arc<str>,
    pid: u32,
    which: &'static str,
) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    let mut cut = false;
    loop {
        let buf = match reader.fill_buf().await {
            Ok(buf) => buf,
            Err(e) => {
                tracing::debug!(function = %function, pid, "reading worker {which} failed: {e}");
                break;
            }
        };
        if buf.is_empty() {
            if !line.is_empty() {
                log_line(&function, pid, which, &line, cut);
            }
            break;
        }
        let (chunk, end_of_line) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = MAX_LOG_LINE.saturating_sub(line.len());
        cut |= chunk.len() > room;
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = end_of_line.unwrap_or(buf.len());
        reader.consume(used);
        if end_of_line.is_some() {
            log_line(&function, pid, which, &line, cut);
            line.clear();
            cut = false;
        }
    }
}

fn log_line(function: &str, pid: u32, which: &'static str, line: &[u8], cut: bool) {
    let text = String::from_utf8_lossy(line);
    // The runtime interface clients write a multi-line message as one line with `\r` between
    // its lines (as CloudWatch receives it); show them as lines again.
    let text = text.trim_end_matches('\r').replace('\r', "\n");
    let cut = if cut { " [line cut]" } else { "" };
    tracing::info!(target: "switchboard_lambda::function", function = %function, pid, stream = which, "{text}{cut}");
}
