//! Switchboard's local Lambda runtime: runs the functions a template declares (Node.js and
//! Python) as worker processes on this machine, without Docker.
//!
//! Each worker is one runtime process started with the official runtime interface client
//! (`aws-lambda-ric` for Node.js, `awslambdaric` for Python), talking to its own Lambda Runtime
//! API on a loopback port. Invocations come in through the Lambda Invoke API, also on loopback,
//! so the gateway reaches these functions exactly as it reaches AWS Lambda: set
//! `[aws.endpoints] lambda` to [`LocalLambda::endpoint`]. See docs/local-lambda.md.
#![forbid(unsafe_code)]

mod environment;
mod function;
mod ids;
mod invoke_api;
mod payloads;
mod preflight;
mod runtime_api;
mod settings;
mod spec;
mod worker;

pub use function::{Counts, Outcome};
pub use payloads::{ApiError, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};
pub use settings::Settings;
pub use spec::{
    FunctionSpec, Language, Runtime, UnsupportedRuntime, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT,
    RESERVED_VARIABLES,
};

use bytes::Bytes;
use function::{Function, FunctionParts};
use invoke_api::Registry;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why the local runtime did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Function definitions Lambda itself would refuse.
    #[error("invalid function definitions:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
    /// A function's code directory is missing.
    #[error("function {function}: code directory {dir} is not a directory: {reason}")]
    CodeDir {
        /// The function.
        function: String,
        /// Its `CodeUri`.
        dir: String,
        /// What the file system said.
        reason: String,
    },
    /// The interpreter or runtime interface client of a runtime cannot run.
    #[error("function {function} ({runtime}) cannot run here: {reason}")]
    Runtime {
        /// The first function that needs it.
        function: String,
        /// Its runtime identifier.
        runtime: String,
        /// What is missing, and how to install it.
        reason: String,
    },
    /// The Invoke API address is not loopback: it runs code unauthenticated.
    #[error("the Invoke API must listen on a loopback address (it is unauthenticated), not {0}")]
    NotLoopback(SocketAddr),
    /// The Invoke API port could not be bound.
    #[error("binding the Invoke API on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// The running local runtime. Dropping it stops the Invoke API and kills every worker;
/// [`LocalLambda::shutdown`] does the same and waits until they are gone.
pub struct LocalLambda {
    invoke_addr: SocketAddr,
    registry: Arc<Registry>,
    stop: CancellationToken,
    tracker: TaskTracker,
}

impl LocalLambda {
    /// Checks the functions and their runtimes, then serves the Invoke API. No worker starts
    /// until its function is first invoked (cold start on demand).
    pub async fn start(specs: Vec<FunctionSpec>, settings: Settings) -> Result<Self, StartError> {
        let problems = spec::validate(&specs);
        if !problems.is_empty() {
            return Err(StartError::Invalid(problems));
        }
        if !settings.invoke_listen.ip().is_loopback() {
            return Err(StartError::NotLoopback(settings.invoke_listen));
        }
        let mut launches = HashMap::new();
        let stop = CancellationToken::new();
        let tracker = TaskTracker::new();
        let mut registry = Registry {
            functions: HashMap::new(),
            arn_prefix: format!(
                "arn:aws:lambda:{}:{}:function:",
                settings.region, settings.account_id
            ),
        };
        for mut spec in specs {
            spec.code_dir = std::fs::canonicalize(&spec.code_dir)
                .and_then(|dir| {
                    if dir.is_dir() {
                        Ok(dir)
                    } else {
                        Err(std::io::Error::other("it is a file"))
                    }
                })
                .map_err(|e| StartError::CodeDir {
                    function: spec.name.clone(),
                    dir: spec.code_dir.display().to_string(),
                    reason: e.to_string(),
                })?;
            let language = spec.runtime.language;
            let launch = match launches.get(&language) {
                Some(launch) => Clone::clone(launch),
                None => {
                    let launch =
                        preflight::launch_for(language, &settings)
                            .await
                            .map_err(|reason| StartError::Runtime {
                                function: spec.name.clone(),
                                runtime: spec.runtime.identifier.clone(),
                                reason,
                            })?;
                    launches.insert(language, Clone::clone(&launch));
                    launch
                }
            };
            let parts = FunctionParts {
                arn: format!("{}{}", registry.arn_prefix, spec.name),
                launch,
                region: settings.region.clone(),
                init_timeout: settings.init_timeout,
                limit: spec.concurrency.unwrap_or(settings.default_concurrency),
                max_queued: settings.max_queued,
                spec,
            };
            let name = parts.spec.name.clone();
            registry
                .functions
                .insert(name, Function::new(parts, stop.clone(), tracker.clone()));
        }
        let listener = TcpListener::bind(settings.invoke_listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: settings.invoke_listen,
                source,
            })?;
        let invoke_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: settings.invoke_listen,
            source,
        })?;
        let registry = Arc::new(registry);
        invoke_api::serve(listener, Arc::clone(&registry), stop.clone(), &tracker);
        tracing::info!(%invoke_addr, functions = registry.functions.len(), "local Lambda Invoke API listening");
        Ok(Self {
            invoke_addr,
            registry,
            stop,
            tracker,
        })
    }

    /// Where the Invoke API listens.
    pub fn invoke_addr(&self) -> SocketAddr {
        self.invoke_addr
    }

    /// `http://{invoke_addr}`: the value for `[aws.endpoints] lambda`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.invoke_addr)
    }

    /// The names of the declared functions.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.registry.functions.keys().map(String::as_str)
    }

    /// Workers and waiting invocations of a function, `None` if it is not declared.
    pub fn status(&self, function: &str) -> Option<Counts> {
        self.registry.functions.get(function).map(|f| f.status())
    }

    /// Invokes a function in-process (RequestResponse), as the Invoke API would.
    pub async fn invoke(&self, function: &str, payload: Bytes) -> Result<Outcome, ApiError> {
        let f = self.registry.get(function)?;
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        f.invoke(runtime_api::Delivery {
            request_id: ids::request_id(),
            payload,
            invoked_arn: f.arn.clone(),
            trace_id: ids::trace_id(epoch),
            client_context: None,
            cognito_identity: None,
        })
        .await
    }

    /// Stops the Invoke API, fails queued invocations, kills every worker and waits for them.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for function in self.registry.functions.values() {
            function.drain().await;
        }
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Drop for LocalLambda {
    fn drop(&mut self) {
        // Workers are killed by their supervisors (and by kill-on-drop if the runtime is gone).
        self.stop.cancel();
    }
}
