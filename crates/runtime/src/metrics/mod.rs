//! The process-wide Prometheus recorder behind the `metrics` crate, rendered on our own
//! `/metrics`.
//!
//! Code anywhere records with `metrics::counter!("thanos_objstore_bucket_operations_total", …)`;
//! [`install`] puts one recorder in place for the whole process and returns the
//! [`MetricsHandle`] the HTTP server renders. Names are used exactly as written (no suffixes are
//! added), so spell `_total`, `_seconds` and `_bytes` as Thanos does. Histograms are real
//! Prometheus histograms (`_bucket`, `_sum`, `_count`), never summaries.

mod process;

use std::sync::Mutex;
use std::time::Duration;

pub use metrics_exporter_prometheus::Matcher;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::RuntimeError;

/// Prometheus client_golang's `DefBuckets`, for histograms without an override.
pub const DEFAULT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Thanos' buckets for `http_request_duration_seconds` (extprom/http).
pub const HTTP_DURATION_BUCKETS: &[f64] =
    &[0.001, 0.01, 0.1, 0.3, 0.6, 1.0, 3.0, 6.0, 9.0, 20.0, 30.0, 60.0, 90.0, 120.0, 240.0, 360.0, 720.0];

/// Thanos' buckets for `grpc_server_handling_seconds` (pkg/server/grpc).
pub const GRPC_DURATION_BUCKETS: &[f64] =
    &[0.001, 0.01, 0.1, 0.3, 0.6, 1.0, 3.0, 6.0, 9.0, 20.0, 30.0, 60.0, 90.0, 120.0];

/// How the recorder is built: histogram buckets and how often upkeep runs.
#[derive(Debug, Clone)]
pub struct MetricsOptions {
    /// Buckets of every histogram that no override matches.
    pub default_buckets: Vec<f64>,
    /// Buckets for histograms whose name matches (full, then prefix, then suffix matches win).
    pub bucket_overrides: Vec<(Matcher, Vec<f64>)>,
    /// How often [`MetricsHandle::spawn_upkeep`] drains histogram samples.
    pub upkeep_interval: Duration,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        Self {
            default_buckets: DEFAULT_BUCKETS.to_vec(),
            bucket_overrides: vec![
                (Matcher::Full("http_request_duration_seconds".to_owned()), HTTP_DURATION_BUCKETS.to_vec()),
                (Matcher::Full("grpc_server_handling_seconds".to_owned()), GRPC_DURATION_BUCKETS.to_vec()),
            ],
            upkeep_interval: Duration::from_secs(5),
        }
    }
}

impl MetricsOptions {
    /// Adds buckets for histograms matching `matcher`.
    pub fn with_buckets(mut self, matcher: Matcher, buckets: &[f64]) -> Self {
        self.bucket_overrides.push((matcher, buckets.to_vec()));
        self
    }
}

/// Renders the process' metrics in the Prometheus text format. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MetricsHandle {
    prometheus: PrometheusHandle,
    upkeep_interval: Duration,
}

/// The handle of the installed recorder; `metrics` allows one recorder per process.
static INSTALLED: Mutex<Option<MetricsHandle>> = Mutex::new(None);

/// Installs the recorder for the whole process, or returns the one already installed (whose
/// options then stay in force).
pub fn install(options: &MetricsOptions) -> Result<MetricsHandle, RuntimeError> {
    let mut installed = INSTALLED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(handle) = installed.as_ref() {
        return Ok(handle.clone());
    }
    let metrics_error =
        |err: metrics_exporter_prometheus::BuildError| RuntimeError::Metrics { reason: err.to_string() };
    let mut builder =
        PrometheusBuilder::new().set_buckets(&options.default_buckets).map_err(metrics_error)?;
    for (matcher, buckets) in &options.bucket_overrides {
        builder = builder.set_buckets_for_metric(matcher.clone(), buckets).map_err(metrics_error)?;
    }
    let prometheus = builder.install_recorder().map_err(metrics_error)?;
    process::describe();
    let handle = MetricsHandle { prometheus, upkeep_interval: options.upkeep_interval };
    *installed = Some(handle.clone());
    Ok(handle)
}

impl MetricsHandle {
    /// The text exposition of every metric, after refreshing the `process_*` gauges.
    pub fn render(&self) -> String {
        process::record();
        self.prometheus.render()
    }

    /// Drains histogram samples into their buckets; [`Self::spawn_upkeep`] calls it periodically.
    pub fn run_upkeep(&self) {
        self.prometheus.run_upkeep();
    }

    /// Runs [`Self::run_upkeep`] every `upkeep_interval` until `shutdown` is cancelled.
    pub fn spawn_upkeep(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let handle = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(handle.upkeep_interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = ticker.tick() => handle.run_upkeep(),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_with_buckets() {
        let handle = install(&MetricsOptions::default()).expect("install");
        let again = install(&MetricsOptions::default()).expect("second install returns the first");
        metrics::counter!("thanos_unit_test_total", "kind" => "a").increment(3);
        metrics::histogram!("http_request_duration_seconds", "handler" => "query").record(0.2);
        metrics::histogram!("thanos_unit_test_seconds").record(0.02);
        handle.run_upkeep();
        let text = again.render();
        assert!(text.contains("thanos_unit_test_total{kind=\"a\"} 3"), "{text}");
        assert!(
            text.contains("http_request_duration_seconds_bucket{handler=\"query\",le=\"0.3\"} 1"),
            "{text}"
        );
        assert!(text.contains("thanos_unit_test_seconds_bucket{le=\"0.025\"} 1"), "{text}");
        assert!(!text.contains("quantile="), "histograms must not render as summaries");
        #[cfg(target_os = "linux")]
        {
            assert!(text.contains("process_resident_memory_bytes "), "{text}");
            assert!(text.contains("process_start_time_seconds "), "{text}");
        }
    }
}
