//! Both answers in one shape, and their comparison: Prometheus' JSON parsed, our `Value` converted.

use std::fmt::Write as _;

use promql::Value;
use tsdb_format::Labels;

/// A query result, whoever computed it. Timestamps in ms.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Scalar(i64, f64),
    Str(i64, String),
    Vector(Vec<(Labels, i64, f64)>),
    Matrix(Vec<(Labels, Vec<(i64, f64)>)>),
}

/// What a query came to.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Ok(Answer),
    Err {
        status: u16,
        error_type: String,
        message: String,
    },
    /// Our engine panicked (never expected of Prometheus).
    Panic(String),
}

/// How one comparison came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    /// Both failed with the same status and errorType, but different texts.
    PassErrorTextDiffers,
    /// Both succeeded with different results.
    ResultMismatch,
    /// Prometheus failed, we did not; or the reverse; or different status/errorType.
    ErrorMismatch,
    /// We panicked.
    Panic,
}

impl Answer {
    fn kind(&self) -> &'static str {
        match self {
            Answer::Scalar(..) => "scalar",
            Answer::Str(..) => "string",
            Answer::Vector(_) => "vector",
            Answer::Matrix(_) => "matrix",
        }
    }
}

/// Our engine's value in the common shape.
pub(crate) fn from_value(v: Value) -> Answer {
    match v {
        Value::Scalar(p) => Answer::Scalar(p.t, p.v),
        Value::String { t, s } => Answer::Str(t, s),
        Value::Vector(v) => Answer::Vector(v.into_iter().map(|s| (s.labels, s.t, s.v)).collect()),
        Value::Matrix(m) => Answer::Matrix(
            m.into_iter().map(|s| (s.labels, s.points.into_iter().map(|p| (p.t, p.v)).collect())).collect(),
        ),
    }
}

/// The HTTP status Prometheus' API answers an error of this type with.
pub(crate) fn status_for(error_type: &str) -> u16 {
    match error_type {
        "bad_data" => 400,
        "execution" => 422,
        "timeout" | "canceled" | "unavailable" => 503,
        _ => 500,
    }
}

fn parse_value(v: &serde_json::Value) -> Result<f64, String> {
    let s = v.as_str().ok_or_else(|| format!("value {v} is not a string"))?;
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s.parse().map_err(|e| format!("value {s:?}: {e}")),
    }
}

fn parse_time(v: &serde_json::Value) -> Result<i64, String> {
    let secs = v.as_f64().ok_or_else(|| format!("timestamp {v} is not a number"))?;
    Ok((secs * 1000.0).round() as i64)
}

fn parse_point(p: &serde_json::Value) -> Result<(i64, f64), String> {
    let pair = p.as_array().filter(|a| a.len() == 2).ok_or_else(|| format!("point {p} is not [t, v]"))?;
    Ok((parse_time(&pair[0])?, parse_value(&pair[1])?))
}

fn parse_metric(m: &serde_json::Value) -> Result<Labels, String> {
    let obj = m.as_object().ok_or_else(|| format!("metric {m} is not an object"))?;
    Ok(Labels::from_pairs(obj.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))))
}

/// Prometheus' answer: status code and JSON body.
pub(crate) fn from_prometheus(status: u16, body: &str) -> Result<Outcome, String> {
    let json: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("HTTP {status}, body not JSON ({e}): {body}"))?;
    if json["status"] != "success" {
        let message = json["error"].as_str().unwrap_or_default();
        // The API wraps parse errors as a bad `query` parameter; the engine's text is inside.
        let message = message.strip_prefix("invalid parameter \"query\": ").unwrap_or(message).to_string();
        return Ok(Outcome::Err {
            status,
            error_type: json["errorType"].as_str().unwrap_or_default().to_string(),
            message,
        });
    }
    let data = &json["data"];
    let result = &data["result"];
    let answer = match data["resultType"].as_str() {
        Some("scalar") => {
            let (t, v) = parse_point(result)?;
            Answer::Scalar(t, v)
        }
        Some("string") => {
            let pair = result.as_array().filter(|a| a.len() == 2).ok_or("bad string result")?;
            Answer::Str(parse_time(&pair[0])?, pair[1].as_str().unwrap_or_default().to_string())
        }
        Some("vector") => {
            let mut out = Vec::new();
            for s in result.as_array().ok_or("vector result is not a list")? {
                let (t, v) = parse_point(&s["value"])?;
                out.push((parse_metric(&s["metric"])?, t, v));
            }
            Answer::Vector(out)
        }
        Some("matrix") => {
            let mut out = Vec::new();
            for s in result.as_array().ok_or("matrix result is not a list")? {
                let points = s["values"]
                    .as_array()
                    .ok_or("matrix series without values")?
                    .iter()
                    .map(parse_point)
                    .collect::<Result<Vec<_>, _>>()?;
                out.push((parse_metric(&s["metric"])?, points));
            }
            Answer::Matrix(out)
        }
        other => return Err(format!("unknown resultType {other:?}")),
    };
    Ok(Outcome::Ok(answer))
}

/// Equal as the test defines it: NaN equals NaN, infinities exactly, zero with its sign (the API
/// prints `-0`), others within 1e-9 relative.
pub(crate) fn same_value(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == 0.0 && b == 0.0 {
        return a.is_sign_negative() == b.is_sign_negative();
    }
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Compares two answers; on a difference, returns a short explanation. `ordered` (an instant
/// `sort`/`sort_desc`) also requires the values to come in the same order.
pub(crate) fn compare_answers(want: &Answer, got: &Answer, ordered: bool) -> Result<(), String> {
    match (want, got) {
        (Answer::Scalar(t1, v1), Answer::Scalar(t2, v2)) => {
            if t1 != t2 || !same_value(*v1, *v2) {
                return Err(format!("scalar: want {} @{t1}, got {} @{t2}", fmt_v(*v1), fmt_v(*v2)));
            }
            Ok(())
        }
        (Answer::Str(t1, s1), Answer::Str(t2, s2)) => {
            if t1 != t2 || s1 != s2 {
                return Err(format!("string: want {s1:?} @{t1}, got {s2:?} @{t2}"));
            }
            Ok(())
        }
        (Answer::Vector(w), Answer::Vector(g)) => {
            let mut notes = String::new();
            if ordered {
                let wv: Vec<f64> = w.iter().map(|s| s.2).collect();
                let gv: Vec<f64> = g.iter().map(|s| s.2).collect();
                if wv.len() != gv.len() || wv.iter().zip(&gv).any(|(a, b)| !same_value(*a, *b)) {
                    let _ =
                        writeln!(notes, "order of values differs: want {}, got {}", fmt_vs(&wv), fmt_vs(&gv));
                }
            }
            let mut w = w.clone();
            let mut g = g.clone();
            w.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)));
            g.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)));
            let (mut i, mut j) = (0, 0);
            while i < w.len() || j < g.len() {
                let ord = match (w.get(i), g.get(j)) {
                    (Some(a), Some(b)) => a.0.cmp(&b.0),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    _ => std::cmp::Ordering::Greater,
                };
                match ord {
                    std::cmp::Ordering::Less => {
                        let _ = writeln!(notes, "missing: {} {} @{}", w[i].0, fmt_v(w[i].2), w[i].1);
                        i += 1;
                    }
                    std::cmp::Ordering::Greater => {
                        let _ = writeln!(notes, "extra:   {} {} @{}", g[j].0, fmt_v(g[j].2), g[j].1);
                        j += 1;
                    }
                    std::cmp::Ordering::Equal => {
                        let (a, b) = (&w[i], &g[j]);
                        if a.1 != b.1 || !same_value(a.2, b.2) {
                            let _ = writeln!(
                                notes,
                                "differs: {} want {} @{}, got {} @{}",
                                a.0,
                                fmt_v(a.2),
                                a.1,
                                fmt_v(b.2),
                                b.1
                            );
                        }
                        i += 1;
                        j += 1;
                    }
                }
            }
            if notes.is_empty() { Ok(()) } else { Err(notes) }
        }
        (Answer::Matrix(w), Answer::Matrix(g)) => {
            let mut notes = String::new();
            let mut w = w.clone();
            let mut g = g.clone();
            w.sort_by(|a, b| a.0.cmp(&b.0));
            g.sort_by(|a, b| a.0.cmp(&b.0));
            let (mut i, mut j) = (0, 0);
            while i < w.len() || j < g.len() {
                let ord = match (w.get(i), g.get(j)) {
                    (Some(a), Some(b)) => a.0.cmp(&b.0),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    _ => std::cmp::Ordering::Greater,
                };
                match ord {
                    std::cmp::Ordering::Less => {
                        let _ = writeln!(notes, "missing series: {} ({} points)", w[i].0, w[i].1.len());
                        i += 1;
                    }
                    std::cmp::Ordering::Greater => {
                        let _ = writeln!(notes, "extra series:   {} ({} points)", g[j].0, g[j].1.len());
                        j += 1;
                    }
                    std::cmp::Ordering::Equal => {
                        if let Some(d) = diff_points(&w[i].1, &g[j].1) {
                            let _ = writeln!(notes, "series {}: {d}", w[i].0);
                        }
                        i += 1;
                        j += 1;
                    }
                }
            }
            if notes.is_empty() { Ok(()) } else { Err(notes) }
        }
        (w, g) => Err(format!("result type: want {}, got {}", w.kind(), g.kind())),
    }
}

/// The first few differences between two point lists, or `None` when equal.
fn diff_points(w: &[(i64, f64)], g: &[(i64, f64)]) -> Option<String> {
    let mut diffs = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut count = 0;
    while i < w.len() || j < g.len() {
        let (wt, gt) = (w.get(i).map(|p| p.0), g.get(j).map(|p| p.0));
        match (wt, gt) {
            (Some(a), Some(b)) if a == b => {
                if !same_value(w[i].1, g[j].1) {
                    count += 1;
                    if diffs.len() < 4 {
                        diffs.push(format!("@{a} want {} got {}", fmt_v(w[i].1), fmt_v(g[j].1)));
                    }
                }
                i += 1;
                j += 1;
            }
            (Some(a), b) if b.is_none_or(|b| a < b) => {
                count += 1;
                if diffs.len() < 4 {
                    diffs.push(format!("@{a} missing (want {})", fmt_v(w[i].1)));
                }
                i += 1;
            }
            _ => {
                count += 1;
                if diffs.len() < 4 {
                    diffs.push(format!("@{} extra (got {})", g[j].0, fmt_v(g[j].1)));
                }
                j += 1;
            }
        }
    }
    (count > 0)
        .then(|| format!("{count} point(s) differ ({} want, {} got): {}", w.len(), g.len(), diffs.join("; ")))
}

/// A value as Prometheus prints it (close enough for reports).
pub(crate) fn fmt_v(v: f64) -> String {
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

fn fmt_vs(vs: &[f64]) -> String {
    let shown: Vec<String> = vs.iter().take(12).map(|v| fmt_v(*v)).collect();
    format!("[{}{}]", shown.join(", "), if vs.len() > 12 { ", …" } else { "" })
}

/// A short rendering of an outcome for the report (at most `max_lines` series).
pub(crate) fn render(o: &Outcome, max_lines: usize) -> String {
    match o {
        Outcome::Err { status, error_type, message } => format!("error {status} {error_type}: {message}"),
        Outcome::Panic(m) => format!("PANIC: {m}"),
        Outcome::Ok(a) => match a {
            Answer::Scalar(t, v) => format!("scalar {} @{t}", fmt_v(*v)),
            Answer::Str(t, s) => format!("string {s:?} @{t}"),
            Answer::Vector(v) => {
                let mut s = format!("vector ({} samples)", v.len());
                for (l, t, x) in v.iter().take(max_lines) {
                    let _ = write!(s, "\n      {l} {} @{t}", fmt_v(*x));
                }
                if v.len() > max_lines {
                    s.push_str("\n      …");
                }
                s
            }
            Answer::Matrix(m) => {
                let mut s = format!("matrix ({} series)", m.len());
                for (l, pts) in m.iter().take(max_lines) {
                    let first = pts.first().map(|p| format!("{} @{}", fmt_v(p.1), p.0)).unwrap_or_default();
                    let last = pts.last().map(|p| format!("{} @{}", fmt_v(p.1), p.0)).unwrap_or_default();
                    let _ = write!(s, "\n      {l} {} points: {first} … {last}", pts.len());
                }
                if m.len() > max_lines {
                    s.push_str("\n      …");
                }
                s
            }
        },
    }
}

/// Compares Prometheus' outcome with ours; the explanation is empty on a pass.
pub(crate) fn judge(want: &Outcome, got: &Outcome, ordered: bool) -> (Verdict, String) {
    match (want, got) {
        (_, Outcome::Panic(m)) => (Verdict::Panic, format!("panicked: {m}")),
        (Outcome::Ok(w), Outcome::Ok(g)) => match compare_answers(w, g, ordered) {
            Ok(()) => (Verdict::Pass, String::new()),
            Err(d) => (Verdict::ResultMismatch, d),
        },
        (
            Outcome::Err { status: s1, error_type: e1, message: m1 },
            Outcome::Err { status: s2, error_type: e2, message: m2 },
        ) => {
            if s1 != s2 || e1 != e2 {
                (Verdict::ErrorMismatch, format!("error kind: want {s1} {e1}, got {s2} {e2}"))
            } else if m1 != m2 {
                (Verdict::PassErrorTextDiffers, format!("error text: want {m1:?}\n              got  {m2:?}"))
            } else {
                (Verdict::Pass, String::new())
            }
        }
        (Outcome::Err { status, error_type, .. }, Outcome::Ok(_)) => {
            (Verdict::ErrorMismatch, format!("want error {status} {error_type}, got a result"))
        }
        (Outcome::Ok(_), Outcome::Err { status, error_type, .. }) => {
            (Verdict::ErrorMismatch, format!("want a result, got error {status} {error_type}"))
        }
        (Outcome::Panic(_), _) => (Verdict::Panic, "oracle panicked?".to_string()),
    }
}

/// Whether an answer holds any data (an empty vector or matrix proves little).
pub(crate) fn has_data(o: &Outcome) -> bool {
    match o {
        Outcome::Ok(Answer::Vector(v)) => !v.is_empty(),
        Outcome::Ok(Answer::Matrix(m)) => !m.is_empty(),
        Outcome::Ok(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(job: &str) -> Labels {
        Labels::from_pairs([("__name__", "up"), ("job", job)])
    }

    fn vector(samples: &[(&str, f64)]) -> Answer {
        Answer::Vector(samples.iter().map(|(j, v)| (ls(j), 1000, *v)).collect())
    }

    #[test]
    fn values_compare_as_specified() {
        assert!(same_value(1.0, 1.0 + 1e-12));
        assert!(!same_value(1.0, 1.0 + 1e-6));
        assert!(same_value(f64::NAN, f64::from_bits(0x7ff0_0000_0000_0002)));
        assert!(!same_value(f64::NAN, 1.0));
        assert!(!same_value(f64::INFINITY, f64::NEG_INFINITY));
        assert!(!same_value(f64::INFINITY, f64::MAX));
        assert!(!same_value(0.0, -0.0));
        assert!(!same_value(0.0, 1e-300));
    }

    #[test]
    fn vectors_compare_order_insensitively_unless_sorted() {
        let a = vector(&[("a", 1.0), ("b", 2.0)]);
        let b = vector(&[("b", 2.0), ("a", 1.0)]);
        assert!(compare_answers(&a, &b, false).is_ok());
        assert!(compare_answers(&a, &b, true).is_err());
        assert!(compare_answers(&a, &vector(&[("a", 1.0)]), false).is_err());
        assert!(compare_answers(&a, &vector(&[("a", 1.0), ("b", 2.5)]), false).is_err());
        assert!(compare_answers(&a, &vector(&[("a", 1.0), ("c", 2.0)]), false).is_err());
        let shifted = Answer::Vector(vec![(ls("a"), 2000, 1.0), (ls("b"), 1000, 2.0)]);
        assert!(compare_answers(&a, &shifted, false).is_err());
    }

    #[test]
    fn matrices_compare_every_point() {
        let m = |pts: Vec<(i64, f64)>| Answer::Matrix(vec![(ls("a"), pts)]);
        let want = m(vec![(1000, 1.0), (2000, f64::NAN)]);
        assert!(compare_answers(&want, &m(vec![(1000, 1.0), (2000, f64::NAN)]), false).is_ok());
        assert!(compare_answers(&want, &m(vec![(1000, 1.0)]), false).is_err());
        assert!(compare_answers(&want, &m(vec![(1000, 1.0), (2001, f64::NAN)]), false).is_err());
        assert!(compare_answers(&want, &m(vec![(1000, 1.0), (2000, 0.0)]), false).is_err());
        assert!(compare_answers(&want, &vector(&[("a", 1.0)]), false).is_err());
        assert!(compare_answers(&Answer::Scalar(1, 2.0), &Answer::Scalar(1, 2.0), false).is_ok());
        assert!(compare_answers(&Answer::Scalar(1, 2.0), &Answer::Scalar(2, 2.0), false).is_err());
    }

    #[test]
    fn prometheus_json_is_read() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up","job":"a"},"values":[[1704060000.123,"+Inf"],[1704060015,"-0"],[1704060030,"NaN"]]}]}}"#;
        let Ok(Outcome::Ok(Answer::Matrix(m))) = from_prometheus(200, body) else { panic!("not a matrix") };
        assert_eq!(m[0].0, ls("a"));
        assert_eq!(m[0].1[0], (1_704_060_000_123, f64::INFINITY));
        assert!(m[0].1[1].1 == 0.0 && m[0].1[1].1.is_sign_negative());
        assert!(m[0].1[2].1.is_nan());
        let body = r#"{"status":"success","data":{"resultType":"scalar","result":[1704060000.5,"1e-05"]}}"#;
        assert!(
            matches!(from_prometheus(200, body), Ok(Outcome::Ok(Answer::Scalar(1_704_060_000_500, v))) if v == 1e-5)
        );
        let body = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: x"}"#;
        let Ok(Outcome::Err { status, error_type, message }) = from_prometheus(400, body) else {
            panic!("not an error")
        };
        assert_eq!((status, error_type.as_str(), message.as_str()), (400, "bad_data", "1:5: parse error: x"));
    }

    #[test]
    fn outcomes_are_judged() {
        let err = |t: &str| Outcome::Err {
            status: status_for(t),
            error_type: t.to_string(),
            message: "m".to_string(),
        };
        assert_eq!(judge(&err("execution"), &err("execution"), false).0, Verdict::Pass);
        assert_eq!(judge(&err("execution"), &err("bad_data"), false).0, Verdict::ErrorMismatch);
        assert_eq!(judge(&err("execution"), &Outcome::Ok(vector(&[])), false).0, Verdict::ErrorMismatch);
        assert_eq!(
            judge(&Outcome::Ok(vector(&[])), &Outcome::Panic("p".to_string()), false).0,
            Verdict::Panic
        );
    }
}
