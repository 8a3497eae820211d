//! Side by side with promtool 2.42 on the same input and the same blocks, on this machine:
//! backfilling blocks from OpenMetrics, and dumping every sample. Prints wall times and ratios
//! (ours / promtool; below 1.0 means we are faster). Not asserted: speed is measured, not tested.
//!
//! `cargo bench -p thanos-tools --bench vs_promtool` (or `just bench`). `VS_PROMTOOL_SERIES`
//! and `VS_PROMTOOL_HOURS` size the input (default 1100 series × 7 h ≈ 1M samples).

#![allow(clippy::unwrap_used, reason = "benchmark harness: a panic is the report")]

#[path = "../tests/tsdb_compat/openmetrics_gen.rs"]
mod openmetrics_gen;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 3;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of benchmarks; there is nothing to list.
    }
    let series = env_or("VS_PROMTOOL_SERIES", 1100);
    let hours = env_or("VS_PROMTOOL_HOURS", 7);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.om");
    let samples = openmetrics_gen::write_openmetrics(&input, series as usize, hours);
    println!("input: {series} series × {hours} h = {samples} samples");

    let ours = Path::new(env!("CARGO_BIN_EXE_thanos-tools"));
    let backfill = |tool: &str, out: &Path| {
        let _ = std::fs::remove_dir_all(out);
        let mut cmd = if tool == "promtool" { Command::new("promtool") } else { Command::new(ours) };
        cmd.args(["tsdb", "create-blocks-from", "openmetrics", "-q"]).arg(&input).arg(out);
        cmd
    };
    let theirs_dir = dir.path().join("promtool-blocks");
    let ours_dir = dir.path().join("our-blocks");
    report(
        "create-blocks-from openmetrics",
        median(|| time(backfill("promtool", &theirs_dir))),
        median(|| time(backfill("ours", &ours_dir))),
    );

    std::fs::create_dir_all(theirs_dir.join("wal")).unwrap();
    let dump = |program: &Path| {
        let mut cmd = Command::new(program);
        cmd.args(["tsdb", "dump"]).arg(&theirs_dir);
        cmd
    };
    report(
        "tsdb dump (all samples, promtool's blocks)",
        median(|| time(dump(Path::new("promtool")))),
        median(|| time(dump(ours))),
    );
}

fn env_or(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn time(mut cmd: Command) -> Duration {
    let start = Instant::now();
    let status = cmd.stdout(Stdio::null()).stderr(Stdio::inherit()).status().unwrap();
    assert!(status.success(), "{cmd:?} failed");
    start.elapsed()
}

fn median(mut run: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..RUNS).map(|_| run()).collect();
    times.sort();
    times[RUNS / 2]
}

fn report(what: &str, promtool: Duration, ours: Duration) {
    println!(
        "{what:<45} promtool {:>8.3} s   thanos-tools {:>8.3} s   ratio {:.2}",
        promtool.as_secs_f64(),
        ours.as_secs_f64(),
        ours.as_secs_f64() / promtool.as_secs_f64()
    );
}
