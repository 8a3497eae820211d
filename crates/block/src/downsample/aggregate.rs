//! The pieces both downsampling steps share: windows, the per-window aggregator, the chunk-count
//! heuristic, and the builder of one aggregate chunk (T:pkg/compact/downsample/downsample.go).

use tsdb_format::chunkenc::{AggrType, Encoding, XorEncoder, encode_aggr_chunk};

/// The bits of Prometheus' stale marker (`value.StaleNaN`).
const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Output samples an aggregate chunk aims to stay under.
const TARGET_SAMPLES_PER_CHUNK: i64 = 140;

/// Whether `v` is Prometheus' stale marker.
pub(crate) fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// The last timestamp of the `resolution`-wide window `t` falls into; the aggregate of a window is
/// stored there, one before the next window starts, so it stays inside the block's range.
pub(crate) fn current_window(t: i64, resolution: i64) -> i64 {
    t - (t % resolution) + resolution - 1
}

/// The fraction of `[mint, maxt]` that `count` samples at `step` cover, at most 1.
fn range_fullness(mint: i64, maxt: i64, step: i64, count: usize) -> f64 {
    let fullness = count as f64 / ((maxt - mint) as f64 / step as f64);
    if fullness > 1.0 { 1.0 } else { fullness }
}

/// How many chunks a series' downsampled data is cut into so each holds under ~140 samples:
/// the windows the range could hold, scaled by how densely the input fills it.
pub(crate) fn target_chunk_count(mint: i64, maxt: i64, in_res: i64, out_res: i64, count: usize) -> usize {
    let max_samples = ((maxt - mint) / out_res) as f64;
    // Go converts the product to int (truncating; NaN and overflow give garbage it then survives).
    let expected = (max_samples * range_fullness(mint, maxt, in_res, count)) as i64 + 1;
    let mut chunks = 1;
    while expected / chunks > TARGET_SAMPLES_PER_CHUNK {
        chunks += 1;
    }
    chunks as usize
}

/// Statistics of the current window plus the running counter state of the whole batch.
#[derive(Debug, Clone, Default)]
pub(crate) struct Aggregator {
    /// Samples added since the batch began.
    total: usize,
    /// Samples in the current window.
    pub(crate) count: usize,
    /// Sum of the current window.
    pub(crate) sum: f64,
    /// Minimum of the current window.
    pub(crate) min: f64,
    /// Maximum of the current window.
    pub(crate) max: f64,
    /// Running counter total since the batch began, resets applied.
    pub(crate) counter: f64,
    /// The last value added.
    last: f64,
}

impl Aggregator {
    /// Starts a new window (the counter carries on).
    fn reset(&mut self) {
        self.count = 0;
        self.sum = 0.0;
        self.min = f64::MAX;
        self.max = -f64::MAX;
    }

    fn add(&mut self, v: f64) {
        if self.total > 0 {
            // A drop is a counter reset: the new value is what was counted since.
            self.counter += if v < self.last { v } else { v - self.last };
        } else {
            self.counter = v;
        }
        self.last = v;
        self.sum += v;
        self.count += 1;
        self.total += 1;
        if v < self.min {
            self.min = v;
        }
        if v > self.max {
            self.max = v;
        }
    }
}

/// Aggregates `data` (time-ordered, not empty) window by window, calling `add` with each window's
/// timestamp and state; returns the last window's timestamp. A window's timestamp is capped at the
/// batch's last sample, so consecutive batches never overlap in time. Stale markers are skipped.
pub(crate) fn downsample_batch(
    data: &[(i64, f64)],
    resolution: i64,
    mut add: impl FnMut(i64, &Aggregator),
) -> i64 {
    let last_t = data.last().map_or(-1, |s| s.0);
    let mut aggr = Aggregator::default();
    let mut next_t: i64 = -1;
    for &(t, v) in data {
        if is_stale_nan(v) {
            continue;
        }
        if t > next_t {
            if next_t != -1 {
                add(next_t, &aggr);
            }
            aggr.reset();
            next_t = current_window(t, resolution).min(last_t);
        }
        aggr.add(v);
    }
    add(next_t, &aggr);
    next_t
}

/// One downsampled chunk: its time range (of the aggregate timestamps) and its `0xFF` data.
#[derive(Debug, Clone, PartialEq)]
pub struct DownsampledChunk {
    /// First aggregate timestamp.
    pub min_time: i64,
    /// Last aggregate timestamp.
    pub max_time: i64,
    /// The aggregate chunk's bytes (after the `0xFF` encoding byte).
    pub data: Vec<u8>,
    /// Samples of its count aggregate (what Thanos counts as the chunk's samples).
    pub num_samples: usize,
}

/// Collects the five aggregates of one output chunk; absent ones stay `None`.
#[derive(Debug, Default)]
pub(crate) struct AggrChunkBuilder {
    pub(crate) parts: [Option<XorEncoder>; 5],
    min_time: Option<i64>,
    max_time: Option<i64>,
}

impl AggrChunkBuilder {
    /// A builder with all five aggregates present (the raw → 5m case).
    pub(crate) fn all() -> Self {
        Self { parts: std::array::from_fn(|_| Some(XorEncoder::new())), ..Self::default() }
    }

    /// The encoder of `aggr`, created on first use.
    pub(crate) fn part(&mut self, aggr: AggrType) -> &mut XorEncoder {
        self.parts[aggr.index()].get_or_insert_with(XorEncoder::new)
    }

    /// Widens the chunk's time range to `t`.
    pub(crate) fn cover(&mut self, t: i64) {
        self.min_time = Some(self.min_time.map_or(t, |m| m.min(t)));
        self.max_time = Some(self.max_time.map_or(t, |m| m.max(t)));
    }

    /// Appends one window of every aggregate at `t`.
    pub(crate) fn add_window(&mut self, t: i64, aggr: &Aggregator) {
        self.cover(t);
        self.part(AggrType::Sum).append(t, aggr.sum);
        self.part(AggrType::Min).append(t, aggr.min);
        self.part(AggrType::Max).append(t, aggr.max);
        self.part(AggrType::Count).append(t, aggr.count as f64);
        self.part(AggrType::Counter).append(t, aggr.counter);
    }

    /// The encoded chunk.
    pub(crate) fn finish(self) -> DownsampledChunk {
        let num_samples =
            self.parts[AggrType::Count.index()].as_ref().map_or(0, |c| usize::from(c.num_samples()));
        let parts: [Option<(Encoding, &[u8])>; 5] =
            std::array::from_fn(|i| self.parts[i].as_ref().map(|enc| (Encoding::Xor, enc.bytes())));
        DownsampledChunk {
            // Go starts from MaxInt64/MinInt64; a chunk always has at least one window.
            min_time: self.min_time.unwrap_or(i64::MAX),
            max_time: self.max_time.unwrap_or(i64::MIN),
            data: encode_aggr_chunk(parts),
            num_samples,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_one_before_the_next() {
        assert_eq!(current_window(0, 300_000), 299_999);
        assert_eq!(current_window(299_999, 300_000), 299_999);
        assert_eq!(current_window(300_000, 300_000), 599_999);
    }

    #[test]
    fn chunk_count_targets_140_samples() {
        // 2 days of 15s samples at 5m: 576 windows → 5 chunks (576/4 = 144 > 140).
        let day = 86_400_000;
        assert_eq!(target_chunk_count(0, 2 * day, 60_000, 300_000, 11_520), 5);
        // Sparse input scales the estimate down.
        assert_eq!(target_chunk_count(0, 2 * day, 60_000, 300_000, 10), 1);
    }

    #[test]
    fn batch_windows_counter_and_cap() {
        let data = [(0, 1.0), (100_000, 5.0), (299_999, 2.0), (300_000, 4.0), (350_000, 6.0)];
        let mut out = Vec::new();
        let last =
            downsample_batch(&data, 300_000, |t, a| out.push((t, a.count, a.sum, a.min, a.max, a.counter)));
        assert_eq!(last, 350_000, "the last window is capped at the last sample");
        assert_eq!(out, [(299_999, 3, 8.0, 1.0, 5.0, 7.0), (350_000, 2, 10.0, 4.0, 6.0, 11.0)]);
    }
}
