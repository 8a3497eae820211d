//! One block in the bucket as the store gateway holds it: its meta, its local index-header, and
//! ranged reads of postings lists, series entries and chunks, coalesced and cached.
//!
//! ```text
//! <data-dir>/<ULID>/index-header    built once from ranged reads of <ULID>/index, reused at restart
//! bucket <ULID>/index               postings lists and series entries: ranged GETs only
//! bucket <ULID>/chunks/000001…      chunk records: ranged GETs only
//! ```

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use objstore::Bucket;
use tokio::io::AsyncWriteExt;
use tokio::sync::OnceCell;
use tsdb_format::Labels;
use tsdb_format::chunkenc::Encoding;
use tsdb_format::chunks::ChunkRef;
use tsdb_format::encoding::{Decbuf, crc32c};
use tsdb_format::index::{FORMAT_V1, Postings, SeriesRef};
use tsdb_format::index_header::{
    INDEX_HEADER_FILENAME, IndexHeaderReader, IndexLayout, decode_postings_range, head_ranges,
};
use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

use super::cache::IndexCache;
use super::ranges::fetch_ranges;
use super::series_entry::{EntryError, entry_body};

/// Bytes read per series entry when its length is unknown (Thanos' `EstimatedMaxSeriesSize`).
const ESTIMATED_MAX_SERIES_SIZE: u64 = 64 * 1024;
/// Bytes read per chunk record when its length is unknown (Thanos' `EstimatedMaxChunkSize`).
const ESTIMATED_MAX_CHUNK_SIZE: u64 = 16_000;
/// Index-header pieces are copied in GETs of at most this size.
const HEADER_COPY_CHUNK: u64 = 16 << 20;

/// A chunk read from a segment file: its encoding byte and data.
#[derive(Debug, Clone)]
pub(crate) struct RawChunk {
    pub(crate) encoding: Encoding,
    pub(crate) data: Bytes,
}

/// What is fetched from the bucket for one query on one block, for the `series_data_*` metrics.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FetchStats {
    pub(crate) postings_touched: u64,
    pub(crate) postings_fetched: u64,
    pub(crate) postings_fetched_bytes: u64,
    pub(crate) series_touched: u64,
    pub(crate) series_fetched: u64,
    pub(crate) series_fetched_bytes: u64,
    pub(crate) chunks_touched: u64,
    pub(crate) chunks_fetched: u64,
    pub(crate) chunks_fetched_bytes: u64,
}

impl FetchStats {
    /// Adds another block's stats.
    pub(crate) fn add(&mut self, other: &FetchStats) {
        self.postings_touched += other.postings_touched;
        self.postings_fetched += other.postings_fetched;
        self.postings_fetched_bytes += other.postings_fetched_bytes;
        self.series_touched += other.series_touched;
        self.series_fetched += other.series_fetched;
        self.series_fetched_bytes += other.series_fetched_bytes;
        self.chunks_touched += other.chunks_touched;
        self.chunks_fetched += other.chunks_fetched;
        self.chunks_fetched_bytes += other.chunks_fetched_bytes;
    }
}

/// A loaded block.
pub(crate) struct BucketBlock {
    pub(crate) meta: BlockMeta,
    /// External labels (`thanos.labels`), sorted.
    pub(crate) ext_labels: Labels,
    bucket: Arc<dyn Bucket>,
    cache: IndexCache,
    header_path: PathBuf,
    sampling: usize,
    header: OnceCell<Arc<IndexHeaderReader>>,
}

impl std::fmt::Debug for BucketBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketBlock")
            .field("id", &self.meta.ulid)
            .field("ext_labels", &self.ext_labels)
            .finish()
    }
}

impl BucketBlock {
    /// Makes sure `<data_dir>/<ULID>/index-header` exists and opens (validates) it, rebuilding it
    /// once if it is damaged. With `lazy`, the reader is opened again only when first queried.
    pub(crate) async fn load(
        bucket: Arc<dyn Bucket>,
        meta: BlockMeta,
        data_dir: &Path,
        cache: IndexCache,
        sampling: usize,
        lazy: bool,
    ) -> anyhow::Result<Self> {
        let id = meta.ulid;
        let dir = data_dir.join(id.to_string());
        let header_path = dir.join(INDEX_HEADER_FILENAME);
        let reader = match open_header(&header_path, sampling).await {
            Ok(reader) => reader,
            Err(error) => {
                if header_path.exists() {
                    tracing::warn!(block = %id, error = format!("{error:#}"), "index-header unusable, rebuilding it");
                }
                let index_size = index_size(bucket.as_ref(), &meta).await?;
                build_index_header(bucket.as_ref(), id, index_size, &dir).await?;
                open_header(&header_path, sampling).await.context("open freshly built index-header")?
            }
        };
        let ext_labels =
            Labels::from_pairs(meta.thanos.as_ref().map(|t| t.labels.clone()).unwrap_or_default());
        let header = OnceCell::new();
        if !lazy {
            header.set(reader).map_err(|_| anyhow::anyhow!("index-header cell set twice"))?;
        }
        Ok(Self { meta, ext_labels, bucket, cache, header_path, sampling, header })
    }

    /// The block's ULID.
    pub(crate) fn id(&self) -> Ulid {
        self.meta.ulid
    }

    /// The downsampling resolution in ms (0 for raw data).
    pub(crate) fn resolution(&self) -> i64 {
        self.meta.thanos.as_ref().map_or(0, |t| t.downsample.resolution)
    }

    /// Whether the block has samples in `[mint, maxt]` (both inclusive; the block's max time is
    /// exclusive).
    pub(crate) fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.meta.min_time <= maxt && mint < self.meta.max_time
    }

    /// The index-header reader, opened now if the block was loaded lazily.
    pub(crate) async fn header(&self) -> anyhow::Result<Arc<IndexHeaderReader>> {
        self.header.get_or_try_init(|| open_header(&self.header_path, self.sampling)).await.cloned()
    }

    /// All label names of the block's index, sorted.
    pub(crate) async fn label_names(&self) -> anyhow::Result<Vec<String>> {
        Ok(self.header().await?.label_names())
    }

    /// All values of `name` in the block's index, sorted.
    pub(crate) async fn label_values(&self, name: &str) -> anyhow::Result<Vec<String>> {
        let header = self.header().await?;
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || header.label_values(&name))
            .await
            .context("label values task")?
            .with_context(|| format!("label values of block {}", self.id()))
    }

    /// The postings lists of `keys`, from the cache or by coalesced ranged reads of the index.
    /// Keys the block lacks get an empty list.
    pub(crate) async fn postings(
        &self,
        keys: Vec<(String, String)>,
        stats: &mut FetchStats,
    ) -> anyhow::Result<HashMap<(String, String), Arc<Postings>>> {
        let id = self.id();
        let mut found = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        for key in keys {
            match self.cache.postings(id, &key.0, &key.1) {
                Some(list) => {
                    found.insert(key, list);
                }
                None => missing.push(key),
            }
        }
        stats.postings_touched += (found.len() + missing.len()) as u64;
        if missing.is_empty() {
            return Ok(found);
        }
        let header = self.header().await?;
        let (ranges, absent) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut ranges: Vec<((String, String), Range<u64>)> = Vec::new();
            let mut absent = Vec::new();
            for key in missing {
                match header.postings_range(&key.0, &key.1)? {
                    Some((start, end)) => ranges.push((key, start..end)),
                    None => absent.push(key),
                }
            }
            Ok((ranges, absent))
        })
        .await
        .context("postings ranges task")??;
        for key in absent {
            found.insert(key, Arc::new(Postings::empty()));
        }
        if ranges.is_empty() {
            return Ok(found);
        }
        let mut ranges = ranges;
        ranges.sort_by_key(|(_, range)| range.start);
        let wanted: Vec<Range<u64>> = ranges.iter().map(|(_, r)| r.clone()).collect();
        let key = block::block_key(id, block::INDEX_FILENAME);
        let parts = fetch_ranges(self.bucket.as_ref(), &key, &wanted)
            .await
            .with_context(|| format!("fetch postings of block {id}"))?;
        stats.postings_fetched += ranges.len() as u64;
        stats.postings_fetched_bytes += parts.fetched_bytes();
        for ((name, value), range) in ranges {
            let bytes = parts.slice(range.clone()).context("postings range not fetched")?;
            let list = decode_postings_range(&bytes, Path::new(&key), range.start)
                .with_context(|| format!("decode postings {name}={value:?} of block {id}"))?;
            let list = Arc::new(list);
            self.cache.store_postings(id, &name, &value, list.clone());
            found.insert((name, value), list);
        }
        Ok(found)
    }

    /// The entry bodies of `refs` (sorted, unique), in the same order.
    pub(crate) async fn series_entries(
        &self,
        refs: &[SeriesRef],
        stats: &mut FetchStats,
    ) -> anyhow::Result<Vec<Bytes>> {
        let id = self.id();
        let header = self.header().await?;
        let v1 = header.index_version() == FORMAT_V1;
        let offset_of = |r: SeriesRef| if v1 { r.0 } else { r.0 * 16 };
        let mut bodies: Vec<Option<Bytes>> = self.cache.series_many(id, refs.iter().map(|r| r.0));
        stats.series_touched += refs.len() as u64;
        let missing: Vec<usize> = (0..refs.len()).filter(|&i| bodies[i].is_none()).collect();
        if missing.is_empty() {
            return Ok(bodies.into_iter().flatten().collect());
        }
        // Entries are laid out in reference order, so each ends before the next one starts.
        let section_end = header.index_toc().postings_table;
        let ranges: Vec<Range<u64>> = missing
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let start = offset_of(refs[i]);
                let next = missing.get(k + 1).map_or(section_end, |&j| offset_of(refs[j]));
                start
                    ..(start + ESTIMATED_MAX_SERIES_SIZE)
                        .min(next.max(start + 1))
                        .min(section_end.max(start + 1))
            })
            .collect();
        let key = block::block_key(id, block::INDEX_FILENAME);
        let parts = fetch_ranges(self.bucket.as_ref(), &key, &ranges)
            .await
            .with_context(|| format!("fetch series of block {id}"))?;
        stats.series_fetched += missing.len() as u64;
        stats.series_fetched_bytes += parts.fetched_bytes();
        for (&i, range) in missing.iter().zip(ranges) {
            let bytes = parts.slice(range.clone()).context("series range not fetched")?;
            let body = match entry_body(&bytes) {
                Ok(body) => bytes.slice_ref(body),
                Err(EntryError::Truncated { needed }) => {
                    // Larger than estimated: read it exactly (Thanos' series refetch).
                    metrics::counter!("thanos_bucket_store_series_refetches_total").increment(1);
                    let exact = self.bucket.get_range(&key, range.start, needed).await?;
                    stats.series_fetched_bytes += exact.len() as u64;
                    let body =
                        entry_body(&exact).with_context(|| format!("series {} of block {id}", refs[i].0))?;
                    exact.slice_ref(body)
                }
                Err(error) => bail!("series {} of block {id} at offset {}: {error}", refs[i].0, range.start),
            };
            self.cache.store_series(id, refs[i].0, &body);
            bodies[i] = Some(body);
        }
        Ok(bodies.into_iter().flatten().collect())
    }

    /// The wire labels of a series from its symbol references, in the index's (sorted) order,
    /// with room for `spare` more (the external labels): built once, without copies, since this
    /// runs for every series of every block a query touches.
    pub(crate) fn resolve_labels(
        &self,
        header: &IndexHeaderReader,
        refs: &[(u32, u32)],
        spare: usize,
    ) -> anyhow::Result<Vec<storeapi::pb::thanos::Label>> {
        let mut labels = Vec::with_capacity(refs.len() + spare);
        for &(name, value) in refs {
            labels.push(storeapi::labels::label(header.lookup_symbol(name)?, header.lookup_symbol(value)?));
        }
        Ok(labels)
    }

    /// Reads the chunks of `refs` with coalesced ranged reads of the segment files.
    pub(crate) async fn chunks(
        &self,
        refs: &[ChunkRef],
        stats: &mut FetchStats,
    ) -> anyhow::Result<HashMap<ChunkRef, RawChunk>> {
        let id = self.id();
        let mut by_segment: HashMap<u32, Vec<u32>> = HashMap::new();
        for r in refs {
            by_segment.entry(r.segment()).or_default().push(r.offset());
        }
        stats.chunks_touched += refs.len() as u64;
        let mut out = HashMap::with_capacity(refs.len());
        for (segment, mut offsets) in by_segment {
            offsets.sort_unstable();
            offsets.dedup();
            let ranges: Vec<Range<u64>> = offsets
                .iter()
                .enumerate()
                .map(|(k, &offset)| {
                    let start = u64::from(offset);
                    let estimated = start + ESTIMATED_MAX_CHUNK_SIZE;
                    let end = offsets.get(k + 1).map_or(estimated, |&next| estimated.min(u64::from(next)));
                    start..end
                })
                .collect();
            let key = block::block_key(id, &format!("chunks/{:06}", u64::from(segment) + 1));
            let parts = fetch_ranges(self.bucket.as_ref(), &key, &ranges)
                .await
                .with_context(|| format!("fetch chunks of block {id}"))?;
            stats.chunks_fetched += offsets.len() as u64;
            stats.chunks_fetched_bytes += parts.fetched_bytes();
            for (offset, range) in offsets.iter().zip(ranges) {
                let chunk_ref = ChunkRef::new(segment, *offset);
                let bytes = parts.slice(range.clone()).context("chunk range not fetched")?;
                let chunk = match parse_chunk_record(&bytes) {
                    Ok(chunk) => chunk,
                    Err(ChunkRecordError::Truncated(needed)) if needed > bytes.len() as u64 => {
                        metrics::counter!("thanos_bucket_store_chunk_refetches_total").increment(1);
                        let exact = self.bucket.get_range(&key, range.start, needed).await?;
                        stats.chunks_fetched_bytes += exact.len() as u64;
                        parse_chunk_record(&exact)
                            .map_err(|e| anyhow::anyhow!("chunk {:#x} of block {id}: {e}", chunk_ref.0))?
                    }
                    Err(error) => bail!("chunk {:#x} of block {id}: {error}", chunk_ref.0),
                };
                out.insert(chunk_ref, chunk);
            }
        }
        Ok(out)
    }
}

/// Why a chunk record could not be parsed.
#[derive(Debug, thiserror::Error)]
enum ChunkRecordError {
    #[error("record truncated, need {0} bytes")]
    Truncated(u64),
    #[error("checksum mismatch")]
    Checksum,
    #[error("malformed record length")]
    Length,
}

/// Parses `uvarint len │ encoding │ data │ CRC32C(encoding, data)` at the start of `bytes`.
fn parse_chunk_record(bytes: &Bytes) -> Result<RawChunk, ChunkRecordError> {
    let mut d = Decbuf::new(bytes);
    let len = match d.uvarint() {
        Ok(len) => len,
        Err(tsdb_format::encoding::DecodeError::Truncated) => return Err(ChunkRecordError::Truncated(16)),
        Err(_) => return Err(ChunkRecordError::Length),
    };
    let start = d.position();
    let needed = start as u64 + 1 + len + 4;
    if (bytes.len() as u64) < needed {
        return Err(ChunkRecordError::Truncated(needed));
    }
    let len = usize::try_from(len).map_err(|_| ChunkRecordError::Length)?;
    let covered = &bytes[start..start + 1 + len];
    let crc = &bytes[start + 1 + len..start + 1 + len + 4];
    if u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) != crc32c(covered) {
        return Err(ChunkRecordError::Checksum);
    }
    Ok(RawChunk { encoding: Encoding::from(bytes[start]), data: bytes.slice(start + 1..start + 1 + len) })
}

/// Opens and validates an index-header file off the reactor.
async fn open_header(path: &Path, sampling: usize) -> anyhow::Result<Arc<IndexHeaderReader>> {
    let path = path.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || IndexHeaderReader::open_with_sampling(&path, sampling))
        .await
        .context("open index-header task")??;
    Ok(Arc::new(reader))
}

/// The size of a block's index: from `thanos.files` when recorded, else from the bucket.
async fn index_size(bucket: &dyn Bucket, meta: &BlockMeta) -> anyhow::Result<u64> {
    let recorded = meta
        .thanos
        .as_ref()
        .and_then(|t| t.files.iter().find(|f| f.rel_path == block::INDEX_FILENAME))
        .and_then(|f| u64::try_from(f.size_bytes).ok())
        .filter(|&size| size > 0);
    if let Some(size) = recorded {
        return Ok(size);
    }
    let key = block::block_key(meta.ulid, block::INDEX_FILENAME);
    Ok(bucket.attributes(&key).await.with_context(|| format!("attributes of {key}"))?.size)
}

/// Builds `<dir>/index-header` from ranged reads of the block's index, byte for byte as Thanos'
/// `WriteBinary`: header and TOC first, then the symbol table and the postings offset table,
/// streamed into a temporary file that is synced and renamed into place.
pub(crate) async fn build_index_header(
    bucket: &dyn Bucket,
    id: Ulid,
    index_size: u64,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    let key = block::block_key(id, block::INDEX_FILENAME);
    let [head, toc] = head_ranges(index_size, Path::new(&key))?;
    let (head_bytes, toc_bytes) = futures::try_join!(
        bucket.get_range(&key, head.offset, head.len),
        bucket.get_range(&key, toc.offset, toc.len)
    )
    .with_context(|| format!("read header and TOC of {key}"))?;
    let layout = IndexLayout::from_head(index_size, &head_bytes, &toc_bytes, Path::new(&key))?;

    tokio::fs::create_dir_all(dir).await.with_context(|| format!("create {}", dir.display()))?;
    let path = dir.join(INDEX_HEADER_FILENAME);
    let tmp = dir.join(format!("{INDEX_HEADER_FILENAME}.tmp"));
    let mut file = tokio::io::BufWriter::with_capacity(
        1 << 20,
        tokio::fs::File::create(&tmp).await.with_context(|| format!("create {}", tmp.display()))?,
    );
    let result = async {
        file.write_all(&layout.prefix()).await?;
        for range in [layout.symbols_range(), layout.postings_table_range()] {
            let mut at = range.offset;
            while at < range.end() {
                let len = (range.end() - at).min(HEADER_COPY_CHUNK);
                let bytes = bucket.get_range(&key, at, len).await?;
                if bytes.len() as u64 != len {
                    bail!("short read of {key} at {at}: {} of {len} bytes", bytes.len());
                }
                file.write_all(&bytes).await?;
                at += len;
            }
        }
        file.write_all(&layout.suffix()).await?;
        file.flush().await?;
        file.get_ref().sync_all().await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(error) = result {
        // Best effort: a partial temporary file is rebuilt next time anyway.
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(error.context(format!("build index-header of block {id}")));
    }
    tokio::fs::rename(&tmp, &path).await.with_context(|| format!("rename to {}", path.display()))?;
    tracing::debug!(block = %id, bytes = layout.header_size(), "built index-header");
    Ok(path)
}
