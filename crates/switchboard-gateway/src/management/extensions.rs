//! The extension operations on many connections (docs/groups.md): broadcast to a stage, a
//! group or a user, list connections, log a user out everywhere. HTTP in, one [`StageOp`] on
//! the connection plane, JSON out.

use super::errors::connection_value;
use super::request::{Kind, Query};
use crate::metrics::BroadcastLabels;
use crate::plane::{ConnectionSnapshot, Filter, Gathered, Payload, Scope, StageOp, StageOutcome};
use crate::server::GatewayState;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

/// Applies an extension operation on many connections; the answer's JSON body.
pub async fn apply(
    state: &GatewayState,
    kind: Kind,
    scope: Scope,
    query: Query,
    body: Bytes,
) -> Bytes {
    let only_group = |group| Filter {
        group: Some(group),
        user: None,
    };
    let only_user = |user| Filter {
        group: None,
        user: Some(user),
    };
    let broadcast = |filter| StageOp::Broadcast {
        scope: scope.clone(),
        filter,
        exclude: query.exclude.clone(),
        payload: Payload::from_bytes(body.clone()),
    };
    let list = |filter| StageOp::List {
        scope: scope.clone(),
        filter,
        after: query.after,
        limit: query.limit,
    };
    let op = match kind {
        Kind::BroadcastToStage => broadcast(Filter::default()),
        Kind::BroadcastToGroup(group) => broadcast(only_group(group)),
        Kind::PostToUser(user) => broadcast(only_user(user)),
        Kind::GetGroup(group) => list(only_group(group)),
        Kind::GetUser(user) => list(only_user(user)),
        Kind::ListConnections => list(Filter {
            group: query.group.clone(),
            user: query.user.clone(),
        }),
        Kind::DeleteUser(user) => StageOp::Disconnect {
            scope: scope.clone(),
            filter: only_user(user),
        },
        // Operations on one connection do not come here.
        Kind::Post | Kind::Get | Kind::Delete | Kind::Join(_) | Kind::Leave(_) => {
            return Bytes::from_static(b"{}")
        }
    };
    let is_broadcast = matches!(op, StageOp::Broadcast { .. });
    let is_disconnect = matches!(op, StageOp::Disconnect { .. });
    let started = Instant::now();
    let gathered = state.plane.apply_stage(op).await;
    let mut body = Map::new();
    match &gathered.outcome {
        StageOutcome::Tally { queued, skipped } if is_broadcast => {
            state
                .metrics
                .broadcast_latency
                .observe(started.elapsed().as_secs_f64());
            let count = |result| {
                state
                    .metrics
                    .broadcast_deliveries
                    .get_or_create(&BroadcastLabels { result })
            };
            count("queued").inc_by(*queued);
            count("skipped").inc_by(*skipped);
            body.insert("queued".into(), json!(queued));
            body.insert("skipped".into(), json!(skipped));
        }
        StageOutcome::Tally { queued, .. } if is_disconnect => {
            body.insert("disconnected".into(), json!(queued));
        }
        StageOutcome::Tally { .. } => {}
        StageOutcome::Page {
            entries,
            more,
            total,
        } => {
            body.insert("count".into(), json!(total));
            body.insert(
                "connections".into(),
                Value::Array(entries.iter().map(entry_value).collect()),
            );
            if let (true, Some(last)) = (*more, entries.last()) {
                body.insert("nextToken".into(), json!(last.info.connection_id.as_str()));
            }
        }
    }
    nodes(&mut body, &gathered);
    Bytes::from(Value::Object(body).to_string())
}

/// How many nodes answered: a cluster answer is complete only when every live node did.
fn nodes(body: &mut Map<String, Value>, gathered: &Gathered) {
    body.insert("nodesAsked".into(), json!(gathered.nodes_asked));
    body.insert("nodesAnswered".into(), json!(gathered.nodes_answered));
    body.insert("complete".into(), json!(gathered.complete()));
}

/// A listed connection: `GetConnection`'s fields, its id, groups and user.
fn entry_value(snapshot: &ConnectionSnapshot) -> Value {
    let mut value = connection_value(snapshot);
    value["connectionId"] = json!(snapshot.info.connection_id.as_str());
    value["groups"] = json!(snapshot.groups);
    value["user"] = json!(snapshot.user);
    value
}
