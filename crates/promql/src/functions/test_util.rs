//! Helpers for the function unit tests.

use promql_parser::parser::{self, Expr};
use tsdb_format::Labels;

use super::{ArgValue, FunctionArgs, RangeWindow, lookup};
use crate::error::Result;
use crate::value::{Point, Sample, Series, Vector};

pub(super) use super::ArgValue as Arg;
#[allow(unused_imports)]
pub(super) use Arg::{Scalar, String as Str};

pub(super) fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

pub(super) fn sample(pairs: &[(&str, &str)], v: f64) -> Sample {
    Sample { labels: labels(pairs), t: 0, v }
}

pub(super) fn arg_vec(v: &Vector) -> ArgValue<'_> {
    ArgValue::Vector(v)
}

/// Calls an instant-vector function by name without argument expressions.
pub(super) fn call(name: &str, values: &[ArgValue<'_>], step_time: i64) -> Result<Vector> {
    call_with(name, values, &[], step_time, None)
}

pub(super) fn call_with(
    name: &str,
    values: &[ArgValue<'_>],
    exprs: &[Expr],
    step_time: i64,
    window: Option<RangeWindow>,
) -> Result<Vector> {
    let def = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
    (def.implementation)(&FunctionArgs { values, exprs, step_time, window })
}

/// The argument expressions of the call `query`.
pub(super) fn call_exprs(query: &str) -> Vec<Expr> {
    match parser::parse(query).unwrap_or_else(|e| panic!("parse {query}: {e}")) {
        Expr::Call(c) => c.args.args.into_iter().map(|a| *a).collect(),
        other => panic!("not a call: {other:?}"),
    }
}

pub(super) fn series(points: &[(i64, f64)]) -> Series {
    Series {
        labels: labels(&[("__name__", "m")]),
        points: points.iter().map(|&(t, v)| Point { t, v }).collect(),
    }
}

/// Calls a range function on one series, window `[end - range, end]` at step `end`; `scalars`
/// fill the non-matrix arguments in order. Returns the single output value, if any.
pub(super) fn range_call(
    name: &str,
    points: &[(i64, f64)],
    range: i64,
    end: i64,
    scalars: &[f64],
) -> Result<Option<f64>> {
    range_call_at(name, points, RangeWindow { start: end - range, end }, end, scalars)
}

pub(super) fn range_call_at(
    name: &str,
    points: &[(i64, f64)],
    window: RangeWindow,
    step_time: i64,
    scalars: &[f64],
) -> Result<Option<f64>> {
    let def = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
    let m = [series(points)];
    let mut scalars = scalars.iter();
    let values: Vec<ArgValue<'_>> = def
        .arg_types
        .iter()
        .map(|t| match t {
            super::ValueType::Matrix => ArgValue::Matrix(&m),
            _ => ArgValue::Scalar(*scalars.next().expect("enough scalars")),
        })
        .collect();
    let out =
        (def.implementation)(&FunctionArgs { values: &values, exprs: &[], step_time, window: Some(window) })?;
    assert!(out.len() <= 1, "{name} returned {} samples", out.len());
    Ok(out.first().map(|s| {
        assert_eq!(s.t, step_time);
        s.v
    }))
}

/// Points every `step` ms from 0: `values[i]` at `i * step`.
pub(super) fn pts(step: i64, values: &[f64]) -> Vec<(i64, f64)> {
    values.iter().enumerate().map(|(i, &v)| (i as i64 * step, v)).collect()
}

/// Asserts `got` equals `want` up to 1e-12 relative error (the `.test` files print rounded
/// values and Prometheus compares them approximately); NaN equals NaN.
#[track_caller]
pub(super) fn assert_close(got: f64, want: f64) {
    if want.is_nan() {
        assert!(got.is_nan(), "got {got}, want NaN");
    } else if want.is_infinite() || want == 0.0 {
        assert_eq!(got, want);
    } else {
        assert!(((got - want) / want).abs() < 1e-12, "got {got}, want {want}");
    }
}
