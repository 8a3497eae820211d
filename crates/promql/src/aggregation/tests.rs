//! Expectations from Prometheus 2.42's `aggregation` (and its `aggregators.test`).

use super::*;
use promql_parser::parser::token::TokenType;

const T: i64 = 3_000_000;

fn tok(id: u16) -> TokenType {
    TokenType::new(id)
}

fn s(pairs: &[(&str, &str)], v: f64) -> Sample {
    Sample { labels: Labels::from_pairs(pairs.iter().copied()), t: 0, v }
}

fn by(names: &[&str]) -> LabelModifier {
    LabelModifier::include(names.to_vec())
}

fn without(names: &[&str]) -> LabelModifier {
    LabelModifier::exclude(names.to_vec())
}

fn agg(op: u16, param: AggregateParam<'_>, m: Option<&LabelModifier>, input: &Vector) -> Vector {
    match aggregate(tok(op), param, m, input, T) {
        Ok(v) => v,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// `(labels, value)` pairs of a result, in order, labels printed Prometheus-style.
fn pairs(v: &Vector) -> Vec<(String, f64)> {
    v.iter().map(|s| (s.labels.to_string(), s.v)).collect()
}

/// The `http_requests` series of `aggregators.test` at 50m.
fn http_requests() -> Vector {
    let mut v = Vector::new();
    for (job, instance, group, value) in [
        ("api-server", "0", "production", 100.0),
        ("api-server", "1", "production", 200.0),
        ("api-server", "0", "canary", 300.0),
        ("api-server", "1", "canary", 400.0),
        ("app-server", "0", "production", 500.0),
        ("app-server", "1", "production", 600.0),
        ("app-server", "0", "canary", 700.0),
        ("app-server", "1", "canary", 800.0),
    ] {
        v.push(s(
            &[("__name__", "http_requests"), ("job", job), ("instance", instance), ("group", group)],
            value,
        ));
    }
    v
}

#[test]
fn sum_by_keeps_only_listed_labels_in_first_seen_order() {
    let out = agg(token::T_SUM, AggregateParam::None, Some(&by(&["group", "nonexistent"])), &http_requests());
    assert_eq!(
        pairs(&out),
        vec![(r#"{group="production"}"#.into(), 1400.0), (r#"{group="canary"}"#.into(), 2200.0)]
    );
    assert!(out.iter().all(|s| s.t == T));
}

#[test]
fn sum_without_drops_listed_labels_and_name() {
    let out = agg(token::T_SUM, AggregateParam::None, Some(&without(&["instance"])), &http_requests());
    assert_eq!(
        pairs(&out),
        vec![
            (r#"{group="production", job="api-server"}"#.into(), 300.0),
            (r#"{group="canary", job="api-server"}"#.into(), 700.0),
            (r#"{group="production", job="app-server"}"#.into(), 1100.0),
            (r#"{group="canary", job="app-server"}"#.into(), 1500.0),
        ]
    );
    // `without ()` only drops the metric name.
    let out = agg(token::T_SUM, AggregateParam::None, Some(&without(&[])), &http_requests()[..1].to_vec());
    assert_eq!(pairs(&out), vec![(r#"{group="production", instance="0", job="api-server"}"#.into(), 100.0)]);
}

#[test]
fn no_grouping_and_empty_by_make_one_group() {
    for m in [None, Some(by(&[]))] {
        let out = agg(token::T_SUM, AggregateParam::None, m.as_ref(), &http_requests());
        assert_eq!(pairs(&out), vec![("{}".into(), 3600.0)]);
    }
    assert!(agg(token::T_SUM, AggregateParam::None, None, &Vector::new()).is_empty());
}

#[test]
fn by_name_groups_by_metric_name() {
    let input = vec![s(&[("__name__", "a"), ("x", "1")], 1.0), s(&[("__name__", "b"), ("x", "1")], 2.0)];
    let out = agg(token::T_COUNT, AggregateParam::None, Some(&by(&["__name__"])), &input);
    assert_eq!(pairs(&out), vec![(r#"{__name__="a"}"#.into(), 1.0), (r#"{__name__="b"}"#.into(), 1.0)]);
}

#[test]
fn avg_count_min_max_group() {
    let input = http_requests();
    let m = by(&["job"]);
    let val = |op| agg(op, AggregateParam::None, Some(&m), &input).iter().map(|s| s.v).collect::<Vec<_>>();
    assert_eq!(val(token::T_AVG), vec![250.0, 650.0]);
    assert_eq!(val(token::T_COUNT), vec![4.0, 4.0]);
    assert_eq!(val(token::T_MIN), vec![100.0, 500.0]);
    assert_eq!(val(token::T_MAX), vec![400.0, 800.0]);
    assert_eq!(val(token::T_GROUP), vec![1.0, 1.0]);
}

#[test]
fn min_max_replace_nan() {
    let input = vec![s(&[("i", "0")], f64::NAN), s(&[("i", "1")], 3.0), s(&[("i", "2")], 1.0)];
    assert_eq!(agg(token::T_MAX, AggregateParam::None, None, &input)[0].v, 3.0);
    assert_eq!(agg(token::T_MIN, AggregateParam::None, None, &input)[0].v, 1.0);
    // A NaN after a number is ignored (comparisons with NaN are false).
    let input = vec![s(&[("i", "1")], 3.0), s(&[("i", "0")], f64::NAN)];
    assert_eq!(agg(token::T_MAX, AggregateParam::None, None, &input)[0].v, 3.0);
    let only_nan = vec![s(&[("i", "0")], f64::NAN)];
    assert!(agg(token::T_MIN, AggregateParam::None, None, &only_nan)[0].v.is_nan());
}

fn avg_of(values: &[f64]) -> f64 {
    let input: Vector =
        values.iter().enumerate().map(|(i, v)| s(&[("point", i.to_string().as_str())], *v)).collect();
    agg(token::T_AVG, AggregateParam::None, None, &input)[0].v
}

#[test]
fn avg_handles_infinities_like_2_42() {
    let inf = f64::INFINITY;
    assert_eq!(avg_of(&[8.0, 10.0, 12.0]), 10.0);
    assert_eq!(avg_of(&[0.0, inf, inf, 0.0]), inf);
    assert_eq!(avg_of(&[inf, 0.0, inf]), inf);
    assert!(avg_of(&[inf, inf, -inf]).is_nan());
    assert_eq!(avg_of(&[-inf, -inf, 0.0]), -inf);
    assert!(avg_of(&[-inf, 0.0, inf]).is_nan());
    #[allow(clippy::excessive_precision)]
    let big = 9.988465674311579e307;
    assert_eq!(avg_of(&[big, big, big, big]), big);
    assert_eq!(avg_of(&[-big, -big, -big, -big]), -big);
    assert_eq!(avg_of(&[-big, -big, big, big]), 0.0);
    // The running mean, not sum/count: 0.1+0.2+0.3 averaged.
    let mut mean: f64 = 0.1;
    mean += 0.2 / 2.0 - mean / 2.0;
    mean += 0.3 / 3.0 - mean / 3.0;
    assert_eq!(avg_of(&[0.1, 0.2, 0.3]).to_bits(), mean.to_bits());
}

#[test]
fn stddev_and_stdvar() {
    let input = http_requests();
    let v = agg(token::T_STDVAR, AggregateParam::None, None, &input)[0].v;
    assert_eq!(v, 52500.0);
    let v = agg(token::T_STDDEV, AggregateParam::None, Some(&by(&["instance"])), &input);
    assert!((v[0].v - 223.60679774998).abs() < 1e-9);
    let same: Vector = (0..3).map(|i| s(&[("i", i.to_string().as_str())], 13.3)).collect();
    assert_eq!(agg(token::T_STDDEV, AggregateParam::None, None, &same)[0].v, 0.0);
    assert_eq!(agg(token::T_STDVAR, AggregateParam::None, None, &same[..1].to_vec())[0].v, 0.0);
}

#[test]
fn topk_and_bottomk_order_and_labels() {
    let input = http_requests();
    let out = agg(token::T_TOPK, AggregateParam::Scalar(3.0), None, &input);
    assert_eq!(out.iter().map(|s| s.v).collect::<Vec<_>>(), vec![800.0, 700.0, 600.0]);
    assert_eq!(out[0].labels.get("__name__"), Some("http_requests"));
    let out = agg(token::T_BOTTOMK, AggregateParam::Scalar(3.0), None, &input);
    assert_eq!(out.iter().map(|s| s.v).collect::<Vec<_>>(), vec![100.0, 200.0, 300.0]);
    // Non-integer k truncates; by-groups come out group after group.
    let out = agg(token::T_TOPK, AggregateParam::Scalar(1.9), Some(&by(&["group"])), &input);
    assert_eq!(out.iter().map(|s| s.v).collect::<Vec<_>>(), vec![600.0, 800.0]);
    let out = agg(token::T_BOTTOMK, AggregateParam::Scalar(2.0), Some(&by(&["group"])), &input);
    assert_eq!(out.iter().map(|s| s.v).collect::<Vec<_>>(), vec![100.0, 200.0, 300.0, 400.0]);
    // k larger than the input.
    let out = agg(token::T_TOPK, AggregateParam::Scalar(9_999_999_999.0), None, &input[..2].to_vec());
    assert_eq!(out.iter().map(|s| s.v).collect::<Vec<_>>(), vec![200.0, 100.0]);
}

#[test]
fn topk_sorts_nan_last() {
    let input = vec![s(&[("i", "0")], 100.0), s(&[("i", "1")], 200.0), s(&[("i", "2")], f64::NAN)];
    for op in [token::T_TOPK, token::T_BOTTOMK] {
        let out = agg(op, AggregateParam::Scalar(3.0), None, &input);
        assert!(out[2].v.is_nan());
        assert_eq!(out[2].labels.get("i"), Some("2"));
    }
    // With k=1 a NaN in the heap is always replaced.
    let input = vec![s(&[("i", "0")], f64::NAN), s(&[("i", "1")], 1.0)];
    assert_eq!(agg(token::T_TOPK, AggregateParam::Scalar(1.0), None, &input)[0].v, 1.0);
}

#[test]
fn topk_ties_keep_the_first_seen() {
    let input = vec![s(&[("i", "a")], 1.0), s(&[("i", "b")], 1.0), s(&[("i", "c")], 1.0)];
    let out = agg(token::T_TOPK, AggregateParam::Scalar(1.0), None, &input);
    assert_eq!(out[0].labels.get("i"), Some("a"));
    let out = agg(token::T_BOTTOMK, AggregateParam::Scalar(2.0), None, &input);
    assert_eq!(out.len(), 2);
}

#[test]
fn topk_k_below_one_or_overflowing() {
    let input = http_requests();
    for k in [0.0, 0.5, -3.0] {
        assert!(agg(token::T_TOPK, AggregateParam::Scalar(k), None, &input).is_empty());
    }
    let err = |k: f64| aggregate(tok(token::T_BOTTOMK), AggregateParam::Scalar(k), None, &Vector::new(), T);
    assert_eq!(err(1e19), Err(PromqlError::Execution("Scalar value 1e+19 overflows int64".into())));
    assert_eq!(err(f64::NAN), Err(PromqlError::Execution("Scalar value NaN overflows int64".into())));
    assert_eq!(err(f64::INFINITY), Err(PromqlError::Execution("Scalar value +Inf overflows int64".into())));
    assert_eq!(err(-9.3e18), Err(PromqlError::Execution("Scalar value -9.3e+18 overflows int64".into())));
}

#[test]
fn quantile_values_and_bounds() {
    let input = vec![
        s(&[("test", "two"), ("point", "a")], 0.0),
        s(&[("test", "two"), ("point", "b")], 1.0),
        s(&[("test", "three"), ("point", "a")], 0.0),
        s(&[("test", "three"), ("point", "b")], 1.0),
        s(&[("test", "three"), ("point", "c")], 2.0),
        s(&[("test", "uneven"), ("point", "a")], 0.0),
        s(&[("test", "uneven"), ("point", "b")], 1.0),
        s(&[("test", "uneven"), ("point", "c")], 4.0),
    ];
    let m = without(&["point"]);
    let out = agg(token::T_QUANTILE, AggregateParam::Scalar(0.8), Some(&m), &input);
    let vals: Vec<f64> = out.iter().map(|s| s.v).collect();
    assert!((vals[0] - 0.8).abs() < 1e-12 && (vals[1] - 1.6).abs() < 1e-12 && (vals[2] - 2.8).abs() < 1e-12);
    assert_eq!(pairs(&out)[0].0, r#"{test="two"}"#);
    let out = agg(token::T_QUANTILE, AggregateParam::Scalar(-0.1), Some(&m), &input);
    assert!(out.iter().all(|s| s.v == f64::NEG_INFINITY));
    let out = agg(token::T_QUANTILE, AggregateParam::Scalar(1.1), Some(&m), &input);
    assert!(out.iter().all(|s| s.v == f64::INFINITY));
    let out = agg(token::T_QUANTILE, AggregateParam::Scalar(f64::NAN), Some(&m), &input);
    assert!(out.iter().all(|s| s.v.is_nan()));
    // NaN values sort first.
    let input = vec![s(&[("p", "a")], 5.0), s(&[("p", "b")], f64::NAN), s(&[("p", "c")], 1.0)];
    assert!(agg(token::T_QUANTILE, AggregateParam::Scalar(0.0), None, &input)[0].v.is_nan());
    assert_eq!(agg(token::T_QUANTILE, AggregateParam::Scalar(1.0), None, &input)[0].v, 5.0);
}

fn versions() -> Vector {
    vec![
        s(&[("__name__", "version"), ("job", "api"), ("instance", "0"), ("group", "production")], 6.0),
        s(&[("__name__", "version"), ("job", "api"), ("instance", "1"), ("group", "production")], 6.0),
        s(&[("__name__", "version"), ("job", "api"), ("instance", "0"), ("group", "canary")], 8.0),
        s(&[("__name__", "version"), ("job", "app"), ("instance", "0"), ("group", "canary")], 7.5),
    ]
}

#[test]
fn count_values_by_default_and_without() {
    let out = agg(token::T_COUNT_VALUES, AggregateParam::String("version"), None, &versions());
    assert_eq!(
        pairs(&out),
        vec![
            (r#"{version="6"}"#.into(), 2.0),
            (r#"{version="8"}"#.into(), 1.0),
            (r#"{version="7.5"}"#.into(), 1.0)
        ]
    );
    let out =
        agg(token::T_COUNT_VALUES, AggregateParam::String("job"), Some(&without(&["instance"])), &versions());
    assert_eq!(
        pairs(&out),
        vec![
            (r#"{group="production", job="6"}"#.into(), 2.0),
            (r#"{group="canary", job="8"}"#.into(), 1.0),
            (r#"{group="canary", job="7.5"}"#.into(), 1.0)
        ]
    );
    let out =
        agg(token::T_COUNT_VALUES, AggregateParam::String("job"), Some(&by(&["job", "group"])), &versions());
    assert_eq!(pairs(&out)[0], (r#"{group="production", job="6"}"#.into(), 2.0));
}

#[test]
fn count_values_formats_like_go() {
    assert_eq!(go_format_float(1e21), "1000000000000000000000");
    assert_eq!(go_format_float(1e-7), "0.0000001");
    assert_eq!(go_format_float(f64::INFINITY), "+Inf");
    assert_eq!(go_format_float(f64::NEG_INFINITY), "-Inf");
    assert_eq!(go_format_float(f64::NAN), "NaN");
    assert_eq!(go_format_float(-0.0), "-0");
    assert_eq!(go_format_float(0.1), "0.1");
}

#[test]
fn count_values_rejects_invalid_label_names() {
    let res = aggregate(tok(token::T_COUNT_VALUES), AggregateParam::String("a-b"), None, &versions(), T);
    assert_eq!(res, Err(PromqlError::Execution(r#"invalid label name "a-b""#.into())));
    let res = aggregate(tok(token::T_COUNT_VALUES), AggregateParam::String(""), None, &Vector::new(), T);
    assert_eq!(res, Err(PromqlError::Execution(r#"invalid label name """#.into())));
    assert!(is_valid_label_name("_a1") && !is_valid_label_name("1a") && !is_valid_label_name("ä"));
}

#[test]
fn go_v_formatting() {
    assert_eq!(go_format_v(1e19), "1e+19");
    assert_eq!(go_format_v(1.5e300), "1.5e+300");
    assert_eq!(go_format_v(123456.0), "123456");
    assert_eq!(go_format_v(1234567.0), "1.234567e+06");
    assert_eq!(go_format_v(0.0001), "0.0001");
    assert_eq!(go_format_v(0.00001), "1e-05");
}
