//! Expectations from Prometheus 2.42's binary operators (and its `operators.test`).

use super::*;
use promql_parser::parser::LabelModifier;

const T: i64 = 300_000;

fn tok(id: u16) -> TokenType {
    TokenType::new(id)
}

fn s(pairs: &[(&str, &str)], v: f64) -> Sample {
    Sample { labels: Labels::from_pairs(pairs.iter().copied()), t: 0, v }
}

fn pairs(v: &Vector) -> Vec<(String, f64)> {
    v.iter().map(|s| (s.labels.to_string(), s.v)).collect()
}

fn modifier(card: VectorMatchCardinality, matching: Option<LabelModifier>, return_bool: bool) -> BinModifier {
    BinModifier::default().with_card(card).with_matching(matching).with_return_bool(return_bool)
}

fn on(names: &[&str]) -> Option<LabelModifier> {
    Some(LabelModifier::include(names.to_vec()))
}

fn ignoring(names: &[&str]) -> Option<LabelModifier> {
    Some(LabelModifier::exclude(names.to_vec()))
}

fn binop(op: u16, m: Option<&BinModifier>, lhs: &Vector, rhs: &Vector) -> Vector {
    match vector_binop(tok(op), m, lhs, rhs, T) {
        Ok(v) => v,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn http(group: &str, instance: &str, job: &str, v: f64) -> Sample {
    s(&[("__name__", "http_requests"), ("group", group), ("instance", instance), ("job", job)], v)
}

fn canary() -> Vector {
    vec![
        http("canary", "0", "api-server", 300.0),
        http("canary", "1", "api-server", 400.0),
        http("canary", "0", "app-server", 700.0),
        http("canary", "1", "app-server", 800.0),
    ]
}

fn production() -> Vector {
    vec![
        http("production", "0", "api-server", 100.0),
        http("production", "1", "api-server", 200.0),
        http("production", "0", "app-server", 500.0),
        http("production", "1", "app-server", 600.0),
    ]
}

#[test]
fn scalar_ops() {
    assert_eq!(scalar_binop(tok(token::T_ADD), 1.0, 2.0, false), 3.0);
    assert_eq!(scalar_binop(tok(token::T_SUB), 1.0, 2.0, false), -1.0);
    assert_eq!(scalar_binop(tok(token::T_MUL), 3.0, 2.0, false), 6.0);
    assert_eq!(scalar_binop(tok(token::T_DIV), 1.0, 0.0, false), f64::INFINITY);
    assert!(scalar_binop(tok(token::T_MOD), 1.0, 0.0, false).is_nan());
    assert_eq!(scalar_binop(tok(token::T_POW), -2.0, 0.5f64.recip(), false), 4.0);
    assert_eq!(scalar_binop(tok(token::T_EQLC), 1.0, 1.0, true), 1.0);
    assert_eq!(scalar_binop(tok(token::T_EQLC), 0.0, 1.0, true), 0.0);
    assert_eq!(scalar_binop(tok(token::T_NEQ), f64::NAN, f64::NAN, true), 1.0);
    assert_eq!(scalar_binop(tok(token::T_GTE), 2.0, 2.0, true), 1.0);
    assert_eq!(scalar_binop(tok(token::T_LSS), 2.0, 2.0, true), 0.0);
    assert_eq!(scalar_binop(tok(token::T_ATAN2), 10.0, 20.0, false), 0.4636476090008061);
    // -2^---1*3 and 2/-2^---1*3+2 from operators.test.
    let p = scalar_binop(tok(token::T_POW), 2.0, -1.0, false);
    assert_eq!(-p * 3.0, -1.5);
    assert_eq!(2.0 / -p * 3.0 + 2.0, -10.0);
}

#[test]
fn vector_scalar_arithmetic_drops_name() {
    let v = vec![s(&[("__name__", "node_cpu"), ("mode", "idle")], 3.0)];
    let out = vector_scalar_binop(tok(token::T_ADD), &v, 2.0, false, false, T);
    assert_eq!(pairs(&out), vec![(r#"{mode="idle"}"#.into(), 5.0)]);
    assert_eq!(out[0].t, T);
    let out = vector_scalar_binop(tok(token::T_SUB), &v, 2.0, true, false, T);
    assert_eq!(out[0].v, -1.0);
    let out = vector_scalar_binop(tok(token::T_MOD), &v, 2.0, false, false, T);
    assert_eq!(out[0].v, 1.0);
    let out = vector_scalar_binop(tok(token::T_POW), &v, 2.0, false, false, T);
    assert_eq!(out[0].v, 9.0);
    // atan2 keeps the name.
    let out = vector_scalar_binop(tok(token::T_ATAN2), &v, 2.0, false, false, T);
    assert_eq!(out[0].labels.get("__name__"), Some("node_cpu"));
}

#[test]
fn vector_scalar_comparisons() {
    let v =
        vec![s(&[("__name__", "x"), ("job", "a")], 1000.0), s(&[("__name__", "x"), ("job", "b")], 2600.0)];
    // Filter: keeps the vector's value and name, whichever side the scalar is on.
    let out = vector_scalar_binop(tok(token::T_GTR), &v, 1000.0, false, false, T);
    assert_eq!(pairs(&out), vec![(r#"{__name__="x", job="b"}"#.into(), 2600.0)]);
    let out = vector_scalar_binop(tok(token::T_LSS), &v, 1000.0, true, false, T);
    assert_eq!(pairs(&out), vec![(r#"{__name__="x", job="b"}"#.into(), 2600.0)]);
    // bool: 0/1 for every element, name dropped.
    let out = vector_scalar_binop(tok(token::T_EQLC), &v, 1000.0, false, true, T);
    assert_eq!(pairs(&out), vec![(r#"{job="a"}"#.into(), 1.0), (r#"{job="b"}"#.into(), 0.0)]);
    // NaN never compares equal.
    let nan = vec![s(&[("job", "n")], f64::NAN)];
    assert!(vector_scalar_binop(tok(token::T_EQLC), &nan, f64::NAN, false, false, T).is_empty());
    assert_eq!(vector_scalar_binop(tok(token::T_NEQ), &nan, f64::NAN, false, false, T).len(), 1);
}

#[test]
fn one_to_one_arithmetic_and_comparison() {
    let m = modifier(VectorMatchCardinality::OneToOne, ignoring(&["group"]), false);
    let out = binop(token::T_DIV, Some(&m), &canary(), &production());
    assert_eq!(
        pairs(&out),
        vec![
            (r#"{instance="0", job="api-server"}"#.into(), 3.0),
            (r#"{instance="1", job="api-server"}"#.into(), 2.0),
            (r#"{instance="0", job="app-server"}"#.into(), 1.4),
            (r#"{instance="1", job="app-server"}"#.into(), 800.0 / 600.0),
        ]
    );
    let m = modifier(VectorMatchCardinality::OneToOne, on(&["instance", "job"]), false);
    assert_eq!(binop(token::T_DIV, Some(&m), &canary(), &production()).len(), 4);

    // No modifier: match on all labels but the name; arithmetic drops the name.
    let a = vec![s(&[("__name__", "metricA"), ("baz", "meh")], 3.0)];
    let b = vec![s(&[("__name__", "metricB"), ("baz", "meh")], 4.0)];
    assert_eq!(pairs(&binop(token::T_ADD, None, &a, &b)), vec![(r#"{baz="meh"}"#.into(), 7.0)]);
    // Comparisons without bool keep the left name and value, with bool drop the name.
    let total = vec![s(&[("__name__", "test_total"), ("instance", "localhost")], 50.0)];
    let smaller = vec![s(&[("__name__", "test_smaller"), ("instance", "localhost")], 10.0)];
    assert_eq!(
        pairs(&binop(token::T_GTR, None, &total, &smaller)),
        vec![(r#"{__name__="test_total", instance="localhost"}"#.into(), 50.0)]
    );
    assert!(binop(token::T_LSS, None, &total, &smaller).is_empty());
    let m = BinModifier::default().with_return_bool(true);
    assert_eq!(
        pairs(&binop(token::T_LSS, Some(&m), &total, &smaller)),
        vec![(r#"{instance="localhost"}"#.into(), 0.0)]
    );
    // on () with no common labels.
    let random = vec![s(&[("__name__", "random"), ("foo", "bar")], 2.0)];
    let m = modifier(VectorMatchCardinality::OneToOne, on(&[]), false);
    assert_eq!(pairs(&binop(token::T_ADD, Some(&m), &random, &a)), vec![("{}".into(), 5.0)]);
    // A comparison with `on` keeps only the `on` labels.
    let m = modifier(VectorMatchCardinality::OneToOne, on(&["instance"]), false);
    assert_eq!(
        pairs(&binop(token::T_GTR, Some(&m), &total, &smaller)),
        vec![(r#"{instance="localhost"}"#.into(), 50.0)]
    );
    // atan2 between vectors keeps the left name.
    let y = vec![s(&[("__name__", "trigy")], 10.0)];
    let x = vec![s(&[("__name__", "trigx")], 20.0)];
    assert_eq!(
        pairs(&binop(token::T_ATAN2, None, &y, &x)),
        vec![(r#"{__name__="trigy"}"#.into(), 0.4636476090008061)]
    );
}

#[test]
fn empty_side_short_circuits_before_duplicate_checks() {
    let dup = vec![s(&[("a", "1"), ("b", "1")], 1.0), s(&[("a", "1"), ("b", "2")], 1.0)];
    let m = modifier(VectorMatchCardinality::OneToOne, on(&["a"]), false);
    assert!(binop(token::T_ADD, Some(&m), &Vector::new(), &dup).is_empty());
    assert!(binop(token::T_ADD, Some(&m), &dup, &Vector::new()).is_empty());
}

#[test]
fn group_left_and_group_right_copy_include_labels() {
    let node_var = vec![s(&[("__name__", "node_var"), ("instance", "abc"), ("job", "node")], 2.0)];
    let node_role = vec![s(
        &[("__name__", "node_role"), ("instance", "abc"), ("job", "node"), ("role", "prometheus")],
        1.0,
    )];
    let want = vec![(r#"{instance="abc", job="node", role="prometheus"}"#.to_string(), 2.0)];
    let m = modifier(VectorMatchCardinality::many_to_one(vec!["role"]), on(&["instance"]), false);
    assert_eq!(pairs(&binop(token::T_MUL, Some(&m), &node_var, &node_role)), want);
    let m = modifier(VectorMatchCardinality::one_to_many(vec!["role"]), on(&["instance"]), false);
    assert_eq!(pairs(&binop(token::T_MUL, Some(&m), &node_role, &node_var)), want);
    let m = modifier(VectorMatchCardinality::one_to_many(vec!["role"]), ignoring(&["role"]), false);
    assert_eq!(pairs(&binop(token::T_MUL, Some(&m), &node_role, &node_var)), want);

    // group_right: values keep their sides (one / many).
    let m = modifier(VectorMatchCardinality::one_to_many(vec![]), on(&["instance"]), false);
    assert_eq!(binop(token::T_DIV, Some(&m), &node_role, &node_var)[0].v, 0.5);

    // A comparison filter with group_left keeps the many side's name and value, and copies target.
    let node_cpu = vec![
        s(&[("__name__", "node_cpu"), ("instance", "abc"), ("job", "node"), ("mode", "idle")], 3.0),
        s(&[("__name__", "node_cpu"), ("instance", "def"), ("job", "node"), ("mode", "idle")], 8.0),
    ];
    let threshold = vec![s(
        &[("__name__", "threshold"), ("instance", "abc"), ("job", "node"), ("target", "a@b.com")],
        0.0,
    )];
    let m = modifier(VectorMatchCardinality::many_to_one(vec!["target"]), on(&["job", "instance"]), false);
    assert_eq!(
        pairs(&binop(token::T_GTR, Some(&m), &node_cpu, &threshold)),
        vec![(
            r#"{__name__="node_cpu", instance="abc", job="node", mode="idle", target="a@b.com"}"#.into(),
            3.0
        )]
    );
    // An include label missing on the one side is removed from the result.
    let one = vec![s(&[("instance", "abc")], 1.0)];
    let many = vec![s(&[("instance", "abc"), ("target", "x")], 5.0)];
    let m = modifier(VectorMatchCardinality::many_to_one(vec!["target"]), on(&["instance"]), false);
    assert_eq!(pairs(&binop(token::T_ADD, Some(&m), &many, &one)), vec![(r#"{instance="abc"}"#.into(), 6.0)]);
}

#[test]
fn matching_errors() {
    let lhs = vec![s(&[("a", "1"), ("b", "1")], 1.0), s(&[("a", "1"), ("b", "2")], 1.0)];
    let rhs = vec![
        s(&[("__name__", "r"), ("a", "1"), ("c", "1")], 1.0),
        s(&[("__name__", "r"), ("a", "1"), ("c", "2")], 2.0),
    ];
    let m = modifier(VectorMatchCardinality::OneToOne, on(&["a"]), false);
    assert_eq!(
        vector_binop(tok(token::T_ADD), Some(&m), &lhs, &rhs, T),
        Err(PromqlError::Execution(
            r#"found duplicate series for the match group {a="1"} on the right hand-side of the operation: [{__name__="r", a="1", c="2"}, {__name__="r", a="1", c="1"}];many-to-many matching not allowed: matching labels must be unique on one side"#.into()
        ))
    );
    let m = modifier(VectorMatchCardinality::one_to_many(vec![]), ignoring(&["c", "b"]), false);
    assert_eq!(
        vector_binop(tok(token::T_ADD), Some(&m), &lhs, &rhs, T),
        Err(PromqlError::Execution(
            r#"found duplicate series for the match group {a="1"} on the left hand-side of the operation: [{a="1", b="2"}, {a="1", b="1"}];many-to-many matching not allowed: matching labels must be unique on one side"#.into()
        ))
    );
    let one = vec![s(&[("a", "1")], 1.0)];
    let m = modifier(VectorMatchCardinality::OneToOne, on(&["a"]), false);
    assert_eq!(
        vector_binop(tok(token::T_ADD), Some(&m), &lhs, &one, T),
        Err(PromqlError::Execution(
            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                .into()
        ))
    );
    // Filtered-out duplicates do not count.
    let lhs2 = vec![s(&[("a", "1"), ("b", "1")], 1.0), s(&[("a", "1"), ("b", "2")], 5.0)];
    assert_eq!(binop(token::T_GTR, Some(&m), &lhs2, &one).len(), 1);
    // many-to-one whose results collide.
    let lhs3 = vec![s(&[("__name__", "x"), ("a", "1")], 1.0), s(&[("__name__", "y"), ("a", "1")], 2.0)];
    let m = modifier(VectorMatchCardinality::many_to_one(vec![]), on(&["a"]), false);
    assert_eq!(
        vector_binop(tok(token::T_ADD), Some(&m), &lhs3, &one, T),
        Err(PromqlError::Execution(
            "multiple matches for labels: grouping labels must ensure unique matches".into()
        ))
    );
    // The same without dropping the name is fine.
    assert_eq!(binop(token::T_GTE, Some(&m), &lhs3, &one).len(), 2);
}

#[test]
fn set_operators() {
    let many_to_many = |matching| modifier(VectorMatchCardinality::ManyToMany, matching, false);
    let instance0: Vector =
        canary().into_iter().chain(production()).filter(|s| s.labels.get("instance") == Some("0")).collect();
    let out = binop(token::T_LAND, None, &canary(), &instance0);
    assert_eq!(out.iter().map(|s| s.v).collect::<Vec<_>>(), vec![300.0, 700.0]);
    assert_eq!(out[0].labels.get("__name__"), Some("http_requests"));
    assert_eq!(out[0].t, T);

    let m = many_to_many(on(&["job"]));
    assert!(binop(token::T_LUNLESS, Some(&m), &canary(), &instance0).is_empty());
    let m = many_to_many(ignoring(&["group"]));
    let out = binop(token::T_LUNLESS, Some(&m), &canary(), &instance0);
    assert_eq!(out.iter().map(|s| s.v).collect::<Vec<_>>(), vec![400.0, 800.0]);

    // or: all of the left, then the right ones whose signature is not on the left.
    let plus_one = vector_scalar_binop(tok(token::T_ADD), &canary(), 1.0, false, false, T);
    let instance1: Vector =
        canary().into_iter().chain(production()).filter(|s| s.labels.get("instance") == Some("1")).collect();
    let out = binop(token::T_LOR, None, &plus_one, &instance1);
    assert_eq!(out.iter().map(|s| s.v).collect::<Vec<_>>(), vec![301.0, 401.0, 701.0, 801.0, 200.0, 600.0]);
    assert_eq!(out[4].labels.get("__name__"), Some("http_requests"));

    // on(dummy): every series has the same (empty) signature.
    let one = vec![s(&[], 1.0)];
    let m = many_to_many(on(&["dummy"]));
    assert_eq!(binop(token::T_LAND, Some(&m), &production(), &one).len(), 4);

    // Empty sides.
    assert!(binop(token::T_LAND, None, &Vector::new(), &one).is_empty());
    assert_eq!(binop(token::T_LOR, None, &Vector::new(), &one).len(), 1);
    assert_eq!(binop(token::T_LOR, None, &one, &Vector::new()).len(), 1);
    assert_eq!(binop(token::T_LUNLESS, None, &one, &Vector::new()).len(), 1);
    assert!(binop(token::T_LUNLESS, None, &Vector::new(), &one).is_empty());
}
