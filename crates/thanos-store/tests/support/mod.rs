//! Test plumbing: promtool blocks, buckets, the real `thanos-store` binary, a StoreAPI client,
//! and the oracles (`promtool tsdb dump`, Prometheus 2.42's HTTP API).

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use objstore::Bucket;
use storeapi::pb::hintspb;
use storeapi::pb::thanos::store_client::StoreClient;
use storeapi::pb::thanos::{self as pb, series_response};
use tonic::transport::Channel;
use tsdb_format::Labels;
use tsdb_format::chunkenc::XorIterator;
use tsdb_format::meta::BlockMeta;

/// The external labels every test block is uploaded with.
pub(crate) const EXT_LABEL: (&str, &str) = ("cluster", "a");

/// Blocks made once per test binary by promtool from the shared generator.
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) blocks: PathBuf,
    pub(crate) metas: Vec<BlockMeta>,
}

/// A command from Debian's `prometheus` package; fails loudly when missing.
pub(crate) fn prometheus_tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(found, "`{name}` not found on PATH: install Debian's `prometheus` package (2.42)");
    Command::new(name)
}

fn generator() -> PathBuf {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/gen_openmetrics.py");
    if beside.is_file() {
        return beside;
    }
    PathBuf::from("/work/shared/tools/gen_openmetrics.py")
}

/// 40 series over 12 hours at a 30 s step, in 2h promtool blocks.
pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("input.om");
        let status = Command::new("python3")
            .arg(generator())
            .arg(&input)
            .args(["--series", "40", "--days", "0.5"])
            .stdout(Stdio::null())
            .status()
            .expect("run python3 gen_openmetrics.py");
        assert!(status.success(), "generator failed");
        let blocks = dir.path().join("blocks");
        let out = prometheus_tool("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
            .arg(&input)
            .arg(&blocks)
            .output()
            .expect("run promtool");
        assert!(out.status.success(), "promtool: {}", String::from_utf8_lossy(&out.stderr));
        let mut metas: Vec<BlockMeta> = block_dirs(&blocks)
            .iter()
            .map(|d| BlockMeta::read_from_dir(d).expect("promtool meta.json"))
            .collect();
        metas.sort_by_key(|m| m.min_time);
        assert!(metas.len() >= 3, "want several blocks, got {}", metas.len());
        Fixture { _dir: dir, blocks, metas }
    })
}

/// ULID-named block directories in `dir`, sorted.
pub(crate) fn block_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("meta.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Uploads every fixture block to `bucket` with [`EXT_LABEL`].
pub(crate) async fn upload_all(bucket: &dyn Bucket) {
    let labels = Labels::from_pairs([EXT_LABEL]);
    for dir in block_dirs(&fixture().blocks) {
        block::upload_block(bucket, &dir, &labels, block::source::TEST, block::HashFunc::None)
            .await
            .expect("upload block");
    }
}

/// A filesystem bucket with the fixture uploaded; returns the objstore YAML for the store.
pub(crate) async fn filesystem_bucket(root: &Path) -> (Arc<dyn Bucket>, String) {
    let yaml = format!("type: FILESYSTEM\nconfig:\n  directory: {}\n", root.display());
    let bucket = objstore::bucket_from_config_yaml(&yaml).expect("filesystem bucket");
    upload_all(bucket.as_ref()).await;
    (bucket, yaml)
}

/// A free port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A running `thanos-store`, killed on drop.
pub(crate) struct StoreProcess {
    child: Child,
    pub(crate) http_port: u16,
    pub(crate) grpc_port: u16,
    pub(crate) log: PathBuf,
}

impl StoreProcess {
    /// Starts the binary with the objstore YAML written beside `data_dir`, plus `extra` flags.
    pub(crate) fn start(objstore_yaml: &str, data_dir: &Path, extra: &[&str]) -> Self {
        let work = data_dir.parent().expect("data dir has a parent");
        let config = work.join(format!("objstore-{}.yaml", free_port()));
        std::fs::write(&config, objstore_yaml).expect("write objstore config");
        let (http_port, grpc_port) = (free_port(), free_port());
        let log = work.join(format!("store-{http_port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_thanos-store"))
            .arg(format!("--objstore.config-file={}", config.display()))
            .arg(format!("--data-dir={}", data_dir.display()))
            .arg(format!("--http-address=127.0.0.1:{http_port}"))
            .arg(format!("--grpc-address=127.0.0.1:{grpc_port}"))
            .arg("--http-grace-period=0s")
            .arg("--grpc-grace-period=0s")
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start thanos-store");
        Self { child, http_port, grpc_port, log }
    }

    /// HTTP GET on the store's HTTP port.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        http_get(self.http_port, path).unwrap_or((0, String::new()))
    }

    /// Waits until `/-/ready` answers 200.
    pub(crate) fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if self.get("/-/ready").0 == 200 {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("thanos-store exited with {status}:\n{}", self.logs());
            }
            assert!(Instant::now() < deadline, "thanos-store not ready within {within:?}:\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process' log so far.
    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The value of one metric line starting with `prefix` (`name{labels}`), 0 if absent.
    pub(crate) fn metric(&self, prefix: &str) -> f64 {
        let (_, body) = self.get("/metrics");
        body.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// A StoreAPI client.
    pub(crate) async fn client(&self) -> StoreClient<Channel> {
        let channel =
            storeapi::grpc::connect(&format!("127.0.0.1:{}", self.grpc_port)).await.expect("connect");
        storeapi::grpc::store_client(channel)
    }

    /// Stops the process.
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for StoreProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A minimal HTTP/1.0 GET against 127.0.0.1.
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

/// Samples per series, keyed by Prometheus' `labels.String()` form.
pub(crate) type Samples = BTreeMap<String, Vec<(i64, u64)>>;

/// `{a="1", b="2"}` as Prometheus prints label sets.
pub(crate) fn labels_string<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in labels.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push('=');
        tsdb_format::labels::write_go_quoted(&mut out, value).expect("write to string");
    }
    out.push('}');
    out
}

fn float_bits(v: f64) -> u64 {
    if v.is_nan() { f64::NAN.to_bits() } else { v.to_bits() }
}

/// What one Series call returned.
#[derive(Debug, Default)]
pub(crate) struct SeriesResult {
    pub(crate) series: Vec<pb::Series>,
    pub(crate) queried_blocks: Vec<String>,
}

/// Calls Series and collects every frame.
pub(crate) async fn series(
    client: &mut StoreClient<Channel>,
    request: pb::SeriesRequest,
) -> Result<SeriesResult, tonic::Status> {
    let mut stream = client.series(request).await?.into_inner();
    let mut out = SeriesResult::default();
    while let Some(frame) = stream.next().await {
        match frame?.result {
            Some(series_response::Result::Series(s)) => out.series.push(s),
            Some(series_response::Result::Hints(any)) => {
                let hints: hintspb::SeriesResponseHints =
                    prost::Message::decode(any.value.as_slice()).expect("series hints decode");
                out.queried_blocks.extend(hints.queried_blocks.into_iter().map(|b| b.id));
            }
            Some(series_response::Result::Batch(batch)) => out.series.extend(batch.series),
            Some(series_response::Result::Warning(w)) => panic!("unexpected warning {w}"),
            None => {}
        }
    }
    Ok(out)
}

/// A Series request for PromQL-style matchers.
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

/// Decodes the XOR chunks of a Series answer, trims to `[mint, maxt]`, and drops the external
/// label, keyed as promtool prints series.
pub(crate) fn decode(result: &SeriesResult, mint: i64, maxt: i64) -> Samples {
    let mut out = Samples::new();
    for s in &result.series {
        assert!(storeapi::labels::is_sorted(&s.labels), "labels sorted: {:?}", s.labels);
        assert_eq!(storeapi::labels::get(&s.labels, EXT_LABEL.0), Some(EXT_LABEL.1), "external label added");
        let key = labels_string(
            s.labels.iter().filter(|l| l.name != EXT_LABEL.0).map(|l| (l.name.as_str(), l.value.as_str())),
        );
        let mut samples = Vec::new();
        for chunk in &s.chunks {
            let raw = chunk.raw.as_ref().expect("raw chunk");
            assert_eq!(raw.hash, storeapi::chunk::hash(&raw.data), "chunk hash set");
            assert!(chunk.max_time >= mint && chunk.min_time <= maxt, "chunk overlaps the range");
            let mut it = XorIterator::new(&raw.data).expect("xor chunk");
            while let Some((t, v)) = it.next_sample().expect("xor sample") {
                if t >= mint && t <= maxt {
                    samples.push((t, float_bits(v)));
                }
            }
        }
        if !samples.is_empty() {
            let previous = out.insert(key.clone(), samples);
            assert!(previous.is_none(), "series {key} sent twice");
        }
    }
    out
}

/// `promtool tsdb dump --match --min-time --max-time` over a copy of the fixture blocks.
pub(crate) fn promtool_dump(selector: &str, mint: i64, maxt: i64) -> Samples {
    let copy = tempfile::tempdir().expect("tempdir");
    for dir in block_dirs(&fixture().blocks) {
        copy_dir(&dir, &copy.path().join(dir.file_name().expect("name")));
    }
    std::fs::create_dir_all(copy.path().join("wal")).expect("wal dir");
    let out = prometheus_tool("promtool")
        .args(["tsdb", "dump"])
        .arg(format!("--match={selector}"))
        .arg(format!("--min-time={mint}"))
        .arg(format!("--max-time={maxt}"))
        .arg(copy.path())
        .output()
        .expect("run promtool tsdb dump");
    assert!(out.status.success(), "promtool dump: {}", String::from_utf8_lossy(&out.stderr));
    let mut samples = Samples::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.rsplitn(3, ' ');
        let (Some(ts), Some(value), Some(labels)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("unexpected dump line {line:?}");
        };
        let value = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or_else(|_| panic!("value in {line:?}")),
        };
        samples.entry(labels.to_owned()).or_default().push((ts.parse().expect("ts"), float_bits(value)));
    }
    samples
}

/// Copies a directory tree.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

/// A Prometheus 2.42 server over a copy of the fixture blocks, killed on drop.
pub(crate) struct PrometheusServer {
    child: Child,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl PrometheusServer {
    /// Starts Prometheus and waits until it is ready.
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        for block in block_dirs(&fixture().blocks) {
            copy_dir(&block, &data.join(block.file_name().expect("name")));
        }
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1m\n").expect("config");
        let port = free_port();
        let child = prometheus_tool("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=100y")
            .arg("--storage.tsdb.min-block-duration=2h")
            .arg("--storage.tsdb.max-block-duration=2h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let server = Self { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http_get(port, "/-/ready") {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("prometheus on port {port} did not become ready");
    }

    /// The `data` array of a successful API answer.
    pub(crate) fn api_strings(&self, path: &str) -> Vec<String> {
        let (status, body) = http_get(self.port, path).expect("prometheus api");
        assert_eq!(status, 200, "{path}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        json["data"]
            .as_array()
            .expect("data array")
            .iter()
            .map(|v| v.as_str().expect("string").to_owned())
            .collect()
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs an async test body on a fresh runtime.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime").block_on(future)
}
