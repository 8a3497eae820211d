//! The store gateway's life: restart from existing index-headers, deletion marks, partial
//! uploads, a corrupt block, and an object store that is down at start-up.

#![allow(clippy::unwrap_used, reason = "test code: a panic with its message is the failure report")]

mod support;

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use support::*;
use ulid::Ulid;

const EQ: i32 = 0;

fn all_series() -> storeapi::pb::thanos::SeriesRequest {
    request(&[(EQ, "job", "demo")], 0, i64::MAX)
}

fn get_range_ops(store: &StoreProcess) -> f64 {
    store.metric(r#"thanos_objstore_bucket_operations_total{bucket="fs",operation="get_range"}"#)
}

#[test]
fn restart_reuses_index_headers_without_reading_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    block_on(async {
        let (_bucket, yaml) = filesystem_bucket(&dir.path().join("bucket")).await;
        let mut first = StoreProcess::start(&yaml, &data, &[]);
        first.wait_ready(Duration::from_secs(60));
        let before = series(&mut first.client().await, all_series()).await.unwrap();
        assert!(get_range_ops(&first) > 0.0, "first start builds index-headers with ranged reads");
        first.stop();

        let headers: Vec<_> = fixture()
            .metas
            .iter()
            .map(|m| {
                let path = data.join(m.ulid.to_string()).join("index-header");
                (path.clone(), std::fs::metadata(&path).unwrap().modified().unwrap())
            })
            .collect();

        // Byte-identical to the index-header built from the whole local index.
        for meta in &fixture().metas {
            let index = fixture().blocks.join(meta.ulid.to_string()).join("index");
            let source = tsdb_format::index_header::FileSource::open(&index).unwrap();
            let want = tsdb_format::index_header::build(&source).unwrap();
            let ours = std::fs::read(data.join(meta.ulid.to_string()).join("index-header")).unwrap();
            assert!(ours == want, "index-header of {} differs", meta.ulid);
        }

        let mut second = StoreProcess::start(&yaml, &data, &[]);
        second.wait_ready(Duration::from_secs(60));
        assert_eq!(get_range_ops(&second), 0.0, "no index read at restart:\n{}", second.logs());
        for (path, modified) in &headers {
            assert_eq!(
                std::fs::metadata(path).unwrap().modified().unwrap(),
                *modified,
                "{} rewritten",
                path.display()
            );
        }
        let after = series(&mut second.client().await, all_series()).await.unwrap();
        assert_eq!(decode(&before, 0, i64::MAX), decode(&after, 0, i64::MAX));
        second.stop();

        // A damaged index-header is rebuilt.
        std::fs::write(&headers[0].0, b"garbage").unwrap();
        let mut third = StoreProcess::start(&yaml, &data, &[]);
        third.wait_ready(Duration::from_secs(60));
        assert!(get_range_ops(&third) > 0.0);
        assert_eq!(third.metric("thanos_bucket_store_blocks_loaded"), fixture().metas.len() as f64);
        assert!(std::fs::metadata(&headers[0].0).unwrap().len() > 100, "rebuilt");
    });
}

#[test]
fn deletion_marked_block_disappears_after_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    block_on(async {
        let (bucket, yaml) = filesystem_bucket(&dir.path().join("bucket")).await;
        let old_mark = fixture().metas[0].ulid;
        let new_mark = fixture().metas[1].ulid;
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
        for (id, deletion_time) in [(old_mark, now - 3600), (new_mark, now)] {
            let mark = block::markers::DeletionMark { id, version: 1, details: "test".into(), deletion_time };
            block::markers::write_marker(bucket.as_ref(), id, &mark).await.unwrap();
        }
        let mut store = StoreProcess::start(
            &yaml,
            &data,
            &["--ignore-deletion-marks-delay=4s", "--sync-block-duration=500ms"],
        );
        store.wait_ready(Duration::from_secs(60));
        let mut client = store.client().await;
        let queried = series(&mut client, all_series()).await.unwrap().queried_blocks;
        assert!(!queried.contains(&old_mark.to_string()), "mark older than the delay: hidden");
        assert!(queried.contains(&new_mark.to_string()), "fresh mark: still served");
        assert_eq!(queried.len(), fixture().metas.len() - 1);

        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let queried = series(&mut client, all_series()).await.unwrap().queried_blocks;
            if !queried.contains(&new_mark.to_string()) {
                assert_eq!(queried.len(), fixture().metas.len() - 2);
                break;
            }
            assert!(Instant::now() < deadline, "block not hidden after the delay:\n{}", store.logs());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(!data.join(new_mark.to_string()).exists(), "dropped block's local directory removed");
        assert!(store.metric("thanos_bucket_store_block_drops_total") >= 1.0);
    });
}

#[test]
fn partial_upload_never_served_and_corrupt_block_skipped() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let (bucket, yaml) = filesystem_bucket(&dir.path().join("bucket")).await;
        let source = &fixture().metas[0];
        let src_dir = fixture().blocks.join(source.ulid.to_string());

        // A partial upload: chunks and index, no meta.json.
        let partial = Ulid::generate();
        bucket.put_file(&format!("{partial}/index"), &src_dir.join("index")).await.unwrap();
        bucket.put_file(&format!("{partial}/chunks/000001"), &src_dir.join("chunks/000001")).await.unwrap();

        // A corrupt block: a valid meta.json, an index of garbage.
        let corrupt = Ulid::generate();
        let mut meta = source.clone();
        meta.ulid = corrupt;
        // Its own source, or the deduplication filter would take it for a copy.
        meta.compaction.sources = vec![corrupt];
        meta.thanos = Some(tsdb_format::meta::ThanosMeta {
            labels: [("cluster".to_owned(), "a".to_owned())].into_iter().collect(),
            ..Default::default()
        });
        bucket.put(&format!("{corrupt}/index"), Bytes::from(vec![0xabu8; 4096])).await.unwrap();
        bucket.put_file(&format!("{corrupt}/chunks/000001"), &src_dir.join("chunks/000001")).await.unwrap();
        bucket.put(&format!("{corrupt}/meta.json"), Bytes::from(meta.to_json())).await.unwrap();

        let mut store = StoreProcess::start(&yaml, &dir.path().join("data"), &[]);
        store.wait_ready(Duration::from_secs(60));
        let result = series(&mut store.client().await, all_series()).await.unwrap();
        assert_eq!(result.queried_blocks.len(), fixture().metas.len());
        assert!(!result.queried_blocks.contains(&partial.to_string()));
        assert!(!result.queried_blocks.contains(&corrupt.to_string()));
        assert_eq!(result.series.len(), 40, "the healthy blocks keep serving");
        assert_eq!(store.metric("thanos_bucket_store_blocks_loaded"), fixture().metas.len() as f64);
        assert!(store.metric("thanos_bucket_store_block_load_failures_total") >= 1.0);
        assert_eq!(store.metric(r#"thanos_blocks_meta_synced{state="no-meta-json"}"#), 1.0);
        let logs = store.logs();
        assert!(
            logs.lines().any(|l| l.contains("level=error")
                && l.contains("loading block failed")
                && l.contains(&corrupt.to_string())),
            "{logs}"
        );
    });
}

#[test]
fn s3_down_at_start_up_then_ready_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = objstore::testing::S3sFsServer::with_buckets(&["thanos"]);
    let yaml = server.config_yaml("thanos", objstore::testing::SECRET_KEY);
    block_on(async {
        let bucket = objstore::bucket_from_config_yaml(&yaml).unwrap();
        upload_all(bucket.as_ref()).await;
    });
    server.stop();
    let mut store = StoreProcess::start(&yaml, &dir.path().join("data"), &[]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(store.get("/-/ready").0, 503, "not ready while S3 is down");
    assert_eq!(store.get("/-/healthy").0, 200, "healthy while retrying");
    block_on(async {
        let status = series(&mut store.client().await, all_series()).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable, "queries refused until the first sync");
    });
    server.restart();
    store.wait_ready(Duration::from_secs(60));
    block_on(async {
        let result = series(&mut store.client().await, all_series()).await.unwrap();
        assert_eq!(result.series.len(), 40);
        assert_eq!(result.queried_blocks.len(), fixture().metas.len());
    });
    assert!(store.logs().contains("initial synchronization failed"));
}

#[test]
fn selector_relabel_config_chooses_the_blocks_served() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let (_bucket, yaml) = filesystem_bucket(&dir.path().join("bucket")).await;
        let all = fixture().metas.len();
        let dropped = fixture().metas[0].ulid.to_string();
        let cases = [
            // Keep by external label: the fixture's `cluster="a"` keeps every block.
            (
                "--selector.relabel-config=- action: keep\n  source_labels: [cluster]\n  regex: a\n"
                    .to_string(),
                all,
            ),
            (
                "--selector.relabel-config=- action: keep\n  source_labels: [cluster]\n  regex: b\n"
                    .to_string(),
                0,
            ),
            // Drop one block by its id.
            (
                format!(
                    "--selector.relabel-config=- action: drop\n  source_labels: [__block_id]\n  regex: {dropped}\n"
                ),
                all - 1,
            ),
        ];
        for (i, (flag, want)) in cases.iter().enumerate() {
            let mut store =
                StoreProcess::start(&yaml, &dir.path().join(format!("data-{i}")), &[flag.as_str()]);
            store.wait_ready(Duration::from_secs(60));
            assert_eq!(store.metric("thanos_bucket_store_blocks_loaded"), *want as f64, "{flag}");
            let excluded = store.metric(r#"thanos_blocks_meta_synced{state="label-excluded"}"#);
            assert_eq!(excluded, (all - want) as f64, "{flag}");
            let mut client = store.client().await;
            let queried = series(&mut client, all_series()).await.unwrap().queried_blocks;
            assert_eq!(queried.len(), *want, "{flag}");
            assert_eq!(queried.contains(&dropped), i == 0, "{flag}");
        }

        // A rule that cannot be used stops the start with a clear error.
        let bad = std::process::Command::new(env!("CARGO_BIN_EXE_thanos-store"))
            .arg(format!("--objstore.config={yaml}"))
            .arg(format!("--data-dir={}", dir.path().join("data-bad").display()))
            .arg("--selector.relabel-config=- action: replace\n  target_label: x\n")
            .output()
            .unwrap();
        assert!(!bad.status.success());
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert!(stderr.contains("selector relabel config") && stderr.contains("replace"), "{stderr}");
    });
}
