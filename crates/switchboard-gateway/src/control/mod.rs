//! The apigatewayv2 control plane over HTTP (docs/control-plane.md): SigV4 with its own keys
//! (service `apigateway`), a rate limit, the typed operations of `switchboard-control` applied
//! to its state, the result served through [`GatewayState::install`] and stored.

pub mod request;
pub mod store;

use crate::management::auth;
use crate::management::errors::{respond, MgmtError, MgmtResponse};
use crate::server::GatewayState;
use crate::throttle::{Limits, TokenBucket};
use bytes::Bytes;
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use switchboard_control::{apply, served, Context, ControlError, ControlState};
use switchboard_core::config::{Config, ControlPlaneConfig};

/// Largest request body (a model schema or a mapping template is the largest field).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The control plane of one gateway: its state of record and the file configuration it is
/// served with.
pub struct ControlPlane {
    settings: ControlPlaneConfig,
    state: Mutex<ControlState>,
    /// The configuration from the file (SIGHUP replaces it); control plane APIs are added to it.
    base: Mutex<Config>,
    store: PathBuf,
    bucket: TokenBucket,
    /// `ws://host:port` of the WebSocket listener, for `apiEndpoint`.
    endpoint: Mutex<String>,
}

impl ControlPlane {
    /// The control plane `config` asks for, with its stored state; `None` when it is off.
    pub fn open(config: &Config) -> Result<Option<Self>, String> {
        let Some(settings) = config.control_plane.clone().filter(|c| c.enabled) else {
            return Ok(None);
        };
        let store = store::path(&settings.data_dir);
        let state = store::load(&store)?;
        tracing::info!(
            apis = state.apis.len(),
            store = %store.display(),
            "control plane enabled"
        );
        let bucket = TokenBucket::new(Limits {
            rate: settings.rate_limit.rate,
            burst: settings.rate_limit.burst,
        });
        Ok(Some(Self {
            settings,
            state: Mutex::new(state),
            base: Mutex::new(config.clone()),
            store,
            bucket,
            endpoint: Mutex::new(String::new()),
        }))
    }

    /// Sets the WebSocket listener's base URL once it is bound.
    pub fn set_endpoint(&self, endpoint: String) {
        *lock(&self.endpoint) = endpoint;
    }

    /// Where the control plane listens when not on the management listener.
    pub fn listen(&self) -> Option<&str> {
        self.settings.listen.as_deref()
    }

    /// `base` (the file) with the APIs the control plane serves; `base` is kept for the next
    /// change. An API whose id the file also uses is left out (the file wins) with a warning.
    pub fn compose(&self, base: Config) -> Config {
        *lock(&self.base) = base.clone();
        compose(&base, &lock(&self.state))
    }

    /// Serves one `/v2/...` request: rate limit, SigV4 head, body, SigV4 body, operation.
    pub async fn handle(
        &self,
        gateway: &GatewayState,
        req: Request<Incoming>,
        deadline: Duration,
        request_id: &str,
    ) -> MgmtResponse {
        if !self.bucket.try_acquire() {
            return error_response(&ControlError::TooManyRequests, request_id);
        }
        let (parts, body) = req.into_parts();
        let region = lock(&self.base).aws.region.clone();
        let now = time::OffsetDateTime::now_utc();
        let claimed = match auth::check_head_for(
            &parts,
            &self.settings.credentials,
            ("apigateway", &region),
            now,
        ) {
            Ok(claimed) => claimed,
            Err(e) => return e.response(request_id),
        };
        let read = tokio::time::timeout(deadline, Limited::new(body, MAX_BODY_BYTES).collect());
        let body = match read.await {
            Err(_) => return MgmtError::RequestTimeout.response(request_id),
            Ok(Err(_)) => {
                let too_big = ControlError::BadRequest(format!(
                    "The request body is larger than {MAX_BODY_BYTES} bytes"
                ));
                return error_response(&too_big, request_id);
            }
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        if let Err(e) = auth::check_body(&parts, &body, &claimed) {
            return e.response(request_id);
        }
        let caller = claimed.claim.access_key_id.clone();
        let op = match request::parse(
            &parts.method,
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &body,
        ) {
            Ok(op) => op,
            Err(e) => return error_response(&e, request_id),
        };
        let name = op.name();
        let change = op.is_change();
        let result = self.run(gateway, op);
        let status = match &result {
            Ok((status, _)) => *status,
            Err(e) => e.status(),
        };
        if change {
            tracing::info!(
                target: "switchboard::control",
                caller = %caller,
                operation = %name,
                path = %parts.uri.path(),
                status,
                "control plane change"
            );
        } else {
            tracing::debug!(target: "switchboard::control", caller = %caller, operation = %name, status);
        }
        match result {
            Ok((status, body)) => {
                respond(status, body.map(|b| Bytes::from(b.to_string())), request_id)
            }
            Err(e) => error_response(&e, request_id),
        }
    }

    /// Applies `op` to a copy of the state; a change to what is served is installed (every
    /// connection kept) and stored before the copy becomes the state.
    fn run(
        &self,
        gateway: &GatewayState,
        op: switchboard_control::Op,
    ) -> Result<(u16, Option<serde_json::Value>), ControlError> {
        let mut state = lock(&self.state);
        let base = lock(&self.base).clone();
        let endpoint = lock(&self.endpoint).clone();
        let change = op.is_change();
        let mut next = state.clone();
        let ctx = Context {
            base: &base,
            now: time::OffsetDateTime::now_utc(),
            endpoint: &endpoint,
            region: &base.aws.region,
            max_apis: self.settings.max_apis,
            max_resources: self.settings.max_resources_per_api,
        };
        let outcome = apply(&mut next, op, &ctx)?;
        if !change {
            return Ok(outcome.into_response());
        }
        if switchboard_control::served_json(&next) != switchboard_control::served_json(&state) {
            gateway
                .install(compose(&base, &next))
                .map_err(|e| ControlError::BadRequest(format!("Unable to deploy the API: {e}")))?;
        }
        if let Err(e) = store::save(&self.store, &next) {
            tracing::error!(
                error = %e,
                store = %self.store.display(),
                "the control plane change is served but could not be stored: it is lost on restart"
            );
        }
        *state = next;
        Ok(outcome.into_response())
    }
}

/// `base` with the APIs `state` serves.
fn compose(base: &Config, state: &ControlState) -> Config {
    let mut config = base.clone();
    match served(state) {
        Ok(apis) => {
            for (id, api) in apis {
                if config.apis.contains_key(&id) {
                    tracing::warn!(api = %id, "the file defines this API too: the file's is served");
                    continue;
                }
                config.apis.insert(id, api);
            }
        }
        Err((id, e)) => {
            tracing::error!(api = %id, error = %e, "a stored API cannot be served; none of the control plane's APIs are")
        }
    }
    config
}

/// An apigatewayv2 exception as the SDKs parse it.
fn error_response(error: &ControlError, request_id: &str) -> MgmtResponse {
    let mut response = respond(
        error.status(),
        Some(Bytes::from(error.body().to_string())),
        request_id,
    );
    response
        .headers_mut()
        .insert("x-amzn-ErrorType", HeaderValue::from_static(error.code()));
    response
}

/// A poisoned lock still holds consistent data here: every write is one assignment.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
