//! Renders every case of a mapping-template corpus and prints `{"case": {"output": …}}` (or
//! `{"error": …}`) as JSON; `tests/vtl/compare.mjs` compares this with Apache Velocity 1.7.
//!
//! `cargo run -q -p switchboard-core --example vtl_render [-- DIR]`

#[path = "../tests/support/vtl_case.rs"]
mod vtl_case;

use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(vtl_case::corpus_dir);
    let cases = match vtl_case::load(&dir) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let out: serde_json::Map<String, serde_json::Value> = cases
        .iter()
        .map(|(name, case)| {
            let result = match case.render() {
                Ok(text) => serde_json::json!({ "output": text }),
                Err(e) => serde_json::json!({ "error": e }),
            };
            (name.clone(), result)
        })
        .collect();
    println!("{}", serde_json::Value::Object(out));
    std::process::ExitCode::SUCCESS
}
