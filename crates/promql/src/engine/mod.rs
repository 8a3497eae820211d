//! The evaluator: walks the AST step by step over series read from a [`crate::Queryable`].
//!
//! It follows Prometheus 2.42's `promql/engine.go`: the expression is preprocessed (step
//! invariant parts wrapped, `@ start()`/`@ end()` resolved, storage hints computed), then every
//! node evaluates to one point per series and step; an instant query is a range query of one
//! step.

mod at_modifier;
mod call;
mod eval;
mod limits;
mod plan;
mod selector;
mod subquery;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use promql_parser::parser::Expr;
use promql_parser::parser::value::ValueType;

use crate::error::{PromqlError, Result};
use crate::queryable::Queryable;
use crate::value::{Point, Sample, Value};

pub use limits::CancelToken;

use eval::{EvalContext, Evaluated, Evaluator};
use limits::{ENV_EXPRESSION_EVALUATION, ENV_QUERY_EXECUTION, QueryLimits};
use plan::QueryRange;

/// Engine settings (Prometheus' `EngineOpts` and the flags behind them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample, ms (`--query.lookback-delta`).
    pub lookback_delta_ms: i64,
    /// Most samples a query may hold in memory at once (`--query.max-samples`).
    pub max_samples: usize,
    /// Longest a query may run (`--query.timeout`).
    pub timeout: Duration,
    /// Step of a subquery written without one: the rule evaluation interval, ms.
    pub default_subquery_step_ms: i64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_subquery_step_ms: 60_000,
        }
    }
}

/// A PromQL engine answering as Prometheus 2.42 does.
#[derive(Debug, Clone)]
pub struct Engine {
    opts: EngineOptions,
}

/// The documented name of a value type, as 2.42's `parser.DocumentedType` prints it.
pub(crate) fn documented_type(t: ValueType) -> &'static str {
    match t {
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
    }
}

impl Engine {
    /// An engine with these options.
    pub fn new(opts: EngineOptions) -> Self {
        Self { opts }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Parses a query as Prometheus 2.42 does: `promql-parser`, plus the checks and the function
    /// table of 2.42 (newer functions and syntax are parse errors).
    pub fn parse(query: &str) -> Result<Expr> {
        crate::parse::parse(query)
    }

    /// Evaluates `query` at `t_ms`.
    pub fn instant_query(&self, q: &dyn Queryable, query: &str, t_ms: i64) -> Result<Value> {
        let expr = Self::parse(query)?;
        self.instant_query_expr(q, &expr, t_ms)
    }

    /// Evaluates `query` at every step from `start_ms` to `end_ms`; the result is a matrix with
    /// series sorted by labels.
    pub fn range_query(
        &self,
        q: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Value> {
        let expr = Self::parse(query)?;
        self.range_query_expr(q, &expr, start_ms, end_ms, step_ms)
    }

    /// Evaluates a parsed expression at `t_ms`.
    pub fn instant_query_expr(&self, q: &dyn Queryable, expr: &Expr, t_ms: i64) -> Result<Value> {
        self.instant_query_expr_cancellable(q, expr, t_ms, &CancelToken::new())
    }

    /// Evaluates a parsed expression over a range of steps.
    pub fn range_query_expr(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Value> {
        self.range_query_expr_cancellable(q, expr, start_ms, end_ms, step_ms, &CancelToken::new())
    }

    /// [`Engine::instant_query_expr`] that stops with [`PromqlError::Canceled`] once `cancel`
    /// is cancelled.
    pub fn instant_query_expr_cancellable(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        t_ms: i64,
        cancel: &CancelToken,
    ) -> Result<Value> {
        let expr_type = expr.value_type();
        let range = QueryRange {
            start: t_ms,
            end: t_ms,
            interval: 0,
            lookback: self.opts.lookback_delta_ms,
            default_subquery_step: self.opts.default_subquery_step_ms,
        };
        let (ctx, root) = self.prepare(q, expr, &range, cancel)?;
        // An instant query is a range evaluation of one step.
        let evaluator = Evaluator { ctx: &ctx, start: t_ms, end: t_ms, interval: 1 };
        let matrix = match evaluator.eval(&root)? {
            Evaluated::String(s) => return Ok(Value::String { t: t_ms, s }),
            Evaluated::Matrix(m) => m,
        };
        Ok(match expr_type {
            ValueType::Vector => Value::Vector(
                matrix
                    .into_iter()
                    .filter_map(|s| {
                        let v = s.points.first()?.v;
                        Some(Sample { labels: s.labels, t: t_ms, v })
                    })
                    .collect(),
            ),
            ValueType::Scalar => {
                let v = matrix.first().and_then(|s| s.points.first()).map_or(f64::NAN, |p| p.v);
                Value::Scalar(Point { t: t_ms, v })
            }
            ValueType::Matrix => Value::Matrix(matrix),
            ValueType::String => {
                return Err(PromqlError::Execution("unexpected string result".to_string()));
            }
        })
    }

    /// [`Engine::range_query_expr`] that stops with [`PromqlError::Canceled`] once `cancel`
    /// is cancelled.
    pub fn range_query_expr_cancellable(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        cancel: &CancelToken,
    ) -> Result<Value> {
        let expr_type = expr.value_type();
        if expr_type != ValueType::Vector && expr_type != ValueType::Scalar {
            // Prometheus rejects this when creating the query, so its API reports `bad_data`.
            return Err(PromqlError::Parse(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                documented_type(expr_type)
            )));
        }
        if step_ms <= 0 {
            return Err(PromqlError::Parse(
                "zero or negative query resolution step widths are not accepted. Try a positive integer"
                    .to_string(),
            ));
        }
        if end_ms < start_ms {
            return Err(PromqlError::Parse("end timestamp must not be before start time".to_string()));
        }
        let range = QueryRange {
            start: start_ms,
            end: end_ms,
            interval: step_ms,
            lookback: self.opts.lookback_delta_ms,
            default_subquery_step: self.opts.default_subquery_step_ms,
        };
        let (ctx, root) = self.prepare(q, expr, &range, cancel)?;
        let evaluator = Evaluator { ctx: &ctx, start: start_ms, end: end_ms, interval: step_ms };
        let mut matrix = match evaluator.eval(&root)? {
            Evaluated::Matrix(m) => m,
            Evaluated::String(_) => {
                return Err(PromqlError::Execution("unexpected string result".to_string()));
            }
        };
        ctx.limits.check_done(ENV_EXPRESSION_EVALUATION)?;
        matrix.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Value::Matrix(matrix))
    }

    /// Builds the plan and the evaluation context of one query.
    fn prepare<'q>(
        &self,
        q: &'q dyn Queryable,
        expr: &Expr,
        range: &QueryRange,
        cancel: &CancelToken,
    ) -> Result<(EvalContext<'q>, plan::Node)> {
        let deadline = Instant::now().checked_add(self.opts.timeout);
        let limits = QueryLimits::new(self.opts.max_samples, deadline, Some(cancel.clone()));
        limits.check_done(ENV_QUERY_EXECUTION)?;
        let mut root = plan::preprocess(plan::build(expr)?, range.start, range.end);
        plan::fill_hints(&mut root, range);
        at_modifier::set_offset_for_at_modifier(range.start, &root);
        let ctx = EvalContext {
            queryable: q,
            limits,
            lookback: self.opts.lookback_delta_ms,
            default_subquery_step: self.opts.default_subquery_step_ms,
        };
        Ok((ctx, root))
    }
}
