//! The shipper against real parts: promtool 2.42 blocks in a TSDB-like directory and a real S3
//! server (s3s-fs). A recording decorator around the S3 bucket logs every request, so the tests
//! can count uploads and check their order, and can hold one upload to interrupt a pass there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use block::shipper::{ShipperState, metrics as names};
use block::{HashFunc, MetaFetcher, Shipper, ShipperConfig, ShipperError, SyncOutcome, source, upload_block};
use bytes::Bytes;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use objstore::testing::{S3sFsServer, SECRET_KEY, test_client_options};
use objstore::{Bucket, ObjectAttributes, S3Bucket};
use testkit::blocks::{Generated, generate};
use tokio::sync::oneshot;
use tsdb_format::Labels;
use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

/// One request seen by [`RecordingBucket`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    PutStart(String),
    PutDone(String),
    PutFailed(String),
    Exists(String),
}

/// Holds the upload of one key until released: it reports the key, then waits.
struct Hold {
    key: String,
    reached: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

/// The real S3 bucket, with every write and `exists` call logged.
#[derive(Debug)]
struct RecordingBucket {
    inner: S3Bucket,
    events: Mutex<Vec<Event>>,
    hold: Mutex<Option<Hold>>,
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hold({})", self.key)
    }
}

impl RecordingBucket {
    fn log(&self, event: Event) {
        self.events.lock().unwrap().push(event);
    }

    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// Events logged after the first `mark` ones.
    fn events_since(&self, mark: usize) -> Vec<Event> {
        self.events.lock().unwrap()[mark..].to_vec()
    }

    /// Holds the next upload of `key`; the first receiver fires when it starts, the sender
    /// lets it go on.
    fn hold(&self, key: String) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (reached, reached_rx) = oneshot::channel();
        let (release_tx, release) = oneshot::channel();
        *self.hold.lock().unwrap() = Some(Hold { key, reached, release });
        (reached_rx, release_tx)
    }

    async fn before_put(&self, key: &str) {
        self.log(Event::PutStart(key.to_owned()));
        let held = {
            let mut hold = self.hold.lock().unwrap();
            if hold.as_ref().is_some_and(|h| h.key == key) { hold.take() } else { None }
        };
        if let Some(Hold { reached, release, .. }) = held {
            reached.send(()).unwrap();
            // A dropped sender (the test dropped the pass) never releases; this future is dropped too.
            let _ = release.await;
        }
    }

    fn after_put(&self, key: &str, result: &objstore::Result<()>) {
        self.log(if result.is_ok() {
            Event::PutDone(key.to_owned())
        } else {
            Event::PutFailed(key.to_owned())
        });
    }
}

#[async_trait]
impl Bucket for RecordingBucket {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn get(&self, key: &str) -> objstore::Result<Bytes> {
        self.inner.get(key).await
    }
    async fn get_range(&self, key: &str, offset: u64, len: u64) -> objstore::Result<Bytes> {
        self.inner.get_range(key, offset, len).await
    }
    async fn put(&self, key: &str, data: Bytes) -> objstore::Result<()> {
        self.before_put(key).await;
        let result = self.inner.put(key, data).await;
        self.after_put(key, &result);
        result
    }
    async fn put_file(&self, key: &str, path: &Path) -> objstore::Result<()> {
        self.before_put(key).await;
        let result = self.inner.put_file(key, path).await;
        self.after_put(key, &result);
        result
    }
    async fn delete(&self, key: &str) -> objstore::Result<()> {
        self.inner.delete(key).await
    }
    async fn exists(&self, key: &str) -> objstore::Result<bool> {
        self.log(Event::Exists(key.to_owned()));
        self.inner.exists(key).await
    }
    async fn attributes(&self, key: &str) -> objstore::Result<ObjectAttributes> {
        self.inner.attributes(key).await
    }
    async fn list(&self, prefix: &str, recursive: bool) -> objstore::Result<Vec<String>> {
        self.inner.list(prefix, recursive).await
    }
}

/// A TSDB-like directory of promtool blocks and an S3 server with an empty bucket.
struct Fixture {
    _dir: tempfile::TempDir,
    tsdb: PathBuf,
    /// Blocks promtool wrote but that are not in `tsdb` yet.
    spare: PathBuf,
    server: S3sFsServer,
    bucket: Arc<RecordingBucket>,
}

const END: u64 = 1_704_326_400;

fn labels() -> Labels {
    Labels::from_pairs([("cluster", "eu1"), ("replica", "0")])
}

/// `blocks` 2h blocks of 40 series ending at [`END`] in the TSDB directory (plus Prometheus'
/// `wal/`, `chunks_head/`, a lock file and an unfinished compaction, all of which the shipper
/// must ignore), and `spare` more, two hours apart further back, kept aside.
async fn fixture(blocks: usize, spare: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("generated");
    let spec = Generated { days: (blocks + spare) as f64 / 12.0, end: END, ..Generated::default() };
    let all = generate(spec, &generated, &[]);
    assert_eq!(all.len(), blocks + spare, "promtool blocks: {all:?}");
    let mut by_time: Vec<(i64, PathBuf)> =
        all.into_iter().map(|d| (BlockMeta::read_from_dir(&d).unwrap().min_time, d)).collect();
    by_time.sort();
    let tsdb = dir.path().join("data");
    let spare_dir = dir.path().join("spare");
    std::fs::create_dir_all(tsdb.join("wal")).unwrap();
    std::fs::create_dir_all(tsdb.join("chunks_head")).unwrap();
    std::fs::create_dir_all(&spare_dir).unwrap();
    std::fs::write(tsdb.join("lock"), "").unwrap();
    for (i, (_, block)) in by_time.iter().enumerate() {
        let target = if i < spare { &spare_dir } else { &tsdb };
        std::fs::rename(block, target.join(block.file_name().unwrap())).unwrap();
    }
    let unfinished = tsdb.join(format!("{}.tmp-for-creation", Ulid::generate()));
    std::fs::create_dir_all(unfinished.join("chunks")).unwrap();

    let server = S3sFsServer::with_buckets(&["blocks"]);
    let inner = S3Bucket::new(&server.s3_config("blocks", SECRET_KEY), test_client_options()).unwrap();
    let bucket = Arc::new(RecordingBucket { inner, events: Mutex::default(), hold: Mutex::default() });
    Fixture { _dir: dir, tsdb, spare: spare_dir, server, bucket }
}

impl Fixture {
    fn config(&self, upload_compacted: bool) -> ShipperConfig {
        ShipperConfig {
            tsdb_dir: self.tsdb.clone(),
            external_labels: labels(),
            source: source::SIDECAR.to_owned(),
            upload_compacted,
            hash_func: HashFunc::Sha256,
        }
    }

    /// A shipper whose metrics go to its own Prometheus recorder.
    fn shipper(&self, config: ShipperConfig) -> (Shipper, PrometheusHandle) {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let bucket: Arc<dyn Bucket> = self.bucket.clone();
        let shipper = metrics::with_local_recorder(&recorder, || Shipper::new(bucket, config));
        (shipper, handle)
    }

    /// Local level-1 blocks with samples, oldest first.
    fn shippable(&self) -> Vec<BlockMeta> {
        local_metas(&self.tsdb)
            .into_iter()
            .filter(|m| m.stats.num_samples > 0 && m.compaction.level == 1)
            .collect()
    }

    /// Moves the spare blocks into the TSDB directory, as if Prometheus had just cut them.
    fn add_spare_blocks(&self) -> Vec<Ulid> {
        let mut ids = Vec::new();
        for block in testkit::blocks::block_dirs(&self.spare) {
            ids.push(Ulid::from_string(block.file_name().unwrap().to_str().unwrap()).unwrap());
            std::fs::rename(&block, self.tsdb.join(block.file_name().unwrap())).unwrap();
        }
        ids
    }

    fn state(&self) -> ShipperState {
        ShipperState::read(&self.tsdb.join("thanos.shipper.json")).unwrap()
    }

    /// Block ids with a `meta.json` in the bucket, and those with objects but no `meta.json`.
    async fn bucket_blocks(&self) -> (Vec<Ulid>, Vec<Ulid>) {
        let fetched = MetaFetcher::new(&self.bucket.inner).fetch().await.unwrap();
        (fetched.metas.keys().copied().collect(), fetched.partial.keys().copied().collect())
    }

    fn uploads_of(&self, key: &str) -> usize {
        self.bucket.events().iter().filter(|e| **e == Event::PutDone(key.to_owned())).count()
    }
}

fn local_metas(tsdb: &Path) -> Vec<BlockMeta> {
    let mut metas: Vec<BlockMeta> =
        testkit::blocks::block_dirs(tsdb).iter().map(|d| BlockMeta::read_from_dir(d).unwrap()).collect();
    metas.sort_by_key(|m| (m.min_time, m.ulid));
    metas
}

/// Copies block `from` under a new ULID and edits its `meta.json` with `edit`.
fn derived_block(tsdb: &Path, from: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> Ulid {
    let id = Ulid::generate();
    let dir = tsdb.join(id.to_string());
    testkit::blocks::copy_dir(from, &dir);
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    meta["ulid"] = id.to_string().into();
    meta["compaction"]["sources"] = serde_json::json!([id.to_string()]);
    edit(&mut meta);
    std::fs::write(dir.join("meta.json"), serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    id
}

/// The value of an unlabelled metric in the exposition text.
fn metric(handle: &PrometheusHandle, name: &str) -> f64 {
    let text = handle.render();
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{name} not exported:\n{text}"))
        .parse()
        .unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that block `local` is in the bucket whole, byte for byte, with the shipper's `thanos`
/// section, and that its local directory is as promtool wrote it.
async fn assert_shipped(bucket: &dyn Bucket, tsdb: &Path, local: &BlockMeta, labels: &Labels) {
    let id = local.ulid;
    let dir = tsdb.join(id.to_string());
    let mut segments: Vec<String> = std::fs::read_dir(dir.join("chunks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    segments.sort();
    let mut want_keys: Vec<String> = segments.iter().map(|s| format!("{id}/chunks/{s}")).collect();
    want_keys.extend([format!("{id}/index"), format!("{id}/meta.json")]);
    assert_eq!(bucket.list(&id.to_string(), true).await.unwrap(), want_keys, "objects of {id}");

    let mut want_files = Vec::new();
    for rel in segments.iter().map(|s| format!("chunks/{s}")).chain(["index".to_owned()]) {
        let bytes = std::fs::read(dir.join(&rel)).unwrap();
        assert_eq!(bucket.get(&format!("{id}/{rel}")).await.unwrap(), bytes, "{id}/{rel}");
        want_files.push(serde_json::json!({
            "rel_path": rel, "size_bytes": bytes.len(), "hash": {"hashFunc": "SHA256", "value": sha256_hex(&bytes)}
        }));
    }
    want_files.push(serde_json::json!({"rel_path": "meta.json"}));

    let uploaded_bytes = bucket.get(&format!("{id}/meta.json")).await.unwrap();
    let uploaded: serde_json::Value = serde_json::from_slice(&uploaded_bytes).unwrap();
    let thanos = &uploaded["thanos"];
    let want_labels: BTreeMap<&str, &str> =
        labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
    assert_eq!(thanos["labels"], serde_json::json!(want_labels), "{id}");
    assert_eq!(thanos["source"], "sidecar");
    assert_eq!(thanos["version"], 1);
    assert_eq!(thanos["downsample"], serde_json::json!({"resolution": 0}));
    assert_eq!(thanos["segment_files"], serde_json::json!(segments));
    assert_eq!(thanos["files"], serde_json::json!(want_files), "{id}");
    assert!(thanos["upload_time"].as_str().unwrap().starts_with("20"), "{thanos}");
    // Everything but the thanos section is the block's own metadata.
    let mut parsed = BlockMeta::from_json(&uploaded_bytes, Path::new("meta.json")).unwrap();
    parsed.thanos = None;
    assert_eq!(&parsed, local);
    assert_eq!(&BlockMeta::read_from_dir(&dir).unwrap(), local, "the local block is left as it was");
}

/// Checks the safe order in the request log: per block chunks and index finished before
/// `meta.json` started, and blocks shipped one after another, oldest first.
fn assert_safe_order(events: &[Event], order: &[Ulid]) {
    let started = |key: &str| events.iter().position(|e| *e == Event::PutStart(key.to_owned()));
    let finished = |key: &str| events.iter().rposition(|e| *e == Event::PutDone(key.to_owned()));
    let mut previous_meta_done = None;
    for id in order {
        let meta_start = started(&format!("{id}/meta.json")).unwrap_or_else(|| panic!("{id} not uploaded"));
        let block_puts: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, Event::PutStart(k) | Event::PutDone(k) if k.starts_with(&format!("{id}/"))))
            .map(|(i, _)| i)
            .collect();
        let index_done = finished(&format!("{id}/index")).unwrap();
        assert!(index_done < meta_start, "{id}: index finished after meta.json started");
        for (i, event) in events.iter().enumerate() {
            if let Event::PutDone(key) = event
                && key.starts_with(&format!("{id}/chunks/"))
            {
                assert!(i < index_done, "{id}: {key} finished after the index");
            }
        }
        if let Some(done) = previous_meta_done {
            assert!(block_puts[0] > done, "{id} started before the previous block was complete");
        }
        previous_meta_done = finished(&format!("{id}/meta.json"));
    }
}

#[tokio::test]
async fn ships_finished_blocks_once_in_safe_order() {
    let f = fixture(6, 1).await;
    let promtool_blocks = f.shippable();
    let oldest = &promtool_blocks[0];
    // Ignored: a block with no samples, and a compacted one (Prometheus' compaction is off).
    let empty = derived_block(&f.tsdb, &f.tsdb.join(oldest.ulid.to_string()), |m| {
        m["stats"]["numSamples"] = 0.into();
    });
    let compacted = derived_block(&f.tsdb, &f.tsdb.join(oldest.ulid.to_string()), |m| {
        m["compaction"]["level"] = 2.into();
    });
    // Already in the bucket (say, uploaded by hand): recorded, never uploaded again.
    let preloaded = &promtool_blocks[2];
    upload_block(
        &f.bucket.inner,
        &f.tsdb.join(preloaded.ulid.to_string()),
        &labels(),
        source::BUCKET_UPLOAD,
        HashFunc::None,
    )
    .await
    .unwrap();
    let (shipper, metrics) = f.shipper(f.config(false));
    for name in [names::DIR_SYNCS_TOTAL, names::DIR_SYNC_FAILURES_TOTAL, names::UPLOADS_TOTAL] {
        assert_eq!(metric(&metrics, name), 0.0, "{name} is exported from the start");
    }

    let started = std::time::Instant::now();
    let outcome = shipper.sync().await.unwrap();
    eprintln!("first pass: {outcome:?} in {:?}", started.elapsed());
    assert_eq!(outcome, SyncOutcome { uploaded: 5, failed: 0 });
    let (complete, partial) = f.bucket_blocks().await;
    let mut want: Vec<Ulid> = promtool_blocks.iter().map(|m| m.ulid).collect();
    want.sort();
    assert_eq!(complete, want, "every finished block, and only those");
    assert!(partial.is_empty(), "{partial:?}");
    for meta in promtool_blocks.iter().filter(|m| m.ulid != preloaded.ulid) {
        assert_shipped(&f.bucket.inner, &f.tsdb, meta, &labels()).await;
    }
    let shipped: Vec<Ulid> =
        promtool_blocks.iter().map(|m| m.ulid).filter(|id| *id != preloaded.ulid).collect();
    assert_safe_order(&f.bucket.events(), &shipped);
    let preloaded_meta: serde_json::Value =
        serde_json::from_slice(&f.bucket.inner.get(&format!("{}/meta.json", preloaded.ulid)).await.unwrap())
            .unwrap();
    assert_eq!(
        preloaded_meta["thanos"]["source"], "bucket.upload",
        "the block in the bucket was not replaced"
    );
    assert!(
        !f.bucket
            .events()
            .iter()
            .any(|e| matches!(e, Event::PutStart(k) if k.starts_with(&preloaded.ulid.to_string())))
    );
    for skipped in [empty, compacted] {
        assert!(!f.bucket.events().iter().any(
            |e| matches!(e, Event::Exists(k) | Event::PutStart(k) if k.starts_with(&skipped.to_string()))
        ));
    }
    let all_ids: Vec<Ulid> = promtool_blocks.iter().map(|m| m.ulid).collect();
    assert_eq!(f.state(), ShipperState { version: 1, uploaded: all_ids.clone() }, "state file, oldest first");
    let upload_dir = f.tsdb.join("thanos/upload");
    assert_eq!(std::fs::read_dir(&upload_dir).unwrap().count(), 0, "hard-linked copies are removed");
    assert_eq!(metric(&metrics, names::UPLOADS_TOTAL), 5.0);
    assert_eq!(metric(&metrics, names::DIR_SYNCS_TOTAL), 1.0);
    assert_eq!(metric(&metrics, names::UPLOAD_COMPACTED_DONE), 0.0);

    // A second pass: nothing is uploaded, and the state file spares even the exists calls.
    let mark = f.bucket.events().len();
    assert_eq!(shipper.sync().await.unwrap(), SyncOutcome { uploaded: 0, failed: 0 });
    assert_eq!(f.bucket.events_since(mark), Vec::new(), "second pass sent no request");
    assert_eq!(f.state().uploaded, all_ids);

    // Without the state file (say, a new volume): the bucket is asked, nothing uploaded twice.
    std::fs::remove_file(f.tsdb.join("thanos.shipper.json")).unwrap();
    let mark = f.bucket.events().len();
    assert_eq!(shipper.sync().await.unwrap(), SyncOutcome { uploaded: 0, failed: 0 });
    let events = f.bucket.events_since(mark);
    assert_eq!(events.iter().filter(|e| matches!(e, Event::Exists(_))).count(), 6, "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Event::PutStart(_))), "{events:?}");
    assert_eq!(f.state().uploaded, all_ids);

    // New external labels apply to blocks shipped from then on; Prometheus cuts a new block.
    let relabelled = Labels::from_pairs([("cluster", "eu2"), ("replica", "0")]);
    shipper.set_external_labels(relabelled.clone());
    let new_ids = f.add_spare_blocks();
    assert_eq!(shipper.sync().await.unwrap(), SyncOutcome { uploaded: 1, failed: 0 });
    let new_meta = local_metas(&f.tsdb).into_iter().find(|m| m.ulid == new_ids[0]).unwrap();
    assert_shipped(&f.bucket.inner, &f.tsdb, &new_meta, &relabelled).await;
    assert_eq!(f.state().uploaded[0], new_ids[0], "the older spare block sorts first by minTime");
    for id in all_ids.iter().chain(&new_ids) {
        let want = usize::from(*id != preloaded.ulid);
        assert_eq!(f.uploads_of(&format!("{id}/meta.json")), want, "{id}: meta.json uploads over all passes");
    }
    assert_eq!(metric(&metrics, names::DIR_SYNCS_TOTAL), 4.0);
    assert_eq!(metric(&metrics, names::DIR_SYNC_FAILURES_TOTAL), 0.0);
    assert_eq!(metric(&metrics, names::UPLOADS_TOTAL), 6.0);
}

#[tokio::test]
async fn uploads_compacted_blocks_only_when_asked_and_refuses_overlaps() {
    let f = fixture(3, 1).await;
    let level1 = f.shippable();
    // A compacted block two hours before the others: no overlap with them.
    let spare = testkit::blocks::block_dirs(&f.spare).pop().unwrap();
    let compacted = derived_block(&f.tsdb, &spare, |m| m["compaction"]["level"] = 3.into());
    let (shipper, metrics) = f.shipper(f.config(false));
    assert_eq!(shipper.sync().await.unwrap(), SyncOutcome { uploaded: 3, failed: 0 });
    assert!(!f.bucket_blocks().await.0.contains(&compacted));
    assert_eq!(metric(&metrics, names::UPLOAD_COMPACTED_DONE), 0.0);
    for meta in &level1 {
        assert_shipped(&f.bucket.inner, &f.tsdb, meta, &labels()).await;
    }

    // Another Prometheus' block over the same time does not count: overlaps are per labels.
    let elsewhere = tempfile::tempdir().unwrap();
    let other = derived_block(elsewhere.path(), &spare, |_| {});
    let other_labels = Labels::from_pairs([("cluster", "us1"), ("replica", "0")]);
    let other_dir = elsewhere.path().join(other.to_string());
    upload_block(&f.bucket.inner, &other_dir, &other_labels, source::SIDECAR, HashFunc::None).await.unwrap();

    // --shipper.upload-compacted: checked against the bucket, then uploaded.
    let (shipper, metrics) = f.shipper(f.config(true));
    assert_eq!(shipper.sync().await.unwrap(), SyncOutcome { uploaded: 1, failed: 0 });
    let compacted_meta = local_metas(&f.tsdb).into_iter().find(|m| m.ulid == compacted).unwrap();
    assert_eq!(compacted_meta.compaction.level, 3);
    assert_shipped(&f.bucket.inner, &f.tsdb, &compacted_meta, &labels()).await;
    assert_eq!(metric(&metrics, names::UPLOAD_COMPACTED_DONE), 1.0);

    // A compacted block over the time of shipped blocks would halt the compactor: refused.
    let overlapping = derived_block(&f.tsdb, &f.tsdb.join(level1[1].ulid.to_string()), |m| {
        m["compaction"]["level"] = 2.into();
    });
    let error = shipper.sync().await.unwrap_err();
    let message = error.to_string();
    eprintln!("overlap: {message}");
    assert!(matches!(error, ShipperError::Overlap { uploaded: 0, .. }), "{error:?}");
    assert!(
        message.starts_with("Found overlap or error during sync, cannot upload compacted block"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "shipping compacted block {overlapping} is blocked; overlap spotted: [mint: "
        )),
        "{message}"
    );
    assert!(message.contains(&level1[1].ulid.to_string()), "{message}");
    assert!(!f.bucket.inner.exists(&format!("{overlapping}/meta.json")).await.unwrap());
    assert_eq!(metric(&metrics, names::DIR_SYNC_FAILURES_TOTAL), 1.0);
    assert_eq!(metric(&metrics, names::UPLOAD_COMPACTED_DONE), 1.0, "unchanged by a failed pass");
}

#[tokio::test]
async fn dropped_pass_leaves_no_meta_and_the_next_pass_completes_each_block_once() {
    let f = fixture(4, 0).await;
    let blocks = f.shippable();
    let ids: Vec<Ulid> = blocks.iter().map(|m| m.ulid).collect();
    let (shipper, metrics) = f.shipper(f.config(false));

    // Stop the pass while the second block's index is being uploaded.
    let (reached, _release) = f.bucket.hold(format!("{}/index", ids[1]));
    tokio::select! {
        result = shipper.sync() => panic!("pass finished past the held upload: {result:?}"),
        _ = reached => {}
    }
    let (complete, partial) = f.bucket_blocks().await;
    assert_eq!(complete, vec![ids[0]]);
    assert_eq!(partial, vec![ids[1]], "the interrupted block has chunks but no meta.json");
    assert!(!f.tsdb.join("thanos.shipper.json").exists(), "an interrupted pass writes no state");
    assert!(!f.tsdb.join("thanos/upload").join(ids[1].to_string()).exists(), "its upload dir is removed");
    assert_eq!(metric(&metrics, names::DIR_SYNC_FAILURES_TOTAL), 1.0);

    let outcome = shipper.sync().await.unwrap();
    assert_eq!(outcome, SyncOutcome { uploaded: 3, failed: 0 }, "the first block is only recorded");
    let (complete, partial) = f.bucket_blocks().await;
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(complete, sorted);
    assert!(partial.is_empty());
    for meta in &blocks {
        assert_shipped(&f.bucket.inner, &f.tsdb, meta, &labels()).await;
        assert_eq!(
            f.uploads_of(&format!("{}/meta.json", meta.ulid)),
            1,
            "{} shipped exactly once",
            meta.ulid
        );
    }
    assert_eq!(f.uploads_of(&format!("{}/chunks/000001", ids[0])), 1, "the complete block is not sent again");
    assert_eq!(f.state().uploaded, ids);
    assert_eq!(metric(&metrics, names::UPLOADS_TOTAL), 4.0);
}

#[tokio::test]
async fn s3_outage_fails_the_pass_loses_nothing_and_the_restart_ships_everything() {
    let mut f = fixture(4, 0).await;
    let blocks = f.shippable();
    let ids: Vec<Ulid> = blocks.iter().map(|m| m.ulid).collect();
    let (shipper, metrics) = f.shipper(f.config(false));

    // S3 goes away just as the second block's meta.json is sent.
    let (reached, release) = f.bucket.hold(format!("{}/meta.json", ids[1]));
    let server = &mut f.server;
    let outage = async move {
        reached.await.unwrap();
        server.stop();
        release.send(()).unwrap();
    };
    let started = std::time::Instant::now();
    let (result, ()) = tokio::join!(shipper.sync(), outage);
    let error = result.unwrap_err();
    eprintln!("pass during the outage failed after {:?}: {error}", started.elapsed());
    assert!(
        matches!(&error, ShipperError::Upload { uploaded: 1, block, .. } if *block == ids[1]),
        "{error:?}"
    );
    assert!(error.to_string().contains("upload meta file"), "{error}");
    assert_eq!(error.uploaded(), 1);
    assert_eq!(metric(&metrics, names::DIR_SYNC_FAILURES_TOTAL), 1.0);
    assert_eq!(metric(&metrics, names::UPLOADS_TOTAL), 1.0);
    assert_eq!(
        metric(&metrics, names::UPLOAD_FAILURES_TOTAL),
        0.0,
        "Thanos counts only skipped uploads here"
    );

    // Still down: the next pass fails at once, before any upload.
    let error = shipper.sync().await.unwrap_err();
    assert!(matches!(error, ShipperError::CheckExists { uploaded: 0, .. }), "{error:?}");
    assert_eq!(metric(&metrics, names::DIR_SYNC_FAILURES_TOTAL), 2.0);
    assert_eq!(local_metas(&f.tsdb), blocks, "nothing local is touched");

    f.server.restart();
    let (complete, partial) = f.bucket_blocks().await;
    assert_eq!(complete, vec![ids[0]]);
    assert_eq!(partial, vec![ids[1]], "no meta.json for the block cut off by the outage");
    assert_eq!(shipper.sync().await.unwrap(), SyncOutcome { uploaded: 3, failed: 0 });
    for meta in &blocks {
        assert_shipped(&f.bucket.inner, &f.tsdb, meta, &labels()).await;
        assert_eq!(
            f.uploads_of(&format!("{}/meta.json", meta.ulid)),
            1,
            "{} shipped exactly once",
            meta.ulid
        );
    }
    assert_eq!(f.bucket_blocks().await.1, Vec::<Ulid>::new());
    assert_eq!(f.state().uploaded, ids);
    assert_eq!(metric(&metrics, names::DIR_SYNCS_TOTAL), 1.0);
    assert_eq!(metric(&metrics, names::UPLOADS_TOTAL), 4.0);
}

#[tokio::test]
async fn corrupt_blocks_and_missing_labels_are_clear_errors() {
    let f = fixture(2, 0).await;
    let broken = f.tsdb.join(Ulid::generate().to_string());
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("meta.json"), "{not json").unwrap();

    let (shipper, _) = f.shipper(f.config(false));
    let error = shipper.sync().await.unwrap_err();
    assert!(matches!(&error, ShipperError::ReadMeta { path, .. } if *path == broken), "{error:?}");
    assert!(f.bucket.events().is_empty(), "nothing is shipped past an unreadable block");

    // --shipper.skip-corrupted-blocks: the others go on, the broken one is counted.
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let bucket: Arc<dyn Bucket> = f.bucket.clone();
    let shipper = metrics::with_local_recorder(&recorder, || {
        Shipper::new(bucket, f.config(false)).with_skip_corrupted_blocks(true)
    });
    assert_eq!(shipper.sync().await.unwrap(), SyncOutcome { uploaded: 2, failed: 1 });
    assert_eq!(metric(&metrics, names::CORRUPTED_BLOCKS_TOTAL), 1.0);
    assert_eq!(metric(&metrics, names::DIR_SYNCS_TOTAL), 1.0);
    std::fs::remove_dir_all(&broken).unwrap();

    // Blocks without external labels could not be told apart in the bucket: refused.
    let spare = derived_block(&f.tsdb, &f.tsdb.join(f.shippable()[0].ulid.to_string()), |m| {
        m["minTime"] = 0.into();
        m["maxTime"] = 1.into();
    });
    let mut config = f.config(false);
    config.external_labels = Labels::default();
    let (shipper, _) = f.shipper(config);
    let error = shipper.sync().await.unwrap_err();
    assert!(matches!(&error, ShipperError::Upload { block, .. } if *block == spare), "{error:?}");
    assert!(
        error.to_string().ends_with("empty external labels are not allowed for Thanos block."),
        "{error}"
    );
    assert!(!f.bucket.inner.exists(&format!("{spare}/index")).await.unwrap());
}

#[tokio::test]
async fn failed_upload_stops_the_pass_unless_out_of_order_uploads_are_allowed() {
    let f = fixture(4, 0).await;
    let blocks = f.shippable();
    let ids: Vec<Ulid> = blocks.iter().map(|m| m.ulid).collect();
    // The second block lost its index (a damaged disk, say): it cannot be uploaded.
    let index = f.tsdb.join(ids[1].to_string()).join("index");
    let saved = std::fs::read(&index).unwrap();
    std::fs::remove_file(&index).unwrap();

    // Thanos' default: the pass stops there, so newer blocks never overtake an older one.
    let (shipper, metrics) = f.shipper(f.config(false));
    let error = shipper.sync().await.unwrap_err();
    assert!(
        matches!(&error, ShipperError::Upload { uploaded: 1, block, .. } if *block == ids[1]),
        "{error:?}"
    );
    assert!(error.to_string().contains("index"), "{error}");
    assert_eq!(f.bucket_blocks().await.0, vec![ids[0]]);
    assert!(!f.tsdb.join("thanos.shipper.json").exists());
    assert_eq!(metric(&metrics, names::DIR_SYNC_FAILURES_TOTAL), 1.0);
    assert_eq!(metric(&metrics, names::UPLOAD_FAILURES_TOTAL), 0.0);

    // --shipper.allow-out-of-order-uploads: the others go up, the failed one is counted.
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let bucket: Arc<dyn Bucket> = f.bucket.clone();
    let shipper = metrics::with_local_recorder(&recorder, || {
        Shipper::new(bucket, f.config(false)).with_allow_out_of_order_uploads(true)
    });
    assert_eq!(shipper.sync().await.unwrap(), SyncOutcome { uploaded: 2, failed: 1 });
    let mut want = vec![ids[0], ids[2], ids[3]];
    want.sort();
    assert_eq!(f.bucket_blocks().await.0, want);
    assert_eq!(f.state().uploaded, vec![ids[0], ids[2], ids[3]], "the failed block is not recorded");
    assert_eq!(metric(&metrics, names::UPLOAD_FAILURES_TOTAL), 1.0);
    assert_eq!(metric(&metrics, names::DIR_SYNCS_TOTAL), 1.0);

    // Repaired: the next pass ships it.
    std::fs::write(&index, saved).unwrap();
    assert_eq!(shipper.sync().await.unwrap(), SyncOutcome { uploaded: 1, failed: 0 });
    for meta in &blocks {
        assert_shipped(&f.bucket.inner, &f.tsdb, meta, &labels()).await;
    }
    assert_eq!(f.state().uploaded, ids);
}
