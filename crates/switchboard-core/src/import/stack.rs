//! A CloudFormation template as a stack would see it: parameters with their values, mappings,
//! conditions, resources, and the pseudo parameters (`AWS::Region`, …) of the place it is served.

use super::node::{Node, Position, Value};
use super::ImportOptions;
use crate::config::{Problem, Severity};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// One resource of the template.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    /// Logical id.
    pub id: String,
    /// `Type`, e.g. `AWS::ApiGatewayV2::Route`.
    pub kind: String,
    /// Where the logical id is written.
    pub at: Position,
    /// `Properties` (absent: no properties).
    pub properties: Option<Node>,
    /// `Condition`: the resource exists only when it holds.
    pub condition: Option<String>,
    /// For resources compiled from a Serverless Framework service: where in `serverless.yml`
    /// they come from, used instead of `Resources.ID` in messages and comments.
    pub origin: Option<String>,
}

impl Resource {
    /// How messages and comments name it: `AWS::ApiGatewayV2::Route SendRoute`, or the
    /// Serverless key it was compiled from.
    pub(crate) fn label(&self) -> String {
        match &self.origin {
            Some(origin) => origin.clone(),
            None => format!("{} {}", self.kind, self.id),
        }
    }

    /// The template path of one of its properties, e.g. `Resources.SendRoute.Properties.Target`.
    pub(crate) fn property_path(&self, property: &str) -> String {
        match &self.origin {
            Some(origin) => origin.clone(),
            None => format!("Resources.{}.Properties.{property}", self.id),
        }
    }

    /// The template path of the resource itself.
    pub(crate) fn path(&self) -> String {
        match &self.origin {
            Some(origin) => origin.clone(),
            None => format!("Resources.{}", self.id),
        }
    }

    /// The entry of one property, as written.
    pub(crate) fn property(&self, name: &str) -> Option<&super::node::Entry> {
        self.properties.as_ref()?.entry(name)
    }
}

/// Values of the pseudo parameters.
#[derive(Debug, Clone)]
pub(crate) struct Pseudo {
    pub region: String,
    pub account_id: String,
    pub stack_name: String,
    pub partition: String,
    pub url_suffix: String,
}

impl Pseudo {
    pub(crate) fn new(options: &ImportOptions) -> Self {
        let region = options.region.clone();
        let (partition, url_suffix) = if region.starts_with("cn-") {
            ("aws-cn", "amazonaws.com.cn")
        } else if region.starts_with("us-gov-") {
            ("aws-us-gov", "amazonaws.com")
        } else {
            ("aws", "amazonaws.com")
        };
        Self {
            region,
            account_id: options.account_id.clone(),
            stack_name: options.stack_name.clone(),
            partition: partition.to_owned(),
            url_suffix: url_suffix.to_owned(),
        }
    }
}

/// A parameter's value for this import, or why it has none.
#[derive(Debug, Clone)]
pub(crate) enum ParameterValue {
    /// The value (a string, or a list for list types).
    Known(Node),
    /// Using it is an error, for this reason.
    Unknown(String),
}

/// The template, ready for intrinsic functions to be evaluated against it.
pub(crate) struct Stack {
    pub pseudo: Pseudo,
    pub parameters: BTreeMap<String, ParameterValue>,
    pub mappings: Option<Node>,
    pub conditions: BTreeMap<String, Node>,
    pub resources: Vec<Resource>,
    /// Condition results, computed once; `None` while being computed (a cycle).
    pub(crate) condition_cache: RefCell<BTreeMap<String, Option<bool>>>,
    /// Physical names being computed, to stop a name defined through itself.
    pub(crate) naming: RefCell<BTreeSet<String>>,
}

impl Stack {
    /// Reads `Parameters`, `Mappings`, `Conditions` and `Resources` of `root`; problems with the
    /// sections themselves go to `problems`.
    pub(crate) fn read(
        root: &Node,
        options: &ImportOptions,
        file: &str,
        problems: &mut Vec<Problem>,
    ) -> Self {
        let mut stack = Stack {
            pseudo: Pseudo::new(options),
            parameters: BTreeMap::new(),
            mappings: root.get("Mappings").cloned(),
            conditions: BTreeMap::new(),
            resources: Vec::new(),
            condition_cache: RefCell::new(BTreeMap::new()),
            naming: RefCell::new(BTreeSet::new()),
        };
        if let Some(parameters) = root.entry("Parameters") {
            match parameters.node.as_map() {
                Some(entries) => {
                    for entry in entries {
                        let value = match parameter_value(&entry.key, &entry.node, options) {
                            Ok(node) => ParameterValue::Known(node),
                            Err(refusal) => {
                                // A refused override is wrong whether or not the parameter is
                                // used; anything else only matters where it is used.
                                if refusal.from_override {
                                    problems.push(problem(
                                        file,
                                        entry.at,
                                        &format!("Parameters.{}", entry.key),
                                        refusal.message,
                                        Severity::Error,
                                    ));
                                    // Said once above; each use only points back at it.
                                    ParameterValue::Unknown(format!(
                                        "parameter {} has no usable value (its \
                                         --parameter-overrides value is refused)",
                                        entry.key
                                    ))
                                } else {
                                    ParameterValue::Unknown(refusal.message)
                                }
                            }
                        };
                        stack.parameters.insert(entry.key.clone(), value);
                    }
                }
                None => problems.push(problem(
                    file,
                    parameters.at,
                    "Parameters",
                    format!(
                        "Parameters must be a mapping, not {}",
                        parameters.node.kind()
                    ),
                    Severity::Error,
                )),
            }
        }
        if let Some(conditions) = root.entry("Conditions") {
            match conditions.node.as_map() {
                Some(entries) => {
                    for entry in entries {
                        stack
                            .conditions
                            .insert(entry.key.clone(), entry.node.clone());
                    }
                }
                None => problems.push(problem(
                    file,
                    conditions.at,
                    "Conditions",
                    format!(
                        "Conditions must be a mapping, not {}",
                        conditions.node.kind()
                    ),
                    Severity::Error,
                )),
            }
        }
        if let Some(resources) = root.entry("Resources") {
            match resources.node.as_map() {
                Some(entries) => {
                    for entry in entries {
                        match read_resource(entry) {
                            Ok(resource) => stack.resources.push(resource),
                            Err(message) => problems.push(problem(
                                file,
                                entry.at,
                                &format!("Resources.{}", entry.key),
                                message,
                                Severity::Error,
                            )),
                        }
                    }
                }
                None => problems.push(problem(
                    file,
                    resources.at,
                    "Resources",
                    format!("Resources must be a mapping, not {}", resources.node.kind()),
                    Severity::Error,
                )),
            }
        }
        stack
    }

    /// The resource with logical id `id`.
    pub(crate) fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.id == id)
    }
}

/// A problem at a place of the template.
pub(crate) fn problem(
    file: &str,
    at: Position,
    path: &str,
    message: String,
    severity: Severity,
) -> Problem {
    Problem {
        file: file.to_owned(),
        line: at.line,
        column: at.column,
        key_path: path.to_owned(),
        message,
        severity,
    }
}

fn read_resource(entry: &super::node::Entry) -> Result<Resource, String> {
    let node = &entry.node;
    if node.as_map().is_none() {
        return Err(format!("a resource must be a mapping, not {}", node.kind()));
    }
    let kind = match node.get("Type") {
        Some(t) => t
            .as_str()
            .ok_or_else(|| "Type must be a string".to_owned())?
            .to_owned(),
        None => return Err("the resource has no Type".to_owned()),
    };
    let condition = match node.get("Condition") {
        None => None,
        Some(c) => Some(
            c.as_str()
                .ok_or_else(|| "Condition must be the name of a condition".to_owned())?
                .to_owned(),
        ),
    };
    let properties = match node.get("Properties") {
        None => None,
        Some(p) if p.value == Value::Null => None,
        Some(p) if p.as_map().is_some() => Some(p.clone()),
        Some(p) => return Err(format!("Properties must be a mapping, not {}", p.kind())),
    };
    Ok(Resource {
        id: entry.key.clone(),
        kind,
        at: entry.at,
        properties,
        condition,
        origin: None,
    })
}

/// Why a parameter has no value.
struct Refusal {
    message: String,
    /// The value given on the command line was refused.
    from_override: bool,
}

/// A parameter's value: the override given on the command line, else its `Default`, checked
/// against `AllowedValues` and `AllowedPattern` as CloudFormation would.
fn parameter_value(
    name: &str,
    declaration: &Node,
    options: &ImportOptions,
) -> Result<Node, Refusal> {
    let kind = declaration
        .get("Type")
        .and_then(Node::as_str)
        .unwrap_or("String");
    let at = declaration.at;
    let given = options.parameter_overrides.get(name).cloned();
    let from_override = given.is_some();
    let text = match given {
        Some(text) => text,
        None => match declaration.get("Default").and_then(Node::scalar_text) {
            Some(text) => text,
            None => {
                return Err(Refusal {
                    message: format!(
                        "parameter {name} has no Default and no value was given; pass \
                         --parameter-overrides {name}=VALUE"
                    ),
                    from_override: false,
                })
            }
        },
    };
    if kind.starts_with("AWS::SSM::Parameter::Value") && !from_override {
        return Err(Refusal {
            message: format!(
                "parameter {name} is read from SSM Parameter Store ({text}), which is not \
                 reachable here; pass --parameter-overrides {name}=VALUE"
            ),
            from_override: false,
        });
    }
    let source = if from_override {
        "the value given with --parameter-overrides"
    } else {
        "its Default"
    };
    if let Some(allowed) = declaration.get("AllowedValues").and_then(Node::as_list) {
        let allowed: Vec<String> = allowed.iter().filter_map(Node::scalar_text).collect();
        if !allowed.is_empty() && !allowed.contains(&text) {
            return Err(Refusal {
                message: format!(
                    "parameter {name}: {source} `{text}` is not one of its AllowedValues ({})",
                    allowed.join(", ")
                ),
                from_override,
            });
        }
    }
    if let Some(pattern) = declaration.get("AllowedPattern").and_then(Node::as_str) {
        if let Ok(re) = regex::Regex::new(&format!("^(?:{pattern})$")) {
            if !re.is_match(&text) {
                return Err(Refusal {
                    message: format!(
                        "parameter {name}: {source} `{text}` is not matched by its \
                         AllowedPattern {pattern}"
                    ),
                    from_override,
                });
            }
        }
    }
    let is_list = kind == "CommaDelimitedList" || kind.starts_with("List<");
    if is_list {
        let items = text
            .split(',')
            .map(|s| Node::str(at, s.trim()))
            .collect::<Vec<_>>();
        Ok(Node::new(at, Value::List(items)))
    } else {
        Ok(Node::str(at, text))
    }
}
