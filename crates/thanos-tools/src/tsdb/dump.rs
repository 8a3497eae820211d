//! `tsdb dump`: every sample of the blocks in a TSDB directory, in `promtool tsdb dump`'s format
//! (`{labels} value timestamp`, values as Go's `%g`) and order (series by labels, samples by time,
//! series present in several blocks merged as Prometheus' chain merge does).

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tsdb_format::Labels;
use tsdb_format::block::BlockReader;
use tsdb_format::index::{ChunkMeta, SeriesRef};

use super::selector::{Matcher, matches_all, parse_metric_selector};
use crate::go_format::format_g;

/// Dumps the samples of `db_path` in `[min_time, max_time]` matching `selector` to stdout.
pub(crate) fn run(db_path: &Path, min_time: i64, max_time: i64, selector: &str) -> Result<()> {
    let matchers = parse_metric_selector(selector)?;
    let blocks = open_blocks(db_path)?;
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    dump(&blocks, min_time, max_time, &matchers, &mut out)?;
    out.flush().context("write to stdout")?;
    Ok(())
}

/// Opens every block directory (named by a ULID) in `db_path`, oldest first.
fn open_blocks(db_path: &Path) -> Result<Vec<BlockReader>> {
    let entries = std::fs::read_dir(db_path).with_context(|| format!("open {}", db_path.display()))?;
    let mut dirs: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("read {}", db_path.display()))?;
        let is_block = entry.file_name().to_str().is_some_and(|n| ulid::Ulid::from_string(n).is_ok());
        if is_block && entry.path().is_dir() {
            dirs.push(entry.path());
        }
    }
    let mut blocks =
        dirs.iter().map(|d| BlockReader::open(d).map_err(anyhow::Error::from)).collect::<Result<Vec<_>>>()?;
    blocks.sort_by_key(|b| b.meta().min_time);
    Ok(blocks)
}

/// Writes the dump of `blocks` to `out`.
fn dump(
    blocks: &[BlockReader],
    min_time: i64,
    max_time: i64,
    matchers: &[Matcher],
    out: &mut impl Write,
) -> Result<()> {
    // Each series' parts in every block it appears in, in label order across blocks.
    let mut series: BTreeMap<Labels, Vec<(usize, SeriesRef, Vec<ChunkMeta>)>> = BTreeMap::new();
    for (i, block) in blocks.iter().enumerate() {
        let meta = block.meta();
        if !(meta.min_time <= max_time && min_time < meta.max_time) {
            continue;
        }
        for series_ref in block.series_refs()? {
            let (labels, chunks) = block.series(series_ref)?;
            if !matches_all(&labels, matchers) {
                continue;
            }
            let chunks: Vec<ChunkMeta> =
                chunks.into_iter().filter(|c| c.max_time >= min_time && c.min_time <= max_time).collect();
            if chunks.is_empty() {
                continue;
            }
            series.entry(labels).or_default().push((i, series_ref, chunks));
        }
    }

    let mut samples = Vec::new();
    for (labels, parts) in series {
        samples.clear();
        for (i, series_ref, chunks) in &parts {
            blocks[*i].samples(*series_ref, chunks, min_time, max_time, &mut samples)?;
        }
        if parts.len() > 1 {
            // Chain merge: time order, one sample per timestamp.
            samples.sort_by_key(|&(t, _)| t);
            samples.dedup_by_key(|&mut (t, _)| t);
        }
        let name = labels.to_string();
        for &(t, v) in &samples {
            writeln!(out, "{name} {} {t}", format_g(v))?;
        }
    }
    Ok(())
}
