//! From a client message to an integration and back (docs/behaviour.md §2.3, §5, §6): select the route,
//! invoke its integration, and answer with the reply (two-way) or an error frame.

use crate::connection::ConnectionTask;
use crate::error::{ErrorKind, IntegrationError};
use crate::integrations::{Integration, IntegrationReply, Invocation, Place};
use crate::outbound::{Outbound, PushError, MAX_MESSAGE_BYTES};
use crate::runtime::{Route, Stage};
use crate::server::GatewayState;
use base64::Engine as _;
use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use switchboard_core::context::{ConnectionInfo, DisconnectStatus, EventType, RequestContext};
use switchboard_core::frames;
use switchboard_core::ids::AwsId;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A data message from the client.
pub enum Inbound {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message (only with `binaryFrames = "accept"`).
    Binary(Bytes),
}

/// An integration call the connection task drives itself; it resolves to the message to send.
pub type InlineCall = Pin<Box<dyn Future<Output = Option<Outbound>> + Send>>;

/// What became of a client message.
pub enum Handled {
    /// Answered at once: the connection task writes this.
    Reply(Outbound),
    /// A call for the connection task to drive (it had no other call in flight).
    Call(InlineCall),
    /// Nothing to send now (a spawned call answers through the outbound queue, if at all).
    Nothing,
}

/// Handles one client message. MOCK answers here while its templates are cheap, and the reply
/// is returned for the connection task to write; other calls — and MOCK calls whose templates
/// prove costly — take the in-flight `permit` with them and are handed back for the
/// connection task to drive when `inline` (it has no other call in flight: no task spawn, no
/// hop through the outbound queue), or else run in their own task and answer through the
/// outbound queue. The permit stays with the connection when no call leaves, so the next
/// message does not wait to acquire one.
pub async fn message(
    task: &ConnectionTask,
    inbound: Inbound,
    permit: &mut Option<OwnedSemaphorePermit>,
    inline: bool,
) -> Handled {
    handle(task, inbound, permit, inline)
        .await
        .unwrap_or(Handled::Nothing)
}

async fn handle(
    task: &ConnectionTask,
    inbound: Inbound,
    permit: &mut Option<OwnedSemaphorePermit>,
    inline: bool,
) -> Option<Handled> {
    let shared = &task.shared;
    let info = &shared.info;
    let runtime = task.state.runtime.load();
    // Its API was removed by a reload; the reload is closing this connection.
    let api = runtime.apis.get(&info.api_id)?;
    let (body, is_base64): (Utf8Bytes, bool) = match inbound {
        Inbound::Text(text) => (text, false),
        // Delivered base64-encoded, as `binaryFrames = "accept"` promises (docs/configuration.md).
        Inbound::Binary(bytes) => (
            base64::engine::general_purpose::STANDARD
                .encode(&bytes)
                .into(),
            true,
        ),
    };
    // The stage as the running configuration has it: its deployment's routes.
    let stage = api.stages.get(&info.stage).unwrap_or(&task.stage);
    let definition = &stage.definition;
    let key = definition.route_selection.select_route(body.as_str());
    let Some(route) = definition.route_for(key.as_deref()) else {
        return Some(Handled::Reply(stage.ops.unrouted(info, body.len())));
    };
    if let Some(frame) = stage.ops.admit_message(info, &route.key, body.len()) {
        return Some(Handled::Reply(frame));
    }
    if let Some(frame) = crate::validation::reject(route, info, body.as_str()) {
        return Some(Handled::Reply(Outbound::Text(frame.into())));
    }
    // MOCK needs no I/O: it runs here while its renders stay within the inline budget. Not
    // through `Integration::invoke`, whose future is sized for every integration type and
    // would be carried by every idle connection's task.
    let mut begun: Option<Begun> = None;
    if let Integration::Mock(mock) = &*route.integration {
        let ctx = RequestContext::new(info, EventType::Message, &route.key);
        let inv = Invocation {
            ctx: &ctx,
            body: body.as_str(),
            is_base64,
            stage,
            handshake: None,
        };
        let started = stage.ops.begin(&inv);
        if let Some(result) = mock.invoke_inline(&inv) {
            let result = deliverable(route, result);
            stage.ops.record(&inv, started, &result);
            return reply(route, &ctx, result).map(Handled::Reply);
        }
        // Too costly to finish here: the same request goes on in its own task.
        begun = Some(Begun {
            request_id: ctx.request_id,
            message_id: ctx.message_id,
            request_time_epoch: ctx.request_time_epoch,
            started,
        });
    }
    let permit = permit.take();
    let (shared, route, stage) = (Arc::clone(shared), Arc::clone(route), Arc::clone(stage));
    let state = Arc::clone(&task.state);
    let call = async move {
        let extension = stage.event_extensions.then(|| {
            state
                .plane
                .local()
                .event_extension(&shared.info.connection_id)
        });
        let mut ctx = RequestContext::new(&shared.info, EventType::Message, &route.key);
        ctx.extension = extension.as_ref();
        if let Some(b) = &begun {
            ctx.request_id = b.request_id;
            ctx.message_id = b.message_id;
            ctx.request_time_epoch = b.request_time_epoch;
        }
        let inv = Invocation {
            ctx: &ctx,
            body: body.as_str(),
            is_base64,
            stage: &stage,
            handshake: None,
        };
        let call = async {
            match &*route.integration {
                // Its templates proved too costly to render inline: straight to the pool.
                Integration::Mock(mock) => mock.invoke(&inv, Place::Pool).await,
                integration => integration.invoke(&inv).await,
            }
        };
        let started = match &begun {
            Some(b) => b.started,
            None => stage.ops.begin(&inv),
        };
        let result = stage
            .ops
            .observe_from(&inv, started, async { deliverable(&route, call.await) })
            .await;
        drop(permit);
        reply(&route, &ctx, result)
    };
    if inline {
        return Some(Handled::Call(Box::pin(call)));
    }
    let outbound = Arc::clone(&task.outbound);
    // Tracked: shutdown waits for calls in flight as it waits for `$disconnect`s.
    task.state.tasks.spawn(async move {
        if let Some(out) = call.await {
            // Waits for room: a reply is never dropped because the client reads slowly.
            let _ = outbound.push(out).await;
        }
    });
    None
}

/// The reply of a call the connection task drove, when the socket cannot take it now: it
/// goes through the outbound queue like a spawned call's, waiting for room in a task of its
/// own when the queue is full (a reply is never dropped because the client reads slowly).
pub fn queue_reply(task: &ConnectionTask, out: Outbound) {
    if let Err(PushError::QueueFull) = task.outbound.try_push(out.clone()) {
        let outbound = Arc::clone(&task.outbound);
        task.state.tasks.spawn(async move {
            let _ = outbound.push(out).await;
        });
    }
}

/// A call the connection task was driving when it ended: it runs to completion in its own
/// task, as a spawned call would (its reply has nowhere to go).
pub fn finish_detached(task: &ConnectionTask, call: InlineCall) {
    task.state.tasks.spawn(async move {
        let _ = call.await;
    });
}

/// A MOCK request that began inline and goes on in its own task: its ids and start time.
struct Begun {
    request_id: AwsId,
    message_id: Option<AwsId>,
    request_time_epoch: i64,
    started: Instant,
}

/// A two-way reply larger than a message may be fails the call: replies obey the same limit
/// as `@connections` posts (docs/behaviour.md §7.5).
fn deliverable(
    route: &Route,
    result: Result<IntegrationReply, IntegrationError>,
) -> Result<IntegrationReply, IntegrationError> {
    match result {
        Ok(reply)
            if route.two_way
                && reply
                    .body
                    .as_ref()
                    .is_some_and(|b| b.len() > MAX_MESSAGE_BYTES) =>
        {
            let bytes = reply.body.as_ref().map_or(0, Bytes::len);
            Err(IntegrationError::backend(
                ErrorKind::BadReply,
                format!(
                    "reply of {bytes} bytes is larger than the {MAX_MESSAGE_BYTES}-byte message limit"
                ),
            ))
        }
        other => other,
    }
}

/// The message a result sends to the client: the body on two-way routes, the
/// `Internal server error` frame on any failure, even on one-way routes (docs/behaviour.md §4.2).
fn reply(
    route: &Route,
    ctx: &RequestContext<'_>,
    result: Result<IntegrationReply, IntegrationError>,
) -> Option<Outbound> {
    match result {
        Ok(reply) if route.two_way => reply.body.map(Outbound::from_bytes),
        Ok(_) => None,
        // Logged by `StageOps::observe`, at the level the failure's cause deserves.
        Err(_) => {
            let frame = frames::internal_server_error(
                ctx.connection.connection_id.as_str(),
                ctx.request_id.as_str(),
            );
            Some(Outbound::Text(frame.into()))
        }
    }
}

/// Runs the `$disconnect` route, if any; its result is ignored (docs/behaviour.md §3.3).
/// `connected_stage` is the stage as it was when the connection was made, used when a reload
/// removed it; without it (a connection of a node that died) a removed stage runs nothing.
pub async fn disconnect(
    state: &GatewayState,
    info: &ConnectionInfo,
    connected_stage: Option<&Arc<Stage>>,
    status: DisconnectStatus,
) {
    let runtime = state.runtime.load_full();
    let Some(api) = runtime.apis.get(&info.api_id) else {
        return;
    };
    let Some(stage) = api.stages.get(&info.stage).or(connected_stage) else {
        tracing::warn!(connection_id = %info.connection_id, api = %info.api_id, stage = %info.stage, "no $disconnect: the stage is not configured on this node");
        return;
    };
    let Some(route) = stage.definition.routes.get("$disconnect") else {
        stage.ops.disconnected_without_route(info, &status);
        return;
    };
    let mut ctx = RequestContext::new(info, EventType::Disconnect, &route.key);
    ctx.disconnect = Some(&status);
    let inv = Invocation {
        ctx: &ctx,
        body: "",
        is_base64: false,
        stage,
        handshake: None,
    };
    if let Err(e) = stage
        .ops
        .observe(&inv, route.integration.invoke(&inv))
        .await
    {
        tracing::debug!(connection_id = %info.connection_id, error = %e, "$disconnect integration failed");
    }
}
