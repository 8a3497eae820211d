//! Samples of a StoreAPI series, decoded from its chunks on demand.
//!
//! Chunks arrive sorted by min time. When they do not overlap, one chunk is decoded at a time,
//! when the iterator reaches it; `seek` skips whole chunks without decoding them. Overlapping
//! chunks (the same series from two stores, or two blocks) are decoded together and merged by
//! timestamp, the first sample winning, as Prometheus' chained merge does.

use std::collections::VecDeque;

use promql::Point;
use promql::queryable::SampleIterator;
use storeapi::pb::thanos::AggrChunk;
use storeapi::pb::thanos::chunk::Encoding as PbEncoding;
use tsdb_format::chunkenc::XorIterator;

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

/// Every sample of `chunks`, merged by time (first wins on equal timestamps).
fn decode_all(chunks: &[AggrChunk]) -> promql::Result<Vec<Point>> {
    let mut points: Vec<Point> = Vec::new();
    let mut sorted = true;
    for chunk in chunks {
        let decoded = decode_chunk(chunk)?;
        if let (Some(last), Some(first)) = (points.last(), decoded.first())
            && first.t <= last.t
        {
            sorted = false;
        }
        points.extend(decoded);
    }
    if !sorted {
        // Stable: of equal timestamps the earlier chunk's sample stays first.
        points.sort_by_key(|p| p.t);
        points.dedup_by_key(|p| p.t);
    }
    Ok(points)
}

/// Whether chunks (sorted by min time) overlap in time.
fn overlapping(chunks: &[AggrChunk]) -> bool {
    chunks.windows(2).any(|w| w[1].min_time <= w[0].max_time)
}

/// A lazy iterator over a series' chunks.
pub(crate) struct ChunkSeriesIterator {
    pending: VecDeque<AggrChunk>,
    current: Vec<Point>,
    pos: usize,
}

impl ChunkSeriesIterator {
    /// An iterator over `chunks`, which must be sorted by min time.
    pub(crate) fn new(chunks: Vec<AggrChunk>) -> promql::Result<Self> {
        if overlapping(&chunks) {
            let points = decode_all(&chunks)?;
            return Ok(Self::from_points(points));
        }
        Ok(Self { pending: chunks.into(), current: Vec::new(), pos: 0 })
    }

    /// An iterator over decoded points (e.g. after deduplication).
    pub(crate) fn from_points(points: Vec<Point>) -> Self {
        Self { pending: VecDeque::new(), current: points, pos: 0 }
    }

    /// Decodes the next chunk; `false` when none is left.
    fn load_next(&mut self) -> promql::Result<bool> {
        while let Some(chunk) = self.pending.pop_front() {
            let points = decode_chunk(&chunk)?;
            if !points.is_empty() {
                self.current = points;
                self.pos = 0;
                return Ok(true);
            }
        }
        Ok(false)
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
        while self.pending.front().is_some_and(|c| c.max_time < t) {
            self.pending.pop_front();
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
    use tsdb_format::chunkenc::{Encoding, XorEncoder};

    use super::*;

    fn chunk(samples: &[(i64, f64)]) -> AggrChunk {
        let mut enc = XorEncoder::new();
        for &(t, v) in samples {
            enc.append(t, v);
        }
        let min = samples.first().map_or(0, |s| s.0);
        let max = samples.last().map_or(0, |s| s.0);
        raw_aggr_chunk(min, max, Encoding::Xor, Bytes::from(enc.into_bytes())).expect("xor chunk")
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
        let it =
            ChunkSeriesIterator::new(vec![chunk(&[(1, 1.0), (2, 2.0)]), chunk(&[(5, 5.0)])]).expect("ok");
        assert_eq!(it.pending.len(), 2);
        assert_eq!(collect(it), [(1, 1.0), (2, 2.0), (5, 5.0)]);
    }

    #[test]
    fn overlapping_chunks_merge_first_wins() {
        let it = ChunkSeriesIterator::new(vec![
            chunk(&[(1, 1.0), (3, 3.0)]),
            chunk(&[(2, 2.0), (3, 9.0), (4, 4.0)]),
        ])
        .expect("ok");
        assert_eq!(collect(it), [(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]);
    }

    #[test]
    fn seek_skips_chunks() {
        let mut it = ChunkSeriesIterator::new(vec![
            chunk(&[(1, 1.0), (2, 2.0)]),
            chunk(&[(10, 10.0), (12, 12.0)]),
            chunk(&[(20, 20.0)]),
        ])
        .expect("ok");
        assert_eq!(it.seek(11).expect("ok"), Some(Point { t: 12, v: 12.0 }));
        assert_eq!(it.seek(12).expect("ok"), Some(Point { t: 12, v: 12.0 }));
        assert_eq!(it.next().expect("ok"), Some(Point { t: 20, v: 20.0 }));
        assert_eq!(it.seek(21).expect("ok"), None);
    }
}
