//! The table of contents: the last 52 bytes of an index.
//!
//! ```text
//! symbols <8b> │ series <8b> │ label indices <8b> │ label offset table <8b> │ postings <8b> │
//! postings offset table <8b> │ CRC32C of the 48 bytes before <4b>
//! ```

use std::path::Path;

use crate::encoding::{Decbuf, Encbuf, crc32c};
use crate::{Error, Result};

/// Size of the encoded table of contents, checksum included.
pub const TOC_LEN: usize = 6 * 8 + 4;

/// Where each section of an index starts. Sections may be preceded by padding, so a start can
/// point at zero bytes before the section proper (2.42 records the position before padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Toc {
    /// Start of the symbol table.
    pub symbols: u64,
    /// Start of the series section (before its 16-byte alignment padding).
    pub series: u64,
    /// Start of the label indices (before their 4-byte alignment padding).
    pub label_indices: u64,
    /// Start of the label offset table.
    pub label_indices_table: u64,
    /// Start of the postings lists (before their 4-byte alignment padding).
    pub postings: u64,
    /// Start of the postings offset table.
    pub postings_table: u64,
}

impl Toc {
    /// Appends the TOC and its checksum.
    pub fn encode(&self, out: &mut Encbuf) {
        let start = out.len();
        for v in [
            self.symbols,
            self.series,
            self.label_indices,
            self.label_indices_table,
            self.postings,
            self.postings_table,
        ] {
            out.put_be64(v);
        }
        let crc = crc32c(&out.bytes[start..]);
        out.put_be32(crc);
    }

    /// Reads the TOC from the end of a whole index file; `path` names the file in errors.
    pub fn decode(file: &[u8], path: &Path) -> Result<Self> {
        let Some(start) = file.len().checked_sub(TOC_LEN) else {
            return Err(Error::corrupt(
                path,
                0,
                format!("file of {} bytes is too short for a TOC", file.len()),
            ));
        };
        let (body, stored) = file[start..].split_at(TOC_LEN - 4);
        let stored = u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]);
        let computed = crc32c(body);
        if stored != computed {
            return Err(Error::Checksum { path: path.to_path_buf(), offset: start as u64, stored, computed });
        }
        let mut d = Decbuf::new(body);
        let mut next = || d.be64().map_err(|e| Error::decode(path, start as u64, e));
        Ok(Self {
            symbols: next()?,
            series: next()?,
            label_indices: next()?,
            label_indices_table: next()?,
            postings: next()?,
            postings_table: next()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checksum() {
        let toc = Toc {
            symbols: 5,
            series: 24,
            label_indices: 82,
            label_indices_table: 136,
            postings: 104,
            postings_table: 155,
        };
        let mut e = Encbuf::new();
        e.put_bytes(b"prefix");
        toc.encode(&mut e);
        assert_eq!(e.len(), 6 + TOC_LEN);
        let path = Path::new("index");
        assert_eq!(Toc::decode(&e.bytes, path).ok(), Some(toc));
        let mut bad = e.bytes.clone();
        bad[10] ^= 1;
        assert!(matches!(Toc::decode(&bad, path), Err(Error::Checksum { offset: 6, .. })));
        assert!(matches!(Toc::decode(&bad[..20], path), Err(Error::Corrupt { .. })));
    }
}
