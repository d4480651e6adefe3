//! Serverless Framework services: `serverless.yml` compiled into the CloudFormation resources
//! the framework deploys for `websocket` events, then converted like any template.
//!
//! What is read: `service`, `provider` (`stage`, `runtime`, `environment`, `timeout`,
//! `memorySize`, `architecture`, `layers`, `websocketsApiName`,
//! `websocketsApiRouteSelectionExpression`, `websocketsDescription`), `functions` (`name`,
//! `handler`, `runtime`, `environment`, `timeout`, `memorySize`, `reservedConcurrency`,
//! `architecture`, `layers`, `image`, and `websocket` events with `route`, `routeResponseSelectionExpression` and
//! `authorizer`), and `resources` (CloudFormation, merged over the compiled resources as the
//! framework does). Logical ids follow the framework: `WebsocketsApi` (also the API's id here),
//! `{Function}LambdaFunction`, `{Function}WebsocketsIntegration`, `{Route}WebsocketsRoute`,
//! `{Name}WebsocketsAuthorizer`, `WebsocketsDeploymentStage`.

mod variables;

use super::cloudformation::{self, Converted};
use super::node::{Entry, Node, Position, Value};
use super::stack::problem;
use super::ImportOptions;
use crate::config::{Problem, Severity};
use std::collections::BTreeMap;
use variables::{is_unresolved, Variables};

/// The logical id (and Switchboard API id) of the framework's WebSocket API.
pub(crate) const API_ID: &str = "WebsocketsApi";

/// The framework's defaults.
const DEFAULT_ROUTE_SELECTION: &str = "$request.body.action";
const DEFAULT_IDENTITY_SOURCE: &str = "route.request.header.Auth";
const DEFAULT_TIMEOUT_SECONDS: i64 = 6;
const DEFAULT_MEMORY_MB: i64 = 1024;

/// Converts a Serverless service.
pub(crate) fn convert(root: &Node, options: &ImportOptions) -> Converted {
    let variables = Variables::new(root, options);
    let document = variables.tree(root, 0);
    let mut compiler = Compiler {
        file: options.file_name.clone(),
        stage: variables.stage.clone(),
        problems: Vec::new(),
        resources: Vec::new(),
        origins: BTreeMap::new(),
    };
    compiler.service(&document);
    let Compiler {
        problems: mut own,
        resources,
        origins,
        ..
    } = compiler;
    let mut sections = vec![Entry {
        key: "Resources".to_owned(),
        at: root.at,
        node: Node::new(root.at, Value::Map(resources)),
    }];
    for section in ["Conditions", "Mappings", "Parameters"] {
        if let Some(entry) = document.get("resources").and_then(|r| r.entry(section)) {
            sections.push(entry.clone());
        }
    }
    let template = Node::new(root.at, Value::Map(sections));
    let mut converted = cloudformation::convert(&template, options, &origins);
    own.append(&mut converted.problems);
    converted.problems = own;
    converted
}

/// One `websocket` event.
struct WebsocketEvent {
    function_key: String,
    route: String,
    route_response_selection_expression: Option<String>,
    authorizer: Option<Authorizer>,
    /// `functions.KEY.events[I].websocket`.
    path: String,
    at: Position,
}

/// The `authorizer` of a `$connect` event.
struct Authorizer {
    /// A function of the service, or a Lambda ARN.
    target: AuthorizerTarget,
    /// The authorizer's name (its logical id is derived from it).
    name: String,
    identity_source: Vec<String>,
}

enum AuthorizerTarget {
    Function(String),
    Arn(String),
}

struct Compiler {
    file: String,
    stage: String,
    problems: Vec<Problem>,
    resources: Vec<Entry>,
    /// Compiled logical id → the `serverless.yml` key it comes from.
    origins: BTreeMap<String, String>,
}

impl Compiler {
    fn report(&mut self, at: Position, path: &str, message: String, severity: Severity) {
        self.problems
            .push(problem(&self.file, at, path, message, severity));
    }

    /// A string setting; an unresolved variable in it is an error.
    fn text(&mut self, node: Option<&Entry>, path: &str) -> Option<String> {
        let entry = node?;
        if is_unresolved(&entry.node) {
            let message = entry
                .node
                .get(super::intrinsics::UNRESOLVED)
                .and_then(Node::as_str)
                .unwrap_or("unresolved variable")
                .to_owned();
            self.report(entry.at, path, message, Severity::Error);
            return None;
        }
        match entry.node.scalar_text() {
            Some(text) => Some(text),
            None => {
                self.report(
                    entry.at,
                    path,
                    format!("{path} must be a string, not {}", entry.node.kind()),
                    Severity::Error,
                );
                None
            }
        }
    }

    fn add(&mut self, id: &str, origin: &str, at: Position, kind: &str, properties: Node) {
        self.origins.insert(id.to_owned(), origin.to_owned());
        self.resources.push(Entry {
            key: id.to_owned(),
            at,
            node: Node::map(
                at,
                vec![("Type", Node::str(at, kind)), ("Properties", properties)],
            ),
        });
    }

    fn service(&mut self, doc: &Node) {
        let service = match doc.get("service") {
            Some(node) if node.as_map().is_some() => self.text(node.entry("name"), "service.name"),
            _ => self.text(doc.entry("service"), "service"),
        }
        .unwrap_or_else(|| "service".to_owned());
        let empty = Node::new(doc.at, Value::Map(Vec::new()));
        let provider = doc.get("provider").unwrap_or(&empty).clone();
        if let Some(name) = self.text(provider.entry("name"), "provider.name") {
            if name != "aws" {
                self.report(
                    provider.at,
                    "provider.name",
                    format!("provider {name} is not AWS; only AWS WebSocket APIs are served"),
                    Severity::Error,
                );
                return;
            }
        }
        if let Some(logs) = provider.get("logs").and_then(|l| l.entry("websocket")) {
            self.report(
                logs.at,
                "provider.logs.websocket",
                "CloudWatch logs of the WebSocket API are not written; Switchboard logs to its \
                 own output (access logs: accessLogSettings in TOML)"
                    .to_owned(),
                Severity::Warning,
            );
        }
        if let Some(plugins) = doc.entry("plugins") {
            let names: Vec<String> = match &plugins.node.value {
                Value::List(items) => items.iter().filter_map(Node::scalar_text).collect(),
                _ => plugins
                    .node
                    .get("modules")
                    .and_then(Node::as_list)
                    .map(|l| l.iter().filter_map(Node::scalar_text).collect())
                    .unwrap_or_default(),
            };
            if !names.is_empty() {
                self.report(
                    plugins.at,
                    "plugins",
                    format!(
                        "plugins are not run ({}); the service is read as written",
                        names.join(", ")
                    ),
                    Severity::Warning,
                );
            }
        }
        let mut events = Vec::new();
        if let Some(functions) = doc.get("functions").and_then(Node::as_map) {
            for function in functions {
                self.function(&service, &provider, function, &mut events);
            }
        }
        if !events.is_empty() {
            self.api(&provider, &service, doc.at, &events);
        }
        if let Some(resources) = doc.get("resources") {
            self.user_resources(resources);
        }
    }

    /// One function: its `AWS::Serverless::Function` and its `websocket` events.
    fn function(
        &mut self,
        service: &str,
        provider: &Node,
        function: &Entry,
        events: &mut Vec<WebsocketEvent>,
    ) {
        let key = &function.key;
        let path = format!("functions.{key}");
        let node = &function.node;
        let at = function.at;
        let logical = format!("{}LambdaFunction", normalize(key));
        let name = self
            .text(node.entry("name"), &format!("{path}.name"))
            .unwrap_or_else(|| format!("{service}-{}-{key}", self.stage));
        let mut properties: Vec<(&str, Node)> = vec![("FunctionName", Node::str(at, name))];
        let setting = |key: &str| node.get(key).or_else(|| provider.get(key)).cloned();
        if let Some(handler) = node.get("handler") {
            properties.push(("Handler", handler.clone()));
        }
        match node.get("image") {
            Some(image) => properties.push(("ImageUri", image.clone())),
            None => {
                let code = node
                    .get("package")
                    .and_then(|p| p.get("artifact"))
                    .cloned()
                    .unwrap_or_else(|| Node::str(at, "."));
                properties.push(("CodeUri", code));
                if let Some(runtime) = setting("runtime") {
                    properties.push(("Runtime", runtime));
                }
            }
        }
        properties.push((
            "Timeout",
            setting("timeout").unwrap_or(Node::new(at, Value::Int(DEFAULT_TIMEOUT_SECONDS))),
        ));
        properties.push((
            "MemorySize",
            setting("memorySize").unwrap_or(Node::new(at, Value::Int(DEFAULT_MEMORY_MB))),
        ));
        if let Some(reserved) = node.get("reservedConcurrency") {
            properties.push(("ReservedConcurrentExecutions", reserved.clone()));
        }
        if let Some(architecture) = setting("architecture") {
            properties.push((
                "Architectures",
                Node::new(at, Value::List(vec![architecture])),
            ));
        }
        if let Some(layers) = setting("layers") {
            properties.push(("Layers", layers));
        }
        let mut variables = Vec::new();
        for source in [provider.get("environment"), node.get("environment")] {
            for entry in source.and_then(Node::as_map).unwrap_or_default() {
                variables.retain(|e: &Entry| e.key != entry.key);
                variables.push(entry.clone());
            }
        }
        if !variables.is_empty() {
            properties.push((
                "Environment",
                Node::map(
                    at,
                    vec![("Variables", Node::new(at, Value::Map(variables)))],
                ),
            ));
        }
        self.add(
            &logical,
            &path,
            at,
            "AWS::Serverless::Function",
            Node::map(at, properties),
        );

        let Some(list) = node.get("events").and_then(Node::as_list) else {
            return;
        };
        for (index, event) in list.iter().enumerate() {
            let event_path = format!("{path}.events[{index}]");
            let Some([entry]) = event.as_map() else {
                self.report(
                    event.at,
                    &event_path,
                    "an event must be a mapping of one event type".to_owned(),
                    Severity::Error,
                );
                continue;
            };
            if entry.key != "websocket" {
                let kind = &entry.key;
                let what = match kind.as_str() {
                    "http" => "creates a REST API, which is not served".to_owned(),
                    "httpApi" => "creates an HTTP API, which is not served".to_owned(),
                    _ => format!("the {kind} event source is not connected here"),
                };
                self.report(
                    entry.at,
                    &format!("{event_path}.{kind}"),
                    format!("{what}: only WebSocket routes invoke functions"),
                    Severity::Warning,
                );
                continue;
            }
            if let Some(event) =
                self.websocket_event(key, &format!("{event_path}.websocket"), entry)
            {
                events.push(event);
            }
        }
    }

    fn websocket_event(
        &mut self,
        function: &str,
        path: &str,
        entry: &Entry,
    ) -> Option<WebsocketEvent> {
        let at = entry.at;
        let node = &entry.node;
        let mut event = WebsocketEvent {
            function_key: function.to_owned(),
            route: String::new(),
            route_response_selection_expression: None,
            authorizer: None,
            path: path.to_owned(),
            at,
        };
        if node.as_map().is_none() {
            event.route = self.text(Some(entry), path)?;
            return Some(event);
        }
        for field in node.as_map().unwrap_or_default() {
            if !["route", "routeResponseSelectionExpression", "authorizer"]
                .contains(&field.key.as_str())
            {
                self.report(
                    field.at,
                    &format!("{path}.{}", field.key),
                    format!(
                        "{} is not a websocket event setting Switchboard knows; ignored",
                        field.key
                    ),
                    Severity::Warning,
                );
            }
        }
        event.route = match node.entry("route") {
            Some(route) => self.text(Some(route), &format!("{path}.route"))?,
            None => {
                self.report(
                    at,
                    path,
                    "a websocket event needs a route".to_owned(),
                    Severity::Error,
                );
                return None;
            }
        };
        event.route_response_selection_expression = self.text(
            node.entry("routeResponseSelectionExpression"),
            &format!("{path}.routeResponseSelectionExpression"),
        );
        if let Some(authorizer) = node.entry("authorizer") {
            let authorizer_path = format!("{path}.authorizer");
            if event.route != "$connect" {
                self.report(
                    authorizer.at,
                    &authorizer_path,
                    format!(
                        "an authorizer can only be set on the $connect route, not on {}",
                        event.route
                    ),
                    Severity::Error,
                );
                return None;
            }
            event.authorizer = self.authorizer(authorizer, &authorizer_path);
            event.authorizer.as_ref()?;
        }
        Some(event)
    }

    fn authorizer(&mut self, entry: &Entry, path: &str) -> Option<Authorizer> {
        let target = |reference: String| {
            if reference.starts_with("arn:") {
                let name = reference
                    .rsplit(':')
                    .next()
                    .unwrap_or("authorizer")
                    .to_owned();
                (AuthorizerTarget::Arn(reference), name)
            } else {
                (AuthorizerTarget::Function(reference.clone()), reference)
            }
        };
        if entry.node.as_map().is_none() {
            let (target, name) = target(self.text(Some(entry), path)?);
            return Some(Authorizer {
                target,
                name,
                identity_source: vec![DEFAULT_IDENTITY_SOURCE.to_owned()],
            });
        }
        let node = &entry.node;
        let by_arn = self.text(node.entry("arn"), &format!("{path}.arn"));
        let by_name = self.text(node.entry("name"), &format!("{path}.name"));
        let (target, derived) = match (&by_arn, &by_name) {
            (Some(arn), _) => target(arn.clone()),
            (None, Some(name)) => target(name.clone()),
            (None, None) => {
                self.report(
                    entry.at,
                    path,
                    "the authorizer needs a name (a function of this service) or an arn".to_owned(),
                    Severity::Error,
                );
                return None;
            }
        };
        let identity_source = match node.entry("identitySource") {
            None => vec![DEFAULT_IDENTITY_SOURCE.to_owned()],
            Some(source) => match &source.node.value {
                Value::List(items) => items.iter().filter_map(Node::scalar_text).collect(),
                _ => vec![self.text(Some(source), &format!("{path}.identitySource"))?],
            },
        };
        Some(Authorizer {
            target,
            name: by_name.unwrap_or(derived),
            identity_source,
        })
    }

    /// The API, its stage, and per event the integration, route, route response and authorizer.
    fn api(&mut self, provider: &Node, service: &str, at: Position, events: &[WebsocketEvent]) {
        let api_ref = || Node::map(at, vec![("Ref", Node::str(at, API_ID))]);
        let name = provider
            .get("websocketsApiName")
            .cloned()
            .unwrap_or_else(|| Node::str(at, format!("{}-{service}-websockets", self.stage)));
        let selection = provider
            .get("websocketsApiRouteSelectionExpression")
            .cloned()
            .unwrap_or_else(|| Node::str(at, DEFAULT_ROUTE_SELECTION));
        let description = provider
            .get("websocketsDescription")
            .cloned()
            .unwrap_or_else(|| Node::str(at, "Serverless Websockets"));
        self.add(
            API_ID,
            "provider (the service's WebSocket API)",
            at,
            "AWS::ApiGatewayV2::Api",
            Node::map(
                at,
                vec![
                    ("Name", name),
                    ("ProtocolType", Node::str(at, "WEBSOCKET")),
                    ("RouteSelectionExpression", selection),
                    ("Description", description),
                ],
            ),
        );
        self.add(
            "WebsocketsDeploymentStage",
            "provider.stage",
            at,
            "AWS::ApiGatewayV2::Stage",
            Node::map(
                at,
                vec![
                    ("ApiId", api_ref()),
                    ("StageName", Node::str(at, self.stage.clone())),
                ],
            ),
        );
        let mut integrations: BTreeMap<String, String> = BTreeMap::new();
        let mut authorizers: BTreeMap<String, String> = BTreeMap::new();
        let mut routes: BTreeMap<String, String> = BTreeMap::new();
        for event in events {
            let at = event.at;
            let integration = format!("{}WebsocketsIntegration", normalize(&event.function_key));
            if !integrations.contains_key(&integration) {
                let function = format!("{}LambdaFunction", normalize(&event.function_key));
                self.add(
                    &integration,
                    &format!("functions.{} (websocket events)", event.function_key),
                    at,
                    "AWS::ApiGatewayV2::Integration",
                    Node::map(
                        at,
                        vec![
                            ("ApiId", api_ref()),
                            ("IntegrationType", Node::str(at, "AWS_PROXY")),
                            (
                                "IntegrationUri",
                                invocation_uri(at, function_arn(at, &function)),
                            ),
                        ],
                    ),
                );
                integrations.insert(integration.clone(), event.function_key.clone());
            }
            let route_id = format!("{}WebsocketsRoute", normalize(&event.route));
            if let Some(first) = routes.get(&route_id) {
                self.report(
                    at,
                    &event.path,
                    format!("the route {} is already defined by {first}", event.route),
                    Severity::Error,
                );
                continue;
            }
            routes.insert(route_id.clone(), event.path.clone());
            let mut route = vec![
                ("ApiId", api_ref()),
                ("RouteKey", Node::str(at, event.route.clone())),
                ("AuthorizationType", Node::str(at, "NONE")),
                (
                    "Target",
                    join(
                        at,
                        "/",
                        vec![
                            Node::str(at, "integrations"),
                            Node::map(at, vec![("Ref", Node::str(at, integration.clone()))]),
                        ],
                    ),
                ),
            ];
            if let Some(expression) = &event.route_response_selection_expression {
                route.push((
                    "RouteResponseSelectionExpression",
                    Node::str(at, expression.clone()),
                ));
            }
            if let Some(authorizer) = &event.authorizer {
                let id = format!("{}WebsocketsAuthorizer", normalize(&authorizer.name));
                if !authorizers.contains_key(&id) {
                    let Some(uri) = self.authorizer_uri(at, authorizer, event) else {
                        continue;
                    };
                    let sources = authorizer
                        .identity_source
                        .iter()
                        .map(|s| Node::str(at, s.clone()))
                        .collect();
                    self.add(
                        &id,
                        &format!("{}.authorizer", event.path),
                        at,
                        "AWS::ApiGatewayV2::Authorizer",
                        Node::map(
                            at,
                            vec![
                                ("ApiId", api_ref()),
                                ("Name", Node::str(at, authorizer.name.clone())),
                                ("AuthorizerType", Node::str(at, "REQUEST")),
                                ("AuthorizerUri", uri),
                                ("IdentitySource", Node::new(at, Value::List(sources))),
                            ],
                        ),
                    );
                    authorizers.insert(id.clone(), event.path.clone());
                }
                route[2] = ("AuthorizationType", Node::str(at, "CUSTOM"));
                route.push((
                    "AuthorizerId",
                    Node::map(at, vec![("Ref", Node::str(at, id))]),
                ));
            }
            self.add(
                &route_id,
                &event.path,
                at,
                "AWS::ApiGatewayV2::Route",
                Node::map(at, route),
            );
            if event.route_response_selection_expression.is_some() {
                self.add(
                    &format!("{}WebsocketsRouteResponse", normalize(&event.route)),
                    &format!("{}.routeResponseSelectionExpression", event.path),
                    at,
                    "AWS::ApiGatewayV2::RouteResponse",
                    Node::map(
                        at,
                        vec![
                            ("ApiId", api_ref()),
                            (
                                "RouteId",
                                Node::map(at, vec![("Ref", Node::str(at, route_id.clone()))]),
                            ),
                            ("RouteResponseKey", Node::str(at, "$default")),
                        ],
                    ),
                );
            }
        }
    }

    fn authorizer_uri(
        &mut self,
        at: Position,
        authorizer: &Authorizer,
        event: &WebsocketEvent,
    ) -> Option<Node> {
        match &authorizer.target {
            AuthorizerTarget::Arn(arn) => Some(invocation_uri(at, Node::str(at, arn.clone()))),
            AuthorizerTarget::Function(name) => {
                let logical = format!("{}LambdaFunction", normalize(name));
                if !self.origins.contains_key(&logical) {
                    self.report(
                        at,
                        &format!("{}.authorizer", event.path),
                        format!("the authorizer {name} is not a function of this service"),
                        Severity::Error,
                    );
                    return None;
                }
                Some(invocation_uri(at, function_arn(at, &logical)))
            }
        }
    }

    /// `resources`: CloudFormation resources, merged over compiled ones with the same logical
    /// id (their properties win), as the framework does; `extensions` likewise.
    fn user_resources(&mut self, resources: &Node) {
        let blocks: Vec<&Node> = match &resources.value {
            Value::List(items) => items.iter().collect(),
            _ => vec![resources],
        };
        for block in blocks {
            for section in ["Resources", "extensions"] {
                let Some(entries) = block.get(section).and_then(Node::as_map) else {
                    continue;
                };
                for entry in entries {
                    match self.resources.iter_mut().find(|r| r.key == entry.key) {
                        Some(existing) => {
                            existing.node = merge(&existing.node, &entry.node);
                        }
                        None if section == "Resources" => self.resources.push(entry.clone()),
                        None => self.report(
                            entry.at,
                            &format!("resources.extensions.{}", entry.key),
                            format!(
                                "extensions.{} extends no resource of the service",
                                entry.key
                            ),
                            Severity::Error,
                        ),
                    }
                }
            }
        }
    }
}

/// `base` with `over` merged in, mappings key by key (`over` wins).
fn merge(base: &Node, over: &Node) -> Node {
    match (base.as_map(), over.as_map()) {
        (Some(base_entries), Some(over_entries)) => {
            let mut out: Vec<Entry> = base_entries.to_vec();
            for entry in over_entries {
                match out.iter_mut().find(|e| e.key == entry.key) {
                    Some(existing) => existing.node = merge(&existing.node, &entry.node),
                    None => out.push(entry.clone()),
                }
            }
            Node::new(over.at, Value::Map(out))
        }
        _ => over.clone(),
    }
}

/// `Fn::GetAtt [LOGICAL, Arn]`.
fn function_arn(at: Position, logical: &str) -> Node {
    Node::map(
        at,
        vec![(
            "Fn::GetAtt",
            Node::new(
                at,
                Value::List(vec![Node::str(at, logical), Node::str(at, "Arn")]),
            ),
        )],
    )
}

/// `arn:PARTITION:apigateway:REGION:lambda:path/2015-03-31/functions/ARN/invocations`.
fn invocation_uri(at: Position, arn: Node) -> Node {
    let reference = |name: &str| Node::map(at, vec![("Ref", Node::str(at, name))]);
    join(
        at,
        "",
        vec![
            Node::str(at, "arn:"),
            reference("AWS::Partition"),
            Node::str(at, ":apigateway:"),
            reference("AWS::Region"),
            Node::str(at, ":lambda:path/2015-03-31/functions/"),
            arn,
            Node::str(at, "/invocations"),
        ],
    )
}

/// `{"Fn::Join": [separator, parts]}`.
fn join(at: Position, separator: &str, parts: Vec<Node>) -> Node {
    let list = |items| Node::new(at, Value::List(items));
    Node::map(
        at,
        vec![(
            "Fn::Join",
            list(vec![Node::str(at, separator), list(parts)]),
        )],
    )
}

/// The framework's normalisation of names into logical ids: first letter upper-case, `-` →
/// `Dash`, `_` → `Underscore`, `$` → `S`, other punctuation dropped.
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        match c {
            '-' => out.push_str("Dash"),
            '_' => out.push_str("Underscore"),
            '$' => out.push('S'),
            '.' => out.push_str("Dot"),
            '/' => out.push_str("Slash"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    let mut chars = out.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => "Route".to_owned(),
    }
}
