//! Result comparison as `evalCmd.compareResult` and `almostEqual` in Prometheus 2.42's harness.

use promql::{Sample, Value};
use tsdb_format::Labels;

use crate::script::Expected;

/// Relative error allowed for sample values.
const EPSILON: f64 = 0.000_001;

/// The smallest positive normal float64.
const MIN_NORMAL: f64 = f64::MIN_POSITIVE;

/// `almostEqual`: NaN equals NaN; otherwise equal, or a relative difference below 1e-6; when
/// either side is 0 or the difference is subnormal, the difference must be below 1e-6 × the
/// smallest normal float.
pub(crate) fn almost_equal(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    #[allow(clippy::float_cmp, reason = "exact equality first, as Go does")]
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || diff < MIN_NORMAL {
        return diff < EPSILON * MIN_NORMAL;
    }
    diff / (a.abs() + b.abs()) < EPSILON
}

fn show_value(v: Option<f64>) -> String {
    v.map_or_else(|| "[]".to_owned(), |v| format!("[{}]", go_float(v)))
}

/// Prints a float roughly as Go's `%v` does (`+Inf`, `NaN`, shortest round-trip digits).
pub(crate) fn go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{v}")
    }
}

/// Compares an instant vector (given as labels and values, in result order).
pub(crate) fn compare_vector(
    expected: &Expected,
    ordered: bool,
    got: &[(&Labels, f64)],
) -> Result<(), String> {
    let mut seen = vec![false; expected.series.len()];
    for (pos, (labels, v)) in got.iter().enumerate() {
        let Some(idx) = expected.series.iter().position(|s| &s.labels == *labels) else {
            return Err(format!("unexpected metric {labels} in result"));
        };
        let exp = &expected.series[idx];
        if ordered && exp.pos != pos + 1 {
            return Err(format!(
                "expected metric {labels} with {} at position {} but was at {}",
                show_value(exp.value),
                exp.pos,
                pos + 1
            ));
        }
        let Some(want) = exp.value else {
            return Err(format!("expected metric {labels} has no value to compare with {}", go_float(*v)));
        };
        if !almost_equal(want, *v) {
            return Err(format!("expected {} for {labels} but got {}", go_float(want), go_float(*v)));
        }
        seen[idx] = true;
    }
    if let Some(idx) = seen.iter().position(|s| !s) {
        let exp = &expected.series[idx];
        return Err(format!(
            "expected metric {} with {} not found; got {}",
            exp.labels,
            show_value(exp.value),
            show_got(got)
        ));
    }
    if let Some(s) = expected.scalar {
        return Err(format!("expected scalar {} not found; got vector {}", go_float(s), show_got(got)));
    }
    Ok(())
}

fn show_got(got: &[(&Labels, f64)]) -> String {
    let items: Vec<String> = got.iter().map(|(l, v)| format!("{l} {}", go_float(*v))).collect();
    format!("[{}]", items.join(", "))
}

/// Compares a scalar result.
pub(crate) fn compare_scalar(expected: &Expected, got: f64) -> Result<(), String> {
    match expected.scalar {
        Some(want) if almost_equal(want, got) => Ok(()),
        Some(want) => Err(format!("expected scalar {} but got {}", go_float(want), go_float(got))),
        None => Err(format!("got scalar {} but expected a vector", go_float(got))),
    }
}

/// `compareResult` on an instant query's result.
pub(crate) fn compare_result(expected: &Expected, ordered: bool, result: &Value) -> Result<(), String> {
    match result {
        Value::Matrix(_) => Err("received range result on instant evaluation".to_owned()),
        Value::Vector(samples) => {
            let got: Vec<(&Labels, f64)> = samples.iter().map(|s: &Sample| (&s.labels, s.v)).collect();
            compare_vector(expected, ordered, &got)
        }
        Value::Scalar(p) => compare_scalar(expected, p.v),
        Value::String { s, .. } => Err(format!("unexpected result type string ({s:?})")),
    }
}

/// The range-mode check: from a range query's matrix, take each series' point at `t` and
/// compare as an instant vector, or (if the instant result was a scalar) the first such point as
/// a scalar.
pub(crate) fn compare_range_at(
    expected: &Expected,
    instant_was_scalar: bool,
    range_result: &Value,
    t: i64,
) -> Result<(), String> {
    let Value::Matrix(series) = range_result else {
        return Err(format!("range query returned {} instead of a matrix", value_kind(range_result)));
    };
    let got: Vec<(&Labels, f64)> =
        series.iter().filter_map(|s| s.points.iter().find(|p| p.t == t).map(|p| (&s.labels, p.v))).collect();
    if instant_was_scalar {
        let Some((_, v)) = got.first() else {
            return Err(format!("scalar expected but the range result has no point at t={t}"));
        };
        compare_scalar(expected, *v)
    } else {
        compare_vector(expected, false, &got)
    }
}

/// A short name for the kind of a value.
pub(crate) fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Scalar(_) => "scalar",
        Value::String { .. } => "string",
        Value::Vector(_) => "vector",
        Value::Matrix(_) => "matrix",
    }
}

#[cfg(test)]
mod tests {
    use promql::{Point, Series};

    use super::*;
    use crate::script::ExpectedSeries;

    fn l(v: &str) -> Labels {
        Labels::from_pairs([("job", v)])
    }

    fn exp(series: &[(&str, usize, f64)]) -> Expected {
        Expected {
            scalar: None,
            series: series
                .iter()
                .map(|(v, pos, x)| ExpectedSeries { labels: l(v), pos: *pos, value: Some(*x) })
                .collect(),
        }
    }

    #[test]
    fn tolerance() {
        assert!(almost_equal(1.0, 1.0));
        assert!(almost_equal(1.0, 1.000_001));
        assert!(!almost_equal(1.0, 1.000_003));
        assert!(almost_equal(1e300, 1e300 * (1.0 + 1e-7)));
        assert!(almost_equal(f64::NAN, f64::from_bits(crate::load::STALE_NAN_BITS)));
        assert!(!almost_equal(f64::NAN, 0.0));
        assert!(almost_equal(f64::INFINITY, f64::INFINITY));
        assert!(!almost_equal(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!almost_equal(f64::INFINITY, 1e308));
        // Zero on one side: the difference must be (almost) nothing.
        assert!(!almost_equal(0.0, 1e-300));
        assert!(almost_equal(0.0, -0.0));
        assert!(almost_equal(0.0, 1e-320));
        assert!(!almost_equal(0.0, 1e-300));
        // Tiny values: a subnormal difference counts as equal.
        assert!(almost_equal(3e-310, 3.000_000_000_1e-310));
    }

    #[test]
    fn vectors_unordered_and_ordered() {
        let e = exp(&[("a", 1, 1.0), ("b", 2, 2.0)]);
        let (a, b, c) = (l("a"), l("b"), l("c"));
        assert!(compare_vector(&e, false, &[(&b, 2.0), (&a, 1.0)]).is_ok());
        assert!(compare_vector(&e, true, &[(&a, 1.0), (&b, 2.0)]).is_ok());
        let err = compare_vector(&e, true, &[(&b, 2.0), (&a, 1.0)]).unwrap_err();
        assert!(err.contains("at position 2 but was at 1"), "{err}");
        assert!(compare_vector(&e, false, &[(&a, 1.0)]).unwrap_err().contains("not found"));
        assert!(
            compare_vector(&e, false, &[(&a, 1.0), (&b, 2.0), (&c, 3.0)]).unwrap_err().contains("unexpected")
        );
        assert!(compare_vector(&e, false, &[(&a, 1.0), (&b, 2.1)]).unwrap_err().contains("expected 2"));
        // An empty body asserts an empty vector.
        assert!(compare_vector(&Expected::default(), false, &[]).is_ok());
        assert!(compare_vector(&Expected::default(), false, &[(&a, 1.0)]).is_err());
    }

    #[test]
    fn scalar_vs_vector_expectations() {
        let scalar = Expected { scalar: Some(2.0), series: vec![] };
        assert!(compare_result(&scalar, false, &Value::Scalar(Point { t: 0, v: 2.0 })).is_ok());
        assert!(compare_result(&scalar, false, &Value::Scalar(Point { t: 0, v: 3.0 })).is_err());
        // A scalar expectation is not met by a vector, even an empty one.
        assert!(compare_result(&scalar, false, &Value::Vector(vec![])).is_err());
        let one = Sample { labels: Labels::default(), t: 0, v: 2.0 };
        assert!(compare_result(&scalar, false, &Value::Vector(vec![one.clone()])).is_err());
        // `{} 2` expects a vector with one label-less sample, not a scalar.
        let vector = Expected {
            scalar: None,
            series: vec![ExpectedSeries { labels: Labels::default(), pos: 1, value: Some(2.0) }],
        };
        assert!(compare_result(&vector, false, &Value::Vector(vec![one])).is_ok());
        assert!(compare_result(&vector, false, &Value::Scalar(Point { t: 0, v: 2.0 })).is_err());
        assert!(compare_result(&vector, false, &Value::Matrix(vec![])).is_err());
        assert!(compare_result(&vector, false, &Value::String { t: 0, s: "x".into() }).is_err());
    }

    #[test]
    fn range_point_at_t() {
        let e = exp(&[("a", 1, 1.0)]);
        let m = Value::Matrix(vec![
            Series { labels: l("a"), points: vec![Point { t: 0, v: 0.0 }, Point { t: 60_000, v: 1.0 }] },
            Series { labels: l("b"), points: vec![Point { t: 0, v: 5.0 }] },
        ]);
        assert!(compare_range_at(&e, false, &m, 60_000).is_ok());
        assert!(compare_range_at(&e, false, &m, 0).is_err());
        let s = Expected { scalar: Some(5.0), series: vec![] };
        let m2 =
            Value::Matrix(vec![Series { labels: Labels::default(), points: vec![Point { t: 0, v: 5.0 }] }]);
        assert!(compare_range_at(&s, true, &m2, 0).is_ok());
        assert!(compare_range_at(&s, true, &m2, 60_000).is_err());
        assert!(compare_range_at(&s, true, &Value::Scalar(Point { t: 0, v: 5.0 }), 0).is_err());
    }
}
