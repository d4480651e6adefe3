//! Finding resources: the map a collection names (a missing parent is a 404 naming it), and
//! the API or stage an ARN names.

use crate::error::ControlError;
use crate::kind::Collection;
use crate::state::{Api, Child, ControlState, Deployment, Object};
use std::collections::BTreeMap;

/// A map of resources, whatever they hold beside their wire fields.
pub(crate) trait Store {
    fn len(&self) -> usize;
    fn bodies(&self) -> Vec<&Object>;
    fn body(&self, id: &str) -> Option<&Object>;
    fn body_mut(&mut self, id: &str) -> Option<&mut Object>;
    fn insert(&mut self, id: &str, body: Object);
    fn remove(&mut self, id: &str);
}

/// A resource with its wire fields.
trait Resource: Default {
    fn body(&self) -> &Object;
    fn body_mut(&mut self) -> &mut Object;
}

impl Resource for Object {
    fn body(&self) -> &Object {
        self
    }
    fn body_mut(&mut self) -> &mut Object {
        self
    }
}

macro_rules! resource_with_body {
    ($($t:ty),*) => {$(
        impl Resource for $t {
            fn body(&self) -> &Object {
                &self.body
            }
            fn body_mut(&mut self) -> &mut Object {
                &mut self.body
            }
        }
    )*};
}
resource_with_body!(Api, Child, Deployment);

impl<T: Resource> Store for BTreeMap<String, T> {
    fn len(&self) -> usize {
        BTreeMap::len(self)
    }
    fn bodies(&self) -> Vec<&Object> {
        self.values().map(Resource::body).collect()
    }
    fn body(&self, id: &str) -> Option<&Object> {
        self.get(id).map(Resource::body)
    }
    fn body_mut(&mut self, id: &str) -> Option<&mut Object> {
        self.get_mut(id).map(Resource::body_mut)
    }
    fn insert(&mut self, id: &str, body: Object) {
        let mut item = T::default();
        *item.body_mut() = body;
        BTreeMap::insert(self, id.to_owned(), item);
    }
    fn remove(&mut self, id: &str) {
        BTreeMap::remove(self, id);
    }
}

pub(crate) fn store_insert(
    state: &mut ControlState,
    collection: &Collection,
    id: &str,
    body: Object,
) -> Result<(), ControlError> {
    collection_mut(state, collection)?.insert(id, body);
    Ok(())
}

pub(crate) fn api_mut<'s>(
    state: &'s mut ControlState,
    id: &str,
) -> Result<&'s mut Api, ControlError> {
    state
        .apis
        .get_mut(id)
        .ok_or_else(|| ControlError::not_found("Api", id))
}

/// The map a collection names; a missing parent is a 404 naming the parent.
pub(crate) fn collection_mut<'s>(
    state: &'s mut ControlState,
    collection: &Collection,
) -> Result<&'s mut dyn Store, ControlError> {
    let Some(api_id) = collection.api() else {
        return Ok(&mut state.apis);
    };
    let api = api_mut(state, api_id)?;
    Ok(match collection {
        // Returned above; a stand-in keeps the match exhaustive without a panic.
        Collection::Apis => &mut api.stages,
        Collection::Routes { .. } => &mut api.routes,
        Collection::RouteResponses { route, .. } => {
            &mut api
                .routes
                .get_mut(route)
                .ok_or_else(|| ControlError::not_found("Route", route))?
                .responses
        }
        Collection::Integrations { .. } => &mut api.integrations,
        Collection::IntegrationResponses { integration, .. } => {
            &mut api
                .integrations
                .get_mut(integration)
                .ok_or_else(|| ControlError::not_found("Integration", integration))?
                .responses
        }
        Collection::Authorizers { .. } => &mut api.authorizers,
        Collection::Models { .. } => &mut api.models,
        Collection::Stages { .. } => &mut api.stages,
        Collection::Deployments { .. } => &mut api.deployments,
    })
}

/// The body holding the tags of the API or stage an ARN names
/// (`arn:aws:apigateway:REGION::/apis/ID[/stages/NAME]`).
pub(crate) fn tagged_body<'s>(
    state: &'s mut ControlState,
    arn: &str,
    region: &str,
) -> Result<&'s mut Object, ControlError> {
    let prefix = format!("arn:aws:apigateway:{region}::/apis/");
    let rest = arn.strip_prefix(&prefix).ok_or_else(|| {
        ControlError::BadRequest(format!("Invalid resource ARN {arn}: expected {prefix}ID"))
    })?;
    let (api_id, stage) = match rest.split_once("/stages/") {
        Some((api, stage)) => (api, Some(stage)),
        None => (rest, None),
    };
    let api = api_mut(state, api_id)?;
    match stage {
        None => Ok(&mut api.body),
        Some(name) => api
            .stages
            .get_mut(name)
            .ok_or_else(|| ControlError::not_found("Stage", name)),
    }
}

pub(crate) fn not_found(collection: &Collection, id: &str) -> ControlError {
    ControlError::not_found(collection.kind().name(), id)
}
