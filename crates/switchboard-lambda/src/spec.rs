//! What a function is: the typed definition a template importer produces, and its validation.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

/// Lambda's default timeout when a template gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Lambda's default memory size when a template gives none.
pub const DEFAULT_MEMORY_MB: u32 = 128;

/// One function to run locally.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    /// The function name, as the Invoke API and `AWS_LAMBDA_FUNCTION_NAME` see it.
    pub name: String,
    /// Which language runtime starts it (`nodejs20.x`, `python3.12`, …).
    pub runtime: Runtime,
    /// `file.export` (Node.js) or `module.function` (Python), relative to `code_dir`.
    pub handler: String,
    /// The function's code (`CodeUri`): the worker's working directory and `LAMBDA_TASK_ROOT`.
    pub code_dir: PathBuf,
    /// The function's own environment variables (`Environment.Variables`).
    pub environment: BTreeMap<String, String>,
    /// How long one invocation may run before the worker is killed (1 s – 900 s).
    pub timeout: Duration,
    /// Memory size for the context object and `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (not enforced).
    pub memory_mb: u32,
    /// Most workers at once (`ReservedConcurrentExecutions`); `None` takes the settings' default.
    pub concurrency: Option<usize>,
}

impl FunctionSpec {
    /// A function with Lambda's defaults: no variables, 3 s timeout, 128 MB.
    pub fn new(
        name: impl Into<String>,
        runtime: Runtime,
        handler: impl Into<String>,
        code_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            name: name.into(),
            runtime,
            handler: handler.into(),
            code_dir: code_dir.into(),
            environment: BTreeMap::new(),
            timeout: DEFAULT_TIMEOUT,
            memory_mb: DEFAULT_MEMORY_MB,
            concurrency: None,
        }
    }
}

/// The language family of a runtime: which interpreter and runtime interface client start it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// `nodejsNN.x`: the machine's `node` with `aws-lambda-ric`.
    Node,
    /// `python3.NN`: a Python with `awslambdaric`.
    Python,
}

/// A Lambda runtime identifier that runs here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Runtime {
    /// Node.js or Python.
    pub language: Language,
    /// The identifier as written (`nodejs20.x`), for `AWS_EXECUTION_ENV`.
    pub identifier: String,
}

/// A `Runtime` property this crate cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("runtime {0:?} does not run locally: only nodejs18.x, nodejs20.x, nodejs22.x (and later nodejsNN.x) and python3.x are supported")]
pub struct UnsupportedRuntime(pub String);

impl Runtime {
    /// Parses `nodejsNN.x` (NN ≥ 18) or `python3.N`.
    pub fn parse(identifier: &str) -> Result<Self, UnsupportedRuntime> {
        let unsupported = || UnsupportedRuntime(identifier.to_owned());
        let language = if let Some(major) = identifier
            .strip_prefix("nodejs")
            .and_then(|v| v.strip_suffix(".x"))
        {
            match major.parse::<u32>() {
                Ok(n) if n >= 18 => Language::Node,
                _ => return Err(unsupported()),
            }
        } else if let Some(minor) = identifier.strip_prefix("python3.") {
            match minor.parse::<u32>() {
                Ok(_) => Language::Python,
                Err(_) => return Err(unsupported()),
            }
        } else {
            return Err(unsupported());
        };
        Ok(Self {
            language,
            identifier: identifier.to_owned(),
        })
    }
}

/// Variables Lambda sets itself and refuses in a function's configuration.
pub const RESERVED_VARIABLES: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Checks what Lambda itself would refuse at deployment; each message names the function.
pub(crate) fn validate(specs: &[FunctionSpec]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for spec in specs {
        let name = &spec.name;
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_name {
            problems.push(format!(
                "function name {name:?} must be 1–64 letters, digits, '-' or '_'"
            ));
        }
        if !seen.insert(name.as_str()) {
            problems.push(format!("function {name:?} is declared twice"));
        }
        let secs = spec.timeout.as_secs_f64();
        if !(1.0..=900.0).contains(&secs) {
            problems.push(format!(
                "function {name}: timeout {secs} s is outside Lambda's 1–900 s"
            ));
        }
        if !(128..=10_240).contains(&spec.memory_mb) {
            problems.push(format!(
                "function {name}: memory {} MB is outside Lambda's 128–10240 MB",
                spec.memory_mb
            ));
        }
        if spec.concurrency == Some(0) {
            problems.push(format!(
                "function {name}: a concurrency of 0 would refuse every invocation"
            ));
        }
        match spec.handler.rsplit_once('.') {
            Some((module, export)) if !module.is_empty() && !export.is_empty() => {}
            _ => problems.push(format!(
                "function {name}: handler {:?} must look like FILE.EXPORT (Node.js) or MODULE.FUNCTION (Python)",
                spec.handler
            )),
        }
        for key in spec.environment.keys() {
            let valid_key = key.len() >= 2
                && key.as_bytes()[0].is_ascii_alphabetic()
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid_key {
                problems.push(format!(
                    "function {name}: environment variable {key:?} must be a letter then letters, digits or '_'"
                ));
            } else if RESERVED_VARIABLES.contains(&key.as_str()) {
                problems.push(format!(
                    "function {name}: environment variable {key} is reserved: Lambda sets it"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_that_run_here_parse_and_others_say_what_does() {
        assert_eq!(
            Runtime::parse("nodejs20.x").map(|r| r.language),
            Ok(Language::Node)
        );
        assert_eq!(
            Runtime::parse("python3.12").map(|r| r.language),
            Ok(Language::Python)
        );
        for bad in [
            "nodejs16.x",
            "nodejs",
            "java21",
            "python2.7",
            "python3.x",
            "provided.al2023",
        ] {
            let err = Runtime::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("nodejs20.x"), "{err}");
        }
    }

    fn spec() -> FunctionSpec {
        FunctionSpec::new(
            "chat-fn_1",
            Runtime::parse("nodejs20.x").expect("runtime"),
            "app.handler",
            "/tmp",
        )
    }

    #[test]
    fn a_plain_function_is_valid() {
        assert_eq!(validate(&[spec()]), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_named_with_its_function() {
        let mut bad = spec();
        bad.name = "bad name".into();
        bad.timeout = Duration::from_secs(901);
        bad.memory_mb = 64;
        bad.handler = "handler".into();
        bad.concurrency = Some(0);
        bad.environment.insert("AWS_REGION".into(), "x".into());
        bad.environment.insert("1X".into(), "x".into());
        let problems = validate(&[bad, spec(), spec()]);
        assert_eq!(problems.len(), 8, "{problems:#?}");
        assert!(problems.iter().any(|p| p.contains("declared twice")));
        assert!(problems
            .iter()
            .any(|p| p.contains("AWS_REGION is reserved")));
    }
}
