//! The accept loop: connection cap, TLS, and hyper serving the upgrade request with header
//! size and handshake time limits.

use crate::handshake;
use crate::head::HeadRecorder;
use crate::management;
use crate::server::GatewayState;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::config::ServerLimits;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;

/// hyper refuses read buffers smaller than this.
const MIN_HEADER_BUFFER: usize = 8192;

/// Accepts clients until shutdown.
pub async fn accept_loop(
    state: Arc<GatewayState>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: ServerLimits,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let limits = Arc::new(limits);
    loop {
        let (stream, peer) = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let local_port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
        // The slot travels into the connection task: the cap counts live WebSockets too.
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned().map(Arc::new) else {
            tokio::spawn(refuse_busy(stream));
            continue;
        };
        let state = Arc::clone(&state);
        let tls = tls.clone();
        let limits = Arc::clone(&limits);
        tokio::spawn(async move {
            let handshake_time = Duration::from_secs(limits.handshake_timeout_seconds);
            match tls {
                None => serve(state, stream, (peer, local_port), false, &limits, slot).await,
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_time, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => {
                            serve(state, tls_stream, (peer, local_port), true, &limits, slot).await
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

async fn serve<S>(
    state: Arc<GatewayState>,
    io: S,
    (peer, local_port): (std::net::SocketAddr, u16),
    tls: bool,
    limits: &ServerLimits,
    slot: Arc<OwnedSemaphorePermit>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let header_limit = limits.max_header_bytes.max(MIN_HEADER_BUFFER);
    let (io, head) = HeadRecorder::new(io, header_limit);
    let client = Arc::new(handshake::ClientConn {
        peer,
        local_port,
        tls,
        head,
        slot,
        management_slot: Default::default(),
    });
    let service = service_fn(move |req| {
        let (state, client) = (Arc::clone(&state), Arc::clone(&client));
        async move {
            if management::is_connections_path(&state, req.uri().path()) {
                // The recorded head was this call's: an upgrade later on the same connection
                // falls back to hyper's (lowercased) header names.
                client
                    .head
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
                let response = management::serve_on_server_listener(
                    state,
                    client.peer,
                    &client.management_slot,
                    req,
                )
                .await;
                return Ok::<_, std::convert::Infallible>(response);
            }
            handshake::handle(state, client, req).await
        }
    });
    // One upgrade per TCP connection: every refusal says `Connection: close`, so the
    // recorded head is always the head of the request being answered. `@connections` calls
    // (`onServerListener`) may share a kept-alive connection.
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.handshake_timeout_seconds))
        .max_buf_size(header_limit)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
    }
}

/// Over a connection cap: a short 503 instead of a hanging socket.
pub async fn refuse_busy(mut stream: TcpStream) {
    let _ = stream
        .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 33\r\nconnection: close\r\n\r\n{\"message\":\"Service Unavailable\"}")
        .await;
    let _ = stream.shutdown().await;
}
