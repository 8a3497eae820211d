//! The values PromQL expressions evaluate to, shaped as Prometheus' `promql` package shapes them.

use tsdb_format::Labels;

/// One timestamped float: a sample of a series, or a point of a range result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Milliseconds since the epoch.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// One element of an instant vector: a series' labels and its value at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels (the metric name under `__name__`, if it has one).
    pub labels: Labels,
    /// Evaluation timestamp in milliseconds.
    pub t: i64,
    /// The value.
    pub v: f64,
}

/// A list of samples at one timestamp: the result of an instant-vector expression.
pub type Vector = Vec<Sample>;

/// Writes one step's samples over the previous step's vector: a sample whose labels are the
/// same shared set as the one at its position keeps them, so the usual step (the same series in
/// the same order) changes only timestamps and values, with no reference counts touched.
/// Dropping the writer cuts the vector to what was written.
pub(crate) struct VectorWriter<'a> {
    out: &'a mut Vector,
    len: usize,
}

impl<'a> VectorWriter<'a> {
    pub(crate) fn new(out: &'a mut Vector) -> Self {
        Self { out, len: 0 }
    }

    /// Appends a sample.
    #[inline]
    pub(crate) fn push(&mut self, labels: &Labels, t: i64, v: f64) {
        if let Some(s) = self.out.get_mut(self.len) {
            if !s.labels.ptr_eq(labels) {
                s.labels = labels.clone();
            }
            s.t = t;
            s.v = v;
        } else {
            self.out.push(Sample { labels: labels.clone(), t, v });
        }
        self.len += 1;
    }
}

impl Drop for VectorWriter<'_> {
    fn drop(&mut self) {
        self.out.truncate(self.len);
    }
}

/// A series with points: an element of a range vector or of a range query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: Labels,
    /// Its points, in time order.
    pub points: Vec<Point>,
}

/// A list of series: the result of a range-vector expression or a range query.
pub type Matrix = Vec<Series>;

/// The result of evaluating an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number at a timestamp.
    Scalar(Point),
    /// A string at a timestamp.
    String {
        /// Evaluation timestamp in milliseconds.
        t: i64,
        /// The string.
        s: String,
    },
    /// An instant vector.
    Vector(Vector),
    /// A range vector or a range query's result.
    Matrix(Matrix),
}

/// Prometheus' stale marker: a NaN with this exact bit pattern ends a series.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Whether `v` is the stale marker (not just any NaN).
pub fn is_stale_marker(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}
