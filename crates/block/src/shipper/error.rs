//! Why a shipper pass stopped.

use std::path::PathBuf;

use ulid::Ulid;

use crate::BlockError;

/// A shipper pass that stopped early; the state file was not rewritten (Thanos does the same).
///
/// Blocks uploaded before the failure are complete in the bucket and are recognised by their
/// `meta.json` on the next pass, so nothing is uploaded twice.
#[derive(Debug, thiserror::Error)]
pub enum ShipperError {
    /// The TSDB directory could not be listed.
    #[error("read dir {path}: {source}")]
    ReadDir {
        /// The TSDB directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A local block's `meta.json` could not be read (and corrupt blocks are not skipped).
    #[error("read metadata for block {path}: {source}")]
    ReadMeta {
        /// The block directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: tsdb_format::Error,
    },
    /// Asking the bucket whether a block's `meta.json` exists failed.
    #[error("check exists: {source}")]
    CheckExists {
        /// Blocks uploaded in this pass before the failure.
        uploaded: usize,
        /// The bucket's error.
        #[source]
        source: objstore::ObjstoreError,
    },
    /// A compacted block overlaps blocks of the same labels in the bucket, or the bucket's
    /// metas could not be read to check.
    #[error("Found overlap or error during sync, cannot upload compacted block, details: {details}")]
    Overlap {
        /// Blocks uploaded in this pass before the failure.
        uploaded: usize,
        /// The overlap or the error.
        details: String,
    },
    /// A block's upload failed; later blocks were not tried, to keep uploads in time order.
    #[error("upload {block}: {source}")]
    Upload {
        /// Blocks uploaded in this pass before the failure.
        uploaded: usize,
        /// The block that failed.
        block: Ulid,
        /// The underlying error.
        #[source]
        source: Box<BlockError>,
    },
}

impl ShipperError {
    /// How many blocks this pass uploaded before it stopped.
    pub fn uploaded(&self) -> usize {
        match self {
            Self::ReadDir { .. } | Self::ReadMeta { .. } => 0,
            Self::CheckExists { uploaded, .. }
            | Self::Overlap { uploaded, .. }
            | Self::Upload { uploaded, .. } => *uploaded,
        }
    }
}
