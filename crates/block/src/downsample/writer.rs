//! Writes a downsampled block series by series (Thanos' `streamedBlockWriter`): chunks go
//! straight to the segment files, the index takes the source block's symbols, and `meta.json`
//! is the source's with the new resolution, counts and ULID.

use std::path::{Path, PathBuf};

use tsdb_format::BlockMeta;
use tsdb_format::block::{CHUNKS_DIRNAME, INDEX_FILENAME};
use tsdb_format::chunkenc::AGGR_ENCODING;
use tsdb_format::chunks::ChunkSegmentWriter;
use tsdb_format::index::{ChunkMeta, IndexReader, IndexWriter};
use tsdb_format::meta::{META_VERSION, ThanosMeta};
use tsdb_format::{Error, Labels};
use ulid::Ulid;

use super::{DownsampleError, DownsampledChunk};

/// A block being written under a temporary name; renamed into place by [`Self::finish`].
pub(crate) struct DownsampledBlockWriter {
    parent: PathBuf,
    tmp_dir: PathBuf,
    ulid: Ulid,
    chunks: Option<ChunkSegmentWriter>,
    index: Option<IndexWriter>,
    num_series: u64,
    num_chunks: u64,
    num_samples: u64,
}

impl DownsampledBlockWriter {
    /// Starts `parent/<ulid>` with every symbol of the source index (as Thanos copies them).
    pub(crate) fn create(
        parent: &Path,
        ulid: Ulid,
        source_index: &IndexReader,
    ) -> Result<Self, DownsampleError> {
        let tmp_dir = parent.join(format!("{ulid}.tmp-for-downsampling"));
        let _ = std::fs::remove_dir_all(&tmp_dir);
        std::fs::create_dir_all(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
        let mut writer = Self {
            parent: parent.to_path_buf(),
            tmp_dir: tmp_dir.clone(),
            ulid,
            chunks: None,
            index: None,
            num_series: 0,
            num_chunks: 0,
            num_samples: 0,
        };
        let started = (|| -> Result<(), DownsampleError> {
            writer.chunks = Some(ChunkSegmentWriter::new(tmp_dir.join(CHUNKS_DIRNAME))?);
            let mut index = IndexWriter::create(tmp_dir.join(INDEX_FILENAME))?;
            let symbols = source_index.symbols().collect::<Result<Vec<&str>, _>>()?;
            index.add_symbols(symbols)?;
            writer.index = Some(index);
            Ok(())
        })();
        match started {
            Ok(()) => Ok(writer),
            Err(error) => {
                writer.abort();
                Err(error)
            }
        }
    }

    /// Writes one series (series must come in label order); a series without chunks is skipped.
    pub(crate) fn add_series(
        &mut self,
        labels: &Labels,
        chunks: &[DownsampledChunk],
    ) -> Result<(), DownsampleError> {
        if chunks.is_empty() {
            tracing::warn!(series = %labels, "empty chunks happened, skip series");
            return Ok(());
        }
        let (Some(chunk_writer), Some(index)) = (self.chunks.as_mut(), self.index.as_mut()) else {
            return Err(Error::InvalidInput("downsampled block writer already closed".into()).into());
        };
        let encoded: Vec<_> = chunks.iter().map(|c| (AGGR_ENCODING, c.data.as_slice())).collect();
        let refs = chunk_writer.write_chunks(&encoded)?;
        let metas: Vec<ChunkMeta> =
            chunks.iter().zip(refs).map(|(c, r)| ChunkMeta::new(c.min_time, c.max_time, r)).collect();
        index.add_series(labels, &metas)?;
        self.num_series += 1;
        self.num_chunks += chunks.len() as u64;
        self.num_samples += chunks.iter().map(|c| c.num_samples as u64).sum::<u64>();
        Ok(())
    }

    /// Closes the files, writes `meta.json` derived from `source` and moves the block into place.
    pub(crate) fn finish(
        mut self,
        source: &BlockMeta,
        resolution: i64,
    ) -> Result<BlockMeta, DownsampleError> {
        let result = self.seal(source, resolution);
        if result.is_err() {
            self.abort();
        }
        result
    }

    fn seal(&mut self, source: &BlockMeta, resolution: i64) -> Result<BlockMeta, DownsampleError> {
        if let Some(chunks) = self.chunks.take() {
            chunks.close()?;
        }
        if let Some(index) = self.index.take() {
            index.finish()?;
        }
        let mut meta = source.clone();
        meta.ulid = self.ulid;
        meta.version = META_VERSION;
        meta.stats.num_series = self.num_series;
        meta.stats.num_chunks = self.num_chunks;
        meta.stats.num_samples = self.num_samples;
        let mut thanos = meta.thanos.take().unwrap_or_default();
        thanos.version = ThanosMeta::default().version;
        thanos.downsample.resolution = resolution;
        thanos.source = crate::source::COMPACTOR.to_string();
        thanos.segment_files = segment_files(&self.tmp_dir.join(CHUNKS_DIRNAME))?;
        // The source's file list describes other files; the upload lists this block's own.
        thanos.files.clear();
        meta.thanos = Some(thanos);
        meta.write_to_dir(&self.tmp_dir)?;
        let final_dir = self.parent.join(self.ulid.to_string());
        std::fs::rename(&self.tmp_dir, &final_dir).map_err(|e| Error::io(&final_dir, e))?;
        std::fs::File::open(&self.parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(&self.parent, e))?;
        Ok(meta)
    }

    /// Removes the partial block.
    pub(crate) fn abort(&mut self) {
        self.chunks = None;
        self.index = None;
        let _ = std::fs::remove_dir_all(&self.tmp_dir);
    }
}

/// The chunk segment file names, sorted (`thanos.segment_files`).
fn segment_files(chunks_dir: &Path) -> Result<Vec<String>, DownsampleError> {
    let entries = std::fs::read_dir(chunks_dir).map_err(|e| Error::io(chunks_dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(chunks_dir, e))?;
        names.extend(entry.file_name().to_str().map(str::to_owned));
    }
    names.sort();
    Ok(names)
}
