//! Where index (or index-header) bytes come from: ranged reads, never the whole object.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Something that can return byte ranges of one object: a local file, a buffer, or (in the store
/// gateway) an object in a bucket read with ranged GETs.
pub trait RangeSource {
    /// Size of the object in bytes.
    fn size(&self) -> Result<u64>;

    /// Exactly `len` bytes starting at `offset`; a range past the end is an error.
    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>>;

    /// Name of the object, for error messages.
    fn path(&self) -> &Path {
        Path::new("<memory>")
    }
}

/// The error for a range that does not fit inside an object of `size` bytes.
pub(crate) fn range_error(path: &Path, offset: u64, len: u64, size: u64) -> Error {
    Error::corrupt(path, offset, format!("range of {len} bytes at {offset} runs past the end ({size} bytes)"))
}

/// Copies `[offset, offset+len)` out of `data`, or reports why it cannot.
fn slice_range(data: &[u8], offset: u64, len: u64, path: &Path) -> Result<Vec<u8>> {
    let range = usize::try_from(offset)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(start, n)| Some(start..start.checked_add(n)?));
    range
        .and_then(|r| data.get(r))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| range_error(path, offset, len, data.len() as u64))
}

/// A local file read with positioned reads, so one open file serves concurrent readers. The
/// size is taken once, at open: the file must not change while it is read.
#[derive(Debug)]
pub struct FileSource {
    path: PathBuf,
    file: File,
    size: u64,
}

impl FileSource {
    /// Opens `path` for reading.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let size = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        Ok(Self { path, file, size })
    }
}

impl RangeSource for FileSource {
    fn size(&self) -> Result<u64> {
        Ok(self.size)
    }

    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let size = self.size;
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(range_error(&self.path, offset, len, size));
        }
        let n = usize::try_from(len).map_err(|_| range_error(&self.path, offset, len, size))?;
        let mut buf = vec![0u8; n];
        self.file.read_exact_at(&mut buf, offset).map_err(|e| Error::io(&self.path, e))?;
        Ok(buf)
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// Bytes held in memory, with a name for error messages.
#[derive(Debug, Clone)]
pub struct MemorySource {
    path: PathBuf,
    data: Vec<u8>,
}

impl MemorySource {
    /// Wraps `data`; `path` names it in errors.
    pub fn new(data: Vec<u8>, path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), data }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}

impl RangeSource for MemorySource {
    fn size(&self) -> Result<u64> {
        Ok(self.data.len() as u64)
    }

    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        slice_range(&self.data, offset, len, &self.path)
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl RangeSource for Vec<u8> {
    fn size(&self) -> Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        slice_range(self, offset, len, Path::new("<memory>"))
    }
}

impl<T: RangeSource + ?Sized> RangeSource for &T {
    fn size(&self) -> Result<u64> {
        (**self).size()
    }

    fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        (**self).read_range(offset, len)
    }

    fn path(&self) -> &Path {
        (**self).path()
    }
}
