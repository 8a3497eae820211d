//! Subqueries `expr[range:step] offset o`: the inside is evaluated as a range query over steps
//! aligned to multiples of the step (2.42's `eval` of `*parser.SubqueryExpr`).

use crate::error::Result;
use crate::value::Matrix;

use super::at_modifier::set_offset_for_at_modifier;
use super::eval::Evaluator;
use super::plan::SubqueryNode;

/// The first multiple of `step` at or after `t` (Go's truncating division, then a correction).
pub(crate) fn align_up(t: i64, step: i64) -> i64 {
    let aligned = step * (t / step);
    if aligned < t { aligned + step } else { aligned }
}

impl Evaluator<'_> {
    /// Evaluates a subquery's inside from the first aligned step after
    /// `start - offset - range` to `end - offset`.
    pub(crate) fn eval_subquery(&self, sq: &SubqueryNode) -> Result<Matrix> {
        let offset = sq.offset.get();
        let step = if sq.step != 0 { sq.step } else { self.ctx.default_subquery_step.max(1) };
        let start = align_up(self.start - offset - sq.range, step);
        let end = self.end - offset;
        if start != self.start {
            // `@` offsets are relative to the evaluation start, which moves here.
            set_offset_for_at_modifier(start, &sq.expr);
        }
        self.with_range(start, end, step).eval_matrix(&sq.expr)
    }
}

#[cfg(test)]
mod tests {
    use super::align_up;

    #[test]
    fn aligns_up_for_negative_and_positive_times() {
        assert_eq!(align_up(25, 10), 30);
        assert_eq!(align_up(30, 10), 30);
        assert_eq!(align_up(-25, 10), -20);
        assert_eq!(align_up(-30, 10), -30);
        assert_eq!(align_up(0, 10), 0);
    }
}
