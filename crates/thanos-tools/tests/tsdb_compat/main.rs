//! Block-format compatibility with the real Prometheus 2.42: we read promtool's blocks exactly as
//! promtool does, and promtool and Prometheus read ours exactly as their own.

#![allow(clippy::unwrap_used, reason = "test code: a panic with its message is the failure report")]

mod openmetrics_gen;
mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openmetrics_gen::write_openmetrics;
use support::*;

/// Input and blocks shared by the tests: one OpenMetrics file, backfilled by promtool and by us.
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    input_samples: usize,
}

impl Fixture {
    fn theirs(&self) -> PathBuf {
        self.root.join("promtool-blocks")
    }
    fn ours(&self) -> PathBuf {
        self.root.join("our-blocks")
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let input = root.join("input.om");
        let input_samples = write_openmetrics(&input, 1100, 7);
        let fx = Fixture { _dir: dir, root, input_samples };
        run_ok(
            prometheus_tool("promtool")
                .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
                .arg(&input)
                .arg(fx.theirs()),
        );
        run_ok(
            thanos_tools()
                .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
                .arg(&input)
                .arg(fx.ours()),
        );
        fx
    })
}

/// `promtool tsdb dump` needs a `wal` directory; dump a copy so the shared blocks stay untouched.
fn promtool_dump(blocks: &Path, extra: &[&str]) -> Vec<u8> {
    let copy = tempfile::tempdir().unwrap();
    for b in block_dirs(blocks) {
        copy_dir(&b, &copy.path().join(b.file_name().unwrap()));
    }
    std::fs::create_dir_all(copy.path().join("wal")).unwrap();
    run_ok(prometheus_tool("promtool").args(["tsdb", "dump"]).args(extra).arg(copy.path())).stdout
}

fn our_dump(blocks: &Path, extra: &[&str]) -> Vec<u8> {
    run_ok(thanos_tools().args(["tsdb", "dump"]).args(extra).arg(blocks)).stdout
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn assert_same_lines(ours: &[u8], theirs: &[u8], what: &str) {
    if ours == theirs {
        return;
    }
    let (a, b) = (String::from_utf8_lossy(ours), String::from_utf8_lossy(theirs));
    let first_diff = a.lines().zip(b.lines()).enumerate().find(|(_, (x, y))| x != y);
    panic!(
        "{what}: outputs differ ({} vs {} lines); first difference: {first_diff:?}",
        a.lines().count(),
        b.lines().count()
    );
}

#[test]
fn dump_of_promtool_blocks_equals_promtool_dump_byte_for_byte() {
    let fx = fixture();
    let blocks = block_dirs(&fx.theirs());
    assert!(blocks.len() >= 4, "expected several blocks, got {}", blocks.len());
    let theirs = promtool_dump(&fx.theirs(), &[]);
    assert_eq!(String::from_utf8_lossy(&theirs).lines().count(), fx.input_samples);
    assert_same_lines(&our_dump(&fx.theirs(), &[]), &theirs, "full dump");

    let cases: &[&[&str]] = &[
        &["--match=test_temperature{instance=~\"i-1.*\"}"],
        &["--match={__name__=~\"test_(requests_total|sparse)\", job!=\"job-2\"}"],
        &["--match={zone=\"\"}"],
        &["--match=test_requests_total{path!~\"/p/1.*\"}"],
        &["--min-time=1704075000000", "--max-time=1704082200000"],
        &["--min-time=1704075000123", "--max-time=1704075100000", "--match=test_sparse"],
    ];
    for args in cases {
        let theirs = promtool_dump(&fx.theirs(), args);
        assert!(!theirs.is_empty(), "{args:?} selects nothing; the case tests nothing");
        assert_same_lines(&our_dump(&fx.theirs(), args), &theirs, &format!("dump {args:?}"));
    }
}

#[test]
fn our_blocks_have_promtool_chunk_and_index_bytes() {
    let fx = fixture();
    let (ours, theirs) = (block_dirs(&fx.ours()), block_dirs(&fx.theirs()));
    assert_eq!(ours.len(), theirs.len(), "block count");
    let by_min_time = |dirs: &[PathBuf]| {
        let mut v: Vec<(i64, PathBuf)> = dirs
            .iter()
            .map(|d| (tsdb_format::meta::BlockMeta::read_from_dir(d).unwrap().min_time, d.clone()))
            .collect();
        v.sort();
        v
    };
    for ((t1, our), (t2, their)) in by_min_time(&ours).into_iter().zip(by_min_time(&theirs)) {
        assert_eq!(t1, t2, "block min times");
        let our_meta = tsdb_format::meta::BlockMeta::read_from_dir(&our).unwrap();
        let their_meta = tsdb_format::meta::BlockMeta::read_from_dir(&their).unwrap();
        assert_eq!(our_meta.max_time, their_meta.max_time);
        assert_eq!(our_meta.stats, their_meta.stats, "stats of block at {t1}");
        for file in ["chunks/000001", "index", "tombstones"] {
            let a = std::fs::read(our.join(file)).unwrap();
            let b = std::fs::read(their.join(file)).unwrap();
            assert!(a == b, "{file} of block at {t1} differs ({} vs {} bytes)", a.len(), b.len());
        }
    }
}

#[test]
fn promtool_reads_our_blocks() {
    let fx = fixture();
    for block in block_dirs(&fx.ours()) {
        let id = block.file_name().unwrap().to_str().unwrap().to_string();
        let copy = tempfile::tempdir().unwrap();
        copy_dir(&block, &copy.path().join(&id));
        let out = run_ok(prometheus_tool("promtool").args(["tsdb", "analyze"]).arg(copy.path()).arg(&id));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("Block ID: {id}")), "analyze output: {text}");
    }
    let ours = promtool_dump(&fx.ours(), &[]);
    assert_eq!(String::from_utf8_lossy(&ours).lines().count(), fx.input_samples);
    assert_same_lines(
        &ours,
        &promtool_dump(&fx.theirs(), &[]),
        "promtool dump of our blocks vs of promtool's",
    );
}

#[test]
fn prometheus_answers_the_same_over_our_blocks() {
    let fx = fixture();
    let work = tempfile::tempdir().unwrap();
    let start = |name: &str, blocks: &Path| {
        let data = work.path().join(name).join("data");
        for b in block_dirs(blocks) {
            copy_dir(&b, &data.join(b.file_name().unwrap()));
        }
        PrometheusServer::start(&data, &work.path().join(name))
    };
    let ours = start("ours", &fx.ours());
    let theirs = start("theirs", &fx.theirs());
    let (from, to) = (1_704_068_220, 1_704_068_220 + 7 * 3600);
    let queries = [
        "test_requests_total",
        "rate(test_requests_total[5m])",
        "sum by (job) (increase(test_requests_total[10m]))",
        "test_temperature",
        "max_over_time(test_sparse[2h])",
        "count({__name__=~\"test_.*\"})",
        "resets(test_requests_total[30m])",
    ];
    for q in queries {
        for step in ["60", "1337"] {
            let path =
                format!("/api/v1/query_range?query={}&start={from}&end={to}&step={step}", urlencode(q));
            let (s1, b1) = ours.get(&path);
            let (s2, b2) = theirs.get(&path);
            assert_eq!(s1, 200, "{q}: {b1}");
            assert_eq!((s1, b1.len()), (s2, b2.len()), "{q} step {step}");
            assert!(b1 == b2, "{q} step {step}: bodies differ");
            assert!(b1.contains("\"values\""), "{q}: no data: {b1}");
        }
    }
    for path in ["/api/v1/labels", "/api/v1/label/instance/values", "/api/v1/series?match[]=test_sparse"] {
        assert_eq!(ours.get(path), theirs.get(path), "{path}");
    }
}

#[test]
fn corrupt_blocks_give_clear_errors_not_panics() {
    let fx = fixture();
    let block = block_dirs(&fx.theirs()).remove(0);
    let id = block.file_name().unwrap().to_str().unwrap().to_string();
    type Damage = fn(&Path);
    let cases: [(&str, Damage, &str); 4] = [
        ("flipped chunk byte", |b| flip(&b.join("chunks/000001"), 200), "chunks"),
        ("truncated index", |b| truncate(&b.join("index"), 100), "index"),
        ("wrong chunk magic", |b| flip(&b.join("chunks/000001"), 0), "000001"),
        ("flipped index byte", |b| flip(&b.join("index"), 40), "index"),
    ];
    for (what, damage, names) in cases {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join(&id);
        copy_dir(&block, &copy);
        damage(&copy);
        let out = thanos_tools().args(["tsdb", "dump"]).arg(dir.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: dump succeeded");
        assert!(!stderr.contains("panicked"), "{what}: panicked: {stderr}");
        assert!(stderr.contains(names), "{what}: error does not name the file: {stderr}");
    }
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

fn truncate(path: &Path, keep: usize) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..keep]).unwrap();
}

/// Index format v1 (Thanos' fixture): our reader lists the same series and label values as a
/// Prometheus 2.42 server started over it (the fixture has no chunks, so only the index is read).
#[test]
fn index_v1_fixture_reads_like_prometheus() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata-blocks/index_format_v1");
    assert!(fixture.join("index").is_file(), "fixture missing at {}", fixture.display());
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    copy_dir(&fixture, &data.join("01DXXFZDYD1MQW6079WK0K6EDQ"));
    let prometheus = PrometheusServer::start(&data, work.path());

    let index = tsdb_format::index::IndexReader::open(fixture.join("index")).unwrap();
    assert_eq!(index.version(), 1);
    let mut ours: Vec<serde_json::Value> = Vec::new();
    for series_ref in index.all_postings().unwrap().iter() {
        let (labels, _) = index.series(series_ref).unwrap();
        let map: serde_json::Map<String, serde_json::Value> =
            labels.iter().map(|l| (l.name.clone(), serde_json::Value::String(l.value.clone()))).collect();
        ours.push(serde_json::Value::Object(map));
    }
    let (status, body) = prometheus.get(&format!(
        "/api/v1/series?match[]={}&match[]={}&start=0&end=7200",
        urlencode("{foo=~\".+\"}"),
        urlencode("{bar=~\".+\"}")
    ));
    assert_eq!(status, 200, "{body}");
    let theirs: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ours.len(), 102);
    assert_eq!(serde_json::Value::Array(ours), theirs["data"], "series of the v1 index");

    let (_, body) = prometheus.get("/api/v1/labels?start=0&end=7200");
    let theirs: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(serde_json::json!(index.label_names()), theirs["data"]);
    for name in index.label_names() {
        let (_, body) = prometheus.get(&format!("/api/v1/label/{name}/values?start=0&end=7200"));
        let theirs: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(serde_json::json!(index.label_values(&name)), theirs["data"], "values of {name}");
    }
}
