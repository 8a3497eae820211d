//! `thanos-sidecar`'s flags, spelled and defaulted as Thanos v0.42's `thanos sidecar`
//! (`cmd/thanos/sidecar.go`, `cmd/thanos/config.go`), layered by [`runtime::config::load`].

use std::path::PathBuf;

use runtime::config::{CommonFlags, ObjstoreFlags};
use runtime::duration::PromDuration;
use serde::{Deserialize, Serialize};

/// Every setting of the sidecar.
#[derive(Debug, Clone, clap::Parser, Serialize, Deserialize)]
#[command(
    name = "thanos-sidecar",
    version,
    about = "Sidecar for Prometheus server: serves its data over Thanos' StoreAPI and ships its blocks to a bucket"
)]
pub(crate) struct SidecarConfig {
    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) common: CommonFlags,

    /// Without an object store configuration, no blocks are uploaded.
    #[command(flatten)]
    #[serde(flatten)]
    pub(crate) objstore: ObjstoreFlags,

    /// URL at which to reach Prometheus's API. For better performance use local network.
    #[arg(long = "prometheus.url", value_name = "URL", default_value = "http://localhost:9090", value_parser = parse_prometheus_url)]
    pub(crate) prometheus_url: String,

    /// Maximum time to wait for the Prometheus instance to start up (with uploads on).
    #[arg(long = "prometheus.ready_timeout", value_name = "DURATION", default_value = "10m")]
    pub(crate) prometheus_ready_timeout: PromDuration,

    /// How often to get Prometheus config (external labels, lowest timestamp; the heartbeat).
    #[arg(long = "prometheus.get_config_interval", value_name = "DURATION", default_value = "30s")]
    pub(crate) prometheus_get_config_interval: PromDuration,

    /// Timeout for getting Prometheus config.
    #[arg(long = "prometheus.get_config_timeout", value_name = "DURATION", default_value = "30s")]
    pub(crate) prometheus_get_config_timeout: PromDuration,

    /// Data directory of TSDB.
    #[arg(long = "tsdb.path", value_name = "PATH", default_value = "./data")]
    pub(crate) tsdb_path: PathBuf,

    /// Upload compacted blocks (level > 1) as well; for migrations, with compaction disabled on Prometheus.
    #[arg(long = "shipper.upload-compacted", default_value_t = false)]
    pub(crate) shipper_upload_compacted: bool,

    /// Do not require Prometheus' min and max block durations to be equal.
    #[arg(long = "shipper.ignore-unequal-block-size", default_value_t = false, hide = true)]
    pub(crate) shipper_ignore_unequal_block_size: bool,

    /// Keep uploading newer blocks when one fails.
    #[arg(long = "shipper.allow-out-of-order-uploads", default_value_t = false, hide = true)]
    pub(crate) shipper_allow_out_of_order_uploads: bool,

    /// Skip blocks whose metadata cannot be read and retry them later.
    #[arg(long = "shipper.skip-corrupted-blocks", default_value_t = false, hide = true)]
    pub(crate) shipper_skip_corrupted_blocks: bool,

    /// The file in the TSDB directory to store shipper metadata in.
    #[arg(long = "shipper.meta-file-name", value_name = "NAME", default_value = block::shipper::DEFAULT_META_FILENAME)]
    pub(crate) shipper_meta_file_name: String,

    /// Hash of uploaded files recorded in meta.json: "" (none) or "SHA256".
    #[arg(long = "hash-func", value_name = "FUNC", default_value = "", value_parser = ["", "SHA256"])]
    pub(crate) hash_func: String,

    /// Start of time range limit to serve: RFC 3339 or a duration relative to now (-1d, 2h45m).
    #[arg(long = "min-time", value_name = "TIME", default_value = block::ThanosTime::DEFAULT_MIN)]
    pub(crate) min_time: String,
}

/// Accepts an absolute `http://` URL, as Go's `URLVar` would before the first request.
fn parse_prometheus_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("invalid URL {text:?}: {e}"))?;
    match url.scheme() {
        "http" => Ok(text.trim_end_matches('/').to_owned()),
        "https" => Err(format!("{text:?}: https is not supported yet; reach Prometheus over http")),
        other => Err(format!("{text:?}: unsupported scheme {other:?}, expected http")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_thanos() {
        let config: SidecarConfig =
            runtime::config::load_from(["thanos-sidecar"], std::iter::empty()).expect("defaults parse");
        assert_eq!(config.prometheus_url, "http://localhost:9090");
        assert_eq!(config.prometheus_ready_timeout.as_duration().as_secs(), 600);
        assert_eq!(config.prometheus_get_config_interval.as_duration().as_secs(), 30);
        assert_eq!(config.tsdb_path, PathBuf::from("./data"));
        assert_eq!(config.common.grpc_address.to_string(), "0.0.0.0:10901");
        assert_eq!(config.common.http_address.to_string(), "0.0.0.0:10902");
        assert_eq!(config.shipper_meta_file_name, "thanos.shipper.json");
        assert!(!config.shipper_upload_compacted);
        assert!(config.objstore.content().expect("no file").is_none());
    }

    #[test]
    fn bad_flags_are_refused() {
        let parse = |args: &[&str]| {
            runtime::config::load_from::<SidecarConfig, _, _>(
                std::iter::once("thanos-sidecar").chain(args.iter().copied()),
                std::iter::empty(),
            )
        };
        assert!(parse(&["--prometheus.url=not a url"]).is_err());
        assert!(parse(&["--prometheus.url=ftp://x:9090"]).is_err());
        assert!(parse(&["--prometheus.ready_timeout=soon"]).is_err());
        assert!(parse(&["--hash-func=MD5"]).is_err());
        let ok =
            parse(&["--prometheus.url=http://127.0.0.1:9090/", "--shipper.upload-compacted"]).expect("valid");
        assert_eq!(ok.prometheus_url, "http://127.0.0.1:9090");
        assert!(ok.shipper_upload_compacted);
    }
}
