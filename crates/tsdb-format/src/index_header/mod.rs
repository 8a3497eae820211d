//! Thanos' index-header: the small part of a block index a store gateway keeps locally.
//!
//! Layout (Thanos `pkg/block/indexheader/binary_reader.go`, format version 1; integers big-endian):
//!
//! ```text
//! magic 0xBAAAD792 <4b> │ version 1 <1b> │ index version <1b> │ postings offset table offset in the index <8b>
//! copy of index bytes [TOC.symbols, TOC.series)        the symbol table
//! copy of index bytes [TOC.postings_table, EOF)        the postings offset table and the index TOC
//! TOC: symbols offset <8b> │ postings offset table offset <8b> (both in this file) │ CRC32C of those 16 bytes
//! ```
//!
//! [`build`] makes the file from ranged reads of an index ([`RangeSource`], or the sans-I/O
//! [`IndexLayout`] for async callers); [`IndexHeaderReader`] answers label names and values,
//! symbol lookups and the byte range of a postings list inside the original index.

mod build;
mod reader;
mod source;

#[cfg(test)]
mod tests;

pub use build::{ByteRange, IndexLayout, build, head_ranges, write_index_header, write_index_header_to};
pub use reader::{DEFAULT_POSTINGS_SAMPLING, IndexHeaderReader, decode_postings_range};
pub use source::{FileSource, MemorySource, RangeSource};

/// The four bytes every index-header starts with.
pub const MAGIC_INDEX_HEADER: u32 = 0xBAAA_D792;
/// The only index-header format version.
pub const BINARY_FORMAT_V1: u8 = 1;
/// Length of the index-header's header: magic, version, index version, postings table offset.
pub const HEADER_LEN: usize = 4 + 1 + 1 + 8;
/// Length of the index-header's own TOC: two offsets and a CRC32C.
pub const BINARY_TOC_LEN: usize = 2 * 8 + 4;
/// Name of the index-header file inside a block's local directory.
pub const INDEX_HEADER_FILENAME: &str = "index-header";
/// Bytes between a postings list's offset and its first counted byte (the length field).
pub(crate) const POSTING_LENGTH_FIELD_SIZE: u64 = 4;
/// Size of the CRC32C that ends every postings list.
pub(crate) const CRC_LEN: u64 = 4;
