//! The shipper's metrics, with Thanos' names (`pkg/shipper/shipper.go`), unlabelled.

/// Counter: passes that completed.
pub const DIR_SYNCS_TOTAL: &str = "thanos_shipper_dir_syncs_total";
/// Counter: passes that stopped early (a block failed to upload, the bucket was unreachable, …).
pub const DIR_SYNC_FAILURES_TOTAL: &str = "thanos_shipper_dir_sync_failures_total";
/// Counter: blocks uploaded.
pub const UPLOADS_TOTAL: &str = "thanos_shipper_uploads_total";
/// Counter: block uploads that failed and were skipped (only with out-of-order uploads allowed;
/// otherwise a failed upload stops the pass and counts in [`DIR_SYNC_FAILURES_TOTAL`]).
pub const UPLOAD_FAILURES_TOTAL: &str = "thanos_shipper_upload_failures_total";
/// Counter: local blocks whose metadata could not be read and were skipped.
pub const CORRUPTED_BLOCKS_TOTAL: &str = "thanos_shipper_corrupted_blocks_total";
/// Gauge: 1 once a pass with `--shipper.upload-compacted` uploaded every compacted block.
pub const UPLOAD_COMPACTED_DONE: &str = "thanos_shipper_upload_compacted_done";

/// Handles registered once, so every metric is exported (at zero) from the shipper's start, as
/// Thanos' registry does.
#[derive(Clone)]
pub(super) struct ShipperMetrics {
    pub(super) dir_syncs: metrics::Counter,
    pub(super) dir_sync_failures: metrics::Counter,
    pub(super) uploads: metrics::Counter,
    pub(super) upload_failures: metrics::Counter,
    pub(super) corrupted_blocks: metrics::Counter,
    pub(super) upload_compacted_done: metrics::Gauge,
}

impl ShipperMetrics {
    /// Describes and registers the metrics with the current recorder.
    pub(super) fn register() -> Self {
        metrics::describe_counter!(DIR_SYNCS_TOTAL, "Total number of dir syncs");
        metrics::describe_counter!(DIR_SYNC_FAILURES_TOTAL, "Total number of failed dir syncs");
        metrics::describe_counter!(UPLOADS_TOTAL, "Total number of uploaded blocks");
        metrics::describe_counter!(UPLOAD_FAILURES_TOTAL, "Total number of block upload failures");
        metrics::describe_counter!(CORRUPTED_BLOCKS_TOTAL, "Total number of corrupted blocks");
        metrics::describe_gauge!(
            UPLOAD_COMPACTED_DONE,
            "If 1 it means shipper uploaded all compacted blocks from the filesystem."
        );
        let this = Self {
            dir_syncs: metrics::counter!(DIR_SYNCS_TOTAL),
            dir_sync_failures: metrics::counter!(DIR_SYNC_FAILURES_TOTAL),
            uploads: metrics::counter!(UPLOADS_TOTAL),
            upload_failures: metrics::counter!(UPLOAD_FAILURES_TOTAL),
            corrupted_blocks: metrics::counter!(CORRUPTED_BLOCKS_TOTAL),
            upload_compacted_done: metrics::gauge!(UPLOAD_COMPACTED_DONE),
        };
        // Touch each so exporters list it before the first pass.
        for counter in [
            &this.dir_syncs,
            &this.dir_sync_failures,
            &this.uploads,
            &this.upload_failures,
            &this.corrupted_blocks,
        ] {
            counter.increment(0);
        }
        this.upload_compacted_done.set(0.0);
        this
    }
}

impl std::fmt::Debug for ShipperMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShipperMetrics")
    }
}
