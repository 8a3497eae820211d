//! The real parts of an end-to-end stack: promtool blocks uploaded to a bucket (filesystem or
//! s3s-fs) with `block::upload_block`, and the `thanos-store` binary over the bucket. The
//! querier is [`super::start_querier`]; Prometheus 2.42 over the same blocks is testkit's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use testkit::process::Process;
use tsdb_format::Labels;

/// promtool blocks of the [`super::data`] series (counters, gauges and a histogram over 4h).
pub(crate) fn data_blocks(out: &Path) -> Vec<PathBuf> {
    let scratch = tempfile::tempdir().expect("tempdir");
    let input = scratch.path().join("data.om");
    super::data::write_openmetrics(&super::data::generate(), &input);
    testkit::blocks::promtool_blocks(&input, out, &[])
}

/// Thanos' objstore YAML of a filesystem bucket at `dir`.
pub(crate) fn filesystem_bucket(dir: &Path) -> String {
    std::fs::create_dir_all(dir).expect("bucket dir");
    format!("type: FILESYSTEM\nconfig:\n  directory: {}\n", dir.display())
}

/// Uploads `blocks` to the bucket of `objstore_yaml` with the external `labels`, as the
/// sidecar's shipper does.
pub(crate) fn upload(objstore_yaml: &str, blocks: &[PathBuf], labels: &Labels) {
    let bucket = objstore::bucket_from_config_yaml(objstore_yaml).expect("bucket from config");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        for dir in blocks {
            block::upload_block(bucket.as_ref(), dir, labels, block::source::TEST, block::HashFunc::None)
                .await
                .unwrap_or_else(|e| panic!("upload {}: {e}", dir.display()));
        }
    });
}

/// A running `thanos-store` binary; killed on drop.
pub(crate) struct StoreBinary {
    /// The process.
    pub(crate) process: Process,
    /// Its HTTP port (`/metrics`, `/-/ready`).
    pub(crate) http_port: u16,
    /// Its StoreAPI port.
    pub(crate) grpc_port: u16,
}

impl StoreBinary {
    /// Starts `thanos-store` over the bucket of `objstore_yaml` with its data directory, config
    /// and log under `work` (plus `extra` flags) and waits until it has synced (`/-/ready`).
    pub(crate) fn start(objstore_yaml: &str, work: &Path, extra: &[&str]) -> Self {
        let (http_port, grpc_port) = (testkit::free_port(), testkit::free_port());
        let dir = work.join(format!("store-{grpc_port}"));
        std::fs::create_dir_all(&dir).expect("store dir");
        let config = dir.join("objstore.yaml");
        std::fs::write(&config, objstore_yaml).expect("write objstore config");
        let mut command = Command::new(testkit::workspace_bin("thanos-store"));
        command
            .arg(format!("--objstore.config-file={}", config.display()))
            .arg(format!("--data-dir={}", dir.join("data").display()))
            .arg(format!("--http-address=127.0.0.1:{http_port}"))
            .arg(format!("--grpc-address=127.0.0.1:{grpc_port}"))
            .args(["--http-grace-period=0s", "--grpc-grace-period=0s", "--log.level=warn"])
            .args(extra);
        let mut process = Process::spawn("thanos-store", command, &dir.join("store.log"));
        process.wait_http_ok(http_port, "/-/ready", Duration::from_secs(120));
        Self { process, http_port, grpc_port }
    }

    /// `--endpoint=127.0.0.1:PORT` for a querier.
    pub(crate) fn endpoint_flag(&self) -> String {
        format!("--endpoint=127.0.0.1:{}", self.grpc_port)
    }
}
