//! End to end: the real `thanos-query` binary, under `/thanos`, over an in-memory StoreAPI
//! serving XOR chunks, against Prometheus 2.42 over the same samples written as blocks. Answers
//! to instant and range queries, series and label calls must be equal; bad queries must fail
//! with the same status and `errorType`. `promtool query` must give the same output against both.
//! (`e2e_store.rs` does the same over promtool blocks served by the real `thanos-store`.)

mod support;

use std::time::Instant;

use support::compare::{compare, compare_all, parse};
use support::data::{self, H, T0};
use support::http::{api_time, get, post_form, urlencode};
use support::promtool::PromtoolQuery;
use support::store::{MemoryStore, TestStore};

#[test]
fn answers_equal_prometheus_2_42() {
    support::require("prometheus");
    support::require("promtool");
    let started = Instant::now();
    let series = data::generate();
    let dir = tempfile::tempdir().expect("tempdir");
    let prom_data = dir.path().join("prom");
    std::fs::create_dir_all(&prom_data).expect("mkdir");
    data::write_blocks(&series, &prom_data);
    let prometheus = support::start_prometheus(&prom_data, dir.path());

    let store = TestStore::start(MemoryStore::new(series));
    let querier = support::start_querier(
        &[format!("--endpoint={}", store.address), "--web.external-prefix=/thanos".to_string()],
        dir.path(),
    );
    eprintln!("setup took {:?}", started.elapsed());

    let requests = support::queries::requests();
    let mut failures = compare_all(querier.port, "/thanos", prometheus.port, &requests);
    let mut count = requests.len();
    // POST with a form body, as Grafana sends it.
    let form = format!("query={}&time={}", urlencode("sum(temperature)"), api_time(T0 + H));
    let ours = post_form(querier.port, "/thanos/api/v1/query", &form).expect("post");
    let theirs = post_form(prometheus.port, "/api/v1/query", &form).expect("post");
    compare("POST /api/v1/query", ours, theirs, &mut failures);
    count += 1;
    eprintln!("{count} requests compared in {:?}", started.elapsed());
    assert!(failures.is_empty(), "{} of {count} differ:\n{}", failures.len(), failures.join("\n"));

    // Thanos' own endpoints and the empty ones Grafana asks for.
    for path in [
        "/api/v1/status/buildinfo",
        "/api/v1/metadata",
        "/api/v1/rules",
        "/api/v1/alerts",
        "/api/v1/targets",
        "/api/v1/status/flags",
    ] {
        let (status, body) = get(querier.port, &format!("/thanos{path}")).expect("answers");
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(parse(&body)["status"], "success", "{path}");
    }
    let (_, body) = get(querier.port, "/thanos/api/v1/stores").expect("stores");
    let stores = parse(&body);
    assert_eq!(stores["data"]["store"][0]["name"], store.address.to_string(), "{body}");
    assert_eq!(stores["data"]["store"][0]["lastError"], serde_json::Value::Null, "{body}");
    let (status, _) = get(querier.port, "/api/v1/query?query=1").expect("unprefixed");
    assert_eq!(status, 404, "the API lives under the prefix only");
    let (status, body) = get(querier.port, "/thanos/graph").expect("ui");
    assert_eq!(status, 200);
    // The UI's own tests (ui_*.rs) look at the page; here only that it is under the prefix.
    assert!(body.contains("href=\"/thanos/graph\""), "UI links carry the prefix");

    // promtool against the querier, under its prefix, and against Prometheus.
    let ours = format!("http://127.0.0.1:{}/thanos", querier.port);
    let theirs = format!("http://127.0.0.1:{}", prometheus.port);
    let ran = support::promtool::assert_same_output(&promtool_queries(), &ours, &theirs);
    eprintln!("{ran} promtool commands gave equal output");
    eprintln!("done in {:?}", started.elapsed());
}

/// `promtool query` over the data's first hour.
fn promtool_queries() -> Vec<PromtoolQuery> {
    let (start, end) = (format!("--start={}", api_time(T0)), format!("--end={}", api_time(T0 + H)));
    vec![
        PromtoolQuery {
            command: "instant",
            flags: vec![format!("--time={}", api_time(T0 + H))],
            args: vec!["sum by (job) (http_requests_total)".into()],
        },
        PromtoolQuery {
            command: "range",
            flags: vec![start.clone(), end.clone(), "--step=5m".into()],
            args: vec!["max by (instance) (temperature)".into()],
        },
        PromtoolQuery {
            command: "series",
            flags: vec!["--match=temperature".into(), start.clone(), end.clone()],
            args: vec![],
        },
        PromtoolQuery { command: "labels", flags: vec![start, end], args: vec!["instance".into()] },
    ]
}
