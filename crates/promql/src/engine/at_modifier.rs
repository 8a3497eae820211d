//! The `@` modifier: effective offsets relative to an evaluation start.
//!
//! A selector pinned by `@ t` is step invariant and evaluated once, at the start of the
//! evaluator it sits in. Prometheus 2.42 makes that single evaluation read at `t` by rewriting
//! the selector's offset to `original + (eval_start - t)`, minus whatever the subqueries between
//! here and the selector will subtract on the way down (`setOffsetForAtModifier`). It does this
//! for the whole query at its start, and again for a subquery's inside whenever the subquery's
//! aligned start differs from its parent's.

use super::plan::{Node, SubqueryStep, subquery_times};

/// Rewrites the effective offsets under `node` for evaluation starting at `eval_time`.
pub(crate) fn set_offset_for_at_modifier(eval_time: i64, node: &Node) {
    let mut path = Vec::new();
    visit(eval_time, node, &mut path);
}

fn effective_offset(
    eval_time: i64,
    timestamp: Option<i64>,
    original_offset: i64,
    path: &[SubqueryStep],
) -> i64 {
    let Some(ts) = timestamp else {
        return original_offset;
    };
    // Go's int64 arithmetic wraps on absurd `@` times; ours does the same instead of panicking.
    let (mut subq_offset, _, subq_ts) = subquery_times(path);
    if let Some(subq_ts) = subq_ts {
        subq_offset = subq_offset.wrapping_add(eval_time.wrapping_sub(subq_ts));
    }
    let offset_for_ts = eval_time.wrapping_sub(ts);
    original_offset.wrapping_add(offset_for_ts).wrapping_sub(subq_offset)
}

fn visit(eval_time: i64, node: &Node, path: &mut Vec<SubqueryStep>) {
    match node {
        Node::Vector(sel) | Node::Matrix { selector: sel, .. } => {
            sel.offset.set(effective_offset(eval_time, sel.timestamp, sel.original_offset, path));
        }
        Node::Subquery(sq) => {
            sq.offset.set(effective_offset(eval_time, sq.timestamp, sq.original_offset, path));
            path.push(SubqueryStep {
                original_offset: sq.original_offset,
                range: sq.range,
                timestamp: sq.timestamp,
                step: sq.step,
            });
            visit(eval_time, &sq.expr, path);
            path.pop();
        }
        Node::Call(call) => {
            for arg in &call.args {
                visit(eval_time, arg, path);
            }
        }
        Node::Aggregate { param, expr, .. } => {
            if let Some(param) = param {
                visit(eval_time, param, path);
            }
            visit(eval_time, expr, path);
        }
        Node::Binary { lhs, rhs, .. } => {
            visit(eval_time, lhs, path);
            visit(eval_time, rhs, path);
        }
        Node::Negate(inner) | Node::Paren(inner) | Node::StepInvariant(inner) => {
            visit(eval_time, inner, path)
        }
        Node::Number(_) | Node::String(_) => {}
    }
}
