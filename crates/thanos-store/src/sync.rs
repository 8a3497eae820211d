//! Keeping the loaded blocks in step with the bucket: an initial sync retried until the bucket
//! answers (the store becomes ready after it), then one every `--sync-block-duration`.
//!
//! Filters, in Thanos' store order: time partition (`--min-time`/`--max-time`), the selector
//! relabel rules (`--selector.relabel-config`), consistency
//! delay, deletion marks older than `--ignore-deletion-marks-delay`, deduplication. Blocks
//! without `meta.json` (partial uploads) are never loaded.

use std::sync::Arc;
use std::time::Duration;

use block::{
    ConsistencyDelayMetaFilter, DeduplicateFilter, IgnoreDeletionMarkFilter, MetaFetcher, ThanosTime,
    TimePartitionMetaFilter,
};
use objstore::Bucket;
use runtime::Readiness;
use runtime::shutdown::CancellationToken;

use crate::bucket_store::BucketStore;

/// First and longest pause between failed initial syncs.
const INITIAL_RETRY: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(5));

/// How blocks are discovered and filtered.
#[derive(Debug, Clone)]
pub(crate) struct SyncOptions {
    pub(crate) interval: Duration,
    pub(crate) meta_fetch_concurrency: usize,
    pub(crate) min_time: ThanosTime,
    pub(crate) max_time: ThanosTime,
    pub(crate) consistency_delay: Duration,
    pub(crate) ignore_deletion_marks_delay: Duration,
    /// `--selector.relabel-config`: which blocks this store serves (empty: all).
    pub(crate) selector_relabel: Vec<block::RelabelConfig>,
}

/// Runs the sync loop until `shutdown`; sets `readiness` after the first successful sync.
pub(crate) async fn run(
    bucket: Arc<dyn Bucket>,
    store: Arc<BucketStore>,
    options: SyncOptions,
    readiness: Readiness,
    shutdown: CancellationToken,
) {
    metrics::gauge!(block::fetcher_metrics::CONSISTENCY_DELAY_SECONDS)
        .set(options.consistency_delay.as_secs_f64());
    let fetcher = MetaFetcher::new(bucket.as_ref())
        .with_concurrency(options.meta_fetch_concurrency)
        .with_filter(TimePartitionMetaFilter::new(options.min_time, options.max_time))
        .with_filter(
            block::LabelShardedMetaFilter::new(
                options.selector_relabel.clone(),
                std::iter::empty::<String>(),
            )
            .expect("rules compiled at start-up"),
        )
        .with_filter(ConsistencyDelayMetaFilter::new(options.consistency_delay))
        .with_filter(IgnoreDeletionMarkFilter::new(options.ignore_deletion_marks_delay))
        .with_filter(DeduplicateFilter::new());

    let mut backoff = INITIAL_RETRY.0;
    loop {
        match fetcher.fetch().await {
            Ok(fetched) => {
                store.remove_stale_dirs(&fetched.metas).await;
                store.sync_blocks(&fetched.metas).await;
                tracing::info!(blocks = store.num_blocks(), "initial synchronization done");
                readiness.set_ready(true);
                break;
            }
            Err(error) => {
                tracing::warn!(err = %error, retry_in = ?backoff, "initial synchronization failed, retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(INITIAL_RETRY.1);
            }
        }
    }

    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(options.interval) => {}
        }
        match fetcher.fetch().await {
            Ok(fetched) => store.sync_blocks(&fetched.metas).await,
            // The fetcher logs and counts the failure; keep serving what is loaded.
            Err(error) => tracing::warn!(err = %error, "syncing blocks failed"),
        }
    }
}
