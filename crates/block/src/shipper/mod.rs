//! Thanos' shipper: uploads the finished blocks of a Prometheus TSDB directory to a bucket.
//!
//! One [`Shipper::sync`] pass, as Thanos' `Shipper.Sync` (`pkg/shipper/shipper.go`):
//! - reads `<tsdb>/thanos.shipper.json` (the blocks known to be uploaded; a missing or broken
//!   file only costs `exists` calls);
//! - walks the block directories oldest `minTime` first, skipping blocks already recorded, blocks
//!   with no samples, and compacted blocks (level > 1) unless `upload_compacted` is set, when
//!   they are first checked for overlaps with the bucket's blocks of the same labels;
//! - a block whose `meta.json` is already in the bucket is only recorded; any other is
//!   hard-linked into `<tsdb>/thanos/upload/<ULID>` and uploaded by [`crate::upload_block`] with
//!   the external labels, `source`, `segment_files` and `files`: chunks, index, `meta.json` last;
//! - the first failed upload ends the pass (later blocks wait, so uploads stay in time order)
//!   unless out-of-order uploads are allowed; a completed pass rewrites the state file.
//!
//! An interrupted pass (error, crash, dropped future) leaves at most one block without
//! `meta.json` in the bucket, which readers ignore and the next pass uploads again.

mod error;
mod local;
pub mod metrics;
mod overlap_check;
mod state;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tsdb_format::Labels;

pub use error::ShipperError;
pub use state::{DEFAULT_META_FILENAME, META_VERSION_1, ShipperState, StateError};

use crate::{HashFunc, META_FILENAME, block_key, upload_block};
use local::{UploadDir, blocks_from_oldest};
use metrics::ShipperMetrics;
use overlap_check::LazyOverlapChecker;

/// What the shipper uploads, and how.
#[derive(Debug, Clone)]
pub struct ShipperConfig {
    /// The Prometheus TSDB directory (`--tsdb.path`).
    pub tsdb_dir: PathBuf,
    /// Labels set as `thanos.labels` of every uploaded block (Prometheus' external labels).
    pub external_labels: Labels,
    /// `thanos.source` of uploaded blocks, e.g. [`crate::source::SIDECAR`].
    pub source: String,
    /// Upload compacted blocks (level > 1) too (`--shipper.upload-compacted`).
    pub upload_compacted: bool,
    /// Hash recorded in `thanos.files` (`--hash-func`).
    pub hash_func: HashFunc,
}

/// What one completed pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Blocks uploaded in this pass.
    pub uploaded: usize,
    /// Blocks that failed and were skipped: failed uploads (with out-of-order uploads allowed)
    /// and blocks whose local metadata is unreadable (with corrupted blocks skipped). Thanos
    /// logs these as "failed to sync N/M blocks"; they are tried again on the next pass.
    pub failed: usize,
}

/// Uploads a TSDB directory's finished blocks; see the module docs.
#[derive(Debug)]
pub struct Shipper {
    bucket: Arc<dyn objstore::Bucket>,
    config: ShipperConfig,
    labels: RwLock<Labels>,
    meta_file_name: String,
    allow_out_of_order_uploads: bool,
    skip_corrupted_blocks: bool,
    metrics: ShipperMetrics,
    /// One pass at a time: two would upload the same block twice.
    pass: tokio::sync::Mutex<()>,
}

impl Shipper {
    /// A shipper for `config.tsdb_dir`; registers the `thanos_shipper_*` metrics.
    pub fn new(bucket: Arc<dyn objstore::Bucket>, config: ShipperConfig) -> Self {
        Self {
            bucket,
            labels: RwLock::new(config.external_labels.clone()),
            config,
            meta_file_name: DEFAULT_META_FILENAME.to_string(),
            allow_out_of_order_uploads: false,
            skip_corrupted_blocks: false,
            metrics: ShipperMetrics::register(),
            pass: tokio::sync::Mutex::new(()),
        }
    }

    /// Names the state file inside the TSDB directory (`--shipper.meta-file-name`).
    pub fn with_meta_file_name(mut self, name: impl Into<String>) -> Self {
        self.meta_file_name = name.into();
        self
    }

    /// Keeps uploading later blocks after one fails (`--shipper.allow-out-of-order-uploads`).
    pub fn with_allow_out_of_order_uploads(mut self, allow: bool) -> Self {
        self.allow_out_of_order_uploads = allow;
        self
    }

    /// Skips blocks whose local metadata cannot be read (`--shipper.skip-corrupted-blocks`).
    pub fn with_skip_corrupted_blocks(mut self, skip: bool) -> Self {
        self.skip_corrupted_blocks = skip;
        self
    }

    /// Replaces the labels put on blocks uploaded from now on (external labels refreshed from
    /// Prometheus).
    pub fn set_external_labels(&self, labels: Labels) {
        *self.labels.write().unwrap_or_else(std::sync::PoisonError::into_inner) = labels;
    }

    /// The labels put on blocks uploaded now.
    pub fn external_labels(&self) -> Labels {
        self.labels.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The state file's path.
    pub fn state_file(&self) -> PathBuf {
        self.config.tsdb_dir.join(&self.meta_file_name)
    }

    /// Blocks recorded as uploaded in the state file (empty when it cannot be read).
    pub fn uploaded_blocks(&self) -> HashSet<ulid::Ulid> {
        ShipperState::read(&self.state_file()).map(|s| s.uploaded.into_iter().collect()).unwrap_or_default()
    }

    /// Runs one pass; see the module docs. `Ok` is a completed pass (counted in
    /// `thanos_shipper_dir_syncs_total`), possibly with skipped failures; `Err` a pass that
    /// stopped early (`thanos_shipper_dir_sync_failures_total`). Passes are serialised.
    pub async fn sync(&self) -> Result<SyncOutcome, ShipperError> {
        let _pass = self.pass.lock().await;
        // Counts the pass as failed unless it completes, also when the future is dropped.
        let mut pass_guard = PassGuard { metrics: &self.metrics, completed: false };
        let result = self.sync_pass().await;
        pass_guard.completed = result.is_ok();
        result
    }

    async fn sync_pass(&self) -> Result<SyncOutcome, ShipperError> {
        let state_path = self.state_file();
        let previous = match ShipperState::read(&state_path) {
            Ok(state) => state,
            Err(error) if error.is_not_found() => {
                tracing::info!("no meta file found, creating empty meta data to write later");
                ShipperState::default()
            }
            Err(error) => {
                tracing::error!(%error, "failed to read meta file, creating empty meta data to write later");
                ShipperState::default()
            }
        };
        let has_uploaded: HashSet<ulid::Ulid> = previous.uploaded.into_iter().collect();
        // Rebuilt from the blocks still on disk, so blocks Prometheus deleted drop out.
        let mut state = ShipperState::default();
        let mut outcome = SyncOutcome::default();
        let mut checker = LazyOverlapChecker::default();

        let local::LocalBlocks { metas, mut corrupted } = blocks_from_oldest(&self.config.tsdb_dir)?;
        if !self.skip_corrupted_blocks && !corrupted.is_empty() {
            let (path, source) = corrupted.swap_remove(0);
            return Err(ShipperError::ReadMeta { path, source });
        }
        for (path, error) in &corrupted {
            tracing::error!(block = %path.display(), %error, "read metadata for block");
        }
        let mut upload_failures = 0;
        for meta in &metas {
            let id = meta.ulid;
            if has_uploaded.contains(&id) {
                state.uploaded.push(id);
                continue;
            }
            if meta.stats.num_samples == 0 {
                tracing::debug!(block = %id, "ignoring empty block");
                continue;
            }
            // Normally only level-1 blocks are shipped: Prometheus' compactions are off.
            if meta.compaction.level > 1 && !self.config.upload_compacted {
                continue;
            }
            let uploaded = outcome.uploaded;
            let exists = self
                .bucket
                .exists(&block_key(id, META_FILENAME))
                .await
                .map_err(|source| ShipperError::CheckExists { uploaded, source })?;
            if exists {
                state.uploaded.push(id);
                continue;
            }
            let labels = self.external_labels();
            if meta.compaction.level > 1 && !self.allow_out_of_order_uploads {
                checker
                    .check(self.bucket.as_ref(), &labels, meta)
                    .await
                    .map_err(|details| ShipperError::Overlap { uploaded, details })?;
            }
            if let Err(source) = self.upload(id, &labels).await {
                if !self.allow_out_of_order_uploads {
                    return Err(ShipperError::Upload { uploaded, block: id, source: Box::new(source) });
                }
                // Later blocks go on; this one is tried again next pass.
                tracing::error!(block = %id, err = %source, "shipping failed");
                upload_failures += 1;
                continue;
            }
            state.uploaded.push(id);
            outcome.uploaded += 1;
            self.metrics.uploads.increment(1);
        }
        if let Err(error) = state.write(&state_path) {
            tracing::warn!(%error, "updating meta file failed");
        }
        outcome.failed = upload_failures + corrupted.len();
        if outcome.failed > 0 {
            self.metrics.upload_failures.increment(upload_failures as u64);
            self.metrics.corrupted_blocks.increment(corrupted.len() as u64);
            tracing::warn!(
                failed_uploads = upload_failures,
                corrupted = corrupted.len(),
                "failed to sync {upload_failures}/{} blocks",
                corrupted.len()
            );
        } else {
            self.metrics.upload_compacted_done.set(if self.config.upload_compacted { 1.0 } else { 0.0 });
        }
        Ok(outcome)
    }

    /// Uploads one block from a hard-linked copy, so Prometheus may delete the original meanwhile.
    async fn upload(&self, id: ulid::Ulid, labels: &Labels) -> Result<(), crate::BlockError> {
        tracing::info!(id = %id, "upload new block");
        let dir = UploadDir::link(&self.config.tsdb_dir, id)?;
        upload_block(self.bucket.as_ref(), dir.path(), labels, &self.config.source, self.config.hash_func)
            .await?;
        Ok(())
    }

    /// The TSDB directory.
    pub fn tsdb_dir(&self) -> &Path {
        &self.config.tsdb_dir
    }
}

/// Counts a pass in `dir_syncs_total` or `dir_sync_failures_total` when it ends, however it ends.
struct PassGuard<'a> {
    metrics: &'a ShipperMetrics,
    completed: bool,
}

impl Drop for PassGuard<'_> {
    fn drop(&mut self) {
        if self.completed {
            self.metrics.dir_syncs.increment(1);
        } else {
            self.metrics.dir_sync_failures.increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pass can be spawned on a multi-threaded runtime.
    #[test]
    fn sync_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let dir = tempfile::tempdir().expect("tempdir");
        let bucket: Arc<dyn objstore::Bucket> =
            Arc::new(objstore::FilesystemBucket::new(dir.path()).expect("bucket"));
        let config = ShipperConfig {
            tsdb_dir: dir.path().to_path_buf(),
            external_labels: Labels::default(),
            source: crate::source::SIDECAR.to_string(),
            upload_compacted: false,
            hash_func: HashFunc::None,
        };
        let shipper = Shipper::new(bucket, config);
        assert_send(&shipper.sync());
    }
}
