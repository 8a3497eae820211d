//! `thanos-tools bucket upload | ls | inspect | verify` end to end, with real parts: blocks made by
//! promtool 2.42, the built binary, and both a filesystem bucket and a real S3 server (s3s-fs).

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use objstore::Bucket;
use objstore::testing::{S3sFsServer, SECRET_KEY};
use support::{filesystem_config, texts, thanos_tools, thanos_tools_ok};
use tsdb_format::meta::BlockMeta;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

fn open(config: &str) -> Arc<dyn Bucket> {
    objstore::bucket_from_config_yaml(config).expect("bucket from config")
}

/// Groups digits like Go's English printer, to find inspect's numbers.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Uploads promtool blocks through the CLI to the bucket `config` describes, then checks what
/// `ls`, `inspect` and `verify` say, and that verify catches a flipped chunk byte.
fn upload_ls_inspect_verify(config: &str) {
    let work = tempfile::tempdir().expect("tempdir");
    let tsdb_dir = work.path().join("tsdb");
    let local = support::promtool::create_blocks(work.path(), &tsdb_dir, 50, 0.5);
    let config_flag = format!("--objstore.config={config}");
    let tsdb_arg = tsdb_dir.to_str().expect("utf-8 path");

    let out = thanos_tools_ok(&[
        "bucket",
        &config_flag,
        "upload",
        tsdb_arg,
        "--label",
        "cluster=test",
        "--label",
        "replica=\"r0\"",
    ]);
    let want_ids: BTreeSet<String> = local.iter().map(|m| m.ulid.to_string()).collect();
    let uploaded: BTreeSet<String> =
        out.lines().filter_map(|l| l.strip_prefix("uploaded ")).map(str::to_string).collect();
    assert_eq!(uploaded, want_ids, "upload output:\n{out}");

    // The bucket holds each block's chunks, index and a meta.json with the thanos section.
    let bucket = open(config);
    let rt = runtime();
    for meta in &local {
        let id = meta.ulid;
        let keys = rt.block_on(bucket.list(&id.to_string(), true)).expect("list block");
        assert_eq!(
            keys,
            vec![format!("{id}/chunks/000001"), format!("{id}/index"), format!("{id}/meta.json")]
        );
        let bytes = rt.block_on(bucket.get(&format!("{id}/meta.json"))).expect("get meta");
        let uploaded = BlockMeta::from_json(&bytes, Path::new("meta.json")).expect("uploaded meta parses");
        let thanos = uploaded.thanos.as_ref().expect("thanos section");
        assert_eq!(thanos.labels.get("cluster").map(String::as_str), Some("test"));
        assert_eq!(thanos.labels.get("replica").map(String::as_str), Some("r0"));
        assert_eq!(thanos.source, "bucket.upload");
        assert_eq!(thanos.segment_files, vec!["000001"]);
        let files: Vec<&str> = thanos.files.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(files, vec!["chunks/000001", "index", "meta.json"]);
        let index_size = std::fs::metadata(tsdb_dir.join(id.to_string()).join("index")).expect("index").len();
        assert_eq!(thanos.files[1].size_bytes as u64, index_size);
        assert_eq!(thanos.files[2].size_bytes, 0);
        assert_eq!(uploaded.stats, meta.stats);
    }

    // A second upload finds everything in place.
    let again = thanos_tools_ok(&["bucket", &config_flag, "upload", tsdb_arg, "--label", "cluster=test"]);
    assert!(!again.contains("uploaded "), "{again}");

    let ls = thanos_tools_ok(&["bucket", &config_flag, "ls"]);
    let listed: BTreeSet<String> = ls.lines().map(str::to_string).collect();
    assert_eq!(listed, want_ids);
    let wide = thanos_tools_ok(&["bucket", &config_flag, "ls", "-o", "wide"]);
    assert!(
        wide.lines().all(|l| l.contains(" Compaction: 1, Downsample: 0, Source: bucket.upload")),
        "{wide}"
    );

    let inspect = thanos_tools_ok(&["bucket", &config_flag, "inspect"]);
    let lines: Vec<&str> = inspect.lines().collect();
    assert!(
        lines[0].starts_with("|") && lines[0].contains(" ULID ") && lines[0].contains("#SAMPLES"),
        "{inspect}"
    );
    assert!(lines[1].starts_with("|---"), "{inspect}");
    assert_eq!(lines.len(), 2 + local.len(), "{inspect}");
    // Default sort is FROM, so the rows follow the blocks' minTime.
    for (line, meta) in lines[2..].iter().zip(&local) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells[1], meta.ulid.to_string(), "{inspect}");
        assert_eq!(cells[6], grouped(meta.stats.num_series), "{line}");
        assert_eq!(cells[7], grouped(meta.stats.num_samples), "{line}");
        assert_eq!(cells[8], grouped(meta.stats.num_chunks), "{line}");
        assert_eq!(cells[11], "cluster=test,replica=r0", "{line}");
        assert_eq!(cells[13], "bucket.upload", "{line}");
    }
    let csv = thanos_tools_ok(&[
        "bucket",
        &config_flag,
        "inspect",
        "--output",
        "csv",
        "--selector",
        "cluster=\"nope\"",
    ]);
    assert_eq!(
        csv,
        "ULID,FROM,UNTIL,RANGE,UNTIL-DOWN,#SERIES,#SAMPLES,#CHUNKS,COMP-LEVEL,COMP-FAILED,LABELS,RESOLUTION,SOURCE\n"
    );

    let verify = thanos_tools_ok(&["bucket", &config_flag, "verify"]);
    assert!(verify.contains(&format!("verified {} blocks: 0 with issues", local.len())), "{verify}");

    // Flip one byte inside the first chunk of one block: verify must name that block and fail.
    let victim = local[local.len() / 2].ulid;
    let key = format!("{victim}/chunks/000001");
    let mut chunks = rt.block_on(bucket.get(&key)).expect("get chunks").to_vec();
    chunks[20] ^= 0xFF;
    rt.block_on(bucket.put(&key, Bytes::from(chunks))).expect("put corrupted chunks");
    let output = thanos_tools(&["bucket", &config_flag, "verify"]);
    let (stdout, stderr) = texts(&output);
    assert!(!output.status.success(), "verify passed a corrupt chunk:\n{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("block {victim}: FAILED")), "{stdout}");
    assert!(stdout.contains("checksum mismatch"), "{stdout}");
    assert!(stdout.contains("verified") && stdout.contains("1 with issues"), "{stdout}");
}

#[test]
fn filesystem_bucket_upload_ls_inspect_verify() {
    let store = tempfile::tempdir().expect("tempdir");
    upload_ls_inspect_verify(&filesystem_config(store.path()));
}

#[test]
fn s3_bucket_upload_ls_inspect_verify() {
    let server = S3sFsServer::with_buckets(&["thanos"]);
    upload_ls_inspect_verify(&server.config_yaml("thanos", SECRET_KEY));
}
