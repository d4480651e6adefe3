//! `switchboard export`: the configuration being served, as one TOML file: the configuration
//! file as written, then the APIs the control plane serves (their deployed form).

use std::path::PathBuf;
use std::process::ExitCode;
use switchboard_core::config::Config;
use switchboard_core::import::{to_toml, Imported, TemplateFormat};
use switchboard_gateway::control::store;

/// Prints the file and the control plane's APIs on standard output.
pub fn run(config: Option<PathBuf>) -> ExitCode {
    let path = config.unwrap_or_else(|| PathBuf::from(crate::serve::DEFAULT_CONFIG));
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let checked = match Config::check_toml_str(&text, &name) {
        Ok(checked) => checked,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{text}");
    let Some(control) = checked.config.control_plane else {
        return ExitCode::SUCCESS;
    };
    let file = store::path(&control.data_dir);
    let state = match store::load(&file) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let apis = match switchboard_control::served(&state) {
        Ok(apis) => apis,
        Err((id, e)) => {
            eprintln!("error: API {id} in {} cannot be read: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    if apis.is_empty() {
        return ExitCode::SUCCESS;
    }
    let imported = Imported {
        format: TemplateFormat::CloudFormation,
        config: Config {
            apis,
            ..Config::default()
        },
        functions: Vec::new(),
        origins: Vec::new(),
        warnings: Vec::new(),
    };
    let header = [format!(
        "APIs made over the control plane, as deployed (from {})",
        file.display()
    )];
    println!();
    print!("{}", to_toml(&imported, &header));
    ExitCode::SUCCESS
}
