//! The Lambda functions a template declares, as the local Lambda runtime needs them. They are
//! not part of [`crate::config::Config`]: the gateway reaches every function through the Lambda
//! Invoke API at `[aws.endpoints] lambda`, by the name in its ARN ([`LambdaFunction::name`]).

use super::node::Position;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One `AWS::Serverless::Function`, `AWS::Lambda::Function` or Serverless Framework function,
/// with SAM `Globals` (and the Serverless `provider` defaults) applied and intrinsics evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaFunction {
    /// The logical id in the template; for a Serverless function, the one the framework gives
    /// it (`{Key}LambdaFunction`, e.g. `ConnectLambdaFunction` for `functions.connect`).
    pub logical_id: String,
    /// The function's name: `FunctionName` when the template gives one, else the logical id
    /// (as `sam local` names functions); Serverless: `name`, else `SERVICE-STAGE-KEY`. This is
    /// the `function:NAME` part of [`LambdaFunction::arn`] and of the integration URIs that
    /// point at it, so an Invoke API request names it.
    pub name: String,
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`, as `Fn::GetAtt F.Arn` evaluates.
    pub arn: String,
    /// `Runtime`, e.g. `nodejs20.x`, `python3.12`; absent for container images.
    pub runtime: Option<String>,
    /// `Handler`, e.g. `app.handler`.
    pub handler: Option<String>,
    /// Where the code is; absent when the template does not say.
    pub code: Option<FunctionCode>,
    /// `Environment.Variables` (SAM `Globals` and Serverless `provider.environment` merged in,
    /// the function's own values winning).
    pub environment: BTreeMap<String, String>,
    /// `Timeout` in seconds (CloudFormation default 3; Serverless default 6).
    pub timeout_seconds: u64,
    /// `MemorySize` in MB (CloudFormation default 128; Serverless default 1024).
    pub memory_mb: u64,
    /// `ReservedConcurrentExecutions`: the most invocations at once; absent when not set.
    pub reserved_concurrency: Option<u64>,
    /// `Architectures` (`x86_64`, `arm64`); empty when the template does not say.
    pub architectures: Vec<String>,
    /// Layer ARNs (or references) as written; layers are not fetched.
    pub layers: Vec<String>,
    /// Where the function is declared in the template.
    pub at: Position,
}

/// Where a function's code is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionCode {
    /// A directory (`CodeUri: src/`), resolved against the template's directory.
    Directory(PathBuf),
    /// A `.zip` or `.jar` archive file, resolved against the template's directory.
    Archive(PathBuf),
    /// Source written in the template (`InlineCode`, `Code.ZipFile`).
    Inline(String),
    /// An S3 object (`CodeUri: s3://…`, `Code.S3Bucket`/`S3Key`): not fetched.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Object key.
        key: String,
    },
    /// A container image (`ImageUri`): not run by the local runtime.
    Image(String),
}
