//! Claiming a node that fell silent and running its `$disconnect`s: exactly one survivor wins
//! the compare-and-set on the silent node's record, reads the node's connection records, runs
//! each `$disconnect` (close code 1006, a reason naming the cause), and deletes each record
//! once its `$disconnect` returned. While it works it renews the claimed record, so that if it
//! dies too, its claim falls silent and is itself claimed and resumed.

use crate::membership::{Claimable, NodeRecord, NodeState};
use crate::node::{lock, Node};
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_core::context::{ConnectionInfo, DisconnectStatus};
use switchboard_gateway::dispatch;
use tokio::sync::Semaphore;

/// `$disconnect`s of a claimed node run at once at most.
const PARALLEL_DISCONNECTS: usize = 64;
/// Records read per batch.
const BATCH: usize = 256;

/// Claims `victim` and runs its `$disconnect`s, unless another node won the claim.
pub(crate) async fn take_over(node: Arc<Node>, victim: Claimable) {
    let Some(gateway) = node.gateway().cloned() else {
        return;
    };
    let claim = NodeRecord {
        state: NodeState::Claimed,
        claimed_by: Some(node.tag.to_string()),
        ..victim.record.renewed()
    };
    let Ok(value) = serde_json::to_vec(&claim) else {
        return;
    };
    let key = victim.tag.to_string();
    let Ok(revision) = node.nodes.update(&key, value.into(), victim.revision).await else {
        // Another node claimed it first, or it came back.
        return;
    };
    let name = victim.record.node_name.clone();
    tracing::warn!(node = %name, tag = %victim.tag, "claimed a node that stopped renewing its lease: running its $disconnects");
    // Keep the claim alive while working.
    let current = Arc::new(Mutex::new(revision));
    let renewing = tokio::spawn(renew_claim(
        Arc::clone(&node),
        key.clone(),
        claim,
        Arc::clone(&current),
    ));
    let status = DisconnectStatus {
        code: 1006,
        reason: format!(
            "Node {name} ({}) stopped renewing its lease; {} ran this $disconnect",
            victim.tag, node.name
        ),
    };
    let records = match records_of(&node, victim.tag).await {
        Ok(records) => records,
        Err(e) => {
            // Left claimed and silent: claimed again later, by this node or another.
            tracing::error!(node = %name, error = %e, "cannot read a claimed node's connections");
            renewing.abort();
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(PARALLEL_DISCONNECTS));
    let mut running = Vec::with_capacity(records.len());
    for (info, sequence) in records {
        let (node, gateway, status, slots) = (
            Arc::clone(&node),
            Arc::clone(&gateway),
            status.clone(),
            Arc::clone(&slots),
        );
        running.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            dispatch::disconnect(&gateway, &info, None, status).await;
            node.delete_record(sequence).await;
            node.metrics.takeover_disconnects.inc();
        }));
    }
    let total = running.len();
    for task in running {
        let _ = task.await;
    }
    renewing.abort();
    let revision = *lock(&current);
    finish(&node, &key, &victim.record, revision).await;
    tracing::warn!(node = %name, tag = %victim.tag, disconnects = total, "takeover finished");
}

/// Renews a claimed record every heartbeat until aborted.
async fn renew_claim(
    node: Arc<Node>,
    key: String,
    mut claim: NodeRecord,
    current: Arc<Mutex<u64>>,
) {
    loop {
        tokio::time::sleep(node.timings.heartbeat).await;
        claim = claim.renewed();
        let Ok(value) = serde_json::to_vec(&claim) else {
            return;
        };
        let revision = *lock(&current);
        match node.nodes.update(&key, value.into(), revision).await {
            Ok(next) => *lock(&current) = next,
            Err(e) => {
                tracing::warn!(error = %e, "cannot renew a claim; another node may resume it");
                return;
            }
        }
    }
}

/// Marks the claimed node dead: every connection of it has had its `$disconnect`.
async fn finish(node: &Node, key: &str, record: &NodeRecord, revision: u64) {
    let dead = NodeRecord {
        state: NodeState::Dead,
        claimed_by: Some(node.tag.to_string()),
        ..record.renewed()
    };
    if let Ok(value) = serde_json::to_vec(&dead) {
        let _ = node.nodes.update(key, value.into(), revision).await;
    }
}

/// Every connection record of `tag`, with its stream sequence.
async fn records_of(
    node: &Node,
    tag: switchboard_core::ids::NodeTag,
) -> Result<Vec<(ConnectionInfo, u64)>, String> {
    let consumer = node
        .conns_stream
        .create_consumer(pull::Config {
            filter_subject: node.names.node_records(tag),
            deliver_policy: DeliverPolicy::LastPerSubject,
            ack_policy: AckPolicy::None,
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut consumer = consumer;
    let pending = consumer
        .info()
        .await
        .map_err(|e| e.to_string())?
        .num_pending as usize;
    let mut out = Vec::with_capacity(pending);
    let mut seen = 0;
    while seen < pending {
        let mut batch = consumer
            .fetch()
            .max_messages(BATCH.min(pending - seen))
            .expires(node.timings.request)
            .messages()
            .await
            .map_err(|e| e.to_string())?;
        let before = seen;
        while let Some(message) = batch.next().await {
            let message = message.map_err(|e| e.to_string())?;
            seen += 1;
            let sequence = message.info().map_err(|e| e.to_string())?.stream_sequence;
            match serde_json::from_slice::<ConnectionInfo>(&message.payload) {
                Ok(info) => out.push((info, sequence)),
                Err(e) => {
                    tracing::warn!(error = %e, "an unreadable connection record is deleted");
                    node.delete_record(sequence).await;
                }
            }
        }
        if seen == before {
            return Err(format!(
                "read {seen} of {pending} records, then nothing more"
            ));
        }
    }
    Ok(out)
}
