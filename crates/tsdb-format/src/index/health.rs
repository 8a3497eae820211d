//! The index health check a compactor or verifier runs before trusting a block: it walks every
//! series and counts what breaks the format's ordering rules, reporting rather than failing.

use std::fmt;

use super::reader::IndexReader;
use super::{ChunkMeta, SeriesRef};
use crate::{Label, Result};

/// One series that shows a problem: the first one found of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesIssue {
    /// The series' reference.
    pub series_ref: SeriesRef,
    /// Its labels as stored (possibly unsorted, hence not a `Labels`).
    pub labels: Vec<Label>,
}

/// What [`check_health`] found in an index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexHealth {
    /// Series walked (the all-postings list).
    pub total_series: u64,
    /// Chunk metas walked.
    pub total_chunks: u64,
    /// Series whose label set sorts before the previous series'.
    pub out_of_order_series: u64,
    /// Series with the same label set as the previous series.
    pub duplicate_series: u64,
    /// Series whose labels are not strictly increasing by name.
    pub out_of_order_labels: u64,
    /// Chunks that start at or before the previous chunk's end (out of order or overlapping).
    pub out_of_order_chunks: u64,
    /// Among those, chunks with the same time range as the previous chunk.
    pub duplicate_chunks: u64,
    /// Chunks with `min_time > max_time`.
    pub invalid_chunks: u64,
    /// Series with at least one out-of-order, overlapping or invalid chunk.
    pub series_with_chunk_issues: u64,
    /// The first series out of order or duplicated.
    pub first_out_of_order_series: Option<SeriesIssue>,
    /// The first series with unsorted labels.
    pub first_out_of_order_labels: Option<SeriesIssue>,
    /// The first series with out-of-order, overlapping or invalid chunks.
    pub first_chunk_issue: Option<SeriesIssue>,
    /// Smallest chunk `min_time` seen.
    pub min_time: Option<i64>,
    /// Largest chunk `max_time` seen.
    pub max_time: Option<i64>,
}

impl IndexHealth {
    /// Whether nothing is wrong.
    pub fn is_healthy(&self) -> bool {
        self.out_of_order_series == 0
            && self.duplicate_series == 0
            && self.out_of_order_labels == 0
            && self.out_of_order_chunks == 0
            && self.invalid_chunks == 0
    }

    /// Whether chunks are out of order or overlapping (compaction would lose or mix samples).
    pub fn has_out_of_order_chunks(&self) -> bool {
        self.out_of_order_chunks > 0
    }
}

impl fmt::Display for IndexHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "series={} chunks={} out_of_order_series={} duplicate_series={} out_of_order_labels={} \
             out_of_order_chunks={} duplicate_chunks={} invalid_chunks={}",
            self.total_series,
            self.total_chunks,
            self.out_of_order_series,
            self.duplicate_series,
            self.out_of_order_labels,
            self.out_of_order_chunks,
            self.duplicate_chunks,
            self.invalid_chunks,
        )
    }
}

/// Walks every series of `reader` and reports ordering problems. Fails only when the index
/// cannot be read at all (a checksum or decode error).
pub fn check_health(reader: &IndexReader) -> Result<IndexHealth> {
    let mut health = IndexHealth::default();
    let mut labels: Vec<Label> = Vec::new();
    let mut previous: Vec<Label> = Vec::new();
    let mut chunks: Vec<ChunkMeta> = Vec::new();
    for series_ref in reader.all_postings()?.iter() {
        reader.series_into(series_ref, &mut labels, &mut chunks)?;
        health.total_series += 1;
        health.total_chunks += chunks.len() as u64;
        let issue = || SeriesIssue { series_ref, labels: labels.clone() };

        if !labels.windows(2).all(|w| w[0].name < w[1].name) {
            health.out_of_order_labels += 1;
            health.first_out_of_order_labels.get_or_insert_with(issue);
        }
        if health.total_series > 1 {
            let order = compare_label_lists(&labels, &previous);
            match order {
                std::cmp::Ordering::Less => health.out_of_order_series += 1,
                std::cmp::Ordering::Equal => health.duplicate_series += 1,
                std::cmp::Ordering::Greater => {}
            }
            if order.is_le() {
                health.first_out_of_order_series.get_or_insert_with(issue);
            }
        }

        let mut chunk_issue = false;
        for (i, c) in chunks.iter().enumerate() {
            health.min_time = Some(health.min_time.map_or(c.min_time, |t| t.min(c.min_time)));
            health.max_time = Some(health.max_time.map_or(c.max_time, |t| t.max(c.max_time)));
            if c.min_time > c.max_time {
                health.invalid_chunks += 1;
                chunk_issue = true;
            }
            let Some(prev) = i.checked_sub(1).map(|p| chunks[p]) else {
                continue;
            };
            if c.min_time <= prev.max_time {
                health.out_of_order_chunks += 1;
                chunk_issue = true;
                if c.min_time == prev.min_time && c.max_time == prev.max_time {
                    health.duplicate_chunks += 1;
                }
            }
        }
        if chunk_issue {
            health.series_with_chunk_issues += 1;
            health.first_chunk_issue.get_or_insert_with(issue);
        }
        std::mem::swap(&mut previous, &mut labels);
    }
    Ok(health)
}

/// Prometheus' `labels.Compare` on label lists as stored.
fn compare_label_lists(a: &[Label], b: &[Label]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = x.name.cmp(&y.name).then_with(|| x.value.cmp(&y.value));
        if ord.is_ne() {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}
