//! TSDB blocks written by promtool 2.42 from the shared deterministic OpenMetrics generator.

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// What to generate: `series` series (half counters `demo_requests_total`, half gauges
/// `demo_temperature`) over `days` days at `step_s` seconds, ending at `end` (unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Generated {
    /// Number of series.
    pub series: usize,
    /// Days of history.
    pub days: f64,
    /// Seconds between samples.
    pub step_s: u64,
    /// Last timestamp (unix seconds); the generator's default is 2024-01-04T00:00:00Z.
    pub end: u64,
}

impl Default for Generated {
    fn default() -> Self {
        Self { series: 40, days: 0.5, step_s: 30, end: 1_704_326_400 }
    }
}

/// Writes the OpenMetrics file for `spec` to `out`.
pub fn openmetrics(spec: Generated, out: &Path) {
    let generator = crate::shared_dir().join("tools/gen_openmetrics.py");
    let status = std::process::Command::new("python3")
        .arg(&generator)
        .arg(out)
        .args(["--series", &spec.series.to_string(), "--days", &spec.days.to_string()])
        .args(["--step", &spec.step_s.to_string(), "--end", &spec.end.to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("run python3 gen_openmetrics.py");
    assert!(status.success(), "{} failed", generator.display());
}

/// Runs `promtool tsdb create-blocks-from openmetrics` on `input` into `out` (plus `extra` flags,
/// e.g. `--max-block-duration=24h`) and returns the block directories, sorted by name.
pub fn promtool_blocks(input: &Path, out: &Path, extra: &[&str]) -> Vec<PathBuf> {
    let output = crate::tool("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .args(extra)
        .arg(input)
        .arg(out)
        .output()
        .expect("run promtool");
    assert!(output.status.success(), "promtool: {}", String::from_utf8_lossy(&output.stderr));
    block_dirs(out)
}

/// Generates `spec` and writes it as promtool blocks into `out`.
pub fn generate(spec: Generated, out: &Path, extra: &[&str]) -> Vec<PathBuf> {
    let scratch = tempfile::tempdir().expect("tempdir");
    let input = scratch.path().join("input.om");
    openmetrics(spec, &input);
    promtool_blocks(&input, out, extra)
}

/// Block directories (those with a `meta.json`) in `dir`, sorted.
pub fn block_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.expect("dir entry").path()).collect())
        .unwrap_or_default();
    dirs.retain(|p| p.join("meta.json").is_file());
    dirs.sort();
    dirs
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Generated blocks kept for a whole test binary, with their metas oldest first.
pub struct Fixture {
    _dir: tempfile::TempDir,
    /// The directory holding the block directories.
    pub blocks: PathBuf,
    /// Their metas, oldest first.
    pub metas: Vec<tsdb_format::meta::BlockMeta>,
}

impl Fixture {
    /// Generates `spec` as promtool blocks (at least three, so ranges span several blocks).
    pub fn generate(spec: Generated) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocks = dir.path().join("blocks");
        let mut metas: Vec<tsdb_format::meta::BlockMeta> = generate(spec, &blocks, &[])
            .iter()
            .map(|d| tsdb_format::meta::BlockMeta::read_from_dir(d).expect("promtool meta.json"))
            .collect();
        metas.sort_by_key(|m| m.min_time);
        assert!(metas.len() >= 3, "want several blocks, got {}", metas.len());
        Self { _dir: dir, blocks, metas }
    }
}
