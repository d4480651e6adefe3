//! The `apigatewayv2` control plane of WebSocket APIs (docs/control-plane.md), without I/O.
//!
//! [`ControlState`] holds every API made over the control plane with its routes, integrations,
//! authorizers, models, stages and deployments, in the shapes of the apigatewayv2 wire (camelCase
//! JSON objects). An [`Op`] applied to it gives an [`Outcome`] or a [`ControlError`] the HTTP
//! adapter turns into AWS's error shapes. What the stages serve is [`served`]: the typed
//! `switchboard_core::config` APIs, deserialized by the same derives as the file and checked by
//! the same validator.
#![forbid(unsafe_code)]

mod apply;
mod deploy;
mod error;
mod ids;
mod kind;
mod lookup;
mod op;
mod page;
mod project;
mod state;

pub use apply::{apply, Context};
pub use error::ControlError;
pub use kind::{Collection, Kind};
pub use op::{Op, Outcome};
pub use page::PageRequest;
pub use project::{served, served_json, ServedApi};
pub use state::{Api, Child, ControlState, Deployment};
