//! Fetching the metadata of every block in a bucket (Thanos' `MetaFetcher`).
//!
//! A block directory without `meta.json` is a partial upload (or a deletion in progress) and a
//! `meta.json` that does not parse is corrupt; both are reported in [`FetchedMetas::partial`],
//! never fatal. Any other bucket error fails the fetch: the caller would otherwise act on an
//! incomplete view (a compactor could, for example, see a gap that is not there).
//!
//! Filters ([`MetaFilter`]) run after loading, in order, and may drop metas — the seam for
//! consistency delay, deletion marks, time and label selectors.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use objstore::Bucket;
use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

use crate::{BlockError, DEFAULT_CONCURRENCY, META_FILENAME, Result, block_key};

/// Why a block directory has no usable metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartialBlock {
    /// No `meta.json`: an upload in progress or aborted, or a deletion in progress.
    NoMeta,
    /// `meta.json` exists but does not parse; the reason says why.
    CorruptMeta(String),
}

/// What a fetch found: complete blocks and those without usable metadata, both by ULID.
#[derive(Debug, Clone, Default)]
pub struct FetchedMetas {
    /// Metadata of every complete block that passed the filters.
    pub metas: BTreeMap<Ulid, BlockMeta>,
    /// Blocks without usable metadata.
    pub partial: BTreeMap<Ulid, PartialBlock>,
}

/// A step that drops (or edits) fetched metas, like Thanos' `MetadataFilter`.
#[async_trait]
pub trait MetaFilter: Send + Sync {
    /// A short name for errors and logs.
    fn name(&self) -> &'static str;
    /// Removes from `metas` the blocks this filter hides.
    async fn filter(&self, bucket: &dyn Bucket, metas: &mut BTreeMap<Ulid, BlockMeta>) -> Result<()>;
}

/// Loads every block's `meta.json` from a bucket, concurrently, then applies its filters.
pub struct MetaFetcher<'a> {
    bucket: &'a dyn Bucket,
    concurrency: usize,
    filters: Vec<Box<dyn MetaFilter + 'a>>,
}

impl std::fmt::Debug for MetaFetcher<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.filters.iter().map(|filter| filter.name()).collect();
        f.debug_struct("MetaFetcher")
            .field("bucket", &self.bucket.name())
            .field("concurrency", &self.concurrency)
            .field("filters", &names)
            .finish()
    }
}

impl<'a> MetaFetcher<'a> {
    /// A fetcher over `bucket` with [`DEFAULT_CONCURRENCY`] and no filters.
    pub fn new(bucket: &'a dyn Bucket) -> Self {
        Self { bucket, concurrency: DEFAULT_CONCURRENCY, filters: Vec::new() }
    }

    /// Sets how many `meta.json` files are read at once (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Appends a filter; filters run in the order they were added.
    pub fn with_filter(mut self, filter: impl MetaFilter + 'a) -> Self {
        self.filters.push(Box::new(filter));
        self
    }

    /// Lists the bucket, loads every block's metadata, and applies the filters.
    pub async fn fetch(&self) -> Result<FetchedMetas> {
        let ids = list_block_ids(self.bucket).await?;
        let loaded: Vec<(Ulid, Result<BlockMeta, PartialBlock>)> = futures::stream::iter(ids)
            .map(|id| async move { load_meta(self.bucket, id).await.map(|outcome| (id, outcome)) })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        let mut fetched = FetchedMetas::default();
        for (id, outcome) in loaded {
            match outcome {
                Ok(meta) => {
                    fetched.metas.insert(id, meta);
                }
                Err(partial) => {
                    fetched.partial.insert(id, partial);
                }
            }
        }
        for filter in &self.filters {
            filter.filter(self.bucket, &mut fetched.metas).await?;
        }
        Ok(fetched)
    }
}

/// Fetches the metadata of every block in `bucket` with no filters.
pub async fn fetch_metas(bucket: &dyn Bucket) -> Result<FetchedMetas> {
    MetaFetcher::new(bucket).fetch().await
}

/// The ULIDs of every top-level directory of `bucket` named like a block, sorted.
pub async fn list_block_ids(bucket: &dyn Bucket) -> Result<Vec<Ulid>> {
    let entries = bucket.list("", false).await.map_err(BlockError::List)?;
    let mut ids: Vec<Ulid> = entries
        .iter()
        .filter_map(|entry| entry.strip_suffix('/'))
        .filter_map(|name| Ulid::from_string(name).ok())
        .collect();
    ids.sort();
    Ok(ids)
}

/// Reads and parses one block's `meta.json`; the inner error marks a partial block.
async fn load_meta(bucket: &dyn Bucket, id: Ulid) -> Result<Result<BlockMeta, PartialBlock>> {
    let key = block_key(id, META_FILENAME);
    let bytes = match bucket.get(&key).await {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return Ok(Err(PartialBlock::NoMeta)),
        Err(e) => return Err(BlockError::bucket(id, format!("get meta file: {key}"), e)),
    };
    match BlockMeta::from_json(&bytes, Path::new(&key)) {
        Ok(meta) if meta.ulid != id => {
            Ok(Err(PartialBlock::CorruptMeta(format!("{key}: meta.json names block {}", meta.ulid))))
        }
        Ok(meta) => Ok(Ok(meta)),
        Err(e) => Ok(Err(PartialBlock::CorruptMeta(e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tsdb_format::Labels;

    use super::*;
    use crate::test_blocks::write_block;
    use crate::{HashFunc, upload_block};

    struct DropAll;

    #[async_trait]
    impl MetaFilter for DropAll {
        fn name(&self) -> &'static str {
            "drop-all"
        }
        async fn filter(&self, _: &dyn Bucket, metas: &mut BTreeMap<Ulid, BlockMeta>) -> Result<()> {
            metas.clear();
            Ok(())
        }
    }

    #[tokio::test]
    async fn reports_complete_partial_and_corrupt_blocks() {
        let local = tempfile::tempdir().unwrap();
        let (_store, bucket) = crate::test_blocks::temp_bucket();
        let labels = Labels::from_pairs([("a", "b")]);
        let good = crate::test_blocks::new_ulid();
        upload_block(&bucket, &write_block(local.path(), good), &labels, "test", HashFunc::None)
            .await
            .unwrap();
        let partial = crate::test_blocks::new_ulid();
        bucket.put(&block_key(partial, "index"), Bytes::from_static(b"x")).await.unwrap();
        let corrupt = crate::test_blocks::new_ulid();
        bucket.put(&block_key(corrupt, META_FILENAME), Bytes::from_static(b"{nope")).await.unwrap();
        bucket.put("not-a-block/file", Bytes::from_static(b"x")).await.unwrap();

        assert_eq!(list_block_ids(&bucket).await.unwrap().len(), 3);
        let fetched = fetch_metas(&bucket).await.unwrap();
        assert_eq!(fetched.metas.keys().copied().collect::<Vec<_>>(), vec![good]);
        assert_eq!(fetched.partial.get(&partial), Some(&PartialBlock::NoMeta));
        assert!(matches!(fetched.partial.get(&corrupt), Some(PartialBlock::CorruptMeta(_))));

        let filtered =
            MetaFetcher::new(&bucket).with_concurrency(2).with_filter(DropAll).fetch().await.unwrap();
        assert!(filtered.metas.is_empty());
        assert_eq!(filtered.partial.len(), 2);
    }
}
