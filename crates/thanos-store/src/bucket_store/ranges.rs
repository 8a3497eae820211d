//! Coalescing byte ranges of one object into few GETs (Thanos' `gapBasedPartitioner`): ranges
//! closer than [`MAX_GAP`] are read together, so a query touching many nearby postings lists,
//! series or chunks costs one request instead of hundreds.

use std::ops::Range;

use bytes::Bytes;
use futures::StreamExt;
use objstore::Bucket;

/// Ranges closer than this are fetched in one GET (Thanos' `PartitionerMaxGapSize`).
pub(crate) const MAX_GAP: u64 = 512 * 1024;

/// GETs running at once for one object read.
const FETCH_CONCURRENCY: usize = 16;

/// Groups sorted-by-start `ranges` into parts whose gaps are at most `max_gap`; returns each
/// part's span. Overlapping ranges fall into one part.
pub(crate) fn partition(ranges: &[Range<u64>], max_gap: u64) -> Vec<Range<u64>> {
    debug_assert!(ranges.windows(2).all(|w| w[0].start <= w[1].start), "ranges must be sorted");
    let mut parts: Vec<Range<u64>> = Vec::new();
    for range in ranges {
        match parts.last_mut() {
            Some(last) if range.start <= last.end.saturating_add(max_gap) => {
                last.end = last.end.max(range.end);
            }
            _ => parts.push(range.clone()),
        }
    }
    parts
}

/// Bytes of coalesced reads, from which the originally wanted ranges are sliced.
#[derive(Debug, Default)]
pub(crate) struct FetchedParts {
    /// `(start offset, bytes)` sorted by start; a part may be shorter than asked at the object's end.
    parts: Vec<(u64, Bytes)>,
}

impl FetchedParts {
    /// The bytes of `range` as far as they were fetched (shorter at the object's end), or `None`
    /// if `range.start` lies in no part.
    pub(crate) fn slice(&self, range: Range<u64>) -> Option<Bytes> {
        let index = self.parts.partition_point(|(start, _)| *start <= range.start).checked_sub(1)?;
        let (start, bytes) = &self.parts[index];
        let from = usize::try_from(range.start - start).ok()?;
        if from > bytes.len() {
            return None;
        }
        let to = usize::try_from(range.end - start).map_or(bytes.len(), |end| end.min(bytes.len()));
        Some(bytes.slice(from..to.max(from)))
    }

    /// Total bytes fetched.
    pub(crate) fn fetched_bytes(&self) -> u64 {
        self.parts.iter().map(|(_, b)| b.len() as u64).sum()
    }
}

/// Reads `ranges` (sorted by start) of `key`, coalesced with [`MAX_GAP`], concurrently.
pub(crate) async fn fetch_ranges(
    bucket: &dyn Bucket,
    key: &str,
    ranges: &[Range<u64>],
) -> objstore::Result<FetchedParts> {
    let spans = partition(ranges, MAX_GAP);
    let results: Vec<objstore::Result<(u64, Bytes)>> = futures::stream::iter(spans)
        .map(|span| async move {
            let bytes = bucket.get_range(key, span.start, span.end - span.start).await?;
            Ok((span.start, bytes))
        })
        .buffered(FETCH_CONCURRENCY)
        .collect()
        .await;
    let parts = results.into_iter().collect::<objstore::Result<Vec<_>>>()?;
    Ok(FetchedParts { parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_ranges_coalesce_far_ones_do_not() {
        let ranges = [0..10, 5..20, 30..40, 2_000_000..2_000_010];
        assert_eq!(partition(&ranges, 100), vec![0..40, 2_000_000..2_000_010]);
        assert_eq!(partition(&ranges, 0), vec![0..20, 30..40, 2_000_000..2_000_010]);
        assert!(partition(&[], 10).is_empty());
    }

    #[test]
    fn slices_come_from_the_right_part() {
        let parts = FetchedParts {
            parts: vec![(0, Bytes::from_static(b"abcdef")), (100, Bytes::from_static(b"xyz"))],
        };
        assert_eq!(parts.slice(1..3).as_deref(), Some(&b"bc"[..]));
        assert_eq!(parts.slice(101..200).as_deref(), Some(&b"yz"[..]), "short at the end");
        assert_eq!(parts.slice(50..60).as_deref(), None::<&[u8]>);
        assert_eq!(parts.fetched_bytes(), 9);
    }
}
