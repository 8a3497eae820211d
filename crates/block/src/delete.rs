//! Deleting a block in Thanos' safe order: `meta.json` first, `deletion-mark.json` last.
//!
//! Removing `meta.json` first turns the block into a partial upload at once, so no reader picks
//! up a half-deleted block; keeping the deletion mark until the end lets the cleaner recognise a
//! deletion that was interrupted and finish it.

use objstore::Bucket;
use ulid::Ulid;

use crate::markers::DELETION_MARK_FILENAME;
use crate::{BlockError, META_FILENAME, Result, block_key};

/// Deletes every object of block `id`.
pub async fn delete_block(bucket: &dyn Bucket, id: Ulid) -> Result<()> {
    let meta_key = block_key(id, META_FILENAME);
    let mark_key = block_key(id, DELETION_MARK_FILENAME);
    bucket.delete(&meta_key).await.map_err(|e| BlockError::bucket(id, format!("delete {meta_key}"), e))?;
    let keys = bucket
        .list(&format!("{id}/"), true)
        .await
        .map_err(|e| BlockError::bucket(id, "list block files", e))?;
    for key in keys.iter().filter(|key| **key != meta_key && **key != mark_key) {
        bucket.delete(key).await.map_err(|e| BlockError::bucket(id, format!("delete {key}"), e))?;
    }
    bucket.delete(&mark_key).await.map_err(|e| BlockError::bucket(id, format!("delete {mark_key}"), e))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tsdb_format::Labels;

    use super::*;
    use crate::test_blocks::write_block;
    use crate::{HashFunc, upload_block};

    #[tokio::test]
    async fn deletes_everything() {
        let local = tempfile::tempdir().unwrap();
        let (_store, bucket) = crate::test_blocks::temp_bucket();
        let id = crate::test_blocks::new_ulid();
        let other = crate::test_blocks::new_ulid();
        let labels = Labels::from_pairs([("a", "b")]);
        upload_block(&bucket, &write_block(local.path(), id), &labels, "test", HashFunc::None).await.unwrap();
        upload_block(&bucket, &write_block(local.path(), other), &labels, "test", HashFunc::None)
            .await
            .unwrap();
        bucket.put(&block_key(id, DELETION_MARK_FILENAME), Bytes::from_static(b"{}")).await.unwrap();

        delete_block(&bucket, id).await.unwrap();
        assert!(bucket.list(&id.to_string(), true).await.unwrap().is_empty());
        assert_eq!(bucket.list(&other.to_string(), true).await.unwrap().len(), 3);
        // Deleting again (nothing left) succeeds.
        delete_block(&bucket, id).await.unwrap();
    }
}
