//! A real Prometheus 2.42 server on 127.0.0.1, started by the test.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::Process;

/// How to start Prometheus.
#[derive(Debug, Clone)]
pub struct PrometheusConfig {
    /// The whole `prometheus.yml`.
    pub config_yaml: String,
    /// Blocks copied into the data directory before start.
    pub seed_blocks: Vec<PathBuf>,
    /// Extra flags. Default: 2h block durations (keeps seeded blocks as they are) and 100y retention.
    pub flags: Vec<String>,
    /// Port; 0 picks a free one.
    pub port: u16,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self {
            config_yaml: "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n".to_owned(),
            seed_blocks: Vec::new(),
            flags: vec![
                "--storage.tsdb.retention.time=100y".to_owned(),
                "--storage.tsdb.min-block-duration=2h".to_owned(),
                "--storage.tsdb.max-block-duration=2h".to_owned(),
            ],
            port: 0,
        }
    }
}

/// A running Prometheus; killed on drop (its directory goes with it unless one was given).
pub struct Prometheus {
    /// The process.
    pub process: Process,
    /// Its HTTP port.
    pub port: u16,
    /// Its TSDB directory.
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Prometheus {
    /// Starts Prometheus in a fresh temporary directory and waits for `/-/ready`.
    pub fn start(config: PrometheusConfig) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_owned();
        let mut server = Self::start_in(&root, config);
        server._dir = Some(dir);
        server
    }

    /// Starts Prometheus with its config, data (`<root>/data`) and log under `root`, which
    /// outlives it (so a test can restart over the same TSDB).
    pub fn start_in(root: &Path, config: PrometheusConfig) -> Self {
        let data_dir = root.join("data");
        std::fs::create_dir_all(&data_dir).expect("data dir");
        for block in &config.seed_blocks {
            crate::blocks::copy_dir(block, &data_dir.join(block.file_name().expect("block name")));
        }
        let config_path = root.join("prometheus.yml");
        std::fs::write(&config_path, &config.config_yaml).expect("write prometheus.yml");
        let port = if config.port == 0 { crate::free_port() } else { config.port };
        let mut command = crate::tool("prometheus");
        command
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", data_dir.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(&config.flags);
        let mut process = Process::spawn("prometheus", command, &root.join(format!("prometheus-{port}.log")));
        process.wait_http_ok(port, "/-/ready", Duration::from_secs(60));
        Self { process, port, data_dir, _dir: None }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The parsed JSON of `GET path`, which must answer 200.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        crate::http::get_json(self.port, path)
    }

    /// The `data` array of strings of a successful API answer (labels, label values).
    pub fn api_strings(&self, path: &str) -> Vec<String> {
        let json = self.get_json(path);
        json["data"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: no data array: {json}"))
            .iter()
            .map(|v| v.as_str().expect("string").to_owned())
            .collect()
    }
}
