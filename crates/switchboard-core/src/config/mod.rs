//! The configuration file: model, loading with located errors, and cross-checks.

mod model;

pub use model::*;

/// TEMPORARY until the loader lands.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Parses a file's text.
    pub fn from_toml_str(text: &str, file_name: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(format!("{file_name}: {e}")))
    }
    /// Reads and parses a file.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        Self::from_toml_str(&text, &path.display().to_string())
    }
}
