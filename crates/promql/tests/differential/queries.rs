//! The generated queries, by category, and the times they are evaluated at.
//!
//! Every query runs twice: as an instant query (at one of [`instant_time`]) and as a range query
//! (over one of [`range_params`]), so half the comparisons are instant and half range. Queries in
//! the `error` category must fail in Prometheus; in other categories a failure is fine as long
//! as both engines fail the same way (e.g. a range vector in a range query).

use crate::data::{H, M, S, T0};

/// One query to compare.
#[derive(Debug, Clone)]
pub(crate) struct QuerySpec {
    /// Its category, for the summary.
    pub(crate) category: &'static str,
    /// The PromQL text.
    pub(crate) expr: String,
}

/// Instant evaluation times: block boundaries, resets, staleness, gaps, before and after the data.
const INSTANTS: [i64; 10] = [
    T0 + H,
    T0 + 2 * H,
    T0 + 2 * H + 30 * M + 7_500,
    T0 + 4 * H + 12 * M + 34_567,
    T0 + 7 * H + 33 * M,
    T0 + 4 * H - 1,
    T0 + 10 * M,
    T0 + 5 * H + 1,
    T0 + 2 * H + 37 * M,
    T0 + H + 10 * M,
];

/// Range queries: (start, end, step) in ms; steps of 15s, 30s, 60s and 7m.
const RANGES: [(i64, i64, i64); 6] = [
    (T0 + H, T0 + 3 * H, 60 * S),
    (T0, T0 + 8 * H, 7 * M),
    (T0 + 2 * H + 25 * M, T0 + 2 * H + 40 * M, 15 * S),
    (T0 + 3 * H + 50 * M + 12_300, T0 + 4 * H + 20 * M, 15 * S),
    (T0 + 6 * H, T0 + 7 * H + 40 * M, 60 * S),
    (T0 + 50 * M, T0 + H + 30 * M, 30 * S),
];

/// The instant evaluation time for the `i`-th query.
pub(crate) fn instant_time(i: usize) -> i64 {
    INSTANTS[i % INSTANTS.len()]
}

/// The range parameters for the `i`-th query.
pub(crate) fn range_params(i: usize) -> (i64, i64, i64) {
    RANGES[(i * 5 + 1) % RANGES.len()]
}

/// `T0 + ms` as the seconds an `@` modifier takes.
fn at(ms: i64) -> String {
    let t = T0 + ms;
    if t % 1000 == 0 { format!("{}", t / 1000) } else { format!("{}.{:03}", t / 1000, t % 1000) }
}

/// All queries, distinct, in a fixed order.
pub(crate) fn all() -> Vec<QuerySpec> {
    let mut out: Vec<QuerySpec> = Vec::new();
    let mut add = |category: &'static str, expr: String| {
        if !out.iter().any(|q| q.expr == expr) {
            out.push(QuerySpec { category, expr });
        }
    };

    // --- Plain selectors, instant and range.
    for s in [
        "http_requests_total",
        r#"http_requests_total{job="api"}"#,
        r#"http_requests_total{code!="200"}"#,
        r#"http_requests_total{instance=~"10\\.0\\.0\\..*"}"#,
        r#"http_requests_total{method!~"g.*",job="web"}"#,
        r#"{__name__=~"node_.*"}"#,
        r#"{__name__=~"http_request_duration_seconds_(sum|count)", instance="10.0.0.1:8080"}"#,
        r#"{job="node"}"#,
        r#"node_temperature_celsius{sensor="s2"}"#,
        "weird_gauge",
        "gappy_gauge",
        "batch_last_success_timestamp_seconds",
        "late_metric",
        "early_metric",
        "nonexistent_metric",
        r#"up{job=~"api|web"}"#,
        "job:http_requests:rate5m",
        r#"http_requests_total{job=""}"#,
        r#"{__name__="up", job!=""}"#,
        "process_cpu_seconds_total",
        "dup_metric",
        r#"http_requests_total{job="api"}[5m]"#,
        "process_cpu_seconds_total[1m]",
        "batch_last_success_timestamp_seconds[10m]",
        "gappy_gauge[1h]",
        r#"weird_gauge{kind="inf"}[5m]"#,
        r#"up{instance=~".*:80"}[90s]"#,
        r#"up{instance=~"10.0.0.1"}"#,
        r#"up{job=~"ap"}"#,
        r#"up{job!~"ap"}"#,
        r#"up{job=~"API"}"#,
        r#"up{job=~"(?i)API"}"#,
        r#"{__name__=~"up|build_info", job="web"}"#,
        "weird_labels",
        r#"weird_labels{path="/a\"b\\c"}"#,
        r#"weird_labels{user=~"é.*"}"#,
        r#"weird_labels{user=""}"#,
    ] {
        add("selector", s.to_string());
    }

    // --- offset and @.
    let t2h = at(2 * H);
    let t3h = at(3 * H + 7 * M + 500);
    for s in [
        "http_requests_total offset 5m".to_string(),
        "http_requests_total offset -5m".to_string(),
        "http_requests_total offset 1h".to_string(),
        "rate(http_requests_total[5m] offset 10m)".to_string(),
        "rate(http_requests_total[5m] offset -1h)".to_string(),
        format!("node_temperature_celsius @ {t2h}"),
        format!("node_temperature_celsius @ {t3h}"),
        format!("rate(http_requests_total[5m] @ {t3h})"),
        "http_requests_total @ start()".to_string(),
        "http_requests_total @ end()".to_string(),
        "rate(http_requests_total[5m] @ end())".to_string(),
        "sum(rate(http_requests_total[1h] @ start()))".to_string(),
        format!("http_requests_total @ {t2h} offset 10m"),
        format!("http_requests_total offset 10m @ {t2h}"),
        "node_temperature_celsius @ 100".to_string(),
        "late_metric @ end() offset 1h".to_string(),
        "max_over_time(node_temperature_celsius[1h] @ start())".to_string(),
        "sum_over_time(gappy_gauge[5m] offset 1h)".to_string(),
        "http_requests_total - http_requests_total offset 1m".to_string(),
        format!("timestamp(http_requests_total @ {t3h})"),
        format!("up @ {t2h} + on(job, instance) up"),
        "batch_last_success_timestamp_seconds offset -2h".to_string(),
        "gappy_gauge offset 7m30s".to_string(),
        format!("sum by (job) (up @ {t2h})"),
        format!("timestamp(up @ {t2h})"),
        format!("predict_linear(node_temperature_celsius[30m] @ {t3h}, 600)"),
        "max_over_time(up[10m:1m] offset 3m)".to_string(),
        "http_requests_total offset -7h".to_string(),
        format!("rate(http_requests_total[5m:1m] @ {t2h})"),
    ] {
        add("offset_at", s);
    }

    // --- Range-vector functions.
    let pairs = [
        ("http_requests_total", "5m"),
        ("process_cpu_seconds_total", "1m"),
        ("node_temperature_celsius", "1h"),
        ("http_request_duration_seconds_count", "90s"),
        ("weird_gauge", "5m"),
        ("batch_last_success_timestamp_seconds", "10m"),
        ("late_metric", "1h"),
        ("gappy_gauge", "5m"),
        (r#"http_requests_total{job="web"}"#, "1m"),
        ("up", "2m"),
        ("early_metric", "30m"),
        ("process_cpu_seconds_total", "1h"),
        (r#"http_requests_total{instance="10.0.0.2:8080"}"#, "15s"),
    ];
    let range_fns = [
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "changes",
        "resets",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "last_over_time",
        "present_over_time",
        "absent_over_time",
    ];
    for (i, f) in range_fns.iter().enumerate() {
        for k in 0..3 {
            let (sel, range) = pairs[(i * 3 + k) % pairs.len()];
            add("range_fn", format!("{f}({sel}[{range}])"));
        }
    }
    for (k, q) in ["0", "0.5", "0.9", "1", "-1", "2"].iter().enumerate() {
        let (sel, range) = pairs[(k * 2) % pairs.len()];
        add("range_fn", format!("quantile_over_time({q}, {sel}[{range}])"));
    }
    for s in [
        "absent_over_time(nonexistent_metric[5m])",
        r#"absent_over_time(nonexistent_metric{job="x", instance=~"y"}[5m])"#,
        "predict_linear(node_temperature_celsius[1h], 3600)",
        "predict_linear(http_requests_total[5m], -600)",
        "predict_linear(gappy_gauge[30m], 0)",
        "holt_winters(node_temperature_celsius[1h], 0.5, 0.5)",
        "holt_winters(http_requests_total[10m], 0.1, 0.9)",
        "holt_winters(weird_gauge[5m], 0.3, 0.3)",
        r#"rate(weird_gauge{kind="nan"}[5m])"#,
        r#"deriv(weird_gauge{kind="huge"}[5m])"#,
        "increase(http_request_duration_seconds_bucket[1h])",
        "irate(process_cpu_seconds_total[1h])",
        "changes(batch_last_success_timestamp_seconds[3h])",
        "deriv(process_cpu_seconds_total[5m])",
        "predict_linear(process_cpu_seconds_total[10m], 120)",
        "rate(late_metric[10m])",
        "increase(late_metric[1h])",
        "resets(gappy_gauge[1h])",
        r#"stddev_over_time(weird_gauge{kind="huge"}[5m])"#,
        r#"sum_over_time(weird_gauge{kind="inf"}[10m])"#,
        r#"avg_over_time(weird_gauge{kind="huge"}[10m])"#,
        r#"quantile_over_time(0.5, weird_gauge{kind="nan"}[10m])"#,
        "holt_winters(early_metric[20s], 0.5, 0.5)",
        r#"min_over_time(weird_gauge{kind=~"nan|inf"}[5m])"#,
        r#"max_over_time(weird_gauge{kind=~"nan|inf"}[5m])"#,
    ] {
        add("range_fn", s.to_string());
    }

    // --- Instant-vector math.
    let math_fns = [
        "abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "sgn", "acos", "acosh", "asin",
        "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad",
    ];
    let math_args =
        ["weird_gauge", "node_temperature_celsius", "ratio", "node_memory_free_bytes", "gappy_gauge"];
    for (i, f) in math_fns.iter().enumerate() {
        for k in 0..2 {
            add("math_fn", format!("{f}({})", math_args[(i + k * 2) % math_args.len()]));
        }
    }
    for s in [
        "round(node_temperature_celsius)",
        "round(node_temperature_celsius, 5)",
        "round(ratio, 0.3)",
        "round(node_memory_free_bytes, -2)",
        "round(weird_gauge, 0.5)",
        "clamp(node_temperature_celsius, -5, 5)",
        "clamp(node_temperature_celsius, 5, -5)",
        "clamp_min(gappy_gauge, 0)",
        "clamp_max(weird_gauge, 0)",
        "clamp(weird_gauge, -Inf, Inf)",
        "exp(http_requests_total)",
        "abs(-node_temperature_celsius)",
        "sqrt(-1 * up)",
        "ln(weird_gauge) * 0",
        "ceil(-ratio)",
        "node_temperature_celsius * 0",
        "-up * 0",
        "-0",
        "0 * -1",
    ] {
        add("math_fn", s.to_string());
    }

    // --- Date and time.
    for f in
        ["day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"]
    {
        add("time_fn", format!("{f}()"));
        add("time_fn", format!("{f}(backup_timestamp_seconds)"));
        add("time_fn", format!(r#"{f}(timestamp(http_requests_total{{job="api"}}))"#));
    }
    for s in [
        "time()",
        "timestamp(node_temperature_celsius)",
        "timestamp(batch_last_success_timestamp_seconds)",
        "timestamp(process_cpu_seconds_total)",
        "timestamp(http_requests_total offset 5m)",
        "vector(time())",
        "time() - timestamp(up)",
        "timestamp(timestamp(up))",
        "minute(vector(time() + 59))",
    ] {
        add("time_fn", s.to_string());
    }

    // --- Label manipulation.
    for s in [
        r#"label_replace(http_requests_total, "host", "$1", "instance", "(.*):.*")"#,
        r#"label_replace(up, "foo", "bar", "nonexistent", "")"#,
        r#"label_replace(up, "foo", "$1-$2", "instance", "(\\d+)\\.(\\d+).*")"#,
        r#"label_replace(up, "job", "${1}x", "job", "(a)pi")"#,
        r#"label_replace(node_temperature_celsius, "__name__", "renamed", "__name__", ".*")"#,
        r#"label_replace(up, "new", "$name", "instance", "(?P<name>[^:]+).*")"#,
        r#"label_replace(up, "instance", "", "instance", "10\\.0\\.0\\.1:.*")"#,
        r#"label_replace(up, "foo", "$0", "job", "nomatch")"#,
        r#"label_join(up, "combined", "-", "job", "instance")"#,
        r#"label_join(up, "job", "", "instance")"#,
        r#"label_join(http_requests_total, "x", ",", "method", "code", "nonexistent")"#,
        r#"label_join(up, "empty", "-")"#,
        r#"label_join(rate(http_requests_total[5m]), "__name__", "_", "job", "method")"#,
        r#"label_replace(up, "foo", "$10-${1}0", "instance", "(1)(0).*")"#,
        r#"label_replace(weird_labels, "p2", "<$1>", "path", "/(.*)")"#,
        r#"label_join(weird_labels, "both", "\"", "path", "user")"#,
    ] {
        add("label_fn", s.to_string());
    }

    // --- Other functions.
    for s in [
        "absent(nonexistent_metric)",
        r#"absent(nonexistent_metric{job="x", instance=~"y"})"#,
        "absent(up)",
        "absent(sum(nonexistent_metric))",
        r#"absent(nonexistent_metric{job="a", job="b"})"#,
        "absent(late_metric)",
        "absent_over_time(up[5m])",
        "sort(node_temperature_celsius)",
        "sort_desc(node_temperature_celsius)",
        "sort(weird_gauge)",
        "sort_desc(weird_gauge)",
        "sort(rate(http_requests_total[5m]))",
        "sort_desc(sum by (job, instance) (http_requests_total))",
        r#"scalar(up{instance="10.0.0.1:8080"})"#,
        "scalar(up)",
        "scalar(nonexistent_metric)",
        "vector(1)",
        r#"vector(scalar(up{job="api",instance="10.0.0.1:8080"}))"#,
        "scalar(sum(up)) * 2",
        "pi()",
        "histogram_count(http_request_duration_seconds_bucket)",
        "histogram_sum(http_request_duration_seconds_bucket)",
        "histogram_fraction(0, 0.5, http_request_duration_seconds_bucket)",
    ] {
        add("other_fn", s.to_string());
    }

    // --- Classic histograms.
    let b = "http_request_duration_seconds_bucket";
    for s in [
        format!("histogram_quantile(0.5, {b})"),
        format!("histogram_quantile(0.9, rate({b}[5m]))"),
        format!("histogram_quantile(0.99, sum by (le) (rate({b}[5m])))"),
        format!("histogram_quantile(0.5, sum by (le, method) (rate({b}[1m])))"),
        format!("histogram_quantile(0, sum by (le) (rate({b}[5m])))"),
        format!("histogram_quantile(1, sum by (le) (rate({b}[5m])))"),
        format!("histogram_quantile(-0.5, sum by (le) (rate({b}[5m])))"),
        format!("histogram_quantile(1.5, sum by (le) (rate({b}[5m])))"),
        format!("histogram_quantile(NaN, sum by (le) (rate({b}[5m])))"),
        format!("histogram_quantile(0.5, sum without (instance) (increase({b}[1h])))"),
        format!("histogram_quantile(0.75, sum by (job, le) (rate({b}[5m])))"),
        format!(r#"histogram_quantile(0.5, {b}{{le!="+Inf"}})"#),
        format!(r#"histogram_quantile(0.5, rate({b}{{instance="10.0.0.1:8080",method="post"}}[1m]))"#),
        format!(r#"histogram_quantile(scalar(up{{instance="10.0.0.1:8080"}}) * 0.9, rate({b}[5m]))"#),
        format!("histogram_quantile(0.5, {b} offset 1h)"),
        format!(r#"histogram_quantile(0.5, {b}{{le=~"0.1|1|\\+Inf"}})"#),
        "rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])"
            .to_string(),
        format!("histogram_quantile(0.5, label_replace({b}, \"le\", \"x\", \"le\", \"0.5\"))"),
    ] {
        add("histogram", s);
    }

    // --- Aggregations.
    let inputs = [
        "http_requests_total",
        "rate(http_requests_total[5m])",
        "node_temperature_celsius",
        "weird_gauge",
        "up",
        "nonexistent_metric",
    ];
    let groupings = [
        "",
        " by (job)",
        " without (instance)",
        " by ()",
        " by (nonexistent)",
        " by (job, method)",
        " without (method, code)",
        " without ()",
    ];
    for (i, agg) in ["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count"].iter().enumerate() {
        for (k, input) in inputs.iter().enumerate() {
            let g = groupings[(i + k) % groupings.len()];
            add("aggregation", format!("{agg}{g} ({input})"));
        }
        add("aggregation", format!("{agg}(http_requests_total) by (job, instance)"));
    }
    for s in [
        "topk(1, http_requests_total)",
        "topk(2, http_requests_total) by (job)",
        "topk(0, up)",
        "topk(-1, up)",
        "topk(100, node_temperature_celsius)",
        "topk(1.5, node_temperature_celsius)",
        "topk(2, weird_gauge)",
        "bottomk(1, http_requests_total)",
        "bottomk(2, node_temperature_celsius) by (sensor)",
        "bottomk(3, weird_gauge)",
        "bottomk(1, rate(http_requests_total[5m])) without (method)",
        r#"topk(scalar(up{instance="10.0.0.1:8080"}), http_requests_total)"#,
        "quantile(0, node_temperature_celsius)",
        "quantile(0.5, node_temperature_celsius)",
        "quantile(0.9, rate(http_requests_total[5m])) by (job)",
        "quantile(1, node_temperature_celsius) without (sensor)",
        "quantile(-0.5, up)",
        "quantile(1.5, up)",
        "quantile(0.5, weird_gauge)",
        "quantile(NaN, up)",
        r#"count_values("value", version_gauge)"#,
        r#"count_values("job", version_gauge)"#,
        r#"count_values("v", version_gauge) by (job)"#,
        r#"count_values("v", weird_gauge)"#,
        r#"count_values("v", node_temperature_celsius)"#,
        r#"count_values("v", backup_timestamp_seconds)"#,
        "avg(weird_gauge)",
        r#"sum(weird_gauge{kind="huge"})"#,
        r#"avg(weird_gauge{kind="huge"})"#,
        r#"stddev(weird_gauge{kind="tiny"})"#,
        r#"stdvar(weird_gauge{kind=~"inf|neg"})"#,
        "group(up) by (job)",
        "sum(sum by (job) (http_requests_total))",
        "count(count by (job) (up))",
        "max(nonexistent_metric)",
        "sum(vector(1))",
        "count(vector(time()))",
        "sum by (job) (rate(http_requests_total[5m]))",
        "avg without (sensor) (node_temperature_celsius)",
        "max by (__name__) ({job=\"node\"})",
        "sum without (__name__) ({job=\"node\"})",
        "count by (le) (http_request_duration_seconds_bucket)",
        "min by (kind) (weird_gauge)",
        "max by (job) (weird_gauge)",
        "min by (job) (weird_gauge)",
        r#"topk(1, weird_gauge{kind=~"nan|inf"}) by (job)"#,
        r#"sort_desc(weird_gauge{kind=~"nan|zero|neg"})"#,
        r#"sort(weird_gauge{kind=~"nan|zero|neg"})"#,
        r#"count_values("le", http_request_duration_seconds_bucket)"#,
        r#"quantile(0.5, weird_gauge{kind=~"nan|inf"})"#,
        "stddev by (job) (weird_gauge)",
        r#"sum by (path) (weird_labels)"#,
    ] {
        add("aggregation", s.to_string());
    }

    // --- Arithmetic.
    let operands = [
        ("http_requests_total", "2"),
        ("3", "node_temperature_celsius"),
        ("node_temperature_celsius", "node_temperature_celsius offset 1m"),
        ("7", "2"),
        ("weird_gauge", "0"),
    ];
    for op in ["+", "-", "*", "/", "%", "^", "atan2"] {
        for (l, r) in operands {
            add("arith", format!("{l} {op} {r}"));
        }
    }
    for s in [
        "-http_requests_total",
        "-(-1)",
        "2 ^ 3 ^ 2",
        "-2 ^ 2",
        "1 + 2 * 3 - 4 / 2 % 3",
        "(1 + 2) * 3",
        "node_memory_free_bytes / 1024 / 1024",
        "rate(http_requests_total[5m]) * 60",
        r#"http_requests_total{job="api"} + http_requests_total{job="web"}"#,
        "up + up",
        "dup_metric % 3",
        "node_temperature_celsius atan2 1",
        "time() - 60",
        r#"scalar(up{instance="10.0.0.1:8080"}) + 1"#,
        "weird_gauge * -1",
        "weird_gauge / weird_gauge",
        "node_temperature_celsius % -3",
        "-node_temperature_celsius % 3",
        "ratio ^ 0.5",
    ] {
        add("arith", s.to_string());
    }

    // --- Comparisons.
    for op in ["==", "!=", ">", "<", ">=", "<="] {
        add("compare", format!("node_temperature_celsius {op} 0"));
        add("compare", format!("node_temperature_celsius {op} bool 0"));
        add("compare", format!("http_requests_total {op} http_requests_total offset 5m"));
        add("compare", format!("http_requests_total {op} bool http_requests_total offset 5m"));
        add("compare", format!("1 {op} bool 2"));
        add("compare", format!("0 {op} up"));
    }
    for s in [
        "weird_gauge == weird_gauge",
        "weird_gauge != bool weird_gauge",
        "up == bool 1",
        "(node_temperature_celsius > 0) > 5",
        "NaN == bool NaN",
        "Inf > bool -Inf",
        "gappy_gauge > bool gappy_gauge offset 30s",
    ] {
        add("compare", s.to_string());
    }

    // --- Set operators.
    for s in [
        r#"up and on(job, instance) http_requests_total{code="500"}"#,
        r#"http_requests_total and http_requests_total{method="get"}"#,
        "http_requests_total or http_requests_total offset 1h",
        "node_temperature_celsius > 0 or node_temperature_celsius < -5",
        r#"http_requests_total unless http_requests_total{code="500"}"#,
        r#"http_requests_total unless on(job) up{job="api"}"#,
        "up or on(job) build_info",
        "build_info or ignoring(version) up",
        r#"http_requests_total and ignoring(code) http_requests_total{code="500"}"#,
        "nonexistent_metric or up",
        "up unless nonexistent_metric",
        "up and nonexistent_metric",
        "vector(1) or vector(2)",
        "(up == 0) or (up * 0 + 5)",
        "up or dup_metric",
        "sum by (job) (up) and on(job) sum by (job) (http_requests_total)",
        "late_metric or early_metric",
        "batch_last_success_timestamp_seconds unless on() late_metric",
    ] {
        add("set_op", s.to_string());
    }

    // --- Vector matching.
    for s in [
        "http_requests_total / on(job, instance) group_left up",
        "http_requests_total * on(job, instance) group_left(version) build_info",
        "up * on(job, instance) group_right http_requests_total",
        "http_requests_total / ignoring(method, code) group_left up",
        "sum by (job, instance) (http_requests_total) / on(job, instance) up",
        "rate(http_requests_total[5m]) / ignoring(code) group_left sum without (code) (rate(http_requests_total[5m]))",
        "http_requests_total + on() group_left vector(1)",
        "http_requests_total > on(job, instance, method, code) group_left http_requests_total offset 5m",
        "http_requests_total == bool on(job, instance) group_left up",
        "up * on(instance) group_left(job) build_info",
        r#"http_requests_total{code="200"} - ignoring(code) http_requests_total{code="500"}"#,
        "node_temperature_celsius - on(instance, job) group_left avg by (instance, job) (node_temperature_celsius)",
        "up + on(job) group_left count by (job) (up)",
        "http_requests_total % on(job, instance) group_left(version) build_info",
        "build_info * on(job, instance) group_right(version) http_requests_total",
        "sum by (job) (rate(http_requests_total[5m])) / on() group_left sum(rate(http_requests_total[5m]))",
        "up > bool on(job, instance) group_left build_info",
        "sum by (job) (up) + on(job) group_right up",
        "vector(1) and on() absent(nonexistent_metric)",
        "http_requests_total > 0",
        "http_requests_total + 0",
    ] {
        add("matching", s.to_string());
    }

    // --- Subqueries.
    for s in [
        "rate(http_requests_total[5m])[30m:1m]",
        "max_over_time(rate(http_requests_total[5m])[30m:1m])",
        "max_over_time(rate(http_requests_total[1m])[1h:])",
        "avg_over_time(node_temperature_celsius[1h:5m])",
        "min_over_time(sum by (job) (rate(http_requests_total[5m]))[1h:7m])",
        "sum_over_time(up[10m:15s])",
        "count_over_time(batch_last_success_timestamp_seconds[3h:1m])",
        "last_over_time(gappy_gauge[1h:90s])",
        "rate(http_requests_total[5m:30s])",
        "deriv(node_temperature_celsius[30m:1m])",
        "max_over_time(deriv(node_temperature_celsius[5m])[20m:2m] offset 10m)",
        "max_over_time(rate(http_requests_total[5m])[30m:1m] @ end())",
        "quantile_over_time(0.9, rate(process_cpu_seconds_total[2m])[1h:1m])",
        "changes(up[1h:])",
        "avg_over_time((node_temperature_celsius > 0)[30m:1m])",
        "max_over_time(max_over_time(rate(http_requests_total[1m])[10m:1m])[1h:7m])",
        "holt_winters(node_temperature_celsius[30m:1m], 0.5, 0.5)",
        "absent_over_time(nonexistent_metric[10m:1m])",
        "stddev_over_time(vector(time())[10m:1m])",
        "present_over_time(late_metric[1h:5m])",
        "increase(http_requests_total[1h:1m] offset -30m)",
        "min_over_time(timestamp(process_cpu_seconds_total)[5m:])",
        "sum_over_time(batch_last_success_timestamp_seconds[2h:7m])",
        "last_over_time(process_cpu_seconds_total[2m:17s])",
        "max_over_time(up[17m:7m])",
        "rate(http_requests_total[1m:15s])",
        "sum_over_time(vector(1)[1h:13m])",
    ] {
        add("subquery", s.to_string());
    }

    // --- Literals and scalar arithmetic.
    for s in [
        "1",
        "-1.5",
        "1e3",
        "0x1f",
        "Inf",
        "-Inf",
        "NaN",
        r#""a string""#,
        "'single quoted'",
        "(((1)))",
        "2 * pi()",
        "1 / 0",
        "-1 / 0",
        "0 / 0",
        "1 % 0",
        "10 atan2 3",
        "1.5e-3 + 0.0015",
        "0.1 + 0.2",
        "2 ^ 0.5",
        "vector(0.1 + 0.2)",
        "+1",
        "1e308 * 10",
    ] {
        add("literal", s.to_string());
    }

    // --- Queries that must fail.
    for s in [
        "sum(",
        "rate(http_requests_total)",
        "http_requests_total + on(job) http_requests_total",
        r#"label_replace(dup_metric, "b", "", "b", ".*")"#,
        r#"{job=~".*"}"#,
        "http_requests_total[5m] + 1",
        r#"topk("a", up)"#,
        "quantile_over_time(0.5, up)",
        "holt_winters(node_temperature_celsius[5m], 2, 0.5)",
        "holt_winters(node_temperature_celsius[5m], 0.5, 0)",
        r#"label_replace(up, "1bad", "x", "job", ".*")"#,
        r#"label_replace(up, "dst", "x", "job", "(")"#,
        r#"up{job=~"("}"#,
        "mad_over_time(up[5m])",
        r#"sort_by_label(up, "job")"#,
        "double_exponential_smoothing(up[5m], 0.5, 0.5)",
        "up @ 1 @ 2",
        "up offset 1m offset 2m",
        r#"count_values("a b", up)"#,
        "1 and 1",
        "1 == 1",
        r#"-"foo""#,
        "sum(up) by (job) without (instance)",
        "rate(up[5m:1m:1m])",
        "http_requests_total * on(job) group_left up",
        "up * on(job, instance) http_requests_total",
        "nonexistent_function(up)",
        "up[5m",
        "histogram_quantile(0.5)",
        "round(up, 1, 2)",
        r#"label_join(up, "x", "-", "1bad")"#,
        r#""foo" + 1"#,
        "absent(up[5m])",
        "timestamp(up[5m])",
        r#"up{__name__="up"}"#,
        "0x",
        "http_requests_total and on(job) group_left up",
        "up == on(job, instance) group_left(job) build_info",
        "sum(rate(up[5m]))[5m]",
        "up offset NaN",
        "up offset Inf",
        "up offset 1e300",
        "up offset 99999999999999h",
        "up @ NaN",
        "up @ Inf",
        "up @ -1e300",
        "up[NaN]",
        "rate(up[1m:NaN])",
        "up[5m] offset 1m [5m]",
        "histogram_quantile(0.5, http_request_duration_seconds_bucket[5m])",
        r#"label_replace(http_requests_total, "instance", "", "instance", ".*")"#,
    ] {
        add("error", s.to_string());
    }

    out
}
