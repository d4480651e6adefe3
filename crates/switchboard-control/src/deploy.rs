//! Deployments: snapshots of an API checked by the file's validator, `autoDeploy`, and how
//! many are kept.

use crate::apply::{iso8601, Context};
use crate::error::ControlError;
use crate::ids;
use crate::kind::Kind;
use crate::project::{check_served, served_api, snapshot};
use crate::state::{Api, Deployment, Object};
use serde_json::Value;

/// Makes deployment `id` of the API as it is now and points `stage` at it, if the API with it
/// passes the file's checks.
pub(crate) fn deploy(
    api: &mut Api,
    api_id: &str,
    id: &str,
    body: Object,
    stage: Option<&str>,
    revision: u64,
    ctx: &Context<'_>,
) -> Result<(), ControlError> {
    if api.routes.is_empty() {
        return Err(ControlError::BadRequest(
            "At least one route is required before deploying the Api.".into(),
        ));
    }
    if let Some(stage) = stage {
        if !api.stages.contains_key(stage) {
            return Err(ControlError::BadRequest(format!(
                "Invalid stage identifier specified {stage}"
            )));
        }
    }
    let deployment = Deployment {
        body,
        revision,
        snapshot: snapshot(api),
    };
    let mut candidate = api.clone();
    candidate
        .deployments
        .insert(id.to_owned(), deployment.clone());
    match stage {
        Some(stage) => {
            if let Some(s) = candidate.stages.get_mut(stage) {
                s.insert("deploymentId".into(), Value::String(id.to_owned()));
            }
        }
        // Checked as it would serve on a stage of its own.
        None => {
            candidate.stages.insert(
                "deployment-check".into(),
                Object::from_iter([("deploymentId".to_owned(), Value::String(id.to_owned()))]),
            );
        }
    }
    if let Some(served) = served_api(&candidate) {
        check_served(ctx.base, api_id, &served)?;
    }
    api.deployments.insert(id.to_owned(), deployment);
    if let Some(stage) = stage.and_then(|s| api.stages.get_mut(s)) {
        stage.insert("deploymentId".into(), Value::String(id.to_owned()));
        stage.insert("lastUpdatedDate".into(), Value::String(iso8601(ctx.now)));
    }
    prune(api, ctx.max_deployments);
    Ok(())
}

/// Deploys every `autoDeploy` stage after a change; a deployment the checks refuse leaves the
/// stage on its deployment with `lastDeploymentStatusMessage` saying why.
pub(crate) fn auto_deploy(api: &mut Api, api_id: &str, revision: u64, ctx: &Context<'_>) {
    let stages: Vec<String> = api
        .stages
        .iter()
        .filter(|(_, s)| s.get("autoDeploy").and_then(Value::as_bool) == Some(true))
        .map(|(name, _)| name.clone())
        .collect();
    for stage in stages {
        let id = loop {
            let id = ids::new_id(Kind::Deployment.id_len());
            if !api.deployments.contains_key(&id) {
                break id;
            }
        };
        let body = Object::from_iter([
            ("deploymentId".to_owned(), Value::String(id.clone())),
            ("createdDate".to_owned(), Value::String(iso8601(ctx.now))),
            ("autoDeployed".to_owned(), Value::Bool(true)),
            (
                "deploymentStatus".to_owned(),
                Value::String("DEPLOYED".into()),
            ),
        ]);
        let message = match deploy(api, api_id, &id, body, Some(&stage), revision, ctx) {
            Ok(()) => format!("Successfully deployed stage with deployment ID '{id}'"),
            Err(e) => format!("Deployment failed: {e}"),
        };
        if let Some(s) = api.stages.get_mut(&stage) {
            s.insert("lastDeploymentStatusMessage".into(), Value::String(message));
        }
    }
}

/// Keeps at most `max` deployments, dropping the oldest no stage uses.
fn prune(api: &mut Api, max: usize) {
    while api.deployments.len() > max {
        let used: Vec<&str> = api
            .stages
            .values()
            .filter_map(|s| s.get("deploymentId").and_then(Value::as_str))
            .collect();
        let oldest = api
            .deployments
            .iter()
            .filter(|(id, _)| !used.contains(&id.as_str()))
            .min_by_key(|(_, d)| d.revision)
            .map(|(id, _)| id.clone());
        match oldest {
            Some(id) => {
                api.deployments.remove(&id);
            }
            None => return,
        }
    }
}
