//! A WebSocket client for tests (tokio-tungstenite: a client nobody here wrote).

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Why a connection attempt failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The gateway refused the upgrade with this status and body.
    Refused(u16, String),
    /// Anything else.
    Other(String),
}

/// A connected test client.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the gateway accepted, if any.
    pub protocol: Option<String>,
    /// How long to wait for a message before the test fails; raise it in paused-time tests,
    /// where the clock jumps to the gateway's own (longer) timers.
    pub patience: std::time::Duration,
}

impl WsClient {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, &[]).await
    }

    /// Connects with extra request headers.
    pub async fn connect_with(url: &str, headers: &[(&str, &str)]) -> Result<Self, ConnectError> {
        let mut request = url
            .into_client_request()
            .map_err(|e| ConnectError::Other(e.to_string()))?;
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                http::HeaderValue::from_str(value).expect("header value"),
            );
        }
        // No client-side limits: tests send oversize frames on purpose.
        let config = WebSocketConfig::default()
            .max_frame_size(None)
            .max_message_size(None);
        match tokio_tungstenite::connect_async_with_config(request, Some(config), false).await {
            Ok((ws, response)) => Ok(Self {
                ws,
                protocol: response
                    .headers()
                    .get("sec-websocket-protocol")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                patience: crate::PATIENCE,
            }),
            Err(WsError::Http(response)) => Err(ConnectError::Refused(
                response.status().as_u16(),
                response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            )),
            Err(e) => Err(ConnectError::Other(e.to_string())),
        }
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::text(text))
            .await
            .expect("send text message");
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.ws
            .send(Message::binary(bytes.to_vec()))
            .await
            .expect("send binary message");
    }

    /// Sends one raw frame (for fragmentation tests).
    pub async fn send_frame(&mut self, text: &[u8], first: bool, last: bool) {
        let opcode = if first {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message(text.to_vec(), opcode, last);
        self.ws
            .send(Message::Frame(frame))
            .await
            .expect("send frame");
    }

    /// Sends a ping.
    pub async fn ping(&mut self, payload: &[u8]) {
        self.ws
            .send(Message::Ping(payload.to_vec().into()))
            .await
            .expect("send ping");
    }

    /// The next message of any kind (`None` when the stream ended).
    pub async fn next_message(&mut self) -> Option<Message> {
        match tokio::time::timeout(self.patience, self.ws.next()).await {
            Ok(Some(Ok(m))) => Some(m),
            Ok(Some(Err(_)) | None) => None,
            Err(_) => panic!("no message from the gateway within {:?}", self.patience),
        }
    }

    /// The next text message; panics on anything else.
    pub async fn recv_text(&mut self) -> String {
        loop {
            match self.next_message().await {
                Some(Message::Text(t)) => return t.to_string(),
                Some(Message::Ping(_) | Message::Pong(_)) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// The next data message, text or binary, as bytes.
    pub async fn recv_data(&mut self) -> (bool, Vec<u8>) {
        loop {
            match self.next_message().await {
                Some(Message::Text(t)) => return (true, t.as_bytes().to_vec()),
                Some(Message::Binary(b)) => return (false, b.to_vec()),
                Some(Message::Ping(_) | Message::Pong(_)) => continue,
                other => panic!("expected a data message, got {other:?}"),
            }
        }
    }

    /// Waits for the gateway's close frame; returns its code and reason (`None` if the
    /// connection ended without one). Data messages before it are skipped.
    pub async fn recv_close(&mut self) -> Option<(u16, String)> {
        loop {
            match self.next_message().await {
                Some(Message::Close(frame)) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()))
                }
                Some(_) => continue,
                None => return None,
            }
        }
    }

    /// Sends a close frame with `code` and `reason` (or none) and waits for the reply.
    pub async fn close(mut self, code: Option<u16>, reason: &str) {
        let frame = code.map(|c| CloseFrame {
            code: CloseCode::from(c),
            reason: reason.into(),
        });
        let _ = self.ws.close(frame).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(crate::PATIENCE, self.ws.next()).await {}
    }

    /// Drops the TCP connection without a close handshake.
    pub fn abort(self) {
        drop(self.ws);
    }
}
