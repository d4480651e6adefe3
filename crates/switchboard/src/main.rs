//! The `switchboard` command: serve WebSocket APIs from a TOML file or a template, check one,
//! or convert a template to TOML.
#![forbid(unsafe_code)]

mod cli;
mod export;
mod import;
mod local_functions;
mod node;
mod serve;

use clap::Parser;
use std::process::ExitCode;

/// jemalloc, not the system allocator: glibc's malloc kept the memory that connections coming
/// and going had freed, so RSS grew for as long as the gateway ran; jemalloc hands free pages
/// back after a few seconds (a background thread purges them). Measured in docs/operations.md
/// "Memory".
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(&cli.log_format, &cli.log_level);
    match cli.command {
        cli::Command::Validate {
            file,
            config,
            template,
        } => serve::validate(file.or(config), &template),
        cli::Command::Import {
            file,
            config,
            parameter_overrides,
            stack_name,
        } => import::run(&file, config.as_deref(), &parameter_overrides, &stack_name),
        cli::Command::Export { config } => export::run(config),
        cli::Command::Serve {
            config,
            template,
            listen,
            management_listen,
            lambda_ric,
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
            runtime.block_on(serve::serve(
                config,
                template,
                listen,
                management_listen,
                lambda_ric,
            ))
        }
    }
}
