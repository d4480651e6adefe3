//! Templates as configuration: SAM / CloudFormation templates (YAML or JSON) and Serverless
//! Framework services, converted into the same [`Config`] a `switchboard.toml` produces
//! (`docs/templates.md`).
//!
//! The conversion is pure: the template's text and [`ImportOptions`] in, an [`Imported`] out —
//! the WebSocket APIs as `[apis]`, the Lambda functions the template declares (for the local
//! Lambda runtime, not part of `Config`), where each table came from, and a warning for
//! everything the template says that Switchboard does not do. Whatever would make the gateway
//! behave differently from the deployed stack is an error instead.
//!
//! A Serverless Framework service is first compiled into the CloudFormation resources the
//! framework would deploy (`serverless.rs`), then converted like any template.

mod check;
mod cloudformation;
mod function;
mod intrinsics;
mod node;
mod print;
mod serverless;
mod stack;

#[cfg(test)]
mod tests;

pub use check::{check_with_template, TemplateChecked};
pub use function::{FunctionCode, LambdaFunction};
pub use node::{Position, MAX_TEMPLATE_BYTES};
pub use print::to_toml;

use crate::config::{Config, ConfigError, Problem, Severity};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a template is converted with: the values a deployment would supply.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The template's name in messages (as the user wrote it).
    pub file_name: String,
    /// The directory relative `CodeUri`s and Serverless handlers are resolved against.
    pub base_dir: PathBuf,
    /// `AWS::Region` (and `${aws:region}`): the `[aws] region`.
    pub region: String,
    /// `AWS::AccountId`: the `[aws] accountId`.
    pub account_id: String,
    /// `AWS::StackName`.
    pub stack_name: String,
    /// `--parameter-overrides NAME=VALUE`: CloudFormation parameter values, and the Serverless
    /// `${opt:NAME}` options (`stage`, `region`, …).
    pub parameter_overrides: BTreeMap<String, String>,
    /// Environment variables for Serverless `${env:NAME}`.
    pub environment: BTreeMap<String, String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        let aws = crate::config::AwsConfig::default();
        Self {
            file_name: "template.yaml".to_owned(),
            base_dir: PathBuf::from("."),
            region: aws.region,
            account_id: aws.account_id,
            stack_name: DEFAULT_STACK_NAME.to_owned(),
            parameter_overrides: BTreeMap::new(),
            environment: BTreeMap::new(),
        }
    }
}

/// `AWS::StackName` when none is given.
pub const DEFAULT_STACK_NAME: &str = "switchboard-local";

/// The kind of template that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateFormat {
    /// A CloudFormation template, with or without the SAM transform.
    CloudFormation,
    /// A Serverless Framework `serverless.yml`.
    Serverless,
}

/// Where one table of the converted configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The table's key path, e.g. `["apis", "ChatApi", "routes", "$connect"]`.
    pub key_path: Vec<String>,
    /// The source resource: `AWS::ApiGatewayV2::Route ConnectRoute`, or for a Serverless
    /// service the key it was compiled from (`functions.connect.events[0].websocket`).
    pub label: String,
    /// Where the resource is written in the template.
    pub at: Position,
}

/// A converted template.
#[derive(Debug, Clone)]
pub struct Imported {
    /// Which kind of template it was.
    pub format: TemplateFormat,
    /// The APIs, in `apis`; every other table has its default (a template cannot say them).
    pub config: Config,
    /// The Lambda functions the template declares, for the local Lambda runtime.
    pub functions: Vec<LambdaFunction>,
    /// Where each table of `config.apis` came from, in template order.
    pub origins: Vec<Origin>,
    /// What the template says that Switchboard does not do, each at its resource and property.
    pub warnings: Vec<Problem>,
}

impl Imported {
    /// The origin of the table at `key_path` or of its closest converted ancestor.
    pub fn origin_of(&self, key_path: &[String]) -> Option<&Origin> {
        self.origins
            .iter()
            .filter(|o| key_path.starts_with(&o.key_path))
            .max_by_key(|o| o.key_path.len())
    }
}

/// Converts a template. Returns every problem at once: the error lists the errors (what would
/// make the gateway behave unlike the deployed stack, or what cannot be read) and the warnings.
pub fn import(text: &str, options: &ImportOptions) -> Result<Imported, ConfigError> {
    let file = options.file_name.as_str();
    let root = match node::parse(text) {
        Ok(root) => root,
        Err(error) => {
            return Err(ConfigError::new(vec![stack::problem(
                file,
                error.at,
                "",
                format!("{file} is not valid YAML or JSON: {}", error.message),
                Severity::Error,
            )]))
        }
    };
    let format = match detect(&root) {
        Some(format) => format,
        None => {
            return Err(ConfigError::new(vec![Problem::whole_file(
                file,
                format!(
                    "{file} is neither a CloudFormation/SAM template (no Resources) nor a \
                     Serverless Framework service (no service and functions)"
                ),
            )]))
        }
    };
    let converted = match format {
        TemplateFormat::CloudFormation => cloudformation::convert(&root, options, &BTreeMap::new()),
        TemplateFormat::Serverless => serverless::convert(&root, options),
    };
    let cloudformation::Converted {
        apis,
        functions,
        origins,
        mut problems,
    } = converted;
    crate::config::sort_problems(&mut problems);
    if apis.is_empty() && !problems.iter().any(Problem::is_error) {
        problems.push(Problem::whole_file(
            file,
            format!(
                "{file} declares no WebSocket API (an AWS::ApiGatewayV2::Api with ProtocolType \
                 WEBSOCKET, or a Serverless function with a websocket event)"
            ),
        ));
    }
    if problems.iter().any(Problem::is_error) {
        return Err(ConfigError::new(problems));
    }
    Ok(Imported {
        format,
        config: Config {
            apis,
            ..Config::default()
        },
        functions,
        origins,
        warnings: problems,
    })
}

/// CloudFormation has `Resources`; a Serverless service has `service` and `provider` or
/// `functions`.
fn detect(root: &node::Node) -> Option<TemplateFormat> {
    root.as_map()?;
    if root.get("service").is_some()
        && (root.get("provider").is_some() || root.get("functions").is_some())
    {
        return Some(TemplateFormat::Serverless);
    }
    if root.get("Resources").is_some() || root.get("AWSTemplateFormatVersion").is_some() {
        return Some(TemplateFormat::CloudFormation);
    }
    None
}
