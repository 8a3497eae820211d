//! Function calls (2.42's `eval` of `*parser.Call`): functions over instant values get every
//! argument at each step; functions over a range vector are called per series and step with
//! that series' window; `timestamp(selector)` and `absent_over_time` get 2.42's special cases.

use promql_parser::parser::Expr;
use promql_parser::parser::value::ValueType;

use crate::error::{PromqlError, Result};
use crate::functions::{self, ArgValue, FunctionArgs, FunctionDef, RangeWindow};
use crate::value::{Matrix, Point, Series, Vector};

use super::eval::{DUPLICATE_LABELSET, Evaluator, StepArg, matrix_has_duplicates};
use super::limits::too_many_samples;
use super::plan::{CallNode, Node, SelectorNode};
use super::selector::{InstantSelection, PointsIterator, RangeSamples, WindowCursor, select};

/// Arguments of a range-function call held on the stack (more go to the heap).
const STACK_ARGS: usize = 4;

/// The function name 2.42 keeps `__name__` for besides what the table says.
const LAST_OVER_TIME: &str = "last_over_time";

fn lookup(name: &str) -> Result<&'static FunctionDef> {
    functions::lookup(name)
        .ok_or_else(|| PromqlError::Execution(format!("function {name:?} is not implemented")))
}

/// Turns one step's arguments into what a function takes.
fn arg_values<'v>(args: &'v [StepArg<'v>], nodes: &[Node]) -> Vec<ArgValue<'v>> {
    args.iter()
        .zip(nodes)
        .map(|(arg, node)| match (arg, node.value_type()) {
            (StepArg::String(s), _) => ArgValue::String(s),
            (arg, ValueType::Scalar) => ArgValue::Scalar(arg.scalar()),
            (arg, _) => ArgValue::Vector(arg.vector()),
        })
        .collect()
}

/// The range-vector argument of a call, as it is read per step.
enum RangeSource {
    /// A range selector, read from storage.
    Selector { offset: i64, range: i64 },
    /// A subquery, already evaluated.
    Subquery { offset: i64, range: i64 },
}

impl Evaluator<'_> {
    pub(crate) fn eval_call(&self, call: &CallNode) -> Result<Matrix> {
        let def = lookup(&call.name)?;
        if call.name == "timestamp"
            && let Some(Node::Vector(sel)) = call.args.first().map(Node::unwrap_arg)
        {
            return self.eval_timestamp_of_selector(def, call, sel);
        }
        let matrix_arg =
            call.args.iter().position(|a| matches!(a.unwrap_arg(), Node::Matrix { .. } | Node::Subquery(_)));
        let Some(matrix_index) = matrix_arg else {
            let args: Vec<&Node> = call.args.iter().collect();
            return self.range_eval(&args, |step_args, ts| {
                let values = arg_values(step_args, &call.args);
                call_function(def, &values, &call.arg_exprs, ts, None)
            });
        };
        self.eval_range_function(def, call, matrix_index)
    }

    /// `timestamp(selector)`: the samples keep their own timestamps (2.42 evaluates the selector
    /// at every step instead of through a matrix).
    fn eval_timestamp_of_selector(
        &self,
        def: &FunctionDef,
        call: &CallNode,
        sel: &SelectorNode,
    ) -> Result<Matrix> {
        let series = select(self.ctx.queryable, sel)?;
        let mut selection = InstantSelection::new(series);
        self.range_eval(&[], |_, ts| {
            if let Some(t) = sel.timestamp {
                sel.offset.set(ts - t);
            }
            let vector = selection.at(self, ts - sel.offset.get())?;
            call_function(def, &[ArgValue::Vector(&vector)], &call.arg_exprs, ts, None)
        })
    }

    fn eval_range_function(&self, def: &FunctionDef, call: &CallNode, matrix_index: usize) -> Result<Matrix> {
        let limits = &self.ctx.limits;
        // The other arguments are scalars: one point per step, without gaps.
        let mut other_args: Vec<Option<Matrix>> = Vec::with_capacity(call.args.len());
        let mut subquery_samples = 0;
        let (source, mut cursors) = match call.args[matrix_index].unwrap_arg() {
            Node::Matrix { selector, range } => {
                let series = select(self.ctx.queryable, selector)?;
                let cursors: Vec<WindowCursor> = series
                    .into_iter()
                    .map(|s| WindowCursor::new(s.labels, RangeSamples::Selected(s.samples)))
                    .collect();
                (RangeSource::Selector { offset: selector.offset.get(), range: *range }, cursors)
            }
            Node::Subquery(sq) => {
                let matrix = self.eval_subquery(sq)?;
                subquery_samples = matrix.iter().map(|s| s.points.len() as i64).sum::<i64>();
                let offset = match sq.timestamp {
                    // The subquery's offset is not rewritten for `@`; do it for its result.
                    Some(t) => sq.original_offset + (self.start - t),
                    None => sq.offset.get(),
                };
                let cursors = matrix
                    .into_iter()
                    .map(|s| WindowCursor::new(s.labels, RangeSamples::Points(PointsIterator::new(s.points))))
                    .collect();
                (RangeSource::Subquery { offset, range: sq.range }, cursors)
            }
            _ => return Err(PromqlError::Execution("expected a range vector argument".to_string())),
        };
        for (i, arg) in call.args.iter().enumerate() {
            if i == matrix_index || arg.value_type() == ValueType::String {
                other_args.push(None);
            } else {
                other_args.push(Some(self.eval_matrix(arg)?));
            }
        }
        let (offset, range) = match source {
            RangeSource::Selector { offset, range } | RangeSource::Subquery { offset, range } => {
                (offset, range)
            }
        };
        let keeps_name = def.keeps_metric_name || call.name == LAST_OVER_TIME;
        let value_fn = functions::range_value_fn(def.name);
        let mut output: Matrix = Vec::with_capacity(cursors.len());
        for cursor in &mut cursors {
            let labels =
                if keeps_name { cursor.labels().clone() } else { cursor.labels().without_metric_name() };
            let mut points = Vec::new();
            for (step, ts) in self.steps().enumerate() {
                let maxt = ts - offset;
                let mint = maxt - range;
                cursor.slide(self, mint, maxt)?;
                if cursor.points().is_empty() {
                    continue;
                }
                // The arguments of this call, on the stack for the usual few (this runs once per
                // series and step).
                let mut on_stack = [ArgValue::Scalar(f64::NAN); STACK_ARGS];
                let mut on_heap;
                let values: &mut [ArgValue<'_>] = if call.args.len() <= STACK_ARGS {
                    &mut on_stack[..call.args.len()]
                } else {
                    on_heap = vec![ArgValue::Scalar(f64::NAN); call.args.len()];
                    &mut on_heap
                };
                for (i, arg) in call.args.iter().enumerate() {
                    values[i] = if i == matrix_index {
                        ArgValue::Window(cursor.points())
                    } else if let Some(s) = arg.string_literal() {
                        ArgValue::String(s)
                    } else {
                        let v = other_args[i]
                            .as_ref()
                            .and_then(|m| m.first())
                            .and_then(|s| s.points.get(step))
                            .map_or(f64::NAN, |p| p.v);
                        ArgValue::Scalar(v)
                    };
                }
                let window = Some(RangeWindow { start: mint, end: maxt });
                let value = match value_fn {
                    Some(f) => f(&FunctionArgs { values, exprs: &call.arg_exprs, step_time: ts, window })?,
                    None => call_function(def, values, &call.arg_exprs, ts, window)?.first().map(|s| s.v),
                };
                if let Some(v) = value {
                    points.push(Point { t: ts, v });
                }
            }
            cursor.release(self);
            if !points.is_empty() {
                if limits.current() + points.len() as i64 > limits.max() {
                    return Err(too_many_samples());
                }
                limits.add(points.len() as i64);
                output.push(Series { labels, points });
            }
        }
        // The subquery's result is no longer held.
        limits.add(-subquery_samples);

        if call.name == "absent_over_time" {
            return Ok(self.absent_over_time(&output, &call.arg_exprs[matrix_index]));
        }
        if matrix_has_duplicates(&output) {
            return Err(PromqlError::Execution(DUPLICATE_LABELSET.to_string()));
        }
        Ok(output)
    }

    /// 1 at every step where no series had a sample, labelled from the selector's equality
    /// matchers (2.42 builds this in the engine).
    fn absent_over_time(&self, present: &Matrix, arg: &Expr) -> Matrix {
        let steps: Vec<i64> = self.steps().collect();
        if present.iter().any(|s| s.points.len() == steps.len()) {
            return Vec::new();
        }
        let found: std::collections::HashSet<i64> =
            present.iter().flat_map(|s| s.points.iter().map(|p| p.t)).collect();
        if found.len() == steps.len() {
            return Vec::new();
        }
        let points: Vec<Point> =
            steps.into_iter().filter(|t| !found.contains(t)).map(|t| Point { t, v: 1.0 }).collect();
        vec![Series { labels: functions::absent_labels(arg), points }]
    }
}

fn call_function(
    def: &FunctionDef,
    values: &[ArgValue<'_>],
    exprs: &[Expr],
    step_time: i64,
    window: Option<RangeWindow>,
) -> Result<Vector> {
    let args = FunctionArgs { values, exprs, step_time, window };
    (def.implementation)(&args)
}
