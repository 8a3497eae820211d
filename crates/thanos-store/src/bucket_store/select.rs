//! Which blocks a query reads: time overlap, external labels, the request's block matchers,
//! and the downsampling resolution (Thanos' `bucketBlockSet.getFor`).

use std::collections::BTreeMap;
use std::sync::Arc;

use prost::Message;
use storeapi::Matcher;
use storeapi::pb::hintspb::SeriesRequestHints;

use super::StoreError;
use super::block::BucketBlock;

/// The block matchers of a request's hints (`hintspb.*RequestHints`, field 1 in all three).
pub(crate) fn request_block_matchers(hints: Option<&prost_types::Any>) -> Result<Vec<Matcher>, StoreError> {
    let Some(any) = hints else {
        return Ok(Vec::new());
    };
    let decoded = SeriesRequestHints::decode(any.value.as_slice())
        .map_err(|e| StoreError::InvalidArgument(format!("unmarshal request hints: {e}")))?;
    storeapi::matchers::from_pb_all(&decoded.block_matchers)
        .map_err(|e| StoreError::InvalidArgument(format!("translate request hints labels matchers: {e}")))
}

/// Whether the block's external labels and ID (`__block_id`) satisfy the block matchers.
fn block_matches(block: &BucketBlock, block_matchers: &[Matcher]) -> bool {
    block_matchers.iter().all(|m| {
        let value = if m.name() == block::relabel::BLOCK_ID_LABEL {
            Some(block.id().to_string())
        } else {
            block.ext_labels.get(m.name()).map(str::to_owned)
        };
        m.matches(value.as_deref().unwrap_or(""))
    })
}

/// The time span and resolution of a block, all the resolution choice needs.
pub(crate) trait BlockSpan {
    /// Downsampling resolution in ms.
    fn resolution(&self) -> i64;
    /// First sample time (inclusive).
    fn min_time(&self) -> i64;
    /// Last sample time plus one (exclusive).
    fn max_time(&self) -> i64;
    /// Whether the block has samples in `[mint, maxt]`.
    fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_time() <= maxt && mint < self.max_time()
    }
}

impl BlockSpan for BucketBlock {
    fn resolution(&self) -> i64 {
        BucketBlock::resolution(self)
    }
    fn min_time(&self) -> i64 {
        self.meta.min_time
    }
    fn max_time(&self) -> i64 {
        self.meta.max_time
    }
}

/// The blocks a Series call reads: per external label set, the coarsest resolution not above
/// `max_resolution` for each stretch of time, gaps filled from finer resolutions.
pub(crate) fn blocks_for(
    blocks: &[Arc<BucketBlock>],
    mint: i64,
    maxt: i64,
    max_resolution: i64,
    block_matchers: &[Matcher],
) -> Vec<Arc<BucketBlock>> {
    let mut sets: BTreeMap<String, Vec<Arc<BucketBlock>>> = BTreeMap::new();
    for block in blocks.iter().filter(|b| block_matches(b, block_matchers)) {
        sets.entry(format!("{:?}", block.ext_labels.as_slice())).or_default().push(block.clone());
    }
    sets.into_values().flat_map(|set| by_resolution(set, mint, maxt, max_resolution)).collect()
}

/// [`blocks_for`] within one external label set.
fn by_resolution<B: BlockSpan>(
    mut set: Vec<Arc<B>>,
    mint: i64,
    maxt: i64,
    max_resolution: i64,
) -> Vec<Arc<B>> {
    set.sort_by_key(|b| (b.resolution(), b.min_time()));
    let mut resolutions: Vec<i64> = set.iter().map(|b| b.resolution()).collect();
    resolutions.dedup();
    let mut out = Vec::new();
    if let Some(top) = resolutions.iter().rposition(|&r| r <= max_resolution) {
        collect_for(&set, &resolutions, top, mint, maxt, &mut out);
    }
    out
}

/// Blocks of `resolutions[level]` overlapping `[mint, maxt]`, the gaps between them filled from
/// finer levels.
fn collect_for<B: BlockSpan>(
    set: &[Arc<B>],
    resolutions: &[i64],
    level: usize,
    mint: i64,
    maxt: i64,
    out: &mut Vec<Arc<B>>,
) {
    if mint > maxt {
        return;
    }
    let resolution = resolutions[level];
    let here = set.iter().filter(|b| b.resolution() == resolution && b.overlaps(mint, maxt));
    if level == 0 {
        out.extend(here.cloned());
        return;
    }
    let mut from = mint;
    for block in here {
        if from < block.min_time() {
            collect_for(set, resolutions, level - 1, from, block.min_time() - 1, out);
        }
        out.push(block.clone());
        from = from.max(block.max_time());
    }
    if from <= maxt {
        collect_for(set, resolutions, level - 1, from, maxt, out);
    }
}

/// The blocks a label query reads, each with the matchers left after its external labels
/// (blocks whose external labels a matcher rejects are skipped).
pub(crate) fn label_blocks(
    blocks: &[Arc<BucketBlock>],
    start: i64,
    end: i64,
    matchers: &[Matcher],
    block_matchers: &[Matcher],
) -> Vec<(Arc<BucketBlock>, Vec<Matcher>)> {
    blocks
        .iter()
        .filter(|b| b.overlaps(start, end) && block_matches(b, block_matchers))
        .filter_map(|b| {
            Some((b.clone(), storeapi::matchers::matches_external_labels(matchers, &b.ext_labels)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Span(i64, i64, i64);

    impl BlockSpan for Span {
        fn resolution(&self) -> i64 {
            self.0
        }
        fn min_time(&self) -> i64 {
            self.1
        }
        fn max_time(&self) -> i64 {
            self.2
        }
    }

    #[test]
    fn coarsest_allowed_resolution_with_gaps_filled_from_finer() {
        let set: Vec<Arc<Span>> = [
            Span(0, 0, 100),
            Span(0, 100, 200),
            Span(0, 200, 300),
            Span(300_000, 0, 100),
            Span(300_000, 200, 300),
            Span(3_600_000, 0, 100),
        ]
        .into_iter()
        .map(Arc::new)
        .collect();
        let pick = |max_resolution| -> Vec<(i64, i64)> {
            by_resolution(set.clone(), 0, 299, max_resolution).iter().map(|b| (b.0, b.1)).collect()
        };
        assert_eq!(pick(0), [(0, 0), (0, 100), (0, 200)], "raw only");
        assert_eq!(pick(300_000), [(300_000, 0), (0, 100), (300_000, 200)], "5m, the gap from raw");
        assert_eq!(pick(3_600_000), [(3_600_000, 0), (0, 100), (300_000, 200)], "1h, then 5m, then raw");
        assert!(by_resolution(set, 400, 500, 0).is_empty());
    }
}
