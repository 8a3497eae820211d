//! Thanos' view of a bucket of TSDB blocks.
//!
//! A bucket holds one directory per block, named by its ULID:
//!
//! ```text
//! <ULID>/chunks/000001 …      uploaded first
//! <ULID>/index                then
//! <ULID>/meta.json            LAST: a block without it is a partial upload, never read
//! <ULID>/deletion-mark.json   optional markers (see [`markers`])
//! <ULID>/no-compact-mark.json
//! ```
//!
//! This crate uploads ([`upload_block`]), downloads ([`download_block`]) and deletes
//! ([`delete_block`]) blocks in the order that keeps every reader safe, and fetches the metadata
//! of every complete block ([`MetaFetcher`], [`fetch_metas`]), reporting partial uploads and
//! corrupt `meta.json` files instead of failing on them.
//!
//! Thanos' metadata filters live in [`filters`] (consistency delay, deletion marks, time
//! partition, deduplication, replica labels, marker gathering) and [`relabel`] (label sharding);
//! [`aborted_partial_uploads`] finds what the compactor's cleaner removes. Time comes from a
//! [`Clock`], so all of them can be tested with a [`FixedClock`].

mod clock;
mod delete;
mod download;
pub mod downsample;
mod error;
mod fetch;
#[cfg(test)]
mod filter_tests;
pub mod filters;
pub mod markers;
mod overlap;
mod partial;
pub mod relabel;
mod rfc3339;
pub mod shipper;
#[cfg(test)]
mod test_blocks;
mod thanos_time;
mod upload;

pub use clock::{Clock, FixedClock, SystemClock};
pub use delete::delete_block;
pub use download::download_block;
pub use error::{BlockError, Result};
pub use fetch::{
    FetchedMetas, MetaFetcher, MetaFilter, PartialBlock, SyncStates, fetch_metas, fetcher_metrics,
    list_block_ids, synced_state,
};
pub use filters::{
    ConsistencyDelayMetaFilter, DeduplicateFilter, IgnoreDeletionMarkFilter, NoCompactMarkFilter,
    NoDownsampleMarkFilter, ReplicaLabelRemover, TimePartitionMetaFilter,
};
pub use overlap::{Overlap, group_key, overlapping_blocks};
pub use partial::{AbortedPartialUpload, PARTIAL_UPLOAD_THRESHOLD_AGE, aborted_partial_uploads};
pub use relabel::{LabelShardedMetaFilter, RelabelAction, RelabelConfig, RelabelError};
pub use rfc3339::{format_rfc3339_nanos, format_rfc3339_seconds};
pub use shipper::{Shipper, ShipperConfig, ShipperError, SyncOutcome};
pub use thanos_time::{
    ThanosTime, ThanosTimeError, format_prometheus_duration_ms, parse_prometheus_duration_ms,
};
pub use upload::{HashFunc, gather_file_stats, upload_block};

/// File name of the block metadata; uploaded last, deleted first.
pub const META_FILENAME: &str = tsdb_format::meta::META_FILENAME;
/// File name of the block index.
pub const INDEX_FILENAME: &str = "index";
/// Directory of the chunk segment files.
pub const CHUNKS_DIRNAME: &str = "chunks";

/// How many blocks are fetched or files transferred at once (Thanos' `FetcherConcurrency`).
pub const DEFAULT_CONCURRENCY: usize = 32;

/// Values of `thanos.source`: who wrote a block.
pub mod source {
    /// The sidecar's shipper.
    pub const SIDECAR: &str = "sidecar";
    /// The receiver.
    pub const RECEIVE: &str = "receive";
    /// The compactor.
    pub const COMPACTOR: &str = "compactor";
    /// The compactor's repair of a block.
    pub const COMPACTOR_REPAIR: &str = "compactor.repair";
    /// The ruler.
    pub const RULER: &str = "ruler";
    /// `bucket verify --repair`.
    pub const BUCKET_REPAIR: &str = "bucket.repair";
    /// `bucket rewrite`.
    pub const BUCKET_REWRITE: &str = "bucket.rewrite";
    /// `bucket upload-blocks`.
    pub const BUCKET_UPLOAD: &str = "bucket.upload";
    /// Tests.
    pub const TEST: &str = "test";
}

/// The object key of `file` inside block `id`: `<ULID>/<file>`.
pub fn block_key(id: ulid::Ulid, file: &str) -> String {
    format!("{id}/{file}")
}
