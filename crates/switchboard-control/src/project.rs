//! From the control plane's resources to the configuration model: what a deployment captures
//! and what the stages serve. The typed APIs come out of the model's own serde derives (unknown
//! fields refused, as in a file) and are checked by the model's validator: one code path for the
//! file and the control plane.

use crate::kind::Kind;
use crate::state::{Api, ControlState, Deployment, Object};
use crate::ControlError;
use serde_json::Value;
use std::collections::BTreeMap;
use switchboard_core::config::{
    ApiConfig, AuthorizerConfig, Config, IntegrationConfig, IntegrationResponseConfig, ModelConfig,
    RouteConfig, RouteResponseConfig, StageConfig,
};

/// `body` without the fields the configuration model does not hold.
pub(crate) fn config_fields(kind: Kind, body: &Object) -> Object {
    let mut out = body.clone();
    for field in kind.not_in_config() {
        out.shift_remove(*field);
    }
    out.retain(|_, v| !v.is_null());
    out
}

/// Checks one resource against its configuration table, as a file's would be: the types and
/// values of every field, and no field the model does not know.
pub(crate) fn check_resource(kind: Kind, body: &Object) -> Result<(), ControlError> {
    let value = Value::Object(config_fields(kind, body));
    let result = match kind {
        Kind::Api => serde_json::from_value::<ApiConfig>(value).map(drop),
        Kind::Route => serde_json::from_value::<RouteConfig>(value).map(drop),
        Kind::RouteResponse => serde_json::from_value::<RouteResponseConfig>(value).map(drop),
        Kind::Integration => serde_json::from_value::<IntegrationConfig>(value).map(drop),
        Kind::IntegrationResponse => {
            serde_json::from_value::<IntegrationResponseConfig>(value).map(drop)
        }
        Kind::Authorizer => serde_json::from_value::<AuthorizerConfig>(value).map(drop),
        Kind::Model => serde_json::from_value::<ModelConfig>(value).map(drop),
        Kind::Stage => serde_json::from_value::<StageConfig>(value).map(drop),
        Kind::Deployment => Ok(()),
    };
    result.map_err(|e| ControlError::BadRequest(format!("Invalid {}: {e}", kind.name())))
}

/// The API's routes, integrations, authorizers and models now, as `[apis.ID]` reads them
/// (without stages): what a deployment captures.
pub(crate) fn snapshot(api: &Api) -> Object {
    let mut out = config_fields(Kind::Api, &api.body);
    let text = |o: &Object, field: &str| {
        o.get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let mut routes = Object::new();
    for route in api.routes.values() {
        let mut body = config_fields(Kind::Route, &route.body);
        let responses: Object = route
            .responses
            .values()
            .map(|r| {
                (
                    text(r, "routeResponseKey"),
                    Value::Object(config_fields(Kind::RouteResponse, r)),
                )
            })
            .collect();
        if !responses.is_empty() {
            body.insert("routeResponses".into(), Value::Object(responses));
        }
        routes.insert(text(&route.body, "routeKey"), Value::Object(body));
    }
    let mut integrations = Object::new();
    for (id, integration) in &api.integrations {
        let mut body = config_fields(Kind::Integration, &integration.body);
        let responses: Object = integration
            .responses
            .values()
            .map(|r| {
                (
                    text(r, "integrationResponseKey"),
                    Value::Object(config_fields(Kind::IntegrationResponse, r)),
                )
            })
            .collect();
        if !responses.is_empty() {
            body.insert("integrationResponses".into(), Value::Object(responses));
        }
        integrations.insert(id.clone(), Value::Object(body));
    }
    let authorizers: Object = api
        .authorizers
        .iter()
        .map(|(id, a)| {
            (
                id.clone(),
                Value::Object(config_fields(Kind::Authorizer, a)),
            )
        })
        .collect();
    let models: Object = api
        .models
        .values()
        .map(|m| {
            (
                text(m, "name"),
                Value::Object(config_fields(Kind::Model, m)),
            )
        })
        .collect();
    for (key, table) in [
        ("routes", routes),
        ("integrations", integrations),
        ("authorizers", authorizers),
        ("models", models),
    ] {
        if !table.is_empty() {
            out.insert(key.into(), Value::Object(table));
        }
    }
    out
}

/// What one API serves, in the configuration model's JSON shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedApi {
    /// The API as `[apis.ID]` reads it: the snapshot of the newest deployment a stage points
    /// at, with every stage that points at a deployment (each naming it by `deploymentId`).
    pub api: Object,
    /// The snapshot of every deployment a stage points at, by deployment id: what each stage
    /// serves (`ApiConfig::deployment_of`).
    pub deployments: BTreeMap<String, Object>,
}

impl ServedApi {
    /// Each deployment in use as the stages pointing at it serve it: its snapshot with those
    /// stages, as `[apis.ID]` would read it (what the file's validator checks).
    fn per_deployment(&self) -> impl Iterator<Item = Object> + '_ {
        let stages = self
            .api
            .get("stages")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        self.deployments.iter().map(move |(id, snapshot)| {
            let own: Object = stages
                .iter()
                .filter(|(_, stage)| {
                    stage.get("deploymentId").and_then(Value::as_str) == Some(id.as_str())
                })
                .map(|(name, stage)| (name.clone(), stage.clone()))
                .collect();
            let mut out = snapshot.clone();
            out.insert("stages".into(), Value::Object(own));
            out
        })
    }
}

/// What the API serves: every stage that points at a deployment, each serving that
/// deployment's snapshot. `None` while no stage has one (nothing to connect to).
pub(crate) fn served_api(api: &Api) -> Option<ServedApi> {
    let deployed = |stage: &Object| {
        stage
            .get("deploymentId")
            .and_then(Value::as_str)
            .and_then(|id| api.deployments.get_key_value(id))
    };
    let in_use: BTreeMap<&String, &Deployment> = api.stages.values().filter_map(deployed).collect();
    let newest = in_use.values().max_by_key(|d| d.revision)?;
    let mut out = newest.snapshot.clone();
    let stages: Object = api
        .stages
        .iter()
        .filter(|(_, stage)| deployed(stage).is_some())
        .map(|(name, stage)| {
            (
                name.clone(),
                Value::Object(config_fields(Kind::Stage, stage)),
            )
        })
        .collect();
    out.insert("stages".into(), Value::Object(stages));
    Some(ServedApi {
        api: out,
        deployments: in_use
            .into_iter()
            .map(|(id, d)| (id.clone(), d.snapshot.clone()))
            .collect(),
    })
}

/// Every served API in the configuration model's JSON shape (what changes exactly when what
/// is served changes).
pub fn served_json(state: &ControlState) -> BTreeMap<String, ServedApi> {
    state
        .apis
        .iter()
        .filter_map(|(id, api)| served_api(api).map(|o| (id.clone(), o)))
        .collect()
}

/// Every served API, typed, each with the deployments its stages serve. An API the model
/// refuses (possible only for a store written by another version) is reported with its id.
pub fn served(state: &ControlState) -> Result<BTreeMap<String, ApiConfig>, (String, String)> {
    served_json(state)
        .into_iter()
        .map(|(id, served)| match typed(&served) {
            Ok(api) => Ok((id, api)),
            Err(e) => Err((id, e.to_string())),
        })
        .collect()
}

/// `served` read by the configuration model's derives.
fn typed(served: &ServedApi) -> Result<ApiConfig, serde_json::Error> {
    let mut api: ApiConfig = serde_json::from_value(Value::Object(served.api.clone()))?;
    for (id, snapshot) in &served.deployments {
        let deployment = serde_json::from_value(Value::Object(snapshot.clone()))?;
        api.deployments.insert(id.clone(), deployment);
    }
    Ok(api)
}

/// Checks what `api` serves as part of `base`, with the file's validator: each deployment in
/// use with the stages serving it; then that the whole reads as the typed API the runtime
/// compiles. Every error found under `apis.ID` is in the message.
pub(crate) fn check_served(base: &Config, id: &str, api: &ServedApi) -> Result<(), ControlError> {
    let mut errors: Vec<String> = Vec::new();
    for form in api.per_deployment() {
        for error in validation_errors(base, id, &form)? {
            if !errors.contains(&error) {
                errors.push(error);
            }
        }
    }
    if errors.is_empty() {
        typed(api)
            .map(drop)
            .map_err(|e| ControlError::BadRequest(format!("Unable to deploy the API: {e}")))
    } else {
        Err(ControlError::BadRequest(format!(
            "Unable to deploy the API: {}",
            errors.join("; ")
        )))
    }
}

/// The file validator's errors under `apis.ID` for `api` (one form of `[apis.ID]`) in `base`.
fn validation_errors(base: &Config, id: &str, api: &Object) -> Result<Vec<String>, ControlError> {
    let typed: ApiConfig = serde_json::from_value(Value::Object(api.clone()))
        .map_err(|e| ControlError::BadRequest(format!("Unable to deploy the API: {e}")))?;
    let mut config = base.clone();
    config.apis.insert(id.to_owned(), typed);
    let prefix = format!("apis.{id}");
    let errors: Vec<String> = config
        .validate()
        .into_iter()
        .filter(|f| f.is_error() && f.key_path().starts_with(&prefix))
        .map(|f| {
            format!(
                "{}: {}",
                f.key_path()
                    .trim_start_matches(&prefix)
                    .trim_start_matches('.'),
                f.message()
            )
        })
        .collect();
    Ok(errors)
}
