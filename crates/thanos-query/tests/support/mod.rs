//! Real parts for the querier's tests: an in-memory StoreAPI server (served by storeapi's
//! `grpc::serve` on its own runtime, so it can be killed), the `thanos-query` binary, the
//! `thanos-store` binary over buckets of promtool blocks, Prometheus 2.42 over the same data
//! written as blocks, a tiny HTTP client, and the requests and comparisons against Prometheus.

#![allow(dead_code, reason = "each test binary uses a different part")]

pub(crate) mod compare;
pub(crate) mod data;
pub(crate) mod http;
pub(crate) mod promtool;
pub(crate) mod queries;
pub(crate) mod stack;
pub(crate) mod store;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// Fails loudly when a required tool is missing.
pub(crate) fn require(tool: &str) {
    assert!(
        on_path(tool),
        "`{tool}` not found on PATH: install Debian's prometheus package (2.42): \
         apt-get install -y --no-install-recommends prometheus"
    );
}

/// A child process killed on drop.
pub(crate) struct Process {
    child: Child,
    /// Its HTTP port.
    pub(crate) port: u16,
    /// Its gRPC port (0 when it has none).
    pub(crate) grpc_port: u16,
}

impl Process {
    /// Peak resident memory (`VmHWM`) in KiB, from `/proc`.
    pub(crate) fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_ready(port: u16, path: &str, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok((200, _)) = http::get(port, path) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("{what} on port {port} did not become ready:\n{log}");
}

/// Starts the real `thanos-query` binary with `args` (plus free HTTP and gRPC ports) and waits
/// until it is ready.
pub(crate) fn start_querier(args: &[String], log_dir: &Path) -> Process {
    let port = free_port();
    let grpc_port = free_port();
    let log_path = log_dir.join(format!("thanos-query-{port}.log"));
    let log = std::fs::File::create(&log_path).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_thanos-query"))
        .arg(format!("--http-address=127.0.0.1:{port}"))
        .arg(format!("--grpc-address=127.0.0.1:{grpc_port}"))
        .arg("--log.level=warn")
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start thanos-query");
    let process = Process { child, port, grpc_port };
    wait_ready(port, "/-/ready", "thanos-query", &log_path);
    process
}

/// Starts Prometheus over `data_dir` (blocks only), leaving the blocks as they are.
pub(crate) fn start_prometheus(data_dir: &Path, config_dir: &Path) -> Process {
    require("prometheus");
    let config = config_dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n").expect("config");
    let log_path = config_dir.join("prometheus.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data_dir.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=100y")
        .arg("--storage.tsdb.min-block-duration=2h")
        .arg("--storage.tsdb.max-block-duration=2h")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let process = Process { child, port, grpc_port: 0 };
    wait_ready(port, "/-/ready", "prometheus", &log_path);
    process
}
