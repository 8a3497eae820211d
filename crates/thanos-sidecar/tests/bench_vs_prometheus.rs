//! `Series` throughput through the sidecar vs reading Prometheus 2.42's remote read directly
//! (ignored by default; run in release, `just bench` does):
//!
//! ```text
//! CARGO_TARGET_DIR=… cargo test --release -p thanos-sidecar --test bench_vs_prometheus -- --ignored --nocapture
//! ```
//!
//! `BENCH_SERIES` series (default 1000) over one day at a 30 s step, in promtool blocks served by
//! a real Prometheus with external labels. Each request runs `BENCH_RUNS` times (default 11) on
//! each side, alternating: directly, one remote-read query read to the end with
//! `storeapi::remote_read` (frames checked and split into series, chunks not decoded); through
//! the sidecar, the same matchers as a StoreAPI `Series` call read to the end. Medians, series/s,
//! samples/s (counted from chunk headers), the overhead ratio (sidecar / direct; target ≤ 1.1)
//! and the sidecar's peak RSS are printed, not asserted.

mod support;

use std::time::{Duration, Instant};

use storeapi::pb::prometheus as prom;
use storeapi::pb::thanos as pb;
use storeapi::remote_read::RemoteReadClient;
use support::*;
use testkit::blocks::Generated;
use testkit::prometheus::{Prometheus, PrometheusConfig};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Samples in a chunk: the big-endian count in its first two bytes (XOR chunks).
fn chunk_samples(chunks: &[pb::AggrChunk]) -> u64 {
    chunks
        .iter()
        .filter_map(|c| c.raw.as_ref())
        .map(|raw| u64::from(u16::from_be_bytes([raw.data[0], raw.data[1]])))
        .sum()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture (just bench)"]
fn series_throughput_vs_remote_read() {
    let series_count = env_or("BENCH_SERIES", 1000);
    let runs = env_or("BENCH_RUNS", 11);
    let data = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let spec = Generated { series: series_count, days: 1.0, ..Generated::default() };
    let blocks = testkit::blocks::generate(spec, data.path(), &["--max-block-duration=24h"]);
    let first_meta = tsdb_format::meta::BlockMeta::read_from_dir(&blocks[0]).expect("meta");
    let last_meta = tsdb_format::meta::BlockMeta::read_from_dir(&blocks[blocks.len() - 1]).expect("meta");
    let (first, last) = (first_meta.min_time, last_meta.max_time - 1);
    let prometheus = Prometheus::start(PrometheusConfig {
        config_yaml: config_with_external_labels(),
        seed_blocks: blocks.clone(),
        ..Default::default()
    });
    let sidecar = Sidecar::start(&prometheus.url(), &[]);
    eprintln!(
        "{series_count} series over 1d at 30s in {} blocks: setup {:?}; {runs} runs per side",
        blocks.len(),
        started.elapsed()
    );

    let cases: [(&str, i32, &str, i64, i64); 3] = [
        ("all series, 1d", 2, "demo_.*", first, last),
        ("all series, last 2h", 2, "demo_.*", last - 2 * 3_600_000, last),
        (
            "half the series (gauges), 6h",
            0,
            "demo_temperature",
            first + 6 * 3_600_000,
            first + 12 * 3_600_000,
        ),
    ];
    eprintln!(
        "{:<32} {:>9} {:>10} {:>10} {:>13} {:>13} {:>7}",
        "matchers, range", "series", "direct", "sidecar", "series/s (sc)", "samples/s (sc)", "ratio"
    );
    block_on(async {
        let direct = RemoteReadClient::new(reqwest::Client::new(), &prometheus.url(), "thanos-rs-bench");
        // Flow-control windows sized like grpc-go's BDP estimation gives the Thanos querier; with
        // h2's default 64 KiB window the client, not the sidecar, would set the pace.
        let channel = storeapi::grpc::endpoint(&format!("127.0.0.1:{}", sidecar.grpc_port))
            .expect("endpoint")
            .initial_stream_window_size(Some(8 << 20))
            .initial_connection_window_size(Some(16 << 20))
            .connect()
            .await
            .expect("connect");
        let mut store = storeapi::grpc::store_client(channel);
        for (name, kind, value, mint, maxt) in cases {
            let mut direct_times = Vec::new();
            let mut sidecar_times = Vec::new();
            let (mut direct_counts, mut sidecar_counts) = ((0, 0), (0, 0));
            for _ in 0..runs {
                let query = prom::Query {
                    start_timestamp_ms: mint,
                    end_timestamp_ms: maxt,
                    matchers: vec![prom::LabelMatcher {
                        r#type: kind,
                        name: "__name__".into(),
                        value: value.into(),
                    }],
                    hints: None,
                };
                let clock = Instant::now();
                let accepted = [
                    prom::read_request::ResponseType::StreamedXorChunks,
                    prom::read_request::ResponseType::Samples,
                ];
                let mut reader = direct.read(query, &accepted).await.expect("remote read");
                let (mut n, mut samples) = (0u64, 0u64);
                while let Some(series) = reader.next_series().await.expect("series") {
                    n += 1;
                    samples += chunk_samples(&series.chunks);
                }
                direct_times.push(clock.elapsed());
                direct_counts = (n, samples);

                let clock = Instant::now();
                let answer = series(&mut store, request(&[(kind, "__name__", value)], mint, maxt))
                    .await
                    .expect("series");
                sidecar_times.push(clock.elapsed());
                sidecar_counts =
                    (answer.len() as u64, answer.iter().map(|s| chunk_samples(&s.chunks)).sum::<u64>());
            }
            assert_eq!(direct_counts, sidecar_counts, "{name}: same series and samples both ways");
            let (direct_median, sidecar_median) = (median(direct_times), median(sidecar_times));
            let seconds = sidecar_median.as_secs_f64();
            eprintln!(
                "{:<32} {:>9} {:>8.1}ms {:>8.1}ms {:>13.0} {:>13.0} {:>7.2}",
                name,
                sidecar_counts.0,
                direct_median.as_secs_f64() * 1000.0,
                seconds * 1000.0,
                sidecar_counts.0 as f64 / seconds,
                sidecar_counts.1 as f64 / seconds,
                seconds / direct_median.as_secs_f64(),
            );
        }
    });
    let rss = sidecar.process.peak_rss_kib().unwrap_or(0);
    let prometheus_rss = prometheus.process.peak_rss_kib().unwrap_or(0);
    eprintln!(
        "sidecar peak RSS {:.1} MiB (Prometheus {:.1} MiB)",
        rss as f64 / 1024.0,
        prometheus_rss as f64 / 1024.0
    );
}
