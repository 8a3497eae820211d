//! XOR float chunks (Prometheus' `tsdb/chunkenc/xor.go`, Gorilla compression).
//!
//! ```text
//! ┌──────────────────┬──────────────┬──────────────┬──────────────────┬──────────────┬─────────────┬──────────────┬─────┐
//! │ num_samples u16  │ t0 varint    │ v0 64 bits   │ t1−t0 uvarint    │ v1 xor bits  │ t2 dod bits │ v2 xor bits  │ ... │
//! └──────────────────┴──────────────┴──────────────┴──────────────────┴──────────────┴─────────────┴──────────────┴─────┘
//! dod  (t_n − t_n−1) − (t_n−1 − t_n−2):  0 | 10+14 bits | 110+17 bits | 1110+20 bits | 1111+64 bits
//!      an n-bit field holds −(2^(n−1)−1) ..= 2^(n−1), two's complement in n bits
//! xor  v_n ^ v_n−1:  0 (equal) | 10 + bits in the previous window | 11 + leading(5) + sigbits(6, 64 as 0) + bits
//! ```
//! Everything after `v0` is a bit stream, MSB first, zero-padded to a byte. Time arithmetic wraps
//! as in Go, so any `i64` sequence (even decreasing) round-trips.

use super::bits::{FastBitReader, GoBitWriter};
use crate::encoding::{DecodeError, put_uvarint, put_varint, read_uvarint, read_varint};

/// Bytes of the sample-count header.
const HEADER_SIZE: usize = 2;

/// `leading` before any xor window exists (Go's appender sets `0xff` on an empty chunk).
const NO_WINDOW: u8 = 0xff;

/// Builds one XOR chunk, byte for byte as Prometheus 2.42's `xorAppender` does.
#[derive(Debug, Clone)]
pub struct XorEncoder {
    stream: GoBitWriter,
    num_samples: u16,
    t: i64,
    value_bits: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl XorEncoder {
    /// An empty chunk (two zero header bytes).
    pub fn new() -> Self {
        Self {
            // 128 is Go's initial capacity too; a 120-sample chunk usually fits.
            stream: GoBitWriter::with_header(&[0; HEADER_SIZE], 128),
            num_samples: 0,
            t: 0,
            value_bits: 0,
            t_delta: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// Number of samples appended so far.
    pub fn num_samples(&self) -> u16 {
        self.num_samples
    }

    /// Whether the 16-bit sample count is exhausted.
    pub fn is_full(&self) -> bool {
        self.num_samples == u16::MAX
    }

    /// The chunk bytes, header included; valid after every append.
    pub fn bytes(&self) -> &[u8] {
        self.stream.bytes()
    }

    /// Consumes the encoder, returning the chunk bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.stream.bytes().to_vec()
    }

    /// Appends a sample. Timestamps are expected to increase but are not checked (as in Go).
    ///
    /// # Panics
    /// If the chunk already holds `u16::MAX` samples (see [`XorEncoder::is_full`]); Go would
    /// silently wrap the count and corrupt the chunk.
    pub fn append(&mut self, t: i64, v: f64) {
        assert!(!self.is_full(), "XOR chunk cannot hold more than {} samples", u16::MAX);
        let value_bits = v.to_bits();
        let mut t_delta = 0;
        match self.num_samples {
            0 => {
                let mut varint = Vec::with_capacity(10);
                put_varint(&mut varint, t);
                self.write_aligned_bytes(&varint);
                self.stream.write_bits(value_bits, 64);
            }
            1 => {
                t_delta = t.wrapping_sub(self.t) as u64;
                let mut uvarint = Vec::with_capacity(10);
                put_uvarint(&mut uvarint, t_delta);
                self.write_aligned_bytes(&uvarint);
                self.write_value(value_bits);
            }
            _ => {
                t_delta = t.wrapping_sub(self.t) as u64;
                let dod = t_delta.wrapping_sub(self.t_delta) as i64;
                self.write_dod(dod);
                self.write_value(value_bits);
            }
        }
        self.t = t;
        self.value_bits = value_bits;
        self.t_delta = t_delta;
        self.num_samples += 1;
        self.stream.bytes_mut()[..HEADER_SIZE].copy_from_slice(&self.num_samples.to_be_bytes());
    }

    /// Go writes varints one `writeByte` at a time; only the last byte's quirk is visible.
    fn write_aligned_bytes(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.stream.write_bits(u64::from(byte), 8);
        }
    }

    fn write_dod(&mut self, dod: i64) {
        // Each arm writes prefix and field in one call; only a sample's final write must keep
        // Go's call boundaries (see `bits.rs`), and that is always the value.
        if dod == 0 {
            self.stream.write_bit(false);
        } else if fits_dod_bucket(dod, 14) {
            self.stream.write_bits((0b10 << 14) | (dod as u64 & 0x3fff), 16);
        } else if fits_dod_bucket(dod, 17) {
            self.stream.write_bits((0b110 << 17) | (dod as u64 & 0x1_ffff), 20);
        } else if fits_dod_bucket(dod, 20) {
            self.stream.write_bits((0b1110 << 20) | (dod as u64 & 0xf_ffff), 24);
        } else {
            self.stream.write_bits(0b1111, 4);
            self.stream.write_bits(dod as u64, 64);
        }
    }

    fn write_value(&mut self, value_bits: u64) {
        let delta = value_bits ^ self.value_bits;
        if delta == 0 {
            self.stream.write_bit(false);
            return;
        }
        // Capped so it fits the 5-bit field.
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            let sigbits = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.stream.write_bits(0b10, 2);
            self.stream.write_bits(delta >> self.trailing, sigbits);
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        let sigbits = 64 - u32::from(leading) - u32::from(trailing);
        // 64 significant bits do not fit 6 bits and are stored as 0 (0 itself never occurs).
        let header = (0b11 << 11) | (u64::from(leading) << 6) | u64::from(sigbits & 0x3f);
        self.stream.write_bits(header, 13);
        self.stream.write_bits(delta >> trailing, sigbits);
    }
}

/// Go's `bitRange`: whether `x` fits an `nbits` dod field, −(2^(n−1)−1) ..= 2^(n−1).
fn fits_dod_bucket(x: i64, nbits: u32) -> bool {
    let half = 1i64 << (nbits - 1);
    -(half - 1) <= x && x <= half
}

/// Undoes the `nbits` two's-complement dod field (values above 2^(n−1) are negative).
#[inline(always)]
fn dod_from_field(field: u64, nbits: u32) -> i64 {
    if field > 1 << (nbits - 1) { field as i64 - (1i64 << nbits) } else { field as i64 }
}

/// Decodes the samples of an XOR chunk. Never panics: malformed input yields a [`DecodeError`].
#[derive(Debug, Clone)]
pub struct XorIterator<'a> {
    data: &'a [u8],
    bits: FastBitReader<'a>,
    num_total: u16,
    num_read: u16,
    t: i64,
    value_bits: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
    err: Option<DecodeError>,
    /// The `Iterator` impl has yielded `err` once.
    err_yielded: bool,
}

impl<'a> XorIterator<'a> {
    /// An iterator over the chunk bytes `chunk` (header included).
    pub fn new(chunk: &'a [u8]) -> Result<Self, DecodeError> {
        let header = chunk.get(..HEADER_SIZE).ok_or(DecodeError::Truncated)?;
        Ok(Self {
            data: chunk,
            bits: FastBitReader::new(chunk, HEADER_SIZE),
            num_total: u16::from_be_bytes([header[0], header[1]]),
            num_read: 0,
            t: 0,
            value_bits: 0,
            t_delta: 0,
            // Go's iterator starts from 0/0, unlike its appender.
            leading: 0,
            trailing: 0,
            err: None,
            err_yielded: false,
        })
    }

    /// The sample count from the chunk header.
    pub fn num_samples(&self) -> u16 {
        self.num_total
    }

    /// The sample last returned by [`next_sample`](Self::next_sample) or [`seek`](Self::seek).
    pub fn at(&self) -> Option<(i64, f64)> {
        (self.num_read > 0).then(|| (self.t, f64::from_bits(self.value_bits)))
    }

    /// Decodes the next sample; `Ok(None)` after the last one. After an error, returns it again.
    #[inline]
    pub fn next_sample(&mut self) -> Result<Option<(i64, f64)>, DecodeError> {
        if let Some(err) = self.err {
            return Err(err);
        }
        if self.num_read == self.num_total {
            return Ok(None);
        }
        let decoded = if self.num_read >= 2 { self.decode_dod_sample() } else { self.decode_first_two() };
        match decoded {
            Ok(()) => {
                self.num_read += 1;
                Ok(Some((self.t, f64::from_bits(self.value_bits))))
            }
            Err(err) => {
                self.err = Some(err);
                Err(err)
            }
        }
    }

    /// Advances to the first sample with timestamp ≥ `t`. Like Go's `Seek`, it returns the current
    /// sample if that already qualifies, and `Ok(None)` once the chunk is exhausted.
    pub fn seek(&mut self, t: i64) -> Result<Option<(i64, f64)>, DecodeError> {
        if let Some(err) = self.err {
            return Err(err);
        }
        if self.num_read > 0 && self.t >= t {
            return Ok(self.at());
        }
        while let Some(sample) = self.next_sample()? {
            if sample.0 >= t {
                return Ok(Some(sample));
            }
        }
        Ok(None)
    }

    /// Samples 0 and 1 start at byte boundaries: varint t0 · raw v0 · uvarint delta · xor v1.
    #[cold]
    fn decode_first_two(&mut self) -> Result<(), DecodeError> {
        let pos = self.bits.byte_pos();
        let rest = self.data.get(pos..).ok_or(DecodeError::Truncated)?;
        if self.num_read == 0 {
            let (t, n) = read_varint(rest)?;
            let raw = rest.get(n..n + 8).ok_or(DecodeError::Truncated)?;
            let mut be = [0u8; 8];
            be.copy_from_slice(raw);
            self.t = t;
            self.value_bits = u64::from_be_bytes(be);
            self.bits.set_byte_pos(pos + n + 8);
            return Ok(());
        }
        let (t_delta, n) = read_uvarint(rest)?;
        self.bits.set_byte_pos(pos + n);
        self.t_delta = t_delta;
        self.t = self.t.wrapping_add(t_delta as i64);
        self.decode_value()
    }

    #[inline(always)]
    fn decode_dod_sample(&mut self) -> Result<(), DecodeError> {
        let prefix = self.bits.peek(4);
        let dod = if prefix < 0b1000 {
            self.bits.consume(1)?;
            0
        } else if prefix < 0b1100 {
            self.bits.consume(2)?;
            dod_from_field(self.bits.read_bits(14)?, 14)
        } else if prefix < 0b1110 {
            self.bits.consume(3)?;
            dod_from_field(self.bits.read_bits(17)?, 17)
        } else if prefix < 0b1111 {
            self.bits.consume(4)?;
            dod_from_field(self.bits.read_bits(20)?, 20)
        } else {
            self.bits.consume(4)?;
            self.bits.read_bits_wide(64)? as i64
        };
        self.t_delta = self.t_delta.wrapping_add(dod as u64);
        self.t = self.t.wrapping_add(self.t_delta as i64);
        self.decode_value()
    }

    #[inline(always)]
    fn decode_value(&mut self) -> Result<(), DecodeError> {
        let prefix = self.bits.peek(2);
        if prefix < 0b10 {
            return self.bits.consume(1);
        }
        self.bits.consume(2)?;
        let (sigbits, trailing) = if prefix == 0b10 {
            // Reuse the window; a fresh iterator's 0/0 window means all 64 bits, as in Go.
            (64 - u32::from(self.leading) - u32::from(self.trailing), u32::from(self.trailing))
        } else {
            let header = self.bits.read_bits(11)?;
            let leading = (header >> 6) as u32;
            let sigbits = match (header & 0x3f) as u32 {
                0 => 64,
                n => n,
            };
            if leading + sigbits > 64 {
                return Err(DecodeError::OutOfRange(u64::from(leading + sigbits)));
            }
            let trailing = 64 - leading - sigbits;
            self.leading = leading as u8;
            self.trailing = trailing as u8;
            (sigbits, trailing)
        };
        let significant = self.bits.read_bits_wide(sigbits)?;
        self.value_bits ^= significant << trailing;
        Ok(())
    }
}

impl Iterator for XorIterator<'_> {
    type Item = Result<(i64, f64), DecodeError>;

    /// Yields every sample, then a decode error at most once.
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self.next_sample() {
            Ok(Some(sample)) => Some(Ok(sample)),
            Ok(None) => None,
            Err(_) if self.err_yielded => None,
            Err(err) => {
                self.err_yielded = true;
                Some(Err(err))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = match self.err {
            Some(_) if self.err_yielded => 0,
            Some(_) => 1,
            None => usize::from(self.num_total - self.num_read),
        };
        (0, Some(remaining))
    }
}

#[cfg(test)]
#[path = "xor_tests.rs"]
mod tests;
