//! Starting the gateway as a single node, or as a node of a cluster when the file has a
//! `[cluster]` table; and stopping it the way each needs.

use std::time::Duration;
use switchboard_cluster::Cluster;
use switchboard_core::config::Config;
use switchboard_gateway::integrations::IntegrationEnv;
use switchboard_gateway::server::{StartError, StartOptions};
use switchboard_gateway::{Gateway, GatewayHandle};

/// A running gateway and, in cluster mode, its node.
pub struct Node {
    /// The gateway.
    pub gateway: GatewayHandle,
    cluster: Option<Cluster>,
}

/// Why a node did not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The gateway did not start.
    #[error(transparent)]
    Gateway(#[from] StartError),
    /// The cluster could not be joined.
    #[error("cluster: {0}")]
    Cluster(#[from] switchboard_cluster::JoinError),
}

impl Node {
    /// Joins the cluster first when there is one: the node's incarnation tag must be reserved
    /// before any connection id is handed out.
    pub async fn start(config: Config) -> Result<Self, NodeError> {
        let credentials = IntegrationEnv::credentials_from_env();
        let Some(cluster_config) = config.cluster.clone() else {
            let gateway = Gateway::start_with_credentials(config, credentials).await?;
            return Ok(Self {
                gateway,
                cluster: None,
            });
        };
        let cluster = Cluster::join(&cluster_config).await?;
        let options = StartOptions {
            credentials,
            tag: Some(cluster.tag()),
            cluster: Some(cluster.link()),
            cluster_metrics: Some(cluster.metrics()),
        };
        let gateway = Gateway::start_with(config, options).await?;
        cluster.start(std::sync::Arc::clone(&gateway.state)).await?;
        Ok(Self {
            gateway,
            cluster: Some(cluster),
        })
    }

    /// Resolves if the cluster claimed this node (it must stop); never on a single node.
    pub async fn claimed(&self) {
        match &self.cluster {
            Some(cluster) => cluster.claimed().await,
            None => std::future::pending().await,
        }
    }

    /// Stops: every connection closed with 1001 and its `$disconnect` run, within `drain`.
    /// Returns whether everything finished in time.
    pub async fn stop(self, drain: Duration) -> bool {
        if let Some(cluster) = &self.cluster {
            cluster.leaving().await;
        }
        let drained = self.gateway.shutdown(drain).await;
        if let Some(cluster) = &self.cluster {
            cluster.left(drained).await;
        }
        drained
    }
}
