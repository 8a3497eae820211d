//! Prints (asserts nothing): `Series` latency through `thanos-store` vs Prometheus 2.42 over the
//! same promtool blocks, store time-to-ready and RSS with 100+ blocks, and index-header bytes per
//! block. Run with `cargo bench -p thanos-store --bench store_vs_prometheus`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use storeapi::pb::thanos::label_matcher::Type;
use support::{StoreProcess, http_get, urlencode};
use testkit::blocks::Generated;
use testkit::prometheus::{Prometheus, PrometheusConfig};

const SERIES: usize = 200;
const DAYS: f64 = 9.0;
const STEP: u64 = 60;
const RUNS: usize = 5;

/// A case: name, StoreAPI matchers, the equivalent PromQL selector.
type Case<'a> = (&'a str, Vec<(i32, &'a str, &'a str)>, String);

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The pid of the store, found by its `--http-address` in `/proc/*/cmdline` (support keeps the child private).
fn pid_of(store: &StoreProcess) -> u32 {
    let flag = format!("--http-address=127.0.0.1:{}", store.http_port);
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.split(|b| *b == 0).any(|a| a == flag.as_bytes()))
                .unwrap_or(false)
        })
        .unwrap_or(0)
}

fn main() {
    let work = tempfile::tempdir().expect("tempdir");
    let blocks = work.path().join("blocks");
    let dirs = testkit::blocks::generate(
        Generated { series: SERIES, days: DAYS, step_s: STEP, ..Generated::default() },
        &blocks,
        &[],
    );
    let metas: Vec<tsdb_format::meta::BlockMeta> =
        dirs.iter().map(|d| tsdb_format::meta::BlockMeta::read_from_dir(d).expect("meta")).collect();
    let mint = metas.iter().map(|m| m.min_time).min().expect("blocks");
    let maxt = metas.iter().map(|m| m.max_time).max().expect("blocks") - 1;

    // Filesystem bucket with every block.
    let bucket_dir = work.path().join("bucket");
    let yaml = format!("type: FILESYSTEM\nconfig:\n  directory: {}\n", bucket_dir.display());
    support::block_on(async {
        let bucket = objstore::bucket_from_config_yaml(&yaml).expect("bucket");
        let labels = tsdb_format::Labels::from_pairs([support::EXT_LABEL]);
        for dir in &dirs {
            block::upload_block(bucket.as_ref(), dir, &labels, block::source::TEST, block::HashFunc::None)
                .await
                .expect("upload");
        }
    });

    println!(
        "thanos-store bench: {SERIES} series x {DAYS} days, step {STEP}s, {} promtool 2h blocks",
        dirs.len()
    );
    println!();

    // (b) time-to-ready and RSS, cold (index-headers built) then warm (index-headers reused).
    let data_dir = work.path().join("data");
    let mut ready = Vec::new();
    for pass in ["cold (builds index-headers)", "warm (existing index-headers)"] {
        let started = Instant::now();
        let mut store = StoreProcess::start(&yaml, &data_dir, &[]);
        store.wait_ready(Duration::from_secs(600));
        let took = started.elapsed();
        let rss = rss_kib(pid_of(&store));
        ready.push((pass, took, rss));
        store.stop();
    }

    // (c) index-header bytes per block.
    let sizes: Vec<u64> = std::fs::read_dir(&data_dir)
        .expect("data dir")
        .filter_map(|e| std::fs::metadata(e.ok()?.path().join("index-header")).ok())
        .map(|m| m.len())
        .collect();
    let index_sizes: Vec<u64> =
        dirs.iter().map(|d| std::fs::metadata(d.join("index")).map(|m| m.len()).unwrap_or(0)).collect();

    // (a) Series latency vs Prometheus.
    let mut store = StoreProcess::start(&yaml, &data_dir, &[]);
    store.wait_ready(Duration::from_secs(600));
    let prom =
        Prometheus::start(PrometheusConfig { seed_blocks: dirs.clone(), ..PrometheusConfig::default() });
    let range_s = (maxt - mint) / 1000 + 1;
    let cases: [Case<'_>; 2] = [
        (
            "selective (1 series)",
            vec![
                (Type::Eq as i32, "__name__", "demo_requests_total"),
                (Type::Eq as i32, "instance", "host-0"),
                (Type::Eq as i32, "path", "/p0"),
            ],
            r#"demo_requests_total{instance="host-0",path="/p0"}"#.to_string(),
        ),
        (
            "broad (whole metric)",
            vec![(Type::Eq as i32, "__name__", "demo_temperature")],
            "demo_temperature".to_string(),
        ),
    ];
    let mut rows = Vec::new();
    support::block_on(async {
        let mut client = store.client().await;
        for (name, matchers, selector) in &cases {
            let mut store_times = Vec::new();
            let mut n_series = 0;
            for _ in 0..RUNS {
                let t = Instant::now();
                let r = support::series(&mut client, support::request(matchers, mint, maxt))
                    .await
                    .expect("series");
                store_times.push(t.elapsed());
                n_series = r.series.len();
            }
            let query = format!("{selector}[{range_s}s]");
            let path = format!("/api/v1/query?query={}&time={}", urlencode(&query), maxt as f64 / 1000.0);
            let mut prom_times = Vec::new();
            for _ in 0..RUNS {
                let t = Instant::now();
                let (code, body) = http_get(prom.port, &path).expect("prometheus query");
                prom_times.push(t.elapsed());
                assert_eq!(code, 200, "{body}");
            }
            rows.push((*name, n_series, median(store_times), median(prom_times)));
        }
    });
    let rss_after = rss_kib(pid_of(&store));

    println!("(a) Series latency, median of {RUNS}, whole range [{mint}, {maxt}]");
    println!("    thanos-store: gRPC Series (all chunks, Rust tonic client, stream fully read)");
    println!("    prometheus:   GET /api/v1/query?query=<selector>[{range_s}s]&time=<maxt> (range vector:");
    println!("                  every raw sample in range, JSON-encoded), over a copy of the same blocks");
    println!("{:<24} {:>7} {:>14} {:>14} {:>8}", "matcher", "series", "store", "prometheus", "ratio");
    for (name, n, s, p) in &rows {
        println!(
            "{name:<24} {n:>7} {:>12.2}ms {:>12.2}ms {:>8.2}",
            s.as_secs_f64() * 1e3,
            p.as_secs_f64() * 1e3,
            s.as_secs_f64() / p.as_secs_f64()
        );
    }
    println!("    (ratio = store / prometheus; < 1 means the store is faster)");
    println!();
    println!("(b) thanos-store with {} blocks", dirs.len());
    for (pass, took, rss) in &ready {
        println!("    {pass:<32} ready in {:>8.1} ms, VmRSS {:>7} KiB", took.as_secs_f64() * 1e3, rss);
    }
    println!("    after the Series runs above                         VmRSS {rss_after:>7} KiB");
    println!();
    let total: u64 = sizes.iter().sum();
    let index_total: u64 = index_sizes.iter().sum();
    println!("(c) index-header bytes per block ({} files)", sizes.len());
    if !sizes.is_empty() {
        println!(
            "    min {} / mean {} / max {} bytes; the blocks' index files average {} bytes",
            sizes.iter().min().copied().unwrap_or(0),
            total / sizes.len() as u64,
            sizes.iter().max().copied().unwrap_or(0),
            index_total / index_sizes.len().max(1) as u64
        );
    }
}
