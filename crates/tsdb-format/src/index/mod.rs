//! The block `index` file: symbols, series, postings and the tables that find them.
//!
//! Layout, as Prometheus 2.42 writes it (all fixed-width integers big-endian; see
//! `tsdb/docs/format/index.md` upstream):
//!
//! ```text
//! magic 0xBAAAD700 <4b> │ version <1b>
//! symbols      len <4b> │ #symbols <4b> │ (uvarint len · utf-8)… │ CRC32C
//! series       each entry 16-byte aligned, ID = offset / 16:
//!              uvarint len │ #labels │ (name ref, value ref)… │ #chunks │ chunk metas… │ CRC32C
//! label index  per label name, 4-byte aligned: len │ #names=1 │ #values │ value refs <4b>… │ CRC32C
//! postings     4-byte aligned, ("","") first: len │ #refs │ series IDs <4b>… │ CRC32C
//! label offset table     len │ #entries │ (n=1, name, uvarint offset)… │ CRC32C
//! postings offset table  len │ #entries │ (n=2, name, value, uvarint offset)… │ CRC32C
//! TOC          6 × offset <8b> │ CRC32C                       (the last 52 bytes)
//! ```
//!
//! In format version 1 a symbol reference is the symbol's byte offset in the file and a series
//! reference is the series' byte offset (no alignment); version 2 uses ordinals and offset/16.

mod health;
mod postings;
mod reader;
mod symbols;
mod toc;
mod writer;

#[cfg(test)]
mod tests;

pub use health::{IndexHealth, SeriesIssue, check_health};
pub use postings::Postings;
pub use reader::{IndexReader, PostingsOffsetEntry};
pub use toc::{TOC_LEN, Toc};
pub use writer::IndexWriter;

use crate::chunks::ChunkRef;

/// The four bytes every index file starts with.
pub const MAGIC_INDEX: u32 = 0xBAAA_D700;
/// Length of the header: magic and version byte.
pub const HEADER_LEN: usize = 5;
/// Format version 1: symbol and series references are byte offsets.
pub const FORMAT_V1: u8 = 1;
/// Format version 2, the one Prometheus 2.42 writes: references are ordinals and offset/16.
pub const FORMAT_V2: u8 = 2;
/// Format version 3: laid out like version 2 (newer Prometheus readers accept it).
pub const FORMAT_V3: u8 = 3;

/// Series entries start at multiples of this many bytes in format version 2.
pub(crate) const SERIES_ALIGNMENT: u64 = 16;

/// A series' reference in the index: offset/16 in format version 2, the byte offset in version 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SeriesRef(pub u64);

/// Where one chunk of a series lives and which samples it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChunkMeta {
    /// Timestamp of the first sample (inclusive), in milliseconds.
    pub min_time: i64,
    /// Timestamp of the last sample (inclusive), in milliseconds.
    pub max_time: i64,
    /// The chunk's address in the block's segment files.
    pub chunk_ref: ChunkRef,
}

impl ChunkMeta {
    /// A chunk meta from its time range and reference.
    pub fn new(min_time: i64, max_time: i64, chunk_ref: ChunkRef) -> Self {
        Self { min_time, max_time, chunk_ref }
    }
}
