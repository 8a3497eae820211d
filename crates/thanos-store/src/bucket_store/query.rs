//! One block's part of a query: matchers → postings → series entries → chunks, and the label
//! names and values of the series a query selects.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Context;
use storeapi::Matcher;
use storeapi::pb::thanos::{self as pb, Aggr};
use tsdb_format::chunkenc::aggr::AggrChunkLayout;
use tsdb_format::chunkenc::{AGGR_ENCODING, AggrType};
use tsdb_format::index::{Postings, SeriesRef};

use super::StoreError;
use super::block::{BucketBlock, FetchStats, RawChunk};
use super::postings::{combine, keys_to_fetch, posting_groups};
use super::series_entry::decode_series;

/// Series entries decoded per round trip (Thanos' `SeriesBatchSize`).
const SERIES_BATCH_SIZE: usize = 10_000;

/// A per-request counter with a limit, failing like Thanos' `Limiter`.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: u64,
    reserved: AtomicU64,
    what: &'static str,
    failed: AtomicBool,
}

impl Limiter {
    /// A limiter of `what` (`"chunks"`, `"series"`); a limit of 0 disables it.
    pub(crate) fn new(limit: u64, what: &'static str) -> Self {
        Self { limit, reserved: AtomicU64::new(0), what, failed: AtomicBool::new(false) }
    }

    /// Counts `n` more; fails with `ResourceExhausted` once over the limit.
    pub(crate) fn reserve(&self, n: u64) -> Result<(), StoreError> {
        if self.limit == 0 {
            return Ok(());
        }
        let got = self.reserved.fetch_add(n, Ordering::Relaxed) + n;
        if got <= self.limit {
            return Ok(());
        }
        if !self.failed.swap(true, Ordering::Relaxed) {
            metrics::counter!("thanos_bucket_store_queries_dropped_total", "reason" => self.what)
                .increment(1);
        }
        Err(StoreError::ResourceExhausted(format!(
            "exceeded {} limit: limit {} violated (got {got})",
            self.what, self.limit
        )))
    }
}

/// What a Series call asks of every block.
#[derive(Debug)]
pub(crate) struct SeriesQuery {
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
    pub(crate) skip_chunks: bool,
    pub(crate) without_replica_labels: Vec<String>,
    pub(crate) aggregates: Vec<Aggr>,
    pub(crate) chunks_limiter: Arc<Limiter>,
    pub(crate) series_limiter: Arc<Limiter>,
}

/// The series of the block that `matchers` (external-label matchers already removed) select.
pub(crate) async fn expand_postings(
    block: &BucketBlock,
    matchers: &[Matcher],
    stats: &mut FetchStats,
) -> anyhow::Result<Vec<SeriesRef>> {
    let header = block.header().await?;
    let owned: Vec<Matcher> = matchers.to_vec();
    let groups =
        tokio::task::spawn_blocking(move || posting_groups(&owned, |name| Ok(header.label_values(name)?)))
            .await
            .context("posting groups task")??;
    let Some(groups) = groups else {
        return Ok(Vec::new());
    };
    let lists = block.postings(keys_to_fetch(&groups), stats).await?;
    let empty = Postings::empty();
    let found = combine(&groups, |name, value| {
        lists.get(&(name.to_owned(), value.to_owned())).map_or(&empty, |list| list.as_ref())
    });
    Ok(found.into_vec())
}

/// The block's series selected by `matchers` with chunks in the query's range, labels extended
/// by the block's external labels, sorted by labels.
pub(crate) async fn block_series(
    block: &BucketBlock,
    matchers: &[Matcher],
    query: &SeriesQuery,
    stats: &mut FetchStats,
) -> Result<Vec<pb::Series>, StoreError> {
    let refs = expand_postings(block, matchers, stats).await?;
    let header = block.header().await?;
    let ext = storeapi::labels::to_pb(&block.ext_labels);
    let mut out: Vec<pb::Series> = Vec::new();
    for batch in refs.chunks(SERIES_BATCH_SIZE) {
        let bodies = block.series_entries(batch, stats).await?;
        let mut pending: Vec<(pb::Series, Vec<tsdb_format::index::ChunkMeta>)> = Vec::new();
        for (series_ref, body) in batch.iter().zip(&bodies) {
            let decoded =
                decode_series(body, query.min_time, query.max_time, query.skip_chunks).map_err(|e| {
                    anyhow::anyhow!("decode series {} of block {}: {e}", series_ref.0, block.id())
                })?;
            if !decoded.has_chunks_in_range {
                continue;
            }
            let labels = block.resolve_labels(&header, &decoded.label_refs, ext.len())?;
            let labels = storeapi::labels::extend_pb(labels, &ext);
            let labels = storeapi::labels::without(labels, &query.without_replica_labels);
            query.series_limiter.reserve(1)?;
            if !query.skip_chunks {
                query.chunks_limiter.reserve(decoded.chunks.len() as u64)?;
            }
            pending.push((pb::Series { labels, chunks: Vec::new() }, decoded.chunks));
        }
        if !query.skip_chunks {
            let chunk_refs: Vec<_> =
                pending.iter().flat_map(|(_, metas)| metas.iter().map(|m| m.chunk_ref)).collect();
            let chunks = block.chunks(&chunk_refs, stats).await?;
            for (series, metas) in &mut pending {
                for meta in metas.iter() {
                    let raw = chunks.get(&meta.chunk_ref).with_context(|| {
                        format!("chunk {:#x} of block {} not read", meta.chunk_ref.0, block.id())
                    })?;
                    series.chunks.push(to_aggr_chunk(meta.min_time, meta.max_time, raw, &query.aggregates)?);
                }
            }
        }
        out.extend(pending.into_iter().map(|(series, _)| series));
    }
    // External labels overriding series labels, or removed replica labels, can change the order.
    out.sort_by(|a, b| storeapi::labels::compare(&a.labels, &b.labels));
    out.dedup_by(|later, earlier| {
        if later.labels == earlier.labels {
            earlier.chunks.append(&mut later.chunks);
            true
        } else {
            false
        }
    });
    Ok(out)
}

/// A chunk on the wire: raw encodings as `raw`; Thanos' aggregate chunks (`0xFF`) split into
/// the requested aggregates, each in its own field (T:pkg/store/bucket.go `populateChunk`). A
/// requested aggregate the chunk lacks fails the call, as in Thanos. With none requested (Thanos'
/// querier always asks for some) every present aggregate is returned.
fn to_aggr_chunk(
    min_time: i64,
    max_time: i64,
    raw: &RawChunk,
    aggregates: &[Aggr],
) -> anyhow::Result<pb::AggrChunk> {
    if raw.encoding != AGGR_ENCODING {
        return Ok(storeapi::chunk::raw_aggr_chunk(min_time, max_time, raw.encoding, raw.data.clone())?);
    }
    let layout = AggrChunkLayout::parse(&raw.data).map_err(|e| anyhow::anyhow!("aggregate chunk: {e}"))?;
    let mut chunk = pb::AggrChunk { min_time, max_time, ..Default::default() };
    let all = [Aggr::Count, Aggr::Sum, Aggr::Min, Aggr::Max, Aggr::Counter];
    let wanted = if aggregates.is_empty() { &all[..] } else { aggregates };
    for &aggr in wanted {
        let (aggr_type, field) = match aggr {
            Aggr::Count => (AggrType::Count, &mut chunk.count),
            Aggr::Sum => (AggrType::Sum, &mut chunk.sum),
            Aggr::Min => (AggrType::Min, &mut chunk.min),
            Aggr::Max => (AggrType::Max, &mut chunk.max),
            Aggr::Counter => (AggrType::Counter, &mut chunk.counter),
            // Raw data of a downsampled chunk does not exist; Thanos ignores the request.
            Aggr::Raw => continue,
        };
        let Some(part) = layout.part(aggr_type) else {
            if aggregates.is_empty() {
                continue;
            }
            anyhow::bail!("aggregate {aggr_type} does not exist");
        };
        *field = Some(storeapi::chunk::new_chunk(part.encoding, raw.data.slice(part.start..part.end))?);
    }
    Ok(chunk)
}

/// Label names of the block's series that `matchers` select in `[start, end]` (plus external
/// label names), sorted. Without matchers, the index's names.
pub(crate) async fn block_label_names(
    block: &BucketBlock,
    matchers: &[Matcher],
    start: i64,
    end: i64,
    without_replica_labels: &[String],
    series_limiter: Arc<Limiter>,
) -> Result<Vec<String>, StoreError> {
    if matchers.is_empty() {
        let mut names: BTreeSet<String> = block.label_names().await?.into_iter().collect();
        names.extend(
            block
                .ext_labels
                .iter()
                .filter(|l| !without_replica_labels.contains(&l.name))
                .map(|l| l.name.clone()),
        );
        return Ok(names.into_iter().collect());
    }
    let query = label_query(start, end, without_replica_labels, series_limiter);
    let series = block_series(block, matchers, &query, &mut FetchStats::default()).await?;
    let names: BTreeSet<String> =
        series.into_iter().flat_map(|s| s.labels.into_iter().map(|l| l.name)).collect();
    Ok(names.into_iter().collect())
}

/// Values of `label` over the block's series that `matchers` select in `[start, end]`, sorted.
/// Without matchers, the index's values (plus the external label's value).
pub(crate) async fn block_label_values(
    block: &BucketBlock,
    label: &str,
    matchers: &[Matcher],
    start: i64,
    end: i64,
    series_limiter: Arc<Limiter>,
) -> Result<Vec<String>, StoreError> {
    if matchers.is_empty() {
        let mut values: BTreeSet<String> = block.label_values(label).await?.into_iter().collect();
        if let Some(value) = block.ext_labels.get(label).filter(|v| !v.is_empty()) {
            values.insert(value.to_owned());
        }
        return Ok(values.into_iter().collect());
    }
    let mut matchers = matchers.to_vec();
    let has_name_eq =
        matchers.iter().any(|m| m.name() == "__name__" && m.match_type() == storeapi::MatchType::Equal);
    if !has_name_eq && !block.ext_labels.has(label) {
        // Only series that have the label can contribute a value.
        matchers.push(
            Matcher::new(storeapi::MatchType::NotEqual, label, "")
                .map_err(|e| StoreError::InvalidArgument(e.to_string()))?,
        );
    }
    let query = label_query(start, end, &[], series_limiter);
    let series = block_series(block, &matchers, &query, &mut FetchStats::default()).await?;
    let values: BTreeSet<String> = series
        .into_iter()
        .filter_map(|s| s.labels.into_iter().find(|l| l.name == label).map(|l| l.value))
        .filter(|v| !v.is_empty())
        .collect();
    Ok(values.into_iter().collect())
}

fn label_query(
    start: i64,
    end: i64,
    without_replica_labels: &[String],
    series_limiter: Arc<Limiter>,
) -> SeriesQuery {
    SeriesQuery {
        min_time: start,
        max_time: end,
        skip_chunks: true,
        without_replica_labels: without_replica_labels.to_vec(),
        aggregates: Vec::new(),
        chunks_limiter: Arc::new(Limiter::new(0, "chunks")),
        series_limiter,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tsdb_format::chunkenc::Encoding;

    #[test]
    fn limiter_fails_once_over_the_limit() {
        let limiter = Limiter::new(10, "chunks");
        assert!(limiter.reserve(10).is_ok());
        let error = limiter.reserve(1).expect_err("over");
        assert_eq!(error.to_string(), "exceeded chunks limit: limit 10 violated (got 11)");
        assert!(Limiter::new(0, "chunks").reserve(u64::MAX / 2).is_ok());
    }

    #[test]
    fn aggregate_chunks_are_split() {
        // count: 2 bytes XOR, sum absent, min 1 byte, max absent, counter absent.
        let data = Bytes::from_static(&[2, 1, 0xaa, 0xbb, 0, 1, 1, 0xcc, 0, 0]);
        let raw = RawChunk { encoding: Encoding::Unknown(0xff), data };
        let chunk = to_aggr_chunk(0, 10, &raw, &[]).expect("valid");
        assert_eq!(chunk.count.as_ref().map(|c| c.data.as_ref()), Some(&[0xaa, 0xbb][..]));
        assert_eq!(chunk.min.as_ref().map(|c| c.data.as_ref()), Some(&[0xcc][..]));
        assert!(chunk.sum.is_none() && chunk.raw.is_none());
        let only_min = to_aggr_chunk(0, 10, &raw, &[Aggr::Min]).expect("valid");
        assert!(only_min.count.is_none() && only_min.min.is_some());
        let missing = to_aggr_chunk(0, 10, &raw, &[Aggr::Count, Aggr::Sum]).expect_err("sum is absent");
        assert_eq!(missing.to_string(), "aggregate sum does not exist");
    }
}
