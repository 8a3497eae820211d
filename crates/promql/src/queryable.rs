//! Where series come from: the [`Queryable`] trait, and an in-memory implementation for tests.

use std::collections::BTreeMap;

use promql_parser::label::Matcher;
use tsdb_format::Labels;

use crate::error::Result;
use crate::value::Point;

/// What the engine tells storage about a selection, so it can read less (Prometheus' `SelectHints`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectHints {
    /// Earliest timestamp the engine may read, ms (inclusive).
    pub start: i64,
    /// Latest timestamp the engine may read, ms (inclusive).
    pub end: i64,
    /// Query step in ms (0 for an instant query).
    pub step: i64,
    /// Range of a range selector in ms (0 for an instant selector).
    pub range: i64,
    /// The function around the selector, if any (e.g. `rate`), or `series` for metadata calls.
    pub func: Option<String>,
}

/// A cursor over one series' samples in time order.
pub trait SampleIterator: Send {
    /// The next sample, or `None` at the end.
    fn next(&mut self) -> Result<Option<Point>>;

    /// Advances to the first sample at or after `t` and returns it; may return an already
    /// returned sample if it is at or after `t`. The default walks forward.
    fn seek(&mut self, t: i64) -> Result<Option<Point>> {
        while let Some(p) = self.next()? {
            if p.t >= t {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }
}

/// One selected series: its labels and a lazy iterator over its samples.
pub struct StorageSeries {
    /// The series' labels.
    pub labels: Labels,
    /// Its samples, read on demand.
    pub samples: Box<dyn SampleIterator>,
}

impl std::fmt::Debug for StorageSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSeries").field("labels", &self.labels).finish_non_exhaustive()
    }
}

/// A source of series: a TSDB block, a StoreAPI fan-out, or memory.
pub trait Queryable: Send + Sync {
    /// The series matching every matcher (a missing label matches as `""`), sorted by labels,
    /// with samples at least covering `[hints.start, hints.end]`.
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<StorageSeries>>;
}

/// Series held in memory; what the scripted tests load into.
#[derive(Debug, Clone, Default)]
pub struct MemoryQueryable {
    series: BTreeMap<Labels, Vec<Point>>,
}

impl MemoryQueryable {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample; samples of a series may come in any order, and a later sample at an
    /// existing timestamp replaces the earlier one.
    pub fn add_sample(&mut self, labels: Labels, t: i64, v: f64) {
        let points = self.series.entry(labels).or_default();
        match points.binary_search_by_key(&t, |p| p.t) {
            Ok(i) => points[i].v = v,
            Err(i) => points.insert(i, Point { t, v }),
        }
    }

    /// Removes every series.
    pub fn clear(&mut self) {
        self.series.clear();
    }

    /// Number of series held.
    pub fn num_series(&self) -> usize {
        self.series.len()
    }
}

/// Whether `labels` satisfy all `matchers`, treating a missing label as the empty string.
pub fn matches_all(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers.iter().all(|m| m.is_match(labels.get(&m.name).unwrap_or("")))
}

struct VecIterator {
    points: std::vec::IntoIter<Point>,
}

impl SampleIterator for VecIterator {
    fn next(&mut self) -> Result<Option<Point>> {
        Ok(self.points.next())
    }
}

impl Queryable for MemoryQueryable {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> Result<Vec<StorageSeries>> {
        Ok(self
            .series
            .iter()
            .filter(|(labels, _)| matches_all(labels, matchers))
            .filter_map(|(labels, points)| {
                let from = points.partition_point(|p| p.t < hints.start);
                let to = points.partition_point(|p| p.t <= hints.end);
                let window = points[from..to].to_vec();
                (!window.is_empty()).then(|| StorageSeries {
                    labels: labels.clone(),
                    samples: Box::new(VecIterator { points: window.into_iter() }),
                })
            })
            .collect())
    }
}
