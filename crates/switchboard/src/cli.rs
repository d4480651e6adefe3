//! Command-line flags and logging setup.

use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsStr;
use std::io::IsTerminal;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// `switchboard --version`: the package version and the git revision it was built from
/// (`unknown` outside a git checkout; see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("SWITCHBOARD_GIT_REVISION"),
    ")"
);

/// Switchboard: a self-hosted WebSocket API gateway that behaves like Amazon API Gateway
/// WebSocket APIs — same routes, events, error frames and @connections API.
///
/// Every flag can also be set with an environment variable (shown in brackets).
#[derive(Debug, Parser)]
#[command(name = "switchboard", version = VERSION, propagate_version = true)]
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
        /// Configuration file. With --template it holds only the settings a template cannot
        /// express ([server], [management], [aws], [iam], [apiKeys]), and ./switchboard.toml is
        /// not read unless named here.
        #[arg(long, short, env = "SWITCHBOARD_CONFIG")]
        config: Option<PathBuf>,
        /// Serve the WebSocket APIs of a SAM / CloudFormation template (YAML or JSON) or a
        /// Serverless Framework serverless.yml (docs/templates.md).
        #[command(flatten)]
        template: TemplateArgs,
        /// Override `[server] listen`: HOST:PORT, e.g. localhost:9080, or 127.0.0.1:0 for any
        /// free port.
        #[arg(long, env = "SWITCHBOARD_LISTEN")]
        listen: Option<String>,
        /// Override `[management] listen`.
        #[arg(long, env = "SWITCHBOARD_MANAGEMENT_LISTEN")]
        management_listen: Option<String>,
        /// With --template: where crates/switchboard-lambda/ric/install.sh put the Lambda
        /// runtime interface clients for the local runtime (default: target/lambda-ric beside
        /// this binary when it exists, else `python3` for Python functions;
        /// docs/local-lambda.md).
        #[arg(long, env = "SWITCHBOARD_LAMBDA_RIC", requires = "template")]
        lambda_ric: Option<PathBuf>,
    },
    /// Check a configuration file without serving it: every problem is reported, each with
    /// file:line:column and key path. Exits 0 when the file can be served (warnings are
    /// printed), 1 otherwise.
    Validate {
        /// Configuration file (default: ./switchboard.toml, as for serve; with --template, the
        /// settings file, read only when named).
        file: Option<PathBuf>,
        /// Configuration file, as for serve; FILE wins when both are given.
        #[arg(long, short, env = "SWITCHBOARD_CONFIG")]
        config: Option<PathBuf>,
        /// Check a template, as serve --template would serve it.
        #[command(flatten)]
        template: TemplateArgs,
    },
    /// Print the configuration being served as one TOML file: the configuration file, then
    /// the APIs the control plane serves (read from its store in controlPlane.dataDir).
    Export {
        /// Configuration file (default: ./switchboard.toml).
        #[arg(long, short, env = "SWITCHBOARD_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print the switchboard.toml equivalent to a SAM / CloudFormation template or a
    /// Serverless Framework service on standard output, each table preceded by a comment naming
    /// the resource it comes from. Warnings go to standard error; exits 1 when the template
    /// cannot be served as written.
    Import {
        /// The template: template.yaml, template.json, serverless.yml.
        file: PathBuf,
        /// A settings file whose [aws] region and accountId become AWS::Region and
        /// AWS::AccountId (default us-east-1 and 123456789012).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Template parameter values (and Serverless ${opt:NAME} options): NAME=VALUE ...
        #[arg(long, num_args = 1.., value_name = "NAME=VALUE")]
        parameter_overrides: Vec<String>,
        /// AWS::StackName.
        #[arg(long, default_value = switchboard_core::import::DEFAULT_STACK_NAME)]
        stack_name: String,
    },
}

/// `--template` and what a template is deployed with.
#[derive(Debug, Clone, clap::Args)]
pub struct TemplateArgs {
    /// A SAM / CloudFormation template or a Serverless Framework service to serve.
    #[arg(long, env = "SWITCHBOARD_TEMPLATE")]
    pub template: Option<PathBuf>,
    /// Template parameter values (and Serverless ${opt:NAME} options): NAME=VALUE ...
    #[arg(long, num_args = 1.., value_name = "NAME=VALUE", requires = "template")]
    pub parameter_overrides: Vec<String>,
    /// AWS::StackName of the template.
    #[arg(long, requires = "template", default_value = switchboard_core::import::DEFAULT_STACK_NAME)]
    pub stack_name: String,
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
    let colour = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(colour).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

/// Colour codes only for a person at a terminal who has not asked for none: a file, a pipe or
/// a log collector gets plain text, and so does anyone with a non-empty `NO_COLOR`
/// (no-color.org).
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
        assert!(!use_colour(false, Some(OsStr::new("1"))));
    }
}
