//! Thanos' lazy overlap check for compacted blocks: before the first compacted upload of a pass,
//! the bucket's metas with the shipper's labels are read once; a block overlapping any of them
//! is refused, since the compactor would halt on it.

use tsdb_format::Labels;
use tsdb_format::meta::BlockMeta;

use crate::{META_FILENAME, block_key, list_block_ids, overlapping_blocks};

/// Metas of the bucket's blocks that carry the shipper's labels, read on first use.
#[derive(Default)]
pub(super) struct LazyOverlapChecker {
    metas: Option<Vec<BlockMeta>>,
}

impl LazyOverlapChecker {
    /// Fails with Thanos' message when `candidate` overlaps a bucket block with `labels`, or when
    /// the bucket's metas cannot all be read (a partial block in the bucket counts, as in Thanos).
    pub(super) async fn check(
        &mut self,
        bucket: &dyn objstore::Bucket,
        labels: &Labels,
        candidate: &BlockMeta,
    ) -> Result<(), String> {
        if self.metas.is_none() {
            tracing::info!(id = %candidate.ulid, "gathering all existing blocks from the remote bucket for check");
            self.metas =
                Some(bucket_metas(bucket, labels).await.map_err(|e| format!("get all block meta.: {e}"))?);
        }
        let metas = self.metas.as_deref().unwrap_or_default();
        let mut all: Vec<&BlockMeta> = vec![candidate];
        all.extend(metas.iter());
        let overlaps = overlapping_blocks(&all);
        if overlaps.is_empty() {
            return Ok(());
        }
        let spotted: Vec<String> = overlaps.iter().map(ToString::to_string).collect();
        Err(format!(
            "shipping compacted block {} is blocked; overlap spotted: {}",
            candidate.ulid,
            spotted.join("\n")
        ))
    }
}

async fn bucket_metas(bucket: &dyn objstore::Bucket, labels: &Labels) -> Result<Vec<BlockMeta>, String> {
    let mut metas = Vec::new();
    for id in list_block_ids(bucket).await.map_err(|e| e.to_string())? {
        let key = block_key(id, META_FILENAME);
        let bytes = bucket.get(&key).await.map_err(|e| format!("get {key}: {e}"))?;
        let meta = BlockMeta::from_json(&bytes, std::path::Path::new(&key)).map_err(|e| e.to_string())?;
        let block_labels =
            meta.thanos.as_ref().map(|t| Labels::from_pairs(t.labels.iter())).unwrap_or_default();
        if &block_labels == labels {
            metas.push(meta);
        }
    }
    Ok(metas)
}
