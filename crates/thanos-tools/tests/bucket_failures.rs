//! `thanos-tools bucket` on bad input: refused uploads, interrupted uploads, corrupt indexes.

mod support;

use std::path::Path;

use support::{filesystem_config, texts, thanos_tools, thanos_tools_ok};

/// A made-up but valid ULID for hand-written blocks.
const FIXTURE_ID: &str = "01HQ0000000000000000000000";

/// The shared Thanos test data directory (beside the repository).
fn testdata(name: &str) -> std::path::PathBuf {
    let beside_repo =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata-blocks").join(name);
    if beside_repo.exists() {
        return beside_repo;
    }
    Path::new("/work/shared/testdata-blocks").join(name)
}

#[test]
fn upload_refuses_missing_labels() {
    let store = tempfile::tempdir().expect("tempdir");
    let config = format!("--objstore.config={}", filesystem_config(store.path()));
    let output = thanos_tools(&["bucket", &config, "upload", store.path().to_str().expect("utf-8")]);
    let (_, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains(
            "no external labels configured, uniquely identifying external labels must be configured"
        ),
        "{stderr}"
    );
    let output = thanos_tools(&["bucket", &config, "upload-blocks", "--path", "/nonexistent"]);
    assert!(!output.status.success());
}

#[test]
fn failed_upload_leaves_no_meta_json() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = tempfile::tempdir().expect("tempdir");
    let tsdb_dir = work.path().join("tsdb");
    let metas = support::promtool::create_blocks(work.path(), &tsdb_dir, 5, 0.08);
    let id = metas[0].ulid;
    let block_dir = tsdb_dir.join(id.to_string());
    // An index that cannot be uploaded: the chunks go up, then the upload fails.
    std::fs::remove_file(block_dir.join("index")).expect("remove index");
    std::fs::create_dir(block_dir.join("index")).expect("index as a directory");

    let config = format!("--objstore.config={}", filesystem_config(store.path()));
    let output =
        thanos_tools(&["bucket", &config, "upload", block_dir.to_str().expect("utf-8"), "--label", "a=b"]);
    let (stdout, stderr) = texts(&output);
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("upload index"), "{stderr}");
    let in_bucket = store.path().join(id.to_string());
    assert!(in_bucket.join("chunks/000001").is_file(), "chunks go first");
    assert!(!in_bucket.join("meta.json").exists(), "meta.json must never precede the index");

    // A partial block is invisible to ls and inspect.
    assert_eq!(thanos_tools_ok(&["bucket", &config, "ls"]), "");
    let verify = thanos_tools_ok(&["bucket", &config, "verify"]);
    assert!(verify.contains(&format!("block {id}: partial upload")), "{verify}");
}

#[test]
fn verify_reports_out_of_order_chunks_fixture() {
    let store = tempfile::tempdir().expect("tempdir");
    let block = store.path().join(FIXTURE_ID);
    std::fs::create_dir_all(&block).expect("mkdir");
    std::fs::copy(testdata("out_of_order_chunks.index"), block.join("index")).expect("copy fixture");
    let meta = format!(
        "{{\"ulid\":\"{FIXTURE_ID}\",\"minTime\":0,\"maxTime\":9223372036854775807,\
         \"stats\":{{\"numSeries\":1}},\"compaction\":{{\"level\":1,\"sources\":[\"{FIXTURE_ID}\"]}},\"version\":1,\
         \"thanos\":{{\"labels\":{{\"a\":\"b\"}},\"downsample\":{{\"resolution\":0}},\"source\":\"test\"}}}}"
    );
    std::fs::write(block.join("meta.json"), meta).expect("write meta");

    let config = format!("--objstore.config={}", filesystem_config(store.path()));
    let output = thanos_tools(&["bucket", &config, "verify"]);
    let (stdout, stderr) = texts(&output);
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("block {FIXTURE_ID}: FAILED")), "{stdout}\n{stderr}");
    assert!(stdout.contains("out-of-order chunks"), "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn verify_reports_overlapping_blocks() {
    let store = tempfile::tempdir().expect("tempdir");
    for (id, min, max) in
        [("01HQ0000000000000000000001", 0, 7_200_000), ("01HQ0000000000000000000002", 3_600_000, 10_800_000)]
    {
        let block = store.path().join(id);
        std::fs::create_dir_all(&block).expect("mkdir");
        let meta = format!(
            "{{\"ulid\":\"{id}\",\"minTime\":{min},\"maxTime\":{max},\"stats\":{{}},\
             \"compaction\":{{\"level\":1}},\"version\":1,\
             \"thanos\":{{\"labels\":{{\"a\":\"b\"}},\"downsample\":{{\"resolution\":0}},\"source\":\"test\"}}}}"
        );
        std::fs::write(block.join("meta.json"), meta).expect("write meta");
    }
    let config = format!("--objstore.config={}", filesystem_config(store.path()));
    let output = thanos_tools(&["bucket", &config, "verify", "--issues", "overlapped_blocks"]);
    let (stdout, _) = texts(&output);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("overlapped_blocks: found overlapped blocks, group 0@{a=\"b\"}: [mint: 3600000, maxt: 7200000, range: 1h0m0s, blocks: 2]"),
        "{stdout}"
    );
}
