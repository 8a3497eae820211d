//! Thanos' metadata filters (`pkg/block/fetcher.go`), for [`crate::MetaFetcher::with_filter`].
//!
//! Each hides blocks and counts them under a [`synced_state`]; those that find something callers
//! need afterwards (deletion marks, duplicates, no-compact marks) keep it behind a mutex: add them
//! as `Arc<Filter>` and read it after the fetch. Time decisions use an injectable [`Clock`].
//!
//! The compactor's order is: time partition, label sharding, consistency delay, deletion marks,
//! replica label removal, deduplication, no-compact marks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use objstore::Bucket;
use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

use crate::clock::{Clock, system_clock, unix_nanos};
use crate::fetch::{SyncStates, synced_state};
use crate::markers::{DeletionMark, MARKER_VERSION, Marker, NoCompactMark, NoDownsampleMark};
use crate::rfc3339::{GO_ZERO_TIME_NANOS, parse_rfc3339_nanos};
use crate::{BlockError, DEFAULT_CONCURRENCY, MetaFilter, Result, ThanosTime, block_key, group_key, source};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads marker `M` of every block in `ids`, `concurrency` at a time, as Thanos' filters do: a
/// missing marker is skipped, an unparsable one (likely a partial upload) is skipped with a
/// warning, and a read error or an unknown version fails.
async fn gather_markers<M: Marker + Send>(
    bucket: &dyn Bucket,
    ids: Vec<Ulid>,
    concurrency: usize,
    filter: &'static str,
) -> Result<BTreeMap<Ulid, M>> {
    let results: Vec<(Ulid, Result<Option<M>>)> = futures::stream::iter(ids)
        .map(|id| async move {
            let key = block_key(id, M::FILENAME);
            let result = match bucket.get(&key).await {
                Ok(bytes) => match serde_json::from_slice::<M>(&bytes) {
                    Ok(marker) if marker.version() == MARKER_VERSION => Ok(Some(marker)),
                    Ok(marker) => Err(BlockError::InvalidMarker {
                        key,
                        reason: format!(
                            "unexpected {} file version {}, expected {MARKER_VERSION}",
                            M::FILENAME,
                            marker.version()
                        ),
                    }),
                    Err(error) => {
                        tracing::warn!(
                            block = %id,
                            %error,
                            "found partial {}; if we will see it happening often for the same block, consider manually deleting it from the object storage",
                            M::FILENAME
                        );
                        Ok(None)
                    }
                },
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(BlockError::bucket(id, format!("get file: {key}"), e)),
            };
            (id, result)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut found = BTreeMap::new();
    let mut last_error = None;
    for (id, result) in results {
        match result {
            Ok(Some(marker)) => {
                found.insert(id, marker);
            }
            Ok(None) => {}
            Err(error) => last_error = Some(error),
        }
    }
    match last_error {
        Some(error) => Err(BlockError::Filter { filter, reason: error.to_string() }),
        None => Ok(found),
    }
}

/// Hides blocks marked for deletion more than `delay` ago (Thanos' `IgnoreDeletionMarkFilter`).
///
/// The delay lets readers pick up the replacement block before the old one disappears: the
/// compactor uses `--delete-delay`/2, the store gateway `--ignore-deletion-marks-delay` (24h).
/// Every mark found on a loaded block is kept, delay or not, in
/// [`IgnoreDeletionMarkFilter::deletion_mark_blocks`].
#[derive(Debug)]
pub struct IgnoreDeletionMarkFilter {
    delay: Duration,
    concurrency: usize,
    clock: Arc<dyn Clock>,
    marks: Mutex<BTreeMap<Ulid, DeletionMark>>,
}

impl IgnoreDeletionMarkFilter {
    /// A filter hiding blocks whose deletion mark is older than `delay`.
    pub fn new(delay: Duration) -> Self {
        Self { delay, concurrency: DEFAULT_CONCURRENCY, clock: system_clock(), marks: Mutex::default() }
    }

    /// Uses `clock` for "now".
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reads this many marks at once (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The deletion marks of the blocks the last fetch loaded (before this filter), hidden or
    /// not.
    pub fn deletion_mark_blocks(&self) -> BTreeMap<Ulid, DeletionMark> {
        lock(&self.marks).clone()
    }
}

#[async_trait]
impl MetaFilter for IgnoreDeletionMarkFilter {
    fn name(&self) -> &'static str {
        "ignore-deletion-mark"
    }

    async fn filter(
        &self,
        bucket: &dyn Bucket,
        metas: &mut BTreeMap<Ulid, BlockMeta>,
        states: &mut SyncStates,
    ) -> Result<()> {
        let before: BTreeSet<Ulid> = metas.keys().copied().collect();
        let found: BTreeMap<Ulid, DeletionMark> =
            gather_markers(bucket, before.iter().copied().collect(), self.concurrency, self.name()).await?;
        let now = unix_nanos(self.clock.now());
        let delay = self.delay.as_nanos() as i128;
        for (id, mark) in &found {
            let age = now - i128::from(mark.deletion_time) * 1_000_000_000;
            if age > delay && metas.remove(id).is_some() {
                states.inc_synced(synced_state::MARKED_FOR_DELETION);
            }
        }
        // As Thanos: keep earlier marks of blocks still listed, add the new ones.
        let mut marks = lock(&self.marks);
        marks.extend(found);
        marks.retain(|id, _| before.contains(id));
        Ok(())
    }
}

/// Hides blocks uploaded less than `delay` ago, so an eventually consistent bucket has time to
/// show all their files (Thanos' `ConsistencyDelayMetaFilter`; `--consistency-delay`, 30m on
/// the compactor, 0s on the store gateway).
///
/// Age is taken from `thanos.upload_time`, or from the ULID when that is Go's zero time (or
/// missing). Blocks written by the compactor or a repair are never hidden: their sources are
/// already gone.
#[derive(Debug)]
pub struct ConsistencyDelayMetaFilter {
    delay: Duration,
    clock: Arc<dyn Clock>,
}

impl ConsistencyDelayMetaFilter {
    /// A filter hiding blocks younger than `delay`.
    pub fn new(delay: Duration) -> Self {
        Self { delay, clock: system_clock() }
    }

    /// Uses `clock` for "now".
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whether `meta` (of block `id`) is too fresh to be shown at `now_nanos`.
    fn too_fresh(&self, id: Ulid, meta: &BlockMeta, now_nanos: i128) -> bool {
        let upload = meta
            .thanos
            .as_ref()
            .and_then(|thanos| parse_rfc3339_nanos(&thanos.upload_time))
            .filter(|&nanos| nanos != GO_ZERO_TIME_NANOS);
        match upload {
            Some(upload) => now_nanos - upload < self.delay.as_nanos() as i128,
            // Thanos subtracts unsigned milliseconds: a ULID from the future wraps around and is
            // never too fresh.
            None => {
                let now_ms = now_nanos.div_euclid(1_000_000).max(0) as u64;
                now_ms.wrapping_sub(id.timestamp_ms()) < self.delay.as_millis() as u64
            }
        }
    }
}

/// Sources whose blocks the consistency delay never hides.
const CONSISTENCY_EXEMPT_SOURCES: [&str; 3] =
    [source::BUCKET_REPAIR, source::COMPACTOR, source::COMPACTOR_REPAIR];

#[async_trait]
impl MetaFilter for ConsistencyDelayMetaFilter {
    fn name(&self) -> &'static str {
        "consistency-delay"
    }

    async fn filter(
        &self,
        _bucket: &dyn Bucket,
        metas: &mut BTreeMap<Ulid, BlockMeta>,
        states: &mut SyncStates,
    ) -> Result<()> {
        metrics::gauge!(crate::fetcher_metrics::CONSISTENCY_DELAY_SECONDS).set(self.delay.as_secs_f64());
        let now = unix_nanos(self.clock.now());
        metas.retain(|id, meta| {
            let source = meta.thanos.as_ref().map_or("", |thanos| thanos.source.as_str());
            let hide = self.too_fresh(*id, meta, now) && !CONSISTENCY_EXEMPT_SOURCES.contains(&source);
            if hide {
                tracing::debug!(block = %id, "block is too fresh for now");
                states.inc_synced(synced_state::TOO_FRESH);
            }
            !hide
        });
        Ok(())
    }
}

/// Keeps only blocks overlapping `[min_time, max_time]`, both ends inclusive (Thanos'
/// `TimePartitionMetaFilter`, `--min-time`/`--max-time`). Relative bounds are resolved against
/// the clock on every fetch.
#[derive(Debug)]
pub struct TimePartitionMetaFilter {
    min_time: ThanosTime,
    max_time: ThanosTime,
    clock: Arc<dyn Clock>,
}

impl TimePartitionMetaFilter {
    /// A filter keeping blocks with `maxTime >= min_time` and `minTime <= max_time`.
    pub fn new(min_time: ThanosTime, max_time: ThanosTime) -> Self {
        Self { min_time, max_time, clock: system_clock() }
    }

    /// Uses `clock` for "now".
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl Default for TimePartitionMetaFilter {
    /// Thanos' flag defaults: every block.
    fn default() -> Self {
        Self::new(ThanosTime::default_min(), ThanosTime::default_max())
    }
}

#[async_trait]
impl MetaFilter for TimePartitionMetaFilter {
    fn name(&self) -> &'static str {
        "time-partition"
    }

    async fn filter(
        &self,
        _bucket: &dyn Bucket,
        metas: &mut BTreeMap<Ulid, BlockMeta>,
        states: &mut SyncStates,
    ) -> Result<()> {
        let now = self.clock.now();
        let (min, max) = (self.min_time.prometheus_timestamp(now), self.max_time.prometheus_timestamp(now));
        metas.retain(|_, meta| {
            let keep = meta.max_time >= min && meta.min_time <= max;
            if !keep {
                states.inc_synced(synced_state::TIME_EXCLUDED);
            }
            keep
        });
        Ok(())
    }
}

/// Hides blocks whose sources are all contained in another block of the same compaction group
/// (Thanos' `DefaultDeduplicateFilter`): what is left of a compaction that finished but whose
/// sources are not yet deleted. Within a group, blocks with more sources win; among equal
/// source counts, the lower ULID.
#[derive(Debug, Default)]
pub struct DeduplicateFilter {
    duplicates: Mutex<Vec<Ulid>>,
}

impl DeduplicateFilter {
    /// A deduplicating filter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The blocks the last fetch hid as duplicates, sorted.
    pub fn duplicate_ids(&self) -> Vec<Ulid> {
        lock(&self.duplicates).clone()
    }
}

/// The duplicates among `metas`: per group, blocks by source count descending then ULID; each
/// block whose sources are contained in a block kept before it is a duplicate.
pub(crate) fn find_duplicates<'m>(metas: impl IntoIterator<Item = &'m BlockMeta>) -> Vec<Ulid> {
    let mut groups: BTreeMap<String, Vec<&BlockMeta>> = BTreeMap::new();
    for meta in metas {
        groups.entry(group_key(meta)).or_default().push(meta);
    }
    let mut duplicates = Vec::new();
    for mut group in groups.into_values() {
        group.sort_by(|a, b| {
            b.compaction.sources.len().cmp(&a.compaction.sources.len()).then(a.ulid.cmp(&b.ulid))
        });
        let mut covering: Vec<BTreeSet<Ulid>> = Vec::new();
        for child in group {
            let sources: BTreeSet<Ulid> = child.compaction.sources.iter().copied().collect();
            if covering.iter().any(|parent| sources.is_subset(parent)) {
                duplicates.push(child.ulid);
            } else {
                covering.push(sources);
            }
        }
    }
    duplicates.sort();
    duplicates
}

#[async_trait]
impl MetaFilter for DeduplicateFilter {
    fn name(&self) -> &'static str {
        "deduplicate"
    }

    async fn filter(
        &self,
        _bucket: &dyn Bucket,
        metas: &mut BTreeMap<Ulid, BlockMeta>,
        states: &mut SyncStates,
    ) -> Result<()> {
        let duplicates = find_duplicates(metas.values());
        for id in &duplicates {
            metas.remove(id);
            states.inc_synced(synced_state::DUPLICATE);
        }
        *lock(&self.duplicates) = duplicates;
        Ok(())
    }
}

/// Removes replica labels from every block's external labels, so replicas fall into one
/// compaction group (Thanos' `ReplicaLabelRemover`, `--deduplication.replica-label`). A block
/// left without labels gets `<first replica label>="deduped"`.
#[derive(Debug, Clone, Default)]
pub struct ReplicaLabelRemover {
    replica_labels: Vec<String>,
}

impl ReplicaLabelRemover {
    /// A remover of `replica_labels`; with none it does nothing.
    pub fn new(replica_labels: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { replica_labels: replica_labels.into_iter().map(Into::into).collect() }
    }
}

#[async_trait]
impl MetaFilter for ReplicaLabelRemover {
    fn name(&self) -> &'static str {
        "replica-label-remover"
    }

    async fn filter(
        &self,
        _bucket: &dyn Bucket,
        metas: &mut BTreeMap<Ulid, BlockMeta>,
        states: &mut SyncStates,
    ) -> Result<()> {
        let Some(first) = self.replica_labels.first() else {
            return Ok(());
        };
        for meta in metas.values_mut() {
            let thanos = meta.thanos.get_or_insert_with(Default::default);
            for label in &self.replica_labels {
                if thanos.labels.remove(label).is_some() {
                    states.inc_modified(synced_state::REPLICA_LABEL_REMOVED);
                }
            }
            if thanos.labels.is_empty() {
                tracing::warn!(label = %first, "block has no labels left, creating one");
                thanos.labels.insert(first.clone(), "deduped".to_string());
            }
        }
        Ok(())
    }
}

/// Passes every block and gathers marker `M` of each (Thanos' `GatherNoCompactionMarkFilter`
/// and `GatherNoDownsampleMarkFilter`): see [`NoCompactMarkFilter`], [`NoDownsampleMarkFilter`].
#[derive(Debug)]
pub struct GatherMarkerFilter<M> {
    state: &'static str,
    name: &'static str,
    concurrency: usize,
    marks: Mutex<BTreeMap<Ulid, M>>,
}

/// Gathers `no-compact-mark.json` of every loaded block, counted as `marked-for-no-compact`.
pub type NoCompactMarkFilter = GatherMarkerFilter<NoCompactMark>;
/// Gathers `no-downsample-mark.json` of every loaded block, counted as `marked-for-no-downsample`.
pub type NoDownsampleMarkFilter = GatherMarkerFilter<NoDownsampleMark>;

impl NoCompactMarkFilter {
    /// A gatherer of no-compact marks.
    pub fn new() -> Self {
        Self::with_state("gather-no-compact-mark", synced_state::MARKED_FOR_NO_COMPACT)
    }
}

impl Default for NoCompactMarkFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl NoDownsampleMarkFilter {
    /// A gatherer of no-downsample marks.
    pub fn new() -> Self {
        Self::with_state("gather-no-downsample-mark", synced_state::MARKED_FOR_NO_DOWNSAMPLE)
    }
}

impl Default for NoDownsampleMarkFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Marker + Clone> GatherMarkerFilter<M> {
    fn with_state(name: &'static str, state: &'static str) -> Self {
        Self { state, name, concurrency: DEFAULT_CONCURRENCY, marks: Mutex::default() }
    }

    /// Reads this many marks at once (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The marks found by the last fetch, by block.
    pub fn marked_blocks(&self) -> BTreeMap<Ulid, M> {
        lock(&self.marks).clone()
    }
}

#[async_trait]
impl<M: Marker + Clone + Send + Sync> MetaFilter for GatherMarkerFilter<M> {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn filter(
        &self,
        bucket: &dyn Bucket,
        metas: &mut BTreeMap<Ulid, BlockMeta>,
        states: &mut SyncStates,
    ) -> Result<()> {
        let found: BTreeMap<Ulid, M> =
            gather_markers(bucket, metas.keys().copied().collect(), self.concurrency, self.name).await?;
        states.add_synced(self.state, found.len() as u64);
        *lock(&self.marks) = found;
        Ok(())
    }
}
