//! The oracle: a real Prometheus 2.42 serving a copy of the blocks, queried over its HTTP API.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Prometheus server over a data directory, stopped on drop.
pub(crate) struct PrometheusServer {
    child: Child,
    port: u16,
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

impl PrometheusServer {
    /// Starts Prometheus over `data_dir` (which must hold only blocks) on a free port, with
    /// settings that leave the blocks as they are: 2h min = max block duration (no compaction),
    /// and a 100y retention (retention counts back from the newest block). The evaluation
    /// interval, the default subquery step, is 1m.
    pub(crate) fn start(data_dir: &Path, config_dir: &Path) -> Self {
        assert!(
            on_path("prometheus"),
            "`prometheus` not found on PATH: install Debian's prometheus package (2.42): \
             apt-get install -y --no-install-recommends prometheus"
        );
        let config = config_dir.join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n").unwrap();
        let log = std::fs::File::create(config_dir.join("prometheus.log")).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data_dir.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=100y")
            .arg("--storage.tsdb.min-block-duration=2h")
            .arg("--storage.tsdb.max-block-duration=2h")
            .arg("--query.lookback-delta=5m")
            .arg("--query.max-samples=50000000")
            .stdout(Stdio::null())
            .stderr(log)
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
        panic!(
            "prometheus on port {port} did not become ready; see {}",
            config_dir.join("prometheus.log").display()
        );
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

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.0 GET against 127.0.0.1.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
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

/// Milliseconds as the API's seconds parameter (`1704060000.123`).
pub(crate) fn api_time(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}
