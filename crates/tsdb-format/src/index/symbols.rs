//! The symbol table, reader side: every string of the index, sorted and deduplicated.
//!
//! ```text
//! len <4b> │ #symbols <4b> │ (uvarint len · utf-8 bytes)… │ CRC32C
//! ```

use std::path::Path;

use crate::encoding::Decbuf;
use crate::{Error, Result};

/// Offsets of every symbol, decoded once when the index is opened so lookups are one seek.
#[derive(Debug, Clone)]
pub(crate) struct SymbolTable {
    /// Format version: decides whether a reference is an ordinal (2, 3) or a file offset (1).
    version: u8,
    /// File offset of the symbol table's first string.
    base: u64,
    /// Offset of each symbol's length prefix, relative to `base`. The table is at most 4 GiB.
    offsets: Vec<u32>,
}

impl SymbolTable {
    /// Parses the table whose contents (`#symbols` onward, without the CRC) start at file
    /// offset `content_start`. Validates every string.
    pub(crate) fn parse(content: &[u8], content_start: u64, version: u8, path: &Path) -> Result<Self> {
        let mut d = Decbuf::new(content);
        let count = d.be32().map_err(|e| Error::decode(path, content_start, e))?;
        let base = content_start + 4;
        // A corrupt count must not make us reserve gigabytes: each symbol takes at least a byte.
        let mut offsets = Vec::with_capacity((count as usize).min(d.len()));
        let strings_start = d.position();
        for _ in 0..count {
            let relative = d.position() - strings_start;
            let at = base + relative as u64;
            offsets.push(
                u32::try_from(relative)
                    .map_err(|_| Error::corrupt(path, at, "symbol table larger than 4 GiB"))?,
            );
            d.uvarint_str().map_err(|e| Error::decode(path, at, e))?;
        }
        Ok(Self { version, base, offsets })
    }

    /// A table without symbols, for an index whose TOC says the section is absent.
    pub(crate) fn empty(version: u8) -> Self {
        Self { version, base: 0, offsets: Vec::new() }
    }

    /// Number of symbols.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len()
    }

    /// File offset of the `index`th symbol.
    fn offset_of(&self, index: usize) -> Option<u64> {
        self.offsets.get(index).map(|&o| self.base + u64::from(o))
    }

    /// Resolves a symbol reference as the file's version defines it; `None` if it names no symbol.
    pub(crate) fn lookup<'a>(&self, file: &'a [u8], reference: u32) -> Option<&'a str> {
        let offset = if self.version == super::FORMAT_V1 {
            // Version 1 references are file offsets; accept only the start of a symbol.
            let relative = u64::from(reference).checked_sub(self.base)?;
            let relative = u32::try_from(relative).ok()?;
            self.offsets.binary_search(&relative).ok()?;
            u64::from(reference)
        } else {
            self.offset_of(reference as usize)?
        };
        Self::decode_at(file, offset)
    }

    /// The `index`th symbol in table order.
    pub(crate) fn get<'a>(&self, file: &'a [u8], index: usize) -> Option<&'a str> {
        Self::decode_at(file, self.offset_of(index)?)
    }

    fn decode_at(file: &[u8], offset: u64) -> Option<&str> {
        let start = usize::try_from(offset).ok()?;
        Decbuf::new(file.get(start..)?).uvarint_str().ok()
    }
}
