//! The `tombstones` file: time ranges deleted from series of a block.
//!
//! ```text
//! ┌────────────────────────────┬──────────────────┬──────────────────────────────────────────┬──────────┐
//! │ magic 0x0130BA30 <4b>      │ version 1 <1b>   │ (uvarint ref, varint mint, varint maxt)… │ CRC <4b> │
//! └────────────────────────────┴──────────────────┴──────────────────────────────────────────┴──────────┘
//! ```
//! The CRC-32C covers the entries only (not magic or version). Intervals are inclusive.

use std::collections::BTreeMap;
use std::path::Path;

use crate::encoding::{Decbuf, Encbuf, crc32c};
use crate::{Error, Result};

/// File name of a block's tombstones.
pub const TOMBSTONES_FILENAME: &str = "tombstones";
const MAGIC: u32 = 0x0130_BA30;
const FORMAT_V1: u8 = 1;

/// An inclusive time range `[min_time, max_time]` of deleted samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    /// First deleted timestamp.
    pub min_time: i64,
    /// Last deleted timestamp.
    pub max_time: i64,
}

impl Interval {
    /// Whether `t` falls in the interval.
    pub fn contains(&self, t: i64) -> bool {
        self.min_time <= t && t <= self.max_time
    }
}

/// Deleted intervals per series reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tombstones {
    by_series: BTreeMap<u64, Vec<Interval>>,
}

impl Tombstones {
    /// No deletions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a deleted interval, merging it with overlapping or adjacent ones as Prometheus does.
    pub fn add(&mut self, series_ref: u64, iv: Interval) {
        let ivs = self.by_series.entry(series_ref).or_default();
        ivs.push(iv);
        ivs.sort();
        let mut merged: Vec<Interval> = Vec::with_capacity(ivs.len());
        for iv in ivs.drain(..) {
            match merged.last_mut() {
                Some(last) if iv.min_time <= last.max_time.saturating_add(1) => {
                    last.max_time = last.max_time.max(iv.max_time);
                }
                _ => merged.push(iv),
            }
        }
        *ivs = merged;
    }

    /// The deleted intervals of a series, sorted and disjoint.
    pub fn get(&self, series_ref: u64) -> &[Interval] {
        self.by_series.get(&series_ref).map_or(&[], Vec::as_slice)
    }

    /// Total number of intervals (what `stats.numTombstones` counts).
    pub fn num_intervals(&self) -> u64 {
        self.by_series.values().map(|v| v.len() as u64).sum()
    }

    /// Whether there are no deletions.
    pub fn is_empty(&self) -> bool {
        self.by_series.is_empty()
    }

    /// Encodes the whole file.
    pub fn encode(&self) -> Vec<u8> {
        let mut entries = Encbuf::new();
        for (&series_ref, ivs) in &self.by_series {
            for iv in ivs {
                entries.put_uvarint(series_ref);
                entries.put_varint(iv.min_time);
                entries.put_varint(iv.max_time);
            }
        }
        let mut out = Encbuf::new();
        out.put_be32(MAGIC);
        out.put_byte(FORMAT_V1);
        out.put_bytes(&entries.bytes);
        out.put_be32(crc32c(&entries.bytes));
        out.bytes
    }

    /// Decodes a whole file; `path` names it in errors.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self> {
        if bytes.len() < 9 {
            return Err(Error::corrupt(path, 0, format!("file too short: {} bytes", bytes.len())));
        }
        let mut d = Decbuf::new(bytes);
        let magic = d.be32().map_err(|e| Error::decode(path, 0, e))?;
        if magic != MAGIC {
            return Err(Error::BadMagic { path: path.to_path_buf(), found: magic, want: MAGIC });
        }
        let version = d.byte().map_err(|e| Error::decode(path, 4, e))?;
        if version != FORMAT_V1 {
            return Err(Error::UnsupportedVersion { path: path.to_path_buf(), version: u32::from(version) });
        }
        let body = &bytes[5..bytes.len() - 4];
        let crc_at = bytes.len() - 4;
        let stored =
            u32::from_be_bytes([bytes[crc_at], bytes[crc_at + 1], bytes[crc_at + 2], bytes[crc_at + 3]]);
        let computed = crc32c(body);
        if stored != computed {
            return Err(Error::Checksum { path: path.to_path_buf(), offset: 5, stored, computed });
        }
        let mut t = Tombstones::new();
        let mut d = Decbuf::new(body);
        while !d.is_empty() {
            let at = 5 + d.position() as u64;
            let entry =
                (|| Ok::<_, crate::encoding::DecodeError>((d.uvarint()?, d.varint()?, d.varint()?)))();
            let (series_ref, min_time, max_time) = entry.map_err(|e| Error::decode(path, at, e))?;
            t.add(series_ref, Interval { min_time, max_time });
        }
        Ok(t)
    }

    /// Reads `dir/tombstones`; a missing file means no deletions, as in Prometheus.
    pub fn read_from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join(TOMBSTONES_FILENAME);
        match std::fs::read(&path) {
            Ok(bytes) => Self::decode(&bytes, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::new()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Writes `dir/tombstones` atomically.
    pub fn write_to_dir(&self, dir: &Path) -> Result<()> {
        let path = dir.join(TOMBSTONES_FILENAME);
        let tmp = dir.join(format!("{TOMBSTONES_FILENAME}.tmp"));
        crate::meta::write_file_synced(&tmp, &self.encode())?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_file_is_what_prometheus_writes() {
        // magic, version 1, CRC-32C of nothing (0).
        assert_eq!(Tombstones::new().encode(), [0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0]);
    }

    #[test]
    fn round_trip_and_merge() {
        let mut t = Tombstones::new();
        t.add(3, Interval { min_time: 10, max_time: 20 });
        t.add(3, Interval { min_time: 21, max_time: 30 });
        t.add(3, Interval { min_time: 100, max_time: 200 });
        t.add(1, Interval { min_time: -5, max_time: 5 });
        assert_eq!(
            t.get(3),
            &[Interval { min_time: 10, max_time: 30 }, Interval { min_time: 100, max_time: 200 }]
        );
        let back = Tombstones::decode(&t.encode(), Path::new("tombstones")).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.num_intervals(), 3);
    }

    #[test]
    fn corruption_is_reported() {
        let mut t = Tombstones::new();
        t.add(7, Interval { min_time: 1, max_time: 2 });
        let mut bytes = t.encode();
        bytes[6] ^= 0xff;
        let err = Tombstones::decode(&bytes, Path::new("b/tombstones")).unwrap_err();
        assert!(matches!(err, Error::Checksum { .. }), "{err}");
        bytes[0] = 0;
        assert!(matches!(Tombstones::decode(&bytes, Path::new("t")), Err(Error::BadMagic { .. })));
        assert!(Tombstones::decode(&bytes[..4], Path::new("t")).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes: Vec<u8>) {
            let _ = Tombstones::decode(&bytes, Path::new("t"));
        }
    }
}
