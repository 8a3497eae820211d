//! Test plumbing: promtool blocks, a real Prometheus 2.42 with external labels over them, the
//! real `thanos-sidecar` binary, a StoreAPI client, and the oracles (`promtool tsdb dump`,
//! Prometheus' HTTP API).

#![allow(dead_code, unused_imports, reason = "each test binary uses a different part")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
pub(crate) use testkit::dump::{Samples, float_bits, labels_string};

use futures::StreamExt;
use storeapi::pb::thanos::info::info_client::InfoClient;
use storeapi::pb::thanos::store_client::StoreClient;
use storeapi::pb::thanos::{self as pb, series_response};
use testkit::blocks::{Fixture, Generated};
use testkit::process::Process;
use testkit::prometheus::{Prometheus, PrometheusConfig};
use tonic::transport::Channel;
use tsdb_format::chunkenc::XorIterator;
use tsdb_format::meta::BlockMeta;

pub(crate) use testkit::blocks::{block_dirs, copy_dir};
pub(crate) use testkit::free_port;
pub(crate) use testkit::http::{get as http_get, urlencode};

/// Prometheus' external labels in every test.
pub(crate) const EXTERNAL: [(&str, &str); 2] = [("cluster", "test"), ("replica", "0")];

/// `prometheus.yml` with [`EXTERNAL`] and no scrape jobs (the data is the seeded blocks).
pub(crate) fn config_with_external_labels() -> String {
    "global:\n  scrape_interval: 1m\n  external_labels:\n    cluster: test\n    replica: \"0\"\n".to_owned()
}

/// 40 series over 12 hours at a 30 s step, in 2h promtool blocks, made once per test binary.
pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture::generate(Generated { series: 40, days: 0.5, ..Generated::default() }))
}

/// The fixture's time range `[first sample, last sample]`.
pub(crate) fn fixture_range() -> (i64, i64) {
    let metas = &fixture().metas;
    (metas[0].min_time, metas[metas.len() - 1].max_time - 1)
}

/// Prometheus over a copy of the fixture with [`EXTERNAL`] labels; `flags` replace the
/// default extra flags when given.
pub(crate) fn prometheus_with(flags: Option<Vec<String>>, config_yaml: String) -> Prometheus {
    let mut config =
        PrometheusConfig { seed_blocks: block_dirs(&fixture().blocks), config_yaml, ..Default::default() };
    if let Some(flags) = flags {
        config.flags = flags;
    }
    Prometheus::start(config)
}

/// Prometheus over the fixture with external labels, and frames cut small so that series are
/// split across several remote-read frames.
pub(crate) fn prometheus() -> Prometheus {
    let mut flags = PrometheusConfig::default().flags;
    flags.push("--storage.remote.read-max-bytes-in-frame=1024".to_owned());
    prometheus_with(Some(flags), config_with_external_labels())
}

/// A running `thanos-sidecar`, killed on drop.
pub(crate) struct Sidecar {
    /// The process and its log.
    pub(crate) process: Process,
    /// HTTP port (`/metrics`, probes).
    pub(crate) http_port: u16,
    /// gRPC port (StoreAPI).
    pub(crate) grpc_port: u16,
    _dir: tempfile::TempDir,
}

impl Sidecar {
    /// Starts the sidecar for the Prometheus at `prometheus_url` with `extra` flags; does not wait.
    pub(crate) fn spawn(prometheus_url: &str, extra: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (http_port, grpc_port) = (free_port(), free_port());
        let mut command = Command::new(env!("CARGO_BIN_EXE_thanos-sidecar"));
        command
            .arg(format!("--prometheus.url={prometheus_url}"))
            .arg(format!("--http-address=127.0.0.1:{http_port}"))
            .arg(format!("--grpc-address=127.0.0.1:{grpc_port}"))
            .arg("--http-grace-period=1s")
            .arg("--grpc-grace-period=1s")
            .args(extra);
        let process = Process::spawn("thanos-sidecar", command, &dir.path().join("sidecar.log"));
        Self { process, http_port, grpc_port, _dir: dir }
    }

    /// Starts the sidecar and waits until `/-/ready` answers 200.
    pub(crate) fn start(prometheus_url: &str, extra: &[String]) -> Self {
        let mut sidecar = Self::spawn(prometheus_url, extra);
        sidecar.process.wait_http_ok(sidecar.http_port, "/-/ready", Duration::from_secs(30));
        sidecar
    }

    /// `GET path` on the HTTP port: status and body.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        http_get(self.http_port, path).unwrap_or((0, String::new()))
    }

    /// The value of the first `/metrics` line starting with `prefix`.
    pub(crate) fn metric(&self, prefix: &str) -> Option<f64> {
        let (_, body) = self.get("/metrics");
        body.lines()
            .find(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with([' ', '{']))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    /// A connected StoreAPI client.
    pub(crate) async fn store(&self) -> StoreClient<Channel> {
        let channel =
            storeapi::grpc::connect(&format!("127.0.0.1:{}", self.grpc_port)).await.expect("connect");
        storeapi::grpc::store_client(channel)
    }

    /// A connected Info client.
    pub(crate) async fn info(&self) -> InfoClient<Channel> {
        let channel =
            storeapi::grpc::connect(&format!("127.0.0.1:{}", self.grpc_port)).await.expect("connect");
        storeapi::grpc::info_client(channel)
    }
}

/// Waits up to `within` for `process` to exit; its status, or `None` if still running.
pub(crate) fn wait_exit(command: &mut Command, within: Duration) -> (Option<ExitStatus>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("out.log");
    let file = std::fs::File::create(&log).expect("log");
    let mut child = command
        .stdout(file.try_clone().expect("log"))
        .stderr(file)
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, std::fs::read_to_string(&log).unwrap_or_default())
}

/// Polls `check` every 100 ms until it is true or `within` has passed.
pub(crate) fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// Every series of one Series call, frames and batches flattened.
pub(crate) async fn series(
    client: &mut StoreClient<Channel>,
    request: pb::SeriesRequest,
) -> Result<Vec<pb::Series>, tonic::Status> {
    let mut stream = client.series(request).await?.into_inner();
    let mut out = Vec::new();
    while let Some(frame) = stream.next().await {
        match frame?.result {
            Some(series_response::Result::Series(s)) => out.push(s),
            Some(series_response::Result::Batch(batch)) => out.extend(batch.series),
            Some(series_response::Result::Warning(w)) => panic!("unexpected warning {w}"),
            Some(series_response::Result::Hints(_)) | None => {}
        }
    }
    Ok(out)
}

/// A Series request; matchers as `(type, name, value)` with types EQ=0 NEQ=1 RE=2 NRE=3.
pub(crate) fn request(matchers: &[(i32, &str, &str)], min_time: i64, max_time: i64) -> pb::SeriesRequest {
    pb::SeriesRequest {
        min_time,
        max_time,
        matchers: matchers
            .iter()
            .map(|(t, n, v)| pb::LabelMatcher { r#type: *t, name: (*n).into(), value: (*v).into() })
            .collect(),
        ..Default::default()
    }
}

/// Decodes a Series answer: checks the StoreAPI contract (series sorted and unique, labels
/// sorted, external labels present, chunk hashes), trims samples to `[mint, maxt]`, and keys
/// series without the external labels, as promtool prints them.
pub(crate) fn decode(series: &[pb::Series], mint: i64, maxt: i64) -> Samples {
    assert!(
        series.windows(2).all(|w| storeapi::labels::compare(&w[0].labels, &w[1].labels).is_lt()),
        "series sorted by labels, each once"
    );
    let mut out = Samples::new();
    for s in series {
        assert!(storeapi::labels::is_sorted(&s.labels), "labels sorted: {:?}", s.labels);
        for (name, value) in EXTERNAL {
            assert_eq!(storeapi::labels::get(&s.labels, name), Some(value), "external label {name} added");
        }
        let key = labels_string(
            s.labels
                .iter()
                .filter(|l| !EXTERNAL.iter().any(|(n, _)| *n == l.name))
                .map(|l| (l.name.as_str(), l.value.as_str())),
        );
        let mut samples = Vec::new();
        for chunk in &s.chunks {
            let raw = chunk.raw.as_ref().expect("raw chunk");
            assert_eq!(raw.r#type, pb::chunk::Encoding::Xor as i32);
            assert_eq!(raw.hash, storeapi::chunk::hash(&raw.data), "chunk hash set");
            let mut it = XorIterator::new(&raw.data).expect("xor chunk");
            let mut first = true;
            while let Some((t, v)) = it.next_sample().expect("xor sample") {
                if first {
                    assert_eq!(t, chunk.min_time, "chunk min time is its first sample");
                    first = false;
                }
                assert!(t <= chunk.max_time, "sample {t} after chunk max time {}", chunk.max_time);
                if t >= mint && t <= maxt {
                    samples.push((t, float_bits(v)));
                }
            }
        }
        if !samples.is_empty() {
            out.insert(key, samples);
        }
    }
    out
}

/// `promtool tsdb dump --match --min-time --max-time` over the fixture blocks.
pub(crate) fn promtool_dump(selector: &str, mint: i64, maxt: i64) -> Samples {
    testkit::dump::promtool_dump(&block_dirs(&fixture().blocks), selector, mint, maxt)
}

/// Raw samples of `selector` in `[mint, maxt]` from Prometheus' own query API (a range
/// selector evaluated at `maxt`), keyed like [`decode`].
pub(crate) fn prometheus_samples(prometheus: &Prometheus, selector: &str, mint: i64, maxt: i64) -> Samples {
    let range_ms = maxt - mint;
    let query = format!("{selector}[{range_ms}ms]");
    let time = format!("{}.{:03}", maxt.div_euclid(1000), maxt.rem_euclid(1000));
    let json = prometheus.get_json(&format!("/api/v1/query?query={}&time={time}", urlencode(&query)));
    let mut out = Samples::new();
    for series in json["data"]["result"].as_array().expect("matrix") {
        let metric = series["metric"].as_object().expect("metric");
        let key = labels_string(metric.iter().map(|(k, v)| (k.as_str(), v.as_str().expect("label value"))));
        let values: Vec<(i64, u64)> = series["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|pair| {
                let t = (pair[0].as_f64().expect("time") * 1000.0).round() as i64;
                let text = pair[1].as_str().expect("value");
                let v = match text {
                    "NaN" => f64::NAN,
                    "+Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    other => other.parse().expect("value"),
                };
                (t, float_bits(v))
            })
            .collect();
        out.insert(key, values);
    }
    out
}

/// Runs a future on a fresh current-thread runtime (tests are synchronous around processes).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
}
