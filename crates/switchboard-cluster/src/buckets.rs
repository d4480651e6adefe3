//! The two key-value buckets of a cluster, made by hand: the client library's own bucket
//! creation asks the server for account details in a shape older servers (2.9, as Debian
//! ships) do not give, while a stream named `KV_<bucket>` with the key-value settings works
//! everywhere. Deletion by sequence is allowed so a connection's record leaves no tombstone.

use async_nats::jetstream::{self, kv, stream};
use std::time::Duration;
use switchboard_core::config::{ClusterKv, ClusterStorage};

/// Why a bucket could not be had.
#[derive(Debug, thiserror::Error)]
#[error("JetStream bucket {bucket}: {message}")]
pub struct BucketError {
    /// The bucket.
    pub bucket: String,
    /// What failed.
    pub message: String,
}

/// The stream that holds the key-value bucket `bucket`.
pub fn stream_name(bucket: &str) -> String {
    format!("KV_{bucket}")
}

/// The bucket named `bucket`, created if missing (several nodes may race to create it).
/// `max_age` expires values not renewed for that long (zero: never).
pub async fn ensure(
    js: &jetstream::Context,
    bucket: &str,
    settings: &ClusterKv,
    max_age: Duration,
) -> Result<(kv::Store, stream::Stream), BucketError> {
    let fail = |message: String| BucketError {
        bucket: bucket.to_owned(),
        message,
    };
    let name = stream_name(bucket);
    if js.get_stream(&name).await.is_err() {
        let config = stream::Config {
            name: name.clone(),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            max_age,
            storage: match settings.storage {
                ClusterStorage::File => stream::StorageType::File,
                ClusterStorage::Memory => stream::StorageType::Memory,
            },
            num_replicas: settings.replicas,
            allow_rollup: true,
            deny_delete: false,
            deny_purge: false,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        };
        if let Err(e) = js.create_stream(config).await {
            // Another node may have created it meanwhile; if not, the error stands.
            if js.get_stream(&name).await.is_err() {
                return Err(fail(format!("cannot create the stream {name}: {e}")));
            }
        }
    }
    let stream = js
        .get_stream(&name)
        .await
        .map_err(|e| fail(format!("cannot read the stream {name}: {e}")))?;
    let store = js
        .get_key_value(bucket)
        .await
        .map_err(|e| fail(format!("cannot bind the bucket: {e}")))?;
    Ok((store, stream))
}

/// Deletes message `sequence` of `stream` (a connection record) without erasing it. A plain
/// delete asks the server to overwrite the message on disk first, which on file storage
/// costs a write and a sync per record, slowing every connection record written meanwhile;
/// a record that only has to disappear does not need it.
pub async fn delete_message(
    js: &jetstream::Context,
    stream: &str,
    sequence: u64,
) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Deleted {
        success: bool,
    }
    let subject = format!("STREAM.MSG.DELETE.{stream}");
    let request = serde_json::json!({ "seq": sequence, "no_erase": true });
    match js.request(subject, &request).await {
        Ok(jetstream::response::Response::Ok(Deleted { success: true })) => Ok(()),
        Ok(jetstream::response::Response::Ok(_)) => Err("the server did not delete it".into()),
        Ok(jetstream::response::Response::Err { error }) => Err(error.to_string()),
        Err(e) => Err(e.to_string()),
    }
}
