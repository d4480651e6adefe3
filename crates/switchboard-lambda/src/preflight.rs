//! Checks made once at start, so a missing interpreter or runtime interface client is reported
//! with its fix before the first invocation rather than as a failed one.

use crate::function::Launch;
use crate::settings::Settings;
use crate::spec::Language;
use std::path::Path;
use std::process::Stdio;
use tokio::process::Command;

/// Where the installer lives, for messages.
const INSTALLER: &str = "crates/switchboard-lambda/ric/install.sh";

/// How workers of `language` start, after checking that it can.
pub async fn launch_for(language: Language, settings: &Settings) -> Result<Launch, String> {
    match language {
        Language::Node => {
            let ric = settings.node_ric.as_deref().ok_or_else(|| {
                format!(
                    "Node.js functions need the aws-lambda-ric package: install it with {INSTALLER} (or `npm install aws-lambda-ric@3.3.0`) and point the settings at it"
                )
            })?;
            let entry = ric.join("bin").join("index.mjs");
            if !entry.is_file() {
                return Err(format!(
                    "aws-lambda-ric is not installed at {} (no bin/index.mjs): run {INSTALLER}",
                    ric.display()
                ));
            }
            check_runs(&settings.node, &["--version"], "the Node.js executable").await?;
            Ok(Launch {
                program: settings.node.clone(),
                args: vec![entry.to_string_lossy().into_owned()],
            })
        }
        Language::Python => {
            check_runs(
                &settings.python,
                &["-c", "import awslambdaric"],
                &format!("a Python with awslambdaric (run {INSTALLER}, or `pip install awslambdaric` into that Python)"),
            )
            .await?;
            Ok(Launch {
                program: settings.python.clone(),
                args: vec!["-m".into(), "awslambdaric".into()],
            })
        }
    }
}

async fn check_runs(program: &Path, args: &[&str], what: &str) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("{} ({what}) cannot run: {e}", program.display()))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or("").trim();
    Err(format!(
        "`{} {}` failed ({what}): {last}",
        program.display(),
        args.join(" ")
    ))
}
