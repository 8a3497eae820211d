//! The `*_over_time` functions (2.42's `aggrOverTime` family) and `quantile_over_time`.

use super::{FunctionArgs, go_sort, kahan_sum_inc};
use crate::error::Result;
use crate::value::{Point, Vector};

/// 2.42's `aggrOverTime`: one value from the window's points (nothing for an empty window,
/// which 2.42 never evaluates).
fn aggr_value(name: &str, args: &FunctionArgs<'_>, f: impl Fn(&[Point]) -> f64) -> Result<Option<f64>> {
    match args.series(name, 0)? {
        Some(points) if !points.is_empty() => Ok(Some(f(points))),
        _ => Ok(None),
    }
}

/// `avg_over_time(m)`: 2.42's incremental Kahan mean with its infinity handling.
pub(super) fn avg_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, avg_over_time_value(args)?)
}

/// [`avg_over_time`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn avg_over_time_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    aggr_value("avg_over_time", args, |points| {
        let (mut mean, mut count, mut c) = (0.0f64, 0.0f64, 0.0f64);
        for p in points {
            count += 1.0;
            if mean.is_infinite() {
                if p.v.is_infinite() && (mean > 0.0) == (p.v > 0.0) {
                    continue;
                }
                if !p.v.is_infinite() && !p.v.is_nan() {
                    continue;
                }
            }
            (mean, c) = kahan_sum_inc(p.v / count - mean / count, mean, c);
        }
        if mean.is_infinite() { mean } else { mean + c }
    })
}

/// `count_over_time(m)`.
pub(super) fn count_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, count_over_time_value(args)?)
}

/// [`count_over_time`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn count_over_time_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    aggr_value("count_over_time", args, |points| points.len() as f64)
}

/// `last_over_time(m)`: the last value (the engine keeps `__name__`).
pub(super) fn last_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, last_over_time_value(args)?)
}

/// [`last_over_time`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn last_over_time_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    aggr_value("last_over_time", args, |points| points[points.len() - 1].v)
}

/// `max_over_time(m)`: NaN only if all values are NaN.
pub(super) fn max_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, max_over_time_value(args)?)
}

/// [`max_over_time`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn max_over_time_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    aggr_value("max_over_time", args, |points| {
        let mut max = points[0].v;
        for p in points {
            if p.v > max || max.is_nan() {
                max = p.v;
            }
        }
        max
    })
}

/// `min_over_time(m)`: NaN only if all values are NaN.
pub(super) fn min_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, min_over_time_value(args)?)
}

/// [`min_over_time`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn min_over_time_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    aggr_value("min_over_time", args, |points| {
        let mut min = points[0].v;
        for p in points {
            if p.v < min || min.is_nan() {
                min = p.v;
            }
        }
        min
    })
}

/// `sum_over_time(m)`: Kahan sum.
pub(super) fn sum_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, sum_over_time_value(args)?)
}

/// [`sum_over_time`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn sum_over_time_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    aggr_value("sum_over_time", args, |points| {
        let (mut sum, mut c) = (0.0f64, 0.0f64);
        for p in points {
            (sum, c) = kahan_sum_inc(p.v, sum, c);
        }
        if sum.is_infinite() { sum } else { sum + c }
    })
}

/// Welford's online variance with Kahan-compensated mean and sum of squares, as 2.42 computes
/// it for `stddev_over_time` and `stdvar_over_time`.
fn variance(points: &[Point]) -> f64 {
    let mut count = 0.0f64;
    let (mut mean, mut c_mean) = (0.0f64, 0.0f64);
    let (mut aux, mut c_aux) = (0.0f64, 0.0f64);
    for p in points {
        count += 1.0;
        let delta = p.v - (mean + c_mean);
        (mean, c_mean) = kahan_sum_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_sum_inc(delta * (p.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// `stddev_over_time(m)`.
pub(super) fn stddev_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, stddev_over_time_value(args)?)
}

/// [`stddev_over_time`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn stddev_over_time_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    aggr_value("stddev_over_time", args, |points| variance(points).sqrt())
}

/// `stdvar_over_time(m)`.
pub(super) fn stdvar_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, stdvar_over_time_value(args)?)
}

/// [`stdvar_over_time`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn stdvar_over_time_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    aggr_value("stdvar_over_time", args, variance)
}

/// `present_over_time(m)`: 1 for every series with points.
pub(super) fn present_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, present_over_time_value(args)?)
}

/// [`present_over_time`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn present_over_time_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    aggr_value("present_over_time", args, |_| 1.0)
}

/// `quantile_over_time(q, m)`.
pub(super) fn quantile_over_time(args: &FunctionArgs<'_>) -> Result<Vector> {
    super::value_vector(args, quantile_over_time_value(args)?)
}

/// [`quantile_over_time`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn quantile_over_time_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    let q = args.scalar("quantile_over_time", 0)?;
    match args.series("quantile_over_time", 1)? {
        Some(points) if !points.is_empty() => {
            let mut values: Vec<f64> = points.iter().map(|p| p.v).collect();
            Ok(Some(quantile(q, &mut values)))
        }
        _ => Ok(None),
    }
}

/// 2.42's `quantile` (`promql/quantile.go`): sorts `values` as Go's `sort.Sort` on
/// `vectorByValueHeap` does (NaN "less" than everything) and interpolates linearly between the
/// closest ranks. NaN for no values or a NaN `q`; -Inf/+Inf for `q` below 0/above 1.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    go_sort(values, |a, b| a.is_nan() || a < b);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower_index = 0f64.max(rank.floor());
    let upper_index = (n - 1.0).min(lower_index + 1.0);
    let weight = rank - rank.floor();
    values[lower_index as usize] * (1.0 - weight) + values[upper_index as usize] * weight
}

#[cfg(test)]
#[allow(clippy::excessive_precision)]
mod tests {
    use super::super::test_util::*;

    const S10: i64 = 10_000;

    fn over(name: &str, values: &[f64]) -> Option<f64> {
        // load 10s; eval at 1m over [1m]: all points inside the window.
        range_call(name, &pts(S10, values), 60_000, 60_000, &[]).expect("call")
    }

    fn check(name: &str, values: &[f64], expected: f64) {
        let got = over(name, values).expect("a value");
        if expected.is_nan() {
            assert!(got.is_nan(), "{name}({values:?}) = {got}, want NaN");
        } else {
            assert_eq!(got, expected, "{name}({values:?})");
        }
    }

    const INF: f64 = f64::INFINITY;
    const NAN: f64 = f64::NAN;

    #[test]
    fn avg_over_time_like_2_42() {
        check("avg_over_time", &[1.0, 2.0, 3.0, 4.0, 5.0], 3.0);
        check("avg_over_time", &[1.0, 2.0, 3.0, 4.0, INF], INF);
        check("avg_over_time", &[1.0, 2.0, 3.0, 4.0, -INF], -INF);
        check("avg_over_time", &[1.0, 2.0, 3.0, INF, -INF], NAN);
        check("avg_over_time", &[INF, 0.0, INF], INF);
        check("avg_over_time", &[INF, INF, INF, -INF], NAN);
        check("avg_over_time", &[-INF, 0.0, -INF], -INF);
        check("avg_over_time", &[1.0, 2.0, -INF, -INF, INF], NAN);
        check("avg_over_time", &[9.988465674311579e+307, 9.988465674311579e+307], 9.988465674311579e+307);
        check("avg_over_time", &[-9.988465674311579e+307; 3], -9.988465674311579e+307);
        check("avg_over_time", &[-9.988465674311579e+307, 9.988465674311579e+307], 0.0);
    }

    #[test]
    fn sum_count_over_time() {
        check("sum_over_time", &[1.0, 2.0, 3.0, 4.0, 5.0], 15.0);
        check("sum_over_time", &[9.988465674311579e+307, 9.988465674311579e+307], INF);
        check("sum_over_time", &[1.0, 2.0, 3.0, INF, -INF], NAN);
        // Kahan: 1e100 + 1 - 1e100 = 1.
        check("sum_over_time", &[1e100, 1.0, -1e100], 1.0);
        check("count_over_time", &[1.0, NAN, 3.0], 3.0);
        check("present_over_time", &[NAN], 1.0);
    }

    #[test]
    fn min_max_last_over_time() {
        check("min_over_time", &[2.0, 0.0, 3.0], 0.0);
        check("min_over_time", &[2.0, 0.0, NAN], 0.0);
        check("min_over_time", &[2.0, NAN, 1.0], 1.0);
        check("min_over_time", &[NAN, 0.0, 1.0], 0.0);
        check("min_over_time", &[NAN, NAN, NAN], NAN);
        check("max_over_time", &[2.0, 0.0, 3.0], 3.0);
        check("max_over_time", &[2.0, 0.0, NAN], 2.0);
        check("max_over_time", &[2.0, NAN, 1.0], 2.0);
        check("max_over_time", &[NAN, 0.0, 1.0], 1.0);
        check("max_over_time", &[NAN, NAN, NAN], NAN);
        check("last_over_time", &[2.0, 0.0, NAN], NAN);
        check("last_over_time", &[2.0, NAN, 1.0], 1.0);
    }

    #[test]
    fn stddev_stdvar() {
        assert_close(over("stdvar_over_time", &[0.0, 8.0, 8.0, 2.0, 3.0]).expect("value"), 10.56);
        let sd = over("stddev_over_time", &[0.0, 8.0, 8.0, 2.0, 3.0]).expect("value");
        assert!((sd - 3.249615).abs() < 1e-6);
        check("stdvar_over_time", &[1.5990505637277868; 3], 0.0);
        check("stddev_over_time", &[1.5990505637277868; 3], 0.0);
        check("stdvar_over_time", &[5.0], 0.0);
    }

    #[test]
    fn quantile_over_time_like_2_42() {
        let q = |q: f64, values: &[f64]| {
            range_call("quantile_over_time", &pts(S10, values), 60_000, 60_000, &[q])
                .expect("call")
                .expect("value")
        };
        assert_eq!(q(0.0, &[0.0, 1.0]), 0.0);
        assert_eq!(q(0.5, &[0.0, 1.0]), 0.5);
        assert_eq!(q(0.75, &[0.0, 1.0, 2.0]), 1.5);
        assert_close(q(0.8, &[0.0, 1.0, 4.0]), 2.8);
        assert_eq!(q(1.0, &[0.0, 1.0, 4.0]), 4.0);
        assert_eq!(q(0.5, &[4.0, 0.0, 1.0]), 1.0);
        assert_eq!(q(-1.0, &[0.0, 1.0]), f64::NEG_INFINITY);
        assert_eq!(q(2.0, &[0.0, 1.0]), f64::INFINITY);
        assert!(q(NAN, &[0.0, 1.0]).is_nan());
        // NaN sorts first.
        assert!(q(0.0, &[1.0, NAN, 0.0]).is_nan());
        assert_eq!(q(1.0, &[1.0, NAN, 0.0]), 1.0);
    }

    #[test]
    fn empty_window_gives_nothing() {
        assert_eq!(over("sum_over_time", &[]), None);
        assert_eq!(over("max_over_time", &[]), None);
    }
}
