//! Test plumbing: our binary, running commands, and the real parts from `testkit`.

use std::path::Path;
use std::process::{Command, Output};

pub(crate) use testkit::blocks::block_dirs;
pub(crate) use testkit::http::{get as http_get, urlencode};
use testkit::prometheus::{Prometheus, PrometheusConfig};
pub(crate) use testkit::tool as prometheus_tool;

/// Our binary.
pub(crate) fn thanos_tools() -> Command {
    Command::new(env!("CARGO_BIN_EXE_thanos-tools"))
}

/// Runs a command, failing the test with its stderr if it fails.
pub(crate) fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A Prometheus 2.42 server over a copy of some blocks, stopped on drop.
pub(crate) struct PrometheusServer {
    _server: Prometheus,
    pub(crate) port: u16,
}

impl PrometheusServer {
    /// Starts Prometheus over a copy of the blocks in `data_dir` on a free port (blocks left as
    /// they are: 2h min = max block duration, 100y retention).
    pub(crate) fn start(data_dir: &Path, _config_dir: &Path) -> Self {
        let server = Prometheus::start(PrometheusConfig {
            seed_blocks: block_dirs(data_dir),
            ..PrometheusConfig::default()
        });
        Self { port: server.port, _server: server }
    }

    /// GET `path` and return the status and body.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}
