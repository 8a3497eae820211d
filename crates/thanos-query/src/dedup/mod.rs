//! Replica deduplication, as Thanos v0.42's querier does it (T:pkg/query/querier.go `selectFn`,
//! T:pkg/store/proxy_merge.go `responseDeduplicator`, T:pkg/dedup/iter.go).
//!
//! With deduplication on (`dedup=true` and at least one replica label):
//!
//! 1. The replica labels are removed from every series (by name; a series may lack some) and
//!    series whose remaining labels are equal become one: their chunks are joined, chunks with
//!    an already seen checksum dropped, and the rest sorted (min time, max time, then data as
//!    Thanos' `AggrChunk.Compare` orders it).
//! 2. The joined chunk list is split into pseudo-replicas (`NewOverlapSplit`): each chunk goes to
//!    the first pseudo-replica whose last chunk ends strictly before it starts, else to a new
//!    one. Replicas that do not overlap in time therefore end up as *one* pseudo-replica.
//! 3. Each pseudo-replica is read as the querier reads any series ([`decode`]): chunk after
//!    chunk, or with counter resets applied for counter functions, bounded to `[mint, maxt]`.
//! 4. More than one pseudo-replica: merged by [`penalty`] (default) or [`chain`].
//!
//! Without deduplication the same reading (step 3) applies to each series.
//!
//! [`select_series`] takes the fan-out's merged StoreAPI series; [`deduplicate`] and
//! [`deduplicate_for`] take already decoded points (one list per replica).

#![allow(dead_code, reason = "the fan-out uses a part of this API; the rest is covered by tests")]

mod chain;
mod decode;
mod penalty;

#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;

use storeapi::pb::thanos::{self as pb, AggrChunk};
use tsdb_format::Labels;

pub(crate) use chain::ChainIter;
pub(crate) use decode::{DecodedChunk, ReadMode};
pub(crate) use penalty::PenaltyIter;

/// How replicas are merged (`--deduplication.func`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum DedupFunc {
    /// Thanos' penalty algorithm (the default).
    #[default]
    Penalty,
    /// Prometheus' chained merge: the union of all samples, one per timestamp.
    Chain,
}

impl std::str::FromStr for DedupFunc {
    type Err = DedupError;

    fn from_str(s: &str) -> Result<Self, DedupError> {
        match s {
            "penalty" => Ok(Self::Penalty),
            "chain" => Ok(Self::Chain),
            other => Err(DedupError(format!("unknown deduplication function {other:?}"))),
        }
    }
}

/// A series and its samples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DedupSeries {
    pub(crate) labels: Labels,
    pub(crate) points: Vec<(i64, f64)>,
}

/// Reading a series failed (undecodable or unsupported chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DedupError(pub(crate) String);

impl fmt::Display for DedupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DedupError {}

/// Whether the function around a selector reads it as a counter: counter resets are applied
/// while reading, and the penalty merge lifts a replica that takes over below the last value.
///
/// Thanos' `isCounter` also lists `resets`, which makes its querier answer `resets(…)` with 0
/// (thanos-io/thanos#3644, a known bug with a TODO upstream); we answer as Prometheus does.
pub(crate) fn is_counter_func(func: Option<&str>) -> bool {
    matches!(func, Some("increase" | "rate" | "irate"))
}

/// How one `Select` reads the series a fan-out returned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SelectOptions<'a> {
    /// The replica labels; deduplication is on only when this is not empty and `dedup` is set.
    pub(crate) replica_labels: &'a [String],
    /// `Some` when the request deduplicates.
    pub(crate) dedup: Option<DedupFunc>,
    /// The function around the selector (`SelectHints.func`).
    pub(crate) func: Option<&'a str>,
    /// The querier's time range, ms, inclusive: samples outside are dropped *before* the merge
    /// (Thanos bounds each replica to the querier's `mint`/`maxt`, the range of the whole query).
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
}

impl SelectOptions<'_> {
    fn dedup_enabled(&self) -> Option<DedupFunc> {
        self.dedup.filter(|_| !self.replica_labels.is_empty())
    }
}

/// The series of one `Select` from the fan-out's merged StoreAPI series, read (and with
/// deduplication on, replica-merged) as Thanos' querier reads them. The result is sorted by
/// labels; a series keeps its place even if no sample falls into `[mint, maxt]`.
pub(crate) fn select_series(
    series: Vec<pb::Series>,
    opts: &SelectOptions<'_>,
) -> Result<Vec<DedupSeries>, DedupError> {
    let mode = ReadMode::for_func(opts.func);
    let dedup = opts.dedup_enabled();
    let mut keyed: Vec<(Labels, Vec<AggrChunk>)> = series
        .into_iter()
        .map(|s| {
            let labels = storeapi::labels::from_pb_owned(s.labels);
            let labels = if dedup.is_some() { labels.without(opts.replica_labels) } else { labels };
            (labels, s.chunks)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut groups: Vec<(Labels, Vec<AggrChunk>)> = Vec::with_capacity(keyed.len());
    for (labels, chunks) in keyed {
        match groups.last_mut() {
            Some((last, all)) if *last == labels => all.extend(chunks),
            _ => groups.push((labels, chunks)),
        }
    }
    groups
        .into_iter()
        .map(|(labels, chunks)| {
            let chunks = proxy_chunks(chunks)
                .iter()
                .map(|c| decode::decode_chunk(c, mode))
                .collect::<Result<Vec<_>, _>>()?;
            let points = match dedup {
                Some(func) => {
                    let replicas: Vec<Vec<(i64, f64)>> = overlap_split(chunks)
                        .iter()
                        .map(|r| decode::series_points(r, is_counter_func(opts.func), opts.mint, opts.maxt))
                        .collect();
                    merge(replicas, func, is_counter_func(opts.func))
                }
                None => decode::series_points(&chunks, is_counter_func(opts.func), opts.mint, opts.maxt),
            };
            Ok(DedupSeries { labels, points })
        })
        .collect()
}

/// Removes `replica_labels` and merges series that become equal, each input series' points
/// being one replica (one chunk over its first to last timestamp), non-counter read, no range
/// bound. `series` need not be sorted; the result is sorted by labels.
pub(crate) fn deduplicate(
    series: Vec<DedupSeries>,
    replica_labels: &[String],
    func: DedupFunc,
) -> Vec<DedupSeries> {
    deduplicate_for(series, replica_labels, func, None)
}

/// [`deduplicate`] for a selector read by `select_func` (`SelectHints.func`): a counter function
/// applies counter resets to each pseudo-replica (stale markers dropped) and the counter
/// adjustment of the penalty merge, as Thanos does for raw data.
pub(crate) fn deduplicate_for(
    series: Vec<DedupSeries>,
    replica_labels: &[String],
    func: DedupFunc,
    select_func: Option<&str>,
) -> Vec<DedupSeries> {
    let counter = is_counter_func(select_func);
    let mut keyed: Vec<(Labels, Vec<(i64, f64)>)> =
        series.into_iter().map(|s| (s.labels.without(replica_labels), s.points)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut groups: Vec<(Labels, Vec<DecodedChunk>)> = Vec::with_capacity(keyed.len());
    for (labels, points) in keyed {
        let chunk = match (points.first(), points.last()) {
            (Some(&(min_time, _)), Some(&(max_time, _))) => Some(DecodedChunk { min_time, max_time, points }),
            _ => None,
        };
        match groups.last_mut() {
            Some((last, chunks)) if *last == labels => chunks.extend(chunk),
            _ => groups.push((labels, chunk.into_iter().collect())),
        }
    }
    groups
        .into_iter()
        .map(|(labels, mut chunks)| {
            chunks.sort_by_key(|c| (c.min_time, c.max_time));
            let replicas: Vec<Vec<(i64, f64)>> = overlap_split(chunks)
                .iter()
                .map(|r| decode::series_points(r, counter, i64::MIN, i64::MAX))
                .collect();
            DedupSeries { labels, points: merge(replicas, func, counter) }
        })
        .collect()
}

/// Merges pseudo-replicas (in order) into one sample list. A single replica is returned as is.
pub(crate) fn merge(mut replicas: Vec<Vec<(i64, f64)>>, func: DedupFunc, counter: bool) -> Vec<(i64, f64)> {
    if replicas.len() <= 1 {
        return replicas.pop().unwrap_or_default();
    }
    match func {
        DedupFunc::Penalty => PenaltyIter::new(replicas, counter).collect(),
        DedupFunc::Chain => ChainIter::new(replicas).collect(),
    }
}

/// The proxy's join of one label set's chunks (T:pkg/store/proxy_merge.go
/// `chainSeriesAndRemIdenticalChunks`): a chunk is dropped when the checksum of each of its
/// sub-chunks (raw, count, max, min, sum, counter) was seen before; the rest is sorted by
/// [`thanos_chunk_order`].
fn proxy_chunks(chunks: Vec<AggrChunk>) -> Vec<AggrChunk> {
    let mut seen: HashSet<u64> = HashSet::new();
    let mut kept: Vec<AggrChunk> = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let fields = [&chunk.raw, &chunk.count, &chunk.max, &chunk.min, &chunk.sum, &chunk.counter];
        let new = fields.into_iter().flatten().any(|c| {
            let hash = if c.hash != 0 { c.hash } else { storeapi::chunk::hash(&c.data) };
            seen.insert(hash)
        });
        if new {
            kept.push(chunk);
        }
    }
    kept.sort_by(thanos_chunk_order);
    kept
}

/// Thanos' chunk order (`AggrChunk.Compare` as the proxy sorts with it): min time, max time, then
/// the sub-chunks raw, count, sum, min, max, counter, where a present sub-chunk sorts before a
/// missing one, a lower encoding first, and *greater* data bytes first.
pub(crate) fn thanos_chunk_order(a: &AggrChunk, b: &AggrChunk) -> Ordering {
    fn sub(x: &Option<pb::Chunk>, y: &Option<pb::Chunk>) -> Ordering {
        match (x, y) {
            (None, None) => Ordering::Equal,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => x.r#type.cmp(&y.r#type).then_with(|| y.data.cmp(&x.data)),
        }
    }
    a.min_time
        .cmp(&b.min_time)
        .then(a.max_time.cmp(&b.max_time))
        .then_with(|| sub(&a.raw, &b.raw))
        .then_with(|| sub(&a.count, &b.count))
        .then_with(|| sub(&a.sum, &b.sum))
        .then_with(|| sub(&a.min, &b.min))
        .then_with(|| sub(&a.max, &b.max))
        .then_with(|| sub(&a.counter, &b.counter))
}

/// Thanos' `NewOverlapSplit`: sorted chunks into pseudo-replicas whose chunks do not overlap.
/// Always at least one (possibly empty) pseudo-replica.
pub(crate) fn overlap_split(chunks: Vec<DecodedChunk>) -> Vec<Vec<DecodedChunk>> {
    let mut replicas: Vec<Vec<DecodedChunk>> = vec![Vec::new()];
    for chunk in chunks {
        let slot = replicas.iter().position(|r| r.last().is_none_or(|last| last.max_time < chunk.min_time));
        match slot {
            Some(i) => replicas[i].push(chunk),
            None => replicas.push(vec![chunk]),
        }
    }
    replicas
}
