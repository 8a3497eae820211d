//! Aggregate chunks → coarser aggregate chunks (Thanos' `downsampleAggr`), e.g. 5m → 1h.
//!
//! Batches follow input chunk boundaries: a chunk's first and last counter values are true raw
//! values, and keeping them at the edges of output chunks keeps counters exact across rounds.

use tsdb_format::chunkenc::{AggrChunk, AggrType, Encoding, XorIterator};

use super::DownsampleError;
use super::aggregate::{
    AggrChunkBuilder, Aggregator, DownsampledChunk, downsample_batch, is_stale_nan, target_chunk_count,
};
use super::counter::CounterResets;

/// Every sample of an XOR sub-chunk, appended to `out`.
pub(crate) fn decode_xor(
    encoding: Encoding,
    bytes: &[u8],
    out: &mut Vec<(i64, f64)>,
) -> Result<(), DownsampleError> {
    if encoding != Encoding::Xor {
        return Err(DownsampleError::UnsupportedEncoding(encoding.to_string()));
    }
    let corrupt = |e| DownsampleError::CorruptChunk(format!("XOR chunk: {e}"));
    let mut it = XorIterator::new(bytes).map_err(corrupt)?;
    while let Some(sample) = it.next_sample().map_err(corrupt)? {
        out.push(sample);
    }
    Ok(())
}

/// The samples of an XOR sub-chunk; stale markers and samples before time 0 or going back in
/// time are skipped (Thanos' `expandChunkIterator`).
pub(crate) fn expand_xor(
    encoding: Encoding,
    bytes: &[u8],
    out: &mut Vec<(i64, f64)>,
) -> Result<(), DownsampleError> {
    let from = out.len();
    decode_xor(encoding, bytes, out)?;
    let mut last_t = 0;
    let mut kept = from;
    for i in from..out.len() {
        let (t, v) = out[i];
        if is_stale_nan(v) || t < last_t {
            continue;
        }
        out[kept] = (t, v);
        kept += 1;
        last_t = t;
    }
    out.truncate(kept);
    Ok(())
}

/// Rolls up one series' aggregate chunks (ordered, not overlapping; `mint`/`maxt` the first and
/// last chunk's bounds) from `in_res` to `out_res`.
pub fn downsample_aggr(
    chunks: &[AggrChunk<'_>],
    mint: i64,
    maxt: i64,
    in_res: i64,
    out_res: i64,
) -> Result<Vec<DownsampledChunk>, DownsampleError> {
    let num_samples: usize = chunks.iter().map(AggrChunk::num_samples).sum();
    let num_chunks = target_chunk_count(mint, maxt, in_res, out_res, num_samples);
    downsample_aggr_in(chunks, out_res, num_chunks)
}

/// [`downsample_aggr`] in `num_chunks` batches of whole input chunks.
pub(crate) fn downsample_aggr_in(
    chunks: &[AggrChunk<'_>],
    out_res: i64,
    num_chunks: usize,
) -> Result<Vec<DownsampledChunk>, DownsampleError> {
    // Go divides without a floor of 1 and would loop forever on fewer chunks than batches.
    let batch_size = (chunks.len() / num_chunks.max(1)).max(1);
    chunks.chunks(batch_size).map(|batch| downsample_aggr_batch(batch, out_res)).collect()
}

/// What a coarse window takes from the aggregator run over finer values.
type WindowValue = fn(&Aggregator) -> f64;

/// One output chunk from a batch of input chunks.
fn downsample_aggr_batch(
    chunks: &[AggrChunk<'_>],
    resolution: i64,
) -> Result<DownsampledChunk, DownsampleError> {
    let mut builder = AggrChunkBuilder::default();
    let mut buf: Vec<(i64, f64)> = Vec::new();
    let plain: [(AggrType, WindowValue); 4] = [
        // Counts of finer windows add up to the coarse window's count.
        (AggrType::Count, |a| a.sum),
        (AggrType::Sum, |a| a.sum),
        (AggrType::Min, |a| a.min),
        (AggrType::Max, |a| a.max),
    ];
    for (aggr, value) in plain {
        buf.clear();
        for chunk in chunks {
            if let Some((encoding, bytes)) = chunk.get(aggr) {
                expand_xor(encoding, bytes, &mut buf)?;
            }
        }
        if buf.is_empty() {
            continue;
        }
        builder.part(aggr);
        let mut windows = Vec::new();
        downsample_batch(&buf, resolution, |t, a| windows.push((t, value(a))));
        for (t, v) in windows {
            builder.cover(t);
            builder.part(aggr).append(t, v);
        }
    }

    // Counters: read the finer counter chunks as one monotonic series, then aggregate that.
    let mut reader = CounterResets::new();
    let mut counters: Vec<(i64, f64)> = Vec::new();
    let mut last_t = 0;
    for chunk in chunks {
        let Some((encoding, bytes)) = chunk.get(AggrType::Counter) else {
            continue;
        };
        buf.clear();
        decode_xor(encoding, bytes, &mut buf)?;
        for &(t, v) in &buf {
            if let Some((t, total)) = reader.push(t, v)
                && t >= last_t
            {
                counters.push((t, total));
                last_t = t;
            }
        }
    }
    let Some(&(first_t, first_v)) = counters.first() else {
        return Ok(builder.finish());
    };
    builder.part(AggrType::Counter).append(first_t, first_v);
    let mut windows = Vec::new();
    let last_window = downsample_batch(&counters, resolution, |t, a| windows.push((t, a.counter)));
    for (t, v) in windows {
        builder.cover(t);
        builder.part(AggrType::Counter).append(t, v);
    }
    builder.part(AggrType::Counter).append(last_window, reader.last_value());
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::super::raw::downsample_raw;
    use super::*;

    fn samples(chunk: &DownsampledChunk, aggr: AggrType) -> Vec<(i64, f64)> {
        let parsed = AggrChunk::new(&chunk.data).expect("aggr chunk");
        let (encoding, bytes) = parsed.get(aggr).expect("present");
        let mut out = Vec::new();
        expand_xor(encoding, bytes, &mut out).expect("xor");
        out
    }

    #[test]
    fn five_minutes_to_one_hour_matches_raw_to_one_hour() {
        // A counter with a reset every 1000 samples, 2 days at 15s.
        let data: Vec<(i64, f64)> = (0..11_520).map(|i| (i * 15_000, (i % 1000) as f64)).collect();
        let five = downsample_raw(&data, 300_000);
        let parsed: Vec<AggrChunk<'_>> =
            five.iter().map(|c| AggrChunk::new(&c.data).expect("valid")).collect();
        let hour = downsample_aggr(
            &parsed,
            five[0].min_time,
            five.last().expect("chunks").max_time,
            300_000,
            3_600_000,
        )
        .expect("rolls up");
        let direct = downsample_raw(&data, 3_600_000);
        let all = |chunks: &[DownsampledChunk], aggr| -> Vec<(i64, f64)> {
            chunks.iter().flat_map(|c| samples(c, aggr)).collect()
        };
        for aggr in [AggrType::Count, AggrType::Sum, AggrType::Min, AggrType::Max] {
            assert_eq!(all(&hour, aggr), all(&direct, aggr), "{aggr}");
        }
        let counters = |chunks: &[DownsampledChunk]| {
            let read: Vec<Vec<(i64, f64)>> = chunks.iter().map(|c| samples(c, AggrType::Counter)).collect();
            let (points, last) = super::super::counter::apply_counter_resets(read.iter().map(Vec::as_slice));
            // Only the window ends: the timestamps that are multiples of the hour minus one.
            let ends: Vec<(i64, f64)> = points.into_iter().filter(|p| (p.0 + 1) % 3_600_000 == 0).collect();
            (ends, last)
        };
        assert_eq!(counters(&hour), counters(&direct));
    }
}
