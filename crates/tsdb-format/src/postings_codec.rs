//! Thanos' compressed postings, the values of its postings cache (`pkg/store/postings_codec.go`).
//!
//! A postings list (series references, increasing) becomes *diff+varint*: each reference minus
//! the previous one (the first minus 0) as an unsigned varint. Thanos stores that compressed,
//! behind a 3-byte header naming the codec:
//!
//! - `"dvs"` (diff+varint+snappy, deprecated upstream but still decoded): one Snappy block.
//! - `"dss"` (diff+varint, streamed snappy, what Thanos writes today): the Snappy framing format
//!   (stream identifier, then compressed or uncompressed chunks of at most 64 KiB, each with a
//!   masked CRC-32C of its uncompressed bytes).
//!
//! Decoding accepts anything Go's snappy writers produce. The compressor here is our own greedy
//! one: its output is valid Snappy that Thanos decodes, but not byte-identical to Go's.

use crate::encoding::{crc32c, put_uvarint, read_uvarint};
use crate::index::SeriesRef;

/// Header of the diff+varint+snappy (block) encoding.
pub const CODEC_HEADER_SNAPPY: &[u8; 3] = b"dvs";
/// Header of the diff+varint, streamed snappy (framing format) encoding.
pub const CODEC_HEADER_STREAMED_SNAPPY: &[u8; 3] = b"dss";

/// Why postings could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input starts with neither codec header.
    #[error("unrecognized postings format")]
    UnknownFormat,
    /// References given to an encoder were not in increasing order.
    #[error("postings entries must be in increasing order, current: {current}, previous: {previous}")]
    NotIncreasing {
        /// The offending reference.
        current: u64,
        /// The reference before it.
        previous: u64,
    },
    /// A diff+varint stream ended inside a varint or held an overlong one.
    #[error("invalid varint at byte {0}")]
    Varint(usize),
    /// Snappy-compressed data was malformed.
    #[error("snappy: {0}")]
    Snappy(String),
    /// The input is too large for Snappy (4 GiB).
    #[error("input of {0} bytes too large to compress")]
    TooLarge(usize),
}

/// Is `input` in the diff+varint+snappy (block) encoding?
pub fn is_diff_varint_snappy(input: &[u8]) -> bool {
    input.starts_with(CODEC_HEADER_SNAPPY)
}

/// Is `input` in the diff+varint, streamed snappy encoding?
pub fn is_diff_varint_snappy_streamed(input: &[u8]) -> bool {
    input.starts_with(CODEC_HEADER_STREAMED_SNAPPY)
}

/// Encodes increasing references as diff+varint, without a header. Equal neighbours are allowed
/// (a diff of 0), as in Thanos.
pub fn diff_varint_encode(refs: &[SeriesRef]) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(5 * refs.len() / 4);
    let mut prev = 0u64;
    for &SeriesRef(v) in refs {
        if v < prev {
            return Err(CodecError::NotIncreasing { current: v, previous: prev });
        }
        put_uvarint(&mut out, v - prev);
        prev = v;
    }
    Ok(out)
}

/// Decodes diff+varint bytes (no header) into references.
pub fn diff_varint_decode(input: &[u8]) -> Result<Vec<SeriesRef>, CodecError> {
    let mut out = Vec::with_capacity(input.len());
    let mut cur = 0u64;
    let mut at = 0;
    while at < input.len() {
        let (v, n) = read_uvarint(&input[at..]).map_err(|_| CodecError::Varint(at))?;
        // Go's SeriesRef addition wraps.
        cur = cur.wrapping_add(v);
        out.push(SeriesRef(cur));
        at += n;
    }
    Ok(out)
}

/// Encodes references as `"dvs"` + one Snappy block of their diff+varint bytes.
pub fn diff_varint_snappy_encode(refs: &[SeriesRef]) -> Result<Vec<u8>, CodecError> {
    let raw = diff_varint_encode(refs)?;
    let mut out = CODEC_HEADER_SNAPPY.to_vec();
    snappy::compress_block(&raw, &mut out)?;
    Ok(out)
}

/// Encodes references as `"dss"` + a Snappy stream of their diff+varint bytes: what Thanos'
/// postings cache stores.
pub fn diff_varint_snappy_streamed_encode(refs: &[SeriesRef]) -> Result<Vec<u8>, CodecError> {
    snappy_streamed_encode(&diff_varint_encode(refs)?)
}

/// Wraps diff+varint bytes already encoded as `"dss"` + a Snappy stream.
pub fn snappy_streamed_encode(diff_varint: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut out = CODEC_HEADER_STREAMED_SNAPPY.to_vec();
    snappy::compress_framed(diff_varint, &mut out)?;
    Ok(out)
}

/// Decodes postings in either encoding, chosen by the header.
pub fn decode_postings(input: &[u8]) -> Result<Vec<SeriesRef>, CodecError> {
    let raw = if let Some(body) = input.strip_prefix(CODEC_HEADER_SNAPPY) {
        snappy::decompress_block(body)?
    } else if let Some(body) = input.strip_prefix(CODEC_HEADER_STREAMED_SNAPPY) {
        snappy::decompress_framed(body)?
    } else {
        return Err(CodecError::UnknownFormat);
    };
    diff_varint_decode(&raw)
}

/// Snappy: the block format and the framing format (google/snappy `format_description.txt`
/// and `framing_format.txt`).
mod snappy {
    use super::{CodecError, crc32c, put_uvarint, read_uvarint};

    /// Largest uncompressed chunk of the framing format, and the block fragment size.
    const MAX_BLOCK: usize = 65536;
    /// The framing format's first chunk.
    const STREAM_IDENTIFIER: &[u8; 10] = b"\xff\x06\x00\x00sNaPpY";
    const CHUNK_COMPRESSED: u8 = 0x00;
    const CHUNK_UNCOMPRESSED: u8 = 0x01;
    const CHUNK_STREAM_IDENTIFIER: u8 = 0xff;
    /// Worst-case growth of a copy element: 64 output bytes from 3 input bytes, rounded up.
    const MAX_EXPANSION: usize = 32;

    fn err(msg: impl Into<String>) -> CodecError {
        CodecError::Snappy(msg.into())
    }

    /// The framing format's checksum: CRC-32C, rotated and offset.
    pub(super) fn masked_crc(data: &[u8]) -> u32 {
        let c = crc32c(data);
        (c.rotate_right(15)).wrapping_add(0xa282_ead8)
    }

    fn load32(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    fn emit_literal(lit: &[u8], out: &mut Vec<u8>) {
        let Some(n) = lit.len().checked_sub(1) else {
            return;
        };
        if n < 60 {
            out.push((n as u8) << 2);
        } else {
            let bytes = (n as u32).to_le_bytes();
            let width = 4 - (n as u32).leading_zeros() as usize / 8;
            out.push(((59 + width) as u8) << 2);
            out.extend_from_slice(&bytes[..width]);
        }
        out.extend_from_slice(lit);
    }

    fn emit_copy2(offset: usize, len: usize, out: &mut Vec<u8>) {
        out.push((((len - 1) as u8) << 2) | 2);
        out.extend_from_slice(&(offset as u16).to_le_bytes());
    }

    /// A copy of `len` (≥ 4) bytes from `offset` (1..65536) back.
    fn emit_copy(offset: usize, mut len: usize, out: &mut Vec<u8>) {
        while len >= 68 {
            emit_copy2(offset, 64, out);
            len -= 64;
        }
        if len > 64 {
            emit_copy2(offset, 60, out);
            len -= 60;
        }
        if len >= 12 || offset >= 2048 {
            emit_copy2(offset, len, out);
        } else {
            out.push((((offset >> 8) as u8) << 5) | (((len - 4) as u8) << 2) | 1);
            out.push(offset as u8);
        }
    }

    /// Compresses one fragment of at most 64 KiB: greedy matching through a hash table.
    fn compress_fragment(src: &[u8], out: &mut Vec<u8>, table: &mut [u32]) {
        const MIN_INPUT: usize = 17;
        if src.len() < MIN_INPUT {
            emit_literal(src, out);
            return;
        }
        table.fill(0);
        let shift = 32 - table.len().trailing_zeros();
        let hash = |v: u32| (v.wrapping_mul(0x1e35_a7bd) >> shift) as usize;
        let (mut i, mut lit_start) = (0, 0);
        while i + 4 <= src.len() {
            let v = load32(src, i);
            let h = hash(v);
            // Positions are stored plus one, so 0 means empty.
            let candidate = table[h] as usize;
            table[h] = (i + 1) as u32;
            if let Some(c) = candidate.checked_sub(1)
                && load32(src, c) == v
            {
                let mut len = 4;
                while i + len < src.len() && src[c + len] == src[i + len] {
                    len += 1;
                }
                emit_literal(&src[lit_start..i], out);
                emit_copy(i - c, len, out);
                i += len;
                lit_start = i;
                continue;
            }
            i += 1;
        }
        emit_literal(&src[lit_start..], out);
    }

    /// Appends `src` as one Snappy block: uvarint length, then elements.
    pub(super) fn compress_block(src: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
        if u32::try_from(src.len()).is_err() {
            return Err(CodecError::TooLarge(src.len()));
        }
        put_uvarint(out, src.len() as u64);
        let mut table = vec![0u32; 1 << 14];
        for fragment in src.chunks(MAX_BLOCK) {
            compress_fragment(fragment, out, &mut table);
        }
        Ok(())
    }

    /// Decodes one Snappy block.
    pub(super) fn decompress_block(src: &[u8]) -> Result<Vec<u8>, CodecError> {
        let (len, mut i) = read_uvarint(src).map_err(|_| err("invalid block length"))?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| u32::try_from(l).is_ok() && l <= src.len().saturating_mul(MAX_EXPANSION) + 64)
            .ok_or_else(|| err(format!("implausible decoded length {len} for {} bytes", src.len())))?;
        let mut out: Vec<u8> = Vec::with_capacity(len);
        while i < src.len() {
            let tag = src[i];
            i += 1;
            let (copy_len, offset) = match tag & 3 {
                0 => {
                    let mut n = usize::from(tag >> 2);
                    if n >= 60 {
                        let width = n - 59;
                        let b = src.get(i..i + width).ok_or_else(|| err("truncated literal length"))?;
                        let mut le = [0u8; 4];
                        le[..width].copy_from_slice(b);
                        n = u32::from_le_bytes(le) as usize;
                        i += width;
                    }
                    let n = n + 1;
                    let lit = src.get(i..i.saturating_add(n)).ok_or_else(|| err("truncated literal"))?;
                    if out.len() + n > len {
                        return Err(err("literal runs past the decoded length"));
                    }
                    out.extend_from_slice(lit);
                    i += n;
                    continue;
                }
                1 => {
                    let b = *src.get(i).ok_or_else(|| err("truncated copy"))?;
                    i += 1;
                    (4 + usize::from((tag >> 2) & 7), (usize::from(tag >> 5) << 8) | usize::from(b))
                }
                2 => {
                    let b = src.get(i..i + 2).ok_or_else(|| err("truncated copy"))?;
                    i += 2;
                    (1 + usize::from(tag >> 2), usize::from(u16::from_le_bytes([b[0], b[1]])))
                }
                _ => {
                    let b = src.get(i..i + 4).ok_or_else(|| err("truncated copy"))?;
                    i += 4;
                    (1 + usize::from(tag >> 2), u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                }
            };
            if offset == 0 || offset > out.len() {
                return Err(err(format!("copy offset {offset} outside {} decoded bytes", out.len())));
            }
            if out.len() + copy_len > len {
                return Err(err("copy runs past the decoded length"));
            }
            let start = out.len() - offset;
            // Copies may overlap their own output, so go byte by byte.
            for k in 0..copy_len {
                out.push(out[start + k]);
            }
        }
        if out.len() != len {
            return Err(err(format!("decoded {} bytes, header says {len}", out.len())));
        }
        Ok(out)
    }

    /// Appends `src` in the framing format: stream identifier, then one chunk per 64 KiB,
    /// compressed unless that saves less than an eighth (as Go's writer decides).
    pub(super) fn compress_framed(src: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(STREAM_IDENTIFIER);
        let mut block = Vec::new();
        for chunk in src.chunks(MAX_BLOCK) {
            block.clear();
            compress_block(chunk, &mut block)?;
            let (kind, body): (u8, &[u8]) = if block.len() >= chunk.len() - chunk.len() / 8 {
                (CHUNK_UNCOMPRESSED, chunk)
            } else {
                (CHUNK_COMPRESSED, &block)
            };
            let chunk_len = (body.len() + 4) as u32;
            out.push(kind);
            out.extend_from_slice(&chunk_len.to_le_bytes()[..3]);
            out.extend_from_slice(&masked_crc(chunk).to_le_bytes());
            out.extend_from_slice(body);
        }
        Ok(())
    }

    /// Decodes the framing format. Skippable chunks (0x80–0xfe) are skipped; data chunks before
    /// the stream identifier, or of reserved types 0x02–0x7f, are errors.
    pub(super) fn decompress_framed(mut src: &[u8]) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        let mut seen_identifier = false;
        while !src.is_empty() {
            let Some(&[kind, a, b, c]) = src.get(..4) else {
                return Err(err("truncated chunk header"));
            };
            let len = usize::from(a) | usize::from(b) << 8 | usize::from(c) << 16;
            let body = src.get(4..4 + len).ok_or_else(|| err("truncated chunk"))?;
            src = &src[4 + len..];
            match kind {
                CHUNK_STREAM_IDENTIFIER => {
                    if body != &STREAM_IDENTIFIER[4..] {
                        return Err(err("bad stream identifier"));
                    }
                    seen_identifier = true;
                }
                CHUNK_COMPRESSED | CHUNK_UNCOMPRESSED => {
                    if !seen_identifier {
                        return Err(err("missing stream identifier"));
                    }
                    let Some((crc, data)) = body.split_first_chunk::<4>() else {
                        return Err(err("chunk shorter than its checksum"));
                    };
                    let start = out.len();
                    if kind == CHUNK_COMPRESSED {
                        out.extend_from_slice(&decompress_block(data)?);
                    } else {
                        out.extend_from_slice(data);
                    }
                    let (stored, computed) = (u32::from_le_bytes(*crc), masked_crc(&out[start..]));
                    if stored != computed {
                        return Err(err(format!(
                            "checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
                        )));
                    }
                }
                0x02..=0x7f => return Err(err(format!("unsupported chunk type {kind:#04x}"))),
                _ => {}
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REPRO: &str = "/work/shared/testdata-blocks/6545postingsrepro";

    fn refs(v: &[u64]) -> Vec<SeriesRef> {
        v.iter().copied().map(SeriesRef).collect()
    }

    #[test]
    fn regression_issue_6545() {
        let raw = std::fs::read(REPRO).expect("read 6545postingsrepro");
        let decoded = diff_varint_decode(&raw).expect("decode");
        assert_eq!(decoded.len(), 114_024);
        assert!(decoded.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        assert_eq!(diff_varint_encode(&decoded).expect("encode"), raw);

        // Through the cache encodings and back.
        let streamed = snappy_streamed_encode(&raw).expect("stream");
        assert!(is_diff_varint_snappy_streamed(&streamed));
        assert!(streamed.len() < raw.len() / 2, "compresses: {} of {}", streamed.len(), raw.len());
        assert_eq!(snappy::decompress_framed(&streamed[3..]).expect("unframe"), raw);
        assert_eq!(decode_postings(&streamed).expect("dss"), decoded);
        assert_eq!(diff_varint_snappy_streamed_encode(&decoded).expect("dss"), streamed);
        let block = diff_varint_snappy_encode(&decoded).expect("dvs");
        assert!(is_diff_varint_snappy(&block));
        assert_eq!(decode_postings(&block).expect("dvs"), decoded);
    }

    #[test]
    fn known_bytes() {
        assert_eq!(diff_varint_encode(&refs(&[1, 2, 300, 300])).expect("encode"), [1, 1, 0xaa, 0x02, 0]);
        assert_eq!(
            diff_varint_encode(&refs(&[5, 4])),
            Err(CodecError::NotIncreasing { current: 4, previous: 5 })
        );
        assert_eq!(diff_varint_decode(&[0x80]), Err(CodecError::Varint(0)));
        assert_eq!(decode_postings(b"xyz"), Err(CodecError::UnknownFormat));
        // A hand-made Snappy block: literal "abcd" then a copy-1 of 8 bytes at offset 4.
        let block = [12, 3 << 2, b'a', b'b', b'c', b'd', 1 | (4 << 2), 4];
        assert_eq!(snappy::decompress_block(&block).expect("block"), b"abcdabcdabcd");
        // An empty stream as Go's writer leaves it, and with only the identifier.
        assert_eq!(decode_postings(b"dss").expect("empty"), refs(&[]));
        assert_eq!(decode_postings(b"dss\xff\x06\x00\x00sNaPpY").expect("empty"), refs(&[]));
        // The uncompressed chunk of [1] with its masked CRC.
        let mut s = b"dss\xff\x06\x00\x00sNaPpY\x01\x05\x00\x00".to_vec();
        s.extend_from_slice(&snappy::masked_crc(&[1]).to_le_bytes());
        s.push(1);
        assert_eq!(decode_postings(&s).expect("one"), refs(&[1]));
        let last = s.len() - 1;
        s[last] = 2;
        assert!(matches!(decode_postings(&s), Err(CodecError::Snappy(_))));
    }

    proptest! {
        #[test]
        fn round_trips(mut v in proptest::collection::vec(any::<u64>(), 0..3000), small: bool) {
            if small {
                v.iter_mut().for_each(|x| *x %= 100_000);
            }
            v.sort_unstable();
            let r = refs(&v);
            prop_assert_eq!(diff_varint_decode(&diff_varint_encode(&r).expect("enc")).expect("dec"), r.clone());
            prop_assert_eq!(decode_postings(&diff_varint_snappy_encode(&r).expect("dvs")).expect("dvs"), r.clone());
            prop_assert_eq!(decode_postings(&diff_varint_snappy_streamed_encode(&r).expect("dss")).expect("dss"), r);
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), header in 0u8..3) {
            let mut input = match header { 0 => b"dvs".to_vec(), 1 => b"dss\xff\x06\x00\x00sNaPpY".to_vec(), _ => Vec::new() };
            input.extend_from_slice(&bytes);
            let _ = decode_postings(&input);
            let _ = diff_varint_decode(&bytes);
            let _ = snappy::decompress_block(&bytes);
        }
    }

    proptest! {
        // Large inputs (several 64 KiB blocks) are slow unoptimized: fewer cases.
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn snappy_round_trips_bytes(data in proptest::collection::vec(0u8..4, 0..150_000)) {
            let mut block = Vec::new();
            snappy::compress_block(&data, &mut block).expect("compress");
            prop_assert_eq!(snappy::decompress_block(&block).expect("decompress"), data.clone());
            let mut framed = Vec::new();
            snappy::compress_framed(&data, &mut framed).expect("frame");
            prop_assert_eq!(snappy::decompress_framed(&framed).expect("unframe"), data);
        }
    }
}
