//! Chunk encodings (Prometheus' `tsdb/chunkenc`): the encoding byte and the XOR float chunk.
//!
//! A chunk is an encoding byte (stored in the segment record, see [`crate::chunks`]) plus the
//! encoding's own bytes. XOR (float samples) and Thanos' downsampled aggregate chunks (`0xFF`,
//! see [`aggr`]) are implemented; other encodings are carried as opaque bytes so readers can pass
//! them through or report them.

pub mod aggr;
mod bits;
mod xor;

use std::fmt;

pub use aggr::{AGGR_ENCODING, AggrChunk, AggrType, encode_aggr_chunk};
pub use xor::{XorEncoder, XorIterator};

/// The encoding byte of a chunk, as written before its data in a segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// 0: no encoding (never written by Prometheus 2.42).
    None,
    /// 1: Gorilla-style XOR float samples.
    Xor,
    /// 2: native histograms with integer counts.
    Histogram,
    /// 3: native histograms with float counts.
    FloatHistogram,
    /// Any other byte, kept so that readers can report or pass it through (for example Thanos'
    /// downsampled aggregate chunks, `0xFF`, or encodings newer than Prometheus 2.42).
    Unknown(u8),
}

impl Encoding {
    /// The byte stored on disk.
    pub fn as_u8(self) -> u8 {
        match self {
            Encoding::None => 0,
            Encoding::Xor => 1,
            Encoding::Histogram => 2,
            Encoding::FloatHistogram => 3,
            Encoding::Unknown(byte) => byte,
        }
    }
}

impl From<u8> for Encoding {
    fn from(byte: u8) -> Self {
        match byte {
            0 => Encoding::None,
            1 => Encoding::Xor,
            2 => Encoding::Histogram,
            3 => Encoding::FloatHistogram,
            other => Encoding::Unknown(other),
        }
    }
}

impl From<Encoding> for u8 {
    fn from(encoding: Encoding) -> Self {
        encoding.as_u8()
    }
}

impl fmt::Display for Encoding {
    /// Prometheus' names (`Encoding.String()`), with the raw byte for unknown encodings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encoding::None => f.write_str("none"),
            Encoding::Xor => f.write_str("XOR"),
            Encoding::Histogram => f.write_str("histogram"),
            Encoding::FloatHistogram => f.write_str("floathistogram"),
            Encoding::Unknown(byte) => write!(f, "<unknown {byte:#04x}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_byte_round_trip() {
        for byte in 0..=u8::MAX {
            assert_eq!(Encoding::from(byte).as_u8(), byte);
        }
        assert_eq!(Encoding::from(1), Encoding::Xor);
        assert_eq!(Encoding::from(0xff), Encoding::Unknown(0xff));
        assert_eq!(Encoding::Xor.to_string(), "XOR");
    }
}
