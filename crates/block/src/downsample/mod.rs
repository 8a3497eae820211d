//! Thanos' downsampling (T:pkg/compact/downsample): a raw block becomes a 5m block, a 5m block a
//! 1h block, each series' samples replaced by aggregate chunks (`0xFF`, see
//! [`tsdb_format::chunkenc::aggr`]) holding count, sum, min, max and counter per window.
//!
//! ```text
//! raw samples ──► windows of `res` (timestamp = window end − 1, capped at the batch's last sample)
//!             ──► per window: count, sum, min, max, counter (running total, resets applied)
//!             ──► ~140 windows per chunk; counter chunk = first raw sample · windows · last raw value
//! ```
//!
//! [`downsample_block`] reads a block directory and writes the downsampled block beside it; the
//! compactor decides when (raw blocks spanning [`DOWNSAMPLE_RANGE_5M`], 5m blocks spanning
//! [`DOWNSAMPLE_RANGE_1H`]) and uploads the result.

mod aggregate;
mod counter;
mod raw;
mod rollup;
mod writer;

use std::path::Path;

use tsdb_format::BlockMeta;
use tsdb_format::block::BlockReader;
use tsdb_format::chunkenc::{AGGR_ENCODING, AggrChunk};
use tsdb_format::index::ChunkMeta;
use tsdb_format::meta::RESOLUTION_RAW;
use ulid::Ulid;

pub use aggregate::DownsampledChunk;
pub use counter::{CounterResets, apply_counter_resets};
pub use raw::downsample_raw;
pub use rollup::downsample_aggr;

use self::writer::DownsampledBlockWriter;

/// A raw block is downsampled to 5m once it spans this long (40h, in ms).
pub const DOWNSAMPLE_RANGE_5M: i64 = 40 * 3600 * 1000;
/// A 5m block is downsampled to 1h once it spans this long (10 days, in ms).
pub const DOWNSAMPLE_RANGE_1H: i64 = 10 * 24 * 3600 * 1000;

/// Why a block could not be downsampled.
#[derive(Debug, thiserror::Error)]
pub enum DownsampleError {
    /// The target resolution is not coarser than the block's.
    #[error("target resolution {target} not lower than existing one {current}")]
    ResolutionNotLower {
        /// The block's resolution.
        current: i64,
        /// The requested one.
        target: i64,
    },
    /// Reading the source block or writing the new one failed.
    #[error("{0}")]
    Format(#[from] tsdb_format::Error),
    /// A series' chunks overlap or are out of order.
    #[error("found overlapping chunks within series {series}: {detail}")]
    OverlappingChunks {
        /// The series' labels.
        series: String,
        /// The offending chunk ranges.
        detail: String,
    },
    /// A chunk has an encoding downsampling cannot read (e.g. native histograms).
    #[error("unsupported chunk encoding {0}")]
    UnsupportedEncoding(String),
    /// A chunk's bytes could not be decoded.
    #[error("corrupt chunk: {0}")]
    CorruptChunk(String),
    /// A series of a downsampled block holds raw samples where aggregates belong (Thanos
    /// refuses these too).
    #[error("expected downsampled chunks, got a non-empty XOR chunk for series {0}")]
    NotAggregated(String),
}

/// Downsamples the block in `block_dir` to `resolution` (ms; 5m or 1h, see [`resolution`]) and writes the new block into `out_parent/<new ULID>/`.
///
/// The new block keeps the source's time range, labels and compaction history; its
/// `thanos.downsample.resolution` is `resolution` and its source `compactor`. Series without
/// samples are left out. The block appears under its final name only once complete.
pub fn downsample_block(
    block_dir: &Path,
    out_parent: &Path,
    resolution: i64,
) -> Result<BlockMeta, DownsampleError> {
    downsample_block_with_ulid(block_dir, out_parent, resolution, Ulid::generate())
}

/// As [`downsample_block`], with a chosen ULID.
pub fn downsample_block_with_ulid(
    block_dir: &Path,
    out_parent: &Path,
    resolution: i64,
    ulid: Ulid,
) -> Result<BlockMeta, DownsampleError> {
    let block = BlockReader::open(block_dir)?;
    let current = block.meta().thanos.as_ref().map_or(RESOLUTION_RAW, |t| t.downsample.resolution);
    if current >= resolution {
        return Err(DownsampleError::ResolutionNotLower { current, target: resolution });
    }
    let mut writer = DownsampledBlockWriter::create(out_parent, ulid, block.index())?;
    let result = write_series(&block, current, resolution, &mut writer);
    match result {
        Ok(()) => writer.finish(block.meta(), resolution),
        Err(error) => {
            writer.abort();
            Err(error)
        }
    }
}

fn write_series(
    block: &BlockReader,
    current: i64,
    resolution: i64,
    writer: &mut DownsampledBlockWriter,
) -> Result<(), DownsampleError> {
    let mut samples: Vec<(i64, f64)> = Vec::new();
    for series_ref in block.series_refs()? {
        let (labels, metas) = block.series(series_ref)?;
        check_ordered(&labels, &metas)?;
        let chunks = if current == RESOLUTION_RAW {
            samples.clear();
            for meta in &metas {
                let (encoding, data) = block.chunks().chunk(meta.chunk_ref)?;
                rollup::expand_xor(encoding, data, &mut samples)?;
            }
            downsample_raw(&samples, resolution)
        } else {
            downsample_series(block, &labels, &metas, current, resolution)?
        };
        writer.add_series(&labels, &chunks)?;
    }
    Ok(())
}

/// Rolls up one series of an already downsampled block.
fn downsample_series(
    block: &BlockReader,
    labels: &tsdb_format::Labels,
    metas: &[ChunkMeta],
    current: i64,
    resolution: i64,
) -> Result<Vec<DownsampledChunk>, DownsampleError> {
    let mut parsed: Vec<AggrChunk<'_>> = Vec::with_capacity(metas.len());
    for meta in metas {
        let (encoding, data) = block.chunks().chunk(meta.chunk_ref)?;
        if encoding == AGGR_ENCODING {
            let chunk = AggrChunk::new(data)
                .map_err(|e| DownsampleError::CorruptChunk(format!("aggregate chunk: {e}")))?;
            parsed.push(chunk);
            continue;
        }
        let mut raw = Vec::new();
        rollup::expand_xor(encoding, data, &mut raw)?;
        if !raw.is_empty() {
            return Err(DownsampleError::NotAggregated(labels.to_string()));
        }
        // Thanos once wrote empty XOR chunks into downsampled blocks (thanos#5272); skip them.
        tracing::warn!(series = %labels, "expected downsampled chunk, got an empty XOR chunk; skipping it");
    }
    let (Some(first), Some(last)) = (metas.first(), metas.last()) else {
        return Ok(Vec::new());
    };
    downsample_aggr(&parsed, first.min_time, last.max_time, current, resolution)
}

/// Thanos refuses to downsample series whose chunks overlap or are out of order.
fn check_ordered(labels: &tsdb_format::Labels, metas: &[ChunkMeta]) -> Result<(), DownsampleError> {
    if metas.windows(2).all(|w| w[0].max_time < w[1].min_time) {
        return Ok(());
    }
    let detail =
        metas.iter().map(|m| format!("[{}, {}]", m.min_time, m.max_time)).collect::<Vec<_>>().join(" ");
    Err(DownsampleError::OverlappingChunks { series: labels.to_string(), detail })
}

#[cfg(test)]
mod tests;

/// Resolutions, re-exported for callers choosing a target.
pub mod resolution {
    pub use tsdb_format::meta::RESOLUTION_RAW;
}
