//! Decoding one series entry of the index from ranged bytes, without the whole index.
//!
//! ```text
//! uvarint len │ #labels │ (name ref, value ref)… │ #chunks │ first: varint mint, uvarint Δmaxt, uvarint ref
//!             │ rest: uvarint Δmint (from prev maxt), uvarint Δmaxt, varint Δref │ CRC32C of the body
//! ```
//!
//! `tsdb_format`'s `IndexReader::series` needs the whole index in memory, so the store gateway
//! decodes entries here (a candidate to move into `tsdb_format::index` as a free function).

use tsdb_format::chunks::ChunkRef;
use tsdb_format::encoding::{Decbuf, DecodeError, crc32c};
use tsdb_format::index::ChunkMeta;

/// Why a series entry could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EntryError {
    /// The bytes end before the entry does; `needed` is the entry's full length from its start.
    #[error("series entry truncated: need {needed} bytes")]
    Truncated {
        /// Bytes from the entry's start to the end of its CRC.
        needed: u64,
    },
    /// The entry does not decode.
    #[error("series entry: {0}")]
    Decode(#[from] DecodeError),
    /// The CRC32C does not match.
    #[error("series entry checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// Stored.
        stored: u32,
        /// Computed.
        computed: u32,
    },
}

/// Splits off the checked body of the entry at the start of `bytes`.
pub(crate) fn entry_body(bytes: &[u8]) -> Result<&[u8], EntryError> {
    let mut d = Decbuf::new(bytes);
    let len = match d.uvarint() {
        Ok(len) => len,
        Err(DecodeError::Truncated) => return Err(EntryError::Truncated { needed: 16 }),
        Err(other) => return Err(other.into()),
    };
    let header = d.position() as u64;
    let needed = header + len + 4;
    let Some(with_crc) = usize::try_from(len + 4).ok().and_then(|n| d.remaining().get(..n)) else {
        return Err(EntryError::Truncated { needed });
    };
    let (body, crc) = with_crc.split_at(with_crc.len() - 4);
    let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let computed = crc32c(body);
    if stored != computed {
        return Err(EntryError::Checksum { stored, computed });
    }
    Ok(body)
}

/// A decoded entry: symbol references of its labels and the chunks overlapping the asked range.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct DecodedSeries {
    /// `(name ref, value ref)` pairs, as stored.
    pub(crate) label_refs: Vec<(u32, u32)>,
    /// Chunks with `max_time >= mint` and `min_time <= maxt`.
    pub(crate) chunks: Vec<ChunkMeta>,
    /// Whether any chunk overlaps the range (also set when chunks are skipped).
    pub(crate) has_chunks_in_range: bool,
}

/// Decodes a body (see [`entry_body`]) keeping the chunks overlapping `[mint, maxt]`; with
/// `skip_chunks`, only whether there is one (Thanos' `decodeSeriesForTime`).
pub(crate) fn decode_series(
    body: &[u8],
    mint: i64,
    maxt: i64,
    skip_chunks: bool,
) -> Result<DecodedSeries, DecodeError> {
    let mut d = Decbuf::new(body);
    let mut out = DecodedSeries::default();
    let num_labels = d.uvarint()?;
    for _ in 0..num_labels {
        let name = d.uvarint32()?;
        let value = d.uvarint32()?;
        out.label_refs.push((name, value));
    }
    let num_chunks = d.uvarint()?;
    if num_chunks == 0 {
        return Ok(out);
    }
    let mut chunk_min = d.varint()?;
    let mut chunk_max = (d.uvarint()? as i64).wrapping_add(chunk_min);
    let mut chunk_ref = d.uvarint()? as i64;
    for i in 0..num_chunks {
        if i > 0 {
            chunk_min = (d.uvarint()? as i64).wrapping_add(chunk_max);
            chunk_max = (d.uvarint()? as i64).wrapping_add(chunk_min);
            chunk_ref = chunk_ref.wrapping_add(d.varint()?);
        }
        if chunk_min > maxt {
            break;
        }
        if chunk_max >= mint {
            out.has_chunks_in_range = true;
            if skip_chunks {
                return Ok(out);
            }
            out.chunks.push(ChunkMeta::new(chunk_min, chunk_max, ChunkRef(chunk_ref as u64)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use tsdb_format::encoding::Encbuf;

    use super::*;

    fn entry(labels: &[(u32, u32)], chunks: &[(i64, i64, u64)]) -> Vec<u8> {
        let mut body = Encbuf::new();
        body.put_uvarint(labels.len() as u64);
        for (n, v) in labels {
            body.put_uvarint(u64::from(*n));
            body.put_uvarint(u64::from(*v));
        }
        body.put_uvarint(chunks.len() as u64);
        let mut prev: Option<(i64, u64)> = None;
        for &(min, max, r) in chunks {
            match prev {
                None => {
                    body.put_varint(min);
                    body.put_uvarint((max - min) as u64);
                    body.put_uvarint(r);
                }
                Some((prev_max, prev_ref)) => {
                    body.put_uvarint((min - prev_max) as u64);
                    body.put_uvarint((max - min) as u64);
                    body.put_varint(r as i64 - prev_ref as i64);
                }
            }
            prev = Some((max, r));
        }
        let body = body.bytes;
        let mut out = Encbuf::new();
        out.put_uvarint(body.len() as u64);
        out.put_bytes(&body);
        out.put_be32(crc32c(&body));
        out.bytes
    }

    #[test]
    fn keeps_overlapping_chunks_only() {
        let bytes = entry(&[(1, 2), (3, 4)], &[(0, 99, 8), (100, 199, 50), (200, 299, 90)]);
        let body = entry_body(&bytes).expect("valid");
        let decoded = decode_series(body, 150, 250, false).expect("decodes");
        assert_eq!(decoded.label_refs, vec![(1, 2), (3, 4)]);
        let times: Vec<(i64, i64, u64)> =
            decoded.chunks.iter().map(|c| (c.min_time, c.max_time, c.chunk_ref.0)).collect();
        assert_eq!(times, vec![(100, 199, 50), (200, 299, 90)]);
        assert!(decode_series(body, 300, 400, true).expect("decodes").chunks.is_empty());
        assert!(decode_series(body, 99, 99, true).expect("decodes").has_chunks_in_range);
    }

    #[test]
    fn truncated_and_corrupt_entries_are_reported() {
        let bytes = entry(&[(1, 2)], &[(0, 9, 8)]);
        assert!(matches!(
            entry_body(&bytes[..bytes.len() - 1]),
            Err(EntryError::Truncated { needed }) if needed == bytes.len() as u64
        ));
        let mut bad = bytes.clone();
        bad[2] ^= 0xff;
        assert!(matches!(entry_body(&bad), Err(EntryError::Checksum { .. })));
    }
}
