//! `ws-echo`: a bare tokio-tungstenite WebSocket echo server, the machine's ceiling.
//!
//! Same small buffers as the load generator (4 KiB read buffer, no write buffer). Prints
//! `listening on ws://ADDR/` once it accepts connections.
#![forbid(unsafe_code)]

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use switchboard_bench::{accept, bind_listener, fatal, ws_config};
use tokio_tungstenite::tungstenite::Message;

/// Command line of `ws-echo`.
#[derive(Parser)]
#[command(about = "Bare WebSocket echo server (benchmark ceiling)")]
struct Args {
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let listener = bind_listener(args.listen).unwrap_or_else(|e| fatal(format!("listen: {e}")));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| fatal(format!("local_addr: {e}")));
    println!("listening on ws://{addr}/");
    loop {
        let stream = accept(&listener).await;
        tokio::spawn(async move {
            let Ok(mut ws) =
                tokio_tungstenite::accept_async_with_config(stream, Some(ws_config())).await
            else {
                return;
            };
            // Pings are answered and a Close is acknowledged by tungstenite on the next poll,
            // which then ends the stream.
            while let Some(Ok(msg)) = ws.next().await {
                if matches!(msg, Message::Text(_) | Message::Binary(_))
                    && ws.send(msg).await.is_err()
                {
                    return;
                }
            }
        });
    }
}
