//! Side by side with Prometheus 2.42 over the same promtool blocks (ignored by default; `just
//! bench` runs it in release):
//!
//! ```text
//! cargo build --release -p thanos-store --bin thanos-store
//! cargo test --release -p thanos-query --test bench_vs_prometheus -- --ignored --nocapture
//! ```
//!
//! For each size in `BENCH_SERIES` (default `1000,10000`): that many counters `x` (over 100
//! `instance`s, a `pod` each) and 10×10 `h_bucket` series, one sample a minute for 2 days, written as OpenMetrics (a file per day) and
//! turned into blocks by promtool (`--max-block-duration=24h`); cached under
//! `~/.cache/thanos-rs/bench-blocks/`. The blocks are uploaded to a filesystem bucket served by
//! the real `thanos-store` behind the real `thanos-query`, and copied into Prometheus. Range
//! queries over the 2 days at step 60s, and `/api/v1/series`, run after a warm-up `BENCH_RUNS` times
//! (default 3; 31 for requests under 100 ms) on each side, one side at a time; the medians and
//! their ratio (ours / Prometheus) are printed, then the peak RSS of store + querier against
//! Prometheus'. `BENCH_DEDUP=1` uploads the blocks as one replica (`replica="0"`) and reads
//! them through the querier's deduplication.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::http::{api_time, get, urlencode};
use support::stack::{StoreBinary, filesystem_bucket, upload};
use testkit::prometheus::{Prometheus, PrometheusConfig};
use tsdb_format::Labels;

/// 2024-01-01T00:00:00Z: the data starts on a day boundary, so each day is one promtool block.
const START_MS: i64 = 1_704_067_200_000;
const DAY_MS: i64 = 86_400_000;
const DAYS: i64 = 2;
const INTERVAL_MS: i64 = 60_000;
/// Bumped when the generated data changes, so cached blocks are rebuilt.
const DATA_VERSION: u32 = 2;
const BUCKETS: [&str; 10] = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];

/// Writes one day of the data as OpenMetrics: `x` counters, then the `h_bucket` family.
fn write_day(series: usize, day: i64, path: &Path) {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create"));
    let steps_per_day = DAY_MS / INTERVAL_MS;
    let first = day * steps_per_day;
    let steps = first..first + steps_per_day;
    for i in 0..series {
        let selector = format!("x{{instance=\"i-{:02}\",job=\"bench\",pod=\"p-{i:05}\"}}", i % 100);
        // The running total up to the day's first sample, in closed form per step.
        let mut v: f64 = (0..first).map(|n| ((n as usize * 7 + i) % 13) as f64).sum();
        for n in steps.clone() {
            v += ((n as usize * 7 + i) % 13) as f64;
            let t = START_MS + n * INTERVAL_MS;
            writeln!(out, "{selector} {v} {}", t / 1000).expect("write");
        }
    }
    for instance in 0..10usize {
        for (b, le) in BUCKETS.iter().enumerate() {
            let selector = format!("h_bucket{{instance=\"{instance}\",le=\"{le}\"}}");
            let increment = |n: i64| (b + 1) as f64 * (1 + (n as usize + instance) % 3) as f64;
            let mut v: f64 = (0..first).map(increment).sum();
            for n in steps.clone() {
                v += increment(n);
                let t = START_MS + n * INTERVAL_MS;
                writeln!(out, "{selector} {v} {}", t / 1000).expect("write");
            }
        }
    }
    writeln!(out, "# EOF").expect("write");
    out.flush().expect("flush");
}

/// The promtool blocks for `series` counters, generated once and cached.
fn blocks(series: usize) -> Vec<PathBuf> {
    let cache = std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".cache/thanos-rs/bench-blocks"))
        .unwrap_or_else(|| std::env::temp_dir().join("thanos-rs-bench-blocks"))
        .join(format!("v{DATA_VERSION}-{series}"));
    let done = cache.join("complete");
    if done.is_file() {
        return testkit::blocks::block_dirs(&cache);
    }
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::create_dir_all(&cache).expect("cache dir");
    let scratch = tempfile::tempdir().expect("tempdir");
    for day in 0..DAYS {
        let started = Instant::now();
        let input = scratch.path().join(format!("day-{day}.om"));
        write_day(series, day, &input);
        let generated = started.elapsed();
        testkit::blocks::promtool_blocks(&input, &cache, &["--max-block-duration=24h"]);
        std::fs::remove_file(&input).expect("remove input");
        eprintln!(
            "  day {day}: generated in {generated:.1?}, promtool {:.1?}",
            started.elapsed() - generated
        );
    }
    std::fs::write(&done, "").expect("mark complete");
    testkit::blocks::block_dirs(&cache)
}

/// Runs of a request that answers within [`FAST`]: single milliseconds are noisy.
const FAST_RUNS: usize = 31;
const FAST: Duration = Duration::from_millis(100);

/// Median wall time of `runs` GETs that must answer 200 (more for fast ones), after one
/// warm-up GET, and the answer's size.
fn median_time(port: u16, path: &str, runs: usize) -> (Duration, usize) {
    let timed = || {
        let started = Instant::now();
        let (status, body) = get(port, path).expect("answers");
        let took = started.elapsed();
        assert_eq!(status, 200, "{path}: {}", body.chars().take(300).collect::<String>());
        (took, body.len())
    };
    let (warm_up, size) = timed();
    let runs = if warm_up < FAST { runs.max(FAST_RUNS) } else { runs };
    let mut times: Vec<Duration> = (0..runs).map(|_| timed().0).collect();
    times.sort();
    (times[times.len() / 2], size)
}

fn mib(kib: Option<u64>) -> f64 {
    kib.unwrap_or(0) as f64 / 1024.0
}

fn bench(series: usize, runs: usize) {
    let started = Instant::now();
    eprintln!(
        "\n== {series} series `x` + 100 `h_bucket`, {DAYS} days at 60s{} ==",
        if std::env::var("BENCH_DEDUP").is_ok_and(|v| v == "1") { ", deduplicated" } else { "" }
    );
    let blocks = blocks(series);
    let prepared = started.elapsed();
    let dir = tempfile::tempdir().expect("tempdir");
    let bucket = filesystem_bucket(&dir.path().join("bucket"));
    // BENCH_DEDUP=1: the blocks of one replica of an HA pair, read through deduplication.
    let dedup = std::env::var("BENCH_DEDUP").is_ok_and(|v| v == "1");
    let labels = if dedup {
        Labels::from_pairs([("cluster", "bench"), ("replica", "0")])
    } else {
        Labels::from_pairs([("cluster", "bench")])
    };
    upload(&bucket, &blocks, &labels);
    let store = StoreBinary::start(&bucket, dir.path(), &[]);
    let store_ready = started.elapsed();
    let mut querier_flags = vec![store.endpoint_flag()];
    if dedup {
        querier_flags.push("--query.replica-label=replica".to_string());
    }
    let querier = support::start_querier(&querier_flags, dir.path());
    let prometheus =
        Prometheus::start(PrometheusConfig { seed_blocks: blocks, ..PrometheusConfig::default() });
    eprintln!(
        "blocks ready after {prepared:.1?}, upload + store ready after {store_ready:.1?}, all after {:.1?}",
        started.elapsed()
    );

    let end = START_MS + DAYS * DAY_MS - INTERVAL_MS;
    let range = |q: &str| {
        format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=60",
            urlencode(q),
            api_time(START_MS),
            api_time(end)
        )
    };
    let cases = [
        ("sum by (instance) (rate(x[5m]))", range("sum by (instance) (rate(x[5m]))")),
        ("rate(x[5m])", range("rate(x[5m])")),
        (
            "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
            range("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))"),
        ),
        ("topk(10, rate(x[5m]))", range("topk(10, rate(x[5m]))")),
        (
            "/api/v1/series?match[]=x",
            format!("/api/v1/series?match[]=x&start={}&end={}", api_time(START_MS), api_time(end)),
        ),
    ];
    eprintln!("{:<58} {:>10} {:>10} {:>7} {:>9}", "request", "ours", "prom", "ratio", "MB");
    for (name, path) in cases {
        let (ours, size) = median_time(querier.port, &path, runs);
        let (theirs, _) = median_time(prometheus.port, &path, runs);
        eprintln!(
            "{name:<58} {:>8.0}ms {:>8.0}ms {:>7.2} {:>9.1}",
            ours.as_secs_f64() * 1e3,
            theirs.as_secs_f64() * 1e3,
            ours.as_secs_f64() / theirs.as_secs_f64(),
            size as f64 / 1e6
        );
    }
    let (store_rss, querier_rss) = (mib(store.process.peak_rss_kib()), mib(querier.peak_rss_kib()));
    let prometheus_rss = mib(prometheus.process.peak_rss_kib());
    eprintln!(
        "peak RSS: thanos-store {store_rss:.0} MiB + thanos-query {querier_rss:.0} MiB = {:.0} MiB, \
         prometheus {prometheus_rss:.0} MiB, ratio {:.2}",
        store_rss + querier_rss,
        (store_rss + querier_rss) / prometheus_rss
    );
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn bench_against_prometheus() {
    let sizes: Vec<usize> = std::env::var("BENCH_SERIES")
        .unwrap_or_else(|_| "1000,10000".to_string())
        .split(',')
        .map(|s| s.trim().parse().expect("BENCH_SERIES: comma-separated counts"))
        .collect();
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    for series in sizes {
        bench(series, runs);
    }
}
