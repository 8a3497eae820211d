//! Chunk segment files: `chunks/000001`, `chunks/000002`, … of a block (Prometheus'
//! `tsdb/chunks/chunks.go`, `tsdb/docs/format/chunks.md`).
//!
//! ```text
//! segment file                              chunk record
//! ┌─────────────────────────────┐           ┌────────────────┬───────────────┬──────┬──────────────────┐
//! │ magic 0x85BD40DD  u32 BE    │           │ len(data)      │ encoding      │ data │ CRC-32C of       │
//! │ version 1         u8        │           │ uvarint        │ u8            │      │ encoding + data, │
//! │ padding           3 × 0     │           │                │               │      │ u32 BE           │
//! │ chunk record …              │           └────────────────┴───────────────┴──────┴──────────────────┘
//! └─────────────────────────────┘
//! ```
//! A [`ChunkRef`] is `segment index << 32 | offset of the record`.

mod reader;
mod writer;

pub use reader::ChunkSegmentReader;
pub use writer::ChunkSegmentWriter;

/// Magic number at the start of every segment file.
pub const SEGMENT_MAGIC: u32 = 0x85BD_40DD;
/// The only segment format version.
pub const SEGMENT_VERSION: u8 = 1;
/// Magic, version and padding.
pub const SEGMENT_HEADER_SIZE: usize = 8;
/// Prometheus' default maximum segment size (`DefaultChunkSegmentSize`), 512 MiB.
pub const DEFAULT_SEGMENT_SIZE: u64 = 512 * 1024 * 1024;
/// Space Prometheus reserves for a record's length field when deciding to cut
/// (`binary.MaxVarintLen32`).
const MAX_LEN_FIELD_SIZE: usize = 5;
/// Size of the encoding byte.
const ENCODING_SIZE: usize = 1;
/// Size of the CRC-32C.
const CRC_SIZE: usize = 4;

/// The segment header bytes.
fn segment_header() -> [u8; SEGMENT_HEADER_SIZE] {
    let mut header = [0; SEGMENT_HEADER_SIZE];
    header[..4].copy_from_slice(&SEGMENT_MAGIC.to_be_bytes());
    header[4] = SEGMENT_VERSION;
    header
}

/// File name of the segment with 1-based sequence number `seq`: at least six digits (`000001`).
pub fn segment_file_name(seq: u64) -> String {
    format!("{seq:06}")
}

/// The sequence number of a segment file name: ASCII digits only (as Go's `strconv.ParseUint`).
fn parse_segment_file_name(name: &str) -> Option<u64> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// A chunk's address in a block: segment index (0-based; file `000001` is 0) in the upper 32 bits,
/// byte offset within that segment file in the lower 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChunkRef(pub u64);

impl ChunkRef {
    /// A reference to `offset` in segment `segment`.
    pub fn new(segment: u32, offset: u32) -> Self {
        Self((u64::from(segment) << 32) | u64::from(offset))
    }

    /// The 0-based segment index.
    pub fn segment(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The byte offset within the segment file.
    pub fn offset(self) -> u32 {
        self.0 as u32
    }
}

#[cfg(test)]
mod tests;
