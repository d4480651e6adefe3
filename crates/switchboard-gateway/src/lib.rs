//! Switchboard's data plane: the WebSocket listener, the `$connect` handshake, one task per
//! connection, route dispatch to integrations, and the connection plane that pushes and
//! the management API talk to.
#![forbid(unsafe_code)]

pub mod access_log;
pub mod auth;
pub mod connection;
pub mod control;
pub mod dispatch;
pub mod error;
pub mod execution_log;
pub mod handshake;
pub mod head;
pub mod integrations;
pub mod listener;
pub mod management;
pub mod metrics;
pub mod ops;
pub mod outbound;
pub mod plane;
pub mod process_log;
pub mod runtime;
pub mod server;
pub mod throttle;
pub mod tls;
pub mod validation;

pub use server::{Gateway, GatewayHandle};
