//! The configuration file: model, loading with located errors, and cross-checks.

mod error;
mod load;
mod model;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{ConfigError, Problem};
pub use model::*;
pub use validate::Finding;
