//! Reading an index-header: label names and values, symbols, and where each postings list lives
//! in the original index.
//!
//! Opening validates the magic, version, both TOCs and the CRC32C of the symbol table and the
//! postings offset table, so a damaged file fails fast with a typed [`Error`] naming the file and
//! offset (the caller deletes and rebuilds it). In memory stay the symbol table and, per label
//! name, every `sampling`-th postings offset table entry plus the name's first and last value
//! (Thanos' `--store.index-header-posting-offsets-in-mem-sampling`); the entries in between are
//! read from the file on demand with positioned reads. An index in format version 1 has an
//! unsorted table, so its ranges are all kept, as Thanos does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::source::{FileSource, MemorySource, RangeSource};
use super::{
    BINARY_FORMAT_V1, BINARY_TOC_LEN, CRC_LEN, HEADER_LEN, MAGIC_INDEX_HEADER, POSTING_LENGTH_FIELD_SIZE,
};
use crate::encoding::{Decbuf, DecodeError, crc32c};
use crate::index::{FORMAT_V1, FORMAT_V2, Postings, SeriesRef, TOC_LEN, Toc};
use crate::{Error, Result};

/// Thanos' default: keep every 32nd postings offset table entry of a label name in memory.
pub const DEFAULT_POSTINGS_SAMPLING: usize = 32;

/// One in-memory entry of the postings offset table.
#[derive(Debug)]
struct Sample {
    value: Box<str>,
    /// Offset of the entry in the table's contents (which start with the entry count).
    table_off: u64,
    /// Offset of the entry's postings list in the index.
    postings_off: u64,
}

/// The sampled entries of one label name (format version 2).
#[derive(Debug)]
struct NameSamples {
    name: Box<str>,
    /// Entries 0, n, 2n, … and the last one; never empty.
    samples: Vec<Sample>,
    /// Table offset just past the name's last entry.
    span_end: u64,
    /// End (exclusive) of the last value's postings range.
    last_end: u64,
}

/// Format version 1 ranges: name → value → `(start, end)` in the index.
type V1Ranges = BTreeMap<Box<str>, BTreeMap<Box<str>, (u64, u64)>>;

#[derive(Debug)]
enum PostingsIndex {
    /// Format version 1: name → value → range, all of them.
    V1(V1Ranges),
    /// Format version 2: sampled entries per name, sorted by name.
    V2(Vec<NameSamples>),
}

/// The symbol table, held in memory.
#[derive(Debug, Default)]
struct Symbols {
    /// The symbols' encoded strings (uvarint length · bytes), back to back.
    data: Vec<u8>,
    /// Offset of each symbol in `data`.
    offsets: Vec<u32>,
    /// Offset of `data` in the original index: version 1 references are index offsets.
    index_base: u64,
}

/// One decoded postings offset table entry.
struct Entry<'a> {
    name: &'a str,
    value: &'a str,
    postings_off: u64,
}

/// An opened index-header.
pub struct IndexHeaderReader {
    path: PathBuf,
    source: Box<dyn RangeSource + Send + Sync>,
    size: u64,
    index_version: u8,
    index_toc: Toc,
    /// Offset of the postings offset table in this file.
    table_off: u64,
    symbols: Symbols,
    postings: PostingsIndex,
    sampling: usize,
}

impl std::fmt::Debug for IndexHeaderReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexHeaderReader")
            .field("path", &self.path)
            .field("size", &self.size)
            .field("index_version", &self.index_version)
            .field("index_toc", &self.index_toc)
            .field("sampling", &self.sampling)
            .finish_non_exhaustive()
    }
}

fn be32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

fn be64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

impl IndexHeaderReader {
    /// Opens the index-header file at `path` with the default sampling.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open_with_sampling(path, DEFAULT_POSTINGS_SAMPLING)
    }

    /// Opens the index-header file at `path`, keeping every `sampling`-th entry in memory.
    pub fn open_with_sampling(path: impl Into<PathBuf>, sampling: usize) -> Result<Self> {
        Self::from_source(FileSource::open(path)?, sampling)
    }

    /// Opens an index-header held in memory; `path` names it in errors.
    pub fn from_bytes(data: Vec<u8>, path: impl Into<PathBuf>, sampling: usize) -> Result<Self> {
        Self::from_source(MemorySource::new(data, path), sampling)
    }

    /// Opens an index-header read through `source`.
    pub fn from_source(source: impl RangeSource + Send + Sync + 'static, sampling: usize) -> Result<Self> {
        if sampling == 0 {
            return Err(Error::InvalidInput("postings offset sampling must be at least 1".to_owned()));
        }
        let path = source.path().to_path_buf();
        let size = source.size()?;
        let min = (HEADER_LEN + BINARY_TOC_LEN + TOC_LEN) as u64;
        if size < min {
            return Err(Error::corrupt(
                &path,
                0,
                format!("index-header of {size} bytes is shorter than {min}"),
            ));
        }

        // Header.
        let header = source.read_range(0, HEADER_LEN as u64)?;
        let magic = be32(&header);
        if magic != MAGIC_INDEX_HEADER {
            return Err(Error::BadMagic { path, found: magic, want: MAGIC_INDEX_HEADER });
        }
        if header[4] != BINARY_FORMAT_V1 {
            return Err(Error::UnsupportedVersion { path, version: u32::from(header[4]) });
        }
        let index_version = header[5];
        if index_version != FORMAT_V1 && index_version != FORMAT_V2 {
            return Err(Error::corrupt(&path, 5, format!("unsupported index version {index_version}")));
        }
        let index_postings_table = be64(&header[6..]);

        // The index-header's TOC.
        let toc_at = size - BINARY_TOC_LEN as u64;
        let toc = source.read_range(toc_at, BINARY_TOC_LEN as u64)?;
        let (stored, computed) = (be32(&toc[16..]), crc32c(&toc[..16]));
        if stored != computed {
            return Err(Error::Checksum { path, offset: toc_at, stored, computed });
        }
        let (symbols_off, table_off) = (be64(&toc), be64(&toc[8..]));

        // The index's TOC, copied just before ours.
        let index_toc_at = toc_at - TOC_LEN as u64;
        if !(HEADER_LEN as u64 <= symbols_off && symbols_off <= table_off && table_off <= index_toc_at) {
            return Err(Error::corrupt(
                &path,
                toc_at,
                format!("TOC offsets {symbols_off} and {table_off} do not fit a file of {size} bytes"),
            ));
        }
        let index_toc_bytes = source.read_range(index_toc_at, TOC_LEN as u64)?;
        let (stored, computed) =
            (be32(&index_toc_bytes[TOC_LEN - 4..]), crc32c(&index_toc_bytes[..TOC_LEN - 4]));
        if stored != computed {
            return Err(Error::Checksum { path, offset: index_toc_at, stored, computed });
        }
        let index_toc = Toc::decode(&index_toc_bytes, &path)?;
        if index_toc.postings_table != index_postings_table
            || index_toc.series.checked_sub(index_toc.symbols) != Some(table_off - symbols_off)
        {
            return Err(Error::corrupt(
                &path,
                6,
                format!(
                    "header (postings table at {index_postings_table}, symbols of {} bytes) disagrees with the index TOC {index_toc:?}",
                    table_off - symbols_off
                ),
            ));
        }

        let mut reader = Self {
            path,
            source: Box::new(source),
            size,
            index_version,
            index_toc,
            table_off,
            symbols: Symbols::default(),
            postings: PostingsIndex::V2(Vec::new()),
            sampling,
        };
        reader.symbols = reader.load_symbols(symbols_off, table_off)?;
        let table = reader.section(table_off, index_toc_at, "postings offset table")?;
        reader.postings = reader.load_postings(&table)?;
        Ok(reader)
    }

    /// Reads a `len <4b> · contents · CRC32C` section at `offset` that must end by `limit`;
    /// returns the checked contents.
    fn section(&self, offset: u64, limit: u64, what: &str) -> Result<Vec<u8>> {
        let len_bytes = self.read(offset, 4)?;
        let len = u64::from(be32(&len_bytes));
        let end = offset + 4 + len + CRC_LEN;
        if end > limit {
            return Err(Error::corrupt(
                &self.path,
                offset,
                format!("{what} of {len} bytes runs past {limit}"),
            ));
        }
        let mut contents = self.read(offset + 4, len + CRC_LEN)?;
        let crc = contents.split_off(contents.len() - CRC_LEN as usize);
        let (stored, computed) = (be32(&crc), crc32c(&contents));
        if stored != computed {
            return Err(Error::Checksum { path: self.path.clone(), offset, stored, computed });
        }
        Ok(contents)
    }

    fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.source.read_range(offset, len)
    }

    fn load_symbols(&self, symbols_off: u64, limit: u64) -> Result<Symbols> {
        let mut contents = self.section(symbols_off, limit, "symbol table")?;
        let strings_at = symbols_off + 8;
        let mut d = Decbuf::new(&contents);
        let count = d.be32().map_err(|e| Error::decode(&self.path, symbols_off + 4, e))?;
        let strings = d.remaining();
        let mut d = Decbuf::new(strings);
        let mut offsets = Vec::with_capacity((count as usize).min(strings.len()));
        for _ in 0..count {
            let at = d.position();
            d.uvarint_str().map_err(|e| Error::decode(&self.path, strings_at + at as u64, e))?;
            // The section's length is a u32, so positions inside it fit too.
            offsets.push(at as u32);
        }
        let used = d.position();
        contents.drain(..4);
        contents.truncate(used);
        contents.shrink_to_fit();
        Ok(Symbols { data: contents, offsets, index_base: self.index_toc.symbols + 8 })
    }

    /// Decodes one table entry; `at` is its offset in the table contents, for errors.
    fn entry<'a>(&self, d: &mut Decbuf<'a>, at: u64) -> Result<Entry<'a>> {
        let file_at = self.table_off + 4 + at;
        let err =
            |d: &Decbuf<'_>, e: DecodeError| Error::decode(&self.path, file_at + d.position() as u64, e);
        let start = d.position();
        let keys = d.uvarint().map_err(|e| err(d, e))?;
        if keys != 2 {
            return Err(Error::corrupt(
                &self.path,
                file_at,
                format!("postings offset entry with {keys} keys, want 2"),
            ));
        }
        let name = d.uvarint_str().map_err(|e| err(d, e))?;
        let value = d.uvarint_str().map_err(|e| err(d, e))?;
        let postings_off = d.uvarint().map_err(|e| err(d, e))?;
        debug_assert!(d.position() > start);
        Ok(Entry { name, value, postings_off })
    }

    fn load_postings(&self, table: &[u8]) -> Result<PostingsIndex> {
        let index_end = self.index_toc.postings_table;
        let mut d = Decbuf::new(table);
        let mut remaining = d.be32().map_err(|e| Error::decode(&self.path, self.table_off + 4, e))?;
        // (name, value, postings offset, table offset) in table order.
        let mut entries: Vec<(&str, &str, u64, u64)> = Vec::new();
        // Like Prometheus, stop at the count or at the end of the table, whichever comes first.
        while remaining > 0 && !d.is_empty() {
            let at = d.position() as u64;
            let e = self.entry(&mut d, at)?;
            // Lists are laid out in table order, each at least 12 bytes (len, count, CRC).
            let min =
                entries.last().map_or(crate::index::HEADER_LEN as u64, |l| l.2.saturating_add(2 * CRC_LEN));
            if e.postings_off < min {
                return Err(Error::corrupt(
                    &self.path,
                    self.table_off + 4 + at,
                    format!("postings offset {} not after the previous list", e.postings_off),
                ));
            }
            if self.index_version != FORMAT_V1
                && entries.last().is_some_and(|l| (l.0, l.1) >= (e.name, e.value))
            {
                return Err(Error::corrupt(
                    &self.path,
                    self.table_off + 4 + at,
                    format!("postings offset table not sorted at {:?}={:?}", e.name, e.value),
                ));
            }
            entries.push((e.name, e.value, e.postings_off, at));
            remaining -= 1;
        }
        if let Some(last) = entries.last()
            && last.2.saturating_add(2 * CRC_LEN) > index_end
        {
            return Err(Error::corrupt(
                &self.path,
                self.table_off + 4 + last.3,
                format!("postings offset {} not before the postings offset table at {index_end}", last.2),
            ));
        }
        let table_end = d.position() as u64;
        let range_of = |i: usize| {
            let start = entries[i].2 + POSTING_LENGTH_FIELD_SIZE;
            let next = entries.get(i + 1).map_or(index_end, |n| n.2);
            (start, next - CRC_LEN)
        };

        if self.index_version == FORMAT_V1 {
            let mut map = V1Ranges::new();
            for (i, &(name, value, _, _)) in entries.iter().enumerate() {
                let values = map.entry(name.into()).or_default();
                // Thanos records the last entry's range only when its name is not empty.
                if i + 1 < entries.len() || !name.is_empty() {
                    values.insert(value.into(), range_of(i));
                }
            }
            return Ok(PostingsIndex::V1(map));
        }

        let mut names: Vec<NameSamples> = Vec::new();
        let mut i = 0;
        while i < entries.len() {
            let name = entries[i].0;
            let count = entries[i..].iter().take_while(|e| e.0 == name).count();
            let group = &entries[i..i + count];
            let mut samples: Vec<Sample> = group
                .iter()
                .enumerate()
                .filter(|(k, _)| k % self.sampling == 0 || k + 1 == count)
                .map(|(_, e)| Sample { value: e.1.into(), table_off: e.3, postings_off: e.2 })
                .collect();
            samples.shrink_to_fit();
            let span_end = entries.get(i + count).map_or(table_end, |n| n.3);
            names.push(NameSamples {
                name: name.into(),
                samples,
                span_end,
                last_end: range_of(i + count - 1).1,
            });
            i += count;
        }
        Ok(PostingsIndex::V2(names))
    }

    /// Reads and decodes the table entries in `[from, to)` (table content offsets).
    fn read_entries(&self, from: u64, to: u64) -> Result<Vec<(String, u64)>> {
        let bytes = self.read(self.table_off + 4 + from, to - from)?;
        let mut d = Decbuf::new(&bytes);
        let mut out = Vec::new();
        while !d.is_empty() {
            let at = from + d.position() as u64;
            let e = self.entry(&mut d, at)?;
            out.push((e.value.to_owned(), e.postings_off));
        }
        Ok(out)
    }

    fn name_samples(&self, names: &[NameSamples], name: &str) -> Option<usize> {
        names.binary_search_by(|n| (*n.name).cmp(name)).ok()
    }

    /// The index's format version (1 or 2).
    pub fn index_version(&self) -> u8 {
        self.index_version
    }

    /// The original index's TOC (for the series section's bounds, among others).
    pub fn index_toc(&self) -> Toc {
        self.index_toc
    }

    /// Offset of the postings offset table in the original index; the last postings list ends
    /// before it.
    pub fn index_postings_table_offset(&self) -> u64 {
        self.index_toc.postings_table
    }

    /// Size of the index-header file in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The path given when opening, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many postings offset table entries per name are kept in memory: one in `sampling`.
    pub fn sampling(&self) -> usize {
        self.sampling
    }

    /// Number of symbols in the symbol table.
    pub fn num_symbols(&self) -> usize {
        self.symbols.offsets.len()
    }

    /// The string a symbol reference names: an ordinal, or in index format version 1 the
    /// symbol's byte offset in the original index.
    pub fn lookup_symbol(&self, reference: u32) -> Result<&str> {
        let s = &self.symbols;
        let offset = if self.index_version == FORMAT_V1 {
            u64::from(reference)
                .checked_sub(s.index_base)
                .and_then(|rel| u32::try_from(rel).ok())
                .filter(|rel| s.offsets.binary_search(rel).is_ok())
        } else {
            s.offsets.get(reference as usize).copied()
        };
        offset.and_then(|o| Decbuf::new(s.data.get(o as usize..)?).uvarint_str().ok()).ok_or_else(|| {
            Error::OutOfRange {
                path: self.path.clone(),
                reference: u64::from(reference),
                offset: HEADER_LEN as u64,
            }
        })
    }

    /// All label names, sorted, without the all-postings key `""`.
    pub fn label_names(&self) -> Vec<String> {
        match &self.postings {
            PostingsIndex::V1(map) => map.keys().filter(|n| !n.is_empty()).map(|n| n.to_string()).collect(),
            PostingsIndex::V2(names) => {
                names.iter().filter(|n| !n.name.is_empty()).map(|n| n.name.to_string()).collect()
            }
        }
    }

    /// The values of label `name`, sorted; empty if the name is absent. Reads the name's part of
    /// the postings offset table from the file.
    pub fn label_values(&self, name: &str) -> Result<Vec<String>> {
        match &self.postings {
            PostingsIndex::V1(map) => {
                Ok(map.get(name).map(|v| v.keys().map(|k| k.to_string()).collect()).unwrap_or_default())
            }
            PostingsIndex::V2(names) => {
                let Some(i) = self.name_samples(names, name) else {
                    return Ok(Vec::new());
                };
                let n = &names[i];
                let from = n.samples.first().map_or(n.span_end, |s| s.table_off);
                Ok(self.read_entries(from, n.span_end)?.into_iter().map(|(v, _)| v).collect())
            }
        }
    }

    /// The byte range `[start, end)` of the postings list of `name="value"` inside the original
    /// index, starting at the list's entry count (past its length field). The range may run a
    /// few bytes past the list (always for the last one, which ends 4 bytes before the postings
    /// offset table). `None` if the pair is not in the index.
    pub fn postings_range(&self, name: &str, value: &str) -> Result<Option<(u64, u64)>> {
        let names = match &self.postings {
            PostingsIndex::V1(map) => return Ok(map.get(name).and_then(|v| v.get(value)).copied()),
            PostingsIndex::V2(names) => names,
        };
        let Some(n) = self.name_samples(names, name) else {
            return Ok(None);
        };
        let n = &names[n];
        let samples = &n.samples;
        let i = samples.partition_point(|s| &*s.value < value);
        let j = match samples.get(i) {
            None => return Ok(None),
            Some(s) if &*s.value == value => {
                if i + 1 == samples.len() {
                    return Ok(Some((s.postings_off + POSTING_LENGTH_FIELD_SIZE, n.last_end)));
                }
                i
            }
            Some(_) if i == 0 => return Ok(None),
            Some(_) => i - 1,
        };
        // Entries from sample j up to sample j + 1, which bounds the wanted one's range.
        let (first, next) = (&samples[j], &samples[j + 1]);
        let window = self.read_entries(first.table_off, next.table_off)?;
        let Some(k) = window.iter().position(|(v, _)| v == value) else {
            return Ok(None);
        };
        let start = window[k].1.saturating_add(POSTING_LENGTH_FIELD_SIZE);
        let next_off = window.get(k + 1).map_or(next.postings_off, |e| e.1);
        match next_off.checked_sub(CRC_LEN).filter(|&end| end >= start) {
            Some(end) => Ok(Some((start, end))),
            // Checked at open, so the file changed since.
            None => Err(Error::corrupt(
                &self.path,
                self.table_off + 4 + first.table_off,
                format!("postings offsets {} and {next_off} out of order", window[k].1),
            )),
        }
    }

    /// [`Self::postings_range`] for several values of one name.
    pub fn postings_ranges(&self, name: &str, values: &[&str]) -> Result<Vec<Option<(u64, u64)>>> {
        values.iter().map(|v| self.postings_range(name, v)).collect()
    }
}

/// Decodes the bytes of a range returned by [`IndexHeaderReader::postings_range`], read from
/// the index: `#refs <4b> · refs <4b>…`, ignoring anything after the refs. `path` and `offset`
/// (the range's start in the index) name the data in errors.
pub fn decode_postings_range(bytes: &[u8], path: &Path, offset: u64) -> Result<Postings> {
    let mut d = Decbuf::new(bytes);
    let count = d.be32().map_err(|e| Error::decode(path, offset, e))?;
    let refs = u64::from(count)
        .checked_mul(4)
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| d.remaining().get(..n))
        .ok_or_else(|| {
            Error::corrupt(path, offset, format!("postings list of {count} entries has {} bytes", d.len()))
        })?;
    let mut out = Vec::with_capacity(count as usize);
    for c in refs.chunks_exact(4) {
        let r = SeriesRef(u64::from(be32(c)));
        if out.last().is_some_and(|&l| l >= r) {
            return Err(Error::corrupt(path, offset, "postings list not strictly increasing"));
        }
        out.push(r);
    }
    Ok(Postings::from_sorted(out))
}
