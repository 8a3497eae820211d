//! Fetching the metadata of every block in a bucket (Thanos' `MetaFetcher`).
//!
//! A block directory without `meta.json` is a partial upload (or a deletion in progress) and a
//! `meta.json` that does not parse is corrupt; both are reported in [`FetchedMetas::partial`],
//! never fatal. Any other bucket error fails the fetch: the caller would otherwise act on an
//! incomplete view (a compactor could, for example, see a gap that is not there).
//!
//! Filters ([`MetaFilter`]) run after loading, in order, and may drop metas — the seam for
//! consistency delay, deletion marks, time and label selectors (see [`crate::filters`]). Each
//! hidden block is counted under a state (see [`synced_state`]) in [`FetchedMetas::states`].
//!
//! Every fetch reports Thanos' fetcher metrics through the `metrics` facade:
//! `thanos_blocks_meta_syncs_total`, `thanos_blocks_meta_sync_failures_total`,
//! `thanos_blocks_meta_sync_duration_seconds` (histogram; Thanos' buckets are
//! [`fetcher_metrics::SYNC_DURATION_BUCKETS`]), `thanos_blocks_meta_synced{state}` and
//! `thanos_blocks_meta_modified{modified}` (gauges, every known state set on every fetch, zero
//! when absent), plus `thanos_blocks_meta_base_syncs_total`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use futures::StreamExt;
use objstore::Bucket;
use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

use crate::{BlockError, DEFAULT_CONCURRENCY, META_FILENAME, Result, block_key};

/// Values of the `state` label of `thanos_blocks_meta_synced`, as Thanos names them.
pub mod synced_state {
    /// `meta.json` does not parse.
    pub const CORRUPTED_META: &str = "corrupted-meta-json";
    /// No `meta.json`: a partial upload or a deletion in progress.
    pub const NO_META: &str = "no-meta-json";
    /// Loaded and passed every filter.
    pub const LOADED: &str = "loaded";
    /// Hidden by the consistency delay.
    pub const TOO_FRESH: &str = "too-fresh";
    /// `meta.json` could not be read (bucket error, unknown version).
    pub const FAILED: &str = "failed";
    /// Dropped by the relabel (sharding) selector.
    pub const LABEL_EXCLUDED: &str = "label-excluded";
    /// Outside `--min-time`/`--max-time`.
    pub const TIME_EXCLUDED: &str = "time-excluded";
    /// Its sources are wholly contained in another block.
    pub const DUPLICATE: &str = "duplicate";
    /// Marked for deletion longer ago than the delay.
    pub const MARKED_FOR_DELETION: &str = "marked-for-deletion";
    /// Loaded, but marked for no compaction (also counted in `loaded`).
    pub const MARKED_FOR_NO_COMPACT: &str = "marked-for-no-compact";
    /// Loaded, but marked for no downsampling (also counted in `loaded`).
    pub const MARKED_FOR_NO_DOWNSAMPLE: &str = "marked-for-no-downsample";
    /// Migrated to the Parquet format.
    pub const PARQUET_MIGRATED: &str = "parquet-migrated";

    /// The states every fetch sets, zero when absent (Thanos' `DefaultSyncedStateLabelValues`).
    pub const DEFAULTS: [&str; 11] = [
        CORRUPTED_META,
        NO_META,
        LOADED,
        TOO_FRESH,
        FAILED,
        LABEL_EXCLUDED,
        TIME_EXCLUDED,
        DUPLICATE,
        MARKED_FOR_DELETION,
        MARKED_FOR_NO_COMPACT,
        PARQUET_MIGRATED,
    ];

    /// The `modified` label of `thanos_blocks_meta_modified`: replica labels removed.
    pub const REPLICA_LABEL_REMOVED: &str = "replica-label-removed";
}

/// Names of the fetcher's metrics (Thanos' `blocks_meta` subsystem under the `thanos_` prefix).
pub mod fetcher_metrics {
    /// Counter: fetch attempts.
    pub const SYNCS_TOTAL: &str = "thanos_blocks_meta_syncs_total";
    /// Counter: bucket reads of all metas (Thanos' base fetcher).
    pub const BASE_SYNCS_TOTAL: &str = "thanos_blocks_meta_base_syncs_total";
    /// Counter: failed fetches.
    pub const SYNC_FAILURES_TOTAL: &str = "thanos_blocks_meta_sync_failures_total";
    /// Histogram: fetch duration in seconds.
    pub const SYNC_DURATION_SECONDS: &str = "thanos_blocks_meta_sync_duration_seconds";
    /// Gauge, label `state`: blocks per state in the last fetch.
    pub const SYNCED: &str = "thanos_blocks_meta_synced";
    /// Gauge, label `modified`: blocks whose metadata a filter changed in the last fetch.
    pub const MODIFIED: &str = "thanos_blocks_meta_modified";
    /// Gauge: the configured consistency delay in seconds.
    pub const CONSISTENCY_DELAY_SECONDS: &str = "thanos_consistency_delay_seconds";
    /// Thanos' buckets for [`SYNC_DURATION_SECONDS`], for the exporter's configuration.
    pub const SYNC_DURATION_BUCKETS: [f64; 7] = [0.01, 1.0, 10.0, 100.0, 300.0, 600.0, 1000.0];
}

/// Why a block directory has no usable metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartialBlock {
    /// No `meta.json`: an upload in progress or aborted, or a deletion in progress.
    NoMeta,
    /// `meta.json` exists but does not parse; the reason says why.
    CorruptMeta(String),
}

/// Per-state block counts of one fetch: what `thanos_blocks_meta_synced` and
/// `thanos_blocks_meta_modified` report. Filters add to them as they hide or edit blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStates {
    synced: BTreeMap<String, u64>,
    modified: BTreeMap<String, u64>,
}

impl SyncStates {
    /// Counts one block under `state` (see [`synced_state`]).
    pub fn inc_synced(&mut self, state: &str) {
        self.add_synced(state, 1);
    }

    /// Counts `n` blocks under `state`.
    pub fn add_synced(&mut self, state: &str, n: u64) {
        *self.synced.entry(state.to_string()).or_default() += n;
    }

    /// Sets the count of `state`.
    pub fn set_synced(&mut self, state: &str, n: u64) {
        self.synced.insert(state.to_string(), n);
    }

    /// Counts one modification under `kind` (e.g. [`synced_state::REPLICA_LABEL_REMOVED`]).
    pub fn inc_modified(&mut self, kind: &str) {
        *self.modified.entry(kind.to_string()).or_default() += 1;
    }

    /// The count of `state`, zero when none.
    pub fn synced(&self, state: &str) -> u64 {
        self.synced.get(state).copied().unwrap_or(0)
    }

    /// The count of modifications of `kind`, zero when none.
    pub fn modified(&self, kind: &str) -> u64 {
        self.modified.get(kind).copied().unwrap_or(0)
    }

    /// Every counted state, by name.
    pub fn synced_states(&self) -> &BTreeMap<String, u64> {
        &self.synced
    }

    /// Every counted modification, by kind.
    pub fn modified_kinds(&self) -> &BTreeMap<String, u64> {
        &self.modified
    }
}

/// What a fetch found: complete blocks and those without usable metadata, both by ULID.
#[derive(Debug, Clone, Default)]
pub struct FetchedMetas {
    /// Metadata of every complete block that passed the filters.
    pub metas: BTreeMap<Ulid, BlockMeta>,
    /// Blocks without usable metadata.
    pub partial: BTreeMap<Ulid, PartialBlock>,
    /// How many blocks ended in each state.
    pub states: SyncStates,
}

/// A step that drops (or edits) fetched metas, like Thanos' `MetadataFilter`.
#[async_trait]
pub trait MetaFilter: Send + Sync {
    /// A short name for errors and logs.
    fn name(&self) -> &'static str;
    /// Removes from `metas` the blocks this filter hides, counting each under its state in
    /// `states`.
    async fn filter(
        &self,
        bucket: &dyn Bucket,
        metas: &mut BTreeMap<Ulid, BlockMeta>,
        states: &mut SyncStates,
    ) -> Result<()>;
}

/// A shared filter: keep an `Arc` to read what it found (deletion marks, duplicates) after a
/// fetch.
#[async_trait]
impl<F: MetaFilter + ?Sized> MetaFilter for Arc<F> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    async fn filter(
        &self,
        bucket: &dyn Bucket,
        metas: &mut BTreeMap<Ulid, BlockMeta>,
        states: &mut SyncStates,
    ) -> Result<()> {
        (**self).filter(bucket, metas, states).await
    }
}

/// Loads every block's `meta.json` from a bucket, concurrently, then applies its filters.
pub struct MetaFetcher<'a> {
    bucket: &'a dyn Bucket,
    concurrency: usize,
    filters: Vec<Box<dyn MetaFilter + 'a>>,
    metric_labels: Vec<metrics::Label>,
    /// States reported before, so a state that disappears is reported as zero.
    reported: Mutex<(BTreeSet<String>, BTreeSet<String>)>,
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

/// The outcome of loading one block's `meta.json`.
enum Loaded {
    Meta(Box<BlockMeta>),
    Partial(PartialBlock),
    Failed(BlockError),
}

impl<'a> MetaFetcher<'a> {
    /// A fetcher over `bucket` with [`DEFAULT_CONCURRENCY`] and no filters.
    pub fn new(bucket: &'a dyn Bucket) -> Self {
        Self {
            bucket,
            concurrency: DEFAULT_CONCURRENCY,
            filters: Vec::new(),
            metric_labels: Vec::new(),
            reported: Mutex::default(),
        }
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

    /// Adds a constant label to every metric this fetcher reports, to tell apart several
    /// fetchers in one process (Thanos gives each its own registry instead).
    pub fn with_metric_label(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.metric_labels.push(metrics::Label::new(key, value.into()));
        self
    }

    /// Lists the bucket, loads every block's metadata, applies the filters, and reports the
    /// fetcher metrics.
    ///
    /// Missing and corrupt `meta.json` files land in [`FetchedMetas::partial`]. Any other failure
    /// to read one ([`synced_state::FAILED`]) fails the fetch with
    /// [`BlockError::IncompleteView`], after the filters have run and the metrics are reported.
    pub async fn fetch(&self) -> Result<FetchedMetas> {
        let start = Instant::now();
        metrics::counter!(fetcher_metrics::SYNCS_TOTAL, self.metric_labels.clone()).increment(1);
        let mut states = SyncStates::default();
        let result = self.fetch_inner(&mut states).await;
        metrics::histogram!(fetcher_metrics::SYNC_DURATION_SECONDS, self.metric_labels.clone())
            .record(start.elapsed().as_secs_f64());
        match &result {
            Ok(fetched) => tracing::debug!(
                bucket = self.bucket.name(),
                duration_ms = start.elapsed().as_millis() as u64,
                returned = fetched.metas.len(),
                partial = fetched.partial.len(),
                "successfully synchronized block metadata"
            ),
            Err(error) => {
                metrics::counter!(fetcher_metrics::SYNC_FAILURES_TOTAL, self.metric_labels.clone())
                    .increment(1);
                tracing::warn!(bucket = self.bucket.name(), %error, "block metadata sync failed");
            }
        }
        self.report(&states);
        result.map(|mut fetched| {
            fetched.states = states;
            fetched
        })
    }

    async fn fetch_inner(&self, states: &mut SyncStates) -> Result<FetchedMetas> {
        metrics::counter!(fetcher_metrics::BASE_SYNCS_TOTAL, self.metric_labels.clone()).increment(1);
        let ids = list_block_ids(self.bucket).await?;
        let loaded: Vec<(Ulid, Loaded)> = futures::stream::iter(ids)
            .map(|id| async move { (id, load_meta(self.bucket, id).await) })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut fetched = FetchedMetas::default();
        let mut failures: BTreeMap<Ulid, BlockError> = BTreeMap::new();
        for (id, outcome) in loaded {
            match outcome {
                Loaded::Meta(meta) => {
                    fetched.metas.insert(id, *meta);
                }
                Loaded::Partial(partial) => {
                    fetched.partial.insert(id, partial);
                }
                Loaded::Failed(error) => {
                    failures.insert(id, error);
                }
            }
        }
        let corrupted =
            fetched.partial.values().filter(|p| matches!(p, PartialBlock::CorruptMeta(_))).count();
        states.set_synced(synced_state::FAILED, failures.len() as u64);
        states.set_synced(synced_state::NO_META, (fetched.partial.len() - corrupted) as u64);
        states.set_synced(synced_state::CORRUPTED_META, corrupted as u64);
        for filter in &self.filters {
            filter.filter(self.bucket, &mut fetched.metas, states).await?;
        }
        states.set_synced(synced_state::LOADED, fetched.metas.len() as u64);
        let failed = failures.len();
        if let Some((_, first)) = failures.into_iter().next() {
            return Err(BlockError::IncompleteView { failed, first: Box::new(first) });
        }
        Ok(fetched)
    }

    /// Sets the gauges: every default state, every state seen now or before (zero if gone).
    fn report(&self, states: &SyncStates) {
        let mut reported = self.reported.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (synced_seen, modified_seen) = &mut *reported;
        synced_seen.extend(synced_state::DEFAULTS.iter().map(|s| s.to_string()));
        synced_seen.extend(states.synced.keys().cloned());
        modified_seen.insert(synced_state::REPLICA_LABEL_REMOVED.to_string());
        modified_seen.extend(states.modified.keys().cloned());
        for state in synced_seen.iter() {
            let mut labels = self.metric_labels.clone();
            labels.push(metrics::Label::new("state", state.clone()));
            metrics::gauge!(fetcher_metrics::SYNCED, labels).set(states.synced(state) as f64);
        }
        for kind in modified_seen.iter() {
            let mut labels = self.metric_labels.clone();
            labels.push(metrics::Label::new("modified", kind.clone()));
            metrics::gauge!(fetcher_metrics::MODIFIED, labels).set(states.modified(kind) as f64);
        }
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

/// Reads and parses one block's `meta.json` as Thanos' `loadMeta` does: missing and unparsable
/// files make a partial block; a read error or an unknown version is a failure.
async fn load_meta(bucket: &dyn Bucket, id: Ulid) -> Loaded {
    let key = block_key(id, META_FILENAME);
    let bytes = match bucket.get(&key).await {
        Ok(bytes) => bytes,
        Err(e) if e.is_not_found() => return Loaded::Partial(PartialBlock::NoMeta),
        Err(e) => return Loaded::Failed(BlockError::bucket(id, format!("get meta file: {key}"), e)),
    };
    // Thanos tells a JSON error (corrupt) from a version it does not know (failure).
    let meta = match serde_json::from_slice::<BlockMeta>(&bytes) {
        Ok(meta) => meta,
        Err(e) => {
            return Loaded::Partial(PartialBlock::CorruptMeta(format!("meta.json {key} unmarshal: {e}")));
        }
    };
    if meta.version != tsdb_format::meta::META_VERSION {
        return Loaded::Failed(BlockError::UnsupportedMetaVersion { key, version: meta.version });
    }
    match BlockMeta::from_json(&bytes, Path::new(&key)) {
        Ok(meta) if meta.ulid != id => {
            Loaded::Partial(PartialBlock::CorruptMeta(format!("{key}: meta.json names block {}", meta.ulid)))
        }
        Ok(meta) => Loaded::Meta(Box::new(meta)),
        Err(e) => Loaded::Partial(PartialBlock::CorruptMeta(e.to_string())),
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
        async fn filter(
            &self,
            _: &dyn Bucket,
            metas: &mut BTreeMap<Ulid, BlockMeta>,
            states: &mut SyncStates,
        ) -> Result<()> {
            states.add_synced("dropped", metas.len() as u64);
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
