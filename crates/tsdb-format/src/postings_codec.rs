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
//! Decoding accepts anything Go's snappy writers produce; compression is the `snap` crate's, valid
//! Snappy that Thanos decodes.

use crate::encoding::{put_uvarint, read_uvarint};
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

/// Snappy through the `snap` crate: the block format and the framing format (google/snappy
/// `format_description.txt` and `framing_format.txt`), as golang/snappy writes and reads them.
mod snappy {
    use std::io::{Read, Write};

    use super::CodecError;

    /// Worst-case growth of a copy element: 64 output bytes from 3 input bytes, rounded up. A
    /// block header claiming more is corrupt, and is refused before allocating for it.
    const MAX_EXPANSION: usize = 32;

    fn snap_error(e: snap::Error) -> CodecError {
        match e {
            snap::Error::TooBig { given, .. } => {
                CodecError::TooLarge(usize::try_from(given).unwrap_or(usize::MAX))
            }
            other => io_error(std::io::Error::from(other)),
        }
    }

    fn io_error(e: std::io::Error) -> CodecError {
        let msg = e.to_string();
        // snap's messages already say "snappy: ", which our error adds too.
        CodecError::Snappy(msg.strip_prefix("snappy: ").unwrap_or(&msg).to_string())
    }

    /// Appends `src` as one Snappy block: uvarint length, then elements.
    pub(super) fn compress_block(src: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let block = snap::raw::Encoder::new().compress_vec(src).map_err(snap_error)?;
        out.extend_from_slice(&block);
        Ok(())
    }

    /// Decodes one Snappy block.
    pub(super) fn decompress_block(src: &[u8]) -> Result<Vec<u8>, CodecError> {
        let len = snap::raw::decompress_len(src).map_err(snap_error)?;
        if len > src.len().saturating_mul(MAX_EXPANSION) + 64 {
            return Err(CodecError::Snappy(format!(
                "implausible decoded length {len} for {} bytes",
                src.len()
            )));
        }
        snap::raw::Decoder::new().decompress_vec(src).map_err(snap_error)
    }

    /// Appends `src` in the framing format: stream identifier, then one chunk per 64 KiB,
    /// compressed unless that saves less than an eighth. Empty input writes nothing, as Go's
    /// writer does.
    pub(super) fn compress_framed(src: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let mut writer = snap::write::FrameEncoder::new(out);
        writer.write_all(src).map_err(io_error)?;
        writer.flush().map_err(io_error)
    }

    /// Decodes the framing format. Skippable chunks (0x80–0xfe) are skipped; a first chunk other
    /// than the stream identifier, reserved types 0x02–0x7f and checksum mismatches are errors.
    pub(super) fn decompress_framed(src: &[u8]) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        snap::read::FrameDecoder::new(src).read_to_end(&mut out).map_err(io_error)?;
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

    /// The framing format's checksum, from its spec: CRC-32C, rotated and offset.
    fn masked_crc(data: &[u8]) -> u32 {
        crate::encoding::crc32c(data).rotate_right(15).wrapping_add(0xa282_ead8)
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
        assert_eq!(diff_varint_snappy_streamed_encode(&[]).expect("empty"), b"dss");
        assert_eq!(decode_postings(b"dss\xff\x06\x00\x00sNaPpY").expect("empty"), refs(&[]));
        // The uncompressed chunk of [1] with its masked CRC.
        let mut s = b"dss\xff\x06\x00\x00sNaPpY\x01\x05\x00\x00".to_vec();
        s.extend_from_slice(&masked_crc(&[1]).to_le_bytes());
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
