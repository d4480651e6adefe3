//! `AWS::ApiGatewayV2::*` resources → `[apis.ID]` tables. The API's id is its logical id; an
//! integration, authorizer or route is keyed by what `Ref` of it returns here (its logical id),
//! so `Target: !Join ['/', [integrations, !Ref ConnectInteg]]` names its table.

use super::{node_bool, Converter};
use crate::config::{
    ApiConfig, AuthorizerConfig, AuthorizerType, IntegrationConfig, IntegrationResponseConfig,
    IntegrationTlsConfig, ModelConfig, ProtocolType, RouteConfig, RouteRequestParameter,
    RouteResponseConfig, RouteSettings, StageConfig,
};
use crate::import::node::Node;
use crate::import::stack::Resource;
use std::collections::BTreeMap;

/// Properties of `AWS::ApiGatewayV2::Api` that only HTTP APIs use.
const HTTP_API_ONLY: &[&str] = &[
    "CorsConfiguration",
    "CredentialsArn",
    "RouteKey",
    "Target",
    "Body",
    "BodyS3Location",
    "BasePath",
    "FailOnWarnings",
];

/// The integration timeout AWS applies when `TimeoutInMillis` is absent.
const DEFAULT_TIMEOUT_MILLIS: u64 = 29_000;

impl Converter<'_> {
    pub(super) fn api(&mut self, r: &Resource) {
        let protocol = self.string(r, "ProtocolType");
        match protocol.as_deref() {
            Some("WEBSOCKET") => {}
            Some(other) => {
                self.warn(
                    r,
                    "ProtocolType",
                    format!(
                        "{other} APIs are not served (Switchboard serves WebSocket APIs); {} and \
                         its routes, integrations and stages are skipped",
                        r.id
                    ),
                );
                self.skipped_apis.insert(r.id.clone());
                return;
            }
            None => {
                if r.property("ProtocolType").is_none() {
                    self.error(
                        r,
                        "ProtocolType",
                        "AWS::ApiGatewayV2::Api needs ProtocolType",
                    );
                }
                self.skipped_apis.insert(r.id.clone());
                return;
            }
        }
        let Some(route_selection_expression) = self.required_string(r, "RouteSelectionExpression")
        else {
            self.skipped_apis.insert(r.id.clone());
            return;
        };
        for name in HTTP_API_ONLY {
            if r.property(name).is_some() {
                self.warn(
                    r,
                    name,
                    format!("{name} applies to HTTP APIs only; ignored for this WebSocket API"),
                );
            }
        }
        let api = ApiConfig {
            name: self.string(r, "Name"),
            protocol_type: Some(ProtocolType::Websocket),
            route_selection_expression,
            api_key_selection_expression: self.string(r, "ApiKeySelectionExpression"),
            description: self.string(r, "Description"),
            tags: self.tags(r, "Tags"),
            version: self.string(r, "Version"),
            disable_execute_api_endpoint: self
                .boolean(r, "DisableExecuteApiEndpoint")
                .unwrap_or(false),
            disable_schema_validation: self.boolean(r, "DisableSchemaValidation").unwrap_or(false),
            ip_address_type: self.string(r, "IpAddressType"),
            stages: BTreeMap::new(),
            integrations: BTreeMap::new(),
            routes: BTreeMap::new(),
            authorizers: BTreeMap::new(),
            models: BTreeMap::new(),
            deployments: BTreeMap::new(),
        };
        self.leftovers(r, &[]);
        self.origin(&["apis", &r.id], r);
        self.apis.insert(r.id.clone(), api);
    }

    pub(super) fn stage(&mut self, r: &Resource) {
        let Some(api) = self.api_of(r) else { return };
        let Some(name) = self.required_string(r, "StageName") else {
            return;
        };
        if self.apis[&api].stages.contains_key(&name) {
            self.error(
                r,
                "StageName",
                format!("API {api} has two stages named {name}"),
            );
            return;
        }
        let default_route_settings = match self.prop(r, "DefaultRouteSettings") {
            Some(node) => self.route_settings(r, "DefaultRouteSettings", &node),
            None => RouteSettings::default(),
        };
        let mut route_settings = BTreeMap::new();
        if let Some(node) = self.prop(r, "RouteSettings") {
            match node.as_map() {
                Some(entries) => {
                    for entry in entries {
                        let settings = self.route_settings(r, "RouteSettings", &entry.node);
                        route_settings.insert(entry.key.clone(), settings);
                    }
                }
                None => self.error(
                    r,
                    "RouteSettings",
                    format!(
                        "RouteSettings must map route keys to settings, not {}",
                        node.kind()
                    ),
                ),
            }
        }
        let access_log_settings = match self.prop(r, "AccessLogSettings") {
            None => None,
            Some(node) => {
                let format = field(&node, "Format").and_then(|n| n.scalar_text());
                let destination_arn = field(&node, "DestinationArn").and_then(|n| n.scalar_text());
                match format {
                    Some(format) => Some(crate::config::AccessLogSettings {
                        format,
                        destination: "stdout".to_owned(),
                        destination_arn,
                    }),
                    None => {
                        self.warn(
                            r,
                            "AccessLogSettings",
                            "AccessLogSettings without a Format writes nothing; ignored",
                        );
                        None
                    }
                }
            }
        };
        if r.property("AccessPolicyId").is_some() {
            self.warn(
                r,
                "AccessPolicyId",
                "AccessPolicyId (access logs delivered through CloudWatch) is not used here",
            );
        }
        let stage = StageConfig {
            stage_name: Some(name.clone()),
            stage_variables: self.string_map(r, "StageVariables"),
            default_route_settings,
            route_settings,
            access_log_settings,
            limits: Default::default(),
            pushes_during_connect: false,
            event_extensions: false,
            description: self.string(r, "Description"),
            tags: self.tags(r, "Tags"),
            auto_deploy: self.boolean(r, "AutoDeploy").unwrap_or(false),
            deployment_id: self.string(r, "DeploymentId"),
            client_certificate_id: self.string(r, "ClientCertificateId"),
        };
        self.leftovers(r, &["ApiId"]);
        self.origin(&["apis", &api, "stages", &name], r);
        if let Some(api) = self.apis.get_mut(&api) {
            api.stages.insert(name, stage);
        }
    }

    /// `DefaultRouteSettings` or one value of `RouteSettings` (PascalCase, as CloudFormation
    /// writes them; the camelCase of the JSON API is accepted too).
    fn route_settings(&mut self, r: &Resource, property: &str, node: &Node) -> RouteSettings {
        let mut settings = RouteSettings::default();
        let Some(entries) = node.as_map() else {
            self.error(
                r,
                property,
                format!("{property} must be a mapping, not {}", node.kind()),
            );
            return settings;
        };
        for entry in entries {
            let value = &entry.node;
            let bad = |what: &str| format!("{property}.{} must be {what}", entry.key);
            let mut problem = None;
            match entry.key.to_ascii_lowercase().as_str() {
                "throttlingburstlimit" => match value.scalar_text().and_then(|t| t.parse().ok()) {
                    Some(n) => settings.throttling_burst_limit = Some(n),
                    None => problem = Some(bad("a whole number")),
                },
                "throttlingratelimit" => match value.scalar_text().and_then(|t| t.parse().ok()) {
                    Some(n) => settings.throttling_rate_limit = Some(n),
                    None => problem = Some(bad("a number")),
                },
                "logginglevel" => match value.scalar_text().map(|t| super::parse_enum(&t)) {
                    Some(Ok(level)) => settings.logging_level = Some(level),
                    _ => problem = Some(bad("ERROR, INFO or OFF")),
                },
                "datatraceenabled" => match node_bool(value) {
                    Some(b) => settings.data_trace_enabled = Some(b),
                    None => problem = Some(bad("true or false")),
                },
                "detailedmetricsenabled" => match node_bool(value) {
                    Some(b) => settings.detailed_metrics_enabled = Some(b),
                    None => problem = Some(bad("true or false")),
                },
                _ => {
                    self.warn(
                        r,
                        property,
                        format!("{property}.{} is not a route setting; ignored", entry.key),
                    );
                }
            }
            if let Some(message) = problem {
                self.error(r, property, message);
            }
        }
        settings
    }

    pub(super) fn deployment(&mut self, r: &Resource) {
        // A deployment only makes AWS serve what is declared; here the file is what is served.
        if self.api_of(r).is_none() {
            return;
        }
        self.leftovers(r, &["Description", "StageName"]);
    }

    pub(super) fn integration(&mut self, r: &Resource) {
        let Some(api) = self.api_of(r) else { return };
        let Some(integration_type) = self.enumeration(r, "IntegrationType") else {
            if r.property("IntegrationType").is_none() {
                self.error(
                    r,
                    "IntegrationType",
                    "AWS::ApiGatewayV2::Integration needs IntegrationType",
                );
            }
            return;
        };
        if r.property("ResponseParameters").is_some() {
            self.warn(
                r,
                "ResponseParameters",
                "ResponseParameters of an integration apply to HTTP APIs only; ignored (use \
                 IntegrationResponse resources)",
            );
        }
        let tls_config = self.prop(r, "TlsConfig").map(|node| IntegrationTlsConfig {
            server_name_to_verify: field(&node, "ServerNameToVerify").and_then(|n| n.scalar_text()),
        });
        let integration = IntegrationConfig {
            integration_type,
            integration_uri: self.string(r, "IntegrationUri"),
            integration_method: self.string(r, "IntegrationMethod"),
            timeout_in_millis: self
                .integer(r, "TimeoutInMillis")
                .unwrap_or(DEFAULT_TIMEOUT_MILLIS),
            request_parameters: self.string_map(r, "RequestParameters"),
            request_templates: self.string_map(r, "RequestTemplates"),
            template_selection_expression: self.string(r, "TemplateSelectionExpression"),
            passthrough_behavior: self.enumeration(r, "PassthroughBehavior"),
            content_handling_strategy: self.enumeration(r, "ContentHandlingStrategy"),
            integration_responses: BTreeMap::new(),
            credentials: None,
            description: self.string(r, "Description"),
            connection_type: self.enumeration(r, "ConnectionType"),
            connection_id: self.string(r, "ConnectionId"),
            credentials_arn: self.string(r, "CredentialsArn"),
            payload_format_version: self.string(r, "PayloadFormatVersion"),
            integration_subtype: self.string(r, "IntegrationSubtype"),
            tls_config,
        };
        self.leftovers(r, &["ApiId"]);
        self.origin(&["apis", &api, "integrations", &r.id], r);
        if let Some(api) = self.apis.get_mut(&api) {
            api.integrations.insert(r.id.clone(), integration);
        }
    }

    pub(super) fn integration_response(&mut self, r: &Resource) {
        let Some(api) = self.api_of(r) else { return };
        let Some(integration) = self.required_string(r, "IntegrationId") else {
            return;
        };
        let Some(key) = self.required_string(r, "IntegrationResponseKey") else {
            return;
        };
        if !self.apis[&api].integrations.contains_key(&integration) {
            self.error(
                r,
                "IntegrationId",
                format!("IntegrationId `{integration}` is not an integration of API {api}"),
            );
            return;
        }
        let response = IntegrationResponseConfig {
            integration_response_key: Some(key.clone()),
            response_parameters: self.string_map(r, "ResponseParameters"),
            response_templates: self.string_map(r, "ResponseTemplates"),
            template_selection_expression: self.string(r, "TemplateSelectionExpression"),
            content_handling_strategy: self.enumeration(r, "ContentHandlingStrategy"),
        };
        self.leftovers(r, &["ApiId"]);
        let Some(api_config) = self.apis.get_mut(&api) else {
            return;
        };
        let Some(target) = api_config.integrations.get_mut(&integration) else {
            return;
        };
        if target.integration_responses.contains_key(&key) {
            self.error(
                r,
                "IntegrationResponseKey",
                format!("integration {integration} has two responses keyed {key}"),
            );
            return;
        }
        target.integration_responses.insert(key.clone(), response);
        self.origin(
            &[
                "apis",
                &api,
                "integrations",
                &integration,
                "integrationResponses",
                &key,
            ],
            r,
        );
    }

    pub(super) fn route(&mut self, r: &Resource) {
        let Some(api) = self.api_of(r) else { return };
        let Some(key) = self.required_string(r, "RouteKey") else {
            return;
        };
        if self.apis[&api].routes.contains_key(&key) {
            self.error(
                r,
                "RouteKey",
                format!("API {api} has two routes keyed {key}"),
            );
            return;
        }
        let request_parameters = self.parameter_constraints(r, "RequestParameters");
        let route = RouteConfig {
            route_key: Some(key.clone()),
            operation_name: self.string(r, "OperationName"),
            authorization_scopes: self.string_list(r, "AuthorizationScopes"),
            route_responses: BTreeMap::new(),
            target: self.string(r, "Target"),
            route_response_selection_expression: self.string(r, "RouteResponseSelectionExpression"),
            authorization_type: self.enumeration(r, "AuthorizationType"),
            authorizer_id: self.string(r, "AuthorizerId"),
            api_key_required: self.boolean(r, "ApiKeyRequired").unwrap_or(false),
            request_parameters,
            model_selection_expression: self.string(r, "ModelSelectionExpression"),
            request_models: self.string_map(r, "RequestModels"),
        };
        self.leftovers(r, &["ApiId"]);
        self.origin(&["apis", &api, "routes", &key], r);
        self.routes.insert(r.id.clone(), (api.clone(), key.clone()));
        if let Some(api) = self.apis.get_mut(&api) {
            api.routes.insert(key, route);
        }
    }

    pub(super) fn route_response(&mut self, r: &Resource) {
        let Some(api) = self.api_of(r) else { return };
        let Some(route_id) = self.required_string(r, "RouteId") else {
            return;
        };
        let Some(key) = self.required_string(r, "RouteResponseKey") else {
            return;
        };
        let route_key = match self.routes.get(&route_id) {
            Some((route_api, route_key)) if *route_api == api => route_key.clone(),
            _ => {
                self.error(
                    r,
                    "RouteId",
                    format!("RouteId `{route_id}` is not a route of API {api}"),
                );
                return;
            }
        };
        let response = RouteResponseConfig {
            route_response_key: Some(key.clone()),
            model_selection_expression: self.string(r, "ModelSelectionExpression"),
            response_models: self.string_map(r, "ResponseModels"),
            response_parameters: self.parameter_constraints(r, "ResponseParameters"),
        };
        self.leftovers(r, &["ApiId"]);
        let Some(route) = self
            .apis
            .get_mut(&api)
            .and_then(|a| a.routes.get_mut(&route_key))
        else {
            return;
        };
        if route.route_responses.contains_key(&key) {
            self.error(
                r,
                "RouteResponseKey",
                format!("route {route_key} has two responses keyed {key}"),
            );
            return;
        }
        route.route_responses.insert(key.clone(), response);
        self.origin(
            &["apis", &api, "routes", &route_key, "routeResponses", &key],
            r,
        );
    }

    /// `RequestParameters` of a route, `ResponseParameters` of a route response:
    /// `{"route.request.header.x": {"Required": true}}`.
    fn parameter_constraints(
        &mut self,
        r: &Resource,
        name: &str,
    ) -> BTreeMap<String, RouteRequestParameter> {
        let mut out = BTreeMap::new();
        let Some(node) = self.prop(r, name) else {
            return out;
        };
        let Some(entries) = node.as_map() else {
            self.error(
                r,
                name,
                format!("{name} must be a mapping, not {}", node.kind()),
            );
            return out;
        };
        for entry in entries {
            let required = match field(&entry.node, "Required") {
                None => Some(false),
                Some(value) => node_bool(value),
            };
            match required {
                Some(required) => {
                    out.insert(entry.key.clone(), RouteRequestParameter { required });
                }
                None => self.error(
                    r,
                    name,
                    format!("{name}.{}.Required must be true or false", entry.key),
                ),
            }
        }
        out
    }

    pub(super) fn authorizer(&mut self, r: &Resource) {
        let Some(api) = self.api_of(r) else { return };
        let Some(kind) = self.required_string(r, "AuthorizerType") else {
            return;
        };
        let authorizer_type = match kind.as_str() {
            "REQUEST" => AuthorizerType::Request,
            "JWT" => {
                self.error(
                    r,
                    "AuthorizerType",
                    "JWT authorizers exist for HTTP APIs only; AWS refuses them on a WebSocket \
                     API (Switchboard's own JWT authorizer is configured in TOML)",
                );
                return;
            }
            other => {
                self.error(
                    r,
                    "AuthorizerType",
                    format!("AuthorizerType {other} is not one of REQUEST (WebSocket APIs)"),
                );
                return;
            }
        };
        if r.property("AuthorizerResultTtlInSeconds").is_some() {
            self.warn(
                r,
                "AuthorizerResultTtlInSeconds",
                "AWS refuses AuthorizerResultTtlInSeconds on WebSocket APIs (their authorizer \
                 runs on every $connect); not converted",
            );
        }
        if r.property("JwtConfiguration").is_some() {
            self.warn(
                r,
                "JwtConfiguration",
                "JwtConfiguration applies to JWT authorizers; ignored",
            );
        }
        let authorizer = AuthorizerConfig {
            authorizer_type,
            authorizer_uri: self.string(r, "AuthorizerUri"),
            identity_source: self.string_list(r, "IdentitySource"),
            jwt_configuration: None,
            name: self.string(r, "Name"),
            authorizer_result_ttl_in_seconds: None,
            authorizer_credentials_arn: self.string(r, "AuthorizerCredentialsArn"),
            authorizer_payload_format_version: self.string(r, "AuthorizerPayloadFormatVersion"),
            enable_simple_responses: self.boolean(r, "EnableSimpleResponses").unwrap_or(false),
            identity_validation_expression: self.string(r, "IdentityValidationExpression"),
        };
        self.leftovers(r, &["ApiId"]);
        self.origin(&["apis", &api, "authorizers", &r.id], r);
        if let Some(api) = self.apis.get_mut(&api) {
            api.authorizers.insert(r.id.clone(), authorizer);
        }
    }

    pub(super) fn model(&mut self, r: &Resource) {
        let Some(api) = self.api_of(r) else { return };
        let Some(name) = self.required_string(r, "Name") else {
            return;
        };
        let schema = match self.prop(r, "Schema") {
            None => {
                self.error(r, "Schema", "AWS::ApiGatewayV2::Model needs Schema");
                return;
            }
            Some(node) => match node.as_str() {
                Some(text) => text.to_owned(),
                None => node.to_json().to_string(),
            },
        };
        let model = ModelConfig {
            content_type: self.string(r, "ContentType"),
            schema,
        };
        // A description documents the model; it changes nothing.
        self.leftovers(r, &["ApiId", "Description"]);
        if self.apis[&api].models.contains_key(&name) {
            self.error(r, "Name", format!("API {api} has two models named {name}"));
            return;
        }
        self.origin(&["apis", &api, "models", &name], r);
        if let Some(api) = self.apis.get_mut(&api) {
            api.models.insert(name, model);
        }
    }
}

/// A field of a nested CloudFormation structure, PascalCase or camelCase.
fn field<'n>(node: &'n Node, pascal: &str) -> Option<&'n Node> {
    node.get(pascal).or_else(|| {
        let mut camel = pascal.to_owned();
        if let Some(first) = camel.get_mut(0..1) {
            first.make_ascii_lowercase();
        }
        node.get(&camel)
    })
}
