//! `serve --template`: the template's Lambda functions run on this machine (switchboard-lambda,
//! docs/local-lambda.md) unless the settings file points `[aws.endpoints] lambda` elsewhere.

use std::path::{Path, PathBuf};
use std::time::Duration;
use switchboard_core::config::Config;
use switchboard_core::import::{FunctionCode, LambdaFunction};
use switchboard_lambda::{FunctionSpec, LocalLambda, Runtime, Settings};

/// Starts the local runtime for `functions` and points `config`'s Lambda endpoint at it.
/// `None` when there is nothing to run here: no functions, or `[aws.endpoints] lambda` is set
/// (the functions are invoked there). Every function that cannot run locally is named in the
/// error.
pub async fn start(
    functions: &[LambdaFunction],
    config: &mut Config,
    ric_dir: Option<&Path>,
) -> Result<Option<LocalLambda>, String> {
    let Some(specs) = plan(functions, config)? else {
        if let (false, Some(endpoint)) = (functions.is_empty(), config.aws.endpoints.get("lambda"))
        {
            tracing::info!(
                "[aws.endpoints] lambda is set: the template's functions are invoked at \
                 {endpoint}, not run locally"
            );
        }
        return Ok(None);
    };
    let mut settings = Settings {
        region: config.aws.region.clone(),
        account_id: config.aws.account_id.clone(),
        ..Settings::default()
    };
    if let Some(dir) = ric_dir
        .map(Path::to_path_buf)
        .or_else(installed_beside_binary)
    {
        settings = settings.with_ric_dir(&dir);
    }
    let local = LocalLambda::start(specs, settings)
        .await
        .map_err(|e| e.to_string())?;
    config
        .aws
        .endpoints
        .insert("lambda".to_owned(), local.endpoint());
    Ok(Some(local))
}

/// What the local runtime would run for `functions` under `config`: `None` when nothing runs
/// here (no functions, or `[aws.endpoints] lambda` names where they are invoked), else every
/// function's spec, or one error naming each function that cannot run locally. Pure: `validate`
/// checks a template with it, `serve` starts from it.
pub fn plan(
    functions: &[LambdaFunction],
    config: &Config,
) -> Result<Option<Vec<FunctionSpec>>, String> {
    if functions.is_empty() || config.aws.endpoints.contains_key("lambda") {
        return Ok(None);
    }
    let (specs, problems): (Vec<_>, Vec<_>) = functions.iter().map(spec).partition(Result::is_ok);
    let problems: Vec<String> = problems.into_iter().filter_map(Result::err).collect();
    if !problems.is_empty() {
        return Err(format!(
            "these functions cannot run locally:\n  - {}\n(set [aws.endpoints] lambda in the \
             --config file to invoke them through another Lambda Invoke API instead)",
            problems.join("\n  - ")
        ));
    }
    Ok(Some(specs.into_iter().filter_map(Result::ok).collect()))
}

/// `target/lambda-ric` when the binary is `target/{profile}/switchboard` and
/// crates/switchboard-lambda/ric/install.sh put the clients there (its default).
fn installed_beside_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?.join("lambda-ric");
    dir.is_dir().then_some(dir)
}

/// What the local runtime needs to know about one function.
fn spec(function: &LambdaFunction) -> Result<FunctionSpec, String> {
    let name = &function.name;
    let runtime = function
        .runtime
        .as_deref()
        .ok_or_else(|| format!("{name}: no Runtime (a container image does not run locally)"))?;
    let runtime = Runtime::parse(runtime).map_err(|e| format!("{name}: {e}"))?;
    let handler = function
        .handler
        .clone()
        .ok_or_else(|| format!("{name}: no Handler"))?;
    let code_dir = match &function.code {
        Some(FunctionCode::Directory(dir)) => dir.clone(),
        Some(FunctionCode::Archive(path)) => {
            return Err(format!(
                "{name}: CodeUri {} is an archive; unpack it and point CodeUri at the directory",
                path.display()
            ))
        }
        Some(FunctionCode::Inline(_)) => {
            return Err(format!(
                "{name}: inline code is not run locally; move it to a file under a CodeUri directory"
            ))
        }
        Some(FunctionCode::S3 { bucket, key }) => {
            return Err(format!(
                "{name}: code in s3://{bucket}/{key} is not fetched; point CodeUri at a local directory"
            ))
        }
        Some(FunctionCode::Image(image)) => {
            return Err(format!(
                "{name}: container image {image} does not run locally"
            ))
        }
        None => return Err(format!("{name}: no CodeUri")),
    };
    let mut spec = FunctionSpec::new(name.clone(), runtime, handler, code_dir);
    spec.environment = function.environment.clone();
    spec.timeout = Duration::from_secs(function.timeout_seconds.max(1));
    spec.memory_mb = u32::try_from(function.memory_mb).unwrap_or(u32::MAX);
    spec.concurrency = function
        .reserved_concurrency
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    Ok(spec)
}
