//! Side by side with Prometheus 2.42 over the same samples (ignored by default; run in release):
//!
//! ```text
//! CARGO_TARGET_DIR=… cargo test --release -p thanos-query --test bench_vs_prometheus -- --ignored --nocapture
//! ```
//!
//! `BENCH_SERIES` counters `x` (default 1000) and 10×10 `h_bucket` series, one sample a minute
//! for 2 days; range queries over the 2 days at step 60s, and `/api/v1/series`. Each request runs
//! three times on each side; the medians and their ratio (ours / Prometheus) are printed, with
//! the querier's peak RSS (the in-memory store runs inside the test process).

mod support;

use std::time::{Duration, Instant};

use support::data::{H, SeriesData, T0};
use support::http::{api_time, get, urlencode};
use support::store::{MemoryStore, TestStore};
use tsdb_format::Labels;

const DAYS: i64 = 2;
const INTERVAL: i64 = 60_000;

fn generate(series: usize) -> Vec<SeriesData> {
    let end = T0 + DAYS * 24 * H;
    let times = || (0..).map(|i| T0 + i * INTERVAL).take_while(move |t| *t < end);
    let mut out = Vec::new();
    for i in 0..series {
        let labels = Labels::from_pairs([
            ("__name__", "x".to_string()),
            ("instance", format!("i-{i:05}")),
            ("job", "bench".to_string()),
        ]);
        let mut v = 0.0;
        let samples = times()
            .enumerate()
            .map(|(n, t)| {
                v += ((n * 7 + i) % 13) as f64;
                (t, v)
            })
            .collect();
        out.push((labels, samples));
    }
    for instance in 0..10 {
        for (b, le) in
            ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"].iter().enumerate()
        {
            let labels = Labels::from_pairs([
                ("__name__", "h_bucket".to_string()),
                ("instance", format!("{instance}")),
                ("le", le.to_string()),
            ]);
            let mut v = 0.0;
            let samples = times()
                .enumerate()
                .map(|(n, t)| {
                    v += (b + 1) as f64 * (1 + (n + instance) % 3) as f64;
                    (t, v)
                })
                .collect();
            out.push((labels, samples));
        }
    }
    out
}

fn median_time(port: u16, path: &str) -> Duration {
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let (status, body) = get(port, path).expect("answers");
            assert_eq!(status, 200, "{path}: {}", body.chars().take(300).collect::<String>());
            started.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn bench_against_prometheus() {
    support::require("prometheus");
    let n: usize = std::env::var("BENCH_SERIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let started = Instant::now();
    let series = generate(n);
    let dir = tempfile::tempdir().expect("tempdir");
    let prom_data = dir.path().join("prom");
    std::fs::create_dir_all(&prom_data).expect("mkdir");
    let end = T0 + DAYS * 24 * H;
    {
        let mut from = T0;
        while from < end {
            let mut writer = tsdb_format::block::BlockWriter::new(2 * H);
            for (labels, samples) in &series {
                for &(t, v) in samples.iter().filter(|(t, _)| (from..from + 2 * H).contains(t)) {
                    writer.append(labels, t, v);
                }
            }
            writer.write(&prom_data).expect("write block");
            from += 2 * H;
        }
    }
    let prometheus = support::start_prometheus(&prom_data, dir.path());
    let store = TestStore::start(MemoryStore::new(series));
    let querier = support::start_querier(&[format!("--endpoint={}", store.address)], dir.path());
    eprintln!("{n} series + 100 buckets over {DAYS}d: setup {:?}", started.elapsed());

    let range = |q: &str| {
        format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=60",
            urlencode(q),
            api_time(T0),
            api_time(end - INTERVAL)
        )
    };
    let cases = [
        ("sum by (instance)(rate(x[5m]))", range("sum by (instance) (rate(x[5m]))")),
        ("rate(x[5m])", range("rate(x[5m])")),
        (
            "histogram_quantile(0.9, sum by (le)(rate(h_bucket[5m])))",
            range("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))"),
        ),
        ("topk(10, rate(x[5m]))", range("topk(10, rate(x[5m]))")),
        (
            "/api/v1/series x",
            format!("/api/v1/series?match[]=x&start={}&end={}", api_time(T0), api_time(end)),
        ),
    ];
    eprintln!("{:<60} {:>10} {:>10} {:>7}", "request", "ours", "prom", "ratio");
    for (name, path) in cases {
        let ours = median_time(querier.port, &path);
        let theirs = median_time(prometheus.port, &path);
        eprintln!(
            "{name:<60} {:>9.0}ms {:>9.0}ms {:>7.2}",
            ours.as_secs_f64() * 1e3,
            theirs.as_secs_f64() * 1e3,
            ours.as_secs_f64() / theirs.as_secs_f64()
        );
    }
    eprintln!(
        "peak RSS: thanos-query {} MiB, prometheus {} MiB",
        querier.peak_rss_kib().unwrap_or(0) / 1024,
        prometheus.peak_rss_kib().unwrap_or(0) / 1024
    );
}
