//! The configuration file: model, loading with located errors, and cross-checks.

mod model;

pub use model::*;
