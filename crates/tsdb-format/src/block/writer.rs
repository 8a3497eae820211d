//! [`BlockWriter`]: samples in any order in, a Prometheus block directory out.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use ulid::Ulid;

use super::head_chunks::{HeadChunk, HeadChunker};
use super::{CHUNKS_DIRNAME, INDEX_FILENAME};
use crate::chunkenc::Encoding;
use crate::chunks::ChunkSegmentWriter;
use crate::index::{ChunkMeta, IndexWriter};
use crate::meta::{BlockMeta, BlockStats};
use crate::tombstones::Tombstones;
use crate::{Error, Labels, Result};

/// Collects samples of any number of series, in any series order, and writes them as one block.
///
/// Within a series, samples must come in time order; a sample at or before the series' previous one
/// is dropped, as Prometheus' head drops it. Chunks are cut where Prometheus' head would cut them
/// for the same chunk range, so the chunk bytes equal what Prometheus writes.
#[derive(Debug)]
pub struct BlockWriter {
    chunk_range: i64,
    by_labels: HashMap<Labels, usize>,
    series: Vec<(Labels, HeadChunker)>,
    min_time: i64,
    max_time: i64,
    dropped: u64,
}

impl BlockWriter {
    /// A writer whose head chunk range is `chunk_range` ms (promtool uses twice the block duration).
    pub fn new(chunk_range: i64) -> Self {
        Self {
            chunk_range,
            by_labels: HashMap::new(),
            series: Vec::new(),
            min_time: i64::MAX,
            max_time: i64::MIN,
            dropped: 0,
        }
    }

    /// Appends one sample; returns whether it was kept.
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> bool {
        let idx = match self.by_labels.get(labels) {
            Some(&idx) => idx,
            None => {
                self.series.push((labels.clone(), HeadChunker::new(self.chunk_range)));
                self.by_labels.insert(labels.clone(), self.series.len() - 1);
                self.series.len() - 1
            }
        };
        let kept = self.series[idx].1.append(t, v);
        if kept {
            self.min_time = self.min_time.min(t);
            self.max_time = self.max_time.max(t);
        } else {
            self.dropped += 1;
        }
        kept
    }

    /// Samples dropped as out of order or duplicate.
    pub fn dropped_samples(&self) -> u64 {
        self.dropped
    }

    /// Whether no sample was kept.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Writes the block into `parent/<ULID>/` and returns its metadata. The block is built in a
    /// temporary directory and renamed into place, so a crash never leaves a half-written block.
    /// Returns `None` when there are no samples (Prometheus' `ErrNoSeriesAppended`).
    pub fn write(self, parent: &Path) -> Result<Option<BlockMeta>> {
        self.write_with_ulid(parent, Ulid::generate())
    }

    /// As [`BlockWriter::write`], with a chosen ULID.
    pub fn write_with_ulid(self, parent: &Path, ulid: Ulid) -> Result<Option<BlockMeta>> {
        if self.series.is_empty() {
            return Ok(None);
        }
        let (min_time, max_time) = (self.min_time, self.max_time + 1);
        let mut series: Vec<(Labels, Vec<HeadChunk>)> =
            self.series.into_iter().map(|(labels, chunker)| (labels, chunker.finish())).collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));

        let final_dir = parent.join(ulid.to_string());
        let tmp_dir = parent.join(format!("{ulid}.tmp-for-creation"));
        let _ = std::fs::remove_dir_all(&tmp_dir);
        let result = write_dir(&tmp_dir, ulid, min_time, max_time, &series);
        let meta = match result {
            Ok(meta) => meta,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp_dir);
                return Err(e);
            }
        };
        std::fs::rename(&tmp_dir, &final_dir).map_err(|e| Error::io(&final_dir, e))?;
        sync_dir(parent)?;
        Ok(Some(meta))
    }
}

fn write_dir(
    dir: &Path,
    ulid: Ulid,
    min_time: i64,
    max_time: i64,
    series: &[(Labels, Vec<HeadChunk>)],
) -> Result<BlockMeta> {
    let chunks_dir: PathBuf = dir.join(CHUNKS_DIRNAME);
    std::fs::create_dir_all(&chunks_dir).map_err(|e| Error::io(&chunks_dir, e))?;

    let mut stats = BlockStats { num_series: series.len() as u64, ..BlockStats::default() };
    let mut chunk_writer = ChunkSegmentWriter::new(&chunks_dir)?;
    let mut metas: Vec<Vec<ChunkMeta>> = Vec::with_capacity(series.len());
    for (_, chunks) in series {
        // One call per series: Prometheus decides segment cuts per series' chunk batch.
        let encoded: Vec<(Encoding, &[u8])> =
            chunks.iter().map(|c| (Encoding::Xor, c.data.as_slice())).collect();
        let refs = chunk_writer.write_chunks(&encoded)?;
        let series_metas = chunks
            .iter()
            .zip(refs)
            .map(|(c, chunk_ref)| ChunkMeta::new(c.min_time, c.max_time, chunk_ref))
            .collect();
        stats.num_samples += chunks.iter().map(|c| u64::from(c.num_samples)).sum::<u64>();
        stats.num_chunks += chunks.len() as u64;
        metas.push(series_metas);
    }
    chunk_writer.close()?;

    // Prometheus' head lists the empty string among its symbols (from the all-postings key), so
    // every block it writes has it; include it for identical indexes.
    let symbols: BTreeSet<&str> = std::iter::once("")
        .chain(
            series
                .iter()
                .flat_map(|(labels, _)| labels.iter())
                .flat_map(|l| [l.name.as_str(), l.value.as_str()]),
        )
        .collect();
    let mut index = IndexWriter::create(dir.join(INDEX_FILENAME))?;
    index.add_symbols(symbols)?;
    for ((labels, _), chunk_metas) in series.iter().zip(&metas) {
        index.add_series(labels, chunk_metas)?;
    }
    index.finish()?;

    Tombstones::new().write_to_dir(dir)?;
    let meta = BlockMeta::new_level1(ulid, min_time, max_time, stats);
    meta.write_to_dir(dir)?;
    sync_dir(dir)?;
    Ok(meta)
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| Error::io(dir, e))
}
