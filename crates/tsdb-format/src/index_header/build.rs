//! Building an index-header from ranged reads of an index, byte for byte as Thanos' `WriteBinary`.
//!
//! Thanos reads the index header (5 bytes) and TOC, then copies two ranges verbatim:
//! `[TOC.symbols, TOC.series)` and `[TOC.postings_table, EOF)`. [`IndexLayout`] is the sans-I/O
//! core: it says which ranges to fetch and gives the bytes that go before and after them, so an
//! async caller can stream the GETs straight into a file. [`build`] and
//! [`write_index_header`] do the whole job over a blocking [`RangeSource`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::source::RangeSource;
use super::{BINARY_FORMAT_V1, BINARY_TOC_LEN, HEADER_LEN, INDEX_HEADER_FILENAME, MAGIC_INDEX_HEADER};
use crate::encoding::crc32c;
use crate::index::{FORMAT_V1, FORMAT_V2, MAGIC_INDEX, TOC_LEN, Toc};
use crate::{Error, Result};

/// Ranges are copied in pieces of at most this many bytes, to bound memory on large indexes.
const COPY_CHUNK: u64 = 16 << 20;

/// A byte range `[offset, offset + len)` of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteRange {
    /// First byte.
    pub offset: u64,
    /// Number of bytes.
    pub len: u64,
}

impl ByteRange {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }
}

/// The two ranges to read first from an index of `index_size` bytes: its 5-byte header (magic
/// and version) and its TOC (the last 52 bytes). Feed them to [`IndexLayout::from_head`].
pub fn head_ranges(index_size: u64, path: &Path) -> Result<[ByteRange; 2]> {
    let min = (crate::index::HEADER_LEN + TOC_LEN) as u64;
    if index_size < min {
        return Err(Error::corrupt(
            path,
            0,
            format!("index of {index_size} bytes is too short for a header and a TOC"),
        ));
    }
    Ok([
        ByteRange { offset: 0, len: crate::index::HEADER_LEN as u64 },
        ByteRange { offset: index_size - TOC_LEN as u64, len: TOC_LEN as u64 },
    ])
}

/// What an index-header of one index looks like: which ranges of the index it copies and the
/// bytes it adds around them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexLayout {
    index_size: u64,
    index_version: u8,
    toc: Toc,
}

impl IndexLayout {
    /// Checks the index's header and TOC (the bytes of [`head_ranges`]) and plans the copy.
    /// Like Thanos, only index format versions 1 and 2 are accepted.
    pub fn from_head(index_size: u64, header: &[u8], toc: &[u8], path: &Path) -> Result<Self> {
        let [head_range, toc_range] = head_ranges(index_size, path)?;
        let (Ok(header), Ok(toc_bytes)) = (<[u8; 5]>::try_from(header), <[u8; TOC_LEN]>::try_from(toc))
        else {
            return Err(Error::corrupt(
                path,
                0,
                format!(
                    "got {} header and {} TOC bytes, want {} and {}",
                    header.len(),
                    toc.len(),
                    head_range.len,
                    toc_range.len
                ),
            ));
        };
        let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if magic != MAGIC_INDEX {
            return Err(Error::BadMagic { path: path.to_path_buf(), found: magic, want: MAGIC_INDEX });
        }
        let index_version = header[4];
        if index_version != FORMAT_V1 && index_version != FORMAT_V2 {
            return Err(Error::UnsupportedVersion {
                path: path.to_path_buf(),
                version: u32::from(index_version),
            });
        }
        let (body, stored) = toc_bytes.split_at(TOC_LEN - 4);
        let stored = u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]);
        let computed = crc32c(body);
        if stored != computed {
            return Err(Error::Checksum {
                path: path.to_path_buf(),
                offset: toc_range.offset,
                stored,
                computed,
            });
        }
        let toc = Toc::decode(&toc_bytes, path)?;
        let sane =
            toc.symbols <= toc.series && toc.series <= index_size && toc.postings_table <= toc_range.offset;
        if !sane {
            return Err(Error::corrupt(
                path,
                toc_range.offset,
                format!("TOC {toc:?} does not fit an index of {index_size} bytes"),
            ));
        }
        Ok(Self { index_size, index_version, toc })
    }

    /// Reads the index's header and TOC from `source` and plans the copy.
    pub fn read(source: &(impl RangeSource + ?Sized)) -> Result<Self> {
        let size = source.size()?;
        let [head, toc] = head_ranges(size, source.path())?;
        let header = source.read_range(head.offset, head.len)?;
        let toc = source.read_range(toc.offset, toc.len)?;
        Self::from_head(size, &header, &toc, source.path())
    }

    /// Size of the index in bytes.
    pub fn index_size(&self) -> u64 {
        self.index_size
    }

    /// The index's format version (1 or 2).
    pub fn index_version(&self) -> u8 {
        self.index_version
    }

    /// The index's TOC.
    pub fn toc(&self) -> Toc {
        self.toc
    }

    /// The index bytes copied as the symbol table: `[TOC.symbols, TOC.series)`.
    pub fn symbols_range(&self) -> ByteRange {
        ByteRange { offset: self.toc.symbols, len: self.toc.series - self.toc.symbols }
    }

    /// The index bytes copied as the postings offset table and TOC: `[TOC.postings_table, EOF)`.
    pub fn postings_table_range(&self) -> ByteRange {
        ByteRange { offset: self.toc.postings_table, len: self.index_size - self.toc.postings_table }
    }

    /// The 14 bytes that start the index-header.
    pub fn prefix(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..4].copy_from_slice(&MAGIC_INDEX_HEADER.to_be_bytes());
        out[4] = BINARY_FORMAT_V1;
        out[5] = self.index_version;
        out[6..].copy_from_slice(&self.toc.postings_table.to_be_bytes());
        out
    }

    /// The 20 bytes that end the index-header: its TOC and the TOC's CRC32C.
    pub fn suffix(&self) -> [u8; BINARY_TOC_LEN] {
        let symbols = HEADER_LEN as u64;
        let postings_table = symbols + self.symbols_range().len;
        let mut out = [0u8; BINARY_TOC_LEN];
        out[..8].copy_from_slice(&symbols.to_be_bytes());
        out[8..16].copy_from_slice(&postings_table.to_be_bytes());
        let crc = crc32c(&out[..16]);
        out[16..].copy_from_slice(&crc.to_be_bytes());
        out
    }

    /// Size of the index-header this layout produces.
    pub fn header_size(&self) -> u64 {
        (HEADER_LEN + BINARY_TOC_LEN) as u64 + self.symbols_range().len + self.postings_table_range().len
    }

    /// The whole index-header from the bytes of [`Self::symbols_range`] and
    /// [`Self::postings_table_range`].
    pub fn assemble(&self, symbols: &[u8], postings_table: &[u8]) -> Result<Vec<u8>> {
        let want = (self.symbols_range().len, self.postings_table_range().len);
        if (symbols.len() as u64, postings_table.len() as u64) != want {
            return Err(Error::InvalidInput(format!(
                "got {} symbol and {} postings table bytes, want {} and {}",
                symbols.len(),
                postings_table.len(),
                want.0,
                want.1
            )));
        }
        let mut out = Vec::with_capacity(usize::try_from(self.header_size()).unwrap_or(0));
        out.extend_from_slice(&self.prefix());
        out.extend_from_slice(symbols);
        out.extend_from_slice(postings_table);
        out.extend_from_slice(&self.suffix());
        Ok(out)
    }
}

/// Builds the index-header of the index behind `source` in memory.
pub fn build(source: &(impl RangeSource + ?Sized)) -> Result<Vec<u8>> {
    let layout = IndexLayout::read(source)?;
    let mut out = Vec::with_capacity(usize::try_from(layout.header_size()).unwrap_or(0));
    copy_into(source, &layout, &mut out, Path::new("<memory>"))?;
    Ok(out)
}

/// Streams the index-header of the index behind `source` into `w`; `out` names `w` in errors.
/// Returns the number of bytes written.
pub fn write_index_header_to(
    source: &(impl RangeSource + ?Sized),
    w: &mut impl Write,
    out: &Path,
) -> Result<u64> {
    let layout = IndexLayout::read(source)?;
    copy_into(source, &layout, w, out)?;
    Ok(layout.header_size())
}

/// Builds `<dir>/index-header` for the index behind `source`, atomically: it is written to
/// `index-header.tmp`, synced, and renamed into place (as Thanos does). Returns the file's path.
pub fn write_index_header(source: &(impl RangeSource + ?Sized), dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(INDEX_HEADER_FILENAME);
    let tmp = dir.join(format!("{INDEX_HEADER_FILENAME}.tmp"));
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&tmp, e)),
    }
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write_index_header_to(source, &mut w, &tmp)?;
        let file = w.into_inner().map_err(|e| Error::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&tmp, e))
    })();
    if let Err(e) = result {
        // Best effort: a partial temp file is useless, and the next build removes it anyway.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))?;
    Ok(path)
}

fn copy_into(
    source: &(impl RangeSource + ?Sized),
    layout: &IndexLayout,
    w: &mut impl Write,
    out: &Path,
) -> Result<()> {
    let write = |w: &mut dyn Write, b: &[u8]| w.write_all(b).map_err(|e| Error::io(out, e));
    write(w, &layout.prefix())?;
    for range in [layout.symbols_range(), layout.postings_table_range()] {
        let mut at = range.offset;
        while at < range.end() {
            let n = (range.end() - at).min(COPY_CHUNK);
            write(w, &source.read_range(at, n)?)?;
            at += n;
        }
    }
    write(w, &layout.suffix())?;
    w.flush().map_err(|e| Error::io(out, e))
}
