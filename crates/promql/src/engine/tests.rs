//! Engine tests over a [`MemoryQueryable`]: selector edges, offsets and `@`, subquery
//! alignment, instant/range agreement and error texts.

use std::time::Duration;

use tsdb_format::Labels;

use super::{CancelToken, Engine, EngineOptions};
use crate::error::PromqlError;
use crate::queryable::MemoryQueryable;
use crate::value::{Point, STALE_NAN_BITS, Sample, Series, Value};

const S: i64 = 1000;
const M: i64 = 60 * S;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// `foo{job="a"}` every 10s from 0 to 10m with value t/10s; `bar` at 0 and a stale marker at 20s.
fn store() -> MemoryQueryable {
    let mut q = MemoryQueryable::new();
    for i in 0..=60 {
        q.add_sample(labels(&[("__name__", "foo"), ("job", "a")]), i * 10 * S, i as f64);
        q.add_sample(labels(&[("__name__", "foo"), ("job", "b")]), i * 10 * S, 2.0 * i as f64);
    }
    q.add_sample(labels(&[("__name__", "bar")]), 0, 1.0);
    q.add_sample(labels(&[("__name__", "bar")]), 20 * S, f64::from_bits(STALE_NAN_BITS));
    q
}

fn engine() -> Engine {
    Engine::new(EngineOptions::default())
}

fn instant(q: &MemoryQueryable, query: &str, t: i64) -> Value {
    match engine().instant_query(q, query, t) {
        Ok(v) => v,
        Err(e) => panic!("{query} at {t}: {e}"),
    }
}

fn instant_err(q: &MemoryQueryable, query: &str, t: i64) -> String {
    match engine().instant_query(q, query, t) {
        Ok(v) => panic!("{query} at {t} gave {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn vector_values(v: &Value) -> Vec<(String, f64)> {
    match v {
        Value::Vector(samples) => samples.iter().map(|s| (s.labels.to_string(), s.v)).collect(),
        other => panic!("not a vector: {other:?}"),
    }
}

fn single(q: &MemoryQueryable, query: &str, t: i64) -> Option<f64> {
    let values = vector_values(&instant(q, query, t));
    assert!(values.len() <= 1, "{query}: {values:?}");
    values.first().map(|(_, v)| *v)
}

#[test]
fn lookback_includes_its_start() {
    let mut q = MemoryQueryable::new();
    q.add_sample(labels(&[("__name__", "x")]), 0, 7.0);
    assert_eq!(single(&q, "x", 5 * M), Some(7.0));
    assert_eq!(single(&q, "x", 5 * M + 1), None);
    assert_eq!(single(&q, "x", -1), None);
}

#[test]
fn stale_marker_ends_a_series() {
    let q = store();
    assert_eq!(single(&q, "bar", 19 * S), Some(1.0));
    assert_eq!(single(&q, "bar", 20 * S), None);
    assert_eq!(single(&q, "bar", 3 * M), None);
}

#[test]
fn range_selector_includes_both_ends() {
    let q = store();
    let Value::Matrix(m) = instant(&q, "foo{job=\"a\"}[30s]", 60 * S) else { panic!("not a matrix") };
    let times: Vec<i64> = m[0].points.iter().map(|p| p.t).collect();
    assert_eq!(times, vec![30 * S, 40 * S, 50 * S, 60 * S]);
    // Stale markers are left out of windows.
    let Value::Matrix(m) = instant(&q, "bar[1m]", 60 * S) else { panic!("not a matrix") };
    assert_eq!(
        m,
        vec![Series { labels: labels(&[("__name__", "bar")]), points: vec![Point { t: 0, v: 1.0 }] }]
    );
}

#[test]
fn offsets_and_at() {
    let q = store();
    assert_eq!(single(&q, "foo{job=\"a\"} offset 1m", 2 * M), Some(6.0));
    assert_eq!(single(&q, "foo{job=\"a\"} offset -1m", 2 * M), Some(18.0));
    assert_eq!(single(&q, "foo{job=\"a\"} @ 30", 10 * M), Some(3.0));
    assert_eq!(single(&q, "foo{job=\"a\"} @ 90 offset 30s", 0), Some(6.0));
    assert_eq!(single(&q, "foo{job=\"a\"} @ start()", 70 * S), Some(7.0));
    let Value::Matrix(m) = instant(&q, "foo{job=\"a\"}[20s] @ 100 offset -10s", 0) else {
        panic!("not a matrix")
    };
    let times: Vec<i64> = m[0].points.iter().map(|p| p.t).collect();
    assert_eq!(times, vec![90 * S, 100 * S, 110 * S]);
}

#[test]
fn at_is_the_same_at_every_step_of_a_range_query() {
    let q = store();
    let Ok(Value::Matrix(m)) = engine().range_query(&q, "foo{job=\"a\"} @ end()", 0, 2 * M, 30 * S) else {
        panic!("not a matrix")
    };
    assert_eq!(m.len(), 1);
    assert!(m[0].points.iter().all(|p| p.v == 12.0), "{m:?}");
    assert_eq!(m[0].points.len(), 5);
}

#[test]
fn subquery_steps_are_aligned() {
    let q = store();
    let Value::Matrix(m) = instant(&q, "foo{job=\"a\"}[1m:20s]", 50 * S) else { panic!("not a matrix") };
    let times: Vec<i64> = m[0].points.iter().map(|p| p.t).collect();
    assert_eq!(times, vec![0, 20 * S, 40 * S]);
    let Value::Matrix(m) = instant(&q, "foo{job=\"a\"}[1m:20s] offset 5s", 50 * S) else {
        panic!("not a matrix")
    };
    let times: Vec<i64> = m[0].points.iter().map(|p| p.t).collect();
    assert_eq!(times, vec![0, 20 * S, 40 * S]);
    // The default step is the engine's evaluation interval.
    let Value::Matrix(m) = instant(&q, "foo{job=\"a\"}[3m:]", 5 * M) else { panic!("not a matrix") };
    let times: Vec<i64> = m[0].points.iter().map(|p| p.t).collect();
    assert_eq!(times, vec![2 * M, 3 * M, 4 * M, 5 * M]);
}

#[test]
fn literals_and_negation() {
    let q = store();
    assert_eq!(instant(&q, "1 + 2", 0), Value::Scalar(Point { t: 0, v: 3.0 }));
    assert_eq!(instant(&q, "\"hello\"", 5), Value::String { t: 5, s: "hello".to_string() });
    assert_eq!(
        instant(&q, "-foo{job=\"a\"}", M),
        Value::Vector(vec![Sample { labels: labels(&[("job", "a")]), t: M, v: -6.0 }])
    );
    let mut q = q;
    q.add_sample(labels(&[("__name__", "foo2"), ("job", "a")]), 0, 1.0);
    assert_eq!(
        instant_err(&q, "-{__name__=~\"foo|foo2\"}", M),
        "vector cannot contain metrics with the same labelset"
    );
    let err = engine().range_query(&q, "-{__name__=~\"foo|foo2\"}", 0, M, S).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("vector cannot contain metrics with the same labelset"));
}

/// Every step of a range query equals the instant query at that step.
#[test]
fn range_steps_equal_instant_queries() {
    let q = store();
    let queries = [
        "foo",
        "bar",
        "foo offset -30s",
        "foo @ 100",
        "-foo",
        "foo * 2",
        "1 - foo",
        "foo[1m:15s] offset 10s @ 200",
        "foo{job=\"a\"}[30s:7s] @ 300",
        "timestamp(foo)",
        "timestamp(foo @ 50)",
        "rate(foo[1m])",
        "sum_over_time(foo[1m:10s] @ 200)",
        "max_over_time(rate(foo[1m])[2m:15s] offset 20s)",
        "absent_over_time(bar[30s])",
        "count_over_time(bar[1m])",
        "sum by (job) (foo) / on() group_left sum(foo)",
        "topk(1, foo)",
    ];
    for query in queries {
        let expr = Engine::parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        if expr.value_type() == promql_parser::parser::value::ValueType::Matrix {
            continue;
        }
        let (start, end, step) = (-M, 12 * M, 25 * S);
        let Ok(Value::Matrix(range)) = engine().range_query(&q, query, start, end, step) else {
            panic!("{query}: no matrix")
        };
        let mut t = start;
        while t <= end {
            let mut expected = vector_values(&instant(&q, query, t));
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            let mut got: Vec<(String, f64)> = range
                .iter()
                .filter_map(|s| s.points.iter().find(|p| p.t == t).map(|p| (s.labels.to_string(), p.v)))
                .collect();
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, expected, "{query} at {t}");
            t += step;
        }
    }
}

#[test]
fn timestamp_of_a_selector_is_the_sample_time() {
    let q = store();
    assert_eq!(single(&q, "timestamp(foo{job=\"a\"})", 65 * S), Some(60.0));
    assert_eq!(single(&q, "timestamp(foo{job=\"a\"} @ 15)", 10 * M), Some(10.0));
    assert_eq!(single(&q, "timestamp(-foo{job=\"a\"})", 65 * S), Some(65.0));
}

#[test]
fn range_query_rejects_matrix_and_string() {
    let q = store();
    let err = engine().range_query(&q, "foo[5m]", 0, M, S).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("invalid expression type \"range vector\" for range query, must be Scalar or instant Vector")
    );
    let err = engine().range_query(&q, "\"x\"", 0, M, S).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("invalid expression type \"string\" for range query, must be Scalar or instant Vector")
    );
}

#[test]
fn limits() {
    let q = store();
    let small = Engine::new(EngineOptions { max_samples: 5, ..EngineOptions::default() });
    let err = small.instant_query(&q, "foo[1m]", 10 * M).err();
    assert_eq!(err, Some(PromqlError::TooManySamples("query execution")));
    let err = small.range_query(&q, "foo", 0, 10 * M, M).err();
    assert_eq!(err, Some(PromqlError::TooManySamples("query execution")));
    assert!(small.instant_query(&q, "foo", 10 * M).is_ok());

    let cancel = CancelToken::new();
    cancel.cancel();
    let expr = Engine::parse("foo").unwrap_or_else(|e| panic!("{e}"));
    let err = engine().instant_query_expr_cancellable(&q, &expr, 0, &cancel).err();
    assert_eq!(err, Some(PromqlError::Canceled("query execution")));

    let no_time = Engine::new(EngineOptions { timeout: Duration::ZERO, ..EngineOptions::default() });
    let err = no_time.instant_query(&q, "foo", 0).err();
    assert_eq!(err, Some(PromqlError::Timeout("query execution")));
}

/// Checked against Prometheus 2.42: in `timestamp(x @ t offset o)` 2.42 reads at `t` but its
/// storage returns samples only up to the selector's hinted end `t - o`.
#[test]
fn timestamp_with_at_and_offset_reads_up_to_the_hinted_end() {
    let mut q = MemoryQueryable::new();
    for i in 0..=60 {
        q.add_sample(labels(&[("__name__", "foo"), ("job", "a")]), i * 10 * S, i as f64);
    }
    assert_eq!(single(&q, "timestamp(foo @ 300 offset 100s)", 600 * S), Some(200.0));
    assert_eq!(single(&q, "foo @ 300 offset 100s", 600 * S), Some(20.0));
    assert_eq!(single(&q, "timestamp(foo offset 100s)", 600 * S), Some(500.0));
}
