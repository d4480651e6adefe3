//! `AWS::Serverless::Function` (with SAM `Globals.Function`) and `AWS::Lambda::Function` →
//! [`LambdaFunction`], for the local Lambda runtime.

use super::Converter;
use crate::config::Severity;
use crate::import::function::{FunctionCode, LambdaFunction};
use crate::import::node::{Node, Value};
use crate::import::stack::Resource;
use std::collections::BTreeMap;
use std::path::Path;

/// Lambda's defaults when a template does not say.
const DEFAULT_TIMEOUT_SECONDS: u64 = 3;
const DEFAULT_MEMORY_MB: u64 = 128;

/// Function properties that change nothing for a function run locally or through an Invoke API
/// endpoint (permissions, networking, deployment strategy, observability).
const NO_EFFECT: &[&str] = &[
    "Description",
    "Role",
    "Policies",
    "Tags",
    "Tracing",
    "TracingConfig",
    "VpcConfig",
    "KmsKeyArn",
    "DeadLetterQueue",
    "DeadLetterConfig",
    "ProvisionedConcurrencyConfig",
    "AutoPublishAlias",
    "AutoPublishCodeSha256",
    "AutoPublishAliasAllProperties",
    "DeploymentPreference",
    "VersionDescription",
    "PermissionsBoundary",
    "EventInvokeConfig",
    "FunctionUrlConfig",
    "EphemeralStorage",
    "LoggingConfig",
    "RuntimeManagementConfig",
    "SnapStart",
    "CodeSigningConfigArn",
    "FileSystemConfigs",
    "AssumeRolePolicyDocument",
    "RolePath",
    "RecursiveLoop",
    "PropagateTags",
    "ImageConfig",
    "PackageType",
];

impl Converter<'_> {
    pub(super) fn function(&mut self, r: &Resource) {
        let sam = r.kind == "AWS::Serverless::Function";
        let name = match self.stack.physical_id(r, r.at) {
            Ok(name) => name,
            Err(error) => {
                let path = r.property_path("FunctionName");
                self.report(error.at, &path, error.message, Severity::Error);
                return;
            }
        };
        self.used.insert("FunctionName".to_owned());
        let arn = format!(
            "arn:{}:lambda:{}:{}:function:{name}",
            self.stack.pseudo.partition, self.stack.pseudo.region, self.stack.pseudo.account_id
        );
        let code = if sam {
            self.sam_code(r)
        } else {
            self.lambda_code(r)
        };
        let environment = self.environment(r, sam);
        let runtime = self.function_string(r, sam, "Runtime");
        let handler = self.function_string(r, sam, "Handler");
        let timeout_seconds = self
            .function_integer(r, sam, "Timeout")
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS);
        let memory_mb = self
            .function_integer(r, sam, "MemorySize")
            .unwrap_or(DEFAULT_MEMORY_MB);
        let reserved_concurrency = self.function_integer(r, sam, "ReservedConcurrentExecutions");
        let architectures = self.function_list(r, sam, "Architectures");
        let layers = self.function_list(r, sam, "Layers");
        if sam {
            self.sam_events(r);
        }
        self.leftovers(r, NO_EFFECT);
        self.functions.push(LambdaFunction {
            logical_id: r.id.clone(),
            name,
            arn,
            runtime,
            handler,
            code,
            environment,
            timeout_seconds,
            memory_mb,
            reserved_concurrency,
            architectures,
            layers,
            at: r.at,
        });
    }

    /// A function property, else (SAM) the same property of `Globals.Function`.
    fn function_prop(&mut self, r: &Resource, sam: bool, name: &str) -> Option<Node> {
        if r.property(name).is_some() || !sam {
            return self.prop(r, name);
        }
        let global = self.global(name)?;
        match self.stack.resolve(&global.node) {
            Ok(value) => value,
            Err(error) => {
                let path = format!("Globals.Function.{name}");
                self.report(error.at, &path, error.message, Severity::Error);
                None
            }
        }
    }

    fn global(&self, name: &str) -> Option<crate::import::node::Entry> {
        self.globals.as_ref()?.entry(name).cloned()
    }

    fn function_string(&mut self, r: &Resource, sam: bool, name: &str) -> Option<String> {
        let value = self.function_prop(r, sam, name)?;
        self.text(r, name, &value)
    }

    fn function_integer(&mut self, r: &Resource, sam: bool, name: &str) -> Option<u64> {
        let value = self.function_prop(r, sam, name)?;
        match value.scalar_text().and_then(|t| t.parse().ok()) {
            Some(n) => Some(n),
            None => {
                self.error(r, name, format!("{name} must be a whole number"));
                None
            }
        }
    }

    /// `Architectures`, `Layers`: SAM adds global layers before the function's own.
    fn function_list(&mut self, r: &Resource, sam: bool, name: &str) -> Vec<String> {
        let mut nodes = Vec::new();
        if sam && name == "Layers" && r.property(name).is_some() {
            if let Some(global) = self.global(name) {
                if let Ok(Some(value)) = self.stack.resolve(&global.node) {
                    nodes.extend(value.as_list().unwrap_or_default().iter().cloned());
                }
            }
        }
        if let Some(value) = self.function_prop(r, sam, name) {
            match value.value {
                Value::List(items) => nodes.extend(items),
                _ => self.error(r, name, format!("{name} must be a list")),
            }
        }
        nodes.iter().filter_map(Node::scalar_text).collect()
    }

    /// `Environment.Variables`, SAM globals merged under the function's own. A variable whose
    /// value cannot be computed here is left out with a warning naming it.
    fn environment(&mut self, r: &Resource, sam: bool) -> BTreeMap<String, String> {
        self.used.insert("Environment".to_owned());
        let mut sources = Vec::new();
        if sam {
            if let Some(global) = self.global("Environment") {
                sources.push((global.node, "Globals.Function.Environment".to_owned()));
            }
        }
        if let Some(own) = r.property("Environment") {
            sources.push((own.node.clone(), r.property_path("Environment")));
        }
        let mut out = BTreeMap::new();
        for (node, path) in sources {
            let Some(variables) = node.get("Variables").and_then(Node::as_map) else {
                continue;
            };
            for entry in variables {
                let value = self.stack.resolve(&entry.node);
                let text = match &value {
                    Ok(Some(v)) => v.scalar_text(),
                    Ok(None) => continue,
                    Err(_) => None,
                };
                match text {
                    Some(text) => {
                        out.insert(entry.key.clone(), text);
                    }
                    None => {
                        let reason = match value {
                            Err(error) => error.message,
                            Ok(_) => "its value is not a string".to_owned(),
                        };
                        self.report(
                            entry.at,
                            &format!("{path}.Variables.{}", entry.key),
                            format!(
                                "the environment variable {} of {} is left unset: {reason}",
                                entry.key, r.id
                            ),
                            Severity::Warning,
                        );
                        out.remove(&entry.key);
                    }
                }
            }
        }
        out
    }

    fn sam_code(&mut self, r: &Resource) -> Option<FunctionCode> {
        if let Some(inline) = self.function_string(r, true, "InlineCode") {
            return Some(FunctionCode::Inline(inline));
        }
        if let Some(image) = self.function_string(r, true, "ImageUri") {
            return Some(FunctionCode::Image(image));
        }
        let code = self.function_prop(r, true, "CodeUri")?;
        if let Some(location) = code.scalar_text() {
            return Some(self.code_location(&location));
        }
        let bucket = code.get("Bucket").and_then(Node::scalar_text);
        let key = code.get("Key").and_then(Node::scalar_text);
        match (bucket, key) {
            (Some(bucket), Some(key)) => Some(FunctionCode::S3 { bucket, key }),
            _ => {
                self.error(r, "CodeUri", "CodeUri must be a path or {Bucket, Key}");
                None
            }
        }
    }

    fn lambda_code(&mut self, r: &Resource) -> Option<FunctionCode> {
        let code = self.prop(r, "Code")?;
        if let Some(inline) = code.get("ZipFile").and_then(Node::scalar_text) {
            return Some(FunctionCode::Inline(inline));
        }
        if let Some(image) = code.get("ImageUri").and_then(Node::scalar_text) {
            return Some(FunctionCode::Image(image));
        }
        match (
            code.get("S3Bucket").and_then(Node::scalar_text),
            code.get("S3Key").and_then(Node::scalar_text),
        ) {
            (Some(bucket), Some(key)) => Some(FunctionCode::S3 { bucket, key }),
            // `sam build` and `aws cloudformation package` accept a local path here too.
            _ => code
                .scalar_text()
                .map(|location| self.code_location(&location)),
        }
    }

    /// `CodeUri` as written: an S3 URI, an archive, or a directory next to the template.
    fn code_location(&self, location: &str) -> FunctionCode {
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            return FunctionCode::S3 {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            };
        }
        let path = match location.trim_end_matches('/') {
            "" | "." => self.options.base_dir.clone(),
            relative => self.options.base_dir.join(Path::new(relative)),
        };
        let lower = location.to_ascii_lowercase();
        if lower.ends_with(".zip") || lower.ends_with(".jar") {
            FunctionCode::Archive(path)
        } else {
            FunctionCode::Directory(path)
        }
    }

    /// SAM `Events`: nothing but the WebSocket API invokes a function here, so each event
    /// source is named in a warning.
    fn sam_events(&mut self, r: &Resource) {
        self.used.insert("Events".to_owned());
        let Some(events) = r.property("Events").and_then(|e| e.node.as_map()) else {
            return;
        };
        for event in events {
            let kind = event
                .node
                .get("Type")
                .and_then(Node::as_str)
                .unwrap_or("(no Type)");
            let message = match kind {
                "Api" => "creates a REST API, which is not served (Switchboard serves WebSocket APIs)".to_owned(),
                "HttpApi" => "creates an HTTP API, which is not served (Switchboard serves WebSocket APIs)".to_owned(),
                _ => format!("the {kind} event source is not connected here: only WebSocket routes invoke functions"),
            };
            self.report(
                event.at,
                &format!("Resources.{}.Properties.Events.{}", r.id, event.key),
                format!("event {} of {}: {message}", event.key, r.id),
                Severity::Warning,
            );
        }
    }
}
