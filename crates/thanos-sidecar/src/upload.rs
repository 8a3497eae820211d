//! The shipper loop: with a bucket configured, one [`Shipper::sync`] pass right after start-up
//! and then every 30s (Thanos' fixed interval), with the external labels of the moment. A pass
//! interrupted by shutdown is dropped mid-way: the bucket then holds at most one block without
//! `meta.json`, which readers ignore and the next run uploads again.

use std::sync::Arc;
use std::time::Duration;

use block::Shipper;
use runtime::shutdown::CancellationToken;

use crate::metadata::PromMetadata;

/// Pause between shipper passes, as in Thanos.
pub(crate) const SYNC_INTERVAL: Duration = Duration::from_secs(30);

/// Runs passes until `shutdown`.
pub(crate) async fn run(shipper: Shipper, metadata: Arc<PromMetadata>, shutdown: CancellationToken) {
    loop {
        shipper.set_external_labels(metadata.labels());
        tokio::select! {
            () = shutdown.cancelled() => {
                tracing::info!("shipper stopped");
                return;
            }
            result = shipper.sync() => match result {
                Ok(outcome) if outcome.failed > 0 => {
                    tracing::warn!(uploaded = outcome.uploaded, failed = outcome.failed, "shipper pass skipped blocks");
                }
                Ok(outcome) => tracing::debug!(uploaded = outcome.uploaded, "shipper pass done"),
                Err(error) => tracing::warn!(err = %error, uploaded = error.uploaded(), "shipper pass failed"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => {
                tracing::info!("shipper stopped");
                return;
            }
            () = tokio::time::sleep(SYNC_INTERVAL) => {}
        }
    }
}
