//! Byte-level building blocks shared by every format in this crate: Go-compatible varints,
//! big-endian buffers and CRC-32C. (The bit stream of XOR chunks lives with them in `chunkenc`.)

mod buf;
mod varint;

pub use buf::{Decbuf, Encbuf};
pub use varint::{put_uvarint, put_varint, read_uvarint, read_varint, uvarint_len};

/// Why a byte slice could not be decoded. Carries no file context: readers add the file and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("unexpected end of data")]
    Truncated,
    /// A varint ran past 10 bytes or past 64 bits (Go's `binary.Uvarint` overflow).
    #[error("varint overflows a 64-bit integer")]
    VarintOverflow,
    /// A varint-length-prefixed string was not valid UTF-8.
    #[error("invalid UTF-8 in string")]
    InvalidUtf8,
    /// A value did not fit the integer type the format asks for.
    #[error("value {0} out of range")]
    OutOfRange(u64),
}

/// CRC-32C (Castagnoli), the checksum of every framed section in a block.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// Continues a CRC-32C over more bytes (for checksums over non-contiguous parts).
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    crc32c::crc32c_append(crc, data)
}
