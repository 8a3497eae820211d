//! Writes an index file byte for byte as Prometheus 2.42's `index.Writer` does.
//!
//! Calls follow the file's order: symbols (sorted), then series (sorted by label set), then
//! [`IndexWriter::finish`] writes label indices, postings, the label offset table, the postings
//! offset table and the TOC. Postings are gathered in memory while series are added.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::toc::Toc;
use super::{ChunkMeta, FORMAT_V2, HEADER_LEN, MAGIC_INDEX, SERIES_ALIGNMENT, SeriesRef};
use crate::encoding::{Encbuf, crc32c};
use crate::{Error, Labels, Result};

/// Buffered output that knows its position, for offsets and padding.
#[derive(Debug)]
struct Output {
    file: BufWriter<File>,
    pos: u64,
    path: PathBuf,
}

impl Output {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file.write_all(bytes).map_err(|e| Error::io(&self.path, e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// Writes zeros until the position is a multiple of `align`.
    fn pad(&mut self, align: u64) -> Result<()> {
        let rem = self.pos % align;
        if rem == 0 {
            return Ok(());
        }
        const ZEROS: [u8; 16] = [0; 16];
        self.write(&ZEROS[..(align - rem) as usize])
    }

    /// Writes a `len <4b> · contents · CRC32C(contents)` section.
    fn write_section(&mut self, contents: &[u8], what: &str) -> Result<()> {
        let len = u32::try_from(contents.len())
            .map_err(|_| Error::InvalidInput(format!("{what} of {} bytes exceeds 4 GiB", contents.len())))?;
        self.write(&len.to_be_bytes())?;
        self.write(contents)?;
        self.write(&crc32c(contents).to_be_bytes())
    }
}

/// The postings of one label name: (value ref, series IDs), sorted by value.
type ValuePostings = Vec<(u32, Vec<u32>)>;

/// Which list a postings offset table entry names: `None` for all postings, else
/// (name ref, value ref).
type PostingsKey = Option<(u32, u32)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Symbols,
    Series,
}

/// Builds an index file in format version 2.
#[derive(Debug)]
pub struct IndexWriter {
    out: Output,
    stage: Stage,
    toc: Toc,
    /// All symbols, sorted; a symbol's reference is its position here.
    symbols: Vec<String>,
    /// The encoded strings of the symbol table, written when the first series arrives.
    symbol_bytes: Encbuf,
    last_series: Labels,
    /// Every series ID in order: the all-postings list.
    all_series: Vec<u32>,
    /// Label name ref → label value ref → series IDs.
    postings: HashMap<u32, HashMap<u32, Vec<u32>>>,
    // Reusable buffers.
    label_refs: Vec<(u32, u32)>,
    body: Encbuf,
    head: Encbuf,
}

impl IndexWriter {
    /// Creates (or replaces) the index file at `path` and writes its header.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut out = Output { file: BufWriter::with_capacity(1 << 22, file), pos: 0, path };
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(&MAGIC_INDEX.to_be_bytes());
        header[4] = FORMAT_V2;
        out.write(&header)?;
        Ok(Self {
            out,
            stage: Stage::Symbols,
            toc: Toc::default(),
            symbols: Vec::new(),
            symbol_bytes: Encbuf::new(),
            last_series: Labels::default(),
            all_series: Vec::new(),
            postings: HashMap::new(),
            label_refs: Vec::new(),
            body: Encbuf::new(),
            head: Encbuf::new(),
        })
    }

    /// Adds the next symbol; symbols must come in strictly increasing order, before any series.
    pub fn add_symbol(&mut self, symbol: &str) -> Result<()> {
        if self.stage != Stage::Symbols {
            return Err(Error::InvalidInput(format!("symbol {symbol:?} added after series")));
        }
        if let Some(last) = self.symbols.last()
            && symbol <= last.as_str()
        {
            return Err(Error::InvalidInput(format!("symbol {symbol:?} out of order after {last:?}")));
        }
        self.symbol_bytes.put_uvarint_str(symbol);
        self.symbols.push(symbol.to_owned());
        Ok(())
    }

    /// Adds every symbol of a sorted iterator.
    pub fn add_symbols<S: AsRef<str>>(&mut self, symbols: impl IntoIterator<Item = S>) -> Result<()> {
        symbols.into_iter().try_for_each(|s| self.add_symbol(s.as_ref()))
    }

    /// Writes the symbol table: `len · #symbols · strings · CRC`.
    fn finish_symbols(&mut self) -> Result<()> {
        self.toc.symbols = self.out.pos;
        let count = u32::try_from(self.symbols.len())
            .map_err(|_| Error::InvalidInput(format!("{} symbols exceed 2^32", self.symbols.len())))?;
        let mut contents = Vec::with_capacity(4 + self.symbol_bytes.len());
        contents.extend_from_slice(&count.to_be_bytes());
        contents.extend_from_slice(&self.symbol_bytes.bytes);
        self.out.write_section(&contents, "symbol table")?;
        self.symbol_bytes = Encbuf::new();
        self.toc.series = self.out.pos;
        self.stage = Stage::Series;
        Ok(())
    }

    fn symbol_ref(&self, s: &str) -> Result<u32> {
        let index = self
            .symbols
            .binary_search_by(|probe| probe.as_str().cmp(s))
            .map_err(|_| Error::InvalidInput(format!("symbol {s:?} not in the symbol table")))?;
        // The symbol count was checked to fit 32 bits when the table was written.
        Ok(index as u32)
    }

    /// Adds the next series with its chunks; series must come in strictly increasing label order
    /// and use only symbols added before. Returns the series' reference (offset / 16).
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<SeriesRef> {
        if self.stage == Stage::Symbols {
            self.finish_symbols()?;
        }
        if *labels <= self.last_series {
            return Err(Error::InvalidInput(format!(
                "series {labels} out of order or duplicate after {}",
                self.last_series
            )));
        }
        self.label_refs.clear();
        for l in labels.iter() {
            let refs = (self.symbol_ref(&l.name)?, self.symbol_ref(&l.value)?);
            self.label_refs.push(refs);
        }

        self.out.pad(SERIES_ALIGNMENT)?;
        let id = u32::try_from(self.out.pos / SERIES_ALIGNMENT)
            .map_err(|_| Error::InvalidInput("series section exceeds 64 GiB".to_owned()))?;

        let body = &mut self.body;
        body.reset();
        body.put_uvarint(self.label_refs.len() as u64);
        for &(name, value) in &self.label_refs {
            body.put_uvarint(u64::from(name));
            body.put_uvarint(u64::from(value));
        }
        encode_chunk_metas(body, chunks);

        self.head.reset();
        self.head.put_uvarint(body.len() as u64);
        let crc = crc32c(&body.bytes);
        self.out.write(&self.head.bytes)?;
        self.out.write(&self.body.bytes)?;
        self.out.write(&crc.to_be_bytes())?;

        self.all_series.push(id);
        for &(name, value) in &self.label_refs {
            self.postings.entry(name).or_default().entry(value).or_default().push(id);
        }
        self.last_series = labels.clone();
        Ok(SeriesRef(u64::from(id)))
    }

    /// Writes the remaining sections and the TOC, then flushes and syncs the file.
    pub fn finish(mut self) -> Result<Toc> {
        if self.stage == Stage::Symbols {
            self.finish_symbols()?;
        }
        let postings = std::mem::take(&mut self.postings);
        let mut names: Vec<(u32, HashMap<u32, Vec<u32>>)> = postings.into_iter().collect();
        // Symbols are sorted, so ordering by reference orders by string.
        names.sort_unstable_by_key(|(name, _)| *name);
        let names: Vec<(u32, ValuePostings)> = names
            .into_iter()
            .map(|(name, values)| {
                let mut values: ValuePostings = values.into_iter().collect();
                values.sort_unstable_by_key(|(value, _)| *value);
                (name, values)
            })
            .collect();

        self.toc.label_indices = self.out.pos;
        let label_index_offsets = self.write_label_indices(&names)?;

        self.toc.postings = self.out.pos;
        let postings_offsets = self.write_postings(&names)?;

        self.toc.label_indices_table = self.out.pos;
        let mut table = Encbuf::new();
        table.put_be32(label_index_offsets.len() as u32);
        for (name, offset) in &label_index_offsets {
            table.put_uvarint(1);
            table.put_uvarint_str(self.symbol(*name));
            table.put_uvarint(*offset);
        }
        self.out.write_section(&table.bytes, "label offset table")?;

        self.toc.postings_table = self.out.pos;
        table.reset();
        table.put_be32(postings_offsets.len() as u32);
        for &(key, offset) in &postings_offsets {
            table.put_uvarint(2);
            match key {
                None => {
                    table.put_uvarint_str("");
                    table.put_uvarint_str("");
                }
                Some((name, value)) => {
                    table.put_uvarint_str(self.symbol(name));
                    table.put_uvarint_str(self.symbol(value));
                }
            }
            table.put_uvarint(offset);
        }
        self.out.write_section(&table.bytes, "postings offset table")?;

        let mut toc = Encbuf::new();
        self.toc.encode(&mut toc);
        self.out.write(&toc.bytes)?;

        let path = self.out.path.clone();
        let file = self.out.file.into_inner().map_err(|e| Error::io(&path, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&path, e))?;
        Ok(self.toc)
    }

    fn symbol(&self, reference: u32) -> &str {
        self.symbols.get(reference as usize).map_or("", String::as_str)
    }

    /// One label index per label name: its values as symbol refs. Returns (name, offset) pairs.
    fn write_label_indices(&mut self, names: &[(u32, ValuePostings)]) -> Result<Vec<(u32, u64)>> {
        let mut offsets = Vec::with_capacity(names.len());
        let mut contents = Encbuf::new();
        for (name, values) in names {
            // 2.42 skips the empty name, which is the all-postings key.
            if self.symbol(*name).is_empty() {
                continue;
            }
            self.out.pad(4)?;
            offsets.push((*name, self.out.pos));
            contents.reset();
            contents.put_be32(1);
            contents.put_be32(values.len() as u32);
            for (value, _) in values {
                contents.put_be32(*value);
            }
            self.out.write_section(&contents.bytes, "label index")?;
        }
        Ok(offsets)
    }

    /// The all-postings list, then one list per (name, value). Returns keys and offsets.
    fn write_postings(&mut self, names: &[(u32, ValuePostings)]) -> Result<Vec<(PostingsKey, u64)>> {
        self.out.pad(4)?;
        let mut offsets = Vec::new();
        let mut contents = Encbuf::new();
        let all = std::mem::take(&mut self.all_series);
        offsets.push((None, self.out.pos));
        write_postings_list(&mut self.out, &mut contents, &all)?;
        for (name, values) in names {
            for (value, ids) in values {
                offsets.push((Some((*name, *value)), self.out.pos));
                write_postings_list(&mut self.out, &mut contents, ids)?;
            }
        }
        Ok(offsets)
    }
}

/// Writes `len · #refs · refs · CRC`; every list is a multiple of 4 bytes, so alignment holds.
fn write_postings_list(out: &mut Output, contents: &mut Encbuf, ids: &[u32]) -> Result<()> {
    debug_assert_eq!(out.pos % 4, 0, "postings lists are 4-byte aligned");
    contents.reset();
    contents.put_be32(ids.len() as u32);
    for &id in ids {
        contents.put_be32(id);
    }
    out.write_section(&contents.bytes, "postings list")
}

/// Chunk metas as 2.42 encodes them: the first absolute, the rest as deltas. Go's arithmetic
/// wraps, so ours does too, to give the same bytes for any input.
fn encode_chunk_metas(body: &mut Encbuf, chunks: &[ChunkMeta]) {
    body.put_uvarint(chunks.len() as u64);
    let Some((first, rest)) = chunks.split_first() else {
        return;
    };
    body.put_varint(first.min_time);
    body.put_uvarint(first.max_time.wrapping_sub(first.min_time) as u64);
    body.put_uvarint(first.chunk_ref.0);
    let mut prev_max = first.max_time;
    let mut prev_ref = first.chunk_ref.0 as i64;
    for c in rest {
        body.put_uvarint(c.min_time.wrapping_sub(prev_max) as u64);
        body.put_uvarint(c.max_time.wrapping_sub(c.min_time) as u64);
        body.put_varint((c.chunk_ref.0 as i64).wrapping_sub(prev_ref));
        prev_max = c.max_time;
        prev_ref = c.chunk_ref.0 as i64;
    }
}
