//! A connection's bounded outbound queue (pushes and two-way replies). Hand-rolled rather than
//! a tokio `mpsc` channel because an idle connection must stay small: the queue allocates
//! nothing until something is queued, and gives the memory back once it drains (an `mpsc`
//! channel allocates a 32-slot block up front — about 1.3 KB on every idle connection).
//!
//! The queue is bounded twice: in messages (`outboundQueueDepth`) and in bytes
//! (`outboundQueueBytes`), so a client that does not read holds a bounded amount of memory.

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::Poll;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Capacity kept after draining; a burst larger than this is given back to the allocator.
const KEEP_CAPACITY: usize = 4;

/// Largest message sent to a client: replies and pushes obey the `@connections` `Data` limit
/// (docs/behaviour.md §7.5), so one queued message never exceeds it.
pub const MAX_MESSAGE_BYTES: usize = 131_072;

/// A message on its way to a client.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message (pushed bytes that are not UTF-8).
    Binary(Bytes),
}

impl Outbound {
    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Outbound::Text(t) => t.len(),
            Outbound::Binary(b) => b.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Text when `bytes` are valid UTF-8, binary otherwise (README: how pushes are framed).
    pub fn from_bytes(bytes: Bytes) -> Self {
        match Utf8Bytes::try_from(bytes.clone()) {
            Ok(text) => Outbound::Text(text),
            Err(_) => Outbound::Binary(bytes),
        }
    }
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The connection is closed.
    #[error("connection is gone")]
    Gone,
    /// The connection's outbound queue is full: 429, and nothing was queued.
    #[error("connection outbound queue is full")]
    QueueFull,
}

/// A bounded multi-producer, single-consumer queue of messages for one client.
#[derive(Debug)]
pub struct OutboundQueue {
    state: Mutex<State>,
    capacity: usize,
    max_bytes: usize,
    /// Wakes the connection task (the one reader) when a message arrives ([`wait_for`]).
    readable: AtomicWaker,
    /// Wakes senders waiting for room.
    writable: Notify,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Outbound>,
    /// Payload bytes of `items`.
    bytes: usize,
    closed: bool,
}

impl OutboundQueue {
    /// An empty queue holding at most `capacity` messages and `max_bytes` payload bytes (an
    /// empty queue takes any one message, so a message up to [`MAX_MESSAGE_BYTES`] always fits).
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            max_bytes,
            readable: AtomicWaker::new(),
            writable: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues without waiting: `QueueFull` when full (nothing queued), `Gone` when closed.
    pub fn try_push(&self, message: Outbound) -> Result<(), PushError> {
        self.offer(message).map_err(|(e, _)| e)
    }

    /// Queues, waiting for room: a two-way reply is never dropped because the client reads
    /// slowly. `Gone` when the connection closes first.
    pub async fn push(&self, mut message: Outbound) -> Result<(), PushError> {
        loop {
            let room = self.writable.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.offer(message) {
                Ok(()) => return Ok(()),
                Err((PushError::QueueFull, m)) => message = m,
                Err((e, _)) => return Err(e),
            }
            room.await;
        }
    }

    /// Queues, or hands the message back with the reason it was not queued.
    fn offer(&self, message: Outbound) -> Result<(), (PushError, Outbound)> {
        {
            let mut state = self.state();
            if state.closed {
                return Err((PushError::Gone, message));
            }
            let len = message.len();
            let full = state.items.len() >= self.capacity
                || (!state.items.is_empty() && state.bytes + len > self.max_bytes);
            if full {
                return Err((PushError::QueueFull, message));
            }
            state.bytes += len;
            state.items.push_back(message);
        }
        self.readable.wake();
        Ok(())
    }

    /// The next message; waits until one is queued. Cancel-safe. One reader at a time (the
    /// connection task): a second would take the first's wake-up.
    pub async fn pop(&self) -> Outbound {
        wait_for(&self.readable, || self.try_pop()).await
    }

    fn try_pop(&self) -> Option<Outbound> {
        let m = {
            let mut state = self.state();
            let m = state.items.pop_front();
            state.bytes -= m.as_ref().map_or(0, Outbound::len);
            if state.items.is_empty() && state.items.capacity() > KEEP_CAPACITY {
                state.items = VecDeque::new();
            }
            m
        };
        if m.is_some() {
            self.writable.notify_one();
        }
        m
    }

    /// The connection is gone: later pushes fail with `Gone`, waiting ones wake up.
    pub fn close(&self) {
        let mut state = self.state();
        state.closed = true;
        state.items = VecDeque::new();
        state.bytes = 0;
        drop(state);
        self.writable.notify_waiters();
    }
}

/// Waits until `ready` gives a value, woken through `waker` (one waiter at a time). It looks,
/// registers, then looks again, so a wake-up between the first look and the registration is
/// not lost. Lock-free, unlike a `Notify`, whose waiter list is locked on every wait: this is
/// on the path of every message a connection sends.
pub(crate) async fn wait_for<T>(waker: &AtomicWaker, mut ready: impl FnMut() -> Option<T>) -> T {
    std::future::poll_fn(|cx| {
        if let Some(value) = ready() {
            return Poll::Ready(value);
        }
        waker.register(cx.waker());
        ready().map_or(Poll::Pending, Poll::Ready)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn text(s: &str) -> Outbound {
        Outbound::Text(s.to_owned().into())
    }

    fn body(m: Outbound) -> String {
        match m {
            Outbound::Text(t) => t.to_string(),
            Outbound::Binary(_) => "binary".into(),
        }
    }

    #[tokio::test]
    async fn bounded_in_order_and_a_waiting_push_gets_room() {
        let q = Arc::new(OutboundQueue::new(2, 1024));
        q.try_push(text("a")).expect("room");
        q.try_push(text("b")).expect("room");
        assert_eq!(q.try_push(text("c")), Err(PushError::QueueFull));
        let waiting = tokio::spawn({
            let q = Arc::clone(&q);
            async move { q.push(text("c")).await }
        });
        assert_eq!(body(q.pop().await), "a");
        assert_eq!(waiting.await.expect("task"), Ok(()));
        assert_eq!(body(q.pop().await), "b");
        assert_eq!(body(q.pop().await), "c");
    }

    #[tokio::test]
    async fn closing_fails_pushes_and_wakes_waiters() {
        let q = Arc::new(OutboundQueue::new(1, 1024));
        q.try_push(text("a")).expect("room");
        let waiting = tokio::spawn({
            let q = Arc::clone(&q);
            async move { q.push(text("b")).await }
        });
        tokio::task::yield_now().await;
        q.close();
        assert_eq!(waiting.await.expect("task"), Err(PushError::Gone));
        assert_eq!(q.try_push(text("c")), Err(PushError::Gone));
    }

    #[tokio::test]
    async fn bytes_are_bounded_but_an_empty_queue_takes_any_message() {
        let q = OutboundQueue::new(64, 10);
        q.try_push(text("0123456789abcdef"))
            .expect("an empty queue takes it");
        assert_eq!(q.try_push(text("x")), Err(PushError::QueueFull));
        q.pop().await;
        q.try_push(text("0123456")).expect("room again");
        q.try_push(text("789")).expect("exactly at the bound");
        assert_eq!(q.try_push(text("a")), Err(PushError::QueueFull));
        assert_eq!(q.state().bytes, 10);
    }

    #[tokio::test]
    async fn a_drained_queue_gives_its_memory_back() {
        let q = OutboundQueue::new(64, 1 << 20);
        for i in 0..50 {
            q.try_push(text(&i.to_string())).expect("room");
        }
        for _ in 0..50 {
            q.pop().await;
        }
        assert_eq!(q.state().items.capacity(), 0);
    }
}
