//! Raw samples → aggregate chunks (Thanos' `DownsampleRaw`).

use tsdb_format::chunkenc::AggrType;

use super::aggregate::{
    AggrChunkBuilder, DownsampledChunk, current_window, downsample_batch, target_chunk_count,
};

/// The raw resolution the chunk-count heuristic assumes (1m; real data is often denser).
const ASSUMED_RAW_RESOLUTION: i64 = 60_000;

/// Aggregates one series' raw samples (time-ordered) into chunks at `resolution`.
///
/// The samples are cut into batches of about equal size, each extended to the end of its last
/// window; NaN values are dropped. Each batch becomes one chunk whose counter aggregate starts
/// with the batch's first raw sample and ends with its last raw value repeated at the last
/// window's timestamp, so counter resets between chunks stay detectable.
pub fn downsample_raw(data: &[(i64, f64)], resolution: i64) -> Vec<DownsampledChunk> {
    let (Some(first), Some(last)) = (data.first(), data.last()) else {
        return Vec::new();
    };
    let num_chunks = target_chunk_count(first.0, last.0, ASSUMED_RAW_RESOLUTION, resolution, data.len());
    downsample_raw_in(data, resolution, num_chunks)
}

/// [`downsample_raw`] aiming at `num_chunks` chunks.
pub(crate) fn downsample_raw_in(
    data: &[(i64, f64)],
    resolution: i64,
    num_chunks: usize,
) -> Vec<DownsampledChunk> {
    let batch_size = data.len() / num_chunks.max(1) + 1;
    let mut chunks = Vec::with_capacity(num_chunks);
    let mut rest = data;
    while !rest.is_empty() {
        let mut end = batch_size.min(rest.len());
        // Keep whole windows in a batch: take the rest of the last sample's window too.
        let window_end = current_window(rest[end - 1].0, resolution);
        while end < rest.len() && rest[end].0 <= window_end {
            end += 1;
        }
        let batch: Vec<(i64, f64)> = rest[..end].iter().copied().filter(|s| !s.1.is_nan()).collect();
        rest = &rest[end..];
        let (Some(&(first_t, first_v)), Some(&(_, last_v))) = (batch.first(), batch.last()) else {
            continue;
        };
        let mut builder = AggrChunkBuilder::all();
        builder.part(AggrType::Counter).append(first_t, first_v);
        let last_window = downsample_batch(&batch, resolution, |t, aggr| builder.add_window(t, aggr));
        builder.part(AggrType::Counter).append(last_window, last_v);
        chunks.push(builder.finish());
    }
    chunks
}

#[cfg(test)]
mod tests {
    use tsdb_format::chunkenc::{AggrChunk, XorIterator};

    use super::*;

    fn samples(chunk: &DownsampledChunk, aggr: AggrType) -> Vec<(i64, f64)> {
        let parsed = AggrChunk::new(&chunk.data).expect("aggr chunk");
        let (_, bytes) = parsed.get(aggr).expect("present");
        let mut it = XorIterator::new(bytes).expect("xor");
        let mut out = Vec::new();
        while let Some(s) = it.next_sample().expect("decodes") {
            out.push(s);
        }
        out
    }

    #[test]
    fn one_chunk_with_counter_edges_and_nan_dropped() {
        let data = [(10_000, 3.0), (200_000, f64::NAN), (310_000, 1.0), (320_000, 2.0)];
        let chunks = downsample_raw(&data, 300_000);
        assert_eq!(chunks.len(), 1);
        let chunk = &chunks[0];
        assert_eq!((chunk.min_time, chunk.max_time, chunk.num_samples), (299_999, 320_000, 2));
        assert_eq!(samples(chunk, AggrType::Count), [(299_999, 1.0), (320_000, 2.0)]);
        assert_eq!(samples(chunk, AggrType::Sum), [(299_999, 3.0), (320_000, 3.0)]);
        assert_eq!(samples(chunk, AggrType::Min), [(299_999, 3.0), (320_000, 1.0)]);
        assert_eq!(samples(chunk, AggrType::Max), [(299_999, 3.0), (320_000, 2.0)]);
        // First raw sample, windows (3, then reset to 1 and +1 → 5), last raw value repeated.
        assert_eq!(
            samples(chunk, AggrType::Counter),
            [(10_000, 3.0), (299_999, 3.0), (320_000, 5.0), (320_000, 2.0)]
        );
    }

    #[test]
    fn batches_end_on_window_boundaries() {
        // 3 days of 15s samples at 5m: several chunks, none splitting a window.
        let data: Vec<(i64, f64)> = (0..17_280).map(|i| (i * 15_000, i as f64)).collect();
        let chunks = downsample_raw(&data, 300_000);
        assert!(chunks.len() > 1);
        for pair in chunks.windows(2) {
            // A chunk ends at its last raw sample; the next starts in a later window.
            assert!(pair[0].max_time / 300_000 < pair[1].min_time / 300_000);
        }
        let total: f64 = chunks.iter().flat_map(|c| samples(c, AggrType::Count)).map(|s| s.1).sum();
        assert_eq!(total, data.len() as f64);
        assert!(chunks.iter().all(|c| c.num_samples <= 160));
    }
}
