//! The shipper's state file, `<tsdb>/thanos.shipper.json`: `{"version":1,"uploaded":[ulid…]}`.
//!
//! It only saves `exists` calls: a block missing from it is checked against the bucket, so a lost
//! or stale file costs requests, never a duplicate or a missing block.

use std::path::Path;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// Thanos' default name of the state file (`--shipper.meta-file-name`).
pub const DEFAULT_META_FILENAME: &str = "thanos.shipper.json";
/// The only state file version.
pub const META_VERSION_1: u32 = 1;

/// The content of the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipperState {
    /// Always [`META_VERSION_1`].
    pub version: u32,
    /// Blocks known to be complete in the bucket (uploaded, or found there), oldest first.
    /// Empty is written as `null`, as Go writes a nil slice; both read back as empty.
    #[serde(serialize_with = "empty_as_null", deserialize_with = "null_as_empty")]
    pub uploaded: Vec<Ulid>,
}

impl Default for ShipperState {
    fn default() -> Self {
        Self { version: META_VERSION_1, uploaded: Vec::new() }
    }
}

fn empty_as_null<S: serde::Serializer>(ids: &[Ulid], s: S) -> Result<S::Ok, S::Error> {
    if ids.is_empty() { s.serialize_none() } else { ids.serialize(s) }
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Ulid>, D::Error> {
    Ok(Option::<Vec<Ulid>>::deserialize(d)?.unwrap_or_default())
}

/// Why a state file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing the file failed (including: it does not exist).
    #[error("{path}: {source}")]
    Io {
        /// The state file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not the JSON of a state file.
    #[error("failed to parse {path} as JSON: {reason}")]
    Parse {
        /// The state file.
        path: std::path::PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// The file has a version other than 1.
    #[error("unexpected meta file version {0}")]
    Version(u32),
}

impl StateError {
    /// True when the file does not exist (the first run).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

impl ShipperState {
    /// Reads a state file.
    pub fn read(path: &Path) -> Result<Self, StateError> {
        let bytes =
            std::fs::read(path).map_err(|source| StateError::Io { path: path.to_path_buf(), source })?;
        let state: Self = serde_json::from_slice(&bytes)
            .map_err(|e| StateError::Parse { path: path.to_path_buf(), reason: e.to_string() })?;
        if state.version != META_VERSION_1 {
            return Err(StateError::Version(state.version));
        }
        Ok(state)
    }

    /// Writes the state file atomically: a fsynced temporary file renamed over it, then the
    /// directory fsynced so the rename survives a crash.
    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        use std::io::Write;
        fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
            move |source| StateError::Io { path: path.to_path_buf(), source }
        }
        let tmp = path.with_extension("json.tmp");
        // Tab-indented with a trailing newline, as Go's encoder with SetIndent("", "\t") writes it.
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        self.serialize(&mut ser).expect("serialising plain data to a Vec cannot fail");
        out.push(b'\n');
        let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(&out).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_go_null() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DEFAULT_META_FILENAME);
        let err = ShipperState::read(&path).expect_err("missing");
        assert!(err.is_not_found(), "{err}");

        let state =
            ShipperState { version: 1, uploaded: vec![Ulid::from_parts(1, 2), Ulid::from_parts(3, 4)] };
        state.write(&path).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("{\n\t\"version\": 1,\n\t\"uploaded\": [\n\t\t\""), "{text}");
        assert_eq!(ShipperState::read(&path).expect("read"), state);
        assert!(!path.with_extension("json.tmp").exists());

        ShipperState::default().write(&path).expect("write");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "{\n\t\"version\": 1,\n\t\"uploaded\": null\n}\n"
        );
        std::fs::write(&path, r#"{"version":1,"uploaded":[]}"#).expect("write");
        assert_eq!(ShipperState::read(&path).expect("read"), ShipperState::default());
        std::fs::write(&path, r#"{"version":2,"uploaded":[]}"#).expect("write");
        assert_eq!(ShipperState::read(&path).expect_err("v2").to_string(), "unexpected meta file version 2");
        std::fs::write(&path, "not json").expect("write");
        assert!(matches!(ShipperState::read(&path), Err(StateError::Parse { .. })));
    }
}
