//! The apigatewayv2 control plane over HTTP (docs/control-plane.md): SigV4 with its own keys
//! (service `apigateway`), a rate limit, the typed operations of `switchboard-control` applied
//! to its state, the result served through [`GatewayState::install`] and stored.

pub mod request;
pub mod shared;
pub mod store;

use crate::management::auth;
use crate::management::errors::{respond, MgmtError, MgmtResponse};
use crate::server::GatewayState;
use crate::throttle::{Limits, TokenBucket};
use bytes::Bytes;
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use shared::{ShareError, SharedApis};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use switchboard_control::{
    apply, served, served_json, Api, Context, ControlError, ControlState, Op,
};
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
    /// Scheme and address of the WebSocket listener, for `apiEndpoint`.
    endpoint: Mutex<Option<(&'static str, std::net::SocketAddr)>>,
    /// Cluster mode: where every node's APIs are shared.
    shared: OnceLock<Arc<dyn SharedApis>>,
    /// Cluster mode: the shared revision of each API this node serves.
    revisions: Mutex<HashMap<String, u64>>,
    /// One change at a time from this node (a shared write is awaited in between).
    writer: tokio::sync::Mutex<()>,
}

/// Largest stored form of one API (its resources and kept deployments): a change past it is
/// refused, so a caller's keys cannot grow the store without bound.
pub const MAX_API_BYTES: usize = 4 * 1024 * 1024;

/// Most attempts of a change whose shared write lost a race to another node.
const SHARED_ATTEMPTS: usize = 16;
/// How long a retry waits for the other node's change to arrive.
const SHARED_CATCH_UP: Duration = Duration::from_secs(2);

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
            endpoint: Mutex::new(None),
            shared: OnceLock::new(),
            revisions: Mutex::new(HashMap::new()),
            writer: tokio::sync::Mutex::new(()),
        }))
    }

    /// Sets the WebSocket listener's scheme (`ws`, `wss`) and address once it is bound.
    pub fn set_endpoint(&self, scheme: &'static str, addr: std::net::SocketAddr) {
        *lock(&self.endpoint) = Some((scheme, addr));
    }

    /// `scheme://host:port` of the WebSocket listener as a caller reaches it: a listener on
    /// every address (`0.0.0.0`, `::`) is named by the host the caller used for this call.
    fn endpoint_for(&self, caller_host: Option<&str>) -> String {
        let Some((scheme, addr)) = *lock(&self.endpoint) else {
            return String::new();
        };
        let host = match caller_host.map(host_part) {
            Some(host) if addr.ip().is_unspecified() && !host.is_empty() => host.to_owned(),
            _ if addr.is_ipv6() => format!("[{}]", addr.ip()),
            _ => addr.ip().to_string(),
        };
        format!("{scheme}://{host}:{}", addr.port())
    }

    /// Where the control plane listens when not on the management listener.
    pub fn listen(&self) -> Option<&str> {
        self.settings.listen.as_deref()
    }

    /// `base` (the file) with the APIs the control plane serves, to start with; `base` is kept
    /// for the next change. An API whose id the file also uses is left out (the file wins)
    /// with a warning.
    pub fn compose(&self, base: Config) -> Config {
        *lock(&self.base) = base.clone();
        compose(&base, &lock(&self.state))
    }

    /// Serves a new file configuration with the control plane's APIs (SIGHUP). The state stays
    /// locked meanwhile, so a deployment cannot be overtaken by an older composition; `base`
    /// is kept only when the gateway accepted it.
    pub fn reload(
        &self,
        gateway: &GatewayState,
        base: Config,
    ) -> Result<(), crate::error::BuildError> {
        let state = lock(&self.state);
        gateway.install(compose(&base, &state))?;
        *lock(&self.base) = base;
        Ok(())
    }

    /// Serves one `/v2/...` request: SigV4 head, rate limit, body, SigV4 body, operation.
    pub async fn handle(
        &self,
        gateway: &GatewayState,
        req: Request<Incoming>,
        deadline: Duration,
        request_id: &str,
    ) -> MgmtResponse {
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
        // After the signature head: strangers are refused without spending the callers' tokens.
        if !self.bucket.try_acquire() {
            return error_response(&ControlError::TooManyRequests, request_id);
        }
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
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok());
        let endpoint = self.endpoint_for(host);
        let result = self.run(gateway, op, &endpoint).await;
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

    /// Applies `op` to a copy of the state. A change is shared first in cluster mode (each
    /// API it touches written if nobody changed it meanwhile; otherwise the newer API is
    /// awaited and the operation applied again), then served (every connection kept) and
    /// stored before the copy becomes the state.
    async fn run(
        &self,
        gateway: &GatewayState,
        op: Op,
        endpoint: &str,
    ) -> Result<(u16, Option<serde_json::Value>), ControlError> {
        if !op.is_change() {
            let mut copy = lock(&self.state).clone();
            return Ok(self.apply_to(&mut copy, op, endpoint)?.into_response());
        }
        let _writer = self.writer.lock().await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            // The state and the revisions it was read at, together (locks: state, then revisions).
            let (mut next, known) = {
                let state = lock(&self.state);
                let known = lock(&self.revisions).clone();
                (state.clone(), known)
            };
            let outcome = self.apply_to(&mut next, op.clone(), endpoint)?;
            let changed = changed_apis(&lock(&self.state), &next);
            for (id, api) in &changed {
                let size = api
                    .as_ref()
                    .and_then(|api| serde_json::to_vec(api).ok())
                    .map_or(0, |bytes| bytes.len());
                if size > MAX_API_BYTES {
                    return Err(ControlError::BadRequest(format!(
                        "API {id} would take {size} bytes, over the limit of {MAX_API_BYTES}: \
                         delete unused resources or deployments first"
                    )));
                }
            }
            let Some(shared) = self.shared.get() else {
                self.commit(gateway, next, &HashMap::new())?;
                return Ok(outcome.into_response());
            };
            let mut written = HashMap::new();
            let mut conflict = None;
            for (id, api) in &changed {
                let expected = known.get(id).copied().unwrap_or(0);
                let bytes = match api {
                    Some(api) => Some(serde_json::to_vec(api).map_err(|e| {
                        ControlError::BadRequest(format!("the API cannot be stored: {e}"))
                    })?),
                    None => None,
                };
                match shared.put(id, bytes, expected).await {
                    Ok(revision) => {
                        written.insert(id.clone(), revision);
                    }
                    Err(ShareError::Conflict) => {
                        conflict = Some(id.clone());
                        break;
                    }
                    Err(ShareError::Unavailable(e)) => return Err(ControlError::Unavailable(e)),
                    Err(ShareError::Refused(e)) => return Err(ControlError::BadRequest(e)),
                }
            }
            match conflict {
                None => {
                    self.commit(gateway, next, &written)?;
                    return Ok(outcome.into_response());
                }
                Some(_) if attempt >= SHARED_ATTEMPTS => {
                    return Err(ControlError::Conflict(
                        "The API is being changed on another node: retry".into(),
                    ))
                }
                Some(id) => {
                    tracing::debug!(api = %id, attempt, "another node changed the API first; applying again");
                    self.catch_up(&id, known.get(&id).copied()).await;
                    // A random pause, so that nodes racing for one API do not keep colliding.
                    let pause = rand::random_range(0..10u64 * attempt as u64);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
            }
        }
    }

    /// Waits (bounded) until this node holds a version of `api_id` other than the one at
    /// shared revision `baseline` (the one a write just lost to).
    async fn catch_up(&self, api_id: &str, baseline: Option<u64>) {
        let deadline = tokio::time::Instant::now() + SHARED_CATCH_UP;
        while tokio::time::Instant::now() < deadline {
            if lock(&self.revisions).get(api_id).copied() != baseline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn apply_to(
        &self,
        state: &mut ControlState,
        op: Op,
        endpoint: &str,
    ) -> Result<switchboard_control::Outcome, ControlError> {
        let base = lock(&self.base).clone();
        let ctx = Context {
            base: &base,
            now: time::OffsetDateTime::now_utc(),
            endpoint,
            region: &base.aws.region,
            max_apis: self.settings.max_apis,
            max_resources: self.settings.max_resources_per_api,
            max_deployments: self.settings.max_deployments_per_api,
        };
        apply(state, op, &ctx)
    }

    /// Makes `next` the state: served when what is served changed, then stored; `written`
    /// are the shared revisions of the APIs it changed.
    fn commit(
        &self,
        gateway: &GatewayState,
        next: ControlState,
        written: &HashMap<String, u64>,
    ) -> Result<(), ControlError> {
        let mut state = lock(&self.state);
        let mut revisions = lock(&self.revisions);
        // A watch may have delivered our own write already: never go back a revision.
        let mut next = next;
        for (id, revision) in written {
            if revisions.get(id).is_some_and(|r| r > revision) {
                match state.apis.get(id) {
                    Some(api) => next.apis.insert(id.clone(), api.clone()),
                    None => next.apis.remove(id),
                };
                continue;
            }
            revisions.insert(id.clone(), *revision);
        }
        next.revision = next.revision.max(state.revision);
        if served_json(&next) != served_json(&state) {
            let base = lock(&self.base).clone();
            gateway
                .install(compose(&base, &next))
                .map_err(|e| ControlError::BadRequest(format!("Unable to deploy the API: {e}")))?;
        }
        self.save(&next);
        *state = next;
        Ok(())
    }

    fn save(&self, state: &ControlState) {
        if let Err(e) = store::save(&self.store, state) {
            tracing::error!(
                error = %e,
                store = %self.store.display(),
                "the control plane change is served but could not be stored: it is lost on restart"
            );
        }
    }

    /// Cluster mode: from now on every change is written to `shared` first.
    pub fn share(&self, shared: Arc<dyn SharedApis>) {
        let _ = self.shared.set(shared);
    }

    /// The APIs this node holds, with their stored JSON (to seed an empty cluster store).
    pub fn local_apis(&self) -> BTreeMap<String, Vec<u8>> {
        lock(&self.state)
            .apis
            .iter()
            .filter_map(|(id, api)| serde_json::to_vec(api).ok().map(|b| (id.clone(), b)))
            .collect()
    }

    /// Cluster mode: the cluster's APIs replace this node's (at start).
    pub fn adopt_all(&self, gateway: &GatewayState, apis: BTreeMap<String, (Vec<u8>, u64)>) {
        let mut state = lock(&self.state);
        let mut next = state.clone();
        let mut revisions = HashMap::new();
        next.apis.clear();
        for (id, (bytes, revision)) in apis {
            match serde_json::from_slice::<Api>(&bytes) {
                Ok(api) => {
                    next.apis.insert(id.clone(), api);
                    revisions.insert(id, revision);
                }
                Err(e) => {
                    tracing::error!(api = %id, error = %e, "a shared API cannot be read; skipped")
                }
            }
        }
        *lock(&self.revisions) = revisions;
        self.install_adopted(gateway, &mut state, next);
    }

    /// Cluster mode: a change of one API made on any node (`None`: deleted), at `revision`
    /// of the shared store. Older or already seen revisions are ignored. The state and its
    /// revision change together, so a change never starts from a state older than the
    /// revision it names.
    pub fn adopt(&self, gateway: &GatewayState, api_id: &str, api: Option<&[u8]>, revision: u64) {
        let mut state = lock(&self.state);
        let mut revisions = lock(&self.revisions);
        if revisions.get(api_id).is_some_and(|r| *r >= revision) {
            return;
        }
        revisions.insert(api_id.to_owned(), revision);
        drop(revisions);
        let mut next = state.clone();
        match api.map(serde_json::from_slice::<Api>) {
            Some(Ok(api)) => {
                next.apis.insert(api_id.to_owned(), api);
            }
            Some(Err(e)) => {
                tracing::error!(api = %api_id, error = %e, "a shared API cannot be read; skipped");
                return;
            }
            None => {
                next.apis.remove(api_id);
            }
        }
        self.install_adopted(gateway, &mut state, next);
    }

    fn install_adopted(
        &self,
        gateway: &GatewayState,
        state: &mut ControlState,
        mut next: ControlState,
    ) {
        // Deployments made anywhere stay ordered: this node's counter passes every one it saw.
        let newest = next
            .apis
            .values()
            .flat_map(|api| api.deployments.values().map(|d| d.revision))
            .max()
            .unwrap_or(0);
        next.revision = next.revision.max(state.revision).max(newest);
        if served_json(&next) != served_json(state) {
            let base = lock(&self.base).clone();
            if let Err(e) = gateway.install(compose(&base, &next)) {
                tracing::error!(error = %e, "a change from another node cannot be served here; keeping the running configuration");
            }
        }
        self.save(&next);
        *state = next;
    }
}

/// The APIs `next` changed relative to `state` (`None`: deleted).
fn changed_apis(state: &ControlState, next: &ControlState) -> Vec<(String, Option<Api>)> {
    let mut out: Vec<(String, Option<Api>)> = next
        .apis
        .iter()
        .filter(|(id, api)| state.apis.get(*id) != Some(api))
        .map(|(id, api)| (id.clone(), Some(api.clone())))
        .collect();
    out.extend(
        state
            .apis
            .keys()
            .filter(|id| !next.apis.contains_key(*id))
            .map(|id| (id.clone(), None)),
    );
    out
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

/// The host of a `Host` header value, without its port (`[::1]:8081` → `[::1]`).
fn host_part(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
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

#[cfg(test)]
mod tests {
    use super::host_part;

    #[test]
    fn the_host_of_a_host_header() {
        assert_eq!(host_part("gw.example.com:8081"), "gw.example.com");
        assert_eq!(host_part("gw.example.com"), "gw.example.com");
        assert_eq!(host_part("[::1]:8081"), "[::1]");
        assert_eq!(host_part("[::1]"), "[::1]");
    }
}
