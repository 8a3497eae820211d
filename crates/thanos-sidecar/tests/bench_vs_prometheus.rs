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
//! by median and by fastest run (the fastest is the least disturbed on a busy machine), the CPU
//! time each process spent per request on each side (from `/proc/<pid>/task/*/schedstat`, which
//! other load on the machine does not inflate), and the sidecar's peak RSS are printed, not
//! asserted.
//!
//! With `BENCH_CALLGRIND=1` the sidecar runs under `valgrind --tool=callgrind` and the bench
//! prints the instructions the sidecar executed per request of each case (counters zeroed before
//! a case, dumped after it): a count that other load on the machine does not change, for
//! comparing builds. Times are meaningless in that mode; use few runs (`BENCH_RUNS=3`).

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

/// CPU time a process has spent so far, summed over its threads (`/proc/<pid>/task/*/schedstat`,
/// nanoseconds on the CPU). Threads that ended are not counted; the processes here keep theirs.
fn cpu_time(pid: u32) -> Duration {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc task list");
    let nanos: u64 = tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// CPU time per request of each process on one side, accumulated over runs.
#[derive(Default)]
struct CpuUse {
    prometheus: Duration,
    sidecar: Duration,
    client: Duration,
}

impl CpuUse {
    /// Adds what `pids` (Prometheus, sidecar, this process) spent while `work` ran.
    async fn measure<T>(&mut self, pids: [u32; 3], work: impl std::future::Future<Output = T>) -> T {
        let before = pids.map(cpu_time);
        let out = work.await;
        let after = pids.map(cpu_time);
        self.prometheus += after[0] - before[0];
        self.sidecar += after[1] - before[1];
        self.client += after[2] - before[2];
        out
    }

    fn total(&self) -> Duration {
        self.prometheus + self.sidecar + self.client
    }
}

/// The sidecar binary run by `valgrind --tool=callgrind`, with its output files in its own
/// directory (see [`callgrind_control`]).
fn start_under_callgrind(prometheus_url: &str) -> Sidecar {
    let mut sidecar = Sidecar::spawn(prometheus_url, &[]);
    // `Sidecar::spawn` starts the binary directly; restart the same command line under valgrind.
    sidecar.process.kill();
    let dir = tempfile::tempdir().expect("tempdir").keep();
    let mut command = testkit::tool("valgrind");
    command
        .current_dir(&dir)
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}/callgrind.out", dir.display()))
        .arg(env!("CARGO_BIN_EXE_thanos-sidecar"))
        .arg(format!("--prometheus.url={prometheus_url}"))
        .arg(format!("--http-address=127.0.0.1:{}", sidecar.http_port))
        .arg(format!("--grpc-address=127.0.0.1:{}", sidecar.grpc_port));
    sidecar.process =
        testkit::process::Process::spawn("thanos-sidecar (callgrind)", command, &dir.join("sidecar.log"));
    sidecar.process.wait_http_ok(sidecar.http_port, "/-/ready", Duration::from_secs(120));
    sidecar
}

/// Runs `callgrind_control <action>` on the sidecar; after a dump (`-d`), the instructions
/// counted since the last zeroing (`-z`), read from the newest dump's `totals:` line.
fn callgrind_control(sidecar: &Sidecar, action: &str) -> f64 {
    let status = testkit::tool("callgrind_control")
        .arg(action)
        .arg(sidecar.process.pid().to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("callgrind_control");
    assert!(status.success(), "callgrind_control {action} failed");
    if action != "-d" {
        return 0.0;
    }
    let dir = sidecar.process.log.parent().expect("log directory");
    let newest = std::fs::read_dir(dir)
        .expect("callgrind directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("callgrind.out"))
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .expect("a callgrind dump");
    let text = std::fs::read_to_string(newest.path()).expect("callgrind dump");
    let totals = text.lines().find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")));
    totals.and_then(|t| t.split_whitespace().next()?.parse().ok()).expect("callgrind totals line")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
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
    let callgrind = std::env::var("BENCH_CALLGRIND").is_ok_and(|v| v == "1");
    let sidecar = if callgrind {
        start_under_callgrind(&prometheus.url())
    } else {
        Sidecar::start(&prometheus.url(), &[])
    };
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
        "{:<30} {:>6} {:>15} {:>15} {:>10} {:>12} {:>11}",
        "matchers, range",
        "series",
        "direct med/min",
        "sidecar med/min",
        "series/s",
        "samples/s",
        "ratio m/min"
    );
    let pids = [prometheus.process.pid(), sidecar.process.pid(), std::process::id()];
    let mut cpu_lines = Vec::new();
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
            if callgrind {
                callgrind_control(&sidecar, "-z");
            }
            let mut direct_times = Vec::new();
            let mut sidecar_times = Vec::new();
            let (mut direct_cpu, mut sidecar_cpu) = (CpuUse::default(), CpuUse::default());
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
                let accepted = [
                    prom::read_request::ResponseType::StreamedXorChunks,
                    prom::read_request::ResponseType::Samples,
                ];
                let clock = Instant::now();
                direct_counts = direct_cpu
                    .measure(pids, async {
                        let mut reader = direct.read(query, &accepted).await.expect("remote read");
                        let (mut n, mut samples) = (0u64, 0u64);
                        while let Some(series) = reader.next_series().await.expect("series") {
                            n += 1;
                            samples += chunk_samples(&series.chunks);
                        }
                        (n, samples)
                    })
                    .await;
                direct_times.push(clock.elapsed());

                let clock = Instant::now();
                let answer = sidecar_cpu
                    .measure(pids, series(&mut store, request(&[(kind, "__name__", value)], mint, maxt)))
                    .await
                    .expect("series");
                sidecar_times.push(clock.elapsed());
                sidecar_counts =
                    (answer.len() as u64, answer.iter().map(|s| chunk_samples(&s.chunks)).sum::<u64>());
            }
            assert_eq!(direct_counts, sidecar_counts, "{name}: same series and samples both ways");
            if callgrind {
                let instructions = callgrind_control(&sidecar, "-d");
                eprintln!(
                    "{name}: sidecar executed {:.1} M instructions per request",
                    instructions / runs as f64 / 1e6
                );
            }
            let (direct_min, sidecar_min) =
                (*direct_times.iter().min().expect("runs"), *sidecar_times.iter().min().expect("runs"));
            let (direct_median, sidecar_median) = (median(direct_times), median(sidecar_times));
            let seconds = sidecar_median.as_secs_f64();
            eprintln!(
                "{:<30} {:>6} {:>6.1}/{:>5.1}ms {:>6.1}/{:>5.1}ms {:>10.0} {:>12.0} {:>5.2}/{:>5.2}",
                name,
                sidecar_counts.0,
                ms(direct_median),
                ms(direct_min),
                ms(sidecar_median),
                ms(sidecar_min),
                sidecar_counts.0 as f64 / seconds,
                sidecar_counts.1 as f64 / seconds,
                seconds / direct_median.as_secs_f64(),
                sidecar_min.as_secs_f64() / direct_min.as_secs_f64(),
            );
            let per_run = |d: Duration| ms(d) / runs as f64;
            cpu_lines.push(format!(
                "{:<30} {:>9.1} {:>9.1} | {:>9.1} {:>9.1} {:>9.1} | {:>7.2}",
                name,
                per_run(direct_cpu.prometheus),
                per_run(direct_cpu.client),
                per_run(sidecar_cpu.prometheus),
                per_run(sidecar_cpu.sidecar),
                per_run(sidecar_cpu.client),
                sidecar_cpu.total().as_secs_f64() / direct_cpu.total().as_secs_f64(),
            ));
        }
    });
    eprintln!(
        "CPU ms per request: {:<11} {:>9} {:>9} | {:>9} {:>9} {:>9} | {:>7}",
        "", "prom", "client", "prom", "sidecar", "client", "ratio"
    );
    eprintln!("{:<30} {:>19} | {:>29} |", "", "direct", "through the sidecar");
    for line in cpu_lines {
        eprintln!("{line}");
    }
    let rss = sidecar.process.peak_rss_kib().unwrap_or(0);
    let prometheus_rss = prometheus.process.peak_rss_kib().unwrap_or(0);
    eprintln!(
        "sidecar peak RSS {:.1} MiB (Prometheus {:.1} MiB)",
        rss as f64 / 1024.0,
        prometheus_rss as f64 / 1024.0
    );
    if callgrind {
        // The callgrind directory was kept past `start_under_callgrind`; its dumps are read now.
        let mut sidecar = sidecar;
        sidecar.process.kill();
        if let Some(dir) = sidecar.process.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
