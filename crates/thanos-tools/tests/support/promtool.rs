//! Real Prometheus 2.42 blocks, made by `promtool tsdb create-blocks-from openmetrics` from the
//! shared generator's output.

use std::path::{Path, PathBuf};
use std::process::Command;

use tsdb_format::meta::BlockMeta;

/// The shared OpenMetrics generator (`shared/tools/gen_openmetrics.py`, beside the repository).
fn generator() -> PathBuf {
    let beside_repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/gen_openmetrics.py");
    if beside_repo.is_file() {
        return beside_repo;
    }
    let fallback = PathBuf::from("/work/shared/tools/gen_openmetrics.py");
    assert!(
        fallback.is_file(),
        "gen_openmetrics.py not found at {} or {}",
        beside_repo.display(),
        fallback.display()
    );
    fallback
}

/// Writes `series` series over `days` days into `out_dir` (a TSDB directory of 2h blocks) and
/// returns the blocks' metas, oldest first.
pub(crate) fn create_blocks(work_dir: &Path, out_dir: &Path, series: u32, days: f64) -> Vec<BlockMeta> {
    let input = work_dir.join("input.om");
    let status = Command::new("python3")
        .arg(generator())
        .arg(&input)
        .args(["--series", &series.to_string(), "--days", &days.to_string()])
        .status()
        .expect("run python3 gen_openmetrics.py");
    assert!(status.success(), "gen_openmetrics.py failed: {status}");
    let output = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(&input)
        .arg(out_dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool not runnable ({e}); install Debian's `prometheus` package (apt-get install prometheus)")
        });
    assert!(output.status.success(), "promtool failed: {}", String::from_utf8_lossy(&output.stderr));
    let mut metas: Vec<BlockMeta> = std::fs::read_dir(out_dir)
        .expect("read promtool output")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.join("meta.json").is_file())
        .map(|path| BlockMeta::read_from_dir(&path).expect("promtool meta.json"))
        .collect();
    metas.sort_by_key(|m| m.min_time);
    assert!(!metas.is_empty(), "promtool made no blocks");
    metas
}
