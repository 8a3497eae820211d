//! Reads chunk records from a block's segment files, verifying each record's CRC-32C.

use std::fs;
use std::path::{Path, PathBuf};

use super::{
    CRC_SIZE, ChunkRef, ENCODING_SIZE, SEGMENT_HEADER_SIZE, SEGMENT_MAGIC, SEGMENT_VERSION,
    parse_segment_file_name,
};
use crate::chunkenc::Encoding;
use crate::encoding::{DecodeError, crc32c, read_uvarint};
use crate::{Error, Result};

/// Random access to the chunks of one block's `chunks/` directory.
#[derive(Debug)]
pub struct ChunkSegmentReader {
    dir: PathBuf,
    segments: Vec<Segment>,
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    bytes: SegmentBytes,
}

/// The bytes of one segment file, read whole into memory. Kept behind this type so that a memory
/// map or a ranged object-storage reader can replace it without touching the record logic.
#[derive(Debug)]
struct SegmentBytes(Vec<u8>);

impl SegmentBytes {
    fn read(path: &Path) -> Result<Self> {
        fs::read(path).map(Self).map_err(|e| Error::io(path, e))
    }

    fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl ChunkSegmentReader {
    /// Opens every segment file in `dir` (names of ASCII digits, in name order, like Prometheus'
    /// `sequenceFiles`) and checks each header.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let mut names = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name();
            if name.to_str().and_then(parse_segment_file_name).is_some() {
                names.push(name);
            }
        }
        names.sort();
        let mut segments = Vec::with_capacity(names.len());
        for name in names {
            let path = dir.join(name);
            let bytes = SegmentBytes::read(&path)?;
            segments.push((path, bytes.0));
        }
        Self::from_segments(dir, segments)
    }

    /// A reader over segment contents already in memory, in segment-index order; `dir` and the
    /// paths only label errors.
    pub fn from_segments(dir: impl Into<PathBuf>, segments: Vec<(PathBuf, Vec<u8>)>) -> Result<Self> {
        let segments = segments
            .into_iter()
            .map(|(path, bytes)| {
                check_header(&path, &bytes)?;
                Ok(Segment { path, bytes: SegmentBytes(bytes) })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { dir: dir.into(), segments })
    }

    /// Number of segment files.
    pub fn num_segments(&self) -> usize {
        self.segments.len()
    }

    /// Total bytes of all segment files.
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes.as_slice().len() as u64).sum()
    }

    /// The encoding and data of the chunk at `chunk_ref`, after checking its CRC.
    pub fn chunk(&self, chunk_ref: ChunkRef) -> Result<(Encoding, &[u8])> {
        let offset = u64::from(chunk_ref.offset());
        let Some(segment) = self.segments.get(chunk_ref.segment() as usize) else {
            return Err(Error::OutOfRange { path: self.dir.clone(), reference: chunk_ref.0, offset });
        };
        let bytes = segment.bytes.as_slice();
        let start = chunk_ref.offset() as usize;
        if start < SEGMENT_HEADER_SIZE || start >= bytes.len() {
            return Err(Error::OutOfRange { path: segment.path.clone(), reference: chunk_ref.0, offset });
        }
        let corrupt = |reason: String| Error::corrupt(&segment.path, offset, reason);
        let (data_len, len_size) = read_uvarint(&bytes[start..]).map_err(|e| match e {
            DecodeError::Truncated => corrupt("chunk length runs past the end of the segment".into()),
            other => corrupt(format!("chunk length: {other}")),
        })?;
        let encoding_at = start + len_size;
        let data_start = encoding_at + ENCODING_SIZE;
        // In u64, saturating, so that a huge length cannot overflow.
        let record_end = (data_start as u64).saturating_add(data_len).saturating_add(CRC_SIZE as u64);
        if record_end > bytes.len() as u64 {
            return Err(corrupt(format!(
                "chunk record ends at {record_end}, past the end of the segment ({} bytes)",
                bytes.len()
            )));
        }
        let data_end = data_start + data_len as usize;
        let covered = &bytes[encoding_at..data_end];
        let stored = u32::from_be_bytes([
            bytes[data_end],
            bytes[data_end + 1],
            bytes[data_end + 2],
            bytes[data_end + 3],
        ]);
        let computed = crc32c(covered);
        if stored != computed {
            return Err(Error::Checksum {
                path: segment.path.clone(),
                offset: encoding_at as u64,
                stored,
                computed,
            });
        }
        Ok((Encoding::from(bytes[encoding_at]), &bytes[data_start..data_end]))
    }
}

/// Checks a segment's length, magic number and version.
fn check_header(path: &Path, bytes: &[u8]) -> Result<()> {
    let Some(header) = bytes.get(..SEGMENT_HEADER_SIZE) else {
        return Err(Error::corrupt(
            path,
            0,
            format!("segment of {} bytes is shorter than its {SEGMENT_HEADER_SIZE}-byte header", bytes.len()),
        ));
    };
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    if magic != SEGMENT_MAGIC {
        return Err(Error::BadMagic { path: path.to_path_buf(), found: magic, want: SEGMENT_MAGIC });
    }
    if header[4] != SEGMENT_VERSION {
        return Err(Error::UnsupportedVersion { path: path.to_path_buf(), version: u32::from(header[4]) });
    }
    Ok(())
}
