//! Bit streams tuned for XOR chunks.
//!
//! [`GoBitWriter`] reproduces the exact bytes of Prometheus 2.42's `bstream`, including one quirk:
//! Go's `writeByte` on a byte-aligned stream appends the byte *and* an empty byte after it (fixed
//! only in Prometheus 3.0 by prometheus#14854). So a 2.42 chunk whose last write was a whole-byte
//! write at an aligned position ends with one extra `0x00`. Chunks of one sample always do.
//!
//! [`FastBitReader`] keeps up to 64 bits in a register and refills a word at a time; every read
//! checks its bounds and reports truncation instead of panicking.

use crate::encoding::DecodeError;

/// Appends bits MSB-first with Prometheus 2.42's byte layout.
#[derive(Debug, Clone)]
pub(crate) struct GoBitWriter {
    bytes: Vec<u8>,
    /// Unused low bits of the last byte, 0..=7.
    free: u32,
    /// The stream ends with Go's empty byte (its `count == 8` state); always zero.
    empty_tail: bool,
}

impl GoBitWriter {
    /// A stream starting with `header`, byte-aligned, as Go's `bstream{stream: header, count: 0}`.
    pub(crate) fn with_header(header: &[u8], capacity: usize) -> Self {
        let mut bytes = Vec::with_capacity(capacity.max(header.len()));
        bytes.extend_from_slice(header);
        Self { bytes, free: 0, empty_tail: false }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Appends one bit (Go's `writeBit`).
    #[inline]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Appends the low `nbits` (1..=64) bits of `value`, as Go's `writeBits`: whole bytes through
    /// `writeByte`, then single bits.
    #[inline]
    pub(crate) fn write_bits(&mut self, value: u64, nbits: u32) {
        debug_assert!((1..=64).contains(&nbits));
        if self.empty_tail {
            // Go's empty byte is simply where the next bits go.
            self.bytes.pop();
            self.empty_tail = false;
        }
        let mut left_aligned = value << (64 - nbits);
        let mut remaining = nbits;
        if self.free > 0 {
            let used = self.free.min(remaining);
            if let Some(last) = self.bytes.last_mut() {
                *last |= (left_aligned >> (64 - self.free)) as u8;
            }
            self.free -= used;
            left_aligned <<= used;
            remaining -= used;
        }
        if remaining > 0 {
            let nbytes = remaining.div_ceil(8);
            self.bytes.extend_from_slice(&left_aligned.to_be_bytes()[..nbytes as usize]);
            self.free = nbytes * 8 - remaining;
        }
        // Go's last operation was a `writeByte` exactly when `nbits` is a multiple of 8; if that left
        // the stream aligned, Go has appended its empty byte.
        if nbits.is_multiple_of(8) && self.free == 0 {
            self.bytes.push(0);
            self.empty_tail = true;
        }
    }
}

/// Reads bits MSB-first from a byte slice, a 64-bit word at a time.
#[derive(Debug, Clone)]
pub(crate) struct FastBitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` not yet fully loaded into `buf`.
    pos: usize,
    /// Loaded bits, aligned to the top. Bits below `valid` are zero or the stream's next bits.
    buf: u64,
    /// Number of readable bits at the top of `buf`.
    valid: u32,
}

impl<'a> FastBitReader<'a> {
    /// A reader at byte `pos` of `data`.
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Self { data, pos, buf: 0, valid: 0 }
    }

    /// Byte position of the next unread bit, if the reader is byte-aligned and holds nothing.
    pub(crate) fn byte_pos(&self) -> usize {
        self.pos
    }

    /// Moves an empty reader to byte `pos`.
    pub(crate) fn set_byte_pos(&mut self, pos: usize) {
        debug_assert_eq!(self.valid, 0);
        self.pos = pos;
        self.buf = 0;
    }

    /// Loads whole bytes until at least 56 bits are valid or the data ends.
    #[inline]
    fn refill(&mut self) {
        if let Some(word) = self.data.get(self.pos..self.pos + 8) {
            let mut be = [0u8; 8];
            be.copy_from_slice(word);
            // Bits of a partly loaded byte land again on the same positions: OR is idempotent.
            self.buf |= u64::from_be_bytes(be) >> self.valid;
            let nbytes = (63 - self.valid) >> 3;
            self.pos += nbytes as usize;
            self.valid += nbytes << 3;
        } else {
            self.refill_tail();
        }
    }

    #[cold]
    fn refill_tail(&mut self) {
        while self.valid <= 56 {
            let Some(&byte) = self.data.get(self.pos) else { break };
            self.buf |= u64::from(byte) << (56 - self.valid);
            self.pos += 1;
            self.valid += 8;
        }
    }

    /// Makes at least `n` (≤ 56) bits readable.
    #[inline(always)]
    fn ensure(&mut self, n: u32) -> Result<(), DecodeError> {
        if self.valid < n {
            self.refill();
            if self.valid < n {
                return Err(DecodeError::Truncated);
            }
        }
        Ok(())
    }

    /// The next `n` (1..=56) bits without consuming them; fewer may be real if the data ends,
    /// the rest read as zero.
    #[inline(always)]
    pub(crate) fn peek(&mut self, n: u32) -> u64 {
        debug_assert!((1..=56).contains(&n));
        if self.valid < n {
            self.refill();
        }
        // Below `valid`, bits are zero or genuine, so a short peek just shows zeros past the end.
        self.buf >> (64 - n)
    }

    /// Drops `n` bits; fails if fewer are readable.
    #[inline(always)]
    pub(crate) fn consume(&mut self, n: u32) -> Result<(), DecodeError> {
        debug_assert!((1..=56).contains(&n));
        self.ensure(n)?;
        self.buf <<= n;
        self.valid -= n;
        Ok(())
    }

    /// Reads `n` (1..=56) bits as the low bits of a u64.
    #[inline(always)]
    pub(crate) fn read_bits(&mut self, n: u32) -> Result<u64, DecodeError> {
        debug_assert!((1..=56).contains(&n));
        self.ensure(n)?;
        let v = self.buf >> (64 - n);
        self.buf <<= n;
        self.valid -= n;
        Ok(v)
    }

    /// Reads `n` (1..=64) bits as the low bits of a u64.
    #[inline(always)]
    pub(crate) fn read_bits_wide(&mut self, n: u32) -> Result<u64, DecodeError> {
        if n <= 56 {
            return self.read_bits(n);
        }
        let high = self.read_bits(n - 32)?;
        let low = self.read_bits(32)?;
        Ok((high << 32) | low)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A literal transcription of Go 2.42's `bstream` writer, to check the fast writer against.
    struct GoModel {
        stream: Vec<u8>,
        count: u8,
    }

    impl GoModel {
        fn write_bit(&mut self, bit: bool) {
            if self.count == 0 {
                self.stream.push(0);
                self.count = 8;
            }
            let i = self.stream.len() - 1;
            if bit {
                self.stream[i] |= 1 << (self.count - 1);
            }
            self.count -= 1;
        }

        fn write_byte(&mut self, byt: u8) {
            if self.count == 0 {
                self.stream.push(0);
                self.count = 8;
            }
            let i = self.stream.len() - 1;
            self.stream[i] |= byt.checked_shr(8 - u32::from(self.count)).unwrap_or(0);
            self.stream.push(byt.checked_shl(u32::from(self.count)).unwrap_or(0));
        }

        fn write_bits(&mut self, u: u64, nbits: u32) {
            let mut u = u << (64 - nbits);
            let mut n = nbits;
            while n >= 8 {
                self.write_byte((u >> 56) as u8);
                u <<= 8;
                n -= 8;
            }
            while n > 0 {
                self.write_bit(u >> 63 == 1);
                u <<= 1;
                n -= 1;
            }
        }
    }

    proptest! {
        #[test]
        fn writer_matches_go_model(items in proptest::collection::vec((any::<u64>(), 1u32..=64), 0..100)) {
            let mut fast = GoBitWriter::with_header(&[0, 0], 16);
            let mut model = GoModel { stream: vec![0, 0], count: 0 };
            for &(v, n) in &items {
                if n == 1 {
                    fast.write_bit(v & 1 == 1);
                    model.write_bit(v & 1 == 1);
                } else {
                    fast.write_bits(v, n);
                    model.write_bits(v, n);
                }
                prop_assert_eq!(fast.bytes(), &model.stream[..]);
            }
        }

        #[test]
        fn reader_round_trip(items in proptest::collection::vec((any::<u64>(), 1u32..=64), 0..100)) {
            let mut w = GoBitWriter::with_header(&[], 16);
            for &(v, n) in &items {
                w.write_bits(v, n);
            }
            let mut r = FastBitReader::new(w.bytes(), 0);
            for &(v, n) in &items {
                let mask = u64::MAX >> (64 - n);
                prop_assert_eq!(r.read_bits_wide(n), Ok(v & mask));
            }
        }
    }

    #[test]
    fn one_byte_at_aligned_position_appends_go_empty_byte() {
        let mut w = GoBitWriter::with_header(&[0xaa], 4);
        w.write_bits(0xff, 8);
        assert_eq!(w.bytes(), &[0xaa, 0xff, 0x00]);
        w.write_bit(true);
        assert_eq!(w.bytes(), &[0xaa, 0xff, 0x80]);
    }

    #[test]
    fn reader_reports_truncation() {
        let mut r = FastBitReader::new(&[0xf0], 0);
        assert_eq!(r.read_bits(4), Ok(0xf));
        assert_eq!(r.peek(8), 0);
        assert_eq!(r.read_bits(5), Err(DecodeError::Truncated));
        assert_eq!(r.read_bits(4), Ok(0));
        assert_eq!(r.read_bits(1), Err(DecodeError::Truncated));
    }
}
