//! The samples of one series (or one overlap-split pseudo-replica) from its chunks, as Thanos'
//! querier reads them (T:pkg/query/iter.go `chunkSeries.Iterator`,
//! T:pkg/compact/downsample/downsample.go `ApplyCounterResetsSeriesIterator`,
//! `AverageChunkIterator`, T:pkg/dedup/iter.go `boundedSeriesIterator`).

use storeapi::pb::thanos::chunk::Encoding as PbEncoding;
use storeapi::pb::thanos::{AggrChunk, Chunk};
use tsdb_format::chunkenc::XorIterator;

use super::DedupError;

/// One downsampling aggregate of an `AggrChunk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aggr {
    /// `count`.
    Count,
    /// `sum`.
    Sum,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `counter` (counter resets applied while reading).
    Counter,
}

/// What a selection reads from each chunk (Thanos' `aggrsFromFunc` of the selector's function).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadMode {
    /// One aggregate, or the raw chunk when that aggregate is missing.
    One(Aggr),
    /// The raw chunk, or `sum / count` of a downsampled chunk (the default).
    Average,
}

impl ReadMode {
    /// The read mode for the function around the selector (`SelectHints.func`; `None` = plain).
    pub(crate) fn for_func(func: Option<&str>) -> Self {
        let f = func.unwrap_or("");
        if f == "min" || f.starts_with("min_") {
            Self::One(Aggr::Min)
        } else if f == "max" || f.starts_with("max_") {
            Self::One(Aggr::Max)
        } else if f == "count" || f.starts_with("count_") {
            Self::One(Aggr::Count)
        } else if f.starts_with("sum_") {
            // `sum` itself falls through to the average: it wants the actual samples.
            Self::One(Aggr::Sum)
        } else if matches!(f, "increase" | "rate" | "irate" | "resets" | "xincrease" | "xrate") {
            Self::One(Aggr::Counter)
        } else {
            Self::Average
        }
    }
}

/// A chunk's time range and decoded samples (already the aggregate the read mode asks for).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DecodedChunk {
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
    pub(crate) points: Vec<(i64, f64)>,
}

/// Decodes an XOR sub-chunk.
fn decode_xor(chunk: &Chunk) -> Result<Vec<(i64, f64)>, DedupError> {
    if chunk.r#type != PbEncoding::Xor as i32 {
        return Err(DedupError(format!(
            "unsupported chunk encoding {} (only XOR float chunks)",
            chunk.r#type
        )));
    }
    let mut it = XorIterator::new(&chunk.data).map_err(|e| DedupError(format!("decoding XOR chunk: {e}")))?;
    let mut out = Vec::with_capacity(usize::from(it.num_samples()));
    while let Some(sample) = it.next_sample().map_err(|e| DedupError(format!("decoding XOR chunk: {e}")))? {
        out.push(sample);
    }
    Ok(out)
}

/// The samples a chunk contributes under `mode` (Thanos' `getFirstIterator(aggr, raw)`, or the
/// raw chunk / `AverageChunkIterator` pair for the default read).
pub(crate) fn decode_chunk(chunk: &AggrChunk, mode: ReadMode) -> Result<DecodedChunk, DedupError> {
    let points = match mode {
        ReadMode::One(aggr) => {
            let field = match aggr {
                Aggr::Count => &chunk.count,
                Aggr::Sum => &chunk.sum,
                Aggr::Min => &chunk.min,
                Aggr::Max => &chunk.max,
                Aggr::Counter => &chunk.counter,
            };
            match field.as_ref().or(chunk.raw.as_ref()) {
                Some(c) => decode_xor(c)?,
                None => return Err(DedupError("no valid chunk found".to_string())),
            }
        }
        ReadMode::Average => match (&chunk.raw, &chunk.count, &chunk.sum) {
            (Some(raw), _, _) => decode_xor(raw)?,
            (None, Some(count), Some(sum)) => average(&decode_xor(count)?, &decode_xor(sum)?)?,
            _ => return Err(DedupError("no valid chunk found".to_string())),
        },
    };
    Ok(DecodedChunk { min_time: chunk.min_time, max_time: chunk.max_time, points })
}

/// `sum / count` sample by sample; the two must be aligned.
fn average(count: &[(i64, f64)], sum: &[(i64, f64)]) -> Result<Vec<(i64, f64)>, DedupError> {
    if count.len() != sum.len() {
        return Err(DedupError("sum and count iterator not aligned".to_string()));
    }
    count
        .iter()
        .zip(sum)
        .map(|(&(ct, cv), &(st, sv))| {
            if ct == st {
                Ok((ct, sv / cv))
            } else {
                Err(DedupError("sum and count timestamps not aligned".to_string()))
            }
        })
        .collect()
}

/// The samples of one series made of `chunks` (sorted, possibly overlapping), kept inside
/// `[mint, maxt]`. A counter read (`counter`: the selector sits in a counter function, see
/// [`super::is_counter_func`]) applies counter resets across the whole chunk list first, so values
/// count from the first sample of the first chunk, even before `mint`.
pub(crate) fn series_points(chunks: &[DecodedChunk], counter: bool, mint: i64, maxt: i64) -> Vec<(i64, f64)> {
    let all = if counter { apply_counter_resets(chunks) } else { concat(chunks) };
    bound(all, mint, maxt)
}

/// Thanos' `chunkSeriesIterator`: chunk after chunk; entering a chunk skips its samples at or
/// before the last sample returned.
fn concat(chunks: &[DecodedChunk]) -> Vec<(i64, f64)> {
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(chunks.iter().map(|c| c.points.len()).sum());
    for chunk in chunks {
        let from = match out.last() {
            Some(&(last_t, _)) => {
                chunk.points.iter().position(|&(t, _)| t > last_t).unwrap_or(chunk.points.len())
            }
            None => 0,
        };
        out.extend_from_slice(&chunk.points[from..]);
    }
    out
}

/// Thanos' `ApplyCounterResetsSeriesIterator`: a monotonic running total. NaN samples (stale
/// markers) are dropped; a drop adds the new value (a reset); a sample at the last timestamp
/// only replaces the value later samples are compared with; older samples are skipped.
pub(crate) fn apply_counter_resets(chunks: &[DecodedChunk]) -> Vec<(i64, f64)> {
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.points.len()).sum());
    let mut state: Option<(i64, f64, f64)> = None; // (last t, last raw value, total)
    for &(t, v) in chunks.iter().flat_map(|c| c.points.iter()) {
        if v.is_nan() {
            continue;
        }
        match state.as_mut() {
            None => {
                state = Some((t, v, v));
                out.push((t, v));
            }
            Some((last_t, last_v, total)) => {
                if t > *last_t {
                    if v >= *last_v {
                        *total += v - *last_v;
                    } else {
                        *total += v;
                    }
                    *last_t = t;
                    *last_v = v;
                    out.push((t, *total));
                } else if t == *last_t {
                    *last_v = v;
                }
            }
        }
    }
    out
}

/// Thanos' `boundedSeriesIterator`: samples before `mint` are skipped, the first one after
/// `maxt` ends the series.
fn bound(points: Vec<(i64, f64)>, mint: i64, maxt: i64) -> Vec<(i64, f64)> {
    points.into_iter().filter(|&(t, _)| t >= mint).take_while(|&(t, _)| t <= maxt).collect()
}
