//! The MSB-first bit stream under XOR chunks (Prometheus' `chunkenc/bstream.go`).
//!
//! The writer appends bits to a byte vector, filling each byte from its high bit. The reader keeps
//! up to 64 bits in a register and refills a whole word at a time, which is what makes decoding fast.

use super::DecodeError;

/// Appends bits to a byte vector, most significant bit first.
#[derive(Debug, Default, Clone)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte (0 means a new byte is needed).
    free: u8,
}

impl BitWriter {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stream that continues after `bytes`, whose last byte has `free` unused low bits.
    pub fn from_parts(bytes: Vec<u8>, free: u8) -> Self {
        debug_assert!(free < 8);
        Self { bytes, free }
    }

    /// The bytes written; a partly written last byte is zero-padded.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Mutable access to the bytes, for patching fixed-position headers.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Consumes the writer, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Appends one bit.
    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        if bit {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 1 << (self.free - 1);
        }
        self.free -= 1;
    }

    /// Appends eight bits.
    #[inline]
    pub fn write_byte(&mut self, byte: u8) {
        if self.free == 0 {
            self.bytes.push(byte);
            return;
        }
        let last = self.bytes.len() - 1;
        self.bytes[last] |= byte >> (8 - self.free);
        self.bytes.push(byte << self.free);
    }

    /// Appends the low `nbits` bits of `value`, most significant first.
    #[inline]
    pub fn write_bits(&mut self, value: u64, nbits: u32) {
        debug_assert!(nbits <= 64);
        if nbits == 0 {
            return;
        }
        let mut v = value << (64 - nbits);
        let mut n = nbits;
        while n >= 8 {
            self.write_byte((v >> 56) as u8);
            v <<= 8;
            n -= 8;
        }
        while n > 0 {
            self.write_bit(v >> 63 == 1);
            v <<= 1;
            n -= 1;
        }
    }
}

/// Reads bits MSB-first from a byte slice.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Next byte of `data` not yet loaded into `buf`.
    pos: usize,
    /// Loaded bits, aligned to the top. Bits below `valid` are either zero or the stream's next bits.
    buf: u64,
    valid: u32,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0, buf: 0, valid: 0 }
    }

    /// Loads as many whole bytes as fit into the register. Requires `valid < 64`.
    #[inline]
    fn refill(&mut self) {
        if let Some(word) = self.data.get(self.pos..self.pos + 8) {
            let w =
                u64::from_be_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]);
            // Bits of a partly loaded byte are loaded again at the same position next time: OR is idempotent.
            self.buf |= w >> self.valid;
            let nbytes = (64 - self.valid) / 8;
            self.pos += nbytes as usize;
            self.valid += nbytes * 8;
        } else {
            while self.valid <= 56 && self.pos < self.data.len() {
                self.buf |= u64::from(self.data[self.pos]) << (56 - self.valid);
                self.pos += 1;
                self.valid += 8;
            }
        }
    }

    /// Reads one bit.
    #[inline]
    pub fn read_bit(&mut self) -> Result<bool, DecodeError> {
        if self.valid == 0 {
            self.buf = 0;
            self.refill();
            if self.valid == 0 {
                return Err(DecodeError::Truncated);
            }
        }
        let bit = self.buf >> 63 == 1;
        self.buf <<= 1;
        self.valid -= 1;
        Ok(bit)
    }

    /// Reads `nbits` (≤ 64) bits as the low bits of a u64.
    #[inline]
    pub fn read_bits(&mut self, nbits: u32) -> Result<u64, DecodeError> {
        debug_assert!(nbits <= 64);
        if nbits == 0 {
            return Ok(0);
        }
        if nbits <= self.valid {
            let v = self.buf >> (64 - nbits);
            self.buf = if nbits == 64 { 0 } else { self.buf << nbits };
            self.valid -= nbits;
            return Ok(v);
        }
        // Take what is loaded, refill, take the rest.
        let have = self.valid;
        let high = if have == 0 { 0 } else { self.buf >> (64 - have) };
        let need = nbits - have;
        self.buf = 0;
        self.valid = 0;
        self.refill();
        if self.valid < need {
            return Err(DecodeError::Truncated);
        }
        let low = self.buf >> (64 - need);
        self.buf = if need == 64 { 0 } else { self.buf << need };
        self.valid -= need;
        Ok(if have == 0 { low } else { (high << need) | low })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(items in proptest::collection::vec((any::<u64>(), 0u32..=64), 0..200)) {
            let mut w = BitWriter::new();
            for &(v, n) in &items {
                if n == 1 { w.write_bit(v & 1 == 1) } else { w.write_bits(v, n) }
            }
            let bytes = w.into_bytes();
            let mut r = BitReader::new(&bytes);
            for &(v, n) in &items {
                let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                let got = if n == 1 { u64::from(r.read_bit().unwrap()) } else { r.read_bits(n).unwrap() };
                prop_assert_eq!(got, v & mask);
            }
        }
    }

    #[test]
    fn truncated() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_bits(4), Ok(0xf));
        assert_eq!(r.read_bits(5), Err(DecodeError::Truncated));
    }

    #[test]
    fn byte_alignment_matches_go() {
        let mut w = BitWriter::new();
        w.write_bit(true);
        w.write_byte(0xff);
        w.write_bits(0b101, 3);
        assert_eq!(w.bytes(), &[0xff, 0b1101_0000]);
    }
}
