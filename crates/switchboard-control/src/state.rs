//! What the control plane holds: every API with its resources, as the wire objects the
//! apigatewayv2 API returns. This is also the stored form (`control-plane.json`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A wire object: the camelCase fields of one resource.
pub type Object = Map<String, Value>;

/// Every API made over the control plane, by `apiId`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlState {
    /// APIs by id.
    #[serde(default)]
    pub apis: BTreeMap<String, Api>,
    /// Bumped by every change; orders deployments and names the stored revision.
    #[serde(default)]
    pub revision: u64,
}

/// One WebSocket API and everything under it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Api {
    /// The API's own fields (`name`, `routeSelectionExpression`, `tags`, ...).
    pub body: Object,
    /// Routes by `routeId`, each with its route responses.
    #[serde(default)]
    pub routes: BTreeMap<String, Child>,
    /// Integrations by `integrationId`, each with its integration responses.
    #[serde(default)]
    pub integrations: BTreeMap<String, Child>,
    /// Authorizers by `authorizerId`.
    #[serde(default)]
    pub authorizers: BTreeMap<String, Object>,
    /// Models by `modelId`.
    #[serde(default)]
    pub models: BTreeMap<String, Object>,
    /// Stages by `stageName`.
    #[serde(default)]
    pub stages: BTreeMap<String, Object>,
    /// Deployments by `deploymentId`.
    #[serde(default)]
    pub deployments: BTreeMap<String, Deployment>,
}

/// A resource with resources of its own (a route's responses, an integration's responses).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Child {
    /// The resource's fields.
    pub body: Object,
    /// Its responses by id.
    #[serde(default)]
    pub responses: BTreeMap<String, Object>,
}

/// A deployment: what the API's routes, integrations, authorizers and models were when it was
/// made. A stage pointing at it serves that snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// The wire fields (`deploymentId`, `createdDate`, `autoDeployed`, ...).
    pub body: Object,
    /// The revision it was made at: the newest deployment in use wins.
    pub revision: u64,
    /// The API as the configuration model reads it, without stages.
    pub snapshot: Object,
}
