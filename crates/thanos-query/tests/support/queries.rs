//! The requests every comparison with Prometheus 2.42 makes over the [`super::data`] series:
//! instant and range queries covering every 2.42 function, aggregation and operator, binary
//! matching, subqueries, `@` and `offset`; series and label calls; and bad requests.

use super::data::{H, M, T0};
use super::http::{api_time, urlencode};

pub(crate) const INSTANT_QUERIES: &[&str] = &[
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
pub(crate) const MORE_INSTANT_QUERIES: &[&str] = &[
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

pub(crate) const RANGE_QUERIES: &[&str] = &[
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
pub(crate) const BAD_REQUESTS: &[&str] = &[
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

/// Series and label calls (path and query string, without prefix).
pub(crate) const METADATA_REQUESTS: &[&str] = &[
    "/api/v1/series?match[]=temperature&match[]=%7Bjob%3D%22api%22%2Ccode%3D%22500%22%7D",
    "/api/v1/series?match[]=http_requests_total&start=1704060000&end=1704063600",
    "/api/v1/labels",
    "/api/v1/labels?match[]=temperature",
    "/api/v1/label/job/values",
    "/api/v1/label/instance/values?match[]=temperature",
    "/api/v1/label/__name__/values",
];

/// Every GET request over the data (path and query string, without prefix): each instant query
/// at four instants (before, inside and after a gap, after a counter reset, past the end), each
/// range query over two windows, the metadata calls and the bad requests.
pub(crate) fn requests() -> Vec<String> {
    let mut out = Vec::new();
    let instants = [T0 + 30 * M, T0 + H + 10 * M, T0 + 2 * H + 20 * M, T0 + 4 * H + 2 * M];
    for query in INSTANT_QUERIES.iter().chain(MORE_INSTANT_QUERIES) {
        for t in instants {
            out.push(format!("/api/v1/query?query={}&time={}", urlencode(query), api_time(t)));
        }
    }
    for query in RANGE_QUERIES {
        for (start, end, step) in [(T0 - 10 * M, T0 + 4 * H + 10 * M, "60"), (T0 + 50 * M, T0 + 3 * H, "7m")]
        {
            out.push(format!(
                "/api/v1/query_range?query={}&start={}&end={}&step={step}",
                urlencode(query),
                api_time(start),
                api_time(end)
            ));
        }
    }
    out.extend(METADATA_REQUESTS.iter().map(|p| p.to_string()));
    out.extend(BAD_REQUESTS.iter().map(|p| p.to_string()));
    out
}
