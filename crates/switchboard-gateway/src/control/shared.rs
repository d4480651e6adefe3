//! Cluster mode: the control plane's APIs shared by every node (implemented on NATS JetStream
//! key-value by `switchboard-cluster`). Each API is one key; a write names the revision it
//! replaces, so two nodes changing one API at once cannot lose either change.

use futures_util::future::BoxFuture;

/// Why a shared write did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// Another node changed the API first: read it again and retry.
    #[error("the API was changed on another node meanwhile")]
    Conflict,
    /// The shared store could not be reached.
    #[error("the cluster's store is unreachable: {0}")]
    Unavailable(String),
    /// The store refused the value (too large for the server's payload limit, say).
    #[error("{0}")]
    Refused(String),
}

/// Where the control plane's APIs are shared.
pub trait SharedApis: Send + Sync + 'static {
    /// Writes `api` (its stored JSON; `None` deletes it) if the shared revision of `api_id`
    /// is still `expected` (0: absent). Returns the new revision.
    fn put(
        &self,
        api_id: &str,
        api: Option<Vec<u8>>,
        expected: u64,
    ) -> BoxFuture<'_, Result<u64, ShareError>>;
}
