//! Prometheus' JSON shapes, written by hand for exact number formatting: sample values as strings
//! in Go's `strconv.FormatFloat(v, 'f', -1, 64)` form (`+Inf`, `-Inf`, `NaN`; vector and matrix
//! values outside `[1e-6, 1e21)` in exponent form), timestamps as
//! float seconds with up to three decimals.

use std::fmt::Write;

use promql::{Point, Value};
use tsdb_format::Labels;

/// Go's `FormatFloat(v, 'f', -1, 64)`: Rust's shortest round-trip `Display` agrees, but for the
/// infinities.
pub(crate) fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

/// A millisecond timestamp as JSON seconds (`1435781451.781`, `-1.5`, `12`).
pub(crate) fn write_timestamp(out: &mut String, t_ms: i64) {
    if t_ms < 0 {
        out.push('-');
    }
    let abs = t_ms.unsigned_abs();
    let secs = abs / 1000;
    let millis = abs % 1000;
    let _ = write!(out, "{secs}");
    if millis != 0 {
        out.push('.');
        let digits = [millis / 100, millis / 10 % 10, millis % 10];
        let used = if millis.is_multiple_of(100) {
            1
        } else if millis.is_multiple_of(10) {
            2
        } else {
            3
        };
        for d in &digits[..used] {
            out.push(char::from(b'0' + u8::try_from(*d).unwrap_or(0)));
        }
    }
}

/// A JSON string literal.
pub(crate) fn write_str(out: &mut String, s: &str) {
    // Most label names and values need no escaping: copy them as they are.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// A label set as a JSON object, in label order.
pub(crate) fn write_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, &l.name);
        out.push(':');
        write_str(out, &l.value);
    }
    out.push('}');
}

fn write_point(out: &mut String, p: &Point) {
    out.push('[');
    write_timestamp(out, p.t);
    out.push_str(",\"");
    write_float(out, p.v);
    out.push_str("\"]");
}

/// A vector or matrix sample: Prometheus' API writes these values (unlike scalars) in Go's
/// exponent form (`FormatFloat(v, 'e', -1, 64)`: `1e-07`, `1e+21`) when `|v| < 1e-6` or
/// `|v| >= 1e21`, as `encoding/json` does.
fn write_sample_point(out: &mut String, p: &Point) {
    let abs = p.v.abs();
    if !(abs.is_finite() && abs != 0.0 && !(1e-6..1e21).contains(&abs)) {
        write_point(out, p);
        return;
    }
    out.push('[');
    write_timestamp(out, p.t);
    out.push_str(",\"");
    let scientific = format!("{:e}", p.v);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let (sign, digits) = exponent.strip_prefix('-').map_or(('+', exponent), |d| ('-', d));
    let _ = write!(out, "{mantissa}e{sign}{digits:0>2}");
    out.push_str("\"]");
}

/// [`format_float`] into `out`, without an intermediate string.
fn write_float(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str(&format_float(v));
    }
}

/// The `data` object of a query answer: `{"resultType":…,"result":…}`.
pub(crate) fn write_query_data(out: &mut String, value: &Value) {
    out.push_str("{\"resultType\":");
    match value {
        Value::Scalar(p) => {
            out.push_str("\"scalar\",\"result\":");
            write_point(out, p);
        }
        Value::String { t, s } => {
            out.push_str("\"string\",\"result\":[");
            write_timestamp(out, *t);
            out.push(',');
            write_str(out, s);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push_str("\"vector\",\"result\":[");
            for (i, s) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                out.push_str(",\"value\":");
                write_sample_point(out, &Point { t: s.t, v: s.v });
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push_str("\"matrix\",\"result\":[");
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, p) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_sample_point(out, p);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push('}');
}

/// A success envelope around already written `data`, with warnings when there are any.
pub(crate) fn success(data: &str, warnings: &[String]) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str("{\"status\":\"success\",\"data\":");
    out.push_str(data);
    write_warnings(&mut out, warnings);
    out.push('}');
    out
}

fn write_warnings(out: &mut String, warnings: &[String]) {
    if warnings.is_empty() {
        return;
    }
    out.push_str(",\"warnings\":[");
    for (i, w) in warnings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, w);
    }
    out.push(']');
}

/// An error envelope.
pub(crate) fn error(error_type: &str, message: &str, warnings: &[String]) -> String {
    let mut out = String::from("{\"status\":\"error\",\"errorType\":");
    write_str(&mut out, error_type);
    out.push_str(",\"error\":");
    write_str(&mut out, message);
    write_warnings(&mut out, warnings);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use promql::{Sample, Series};

    use super::*;

    #[test]
    fn floats_as_go_prints_them() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(-2.5e-7), "-0.00000025");
        assert_eq!(format_float(1e21), "1000000000000000000000");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(f64::NAN), "NaN");
    }

    #[test]
    fn tiny_and_huge_samples_in_exponent_form_as_prometheus_2_42() {
        let sample = |v| {
            let mut s = String::new();
            write_sample_point(&mut s, &Point { t: 100_000, v });
            s
        };
        assert_eq!(sample(1e-7), "[100,\"1e-07\"]");
        assert_eq!(sample(-2.5e-9), "[100,\"-2.5e-09\"]");
        assert_eq!(sample(4.2424242425535926e-07), "[100,\"4.2424242425535926e-07\"]");
        assert_eq!(sample(1e21), "[100,\"1e+21\"]");
        assert_eq!(sample(1.2345678901234569e+23), "[100,\"1.2345678901234569e+23\"]");
        assert_eq!(sample(1e-6), "[100,\"0.000001\"]");
        assert_eq!(sample(1e-300), "[100,\"1e-300\"]");
        assert_eq!(sample(0.0), "[100,\"0\"]");
        assert_eq!(sample(f64::INFINITY), "[100,\"+Inf\"]");
        assert_eq!(sample(f64::NAN), "[100,\"NaN\"]");
    }

    #[test]
    fn timestamps_as_seconds() {
        let ts = |t| {
            let mut s = String::new();
            write_timestamp(&mut s, t);
            s
        };
        assert_eq!(ts(1_435_781_451_781), "1435781451.781");
        assert_eq!(ts(1_000), "1");
        assert_eq!(ts(1_500), "1.5");
        assert_eq!(ts(-1_500), "-1.5");
        assert_eq!(ts(5), "0.005");
    }

    #[test]
    fn shapes() {
        let labels = Labels::from_pairs([("__name__", "up"), ("job", "a\"b")]);
        let mut out = String::new();
        write_query_data(&mut out, &Value::Vector(vec![Sample { labels: labels.clone(), t: 1000, v: 1.0 }]));
        assert_eq!(
            out,
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"b"},"value":[1,"1"]}]}"#
        );
        let mut out = String::new();
        write_query_data(
            &mut out,
            &Value::Matrix(vec![Series { labels, points: vec![Point { t: 1, v: f64::NAN }] }]),
        );
        assert!(out.ends_with(r#""values":[[0.001,"NaN"]]}]}"#), "{out}");
        assert_eq!(
            error("bad_data", "x", &["w".into()]),
            r#"{"status":"error","errorType":"bad_data","error":"x","warnings":["w"]}"#
        );
    }
}
