//! Samples of a StoreAPI series, decoded from its raw chunks on demand, read as Thanos' querier
//! reads a series without deduplication (T:pkg/query/iter.go `chunkSeries.Iterator`): chunk
//! after chunk, entering a chunk skipping its samples at or before the last one read; for the
//! counter functions (`rate`, `increase`, `irate`) with counter resets applied
//! (`ApplyCounterResetsSeriesIterator`); bounded to the querier's `[mint, maxt]`.
//!
//! This is the lazy form of [`crate::dedup::select_series`] with `dedup: None` for raw chunks:
//! one chunk is decoded at a time, and `seek` skips whole chunks without decoding them where
//! the read allows it (not for counters, whose running total needs every sample).

use std::collections::VecDeque;

use promql::Point;
use promql::queryable::SampleIterator;
use storeapi::pb::thanos::AggrChunk;
use storeapi::pb::thanos::chunk::Encoding as PbEncoding;
use tsdb_format::chunkenc::XorIterator;

use crate::dedup::{is_counter_func, thanos_chunk_order};

/// Decodes one raw XOR chunk into points; other encodings (and downsampled aggregates) are
/// skipped with a warning.
pub(crate) fn decode_chunk(chunk: &AggrChunk) -> promql::Result<Vec<Point>> {
    let Some(raw) = &chunk.raw else {
        tracing::warn!(
            min_time = chunk.min_time,
            "skipping chunk without raw data (downsampled aggregates are not supported)"
        );
        return Ok(Vec::new());
    };
    if raw.r#type != PbEncoding::Xor as i32 {
        tracing::warn!(encoding = raw.r#type, "skipping chunk of unsupported encoding");
        return Ok(Vec::new());
    }
    let mut iter = XorIterator::new(&raw.data)
        .map_err(|e| promql::PromqlError::Storage(format!("decoding XOR chunk: {e}")))?;
    let mut out = Vec::with_capacity(usize::from(iter.num_samples()));
    while let Some((t, v)) =
        iter.next_sample().map_err(|e| promql::PromqlError::Storage(format!("decoding XOR chunk: {e}")))?
    {
        out.push(Point { t, v });
    }
    Ok(out)
}

/// How one selection reads a series' samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadOptions {
    /// Apply counter resets (the selector sits in a counter function).
    pub(crate) counter: bool,
    /// The querier's time range, ms, inclusive: samples before `mint` are skipped, the first
    /// one after `maxt` ends the series.
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
}

impl ReadOptions {
    /// The read for a selector inside `func` (`SelectHints.func`) over `[mint, maxt]`.
    pub(crate) fn for_func(func: Option<&str>, mint: i64, maxt: i64) -> Self {
        Self { counter: is_counter_func(func), mint, maxt }
    }
}

/// The running total of a counter read: last timestamp, last raw value, total.
#[derive(Debug, Clone, Copy)]
struct CounterState {
    last_t: i64,
    last_v: f64,
    total: f64,
}

/// A lazy iterator over a series' chunks.
pub(crate) struct ChunkSeriesIterator {
    pending: VecDeque<AggrChunk>,
    current: Vec<Point>,
    pos: usize,
    options: ReadOptions,
    /// The last timestamp read from the chunks (before bounding), for the skip on entering a chunk.
    last_t: Option<i64>,
    counter: Option<CounterState>,
    /// A sample after `maxt` was read: nothing more comes.
    ended: bool,
}

impl ChunkSeriesIterator {
    /// An iterator over `chunks` (in any order; the proxy's order and duplicate removal are
    /// applied here).
    pub(crate) fn new(mut chunks: Vec<AggrChunk>, options: ReadOptions) -> Self {
        if !chunks.windows(2).all(|w| thanos_chunk_order(&w[0], &w[1]).is_le()) {
            chunks.sort_by(thanos_chunk_order);
        }
        // Identical chunks (the same block seen through two stores) are read once, as the
        // proxy's merge drops them; after sorting they are neighbours.
        chunks.dedup_by(|later, earlier| later.raw == earlier.raw && later.raw.is_some());
        Self {
            pending: chunks.into(),
            current: Vec::new(),
            pos: 0,
            options,
            last_t: None,
            counter: None,
            ended: false,
        }
    }

    /// Whether any two of its (sorted, unique) chunks overlap in time; checked before reading.
    pub(crate) fn has_overlaps(&self) -> bool {
        self.pending.iter().zip(self.pending.iter().skip(1)).any(|(a, b)| b.min_time <= a.max_time)
    }

    /// Its chunks, sorted and unique, when nothing has been read yet.
    pub(crate) fn into_chunks(self) -> Vec<AggrChunk> {
        self.pending.into()
    }

    /// An iterator over decoded points (e.g. after deduplication).
    pub(crate) fn from_points(points: Vec<Point>) -> Self {
        Self {
            pending: VecDeque::new(),
            current: points,
            pos: 0,
            options: ReadOptions { counter: false, mint: i64::MIN, maxt: i64::MAX },
            last_t: None,
            counter: None,
            ended: true,
        }
    }

    /// Decodes the next chunk that yields samples into `current`; `false` when none is left.
    fn load_next(&mut self) -> promql::Result<bool> {
        while !self.ended
            && let Some(chunk) = self.pending.pop_front()
        {
            let decoded = decode_chunk(&chunk)?;
            let read =
                if self.options.counter { self.counter_read(decoded) } else { self.plain_read(decoded) };
            let points = self.bound(read);
            if !points.is_empty() {
                self.current = points;
                self.pos = 0;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Thanos' `chunkSeriesIterator`: a chunk's samples after the last one read.
    fn plain_read(&mut self, mut points: Vec<Point>) -> Vec<Point> {
        if let Some(last_t) = self.last_t {
            let from = points.iter().position(|p| p.t > last_t).unwrap_or(points.len());
            points.drain(..from);
        }
        if let Some(last) = points.last() {
            self.last_t = Some(last.t);
        }
        points
    }

    /// Thanos' `ApplyCounterResetsSeriesIterator`: a monotonic running total. NaN samples
    /// (stale markers) are dropped; a drop adds the new value (a reset); a sample at the last
    /// timestamp only replaces the value later samples are compared with; older ones are skipped.
    fn counter_read(&mut self, points: Vec<Point>) -> Vec<Point> {
        let mut out = Vec::with_capacity(points.len());
        for Point { t, v } in points {
            if v.is_nan() {
                continue;
            }
            match self.counter.as_mut() {
                None => {
                    self.counter = Some(CounterState { last_t: t, last_v: v, total: v });
                    out.push(Point { t, v });
                }
                Some(state) if t > state.last_t => {
                    state.total += if v >= state.last_v { v - state.last_v } else { v };
                    state.last_t = t;
                    state.last_v = v;
                    out.push(Point { t, v: state.total });
                }
                Some(state) if t == state.last_t => state.last_v = v,
                Some(_) => {}
            }
        }
        out
    }

    /// Thanos' `boundedSeriesIterator` over one chunk's read samples (increasing in time).
    fn bound(&mut self, mut points: Vec<Point>) -> Vec<Point> {
        let (mint, maxt) = (self.options.mint, self.options.maxt);
        let end = points.partition_point(|p| p.t <= maxt);
        if end < points.len() {
            points.truncate(end);
            self.ended = true;
        }
        let start = points.partition_point(|p| p.t < mint);
        points.drain(..start);
        points
    }
}

impl SampleIterator for ChunkSeriesIterator {
    fn next(&mut self) -> promql::Result<Option<Point>> {
        loop {
            if let Some(p) = self.current.get(self.pos) {
                self.pos += 1;
                return Ok(Some(*p));
            }
            if !self.load_next()? {
                return Ok(None);
            }
        }
    }

    fn seek(&mut self, t: i64) -> promql::Result<Option<Point>> {
        // An already returned sample at or after `t` may be returned again.
        let from = self.pos.saturating_sub(1);
        if let Some(rest) = self.current.get(from..) {
            let skip = rest.partition_point(|p| p.t < t);
            if let Some(p) = rest.get(skip) {
                self.pos = from + skip + 1;
                return Ok(Some(*p));
            }
        }
        self.pos = self.current.len();
        if !self.options.counter {
            // A skipped chunk's samples all lie before `t`, so they could only have hidden
            // samples before `t` of later chunks: the samples from `t` on are the same.
            while self.pending.front().is_some_and(|c| c.max_time < t) {
                self.pending.pop_front();
            }
        }
        while self.load_next()? {
            let skip = self.current.partition_point(|p| p.t < t);
            if let Some(p) = self.current.get(skip) {
                self.pos = skip + 1;
                return Ok(Some(*p));
            }
            self.pos = self.current.len();
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use storeapi::chunk::raw_aggr_chunk;
    use storeapi::pb::thanos as pb;
    use tsdb_format::chunkenc::{Encoding, XorEncoder};

    use super::*;
    use crate::dedup::{SelectOptions, select_series};

    fn chunk(samples: &[(i64, f64)]) -> AggrChunk {
        let mut enc = XorEncoder::new();
        for &(t, v) in samples {
            enc.append(t, v);
        }
        let min = samples.first().map_or(0, |s| s.0);
        let max = samples.last().map_or(0, |s| s.0);
        raw_aggr_chunk(min, max, Encoding::Xor, Bytes::from(enc.into_bytes())).expect("xor chunk")
    }

    fn plain() -> ReadOptions {
        ReadOptions { counter: false, mint: i64::MIN, maxt: i64::MAX }
    }

    fn collect(mut it: ChunkSeriesIterator) -> Vec<(i64, f64)> {
        let mut out = Vec::new();
        while let Some(p) = it.next().expect("decodes") {
            out.push((p.t, p.v));
        }
        out
    }

    #[test]
    fn sequential_chunks_decode_lazily() {
        let it = ChunkSeriesIterator::new(vec![chunk(&[(1, 1.0), (2, 2.0)]), chunk(&[(5, 5.0)])], plain());
        assert_eq!(it.pending.len(), 2);
        assert_eq!(collect(it), [(1, 1.0), (2, 2.0), (5, 5.0)]);
    }

    #[test]
    fn overlapping_chunks_skip_samples_up_to_the_last_read() {
        // Thanos reads the first chunk whole, then only what comes after its last sample: (2, 2.0)
        // of the second chunk is skipped, unlike a chained merge.
        let it = ChunkSeriesIterator::new(
            vec![chunk(&[(1, 1.0), (3, 3.0)]), chunk(&[(2, 2.0), (3, 9.0), (4, 4.0)])],
            plain(),
        );
        assert_eq!(collect(it), [(1, 1.0), (3, 3.0), (4, 4.0)]);
    }

    #[test]
    fn counter_read_applies_resets_and_drops_stale_markers() {
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let options = ReadOptions::for_func(Some("rate"), i64::MIN, i64::MAX);
        let it = ChunkSeriesIterator::new(
            vec![chunk(&[(1, 5.0), (2, 7.0), (3, stale)]), chunk(&[(4, 2.0), (5, 4.0)])],
            options,
        );
        assert_eq!(collect(it), [(1, 5.0), (2, 7.0), (4, 9.0), (5, 11.0)]);
    }

    #[test]
    fn bounded_to_mint_and_maxt() {
        let options = ReadOptions { counter: false, mint: 2, maxt: 4 };
        let it = ChunkSeriesIterator::new(
            vec![chunk(&[(1, 1.0), (2, 2.0)]), chunk(&[(3, 3.0), (4, 4.0), (5, 5.0)]), chunk(&[(6, 6.0)])],
            options,
        );
        assert_eq!(collect(it), [(2, 2.0), (3, 3.0), (4, 4.0)]);
    }

    #[test]
    fn seek_skips_chunks() {
        let mut it = ChunkSeriesIterator::new(
            vec![chunk(&[(1, 1.0), (2, 2.0)]), chunk(&[(10, 10.0), (12, 12.0)]), chunk(&[(20, 20.0)])],
            plain(),
        );
        assert_eq!(it.seek(11).expect("ok"), Some(Point { t: 12, v: 12.0 }));
        assert_eq!(it.seek(12).expect("ok"), Some(Point { t: 12, v: 12.0 }));
        assert_eq!(it.next().expect("ok"), Some(Point { t: 20, v: 20.0 }));
        assert_eq!(it.seek(21).expect("ok"), None);
    }

    /// A small deterministic generator for the equivalence test.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % n
        }
    }

    /// Random chunk lists: overlapping, duplicated, with counter resets and stale markers.
    fn random_chunks(rng: &mut Rng) -> Vec<AggrChunk> {
        let mut chunks = Vec::new();
        for _ in 0..1 + rng.below(5) {
            let mut t = rng.below(60) as i64;
            let mut v = rng.below(10) as f64;
            let mut samples = Vec::new();
            for _ in 0..1 + rng.below(12) {
                samples.push((t, v));
                t += 1 + rng.below(6) as i64;
                v = match rng.below(8) {
                    0 => rng.below(3) as f64,
                    1 => f64::from_bits(0x7ff0_0000_0000_0002),
                    _ => (if v.is_nan() { 0.0 } else { v }) + rng.below(5) as f64,
                };
            }
            let c = chunk(&samples);
            if rng.below(4) == 0 {
                chunks.push(c.clone());
            }
            chunks.push(c);
        }
        chunks
    }

    #[test]
    fn equals_the_dedup_modules_read_without_dedup() {
        let mut rng = Rng(7);
        for case in 0..2000 {
            let chunks = random_chunks(&mut rng);
            let func = [None, Some("rate"), Some("resets"), Some("max_over_time")][case % 4];
            let (mint, maxt) = if case % 3 == 0 { (i64::MIN, i64::MAX) } else { (10, 40 + case as i64 % 30) };
            let series = pb::Series { labels: vec![], chunks: chunks.clone() };
            let want = select_series(
                vec![series],
                &SelectOptions { replica_labels: &[], dedup: None, func, mint, maxt },
            )
            .expect("decodes")
            .remove(0)
            .points;
            let it = ChunkSeriesIterator::new(chunks.clone(), ReadOptions::for_func(func, mint, maxt));
            let got = collect(it);
            let same = got.len() == want.len()
                && got.iter().zip(&want).all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits());
            assert!(same, "case {case} ({func:?}, {mint}..{maxt}): got {got:?}, want {want:?}");

            // Seeking to any time gives the remaining samples of the full read.
            let target = 5 + case as i64 % 50;
            let mut it = ChunkSeriesIterator::new(chunks, ReadOptions::for_func(func, mint, maxt));
            let mut after: Vec<(i64, f64)> =
                it.seek(target).expect("seek").map(|p| (p.t, p.v)).into_iter().collect();
            after.extend(collect(it));
            let want_after: Vec<(i64, f64)> = want.iter().copied().filter(|p| p.0 >= target).collect();
            let same = after.len() == want_after.len()
                && after.iter().zip(&want_after).all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits());
            assert!(same, "case {case} seek {target}: got {after:?}, want {want_after:?}");
        }
    }
}
