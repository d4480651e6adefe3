//! CloudFormation (and SAM) templates → `[apis]` and the declared functions.
//!
//! Each resource type has its reader: `apigateway.rs` for `AWS::ApiGatewayV2::*`,
//! `functions.rs` for `AWS::Serverless::Function` and `AWS::Lambda::Function`, `others.rs` for the
//! types that are skipped (silently when they cannot affect the API, with a warning otherwise).
//! Every property a reader does not consume is reported, so nothing is dropped silently.

mod apigateway;
mod functions;
mod others;

use super::function::LambdaFunction;
use super::node::{Node, Position, Value};
use super::stack::{problem, Resource, Stack};
use super::{ImportOptions, Origin};
use crate::config::{ApiConfig, Problem, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// The result of converting one template.
pub(crate) struct Converted {
    pub apis: BTreeMap<String, ApiConfig>,
    pub functions: Vec<LambdaFunction>,
    pub origins: Vec<Origin>,
    pub problems: Vec<Problem>,
}

/// Top-level sections of a template, and whether reading them is this module's business.
const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Resources",
    "Outputs",
    "Transform",
    "Globals",
    "Rules",
    "Hooks",
];

/// Transforms whose effect is understood here: SAM's resources are read directly, and the
/// language extensions' functions (`Fn::ToJsonString`, `Fn::Length`, `Fn::FindInMap` defaults)
/// are evaluated.
const TRANSFORMS: &[&str] = &["AWS::Serverless-2016-10-31", "AWS::LanguageExtensions"];

/// Converts the template `root`. `compiled` names the resources generated from a Serverless
/// service (logical id → the `serverless.yml` key they come from).
pub(crate) fn convert(
    root: &Node,
    options: &ImportOptions,
    compiled: &BTreeMap<String, String>,
) -> Converted {
    let file = options.file_name.clone();
    let mut problems = Vec::new();
    let mut stack = Stack::read(root, options, &file, &mut problems);
    for resource in &mut stack.resources {
        if let Some(origin) = compiled.get(&resource.id) {
            resource.origin = Some(origin.clone());
        }
    }
    let mut converter = Converter {
        stack: &stack,
        options,
        file,
        problems,
        apis: BTreeMap::new(),
        origins: Vec::new(),
        functions: Vec::new(),
        skipped_apis: BTreeSet::new(),
        routes: BTreeMap::new(),
        used: BTreeSet::new(),
        globals: root.get("Globals").and_then(|g| g.get("Function")).cloned(),
    };
    converter.sections(root);
    converter.resources();
    let Converter {
        apis,
        functions,
        origins,
        problems,
        ..
    } = converter;
    Converted {
        apis,
        functions,
        origins,
        problems,
    }
}

/// State of one conversion.
pub(crate) struct Converter<'s> {
    pub stack: &'s Stack,
    pub options: &'s ImportOptions,
    pub file: String,
    pub problems: Vec<Problem>,
    pub apis: BTreeMap<String, ApiConfig>,
    pub origins: Vec<Origin>,
    pub functions: Vec<LambdaFunction>,
    /// APIs that are not WebSocket APIs: their routes, stages, … are skipped with them.
    pub skipped_apis: BTreeSet<String>,
    /// Route logical id → (API id, route key), for route responses.
    pub routes: BTreeMap<String, (String, String)>,
    /// Properties of the current resource that were read.
    pub used: BTreeSet<String>,
    /// SAM `Globals.Function`, as written.
    pub globals: Option<Node>,
}

// === impl Converter: sections and dispatch ===

impl Converter<'_> {
    fn sections(&mut self, root: &Node) {
        let Some(entries) = root.as_map() else {
            return;
        };
        for entry in entries {
            if !SECTIONS.contains(&entry.key.as_str()) {
                self.report(
                    entry.at,
                    &entry.key,
                    format!("unknown top-level section {}; ignored", entry.key),
                    Severity::Warning,
                );
            }
        }
        if let Some(transform) = root.entry("Transform") {
            let names: Vec<(Position, String)> = match &transform.node.value {
                Value::Str(s) => vec![(transform.node.at, s.clone())],
                Value::List(items) => items
                    .iter()
                    .map(|i| {
                        (
                            i.at,
                            i.scalar_text().unwrap_or_else(|| "(a macro call)".into()),
                        )
                    })
                    .collect(),
                _ => vec![(transform.node.at, "(a macro call)".to_owned())],
            };
            for (at, name) in names {
                if !TRANSFORMS.contains(&name.as_str()) {
                    self.report(
                        at,
                        "Transform",
                        format!(
                            "the transform {name} is not run: the template is read as written, \
                             without what the macro would change"
                        ),
                        Severity::Warning,
                    );
                }
            }
        }
        if let Some(rules) = root.entry("Rules") {
            self.report(
                rules.at,
                "Rules",
                "Rules are not checked: parameter values are only checked against AllowedValues \
                 and AllowedPattern"
                    .to_owned(),
                Severity::Warning,
            );
        }
    }

    fn resources(&mut self) {
        let stack = self.stack;
        // APIs first, so every child can find its API whatever the order in the file; route
        // responses and integration responses after the routes and integrations they extend.
        let phase = |kind: &str| match kind {
            "AWS::ApiGatewayV2::Api" => 0,
            "AWS::ApiGatewayV2::RouteResponse" | "AWS::ApiGatewayV2::IntegrationResponse" => 2,
            _ => 1,
        };
        for current in 0..3 {
            for resource in &stack.resources {
                if phase(&resource.kind) != current {
                    continue;
                }
                match stack.exists(resource) {
                    Ok(true) => {}
                    // Not created by this stack: nothing to serve.
                    Ok(false) => continue,
                    Err(error) => {
                        self.report(
                            error.at,
                            &format!("{}.Condition", resource.path()),
                            error.message,
                            Severity::Error,
                        );
                        continue;
                    }
                }
                self.used.clear();
                self.resource(resource);
            }
        }
    }

    fn resource(&mut self, r: &Resource) {
        match r.kind.as_str() {
            "AWS::ApiGatewayV2::Api" => self.api(r),
            "AWS::ApiGatewayV2::Stage" => self.stage(r),
            "AWS::ApiGatewayV2::Deployment" => self.deployment(r),
            "AWS::ApiGatewayV2::Integration" => self.integration(r),
            "AWS::ApiGatewayV2::IntegrationResponse" => self.integration_response(r),
            "AWS::ApiGatewayV2::Route" => self.route(r),
            "AWS::ApiGatewayV2::RouteResponse" => self.route_response(r),
            "AWS::ApiGatewayV2::Authorizer" => self.authorizer(r),
            "AWS::ApiGatewayV2::Model" => self.model(r),
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => self.function(r),
            _ => self.other(r),
        }
    }
}

// === impl Converter: reporting ===

impl Converter<'_> {
    pub(crate) fn report(&mut self, at: Position, path: &str, message: String, severity: Severity) {
        self.problems
            .push(problem(&self.file, at, path, message, severity));
    }

    /// A problem with property `name` of `r`, at the property (or the resource when absent).
    pub(crate) fn property_problem(
        &mut self,
        r: &Resource,
        name: &str,
        message: impl Into<String>,
        severity: Severity,
    ) {
        let at = r.property(name).map_or(r.at, |e| e.at);
        let path = r.property_path(name);
        self.report(at, &path, message.into(), severity);
    }

    pub(crate) fn warn(&mut self, r: &Resource, name: &str, message: impl Into<String>) {
        self.used.insert(name.to_owned());
        self.property_problem(r, name, message, Severity::Warning);
    }

    pub(crate) fn error(&mut self, r: &Resource, name: &str, message: impl Into<String>) {
        self.used.insert(name.to_owned());
        self.property_problem(r, name, message, Severity::Error);
    }

    /// A problem with the resource as a whole.
    pub(crate) fn resource_problem(&mut self, r: &Resource, message: String, severity: Severity) {
        let path = r.path();
        self.report(r.at, &path, message, severity);
    }

    /// Records where the table at `key_path` came from.
    pub(crate) fn origin(&mut self, key_path: &[&str], r: &Resource) {
        self.origins.push(Origin {
            key_path: key_path.iter().map(|s| (*s).to_owned()).collect(),
            label: r.label(),
            at: r.at,
        });
    }

    /// Reports the properties of `r` nobody read: `no_effect` ones as documented (silently),
    /// others with a warning.
    pub(crate) fn leftovers(&mut self, r: &Resource, no_effect: &[&str]) {
        let Some(entries) = r.properties.as_ref().and_then(Node::as_map) else {
            return;
        };
        let unread: Vec<String> = entries
            .iter()
            .map(|e| e.key.clone())
            .filter(|k| !self.used.contains(k) && !no_effect.contains(&k.as_str()))
            .collect();
        for key in unread {
            self.property_problem(
                r,
                &key,
                format!(
                    "{} has no property {key} that Switchboard knows; ignored",
                    r.kind
                ),
                Severity::Warning,
            );
        }
    }
}

// === impl Converter: typed property readers ===

impl Converter<'_> {
    /// Property `name` of `r`, intrinsics evaluated; absent (or `AWS::NoValue`) is `None`. An
    /// intrinsic that cannot be evaluated is an error.
    pub(crate) fn prop(&mut self, r: &Resource, name: &str) -> Option<Node> {
        self.used.insert(name.to_owned());
        let entry = r.property(name)?;
        match self.stack.resolve(&entry.node) {
            Ok(value) => value.filter(|v| v.value != Value::Null),
            Err(error) => {
                let path = r.property_path(name);
                self.report(error.at, &path, error.message, Severity::Error);
                None
            }
        }
    }

    pub(crate) fn string(&mut self, r: &Resource, name: &str) -> Option<String> {
        let value = self.prop(r, name)?;
        self.text(r, name, &value)
    }

    /// The text of property `name`'s `value`, or an error at it when it is not a string.
    pub(crate) fn text(&mut self, r: &Resource, name: &str, value: &Node) -> Option<String> {
        match value.scalar_text() {
            Some(text) => Some(text),
            None => {
                self.error(
                    r,
                    name,
                    format!("{name} must be a string, not {}", value.kind()),
                );
                None
            }
        }
    }

    pub(crate) fn required_string(&mut self, r: &Resource, name: &str) -> Option<String> {
        if r.property(name).is_none() {
            self.error(r, name, format!("{} needs {name}", r.kind));
            return None;
        }
        self.string(r, name)
    }

    pub(crate) fn boolean(&mut self, r: &Resource, name: &str) -> Option<bool> {
        let value = self.prop(r, name)?;
        match node_bool(&value) {
            Some(b) => Some(b),
            None => {
                self.error(
                    r,
                    name,
                    format!("{name} must be true or false, not {}", value.kind()),
                );
                None
            }
        }
    }

    pub(crate) fn integer(&mut self, r: &Resource, name: &str) -> Option<u64> {
        let value = self.prop(r, name)?;
        match value.scalar_text().and_then(|t| t.parse::<u64>().ok()) {
            Some(n) => Some(n),
            None => {
                self.error(
                    r,
                    name,
                    format!("{name} must be a whole number, not {}", describe(&value)),
                );
                None
            }
        }
    }

    /// A map of strings (`StageVariables`, `RequestTemplates`, …).
    pub(crate) fn string_map(&mut self, r: &Resource, name: &str) -> BTreeMap<String, String> {
        let Some(value) = self.prop(r, name) else {
            return BTreeMap::new();
        };
        match string_map(&value) {
            Ok(map) => map,
            Err(message) => {
                self.error(r, name, format!("{name}: {message}"));
                BTreeMap::new()
            }
        }
    }

    /// A list of strings.
    pub(crate) fn string_list(&mut self, r: &Resource, name: &str) -> Vec<String> {
        let Some(value) = self.prop(r, name) else {
            return Vec::new();
        };
        let items = match &value.value {
            Value::List(items) => items.clone(),
            // A single string where a list is expected: CloudFormation accepts it for some.
            _ if value.scalar_text().is_some() => vec![value.clone()],
            _ => {
                self.error(
                    r,
                    name,
                    format!("{name} must be a list, not {}", value.kind()),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item.scalar_text() {
                Some(text) => out.push(text),
                None => {
                    self.error(
                        r,
                        name,
                        format!("{name} must list strings, not {}", item.kind()),
                    );
                    return Vec::new();
                }
            }
        }
        out
    }

    /// `Tags`: a map (ApiGatewayV2) or a list of `{Key, Value}` (most other types).
    pub(crate) fn tags(&mut self, r: &Resource, name: &str) -> BTreeMap<String, String> {
        let Some(value) = self.prop(r, name) else {
            return BTreeMap::new();
        };
        if let Some(items) = value.as_list() {
            let mut out = BTreeMap::new();
            for item in items {
                match (
                    item.get("Key").and_then(Node::scalar_text),
                    item.get("Value").and_then(Node::scalar_text),
                ) {
                    (Some(k), Some(v)) => {
                        out.insert(k, v);
                    }
                    _ => {
                        self.error(r, name, "each tag must be {Key, Value}");
                        return BTreeMap::new();
                    }
                }
            }
            return out;
        }
        match string_map(&value) {
            Ok(map) => map,
            Err(message) => {
                self.error(r, name, format!("{name}: {message}"));
                BTreeMap::new()
            }
        }
    }

    /// An enumeration of the configuration model, from its wire spelling.
    pub(crate) fn enumeration<T: serde::de::DeserializeOwned>(
        &mut self,
        r: &Resource,
        name: &str,
    ) -> Option<T> {
        let text = self.string(r, name)?;
        match parse_enum::<T>(&text) {
            Ok(value) => Some(value),
            Err(message) => {
                self.error(r, name, format!("{name}: {message}"));
                None
            }
        }
    }

    /// `ApiId` of a child resource: the WebSocket API it belongs to, or `None` (reported unless
    /// the API was skipped already).
    pub(crate) fn api_of(&mut self, r: &Resource) -> Option<String> {
        let id = self.required_string(r, "ApiId")?;
        if self.apis.contains_key(&id) {
            return Some(id);
        }
        if !self.skipped_apis.contains(&id) {
            self.warn(
                r,
                "ApiId",
                format!(
                    "ApiId `{id}` is not a WebSocket API of this template; this {} is skipped",
                    r.kind
                ),
            );
        }
        None
    }
}

/// A boolean, also from the strings `"true"`/`"false"` (CloudFormation passes both).
pub(crate) fn node_bool(node: &Node) -> Option<bool> {
    match &node.value {
        Value::Bool(b) => Some(*b),
        Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A value for a message: scalars as written, others by kind.
pub(crate) fn describe(node: &Node) -> String {
    match node.scalar_text() {
        Some(text) => format!("`{text}`"),
        None => node.kind().to_owned(),
    }
}

/// A mapping of scalars as strings.
pub(crate) fn string_map(node: &Node) -> Result<BTreeMap<String, String>, String> {
    let Some(entries) = node.as_map() else {
        return Err(format!("must be a mapping, not {}", node.kind()));
    };
    let mut out = BTreeMap::new();
    for entry in entries {
        match entry.node.scalar_text() {
            Some(text) => {
                out.insert(entry.key.clone(), text);
            }
            None => {
                return Err(format!(
                    "the value of {} must be a string, not {}",
                    entry.key,
                    entry.node.kind()
                ))
            }
        }
    }
    Ok(out)
}

/// Parses an enumeration of the configuration model from its wire spelling (`AWS_PROXY`).
pub(crate) fn parse_enum<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    use serde::de::value::{Error, StrDeserializer};
    use serde::de::IntoDeserializer as _;
    let deserializer: StrDeserializer<'_, Error> = text.into_deserializer();
    T::deserialize(deserializer).map_err(|e| e.to_string())
}
