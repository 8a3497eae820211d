//! Test plumbing: finding the real tools, running commands, generating input, a Prometheus server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Our binary.
pub(crate) fn thanos_tools() -> Command {
    Command::new(env!("CARGO_BIN_EXE_thanos-tools"))
}

/// A tool from Debian's `prometheus` package; fails loudly when missing.
pub(crate) fn prometheus_tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{name}` not found on PATH: install Debian's `prometheus` package (2.42), as .ci/run does"
    );
    Command::new(name)
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

/// The block directories (ULID-named) in `dir`, sorted by name.
pub(crate) fn block_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// A deterministic xorshift generator, so the input is the same on every run.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn om_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{v}")
    }
}

/// Writes an OpenMetrics file with `series` series over `hours` hours from 2024-01-01T00:17:00Z:
/// counters with resets, gauges with NaN/±Inf and wide magnitudes, irregular and sparse intervals.
/// Returns the number of samples.
pub(crate) fn write_openmetrics(path: &Path, series: usize, hours: i64) -> usize {
    let start_ms: i64 = 1_704_068_220_000;
    let end_ms = start_ms + hours * 3_600_000;
    let mut rng = Rng::new(0x5eed);
    let mut out = String::new();
    let mut samples = 0;
    let counters = series * 45 / 100;
    let gauges = series * 45 / 100;
    let sparse = series - counters - gauges;

    out.push_str("# HELP test_requests Requests.\n# TYPE test_requests counter\n");
    for s in 0..counters {
        let mut t = start_ms + rng.below(30_000) as i64;
        let mut v = (rng.below(1000)) as f64;
        while t < end_ms {
            if rng.below(400) == 0 {
                v = rng.below(5) as f64; // reset
            } else {
                v += rng.below(100) as f64 + if s % 3 == 0 { 0.25 } else { 0.0 };
            }
            let labels = format!("instance=\"i-{}\",job=\"job-{}\",path=\"/p/{s}\"", s % 37, s % 5);
            out.push_str(&format!("test_requests_total{{{labels}}} {} {}\n", om_float(v), seconds(t)));
            samples += 1;
            t += 15_000 + rng.below(30_000) as i64;
            if rng.below(200) == 0 {
                t += 600_000; // a gap
            }
        }
    }
    out.push_str("# HELP test_temperature Gauges.\n# TYPE test_temperature gauge\n");
    for s in 0..gauges {
        let mut t = start_ms + rng.below(60_000) as i64;
        let scale = 10f64.powi((s % 20) as i32 - 8);
        let mut v = (rng.unit() - 0.5) * scale;
        let step = [10_000, 30_000, 60_000][s % 3];
        while t < end_ms {
            let special = rng.below(500);
            let value = match special {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                _ => {
                    v += (rng.unit() - 0.5) * scale / 10.0;
                    v
                }
            };
            let labels = format!("instance=\"i-{}\",sensor=\"s{s}\",zone=\"z\\\"{}\\\\\"", s % 37, s % 4);
            out.push_str(&format!("test_temperature{{{labels}}} {} {}\n", om_float(value), seconds(t)));
            samples += 1;
            t += step + rng.below(1_000) as i64;
        }
    }
    out.push_str("# HELP test_sparse Sparse gauges.\n# TYPE test_sparse gauge\n");
    for s in 0..sparse {
        let mut t = start_ms + rng.below(3_600_000) as i64;
        while t < end_ms {
            let v = rng.below(1_000_000) as f64 / 7.0;
            out.push_str(&format!("test_sparse{{id=\"{s}\"}} {} {}\n", om_float(v), seconds(t)));
            samples += 1;
            t += 60_000 + rng.below(7_200_000) as i64;
        }
    }
    out.push_str("# EOF\n");
    std::fs::write(path, out).unwrap();
    samples
}

/// Seconds with millisecond precision, as OpenMetrics timestamps are written.
fn seconds(ms: i64) -> String {
    if ms % 1000 == 0 { format!("{}", ms / 1000) } else { format!("{}.{:03}", ms / 1000, ms % 1000) }
}

/// A free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A Prometheus 2.42 server over a copy of some blocks, stopped on drop.
pub(crate) struct PrometheusServer {
    child: Child,
    pub(crate) port: u16,
}

impl PrometheusServer {
    /// Starts Prometheus over `data_dir` (which must hold only blocks) on a free port.
    pub(crate) fn start(data_dir: &Path, config_dir: &Path) -> Self {
        let config = config_dir.join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1m\n").unwrap();
        let port = free_port();
        let child = prometheus_tool("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data_dir.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=100y")
            .arg("--storage.tsdb.min-block-duration=2h")
            .arg("--storage.tsdb.max-block-duration=2h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let server = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http_get(port, "/-/ready") {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("prometheus on port {port} did not become ready");
    }

    /// GET `path` and return the status and body.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.0 GET against 127.0.0.1 (no client crate needed for a few test requests).
pub(crate) fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, body.to_string()))
}

/// Percent-encodes a query-string value.
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
