//! The shipper inside the real `thanos-sidecar` binary, beside a real Prometheus 2.42 seeded
//! with promtool blocks, shipping to a real S3 server (s3s-fs); checked with our
//! `thanos-tools bucket verify`, promtool 2.42 and a concurrently running `thanos-store`.
//!
//! Build the binaries first when running this crate alone:
//! `cargo build --bin thanos-sidecar --bin thanos-store --bin thanos-tools`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use objstore::testing::{S3sFsServer, SECRET_KEY, test_client_options};
use objstore::{Bucket, S3Bucket};
use storeapi::pb::thanos::{self as pb, series_response};
use testkit::blocks::{Generated, generate};
use testkit::process::Process;
use testkit::prometheus::{Prometheus, PrometheusConfig};
use tsdb_format::meta::BlockMeta;

const CLUSTER: &str = "e2e";

/// A Prometheus config with external labels (the sidecar refuses to ship without them),
/// scraping itself every second when `scrape_self` is set (so it has live data to cut).
fn prometheus_yaml(port: u16, replica: &str, scrape_self: bool) -> String {
    let mut yaml = format!(
        "global:\n  scrape_interval: 1s\n  external_labels:\n    cluster: {CLUSTER}\n    replica: \"{replica}\"\n"
    );
    if scrape_self {
        yaml.push_str(&format!(
            "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ));
    }
    yaml
}

/// Prometheus over promtool blocks, an S3 server with an empty bucket, and the objstore config.
struct Stack {
    root: tempfile::TempDir,
    prometheus: Prometheus,
    seeded: Vec<BlockMeta>,
    s3: S3sFsServer,
    objstore_config: PathBuf,
    bucket: S3Bucket,
    rt: tokio::runtime::Runtime,
}

impl Stack {
    fn start(spec: Generated, replica: &str, block_duration: &str, scrape_self: bool) -> Self {
        let root = tempfile::tempdir().unwrap();
        let seeded_dirs = generate(spec, &root.path().join("generated"), &[]);
        let mut seeded: Vec<BlockMeta> =
            seeded_dirs.iter().map(|d| BlockMeta::read_from_dir(d).unwrap()).collect();
        seeded.sort_by_key(|m| m.min_time);
        let port = testkit::free_port();
        let prometheus = Prometheus::start_in(
            &root.path().join("prometheus"),
            PrometheusConfig {
                config_yaml: prometheus_yaml(port, replica, scrape_self),
                seed_blocks: seeded_dirs,
                flags: vec![
                    "--storage.tsdb.retention.time=100y".to_owned(),
                    format!("--storage.tsdb.min-block-duration={block_duration}"),
                    format!("--storage.tsdb.max-block-duration={block_duration}"),
                ],
                port,
            },
        );
        let s3 = S3sFsServer::with_buckets(&["blocks"]);
        let objstore_config = root.path().join("objstore.yml");
        std::fs::write(&objstore_config, s3.config_yaml("blocks", SECRET_KEY)).unwrap();
        let bucket = S3Bucket::new(&s3.s3_config("blocks", SECRET_KEY), test_client_options()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Self { root, prometheus, seeded, s3, objstore_config, bucket, rt }
    }

    fn tsdb(&self) -> &Path {
        &self.prometheus.data_dir
    }

    /// Starts `thanos-sidecar` with Thanos' flags and waits until it is ready.
    fn sidecar(&self, name: &str) -> Sidecar {
        let http = testkit::free_port();
        let grpc = testkit::free_port();
        let mut command = Command::new(testkit::workspace_bin("thanos-sidecar"));
        command
            .arg(format!("--prometheus.url={}", self.prometheus.url()))
            .arg(format!("--tsdb.path={}", self.tsdb().display()))
            .arg(format!("--objstore.config-file={}", self.objstore_config.display()))
            .arg(format!("--grpc-address=127.0.0.1:{grpc}"))
            .arg(format!("--http-address=127.0.0.1:{http}"))
            .args(["--http-grace-period=0s", "--grpc-grace-period=0s", "--hash-func=SHA256"]);
        let mut process = Process::spawn(name, command, &self.root.path().join(format!("{name}.log")));
        process.wait_http_ok(http, "/-/ready", Duration::from_secs(60));
        Sidecar { process, http }
    }

    /// Blocks with a `meta.json` in the bucket (parsed) and block dirs without one.
    fn bucket_blocks(&self) -> (BTreeMap<String, BlockMeta>, BTreeSet<String>) {
        let fetched = self.rt.block_on(block::fetch_metas(&self.bucket)).unwrap();
        let metas = fetched.metas.into_iter().map(|(id, m)| (id.to_string(), m)).collect();
        let partial = fetched.partial.keys().map(ToString::to_string).collect();
        (metas, partial)
    }

    fn meta_bytes(&self, id: &str) -> Vec<u8> {
        self.rt.block_on(self.bucket.get(&format!("{id}/meta.json"))).unwrap().to_vec()
    }

    /// Waits until every id in `ids` is complete in the bucket.
    fn wait_shipped(&self, ids: &BTreeSet<String>, within: Duration, sidecar: &Sidecar) {
        let deadline = Instant::now() + within;
        loop {
            let (complete, _) = self.bucket_blocks();
            if ids.iter().all(|id| complete.contains_key(id)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "blocks not shipped within {within:?}: missing {:?}\n{}",
                ids.iter().filter(|id| !complete.contains_key(*id)).collect::<Vec<_>>(),
                sidecar.process.log_text()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Checks a shipped block against its local directory: objects byte for byte, and the
    /// `thanos` section the sidecar adds.
    fn assert_shipped(&self, local: &BlockMeta, replica: &str) {
        let id = local.ulid.to_string();
        let dir = self.tsdb().join(&id);
        let uploaded: serde_json::Value = serde_json::from_slice(&self.meta_bytes(&id)).unwrap();
        let thanos = &uploaded["thanos"];
        assert_eq!(thanos["labels"], serde_json::json!({"cluster": CLUSTER, "replica": replica}), "{id}");
        assert_eq!(thanos["source"], "sidecar", "{id}");
        assert_eq!(thanos["downsample"]["resolution"], 0);
        let mut segments: Vec<String> = std::fs::read_dir(dir.join("chunks"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        segments.sort();
        assert_eq!(thanos["segment_files"], serde_json::json!(segments), "{id}");
        let files = thanos["files"].as_array().unwrap();
        let rel_paths: Vec<&str> = files.iter().map(|f| f["rel_path"].as_str().unwrap()).collect();
        let mut want_paths: Vec<String> = segments.iter().map(|s| format!("chunks/{s}")).collect();
        want_paths.extend(["index".to_owned(), "meta.json".to_owned()]);
        assert_eq!(rel_paths, want_paths, "{id}");
        for file in files.iter().filter(|f| f["rel_path"] != "meta.json") {
            let rel = file["rel_path"].as_str().unwrap();
            let bytes = std::fs::read(dir.join(rel)).unwrap();
            assert_eq!(file["size_bytes"], bytes.len(), "{id}/{rel}");
            assert_eq!(file["hash"]["hashFunc"], "SHA256");
            let remote = self.rt.block_on(self.bucket.get(&format!("{id}/{rel}"))).unwrap();
            assert!(remote == bytes, "{id}/{rel} differs from the local file");
        }
        let mut parsed = BlockMeta::from_json(&self.meta_bytes(&id), Path::new("meta.json")).unwrap();
        parsed.thanos = None;
        assert_eq!(&parsed, local, "{id}: the block's own metadata");
    }

    /// Runs `thanos-tools bucket verify` over the bucket; returns its output.
    fn verify(&self, blocks: usize) -> String {
        let output = Command::new(testkit::workspace_bin("thanos-tools"))
            .args(["bucket", "verify"])
            .arg(format!("--objstore.config-file={}", self.objstore_config.display()))
            .output()
            .unwrap();
        let text =
            String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "bucket verify failed:\n{text}");
        assert!(
            text.contains(&format!("verified {blocks} blocks: 0 with issues, 0 sets of overlapping blocks")),
            "{text}"
        );
        text
    }

    /// Downloads block `id` and runs `promtool tsdb analyze` on the copy.
    fn promtool_analyze(&self, id: &str) -> String {
        let copy = self.root.path().join("download");
        std::fs::create_dir_all(copy.join("wal")).unwrap();
        let (complete, _) =
            self.rt.block_on(block::fetch_metas(&self.bucket)).map(|f| (f.metas, f.partial)).unwrap();
        let ulid = *complete.keys().find(|u| u.to_string() == id).unwrap();
        self.rt.block_on(block::download_block(&self.bucket, ulid, &copy.join(id))).unwrap();
        let output = testkit::tool("promtool").args(["tsdb", "analyze"]).arg(&copy).arg(id).output().unwrap();
        let text =
            String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "promtool tsdb analyze {id}:\n{text}");
        assert!(text.contains(&format!("Block ID: {id}")), "{text}");
        text
    }
}

struct Sidecar {
    process: Process,
    http: u16,
}

impl Sidecar {
    /// Sum of the sample values of lines starting with `name` in `/metrics`.
    fn metric(&self, name: &str) -> f64 {
        metric(self.http, name)
    }

    /// Waits until the shipper has finished `passes` passes (successful or not).
    fn wait_passes(&self, passes: f64, within: Duration) {
        let deadline = Instant::now() + within;
        while self.metric("thanos_shipper_dir_syncs_total")
            + self.metric("thanos_shipper_dir_sync_failures_total")
            < passes
        {
            assert!(
                Instant::now() < deadline,
                "no shipper pass within {within:?}:\n{}",
                self.process.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn metric(port: u16, name: &str) -> f64 {
    let (status, body) = testkit::http::get(port, "/metrics").unwrap_or((0, String::new()));
    assert_eq!(status, 200, "GET /metrics on {port}");
    body.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn ids(metas: &[BlockMeta]) -> BTreeSet<String> {
    metas.iter().map(|m| m.ulid.to_string()).collect()
}

#[test]
fn ships_seeded_and_live_blocks_once_and_tools_accept_them() {
    let started = Instant::now();
    let spec = Generated { days: 0.5, ..Generated::default() };
    let stack = Stack::start(spec, "0", "1m", true);
    let seeded = ids(&stack.seeded);
    assert_eq!(seeded.len(), 6);

    let sidecar = stack.sidecar("sidecar");
    stack.wait_shipped(&seeded, Duration::from_secs(30), &sidecar);
    eprintln!("seeded blocks shipped {:?} after start", started.elapsed());
    // The state file is rewritten at the end of the pass.
    sidecar.wait_passes(1.0, Duration::from_secs(30));
    for meta in &stack.seeded {
        stack.assert_shipped(meta, "0");
    }
    let (_, partial) = stack.bucket_blocks();
    assert!(partial.is_empty(), "{partial:?}");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stack.tsdb().join("thanos.shipper.json")).unwrap()).unwrap();
    let recorded: Vec<&str> =
        state["uploaded"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let oldest_first: Vec<String> = stack.seeded.iter().map(|m| m.ulid.to_string()).collect();
    assert_eq!(recorded[..6], oldest_first.iter().map(String::as_str).collect::<Vec<_>>()[..], "state file");
    assert_eq!(state["version"], 1);
    assert!(sidecar.metric("thanos_shipper_uploads_total") >= 6.0);
    assert_eq!(sidecar.metric("thanos_shipper_upload_failures_total"), 0.0);

    // Prometheus cuts a live block from its own scrapes (1m blocks: ~1.5 min after start); the
    // next pass (every 30s) ships it.
    let deadline = Instant::now() + Duration::from_secs(180);
    let live = loop {
        let found: Vec<BlockMeta> = testkit::blocks::block_dirs(stack.tsdb())
            .iter()
            .map(|d| BlockMeta::read_from_dir(d).unwrap())
            .filter(|m| !seeded.contains(&m.ulid.to_string()))
            .collect();
        if let Some(first) = found.into_iter().min_by_key(|m| m.min_time) {
            break first;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus cut no block:\n{}",
            stack.prometheus.process.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("Prometheus cut live block {} {:?} after start", live.ulid, started.elapsed());
    let seeded_end = stack.seeded.iter().map(|m| m.max_time).max().unwrap();
    assert!(live.min_time > seeded_end, "a block of live data, after the seeded history");
    stack.wait_shipped(&ids(std::slice::from_ref(&live)), Duration::from_secs(45), &sidecar);
    eprintln!("live block shipped {:?} after start", started.elapsed());
    stack.assert_shipped(&live, "0");

    let (complete, partial) = stack.bucket_blocks();
    assert!(partial.is_empty(), "{partial:?}");
    let verify = stack.verify(complete.len());
    eprintln!("{}", verify.lines().last().unwrap_or_default());
    for id in [oldest_first[0].as_str(), &live.ulid.to_string()] {
        stack.promtool_analyze(id);
    }

    // Restart: blocks already shipped are not sent again (their meta.json stays byte-identical);
    // only blocks Prometheus cut meanwhile go up.
    let before: BTreeMap<String, Vec<u8>> =
        complete.keys().map(|id| (id.clone(), stack.meta_bytes(id))).collect();
    drop(sidecar);
    let sidecar = stack.sidecar("sidecar-restarted");
    sidecar.wait_passes(1.0, Duration::from_secs(30));
    let (complete, partial) = stack.bucket_blocks();
    assert!(partial.is_empty());
    for (id, bytes) in &before {
        assert!(stack.meta_bytes(id) == *bytes, "{id} was uploaded again");
    }
    let new_blocks = complete.len() - before.len();
    assert_eq!(sidecar.metric("thanos_shipper_uploads_total"), new_blocks as f64, "only newly cut blocks");
    assert_eq!(sidecar.metric("thanos_shipper_dir_sync_failures_total"), 0.0);
    eprintln!(
        "restart: {new_blocks} new block(s) shipped, {} untouched; test took {:?}",
        before.len(),
        started.elapsed()
    );
}

/// What a concurrently running `thanos-store` showed while the bucket changed under it.
#[derive(Debug, Default)]
struct StoreWatch {
    polls: usize,
    max_load_failures: f64,
    max_partial_seen: f64,
    max_loaded: f64,
}

#[test]
fn crash_and_s3_outage_lose_nothing_and_ship_each_block_once() {
    let started = Instant::now();
    // 36 blocks of 2h: a pass takes long enough to be interrupted.
    let spec = Generated { days: 3.0, ..Generated::default() };
    let mut stack = Stack::start(spec, "1", "2h", false);
    let seeded = ids(&stack.seeded);
    assert_eq!(seeded.len(), 36);
    let total_chunks: u64 = stack.seeded.iter().map(|m| m.stats.num_chunks).sum();

    // thanos-store syncs every second and is polled all along.
    let store_http = testkit::free_port();
    let store_grpc = testkit::free_port();
    let mut command = Command::new(testkit::workspace_bin("thanos-store"));
    command
        .arg(format!("--objstore.config-file={}", stack.objstore_config.display()))
        .arg(format!("--data-dir={}", stack.root.path().join("store").display()))
        .arg(format!("--http-address=127.0.0.1:{store_http}"))
        .arg(format!("--grpc-address=127.0.0.1:{store_grpc}"))
        .args(["--sync-block-duration=1s", "--http-grace-period=0s", "--grpc-grace-period=0s"]);
    let mut store = Process::spawn("thanos-store", command, &stack.root.path().join("store.log"));
    store.wait_http_ok(store_http, "/-/ready", Duration::from_secs(60));
    let stop_watch = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop_watch.clone();
        std::thread::spawn(move || {
            let mut watch = StoreWatch::default();
            while !stop.load(Ordering::Relaxed) {
                if let Ok((200, _)) = testkit::http::get(store_http, "/-/healthy") {
                    watch.polls += 1;
                    let failures = metric(store_http, "thanos_bucket_store_block_load_failures_total");
                    let partial = metric(store_http, "thanos_blocks_meta_synced{state=\"no-meta-json\"}");
                    let loaded = metric(store_http, "thanos_bucket_store_blocks_loaded");
                    watch.max_load_failures = watch.max_load_failures.max(failures);
                    watch.max_partial_seen = watch.max_partial_seen.max(partial);
                    watch.max_loaded = watch.max_loaded.max(loaded);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            watch
        })
    };

    // Crash (SIGKILL) the sidecar in the middle of a block upload, a third of the way through,
    // at a moment when that block's chunks are in the bucket but its meta.json is not.
    let upload_dir = stack.tsdb().join("thanos/upload");
    let order: Vec<String> = stack.seeded.iter().map(|m| m.ulid.to_string()).collect();
    let mut sidecar = stack.sidecar("sidecar");
    let killed_in = kill_mid_block(&stack, &mut sidecar, &upload_dir, &order[12..]);
    assert!(upload_dir.join(&killed_in).is_dir(), "killed while {killed_in} was being uploaded");
    let (complete, partial) = stack.bucket_blocks();
    eprintln!(
        "killed during the upload of {killed_in}: {} complete, partial {partial:?} ({:?} after start)",
        complete.len(),
        started.elapsed()
    );
    assert_eq!(partial, BTreeSet::from([killed_in.clone()]), "the block being uploaded is partial");
    assert!(complete.len() >= 12 && complete.len() < 36, "{} complete", complete.len());
    let shipped_before_crash: BTreeMap<String, Vec<u8>> =
        complete.keys().map(|id| (id.clone(), stack.meta_bytes(id))).collect();
    // The store sees the partial block and leaves it alone.
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(store_http, "thanos_blocks_meta_synced{state=\"no-meta-json\"}") < 1.0
        || metric(store_http, "thanos_bucket_store_blocks_loaded") < complete.len() as f64
    {
        assert!(Instant::now() < deadline, "store did not sync:\n{}", store.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(metric(store_http, "thanos_bucket_store_blocks_loaded"), complete.len() as f64);
    assert_eq!(metric(store_http, "thanos_bucket_store_block_load_failures_total"), 0.0);

    // Restarted; S3 goes away during its uploads, for a minute. (The crashed upload's directory is
    // still there, so wait for the block after it.)
    let sidecar = stack.sidecar("sidecar-restarted");
    let next = complete.len() + 1;
    let interrupted = wait_for_upload_of(&upload_dir, &order[next..], Duration::from_secs(60), &sidecar);
    stack.s3.stop();
    let outage_started = Instant::now();
    eprintln!("S3 stopped during the upload of {interrupted}");
    sidecar.wait_passes(1.0, Duration::from_secs(60));
    assert!(sidecar.metric("thanos_shipper_dir_sync_failures_total") >= 1.0);
    std::thread::sleep(Duration::from_secs(60).saturating_sub(outage_started.elapsed()));
    let failures_during_outage = sidecar.metric("thanos_shipper_dir_sync_failures_total");
    let uploads_during_outage = sidecar.metric("thanos_shipper_uploads_total");
    stack.s3.restart();
    eprintln!(
        "S3 back after {:?}: {failures_during_outage} failed passes, {uploads_during_outage} uploads so far",
        outage_started.elapsed()
    );

    stack.wait_shipped(&seeded, Duration::from_secs(60), &sidecar);
    eprintln!("every block shipped {:?} after start", started.elapsed());
    // The first pass since S3 came back is complete (the restarted sidecar had only failed ones).
    let deadline = Instant::now() + Duration::from_secs(30);
    while sidecar.metric("thanos_shipper_dir_syncs_total") < 1.0 {
        assert!(Instant::now() < deadline, "no complete pass:\n{}", sidecar.process.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    let (complete, partial) = stack.bucket_blocks();
    assert_eq!(complete.keys().cloned().collect::<BTreeSet<_>>(), seeded, "exactly the seeded blocks");
    assert!(partial.is_empty(), "no partial upload is left: {partial:?}");
    for meta in &stack.seeded {
        stack.assert_shipped(meta, "1");
    }
    for (id, bytes) in &shipped_before_crash {
        assert!(stack.meta_bytes(id) == *bytes, "{id}, complete before the crash, was uploaded again");
        let upload_time = complete[id].thanos.as_ref().unwrap().upload_time.clone();
        assert!(!upload_time.is_empty());
    }
    let restarted_uploads = sidecar.metric("thanos_shipper_uploads_total");
    assert_eq!(
        restarted_uploads as usize,
        36 - shipped_before_crash.len(),
        "the restarted sidecar shipped only the rest"
    );
    stack.verify(36);
    assert_eq!(
        std::fs::read_dir(&upload_dir).unwrap().count(),
        0,
        "the crashed upload's directory is cleaned up"
    );

    // The store loads every block, and never failed to load one: no partial block was served.
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(store_http, "thanos_bucket_store_blocks_loaded") < 36.0 {
        assert!(Instant::now() < deadline, "store did not load all blocks:\n{}", store.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    stop_watch.store(true, Ordering::Relaxed);
    let watch = watcher.join().unwrap();
    eprintln!("store watch: {watch:?}");
    assert!(watch.polls > 100, "{watch:?}");
    assert_eq!(watch.max_load_failures, 0.0, "a partial block was loaded:\n{}", store.log_text());
    let chunks = stack.rt.block_on(series_chunks(store_grpc));
    assert_eq!(chunks, total_chunks, "the store serves every chunk of every block");
    eprintln!("test took {:?}", started.elapsed());
}

/// Kills the sidecar while one of `ids` is half uploaded (chunks in the bucket, no meta.json):
/// whenever a block upload is in flight, the sidecar is frozen (SIGSTOP) and the bucket looked
/// at; it is killed if the state is right, else let go on (SIGCONT) and tried again.
fn kill_mid_block(stack: &Stack, sidecar: &mut Sidecar, upload_dir: &Path, ids: &[String]) -> String {
    let signal = |name: &str, pid: u32| {
        let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().unwrap();
        assert!(status.success(), "kill -{name} {pid}");
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut attempts = 0;
    loop {
        let id =
            wait_for_upload_of(upload_dir, ids, deadline.saturating_duration_since(Instant::now()), sidecar);
        signal("STOP", sidecar.process.pid());
        attempts += 1;
        let keys = stack.rt.block_on(stack.bucket.list(&id, true)).unwrap();
        if !keys.is_empty() && !keys.contains(&format!("{id}/meta.json")) {
            sidecar.process.kill();
            eprintln!("sidecar killed after {attempts} look(s), with {id} holding {keys:?}");
            return id;
        }
        signal("CONT", sidecar.process.pid());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `<tsdb>/thanos/upload/<id>` exists for one of `ids` (a block upload in flight)
/// and returns that id.
fn wait_for_upload_of(upload_dir: &Path, ids: &[String], within: Duration, sidecar: &Sidecar) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Some(id) = ids.iter().find(|id| upload_dir.join(id).is_dir()) {
            return id.clone();
        }
        assert!(Instant::now() < deadline, "no upload of {ids:?} seen:\n{}", sidecar.process.log_text());
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Chunks of every series the store serves over StoreAPI `Series`.
async fn series_chunks(grpc_port: u16) -> u64 {
    let channel = storeapi::grpc::connect(&format!("127.0.0.1:{grpc_port}")).await.unwrap();
    let mut client = storeapi::grpc::store_client(channel);
    let request = pb::SeriesRequest {
        min_time: 0,
        max_time: i64::MAX,
        matchers: vec![pb::LabelMatcher { r#type: 0, name: "cluster".into(), value: CLUSTER.into() }],
        ..Default::default()
    };
    let mut stream = client.series(request).await.unwrap().into_inner();
    let mut chunks = 0u64;
    while let Some(frame) = stream.next().await {
        match frame.unwrap().result {
            Some(series_response::Result::Series(s)) => chunks += s.chunks.len() as u64,
            Some(series_response::Result::Batch(batch)) => {
                chunks += batch.series.iter().map(|s| s.chunks.len() as u64).sum::<u64>();
            }
            Some(series_response::Result::Warning(w)) => panic!("store warning: {w}"),
            _ => {}
        }
    }
    chunks
}
