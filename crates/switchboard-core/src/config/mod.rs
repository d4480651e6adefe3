//! The configuration file: model, loading with located errors, and cross-checks.
//!
//! Loading is a linter: one run reports every unknown key, wrong value and failed cross-check,
//! each at its line and column, with the warnings of a file that would be served.

mod cluster;
mod deserialize;
mod error;
mod load;
mod model;
mod route_selection;
mod sniff;
mod suggest;
mod validate;

#[cfg(test)]
mod tests;

pub use cluster::*;
pub(crate) use error::{sort as sort_problems, KeyPath, Segment as error_segment};
pub use error::{ConfigError, Problem, Severity};
pub use load::Checked;
pub(crate) use load::{check_toml, Elsewhere, ForeignApis};
pub use model::*;
pub use validate::Finding;
