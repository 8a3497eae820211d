//! `time()`, `timestamp(v)` and the calendar functions (`year`, `month`, `day_of_month`,
//! `day_of_week`, `day_of_year`, `days_in_month`, `hour`, `minute`), in UTC, computed as Go
//! 1.19's `time` package does (`time.Unix(int64(v), 0).UTC()`), wrap-around included.

use super::{FunctionArgs, drop_metric_name, single};
use crate::error::Result;
use crate::value::{Sample, Vector};

/// `time()`: the step time in seconds.
pub(super) fn time(args: &FunctionArgs<'_>) -> Result<Vector> {
    Ok(single(args.step_time, args.step_time as f64 / 1000.0))
}

/// `timestamp(v)`: each sample's timestamp in seconds, without `__name__`.
///
/// Relies on [`Sample::t`]: the engine passes the original sample timestamps when the argument
/// is a vector selector (2.42's special case) and the step time otherwise.
pub(super) fn timestamp(args: &FunctionArgs<'_>) -> Result<Vector> {
    let vec = args.vector("timestamp", 0)?;
    Ok(vec
        .iter()
        .map(|s| Sample { labels: drop_metric_name(&s.labels), t: args.step_time, v: s.t as f64 / 1000.0 })
        .collect())
}

/// 2.42's `dateWrapper`: without argument, `f` of the step time (truncated to seconds) with
/// empty labels; with one, `f` of every sample's value as Unix seconds, dropping `__name__`.
fn date_wrapper(name: &str, args: &FunctionArgs<'_>, f: impl Fn(GoTime) -> f64) -> Result<Vector> {
    if args.values.is_empty() {
        return Ok(single(args.step_time, f(GoTime::unix(args.step_time / 1000))));
    }
    let vec = args.vector(name, 0)?;
    Ok(vec
        .iter()
        .map(|s| Sample {
            labels: drop_metric_name(&s.labels),
            t: args.step_time,
            v: f(GoTime::unix(go_float_to_i64(s.v))),
        })
        .collect())
}

/// `days_in_month(v=vector(time()))`.
pub(super) fn days_in_month(args: &FunctionArgs<'_>) -> Result<Vector> {
    date_wrapper("days_in_month", args, |t| {
        let (year, month, _, _) = t.date();
        f64::from(days_in(month, year))
    })
}

/// `day_of_month(v=vector(time()))`.
pub(super) fn day_of_month(args: &FunctionArgs<'_>) -> Result<Vector> {
    date_wrapper("day_of_month", args, |t| f64::from(t.date().2))
}

/// `day_of_week(v=vector(time()))`: 0 for Sunday.
pub(super) fn day_of_week(args: &FunctionArgs<'_>) -> Result<Vector> {
    date_wrapper("day_of_week", args, |t| t.weekday() as f64)
}

/// `day_of_year(v=vector(time()))`: 1-based.
pub(super) fn day_of_year(args: &FunctionArgs<'_>) -> Result<Vector> {
    date_wrapper("day_of_year", args, |t| (t.date().3 + 1) as f64)
}

/// `hour(v=vector(time()))`.
pub(super) fn hour(args: &FunctionArgs<'_>) -> Result<Vector> {
    date_wrapper("hour", args, |t| ((t.abs % SECONDS_PER_DAY) / SECONDS_PER_HOUR) as f64)
}

/// `minute(v=vector(time()))`.
pub(super) fn minute(args: &FunctionArgs<'_>) -> Result<Vector> {
    date_wrapper("minute", args, |t| ((t.abs % SECONDS_PER_HOUR) / SECONDS_PER_MINUTE) as f64)
}

/// `month(v=vector(time()))`.
pub(super) fn month(args: &FunctionArgs<'_>) -> Result<Vector> {
    date_wrapper("month", args, |t| f64::from(t.date().1))
}

/// `year(v=vector(time()))`.
pub(super) fn year(args: &FunctionArgs<'_>) -> Result<Vector> {
    date_wrapper("year", args, |t| t.date().0 as f64)
}

/// Go's `int64(f)` on amd64 (CVTTSD2SQ): truncation, and `0x8000000000000000` for NaN and
/// out-of-range values.
fn go_float_to_i64(v: f64) -> i64 {
    if v.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

const SECONDS_PER_MINUTE: u64 = 60;
const SECONDS_PER_HOUR: u64 = 60 * SECONDS_PER_MINUTE;
const SECONDS_PER_DAY: u64 = 24 * SECONDS_PER_HOUR;
const SECONDS_PER_WEEK: u64 = 7 * SECONDS_PER_DAY;
const DAYS_PER_400_YEARS: u64 = 365 * 400 + 97;
const DAYS_PER_100_YEARS: u64 = 365 * 100 + 24;
const DAYS_PER_4_YEARS: u64 = 365 * 4 + 1;
const ABSOLUTE_ZERO_YEAR: i64 = -292_277_022_399;
// Go: absoluteToInternal = (absoluteZeroYear - internalYear) * 365.2425 * secondsPerDay.
const ABSOLUTE_TO_INTERNAL: i64 = -9_223_371_966_579_724_800;
const INTERNAL_TO_ABSOLUTE: i64 = -ABSOLUTE_TO_INTERNAL;
const UNIX_TO_INTERNAL: i64 = (1969 * 365 + 1969 / 4 - 1969 / 100 + 1969 / 400) * SECONDS_PER_DAY as i64;

/// Days before each month in a non-leap year (Go's `daysBefore`).
const DAYS_BEFORE: [u32; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/// A UTC time as Go's `Time.abs()` sees it: seconds since the "absolute" epoch.
#[derive(Clone, Copy)]
struct GoTime {
    abs: u64,
}

impl GoTime {
    /// `time.Unix(sec, 0).UTC()`, with Go's wrapping int64 arithmetic.
    fn unix(sec: i64) -> Self {
        let abs = sec.wrapping_add(UNIX_TO_INTERNAL).wrapping_add(INTERNAL_TO_ABSOLUTE) as u64;
        GoTime { abs }
    }

    /// Go's `absDate(abs, true)`: (year, month 1-12, day 1-31, yday 0-365).
    fn date(self) -> (i64, u32, u32, u32) {
        let mut d = self.abs / SECONDS_PER_DAY;
        let mut n = d / DAYS_PER_400_YEARS;
        let mut y = 400 * n;
        d -= DAYS_PER_400_YEARS * n;
        n = d / DAYS_PER_100_YEARS;
        n -= n >> 2;
        y += 100 * n;
        d -= DAYS_PER_100_YEARS * n;
        n = d / DAYS_PER_4_YEARS;
        y += 4 * n;
        d -= DAYS_PER_4_YEARS * n;
        n = d / 365;
        n -= n >> 2;
        y += n;
        d -= 365 * n;
        let year = (y as i64).wrapping_add(ABSOLUTE_ZERO_YEAR);
        let yday = d as u32;
        let mut day = yday;
        if is_leap(year) {
            if day > 31 + 29 - 1 {
                day -= 1;
            } else if day == 31 + 29 - 1 {
                return (year, 2, 29, yday);
            }
        }
        let mut month = (day / 31) as usize;
        let end = DAYS_BEFORE[month + 1];
        let begin = if day >= end {
            month += 1;
            end
        } else {
            DAYS_BEFORE[month]
        };
        (year, month as u32 + 1, day - begin + 1, yday)
    }

    /// Go's `absWeekday`: 0 = Sunday. The absolute epoch starts on a Monday.
    fn weekday(self) -> u64 {
        let sec = (self.abs.wrapping_add(SECONDS_PER_DAY)) % SECONDS_PER_WEEK;
        sec / SECONDS_PER_DAY
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` of `year` (what Go's `32 - time.Date(y, m, 32, …).Day()` computes).
fn days_in(month: u32, year: i64) -> u32 {
    if month == 2 && is_leap(year) {
        return 29;
    }
    let m = month as usize;
    DAYS_BEFORE[m] - DAYS_BEFORE[m - 1]
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    fn at(name: &str, unix: f64) -> f64 {
        let input = vec![sample(&[("__name__", "m"), ("a", "b")], unix)];
        let out = call(name, &[arg_vec(&input)], 0).expect("call");
        assert_eq!(out[0].labels, labels(&[("a", "b")]));
        out[0].v
    }

    fn now(name: &str, step_ms: i64) -> f64 {
        let out = call(name, &[], step_ms).expect("call");
        assert_eq!(out.len(), 1);
        assert!(out[0].labels.is_empty());
        out[0].v
    }

    #[test]
    fn absolute_constant_matches_go() {
        // (absoluteZeroYear - 1) * 365.2425 * 86400, computed exactly.
        assert_eq!(
            (ABSOLUTE_ZERO_YEAR - 1) as i128 * 3_652_425 * 86_400 / 10_000,
            ABSOLUTE_TO_INTERNAL as i128
        );
    }

    #[test]
    fn dates_like_2_42() {
        assert_eq!(now("year", 0), 1970.0);
        assert_eq!(now("month", 0), 1.0);
        assert_eq!(now("day_of_month", 0), 1.0);
        assert_eq!(now("day_of_year", 0), 1.0);
        assert_eq!(now("day_of_week", 0), 4.0);
        assert_eq!(now("hour", 0), 0.0);
        assert_eq!(now("minute", 0), 0.0);
        let t = 1136239445.0; // 2006-01-02T22:04:05Z, a Monday.
        assert_eq!(at("year", t), 2006.0);
        assert_eq!(at("month", t), 1.0);
        assert_eq!(at("day_of_month", t), 2.0);
        assert_eq!(at("day_of_year", t), 2.0);
        assert_eq!(at("day_of_week", t), 1.0);
        assert_eq!(at("hour", t), 22.0);
        assert_eq!(at("minute", t), 4.0);
        assert_eq!(at("year", 1230767999.0), 2008.0);
        assert_eq!(at("year", 1230768000.0), 2009.0);
        assert_eq!(at("month", 1456790399.0), 2.0);
        assert_eq!(at("day_of_month", 1456790399.0), 29.0);
        assert_eq!(at("month", 1456790400.0), 3.0);
        assert_eq!(at("day_of_month", 1456790400.0), 1.0);
        assert_eq!(at("day_of_year", 1483191420.0), 366.0);
        assert_eq!(at("day_of_year", 1672493820.0), 365.0);
        assert_eq!(at("days_in_month", 1454284800.0), 29.0);
        assert_eq!(at("days_in_month", 1485907200.0), 28.0);
        assert_eq!(at("days_in_month", 0.0), 31.0);
        // Before the epoch, and fractional seconds truncate toward zero.
        assert_eq!(at("year", -1.0), 1969.0);
        assert_eq!(at("day_of_week", -1.0), 3.0);
        assert_eq!(at("hour", -0.5), 0.0);
        assert_eq!(at("hour", 3599.9), 0.0);
        // time.Unix(math.MinInt64) — what NaN converts to on amd64 — wraps around in Go.
        assert!(at("year", f64::NAN).is_finite());
    }

    #[test]
    fn time_and_timestamp() {
        assert_eq!(now("time", 1), 0.001);
        assert_eq!(now("time", 3_000_000), 3000.0);
        let mut input = vec![sample(&[("__name__", "metric")], 1.0)];
        input[0].t = 10_000;
        let out = call("timestamp", &[arg_vec(&input)], 15_000).expect("timestamp");
        assert_eq!(out, vec![Sample { labels: labels(&[]), t: 15_000, v: 10.0 }]);
    }
}
