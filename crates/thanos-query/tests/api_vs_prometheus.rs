//! End to end: the real `thanos-query` binary, under `/thanos`, over an in-memory StoreAPI
//! serving XOR chunks, against Prometheus 2.42 over the same samples written as blocks. Answers
//! to instant and range queries, series and label calls must be equal; bad queries must fail
//! with the same status and `errorType`. `promtool query` must work against the querier.

mod support;

use std::process::Command;
use std::time::Instant;

use serde_json::Value as Json;
use support::data::{self, H, M, T0};
use support::http::{api_time, get, post_form, urlencode};
use support::store::{MemoryStore, TestStore};

const INSTANT_QUERIES: &[&str] = &[
    "http_requests_total",
    "http_requests_total{code=~\"5..\"}",
    "{__name__=~\"temp.*\"}",
    "rate(http_requests_total[5m])",
    "irate(http_requests_total[5m])",
    "increase(http_requests_total[1h])",
    "resets(http_requests_total[1h])",
    "changes(temperature[30m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum(http_requests_total) by (code)",
    "avg without (instance) (temperature)",
    "max by (instance) (temperature)",
    "count(temperature)",
    "stddev(temperature)",
    "count_values(\"v\", floor(temperature))",
    "topk(2, http_requests_total)",
    "bottomk(1, temperature)",
    "quantile(0.3, temperature)",
    "avg_over_time(temperature[10m])",
    "quantile_over_time(0.5, temperature[15m])",
    "max_over_time(temperature[1h])",
    "deriv(temperature[10m])",
    "predict_linear(temperature[10m], 600)",
    "histogram_quantile(0.9, sum by (le) (rate(req_duration_seconds_bucket[5m])))",
    "temperature > 20",
    "temperature > bool 20",
    "http_requests_total / on(instance, job) group_left sum by (instance, job) (http_requests_total)",
    "http_requests_total and on(instance) temperature",
    "temperature unless on(instance) temperature > 20",
    "temperature offset 30m",
    "rate(http_requests_total[5m] offset 1h)",
    "max_over_time(rate(http_requests_total[5m])[30m:1m])",
    "label_replace(temperature, \"x\", \"$1\", \"instance\", \"(.*)\")",
    "label_join(temperature, \"y\", \"-\", \"instance\", \"job\")",
    "absent(nonexistent)",
    "absent_over_time(temperature[5m])",
    "timestamp(temperature)",
    "scalar(sum(temperature))",
    "vector(1) + 2",
    "1 + 2 * 3",
    "time()",
    "\"a string\"",
    "temperature[5m]",
    "sort_desc(sum by (instance) (temperature))",
    "clamp(temperature, 18, 22)",
    "-temperature ^ 2",
    "ln(temperature) / 0",
];

/// Every other 2.42 function, aggregation and operator, evaluated at the same instants.
const MORE_INSTANT_QUERIES: &[&str] = &[
    "abs(-temperature)",
    "ceil(temperature)",
    "floor(temperature)",
    "round(temperature, 0.5)",
    "sqrt(temperature)",
    "exp(temperature / 10)",
    "log2(temperature)",
    "log10(temperature)",
    "sgn(temperature - 20)",
    "clamp_max(temperature, 20)",
    "clamp_min(temperature, 20)",
    "delta(temperature[10m])",
    "idelta(temperature[10m])",
    "holt_winters(temperature[30m], 0.5, 0.5)",
    "min_over_time(temperature[20m])",
    "sum_over_time(temperature[5m])",
    "count_over_time(temperature[10m])",
    "stddev_over_time(temperature[30m])",
    "stdvar_over_time(temperature[30m])",
    "last_over_time(temperature[10m])",
    "present_over_time(temperature[10m])",
    "day_of_month(timestamp(temperature))",
    "day_of_week()",
    "day_of_year(vector(1704067200))",
    "days_in_month()",
    "hour(timestamp(temperature))",
    "minute()",
    "month()",
    "year(timestamp(temperature))",
    "acos(temperature / 100)",
    "asin(temperature / 100)",
    "atan(temperature)",
    "cos(temperature)",
    "cosh(temperature / 10)",
    "sin(temperature)",
    "sinh(temperature / 10)",
    "tan(temperature)",
    "tanh(temperature)",
    "asinh(temperature)",
    "acosh(temperature)",
    "atanh(temperature / 100)",
    "deg(temperature)",
    "rad(temperature)",
    "pi()",
    "sort(temperature)",
    "group by (job) (http_requests_total)",
    "min(temperature)",
    "stdvar by (job) (http_requests_total)",
    "count by (code) (http_requests_total)",
    "topk by (job) (1, http_requests_total)",
    "bottomk(3, rate(http_requests_total[5m]))",
    "quantile by (job) (0.9, rate(http_requests_total[5m]))",
    "count_values by (job) (\"code_value\", http_requests_total % 7)",
    "avg(temperature) + on() group_left min(temperature)",
    "http_requests_total{code=\"200\"} / ignoring(code) http_requests_total{code=\"500\"}",
    "sum by (instance) (http_requests_total) / on(instance) group_right temperature",
    "temperature % 3",
    "temperature ^ 0.5",
    "atan2(temperature, 10)",
    "temperature == 20",
    "temperature != bool temperature offset 5m",
    "temperature <= 18 or temperature >= 23",
    "http_requests_total{job=\"api\"} or http_requests_total{code=\"500\"}",
    "http_requests_total unless http_requests_total{instance=\"1\"}",
    "vector(time()) - on() group_left timestamp(temperature{instance=\"0\"})",
    "rate(http_requests_total[10m] @ 1704067200)",
    "temperature @ end()",
    "temperature @ start() offset -5m",
    "sum_over_time(temperature[10m:2m] offset 3m)",
    "deriv(avg_over_time(temperature[5m])[20m:])",
    "max_over_time(irate(http_requests_total[1m])[10m:30s])",
    "absent(temperature{instance=\"9\"})",
    "absent_over_time(nonexistent[1h])",
    "label_replace(http_requests_total, \"status\", \"${1}xx\", \"code\", \"(.).*\")",
    "-(temperature)",
    "+temperature",
    "2 ^ 3 ^ 2",
    "(1 > 0) * 5",
    "scalar(temperature{instance=\"0\"}) * temperature",
    "temperature{instance!=\"0\", instance!~\"2\"}",
    "{job=\"sensor\"}",
    "{__name__=~\"http_.*\", code=\"500\"}",
    "changes(http_requests_total[15m])",
    "rate(req_duration_seconds_bucket[5m])",
    "histogram_quantile(0.5, rate(req_duration_seconds_bucket[10m]))",
    "histogram_quantile(1.5, rate(req_duration_seconds_bucket[10m]))",
    "sum(rate(http_requests_total[5m])) by (job) > 0.5",
    "time() > 1704064000",
    "http_requests_total offset 1h > bool http_requests_total",
];

const RANGE_QUERIES: &[&str] = &[
    "http_requests_total",
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "temperature",
    "avg_over_time(temperature[10m])",
    "histogram_quantile(0.9, sum by (le) (rate(req_duration_seconds_bucket[5m])))",
    "topk(2, temperature)",
    "temperature @ 1704067200",
    "sum_over_time(temperature[5m:30s])",
    "increase(http_requests_total{instance=\"1\"}[20m])",
    "time() - timestamp(temperature)",
    "scalar(count(temperature))",
    "1",
    "irate(http_requests_total[1m])",
    "delta(temperature[15m])",
    "sort_desc(max by (instance) (temperature))",
    // Not `bottomk(1, sum by (job) (…))` in a range query: at exact ties 2.42 picks by Go map
    // order, so Prometheus itself answers differently from run to run.
    "sum by (job) (rate(http_requests_total[5m])) * 2",
    "quantile_over_time(0.9, temperature[30m])",
    "label_replace(temperature, \"i\", \"$1\", \"instance\", \"(.*)\")",
    "temperature > on(instance) group_left avg(temperature)",
    "count(http_requests_total offset 30m) by (code)",
    "rate(http_requests_total[5m] @ end())",
    "max_over_time(deriv(temperature[5m])[15m:1m])",
    "absent(temperature{instance=\"2\"})",
    "hour() + minute() / 60",
    "holt_winters(temperature[1h], 0.3, 0.7)",
    "resets(http_requests_total[30m])",
    "count_values(\"x\", round(temperature))",
    "stddev by (job) (http_requests_total)",
];

/// Bad requests: (path and query string, without prefix).
const BAD_REQUESTS: &[&str] = &[
    "/api/v1/query?query=sum(",
    "/api/v1/query?query=rate(temperature)",
    "/api/v1/query?query=temperature&time=abc",
    "/api/v1/query?query=http_requests_total%20%2B%20on(job)%20http_requests_total",
    "/api/v1/query_range?query=temperature[5m]&start=1704060000&end=1704063600&step=60",
    "/api/v1/query_range?query=temperature&start=1704060000&end=1704063600&step=0",
    "/api/v1/query_range?query=temperature&start=1704063600&end=1704060000&step=60",
    "/api/v1/query_range?query=temperature&start=1704060000&end=1704963600&step=1",
    "/api/v1/query_range?query=temperature&start=1704060000&end=1704063600&step=x",
    "/api/v1/query_range?query=temperature&end=1704063600&step=60",
    "/api/v1/series",
    "/api/v1/series?match[]=%7Bjob%3D~%22.*%22%7D",
    "/api/v1/series?match[]=sum(",
    "/api/v1/label/1bad/values",
];

fn parse(body: &str) -> Json {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("invalid JSON ({e}): {body}"))
}

/// Vectors and series lists compare as sets; the rest exactly.
fn normalize(mut json: Json) -> Json {
    if let Some(data) = json.get_mut("data") {
        if let Some(result) = data.get_mut("result").and_then(Json::as_array_mut) {
            result.sort_by_key(|r| r["metric"].to_string());
        } else if let Some(list) = data.as_array_mut() {
            list.sort_by_key(Json::to_string);
        }
    }
    if let Some(obj) = json.as_object_mut() {
        obj.remove("warnings");
        obj.remove("infos");
    }
    json
}

/// Where two JSON answers first differ, for a readable failure.
fn first_difference(ours: &Json, theirs: &Json) -> String {
    match (ours, theirs) {
        (Json::Array(x), Json::Array(y)) => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if p != q {
                    return format!("[{i}] {}", first_difference(p, q));
                }
            }
            format!("lengths {} vs {}", x.len(), y.len())
        }
        (Json::Object(x), Json::Object(y)) => {
            for (k, p) in x {
                if y.get(k) != Some(p) {
                    return format!(".{k} {}", first_difference(p, y.get(k).unwrap_or(&Json::Null)));
                }
            }
            format!("keys {:?} vs {:?}", x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>())
        }
        _ => format!("ours {ours} vs theirs {theirs}"),
    }
}

fn compare(path: &str, ours: (u16, String), theirs: (u16, String), failures: &mut Vec<String>) {
    let (our_status, our_body) = ours;
    let (their_status, their_body) = theirs;
    let (a, b) = (parse(&our_body), parse(&their_body));
    if our_status != their_status {
        failures.push(format!("{path}: status {our_status} vs Prometheus {their_status}\n ours: {our_body}\n theirs: {their_body}"));
        return;
    }
    if b["status"] == "error" {
        if a["errorType"] != b["errorType"] {
            failures.push(format!("{path}: errorType {} vs {}", a["errorType"], b["errorType"]));
        }
        return;
    }
    let (a, b) = (normalize(a), normalize(b));
    if a != b {
        failures.push(format!("{path}: {}", first_difference(&a["data"], &b["data"])));
    }
}

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

    let mut failures = Vec::new();
    let mut count = 0;
    let instants = [T0 + 30 * M, T0 + H + 10 * M, T0 + 2 * H + 20 * M, T0 + 4 * H + 2 * M];
    for query in INSTANT_QUERIES.iter().chain(MORE_INSTANT_QUERIES) {
        for t in instants {
            let path = format!("/api/v1/query?query={}&time={}", urlencode(query), api_time(t));
            let ours = get(querier.port, &format!("/thanos{path}")).expect("querier answers");
            let theirs = get(prometheus.port, &path).expect("prometheus answers");
            compare(&path, ours, theirs, &mut failures);
            count += 1;
        }
    }
    for query in RANGE_QUERIES {
        for (start, end, step) in [(T0 - 10 * M, T0 + 4 * H + 10 * M, "60"), (T0 + 50 * M, T0 + 3 * H, "7m")]
        {
            let path = format!(
                "/api/v1/query_range?query={}&start={}&end={}&step={step}",
                urlencode(query),
                api_time(start),
                api_time(end)
            );
            let ours = get(querier.port, &format!("/thanos{path}")).expect("querier answers");
            let theirs = get(prometheus.port, &path).expect("prometheus answers");
            compare(&path, ours, theirs, &mut failures);
            count += 1;
        }
    }
    // POST with a form body, as Grafana sends it.
    let form = format!("query={}&time={}", urlencode("sum(temperature)"), api_time(T0 + H));
    let ours = post_form(querier.port, "/thanos/api/v1/query", &form).expect("post");
    let theirs = post_form(prometheus.port, "/api/v1/query", &form).expect("post");
    compare("POST /api/v1/query", ours, theirs, &mut failures);
    for path in [
        "/api/v1/series?match[]=temperature&match[]=%7Bjob%3D%22api%22%2Ccode%3D%22500%22%7D",
        "/api/v1/series?match[]=http_requests_total&start=1704060000&end=1704063600",
        "/api/v1/labels",
        "/api/v1/labels?match[]=temperature",
        "/api/v1/label/job/values",
        "/api/v1/label/instance/values?match[]=temperature",
        "/api/v1/label/__name__/values",
    ] {
        let ours = get(querier.port, &format!("/thanos{path}")).expect("querier answers");
        let theirs = get(prometheus.port, path).expect("prometheus answers");
        compare(path, ours, theirs, &mut failures);
        count += 1;
    }
    for path in BAD_REQUESTS {
        let ours = get(querier.port, &format!("/thanos{path}")).expect("querier answers");
        let theirs = get(prometheus.port, path).expect("prometheus answers");
        compare(path, ours, theirs, &mut failures);
        count += 1;
    }
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
    assert_eq!(stores["data"]["store"][0]["lastError"], Json::Null, "{body}");
    let (status, _) = get(querier.port, "/api/v1/query?query=1").expect("unprefixed");
    assert_eq!(status, 404, "the API lives under the prefix only");
    let (status, body) = get(querier.port, "/thanos/graph").expect("ui");
    assert_eq!(status, 200);
    assert!(
        body.contains("href=\"/thanos/graph\"") && body.contains("const P = \"/thanos\""),
        "UI links carry the prefix"
    );

    // promtool against the querier, under its prefix.
    let url = format!("http://127.0.0.1:{}/thanos", querier.port);
    let t = api_time(T0 + H);
    let runs: [Vec<String>; 4] = [
        vec![
            "instant".into(),
            format!("--time={t}"),
            url.clone(),
            "sum by (job) (http_requests_total)".into(),
        ],
        vec![
            "range".into(),
            format!("--start={}", api_time(T0)),
            format!("--end={}", api_time(T0 + H)),
            "--step=5m".into(),
            url.clone(),
            "max(temperature)".into(),
        ],
        vec![
            "series".into(),
            "--match=temperature".into(),
            format!("--start={}", api_time(T0)),
            format!("--end={}", api_time(T0 + H)),
            url.clone(),
        ],
        vec![
            "labels".into(),
            format!("--start={}", api_time(T0)),
            format!("--end={}", api_time(T0 + H)),
            url.clone(),
            "instance".into(),
        ],
    ];
    for args in runs {
        let output = Command::new("promtool").arg("query").args(&args).output().expect("run promtool");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && !stdout.trim().is_empty(),
            "promtool query {args:?}: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    eprintln!("done in {:?}", started.elapsed());
}
