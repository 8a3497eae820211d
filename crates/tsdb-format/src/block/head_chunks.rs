//! Cutting a series' samples into chunks exactly where Prometheus' head would.
//!
//! Chunk boundaries decide the chunk bytes, so to write the same blocks as Prometheus we follow its
//! head (`tsdb/head_append.go`, 2.42): a chunk is cut when a sample reaches the predicted end time
//! (`nextAt`) or when the chunk holds 240 samples. `nextAt` starts at the end of the chunk range
//! containing the chunk's first sample, and is re-predicted once the chunk holds 30 samples so the
//! remaining range is split into chunks of about 120 samples.

use crate::chunkenc::XorEncoder;

/// Prometheus' target number of samples per chunk.
const SAMPLES_PER_CHUNK: u16 = 120;

/// A finished chunk of one series.
#[derive(Debug, Clone)]
pub struct HeadChunk {
    /// First sample time.
    pub min_time: i64,
    /// Last sample time (inclusive).
    pub max_time: i64,
    /// Number of samples.
    pub num_samples: u16,
    /// XOR-encoded chunk data.
    pub data: Vec<u8>,
}

/// Appends the samples of one series and cuts XOR chunks as Prometheus' head does.
#[derive(Debug)]
pub struct HeadChunker {
    chunk_range: i64,
    done: Vec<HeadChunk>,
    current: Option<OpenChunk>,
}

#[derive(Debug)]
struct OpenChunk {
    encoder: XorEncoder,
    min_time: i64,
    max_time: i64,
    next_at: i64,
}

impl HeadChunker {
    /// A chunker whose head chunk range (block range) is `chunk_range` milliseconds.
    pub fn new(chunk_range: i64) -> Self {
        Self { chunk_range: chunk_range.max(1), done: Vec::new(), current: None }
    }

    /// Appends a sample. Samples at or before the last appended time are dropped, as the head drops
    /// out-of-order samples; returns whether the sample was kept.
    pub fn append(&mut self, t: i64, v: f64) -> bool {
        let chunk_range = self.chunk_range;
        let open = match &mut self.current {
            None => self.current.insert(OpenChunk::new(t, chunk_range)),
            Some(open) => {
                if t <= open.max_time {
                    return false;
                }
                let n = open.encoder.num_samples();
                if n == SAMPLES_PER_CHUNK / 4 {
                    open.next_at = compute_chunk_end_time(open.min_time, open.max_time, open.next_at);
                }
                if t >= open.next_at || n >= SAMPLES_PER_CHUNK * 2 {
                    let full = std::mem::replace(open, OpenChunk::new(t, chunk_range));
                    self.done.push(full.finish());
                }
                self.current.as_mut().expect("set just above")
            }
        };
        open.encoder.append(t, v);
        open.max_time = t;
        true
    }

    /// Whether no sample was appended.
    pub fn is_empty(&self) -> bool {
        self.current.is_none()
    }

    /// All chunks, the open one closed.
    pub fn finish(mut self) -> Vec<HeadChunk> {
        if let Some(open) = self.current.take() {
            self.done.push(open.finish());
        }
        self.done
    }
}

impl OpenChunk {
    fn new(t: i64, chunk_range: i64) -> Self {
        Self {
            encoder: XorEncoder::new(),
            min_time: t,
            max_time: i64::MIN,
            next_at: range_end(t, chunk_range),
        }
    }

    fn finish(self) -> HeadChunk {
        let num_samples = self.encoder.num_samples();
        HeadChunk {
            min_time: self.min_time,
            max_time: self.max_time,
            num_samples,
            data: self.encoder.bytes().to_vec(),
        }
    }
}

/// End of the `width`-aligned range containing `t` (Prometheus' `rangeForTimestamp`).
fn range_end(t: i64, width: i64) -> i64 {
    t.div_euclid(width) * width + width
}

/// Prometheus' `computeChunkEndTime`: split `[start, max)` into chunks as long as the current one
/// would be at the rate seen so far, times four.
fn compute_chunk_end_time(start: i64, cur: i64, max: i64) -> i64 {
    let n = (max - start) / ((cur - start + 1) * 4);
    if n <= 1 { max } else { start + (max - start) / n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_second_samples_make_hour_chunks_in_a_four_hour_range() {
        let mut c = HeadChunker::new(4 * 3600 * 1000);
        let start = 1_704_067_200_000; // aligned to 4h
        for i in 0..240 {
            assert!(c.append(start + i * 30_000, i as f64));
        }
        let chunks = c.finish();
        assert_eq!(chunks.iter().map(|c| c.num_samples).collect::<Vec<_>>(), [120, 120]);
        assert_eq!(chunks[1].min_time, start + 3_600_000);
    }

    #[test]
    fn out_of_order_and_duplicates_are_dropped() {
        let mut c = HeadChunker::new(7_200_000);
        assert!(c.append(10, 1.0));
        assert!(!c.append(10, 2.0));
        assert!(!c.append(5, 2.0));
        assert!(c.append(11, 2.0));
        assert_eq!(c.finish()[0].num_samples, 2);
    }

    #[test]
    fn dense_samples_cut_at_240() {
        let mut c = HeadChunker::new(i64::MAX / 4);
        for i in 0..1000 {
            c.append(i, 0.0);
        }
        let sizes: Vec<u16> = c.finish().iter().map(|c| c.num_samples).collect();
        assert!(sizes.iter().all(|&n| n <= 240), "{sizes:?}");
        assert_eq!(sizes.iter().map(|&n| u32::from(n)).sum::<u32>(), 1000);
    }
}
