//! The node walk: every expression evaluates to a matrix holding one point per step and series
//! (2.42's `evaluator.eval`), built step by step by [`Evaluator::range_eval`].

use promql_parser::parser::value::ValueType;
use tsdb_format::Labels;

use crate::aggregation::{AggregateParam, GroupCache, aggregate_cached};
use crate::binary::{BinopCache, Matching, scalar_binop, vector_binop_cached, vector_scalar_binop};
use crate::error::{PromqlError, Result};
use crate::fasthash::{FastMap, FastSet};
use crate::queryable::Queryable;
use crate::value::{Matrix, Point, Sample, Series, Vector};

use super::limits::{ENV_EXPRESSION_EVALUATION, QueryLimits, too_many_samples};
use super::plan::Node;

/// What stays the same for every evaluator of one query.
pub(crate) struct EvalContext<'a> {
    pub(crate) queryable: &'a dyn Queryable,
    pub(crate) limits: QueryLimits,
    pub(crate) lookback: i64,
    pub(crate) default_subquery_step: i64,
}

/// Evaluates nodes over the steps `start, start + interval, …, end`.
pub(crate) struct Evaluator<'a> {
    pub(crate) ctx: &'a EvalContext<'a>,
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) interval: i64,
}

/// What a node evaluates to.
#[derive(Debug)]
pub(crate) enum Evaluated {
    Matrix(Matrix),
    String(String),
}

/// One argument of a step in [`Evaluator::range_eval`].
pub(crate) enum StepArg<'v> {
    /// The argument's samples at this step.
    Vector(&'v Vector),
    /// A string argument, which is not evaluated.
    String(&'v str),
}

impl StepArg<'_> {
    /// The value of a scalar argument at this step.
    pub(crate) fn scalar(&self) -> f64 {
        match self {
            StepArg::Vector(v) => v.first().map_or(f64::NAN, |s| s.v),
            StepArg::String(_) => f64::NAN,
        }
    }

    pub(crate) fn vector(&self) -> &Vector {
        static EMPTY: Vector = Vec::new();
        match self {
            StepArg::Vector(v) => v,
            StepArg::String(_) => &EMPTY,
        }
    }
}

pub(crate) const DUPLICATE_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// Whether two series share a label set (2.42's `Matrix.ContainsSameLabelset`).
pub(crate) fn matrix_has_duplicates(matrix: &Matrix) -> bool {
    if matrix.len() < 2 {
        return false;
    }
    let mut seen = FastSet::with_capacity_and_hasher(matrix.len(), Default::default());
    matrix.iter().any(|s| !seen.insert(&s.labels))
}

fn total_points(matrix: &Matrix) -> i64 {
    matrix.iter().map(|s| s.points.len() as i64).sum()
}

impl<'a> Evaluator<'a> {
    /// The step timestamps.
    pub(crate) fn steps(&self) -> impl Iterator<Item = i64> + use<> {
        let (start, end, interval) = (self.start, self.end, self.interval.max(1));
        std::iter::successors(Some(start), move |ts| ts.checked_add(interval))
            .take_while(move |ts| *ts <= end)
    }

    /// An evaluator over other steps, sharing this query's context.
    pub(crate) fn with_range(&self, start: i64, end: i64, interval: i64) -> Evaluator<'a> {
        Evaluator { ctx: self.ctx, start, end, interval }
    }

    /// Evaluates a node that must not be a string.
    pub(crate) fn eval_matrix(&self, node: &Node) -> Result<Matrix> {
        match self.eval(node)? {
            Evaluated::Matrix(m) => Ok(m),
            Evaluated::String(_) => {
                Err(PromqlError::Execution("unexpected string in expression".to_string()))
            }
        }
    }

    /// Evaluates a node over every step.
    pub(crate) fn eval(&self, node: &Node) -> Result<Evaluated> {
        self.ctx.limits.check_done(ENV_EXPRESSION_EVALUATION)?;
        let matrix = match node {
            Node::Number(v) => {
                let v = *v;
                self.range_eval(&[], |_, _| Ok(vec![Sample { labels: Labels::default(), t: 0, v }]))?
            }
            Node::String(s) => return Ok(Evaluated::String(s.clone())),
            Node::Paren(inner) => return self.eval(inner),
            Node::Vector(sel) => self.eval_vector_selector(sel)?,
            Node::Matrix { selector, range } => {
                if self.start != self.end {
                    return Err(PromqlError::Execution(
                        "cannot do range evaluation of matrix selector".to_string(),
                    ));
                }
                self.eval_matrix_selector(selector, *range)?
            }
            Node::Subquery(sq) => self.eval_subquery(sq)?,
            Node::Call(call) => self.eval_call(call)?,
            Node::Aggregate { op, param, expr, modifier } => {
                let modifier = modifier.as_ref();
                // Each input series' group, computed at its first step.
                let mut groups = GroupCache::default();
                if let Some(s) = param.as_deref().and_then(Node::string_literal) {
                    self.range_eval(&[expr], |args, ts| {
                        let p = AggregateParam::String(s);
                        aggregate_cached(*op, p, modifier, args[0].vector(), ts, &mut groups)
                    })?
                } else if let Some(param) = param {
                    self.range_eval(&[param, expr], |args, ts| {
                        let p = AggregateParam::Scalar(args[0].scalar());
                        aggregate_cached(*op, p, modifier, args[1].vector(), ts, &mut groups)
                    })?
                } else {
                    self.range_eval(&[expr], |args, ts| {
                        aggregate_cached(
                            *op,
                            AggregateParam::None,
                            modifier,
                            args[0].vector(),
                            ts,
                            &mut groups,
                        )
                    })?
                }
            }
            Node::Binary { op, lhs, rhs, modifier } => {
                let op = *op;
                let return_bool = modifier.as_ref().is_some_and(|m| m.return_bool);
                match (lhs.value_type(), rhs.value_type()) {
                    (ValueType::Scalar, ValueType::Scalar) => self.range_eval(&[lhs, rhs], |args, _| {
                        let v = scalar_binop(op, args[0].scalar(), args[1].scalar(), return_bool);
                        Ok(vec![Sample { labels: Labels::default(), t: 0, v }])
                    })?,
                    (ValueType::Vector, ValueType::Scalar) => self.range_eval(&[lhs, rhs], |args, ts| {
                        Ok(vector_scalar_binop(
                            op,
                            args[0].vector(),
                            args[1].scalar(),
                            false,
                            return_bool,
                            ts,
                        ))
                    })?,
                    (ValueType::Scalar, ValueType::Vector) => self.range_eval(&[lhs, rhs], |args, ts| {
                        Ok(vector_scalar_binop(op, args[1].vector(), args[0].scalar(), true, return_bool, ts))
                    })?,
                    _ => {
                        // Signatures and result labels, computed once per series.
                        let mut cache = BinopCache::default();
                        let matching = Matching::new(op, modifier.as_ref());
                        self.range_eval_into(&[lhs, rhs], |args, ts, out| {
                            let (l, r) = (args[0].vector(), args[1].vector());
                            vector_binop_cached(op, &matching, l, r, ts, &mut cache, out)
                        })?
                    }
                }
            }
            Node::Negate(inner) => {
                let mut matrix = self.eval_matrix(inner)?;
                for series in &mut matrix {
                    series.labels = series.labels.without_metric_name();
                    for p in &mut series.points {
                        p.v = -p.v;
                    }
                }
                if matrix_has_duplicates(&matrix) {
                    return Err(PromqlError::Execution(DUPLICATE_LABELSET.to_string()));
                }
                matrix
            }
            Node::StepInvariant(inner) => return self.eval_step_invariant(inner),
        };
        Ok(Evaluated::Matrix(matrix))
    }

    /// Evaluates a step-invariant node once, at the start, and repeats its value at every step.
    fn eval_step_invariant(&self, inner: &Node) -> Result<Evaluated> {
        if matches!(inner, Node::String(_) | Node::Number(_)) {
            return self.eval(inner);
        }
        let once = self.with_range(self.start, self.start, self.interval);
        let mut matrix = match once.eval(inner)? {
            Evaluated::Matrix(m) => m,
            string => return Ok(string),
        };
        if matches!(inner, Node::Matrix { .. } | Node::Subquery(_)) {
            // A range result has its own timestamps; nothing to repeat.
            return Ok(Evaluated::Matrix(matrix));
        }
        let limits = &self.ctx.limits;
        for series in &mut matrix {
            let Some(&first) = series.points.first() else { continue };
            for ts in self.steps().skip(1) {
                series.points.push(Point { t: ts, v: first.v });
                limits.add(1);
                limits.check_exceeded()?;
            }
        }
        Ok(Evaluated::Matrix(matrix))
    }

    /// Evaluates `args` over all steps, then calls `step_fn` once per step with each argument's
    /// samples at that step, and gathers the results into series (2.42's `rangeEval`). String
    /// arguments are passed as they are written.
    pub(crate) fn range_eval(
        &self,
        args: &[&Node],
        mut step_fn: impl FnMut(&[StepArg<'_>], i64) -> Result<Vector>,
    ) -> Result<Matrix> {
        self.range_eval_into(args, |step_args, ts, out| {
            *out = step_fn(step_args, ts)?;
            Ok(())
        })
    }

    /// [`Evaluator::range_eval`] with a step function that writes its result over the previous
    /// step's (see [`crate::value::VectorWriter`]), so that an unchanged series' labels are not
    /// cloned and dropped at every step.
    pub(crate) fn range_eval_into(
        &self,
        args: &[&Node],
        mut step_fn: impl FnMut(&[StepArg<'_>], i64, &mut Vector) -> Result<()>,
    ) -> Result<Matrix> {
        let limits = &self.ctx.limits;
        let original_samples = limits.current();
        let mut inputs: Vec<Option<Matrix>> = Vec::with_capacity(args.len());
        for arg in args {
            if arg.value_type() == ValueType::String {
                inputs.push(None);
            } else {
                inputs.push(Some(self.eval_matrix(arg)?));
            }
        }
        // Each input's values, read a block of steps ahead (see `StepBlock`).
        let mut blocks: Vec<StepBlock> =
            inputs.iter().map(|m| StepBlock::new(m.as_ref().map_or(0, Vec::len))).collect();
        let steps: Vec<i64> = self.steps().collect();
        let mut vectors: Vec<StepVector> = (0..args.len()).map(|_| StepVector::default()).collect();
        let mut output = OutputSeries::default();
        let mut result = Vector::new();
        let mut temp_samples = limits.current();

        for (step, &ts) in steps.iter().enumerate() {
            limits.check_done(ENV_EXPRESSION_EVALUATION)?;
            limits.set_current(temp_samples);
            for (i, input) in inputs.iter().enumerate() {
                let vector = &mut vectors[i];
                vector.start();
                let Some(matrix) = input else { continue };
                let values = blocks[i].values_at(matrix, &steps, step);
                for (si, (series, value)) in matrix.iter().zip(values).enumerate() {
                    if let Some(v) = *value {
                        if limits.current() >= limits.max() {
                            return Err(too_many_samples());
                        }
                        vector.push(si, &series.labels, ts, v);
                        limits.add(1);
                    }
                }
                vector.finish();
            }
            let step_args: Vec<StepArg<'_>> = args
                .iter()
                .zip(&vectors)
                .map(|(arg, vector)| match arg.string_literal() {
                    Some(s) if arg.value_type() == ValueType::String => StepArg::String(s),
                    _ => StepArg::Vector(&vector.samples),
                })
                .collect();
            step_fn(&step_args, ts, &mut result)?;
            // Finds each sample's output series, failing on two samples with the same labels.
            output.resolve(&result)?;
            limits.add(result.len() as i64);
            temp_samples += result.len() as i64;
            limits.check_exceeded()?;

            if self.start == self.end {
                // An instant evaluation keeps the result's order (e.g. of `sort`).
                let matrix: Matrix = std::mem::take(&mut result)
                    .into_iter()
                    .map(|s| Series { labels: s.labels, points: vec![Point { t: ts, v: s.v }] })
                    .collect();
                limits.set_current(original_samples + total_points(&matrix));
                return Ok(matrix);
            }
            output.push_step(&result, ts);
        }
        let output = output.series;
        limits.set_current(original_samples + total_points(&output));
        Ok(output)
    }
}

/// The series [`Evaluator::range_eval`] is building, found by labels at every step.
///
/// Looking each sample's labels up in a map at every step is what made `range_eval` slow; but a
/// step function usually returns the same label sets (shared, see [`Labels::ptr_eq`]) in the same
/// order at every step, so each sample is first compared by pointer with the series the sample
/// at its position went to at the previous step, and only looked up by labels when that fails.
/// Two samples with equal labels in one step always resolve to the same series, which is how
/// duplicate label sets are detected (2.42's `ContainsSameLabelset`) without a set per step.
#[derive(Default)]
struct OutputSeries {
    series: Vec<Series>,
    index: FastMap<Labels, usize>,
    /// Per series, the last step (counted from 1) that resolved a sample to it.
    last_step: Vec<u32>,
    step: u32,
    /// Per sample of the current (after `resolve`) and previous step, its series.
    slots: Vec<usize>,
    previous_slots: Vec<usize>,
}

impl OutputSeries {
    /// Resolves the samples of one step to series (creating those not seen before, still
    /// without points); fails if two samples share a label set.
    fn resolve(&mut self, result: &Vector) -> Result<()> {
        std::mem::swap(&mut self.slots, &mut self.previous_slots);
        self.slots.clear();
        self.step += 1;
        for (j, sample) in result.iter().enumerate() {
            let same_as_before =
                self.previous_slots.get(j).copied().filter(|&i| self.series[i].labels.ptr_eq(&sample.labels));
            let i = match same_as_before {
                Some(i) => i,
                None => match self.index.get(&sample.labels) {
                    Some(&i) => i,
                    None => {
                        let i = self.series.len();
                        self.index.insert(sample.labels.clone(), i);
                        self.series.push(Series { labels: sample.labels.clone(), points: Vec::new() });
                        self.last_step.push(0);
                        i
                    }
                },
            };
            if self.last_step[i] == self.step {
                return Err(PromqlError::Execution(DUPLICATE_LABELSET.to_string()));
            }
            self.last_step[i] = self.step;
            self.slots.push(i);
        }
        Ok(())
    }

    /// Appends the values of the step last resolved.
    fn push_step(&mut self, result: &Vector, ts: i64) {
        for (sample, &i) in result.iter().zip(&self.slots) {
            self.series[i].points.push(Point { t: ts, v: sample.v });
        }
    }
}

/// One argument's samples at the current step of [`Evaluator::range_eval`].
///
/// Usually the same series have a point at every step, so the vector of the previous step is
/// updated in place (timestamps and values only) as long as the series come in the same order;
/// rebuilding it would clone and drop every series' labels at every step, and those reference
/// count updates (atomic) cost more than the rest of the step.
#[derive(Default)]
struct StepVector {
    samples: Vector,
    /// The input series of each sample.
    series: Vec<usize>,
    /// Samples of this step so far.
    len: usize,
    /// Whether the samples so far are the same series as at the previous step.
    same: bool,
}

impl StepVector {
    fn start(&mut self) {
        self.len = 0;
        self.same = true;
    }

    fn push(&mut self, series: usize, labels: &Labels, t: i64, v: f64) {
        if self.same && self.series.get(self.len) == Some(&series) {
            let sample = &mut self.samples[self.len];
            sample.t = t;
            sample.v = v;
        } else {
            if self.same {
                self.same = false;
                self.samples.truncate(self.len);
                self.series.truncate(self.len);
            }
            self.samples.push(Sample { labels: labels.clone(), t, v });
            self.series.push(series);
        }
        self.len += 1;
    }

    fn finish(&mut self) {
        self.samples.truncate(self.len);
        self.series.truncate(self.len);
    }
}

/// Steps read ahead at once by [`StepBlock`].
const BLOCK_STEPS: usize = 32;

/// One input matrix's values for a block of steps, step-major.
///
/// `range_eval` needs every series' value at one step, but a matrix holds each series' points
/// together: reading one point per series per step misses the cache at almost every point once
/// there are many series. Reading a block of steps per series (consecutive points) into a small
/// step-major table, then each step's row, touches memory in order.
struct StepBlock {
    series: usize,
    /// Per series, the index of its next unread point (points are in step order).
    next_point: Vec<usize>,
    /// `values[b * series + si]`: series `si`'s value at step `first + b`, if it has a point there.
    values: Vec<Option<f64>>,
    /// The first step of the block read, and how many steps it holds.
    first: usize,
    len: usize,
}

impl StepBlock {
    fn new(series: usize) -> Self {
        Self { series, next_point: vec![0; series], values: Vec::new(), first: 0, len: 0 }
    }

    /// The values of every series at `steps[step]`; steps must be asked for in order.
    fn values_at(&mut self, matrix: &Matrix, steps: &[i64], step: usize) -> &[Option<f64>] {
        if step >= self.first + self.len {
            self.read(matrix, steps, step);
        }
        let b = step - self.first;
        &self.values[b * self.series..(b + 1) * self.series]
    }

    /// Reads the block of steps starting at `first`.
    fn read(&mut self, matrix: &Matrix, steps: &[i64], first: usize) {
        let block = &steps[first..steps.len().min(first + BLOCK_STEPS)];
        self.first = first;
        self.len = block.len();
        self.values.clear();
        self.values.resize(block.len() * self.series, None);
        for (si, series) in matrix.iter().enumerate() {
            let mut idx = self.next_point[si];
            for (b, &ts) in block.iter().enumerate() {
                if let Some(p) = series.points.get(idx)
                    && p.t == ts
                {
                    self.values[b * self.series + si] = Some(p.v);
                    idx += 1;
                }
            }
            self.next_point[si] = idx;
        }
    }
}
