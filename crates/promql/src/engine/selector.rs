//! Reading series for selectors: the latest sample within the lookback for instant selectors,
//! and the samples of a window for range selectors, read lazily through [`SampleIterator`]s.
//!
//! 2.42's edges, both inclusive:
//! - an instant selector at `t` takes the latest sample in `[t - lookback, t]`; if that sample
//!   is a stale marker, the series has no value (`vectorSelectorSingle`);
//! - a range selector at `t` takes the samples in `[t - range, t]`, stale markers removed
//!   (`matrixIterSlice`).

use tsdb_format::Labels;

use crate::error::{PromqlError, Result};
use crate::queryable::{Queryable, SampleIterator};
use crate::value::{Matrix, Point, Series, is_stale_marker};

use super::eval::Evaluator;
use super::limits::{ENV_EXPRESSION_EVALUATION, too_many_samples};
use super::plan::SelectorNode;

/// Selects a selector's series with its hints; storage errors read as 2.42 words them.
///
/// Samples outside `[hints.start, hints.end]` are dropped, as Prometheus' TSDB querier drops
/// them: some answers depend on it (`timestamp(x @ t offset o)` reads at `t` but sees samples
/// only up to `t - o`).
pub(crate) fn select(queryable: &dyn Queryable, sel: &SelectorNode) -> Result<Vec<SelectedSeries>> {
    let series = queryable.select(&sel.matchers, &sel.hints).map_err(|err| match err {
        PromqlError::Storage(msg) => PromqlError::Storage(format!("expanding series: {msg}")),
        other => other,
    })?;
    let (start, end) = (sel.hints.start, sel.hints.end);
    Ok(series
        .into_iter()
        .map(|s| SelectedSeries {
            labels: s.labels,
            samples: HintedIterator { inner: s.samples, start, end, started: false },
        })
        .collect())
}

/// A selected series, its samples limited to the hinted range. The iterator is not boxed again:
/// the cursors call it directly, leaving one dynamic call (into storage) per sample.
pub(crate) struct SelectedSeries {
    pub(crate) labels: Labels,
    pub(crate) samples: HintedIterator,
}

/// Yields only the samples within the selection's hinted time range.
pub(crate) struct HintedIterator {
    inner: Box<dyn SampleIterator>,
    start: i64,
    end: i64,
    started: bool,
}

impl HintedIterator {
    fn within(&self, p: Option<Point>) -> Option<Point> {
        p.filter(|p| p.t <= self.end)
    }
}

impl SampleIterator for HintedIterator {
    #[inline]
    fn next(&mut self) -> Result<Option<Point>> {
        if !self.started {
            self.started = true;
            let first = self.inner.seek(self.start)?;
            return Ok(self.within(first));
        }
        let next = self.inner.next()?;
        Ok(self.within(next))
    }

    fn seek(&mut self, t: i64) -> Result<Option<Point>> {
        self.started = true;
        let found = self.inner.seek(t.max(self.start))?;
        Ok(self.within(found))
    }
}

/// An iterator over points already in memory (a subquery's result).
pub(crate) struct PointsIterator {
    points: std::vec::IntoIter<Point>,
}

impl PointsIterator {
    pub(crate) fn new(points: Vec<Point>) -> Self {
        Self { points: points.into_iter() }
    }
}

impl SampleIterator for PointsIterator {
    fn next(&mut self) -> Result<Option<Point>> {
        Ok(self.points.next())
    }
}

/// The samples a [`WindowCursor`] reads: from storage, or a subquery's points.
pub(crate) enum RangeSamples {
    Selected(HintedIterator),
    Points(PointsIterator),
}

impl SampleIterator for RangeSamples {
    #[inline]
    fn next(&mut self) -> Result<Option<Point>> {
        match self {
            RangeSamples::Selected(it) => it.next(),
            RangeSamples::Points(it) => it.next(),
        }
    }

    fn seek(&mut self, t: i64) -> Result<Option<Point>> {
        match self {
            RangeSamples::Selected(it) => it.seek(t),
            RangeSamples::Points(it) => it.seek(t),
        }
    }
}

/// Finds the latest sample at or before a reference time, remembering its place between steps
/// (2.42's `MemoizedSeriesIterator`). Reference times must not decrease.
pub(crate) struct LookbackCursor {
    samples: HintedIterator,
    started: bool,
    /// The first sample not yet passed: at or after the last reference time.
    current: Option<Point>,
    /// The sample before `current`.
    previous: Option<Point>,
}

impl LookbackCursor {
    pub(crate) fn new(samples: HintedIterator) -> Self {
        Self { samples, started: false, current: None, previous: None }
    }

    /// The value at `ref_time`: the latest sample in `[ref_time - lookback, ref_time]`, unless
    /// it is a stale marker.
    pub(crate) fn value_at(&mut self, ref_time: i64, lookback: i64) -> Result<Option<Point>> {
        if !self.started {
            self.started = true;
            self.current = self.samples.next()?;
        }
        let earliest = ref_time - lookback;
        if let Some(cur) = self.current
            && cur.t < earliest
        {
            // Everything before `earliest` is out of reach: jump.
            self.previous = None;
            self.current = self.samples.seek(earliest)?;
        }
        while let Some(cur) = self.current {
            if cur.t >= ref_time {
                break;
            }
            self.previous = Some(cur);
            self.current = self.samples.next()?;
        }
        let found = match self.current {
            Some(cur) if cur.t == ref_time => Some(cur),
            _ => self.previous,
        };
        Ok(found.filter(|p| p.t >= earliest && !is_stale_marker(p.v)))
    }
}

/// Keeps one series' window of samples as the window slides forward over the steps (2.42's
/// `BufferedSeriesIterator` with `matrixIterSlice`). Window ends must not decrease.
///
/// Points leaving the window are not shifted out one step at a time: the window starts at
/// `head` in `buffer`, and the dead prefix is dropped only once it is longer than the window
/// (so every point is moved at most once on average, whatever the window's length).
pub(crate) struct WindowCursor {
    samples: RangeSamples,
    started: bool,
    /// The next sample not yet read into the window.
    next: Option<Point>,
    /// The series' labels.
    labels: Labels,
    /// `buffer[head..]`: the points in `[mint, maxt]`; before `head`, points already left behind.
    buffer: Vec<Point>,
    head: usize,
}

impl WindowCursor {
    pub(crate) fn new(labels: Labels, samples: RangeSamples) -> Self {
        Self { samples, started: false, next: None, labels, buffer: Vec::new(), head: 0 }
    }

    /// The series' labels.
    pub(crate) fn labels(&self) -> &Labels {
        &self.labels
    }

    /// The points in the window.
    #[inline]
    pub(crate) fn points(&self) -> &[Point] {
        &self.buffer[self.head..]
    }

    /// The window as a series.
    pub(crate) fn into_series(mut self) -> Series {
        self.buffer.drain(..self.head);
        Series { labels: self.labels, points: self.buffer }
    }

    /// Moves the window to `[mint, maxt]`, counting points in and out of `ev`'s sample budget.
    pub(crate) fn slide(&mut self, ev: &Evaluator<'_>, mint: i64, maxt: i64) -> Result<()> {
        let limits = &ev.ctx.limits;
        let drop = self.buffer[self.head..].partition_point(|p| p.t < mint);
        if drop > 0 {
            self.head += drop;
            limits.add(-(drop as i64));
        }
        if self.head == self.buffer.len() {
            self.buffer.clear();
            self.head = 0;
        }
        if !self.started {
            self.started = true;
            self.next = self.samples.next()?;
        }
        if let Some(next) = self.next
            && next.t < mint
        {
            self.next = self.samples.seek(mint)?;
        }
        if let Some(p) = self.next
            && p.t <= maxt
            && self.head > 0
            && self.head >= self.buffer.len() - self.head
        {
            // More dead points than live ones, and new ones to add: drop the dead ones now.
            self.buffer.drain(..self.head);
            self.head = 0;
        }
        while let Some(p) = self.next {
            if p.t > maxt {
                break;
            }
            if p.t >= mint && !is_stale_marker(p.v) {
                if limits.current() >= limits.max() {
                    return Err(too_many_samples());
                }
                limits.add(1);
                self.buffer.push(p);
            }
            self.next = self.samples.next()?;
        }
        Ok(())
    }

    /// Empties the window, releasing its points from the budget.
    pub(crate) fn release(&mut self, ev: &Evaluator<'_>) {
        ev.ctx.limits.add(-(self.points().len() as i64));
        self.buffer.clear();
        self.head = 0;
    }
}

impl Evaluator<'_> {
    /// An instant-vector selector over every step (2.42's `eval` of `*parser.VectorSelector`).
    pub(crate) fn eval_vector_selector(&self, sel: &SelectorNode) -> Result<Matrix> {
        let series = select(self.ctx.queryable, sel)?;
        let limits = &self.ctx.limits;
        let offset = sel.offset.get();
        let mut matrix = Vec::with_capacity(series.len());
        for s in series {
            let mut cursor = LookbackCursor::new(s.samples);
            let mut points = Vec::new();
            for ts in self.steps() {
                if let Some(p) = cursor.value_at(ts - offset, self.ctx.lookback)? {
                    limits.take_one()?;
                    points.push(Point { t: ts, v: p.v });
                }
            }
            if !points.is_empty() {
                matrix.push(Series { labels: s.labels, points });
            }
        }
        Ok(matrix)
    }

    /// A range selector outside a function: each series' raw points in the window at the
    /// evaluator's start (2.42's `matrixSelector`).
    pub(crate) fn eval_matrix_selector(&self, sel: &SelectorNode, range: i64) -> Result<Matrix> {
        let maxt = self.start - sel.offset.get();
        let mint = maxt - range;
        let series = select(self.ctx.queryable, sel)?;
        let mut matrix = Vec::with_capacity(series.len());
        for s in series {
            self.ctx.limits.check_done(ENV_EXPRESSION_EVALUATION)?;
            let mut cursor = WindowCursor::new(s.labels, RangeSamples::Selected(s.samples));
            cursor.slide(self, mint, maxt)?;
            if !cursor.points().is_empty() {
                matrix.push(cursor.into_series());
            }
        }
        Ok(matrix)
    }
}

/// The instant vector of persistent cursors, for `timestamp(selector)`, which 2.42 evaluates
/// step by step to keep each sample's own timestamp.
pub(crate) struct InstantSelection {
    cursors: Vec<(Labels, LookbackCursor)>,
}

impl InstantSelection {
    pub(crate) fn new(series: Vec<SelectedSeries>) -> Self {
        Self { cursors: series.into_iter().map(|s| (s.labels, LookbackCursor::new(s.samples))).collect() }
    }

    /// The samples at `ts - offset`, each with its own timestamp (2.42's `vectorSelector`).
    pub(crate) fn at(&mut self, ev: &Evaluator<'_>, ref_time: i64) -> Result<crate::value::Vector> {
        let limits = &ev.ctx.limits;
        let mut out = Vec::with_capacity(self.cursors.len());
        for (labels, cursor) in &mut self.cursors {
            if let Some(p) = cursor.value_at(ref_time, ev.ctx.lookback)? {
                out.push(crate::value::Sample { labels: labels.clone(), t: p.t, v: p.v });
                limits.add(1);
                limits.check_exceeded()?;
            }
        }
        Ok(out)
    }
}
