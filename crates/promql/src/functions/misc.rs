//! `absent`, `absent_over_time`, `changes`, `resets`, `deriv`, `predict_linear`,
//! `holt_winters`, `sort`, `sort_desc`, `scalar`, `vector`.

use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, VectorSelector};
use tsdb_format::{Label, Labels};

use super::{FunctionArgs, go_fmt_f, go_sort, kahan_sum_inc, single};
use crate::error::{PromqlError, Result};
use crate::value::{Point, Sample, Vector};

/// The labels `absent(expr)` / `absent_over_time(expr)` output (2.42's
/// `createLabelsForAbsentFunction`): for a vector or matrix selector (inside any parentheses),
/// the labels its equality matchers pin down, in matcher order, where a name matched more than
/// once, or also by a non-equality matcher, is dropped (and may be set again by a later `=`);
/// `__name__` is never included. Empty for any other expression.
pub fn absent_labels(expr: &Expr) -> Labels {
    let mut e = expr;
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    let vs: &VectorSelector = match e {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::default(),
    };
    let mut out: Vec<Label> = Vec::new();
    let mut has: Vec<&str> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == "__name__" {
            continue;
        }
        out.retain(|l| l.name != m.name);
        if matches!(m.op, MatchOp::Equal) && !has.contains(&m.name.as_str()) {
            out.push(Label::new(m.name.clone(), m.value.clone()));
            has.push(&m.name);
        }
    }
    Labels::new(out)
}

/// `absent(v)`: nothing if `v` has samples, else one sample with value 1 and the labels the
/// argument's equality matchers define.
pub(super) fn absent(args: &FunctionArgs<'_>) -> Result<Vector> {
    if !args.vector("absent", 0)?.is_empty() {
        return Ok(Vec::new());
    }
    let labels = args.exprs.first().map(absent_labels).unwrap_or_default();
    Ok(vec![Sample { labels, t: args.step_time, v: 1.0 }])
}

/// `absent_over_time(m)`, per series: 1 for every series with points. The engine turns these
/// into the final answer (see the module documentation of `functions`).
pub(super) fn absent_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    match args.series("absent_over_time", 0)? {
        Some(points) if !points.is_empty() => Ok(single(args.step_time, 1.0)),
        _ => Ok(Vec::new()),
    }
}

/// The window's points, if any.
fn points<'a>(name: &str, args: &FunctionArgs<'a>, i: usize) -> Result<&'a [Point]> {
    Ok(args.series(name, i)?.unwrap_or(&[]))
}

/// `resets(m)`: how often the value decreased.
pub(super) fn resets(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, resets_value(args)?)
}

/// [`resets`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn resets_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    let points = points("resets", args, 0)?;
    if points.is_empty() {
        return Ok(None);
    }
    let n = points.windows(2).filter(|w| w[1].v < w[0].v).count();
    Ok(Some(n as f64))
}

/// `changes(m)`: how often the value changed (NaN to NaN is no change).
pub(super) fn changes(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, changes_value(args)?)
}

/// [`changes`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn changes_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    let points = points("changes", args, 0)?;
    if points.is_empty() {
        return Ok(None);
    }
    let n = points.windows(2).filter(|w| w[1].v != w[0].v && !(w[1].v.is_nan() && w[0].v.is_nan())).count();
    Ok(Some(n as f64))
}

/// 2.42's `linearRegression`: least squares with Kahan sums, x in seconds relative to
/// `intercept_time`; returns (slope, intercept at `intercept_time`).
fn linear_regression(points: &[Point], intercept_time: i64) -> (f64, f64) {
    let mut n = 0.0f64;
    let (mut sum_x, mut c_x) = (0.0f64, 0.0f64);
    let (mut sum_y, mut c_y) = (0.0f64, 0.0f64);
    let (mut sum_xy, mut c_xy) = (0.0f64, 0.0f64);
    let (mut sum_x2, mut c_x2) = (0.0f64, 0.0f64);
    let init_y = points[0].v;
    let mut const_y = true;
    for (i, p) in points.iter().enumerate() {
        if const_y && i > 0 && p.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (p.t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_sum_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_sum_inc(p.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_sum_inc(x * p.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_sum_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let sum_x = sum_x + c_x;
    let sum_y = sum_y + c_y;
    let sum_xy = sum_xy + c_xy;
    let sum_x2 = sum_x2 + c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `deriv(m)`: the regression slope per second (x relative to the first point).
pub(super) fn deriv(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, deriv_value(args)?)
}

/// [`deriv`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn deriv_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    let points = points("deriv", args, 0)?;
    if points.len() < 2 {
        return Ok(None);
    }
    let (slope, _) = linear_regression(points, points[0].t);
    Ok(Some(slope))
}

/// `predict_linear(m, t)`: the regression line (intercept at the step time) `t` seconds on.
pub(super) fn predict_linear(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, predict_linear_value(args)?)
}

/// [`predict_linear`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn predict_linear_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    let points = points("predict_linear", args, 0)?;
    let duration = args.scalar("predict_linear", 1)?;
    if points.len() < 2 {
        return Ok(None);
    }
    let (slope, intercept) = linear_regression(points, args.step_time);
    Ok(Some(slope * duration + intercept))
}

/// `holt_winters(m, sf, tf)`: double exponential smoothing. The factors are checked whenever
/// the window has points (as 2.42 does, before looking at the number of points); NaN factors
/// pass the check.
pub(super) fn holt_winters(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, holt_winters_value(args)?)
}

/// [`holt_winters`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn holt_winters_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    let points = points("holt_winters", args, 0)?;
    let sf = args.scalar("holt_winters", 1)?;
    let tf = args.scalar("holt_winters", 2)?;
    if points.is_empty() {
        return Ok(None);
    }
    if sf <= 0.0 || sf >= 1.0 {
        return Err(PromqlError::Execution(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
            go_fmt_f(sf)
        )));
    }
    if tf <= 0.0 || tf >= 1.0 {
        return Err(PromqlError::Execution(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {}",
            go_fmt_f(tf)
        )));
    }
    if points.len() < 2 {
        return Ok(None);
    }
    let mut s0 = 0.0f64;
    let mut s1 = points[0].v;
    let mut b = points[1].v - points[0].v;
    for (i, p) in points.iter().enumerate().skip(1) {
        let x = sf * p.v;
        // calcTrendValue(i-1, tf, s0, s1, b)
        if i - 1 != 0 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Ok(Some(s1))
}

/// `sort(v)`: ascending, NaN last (Go's unstable sort, as 2.42: reverse of a descending order
/// that puts NaN first).
pub(super) fn sort(args: &FunctionArgs<'_>) -> Result<Vector> {
    let mut out = restamp(args.vector("sort", 0)?, args.step_time);
    // sort.Sort(sort.Reverse(vectorByReverseValueHeap)): Less(i, j) = revLess(j, i).
    go_sort(&mut out, |a, b| b.v.is_nan() || b.v > a.v);
    Ok(out)
}

/// `sort_desc(v)`: descending, NaN last.
pub(super) fn sort_desc(args: &FunctionArgs<'_>) -> Result<Vector> {
    let mut out = restamp(args.vector("sort_desc", 0)?, args.step_time);
    // sort.Sort(sort.Reverse(vectorByValueHeap)): Less(i, j) = heapLess(j, i).
    go_sort(&mut out, |a, b| b.v.is_nan() || b.v < a.v);
    Ok(out)
}

fn restamp(v: &Vector, t: i64) -> Vector {
    v.iter().map(|s| Sample { labels: s.labels.clone(), t, v: s.v }).collect()
}

/// `scalar(v)`: the single sample's value, or NaN unless `v` has exactly one sample.
pub(super) fn scalar(args: &FunctionArgs<'_>) -> Result<Vector> {
    let v = args.vector("scalar", 0)?;
    let value = if v.len() == 1 { v[0].v } else { f64::NAN };
    Ok(single(args.step_time, value))
}

/// `vector(s)`: one sample without labels.
pub(super) fn vector(args: &FunctionArgs<'_>) -> Result<Vector> {
    Ok(single(args.step_time, args.scalar("vector", 0)?))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    const MIN: i64 = 60_000;

    fn absent_of(query: &str) -> Labels {
        let exprs = call_exprs(query);
        absent_labels(&exprs[0])
    }

    #[test]
    fn absent_labels_like_2_42() {
        assert_eq!(absent_of("absent(nonexistent)"), labels(&[]));
        assert_eq!(
            absent_of(r#"absent(nonexistent{job="testjob", instance="testinstance", method=~".x"})"#),
            labels(&[("instance", "testinstance"), ("job", "testjob")])
        );
        assert_eq!(
            absent_of(r#"absent(nonexistent{job="testjob",job="testjob2",foo="bar"})"#),
            labels(&[("foo", "bar")])
        );
        assert_eq!(
            absent_of(r#"absent(nonexistent{job="testjob",job="testjob2",job="three",foo="bar"})"#),
            labels(&[("foo", "bar")])
        );
        assert_eq!(
            absent_of(r#"absent(nonexistent{job="testjob",job=~"testjob2",foo="bar"})"#),
            labels(&[("foo", "bar")])
        );
        assert_eq!(absent_of(r#"absent(sum(nonexistent{job="testjob"}))"#), labels(&[]));
        assert_eq!(absent_of(r#"absent(((nonexistent{job="a"})))"#), labels(&[("job", "a")]));
        assert_eq!(
            absent_of(r#"absent_over_time(http_requests{handler="/foo"}[5m])"#),
            labels(&[("handler", "/foo")])
        );
        assert_eq!(absent_of(r#"absent_over_time(http_requests{handler!="/foo"}[5m])"#), labels(&[]));
        assert_eq!(
            absent_of(
                r#"absent_over_time(http_requests{handler="/foo", handler="/bar", instance="127.0.0.1"}[5m])"#
            ),
            labels(&[("instance", "127.0.0.1")])
        );
        assert_eq!(absent_of(r#"absent_over_time(rate(x{a="b"}[5m])[5m:])"#), labels(&[]));
        assert_eq!(absent_of(r#"absent({__name__="x", a="b"})"#), labels(&[("a", "b")]));
        // A later `=` after a regex matcher on the same name sets it again.
        assert_eq!(absent_of(r#"absent(x{a=~"b", a="c"})"#), labels(&[("a", "c")]));
    }

    #[test]
    fn absent_function() {
        let exprs = call_exprs(r#"absent(nonexistent{job="testjob"})"#);
        let empty = Vec::new();
        let out = call_with("absent", &[arg_vec(&empty)], &exprs, 7, None).expect("absent");
        assert_eq!(out, vec![Sample { labels: labels(&[("job", "testjob")]), t: 7, v: 1.0 }]);
        let some = vec![sample(&[("job", "x")], 3.0)];
        let out = call_with("absent", &[arg_vec(&some)], &exprs, 7, None).expect("absent");
        assert!(out.is_empty());
        assert_eq!(range_call("absent_over_time", &[(0, 1.0)], MIN, MIN, &[]).expect("call"), Some(1.0));
    }

    #[test]
    fn resets_and_changes() {
        let foo = pts(5 * MIN, &[1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 0.0, 1.0, 2.0, 0.0]);
        let bar = pts(5 * MIN, &[1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(range_call("resets", &foo, 50 * MIN, 50 * MIN, &[]).expect("resets"), Some(3.0));
        assert_eq!(range_call("resets", &bar, 50 * MIN, 50 * MIN, &[]).expect("resets"), Some(1.0));
        assert_eq!(range_call("resets", &foo[9..], 5 * MIN, 50 * MIN, &[]).expect("resets"), Some(0.0));
        assert_eq!(range_call("changes", &foo, 50 * MIN, 50 * MIN, &[]).expect("changes"), Some(8.0));
        assert_eq!(range_call("changes", &bar, 50 * MIN, 50 * MIN, &[]).expect("changes"), Some(9.0));
        let nan = f64::NAN;
        assert_eq!(
            range_call("changes", &pts(5 * MIN, &[nan, nan, nan]), 15 * MIN, 15 * MIN, &[]).expect("c"),
            Some(0.0)
        );
        assert_eq!(
            range_call("changes", &pts(5 * MIN, &[0.0, nan, 0.0]), 15 * MIN, 15 * MIN, &[]).expect("c"),
            Some(2.0)
        );
        assert_eq!(range_call("changes", &[], 15 * MIN, 15 * MIN, &[]).expect("c"), None);
    }

    fn reset_middle() -> Vec<(i64, f64)> {
        pts(5 * MIN, &[0.0, 10.0, 20.0, 30.0, 40.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    }

    #[test]
    fn deriv_and_predict_linear() {
        let v = range_call("deriv", &reset_middle(), 100 * MIN, 50 * MIN, &[]).expect("deriv");
        assert_eq!(v, Some(0.010606060606060607));
        let counter = pts(5 * MIN, &(0..=10).map(|i| f64::from(i) * 80.0).collect::<Vec<_>>());
        let v = range_call("deriv", &counter, 50 * MIN, 50 * MIN, &[]).expect("deriv");
        assert_eq!(v, Some(0.26666666666666666));
        let v = range_call("predict_linear", &reset_middle(), 100 * MIN, 50 * MIN, &[3600.0]).expect("p");
        assert_eq!(v, Some(76.81818181818181));
        // `@ 3000` at 10m: the window is fixed, the intercept is at the step time.
        let window = super::super::RangeWindow { start: 3_000_000 - 100 * MIN, end: 3_000_000 };
        let v = range_call_at("predict_linear", &reset_middle(), window, 10 * MIN, &[3600.0]).expect("p");
        assert_eq!(v, Some(51.36363636363637));
        let v = range_call_at("predict_linear", &reset_middle(), window, 70 * MIN, &[3600.0]).expect("p");
        assert_eq!(v, Some(89.54545454545455));
        // Constant values: slope 0; infinite constants: NaN.
        let v = range_call("deriv", &pts(MIN, &[3.0, 3.0]), 5 * MIN, 5 * MIN, &[]).expect("deriv");
        assert_eq!(v, Some(0.0));
        let inf = f64::INFINITY;
        let v = range_call("deriv", &pts(MIN, &[inf, inf]), 5 * MIN, 5 * MIN, &[]).expect("deriv");
        assert!(v.is_some_and(f64::is_nan));
        let v = range_call("deriv", &pts(MIN, &[1.0]), 5 * MIN, 5 * MIN, &[]).expect("deriv");
        assert_eq!(v, None);
    }

    #[test]
    fn holt_winters_like_2_42() {
        // 0+10x1000 every 10s; at 8000s with [1m]: points 7940s..8000s = 7940..8000 (linear).
        let points: Vec<(i64, f64)> = (794..=800).map(|i| (i * 10_000, (i * 10) as f64)).collect();
        let v = range_call("holt_winters", &points, MIN, 8_000_000, &[0.01, 0.1]).expect("hw");
        assert_eq!(v, Some(8000.0));
        let err = range_call("holt_winters", &points, MIN, 8_000_000, &[1.0, 0.1]).expect_err("sf");
        assert_eq!(err.to_string(), "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000");
        let err = range_call("holt_winters", &points, MIN, 8_000_000, &[0.5, 0.0]).expect_err("tf");
        assert_eq!(err.to_string(), "invalid trend factor. Expected: 0 < tf < 1, got: 0.000000");
        // A single point: factors are still checked; no value.
        assert!(range_call("holt_winters", &points[..1], MIN, 8_000_000, &[2.0, 0.1]).is_err());
        assert_eq!(range_call("holt_winters", &points[..1], MIN, 8_000_000, &[0.5, 0.1]).expect("hw"), None);
        // Empty window: nothing, no error.
        assert_eq!(range_call("holt_winters", &[], MIN, 8_000_000, &[2.0, 0.1]).expect("hw"), None);
    }

    #[test]
    fn sorts() {
        let input: Vector = [100.0, 200.0, 300.0, f64::NAN, 50.0]
            .iter()
            .enumerate()
            .map(|(i, v)| sample(&[("__name__", "m"), ("i", &i.to_string())], *v))
            .collect();
        let out = call("sort", &[arg_vec(&input)], 9).expect("sort");
        let vals: Vec<f64> = out.iter().map(|s| s.v).collect();
        assert_eq!(&vals[..4], &[50.0, 100.0, 200.0, 300.0]);
        assert!(vals[4].is_nan());
        assert_eq!(out[0].labels.get("__name__"), Some("m"));
        assert!(out.iter().all(|s| s.t == 9));
        let out = call("sort_desc", &[arg_vec(&input)], 9).expect("sort_desc");
        let vals: Vec<f64> = out.iter().map(|s| s.v).collect();
        assert_eq!(&vals[..4], &[300.0, 200.0, 100.0, 50.0]);
        assert!(vals[4].is_nan());
    }

    #[test]
    fn scalar_and_vector() {
        let one = vec![sample(&[("a", "b")], 4.0)];
        assert_eq!(call("scalar", &[arg_vec(&one)], 3).expect("scalar"), single(3, 4.0));
        let two = vec![sample(&[("a", "b")], 4.0), sample(&[("a", "c")], 5.0)];
        assert!(call("scalar", &[arg_vec(&two)], 3).expect("scalar")[0].v.is_nan());
        assert!(call("scalar", &[arg_vec(&Vec::new())], 3).expect("scalar")[0].v.is_nan());
        assert_eq!(call("vector", &[Scalar(2.5)], 3).expect("vector"), single(3, 2.5));
    }
}
