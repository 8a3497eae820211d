//! The oracle: a real Prometheus 2.42 serving a copy of the blocks, queried over its HTTP API.

use std::path::Path;

use testkit::blocks::block_dirs;
use testkit::http::get as http_get;
pub(crate) use testkit::http::urlencode;
use testkit::prometheus::{Prometheus, PrometheusConfig};

/// A Prometheus server over a copy of some blocks, stopped on drop.
pub(crate) struct PrometheusServer {
    _server: Prometheus,
    port: u16,
}

impl PrometheusServer {
    /// Starts Prometheus over a copy of the blocks in `data_dir` on a free port, with settings
    /// that leave the blocks as they are: 2h min = max block duration (no compaction), and a 100y
    /// retention (retention counts back from the newest block). The evaluation interval, the
    /// default subquery step, is 1m.
    pub(crate) fn start(data_dir: &Path, _config_dir: &Path) -> Self {
        let mut config =
            PrometheusConfig { seed_blocks: block_dirs(data_dir), ..PrometheusConfig::default() };
        config
            .flags
            .extend(["--query.lookback-delta=5m".to_owned(), "--query.max-samples=50000000".to_owned()]);
        let server = Prometheus::start(config);
        Self { port: server.port, _server: server }
    }

    /// GET `path`; returns the status code and body.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The server's version string (`/api/v1/status/buildinfo`).
    pub(crate) fn version(&self) -> String {
        let (_, body) = self.get("/api/v1/status/buildinfo");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        json["data"]["version"].as_str().unwrap_or("?").to_string()
    }

    /// Number of blocks Prometheus loaded (`/api/v1/status/tsdb` does not say; the series count
    /// is a cheap sanity check instead).
    pub(crate) fn num_series(&self) -> usize {
        let (_, body) =
            self.get("/api/v1/series?match%5B%5D=%7B__name__%3D~%22.%2B%22%7D&start=0&end=4102444800");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        json["data"].as_array().map_or(0, Vec::len)
    }
}

/// Milliseconds as the API's seconds parameter (`1704060000.123`).
pub(crate) fn api_time(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}
