//! `meta.json`: Prometheus' block metadata plus Thanos' `thanos` section.
//!
//! Field order and `omitempty` rules follow Go's encoders, so a file we write reads the same to
//! Prometheus and Thanos, and one of theirs survives a read-modify-write here.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::{Error, Result};

/// File name of the block metadata.
pub const META_FILENAME: &str = "meta.json";

/// The only `meta.json` version Prometheus and Thanos read.
pub const META_VERSION: u32 = 1;

/// Thanos' `downsample.resolution` for raw data, 5-minute and 1-hour aggregates (milliseconds).
pub const RESOLUTION_RAW: i64 = 0;
/// 5-minute downsampling resolution in milliseconds.
pub const RESOLUTION_5M: i64 = 300_000;
/// 1-hour downsampling resolution in milliseconds.
pub const RESOLUTION_1H: i64 = 3_600_000;

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

/// Sample, series and chunk counts of a block (`stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Samples in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_samples: u64,
    /// Float samples (newer Prometheus versions write this; 2.42 does not).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_float_samples: u64,
    /// Native histogram samples (newer Prometheus versions).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_histogram_samples: u64,
    /// Series in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_series: u64,
    /// Chunks in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_chunks: u64,
    /// Tombstones in the block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
}

/// A parent block of a compacted block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDesc {
    /// The parent's ULID.
    pub ulid: Ulid,
    /// The parent's minimum time (inclusive, ms).
    pub min_time: i64,
    /// The parent's maximum time (exclusive, ms).
    pub max_time: i64,
}

/// How a block came to be (`compaction`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMetaCompaction {
    /// 1 for a block cut from the head, one more per compaction.
    pub level: u32,
    /// The level-1 blocks this block was made from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Ulid>,
    /// Whether the block may be deleted.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deletable: bool,
    /// The blocks this one was compacted from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockDesc>,
    /// Whether a compaction of this block failed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub failed: bool,
    /// Compaction hints such as `from-out-of-order`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

/// Thanos' `downsample` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThanosDownsample {
    /// Resolution in milliseconds: 0 (raw), 300000 or 3600000.
    #[serde(default)]
    pub resolution: i64,
}

/// A hash of a block file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectHash {
    /// The hash function, e.g. `SHA256`.
    #[serde(rename = "hashFunc")]
    pub func: String,
    /// The hex digest.
    pub value: String,
}

/// One file of a block, as listed in `thanos.files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockFile {
    /// Path relative to the block directory, e.g. `chunks/000001`.
    pub rel_path: String,
    /// Size in bytes (absent for meta.json).
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub size_bytes: i64,
    /// Optional hash of the contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<ObjectHash>,
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

/// Thanos' `index_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStats {
    /// Largest series entry in the index, in bytes.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub series_max_size: i64,
    /// Largest chunk, in bytes.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub chunk_max_size: i64,
}

/// The `thanos` section of `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThanosMeta {
    /// Section version; 0 on read means 1.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub version: u32,
    /// External labels of the producer.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Downsampling resolution.
    #[serde(default)]
    pub downsample: ThanosDownsample,
    /// Who uploaded the block: `sidecar`, `compactor`, `bucket.upload`, …
    #[serde(default)]
    pub source: String,
    /// Chunk segment file names (deprecated by `files`, still written by Thanos).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segment_files: Vec<String>,
    /// Every file of the block, sorted by relative path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<BlockFile>,
    /// Rewrites applied to the block, kept verbatim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrites: Vec<serde_json::Value>,
    /// Index statistics.
    #[serde(default)]
    pub index_stats: IndexStats,
    /// Arbitrary extension data, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Value>,
    /// Upload time in RFC 3339 (Go's zero time when unknown).
    #[serde(default = "go_zero_time")]
    pub upload_time: String,
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// Go's `time.Time{}` in JSON: what Thanos writes when no upload time is known.
pub fn go_zero_time() -> String {
    "0001-01-01T00:00:00Z".to_string()
}

impl Default for ThanosMeta {
    fn default() -> Self {
        Self {
            version: 1,
            labels: BTreeMap::new(),
            downsample: ThanosDownsample::default(),
            source: String::new(),
            segment_files: Vec::new(),
            files: Vec::new(),
            rewrites: Vec::new(),
            index_stats: IndexStats::default(),
            extensions: None,
            upload_time: go_zero_time(),
        }
    }
}

/// A block's `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// The block's ULID (also its directory name).
    pub ulid: Ulid,
    /// Earliest sample time (inclusive, ms).
    pub min_time: i64,
    /// Latest sample time plus one (exclusive, ms).
    pub max_time: i64,
    /// Counts.
    #[serde(default)]
    pub stats: BlockStats,
    /// Compaction history.
    pub compaction: BlockMetaCompaction,
    /// Format version; always 1.
    pub version: u32,
    /// Thanos' section, absent in blocks Prometheus wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thanos: Option<ThanosMeta>,
}

impl BlockMeta {
    /// Metadata of a new level-1 block that is its own source.
    pub fn new_level1(ulid: Ulid, min_time: i64, max_time: i64, stats: BlockStats) -> Self {
        Self {
            ulid,
            min_time,
            max_time,
            stats,
            compaction: BlockMetaCompaction {
                level: 1,
                sources: vec![ulid],
                deletable: false,
                parents: Vec::new(),
                failed: false,
                hints: Vec::new(),
            },
            version: META_VERSION,
            thanos: None,
        }
    }

    /// Parses `meta.json` bytes; `path` names the file in errors.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidMeta { path: path.to_path_buf(), reason };
        let meta: BlockMeta = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        if meta.version != META_VERSION {
            return Err(invalid(format!("unexpected meta file version {}", meta.version)));
        }
        if let Some(thanos) = &meta.thanos
            && thanos.version > 1
        {
            return Err(invalid(format!("unexpected Thanos section version {}", thanos.version)));
        }
        if meta.min_time > meta.max_time {
            return Err(invalid(format!("minTime {} after maxTime {}", meta.min_time, meta.max_time)));
        }
        Ok(meta)
    }

    /// Reads `dir/meta.json`.
    pub fn read_from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join(META_FILENAME);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        Self::from_json(&bytes, &path)
    }

    /// Serialises as Go does: tab-indented; Thanos' encoder adds a trailing newline when the
    /// `thanos` section is present, Prometheus' `MarshalIndent` does not.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        self.serialize(&mut ser).expect("serialising plain data to a Vec cannot fail");
        if self.thanos.is_some() {
            out.push(b'\n');
        }
        out
    }

    /// Writes `dir/meta.json` atomically (temp file, fsync, rename).
    pub fn write_to_dir(&self, dir: &Path) -> Result<()> {
        let path = dir.join(META_FILENAME);
        let tmp = dir.join(format!("{META_FILENAME}.tmp"));
        write_file_synced(&tmp, &self.to_json())?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }
}

/// Writes `bytes` to `path` and fsyncs it.
pub(crate) fn write_file_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMTOOL_META: &str = "{\n\t\"ulid\": \"01HMX4T4V4B2Y2Q9X8Y7W6V5T4\",\n\t\"minTime\": 1704067200000,\n\t\"maxTime\": 1704074370001,\n\t\"stats\": {\n\t\t\"numSamples\": 27840,\n\t\t\"numSeries\": 116,\n\t\t\"numChunks\": 232\n\t},\n\t\"compaction\": {\n\t\t\"level\": 1,\n\t\t\"sources\": [\n\t\t\t\"01HMX4T4V4B2Y2Q9X8Y7W6V5T4\"\n\t\t]\n\t},\n\t\"version\": 1\n}";

    #[test]
    fn prometheus_meta_round_trips_byte_for_byte() {
        let meta = BlockMeta::from_json(PROMTOOL_META.as_bytes(), Path::new("meta.json")).unwrap();
        assert_eq!(meta.stats.num_series, 116);
        assert_eq!(String::from_utf8(meta.to_json()).unwrap(), PROMTOOL_META);
    }

    #[test]
    fn thanos_section_shape() {
        let mut meta = BlockMeta::from_json(PROMTOOL_META.as_bytes(), Path::new("meta.json")).unwrap();
        meta.thanos = Some(ThanosMeta {
            labels: BTreeMap::from([("replica".into(), "a".into())]),
            source: "sidecar".into(),
            files: vec![BlockFile { rel_path: "meta.json".into(), size_bytes: 0, hash: None }],
            ..ThanosMeta::default()
        });
        let json = String::from_utf8(meta.to_json()).unwrap();
        assert!(json.ends_with("\"upload_time\": \"0001-01-01T00:00:00Z\"\n\t}\n}\n"), "{json}");
        assert!(json.contains("\"downsample\": {\n\t\t\t\"resolution\": 0\n\t\t}"));
        assert!(json.contains("\"index_stats\": {}"));
        assert!(json.contains("{\n\t\t\t\t\"rel_path\": \"meta.json\"\n\t\t\t}"));
        let back = BlockMeta::from_json(json.as_bytes(), Path::new("meta.json")).unwrap();
        assert_eq!(back, meta);
    }

    #[test]
    fn rejects_bad_version_and_garbage() {
        let bad = PROMTOOL_META.replace("\"version\": 1", "\"version\": 2");
        let err = BlockMeta::from_json(bad.as_bytes(), Path::new("b/meta.json")).unwrap_err();
        assert!(err.to_string().contains("b/meta.json") && err.to_string().contains("version 2"));
        assert!(BlockMeta::from_json(b"{not json", Path::new("meta.json")).is_err());
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic(bytes: Vec<u8>) {
            let _ = BlockMeta::from_json(&bytes, Path::new("meta.json"));
        }

        #[test]
        fn mutated_meta_never_panics(pos in 0usize..400, byte: u8) {
            let mut bytes = PROMTOOL_META.as_bytes().to_vec();
            let at = pos % bytes.len();
            bytes[at] = byte;
            let _ = BlockMeta::from_json(&bytes, Path::new("meta.json"));
        }
    }
}
