//! Real parts for the querier's tests: an in-memory StoreAPI server (served by storeapi's
//! `grpc::serve` on its own runtime, so it can be killed), the `thanos-query` binary, the
//! `thanos-store` binary over buckets of promtool blocks, Prometheus 2.42 over the same data
//! written as blocks, a tiny HTTP client, and the requests and comparisons against Prometheus.

#![allow(dead_code, unused_imports, reason = "each test binary uses a different part")]

pub(crate) mod compare;
pub(crate) mod data;
pub(crate) mod http;
pub(crate) mod promtool;
pub(crate) mod queries;
pub(crate) mod stack;
pub(crate) mod store;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub(crate) use testkit::free_port;
use testkit::prometheus::{Prometheus, PrometheusConfig};

/// Fails loudly when a required tool is missing.
pub(crate) fn require(tool: &str) {
    let _ = testkit::tool(tool);
}

/// A running process (the querier, or Prometheus with its directory), killed on drop.
pub(crate) struct Process {
    _guard: Box<dyn std::any::Any>,
    pid: u32,
    /// Its HTTP port.
    pub(crate) port: u16,
    /// Its gRPC port (0 when it has none).
    pub(crate) grpc_port: u16,
}

impl Process {
    /// Peak resident memory (`VmHWM`) in KiB, from `/proc`.
    pub(crate) fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

/// Starts the real `thanos-query` binary with `args` (plus free HTTP and gRPC ports) and waits
/// until it is ready.
pub(crate) fn start_querier(args: &[String], log_dir: &Path) -> Process {
    let port = free_port();
    let grpc_port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_thanos-query"));
    command
        .arg(format!("--http-address=127.0.0.1:{port}"))
        .arg(format!("--grpc-address=127.0.0.1:{grpc_port}"))
        .arg("--log.level=warn")
        .args(args);
    let log = log_dir.join(format!("thanos-query-{port}.log"));
    let mut process = testkit::process::Process::spawn("thanos-query", command, &log);
    process.wait_http_ok(port, "/-/ready", Duration::from_secs(60));
    Process { pid: process.pid(), _guard: Box::new(process), port, grpc_port }
}

/// Starts Prometheus over a copy of the blocks in `data_dir`, leaving them as they are.
pub(crate) fn start_prometheus(data_dir: &Path, config_dir: &Path) -> Process {
    let root = tempfile::tempdir_in(config_dir).expect("prometheus dir");
    let server = Prometheus::start_in(
        root.path(),
        PrometheusConfig {
            seed_blocks: testkit::blocks::block_dirs(data_dir),
            ..PrometheusConfig::default()
        },
    );
    Process { pid: server.process.pid(), port: server.port, grpc_port: 0, _guard: Box::new((server, root)) }
}
