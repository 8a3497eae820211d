//! The README's demo stack (`scripts/demo/demo.py`, what `just demo` runs), with this build's
//! binaries: two Prometheus 2.42 replicas scraping a live demo app on top of backfilled history,
//! a sidecar each, a filesystem bucket, thanos-store and thanos-query with dedup on `replica`.
//!
//! Shown: answers over the backfilled history (served from the bucket by the store, and by the
//! sidecars) equal Prometheus' own with the replicas deduplicated into one series; over the whole
//! range, history plus recent head data, replica 0 through thanos-query equals Prometheus 0's own
//! TSDB, and dedup yields Prometheus' series at Prometheus' timestamps; Ctrl-C stops everything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::http::{get, urlencode};
use testkit::process::Process;

/// Range queries; `SEL` becomes the replica selector on the querier side and nothing on Prometheus'.
const QUERIES: &[&str] = &[
    "demo_memory_bytes{SEL}",
    "sum by (handler) (rate(demo_http_requests_total{SEL}[5m]))",
    "histogram_quantile(0.9, sum by (le) (rate(demo_http_request_duration_seconds_bucket{SEL}[5m])))",
    "max_over_time(demo_queue_depth{SEL}[30m])",
    "topk(3, demo_cpu_usage_ratio{SEL})",
    "increase(demo_http_requests_total{code=\"500\",SEL}[1h])",
];

fn demo_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/demo/demo.py")
}

/// A query's result as (labels without `cluster`, [(t, value)]) sorted by labels.
type Matrix = BTreeMap<String, Vec<(String, String)>>;

fn matrix(body: &str, what: &str, drop: &[&str]) -> Matrix {
    let json: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body}"));
    assert_eq!(json["status"], "success", "{what}: {body}");
    let mut out = Matrix::new();
    for series in json["data"]["result"].as_array().expect("result array") {
        let mut labels: Vec<(String, String)> = series["metric"]
            .as_object()
            .expect("metric")
            .iter()
            .filter(|(k, _)| !drop.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.as_str().expect("label value").to_owned()))
            .collect();
        labels.sort();
        let key = format!("{labels:?}");
        let points = series["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|p| (p[0].to_string(), p[1].as_str().expect("value string").to_owned()))
            .collect();
        assert!(out.insert(key.clone(), points).is_none(), "{what}: series {key} twice");
    }
    out
}

/// A range query at step 60 s; the result without the external labels `cluster` and `replica`.
fn query_range(port: u16, prefix: &str, query: &str, start: i64, end: i64, extra: &str) -> Matrix {
    let path = format!(
        "{prefix}/api/v1/query_range?query={}&start={start}&end={end}&step=60{extra}",
        urlencode(query)
    );
    let (status, body) = get(port, &path).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(status, 200, "{path}: {body}");
    matrix(&body, &path, &["cluster", "replica"])
}

/// Equal matrices, or a failure naming the first difference (the whole answers are too long).
fn assert_same(got: &Matrix, want: &Matrix, what: &str) {
    let got_keys: Vec<&String> = got.keys().collect();
    let want_keys: Vec<&String> = want.keys().collect();
    assert_eq!(got_keys, want_keys, "{what}: series");
    for (key, want_points) in want {
        let got_points = &got[key];
        if let Some(i) =
            (0..want_points.len().max(got_points.len())).find(|&i| got_points.get(i) != want_points.get(i))
        {
            panic!(
                "{what}: {key} differs at point {i}: got {:?}, want {:?} ({} vs {} points)",
                got_points.get(i),
                want_points.get(i),
                got_points.len(),
                want_points.len()
            );
        }
    }
}

/// The newest sample time (unix seconds) of `selector` in Prometheus, 0 if none.
fn newest_sample(port: u16, selector: &str) -> f64 {
    let path = format!("/api/v1/query?query={}", urlencode(&format!("max(timestamp({selector}))")));
    let Ok((200, body)) = get(port, &path) else { return 0.0 };
    let json: Value = serde_json::from_str(&body).unwrap_or_default();
    json["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

fn metric(port: u16, name: &str) -> f64 {
    let (_, body) = get(port, "/metrics").unwrap_or_default();
    body.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool, demo: &Process) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {timeout:?}; demo log:\n{}", demo.log_text());
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn demo_stack_answers_like_prometheus_with_replicas_deduplicated() {
    let work = tempfile::tempdir().expect("tempdir");
    let state_file = work.path().join("state.json");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_thanos-sidecar")).parent().expect("bin dir").to_owned();
    for bin in ["thanos-store", "thanos-query", "thanos-tools"] {
        testkit::workspace_bin(bin);
    }
    let mut command = Command::new("python3");
    command
        .arg(demo_script())
        .arg("--bin-dir")
        .arg(&bin_dir)
        .arg("--dir")
        .arg(work.path().join("demo"))
        .args(["--free-ports", "--days", "1", "--store-sync", "2s", "--state-file"])
        .arg(&state_file);
    let mut demo = Process::spawn("demo.py", command, &work.path().join("demo.log"));
    wait_for("the demo stack comes up", Duration::from_secs(240), || state_file.is_file(), &demo);
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).expect("state")).expect("json");
    let port = |name: &str| state["ports"][name].as_u64().expect("port") as u16;
    let (query, prom0, store) = (port("query_http"), port("prom0"), port("store_http"));
    let history_end = state["history_end"].as_i64().expect("history_end");
    let demo_dir = Path::new(state["dir"].as_str().expect("dir"));
    let history_blocks: Vec<PathBuf> = ["0", "1"]
        .iter()
        .flat_map(|r| testkit::blocks::block_dirs(&demo_dir.join(format!("prometheus-{r}/data"))))
        .collect();
    assert!(history_blocks.len() >= 4, "each replica's history as several blocks: {history_blocks:?}");

    // Both sidecars upload their replica's history; the store loads every block.
    let want = history_blocks.len() as f64;
    wait_for(
        "thanos-store loads both replicas' uploaded history",
        Duration::from_secs(120),
        || metric(store, "thanos_bucket_store_blocks_loaded") >= want,
        &demo,
    );
    // Live scrapes land in both heads well after the history, so the last range steps below read
    // head samples (scrapes come every 15 s), not the history's last sample through the lookback.
    // The range ends 20 s back: a scrape still being appended cannot change it between two queries.
    let live_after = history_end + 180;
    for prom in [prom0, port("prom1")] {
        wait_for(
            "live scrapes in Prometheus' head",
            Duration::from_secs(240),
            || newest_sample(prom, "demo_memory_bytes") > live_after as f64,
            &demo,
        );
    }
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let (start, old_end, end) = (history_end - 20 * 3600, history_end - 600, now - 20);

    for template in QUERIES {
        let plain = template.replace(",SEL", "").replace("{SEL}", "");
        let replica0 = template.replace("SEL", "replica=\"0\"");
        let expected_old = query_range(prom0, "", &plain, start, old_end, "");
        assert!(!expected_old.is_empty(), "{plain}: Prometheus has history");

        // Old data, where the store's bucket copy and both sidecars overlap: deduplicated, equal.
        let old = query_range(query, "/thanos", &plain, start, old_end, "&dedup=true");
        assert_same(&old, &expected_old, &format!("{plain} over the history, deduplicated"));

        // History plus recent head data: replica 0 through the querier is Prometheus 0 itself.
        let expected_all = query_range(prom0, "", &plain, start, end, "");
        let all_replica0 = query_range(query, "/thanos", &replica0, start, end, "&dedup=false");
        assert_same(&all_replica0, &expected_all, &format!("{replica0} over history and head"));

        // Deduplicated over both: one series per Prometheus series, at the same timestamps.
        let dedup_all = query_range(query, "/thanos", &plain, start, end, "&dedup=true");
        let shape = |m: &Matrix| -> Vec<(String, Vec<String>)> {
            m.iter().map(|(k, pts)| (k.clone(), pts.iter().map(|(t, _)| t.clone()).collect())).collect()
        };
        assert_eq!(shape(&dedup_all), shape(&expected_all), "{plain} deduplicated over history and head");
        if plain.starts_with("demo_memory_bytes") {
            let path = format!(
                "/thanos/api/v1/query_range?query={}&start={start}&end={end}&step=60&dedup=false",
                urlencode(&plain)
            );
            let undeduplicated = matrix(&get(query, &path).expect("query").1, &path, &["cluster"]);
            assert_eq!(undeduplicated.len(), 2 * expected_all.len(), "without dedup both replicas appear");
        }
    }

    // Ctrl-C stops the whole stack cleanly.
    let _ = Command::new("kill").arg("-INT").arg(demo.pid().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while demo.is_running() {
        assert!(Instant::now() < deadline, "demo.py still running 60 s after Ctrl-C:\n{}", demo.log_text());
        std::thread::sleep(Duration::from_millis(200));
    }
    for name in ["query_http", "prom0", "prom1", "sidecar0_http", "sidecar1_http", "store_http", "app"] {
        assert!(get(port(name), "/").is_err(), "{name} still listening after Ctrl-C");
    }
    assert!(demo.log_text().contains("demo: stopped"), "{}", demo.log_text());
}
