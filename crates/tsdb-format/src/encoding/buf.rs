//! Big-endian encode and decode buffers, in the shape of Prometheus' `encoding.Encbuf`/`Decbuf`.

use super::{DecodeError, put_uvarint, put_varint, read_uvarint, read_varint};

/// A growable byte buffer with big-endian and varint writers.
#[derive(Debug, Default, Clone)]
pub struct Encbuf {
    /// The bytes written so far.
    pub bytes: Vec<u8>,
}

impl Encbuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of bytes written.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Forgets the contents, keeping the allocation.
    pub fn reset(&mut self) {
        self.bytes.clear();
    }

    /// Appends one byte.
    pub fn put_byte(&mut self, b: u8) {
        self.bytes.push(b);
    }

    /// Appends raw bytes.
    pub fn put_bytes(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
    }

    /// Appends a big-endian u32.
    pub fn put_be32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian u64.
    pub fn put_be64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends an unsigned varint.
    pub fn put_uvarint(&mut self, v: u64) {
        put_uvarint(&mut self.bytes, v);
    }

    /// Appends a signed (zig-zag) varint.
    pub fn put_varint(&mut self, v: i64) {
        put_varint(&mut self.bytes, v);
    }

    /// Appends a uvarint length followed by the string's bytes.
    pub fn put_uvarint_str(&mut self, s: &str) {
        self.put_uvarint_bytes(s.as_bytes());
    }

    /// Appends a uvarint length followed by the bytes.
    pub fn put_uvarint_bytes(&mut self, b: &[u8]) {
        self.put_uvarint(b.len() as u64);
        self.bytes.extend_from_slice(b);
    }
}

/// A cursor over a byte slice with big-endian and varint readers. Every read is bounds-checked.
#[derive(Debug, Clone, Copy)]
pub struct Decbuf<'a> {
    buf: &'a [u8],
    /// Bytes consumed since creation, so callers can report offsets in errors.
    consumed: usize,
}

impl<'a> Decbuf<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, consumed: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    /// Number of bytes not yet read.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes consumed since the cursor was created.
    pub fn position(&self) -> usize {
        self.consumed
    }

    fn advance(&mut self, n: usize) {
        self.buf = &self.buf[n..];
        self.consumed += n;
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated);
        }
        self.advance(n);
        Ok(())
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated);
        }
        let out = &self.buf[..n];
        self.advance(n);
        Ok(out)
    }

    /// Reads one byte.
    pub fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }

    /// Reads a big-endian u32.
    pub fn be32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a big-endian u64.
    pub fn be64(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// Reads an unsigned varint.
    #[inline]
    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let (v, n) = read_uvarint(self.buf)?;
        self.advance(n);
        Ok(v)
    }

    /// Reads an unsigned varint that must fit in 32 bits (Go's `Uvarint32`).
    pub fn uvarint32(&mut self) -> Result<u32, DecodeError> {
        let v = self.uvarint()?;
        u32::try_from(v).map_err(|_| DecodeError::OutOfRange(v))
    }

    /// Reads a signed (zig-zag) varint.
    #[inline]
    pub fn varint(&mut self) -> Result<i64, DecodeError> {
        let (v, n) = read_varint(self.buf)?;
        self.advance(n);
        Ok(v)
    }

    /// Reads a uvarint length followed by that many bytes.
    pub fn uvarint_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.uvarint()?;
        let n = usize::try_from(n).map_err(|_| DecodeError::OutOfRange(n))?;
        self.bytes(n)
    }

    /// Reads a uvarint length followed by a UTF-8 string.
    pub fn uvarint_str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.uvarint_bytes()?).map_err(|_| DecodeError::InvalidUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut e = Encbuf::new();
        e.put_be32(0xBAAA_D700);
        e.put_byte(2);
        e.put_uvarint_str("hello");
        e.put_varint(-42);
        e.put_be64(7);
        let mut d = Decbuf::new(&e.bytes);
        assert_eq!(d.be32(), Ok(0xBAAA_D700));
        assert_eq!(d.byte(), Ok(2));
        assert_eq!(d.uvarint_str(), Ok("hello"));
        assert_eq!(d.varint(), Ok(-42));
        assert_eq!(d.be64(), Ok(7));
        assert!(d.is_empty());
        assert_eq!(d.position(), e.len());
        assert_eq!(d.be32(), Err(DecodeError::Truncated));
    }
}
