//! The crate's error type: every failure names the file and, where it applies, the byte offset.

use std::path::PathBuf;

use crate::encoding::DecodeError;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong reading or writing a block.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused an operation on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file does not start with the magic number its format requires.
    #[error("{path}: invalid magic number {found:#010x}, want {want:#010x}")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number found.
        found: u32,
        /// The magic number expected.
        want: u32,
    },
    /// The file declares a format version this crate cannot read.
    #[error("{path}: unsupported format version {version}")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u32,
    },
    /// A checksum did not match the bytes it covers.
    #[error("{path}: checksum mismatch at offset {offset}: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Offset of the checksummed data.
        offset: u64,
        /// Checksum stored in the file.
        stored: u32,
        /// Checksum of the bytes read.
        computed: u32,
    },
    /// The bytes at an offset could not be decoded.
    #[error("{path}: corrupt data at offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Offset where decoding failed.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// A reference (series ref, chunk ref, symbol ref) points outside the data it refers into.
    #[error("{path}: reference {reference} out of range (offset {offset})")]
    OutOfRange {
        /// The file the reference points into.
        path: PathBuf,
        /// The reference value.
        reference: u64,
        /// Offset at which the reference was used.
        offset: u64,
    },
    /// `meta.json` could not be parsed or is inconsistent.
    #[error("{path}: invalid meta.json: {reason}")]
    InvalidMeta {
        /// The meta.json file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// Input given to a writer breaks the format's rules (unsorted, overlapping, duplicate).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// A decode failure at `offset` in `path`.
    pub fn corrupt(path: impl Into<PathBuf>, offset: u64, reason: impl ToString) -> Self {
        Error::Corrupt { path: path.into(), offset, reason: reason.to_string() }
    }

    /// Attaches file and offset context to a low-level decode error.
    pub fn decode(path: impl Into<PathBuf>, offset: u64, err: DecodeError) -> Self {
        Self::corrupt(path, offset, err)
    }
}
