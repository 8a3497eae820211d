//! `thanos-store`'s flags, spelled and defaulted as Thanos v0.42's `thanos store`
//! (`cmd/thanos/store.go`), layered by [`runtime::config::load`].

use std::path::PathBuf;

use runtime::config::{CommonFlags, ObjstoreFlags};
use runtime::duration::PromDuration;
use serde::{Deserialize, Serialize};

/// Every setting of the store gateway.
#[derive(Debug, Clone, clap::Parser, Serialize, Deserialize)]
#[command(
    name = "thanos-store",
    version,
    about = "Store gateway: serves the blocks of a bucket over Thanos' StoreAPI"
)]
pub(crate) struct StoreConfig {
    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) common: CommonFlags,

    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) objstore: ObjstoreFlags,

    /// Local data directory for index-headers; safe to lose, rebuilt from the bucket.
    #[arg(long = "data-dir", value_name = "PATH", default_value = "./data")]
    pub(crate) data_dir: PathBuf,

    /// Repeat interval for syncing the blocks between local and remote view.
    #[arg(long = "sync-block-duration", value_name = "DURATION", default_value = "15m")]
    pub(crate) sync_block_duration: PromDuration,

    /// Number of blocks loaded (index-headers built) at once.
    #[arg(long = "block-sync-concurrency", value_name = "N", default_value_t = 20)]
    pub(crate) block_sync_concurrency: usize,

    /// Number of meta.json files fetched at once.
    #[arg(long = "block-meta-fetch-concurrency", value_name = "N", default_value_t = 32)]
    pub(crate) block_meta_fetch_concurrency: usize,

    /// Start of the time range served: RFC 3339 or a duration relative to now (-1d, 2h45m).
    #[arg(long = "min-time", value_name = "TIME", default_value = block::ThanosTime::DEFAULT_MIN)]
    pub(crate) min_time: String,

    /// End of the time range served: RFC 3339 or a duration relative to now.
    #[arg(long = "max-time", value_name = "TIME", default_value = block::ThanosTime::DEFAULT_MAX)]
    pub(crate) max_time: String,

    /// Minimum age of a block (since upload) before it is read.
    #[arg(long = "consistency-delay", value_name = "DURATION", default_value = "0s")]
    pub(crate) consistency_delay: PromDuration,

    /// Blocks marked for deletion longer ago than this are no longer served.
    #[arg(long = "ignore-deletion-marks-delay", value_name = "DURATION", default_value = "24h")]
    pub(crate) ignore_deletion_marks_delay: PromDuration,

    /// Path to a YAML list of relabel rules (`keep`, `drop`, `hashmod`) choosing the blocks to
    /// serve by their external labels and `__block_id`.
    #[arg(long = "selector.relabel-config-file", value_name = "PATH")]
    pub(crate) selector_relabel_config_file: Option<std::path::PathBuf>,

    /// The same rules as YAML content, instead of `--selector.relabel-config-file`.
    #[arg(long = "selector.relabel-config", value_name = "YAML")]
    pub(crate) selector_relabel_config: Option<String>,

    /// Maximum size of the in-memory index cache (postings and series), e.g. 250MB (base 2).
    #[arg(long = "index-cache-size", value_name = "BYTES", default_value = "250MB")]
    pub(crate) index_cache_size: String,

    /// Maximum samples of one Series call, estimated as 120 per chunk; 0 means no limit.
    #[arg(long = "store.grpc.series-sample-limit", value_name = "N", default_value_t = 0)]
    pub(crate) series_sample_limit: u64,

    /// Maximum series of one Series call; 0 means no limit.
    #[arg(long = "store.grpc.touched-series-limit", value_name = "N", default_value_t = 0)]
    pub(crate) touched_series_limit: u64,

    /// Maximum number of concurrent Series calls.
    #[arg(long = "store.grpc.series-max-concurrency", value_name = "N", default_value_t = 20)]
    pub(crate) series_max_concurrency: usize,

    /// Open a block's index-header only when a query first needs it.
    #[arg(long = "store.enable-index-header-lazy-reader", default_value_t = false)]
    pub(crate) lazy_index_header: bool,

    /// Every n-th postings offset kept in memory per label name.
    #[arg(
        long = "store.index-header-posting-offsets-in-mem-sampling",
        value_name = "N",
        default_value_t = 32
    )]
    pub(crate) posting_offsets_sampling: usize,
}

/// Parses a size as Go's `units.ParseBase2Bytes`: `250MB`, `1GiB`, `512KB`, `1024B`, `0`.
pub(crate) fn parse_base2_bytes(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("invalid size {text:?}"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        "P" | "PB" | "PIB" => 50,
        _ => return Err(format!("invalid size unit in {text:?}")),
    };
    Ok((number * (1u64 << shift) as f64) as u64)
}

impl StoreConfig {
    /// The block-selecting relabel rules from `--selector.relabel-config(-file)`; none = serve all.
    pub(crate) fn selector_relabel_rules(&self) -> anyhow::Result<Vec<block::RelabelConfig>> {
        use anyhow::Context as _;
        let yaml = match (&self.selector_relabel_config, &self.selector_relabel_config_file) {
            (Some(_), Some(_)) => anyhow::bail!(
                "--selector.relabel-config and --selector.relabel-config-file are mutually exclusive"
            ),
            (Some(content), None) => content.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| format!("read --selector.relabel-config-file {}", path.display()))?,
            (None, None) => return Ok(Vec::new()),
        };
        if yaml.trim().is_empty() {
            return Ok(Vec::new());
        }
        let rules: Vec<block::RelabelConfig> =
            serde_saphyr::from_str(&yaml).context("parse selector relabel config")?;
        // Compiled once here so a bad rule stops the start, not the first sync.
        block::LabelShardedMetaFilter::new(rules.clone(), std::iter::empty::<String>())
            .context("selector relabel config")?;
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_base_two() {
        assert_eq!(parse_base2_bytes("250MB"), Ok(250 << 20));
        assert_eq!(parse_base2_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_base2_bytes("0"), Ok(0));
        assert_eq!(parse_base2_bytes("1.5KB"), Ok(1536));
        assert!(parse_base2_bytes("12XB").is_err());
    }

    #[test]
    fn defaults_match_thanos() {
        let config: StoreConfig =
            runtime::config::load_from(["thanos-store"], std::iter::empty()).expect("defaults parse");
        assert_eq!(config.sync_block_duration.as_duration().as_secs(), 15 * 60);
        assert_eq!(config.block_sync_concurrency, 20);
        assert_eq!(config.ignore_deletion_marks_delay.as_duration().as_secs(), 24 * 3600);
        assert_eq!(parse_base2_bytes(&config.index_cache_size), Ok(250 << 20));
        assert_eq!(config.series_max_concurrency, 20);
    }
}
