//! The control plane's APIs shared through JetStream key-value (docs/control-plane.md,
//! "Cluster"): one key per API in `sb_<cluster>_control`, written with the revision it
//! replaces; every node watches the bucket and serves each change in the order it was made.

use crate::node::{JoinError, Node};
use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use switchboard_gateway::control::shared::{ShareError, SharedApis};
use switchboard_gateway::control::ControlPlane;
use switchboard_gateway::server::GatewayState;

/// The bucket as the control plane's shared store.
struct SharedBucket {
    kv: kv::Store,
    node: Arc<Node>,
}

impl SharedApis for SharedBucket {
    fn put(
        &self,
        api_id: &str,
        api: Option<Vec<u8>>,
        expected: u64,
    ) -> BoxFuture<'_, Result<u64, ShareError>> {
        let key = api_id.to_owned();
        Box::pin(async move {
            // Known to be cut off: refuse before anything is sent. (A write sent as the link
            // drops is kept by the client and may land when NATS is back: its fate is unknown.)
            if !self.node.link_up.load(Ordering::SeqCst) {
                return Err(ShareError::Unavailable(
                    "the cluster's NATS servers are unreachable".into(),
                ));
            }
            match (api, expected) {
                (Some(bytes), 0) => {
                    self.kv
                        .create(&key, bytes.into())
                        .await
                        .map_err(|e| match e.kind() {
                            CreateErrorKind::AlreadyExists => ShareError::Conflict,
                            _ => refusal(&e.to_string()),
                        })
                }
                (Some(bytes), revision) => self
                    .kv
                    .update(&key, bytes.into(), revision)
                    .await
                    .map_err(|e| match e.kind() {
                        UpdateErrorKind::WrongLastRevision => ShareError::Conflict,
                        _ => refusal(&e.to_string()),
                    }),
                (None, revision) => self
                    .kv
                    .delete_expect_revision(&key, Some(revision))
                    .await
                    .map(|()| 0)
                    .map_err(|e| match e.kind() {
                        UpdateErrorKind::WrongLastRevision => ShareError::Conflict,
                        _ => refusal(&e.to_string()),
                    }),
            }
        })
    }
}

/// A failed write by its cause: JetStream's wrong-sequence answer is a lost race, a payload
/// over the server's limit a refusal, anything else the store being out of reach.
fn refusal(message: &str) -> ShareError {
    let lower = message.to_ascii_lowercase();
    if lower.contains("wrong last sequence") {
        ShareError::Conflict
    } else if lower.contains("payload") {
        ShareError::Refused(format!(
            "The API is too large to share in the cluster: {message}"
        ))
    } else {
        ShareError::Unavailable(message.to_owned())
    }
}

impl Node {
    /// Cluster mode of the control plane: the cluster's APIs replace this node's (an empty
    /// bucket is seeded with this node's), changes go to the bucket first, and every change
    /// made anywhere is followed.
    pub(crate) async fn share_control(
        self: &Arc<Self>,
        gateway: &Arc<GatewayState>,
    ) -> Result<(), JoinError> {
        let Some(control) = gateway.control.clone() else {
            return Ok(());
        };
        let fail = |e: &dyn std::fmt::Display| JoinError::Register(format!("control plane: {e}"));
        let js = async_nats::jetstream::new(self.client.clone());
        let (kv, _) = crate::buckets::ensure(
            &js,
            &self.names.control_bucket(),
            &self.kv_settings,
            Duration::ZERO,
        )
        .await?;
        let keys = || async {
            let keys: Vec<String> = kv
                .keys()
                .await
                .map_err(|e| fail(&e))?
                .try_collect()
                .await
                .map_err(|e| fail(&e))?;
            Ok::<_, JoinError>(keys)
        };
        if keys().await?.is_empty() {
            for (id, bytes) in control.local_apis() {
                // Another node seeding at once wins for its keys; ours then follow by watch.
                let _ = kv.create(&id, bytes.into()).await;
            }
        }
        let mut apis = BTreeMap::new();
        for key in keys().await? {
            if let Some(entry) = kv.entry(&key).await.map_err(|e| fail(&e))? {
                if entry.operation == Operation::Put {
                    apis.insert(key, (entry.value.to_vec(), entry.revision));
                }
            }
        }
        tracing::info!(
            apis = apis.len(),
            "control plane: serving the cluster's APIs"
        );
        control.adopt_all(gateway, apis);
        control.share(Arc::new(SharedBucket {
            kv: kv.clone(),
            node: Arc::clone(self),
        }));
        tokio::spawn(follow(Arc::clone(self), Arc::clone(gateway), control, kv));
        Ok(())
    }
}

/// Applies every change of the bucket, in order, until the node stops; a broken watch is
/// opened again (with the latest value of each key, so nothing is missed).
async fn follow(
    node: Arc<Node>,
    gateway: Arc<GatewayState>,
    control: Arc<ControlPlane>,
    kv: kv::Store,
) {
    loop {
        let mut watch = match kv.watch_with_history(">").await {
            Ok(watch) => watch,
            Err(e) => {
                tracing::warn!(error = %e, "control plane: cannot watch the shared APIs; retrying");
                tokio::select! {
                    _ = node.stopped.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            let entry = tokio::select! {
                _ = node.stopped.cancelled() => return,
                entry = watch.next() => entry,
            };
            match entry {
                Some(Ok(entry)) => {
                    let value = (entry.operation == Operation::Put).then_some(&entry.value[..]);
                    control.adopt(&gateway, &entry.key, value, entry.revision);
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "control plane: the watch of the shared APIs failed");
                    break;
                }
                None => break,
            }
        }
    }
}
