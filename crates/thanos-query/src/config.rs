//! `thanos-query`'s flags, spelled and defaulted as Thanos v0.42's `thanos query`
//! (`cmd/thanos/query.go`), layered by [`runtime::config::load`].

use std::path::PathBuf;

use clap::ArgAction;
use runtime::config::CommonFlags;
use runtime::duration::PromDuration;
use serde::{Deserialize, Serialize};

/// How replicas are merged once their replica labels are removed (`--deduplication.func`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DedupFuncFlag {
    /// Thanos' penalty algorithm: follow one replica, switch on gaps (the default).
    Penalty,
    /// Chain merge: every sample of every replica, the first one at each timestamp.
    Chain,
}

/// Every setting of the querier.
#[derive(Debug, Clone, clap::Parser, Serialize, Deserialize)]
#[command(
    name = "thanos-query",
    version,
    about = "Querier: Prometheus' HTTP API over every StoreAPI endpoint, with deduplication and partial response"
)]
pub(crate) struct QueryConfig {
    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) common: CommonFlags,

    /// Address of a StoreAPI endpoint (host:port); repeatable.
    #[arg(long = "endpoint", value_name = "ADDRESS", action = ArgAction::Append)]
    #[serde(default)]
    pub(crate) endpoint: Vec<String>,

    /// Address of a StoreAPI endpoint that is always kept (Thanos' strict mode); repeatable.
    /// Queried like --endpoint.
    #[arg(long = "endpoint-strict", value_name = "ADDRESS", action = ArgAction::Append)]
    #[serde(default)]
    pub(crate) endpoint_strict: Vec<String>,

    /// PromQL engine (Thanos: prometheus or thanos); accepted for compatibility, our engine is used.
    #[arg(long = "query.promql-engine", value_name = "ENGINE", default_value = "prometheus")]
    pub(crate) query_promql_engine: String,

    /// Compression for gRPC calls to endpoints; only `none` is supported.
    #[arg(long = "grpc-compression", value_name = "ALGORITHM", default_value = "none")]
    pub(crate) grpc_compression: String,

    /// Whether to disable CORS headers (accepted for compatibility; none are set).
    #[arg(long = "web.disable-cors", action = ArgAction::SetTrue)]
    pub(crate) web_disable_cors: bool,

    /// Prometheus file-SD files (YAML or JSON) listing endpoints; re-read when they change.
    #[arg(long = "endpoint.sd-files", value_name = "PATH", action = ArgAction::Append)]
    #[serde(default)]
    pub(crate) endpoint_sd_files: Vec<PathBuf>,

    /// Refresh interval to re-read the file-SD files even when they did not change.
    #[arg(long = "store.sd-interval", value_name = "DURATION", default_value = "5m")]
    pub(crate) store_sd_interval: PromDuration,

    /// How often every endpoint's Info is asked (health and time range).
    #[arg(long = "endpoint.info-interval", value_name = "DURATION", default_value = "5s", hide = true)]
    pub(crate) endpoint_info_interval: PromDuration,

    /// Timeout of one Info call.
    #[arg(long = "endpoint.info-timeout", value_name = "DURATION", default_value = "5s")]
    pub(crate) endpoint_info_timeout: PromDuration,

    /// If a store does not answer a Series call within this time, it is treated as failed; 0 = no timeout.
    #[arg(long = "store.response-timeout", value_name = "DURATION", default_value = "0ms")]
    pub(crate) store_response_timeout: PromDuration,

    /// Labels to treat as replica indicators along which data is deduplicated; repeatable or
    /// comma-separated.
    #[arg(long = "query.replica-label", value_name = "LABEL", action = ArgAction::Append)]
    #[serde(default)]
    pub(crate) query_replica_label: Vec<String>,

    /// Deduplication algorithm for merging replicas.
    #[arg(long = "deduplication.func", value_enum, default_value_t = DedupFuncFlag::Penalty)]
    pub(crate) deduplication_func: DedupFuncFlag,

    /// Enable partial response (a failed store is a warning) if no partial_response param is given.
    #[arg(
        long = "query.partial-response",
        value_name = "BOOL",
        action = ArgAction::Set,
        num_args = 0..=1,
        default_value_t = true,
        default_missing_value = "true",
    )]
    pub(crate) query_partial_response: bool,

    /// Disable partial response (kingpin's negated form of --query.partial-response).
    #[arg(long = "no-query.partial-response", action = ArgAction::SetTrue)]
    pub(crate) no_query_partial_response: bool,

    /// Enable automatic adjustment (step / 5) of max_source_resolution.
    #[arg(long = "query.auto-downsampling", action = ArgAction::SetTrue)]
    pub(crate) query_auto_downsampling: bool,

    /// max_source_resolution of instant queries that ask for `auto` (or with --query.auto-downsampling).
    #[arg(
        long = "query.instant.default.max_source_resolution",
        value_name = "DURATION",
        default_value = "0s"
    )]
    pub(crate) query_instant_default_max_source_resolution: PromDuration,

    /// Step of a subquery written without one.
    #[arg(long = "query.default-evaluation-interval", value_name = "DURATION", default_value = "1m")]
    pub(crate) query_default_evaluation_interval: PromDuration,

    /// How far back an instant selector looks for a sample.
    #[arg(long = "query.lookback-delta", value_name = "DURATION", default_value = "5m")]
    pub(crate) query_lookback_delta: PromDuration,

    /// Maximum time to process a query.
    #[arg(long = "query.timeout", value_name = "DURATION", default_value = "2m")]
    pub(crate) query_timeout: PromDuration,

    /// Maximum number of queries processed concurrently.
    #[arg(long = "query.max-concurrent", value_name = "N", default_value_t = 20)]
    pub(crate) query_max_concurrent: usize,

    /// Maximum number of samples a single query can load into memory.
    #[arg(long = "query.max-samples", value_name = "N", default_value_t = 50_000_000)]
    pub(crate) query_max_samples: usize,

    /// Static prefix for all HTML links and redirect URLs in the UI; also the default route prefix.
    #[arg(long = "web.external-prefix", value_name = "PREFIX", default_value = "")]
    pub(crate) web_external_prefix: String,

    /// Prefix for API and UI endpoints; defaults to --web.external-prefix.
    #[arg(long = "web.route-prefix", value_name = "PREFIX", default_value = "")]
    pub(crate) web_route_prefix: String,

    /// Name of an HTTP request header giving the external prefix per request (e.g. X-Forwarded-Prefix);
    /// ignored when --web.external-prefix is set.
    #[arg(long = "web.prefix-header", value_name = "HEADER", default_value = "")]
    pub(crate) web_prefix_header: String,
}

impl From<DedupFuncFlag> for crate::dedup::DedupFunc {
    fn from(flag: DedupFuncFlag) -> Self {
        match flag {
            DedupFuncFlag::Penalty => Self::Penalty,
            DedupFuncFlag::Chain => Self::Chain,
        }
    }
}

impl QueryConfig {
    /// Every statically configured endpoint: `--endpoint` and `--endpoint-strict`.
    pub(crate) fn static_endpoints(&self) -> Vec<String> {
        let mut all = self.endpoint.clone();
        all.extend(self.endpoint_strict.iter().cloned());
        all
    }

    /// The replica labels: every `--query.replica-label`, comma-separated values split.
    pub(crate) fn replica_labels(&self) -> Vec<String> {
        split_list(&self.query_replica_label)
    }

    /// Whether partial response is on when a request does not say.
    pub(crate) fn partial_response(&self) -> bool {
        self.query_partial_response && !self.no_query_partial_response
    }

    /// Where the API is served: `--web.route-prefix`, else `--web.external-prefix`; normalized to
    /// `""` or `/path` without a trailing slash.
    pub(crate) fn route_prefix(&self) -> String {
        let raw =
            if self.web_route_prefix.is_empty() { &self.web_external_prefix } else { &self.web_route_prefix };
        normalize_prefix(raw)
    }
}

/// `""`, `/` → `""`; `thanos/` → `/thanos`.
pub(crate) fn normalize_prefix(raw: &str) -> String {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// Splits comma-separated entries and drops empty ones.
pub(crate) fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str]) -> QueryConfig {
        let mut all = vec!["thanos-query"];
        all.extend_from_slice(args);
        runtime::config::load_from(all, std::iter::empty()).expect("flags parse")
    }

    #[test]
    fn defaults_match_thanos() {
        let config = load(&[]);
        assert!(config.endpoint.is_empty());
        assert!(config.partial_response());
        assert_eq!(config.deduplication_func, DedupFuncFlag::Penalty);
        assert_eq!(config.query_lookback_delta.as_duration().as_secs(), 300);
        assert_eq!(config.query_timeout.as_duration().as_secs(), 120);
        assert_eq!(config.query_default_evaluation_interval.as_duration().as_secs(), 60);
        assert_eq!(config.query_max_concurrent, 20);
        assert_eq!(config.route_prefix(), "");
    }

    #[test]
    fn thanos_spellings() {
        let config = load(&[
            "--endpoint=a:1",
            "--endpoint",
            "b:2",
            "--query.replica-label=replica,rule_replica",
            "--query.replica-label",
            "prometheus_replica",
            "--deduplication.func=chain",
            "--no-query.partial-response",
            "--web.external-prefix=/thanos/",
            "--query.timeout=30s",
            "--endpoint-strict=c:3",
            "--query.promql-engine=thanos",
        ]);
        assert_eq!(config.static_endpoints(), ["a:1", "b:2", "c:3"]);
        assert_eq!(config.endpoint, ["a:1", "b:2"]);
        assert_eq!(config.replica_labels(), ["replica", "rule_replica", "prometheus_replica"]);
        assert_eq!(config.deduplication_func, DedupFuncFlag::Chain);
        assert!(!config.partial_response());
        assert_eq!(config.route_prefix(), "/thanos");
        let config = load(&["--query.partial-response=false", "--web.route-prefix=/api-root"]);
        assert!(!config.partial_response());
        assert_eq!(config.route_prefix(), "/api-root");
    }
}
