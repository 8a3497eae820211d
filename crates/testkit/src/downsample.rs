//! Downsampled blocks in tests: the raw samples behind them, their aggregate chunks as bytes, and
//! a filesystem bucket they are uploaded to with the real `thanos-tools bucket upload`.
//!
//! Everything comes back as plain data (label pairs, `(ms, value)` samples, XOR bytes), so tests
//! compare it with whatever they read from our binaries.

use std::path::{Path, PathBuf};

use tsdb_format::block::BlockReader;
use tsdb_format::chunkenc::{AGGR_ENCODING, AggrChunk, AggrType, XorIterator};

/// A series' labels as `(name, value)` pairs, sorted by name.
pub type SeriesLabels = Vec<(String, String)>;

/// Samples as `(timestamp ms, value)`.
pub type Samples = Vec<(i64, f64)>;

/// One chunk of a downsampled series.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateChunk {
    /// The chunk's minimum time from the index.
    pub min_time: i64,
    /// The chunk's maximum time from the index.
    pub max_time: i64,
    /// The XOR sub-chunk of each aggregate, in `AggrType::ALL` order (count, sum, min, max,
    /// counter); `None` where the chunk lacks it.
    pub parts: [Option<Vec<u8>>; 5],
}

fn pairs(labels: &tsdb_format::Labels) -> SeriesLabels {
    labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect()
}

/// Every series of the block at `dir` with all its raw samples (NaN included), in index order.
pub fn raw_series(dir: &Path) -> Vec<(SeriesLabels, Samples)> {
    let block = BlockReader::open(dir).unwrap();
    block
        .iter_series(i64::MIN, i64::MAX)
        .unwrap()
        .map(|series| {
            let series = series.unwrap();
            (pairs(&series.labels), series.samples)
        })
        .collect()
}

/// Every series of the downsampled block at `dir` with its chunks; panics on a chunk that is not
/// an aggregate chunk.
pub fn aggregate_chunks(dir: &Path) -> Vec<(SeriesLabels, Vec<AggregateChunk>)> {
    let block = BlockReader::open(dir).unwrap();
    let mut out = Vec::new();
    for series_ref in block.series_refs().unwrap() {
        let (labels, metas) = block.series(series_ref).unwrap();
        let chunks = metas
            .iter()
            .map(|meta| {
                let (encoding, data) = block.chunks().chunk(meta.chunk_ref).unwrap();
                assert_eq!(encoding, AGGR_ENCODING, "{}: {labels} is not downsampled", dir.display());
                let chunk = AggrChunk::new(data).unwrap();
                AggregateChunk {
                    min_time: meta.min_time,
                    max_time: meta.max_time,
                    parts: AggrType::ALL.map(|a| chunk.get(a).map(|(_, bytes)| bytes.to_vec())),
                }
            })
            .collect();
        out.push((pairs(&labels), chunks));
    }
    out
}

/// The samples of an XOR chunk (or aggregate sub-chunk).
pub fn xor_samples(bytes: &[u8]) -> Samples {
    let mut iterator = XorIterator::new(bytes).unwrap();
    let mut out = Vec::new();
    while let Some(sample) = iterator.next_sample().unwrap() {
        out.push(sample);
    }
    out
}

/// Equal, or within a relative 1e-9: sums of floats in another order.
pub fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// A filesystem bucket for our binaries: its directory and its objstore config (YAML), also
/// written to a file for `--objstore.config-file`.
#[derive(Debug, Clone)]
pub struct FilesystemBucket {
    /// Where the bucket's objects live.
    pub root: PathBuf,
    /// The objstore config file.
    pub config_file: PathBuf,
    /// The objstore config's YAML.
    pub yaml: String,
}

impl FilesystemBucket {
    /// A bucket in `dir/bucket`, its config in `dir/bucket.yml`.
    pub fn create(dir: &Path) -> Self {
        let root = dir.join("bucket");
        let yaml = format!("type: FILESYSTEM\nconfig:\n  directory: {}\n", root.display());
        let config_file = dir.join("bucket.yml");
        std::fs::write(&config_file, &yaml).unwrap();
        Self { root, config_file, yaml }
    }

    /// Uploads each block directory with `thanos-tools bucket upload`, adding the external
    /// `labels` (`name`, `value`); needs `cargo build --bin thanos-tools`.
    pub fn upload(&self, blocks: &[&Path], labels: &[(&str, &str)]) {
        let tools = crate::workspace_bin("thanos-tools");
        for block in blocks {
            let output = std::process::Command::new(&tools)
                .args(["bucket", "upload"])
                .arg(block)
                .arg(format!("--objstore.config-file={}", self.config_file.display()))
                .args(
                    labels
                        .iter()
                        .flat_map(|(name, value)| ["--label".to_string(), format!("{name}={value:?}")]),
                )
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "thanos-tools bucket upload {}: {}",
                block.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}
