//! `tsdb create-blocks-from openmetrics`: backfill blocks from an OpenMetrics file, cutting blocks
//! and chunks where promtool 2.42 cuts them.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use tsdb_format::block::{BlockWriter, DEFAULT_BLOCK_DURATION};
use tsdb_format::meta::BlockMeta;

use super::openmetrics;
use crate::go_format::duration_ms;

/// Reads `input` and writes one block per block-duration window into `output`.
pub(crate) fn run(input: &Path, output: &Path, max_block_duration: i64, quiet: bool) -> Result<()> {
    let text = std::fs::read_to_string(input).with_context(|| format!("read {}", input.display()))?;
    let samples = openmetrics::parse(&text).context("parse")?;
    std::fs::create_dir_all(output).with_context(|| format!("create output dir {}", output.display()))?;
    let (Some(min_t), Some(max_t)) = (samples.iter().map(|s| s.t).min(), samples.iter().map(|s| s.t).max())
    else {
        return Ok(());
    };

    let block_duration = compatible_block_duration(max_block_duration);
    let mut stdout = std::io::stdout().lock();
    let mut wrote_header = false;
    // Go's integer division truncates toward zero; so does Rust's.
    let mut window_start = block_duration * (min_t / block_duration);
    while window_start <= max_t {
        let window_end = window_start.saturating_add(block_duration);
        // As promtool: pretend the head is twice the block so samples anywhere in it are accepted.
        let mut writer = BlockWriter::new(2 * block_duration);
        for s in samples.iter().filter(|s| s.t >= window_start && s.t < window_end) {
            writer.append(&s.labels, s.t, s.v);
        }
        let written = writer.write(output).context("flush")?;
        if let Some(meta) = written
            && !quiet
        {
            print_block(&mut stdout, &meta, &output.join(meta.ulid.to_string()), !wrote_header)?;
            wrote_header = true;
        }
        window_start = window_end;
    }
    Ok(())
}

/// The largest Prometheus block range (2h, 6h, 18h, … ×3) not above `max`, at least 2h.
fn compatible_block_duration(max: i64) -> i64 {
    let mut duration = DEFAULT_BLOCK_DURATION;
    if max <= DEFAULT_BLOCK_DURATION {
        return duration;
    }
    for _ in 1..10 {
        let next = duration * 3;
        if next > max {
            break;
        }
        duration = next;
    }
    duration
}

fn print_block(out: &mut impl Write, meta: &BlockMeta, dir: &Path, header: bool) -> Result<()> {
    let size = dir_size(dir)?;
    let cells = [
        meta.ulid.to_string(),
        meta.min_time.to_string(),
        meta.max_time.to_string(),
        duration_ms(meta.max_time - meta.min_time),
        meta.stats.num_samples.to_string(),
        meta.stats.num_chunks.to_string(),
        meta.stats.num_series.to_string(),
        size.to_string(),
    ];
    if header {
        let titles = [
            "BLOCK ULID",
            "MIN TIME",
            "MAX TIME",
            "DURATION",
            "NUM SAMPLES",
            "NUM CHUNKS",
            "NUM SERIES",
            "SIZE",
        ];
        writeln!(out, "{}", tab_row(&titles.map(String::from)))?;
    }
    writeln!(out, "{}", tab_row(&cells))?;
    Ok(())
}

/// A row as Go's tabwriter (min width 13, padding 2) lays it out.
fn tab_row(cells: &[String]) -> String {
    let last = cells.len() - 1;
    cells
        .iter()
        .enumerate()
        .map(
            |(i, c)| {
                if i == last { c.clone() } else { format!("{c:<width$}", width = (c.len() + 2).max(13)) }
            },
        )
        .collect()
}

fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { dir_size(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::compatible_block_duration;

    #[test]
    fn block_durations_follow_prometheus_ranges() {
        let h = 3_600_000;
        assert_eq!(compatible_block_duration(0), 2 * h);
        assert_eq!(compatible_block_duration(5 * h), 2 * h);
        assert_eq!(compatible_block_duration(24 * h), 18 * h);
        assert_eq!(compatible_block_duration(1000 * 24 * h), 2 * h * 3i64.pow(8));
        assert_eq!(compatible_block_duration(i64::MAX), 2 * h * 3i64.pow(9));
    }
}
