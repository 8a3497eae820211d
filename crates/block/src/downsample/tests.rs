//! Whole-block downsampling over blocks written by `tsdb_format`'s writer.

use tsdb_format::block::{BlockReader, BlockWriter};
use tsdb_format::chunkenc::{AggrChunk, AggrType};

use super::*;
use tsdb_format::meta::{RESOLUTION_1H, RESOLUTION_5M};

fn series(name: &str) -> tsdb_format::Labels {
    tsdb_format::Labels::from_pairs([("__name__", name.to_string())])
}

fn write_block(dir: &Path, hours: i64) -> BlockMeta {
    let mut w = BlockWriter::new(2 * 3600 * 1000);
    for i in 0..hours * 240 {
        w.append(&series("a"), i * 15_000, (i % 500) as f64);
        w.append(&series("b"), i * 15_000, 1.0);
    }
    w.write(dir).expect("write").expect("not empty")
}

#[test]
fn raw_to_5m_to_1h_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = write_block(dir.path(), 48);
    let raw_dir = dir.path().join(raw.ulid.to_string());
    let five = downsample_block(&raw_dir, dir.path(), RESOLUTION_5M).expect("5m");
    assert_eq!((five.min_time, five.max_time), (raw.min_time, raw.max_time));
    let thanos = five.thanos.as_ref().expect("thanos section");
    assert_eq!((thanos.downsample.resolution, thanos.source.as_str()), (RESOLUTION_5M, "compactor"));
    assert_eq!(five.compaction.sources, raw.compaction.sources);
    assert_eq!(five.stats.num_series, 2);
    assert_eq!(five.stats.num_samples, 2 * 48 * 12, "one count sample per 5m window");

    let five_dir = dir.path().join(five.ulid.to_string());
    let block = BlockReader::open(&five_dir).expect("open 5m block");
    let mut total = 0.0;
    for series_ref in block.series_refs().expect("refs") {
        let (_, metas) = block.series(series_ref).expect("series");
        for meta in metas {
            let (encoding, data) = block.chunks().chunk(meta.chunk_ref).expect("chunk");
            assert_eq!(encoding, AGGR_ENCODING);
            let chunk = AggrChunk::new(data).expect("aggr chunk");
            assert!(AggrType::ALL.iter().all(|&a| chunk.get(a).is_some()));
            total += chunk.num_samples() as f64;
        }
    }
    assert_eq!(total, five.stats.num_samples as f64);

    let hour = downsample_block(&five_dir, dir.path(), RESOLUTION_1H).expect("1h");
    assert_eq!(hour.thanos.as_ref().map(|t| t.downsample.resolution), Some(RESOLUTION_1H));
    assert_eq!(hour.stats.num_samples, 2 * 48);
    assert!(matches!(
        downsample_block(&five_dir, dir.path(), RESOLUTION_5M),
        Err(DownsampleError::ResolutionNotLower { current: RESOLUTION_5M, target: RESOLUTION_5M })
    ));
    // Only the three complete blocks remain; no temporary directories.
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 3);
}

/// Samples of each aggregate of each chunk.
fn aggregates(chunks: &[DownsampledChunk]) -> Vec<[Vec<(i64, f64)>; 5]> {
    chunks
        .iter()
        .map(|c| {
            let parsed = AggrChunk::new(&c.data).expect("aggr chunk");
            AggrType::ALL.map(|a| {
                let mut out = Vec::new();
                if let Some((encoding, bytes)) = parsed.get(a) {
                    rollup::decode_xor(encoding, bytes, &mut out).expect("xor");
                }
                out
            })
        })
        .collect()
}

/// The expected output of Thanos' `TestDownsample` "three chunks" case (resolution 100, stale
/// markers skipped): one chunk, windows capped at the last sample, counter edges kept.
#[test]
fn thanos_three_chunks_case() {
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let raw = [
        (20, 1.0),
        (40, 2.0),
        (60, 3.0),
        (80, 1.0),
        (100, 2.0),
        (101, stale),
        (120, 5.0),
        (180, 10.0),
        (250, 2.0),
        (260, 1.0),
        (300, 10.0),
        (340, 15.0),
        (380, 25.0),
        (420, 35.0),
        (460, stale),
        (500, 10.0),
        (540, 3.0),
    ];
    let got = aggregates(&downsample_raw(&raw, 100));
    let times = [99, 199, 299, 399, 499, 540];
    let with_times = |values: [f64; 6]| -> Vec<(i64, f64)> { times.into_iter().zip(values).collect() };
    assert_eq!(got.len(), 1);
    let [count, sum, min, max, counter] = &got[0];
    assert_eq!(count, &with_times([4.0, 3.0, 2.0, 3.0, 1.0, 2.0]));
    assert_eq!(sum, &with_times([7.0, 17.0, 3.0, 50.0, 35.0, 13.0]));
    assert_eq!(min, &with_times([1.0, 2.0, 1.0, 10.0, 35.0, 3.0]));
    assert_eq!(max, &with_times([3.0, 10.0, 2.0, 25.0, 35.0, 10.0]));
    assert_eq!(
        counter,
        &[(20, 1.0), (99, 4.0), (199, 13.0), (299, 16.0), (399, 40.0), (499, 50.0), (540, 63.0), (540, 3.0)]
    );
}

/// Thanos' `TestDownsampleCounterBoundaryReset`: resets at chunk boundaries survive two rounds
/// only because each chunk keeps its first and last raw values.
#[test]
fn thanos_counter_boundary_reset_case() {
    let raw = [
        (10, 1.0),
        (20, 3.0),
        (30, 5.0),
        (50, 1.0),
        (60, 8.0),
        (70, 10.0),
        (120, 1.0),
        (130, 18.0),
        (140, 20.0),
        (160, 21.0),
        (170, 38.0),
        (180, 40.0),
    ];
    let counters = |chunks: &[DownsampledChunk]| -> Vec<Vec<(i64, f64)>> {
        aggregates(chunks).into_iter().map(|[.., counter]| counter).collect()
    };
    let read = |parts: &[Vec<(i64, f64)>]| apply_counter_resets(parts.iter().map(Vec::as_slice)).0;

    // More chunks than samples: one window per chunk.
    let five = raw::downsample_raw_in(&raw, 50, raw.len() + 1);
    let five_counters = counters(&five);
    assert_eq!(
        five_counters.concat(),
        [
            (10, 1.0),
            (30, 5.0),
            (30, 5.0),
            (50, 1.0),
            (70, 10.0),
            (70, 10.0),
            (120, 1.0),
            (140, 20.0),
            (140, 20.0),
            (160, 21.0),
            (180, 40.0),
            (180, 40.0)
        ]
    );
    assert_eq!(
        read(&five_counters),
        [(10, 1.0), (30, 5.0), (50, 6.0), (70, 15.0), (120, 16.0), (140, 35.0), (160, 36.0), (180, 55.0)]
    );

    let parsed: Vec<AggrChunk<'_>> = five.iter().map(|c| AggrChunk::new(&c.data).expect("valid")).collect();
    let hundred = rollup::downsample_aggr_in(&parsed, 100, 2).expect("rolls up");
    assert_eq!(hundred.len(), 2);
    let hundred_counters = counters(&hundred);
    assert_eq!(
        hundred_counters.concat(),
        [(10, 1.0), (70, 15.0), (70, 10.0), (120, 1.0), (180, 40.0), (180, 40.0)]
    );
    assert_eq!(read(&hundred_counters), [(10, 1.0), (70, 15.0), (120, 16.0), (180, 55.0)]);
}

/// An aggregate chunk holding the given samples per aggregate (absent when empty).
fn aggr_chunk(parts: [&[(i64, f64)]; 5]) -> Vec<u8> {
    let encoded: Vec<Vec<u8>> = parts
        .iter()
        .map(|samples| {
            let mut enc = tsdb_format::chunkenc::XorEncoder::new();
            for &(t, v) in *samples {
                enc.append(t, v);
            }
            if samples.is_empty() { Vec::new() } else { enc.into_bytes() }
        })
        .collect();
    tsdb_format::chunkenc::encode_aggr_chunk(std::array::from_fn(|i| {
        (!encoded[i].is_empty()).then(|| (tsdb_format::chunkenc::Encoding::Xor, encoded[i].as_slice()))
    }))
}

/// Thanos' `TestDownsample` "two aggregated chunks" case (499 → 500): counts add up, counter
/// markers inside a chunk and resets between chunks are honoured.
#[test]
fn thanos_two_aggregated_chunks_case() {
    let plain: &[(i64, f64)] =
        &[(199, 5.0), (299, 1.0), (399, 10.0), (400, 3.0), (499, 10.0), (699, 0.0), (999, 100.0)];
    let low: &[(i64, f64)] =
        &[(199, 5.0), (299, 1.0), (399, 10.0), (400, -3.0), (499, 10.0), (699, 0.0), (999, 100.0)];
    let counter: &[(i64, f64)] = &[
        (99, 100.0),
        (299, 150.0),
        (499, 210.0),
        (499, 10.0),
        (599, 20.0),
        (799, 50.0),
        (999, 120.0),
        (999, 50.0),
        (1099, 40.0),
        (1199, 80.0),
        (1299, 110.0),
    ];
    let plain2: &[(i64, f64)] = &[(1399, 10.0), (1400, 3.0), (1499, 10.0), (1699, 0.0), (1999, 100.0)];
    let low2: &[(i64, f64)] = &[(1399, 10.0), (1400, -3.0), (1499, 10.0), (1699, 0.0), (1999, 100.0)];
    let counter2: &[(i64, f64)] = &[
        (1499, 210.0),
        (1499, 10.0),
        (1599, 20.0),
        (1799, 50.0),
        (1999, 120.0),
        (1999, 50.0),
        (2099, 40.0),
        (2199, 80.0),
        (2299, 110.0),
    ];
    let first = aggr_chunk([plain, plain, low, low, counter]);
    let second = aggr_chunk([plain2, plain2, low2, low2, counter2]);
    let parsed = [AggrChunk::new(&first).expect("valid"), AggrChunk::new(&second).expect("valid")];
    let out = downsample_aggr(&parsed, 99, 2299, 499, 500).expect("rolls up");
    let got = aggregates(&out);
    assert_eq!(got.len(), 1);
    let [count, sum, min, max, counter] = &got[0];
    let times = [499, 999, 1499, 1999];
    let with_times = |values: [f64; 4]| -> Vec<(i64, f64)> { times.into_iter().zip(values).collect() };
    assert_eq!(count, &with_times([29.0, 100.0, 23.0, 100.0]));
    assert_eq!(sum, &with_times([29.0, 100.0, 23.0, 100.0]));
    assert_eq!(min, &with_times([-3.0, 0.0, -3.0, 0.0]));
    assert_eq!(max, &with_times([10.0, 100.0, 10.0, 100.0]));
    assert_eq!(
        counter,
        &[
            (99, 100.0),
            (499, 210.0),
            (999, 320.0),
            (1499, 530.0),
            (1999, 640.0),
            (2299, 750.0),
            (2299, 110.0)
        ]
    );
    assert_eq!((out[0].min_time, out[0].max_time), (499, 2299));
}

/// A "5m" block holding raw XOR chunks is refused, as Thanos refuses it; nothing is left behind.
#[test]
fn raw_chunks_in_a_downsampled_block_are_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut meta = write_block(dir.path(), 4);
    let block_dir = dir.path().join(meta.ulid.to_string());
    let mut thanos = tsdb_format::meta::ThanosMeta::default();
    thanos.downsample.resolution = RESOLUTION_5M;
    meta.thanos = Some(thanos);
    meta.write_to_dir(&block_dir).expect("rewrite meta");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let error = downsample_block(&block_dir, &out, RESOLUTION_1H).expect_err("raw chunks");
    assert!(matches!(error, DownsampleError::NotAggregated(_)), "{error}");
    assert_eq!(std::fs::read_dir(&out).expect("ls").count(), 0, "the partial block is removed");
}
