//! Writes a block's chunk segment files exactly as Prometheus 2.42's `chunks.Writer` does.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{
    CRC_SIZE, ChunkRef, DEFAULT_SEGMENT_SIZE, ENCODING_SIZE, MAX_LEN_FIELD_SIZE, SEGMENT_HEADER_SIZE,
    parse_segment_file_name, segment_file_name, segment_header,
};
use crate::chunkenc::Encoding;
use crate::encoding::{crc32c, crc32c_append, put_uvarint};
use crate::{Error, Result};

/// Go's write buffer size per segment.
const WRITE_BUFFER_SIZE: usize = 8 * 1024 * 1024;

/// Appends chunk records to `dir/000001`, `dir/000002`, …, cutting segments by Prometheus' rule.
///
/// Segment files appear on the first write (a writer that writes nothing leaves `dir` empty, as
/// Prometheus does). Call [`close`](Self::close) to flush and fsync the last segment; dropping the
/// writer flushes on a best-effort basis only.
#[derive(Debug)]
pub struct ChunkSegmentWriter {
    dir: PathBuf,
    max_segment_size: u64,
    /// Segments cut so far; the open one is the last.
    segments_cut: u32,
    tail: Option<Tail>,
    /// Bytes in the open segment, header included (Go's `w.n`); 0 before the first cut.
    written: u64,
}

/// The open segment file.
#[derive(Debug)]
struct Tail {
    path: PathBuf,
    out: BufWriter<File>,
}

impl ChunkSegmentWriter {
    /// A writer into `dir` (created if missing) with the default 512 MiB segment size.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self> {
        Self::with_segment_size(dir, DEFAULT_SEGMENT_SIZE)
    }

    /// A writer with a custom maximum segment size; 0 means the default, as in Go.
    pub fn with_segment_size(dir: impl AsRef<Path>, max_segment_size: u64) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let max_segment_size = if max_segment_size == 0 { DEFAULT_SEGMENT_SIZE } else { max_segment_size };
        Ok(Self { dir, max_segment_size, segments_cut: 0, tail: None, written: 0 })
    }

    /// The directory written into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one chunk as its own batch (Go's `WriteChunks(chk)`).
    pub fn write_chunk(&mut self, encoding: Encoding, data: &[u8]) -> Result<ChunkRef> {
        let mut refs = Vec::with_capacity(1);
        self.write_batch(&[(encoding, data)], &mut refs)?;
        Ok(refs.pop().expect("write_batch returns one ref per chunk"))
    }

    /// Writes the chunks of one series in a single `WriteChunks` call, as Prometheus' compactor
    /// does. Grouping matters: the cut rule looks at the whole call, so for byte-identical files
    /// pass the same groups Prometheus would (one series' chunks per call).
    ///
    /// Like Go, a call with no chunks still creates the first segment if none exists yet.
    pub fn write_chunks(&mut self, chunks: &[(Encoding, &[u8])]) -> Result<Vec<ChunkRef>> {
        let mut refs = Vec::with_capacity(chunks.len());
        self.write_batch(chunks, &mut refs)?;
        Ok(refs)
    }

    /// Flushes and fsyncs the last segment, then fsyncs the directory.
    pub fn close(mut self) -> Result<()> {
        self.finalize_tail()?;
        // Go does not sync the directory here; we do, so the last rename is durable too.
        sync_dir(&self.dir)
    }

    fn write_batch(&mut self, chunks: &[(Encoding, &[u8])], refs: &mut Vec<ChunkRef>) -> Result<()> {
        let cuts = self.cut_points(chunks);
        if self.written == 0 {
            self.cut()?;
        }
        let mut next_cut = cuts.iter().peekable();
        for (i, &(encoding, data)) in chunks.iter().enumerate() {
            if next_cut.next_if_eq(&&i).is_some() {
                self.cut()?;
            }
            refs.push(self.write_record(encoding, data)?);
        }
        Ok(())
    }

    /// Indexes of the chunks before which a new segment starts — Go's `WriteChunks` batching.
    ///
    /// Each chunk is sized pessimistically (5-byte length field). A chunk after the first of the call
    /// starts a new segment when its batch would exceed the limit together with a fresh header.
    /// While still filling an already used segment, the check is instead against the segment's
    /// current size, and it applies to the call's first chunk too.
    fn cut_points(&self, chunks: &[(Encoding, &[u8])]) -> Vec<usize> {
        let header = SEGMENT_HEADER_SIZE as u64;
        let mut cuts = Vec::new();
        let mut batch_size = 0u64;
        let mut first_batch = true;
        for (i, (_, data)) in chunks.iter().enumerate() {
            let chunk_size = (MAX_LEN_FIELD_SIZE + ENCODING_SIZE + data.len() + CRC_SIZE) as u64;
            batch_size += chunk_size;
            let mut cut = i != 0 && batch_size + header > self.max_segment_size;
            if first_batch && self.written > header {
                cut = batch_size + self.written > self.max_segment_size;
                if cut {
                    first_batch = false;
                }
            }
            if cut {
                cuts.push(i);
                batch_size = chunk_size;
            }
        }
        cuts
    }

    fn write_record(&mut self, encoding: Encoding, data: &[u8]) -> Result<ChunkRef> {
        let segment = self.segments_cut.saturating_sub(1);
        let Some(tail) = self.tail.as_mut() else {
            return Err(Error::InvalidInput("chunk segment writer has no open segment".into()));
        };
        let offset = u32::try_from(self.written).map_err(|_| {
            Error::InvalidInput(format!(
                "{}: chunk offset {} exceeds 4 GiB",
                tail.path.display(),
                self.written
            ))
        })?;
        let mut head = Vec::with_capacity(11);
        put_uvarint(&mut head, data.len() as u64);
        head.push(encoding.as_u8());
        let crc = crc32c_append(crc32c(&[encoding.as_u8()]), data);
        let io = |e| Error::io(&tail.path, e);
        tail.out.write_all(&head).map_err(io)?;
        tail.out.write_all(data).map_err(io)?;
        tail.out.write_all(&crc.to_be_bytes()).map_err(io)?;
        self.written += (head.len() + data.len() + CRC_SIZE) as u64;
        Ok(ChunkRef::new(segment, offset))
    }

    /// Finishes the open segment and starts the next: Go's `cut` and `cutSegmentFile`.
    fn cut(&mut self) -> Result<()> {
        self.finalize_tail()?;
        let seq = next_sequence_number(&self.dir)?;
        let path = self.dir.join(segment_file_name(seq));
        let mut tmp = OsString::from(path.as_os_str());
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let file = match self.create_segment(&tmp, &path) {
            Ok(file) => file,
            Err(err) => {
                // Best effort, like Go's cleanup; the original error is what matters.
                let _ = fs::remove_file(&tmp);
                return Err(err);
            }
        };
        self.segments_cut = self
            .segments_cut
            .checked_add(1)
            .ok_or_else(|| Error::InvalidInput("too many chunk segments".into()))?;
        self.tail = Some(Tail { path, out: BufWriter::with_capacity(WRITE_BUFFER_SIZE, file) });
        self.written = SEGMENT_HEADER_SIZE as u64;
        Ok(())
    }

    /// Writes the header to `tmp` and renames it to `path`, leaving the file positioned after it.
    ///
    /// Go also preallocates the full segment size and truncates on close; without `unsafe`
    /// (fallocate) we skip that, which changes disk reservation only, never the bytes.
    fn create_segment(&self, tmp: &Path, path: &Path) -> Result<File> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
            .map_err(|e| Error::io(tmp, e))?;
        // Go syncs the directory at this point, before the header and the rename.
        sync_dir(&self.dir)?;
        file.write_all(&segment_header()).map_err(|e| Error::io(tmp, e))?;
        fs::rename(tmp, path).map_err(|e| Error::io(path, e))?;
        Ok(file)
    }

    /// Flushes, fsyncs and closes the open segment (Go's `finalizeTail`).
    fn finalize_tail(&mut self) -> Result<()> {
        let Some(tail) = self.tail.take() else {
            return Ok(());
        };
        let file = tail.out.into_inner().map_err(|e| Error::io(&tail.path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&tail.path, e))?;
        Ok(())
    }
}

/// One more than the largest numeric file name in `dir` (Go's `nextSequenceFile`).
fn next_sequence_number(dir: &Path) -> Result<u64> {
    let mut max = 0;
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Some(seq) = entry.file_name().to_str().and_then(parse_segment_file_name) {
            max = max.max(seq);
        }
    }
    max.checked_add(1)
        .ok_or_else(|| Error::InvalidInput(format!("{}: segment numbers exhausted", dir.display())))
}

/// Fsyncs a directory so that file creations and renames in it are durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))
}
