//! Configuration loading (docs/configuration.md): any text as a configuration file. Checking
//! never panics, every problem prints, and what is accepted compiles into a runtime or is
//! refused with an error (never a panic). Input: the file's bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_core::config::Config;
use switchboard_gateway::runtime::Runtime;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::check_toml_str(text, "fuzz.toml") {
        Ok(checked) => {
            for warning in &checked.warnings {
                let _ = warning.to_string();
            }
            let _ = Runtime::build(checked.config, None);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
