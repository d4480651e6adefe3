//! A node's background work once its gateway runs: answer operations on its connections and
//! its readiness probe, renew its lease, follow everyone else's, claim the silent.

use crate::membership::NodeState;
use crate::node::{lock, parse_record, JoinError, Node};
use crate::takeover::take_over;
use crate::wire;
use async_nats::jetstream::kv::Operation;
use async_nats::{Event, Subscriber};
use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use switchboard_core::ids::NodeTag;
use switchboard_gateway::plane::Outcome;
use switchboard_gateway::server::GatewayState;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

impl Node {
    /// Starts serving `gateway`: subscriptions first (so a request right after readiness
    /// finds them), then the lease, the watch and the link.
    pub(crate) async fn start(
        self: &Arc<Self>,
        gateway: Arc<GatewayState>,
    ) -> Result<(), JoinError> {
        let _ = self.gateway.set(Arc::clone(&gateway));
        self.share_control(&gateway).await?;
        let fail = |e: &dyn std::fmt::Display| JoinError::Register(e.to_string());
        let operations = self
            .client
            .subscribe(self.names.operations(self.tag))
            .await
            .map_err(|e| fail(&e))?;
        let stage_operations = self
            .client
            .subscribe(self.names.stage_operations(self.tag))
            .await
            .map_err(|e| fail(&e))?;
        let pings = self
            .client
            .subscribe(self.names.ping(self.tag))
            .await
            .map_err(|e| fail(&e))?;
        self.client.flush().await.map_err(|e| fail(&e))?;
        tokio::spawn(answer_operations(Arc::clone(self), operations));
        tokio::spawn(answer_stage_operations(Arc::clone(self), stage_operations));
        tokio::spawn(answer_pings(Arc::clone(self), pings));
        tokio::spawn(keep_lease(Arc::clone(self)));
        tokio::spawn(watch_nodes(Arc::clone(self)));
        if let Some(events) = lock(&self.events).take() {
            tokio::spawn(follow_link(Arc::clone(self), events));
        }
        self.probe().await;
        Ok(())
    }

    /// Readiness: this node reaches its own subject through NATS.
    async fn probe(&self) {
        let answered = tokio::time::timeout(
            self.timings.request,
            self.client
                .request(self.names.ping(self.tag), Default::default()),
        )
        .await;
        self.reachable
            .store(matches!(answered, Ok(Ok(_))), Ordering::SeqCst);
    }

    /// Record deletions that failed before, once more.
    async fn retry_stale(&self) {
        let stale = std::mem::take(&mut *lock(&self.stale));
        for sequence in stale {
            self.delete_record(sequence).await;
        }
    }

    /// Claims every node silent for a whole lease (not while this node is unsure of itself).
    fn claim_silent(self: &Arc<Self>) {
        if self.is_fenced() || self.claimed.is_cancelled() {
            return;
        }
        let now = Instant::now();
        let (victims, live) = {
            let membership = lock(&self.membership);
            (
                membership.claimable(now, self.timings.lease),
                membership.live(now, self.timings.lease),
            )
        };
        self.metrics.nodes_live.set(live as i64);
        for victim in victims {
            if !lock(&self.taking_over).insert(victim.tag) {
                continue;
            }
            let node = Arc::clone(self);
            tokio::spawn(async move {
                let tag = victim.tag;
                take_over(Arc::clone(&node), victim).await;
                lock(&node.taking_over).remove(&tag);
            });
        }
    }
}

/// Applies operations other nodes forward for this node's connections.
async fn answer_operations(node: Arc<Node>, mut operations: Subscriber) {
    let Some(gateway) = node.gateway().cloned() else {
        return;
    };
    while let Some(message) = operations.next().await {
        let Some(reply) = message.reply else {
            continue;
        };
        let outcome = match wire::decode_op(message.headers.as_ref(), message.payload) {
            Ok(op) => gateway.plane.local().apply(op),
            Err(e) => {
                tracing::debug!(error = %e, "ignored a malformed operation");
                Outcome::Gone
            }
        };
        let (headers, body) = wire::encode_outcome(&outcome);
        let _ = node.client.publish_with_headers(reply, headers, body).await;
    }
}

/// Applies operations on many connections (broadcast, listing) that another node fans out to
/// every node; a malformed one gets no answer (the caller counts this node as silent).
async fn answer_stage_operations(node: Arc<Node>, mut operations: Subscriber) {
    let Some(gateway) = node.gateway().cloned() else {
        return;
    };
    while let Some(message) = operations.next().await {
        let Some(reply) = message.reply else {
            continue;
        };
        match wire::decode_stage_op(message.headers.as_ref(), message.payload) {
            Ok(op) => {
                let outcome = gateway.plane.local().apply_stage(&op);
                let body = wire::encode_stage_outcome(&outcome);
                let _ = node.client.publish(reply, body).await;
            }
            Err(e) => tracing::debug!(error = %e, "ignored a malformed stage operation"),
        }
    }
}

async fn answer_pings(node: Arc<Node>, mut pings: Subscriber) {
    while let Some(message) = pings.next().await {
        if let Some(reply) = message.reply {
            let _ = node.client.publish(reply, Default::default()).await;
        }
    }
}

/// Every heartbeat: renew, probe, retry deletions, claim the silent.
async fn keep_lease(node: Arc<Node>) {
    let mut tick = tokio::time::interval(node.timings.heartbeat);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = node.stopped.cancelled() => return,
            _ = tick.tick() => {}
        }
        node.renew().await;
        if node.claimed.is_cancelled() {
            return;
        }
        node.probe().await;
        node.retry_stale().await;
        node.claim_silent();
    }
}

/// Follows every node's lease record (current values first, then changes).
async fn watch_nodes(node: Arc<Node>) {
    loop {
        if let Ok(mut watch) = node.nodes.watch_with_history(">").await {
            loop {
                let entry = tokio::select! {
                    _ = node.stopped.cancelled() => return,
                    entry = watch.next() => entry,
                };
                let Some(Ok(entry)) = entry else {
                    break;
                };
                let Some(tag) = NodeTag::parse(&entry.key) else {
                    continue;
                };
                let change = match entry.operation {
                    Operation::Put => parse_record(&entry.value).map(|r| (r, entry.revision)),
                    Operation::Delete | Operation::Purge => None,
                };
                lock(&node.membership).observe(tag, change, Instant::now());
            }
        }
        tokio::select! {
            _ = node.stopped.cancelled() => return,
            _ = tokio::time::sleep(node.timings.heartbeat) => {}
        }
    }
}

/// The NATS link going down and coming back.
async fn follow_link(node: Arc<Node>, mut events: mpsc::UnboundedReceiver<Event>) {
    while let Some(event) = events.recv().await {
        match event {
            Event::Connected => {
                node.link_up.store(true, Ordering::SeqCst);
                node.metrics.link_up.set(1);
                // Others' silence while we could not see them does not count.
                lock(&node.membership).reset_silence(Instant::now());
                tracing::info!("NATS link up");
            }
            Event::Disconnected => {
                node.link_up.store(false, Ordering::SeqCst);
                node.reachable.store(false, Ordering::SeqCst);
                node.metrics.link_up.set(0);
                tracing::warn!("NATS link down: pushes to other nodes answer 503 until it is back");
            }
            _ => {}
        }
    }
}

impl Node {
    /// The node is shutting down on a signal and runs its own `$disconnect`s: nobody claims
    /// it meanwhile (it keeps renewing).
    pub(crate) async fn leaving(self: &Arc<Self>) {
        self.set_state(NodeState::Leaving).await;
    }

    /// The node's gateway stopped. With every `$disconnect` run (`drained`), its lease ends as
    /// dead; otherwise it stops renewing, so a survivor claims it and runs the rest.
    pub(crate) async fn left(self: &Arc<Self>, drained: bool) {
        if drained && !self.claimed.is_cancelled() {
            self.set_state(NodeState::Dead).await;
        }
        self.stopped.cancel();
        let _ = self.client.drain().await;
    }
}
