//! The configuration compiled for serving: expressions parsed, templates compiled, routes
//! resolved to integrations. Swapped atomically on reload; connections look it up per message,
//! so new routes apply to the next message without dropping anyone.

use crate::error::BuildError;
use crate::integrations::{Integration, IntegrationEnv};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use switchboard_core::config::{
    ApiConfig, AuthorizationType, AwsCredentials, Config, ServerConfig, StageConfig, StageLimits,
};
use switchboard_core::mapping::DEFAULT_KEY;
use switchboard_core::selection::SelectionExpression;

/// Everything the data plane serves.
#[derive(Debug)]
pub struct Runtime {
    /// APIs by id.
    pub apis: HashMap<String, Arc<Api>>,
    /// The listener settings (read at start; changes need a restart).
    pub server: ServerConfig,
    /// The configuration this was built from.
    pub config: Arc<Config>,
}

/// One WebSocket API.
#[derive(Debug)]
pub struct Api {
    /// apiId.
    pub id: String,
    /// `routeSelectionExpression`.
    pub route_selection: SelectionExpression,
    /// Stages by name.
    pub stages: HashMap<String, Arc<Stage>>,
    /// Routes by route key.
    pub routes: HashMap<String, Arc<Route>>,
}

/// One deployed stage of an API.
#[derive(Debug)]
pub struct Stage {
    /// Stage name.
    pub name: String,
    /// Stage variables.
    pub variables: BTreeMap<String, String>,
    /// Connection limits.
    pub limits: StageLimits,
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
    /// Two-way: the integration's reply goes back to the client (spec §5).
    pub two_way: bool,
}

impl Runtime {
    /// Compiles a validated configuration, refusing what this build cannot serve faithfully.
    pub fn build(config: Config, credentials: Option<AwsCredentials>) -> Result<Self, BuildError> {
        let env = IntegrationEnv {
            aws: config.aws.clone(),
            credentials,
            max_concurrent_calls: config.server.limits.max_concurrent_calls_per_integration,
        };
        let mut apis = HashMap::new();
        for (id, api) in &config.apis {
            apis.insert(id.clone(), Arc::new(build_api(id, api, &env)?));
        }
        Ok(Self {
            apis,
            server: config.server.clone(),
            config: Arc::new(config),
        })
    }

    /// The API a request addresses: by `Host` (`{apiId}.…`), by the first path segment, or the
    /// only API when there is one (config.md "Addresses"). Returns the API and the stage segment.
    pub fn resolve<'p>(&self, host: Option<&str>, path: &'p str) -> Option<(&Arc<Api>, &'p str)> {
        let path = path.strip_prefix('/')?;
        let path = path.strip_suffix('/').unwrap_or(path);
        if let Some(api) = host
            .and_then(|h| h.split_once('.'))
            .and_then(|(first, _)| self.apis.get(first))
        {
            if !path.is_empty() && !path.contains('/') {
                return Some((api, path));
            }
        }
        match path.split_once('/') {
            Some((api_id, stage)) if !stage.contains('/') => {
                self.apis.get(api_id).map(|api| (api, stage))
            }
            Some(_) => None,
            None if self.apis.len() == 1 && !path.is_empty() => {
                self.apis.values().next().map(|api| (api, path))
            }
            None => None,
        }
    }
}

impl Api {
    /// The route for an evaluated route key: exact match, else `$default` (spec §2.3).
    pub fn route_for(&self, key: Option<&str>) -> Option<&Arc<Route>> {
        key.and_then(|k| self.routes.get(k))
            .or_else(|| self.routes.get(DEFAULT_KEY))
    }
}

fn build_api(id: &str, api: &ApiConfig, env: &IntegrationEnv) -> Result<Api, BuildError> {
    let path = format!("apis.{id}");
    let route_selection =
        SelectionExpression::parse(&api.route_selection_expression).map_err(|e| {
            BuildError::Invalid {
                path: format!("{path}.routeSelectionExpression"),
                message: e.to_string(),
            }
        })?;
    if !api.authorizers.is_empty() {
        return Err(unsupported(&format!("{path}.authorizers"), "authorizers"));
    }
    if !api.models.is_empty() {
        return Err(unsupported(&format!("{path}.models"), "request models"));
    }
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
        if route
            .authorization_type
            .is_some_and(|t| t != AuthorizationType::None)
        {
            return Err(unsupported(&rpath, "authorizationType other than NONE"));
        }
        if route.api_key_required {
            return Err(unsupported(&rpath, "apiKeyRequired"));
        }
        if route.model_selection_expression.is_some() || !route.request_models.is_empty() {
            return Err(unsupported(&rpath, "request validation"));
        }
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
            }),
        );
    }
    let stages = api
        .stages
        .iter()
        .map(|(name, stage)| (name.clone(), Arc::new(build_stage(name, stage))))
        .collect();
    Ok(Api {
        id: id.to_owned(),
        route_selection,
        stages,
        routes,
    })
}

fn build_stage(name: &str, stage: &StageConfig) -> Stage {
    Stage {
        name: name.to_owned(),
        variables: stage.stage_variables.clone(),
        limits: stage.limits.clone(),
        ops: Default::default(),
    }
}

fn unsupported(path: &str, what: &str) -> BuildError {
    BuildError::Unsupported {
        path: path.to_owned(),
        what: what.to_owned(),
    }
}
