//! Thanos' downsampled aggregate chunk (`AggrChunk`, encoding byte `0xFF`,
//! T:pkg/compact/downsample/aggr.go).
//!
//! ```text
//! for each aggregate in the order count, sum, min, max, counter:
//! ┌──────────────┬───────────────────────────┬──────────────────────┐
//! │ len uvarint  │ encoding u8 (if len > 0)  │ len bytes of a chunk │
//! └──────────────┴───────────────────────────┴──────────────────────┘
//! len = 0: the aggregate is absent (no encoding byte, no data)
//! ```
//! Every present sub-chunk is a normal Prometheus chunk (XOR for float series). The counter
//! sub-chunk starts with the first raw sample and ends with the last raw value repeated at the
//! last aggregate's timestamp, so readers can detect counter resets between chunks.

use std::fmt;

use super::Encoding;
use crate::encoding::{DecodeError, put_uvarint, read_uvarint};

/// The encoding byte Thanos stores aggregate chunks under (the highest, to avoid collisions).
pub const AGGR_ENCODING_BYTE: u8 = 0xff;

/// [`AGGR_ENCODING_BYTE`] as an [`Encoding`].
pub const AGGR_ENCODING: Encoding = Encoding::Unknown(AGGR_ENCODING_BYTE);

/// One aggregate of a downsampled chunk, numbered as Thanos' `AggrType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AggrType {
    /// Samples per window.
    Count = 0,
    /// Sum of the window's values.
    Sum = 1,
    /// Minimum of the window.
    Min = 2,
    /// Maximum of the window.
    Max = 3,
    /// Running counter total, resets applied.
    Counter = 4,
}

impl AggrType {
    /// All aggregates, in their order in the chunk.
    pub const ALL: [AggrType; 5] = [Self::Count, Self::Sum, Self::Min, Self::Max, Self::Counter];

    /// The position in the chunk (0..5).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for AggrType {
    /// Thanos' names: `count`, `sum`, `min`, `max`, `counter`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Min => "min",
            Self::Max => "max",
            Self::Counter => "counter",
        })
    }
}

/// Encodes an aggregate chunk from one optional `(encoding, chunk bytes)` per aggregate, indexed
/// by [`AggrType::index`]. Absent aggregates (and empty sub-chunks) are written as length 0.
pub fn encode_aggr_chunk(parts: [Option<(Encoding, &[u8])>; 5]) -> Vec<u8> {
    let size: usize = parts.iter().map(|p| p.map_or(1, |(_, data)| data.len() + 11)).sum();
    let mut out = Vec::with_capacity(size);
    for part in parts {
        match part {
            Some((encoding, data)) if !data.is_empty() => {
                put_uvarint(&mut out, data.len() as u64);
                out.push(encoding.as_u8());
                out.extend_from_slice(data);
            }
            _ => put_uvarint(&mut out, 0),
        }
    }
    out
}

/// A sub-chunk of an aggregate chunk: its encoding and where its bytes are in the chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggrPart {
    /// The sub-chunk's encoding (XOR for float series).
    pub encoding: Encoding,
    /// Byte range of the sub-chunk's data inside the aggregate chunk's data.
    pub start: usize,
    /// End of that range (exclusive).
    pub end: usize,
}

/// A decoded view of an aggregate chunk's layout: where each present sub-chunk lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggrChunkLayout {
    parts: [Option<AggrPart>; 5],
}

impl AggrChunkLayout {
    /// Parses the layout of `data` (the chunk bytes after the `0xFF` encoding byte).
    ///
    /// Trailing absent aggregates may be missing altogether (readers treat them as absent);
    /// a length running past the data is an error.
    pub fn parse(data: &[u8]) -> Result<Self, DecodeError> {
        let mut parts = [None; 5];
        let mut pos = 0;
        for slot in &mut parts {
            if pos == data.len() {
                break;
            }
            let (len, n) = read_uvarint(&data[pos..])?;
            pos += n;
            if len == 0 {
                continue;
            }
            let len = usize::try_from(len).map_err(|_| DecodeError::OutOfRange(len))?;
            let encoding = Encoding::from(*data.get(pos).ok_or(DecodeError::Truncated)?);
            let start = pos + 1;
            let end = start.checked_add(len).filter(|&e| e <= data.len()).ok_or(DecodeError::Truncated)?;
            *slot = Some(AggrPart { encoding, start, end });
            pos = end;
        }
        Ok(Self { parts })
    }

    /// The sub-chunk of `aggr`, if present.
    pub fn part(&self, aggr: AggrType) -> Option<AggrPart> {
        self.parts[aggr.index()]
    }
}

/// Borrowed access to one aggregate chunk's sub-chunks.
#[derive(Debug, Clone, Copy)]
pub struct AggrChunk<'a> {
    data: &'a [u8],
    layout: AggrChunkLayout,
}

impl<'a> AggrChunk<'a> {
    /// Parses `data` (the bytes after the `0xFF` encoding byte).
    pub fn new(data: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(Self { data, layout: AggrChunkLayout::parse(data)? })
    }

    /// The encoding and bytes of `aggr`'s sub-chunk, `None` when absent.
    pub fn get(&self, aggr: AggrType) -> Option<(Encoding, &'a [u8])> {
        self.layout.part(aggr).map(|p| (p.encoding, &self.data[p.start..p.end]))
    }

    /// Samples in the chunk, as Thanos counts them: those of the count sub-chunk (0 when absent
    /// or not a readable XOR chunk).
    pub fn num_samples(&self) -> usize {
        match self.get(AggrType::Count) {
            Some((Encoding::Xor, bytes)) if bytes.len() >= 2 => {
                usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunkenc::{XorEncoder, XorIterator};

    fn xor(samples: &[(i64, f64)]) -> Vec<u8> {
        let mut enc = XorEncoder::new();
        for &(t, v) in samples {
            enc.append(t, v);
        }
        enc.into_bytes()
    }

    #[test]
    fn round_trip_with_absent_aggregates() {
        let count = xor(&[(299_999, 10.0), (599_999, 10.0)]);
        let max = xor(&[(299_999, 3.5)]);
        let data =
            encode_aggr_chunk([Some((Encoding::Xor, &count)), None, None, Some((Encoding::Xor, &max)), None]);
        // count: uvarint len, 0x01, bytes; sum, min: 0; max: len, 0x01, bytes; counter: 0.
        assert_eq!(data[0] as usize, count.len());
        assert_eq!(data[1], 1);
        assert_eq!(data.len(), 1 + 1 + count.len() + 2 + 1 + 1 + max.len() + 1);

        let chunk = AggrChunk::new(&data).expect("valid");
        assert_eq!(chunk.get(AggrType::Count), Some((Encoding::Xor, &count[..])));
        assert_eq!(chunk.get(AggrType::Max), Some((Encoding::Xor, &max[..])));
        assert!(chunk.get(AggrType::Sum).is_none() && chunk.get(AggrType::Counter).is_none());
        assert_eq!(chunk.num_samples(), 2);
        let mut it = XorIterator::new(chunk.get(AggrType::Max).expect("max").1).expect("xor");
        assert_eq!(it.next_sample().expect("ok"), Some((299_999, 3.5)));
    }

    #[test]
    fn truncated_data_is_an_error_not_a_panic() {
        let count = xor(&[(1, 1.0)]);
        let data = encode_aggr_chunk([Some((Encoding::Xor, &count)), None, None, None, None]);
        for cut in 1..data.len() - 4 {
            assert!(AggrChunk::new(&data[..cut]).is_err(), "cut at {cut}");
        }
        // Missing trailing zero lengths read as absent aggregates.
        assert!(AggrChunk::new(&data[..data.len() - 4]).is_ok());
        assert!(AggrChunk::new(&[]).expect("empty").get(AggrType::Count).is_none());
        assert!(AggrChunk::new(&[0xff; 11]).is_err());
    }

    #[test]
    fn names_and_order() {
        assert_eq!(AggrType::ALL.map(|a| a.to_string()), ["count", "sum", "min", "max", "counter"]);
        assert_eq!(AggrType::Counter.index(), 4);
        assert_eq!(AGGR_ENCODING.as_u8(), 0xff);
    }
}
