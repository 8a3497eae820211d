//! `rate`, `increase`, `delta` (2.42's `extrapolatedRate`) and `irate`, `idelta`
//! (`instantValue`).

use super::{FunctionArgs, single};
use crate::error::Result;
use crate::value::{Point, Vector};

/// `rate(m)`: per-second increase with counter resets and extrapolation.
pub(super) fn rate(args: &FunctionArgs<'_>) -> Result<Vector> {
    as_vector(args, rate_value(args)?)
}

/// `increase(m)`: increase with counter resets and extrapolation.
pub(super) fn increase(args: &FunctionArgs<'_>) -> Result<Vector> {
    as_vector(args, increase_value(args)?)
}

/// `delta(m)`: difference with extrapolation, no counter handling.
pub(super) fn delta(args: &FunctionArgs<'_>) -> Result<Vector> {
    as_vector(args, delta_value(args)?)
}

/// `irate(m)`: per-second rate from the last two points.
pub(super) fn irate(args: &FunctionArgs<'_>) -> Result<Vector> {
    as_vector(args, irate_value(args)?)
}

/// `idelta(m)`: difference of the last two points.
pub(super) fn idelta(args: &FunctionArgs<'_>) -> Result<Vector> {
    as_vector(args, idelta_value(args)?)
}

/// [`rate`]'s value, if any (see [`super::RangeValueFn`]).
pub(super) fn rate_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    extrapolated_rate("rate", args, true, true)
}

/// [`increase`]'s value, if any.
pub(super) fn increase_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    extrapolated_rate("increase", args, true, false)
}

/// [`delta`]'s value, if any.
pub(super) fn delta_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    extrapolated_rate("delta", args, false, false)
}

/// [`irate`]'s value, if any.
pub(super) fn irate_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    instant_value("irate", args, true)
}

/// [`idelta`]'s value, if any.
pub(super) fn idelta_value(args: &FunctionArgs<'_>) -> Result<Option<f64>> {
    instant_value("idelta", args, false)
}

fn as_vector(args: &FunctionArgs<'_>, value: Option<f64>) -> Result<Vector> {
    Ok(value.map_or_else(Vec::new, |v| single(args.step_time, v)))
}

/// 2.42's `extrapolatedRate`. The window bounds are the selector's range at this step
/// (`rangeStart = ts - range - offset`, `rangeEnd = ts - offset`); `range` in seconds is the
/// window's length.
fn extrapolated_rate(
    name: &str,
    args: &FunctionArgs<'_>,
    is_counter: bool,
    is_rate: bool,
) -> Result<Option<f64>> {
    let Some(points) = args.series(name, 0)? else { return Ok(None) };
    if points.len() < 2 {
        return Ok(None);
    }
    let window = args.window_or_step();
    let (range_start, range_end) = (window.start, window.end);
    let (first, last) = (points[0], points[points.len() - 1]);

    let mut result = last.v - first.v;
    // Looking for a reset before adding them up keeps the usual case (none) free of the serial
    // chain of additions the compiler makes of the loop below; the sum is the same.
    if is_counter && has_decrease(points) {
        let mut prev = first.v;
        for p in &points[1..] {
            if p.v < prev {
                result += prev;
            }
            prev = p.v;
        }
    }

    let mut duration_to_start = (first.t - range_start) as f64 / 1000.0;
    let duration_to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled_interval = (last.t - first.t) as f64 / 1000.0;
    let average_duration_between_samples = sampled_interval / (points.len() - 1) as f64;

    if is_counter && result > 0.0 && first.v >= 0.0 {
        // Counters cannot be negative: do not extrapolate past the counter's zero point.
        let duration_to_zero = sampled_interval * (first.v / result);
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }

    let extrapolation_threshold = average_duration_between_samples * 1.1;
    let mut extrapolate_to_interval = sampled_interval;
    if duration_to_start < extrapolation_threshold {
        extrapolate_to_interval += duration_to_start;
    } else {
        extrapolate_to_interval += average_duration_between_samples / 2.0;
    }
    if duration_to_end < extrapolation_threshold {
        extrapolate_to_interval += duration_to_end;
    } else {
        extrapolate_to_interval += average_duration_between_samples / 2.0;
    }
    let mut factor = extrapolate_to_interval / sampled_interval;
    if is_rate {
        // Go's `ms.Range.Seconds()`: whole seconds plus the fraction, as Duration.Seconds does.
        factor /= duration_seconds(range_end - range_start);
    }
    result *= factor;
    Ok(Some(result))
}

/// Whether a value is below the one before it. Without an early exit (resets are rare), so
/// that the loop has no branch per point.
#[inline]
fn has_decrease(points: &[Point]) -> bool {
    let mut decrease = false;
    for w in points.windows(2) {
        decrease |= w[1].v < w[0].v;
    }
    decrease
}

/// Go's `time.Duration.Seconds()` for a duration of `ms` milliseconds:
/// `float64(sec) + float64(nsec)/1e9`.
fn duration_seconds(ms: i64) -> f64 {
    let nanos = ms.saturating_mul(1_000_000);
    let sec = nanos / 1_000_000_000;
    let nsec = nanos % 1_000_000_000;
    sec as f64 + nsec as f64 / 1e9
}

/// 2.42's `instantValue`.
fn instant_value(name: &str, args: &FunctionArgs<'_>, is_rate: bool) -> Result<Option<f64>> {
    let Some(points) = args.series(name, 0)? else { return Ok(None) };
    if points.len() < 2 {
        return Ok(None);
    }
    let last = points[points.len() - 1];
    let previous = points[points.len() - 2];
    let mut result = if is_rate && last.v < previous.v {
        // Counter reset.
        last.v
    } else {
        last.v - previous.v
    };
    let sampled_interval = last.t - previous.t;
    if sampled_interval == 0 {
        return Ok(None);
    }
    if is_rate {
        result /= sampled_interval as f64 / 1000.0;
    }
    Ok(Some(result))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    const MIN: i64 = 60_000;

    /// `0+10x4 0+10x5` every 5m, i.e. values at 0..=45m.
    fn reset_middle() -> Vec<(i64, f64)> {
        pts(5 * MIN, &[0.0, 10.0, 20.0, 30.0, 40.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    }

    #[test]
    fn rate_with_counter_reset_in_the_middle() {
        // functions.test: rate(testcounter_reset_middle[50m]) at 50m = 0.03.
        let v = range_call("rate", &reset_middle(), 50 * MIN, 50 * MIN, &[]).expect("rate");
        assert_eq!(v, Some(0.03));
    }

    #[test]
    fn rate_ignores_reset_at_the_end_of_a_short_range() {
        // testcounter_reset_end 0+10x9 0 10: at 50m, [5m] holds 0 (45m) and 10 (50m)...
        let points = [(45 * MIN, 0.0), (50 * MIN, 10.0)];
        let v = range_call("rate", &points[..1], 5 * MIN, 50 * MIN, &[]).expect("rate");
        assert_eq!(v, None, "a single point gives no rate");
        // ...and 90 (40m)?  The window [45m, 50m] only holds the last two samples.
        let points = [(45 * MIN, 90.0), (50 * MIN, 0.0)];
        let v = range_call("rate", &points, 5 * MIN, 50 * MIN, &[]).expect("rate");
        assert_eq!(v, Some(0.0));
    }

    #[test]
    fn rate_per_second() {
        let points = pts(5 * MIN, &(0..=10).map(|i| f64::from(i) * 80.0).collect::<Vec<_>>());
        let v = range_call("rate", &points, 50 * MIN, 50 * MIN, &[]).expect("rate");
        assert_eq!(v, Some(0.26666666666666666));
    }

    #[test]
    fn zero_point_cutoff() {
        // load 4m, testcounter_zero_cutoff{start="1m"} 60+240x10; rate([20m]) at 10m = 0.55.
        let points = pts(4 * MIN, &[60.0, 300.0, 540.0]);
        let v = range_call("rate", &points, 20 * MIN, 10 * MIN, &[]).expect("rate");
        assert_eq!(v, Some(0.55));
        let points = pts(4 * MIN, &[0.0, 240.0, 480.0]);
        let v = range_call("rate", &points, 20 * MIN, 10 * MIN, &[]).expect("rate");
        assert_eq!(v, Some(0.5));
        // start="5m": 300 at 0m -> no zero-point cutoff (further than threshold).
        let points = pts(4 * MIN, &[300.0, 540.0, 780.0]);
        let v = range_call("rate", &points, 20 * MIN, 10 * MIN, &[]).expect("rate");
        assert_eq!(v, Some(0.6));
    }

    #[test]
    fn increase_and_delta() {
        // 0 1 2 3 2 3 4 every 5m: increase([30m]) at 30m = 7.
        let points = pts(5 * MIN, &[0.0, 1.0, 2.0, 3.0, 2.0, 3.0, 4.0]);
        let v = range_call("increase", &points, 30 * MIN, 30 * MIN, &[]).expect("increase");
        assert_eq!(v, Some(7.0));
        let points = pts(5 * MIN, &[200.0, 150.0, 100.0, 50.0, 0.0]);
        let v = range_call("delta", &points, 20 * MIN, 20 * MIN, &[]).expect("delta");
        assert_eq!(v, Some(-200.0));
        // Start within 1.1 intervals: extrapolated to the window start (60s); end far: half an
        // interval (30s). 10 * (60 + 60 + 30) / 60.
        let points = [(MIN, 10.0), (2 * MIN, 20.0)];
        let v = range_call("delta", &points, 10 * MIN, 10 * MIN, &[]).expect("delta");
        assert_eq!(v, Some(25.0));
        // A counter starting at 10 with slope 10/min: the zero point (1 min before the first
        // sample) caps the start extrapolation: 10 * (60 + 60 + 30) / 60 = 25 either way; with
        // a start of 5 it is capped at 30s: 10 * (30 + 60 + 30) / 60 = 20.
        let points = [(5 * MIN, 5.0), (6 * MIN, 15.0)];
        let v = range_call("increase", &points, 10 * MIN, 10 * MIN, &[]).expect("increase");
        assert_eq!(v, Some(20.0));
        // increase over [50m] of 0+10x10 at 50m: 100 (window start coincides with first sample).
        let points = pts(5 * MIN, &(0..=10).map(|i| f64::from(i) * 10.0).collect::<Vec<_>>());
        let v = range_call("increase", &points, 50 * MIN, 50 * MIN, &[]).expect("increase");
        assert_eq!(v, Some(100.0));
    }

    #[test]
    fn irate_and_idelta() {
        let points = pts(5 * MIN, &[0.0, 10.0, 20.0]);
        let v = range_call("irate", &points, 50 * MIN, 10 * MIN, &[]).expect("irate");
        assert_eq!(v, Some(10.0 / 300.0));
        // Counter reset: the last value is the increase.
        let points = pts(5 * MIN, &[0.0, 40.0, 0.0]);
        let v = range_call("irate", &points, 50 * MIN, 10 * MIN, &[]).expect("irate");
        assert_eq!(v, Some(0.0));
        let points = pts(5 * MIN, &[0.0, 50.0, 100.0, 50.0]);
        let v = range_call("idelta", &points, 20 * MIN, 15 * MIN, &[]).expect("idelta");
        assert_eq!(v, Some(-50.0));
        let v = range_call("idelta", &points[..1], 20 * MIN, 15 * MIN, &[]).expect("idelta");
        assert_eq!(v, None);
    }

    #[test]
    fn empty_window() {
        assert_eq!(range_call("rate", &[], 5 * MIN, 5 * MIN, &[]).expect("rate"), None);
        assert_eq!(range_call("irate", &[], 5 * MIN, 5 * MIN, &[]).expect("irate"), None);
    }

    #[test]
    fn duration_seconds_like_go() {
        assert_eq!(duration_seconds(300_000), 300.0);
        assert_eq!(duration_seconds(1_500), 1.5);
    }
}
