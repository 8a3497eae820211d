//! Downloading a block from a bucket into a local directory.

use std::path::Path;

use futures::{StreamExt, TryStreamExt};
use objstore::Bucket;
use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

use crate::{BlockError, CHUNKS_DIRNAME, META_FILENAME, Result, block_key};

/// Files downloaded at once.
const DOWNLOAD_CONCURRENCY: usize = 4;

/// Downloads block `id` into `dir` (created if missing) and returns its meta.
///
/// `meta.json` is fetched first, so a partial block fails early with a not-found error. Every other
/// object under `<id>/` follows, markers included; `chunks/` is created even for an empty block.
pub async fn download_block(bucket: &dyn Bucket, id: Ulid, dir: &Path) -> Result<BlockMeta> {
    tokio::fs::create_dir_all(dir).await.map_err(|e| BlockError::io(dir, e))?;
    let meta_key = block_key(id, META_FILENAME);
    let meta_bytes =
        bucket.get(&meta_key).await.map_err(|e| BlockError::bucket(id, format!("get {meta_key}"), e))?;
    let meta_path = dir.join(META_FILENAME);
    let meta = BlockMeta::from_json(&meta_bytes, &meta_path)?;

    let prefix = format!("{id}/");
    let keys = bucket.list(&prefix, true).await.map_err(|e| BlockError::bucket(id, "list block files", e))?;
    let prefix = prefix.as_str();
    futures::stream::iter(keys.into_iter().filter(|key| key != &meta_key))
        .map(|key| async move {
            let rel_path = key.strip_prefix(prefix).unwrap_or(&key).to_string();
            let local = dir.join(&rel_path);
            if let Some(parent) = local.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(|e| BlockError::io(parent, e))?;
            }
            let bytes =
                bucket.get(&key).await.map_err(|e| BlockError::bucket(id, format!("get {key}"), e))?;
            tokio::fs::write(&local, &bytes).await.map_err(|e| BlockError::io(&local, e))
        })
        .buffer_unordered(DOWNLOAD_CONCURRENCY)
        .try_collect::<()>()
        .await?;

    let chunks_dir = dir.join(CHUNKS_DIRNAME);
    tokio::fs::create_dir_all(&chunks_dir).await.map_err(|e| BlockError::io(&chunks_dir, e))?;
    // meta.json last locally too, so the directory only looks complete once it is.
    tokio::fs::write(&meta_path, &meta_bytes).await.map_err(|e| BlockError::io(&meta_path, e))?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use tsdb_format::Labels;

    use super::*;
    use crate::test_blocks::write_block;
    use crate::{HashFunc, INDEX_FILENAME, upload_block};

    #[tokio::test]
    async fn round_trips_a_block() {
        let local = tempfile::tempdir().unwrap();
        let (_store, bucket) = crate::test_blocks::temp_bucket();
        let id = crate::test_blocks::new_ulid();
        let dir = write_block(local.path(), id);
        let labels = Labels::from_pairs([("a", "b")]);
        let uploaded = upload_block(&bucket, &dir, &labels, "test", HashFunc::None).await.unwrap();

        let out = tempfile::tempdir().unwrap();
        let target = out.path().join(id.to_string());
        let downloaded = download_block(&bucket, id, &target).await.unwrap();
        assert_eq!(downloaded, uploaded);
        assert_eq!(std::fs::read(target.join(INDEX_FILENAME)).unwrap(), b"index-data!");
        assert_eq!(std::fs::read(target.join("chunks/000001")).unwrap(), b"chunks-data");

        let missing =
            download_block(&bucket, crate::test_blocks::new_ulid(), &out.path().join("x")).await.unwrap_err();
        assert!(
            matches!(missing, BlockError::Bucket { ref source, .. } if source.is_not_found()),
            "{missing}"
        );
    }
}
