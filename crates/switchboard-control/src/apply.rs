//! Applying an [`Op`] to the [`ControlState`]: the rules of apigatewayv2 for WebSocket APIs
//! (required fields, unique keys, references, deployments and `autoDeploy`).

use crate::deploy::{auto_deploy, deploy};
use crate::error::ControlError;
use crate::ids;
use crate::kind::{Collection, Kind};
use crate::lookup::{api_mut, collection_mut, not_found, store_insert, tagged_body};
use crate::op::{Op, Outcome};
use crate::project::{check_resource, check_served, served_api};
use crate::state::{Api, Child, ControlState, Object};
use serde_json::{json, Value};
use switchboard_core::config::Config;
use time::OffsetDateTime;

/// Most tags on one resource (AWS's quota).
pub const MAX_TAGS: usize = 50;

/// What an operation is applied with, besides the state.
pub struct Context<'a> {
    /// The configuration from the file (settings and file APIs): APIs are validated within it.
    pub base: &'a Config,
    /// The time of the call, for `createdDate`.
    pub now: OffsetDateTime,
    /// The WebSocket listener's base URL (`ws://host:port`); `apiEndpoint` is it plus `/apiId`.
    pub endpoint: &'a str,
    /// The region of resource ARNs.
    pub region: &'a str,
    /// Most APIs.
    pub max_apis: usize,
    /// Most resources of one kind in one API.
    pub max_resources: usize,
    /// Most deployments kept per API (the oldest unused are dropped).
    pub max_deployments: usize,
}

/// Applies `op` to `state`. A refused operation leaves `state` as it was except for the
/// revision counter, so a caller may apply to a copy and keep it only on success.
pub fn apply(state: &mut ControlState, op: Op, ctx: &Context<'_>) -> Result<Outcome, ControlError> {
    if op.is_change() {
        state.revision += 1;
    }
    match op {
        Op::Create { collection, body } => create(state, &collection, body, ctx),
        Op::Get { collection, id } => {
            let store = collection_mut(state, &collection)?;
            let body = store.body(&id).ok_or_else(|| not_found(&collection, &id))?;
            Ok(Outcome::Found(present(collection.kind(), body, ctx)))
        }
        Op::List { collection, page } => {
            let kind = collection.kind();
            let store = collection_mut(state, &collection)?;
            let items: Vec<Value> = store
                .bodies()
                .into_iter()
                .map(|b| present(kind, b, ctx))
                .collect();
            let (items, next) = page.slice(&items)?;
            let mut out = json!({ "items": items });
            if let Some(next) = next {
                out["nextToken"] = Value::String(next);
            }
            Ok(Outcome::Listed(out))
        }
        Op::Update {
            collection,
            id,
            body,
        } => update(state, &collection, &id, body, ctx),
        Op::Delete { collection, id } => delete(state, &collection, &id, ctx),
        Op::Tag { arn, tags } => {
            let target = tagged_body(state, &arn, ctx.region)?;
            let mut merged = target
                .get("tags")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, v) in tags {
                let Value::String(_) = v else {
                    return Err(ControlError::BadRequest(format!(
                        "The value of tag {k} must be a string"
                    )));
                };
                merged.insert(k, v);
            }
            if merged.len() > MAX_TAGS {
                return Err(ControlError::BadRequest(format!(
                    "A resource can have at most {MAX_TAGS} tags"
                )));
            }
            target.insert("tags".into(), Value::Object(merged));
            Ok(Outcome::Tagged)
        }
        Op::Untag { arn, keys } => {
            let target = tagged_body(state, &arn, ctx.region)?;
            if let Some(Value::Object(tags)) = target.get_mut("tags") {
                for key in keys {
                    tags.shift_remove(&key);
                }
            }
            Ok(Outcome::Deleted)
        }
        Op::GetTags { arn } => {
            let target = tagged_body(state, &arn, ctx.region)?;
            let tags = target.get("tags").cloned().unwrap_or_else(|| json!({}));
            Ok(Outcome::Found(json!({ "tags": tags })))
        }
    }
}

// === create, update, delete ===

fn create(
    state: &mut ControlState,
    collection: &Collection,
    body: Object,
    ctx: &Context<'_>,
) -> Result<Outcome, ControlError> {
    let kind = collection.kind();
    let mut body = clean(kind, body);
    for field in kind.required() {
        match body.get(*field) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            Some(Value::String(_)) | None => {
                return Err(ControlError::BadRequest(format!(
                    "{field} is required and must not be empty"
                )))
            }
            Some(_) => {
                return Err(ControlError::BadRequest(format!(
                    "{field} must be a string"
                )))
            }
        }
    }
    if kind == Kind::Api && body.get("protocolType").and_then(Value::as_str) != Some("WEBSOCKET") {
        return Err(ControlError::BadRequest(
            "protocolType must be WEBSOCKET: this gateway serves WebSocket APIs only".into(),
        ));
    }
    if let Value::Object(defaults) = kind.defaults() {
        for (k, v) in defaults {
            body.entry(k).or_insert(v);
        }
    }
    if kind == Kind::Integration {
        // What AWS reports: fixed by the type (docs/behaviour.md §2.4).
        let by_type = match body.get("integrationType").and_then(Value::as_str) {
            Some("MOCK" | "HTTP") => Some("${integration.response.statuscode}"),
            Some("AWS") => Some("${integration.response.body.errorMessage}"),
            _ => None,
        };
        if let Some(expression) = by_type {
            body.insert(
                "integrationResponseSelectionExpression".into(),
                Value::String(expression.into()),
            );
        }
    }
    let now = iso8601(ctx.now);
    match kind {
        Kind::Api | Kind::Deployment => {
            body.insert("createdDate".into(), Value::String(now.clone()));
        }
        Kind::Stage => {
            body.insert("createdDate".into(), Value::String(now.clone()));
            body.insert("lastUpdatedDate".into(), Value::String(now.clone()));
        }
        _ => {}
    }
    check_resource(kind, &body)?;
    check_tags(&body)?;
    if kind == Kind::Stage {
        let name = body.get("stageName").and_then(Value::as_str).unwrap_or("");
        if !valid_stage_name(name) {
            return Err(ControlError::BadRequest(format!(
                "Stage name `{name}` is invalid: 1-128 letters, digits, `-` or `_`"
            )));
        }
    }
    let max = if kind == Kind::Api {
        ctx.max_apis
    } else {
        ctx.max_resources
    };
    let revision = state.revision;
    let store = collection_mut(state, collection)?;
    if store.len() >= max && kind != Kind::Deployment {
        return Err(ControlError::BadRequest(format!(
            "Limit reached: at most {max} {}s (controlPlane.{})",
            kind.name(),
            if kind == Kind::Api {
                "maxApis"
            } else {
                "maxResourcesPerApi"
            }
        )));
    }
    if let Some(field) = kind.unique() {
        let value = body.get(field).cloned();
        if store
            .bodies()
            .iter()
            .any(|b| b.get(field) == value.as_ref())
        {
            return Err(ControlError::Conflict(format!(
                "{} with {field} {} already exists",
                kind.name(),
                value.unwrap_or(Value::Null)
            )));
        }
    }
    let id = match kind {
        Kind::Stage => body
            .get("stageName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        _ => loop {
            let id = ids::new_id(kind.id_len());
            if store.body(&id).is_none() && !(kind == Kind::Api && ctx.base.apis.contains_key(&id))
            {
                break id;
            }
        },
    };
    if kind != Kind::Stage {
        body.insert(kind.id_field().into(), Value::String(id.clone()));
    }
    let Some(api_id) = collection.api().map(str::to_owned) else {
        store.insert(&id, body);
        let created = store.body(&id).cloned().unwrap_or_default();
        return Ok(Outcome::Created(present(kind, &created, ctx)));
    };
    if kind == Kind::Deployment {
        let stage = body
            .shift_remove("stageName")
            .and_then(|v| v.as_str().map(str::to_owned));
        body.insert("autoDeployed".into(), Value::Bool(false));
        body.insert("deploymentStatus".into(), Value::String("DEPLOYED".into()));
        let api = api_mut(state, &api_id)?;
        deploy(
            api,
            &api_id,
            &id,
            body.clone(),
            stage.as_deref(),
            revision,
            ctx,
        )?;
        return Ok(Outcome::Created(present(kind, &body, ctx)));
    }
    if kind == Kind::Stage {
        if let Some(deployment) = body.get("deploymentId").and_then(Value::as_str) {
            let api = api_mut(state, &api_id)?;
            if !api.deployments.contains_key(deployment) {
                return Err(ControlError::BadRequest(format!(
                    "Invalid deployment identifier specified {deployment}"
                )));
            }
        }
    }
    store_insert(state, collection, &id, body)?;
    let api = api_mut(state, &api_id)?;
    auto_deploy(api, &api_id, revision, ctx);
    let store = collection_mut(state, collection)?;
    let created = store.body(&id).cloned().unwrap_or_default();
    Ok(Outcome::Created(present(kind, &created, ctx)))
}

fn update(
    state: &mut ControlState,
    collection: &Collection,
    id: &str,
    body: Object,
    ctx: &Context<'_>,
) -> Result<Outcome, ControlError> {
    let kind = collection.kind();
    let revision = state.revision;
    let store = collection_mut(state, collection)?;
    let mut next = store
        .body(id)
        .cloned()
        .ok_or_else(|| not_found(collection, id))?;
    let mut changes = clean(kind, body);
    if kind == Kind::Deployment {
        changes.retain(|k, _| k == "description");
    }
    // A stage's name, an API's protocol: fixed at creation.
    for fixed in ["stageName", "protocolType"] {
        if let Some(v) = changes.get(fixed) {
            if next.get(fixed) != Some(v) {
                return Err(ControlError::BadRequest(format!(
                    "{fixed} cannot be changed"
                )));
            }
        }
    }
    if let Some(field) = kind.unique() {
        if let Some(value) = changes.get(field) {
            if store.bodies().iter().any(|b| {
                b.get(field) == Some(value)
                    && b.get(kind.id_field()).and_then(Value::as_str) != Some(id)
                    && b != &&next
            }) {
                return Err(ControlError::Conflict(format!(
                    "{} with {field} {value} already exists",
                    kind.name()
                )));
            }
        }
    }
    for (k, v) in changes {
        next.insert(k, v);
    }
    if kind == Kind::Stage {
        next.insert("lastUpdatedDate".into(), Value::String(iso8601(ctx.now)));
    }
    check_resource(kind, &next)?;
    check_tags(&next)?;
    if let Some(body) = store.body_mut(id) {
        *body = next.clone();
    }
    // The API changed is the one in the path, or the one updated.
    let api_id = collection.api().unwrap_or(id).to_owned();
    {
        let api = api_mut(state, &api_id)?;
        if kind == Kind::Stage {
            if let Some(deployment) = next.get("deploymentId").and_then(Value::as_str) {
                if !api.deployments.contains_key(deployment) {
                    return Err(ControlError::BadRequest(format!(
                        "Invalid deployment identifier specified {deployment}"
                    )));
                }
            }
        }
        if kind != Kind::Deployment {
            auto_deploy(api, &api_id, revision, ctx);
        }
        // A change to what is served now (an API's settings, a stage) must still validate.
        if matches!(kind, Kind::Api | Kind::Stage) {
            if let Some(served) = served_api(api) {
                check_served(ctx.base, &api_id, &served)?;
            }
        }
    }
    let store = collection_mut(state, collection)?;
    let updated = store.body(id).cloned().unwrap_or_default();
    Ok(Outcome::Found(present(kind, &updated, ctx)))
}

fn delete(
    state: &mut ControlState,
    collection: &Collection,
    id: &str,
    ctx: &Context<'_>,
) -> Result<Outcome, ControlError> {
    let kind = collection.kind();
    let revision = state.revision;
    let store = collection_mut(state, collection)?;
    let body = store
        .body(id)
        .cloned()
        .ok_or_else(|| not_found(collection, id))?;
    if let Some(api_id) = collection.api().map(str::to_owned) {
        let api = api_mut(state, &api_id)?;
        if let Some(user) = user_of(api, kind, id, &body) {
            return Err(ControlError::Conflict(format!(
                "{} {id} cannot be deleted: {user} uses it",
                kind.name()
            )));
        }
        if kind == Kind::Deployment {
            let stage = api
                .stages
                .iter()
                .find(|(_, s)| s.get("deploymentId").and_then(Value::as_str) == Some(id));
            if let Some((name, _)) = stage {
                return Err(ControlError::BadRequest(format!(
                    "Active stages pointing to this deployment must be moved or deleted (stage {name})"
                )));
            }
        }
    }
    collection_mut(state, collection)?.remove(id);
    if let Some(api_id) = collection.api().map(str::to_owned) {
        if !matches!(kind, Kind::Deployment | Kind::Stage) {
            let api = api_mut(state, &api_id)?;
            auto_deploy(api, &api_id, revision, ctx);
        }
    }
    Ok(Outcome::Deleted)
}

/// Which route still refers to the resource about to be deleted, if any.
fn user_of(api: &Api, kind: Kind, id: &str, body: &Object) -> Option<String> {
    let route_key = |r: &Child| {
        r.body
            .get("routeKey")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let uses = |r: &Child| match kind {
        Kind::Integration => {
            r.body.get("target").and_then(Value::as_str) == Some(&format!("integrations/{id}"))
        }
        Kind::Authorizer => r.body.get("authorizerId").and_then(Value::as_str) == Some(id),
        Kind::Model => {
            let name = body.get("name");
            r.body
                .get("requestModels")
                .and_then(Value::as_object)
                .is_some_and(|m| m.values().any(|v| Some(v) == name))
        }
        _ => false,
    };
    api.routes
        .values()
        .find(|r| uses(r))
        .map(|r| format!("route {}", route_key(r)))
}

// === wire details ===

/// A request body without the fields only the control plane sets, and without nulls.
fn clean(kind: Kind, mut body: Object) -> Object {
    for field in kind.output_only() {
        body.shift_remove(*field);
    }
    body.retain(|_, v| !v.is_null());
    body
}

/// A stored resource as the wire returns it (an API with its `apiEndpoint`).
fn present(kind: Kind, body: &Object, ctx: &Context<'_>) -> Value {
    let mut out = body.clone();
    if kind == Kind::Api {
        if let Some(id) = body.get("apiId").and_then(Value::as_str) {
            out.insert(
                "apiEndpoint".into(),
                Value::String(format!("{}/{id}", ctx.endpoint)),
            );
        }
    }
    Value::Object(out)
}

/// AWS's tag rules: at most [`MAX_TAGS`], keys of 1-128 and values of at most 256 characters.
fn check_tags(body: &Object) -> Result<(), ControlError> {
    let Some(tags) = body.get("tags") else {
        return Ok(());
    };
    let Value::Object(tags) = tags else {
        return Err(ControlError::BadRequest(
            "tags must be an object of strings".into(),
        ));
    };
    if tags.len() > MAX_TAGS {
        return Err(ControlError::BadRequest(format!(
            "A resource can have at most {MAX_TAGS} tags"
        )));
    }
    for (key, value) in tags {
        let Value::String(value) = value else {
            return Err(ControlError::BadRequest(format!(
                "The value of tag {key} must be a string"
            )));
        };
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(ControlError::BadRequest(format!(
                "Tag {key}: keys are 1-128 characters and values at most 256"
            )));
        }
    }
    Ok(())
}

fn valid_stage_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && ids::plausible(name)
}

/// `2024-02-19T07:11:42Z`, as apigatewayv2 timestamps are sent.
pub(crate) fn iso8601(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.format(&format).unwrap_or_default()
}
