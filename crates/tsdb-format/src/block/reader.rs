//! [`BlockReader`]: a block directory opened for iterating its series and samples.

use std::path::{Path, PathBuf};

use super::{CHUNKS_DIRNAME, INDEX_FILENAME};
use crate::chunkenc::{Encoding, XorIterator};
use crate::chunks::{ChunkSegmentReader, segment_file_name};
use crate::index::{ChunkMeta, IndexReader, SeriesRef};
use crate::meta::BlockMeta;
use crate::tombstones::Tombstones;
use crate::{Error, Labels, Result};

/// An opened block: its metadata, index, chunks and tombstones.
#[derive(Debug)]
pub struct BlockReader {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkSegmentReader,
    tombstones: Tombstones,
}

/// One series of a block with the samples that fall in the requested time range.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSamples {
    /// The series' labels.
    pub labels: Labels,
    /// Its samples, in time order, deleted ones removed.
    pub samples: Vec<(i64, f64)>,
}

impl BlockReader {
    /// Opens the block in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let meta = BlockMeta::read_from_dir(dir)?;
        let index = IndexReader::open(dir.join(INDEX_FILENAME))?;
        let chunks = ChunkSegmentReader::open(dir.join(CHUNKS_DIRNAME))?;
        let tombstones = Tombstones::read_from_dir(dir)?;
        Ok(Self { dir: dir.to_path_buf(), meta, index, chunks, tombstones })
    }

    /// The block directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The block's `meta.json`.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block's index.
    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// The block's chunk segments.
    pub fn chunks(&self) -> &ChunkSegmentReader {
        &self.chunks
    }

    /// The block's deletions.
    pub fn tombstones(&self) -> &Tombstones {
        &self.tombstones
    }

    /// Every series reference, in label order.
    pub fn series_refs(&self) -> Result<Vec<SeriesRef>> {
        Ok(self.index.all_postings()?.into_vec())
    }

    /// Labels and chunk metas of one series.
    pub fn series(&self, series_ref: SeriesRef) -> Result<(Labels, Vec<ChunkMeta>)> {
        self.index.series(series_ref)
    }

    /// The samples of a series' chunks within `[min_time, max_time]` (inclusive), skipping chunks
    /// outside the range and samples deleted by tombstones.
    pub fn samples(
        &self,
        series_ref: SeriesRef,
        chunk_metas: &[ChunkMeta],
        min_time: i64,
        max_time: i64,
        out: &mut Vec<(i64, f64)>,
    ) -> Result<()> {
        let deleted = self.tombstones.get(series_ref.0);
        for meta in chunk_metas {
            if meta.max_time < min_time || meta.min_time > max_time {
                continue;
            }
            let (encoding, data) = self.chunks.chunk(meta.chunk_ref)?;
            if encoding != Encoding::Xor {
                // Histogram chunks hold no float samples; promtool's dump skips them too.
                continue;
            }
            let corrupt = |e| {
                let segment = self
                    .dir
                    .join(CHUNKS_DIRNAME)
                    .join(segment_file_name(u64::from(meta.chunk_ref.segment()) + 1));
                Error::corrupt(segment, u64::from(meta.chunk_ref.offset()), format!("XOR chunk: {e}"))
            };
            let mut it = XorIterator::new(data).map_err(corrupt)?;
            loop {
                let next = it.next_sample().map_err(corrupt)?;
                let Some((t, v)) = next else { break };
                if t < min_time || t > max_time || deleted.iter().any(|iv| iv.contains(t)) {
                    continue;
                }
                out.push((t, v));
            }
        }
        Ok(())
    }

    /// Iterates all series with their samples in `[min_time, max_time]`, in label order.
    pub fn iter_series(
        &self,
        min_time: i64,
        max_time: i64,
    ) -> Result<impl Iterator<Item = Result<SeriesSamples>> + '_> {
        let refs = self.series_refs()?;
        Ok(refs.into_iter().map(move |series_ref| {
            let (labels, metas) = self.series(series_ref)?;
            let mut samples = Vec::new();
            self.samples(series_ref, &metas, min_time, max_time, &mut samples)?;
            Ok(SeriesSamples { labels, samples })
        }))
    }
}
