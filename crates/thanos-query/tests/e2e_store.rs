//! End to end over real parts only: promtool blocks uploaded to a bucket → the `thanos-store`
//! binary → the `thanos-query` binary under `/thanos`, against Prometheus 2.42 over the same
//! blocks.
//!
//! * Two data sets: the 4h counters, gauges and histogram of `support::data` (written as
//!   OpenMetrics for promtool), and testkit's generator (counters and gauges) over 2.5 days in
//!   promtool's up-to-24h blocks. Every query of `support::queries` plus the queries below over
//!   the long data, instant and range, give equal answers; bad requests equal status and
//!   `errorType`; `promtool query instant|range|series|labels` prints the same. The same
//!   requests with `dedup=false` (the fan-out's plain read) answer alike but for the replica label.
//! * Two stores over two buckets (filesystem and s3s-fs) holding the same blocks as
//!   `replica="a"` and `replica="b"`: deduplicated answers equal a single replica's; without
//!   deduplication both replicas' series appear.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value as Json;
use support::compare::{compare_all, first_difference, normalize, parse};
use support::http::{api_time, get, urlencode};
use support::promtool::PromtoolQuery;
use support::stack::{StoreBinary, data_blocks, filesystem_bucket, upload};
use testkit::blocks::Generated;
use testkit::prometheus::{Prometheus, PrometheusConfig};
use tsdb_format::Labels;

/// The long data set: testkit's generator, ending 2024-01-04T00:00:00Z, 2.5 days at 60s (it
/// starts after `support::data` ends, so the two sets' blocks do not overlap).
const LONG: Generated = Generated { series: 60, days: 2.5, step_s: 60, end: 1_704_326_400 };
const LONG_START_MS: i64 = (LONG.end as i64 - (2.5 * 86_400.0) as i64) * 1000;
const LONG_END_MS: i64 = LONG.end as i64 * 1000;
const HOUR_MS: i64 = 3_600_000;

/// Queries over the long data: across block boundaries, long ranges and offsets.
const LONG_QUERIES: &[&str] = &[
    "demo_requests_total",
    "demo_temperature{sensor=~\"s1.*\"}",
    "{__name__=~\"demo_.*\", instance=\"host-3\"}",
    "rate(demo_requests_total[5m])",
    "irate(demo_requests_total[10m])",
    "increase(demo_requests_total[1h])",
    "sum by (instance) (rate(demo_requests_total[5m]))",
    "sum without (path) (increase(demo_requests_total[6h]))",
    "avg by (instance) (demo_temperature)",
    "max by (job) (demo_temperature)",
    "min without (sensor) (demo_temperature)",
    "count by (instance) (demo_requests_total)",
    "stddev by (instance) (demo_temperature)",
    "topk(3, demo_temperature)",
    "bottomk(2, rate(demo_requests_total[30m]))",
    "quantile by (instance) (0.75, demo_temperature)",
    "count_values(\"t\", round(demo_temperature))",
    "group by (instance) (demo_requests_total)",
    "max_over_time(demo_temperature[6h])",
    "min_over_time(demo_temperature[1d])",
    "avg_over_time(demo_temperature[2h])",
    "sum_over_time(demo_temperature[30m])",
    "count_over_time(demo_requests_total[1d])",
    "quantile_over_time(0.9, demo_temperature[12h])",
    "stddev_over_time(demo_temperature[1d])",
    "last_over_time(demo_temperature[1h])",
    "changes(demo_temperature[2h])",
    "deriv(demo_temperature[30m])",
    "predict_linear(demo_temperature[1h], 3600)",
    "delta(demo_temperature[1h])",
    "idelta(demo_temperature[15m])",
    "holt_winters(demo_temperature[2h], 0.4, 0.6)",
    "sum(rate(demo_requests_total[1h])) / sum(rate(demo_requests_total[1h] offset 1d))",
    "demo_temperature - on(instance) group_left avg by (instance) (demo_temperature)",
    "demo_requests_total unless on(instance) demo_temperature > 24",
    "demo_temperature > bool 22",
    "avg_over_time(sum by (job) (rate(demo_requests_total[5m]))[1h:5m])",
    "max_over_time(deriv(demo_temperature[10m])[3h:10m] offset 2h)",
    "demo_temperature @ 1704240000",
    "rate(demo_requests_total[1h] @ end())",
    "label_replace(demo_requests_total, \"p\", \"$1\", \"path\", \"/(.*)\")",
    "absent(demo_temperature{sensor=\"none\"})",
    "timestamp(demo_temperature{sensor=\"s2\"})",
    "sort_desc(sum by (instance) (demo_temperature))",
    "clamp(demo_temperature, 18, 23) * 2 - 1",
];

/// Series and label calls over the long data.
fn long_metadata() -> Vec<String> {
    let (start, end) = (api_time(LONG_START_MS + 6 * HOUR_MS), api_time(LONG_END_MS - 3 * HOUR_MS));
    vec![
        format!("/api/v1/series?match[]=demo_temperature&start={start}&end={end}"),
        format!("/api/v1/series?match[]=%7Binstance%3D%22host-3%22%7D&start={start}&end={end}"),
        format!("/api/v1/labels?start={start}&end={end}"),
        format!("/api/v1/labels?match[]=demo_requests_total&start={start}&end={end}"),
        format!("/api/v1/label/path/values?start={start}&end={end}"),
        format!("/api/v1/label/sensor/values?match[]=%7Binstance%3D%22host-1%22%7D&start={start}&end={end}"),
    ]
}

/// Every request over the long data: each query at three instants and over two ranges.
fn long_requests() -> Vec<String> {
    let instants = [LONG_START_MS + 30 * 60_000, LONG_START_MS + 26 * HOUR_MS + 7_000, LONG_END_MS + 60_000];
    let ranges = [
        (LONG_START_MS - HOUR_MS, LONG_END_MS + HOUR_MS, "20m"),
        (LONG_START_MS + 11 * HOUR_MS, LONG_START_MS + 15 * HOUR_MS, "90"),
    ];
    let mut out = Vec::new();
    for query in LONG_QUERIES {
        for t in instants {
            out.push(format!("/api/v1/query?query={}&time={}", urlencode(query), api_time(t)));
        }
        for (start, end, step) in ranges {
            out.push(format!(
                "/api/v1/query_range?query={}&start={}&end={}&step={step}",
                urlencode(query),
                api_time(start),
                api_time(end)
            ));
        }
    }
    out.extend(long_metadata());
    out
}

/// The distinct PromQL expressions among `requests`.
fn distinct_queries(requests: &[String]) -> BTreeSet<String> {
    requests
        .iter()
        .filter_map(|r| r.split(['?', '&']).find_map(|p| p.strip_prefix("query=")))
        .map(str::to_string)
        .collect()
}

/// promtool blocks of both data sets.
fn all_blocks(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut blocks = data_blocks(&dir.join("data-blocks"));
    blocks.extend(testkit::blocks::generate(LONG, &dir.join("long-blocks"), &["--max-block-duration=24h"]));
    blocks
}

#[test]
fn store_and_querier_answer_as_prometheus() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let blocks = all_blocks(dir.path());
    assert!(blocks.len() >= 5, "several blocks: {blocks:?}");
    let bucket = filesystem_bucket(&dir.path().join("bucket"));
    // Thanos blocks carry external labels; as with one Prometheus of an HA pair, the querier
    // drops the replica label, so the answers must equal Prometheus' label for label.
    upload(&bucket, &blocks, &Labels::from_pairs([("replica", "0")]));
    let store = StoreBinary::start(&bucket, dir.path(), &[]);
    let querier = support::start_querier(
        &[
            store.endpoint_flag(),
            "--query.replica-label=replica".to_string(),
            "--web.external-prefix=/thanos".to_string(),
        ],
        dir.path(),
    );
    let prometheus =
        Prometheus::start(PrometheusConfig { seed_blocks: blocks, ..PrometheusConfig::default() });
    eprintln!("setup took {:?}", started.elapsed());

    let mut requests = support::queries::requests();
    requests.extend(long_requests());
    let queries = distinct_queries(&requests);
    assert!(queries.len() >= 200, "only {} different queries", queries.len());
    let failures = compare_all(querier.port, "/thanos", prometheus.port, &requests);
    eprintln!(
        "{} requests ({} different queries) compared in {:?}",
        requests.len(),
        queries.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{} of {} differ:\n{}", failures.len(), requests.len(), failures.join("\n"));

    // The fan-out's plain read (`dedup=false`) of the same series, replica label aside, must
    // answer as the deduplicating read does.
    let mut plain_failures = Vec::new();
    for path in &requests {
        let (dedup_status, deduped) = get(querier.port, &format!("/thanos{path}")).expect("answers");
        let separator = if path.contains('?') { '&' } else { '?' };
        let (plain_status, plain) =
            get(querier.port, &format!("/thanos{path}{separator}dedup=false")).expect("answers");
        let (deduped, plain) = (parse(&deduped), without_replica(parse(&plain)));
        if dedup_status != plain_status || normalize(deduped.clone()) != normalize(plain.clone()) {
            plain_failures.push(format!("{path}: {}", first_difference(&plain, &deduped)));
        }
    }
    assert!(plain_failures.is_empty(), "dedup=false differs:\n{}", plain_failures.join("\n"));
    eprintln!("{} requests answered alike with dedup=false in {:?}", requests.len(), started.elapsed());

    let (_, body) = get(querier.port, "/thanos/api/v1/stores").expect("stores");
    let stores: Json = serde_json::from_str(&body).expect("json");
    assert_eq!(stores["data"]["store"][0]["name"], format!("127.0.0.1:{}", store.grpc_port), "{body}");

    let ours = format!("http://127.0.0.1:{}/thanos", querier.port);
    let ran = support::promtool::assert_same_output(&promtool_queries(), &ours, &prometheus.url());
    eprintln!("{ran} promtool commands gave equal output; done in {:?}", started.elapsed());
}

/// `promtool query` over a day of the long data, crossing a block boundary.
fn promtool_queries() -> Vec<PromtoolQuery> {
    let (from, to) = (LONG_START_MS + 12 * HOUR_MS, LONG_START_MS + 36 * HOUR_MS);
    let (start, end) = (format!("--start={}", api_time(from)), format!("--end={}", api_time(to)));
    vec![
        PromtoolQuery {
            command: "instant",
            flags: vec![format!("--time={}", api_time(to))],
            args: vec!["sum by (instance) (rate(demo_requests_total[5m]))".into()],
        },
        PromtoolQuery {
            command: "range",
            flags: vec![start.clone(), end.clone(), "--step=1h".into()],
            args: vec!["max by (instance) (demo_temperature)".into()],
        },
        PromtoolQuery {
            command: "series",
            flags: vec!["--match=demo_temperature{instance=\"host-2\"}".into(), start.clone(), end.clone()],
            args: vec![],
        },
        PromtoolQuery { command: "labels", flags: vec![start, end], args: vec!["sensor".into()] },
    ]
}

/// An answer with the `replica` label (and label name) removed.
fn without_replica(mut json: Json) -> Json {
    let Some(data) = json.get_mut("data") else {
        return json;
    };
    let items = match data.get_mut("result") {
        Some(result) => result.as_array_mut(),
        None => data.as_array_mut(),
    };
    for item in items.into_iter().flatten() {
        if let Some(metric) = item.get_mut("metric").and_then(Json::as_object_mut) {
            metric.remove("replica");
        } else if let Some(labels) = item.as_object_mut() {
            labels.remove("replica");
        }
    }
    if let Some(names) = json["data"].as_array_mut() {
        names.retain(|name| name != "replica");
    }
    json
}

/// The JSON of a successful GET.
fn query(port: u16, path: &str) -> Json {
    let (status, body) = get(port, path).expect("answers");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("json")
}

#[test]
fn replicas_in_two_buckets_are_deduplicated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocks = data_blocks(&dir.path().join("blocks"));
    let replica = |name: &str| Labels::from_pairs([("cluster", "eu"), ("replica", name)]);
    let bucket_a = filesystem_bucket(&dir.path().join("bucket-a"));
    upload(&bucket_a, &blocks, &replica("a"));
    let s3 = objstore::testing::S3sFsServer::with_buckets(&["replica-b"]);
    let bucket_b = s3.config_yaml("replica-b", objstore::testing::SECRET_KEY);
    upload(&bucket_b, &blocks, &replica("b"));
    let (store_a, store_b) =
        (StoreBinary::start(&bucket_a, dir.path(), &[]), StoreBinary::start(&bucket_b, dir.path(), &[]));
    let replica_flag = "--query.replica-label=replica".to_string();
    let both = support::start_querier(
        &[store_a.endpoint_flag(), store_b.endpoint_flag(), replica_flag.clone()],
        dir.path(),
    );
    let single = support::start_querier(&[store_a.endpoint_flag(), replica_flag], dir.path());

    let t0 = support::data::T0;
    let range = |q: &str| {
        format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=60",
            urlencode(q),
            api_time(t0),
            api_time(t0 + 4 * HOUR_MS)
        )
    };
    for q in ["temperature", "rate(http_requests_total[5m])", "sum by (job) (http_requests_total)"] {
        let deduped = query(both.port, &range(q));
        let one = query(single.port, &range(q));
        assert_eq!(deduped["data"], one["data"], "{q}: deduplicated answer equals one replica's");
        let result = deduped["data"]["result"].as_array().expect("matrix");
        assert!(!result.is_empty(), "{q}");
        assert!(result.iter().all(|s| s["metric"].get("replica").is_none()), "{q}: replica label removed");
    }
    let raw = query(both.port, &format!("{}&dedup=false", range("temperature")));
    let replicas: Vec<&str> = raw["data"]["result"]
        .as_array()
        .expect("matrix")
        .iter()
        .filter_map(|s| s["metric"]["replica"].as_str())
        .collect();
    assert_eq!(replicas.len(), 6, "3 series from each replica: {replicas:?}");
    assert_eq!(replicas.iter().filter(|r| **r == "a").count(), 3);
    let series = query(both.port, "/api/v1/series?match[]=temperature");
    assert_eq!(series["data"].as_array().map(Vec::len), Some(3), "{series}");
    let series = query(both.port, "/api/v1/series?match[]=temperature&dedup=false");
    assert_eq!(series["data"].as_array().map(Vec::len), Some(6), "{series}");
}
