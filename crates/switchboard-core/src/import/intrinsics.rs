//! CloudFormation intrinsic functions, evaluated as the stack would at deployment: `Ref`,
//! `Fn::Sub` (both forms), `Fn::GetAtt`, `Fn::Join`, `Fn::If` with `Conditions`, `Fn::Select`,
//! `Fn::Split`, `Fn::FindInMap` with `Mappings`, `Fn::Base64`, `Fn::GetAZs`, `Fn::ToJsonString`,
//! `Fn::Length`; the condition functions `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`.
//!
//! Physical names follow what a stack served here is: resources are named by their name property
//! when they have one (`FunctionName`, `TableName`, …) and by their logical id otherwise.

use super::node::{Entry, Node, Position, Value};
use super::stack::{ParameterValue, Resource, Stack};
use base64::Engine as _;

/// An intrinsic function that cannot be evaluated, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EvalError {
    pub at: Position,
    pub message: String,
}

fn fail<T>(at: Position, message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError {
        at,
        message: message.into(),
    })
}

/// The key of the internal function standing for a Serverless variable that cannot be resolved
/// (its argument is the reason); evaluating it is an error.
pub(crate) const UNRESOLVED: &str = "Fn::Switchboard::Unresolved";

impl Stack {
    /// The value of `node` with every intrinsic function evaluated; `None` when it is
    /// `AWS::NoValue` (the property is then absent).
    pub(crate) fn resolve(&self, node: &Node) -> Result<Option<Node>, EvalError> {
        self.resolve_at(node, 0)
    }

    fn resolve_at(&self, node: &Node, depth: usize) -> Result<Option<Node>, EvalError> {
        if depth > 64 {
            return fail(node.at, "intrinsic functions nested more than 64 deep");
        }
        match &node.value {
            Value::Map(entries) => {
                if let [only] = entries.as_slice() {
                    if only.key == "Ref" || only.key.starts_with("Fn::") {
                        return self.function(only, node.at, depth + 1);
                    }
                }
                let mut out = Vec::with_capacity(entries.len());
                for entry in entries {
                    if let Some(value) = self.resolve_at(&entry.node, depth + 1)? {
                        out.push(Entry {
                            key: entry.key.clone(),
                            at: entry.at,
                            node: value,
                        });
                    }
                }
                Ok(Some(Node::new(node.at, Value::Map(out))))
            }
            Value::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(value) = self.resolve_at(item, depth + 1)? {
                        out.push(value);
                    }
                }
                Ok(Some(Node::new(node.at, Value::List(out))))
            }
            _ => Ok(Some(node.clone())),
        }
    }

    /// `resolve`, where `AWS::NoValue` is not allowed.
    fn value(&self, node: &Node, depth: usize) -> Result<Node, EvalError> {
        match self.resolve_at(node, depth)? {
            Some(value) => Ok(value),
            None => fail(node.at, "AWS::NoValue cannot be used here"),
        }
    }

    /// A resolved scalar as text.
    fn text(&self, node: &Node, depth: usize, what: &str) -> Result<String, EvalError> {
        let value = self.value(node, depth)?;
        match value.scalar_text() {
            Some(text) => Ok(text),
            None => fail(
                node.at,
                format!("{what} must be a string, not {}", value.kind()),
            ),
        }
    }

    /// A resolved list.
    fn list(&self, node: &Node, depth: usize, what: &str) -> Result<Vec<Node>, EvalError> {
        let value = self.value(node, depth)?;
        match value.value {
            Value::List(items) => Ok(items),
            _ => fail(
                node.at,
                format!("{what} must be a list, not {}", value.kind()),
            ),
        }
    }

    fn function(
        &self,
        call: &Entry,
        at: Position,
        depth: usize,
    ) -> Result<Option<Node>, EvalError> {
        let arg = &call.node;
        let name = call.key.as_str();
        let string = |s: String| Ok(Some(Node::str(at, s)));
        match name {
            "Ref" => {
                let target = arg
                    .as_str()
                    .ok_or_else(|| EvalError {
                        at,
                        message: format!("Ref takes a name, not {}", arg.kind()),
                    })?
                    .to_owned();
                self.reference(&target, at)
            }
            "Fn::GetAtt" => {
                let (resource, attribute) = match &arg.value {
                    Value::Str(s) => match s.split_once('.') {
                        Some((r, a)) => (r.to_owned(), a.to_owned()),
                        None => {
                            return fail(at, format!("Fn::GetAtt `{s}` must be RESOURCE.ATTRIBUTE"))
                        }
                    },
                    Value::List(items) if items.len() == 2 => (
                        self.text(&items[0], depth, "the resource of Fn::GetAtt")?,
                        self.text(&items[1], depth, "the attribute of Fn::GetAtt")?,
                    ),
                    _ => {
                        return fail(
                            at,
                            "Fn::GetAtt takes [RESOURCE, ATTRIBUTE] or RESOURCE.ATTRIBUTE",
                        )
                    }
                };
                string(self.attribute(&resource, &attribute, at)?)
            }
            "Fn::Sub" => {
                let (template, variables) = match &arg.value {
                    Value::Str(s) => (s.clone(), None),
                    Value::List(items) if items.len() == 2 => {
                        let template = self.text(&items[0], depth, "the string of Fn::Sub")?;
                        (template, Some(&items[1]))
                    }
                    _ => return fail(at, "Fn::Sub takes a string or [STRING, {VARIABLES}]"),
                };
                string(self.substitute(&template, variables, at, depth)?)
            }
            "Fn::Join" => {
                let [delimiter, items] = pair(arg, at, "Fn::Join takes [DELIMITER, [VALUES]]")?;
                let delimiter = self.text(delimiter, depth, "the delimiter of Fn::Join")?;
                let items = self.list(items, depth, "the values of Fn::Join")?;
                let mut parts = Vec::with_capacity(items.len());
                for item in &items {
                    parts.push(item.scalar_text().ok_or_else(|| EvalError {
                        at: item.at,
                        message: format!("Fn::Join joins strings, not {}", item.kind()),
                    })?);
                }
                string(parts.join(&delimiter))
            }
            "Fn::Select" => {
                let [index, items] = pair(arg, at, "Fn::Select takes [INDEX, [VALUES]]")?;
                let index_text = self.text(index, depth, "the index of Fn::Select")?;
                let Ok(index) = index_text.parse::<usize>() else {
                    return fail(
                        at,
                        format!("Fn::Select index `{index_text}` is not a number"),
                    );
                };
                let items = self.list(items, depth, "the values of Fn::Select")?;
                match items.into_iter().nth(index) {
                    Some(item) => Ok(Some(item)),
                    None => fail(
                        at,
                        format!("Fn::Select index {index} is past the end of the list"),
                    ),
                }
            }
            "Fn::Split" => {
                let [delimiter, source] = pair(arg, at, "Fn::Split takes [DELIMITER, STRING]")?;
                let delimiter = self.text(delimiter, depth, "the delimiter of Fn::Split")?;
                let source = self.text(source, depth, "the string of Fn::Split")?;
                if delimiter.is_empty() {
                    return fail(at, "the delimiter of Fn::Split must not be empty");
                }
                let items = source
                    .split(delimiter.as_str())
                    .map(|s| Node::str(at, s))
                    .collect();
                Ok(Some(Node::new(at, Value::List(items))))
            }
            "Fn::If" => {
                let Some([condition, then, otherwise]) =
                    arg.as_list().and_then(|l| <&[Node; 3]>::try_from(l).ok())
                else {
                    return fail(
                        at,
                        "Fn::If takes [CONDITION, VALUE_IF_TRUE, VALUE_IF_FALSE]",
                    );
                };
                let Some(condition) = condition.as_str() else {
                    return fail(
                        condition.at,
                        "the first item of Fn::If is the name of a condition",
                    );
                };
                let chosen = if self.condition(condition, at)? {
                    then
                } else {
                    otherwise
                };
                self.resolve_at(chosen, depth)
            }
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" => {
                let node = Node::new(at, Value::Map(vec![call.clone()]));
                Ok(Some(Node::new(
                    at,
                    Value::Bool(self.condition_value(&node, depth)?),
                )))
            }
            "Fn::FindInMap" => {
                let Some(items) = arg.as_list().filter(|l| l.len() == 3 || l.len() == 4) else {
                    return fail(
                        at,
                        "Fn::FindInMap takes [MAP, TOP_LEVEL_KEY, SECOND_LEVEL_KEY]",
                    );
                };
                let map = self.text(&items[0], depth, "the map name of Fn::FindInMap")?;
                let top = self.text(&items[1], depth, "the top-level key of Fn::FindInMap")?;
                let second =
                    self.text(&items[2], depth, "the second-level key of Fn::FindInMap")?;
                let found = self
                    .mappings
                    .as_ref()
                    .and_then(|m| m.get(&map))
                    .and_then(|m| m.get(&top))
                    .and_then(|m| m.get(&second));
                match (found, items.get(3).and_then(|d| d.get("DefaultValue"))) {
                    (Some(value), _) => self.resolve_at(value, depth),
                    (None, Some(default)) => self.resolve_at(default, depth),
                    (None, None) => fail(
                        at,
                        format!("Fn::FindInMap: Mappings has no {map} → {top} → {second}"),
                    ),
                }
            }
            "Fn::Base64" => {
                let text = self.text(arg, depth, "the value of Fn::Base64")?;
                string(base64::engine::general_purpose::STANDARD.encode(text))
            }
            "Fn::GetAZs" => {
                let region = self.text(arg, depth, "the region of Fn::GetAZs")?;
                let region = if region.is_empty() {
                    self.pseudo.region.clone()
                } else {
                    region
                };
                let zones = ["a", "b", "c"]
                    .iter()
                    .map(|z| Node::str(at, format!("{region}{z}")))
                    .collect();
                Ok(Some(Node::new(at, Value::List(zones))))
            }
            "Fn::ToJsonString" => {
                let value = self.value(arg, depth)?;
                string(value.to_json().to_string())
            }
            "Fn::Length" => {
                let items = self.list(arg, depth, "the value of Fn::Length")?;
                Ok(Some(Node::new(at, Value::Int(items.len() as i64))))
            }
            "Fn::ImportValue" => fail(
                at,
                "Fn::ImportValue reads an output exported by another stack, which is not known \
                 here; use a parameter instead",
            ),
            UNRESOLVED => fail(at, arg.as_str().unwrap_or("unresolved variable").to_owned()),
            other => fail(
                at,
                format!("the intrinsic function {other} is not supported by switchboard import"),
            ),
        }
    }

    /// `Ref NAME`: a pseudo parameter, a parameter or a resource.
    fn reference(&self, name: &str, at: Position) -> Result<Option<Node>, EvalError> {
        let p = &self.pseudo;
        let pseudo = match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::Region" => Some(p.region.clone()),
            "AWS::AccountId" => Some(p.account_id.clone()),
            "AWS::StackName" => Some(p.stack_name.clone()),
            "AWS::Partition" => Some(p.partition.clone()),
            "AWS::URLSuffix" => Some(p.url_suffix.clone()),
            "AWS::StackId" => Some(format!(
                "arn:{}:cloudformation:{}:{}:stack/{}/00000000-0000-0000-0000-000000000000",
                p.partition, p.region, p.account_id, p.stack_name
            )),
            "AWS::NotificationARNs" => return Ok(Some(Node::new(at, Value::List(Vec::new())))),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(Some(Node::str(at, value)));
        }
        if let Some(parameter) = self.parameters.get(name) {
            return match parameter {
                ParameterValue::Known(value) => {
                    let mut value = value.clone();
                    value.at = at;
                    Ok(Some(value))
                }
                ParameterValue::Unknown(message) => fail(at, message.clone()),
            };
        }
        if let Some(resource) = self.resource(name) {
            return Ok(Some(Node::str(at, self.physical_id(resource, at)?)));
        }
        fail(
            at,
            format!("Ref {name}: there is no parameter or resource named {name}"),
        )
    }

    /// Whether `resource` exists in this stack (its `Condition` holds).
    pub(crate) fn exists(&self, resource: &Resource) -> Result<bool, EvalError> {
        match &resource.condition {
            None => Ok(true),
            Some(condition) => self.condition(condition, resource.at),
        }
    }

    /// What `Ref` of a resource returns here.
    pub(crate) fn physical_id(
        &self,
        resource: &Resource,
        at: Position,
    ) -> Result<String, EvalError> {
        if !self.exists(resource)? {
            return fail(
                at,
                format!(
                    "{} is not created (its condition {} is false), so it cannot be referred to",
                    resource.id,
                    resource.condition.as_deref().unwrap_or_default()
                ),
            );
        }
        let p = &self.pseudo;
        let named = |property: &str| self.name_property(resource, property, at);
        Ok(match resource.kind.as_str() {
            "AWS::Lambda::Function" | "AWS::Serverless::Function" => named("FunctionName")?,
            "AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable" => named("TableName")?,
            "AWS::IAM::Role" => named("RoleName")?,
            "AWS::Kinesis::Stream" => named("Name")?,
            "AWS::Logs::LogGroup" => named("LogGroupName")?,
            "AWS::SSM::Parameter" => named("Name")?,
            "AWS::Events::EventBus" => named("Name")?,
            "AWS::ApiGatewayV2::Stage" => named("StageName")?,
            "AWS::S3::Bucket" => self
                .optional_name(resource, "BucketName", at)?
                .unwrap_or_else(|| resource.id.to_lowercase()),
            "AWS::SQS::Queue" => format!(
                "https://sqs.{}.{}/{}/{}",
                p.region,
                p.url_suffix,
                p.account_id,
                named("QueueName")?
            ),
            "AWS::SNS::Topic" => format!(
                "arn:{}:sns:{}:{}:{}",
                p.partition,
                p.region,
                p.account_id,
                named("TopicName")?
            ),
            "AWS::StepFunctions::StateMachine" | "AWS::Serverless::StateMachine" => format!(
                "arn:{}:states:{}:{}:stateMachine:{}",
                p.partition,
                p.region,
                p.account_id,
                named("StateMachineName")?
            ),
            _ => resource.id.clone(),
        })
    }

    /// The resource's own name property, else its logical id.
    fn name_property(
        &self,
        resource: &Resource,
        property: &str,
        at: Position,
    ) -> Result<String, EvalError> {
        Ok(self
            .optional_name(resource, property, at)?
            .unwrap_or_else(|| resource.id.clone()))
    }

    fn optional_name(
        &self,
        resource: &Resource,
        property: &str,
        at: Position,
    ) -> Result<Option<String>, EvalError> {
        let Some(entry) = resource.property(property) else {
            return Ok(None);
        };
        let key = format!("{}.{property}", resource.id);
        if !self.naming.borrow_mut().insert(key.clone()) {
            return fail(
                at,
                format!("{property} of {} is defined through itself", resource.id),
            );
        }
        let result = self.resolve(&entry.node);
        self.naming.borrow_mut().remove(&key);
        match result? {
            None => Ok(None),
            Some(value) => match value.scalar_text() {
                Some(name) => Ok(Some(name)),
                None => fail(
                    entry.at,
                    format!("{property} must be a string, not {}", value.kind()),
                ),
            },
        }
    }

    /// `Fn::GetAtt RESOURCE.ATTRIBUTE`, for the attributes whose value is known without AWS.
    fn attribute(&self, id: &str, attribute: &str, at: Position) -> Result<String, EvalError> {
        let Some(resource) = self.resource(id) else {
            return fail(
                at,
                format!("Fn::GetAtt {id}.{attribute}: there is no resource named {id}"),
            );
        };
        let name = self.physical_id(resource, at)?;
        let p = &self.pseudo;
        let arn = |service: &str, rest: &str| {
            format!(
                "arn:{}:{service}:{}:{}:{rest}",
                p.partition, p.region, p.account_id
            )
        };
        let value = match (resource.kind.as_str(), attribute) {
            ("AWS::Lambda::Function" | "AWS::Serverless::Function", "Arn") => {
                Some(arn("lambda", &format!("function:{name}")))
            }
            ("AWS::ApiGatewayV2::Api", "ApiId") => Some(name),
            ("AWS::ApiGatewayV2::Api", "ApiEndpoint") => Some(format!(
                "wss://{name}.execute-api.{}.{}",
                p.region, p.url_suffix
            )),
            ("AWS::ApiGatewayV2::Integration", "IntegrationId")
            | ("AWS::ApiGatewayV2::Route", "RouteId")
            | ("AWS::ApiGatewayV2::Authorizer", "AuthorizerId")
            | ("AWS::ApiGatewayV2::Model", "ModelId")
            | ("AWS::ApiGatewayV2::Deployment", "DeploymentId")
            | ("AWS::ApiGatewayV2::RouteResponse", "RouteResponseId")
            | ("AWS::ApiGatewayV2::IntegrationResponse", "IntegrationResponseId") => Some(name),
            ("AWS::DynamoDB::Table", "Arn") => Some(arn("dynamodb", &format!("table/{name}"))),
            ("AWS::DynamoDB::Table", "StreamArn") => Some(arn(
                "dynamodb",
                &format!("table/{name}/stream/1970-01-01T00:00:00.000"),
            )),
            ("AWS::SQS::Queue", "Arn") => {
                let queue = name.rsplit('/').next().unwrap_or(&name).to_owned();
                Some(arn("sqs", &queue))
            }
            ("AWS::SQS::Queue", "QueueName") => {
                Some(name.rsplit('/').next().unwrap_or(&name).to_owned())
            }
            ("AWS::SQS::Queue", "QueueUrl") => Some(name),
            ("AWS::SNS::Topic", "TopicArn") => Some(name),
            ("AWS::SNS::Topic", "TopicName") => {
                Some(name.rsplit(':').next().unwrap_or(&name).to_owned())
            }
            ("AWS::IAM::Role", "Arn") => Some(format!(
                "arn:{}:iam::{}:role/{name}",
                p.partition, p.account_id
            )),
            ("AWS::Kinesis::Stream", "Arn") => Some(arn("kinesis", &format!("stream/{name}"))),
            ("AWS::StepFunctions::StateMachine" | "AWS::Serverless::StateMachine", "Arn") => {
                Some(name)
            }
            ("AWS::S3::Bucket", "Arn") => Some(format!("arn:{}:s3:::{name}", p.partition)),
            ("AWS::S3::Bucket", "DomainName") => Some(format!("{name}.s3.{}", p.url_suffix)),
            ("AWS::Logs::LogGroup", "Arn") => Some(arn("logs", &format!("log-group:{name}:*"))),
            _ => None,
        };
        match value {
            Some(value) => Ok(value),
            None => fail(
                at,
                format!(
                    "Fn::GetAtt {id}.{attribute} ({}) is only known once AWS has created the \
                     resource; it cannot be computed here",
                    resource.kind
                ),
            ),
        }
    }

    /// `Fn::Sub`: `${Name}`, `${Resource.Attribute}` and `${!Literal}`.
    fn substitute(
        &self,
        template: &str,
        variables: Option<&Node>,
        at: Position,
        depth: usize,
    ) -> Result<String, EvalError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return fail(
                    at,
                    format!("Fn::Sub: `${{` without a closing `}}` in `{template}`"),
                );
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                out.push_str(&self.sub_variable(name.trim(), variables, at, depth)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn sub_variable(
        &self,
        name: &str,
        variables: Option<&Node>,
        at: Position,
        depth: usize,
    ) -> Result<String, EvalError> {
        if let Some(value) = variables.and_then(|v| v.get(name)) {
            return self.text(value, depth, &format!("Fn::Sub variable {name}"));
        }
        let resolved = match name.split_once('.') {
            Some((resource, attribute)) if self.resource(resource).is_some() => {
                return self.attribute(resource, attribute, at);
            }
            _ => self.reference(name, at)?,
        };
        match resolved.as_ref().and_then(Node::scalar_text) {
            Some(text) => Ok(text),
            None => fail(at, format!("Fn::Sub: ${{{name}}} is not a string")),
        }
    }

    /// Whether the named condition holds.
    pub(crate) fn condition(&self, name: &str, at: Position) -> Result<bool, EvalError> {
        if let Some(known) = self.condition_cache.borrow().get(name) {
            return match known {
                Some(value) => Ok(*value),
                None => fail(at, format!("condition {name} is defined through itself")),
            };
        }
        let Some(definition) = self.conditions.get(name).cloned() else {
            return fail(
                at,
                format!("there is no condition named {name} in Conditions"),
            );
        };
        self.condition_cache
            .borrow_mut()
            .insert(name.to_owned(), None);
        let result = self.condition_value(&definition, 0);
        match &result {
            Ok(value) => {
                self.condition_cache
                    .borrow_mut()
                    .insert(name.to_owned(), Some(*value));
            }
            Err(_) => {
                self.condition_cache.borrow_mut().remove(name);
            }
        }
        result
    }

    /// A condition expression: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`.
    fn condition_value(&self, node: &Node, depth: usize) -> Result<bool, EvalError> {
        if depth > 64 {
            return fail(node.at, "conditions nested more than 64 deep");
        }
        let Some([call]) = node.as_map() else {
            if let Value::Bool(b) = node.value {
                return Ok(b);
            }
            return fail(
                node.at,
                "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition",
            );
        };
        let at = node.at;
        let operands = |what: &str| -> Result<&[Node], EvalError> {
            call.node.as_list().ok_or_else(|| EvalError {
                at,
                message: format!("{what} takes a list"),
            })
        };
        match call.key.as_str() {
            "Condition" => match call.node.as_str() {
                Some(name) => self.condition(name, at),
                None => fail(at, "Condition takes the name of a condition"),
            },
            "Fn::Equals" => {
                let [a, b] = pair(&call.node, at, "Fn::Equals takes [VALUE, VALUE]")?;
                let a = self.value(a, depth + 1)?;
                let b = self.value(b, depth + 1)?;
                Ok(comparable(&a) == comparable(&b))
            }
            "Fn::Not" => match operands("Fn::Not")? {
                [inner] => Ok(!self.condition_value(inner, depth + 1)?),
                _ => fail(at, "Fn::Not takes a list of one condition"),
            },
            "Fn::And" | "Fn::Or" => {
                let items = operands(&call.key)?;
                if items.len() < 2 || items.len() > 10 {
                    return fail(at, format!("{} takes 2 to 10 conditions", call.key));
                }
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.condition_value(item, depth + 1)?);
                }
                Ok(if call.key == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                })
            }
            "Fn::If" | "Ref" | "Fn::FindInMap" | "Fn::Select" => {
                match self.value(node, depth + 1)?.value {
                    Value::Bool(b) => Ok(b),
                    Value::Str(s) if s == "true" || s == "false" => Ok(s == "true"),
                    _ => fail(at, "the value is not a condition"),
                }
            }
            other => fail(at, format!("{other} is not a condition function")),
        }
    }
}

/// Values as `Fn::Equals` compares them: scalars by their text.
fn comparable(node: &Node) -> serde_json::Value {
    match node.scalar_text() {
        Some(text) => serde_json::Value::String(text),
        None => node.to_json(),
    }
}

/// The two items of a two-item list argument.
fn pair<'a>(arg: &'a Node, at: Position, usage: &str) -> Result<[&'a Node; 2], EvalError> {
    match arg.as_list() {
        Some([a, b]) => Ok([a, b]),
        _ => fail(at, usage),
    }
}
