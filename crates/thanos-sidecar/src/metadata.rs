//! What the sidecar knows about its Prometheus (Thanos' `promMetadata`): external labels, the
//! lowest timestamp served, the version; and the heartbeat that keeps them fresh.
//!
//! Start-up, as `thanos sidecar`: with uploads on, check the block-duration flags first; then
//! retry `/api/v1/status/buildinfo` until Prometheus answers; then retry the lowest timestamp and
//! external labels until both load. No external labels is fatal. Afterwards, every
//! `--prometheus.get_config_interval`, both are refreshed; a failure sets
//! `thanos_sidecar_prometheus_up` to 0 and the sidecar not ready until the next success.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use block::ThanosTime;
use runtime::Readiness;
use runtime::shutdown::CancellationToken;
use tsdb_format::Labels;

use crate::promclient::{PromClient, PromFlags};

/// Gauge: 1 when the last contact with Prometheus worked.
pub(crate) const PROMETHEUS_UP: &str = "thanos_sidecar_prometheus_up";

/// Labels and time range of the Prometheus, shared by the StoreAPI, Info and the shipper.
#[derive(Debug)]
pub(crate) struct PromMetadata {
    /// `--min-time`: nothing older is served. A relative time (`-2h`) moves with the clock.
    limit_min_time: ThanosTime,
    state: RwLock<State>,
}

#[derive(Debug, Clone)]
struct State {
    labels: Labels,
    min_time: i64,
    version: String,
    loaded: bool,
}

impl PromMetadata {
    /// Nothing known yet; the served range starts at `limit_min_time`.
    pub(crate) fn new(limit_min_time: ThanosTime) -> Self {
        let state = State {
            labels: Labels::default(),
            min_time: limit_min_time.prometheus_timestamp(SystemTime::now()),
            version: String::new(),
            loaded: false,
        };
        Self { limit_min_time, state: RwLock::new(state) }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Prometheus' external labels (empty before start-up finished).
    pub(crate) fn labels(&self) -> Labels {
        self.read().labels.clone()
    }

    /// `(min time, max time)` served: the lowest timestamp (at least `--min-time`), MaxInt64.
    pub(crate) fn timestamps(&self) -> (i64, i64) {
        (self.read().min_time, i64::MAX)
    }

    /// Prometheus' version, e.g. `2.42.0+ds`.
    pub(crate) fn version(&self) -> String {
        self.read().version.clone()
    }

    /// Whether labels and timestamps have been loaded once.
    pub(crate) fn is_loaded(&self) -> bool {
        self.read().loaded
    }

    fn set_timestamp(&self, lowest: i64) {
        let limit = self.limit_min_time.prometheus_timestamp(SystemTime::now());
        self.write().min_time = lowest.max(limit);
    }

    fn set_labels(&self, labels: Labels) {
        let mut state = self.write();
        state.labels = labels;
        state.loaded = true;
    }

    fn set_version(&self, version: String) {
        self.write().version = version;
    }
}

/// How the heartbeat talks to Prometheus.
#[derive(Debug, Clone)]
pub(crate) struct HeartbeatOptions {
    /// Pause between retries and between refreshes.
    pub(crate) interval: Duration,
    /// Timeout of each call.
    pub(crate) timeout: Duration,
    /// With uploads on: the block-duration check, and how long to wait for Prometheus at all.
    pub(crate) uploads: Option<UploadChecks>,
}

/// The start-up checks that only matter when blocks are uploaded.
#[derive(Debug, Clone)]
pub(crate) struct UploadChecks {
    /// The shipper's state file, which Prometheus' delay-compact file must be.
    pub(crate) shipper_meta_file: PathBuf,
    /// `--shipper.ignore-unequal-block-size`.
    pub(crate) ignore_unequal_block_size: bool,
    /// `--prometheus.ready_timeout`: give up when Prometheus has not answered by then.
    pub(crate) ready_timeout: Duration,
}

/// Runs the start-up sequence. `Ok(true)` once labels are loaded, `Ok(false)` when shut down
/// first, `Err` for what cannot get better by waiting (no external labels, wrong flags, the
/// ready timeout with uploads on).
pub(crate) async fn start(
    client: &PromClient,
    metadata: &PromMetadata,
    options: &HeartbeatOptions,
    shutdown: &CancellationToken,
) -> anyhow::Result<bool> {
    let startup = async {
        if let Some(checks) = &options.uploads {
            let flags = retry(
                options.interval,
                "failed to get Prometheus flags. Is Prometheus running? Retrying",
                || client.flags(options.timeout),
            )
            .await;
            match flags {
                Some(flags) => validate_flags(&flags, checks)?,
                None => tracing::warn!(
                    "failed to check Prometheus flags, due to potentially older Prometheus. No extra validation is done."
                ),
            }
            tracing::info!("successfully validated prometheus flags");
        }
        let version = retry(
            options.interval,
            "failed to fetch prometheus version. Is Prometheus running? Retrying",
            || client.build_version(options.timeout),
        )
        .await;
        metadata.set_version(version);
        tracing::info!("successfully loaded prometheus version");
        let (lowest, labels) = retry(
            options.interval,
            "failed to fetch initial external labels. Is Prometheus running? Retrying",
            || async {
                let lowest = client.lowest_timestamp(options.timeout).await?;
                let labels = client.external_labels(options.timeout).await?;
                Ok::<_, crate::promclient::PromClientError>((lowest, labels))
            },
        )
        .await;
        metadata.set_timestamp(lowest);
        metadata.set_labels(labels.clone());
        tracing::info!(external_labels = %labels, "successfully loaded prometheus external labels");
        if labels.is_empty() {
            bail!(
                "no external labels configured on Prometheus server, uniquely identifying external labels must be configured; see https://thanos.io/tip/thanos/storage.md#external-labels for details."
            );
        }
        Ok(())
    };
    let deadline = async {
        match &options.uploads {
            Some(checks) => tokio::time::sleep(checks.ready_timeout).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => Ok(false),
        result = startup => result.map(|()| true),
        () = deadline => {
            let waited = options.uploads.as_ref().map(|c| c.ready_timeout).unwrap_or_default();
            bail!("aborting as no external labels found after waiting {waited:?}: is Prometheus at --prometheus.url healthy and reachable?")
        }
    }
}

/// Refreshes labels and timestamps every interval until shut down; Prometheus' reachability
/// drives readiness and the `thanos_sidecar_prometheus_up` gauge.
pub(crate) async fn refresh(
    client: PromClient,
    metadata: std::sync::Arc<PromMetadata>,
    options: HeartbeatOptions,
    readiness: Readiness,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(options.interval) => {}
        }
        let result = async {
            let lowest =
                client.lowest_timestamp(options.timeout).await.context("updating timestamps failed")?;
            metadata.set_timestamp(lowest);
            let labels = client.external_labels(options.timeout).await.context("updating labels failed")?;
            metadata.set_labels(labels);
            anyhow::Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                metrics::gauge!(PROMETHEUS_UP).set(1.0);
                readiness.set_ready(true);
            }
            Err(error) => {
                tracing::warn!(err = format!("{error:#}"), "prometheus heartbeat failed");
                metrics::gauge!(PROMETHEUS_UP).set(0.0);
                readiness.set_ready(false);
            }
        }
    }
}

/// Calls `attempt` until it succeeds, pausing `interval` between failures (logged with `message`).
async fn retry<T, E, F, Fut>(interval: Duration, message: &str, mut attempt: F) -> T
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(error) => {
                tracing::warn!(err = %error, "{message}");
                tokio::time::sleep(interval).await;
            }
        }
    }
}

/// Thanos' `validatePrometheus`: uploads are only safe when Prometheus does not compact blocks
/// before they are shipped.
pub(crate) fn validate_flags(flags: &PromFlags, checks: &UploadChecks) -> anyhow::Result<()> {
    if !flags.delay_compact_file.is_empty()
        && clean(Path::new(&flags.delay_compact_file)) != clean(&checks.shipper_meta_file)
    {
        bail!(
            "found that Prometheus and Thanos use different paths for tracking block uploads. Prometheus uses --storage.tsdb.delay-compact-file.path={} while Thanos will write to {}, they must both use the same path.",
            flags.delay_compact_file,
            checks.shipper_meta_file.display()
        );
    }
    let min = block::parse_prometheus_duration_ms(&flags.min_block_duration).with_context(|| {
        format!("Prometheus flag storage.tsdb.min-block-duration={:?}", flags.min_block_duration)
    })?;
    let max = block::parse_prometheus_duration_ms(&flags.max_block_duration).with_context(|| {
        format!("Prometheus flag storage.tsdb.max-block-duration={:?}", flags.max_block_duration)
    })?;
    if min != max && flags.delay_compact_file.is_empty() {
        if !checks.ignore_unequal_block_size {
            bail!(
                "found that TSDB Max time is {} and Min time is {}. Compaction needs to be disabled (storage.tsdb.min-block-duration = storage.tsdb.max-block-duration)",
                flags.max_block_duration,
                flags.min_block_duration
            );
        }
        tracing::warn!(
            "flag to ignore Prometheus min/max block duration flags differing is being used. If the upload of a 2h block fails and a Prometheus compaction happens that block may be missing from your Thanos bucket storage."
        );
    }
    if min != 2 * 3600 * 1000 {
        tracing::warn!(block_time = %flags.min_block_duration, "found that TSDB block time is not 2h. Only 2h block time is recommended.");
    }
    Ok(())
}

/// Lexical path cleaning (Go's `filepath.Clean`) without touching the file system.
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks() -> UploadChecks {
        UploadChecks {
            shipper_meta_file: PathBuf::from("/prom/data/thanos.shipper.json"),
            ignore_unequal_block_size: false,
            ready_timeout: Duration::from_secs(1),
        }
    }

    fn flags(min: &str, max: &str, delay: &str) -> PromFlags {
        PromFlags {
            min_block_duration: min.into(),
            max_block_duration: max.into(),
            delay_compact_file: delay.into(),
        }
    }

    #[test]
    fn block_durations_must_be_equal_unless_compaction_is_delayed() {
        assert!(validate_flags(&flags("2h", "2h", ""), &checks()).is_ok());
        assert!(validate_flags(&flags("5m", "5m", ""), &checks()).is_ok(), "only warned about");
        let unequal = validate_flags(&flags("2h", "1d", ""), &checks()).expect_err("refused");
        assert!(unequal.to_string().contains("Compaction needs to be disabled"), "{unequal}");
        let delayed = flags("2h", "1d", "/prom/./data/thanos.shipper.json");
        assert!(validate_flags(&delayed, &checks()).is_ok());
        let elsewhere =
            validate_flags(&flags("2h", "2h", "/other/file.json"), &checks()).expect_err("refused");
        assert!(elsewhere.to_string().contains("different paths"), "{elsewhere}");
        let ignored = UploadChecks { ignore_unequal_block_size: true, ..checks() };
        assert!(validate_flags(&flags("2h", "1d", ""), &ignored).is_ok());
    }

    #[test]
    fn min_time_never_below_the_limit() {
        let metadata = PromMetadata::new("1970-01-01T00:00:01Z".parse().expect("RFC 3339"));
        assert_eq!(metadata.timestamps(), (1000, i64::MAX));
        metadata.set_timestamp(i64::MIN);
        assert_eq!(metadata.timestamps().0, 1000);
        metadata.set_timestamp(5000);
        assert_eq!(metadata.timestamps().0, 5000);
        assert!(!metadata.is_loaded());
        metadata.set_labels(Labels::from_pairs([("a", "b")]));
        assert!(metadata.is_loaded());
    }
}
