//! Aborted partial uploads: block directories without `meta.json` that nobody has touched for
//! longer than [`PARTIAL_UPLOAD_THRESHOLD_AGE`], which the compactor's cleaner deletes (Thanos'
//! `BestEffortCleanAbortedPartialUploads`). This module only finds them.

use std::time::{Duration, SystemTime};

use futures::StreamExt;
use objstore::Bucket;
use ulid::Ulid;

use crate::clock::{from_unix_nanos, unix_nanos};
use crate::markers::DELETION_MARK_FILENAME;
use crate::{DEFAULT_CONCURRENCY, block_key};

/// How long a partial block must be untouched before it counts as aborted (Thanos'
/// `PartialUploadThresholdAge`, 48h). Kept long: uploads of big blocks take a while.
pub const PARTIAL_UPLOAD_THRESHOLD_AGE: Duration = Duration::from_secs(48 * 3600);

/// A partial block old enough to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortedPartialUpload {
    /// The block.
    pub id: Ulid,
    /// When its newest object was written, or the ULID's time when that is unknown.
    pub last_modified: SystemTime,
    /// Whether `last_modified` is the ULID's time (no object times could be read).
    pub from_ulid: bool,
}

/// Which of the `partial` blocks (from [`crate::FetchedMetas::partial`]) are aborted uploads at
/// `now`: their newest object is more than `threshold` old. Blocks carrying a deletion mark are
/// left to the deletion path. Best effort, like Thanos: when object times cannot be read the
/// ULID's time stands in, and a block whose deletion mark cannot be checked is skipped.
pub async fn aborted_partial_uploads(
    bucket: &dyn Bucket,
    partial: impl IntoIterator<Item = Ulid>,
    now: SystemTime,
    threshold: Duration,
) -> Vec<AbortedPartialUpload> {
    let now = unix_nanos(now);
    let threshold = threshold.as_nanos() as i128;
    let mut found: Vec<AbortedPartialUpload> = futures::stream::iter(partial)
        .map(|id| async move {
            match bucket.exists(&block_key(id, DELETION_MARK_FILENAME)).await {
                Ok(false) => {}
                Ok(true) => {
                    tracing::debug!(block = %id, "ignoring partial block marked for deletion");
                    return None;
                }
                Err(error) => {
                    tracing::warn!(block = %id, %error, "cannot check the deletion mark of a partial block; skipping");
                    return None;
                }
            }
            let upload = match newest_modification(bucket, id).await {
                Some(last_modified) => AbortedPartialUpload { id, last_modified, from_ulid: false },
                None => AbortedPartialUpload {
                    id,
                    last_modified: from_unix_nanos(i128::from(id.timestamp_ms()) * 1_000_000),
                    from_ulid: true,
                },
            };
            (now - unix_nanos(upload.last_modified) > threshold).then_some(upload)
        })
        .buffer_unordered(DEFAULT_CONCURRENCY)
        .filter_map(std::future::ready)
        .collect()
        .await;
    found.sort_by_key(|upload| upload.id);
    found
}

/// The newest modification time of block `id`'s objects; `None` if it cannot be read.
async fn newest_modification(bucket: &dyn Bucket, id: Ulid) -> Option<SystemTime> {
    let keys = match bucket.list(&format!("{id}/"), true).await {
        Ok(keys) => keys,
        Err(error) => {
            tracing::warn!(block = %id, %error, "failed to list a partial block; using its ULID time");
            return None;
        }
    };
    let mut newest: Option<SystemTime> = None;
    for key in keys {
        match bucket.attributes(&key).await {
            Ok(attributes) => newest = newest.max(Some(attributes.last_modified)),
            Err(error) if error.is_not_found() => {}
            Err(error) => {
                tracing::warn!(block = %id, %error, "failed to read object times; using the ULID time");
                return None;
            }
        }
    }
    newest
}
