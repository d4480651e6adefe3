//! How the local runtime runs: region and account, the Invoke API address, limits, and where the
//! interpreters and runtime interface clients are.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Settings shared by every function.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `AWS_REGION`, `AWS_DEFAULT_REGION` and the region of function ARNs (`[aws] region`).
    pub region: String,
    /// The account of function ARNs (`[aws] accountId`).
    pub account_id: String,
    /// Where the Invoke API listens; must be a loopback address (port 0 picks a free one).
    pub invoke_listen: SocketAddr,
    /// Workers per function when its spec sets no concurrency.
    pub default_concurrency: usize,
    /// Invocations of one function that may wait for a busy worker; past it, 429.
    pub max_queued: usize,
    /// How long a new worker may take to initialise (load the handler) before its first
    /// invocation counts as timed out, on top of the function's timeout (Lambda's init phase).
    pub init_timeout: Duration,
    /// The Node.js executable.
    pub node: PathBuf,
    /// The `aws-lambda-ric` package directory (holding `bin/index.mjs`), for Node.js functions.
    pub node_ric: Option<PathBuf>,
    /// A Python interpreter that can `import awslambdaric`, for Python functions.
    pub python: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            invoke_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            default_concurrency: 10,
            max_queued: 100,
            init_timeout: Duration::from_secs(10),
            node: PathBuf::from("node"),
            node_ric: None,
            python: PathBuf::from("python3"),
        }
    }
}

impl Settings {
    /// Uses the runtime interface clients that `crates/switchboard-lambda/ric/install.sh DIR`
    /// installed: `DIR/python/bin/python` and `DIR/node/node_modules/aws-lambda-ric`.
    pub fn with_ric_dir(mut self, dir: &Path) -> Self {
        self.python = dir.join("python").join("bin").join("python");
        self.node_ric = Some(dir.join("node").join("node_modules").join("aws-lambda-ric"));
        self
    }
}
