//! Pure logic of Switchboard: no sockets, no tokio.
//!
//! Everything that decides how the gateway behaves like Amazon API Gateway lives here, where it
//! can be unit-tested and fuzzed: the configuration model, selection expressions, mapping
//! templates, connection ids and the client-visible error frames.
#![forbid(unsafe_code)]

pub mod access_log_format;
pub mod arn;
pub mod aws_action;
pub mod config;
pub mod context;
pub mod event;
pub mod frames;
pub mod ids;
pub mod import;
pub mod mapping;
pub mod parameters;
pub mod policy;
pub mod selection;
pub mod sigv4;
pub mod template;
pub mod validation;
