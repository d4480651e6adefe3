//! The configuration compiled for serving: expressions parsed, templates compiled, routes
//! resolved to integrations. Swapped atomically on reload; connections look it up per message,
//! so new routes apply to the next message without dropping anyone.

use crate::auth::{build_authorizers, AuthDirectory, ConnectAuth};
use crate::error::BuildError;
use crate::integrations::{Integration, IntegrationEnv, TemplateRunner};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use switchboard_core::config::{
    ApiConfig, AwsCredentials, Config, ServerConfig, StageConfig, StageLimits,
};
use switchboard_core::mapping::DEFAULT_KEY;
use switchboard_core::selection::SelectionExpression;
use switchboard_core::validation::{Models, RequestValidator};

/// Everything the data plane serves.
#[derive(Debug)]
pub struct Runtime {
    /// APIs by id.
    pub apis: HashMap<String, Arc<Api>>,
    /// The listener settings (read at start; changes need a restart).
    pub server: ServerConfig,
    /// The configuration this was built from.
    pub config: Arc<Config>,
    /// Principals, API keys, region and account for `$connect` authorization.
    pub auth: AuthDirectory,
}

/// One WebSocket API.
#[derive(Debug)]
pub struct Api {
    /// apiId.
    pub id: String,
    /// Stages by name, each with the definition it serves.
    pub stages: HashMap<String, Arc<Stage>>,
}

/// What a stage serves: the compiled routes, integrations, authorizers and models of its
/// deployment (`ApiConfig::served_on`), shared by the stages serving the same one. Every stage
/// of a file's API shares the API's one definition.
#[derive(Debug)]
pub struct Definition {
    /// `routeSelectionExpression`.
    pub route_selection: SelectionExpression,
    /// Routes by route key.
    pub routes: HashMap<String, Arc<Route>>,
    /// How `$connect` is protected (when there is a `$connect` route).
    pub connect_auth: Option<ConnectAuth>,
}

/// One deployed stage of an API.
#[derive(Debug)]
pub struct Stage {
    /// Stage name.
    pub name: String,
    /// The routes, integrations and authorizers it serves.
    pub definition: Arc<Definition>,
    /// Stage variables.
    pub variables: BTreeMap<String, String>,
    /// Connection limits.
    pub limits: StageLimits,
    /// Extension: pushes made during `$connect` are queued (docs/groups.md).
    pub pushes_during_connect: bool,
    /// Extension: MESSAGE events carry groups and user (docs/groups.md).
    pub event_extensions: bool,
    /// Throttles, access log and metric handles (filled in by [`crate::ops::attach`]).
    pub ops: crate::ops::StageOps,
}

/// One route.
#[derive(Debug)]
pub struct Route {
    /// The route key.
    pub key: String,
    /// The integration it invokes.
    pub integration: Arc<Integration>,
    /// Two-way: the integration's reply goes back to the client (docs/behaviour.md §5).
    pub two_way: bool,
    /// Request validation, when the route has a `modelSelectionExpression` (docs/behaviour.md §4.7).
    pub validator: Option<RequestValidator>,
}

impl Runtime {
    /// Compiles a validated configuration, refusing what this build cannot serve faithfully.
    pub fn build(config: Config, credentials: Option<AwsCredentials>) -> Result<Self, BuildError> {
        let env = IntegrationEnv {
            aws: config.aws.clone(),
            credentials,
            max_concurrent_calls: config.server.limits.max_concurrent_calls_per_integration,
            templates: TemplateRunner::new(config.server.limits.render_budget()),
        };
        let mut apis = HashMap::new();
        for (id, api) in &config.apis {
            apis.insert(id.clone(), Arc::new(build_api(id, api, &env)?));
        }
        Ok(Self {
            apis,
            server: config.server.clone(),
            auth: AuthDirectory::from_config(&config),
            config: Arc::new(config),
        })
    }

    /// The API and stage an upgrade path addresses (`/{apiId}/{stage}` or `/{stage}`, a
    /// trailing `/` allowed), by [`Runtime::address`].
    pub fn resolve<'p>(&self, host: Option<&str>, path: &'p str) -> Option<(&Arc<Api>, &'p str)> {
        let path = path.strip_prefix('/')?;
        let path = path.strip_suffix('/').unwrap_or(path);
        let segments: Vec<&'p str> = path.split('/').collect();
        let api = self.address(host, &segments)?;
        segments.last().map(|stage| (api, *stage))
    }

    /// The one addressing rule of every listener (docs/configuration.md "Addresses"):
    /// `[apiId, stage]`; or `[stage]` of the API that `Host: {apiId}.…` names, else of the
    /// only API. The stage is always the last segment (not checked to exist here).
    pub fn address<S: AsRef<str>>(&self, host: Option<&str>, segments: &[S]) -> Option<&Arc<Api>> {
        match segments {
            [stage] if !stage.as_ref().is_empty() => {
                let by_host = host
                    .and_then(|h| h.split_once('.'))
                    .and_then(|(first, _)| self.apis.get(first));
                let only = (self.apis.len() == 1)
                    .then(|| self.apis.values().next())
                    .flatten();
                by_host.or(only)
            }
            [api, _stage] => self.apis.get(api.as_ref()),
            _ => None,
        }
    }
}

impl Definition {
    /// The route for a message's evaluated route key: exact match, else `$default`
    /// (docs/behaviour.md §2.3). A message never selects `$connect` or `$disconnect`: those
    /// keys fall to `$default` like any unknown key.
    pub fn route_for(&self, key: Option<&str>) -> Option<&Arc<Route>> {
        key.filter(|k| !is_lifecycle_key(k))
            .and_then(|k| self.routes.get(k))
            .or_else(|| self.routes.get(DEFAULT_KEY))
    }
}

/// `$connect` and `$disconnect`: run by the gateway on the connection's lifecycle only.
fn is_lifecycle_key(key: &str) -> bool {
    key == "$connect" || key == "$disconnect"
}

fn build_api(id: &str, api: &ApiConfig, env: &IntegrationEnv) -> Result<Api, BuildError> {
    let path = format!("apis.{id}");
    // One compiled definition per deployment in use (`None`: the API itself). A file's API
    // (no deployments) is compiled even without stages, so its errors show at once.
    let mut definitions: HashMap<Option<&str>, Arc<Definition>> = HashMap::new();
    if api.deployments.is_empty() {
        definitions.insert(None, Arc::new(build_definition(&path, api, env)?));
    }
    let mut stages = HashMap::new();
    for (name, stage) in &api.stages {
        let deployment = api.deployment_of(stage).map(|(id, _)| id);
        let definition = match definitions.get(&deployment) {
            Some(definition) => Arc::clone(definition),
            None => {
                let dpath = match deployment {
                    Some(d) => format!("{path}.deployments.{d}"),
                    None => path.clone(),
                };
                let definition = Arc::new(build_definition(&dpath, api.served_on(stage), env)?);
                definitions.insert(deployment, Arc::clone(&definition));
                definition
            }
        };
        stages.insert(name.clone(), Arc::new(build_stage(name, stage, definition)));
    }
    Ok(Api {
        id: id.to_owned(),
        stages,
    })
}

/// Compiles the routes of `api` (`[apis.ID]` or one of its deployments) at `path`.
fn build_definition(
    path: &str,
    api: &ApiConfig,
    env: &IntegrationEnv,
) -> Result<Definition, BuildError> {
    let route_selection =
        SelectionExpression::parse(&api.route_selection_expression).map_err(|e| {
            BuildError::Invalid {
                path: format!("{path}.routeSelectionExpression"),
                message: e.to_string(),
            }
        })?;
    let authorizers = build_authorizers(path, api, env)?;
    let models = Models::compile(&api.models).map_err(|(name, e)| BuildError::Invalid {
        path: format!("{path}.models.{name}.schema"),
        message: e.to_string(),
    })?;
    let mut integrations = HashMap::new();
    for (iid, cfg) in &api.integrations {
        let ipath = format!("{path}.integrations.{iid}");
        integrations.insert(
            iid.as_str(),
            Arc::new(Integration::build(&ipath, cfg, env)?),
        );
    }
    let mut routes = HashMap::new();
    for (key, route) in &api.routes {
        let rpath = format!("{path}.routes.{key}");
        let validator = RequestValidator::compile(
            route.model_selection_expression.as_deref(),
            &route.request_models,
            &models,
        )
        .map_err(|e| BuildError::Invalid {
            path: rpath.clone(),
            message: e.to_string(),
        })?;
        let target = route.target.as_deref().unwrap_or_default();
        let integration = target
            .strip_prefix("integrations/")
            .and_then(|iid| integrations.get(iid))
            .ok_or_else(|| BuildError::Invalid {
                path: format!("{rpath}.target"),
                message: format!("unknown route target {target}"),
            })?;
        routes.insert(
            key.clone(),
            Arc::new(Route {
                key: key.clone(),
                integration: Arc::clone(integration),
                two_way: route.route_response_selection_expression.as_deref() == Some(DEFAULT_KEY),
                validator,
            }),
        );
    }
    let connect_auth = api
        .routes
        .get("$connect")
        .map(|route| {
            ConnectAuth::build(&format!("{path}.routes.$connect"), api, route, &authorizers)
        })
        .transpose()?;
    Ok(Definition {
        route_selection,
        routes,
        connect_auth,
    })
}

fn build_stage(name: &str, stage: &StageConfig, definition: Arc<Definition>) -> Stage {
    Stage {
        name: name.to_owned(),
        definition,
        variables: stage.stage_variables.clone(),
        limits: stage.limits.clone(),
        pushes_during_connect: stage.pushes_during_connect,
        event_extensions: stage.event_extensions,
        ops: Default::default(),
    }
}
