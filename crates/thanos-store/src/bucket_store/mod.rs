//! The bucket store: the set of loaded blocks, kept in step with the bucket, and the queries
//! over them (Thanos' `BucketStore`).
//!
//! Library-like parts that should move down once another binary needs them: [`ranges`]
//! (coalesced ranged reads) and [`series_entry`] (into `tsdb_format::index`), [`postings`] (matcher
//! semantics, next to `storeapi::matchers`), [`cache`] and [`block`] (a `store` library crate).

pub(crate) mod block;
pub(crate) mod cache;
pub(crate) mod postings;
pub(crate) mod query;
pub(crate) mod ranges;
mod select;
pub(crate) mod series_entry;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use futures::StreamExt;
use objstore::Bucket;
use storeapi::pb::thanos as pb;
use tsdb_format::Labels;
use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

use self::block::{BucketBlock, FetchStats};
use self::cache::IndexCache;
use self::query::{Limiter, SeriesQuery};

/// Why a query failed, with the gRPC code it is reported with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// A limit was hit (`ResourceExhausted`).
    #[error("{0}")]
    ResourceExhausted(String),
    /// A malformed request (`InvalidArgument`).
    #[error("{0}")]
    InvalidArgument(String),
    /// Anything else (`Internal`, or `Aborted` for Series as in Thanos).
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<objstore::ObjstoreError> for StoreError {
    fn from(error: objstore::ObjstoreError) -> Self {
        Self::Internal(error.into())
    }
}

impl From<storeapi::Error> for StoreError {
    fn from(error: storeapi::Error) -> Self {
        match error.code() {
            tonic::Code::InvalidArgument => Self::InvalidArgument(error.to_string()),
            tonic::Code::ResourceExhausted => Self::ResourceExhausted(error.to_string()),
            _ => Self::Internal(error.into()),
        }
    }
}

/// Metric names of the bucket store (Thanos' `bucketStoreMetrics`).
pub(crate) mod metric {
    pub(crate) const BLOCKS_LOADED: &str = "thanos_bucket_store_blocks_loaded";
    pub(crate) const BLOCK_LOADS_TOTAL: &str = "thanos_bucket_store_block_loads_total";
    pub(crate) const BLOCK_LOAD_FAILURES_TOTAL: &str = "thanos_bucket_store_block_load_failures_total";
    pub(crate) const BLOCK_DROPS_TOTAL: &str = "thanos_bucket_store_block_drops_total";
    pub(crate) const BLOCK_DROP_FAILURES_TOTAL: &str = "thanos_bucket_store_block_drop_failures_total";
    pub(crate) const BLOCK_LOAD_DURATION_SECONDS: &str = "thanos_bucket_store_block_load_duration_seconds";
    pub(crate) const BLOCKS_LAST_LOADED_TIMESTAMP: &str =
        "thanos_bucket_store_blocks_last_loaded_timestamp_seconds";
    pub(crate) const SERIES_DATA_TOUCHED: &str = "thanos_bucket_store_series_data_touched";
    pub(crate) const SERIES_DATA_FETCHED: &str = "thanos_bucket_store_series_data_fetched";
    pub(crate) const SERIES_DATA_SIZE_FETCHED_BYTES: &str =
        "thanos_bucket_store_series_data_size_fetched_bytes";
    pub(crate) const SERIES_BLOCKS_QUERIED: &str = "thanos_bucket_store_series_blocks_queried";
    pub(crate) const SERIES_GET_ALL_DURATION: &str = "thanos_bucket_store_series_get_all_duration_seconds";
    pub(crate) const SERIES_RESULT_SERIES: &str = "thanos_bucket_store_series_result_series";
    pub(crate) const INDEX_CACHE_BYTES: &str = "thanos_store_index_cache_items_size_bytes";
}

/// Limits and the served time range, fixed at start-up.
#[derive(Debug, Clone)]
pub(crate) struct StoreOptions {
    pub(crate) data_dir: PathBuf,
    pub(crate) block_sync_concurrency: usize,
    pub(crate) postings_sampling: usize,
    pub(crate) lazy_index_header: bool,
    /// Chunks per Series call: `--store.grpc.series-sample-limit` / 120, as Thanos.
    pub(crate) chunks_limit: u64,
    pub(crate) series_limit: u64,
    /// `--min-time` / `--max-time`, resolved at start-up (ms).
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
}

/// Every loaded block, queried concurrently.
#[derive(Debug)]
pub(crate) struct BucketStore {
    bucket: Arc<dyn Bucket>,
    cache: IndexCache,
    options: StoreOptions,
    blocks: RwLock<BTreeMap<Ulid, Arc<BucketBlock>>>,
}

/// A Series answer: the merged series and the blocks that were queried.
pub(crate) struct SeriesAnswer {
    pub(crate) series: storeapi::SeriesStream,
    pub(crate) queried_blocks: Vec<Ulid>,
}

impl BucketStore {
    /// An empty store over `bucket`.
    pub(crate) fn new(bucket: Arc<dyn Bucket>, cache: IndexCache, options: StoreOptions) -> Self {
        metrics::gauge!(metric::BLOCKS_LOADED).set(0.0);
        for name in [
            metric::BLOCK_LOADS_TOTAL,
            metric::BLOCK_LOAD_FAILURES_TOTAL,
            metric::BLOCK_DROPS_TOTAL,
            metric::BLOCK_DROP_FAILURES_TOTAL,
        ] {
            metrics::counter!(name).absolute(0);
        }
        Self { bucket, cache, options, blocks: RwLock::default() }
    }

    fn snapshot(&self) -> Vec<Arc<BucketBlock>> {
        self.blocks.read().unwrap_or_else(std::sync::PoisonError::into_inner).values().cloned().collect()
    }

    /// Number of loaded blocks.
    pub(crate) fn num_blocks(&self) -> usize {
        self.blocks.read().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// Makes the loaded blocks equal to `metas`: new blocks are loaded (`block_sync_concurrency`
    /// at a time), blocks no longer listed are dropped with their local directory. A block that
    /// fails to load is logged, counted and retried at the next sync; the rest keep serving.
    pub(crate) async fn sync_blocks(&self, metas: &BTreeMap<Ulid, BlockMeta>) {
        let loaded: BTreeSet<Ulid> =
            self.blocks.read().unwrap_or_else(std::sync::PoisonError::into_inner).keys().copied().collect();
        let to_load: Vec<BlockMeta> = metas.values().filter(|m| !loaded.contains(&m.ulid)).cloned().collect();
        futures::stream::iter(to_load)
            .for_each_concurrent(self.options.block_sync_concurrency.max(1), |meta| async move {
                let id = meta.ulid;
                let start = Instant::now();
                metrics::counter!(metric::BLOCK_LOADS_TOTAL).increment(1);
                let result = BucketBlock::load(
                    self.bucket.clone(),
                    meta,
                    &self.options.data_dir,
                    self.cache.clone(),
                    self.options.postings_sampling,
                    self.options.lazy_index_header,
                )
                .await;
                metrics::histogram!(metric::BLOCK_LOAD_DURATION_SECONDS).record(start.elapsed().as_secs_f64());
                match result {
                    Ok(block) => {
                        tracing::info!(block = %id, elapsed_ms = start.elapsed().as_millis() as u64, "loaded new block");
                        self.blocks.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, Arc::new(block));
                    }
                    Err(error) => {
                        metrics::counter!(metric::BLOCK_LOAD_FAILURES_TOTAL).increment(1);
                        tracing::error!(block = %id, err = format!("{error:#}"), "loading block failed");
                    }
                }
            })
            .await;
        for id in loaded.iter().filter(|id| !metas.contains_key(id)) {
            self.blocks.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
            metrics::counter!(metric::BLOCK_DROPS_TOTAL).increment(1);
            let dir = self.options.data_dir.join(id.to_string());
            match tokio::fs::remove_dir_all(&dir).await {
                Ok(()) => tracing::info!(block = %id, "dropped outdated block"),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    metrics::counter!(metric::BLOCK_DROP_FAILURES_TOTAL).increment(1);
                    tracing::warn!(block = %id, %error, "removing dropped block's directory failed");
                }
            }
        }
        let count = self.num_blocks();
        metrics::gauge!(metric::BLOCKS_LOADED).set(count as f64);
        metrics::gauge!(metric::INDEX_CACHE_BYTES).set(self.cache.weight() as f64);
        if count > 0 {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            metrics::gauge!(metric::BLOCKS_LAST_LOADED_TIMESTAMP).set(now.as_secs_f64());
        }
    }

    /// Removes local block directories that belong to no block in `metas` (left from earlier
    /// runs), as Thanos does at start-up.
    pub(crate) async fn remove_stale_dirs(&self, metas: &BTreeMap<Ulid, BlockMeta>) {
        let Ok(mut entries) = tokio::fs::read_dir(&self.options.data_dir).await else {
            return;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let Some(id) = entry.file_name().to_str().and_then(|n| n.parse::<Ulid>().ok()) else {
                continue;
            };
            if !metas.contains_key(&id) {
                // Best effort: a leftover directory only costs disk space.
                let _ = tokio::fs::remove_dir_all(entry.path()).await;
            }
        }
    }

    /// The external label sets of the loaded blocks (distinct, sorted) and the time range they
    /// cover, limited to `--min-time`/`--max-time`.
    pub(crate) fn info(&self) -> (Vec<Labels>, i64, i64) {
        let blocks = self.snapshot();
        let mut sets: Vec<Labels> = blocks.iter().map(|b| b.ext_labels.clone()).collect();
        sets.sort_by(|a, b| a.as_slice().cmp(b.as_slice()));
        sets.dedup();
        let min = blocks.iter().map(|b| b.meta.min_time).min();
        let max = blocks.iter().map(|b| b.meta.max_time).max();
        match (min, max) {
            (Some(min), Some(max)) => (sets, min.max(self.options.min_time), max.min(self.options.max_time)),
            // No blocks: an empty range, as Thanos reports it.
            _ => (sets, i64::MAX, i64::MIN),
        }
    }

    /// Answers a Series call: every matching block read concurrently, merged in label order.
    pub(crate) async fn series(&self, request: &pb::SeriesRequest) -> Result<SeriesAnswer, StoreError> {
        let matchers = storeapi::matchers::from_pb_all(&request.matchers)?;
        let block_matchers = select::request_block_matchers(request.hints.as_ref())?;
        let min_time = request.min_time.max(self.options.min_time);
        let max_time = request.max_time.min(self.options.max_time);
        let aggregates = request.aggregates.iter().filter_map(|a| pb::Aggr::try_from(*a).ok()).collect();
        let query = Arc::new(SeriesQuery {
            min_time,
            max_time,
            skip_chunks: request.skip_chunks,
            without_replica_labels: request.without_replica_labels.clone(),
            aggregates,
            chunks_limiter: Arc::new(Limiter::new(self.options.chunks_limit, "chunks")),
            series_limiter: Arc::new(Limiter::new(self.options.series_limit, "series")),
        });
        let blocks = select::blocks_for(
            &self.snapshot(),
            min_time,
            max_time,
            request.max_resolution_window,
            &block_matchers,
        );
        let start = Instant::now();
        let per_block: Vec<_> = blocks
            .iter()
            .filter_map(|block| {
                let remaining = storeapi::matchers::matches_external_labels(&matchers, &block.ext_labels)?;
                Some((block.clone(), remaining))
            })
            .collect();
        let queried_blocks: Vec<Ulid> = per_block.iter().map(|(b, _)| b.id()).collect();
        // One task per block so blocks decode in parallel; dropping the set (a cancelled call)
        // aborts them.
        let mut tasks = tokio::task::JoinSet::new();
        for (block, remaining) in per_block {
            let query = query.clone();
            tasks.spawn(async move {
                let mut stats = FetchStats::default();
                let result = query::block_series(&block, &remaining, &query, &mut stats).await;
                (block.id(), result, stats)
            });
        }
        let mut results = Vec::with_capacity(tasks.len());
        while let Some(joined) = tasks.join_next().await {
            results.push(joined.map_err(|e| StoreError::Internal(anyhow::anyhow!("series task: {e}")))?);
        }
        let mut streams: Vec<storeapi::SeriesStream> = Vec::with_capacity(results.len());
        let mut total = FetchStats::default();
        let mut result_series = 0usize;
        for (id, result, stats) in results {
            total.add(&stats);
            let series = result.map_err(|error| match error {
                StoreError::Internal(e) => {
                    StoreError::Internal(e.context(format!("fetch series for block {id}")))
                }
                other => other,
            })?;
            result_series += series.len();
            streams.push(Box::pin(futures::stream::iter(series.into_iter().map(Ok))));
        }
        record_stats(&total, queried_blocks.len(), result_series, start);
        let mut merged = storeapi::merge_series(streams);
        if request.limit > 0 {
            merged = Box::pin(merged.take(usize::try_from(request.limit).unwrap_or(usize::MAX)));
        }
        Ok(SeriesAnswer { series: merged, queried_blocks })
    }

    /// Label names over the blocks overlapping `[start, end]`.
    pub(crate) async fn label_names(
        &self,
        request: &pb::LabelNamesRequest,
    ) -> Result<(Vec<String>, Vec<Ulid>), StoreError> {
        let matchers = storeapi::matchers::from_pb_all(&request.matchers)?;
        let block_matchers = select::request_block_matchers(request.hints.as_ref())?;
        let series_limiter = Arc::new(Limiter::new(self.options.series_limit, "series"));
        let targets =
            select::label_blocks(&self.snapshot(), request.start, request.end, &matchers, &block_matchers);
        let queried: Vec<Ulid> = targets.iter().map(|(b, _)| b.id()).collect();
        let sets = futures::future::try_join_all(targets.into_iter().map(|(block, remaining)| {
            let limiter = series_limiter.clone();
            let without = request.without_replica_labels.clone();
            async move {
                query::block_label_names(&block, &remaining, request.start, request.end, &without, limiter)
                    .await
            }
        }))
        .await?;
        Ok((merge_sorted(sets, request.limit), queried))
    }

    /// Values of a label over the blocks overlapping `[start, end]`.
    pub(crate) async fn label_values(
        &self,
        request: &pb::LabelValuesRequest,
    ) -> Result<(Vec<String>, Vec<Ulid>), StoreError> {
        let matchers = storeapi::matchers::from_pb_all(&request.matchers)?;
        if request.without_replica_labels.contains(&request.label) {
            return Ok((Vec::new(), Vec::new()));
        }
        let block_matchers = select::request_block_matchers(request.hints.as_ref())?;
        let series_limiter = Arc::new(Limiter::new(self.options.series_limit, "series"));
        let targets =
            select::label_blocks(&self.snapshot(), request.start, request.end, &matchers, &block_matchers);
        let queried: Vec<Ulid> = targets.iter().map(|(b, _)| b.id()).collect();
        let sets = futures::future::try_join_all(targets.into_iter().map(|(block, remaining)| {
            let limiter = series_limiter.clone();
            async move {
                query::block_label_values(
                    &block,
                    &request.label,
                    &remaining,
                    request.start,
                    request.end,
                    limiter,
                )
                .await
            }
        }))
        .await?;
        Ok((merge_sorted(sets, request.limit), queried))
    }
}

/// The sorted union of sorted sets, cut at `limit` when positive.
fn merge_sorted(sets: Vec<Vec<String>>, limit: i64) -> Vec<String> {
    let all: BTreeSet<String> = sets.into_iter().flatten().collect();
    let limit = usize::try_from(limit).ok().filter(|&l| l > 0).unwrap_or(usize::MAX);
    all.into_iter().take(limit).collect()
}

fn record_stats(stats: &FetchStats, blocks: usize, result_series: usize, start: Instant) {
    for (kind, touched, fetched, bytes) in [
        ("postings", stats.postings_touched, stats.postings_fetched, stats.postings_fetched_bytes),
        ("series", stats.series_touched, stats.series_fetched, stats.series_fetched_bytes),
        ("chunks", stats.chunks_touched, stats.chunks_fetched, stats.chunks_fetched_bytes),
    ] {
        metrics::histogram!(metric::SERIES_DATA_TOUCHED, "data_type" => kind).record(touched as f64);
        metrics::histogram!(metric::SERIES_DATA_FETCHED, "data_type" => kind).record(fetched as f64);
        metrics::histogram!(metric::SERIES_DATA_SIZE_FETCHED_BYTES, "data_type" => kind).record(bytes as f64);
    }
    metrics::histogram!(metric::SERIES_BLOCKS_QUERIED).record(blocks as f64);
    metrics::histogram!(metric::SERIES_RESULT_SERIES).record(result_series as f64);
    metrics::histogram!(metric::SERIES_GET_ALL_DURATION).record(start.elapsed().as_secs_f64());
}
