//! The `@` modifier checks of Prometheus 2.42's harness (`atModifierTestCases`).
//!
//! Every vector selector, matrix selector and subquery that is not inside a subquery gets
//! `@ <eval time>` unless it already has a timestamp (`@ start()` / `@ end()` have none yet at
//! that point, so they are replaced). Selectors inside subqueries are left alone. If any
//! function call outside subqueries is one of `AtModifierUnsafeFunctions`, no case is made.
//! The rewritten query is then evaluated at `[-10t, 0, t/5, t, 10t]` (or `[-1000, 0, 1000]`
//! when t = 0), each time expecting the original result.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::parser::{AtModifier, Expr};

/// `AtModifierUnsafeFunctions` of 2.42: results that vary with evaluation time although their
/// arguments are step invariant.
const AT_MODIFIER_UNSAFE_FUNCTIONS: [&str; 11] = [
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

/// `ms` since the epoch as a `SystemTime` (which may be before the epoch).
pub(crate) fn system_time(ms: i64) -> SystemTime {
    let d = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 { UNIX_EPOCH + d } else { UNIX_EPOCH - d }
}

fn at(ts: i64) -> Option<AtModifier> {
    Some(AtModifier::At(system_time(ts)))
}

/// Sets `@ ts` where Go sets a missing `Timestamp`: an unset modifier, or a not yet resolved
/// `start()` / `end()`.
fn set_at(slot: &mut Option<AtModifier>, ts: i64) {
    if !matches!(slot, Some(AtModifier::At(_))) {
        *slot = at(ts);
    }
}

fn walk(e: &mut Expr, ts: i64, unsafe_call: &mut bool) {
    match e {
        Expr::VectorSelector(vs) => set_at(&mut vs.at, ts),
        Expr::MatrixSelector(ms) => set_at(&mut ms.vs.at, ts),
        // The subquery gets the timestamp; nothing below it is touched or inspected.
        Expr::Subquery(sq) => set_at(&mut sq.at, ts),
        Expr::Call(call) => {
            *unsafe_call |= AT_MODIFIER_UNSAFE_FUNCTIONS.contains(&call.func.name);
            for arg in &mut call.args.args {
                walk(arg, ts, unsafe_call);
            }
        }
        Expr::Aggregate(agg) => {
            walk(&mut agg.expr, ts, unsafe_call);
            if let Some(p) = &mut agg.param {
                walk(p, ts, unsafe_call);
            }
        }
        Expr::Binary(b) => {
            walk(&mut b.lhs, ts, unsafe_call);
            walk(&mut b.rhs, ts, unsafe_call);
        }
        Expr::Unary(u) => walk(&mut u.expr, ts, unsafe_call),
        Expr::Paren(p) => walk(&mut p.expr, ts, unsafe_call),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// The `@`-rewritten expression for evaluation time `ts`, or `None` if 2.42 makes no `@` cases
/// for it (a step-variant function outside subqueries).
pub(crate) fn rewrite(expr: &Expr, ts: i64) -> Option<Expr> {
    let mut e = expr.clone();
    let mut unsafe_call = false;
    walk(&mut e, ts, &mut unsafe_call);
    (!unsafe_call).then_some(e)
}

/// The evaluation times of the rewritten query.
pub(crate) fn additional_eval_times(ts: i64) -> Vec<i64> {
    if ts == 0 { vec![-1000, 0, 1000] } else { vec![-10 * ts, 0, ts / 5, ts, 10 * ts] }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Expr {
        promql_parser::parser::parse(s).unwrap()
    }

    fn rw(s: &str, ts: i64) -> Option<Expr> {
        rewrite(&parse(s), ts)
    }

    fn ts_of(a: &Option<AtModifier>) -> Option<i64> {
        match a {
            Some(AtModifier::At(t)) => Some(match t.duration_since(UNIX_EPOCH) {
                Ok(d) => i64::try_from(d.as_millis()).unwrap(),
                Err(e) => -i64::try_from(e.duration().as_millis()).unwrap(),
            }),
            _ => None,
        }
    }

    #[test]
    fn sets_selectors_and_subqueries() {
        let e = rw("sum(rate(foo[5m])) + bar @ 50 + baz", 120_000).unwrap();
        let Expr::Binary(outer) = &e else { panic!("{e:?}") };
        let Expr::VectorSelector(baz) = &*outer.rhs else { panic!() };
        assert_eq!(ts_of(&baz.at), Some(120_000));
        let Expr::Binary(inner) = &*outer.lhs else { panic!() };
        let Expr::VectorSelector(bar) = &*inner.rhs else { panic!() };
        assert_eq!(ts_of(&bar.at), Some(50_000), "an existing @ stays");
        let Expr::Aggregate(sum) = &*inner.lhs else { panic!() };
        let Expr::Call(rate) = &*sum.expr else { panic!() };
        let Expr::MatrixSelector(foo) = &*rate.args.args[0] else { panic!() };
        assert_eq!(ts_of(&foo.vs.at), Some(120_000));
    }

    #[test]
    fn subqueries_get_at_but_their_insides_do_not() {
        let e = rw("max_over_time(rate(foo[1m])[5m:1m])", 60_000).unwrap();
        let Expr::Call(c) = &e else { panic!() };
        let Expr::Subquery(sq) = &*c.args.args[0] else { panic!() };
        assert_eq!(ts_of(&sq.at), Some(60_000));
        let Expr::Call(rate) = &*sq.expr else { panic!() };
        let Expr::MatrixSelector(foo) = &*rate.args.args[0] else { panic!() };
        assert_eq!(foo.vs.at, None);
        // A step-variant function inside a subquery is not inspected.
        assert!(rw("sum_over_time(vector(time())[5m:1m])", 60_000).is_some());
    }

    #[test]
    fn start_and_end_are_replaced() {
        let e = rw("foo @ start()", 7_000).unwrap();
        let Expr::VectorSelector(vs) = &e else { panic!() };
        assert_eq!(ts_of(&vs.at), Some(7_000));
        let e = rw("foo[1m:10s] @ end()", 0).unwrap();
        let Expr::Subquery(sq) = &e else { panic!() };
        assert_eq!(ts_of(&sq.at), Some(0));
    }

    #[test]
    fn skips_step_variant_functions() {
        for q in ["time()", "foo - timestamp(foo)", "hour(foo)", "predict_linear(foo[5m], 60)", "year()"] {
            assert!(rw(q, 60_000).is_none(), "{q}");
        }
        assert!(rw("vector(1)", 60_000).is_some());
        assert!(rw("1 + 2", 60_000).is_some());
    }

    #[test]
    fn eval_times() {
        assert_eq!(additional_eval_times(0), vec![-1000, 0, 1000]);
        assert_eq!(additional_eval_times(100), vec![-1000, 0, 20, 100, 1000]);
        assert_eq!(ts_of(&at(-5)), Some(-5));
    }
}
