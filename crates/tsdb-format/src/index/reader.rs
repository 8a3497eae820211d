//! Reads an index file in format version 1, 2 or 3.
//!
//! Opening checks the header and the TOC, decodes the symbol table and the postings offset
//! table; series and postings lists are decoded (and their checksums checked) on demand.
//! Every failure is a typed [`Error`] naming the file and the offset, never a panic.

use std::path::{Path, PathBuf};

use super::postings::Postings;
use super::symbols::SymbolTable;
use super::toc::Toc;
use super::{
    ChunkMeta, FORMAT_V1, FORMAT_V2, FORMAT_V3, HEADER_LEN, MAGIC_INDEX, SERIES_ALIGNMENT, SeriesRef,
};
use crate::chunks::ChunkRef;
use crate::encoding::{Decbuf, DecodeError, crc32c};
use crate::{Error, Label, Labels, Result};

/// The bytes of an index file. A small seam: today the whole file in memory, later a ranged
/// reader over object storage.
#[derive(Debug)]
struct IndexBytes {
    data: Vec<u8>,
}

impl IndexBytes {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    /// `len` bytes from `start`, or `None` past the end.
    fn range(&self, start: u64, len: u64) -> Option<&[u8]> {
        let start = usize::try_from(start).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.data.get(start..end)
    }

    fn all(&self) -> &[u8] {
        &self.data
    }
}

/// One entry of the postings offset table, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostingsOffsetEntry {
    /// Label name (`""` for the all-postings list).
    pub name: String,
    /// Label value (`""` for the all-postings list).
    pub value: String,
    /// File offset of the postings list.
    pub offset: u64,
}

/// One label name with its values and the offsets of their postings lists, values sorted.
#[derive(Debug)]
struct NameEntry {
    name: Box<str>,
    values: Vec<(Box<str>, u64)>,
}

/// Reads series, symbols and postings of one index file.
#[derive(Debug)]
pub struct IndexReader {
    path: PathBuf,
    bytes: IndexBytes,
    version: u8,
    toc: Toc,
    symbols: SymbolTable,
    /// Label names sorted, including the all-postings key `""`.
    names: Vec<NameEntry>,
}

impl IndexReader {
    /// Reads the whole file at `path` into memory and opens it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(data, path)
    }

    /// Opens an index held in memory; `path` names it in errors.
    pub fn from_bytes(data: Vec<u8>, path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        if data.len() < HEADER_LEN {
            return Err(Error::corrupt(
                &path,
                0,
                format!("file of {} bytes is too short for a header", data.len()),
            ));
        }
        let magic = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        if magic != MAGIC_INDEX {
            return Err(Error::BadMagic { path, found: magic, want: MAGIC_INDEX });
        }
        let version = data[4];
        if !matches!(version, FORMAT_V1 | FORMAT_V2 | FORMAT_V3) {
            return Err(Error::UnsupportedVersion { path, version: u32::from(version) });
        }
        let toc = Toc::decode(&data, &path)?;
        let mut reader = Self {
            path,
            bytes: IndexBytes { data },
            version,
            toc,
            symbols: SymbolTable::empty(version),
            names: Vec::new(),
        };
        // A zero TOC entry means the section is absent.
        if toc.symbols != 0 {
            let contents = reader.section(toc.symbols, "symbol table")?;
            reader.symbols = SymbolTable::parse(contents, toc.symbols + 4, version, &reader.path)?;
        }
        reader.names = reader.load_postings_table()?;
        Ok(reader)
    }

    /// The file format version (1, 2 or 3).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The table of contents.
    pub fn toc(&self) -> Toc {
        self.toc
    }

    /// Size of the index file in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len()
    }

    /// The path given when opening, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of symbols in the symbol table.
    pub fn num_symbols(&self) -> usize {
        self.symbols.len()
    }

    /// The symbols in table order (sorted).
    pub fn symbols(&self) -> impl Iterator<Item = Result<&str>> + '_ {
        (0..self.symbols.len()).map(move |i| {
            self.symbols.get(self.bytes.all(), i).ok_or_else(|| Error::OutOfRange {
                path: self.path.clone(),
                reference: i as u64,
                offset: self.toc.symbols,
            })
        })
    }

    /// The string a symbol reference names (an ordinal; a file offset in format version 1).
    pub fn lookup_symbol(&self, reference: u32) -> Result<&str> {
        self.symbols.lookup(self.bytes.all(), reference).ok_or_else(|| Error::OutOfRange {
            path: self.path.clone(),
            reference: u64::from(reference),
            offset: self.toc.symbols,
        })
    }

    /// All label names, sorted, without the all-postings key.
    pub fn label_names(&self) -> Vec<String> {
        self.names.iter().filter(|n| !n.name.is_empty()).map(|n| n.name.to_string()).collect()
    }

    /// The values of label `name`, sorted; empty if the name is absent.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.name_entry(name)
            .map(|e| e.values.iter().map(|(v, _)| v.to_string()).collect())
            .unwrap_or_default()
    }

    /// The series having label `name="value"`; empty if there are none.
    pub fn postings(&self, name: &str, value: &str) -> Result<Postings> {
        let Some(entry) = self.name_entry(name) else {
            return Ok(Postings::empty());
        };
        match entry.values.binary_search_by(|(v, _)| (**v).cmp(value)) {
            Ok(i) => self.read_postings(entry.values[i].1),
            Err(_) => Ok(Postings::empty()),
        }
    }

    /// Every series of the index.
    pub fn all_postings(&self) -> Result<Postings> {
        self.postings("", "")
    }

    /// The postings offset table in file order, for building an index-header.
    pub fn postings_offset_table(&self) -> Result<Vec<PostingsOffsetEntry>> {
        let mut out = Vec::new();
        self.walk_postings_table(|name, value, offset| {
            out.push(PostingsOffsetEntry { name: name.to_owned(), value: value.to_owned(), offset });
        })?;
        Ok(out)
    }

    /// The labels and chunk metas of a series. Fails if the stored labels are not sorted by name.
    pub fn series(&self, series: SeriesRef) -> Result<(Labels, Vec<ChunkMeta>)> {
        let mut labels = Vec::new();
        let mut chunks = Vec::new();
        self.series_into(series, &mut labels, &mut chunks)?;
        if !labels.windows(2).all(|w| w[0].name < w[1].name) {
            return Err(Error::corrupt(
                &self.path,
                self.series_offset(series)?,
                "series labels not sorted by name",
            ));
        }
        Ok((Labels::from_sorted(labels), chunks))
    }

    /// Decodes a series into caller-owned buffers, reusing their allocations (strings included).
    /// Labels come as stored, sorted or not, so health checks can see what is on disk.
    pub fn series_into(
        &self,
        series: SeriesRef,
        labels: &mut Vec<Label>,
        chunks: &mut Vec<ChunkMeta>,
    ) -> Result<()> {
        chunks.clear();
        let offset = self.series_offset(series)?;
        let (body, body_offset) = self.series_entry(offset)?;
        let err =
            |d: &Decbuf<'_>, e: DecodeError| Error::decode(&self.path, body_offset + d.position() as u64, e);
        let mut d = Decbuf::new(body);

        let num_labels = d.uvarint().map_err(|e| err(&d, e))?;
        let mut filled = 0;
        while filled as u64 != num_labels {
            let name_ref = d.uvarint32().map_err(|e| err(&d, e))?;
            let value_ref = d.uvarint32().map_err(|e| err(&d, e))?;
            let name = self.series_symbol(name_ref, offset)?;
            let value = self.series_symbol(value_ref, offset)?;
            match labels.get_mut(filled) {
                Some(l) => {
                    l.name.clear();
                    l.name.push_str(name);
                    l.value.clear();
                    l.value.push_str(value);
                }
                None => labels.push(Label::new(name, value)),
            }
            filled += 1;
        }
        labels.truncate(filled);

        let num_chunks = d.uvarint().map_err(|e| err(&d, e))?;
        if num_chunks == 0 {
            return Ok(());
        }
        // Go's arithmetic wraps; ours must not panic on hostile deltas either.
        let mut min_time = d.varint().map_err(|e| err(&d, e))?;
        let mut max_time = (d.uvarint().map_err(|e| err(&d, e))? as i64).wrapping_add(min_time);
        let mut chunk_ref = d.uvarint().map_err(|e| err(&d, e))? as i64;
        chunks.push(ChunkMeta::new(min_time, max_time, ChunkRef(chunk_ref as u64)));
        for _ in 1..num_chunks {
            min_time = (d.uvarint().map_err(|e| err(&d, e))? as i64).wrapping_add(max_time);
            max_time = (d.uvarint().map_err(|e| err(&d, e))? as i64).wrapping_add(min_time);
            chunk_ref = chunk_ref.wrapping_add(d.varint().map_err(|e| err(&d, e))?);
            chunks.push(ChunkMeta::new(min_time, max_time, ChunkRef(chunk_ref as u64)));
        }
        Ok(())
    }

    /// File offset of a series entry.
    fn series_offset(&self, series: SeriesRef) -> Result<u64> {
        let offset =
            if self.version == FORMAT_V1 { Some(series.0) } else { series.0.checked_mul(SERIES_ALIGNMENT) };
        match offset {
            Some(o) if o >= HEADER_LEN as u64 && o < self.bytes.len() => Ok(o),
            _ => Err(Error::OutOfRange {
                path: self.path.clone(),
                reference: series.0,
                offset: self.toc.series,
            }),
        }
    }

    fn series_symbol(&self, reference: u32, series_offset: u64) -> Result<&str> {
        self.symbols.lookup(self.bytes.all(), reference).ok_or_else(|| Error::OutOfRange {
            path: self.path.clone(),
            reference: u64::from(reference),
            offset: series_offset,
        })
    }

    /// A series entry at `offset`: `uvarint len · body · CRC32C(body)`. Returns the checked body
    /// and its file offset.
    fn series_entry(&self, offset: u64) -> Result<(&[u8], u64)> {
        let head = self.bytes.range(offset, (self.bytes.len() - offset).min(5)).unwrap_or_default();
        let mut d = Decbuf::new(head);
        let len = d.uvarint().map_err(|e| Error::decode(&self.path, offset, e))?;
        let body_offset = offset + d.position() as u64;
        self.checked_bytes(body_offset, len, offset).map(|b| (b, body_offset))
    }

    /// A `len <4b> · contents · CRC32C` section at `offset`; returns the checked contents.
    fn section(&self, offset: u64, what: &str) -> Result<&[u8]> {
        let Some(len) = self.bytes.range(offset, 4) else {
            return Err(Error::OutOfRange { path: self.path.clone(), reference: offset, offset });
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        self.checked_bytes(offset + 4, u64::from(len), offset).map_err(|e| match e {
            Error::Corrupt { path, offset, reason } => {
                Error::Corrupt { path, offset, reason: format!("{what}: {reason}") }
            }
            other => other,
        })
    }

    /// `len` bytes at `start` followed by their CRC32C, checked.
    fn checked_bytes(&self, start: u64, len: u64, entry_offset: u64) -> Result<&[u8]> {
        let Some(with_crc) = len.checked_add(4).and_then(|n| self.bytes.range(start, n)) else {
            return Err(Error::corrupt(
                &self.path,
                entry_offset,
                format!("length {len} runs past the end of the file ({} bytes)", self.bytes.len()),
            ));
        };
        let (contents, crc) = with_crc.split_at(with_crc.len() - 4);
        let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let computed = crc32c(contents);
        if stored != computed {
            return Err(Error::Checksum { path: self.path.clone(), offset: entry_offset, stored, computed });
        }
        Ok(contents)
    }

    /// Decodes the postings list at `offset`: `len · #refs · refs <4b>… · CRC`.
    fn read_postings(&self, offset: u64) -> Result<Postings> {
        let contents = self.section(offset, "postings list")?;
        let mut d = Decbuf::new(contents);
        let count = d.be32().map_err(|e| Error::decode(&self.path, offset + 4, e))?;
        if d.len() as u64 != u64::from(count) * 4 {
            return Err(Error::corrupt(
                &self.path,
                offset,
                format!("postings list of {count} entries has {} bytes", d.len()),
            ));
        }
        let mut refs = Vec::with_capacity(count as usize);
        let mut last = None;
        for chunk in d.remaining().chunks_exact(4) {
            let r = u64::from(u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
            if last.is_some_and(|l| l >= r) {
                return Err(Error::corrupt(&self.path, offset, "postings list not strictly increasing"));
            }
            last = Some(r);
            refs.push(SeriesRef(r));
        }
        Ok(Postings::from_sorted(refs))
    }

    fn name_entry(&self, name: &str) -> Option<&NameEntry> {
        self.names.binary_search_by(|e| (*e.name).cmp(name)).ok().map(|i| &self.names[i])
    }

    /// Calls `f(name, value, postings offset)` for every postings offset table entry, in file order.
    fn walk_postings_table(&self, mut f: impl FnMut(&str, &str, u64)) -> Result<()> {
        let table = self.toc.postings_table;
        if table == 0 {
            return Ok(());
        }
        let contents = self.section(table, "postings offset table")?;
        let err =
            |d: &Decbuf<'_>, e: DecodeError| Error::decode(&self.path, table + 4 + d.position() as u64, e);
        let mut d = Decbuf::new(contents);
        let mut remaining = d.be32().map_err(|e| err(&d, e))?;
        // Like 2.42, stop at the count or at the end of the table, whichever comes first.
        while remaining > 0 && !d.is_empty() {
            let entry_offset = table + 4 + d.position() as u64;
            let keys = d.uvarint().map_err(|e| err(&d, e))?;
            if keys != 2 {
                return Err(Error::corrupt(
                    &self.path,
                    entry_offset,
                    format!("postings offset entry with {keys} keys, want 2"),
                ));
            }
            let name = d.uvarint_str().map_err(|e| err(&d, e))?;
            let value = d.uvarint_str().map_err(|e| err(&d, e))?;
            let offset = d.uvarint().map_err(|e| err(&d, e))?;
            f(name, value, offset);
            remaining -= 1;
        }
        Ok(())
    }

    /// Groups the postings offset table by name. Version 1 tables are unsorted, so sort always
    /// (a sorted table sorts in linear time).
    fn load_postings_table(&self) -> Result<Vec<NameEntry>> {
        let mut entries: Vec<(Box<str>, Box<str>, u64)> = Vec::new();
        self.walk_postings_table(|name, value, offset| entries.push((name.into(), value.into(), offset)))?;
        entries.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        entries.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
        let mut names: Vec<NameEntry> = Vec::new();
        for (name, value, offset) in entries {
            match names.last_mut() {
                Some(last) if last.name == name => last.values.push((value, offset)),
                _ => names.push(NameEntry { name, values: vec![(value, offset)] }),
            }
        }
        Ok(names)
    }
}
