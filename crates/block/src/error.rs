//! The crate's error type: a small enum of kinds, each naming the block or file involved.

use std::path::PathBuf;

use ulid::Ulid;

/// Result alias for this crate.
pub type Result<T, E = BlockError> = std::result::Result<T, E>;

/// What went wrong moving or reading blocks.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The directory is not a block directory (its name is not a ULID, or it is not a directory).
    #[error("{path}: not a block dir: {reason}")]
    NotABlockDir {
        /// The directory.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// Thanos refuses blocks without external labels: they could not be told apart in a bucket.
    #[error("empty external labels are not allowed for Thanos block.")]
    EmptyExternalLabels,
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A local block file has an unreadable format (`meta.json`, index, chunks).
    #[error("{0}")]
    Format(#[from] tsdb_format::Error),
    /// A bucket operation failed.
    #[error("block {block}: {operation}: {source}")]
    Bucket {
        /// The block the operation was for.
        block: Ulid,
        /// What was being done, e.g. `upload index`.
        operation: String,
        /// The bucket's error.
        #[source]
        source: objstore::ObjstoreError,
    },
    /// Listing the bucket failed, so the view of it would be incomplete.
    #[error("list bucket: {0}")]
    List(#[source] objstore::ObjstoreError),
    /// A marker file could not be parsed or has an unknown version.
    #[error("{key}: invalid marker: {reason}")]
    InvalidMarker {
        /// The marker's object key.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// Some blocks' `meta.json` could not be read (other than missing or corrupt): the view of
    /// the bucket is incomplete, and acting on it could be unsafe.
    #[error("incomplete view: {failed} block(s) failed to load, first: {first}")]
    IncompleteView {
        /// How many blocks failed.
        failed: usize,
        /// The first failure, by ULID.
        #[source]
        first: Box<BlockError>,
    },
    /// A `meta.json` has a version this code does not read.
    #[error("unexpected meta file: {key} version: {version}")]
    UnsupportedMetaVersion {
        /// The `meta.json` key.
        key: String,
        /// Its version.
        version: u32,
    },
    /// A metadata filter failed.
    #[error("filter {filter}: {reason}")]
    Filter {
        /// The filter's name.
        filter: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl BlockError {
    /// An I/O error on a local `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    /// A bucket error while doing `operation` for block `block`.
    pub fn bucket(block: Ulid, operation: impl Into<String>, source: objstore::ObjstoreError) -> Self {
        Self::Bucket { block, operation: operation.into(), source }
    }
}
