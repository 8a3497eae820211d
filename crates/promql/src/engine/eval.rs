//! The node walk: every expression evaluates to a matrix holding one point per step and series
//! (2.42's `evaluator.eval`), built step by step by [`Evaluator::range_eval`].

use std::collections::{HashMap, HashSet};

use promql_parser::parser::value::ValueType;
use tsdb_format::Labels;

use crate::aggregation::{AggregateParam, aggregate};
use crate::binary::{scalar_binop, vector_binop, vector_scalar_binop};
use crate::error::{PromqlError, Result};
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

/// Whether two samples share a label set (2.42's `Vector.ContainsSameLabelset`).
pub(crate) fn vector_has_duplicates(vector: &Vector) -> bool {
    if vector.len() < 2 {
        return false;
    }
    let mut seen = HashSet::with_capacity(vector.len());
    vector.iter().any(|s| !seen.insert(&s.labels))
}

/// Whether two series share a label set (2.42's `Matrix.ContainsSameLabelset`).
pub(crate) fn matrix_has_duplicates(matrix: &Matrix) -> bool {
    if matrix.len() < 2 {
        return false;
    }
    let mut seen = HashSet::with_capacity(matrix.len());
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
                if let Some(s) = param.as_deref().and_then(Node::string_literal) {
                    self.range_eval(&[expr], |args, ts| {
                        aggregate(*op, AggregateParam::String(s), modifier, args[0].vector(), ts)
                    })?
                } else if let Some(param) = param {
                    self.range_eval(&[param, expr], |args, ts| {
                        let p = AggregateParam::Scalar(args[0].scalar());
                        aggregate(*op, p, modifier, args[1].vector(), ts)
                    })?
                } else {
                    self.range_eval(&[expr], |args, ts| {
                        aggregate(*op, AggregateParam::None, modifier, args[0].vector(), ts)
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
                    _ => self.range_eval(&[lhs, rhs], |args, ts| {
                        vector_binop(op, modifier.as_ref(), args[0].vector(), args[1].vector(), ts)
                    })?,
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
        // Per input series, the index of its next point: points are in step order.
        let mut next_point: Vec<Vec<usize>> =
            inputs.iter().map(|m| vec![0; m.as_ref().map_or(0, Vec::len)]).collect();
        let mut vectors: Vec<Vector> = vec![Vec::new(); args.len()];
        let mut output: Vec<Series> = Vec::new();
        let mut output_index: HashMap<Labels, usize> = HashMap::new();
        let mut temp_samples = limits.current();

        for ts in self.steps() {
            limits.check_done(ENV_EXPRESSION_EVALUATION)?;
            limits.set_current(temp_samples);
            for (i, input) in inputs.iter().enumerate() {
                vectors[i].clear();
                let Some(matrix) = input else { continue };
                for (si, series) in matrix.iter().enumerate() {
                    let idx = next_point[i][si];
                    if let Some(p) = series.points.get(idx)
                        && p.t == ts
                    {
                        if limits.current() >= limits.max() {
                            return Err(too_many_samples());
                        }
                        vectors[i].push(Sample { labels: series.labels.clone(), t: ts, v: p.v });
                        next_point[i][si] = idx + 1;
                        limits.add(1);
                    }
                }
            }
            let step_args: Vec<StepArg<'_>> = args
                .iter()
                .zip(&vectors)
                .map(|(arg, vector)| match arg.string_literal() {
                    Some(s) if arg.value_type() == ValueType::String => StepArg::String(s),
                    _ => StepArg::Vector(vector),
                })
                .collect();
            let result = step_fn(&step_args, ts)?;
            if vector_has_duplicates(&result) {
                return Err(PromqlError::Execution(DUPLICATE_LABELSET.to_string()));
            }
            limits.add(result.len() as i64);
            temp_samples += result.len() as i64;
            limits.check_exceeded()?;

            if self.start == self.end {
                // An instant evaluation keeps the result's order (e.g. of `sort`).
                let matrix: Matrix = result
                    .into_iter()
                    .map(|s| Series { labels: s.labels, points: vec![Point { t: ts, v: s.v }] })
                    .collect();
                limits.set_current(original_samples + total_points(&matrix));
                return Ok(matrix);
            }
            for sample in result {
                let point = Point { t: ts, v: sample.v };
                match output_index.get(&sample.labels) {
                    Some(&i) => output[i].points.push(point),
                    None => {
                        output_index.insert(sample.labels.clone(), output.len());
                        output.push(Series { labels: sample.labels, points: vec![point] });
                    }
                }
            }
        }
        limits.set_current(original_samples + total_points(&output));
        Ok(output)
    }
}
