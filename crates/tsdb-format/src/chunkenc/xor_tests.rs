use super::*;
use proptest::prelude::*;

/// Parses a hex string (whitespace ignored) into bytes.
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
}

fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut encoder = XorEncoder::new();
    for &(t, v) in samples {
        encoder.append(t, v);
    }
    assert_eq!(usize::from(encoder.num_samples()), samples.len());
    encoder.into_bytes()
}

fn decode(chunk: &[u8]) -> Result<Vec<(i64, u64)>, DecodeError> {
    XorIterator::new(chunk)?.map(|s| s.map(|(t, v)| (t, v.to_bits()))).collect()
}

fn as_bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

fn assert_round_trip(samples: &[(i64, f64)]) {
    let chunk = encode(samples);
    assert_eq!(decode(&chunk), Ok(as_bits(samples)), "chunk {chunk:02x?}");
}

/// Samples `t = i·60000, v = i·100` for `i` in `range`, as Prometheus' `load 1m … 0+100x…` makes.
fn minutely(range: std::ops::Range<i64>) -> Vec<(i64, f64)> {
    range.map(|i| (i * 60_000, (i * 100) as f64)).collect()
}

// Golden chunks written by Prometheus 2.42 itself: `TestStreamReadEndpoint` in
// storage/remote/read_handler_test.go at v2.42.0 asserts these bytes for head chunks of
// `test_metric1 0+100x240` loaded at 1m.

/// Samples 0..120. Header `0078` (120), varint t0 `00`, v0 0.0, uvarint delta `e0d403` (60000).
const GO_CHUNK_0_TO_120: &str = "
    0078000000000000000000e0d403c27c059400c1ac7de97a32d04fedb46e5b07ce94a36d64f9d0fd1a506d0a539d0e51
    ad0650bda8bfca815a032833a05287da05280fa0d281da3d2813a032835a072877a032815a0f2813b597f4501b40a507
    f40a501b43a502741e502b40651ef40e506b406502743a503b41a501f40a53fb40a5067406502b43e502f406506b40e5
    1e740a501b41a503f43a501b40a506740e5a4aff5c85cb88d7b80fe52b465bc8e74529ed14a1f6e27d28768d284e8329
    d68728de832856da57f2827434a06d0528ff414a06d0d28274fca0ad03286f41ca3ad032";

/// Samples 120..240, starting at t 7200000 (varint `80f4ee06`) with 12000.0 (`40c7700000000000`).
const GO_CHUNK_120_TO_240: &str = "
    007880f4ee0640c7700000000000e0d403e03e94edb0bfd280fa05283da052873a032815a0f2817a0328f5a072833a05
    280da1d281fa0d280da0529f3a072835a032817a1f2815a032833a0528fda05280fa0d281da1d2813a032835a072d667
    f4b98b9721ab711fca4ee0474a1b4529fd14a1b6f27d284e8f28568329de8728d683284edc57d283b434a07d0528fb41
    4a19d03282b4fca0bd03286b41ca39d05281b434a0fdb4bfd280da052833a072875a032817a0f2815a0328f3a05283da
    05280fa1d281da0d2813a0329f5a072837a032815a1f2813a0d280da0528ffa05280da0d20";

/// Sample 240 alone: t 14400000 (`80e8dd0d`), 24000.0, then Go 2.42's empty trailing byte (the raw
/// 64-bit value is written with whole-byte writes at an aligned position, see `bits.rs`).
const GO_CHUNK_240: &str = "000180e8dd0d40d770000000000000";

#[test]
fn matches_prometheus_golden_chunks() {
    assert_eq!(encode(&minutely(0..120)), hex(GO_CHUNK_0_TO_120));
    assert_eq!(encode(&minutely(120..240)), hex(GO_CHUNK_120_TO_240));
    assert_eq!(encode(&minutely(240..241)), hex(GO_CHUNK_240));
    assert_eq!(decode(&hex(GO_CHUNK_0_TO_120)), Ok(as_bits(&minutely(0..120))));
    assert_eq!(decode(&hex(GO_CHUNK_120_TO_240)), Ok(as_bits(&minutely(120..240))));
    assert_eq!(decode(&hex(GO_CHUNK_240)), Ok(as_bits(&minutely(240..241))));
}

#[test]
fn golden_new_window_after_repeats() {
    // t0 1000 → varint d00f; v0 1.0 → 3ff0…; delta 1000 → uvarint e807. Then bits:
    // s1 v same `0`; s2 dod `0`, v `0`; s3 dod `0`, v 2.0: xor 0x7ff0… has 1 leading and 52 trailing
    // zeros → `11` · 00001 · sigbits 001011 (11) · 11111111111.
    // 0000 1100 | 0010 0101 | 1111 1111 | 1111 0000 = 0c 25 ff f0. 28 bits, last write of 11 bits:
    // no empty byte.
    let samples = [(1000, 1.0), (2000, 1.0), (3000, 1.0), (4000, 2.0)];
    assert_eq!(encode(&samples), hex("0004 d00f 3ff0000000000000 e807 0c25fff0"));
    assert_round_trip(&samples);
}

#[test]
fn golden_aligned_final_byte_write_gets_go_empty_byte() {
    // s1 (1, 0x1f<<40): xor has 19 leading, 40 trailing → `11` 10011 000101 11111 (18 bits).
    // s2 (2, ^ 0xff<<48): dod `0`; xor 0x00ff… has 8 leading (< 19: new window) →
    // `11` 01000 001000 then 8 ones. Bits before the 8-bit write: 18 + 1 + 13 = 32, aligned, so Go's
    // whole-byte write leaves its empty byte: e6 2f da 08 ff 00.
    let v1 = f64::from_bits(0x1f << 40);
    let v2 = f64::from_bits((0x1f << 40) ^ (0xff << 48));
    let samples = [(0, 0.0), (1, v1), (2, v2)];
    assert_eq!(encode(&samples), hex("0003 00 0000000000000000 01 e62fda08ff00"));
    assert_round_trip(&samples);
}

#[test]
fn golden_dod_bucket_edges_follow_go_bit_range() {
    // dod 8192 = 2^13 still fits the 14-bit bucket: `0` (v1) · `10` 10000000000000 · `0` (v2).
    let up = [(0, 0.0), (10, 0.0), (20 + 8192, 0.0)];
    assert_eq!(encode(&up), hex("0003 00 0000000000000000 0a 500000"));
    // dod −8192 does not (the bucket's low end is −8191): `110` + 17-bit two's complement.
    let down = [(0, 0.0), (10, 0.0), (20 - 8192, 0.0)];
    assert_eq!(encode(&down), hex("0003 00 0000000000000000 0a 6f0000"));
    assert_round_trip(&up);
    assert_round_trip(&down);
    assert!(fits_dod_bucket(-8191, 14) && !fits_dod_bucket(-8192, 14));
    assert!(fits_dod_bucket(8192, 14) && !fits_dod_bucket(8193, 14));
    for nbits in [14, 17, 20] {
        let half = 1i64 << (nbits - 1);
        for dod in [-half + 1, -half, half, half + 1, -1, 1] {
            let samples = [(0, 1.0), (100, 1.0), (200 + dod, 1.0), (300 + dod, 2.0)];
            assert_round_trip(&samples);
        }
    }
}

#[test]
fn special_values_round_trip_bit_exact() {
    const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;
    let values = [
        f64::from_bits(STALE_NAN),
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        f64::MIN_POSITIVE,
        f64::from_bits(1),
        f64::MAX,
        f64::MIN,
        f64::from_bits(STALE_NAN),
        f64::from_bits(0xfff8_0000_0000_0001),
    ];
    let samples: Vec<(i64, f64)> = values.iter().enumerate().map(|(i, &v)| (i as i64 * 15_000, v)).collect();
    assert_round_trip(&samples);
}

#[test]
fn extreme_timestamps_round_trip() {
    assert_round_trip(&[(i64::MIN, 1.0), (i64::MAX, 2.0), (i64::MIN, 3.0), (0, 4.0), (-5, 5.0)]);
    assert_round_trip(&[(-1_000_000, 1.0), (-999_000, 1.0), (1 << 40, 1.0), ((1 << 40) + 1, 1.0)]);
    assert_round_trip(&[(i64::MAX - 2, 0.5), (i64::MAX - 1, 0.5), (i64::MAX, 0.5)]);
    assert_round_trip(&[]);
}

#[test]
fn empty_chunk_is_two_zero_bytes() {
    assert_eq!(XorEncoder::new().bytes(), &[0, 0]);
    assert_eq!(decode(&[0, 0]), Ok(vec![]));
    assert_eq!(XorIterator::new(&[0]).err(), Some(DecodeError::Truncated));
}

#[test]
fn seek_behaves_like_go() {
    let samples = minutely(0..10);
    let chunk = encode(&samples);
    let mut it = XorIterator::new(&chunk).unwrap();
    assert_eq!(it.at(), None);
    assert_eq!(it.seek(i64::MIN), Ok(Some(samples[0])));
    assert_eq!(it.seek(150_000), Ok(Some(samples[3])));
    // The current sample already qualifies: no movement.
    assert_eq!(it.seek(0), Ok(Some(samples[3])));
    assert_eq!(it.next_sample(), Ok(Some(samples[4])));
    assert_eq!(it.seek(540_000), Ok(Some(samples[9])));
    assert_eq!(it.seek(540_001), Ok(None));
    assert_eq!(it.next_sample(), Ok(None));
}

#[test]
fn truncated_and_garbage_chunks_report_errors() {
    let chunk = encode(&minutely(0..120));
    for len in 0..chunk.len() - 1 {
        let prefix = &chunk[..len];
        let result = XorIterator::new(prefix).and_then(|it| it.collect::<Result<Vec<_>, _>>());
        assert!(result.is_err(), "prefix of {len} bytes decoded");
    }
    // More samples claimed than present.
    let mut lying = encode(&minutely(0..3));
    lying[1] = 200;
    let mut it = XorIterator::new(&lying).unwrap();
    // Zero padding bits read as "same delta, same value" (as in Go) until the bits run out.
    let results: Vec<_> = it.by_ref().collect();
    assert!(results[..3].iter().all(Result::is_ok));
    assert_eq!(results.last(), Some(&Err(DecodeError::Truncated)));
    assert_eq!(it.next(), None);
    assert_eq!(it.next_sample(), Err(DecodeError::Truncated));
    // A new window with leading 31 and 40 significant bits cannot exist.
    let mut bad = encode(&[(0, 0.0)]);
    bad.truncate(11);
    bad[1] = 2;
    bad.extend_from_slice(&[0x01, 0b1111_1111, 0b0100_0000, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(decode(&bad), Err(DecodeError::OutOfRange(71)));
}

#[test]
fn window_reuse_from_a_fresh_iterator_reads_64_bits() {
    // An appender rebuilt by Go from a one-sample chunk starts from window 0/0, so it may write `10`
    // + 64 bits for sample 1. Our encoder never does, but the decoder must accept it.
    let mut chunk = hex("0002 00 3ff0000000000000 01");
    let delta: u64 = 1.0f64.to_bits() ^ 3.0f64.to_bits();
    let mut bits = GoBitWriter::with_header(&chunk, 32);
    bits.write_bits(0b10, 2);
    bits.write_bits(delta, 64);
    chunk = bits.bytes().to_vec();
    assert_eq!(decode(&chunk), Ok(vec![(0, 1.0f64.to_bits()), (1, 3.0f64.to_bits())]));
}

#[test]
#[should_panic(expected = "cannot hold more than")]
fn append_past_u16_max_panics() {
    let mut encoder = XorEncoder::new();
    for t in 0..=i64::from(u16::MAX) {
        encoder.append(t, 0.0);
    }
}

/// Increasing timestamps with small, scrape-like and huge gaps.
fn increasing_timestamps() -> impl Strategy<Value = Vec<i64>> {
    let gap = prop_oneof![0i64..3, 14_990i64..15_010, 0i64..1 << 20, 0i64..1 << 40, 0i64..i64::MAX / 200];
    (any::<i64>(), proptest::collection::vec(gap, 0..200)).prop_map(|(start, gaps)| {
        let mut t = start / 2;
        let mut out = vec![t];
        for g in gaps {
            t = t.saturating_add(g);
            out.push(t);
        }
        out
    })
}

/// Arbitrary bit patterns mixed with repeats and "nearby" values, so all xor paths are taken.
fn values(n: usize) -> impl Strategy<Value = Vec<u64>> {
    let step = prop_oneof![
        Just(None),
        any::<u64>().prop_map(Some),
        (0u32..64).prop_map(|b| Some(1u64 << b)),
        (0u32..64, 0u32..64).prop_map(|(a, b)| Some((u64::MAX >> a) << b.min(63)))
    ];
    proptest::collection::vec(step, n).prop_map(|steps| {
        let mut bits = 0u64;
        steps
            .into_iter()
            .map(|step| {
                match step {
                    None => {}
                    Some(x) => bits ^= x,
                }
                bits
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trips_increasing_series(
        (ts, vs) in increasing_timestamps().prop_flat_map(|ts| { let n = ts.len(); (Just(ts), values(n)) })
    ) {
        let samples: Vec<(i64, f64)> = ts.iter().zip(&vs).map(|(&t, &v)| (t, f64::from_bits(v))).collect();
        let chunk = encode(&samples);
        prop_assert_eq!(decode(&chunk), Ok(as_bits(&samples)));
    }

    #[test]
    fn round_trips_arbitrary_timestamps_and_bits(samples in proptest::collection::vec(any::<(i64, u64)>(), 0..150)) {
        let floats: Vec<(i64, f64)> = samples.iter().map(|&(t, v)| (t, f64::from_bits(v))).collect();
        prop_assert_eq!(decode(&encode(&floats)), Ok(samples));
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(it) = XorIterator::new(&bytes) {
            let _ = it.count();
        }
        if let Ok(mut it) = XorIterator::new(&bytes) {
            let _ = it.seek(i64::MAX);
        }
    }

    #[test]
    fn mutated_chunks_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut chunk = encode(&minutely(0..120));
        for (at, byte) in flips {
            let i = at.index(chunk.len());
            chunk[i] ^= byte;
        }
        let keep = cut.index(chunk.len() + 1);
        let _ = decode(&chunk[..keep]);
        let _ = decode(&chunk);
    }
}
