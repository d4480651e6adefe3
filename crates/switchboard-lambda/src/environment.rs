//! The environment of a worker process: the gateway's own (inherited), then the function's
//! variables, then the standard Lambda variables, which win.

use crate::spec::FunctionSpec;

/// What the standard variables are made of, besides the spec.
pub struct WorkerContext<'a> {
    /// `host:port` of this worker's Runtime API.
    pub runtime_api: &'a str,
    /// `[aws] region`.
    pub region: &'a str,
    /// This execution environment's log stream.
    pub log_stream: &'a str,
}

/// The variables set on top of the inherited environment, in the order they apply.
pub fn worker_variables(spec: &FunctionSpec, ctx: &WorkerContext<'_>) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = spec
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let task_root = spec.code_dir.to_string_lossy().into_owned();
    let standard = [
        ("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", ctx.log_stream.to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_RUNTIME_API", ctx.runtime_api.to_owned()),
        ("AWS_REGION", ctx.region.to_owned()),
        ("AWS_DEFAULT_REGION", ctx.region.to_owned()),
        (
            "AWS_EXECUTION_ENV",
            format!("AWS_Lambda_{}", spec.runtime.identifier),
        ),
        ("LAMBDA_TASK_ROOT", task_root),
        ("_HANDLER", spec.handler.clone()),
        ("TZ", ":UTC".to_owned()),
    ];
    vars.extend(standard.into_iter().map(|(k, v)| (k.to_owned(), v)));
    vars
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Runtime;

    #[test]
    fn standard_variables_follow_the_functions_own() {
        let mut spec = FunctionSpec::new(
            "chat",
            Runtime::parse("python3.12").expect("runtime"),
            "app.handler",
            "/srv/chat",
        );
        spec.memory_mb = 256;
        spec.environment
            .insert("TABLE_NAME".into(), "connections".into());
        let vars = worker_variables(
            &spec,
            &WorkerContext {
                runtime_api: "127.0.0.1:4000",
                region: "eu-west-1",
                log_stream: "2026/01/01/[$LATEST]ab",
            },
        );
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(vars[0], ("TABLE_NAME".into(), "connections".into()));
        assert_eq!(get("AWS_REGION"), Some("eu-west-1"));
        assert_eq!(get("AWS_DEFAULT_REGION"), Some("eu-west-1"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), Some("256"));
        assert_eq!(get("AWS_LAMBDA_LOG_GROUP_NAME"), Some("/aws/lambda/chat"));
        assert_eq!(get("AWS_EXECUTION_ENV"), Some("AWS_Lambda_python3.12"));
        assert_eq!(get("LAMBDA_TASK_ROOT"), Some("/srv/chat"));
        assert_eq!(get("_HANDLER"), Some("app.handler"));
        assert_eq!(get("TZ"), Some(":UTC"));
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:4000"));
    }
}
