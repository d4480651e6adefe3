//! The `switchboard` command: serve WebSocket APIs from a TOML file, or check one.
#![forbid(unsafe_code)]

mod cli;
mod node;
mod serve;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(&cli.log_format, &cli.log_level);
    match cli.command {
        cli::Command::Validate { file, config } => serve::validate(file.or(config)),
        cli::Command::Serve {
            config,
            listen,
            management_listen,
        } => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(serve::serve(config, listen, management_listen))
        }
    }
}
