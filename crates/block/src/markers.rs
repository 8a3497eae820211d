//! Marker files placed beside a block's `meta.json`: deletion, no-compact and no-downsample marks.
//!
//! Their JSON shapes follow Thanos' `metadata/markers.go`, field for field, as `encoding/json`
//! writes them (compact, in declaration order, `details` omitted when empty).

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::{BlockError, Result};

/// File name of the deletion mark.
pub const DELETION_MARK_FILENAME: &str = "deletion-mark.json";
/// File name of the no-compact mark.
pub const NO_COMPACT_MARK_FILENAME: &str = "no-compact-mark.json";
/// File name of the no-downsample mark.
pub const NO_DOWNSAMPLE_MARK_FILENAME: &str = "no-downsample-mark.json";
/// The only marker version Thanos reads.
pub const MARKER_VERSION: u32 = 1;

/// A marker file type: its file name and a way to check its version.
pub trait Marker: Serialize + for<'de> Deserialize<'de> {
    /// The marker's file name inside the block directory.
    const FILENAME: &'static str;
    /// The marker's version field.
    fn version(&self) -> u32;

    /// Parses a marker read from `key`, rejecting unknown versions as Thanos does.
    fn from_json(bytes: &[u8], key: &str) -> Result<Self> {
        let marker: Self = serde_json::from_slice(bytes).map_err(|e| BlockError::InvalidMarker {
            key: key.to_string(),
            reason: format!("unmarshal marker JSON: {e}"),
        })?;
        if marker.version() != MARKER_VERSION {
            return Err(BlockError::InvalidMarker {
                key: key.to_string(),
                reason: format!(
                    "unexpected {} file version {}, expected {MARKER_VERSION}",
                    Self::FILENAME,
                    marker.version()
                ),
            });
        }
        Ok(marker)
    }

    /// Serialises as Go's `json.Marshal` (compact).
    fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serialising plain data cannot fail")
    }
}

fn is_empty(s: &str) -> bool {
    s.is_empty()
}

/// `deletion-mark.json`: the block is to be deleted after the delete delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionMark {
    /// The block.
    pub id: Ulid,
    /// Always 1.
    pub version: u32,
    /// Why, for humans.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub details: String,
    /// When the block was marked, in Unix seconds.
    pub deletion_time: i64,
}

impl Marker for DeletionMark {
    const FILENAME: &'static str = DELETION_MARK_FILENAME;
    fn version(&self) -> u32 {
        self.version
    }
}

/// Why a block is excluded from compaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoCompactReason {
    /// Marked by an operator.
    Manual,
    /// The index would exceed the maximum size.
    IndexSizeExceeding,
    /// The index has out-of-order chunks.
    #[serde(rename = "block-index-out-of-order-chunk")]
    BlockIndexOutOfOrderChunk,
    /// Overlapping downsampled blocks cannot be compacted vertically.
    DownsampleVerticalCompaction,
    /// A reason this version does not know, kept verbatim.
    #[serde(untagged)]
    Other(String),
}

/// `no-compact-mark.json`: the block is left out of compaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoCompactMark {
    /// The block.
    pub id: Ulid,
    /// Always 1.
    pub version: u32,
    /// Why, for humans.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub details: String,
    /// When the block was marked, in Unix seconds.
    pub no_compact_time: i64,
    /// Why, for machines.
    pub reason: NoCompactReason,
}

impl Marker for NoCompactMark {
    const FILENAME: &'static str = NO_COMPACT_MARK_FILENAME;
    fn version(&self) -> u32 {
        self.version
    }
}

/// `no-downsample-mark.json`: the block is left out of downsampling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoDownsampleMark {
    /// The block.
    pub id: Ulid,
    /// Always 1.
    pub version: u32,
    /// Why, for humans.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub details: String,
    /// When the block was marked, in Unix seconds.
    pub no_downsample_time: i64,
    /// Why, for machines (`manual`).
    pub reason: String,
}

impl Marker for NoDownsampleMark {
    const FILENAME: &'static str = NO_DOWNSAMPLE_MARK_FILENAME;
    fn version(&self) -> u32 {
        self.version
    }
}

/// Reads marker `M` of block `id`; `Ok(None)` when the block has no such marker.
pub async fn read_marker<M: Marker>(bucket: &dyn objstore::Bucket, id: Ulid) -> Result<Option<M>> {
    let key = crate::block_key(id, M::FILENAME);
    match bucket.get(&key).await {
        Ok(bytes) => M::from_json(&bytes, &key).map(Some),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(BlockError::bucket(id, format!("get {key}"), e)),
    }
}

/// Writes marker `marker` for block `id`.
pub async fn write_marker<M: Marker>(bucket: &dyn objstore::Bucket, id: Ulid, marker: &M) -> Result<()> {
    let key = crate::block_key(id, M::FILENAME);
    bucket
        .put(&key, bytes::Bytes::from(marker.to_json()))
        .await
        .map_err(|e| BlockError::bucket(id, format!("upload {key}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01HMX4T4V4B2Y2Q9X8Y7W6V5T4";

    #[test]
    fn shapes_match_thanos() {
        let id = Ulid::from_string(ID).unwrap();
        let mark = DeletionMark { id, version: 1, details: String::new(), deletion_time: 1_700_000_000 };
        let json = String::from_utf8(mark.to_json()).unwrap();
        assert_eq!(json, format!(r#"{{"id":"{ID}","version":1,"deletion_time":1700000000}}"#));
        assert_eq!(DeletionMark::from_json(json.as_bytes(), "k").unwrap(), mark);

        let mark = NoCompactMark {
            id,
            version: 1,
            details: "d".into(),
            no_compact_time: 5,
            reason: NoCompactReason::BlockIndexOutOfOrderChunk,
        };
        let json = String::from_utf8(mark.to_json()).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"id":"{ID}","version":1,"details":"d","no_compact_time":5,"reason":"block-index-out-of-order-chunk"}}"#
            )
        );
        assert_eq!(NoCompactMark::from_json(json.as_bytes(), "k").unwrap(), mark);
        let other = json.replace("block-index-out-of-order-chunk", "future-reason");
        let parsed = NoCompactMark::from_json(other.as_bytes(), "k").unwrap();
        assert_eq!(parsed.reason, NoCompactReason::Other("future-reason".into()));
        let manual = json.replace("block-index-out-of-order-chunk", "manual");
        assert_eq!(NoCompactMark::from_json(manual.as_bytes(), "k").unwrap().reason, NoCompactReason::Manual);
    }

    #[test]
    fn rejects_unknown_versions_and_garbage() {
        let json = format!(r#"{{"id":"{ID}","version":2,"deletion_time":1}}"#);
        let err = DeletionMark::from_json(json.as_bytes(), "x/deletion-mark.json").unwrap_err();
        assert!(err.to_string().contains("unexpected deletion-mark.json file version 2"), "{err}");
        assert!(DeletionMark::from_json(b"{", "k").is_err());
    }
}
