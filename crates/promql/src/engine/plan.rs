//! The evaluation plan: the parsed expression rebuilt as a tree the evaluator can annotate.
//!
//! Prometheus 2.42 keeps evaluation state in its AST: every selector and subquery carries its
//! written offset (`OriginalOffset`) and an effective one (`Offset`) that the `@` handling
//! rewrites as evaluation descends into subqueries, and step-invariant parts are wrapped in
//! `StepInvariantExpr`. [`Node`] holds the same state (the effective offset in a `Cell`), so the
//! evaluator can follow 2.42's algorithm step for step; see `at_modifier.rs` for the rewriting.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token::TokenType;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{
    AtModifier, BinModifier, Expr, LabelModifier, Offset, VectorMatchCardinality, VectorSelector,
};

use crate::error::{PromqlError, Result};
use crate::queryable::SelectHints;

/// Where a selector or subquery is pinned by `@`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AtTime {
    /// `@ <number>`, in ms.
    At(i64),
    /// `@ start()`.
    Start,
    /// `@ end()`.
    End,
}

/// An instant-vector selector (also the inside of a range selector).
#[derive(Debug)]
pub(crate) struct SelectorNode {
    /// All matchers, including `__name__="<name>"` for a written metric name.
    pub(crate) matchers: Vec<Matcher>,
    /// The offset as written, ms (negative for `offset -5m`).
    pub(crate) original_offset: i64,
    /// The offset the evaluator applies, ms (2.42's `Offset`).
    pub(crate) offset: Cell<i64>,
    /// The `@` as written.
    pub(crate) at: Option<AtTime>,
    /// The `@` time resolved against the query's start and end (2.42's `Timestamp`).
    pub(crate) timestamp: Option<i64>,
    /// What to ask storage for (2.42's `populateSeries`).
    pub(crate) hints: SelectHints,
}

/// A subquery `expr[range:step]`.
#[derive(Debug)]
pub(crate) struct SubqueryNode {
    pub(crate) expr: Box<Node>,
    pub(crate) range: i64,
    /// The written step in ms; 0 means the engine's default.
    pub(crate) step: i64,
    pub(crate) original_offset: i64,
    pub(crate) offset: Cell<i64>,
    pub(crate) at: Option<AtTime>,
    pub(crate) timestamp: Option<i64>,
}

/// A function call.
#[derive(Debug)]
pub(crate) struct CallNode {
    pub(crate) name: String,
    pub(crate) args: Vec<Node>,
    /// The arguments as parsed, for functions that inspect them.
    pub(crate) arg_exprs: Vec<Expr>,
    pub(crate) return_type: ValueType,
}

/// One node of the plan.
#[derive(Debug)]
pub(crate) enum Node {
    Number(f64),
    String(String),
    Vector(SelectorNode),
    Matrix {
        selector: SelectorNode,
        range: i64,
    },
    Subquery(SubqueryNode),
    Call(CallNode),
    Aggregate {
        op: TokenType,
        param: Option<Box<Node>>,
        expr: Box<Node>,
        modifier: Option<LabelModifier>,
    },
    Binary {
        op: TokenType,
        lhs: Box<Node>,
        rhs: Box<Node>,
        modifier: Option<BinModifier>,
    },
    Negate(Box<Node>),
    Paren(Box<Node>),
    /// A part whose value is the same at every step: evaluated once, then repeated.
    StepInvariant(Box<Node>),
}

impl Node {
    /// The PromQL type of the node's value.
    pub(crate) fn value_type(&self) -> ValueType {
        match self {
            Node::Number(_) => ValueType::Scalar,
            Node::String(_) => ValueType::String,
            Node::Vector(_) | Node::Aggregate { .. } => ValueType::Vector,
            Node::Matrix { .. } | Node::Subquery(_) => ValueType::Matrix,
            Node::Call(c) => c.return_type,
            Node::Binary { lhs, rhs, .. } => {
                if lhs.value_type() == ValueType::Scalar && rhs.value_type() == ValueType::Scalar {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Node::Negate(e) | Node::Paren(e) | Node::StepInvariant(e) => e.value_type(),
        }
    }

    /// The node without parentheses (2.42's `unwrapParenExpr`).
    pub(crate) fn unwrap_parens(&self) -> &Node {
        let mut node = self;
        while let Node::Paren(inner) = node {
            node = inner;
        }
        node
    }

    /// The node without parentheses and one step-invariant wrapper, as 2.42 unwraps call
    /// arguments (`unwrapParenExpr`, `unwrapStepInvariantExpr`, `unwrapParenExpr`).
    pub(crate) fn unwrap_arg(&self) -> &Node {
        match self.unwrap_parens() {
            Node::StepInvariant(inner) => inner.unwrap_parens(),
            other => other,
        }
    }

    /// The string of a string-literal argument (2.42's `stringFromArg`).
    pub(crate) fn string_literal(&self) -> Option<&str> {
        match self.unwrap_arg() {
            Node::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Milliseconds of a duration, saturating.
pub(crate) fn duration_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn offset_ms(offset: Option<&Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => -duration_ms(d),
    }
}

/// Milliseconds of an `@` time. Out of int64 range gives `i64::MIN`, as Go's float-to-int64
/// conversion does on amd64 (2.42 accepts such times and wraps).
fn system_time_ms(t: &SystemTime) -> i64 {
    let ms: i128 = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after.as_millis() as i128,
        Err(before) => -(before.duration().as_millis() as i128),
    };
    i64::try_from(ms).unwrap_or(i64::MIN)
}

fn at_time(at: Option<&AtModifier>) -> Option<AtTime> {
    at.map(|at| match at {
        AtModifier::Start => AtTime::Start,
        AtModifier::End => AtTime::End,
        AtModifier::At(t) => AtTime::At(system_time_ms(t)),
    })
}

/// The matchers of a selector, with the written metric name as a `__name__` matcher last (as
/// 2.42's parser appends it).
pub(crate) fn selector_matchers(vs: &VectorSelector) -> Vec<Matcher> {
    let mut matchers = vs.matchers.matchers.clone();
    if let Some(name) = &vs.name {
        matchers.push(Matcher::new(MatchOp::Equal, "__name__", name));
    }
    matchers
}

fn selector_node(vs: &VectorSelector) -> Result<SelectorNode> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(PromqlError::Parse("`or` in label matchers is not supported".to_string()));
    }
    let at = at_time(vs.at.as_ref());
    let timestamp = match at {
        Some(AtTime::At(t)) => Some(t),
        _ => None,
    };
    let original_offset = offset_ms(vs.offset.as_ref());
    Ok(SelectorNode {
        matchers: selector_matchers(vs),
        original_offset,
        offset: Cell::new(original_offset),
        at,
        timestamp,
        hints: SelectHints::default(),
    })
}

/// Builds the plan for a parsed expression.
pub(crate) fn build(expr: &Expr) -> Result<Node> {
    Ok(match expr {
        Expr::NumberLiteral(n) => Node::Number(n.val),
        Expr::StringLiteral(s) => Node::String(s.val.clone()),
        Expr::VectorSelector(vs) => Node::Vector(selector_node(vs)?),
        Expr::MatrixSelector(ms) => {
            Node::Matrix { selector: selector_node(&ms.vs)?, range: duration_ms(&ms.range) }
        }
        Expr::Subquery(sq) => {
            let at = at_time(sq.at.as_ref());
            let original_offset = offset_ms(sq.offset.as_ref());
            Node::Subquery(SubqueryNode {
                expr: Box::new(build(&sq.expr)?),
                range: duration_ms(&sq.range),
                step: sq.step.as_ref().map(duration_ms).unwrap_or(0),
                original_offset,
                offset: Cell::new(original_offset),
                at,
                timestamp: match at {
                    Some(AtTime::At(t)) => Some(t),
                    _ => None,
                },
            })
        }
        Expr::Call(call) => Node::Call(CallNode {
            name: call.func.name.to_string(),
            args: call.args.args.iter().map(|a| build(a)).collect::<Result<_>>()?,
            arg_exprs: call.args.args.iter().map(|a| (**a).clone()).collect(),
            return_type: call.func.return_type,
        }),
        Expr::Aggregate(agg) => Node::Aggregate {
            op: agg.op,
            param: agg.param.as_ref().map(|p| build(p).map(Box::new)).transpose()?,
            expr: Box::new(build(&agg.expr)?),
            modifier: agg.modifier.clone(),
        },
        Expr::Binary(bin) => {
            let lhs = build(&bin.lhs)?;
            let rhs = build(&bin.rhs)?;
            let mut modifier = bin.modifier.clone();
            if bin.op.is_set_operator() {
                let m = modifier.get_or_insert_with(BinModifier::default);
                if m.card == VectorMatchCardinality::OneToOne {
                    m.card = VectorMatchCardinality::ManyToMany;
                }
            }
            Node::Binary { op: bin.op, lhs: Box::new(lhs), rhs: Box::new(rhs), modifier }
        }
        Expr::Unary(u) => Node::Negate(Box::new(build(&u.expr)?)),
        Expr::Paren(p) => Node::Paren(Box::new(build(&p.expr)?)),
        Expr::Extension(_) => {
            return Err(PromqlError::Execution("extension expressions are not supported".to_string()));
        }
    })
}

/// Functions whose value changes with the evaluation time even when their arguments do not
/// (2.42's `AtModifierUnsafeFunctions`).
const AT_MODIFIER_UNSAFE_FUNCTIONS: &[&str] = &[
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

fn wrap_step_invariant(slot: &mut Node) {
    let inner = std::mem::replace(slot, Node::Number(0.0));
    *slot = Node::StepInvariant(Box::new(inner));
}

fn resolve_at(at: Option<AtTime>, timestamp: &mut Option<i64>, start: i64, end: i64) {
    match at {
        Some(AtTime::Start) => *timestamp = Some(start),
        Some(AtTime::End) => *timestamp = Some(end),
        _ => {}
    }
}

/// Resolves `start()`/`end()` and wraps step-invariant parts (2.42's `PreprocessExpr`).
pub(crate) fn preprocess(mut root: Node, start: i64, end: i64) -> Node {
    if preprocess_node(&mut root, start, end) {
        wrap_step_invariant(&mut root);
    }
    root
}

fn preprocess_node(node: &mut Node, start: i64, end: i64) -> bool {
    match node {
        Node::Vector(sel) | Node::Matrix { selector: sel, .. } => {
            resolve_at(sel.at, &mut sel.timestamp, start, end);
            sel.timestamp.is_some()
        }
        Node::Aggregate { expr, .. } => preprocess_node(expr, start, end),
        Node::Binary { lhs, rhs, .. } => {
            let lhs_invariant = preprocess_node(lhs, start, end);
            let rhs_invariant = preprocess_node(rhs, start, end);
            if lhs_invariant && rhs_invariant {
                return true;
            }
            if lhs_invariant {
                wrap_step_invariant(lhs);
            }
            if rhs_invariant {
                wrap_step_invariant(rhs);
            }
            false
        }
        Node::Call(call) => {
            let mut invariant = !AT_MODIFIER_UNSAFE_FUNCTIONS.contains(&call.name.as_str());
            let args_invariant: Vec<bool> =
                call.args.iter_mut().map(|arg| preprocess_node(arg, start, end)).collect();
            invariant = invariant && args_invariant.iter().all(|&i| i);
            if invariant {
                return true;
            }
            for (arg, arg_invariant) in call.args.iter_mut().zip(args_invariant) {
                if arg_invariant {
                    wrap_step_invariant(arg);
                }
            }
            false
        }
        Node::Subquery(sq) => {
            if preprocess_node(&mut sq.expr, start, end) {
                wrap_step_invariant(&mut sq.expr);
            }
            resolve_at(sq.at, &mut sq.timestamp, start, end);
            sq.timestamp.is_some()
        }
        Node::Paren(inner) | Node::Negate(inner) => preprocess_node(inner, start, end),
        Node::String(_) | Node::Number(_) => true,
        // Already preprocessed.
        Node::StepInvariant(_) => true,
    }
}

/// One subquery on the way from the root to a node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SubqueryStep {
    pub(crate) original_offset: i64,
    pub(crate) range: i64,
    pub(crate) timestamp: Option<i64>,
    pub(crate) step: i64,
}

/// The summed offsets and ranges of the subqueries on a path, reset by a subquery with `@`,
/// and the closest `@` time seen (2.42's `subqueryTimes`).
pub(crate) fn subquery_times(path: &[SubqueryStep]) -> (i64, i64, Option<i64>) {
    let (mut offset, mut range, mut ts) = (0, 0, None);
    for sq in path {
        offset += sq.original_offset;
        range += sq.range;
        if let Some(t) = sq.timestamp {
            offset = sq.original_offset;
            range = sq.range;
            ts = Some(t);
        }
    }
    (offset, range, ts)
}

/// The query's time range, as 2.42's `populateSeries` sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryRange {
    pub(crate) start: i64,
    pub(crate) end: i64,
    /// 0 for an instant query.
    pub(crate) interval: i64,
    pub(crate) lookback: i64,
    pub(crate) default_subquery_step: i64,
}

/// Fills every selector's [`SelectHints`] (2.42's `populateSeries`/`getTimeRangesForSelector`).
pub(crate) fn fill_hints(root: &mut Node, range: &QueryRange) {
    let mut path = Vec::new();
    fill_hints_node(root, range, &mut path, None);
}

fn fill_hints_node(node: &mut Node, q: &QueryRange, path: &mut Vec<SubqueryStep>, func: Option<&str>) {
    match node {
        Node::Vector(sel) => sel.hints = selector_hints(sel, q, path, 0, func),
        Node::Matrix { selector, range } => {
            selector.hints = selector_hints(selector, q, path, *range, func);
        }
        Node::Subquery(sq) => {
            path.push(SubqueryStep {
                original_offset: sq.original_offset,
                range: sq.range,
                timestamp: sq.timestamp,
                step: sq.step,
            });
            fill_hints_node(&mut sq.expr, q, path, func);
            path.pop();
        }
        Node::Call(call) => {
            let name = call.name.clone();
            for arg in &mut call.args {
                fill_hints_node(arg, q, path, Some(&name));
            }
        }
        Node::Aggregate { op, param, expr, .. } => {
            let name = op.to_string();
            if let Some(param) = param {
                fill_hints_node(param, q, path, Some(&name));
            }
            fill_hints_node(expr, q, path, Some(&name));
        }
        Node::Binary { lhs, rhs, .. } => {
            fill_hints_node(lhs, q, path, None);
            fill_hints_node(rhs, q, path, None);
        }
        Node::Negate(inner) | Node::Paren(inner) | Node::StepInvariant(inner) => {
            fill_hints_node(inner, q, path, func);
        }
        Node::Number(_) | Node::String(_) => {}
    }
}

fn selector_hints(
    sel: &SelectorNode,
    q: &QueryRange,
    path: &[SubqueryStep],
    eval_range: i64,
    func: Option<&str>,
) -> SelectHints {
    let (mut start, mut end) = (q.start, q.end);
    let (subq_offset, subq_range, subq_ts) = subquery_times(path);
    if let Some(t) = subq_ts {
        start = t;
        end = t;
    }
    // Go's int64 arithmetic wraps; so does ours, rather than panicking on absurd `@`/offset values.
    if let Some(t) = sel.timestamp {
        start = t;
        end = t;
    } else {
        start = start.wrapping_sub(subq_offset).wrapping_sub(subq_range);
        end = end.wrapping_sub(subq_offset);
    }
    start = start.wrapping_sub(if eval_range == 0 { q.lookback } else { eval_range });
    start = start.wrapping_sub(sel.original_offset);
    end = end.wrapping_sub(sel.original_offset);
    let step = match path.last() {
        Some(sq) if sq.step != 0 => sq.step,
        Some(_) => q.default_subquery_step,
        None => q.interval,
    };
    SelectHints { start, end, step, range: eval_range, func: func.map(str::to_string) }
}
