//! One task per connection (docs/architecture.md §2): a loop over one `select!` on inbound frames, the
//! bounded outbound queue, the idle and lifetime timers, and the close signal. It never waits
//! on a backend: an integration call it drives itself (one, while no other is in flight) is one
//! more branch of that `select!`, and goes on in a task of its own if the loop ends first.
//! `$disconnect` fires exactly once when the loop ends.

use crate::dispatch::{self, Inbound};
use crate::outbound::Outbound;
use crate::outbound::{OutboundQueue, MAX_MESSAGE_BYTES};
use crate::plane::{CloseCause, ConnectionShared};
use crate::runtime::Stage;
use crate::server::GatewayState;
use futures_util::{FutureExt, SinkExt, StreamExt};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use switchboard_core::config::BinaryFrames;
use switchboard_core::context::DisconnectStatus;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep, Instant};
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// Read buffer per connection: small, because idle connections dominate memory (docs/architecture.md "Dependencies").
const READ_BUFFER: usize = 2048;
/// How long a server-initiated close waits for the client's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Reason AWS gives for a client close frame without a status (docs/behaviour.md §3.3).
pub const NO_STATUS_REASON: &str = "Client-side close frame status not set";
/// Reason for idle, lifetime and shutdown closes (docs/behaviour.md §3.4).
pub const GOING_AWAY: &str = "Going away";

/// Everything a connection task needs.
pub struct ConnectionTask {
    /// Gateway-wide state.
    pub state: Arc<GatewayState>,
    /// This connection's shared state (also in the plane).
    pub shared: Arc<ConnectionShared>,
    /// The stage it connected to, as configured at connect time.
    pub stage: Arc<Stage>,
    /// Its outbound queue (pushes, and integration tasks' two-way replies).
    pub outbound: Arc<OutboundQueue>,
    /// Most integration calls in flight at once.
    pub max_inflight: usize,
    /// This connection's stage in the open-connections gauge.
    pub open: Gauge,
}

/// How the loop ended.
enum Ending {
    /// The client sent a close frame.
    ClientClosed(DisconnectStatus),
    /// We close with this code and reason.
    ServerCloses(u16, &'static str),
    /// The socket died without a close handshake.
    Lost,
}

impl ConnectionTask {
    /// Waits for the upgrade, then serves the connection until it ends.
    pub async fn run(self, on_upgrade: OnUpgrade) {
        match on_upgrade.await {
            Ok(upgraded) => {
                let limits = &self.stage.limits;
                let config = WebSocketConfig::default()
                    .read_buffer_size(READ_BUFFER)
                    .write_buffer_size(0)
                    // One outgoing message plus a pong or close frame: a client that stops
                    // reading (or floods pings) cannot grow the buffer (pongs replace each other).
                    .max_write_buffer_size(MAX_MESSAGE_BYTES + 1024)
                    .max_frame_size(Some(limits.max_frame_bytes))
                    .max_message_size(Some(limits.max_message_bytes));
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                self.serve(ws).await;
            }
            Err(e) => {
                tracing::debug!(error = %e, "upgrade failed after 101");
                self.finish(lost()).await;
            }
        }
    }

    /// Serves an established WebSocket (generic so tests can use any stream).
    ///
    /// Writing never blocks the loop: a message is handed to the socket and, when the client
    /// does not take it at once, the socket is flushed by the same `select!` that watches the
    /// close signal and the timers. While a write is pending nothing more is popped or read, so
    /// a client that stops reading holds back only itself (TCP backpressure), and `DELETE`, the
    /// idle timeout, the lifetime limit and reload closes still take effect.
    pub async fn serve<S>(self, mut ws: WebSocketStream<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let limits = self.stage.limits.clone();
        let idle = Duration::from_secs(limits.idle_timeout_seconds);
        let idle_timer = sleep(idle);
        let lifetime = sleep(Duration::from_secs(limits.max_connection_seconds));
        tokio::pin!(idle_timer, lifetime);
        let inflight = Arc::new(Semaphore::new(self.max_inflight));
        let mut permit: Option<OwnedSemaphorePermit> = None;
        // A written message has not fully reached the socket yet.
        let mut flushing = false;
        // The integration call this task drives itself (see `dispatch::message`).
        let mut call: Option<dispatch::InlineCall> = None;

        let ending = loop {
            let reading = permit.is_some() && !flushing;
            tokio::select! {
                biased;
                _ = self.shared.closing() => {
                    break match self.shared.close_cause() {
                        CloseCause::Deleted => Ending::ServerCloses(1000, ""),
                        _ => Ending::ServerCloses(1001, GOING_AWAY),
                    };
                }
                _ = &mut lifetime => break Ending::ServerCloses(1001, GOING_AWAY),
                _ = &mut idle_timer => break Ending::ServerCloses(1001, GOING_AWAY),
                out = self.outbound.pop(), if !flushing => {
                    self.stage.ops.sent(&out);
                    match write(&mut ws, out) {
                        Ok(pending) => flushing = pending,
                        Err(_) => break Ending::Lost,
                    }
                    idle_timer.as_mut().reset(Instant::now() + idle);
                }
                // Lazy: the branch's future is built on every turn, the permit only when polled.
                p = async { Arc::clone(&inflight).acquire_owned().await }, if permit.is_none() => {
                    permit = p.ok();
                }
                done = inline_call(&mut call), if call.is_some() => {
                    call = None;
                    if let Some(reply) = done {
                        if flushing {
                            dispatch::queue_reply(&self, reply);
                        } else {
                            self.stage.ops.sent(&reply);
                            match write(&mut ws, reply) {
                                Ok(pending) => flushing = pending,
                                Err(_) => break Ending::Lost,
                            }
                        }
                    }
                }
                event = socket_event(&mut ws, flushing, reading), if flushing || reading => {
                    let frame = match event {
                        SocketEvent::Flushed(Ok(())) => {
                            flushing = false;
                            continue;
                        }
                        SocketEvent::Flushed(Err(_)) => break Ending::Lost,
                        SocketEvent::Frame(frame) => frame,
                    };
                    let inbound = match frame {
                        Some(Ok(Message::Text(text))) => Inbound::Text(text),
                        Some(Ok(Message::Binary(bytes))) => match limits.binary_frames {
                            BinaryFrames::Accept => Inbound::Binary(bytes),
                            BinaryFrames::Reject => {
                                break Ending::ServerCloses(1003, "Binary frames are not supported");
                            }
                        },
                        // tungstenite answers pings itself (one pong pending at most); control
                        // frames do not reset the idle timer (UNCONFIRMED on AWS,
                        // docs/behaviour.md §3.4).
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                        Some(Ok(Message::Close(frame))) => break Ending::ClientClosed(client_status(frame)),
                        Some(Err(e)) => break ending_for_error(e),
                        None => break Ending::Lost,
                    };
                    self.shared.touch();
                    idle_timer.as_mut().reset(Instant::now() + idle);
                    match dispatch::message(&self, inbound, &mut permit, call.is_none()).await {
                        dispatch::Handled::Reply(reply) => {
                            self.stage.ops.sent(&reply);
                            match write(&mut ws, reply) {
                                Ok(pending) => flushing = pending,
                                Err(_) => break Ending::Lost,
                            }
                        }
                        dispatch::Handled::Call(c) => call = Some(c),
                        dispatch::Handled::Nothing => {}
                    }
                }
            }
        };

        if let Some(c) = call.take() {
            dispatch::finish_detached(&self, c);
        }
        let status = match ending {
            Ending::ClientClosed(status) => {
                // tungstenite queued the close reply; push it out.
                let _ = ws.flush().await;
                status
            }
            Ending::ServerCloses(code, reason) => {
                let frame = CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.into(),
                };
                let _ = tokio::time::timeout(CLOSE_GRACE, async {
                    if ws.close(Some(frame)).await.is_ok() {
                        while let Some(Ok(_)) = ws.next().await {}
                    }
                })
                .await;
                DisconnectStatus {
                    code,
                    reason: reason.to_owned(),
                }
            }
            Ending::Lost => lost(),
        };
        drop(ws);
        self.finish(status).await;
    }

    /// The socket is gone: unreachable from now on, then `$disconnect` (docs/behaviour.md §3.3).
    async fn finish(self, status: DisconnectStatus) {
        let id = self.shared.info.connection_id;
        self.state.plane.close(&id);
        self.outbound.close();
        self.open.dec();
        tracing::debug!(connection_id = %id, code = status.code, "connection closed");
        // Boxed: run once per connection, it need not enlarge every idle connection's task.
        Box::pin(async {
            let info = &self.shared.info;
            // A fenced cluster node holds it until it knows whether a survivor ran it.
            if self.state.plane.hold_disconnect(info, &status) {
                return;
            }
            dispatch::disconnect(&self.state, info, Some(&self.stage), status).await;
            self.state.plane.forget(id).await;
        })
        .await;
    }
}

/// The result of the call the task drives (only polled while there is one).
async fn inline_call(call: &mut Option<dispatch::InlineCall>) -> Option<crate::outbound::Outbound> {
    match call.as_mut() {
        Some(c) => c.await,
        None => std::future::pending().await,
    }
}

/// What the socket had for the loop.
enum SocketEvent {
    /// Everything written so far reached the socket (or failed to).
    Flushed(Result<(), WsError>),
    /// A frame from the client, an error, or the end of the stream.
    Frame(Option<Result<Message, WsError>>),
}

/// Waits for the pending write to finish (when `flushing`) or the next client frame (when
/// `reading`), whichever comes first; one future so both can borrow the socket.
fn socket_event<'a, S>(
    ws: &'a mut WebSocketStream<S>,
    flushing: bool,
    reading: bool,
) -> impl std::future::Future<Output = SocketEvent> + 'a
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    std::future::poll_fn(move |cx| {
        if flushing {
            if let Poll::Ready(result) = ws.poll_flush_unpin(cx) {
                return Poll::Ready(SocketEvent::Flushed(result));
            }
        }
        if reading {
            if let Poll::Ready(frame) = ws.poll_next_unpin(cx) {
                return Poll::Ready(SocketEvent::Frame(frame));
            }
        }
        Poll::Pending
    })
}

/// Hands a message to the socket without waiting; `Ok(true)` when part of it is still
/// buffered because the client is not reading (the loop then flushes it).
fn write<S>(ws: &mut WebSocketStream<S>, out: Outbound) -> Result<bool, WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let message = match out {
        Outbound::Text(t) => Message::Text(t),
        Outbound::Binary(b) => Message::Binary(b),
    };
    ws.start_send_unpin(message)?;
    match ws.flush().now_or_never() {
        Some(result) => result.map(|()| false),
        None => Ok(true),
    }
}

fn client_status(frame: Option<CloseFrame>) -> DisconnectStatus {
    match frame {
        Some(f) => DisconnectStatus {
            code: u16::from(f.code),
            reason: f.reason.to_string(),
        },
        None => DisconnectStatus {
            code: 1005,
            reason: NO_STATUS_REASON.to_owned(),
        },
    }
}

fn lost() -> DisconnectStatus {
    DisconnectStatus {
        code: 1006,
        reason: String::new(),
    }
}

fn ending_for_error(e: WsError) -> Ending {
    match e {
        // Frame over maxFrameBytes or message over maxMessageBytes (docs/behaviour.md §3.2).
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
            Ending::ServerCloses(1009, "Message too big")
        }
        WsError::Utf8(_) => Ending::ServerCloses(1007, "Invalid UTF-8"),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => Ending::Lost,
        WsError::Protocol(_) => Ending::ServerCloses(1002, "Protocol error"),
        _ => Ending::Lost,
    }
}
