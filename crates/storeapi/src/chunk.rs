//! Chunks on the wire: the `Chunk.hash` checksum, and the mapping between Prometheus' chunk
//! encodings (on disk and in remote read) and the StoreAPI's `Chunk.type`.
//!
//! ```text
//! Prometheus chunkenc byte:  0 none   1 XOR   2 histogram   3 float histogram
//! StoreAPI Chunk.type:               0 XOR   1 HISTOGRAM   2 FLOAT_HISTOGRAM   (= byte − 1)
//! ```

use std::cmp::Ordering;

use bytes::Bytes;
use tsdb_format::chunkenc::Encoding;

use crate::error::{Error, Result};
use crate::pb::prometheus as prom;
use crate::pb::thanos::{self as pb, chunk::Encoding as PbEncoding};

/// `Chunk.hash`: the xxhash64 (seed 0) of the chunk data, as Thanos computes it.
pub fn hash(data: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(data, 0)
}

/// The StoreAPI encoding of a Prometheus chunk encoding; `None` and unknown bytes (e.g. Thanos'
/// downsampled aggregate chunk 0xFF, which travels as separate `AggrChunk` fields) have none.
pub fn encoding_to_pb(encoding: Encoding) -> Result<PbEncoding> {
    match encoding {
        Encoding::Xor => Ok(PbEncoding::Xor),
        Encoding::Histogram => Ok(PbEncoding::Histogram),
        Encoding::FloatHistogram => Ok(PbEncoding::FloatHistogram),
        other @ (Encoding::None | Encoding::Unknown(_)) => Err(Error::UnsupportedEncoding(other.to_string())),
    }
}

/// The Prometheus chunk encoding of a StoreAPI encoding.
pub fn encoding_from_pb(encoding: PbEncoding) -> Encoding {
    match encoding {
        PbEncoding::Xor => Encoding::Xor,
        PbEncoding::Histogram => Encoding::Histogram,
        PbEncoding::FloatHistogram => Encoding::FloatHistogram,
    }
}

/// The Prometheus chunk encoding of a raw `Chunk.type` value; unknown values are an error.
pub fn encoding_from_pb_value(value: i32) -> Result<Encoding> {
    PbEncoding::try_from(value)
        .map(encoding_from_pb)
        .map_err(|_| Error::UnsupportedEncoding(format!("StoreAPI chunk type {value}")))
}

/// The StoreAPI encoding of a remote-read chunk type (`thanos = prometheus − 1`).
pub fn encoding_from_remote_read(value: i32) -> Result<PbEncoding> {
    match u8::try_from(value) {
        Ok(byte) => encoding_to_pb(Encoding::from(byte)),
        Err(_) => Err(Error::UnsupportedEncoding(format!("remote-read chunk type {value}"))),
    }
}

/// A StoreAPI chunk with its hash computed.
pub fn new_chunk(encoding: Encoding, data: Bytes) -> Result<pb::Chunk> {
    let r#type = encoding_to_pb(encoding)? as i32;
    Ok(pb::Chunk { r#type, hash: hash(&data), data })
}

/// A raw (not downsampled) `AggrChunk` over `[min_time, max_time]`, hash computed.
pub fn raw_aggr_chunk(
    min_time: i64,
    max_time: i64,
    encoding: Encoding,
    data: Bytes,
) -> Result<pb::AggrChunk> {
    Ok(pb::AggrChunk { min_time, max_time, raw: Some(new_chunk(encoding, data)?), ..Default::default() })
}

/// A streamed remote-read chunk as a StoreAPI raw `AggrChunk` (the sidecar's pass-through).
pub fn from_remote_read(chunk: prom::Chunk) -> Result<pb::AggrChunk> {
    let r#type = encoding_from_remote_read(chunk.r#type)? as i32;
    let raw = pb::Chunk { r#type, hash: hash(&chunk.data), data: chunk.data };
    Ok(pb::AggrChunk {
        min_time: chunk.min_time_ms,
        max_time: chunk.max_time_ms,
        raw: Some(raw),
        ..Default::default()
    })
}

/// Orders chunks by min time, then max time, then the encoded sub-chunks (type and data; the
/// hash is ignored). `Equal` means the chunks are exact duplicates (Thanos' `AggrChunk.Compare`,
/// with the sign turned the usual way round).
pub fn compare_aggr(a: &pb::AggrChunk, b: &pb::AggrChunk) -> Ordering {
    a.min_time
        .cmp(&b.min_time)
        .then(a.max_time.cmp(&b.max_time))
        .then_with(|| compare_sub(&a.raw, &b.raw))
        .then_with(|| compare_sub(&a.count, &b.count))
        .then_with(|| compare_sub(&a.sum, &b.sum))
        .then_with(|| compare_sub(&a.min, &b.min))
        .then_with(|| compare_sub(&a.max, &b.max))
        .then_with(|| compare_sub(&a.counter, &b.counter))
}

/// A missing sub-chunk sorts first.
fn compare_sub(a: &Option<pb::Chunk>, b: &Option<pb::Chunk>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.r#type.cmp(&y.r#type).then_with(|| x.data.cmp(&y.data)),
    }
}

/// Sorts chunks by [`compare_aggr`] and removes exact duplicates.
pub fn sort_and_dedup(chunks: &mut Vec<pb::AggrChunk>) {
    chunks.sort_by(compare_aggr);
    chunks.dedup_by(|later, earlier| compare_aggr(later, earlier) == Ordering::Equal);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_xxhash64_seed_zero() {
        // Reference values of XXH64 with seed 0.
        assert_eq!(hash(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(hash(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(hash(b"abc"), 0x44BC_2CF5_AD77_0999);
    }

    #[test]
    fn encodings_are_prometheus_minus_one() {
        for encoding in [Encoding::Xor, Encoding::Histogram, Encoding::FloatHistogram] {
            let wire = encoding_to_pb(encoding).expect("mapped");
            assert_eq!(wire as i32, i32::from(encoding.as_u8()) - 1);
            assert_eq!(encoding_from_pb(wire), encoding);
            assert_eq!(encoding_from_pb_value(wire as i32).expect("known"), encoding);
            assert_eq!(encoding_from_remote_read(i32::from(encoding.as_u8())).expect("known"), wire);
        }
        assert!(encoding_to_pb(Encoding::None).is_err());
        assert!(encoding_to_pb(Encoding::Unknown(0xff)).is_err());
        assert!(encoding_from_pb_value(3).is_err());
        assert!(encoding_from_remote_read(0).is_err(), "UNKNOWN");
        assert!(encoding_from_remote_read(4).is_err(), "XOR2 is newer than the StoreAPI");
        assert!(encoding_from_remote_read(-1).is_err());
    }

    #[test]
    fn remote_read_chunks_pass_through_with_hash() {
        let data = Bytes::from_static(&[0, 1, 2, 3]);
        let chunk = prom::Chunk {
            min_time_ms: 10,
            max_time_ms: 20,
            r#type: prom::chunk::Encoding::Xor as i32,
            data: data.clone(),
        };
        let aggr = from_remote_read(chunk).expect("xor");
        assert_eq!((aggr.min_time, aggr.max_time), (10, 20));
        let raw = aggr.raw.expect("raw chunk");
        assert_eq!(raw.r#type, PbEncoding::Xor as i32);
        assert_eq!(raw.hash, hash(&data));
        assert_eq!(raw.data, data);
        assert_eq!(raw_aggr_chunk(10, 20, Encoding::Xor, data).expect("xor").raw, Some(raw));
    }

    #[test]
    fn sort_and_dedup_removes_exact_duplicates_only() {
        let c = |min, max, data: &'static [u8]| {
            raw_aggr_chunk(min, max, Encoding::Xor, Bytes::from_static(data)).expect("xor")
        };
        let mut unhashed = c(0, 9, b"a");
        if let Some(raw) = unhashed.raw.as_mut() {
            raw.hash = 0;
        }
        let mut chunks = vec![c(10, 19, b"b"), c(0, 9, b"a"), unhashed, c(0, 9, b"z"), c(0, 5, b"a")];
        sort_and_dedup(&mut chunks);
        let keys: Vec<(i64, i64, &[u8])> = chunks
            .iter()
            .map(|k| (k.min_time, k.max_time, k.raw.as_ref().map_or(&b""[..], |r| &r.data[..])))
            .collect();
        assert_eq!(keys, vec![(0, 5, &b"a"[..]), (0, 9, b"a"), (0, 9, b"z"), (10, 19, b"b")]);
    }
}
