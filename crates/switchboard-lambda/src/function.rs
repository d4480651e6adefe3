//! One declared function at run time: its queue of invocations and the accounting that decides
//! when a new worker starts (cold start) and when an invocation is refused (429).
//!
//! Workers pull invocations from the function's queue, so a worker that finishes takes the next
//! one (warm reuse). A new worker is started when more invocations wait than workers are idle,
//! up to the function's concurrency; past that, up to `max_queued` invocations wait.

use crate::payloads::ApiError;
use crate::runtime_api::Delivery;
use crate::spec::FunctionSpec;
use crate::worker;
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What an invocation came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The handler's result.
    Response(Bytes),
    /// `{errorMessage, errorType, ...}`: the handler threw, timed out, or its runtime died.
    FunctionError(Bytes),
}

/// An invocation waiting for a worker.
pub struct Job {
    /// What the worker's `next` returns.
    pub delivery: Delivery,
    /// Where the outcome goes; closed when the caller gave up.
    pub reply: oneshot::Sender<Outcome>,
}

/// How a worker process is started: `program args... HANDLER`.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The interpreter.
    pub program: PathBuf,
    /// Its arguments before the handler.
    pub args: Vec<String>,
}

/// Workers and invocations of one function, counted under one lock.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Worker processes started and not yet gone.
    pub live: usize,
    /// Workers waiting for an invocation.
    pub idle: usize,
    /// Invocations no worker has taken yet.
    pub pending: usize,
    /// Invocations accepted and not yet answered (running or waiting).
    pub inflight: usize,
}

impl Counts {
    /// Whether a new worker should start: more invocations wait than workers are idle.
    fn wants_worker(&mut self, limit: usize) -> bool {
        let wanted = self.pending > self.idle && self.live < limit;
        if wanted {
            self.live += 1;
        }
        wanted
    }
}

/// A function's shared run-time state.
pub struct Function {
    /// Its definition.
    pub spec: FunctionSpec,
    /// `arn:aws:lambda:{region}:{account}:function:{name}`.
    pub arn: String,
    /// How its workers start.
    pub launch: Launch,
    /// `[aws] region`.
    pub region: String,
    /// Extra time a new worker has to load the handler.
    pub init_timeout: Duration,
    limit: usize,
    max_queued: usize,
    counts: Mutex<Counts>,
    queue: mpsc::UnboundedSender<Job>,
    jobs: tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>,
    /// Cancelled at shutdown: workers are killed.
    pub stop: CancellationToken,
    /// Tracks worker tasks, so shutdown can wait for them.
    pub tracker: TaskTracker,
}

/// Everything [`Function::new`] needs.
pub struct FunctionParts {
    /// The definition.
    pub spec: FunctionSpec,
    /// Its ARN.
    pub arn: String,
    /// How workers start.
    pub launch: Launch,
    /// `[aws] region`.
    pub region: String,
    /// Extra time for a new worker.
    pub init_timeout: Duration,
    /// Most workers.
    pub limit: usize,
    /// Most invocations waiting.
    pub max_queued: usize,
}

impl Function {
    /// A function with no workers yet.
    pub fn new(parts: FunctionParts, stop: CancellationToken, tracker: TaskTracker) -> Arc<Self> {
        let (queue, jobs) = mpsc::unbounded_channel();
        Arc::new(Self {
            spec: parts.spec,
            arn: parts.arn,
            launch: parts.launch,
            region: parts.region,
            init_timeout: parts.init_timeout,
            limit: parts.limit.max(1),
            max_queued: parts.max_queued,
            counts: Mutex::new(Counts::default()),
            queue,
            jobs: tokio::sync::Mutex::new(jobs),
            stop,
            tracker,
        })
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A snapshot of the counts (for status and tests).
    pub fn status(&self) -> Counts {
        *self.counts()
    }

    /// Runs one invocation: queues it, starts a worker if none is free, and waits for the
    /// outcome. `Err` when the queue is full (429) or the runtime is shutting down (503).
    pub async fn invoke(self: &Arc<Self>, delivery: Delivery) -> Result<Outcome, ApiError> {
        if self.stop.is_cancelled() {
            return Err(ApiError::unavailable());
        }
        let (reply, answer) = oneshot::channel();
        let start_worker = {
            let mut c = self.counts();
            // At most `limit` invocations run and `max_queued` more wait.
            if c.inflight >= self.limit + self.max_queued {
                return Err(ApiError::throttled());
            }
            if self.queue.send(Job { delivery, reply }).is_err() {
                return Err(ApiError::unavailable());
            }
            c.inflight += 1;
            c.pending += 1;
            c.wants_worker(self.limit)
        };
        // Counts the invocation out however this future ends (answered or abandoned).
        let _inflight = Inflight(self);
        if start_worker {
            self.start_worker();
        }
        answer.await.map_err(|_| ApiError::unavailable())
    }

    fn start_worker(self: &Arc<Self>) {
        let function = Arc::clone(self);
        self.tracker.spawn(worker::supervise(function));
    }

    /// The next invocation for a worker, `None` when the function is shut down.
    pub async fn next_job(&self) -> Option<Job> {
        let mut jobs = self.jobs.lock().await;
        jobs.recv().await
    }

    /// A worker starts waiting for an invocation.
    pub fn idle_begin(&self) {
        self.counts().idle += 1;
    }

    /// A waiting worker took an invocation.
    pub fn took_job(&self) {
        let mut c = self.counts();
        c.idle = c.idle.saturating_sub(1);
        c.pending = c.pending.saturating_sub(1);
    }

    /// A waiting worker stopped waiting without an invocation (it exited, or shutdown).
    pub fn idle_end(&self) {
        let mut c = self.counts();
        c.idle = c.idle.saturating_sub(1);
    }

    /// A worker is gone; if invocations still wait, another starts in its place.
    pub fn worker_gone(self: &Arc<Self>) {
        let replace = {
            let mut c = self.counts();
            c.live = c.live.saturating_sub(1);
            !self.stop.is_cancelled() && c.wants_worker(self.limit)
        };
        if replace {
            self.start_worker();
        }
    }

    /// Fails every invocation still queued (shutdown).
    pub async fn drain(&self) {
        let mut jobs = self.jobs.lock().await;
        jobs.close();
        while jobs.try_recv().is_ok() {}
        self.counts().pending = 0;
    }
}

/// Decrements `inflight` when an invocation is over.
struct Inflight<'a>(&'a Function);

impl Drop for Inflight<'_> {
    fn drop(&mut self) {
        let mut c = self.0.counts();
        c.inflight = c.inflight.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_starts_only_when_invocations_outnumber_idle_workers() {
        let mut c = Counts {
            live: 1,
            idle: 1,
            pending: 1,
            inflight: 1,
        };
        assert!(!c.wants_worker(4), "the idle worker takes it");
        c.pending = 2;
        assert!(c.wants_worker(4));
        assert_eq!(c.live, 2);
        c.pending = 9;
        c.live = 4;
        assert!(!c.wants_worker(4), "never past the limit");
    }
}
