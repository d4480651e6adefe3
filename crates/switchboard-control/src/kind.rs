//! The resource kinds of a WebSocket API and their wire rules: id field, required fields, the
//! field that must be unique, the fields that exist only in the control plane (never in the
//! configuration model), and the defaults AWS reports.

use serde_json::{json, Value};

/// One kind of apigatewayv2 resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `CreateApi`.
    Api,
    /// `CreateRoute`.
    Route,
    /// `CreateRouteResponse`.
    RouteResponse,
    /// `CreateIntegration`.
    Integration,
    /// `CreateIntegrationResponse`.
    IntegrationResponse,
    /// `CreateAuthorizer`.
    Authorizer,
    /// `CreateModel`.
    Model,
    /// `CreateStage`.
    Stage,
    /// `CreateDeployment`.
    Deployment,
}

impl Kind {
    /// The field holding the resource's id.
    pub fn id_field(self) -> &'static str {
        match self {
            Kind::Api => "apiId",
            Kind::Route => "routeId",
            Kind::RouteResponse => "routeResponseId",
            Kind::Integration => "integrationId",
            Kind::IntegrationResponse => "integrationResponseId",
            Kind::Authorizer => "authorizerId",
            Kind::Model => "modelId",
            Kind::Stage => "stageName",
            Kind::Deployment => "deploymentId",
        }
    }

    /// Length of a generated id (stages are named by the caller).
    pub(crate) fn id_len(self) -> usize {
        match self {
            Kind::Api => 10,
            Kind::Route | Kind::Integration => 7,
            _ => 6,
        }
    }

    /// AWS's name of the resource type, as in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Api => "Api",
            Kind::Route => "Route",
            Kind::RouteResponse => "RouteResponse",
            Kind::Integration => "Integration",
            Kind::IntegrationResponse => "IntegrationResponse",
            Kind::Authorizer => "Authorizer",
            Kind::Model => "Model",
            Kind::Stage => "Stage",
            Kind::Deployment => "Deployment",
        }
    }

    /// Fields a create request must carry.
    pub(crate) fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Api => &["name", "protocolType", "routeSelectionExpression"],
            Kind::Route => &["routeKey"],
            Kind::RouteResponse => &["routeResponseKey"],
            Kind::Integration => &["integrationType"],
            Kind::IntegrationResponse => &["integrationResponseKey"],
            Kind::Authorizer => &["authorizerType", "name"],
            Kind::Model => &["name", "schema"],
            Kind::Stage => &["stageName"],
            Kind::Deployment => &[],
        }
    }

    /// The field no two resources of one collection may share (409 `ConflictException`).
    pub(crate) fn unique(self) -> Option<&'static str> {
        match self {
            Kind::Route => Some("routeKey"),
            Kind::RouteResponse => Some("routeResponseKey"),
            Kind::IntegrationResponse => Some("integrationResponseKey"),
            Kind::Model | Kind::Authorizer => Some("name"),
            Kind::Stage => Some("stageName"),
            _ => None,
        }
    }

    /// Fields set by the control plane, never by a caller; ignored in requests.
    pub(crate) fn output_only(self) -> &'static [&'static str] {
        match self {
            Kind::Api => &[
                "apiId",
                "apiEndpoint",
                "createdDate",
                "apiGatewayManaged",
                "warnings",
                "importInfo",
            ],
            Kind::Stage => &[
                "createdDate",
                "lastUpdatedDate",
                "apiGatewayManaged",
                "lastDeploymentStatusMessage",
            ],
            Kind::Deployment => &[
                "deploymentId",
                "createdDate",
                "deploymentStatus",
                "deploymentStatusMessage",
                "autoDeployed",
            ],
            Kind::Route => &["routeId", "apiGatewayManaged"],
            Kind::Integration => &["integrationId", "apiGatewayManaged"],
            Kind::RouteResponse => &["routeResponseId"],
            Kind::IntegrationResponse => &["integrationResponseId"],
            Kind::Authorizer => &["authorizerId"],
            Kind::Model => &["modelId"],
        }
    }

    /// Fields of the wire shape that the configuration model does not hold (output-only
    /// fields, and inputs of no effect on a WebSocket API here), left out of what is served.
    pub(crate) fn not_in_config(self) -> &'static [&'static str] {
        match self {
            Kind::Api => &[
                "apiId",
                "apiEndpoint",
                "createdDate",
                "apiGatewayManaged",
                "warnings",
                "importInfo",
            ],
            Kind::Integration => &[
                "integrationId",
                "apiGatewayManaged",
                "integrationResponseSelectionExpression",
                "responseParameters",
            ],
            Kind::Route => &["routeId", "apiGatewayManaged"],
            Kind::Model => &["modelId", "name", "description"],
            Kind::Stage => &[
                "createdDate",
                "lastUpdatedDate",
                "apiGatewayManaged",
                "lastDeploymentStatusMessage",
            ],
            other => other.output_only(),
        }
    }

    /// What AWS reports for fields a caller left out.
    pub(crate) fn defaults(self) -> Value {
        match self {
            Kind::Api => json!({
                "apiKeySelectionExpression": "$request.header.x-api-key",
                "disableExecuteApiEndpoint": false,
                "apiGatewayManaged": false,
            }),
            Kind::Route => json!({
                "apiKeyRequired": false,
                "authorizationType": "NONE",
                "apiGatewayManaged": false,
            }),
            Kind::Integration => json!({
                "connectionType": "INTERNET",
                "timeoutInMillis": 29000,
                "payloadFormatVersion": "1.0",
                "apiGatewayManaged": false,
            }),
            Kind::Stage => json!({
                "autoDeploy": false,
                "apiGatewayManaged": false,
                "defaultRouteSettings": {
                    "dataTraceEnabled": false,
                    "detailedMetricsEnabled": false,
                },
            }),
            _ => json!({}),
        }
    }
}

/// Where a resource lives: the collection a create adds to and a list reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collection {
    /// `/v2/apis`.
    Apis,
    /// `/v2/apis/{apiId}/routes`.
    Routes { api: String },
    /// `/v2/apis/{apiId}/routes/{routeId}/routeresponses`.
    RouteResponses { api: String, route: String },
    /// `/v2/apis/{apiId}/integrations`.
    Integrations { api: String },
    /// `/v2/apis/{apiId}/integrations/{integrationId}/integrationresponses`.
    IntegrationResponses { api: String, integration: String },
    /// `/v2/apis/{apiId}/authorizers`.
    Authorizers { api: String },
    /// `/v2/apis/{apiId}/models`.
    Models { api: String },
    /// `/v2/apis/{apiId}/stages`.
    Stages { api: String },
    /// `/v2/apis/{apiId}/deployments`.
    Deployments { api: String },
}

impl Collection {
    /// The kind of resource the collection holds.
    pub fn kind(&self) -> Kind {
        match self {
            Collection::Apis => Kind::Api,
            Collection::Routes { .. } => Kind::Route,
            Collection::RouteResponses { .. } => Kind::RouteResponse,
            Collection::Integrations { .. } => Kind::Integration,
            Collection::IntegrationResponses { .. } => Kind::IntegrationResponse,
            Collection::Authorizers { .. } => Kind::Authorizer,
            Collection::Models { .. } => Kind::Model,
            Collection::Stages { .. } => Kind::Stage,
            Collection::Deployments { .. } => Kind::Deployment,
        }
    }

    /// The API the collection belongs to (none for `/v2/apis` itself).
    pub fn api(&self) -> Option<&str> {
        match self {
            Collection::Apis => None,
            Collection::Routes { api }
            | Collection::RouteResponses { api, .. }
            | Collection::Integrations { api }
            | Collection::IntegrationResponses { api, .. }
            | Collection::Authorizers { api }
            | Collection::Models { api }
            | Collection::Stages { api }
            | Collection::Deployments { api } => Some(api),
        }
    }
}
