//! Command-line flags and logging setup.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// Switchboard: a self-hosted WebSocket API gateway that behaves like Amazon API Gateway
/// WebSocket APIs — same routes, events, error frames and @connections API.
///
/// Every flag can also be set with an environment variable (shown in brackets).
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, propagate_version = true)]
pub struct Cli {
    /// Log line format.
    #[arg(
        long,
        global = true,
        env = "SWITCHBOARD_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    /// Log filter: a level (error, warn, info, debug, trace) or a tracing directive list
    /// such as `info,switchboard_gateway=debug`.
    #[arg(
        long,
        global = true,
        env = "SWITCHBOARD_LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the APIs of a configuration file. Without --config, ./switchboard.toml is used if
    /// it exists, and otherwise a built-in demo API (no backend needed).
    ///
    /// SIGTERM/SIGINT drain and exit; SIGHUP reloads the file.
    Serve {
        /// Configuration file.
        #[arg(long, short, env = "SWITCHBOARD_CONFIG")]
        config: Option<PathBuf>,
        /// Override `[server] listen`, e.g. 127.0.0.1:0 for any free port.
        #[arg(long, env = "SWITCHBOARD_LISTEN")]
        listen: Option<String>,
        /// Override `[management] listen`.
        #[arg(long, env = "SWITCHBOARD_MANAGEMENT_LISTEN")]
        management_listen: Option<String>,
    },
    /// Check a configuration file without serving it; exits 0 when valid, 1 otherwise.
    Validate {
        /// Configuration file.
        #[arg(long, short, env = "SWITCHBOARD_CONFIG")]
        config: PathBuf,
    },
}

/// Log line formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global tracing subscriber (logs go to stderr; stdout is for access logs).
pub fn init_logging(format: &LogFormat, level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|e| {
        eprintln!("warning: --log-level {level:?} is not a valid filter ({e}); using info");
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
