//! Keeping this node's lease: renew it every heartbeat, fence when renewals fail for
//! `fenceMs`, come back when they succeed again, and stop for good when another node claimed
//! this one.

use crate::membership::{NodeRecord, NodeState};
use crate::names::Names;
use crate::node::{lock, parse_record, taken, Node};
use async_nats::jetstream::kv;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use switchboard_gateway::dispatch;
use switchboard_gateway::plane::CloseCause;
use tokio::time::Instant;

impl Node {
    /// One renewal of the lease, and what follows from its result.
    pub(crate) async fn renew(self: &Arc<Self>) {
        let (next, revision) = {
            let lease = lock(&self.lease);
            (lease.record.renewed(), lease.revision)
        };
        let Ok(value) = serde_json::to_vec(&next) else {
            return;
        };
        let update = tokio::time::timeout(
            self.timings.heartbeat,
            self.nodes
                .update(self.tag.to_string(), value.into(), revision),
        )
        .await;
        match update {
            Ok(Ok(revision)) => self.renewed(next, revision).await,
            Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                self.reconcile().await
            }
            _ => self.renewal_failed(),
        }
    }

    /// The lease is ours and current: serve again if fenced.
    async fn renewed(self: &Arc<Self>, record: NodeRecord, revision: u64) {
        {
            let mut lease = lock(&self.lease);
            lease.record = record;
            lease.revision = revision;
            lease.renewed_at = Instant::now();
        }
        if self.fenced.swap(false, Ordering::SeqCst) {
            self.metrics.fenced.set(0);
            let held = std::mem::take(&mut *lock(&self.held));
            tracing::warn!(
                held = held.len(),
                "lease renewed again: serving, and running the $disconnects held while fenced"
            );
            if let Some(gateway) = self.gateway().cloned() {
                for (info, status) in held {
                    dispatch::disconnect(&gateway, &info, None, status).await;
                    self.forget_connection(info.connection_id).await;
                }
            }
        }
    }

    /// No renewal: after `fenceMs` without one, stop serving.
    fn renewal_failed(self: &Arc<Self>) {
        let since = lock(&self.lease).renewed_at.elapsed();
        if since >= self.timings.fence && !self.fenced.swap(true, Ordering::SeqCst) {
            self.metrics.fenced.set(1);
            tracing::error!(
                silent_ms = since.as_millis() as u64,
                "cannot renew this node's lease: fenced, closing every connection (1001) and \
                 holding their $disconnects until the cluster answers"
            );
            self.close_everyone();
        }
    }

    /// The record is not what we last wrote: our last write landed without its answer, or the
    /// cluster lost its data, or another node claimed us.
    async fn reconcile(self: &Arc<Self>) {
        let entry = tokio::time::timeout(
            self.timings.heartbeat,
            self.nodes.entry(self.tag.to_string()),
        )
        .await;
        match entry {
            Ok(Ok(Some(entry))) => match parse_record(&entry.value) {
                Some(record) if taken(&record) => self.was_claimed(&record),
                Some(record) => self.renewed(record, entry.revision).await,
                None => self.renewal_failed(),
            },
            // Our record is gone (a NATS server restarted without its data): write it again,
            // and our connections' records with it.
            Ok(Ok(None)) => self.rewrite().await,
            _ => self.renewal_failed(),
        }
    }

    async fn rewrite(self: &Arc<Self>) {
        let record = lock(&self.lease).record.clone();
        let Ok(value) = serde_json::to_vec(&record) else {
            return;
        };
        match self.nodes.create(self.tag.to_string(), value.into()).await {
            Ok(revision) => {
                tracing::warn!("this node's lease record was lost by NATS: written again");
                self.renewed(record, revision).await;
                self.rerecord_connections().await;
            }
            Err(_) => self.renewal_failed(),
        }
    }

    async fn rerecord_connections(self: &Arc<Self>) {
        let Some(gateway) = self.gateway().cloned() else {
            return;
        };
        for info in gateway.plane.local().infos() {
            let value = match serde_json::to_vec(&info) {
                Ok(v) => v,
                Err(_) => continue,
            };
            let key = Names::connection_key(self.tag, info.connection_id.as_str());
            if let Ok(sequence) = self.conns.put(key, value.into()).await {
                lock(&self.records).insert(info.connection_id, sequence);
            }
        }
    }

    /// Another node declared this one dead and ran (or runs) its `$disconnect`s: close every
    /// socket without a `$disconnect`, take nothing new, and tell whoever runs the process.
    fn was_claimed(self: &Arc<Self>, record: &NodeRecord) {
        if self.claimed.is_cancelled() {
            return;
        }
        self.fenced.store(true, Ordering::SeqCst);
        self.metrics.fenced.set(1);
        self.claimed.cancel();
        lock(&self.held).clear();
        tracing::error!(
            claimed_by = record.claimed_by.as_deref().unwrap_or("?"),
            "this node was claimed by the cluster (it was silent longer than leaseMs): its \
             $disconnects were run elsewhere; closing every connection and stopping"
        );
        self.close_everyone();
    }

    fn close_everyone(&self) {
        if let Some(gateway) = self.gateway() {
            gateway
                .plane
                .local()
                .close_where(&|_| true, CloseCause::GoingAway);
        }
    }

    /// Marks the lease `state` (leaving on a signal, dead once every `$disconnect` ran).
    pub(crate) async fn set_state(self: &Arc<Self>, state: NodeState) {
        let (record, revision) = {
            let lease = lock(&self.lease);
            let mut record = lease.record.renewed();
            record.state = state;
            (record, lease.revision)
        };
        let Ok(value) = serde_json::to_vec(&record) else {
            return;
        };
        if let Ok(Ok(revision)) = tokio::time::timeout(
            self.timings.request,
            self.nodes
                .update(self.tag.to_string(), value.into(), revision),
        )
        .await
        {
            let mut lease = lock(&self.lease);
            lease.record = record;
            lease.revision = revision;
            lease.renewed_at = Instant::now();
        }
    }
}
