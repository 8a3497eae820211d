//! Test plumbing: promtool blocks, buckets, the real `thanos-store` binary, a StoreAPI client,
//! and the oracles (`promtool tsdb dump`, Prometheus 2.42's HTTP API).

#![allow(dead_code, unused_imports, reason = "each test binary uses a different part")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
pub(crate) use testkit::dump::{Samples, float_bits, labels_string};

use futures::StreamExt;
use objstore::Bucket;
use storeapi::pb::hintspb;
use storeapi::pb::thanos::store_client::StoreClient;
use storeapi::pb::thanos::{self as pb, series_response};
use tonic::transport::Channel;
use tsdb_format::Labels;
use tsdb_format::chunkenc::XorIterator;
use tsdb_format::meta::BlockMeta;

use testkit::blocks::{Fixture, Generated};
pub(crate) use testkit::blocks::{block_dirs, copy_dir};
pub(crate) use testkit::free_port;
pub(crate) use testkit::http::{get as http_get, urlencode};
use testkit::prometheus::{Prometheus, PrometheusConfig};

/// The external labels every test block is uploaded with.
pub(crate) const EXT_LABEL: (&str, &str) = ("cluster", "a");

/// 40 series over 12 hours at a 30 s step, in 2h promtool blocks, made once per test binary.
pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture::generate(Generated { series: 40, days: 0.5, ..Generated::default() }))
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

/// `promtool tsdb dump --match --min-time --max-time` over the fixture blocks.
pub(crate) fn promtool_dump(selector: &str, mint: i64, maxt: i64) -> Samples {
    testkit::dump::promtool_dump(&block_dirs(&fixture().blocks), selector, mint, maxt)
}

/// A Prometheus 2.42 server over a copy of the fixture blocks, killed on drop.
pub(crate) struct PrometheusServer(Prometheus);

impl PrometheusServer {
    /// Starts Prometheus and waits until it is ready.
    pub(crate) fn start() -> Self {
        Self(Prometheus::start(PrometheusConfig {
            seed_blocks: block_dirs(&fixture().blocks),
            ..PrometheusConfig::default()
        }))
    }

    /// The `data` array of a successful API answer.
    pub(crate) fn api_strings(&self, path: &str) -> Vec<String> {
        self.0.api_strings(path)
    }
}

/// Runs an async test body on a fresh runtime.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime").block_on(future)
}
