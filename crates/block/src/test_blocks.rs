//! Fake blocks on local disk for this crate's unit tests.

use std::path::{Path, PathBuf};

use tsdb_format::meta::{BlockMeta, BlockStats};
use ulid::Ulid;

use crate::{CHUNKS_DIRNAME, INDEX_FILENAME};

/// Writes a fake block `root/<id>`: meta.json, an 11-byte index, one 11-byte chunk segment and
/// tombstones.
pub(crate) fn write_block(root: &Path, id: Ulid) -> PathBuf {
    let dir = root.join(id.to_string());
    std::fs::create_dir_all(dir.join(CHUNKS_DIRNAME)).expect("mkdir chunks");
    std::fs::write(dir.join(CHUNKS_DIRNAME).join("000001"), b"chunks-data").expect("write chunks");
    std::fs::write(dir.join(INDEX_FILENAME), b"index-data!").expect("write index");
    std::fs::write(dir.join("tombstones"), b"t").expect("write tombstones");
    let stats = BlockStats { num_samples: 10, num_series: 1, num_chunks: 1, ..BlockStats::default() };
    BlockMeta::new_level1(id, 1000, 2000, stats).write_to_dir(&dir).expect("write meta");
    dir
}

/// A fresh ULID for a test: the current time and a process-wide counter (the `ulid` crate is
/// built without its random generator).
pub(crate) fn new_ulid() -> Ulid {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    Ulid::from_parts(now_ms, u128::from(COUNTER.fetch_add(1, Ordering::Relaxed)))
}

/// An empty filesystem bucket in a fresh temporary directory, which lives as long as the guard.
pub(crate) fn temp_bucket() -> (tempfile::TempDir, objstore::FilesystemBucket) {
    let store = tempfile::tempdir().expect("tempdir for the bucket");
    let bucket = objstore::FilesystemBucket::new(store.path()).expect("open the filesystem bucket");
    (store, bucket)
}

/// Metadata of a block with a Thanos section: labels `region=<region>`, source `source`, upload
/// time `upload_time` (RFC 3339; Go's zero time when `None`) and its own ULID as only source.
pub(crate) fn thanos_meta(
    id: Ulid,
    (min_time, max_time): (i64, i64),
    region: &str,
    source: &str,
    upload_time: Option<std::time::SystemTime>,
) -> BlockMeta {
    let mut meta = BlockMeta::new_level1(id, min_time, max_time, BlockStats::default());
    meta.thanos = Some(tsdb_format::meta::ThanosMeta {
        labels: [("region".to_string(), region.to_string())].into(),
        source: source.to_string(),
        upload_time: upload_time.map_or_else(tsdb_format::meta::go_zero_time, crate::format_rfc3339_nanos),
        ..Default::default()
    });
    meta
}

/// Writes `meta` as `<ULID>/meta.json` (and an index, so the block looks real) into `bucket`.
pub(crate) async fn put_meta(bucket: &dyn objstore::Bucket, meta: &BlockMeta) {
    let id = meta.ulid;
    bucket
        .put(&crate::block_key(id, INDEX_FILENAME), bytes::Bytes::from_static(b"index"))
        .await
        .expect("put index");
    bucket
        .put(&crate::block_key(id, crate::META_FILENAME), bytes::Bytes::from(meta.to_json()))
        .await
        .expect("put meta.json");
}

/// A `metrics` recorder remembering the last value of every gauge, the sum of every counter and
/// the number of observations of every histogram, by `name{k="v",…}`.
#[derive(Debug, Clone, Default)]
pub(crate) struct TestRecorder {
    values: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, f64>>>,
}

#[derive(Debug)]
struct TestHandle {
    key: String,
    values: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, f64>>>,
}

impl TestHandle {
    fn update(&self, f: impl FnOnce(&mut f64)) {
        let mut values = self.values.lock().expect("recorder lock");
        f(values.entry(self.key.clone()).or_default());
    }
}

impl metrics::CounterFn for TestHandle {
    fn increment(&self, value: u64) {
        self.update(|v| *v += value as f64);
    }
    fn absolute(&self, value: u64) {
        self.update(|v| *v = value as f64);
    }
}

impl metrics::GaugeFn for TestHandle {
    fn increment(&self, value: f64) {
        self.update(|v| *v += value);
    }
    fn decrement(&self, value: f64) {
        self.update(|v| *v -= value);
    }
    fn set(&self, value: f64) {
        self.update(|v| *v = value);
    }
}

impl metrics::HistogramFn for TestHandle {
    fn record(&self, _value: f64) {
        self.update(|v| *v += 1.0);
    }
}

impl TestRecorder {
    fn handle(&self, key: &metrics::Key) -> std::sync::Arc<TestHandle> {
        let labels: Vec<String> = key.labels().map(|l| format!("{}=\"{}\"", l.key(), l.value())).collect();
        let key = if labels.is_empty() {
            key.name().to_string()
        } else {
            format!("{}{{{}}}", key.name(), labels.join(","))
        };
        std::sync::Arc::new(TestHandle { key, values: self.values.clone() })
    }

    /// The value recorded under `key` (`name` or `name{k="v"}`), if any.
    pub(crate) fn get(&self, key: &str) -> Option<f64> {
        self.values.lock().expect("recorder lock").get(key).copied()
    }
}

impl metrics::Recorder for TestRecorder {
    fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: metrics::SharedString) {}
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(self.handle(key))
    }
    fn register_gauge(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::from_arc(self.handle(key))
    }
    fn register_histogram(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Histogram {
        metrics::Histogram::from_arc(self.handle(key))
    }
}
