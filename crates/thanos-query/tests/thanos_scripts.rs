//! Thanos' scripted fan-out test (`promql-tests/thanos/aggregators.test`) through the real
//! querier: each `store <matchers> <mint> <maxt>` opens a new in-memory StoreAPI endpoint
//! serving that time range, later `load`s go into it, and every `eval` is asked of the
//! `thanos-query` binary fanning out to all of them.

mod support;

use std::path::Path;

use serde_json::Value as Json;
use support::http::{api_time, get, urlencode};
use support::store::{MemoryStore, TestStore};
use tsdb_format::Labels;

/// A duration as the scripts write it (`5m`, `10d`, `0`), in ms.
fn duration_ms(text: &str) -> i64 {
    if text == "0" {
        return 0;
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().unwrap_or_else(|_| panic!("bad duration {text:?}"));
    n * match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => panic!("bad duration unit in {text:?}"),
    }
}

/// Splits `metric{a="b"} rest` into the labels and the rest.
fn split_series(line: &str) -> (Labels, &str) {
    let line = line.trim();
    let end = match line.find('}') {
        Some(i) => i + 1,
        None => line.find(char::is_whitespace).unwrap_or(line.len()),
    };
    let (selector, rest) = line.split_at(end);
    let labels = if selector.trim() == "{}" {
        Labels::default()
    } else {
        let expr = promql::Engine::parse(selector).unwrap_or_else(|e| panic!("bad series {selector:?}: {e}"));
        let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
            panic!("not a series: {selector}")
        };
        let mut pairs: Vec<(String, String)> =
            vs.matchers.matchers.iter().map(|m| (m.name.clone(), m.value.clone())).collect();
        if let Some(name) = vs.name {
            pairs.push(("__name__".into(), name));
        }
        Labels::from_pairs(pairs)
    };
    (labels, rest.trim())
}

/// Expands `0+10x10`, `1-2x3`, `5`, `_` into values (`None` = no sample).
fn expand(values: &str) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for item in values.split_whitespace() {
        if item == "_" {
            out.push(None);
            continue;
        }
        if let Some((base_step, times)) = item.split_once('x') {
            let (base, step, sign) = match base_step[1..].find(['+', '-']) {
                Some(i) => {
                    let (b, s) = base_step.split_at(i + 1);
                    (b, &s[1..], if s.starts_with('-') { -1.0 } else { 1.0 })
                }
                None => panic!("bad expansion {item:?}"),
            };
            let base: f64 = base.parse().expect("base");
            let step: f64 = step.parse::<f64>().expect("step") * sign;
            let times: usize = times.parse().expect("times");
            out.extend((0..=times).map(|i| Some(base + step * i as f64)));
        } else {
            out.push(Some(item.parse().unwrap_or_else(|_| panic!("bad value {item:?}"))));
        }
    }
    out
}

struct PendingStore {
    time_range: (i64, i64),
    series: Vec<(Labels, Vec<(i64, f64)>)>,
}

fn almost_equal(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || ((a - b).abs() / a.abs().max(b.abs())) < 1e-6
}

/// Runs one script; returns the number of evals and the failures.
fn run_script(path: &Path) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(path).expect("read script");
    let lines: Vec<&str> = text.lines().collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut pending: Vec<PendingStore> = Vec::new();
    let mut running: Vec<TestStore> = Vec::new();
    let mut querier: Option<support::Process> = None;
    let mut failures = Vec::new();
    let mut evals = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[0] {
            "store" => {
                let (mint, maxt) = (duration_ms(words[words.len() - 2]), duration_ms(words[words.len() - 1]));
                pending.push(PendingStore { time_range: (mint, maxt), series: Vec::new() });
                querier = None;
            }
            "load" => {
                let interval = duration_ms(words[1]);
                let store = pending.last_mut().expect("load after store");
                while i < lines.len()
                    && lines[i].starts_with(char::is_whitespace)
                    && !lines[i].trim().is_empty()
                {
                    let (labels, values) = split_series(lines[i]);
                    let samples = expand(values)
                        .into_iter()
                        .enumerate()
                        .filter_map(|(n, v)| v.map(|v| (n as i64 * interval, v)))
                        .collect();
                    store.series.push((labels, samples));
                    i += 1;
                }
            }
            "eval" => {
                assert_eq!(words[1], "instant", "only instant evals are supported: {line}");
                let (at_text, query) =
                    line.split_once(" at ").expect("eval at").1.split_once(' ').expect("query");
                let t = duration_ms(at_text);
                let mut expected: Vec<(Labels, f64)> = Vec::new();
                while i < lines.len()
                    && lines[i].starts_with(char::is_whitespace)
                    && !lines[i].trim().is_empty()
                {
                    let (labels, value) = split_series(lines[i]);
                    expected.push((labels, value.parse().expect("expected value")));
                    i += 1;
                }
                if querier.is_none() {
                    running.clear();
                    for store in &pending {
                        let mut memory = MemoryStore::new(store.series.clone());
                        memory.time_range = Some(store.time_range);
                        running.push(TestStore::start(memory));
                    }
                    let args: Vec<String> =
                        running.iter().map(|s| format!("--endpoint={}", s.address)).collect();
                    querier = Some(support::start_querier(&args, dir.path()));
                }
                let port = querier.as_ref().map(|q| q.port).expect("querier");
                let (status, body) =
                    get(port, &format!("/api/v1/query?query={}&time={}", urlencode(query), api_time(t)))
                        .expect("answers");
                evals += 1;
                let json: Json = serde_json::from_str(&body).expect("json");
                if status != 200 {
                    failures.push(format!("{query}: {status} {body}"));
                    continue;
                }
                let mut got: Vec<(Labels, f64)> = match json["data"]["resultType"].as_str() {
                    Some("vector") => json["data"]["result"]
                        .as_array()
                        .expect("result")
                        .iter()
                        .map(|s| {
                            let labels = s["metric"]
                                .as_object()
                                .expect("metric")
                                .iter()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()));
                            (
                                Labels::from_pairs(labels),
                                s["value"][1].as_str().unwrap_or("").parse().unwrap_or(f64::NAN),
                            )
                        })
                        .collect(),
                    Some("scalar") => {
                        vec![(
                            Labels::default(),
                            json["data"]["result"][1].as_str().unwrap_or("").parse().unwrap_or(f64::NAN),
                        )]
                    }
                    other => panic!("unexpected result type {other:?}"),
                };
                got.sort_by(|a, b| a.0.cmp(&b.0));
                expected.sort_by(|a, b| a.0.cmp(&b.0));
                let same = got.len() == expected.len()
                    && got.iter().zip(&expected).all(|(g, w)| g.0 == w.0 && almost_equal(g.1, w.1));
                if !same {
                    failures.push(format!("{query} at {at_text}:\n want {expected:?}\n got  {got:?}"));
                }
            }
            other => panic!("unsupported command {other:?} in {}", path.display()),
        }
    }
    (evals, failures)
}

#[test]
fn thanos_aggregators_script_through_the_fanout() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/promql-tests/thanos/aggregators.test");
    assert!(path.is_file(), "missing Thanos script {}", path.display());
    let (evals, failures) = run_script(&path);
    assert!(evals >= 40, "only {evals} evals ran");
    assert!(failures.is_empty(), "{} of {evals} evals failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn script_pieces_parse() {
    assert_eq!(expand("0+10x2 _ 5"), [Some(0.0), Some(10.0), Some(20.0), None, Some(5.0)]);
    assert_eq!(expand("1-2x1"), [Some(1.0), Some(-1.0)]);
    assert_eq!(duration_ms("10d"), 864_000_000);
    let (labels, rest) = split_series("foo{job=\"a\"} 0+1x2");
    assert_eq!(labels, Labels::from_pairs([("__name__", "foo"), ("job", "a")]));
    assert_eq!(rest, "0+1x2");
}
