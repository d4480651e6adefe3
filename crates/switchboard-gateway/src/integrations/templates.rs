//! Where mapping templates run (docs/configuration.md `[server.limits]`): on the caller's task
//! while a render is cheap, on a few blocking threads once it proves expensive, so a costly
//! template cannot starve the I/O workers that serve every other client.
//!
//! A render first runs inline within [`INLINE_STEPS`] steps and [`INLINE_TIME`]. One that
//! needs more is started again from the beginning on tokio's blocking pool, under a semaphore
//! of half the cores (at least one), within the configured budget. Renders have no side
//! effects, so running one twice changes nothing but the time spent; the wasted inline part is
//! bounded by the inline budget.

use super::Invocation;
use crate::error::{ErrorKind, IntegrationError};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use switchboard_core::context::{ConnectionInfo, DisconnectStatus, EventType, RequestContext};
use switchboard_core::ids::AwsId;
use switchboard_core::template::{
    InputParams, RenderBudget, RenderError, Template, TemplateContext,
};
use tokio::sync::Semaphore;

/// Steps a render may take on the caller's task before it moves to the blocking pool: at most
/// about half a millisecond of a release build; every template of the corpus takes under 250.
pub const INLINE_STEPS: u64 = 1_000;
/// Wall time a render may take on the caller's task (a backstop for steps that are slow).
pub const INLINE_TIME: Duration = Duration::from_millis(1);
/// Longest an expensive render waits for a blocking thread; then the call fails (500).
pub const POOL_WAIT: Duration = Duration::from_secs(10);

/// Where a render may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Inline while cheap, then on the pool.
    InlineFirst,
    /// On the pool at once: an inline attempt already proved too costly.
    Pool,
}

/// Renders templates within the configured budget, inline or on the pool.
#[derive(Debug, Clone)]
pub struct TemplateRunner {
    budget: RenderBudget,
    slots: Arc<Semaphore>,
}

impl Default for TemplateRunner {
    fn default() -> Self {
        Self::new(RenderBudget::default())
    }
}

/// What a template sees, borrowed from the call being handled.
pub struct RenderInput<'a> {
    /// `$input.body`: the client's message, or the backend's reply for response templates.
    pub body: &'a str,
    /// `$context`.
    pub ctx: &'a RequestContext<'a>,
    /// `$stageVariables`.
    pub stage_variables: &'a BTreeMap<String, String>,
    /// `$input.params()`, on `$connect`.
    pub params: Option<&'a InputParams>,
}

impl<'a> RenderInput<'a> {
    /// `body` as `$input.body`, with the context and stage variables of `inv`.
    pub fn new(inv: &'a Invocation<'a>, body: &'a str) -> Self {
        Self {
            body,
            ctx: inv.ctx,
            stage_variables: &inv.stage.variables,
            params: None,
        }
    }

    /// Adds `$input.params()`.
    pub fn with_params(mut self, params: &'a InputParams) -> Self {
        self.params = Some(params);
        self
    }
}

impl TemplateRunner {
    /// A runner with `budget`; every runner shares the gateway's one pool of blocking slots.
    pub fn new(budget: RenderBudget) -> Self {
        static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
        let slots = SLOTS.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Arc::new(Semaphore::new((cores / 2).max(1)))
        });
        Self {
            budget,
            slots: Arc::clone(slots),
        }
    }

    /// The budget of one render.
    pub fn budget(&self) -> &RenderBudget {
        &self.budget
    }

    /// Renders on the caller's task within the inline budget; `None` when the render needs
    /// more and must go to the pool ([`TemplateRunner::render`] with [`Place::Pool`]).
    pub fn render_inline(
        &self,
        template: &Template,
        input: &RenderInput<'_>,
    ) -> Option<Result<String, IntegrationError>> {
        let inline = RenderBudget {
            max_steps: self.budget.max_steps.min(INLINE_STEPS),
            max_output_bytes: self.budget.max_output_bytes,
            max_time: Some(
                self.budget
                    .max_time
                    .map_or(INLINE_TIME, |t| t.min(INLINE_TIME)),
            ),
        };
        let tctx = template_context(input);
        match template.render_within(&tctx, &inline) {
            Ok(text) => Some(Ok(text)),
            // The whole budget was spent here: a second attempt would fail the same way.
            Err(RenderError::Exhausted(e)) if inline == self.budget => Some(Err(failed(e))),
            Err(RenderError::Exhausted(_)) => None,
            Err(RenderError::Failed(e)) => Some(Err(failed(e))),
        }
    }

    /// Renders `template`: inline while cheap, else on the blocking pool.
    pub async fn render(
        &self,
        template: &Template,
        input: &RenderInput<'_>,
        place: Place,
    ) -> Result<String, IntegrationError> {
        if place == Place::InlineFirst {
            if let Some(done) = self.render_inline(template, input) {
                return done;
            }
        }
        let permit = tokio::time::timeout(POOL_WAIT, Arc::clone(&self.slots).acquire_owned())
            .await
            .map_err(|_| {
                IntegrationError::internal(
                    ErrorKind::Saturated,
                    format!(
                        "no thread for an expensive mapping template within {} s",
                        POOL_WAIT.as_secs()
                    ),
                )
            })?
            .map_err(|_| IntegrationError::internal(ErrorKind::Saturated, "render pool closed"))?;
        let job = OwnedInput::copy(input);
        let template = template.clone();
        let budget = self.budget;
        // The permit goes with the render: it is held until the render ends even when the
        // caller stops waiting (a client that disconnects during `$connect`).
        let rendered = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let context = job.context.view();
            let mut tctx = TemplateContext::new(&job.body, &context, &job.stage_variables);
            if let Some(p) = &job.params {
                tctx = tctx.with_params(p);
            }
            template.render_within(&tctx, &budget)
        })
        .await
        .map_err(|e| {
            IntegrationError::internal(ErrorKind::Template, format!("render task failed: {e}"))
        })?;
        rendered.map_err(|e| failed(e.into_template_error()))
    }
}

fn template_context<'a>(input: &'a RenderInput<'a>) -> TemplateContext<'a> {
    let tctx = TemplateContext::new(input.body, input.ctx, input.stage_variables);
    match input.params {
        Some(p) => tctx.with_params(p),
        None => tctx,
    }
}

/// A template that failed is the gateway's configuration failing (docs/behaviour.md §4.6),
/// unless the client sent what it cannot read (`$input.json` on a message that is not JSON).
fn failed(e: switchboard_core::template::TemplateError) -> IntegrationError {
    if e.client_input {
        IntegrationError::client(ErrorKind::Template, e.to_string())
    } else {
        IntegrationError::internal(ErrorKind::Template, e.to_string())
    }
}

/// A render's input, copied so that it can move to a blocking thread.
struct OwnedInput {
    body: String,
    context: OwnedContext,
    stage_variables: BTreeMap<String, String>,
    params: Option<InputParams>,
}

impl OwnedInput {
    fn copy(input: &RenderInput<'_>) -> Self {
        let ctx = input.ctx;
        Self {
            body: input.body.to_owned(),
            context: OwnedContext {
                connection: ctx.connection.clone(),
                event_type: ctx.event_type,
                route_key: ctx.route_key.to_owned(),
                request_id: ctx.request_id,
                message_id: ctx.message_id,
                request_time_epoch: ctx.request_time_epoch,
                disconnect: ctx.disconnect.cloned(),
            },
            stage_variables: input.stage_variables.clone(),
            params: input.params.cloned(),
        }
    }
}

/// A [`RequestContext`] that owns what it refers to.
struct OwnedContext {
    connection: ConnectionInfo,
    event_type: EventType,
    route_key: String,
    request_id: AwsId,
    message_id: Option<AwsId>,
    request_time_epoch: i64,
    disconnect: Option<DisconnectStatus>,
}

impl OwnedContext {
    /// The same values as the request context it was copied from.
    fn view(&self) -> RequestContext<'_> {
        RequestContext {
            connection: &self.connection,
            event_type: self.event_type,
            route_key: &self.route_key,
            request_id: self.request_id,
            message_id: self.message_id,
            request_time_epoch: self.request_time_epoch,
            disconnect: self.disconnect.as_ref(),
            extension: None,
        }
    }
}
