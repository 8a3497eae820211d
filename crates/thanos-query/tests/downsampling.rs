//! Downsampled data end to end: promtool 2.42 blocks, one downsampled to 5m by our library, in a
//! bucket → the real `thanos-store` → the real `thanos-query`. `max_source_resolution` (5m, 0s,
//! raw, auto) and `--query.auto-downsampling` pick the blocks; answers are checked against values
//! computed here from the raw samples, the way Thanos answers from 5m aggregates.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use block::downsample::downsample_block;
use testkit::blocks::{Generated, openmetrics, promtool_blocks};
use testkit::downsample::{FilesystemBucket, close, raw_series};
use testkit::http::{get_json, urlencode};
use testkit::process::Process;
use testkit::{free_port, workspace_bin};
use tsdb_format::BlockMeta;
use tsdb_format::meta::RESOLUTION_5M;

const HOUR: i64 = 3_600_000;
/// promtool cuts blocks at multiples of 54h (the largest 2h·3^n under 72h): B0 and B1.
const B0: i64 = 1_704_110_400_000;
const B1: i64 = B0 + 54 * HOUR;
/// The data ends 12h after B1, so promtool writes a ~54h block A = [start, B1) and R = [B1, END).
const END_S: u64 = (B1 / 1000) as u64 + 12 * 3600;
/// A range that covers exactly the twelve 5m windows ending at a window end `t`: [t−1h+1ms, t].
const RANGE: &str = "3599999ms";

/// Raw samples per series, keyed like [`key`].
type Raw = BTreeMap<String, Vec<(i64, f64)>>;

/// A series key: `name{label="value",…}` without the external label.
fn key<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut name = "";
    let mut rest: Vec<(&str, &str)> = Vec::new();
    for (n, v) in pairs {
        match n {
            "__name__" => name = v,
            "cluster" => {}
            _ => rest.push((n, v)),
        }
    }
    rest.sort();
    let inner: Vec<String> = rest.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

fn raw_samples(dir: &Path) -> Raw {
    raw_series(dir)
        .into_iter()
        .map(|(labels, samples)| (key(labels.iter().map(|(n, v)| (n.as_str(), v.as_str()))), samples))
        .collect()
}

/// The running stack and the raw data behind it.
struct Stack {
    _dir: tempfile::TempDir,
    _store: Process,
    /// `thanos-query` without and with `--query.auto-downsampling`.
    query: (Process, u16),
    auto_query: (Process, u16),
    /// `thanos-query` over the first querier's StoreAPI.
    chained: (Process, u16),
    /// Raw samples of block A (in the bucket only as its 5m downsample) and block R (raw).
    a: Raw,
    r: Raw,
}

fn start_stack() -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.om");
    openmetrics(Generated { series: 4, days: 2.74, step_s: 30, end: END_S }, &input);
    let blocks = promtool_blocks(&input, &dir.path().join("raw"), &["--max-block-duration=72h"]);
    assert_eq!(blocks.len(), 2, "promtool blocks A and R");
    let metas: Vec<BlockMeta> = blocks.iter().map(|b| BlockMeta::read_from_dir(b).unwrap()).collect();
    assert!(metas[0].max_time <= B1 && metas[1].min_time >= B1, "A ends at B1, R starts there");
    assert!(metas[0].max_time - metas[0].min_time >= 40 * HOUR);
    let (a_dir, r_dir) = (&blocks[0], &blocks[1]);

    let downsampled = dir.path().join("downsampled");
    std::fs::create_dir_all(&downsampled).unwrap();
    let five = downsample_block(a_dir, &downsampled, RESOLUTION_5M).unwrap();
    let five_dir = downsampled.join(five.ulid.to_string());

    // The bucket holds A only at 5m, R only raw.
    let bucket = FilesystemBucket::create(dir.path());
    bucket.upload(&[&five_dir, r_dir], &[("cluster", "ds")]);

    let (store_http, store_grpc) = (free_port(), free_port());
    let mut command = Command::new(workspace_bin("thanos-store"));
    command
        .arg(format!("--objstore.config-file={}", bucket.config_file.display()))
        .arg(format!("--data-dir={}", dir.path().join("store").display()))
        .arg(format!("--http-address=127.0.0.1:{store_http}"))
        .arg(format!("--grpc-address=127.0.0.1:{store_grpc}"));
    let mut store = Process::spawn("thanos-store", command, &dir.path().join("store.log"));
    store.wait_http_ok(store_http, "/-/ready", Duration::from_secs(60));

    let querier = |name: &str, endpoint_grpc: u16, extra: &[&str]| {
        let (port, grpc) = (free_port(), free_port());
        let mut command = Command::new(env!("CARGO_BIN_EXE_thanos-query"));
        command
            .arg(format!("--endpoint=127.0.0.1:{endpoint_grpc}"))
            .arg(format!("--http-address=127.0.0.1:{port}"))
            .arg(format!("--grpc-address=127.0.0.1:{grpc}"))
            .args(extra);
        let mut process = Process::spawn(name, command, &dir.path().join(format!("{name}.log")));
        process.wait_http_ok(port, "/-/ready", Duration::from_secs(60));
        // Ready once the store's Info is known: its series are visible.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let body = get_json(
                port,
                &format!("/api/v1/series?match[]=demo_temperature&start={}&end={}", B1 / 1000, END_S),
            );
            if body["data"].as_array().is_some_and(|d| !d.is_empty()) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} never saw the store:\n{}",
                process.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        (process, port, grpc)
    };
    let query = querier("thanos-query", store_grpc, &[]);
    let auto_query = querier(
        "thanos-query-auto",
        store_grpc,
        &["--query.auto-downsampling", "--query.instant.default.max_source_resolution=1h"],
    );
    // A querier whose only endpoint is the first querier's StoreAPI.
    let chained = querier("thanos-query-chained", query.2, &[]);
    Stack {
        a: raw_samples(a_dir),
        r: raw_samples(r_dir),
        _dir: dir,
        _store: store,
        query: (query.0, query.1),
        auto_query: (auto_query.0, auto_query.1),
        chained: (chained.0, chained.1),
    }
}

/// A time parameter for ms `t`.
fn seconds(t: i64) -> String {
    format!("{}.{:03}", t / 1000, t % 1000)
}

/// Answer of a range query (or instant, when `step_s` is 0): per series, its points.
fn query(
    port: u16,
    expr: &str,
    start: i64,
    end: i64,
    step_s: i64,
    params: &str,
) -> BTreeMap<String, Vec<(i64, f64)>> {
    let path = if step_s == 0 {
        format!("/api/v1/query?query={}&time={}{params}", urlencode(expr), seconds(start))
    } else {
        format!(
            "/api/v1/query_range?query={}&start={}&end={}&step={step_s}{params}",
            urlencode(expr),
            seconds(start),
            seconds(end)
        )
    };
    let body = get_json(port, &path);
    assert_eq!(body["status"], "success", "{path}: {body}");
    let mut out = BTreeMap::new();
    for series in body["data"]["result"].as_array().unwrap() {
        let metric = series["metric"].as_object().unwrap();
        let name = key(metric.iter().map(|(n, v)| (n.as_str(), v.as_str().unwrap())));
        let values = if step_s == 0 {
            vec![series["value"].clone()]
        } else {
            series["values"].as_array().unwrap().clone()
        };
        let points = values
            .iter()
            .map(|p| {
                (
                    (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                    p[1].as_str().unwrap().parse::<f64>().unwrap(),
                )
            })
            .collect();
        out.insert(name, points);
    }
    out
}

/// Raw samples in `[t − 1h + 1ms, t]`.
fn in_range(samples: &[(i64, f64)], t: i64) -> &[(i64, f64)] {
    let from = samples.partition_point(|p| p.0 < t - 3_599_999);
    let to = samples.partition_point(|p| p.0 <= t);
    &samples[from..to]
}

/// Checks an answer against `expected(series samples, t)` for every series of `raw` named `name`.
fn check(
    what: &str,
    got: &BTreeMap<String, Vec<(i64, f64)>>,
    raw: &Raw,
    name: &str,
    times: &[i64],
    expected: impl Fn(&[(i64, f64)], i64) -> Vec<f64>,
) -> usize {
    // Functions drop the metric name; a plain selector keeps it.
    let keep_name = got.keys().all(|k| k.starts_with(name));
    let wanted: Vec<(&String, String)> = raw
        .keys()
        .filter(|k| k.starts_with(&format!("{name}{{")))
        .map(|k| (k, if keep_name { k.clone() } else { k[name.len()..].to_string() }))
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        wanted.iter().map(|w| &w.1).collect::<Vec<_>>(),
        "{what}: series"
    );
    let mut checked = 0;
    for (series, answer_key) in wanted {
        let points = &got[&answer_key];
        assert_eq!(points.iter().map(|p| p.0).collect::<Vec<_>>(), times, "{what}: {series} timestamps");
        for &(t, v) in points {
            let candidates = expected(&raw[series], t);
            assert!(
                candidates.iter().any(|&c| close(c, v)),
                "{what}: {series} at {t}: got {v}, want one of {candidates:?}"
            );
            checked += 1;
        }
    }
    checked
}

/// Prometheus 2.42's `extrapolatedRate` for a counter over `[t − range, t]`.
fn prometheus_rate(points: &[(i64, f64)], t: i64, range_ms: i64) -> f64 {
    let (first, last) = (points[0], points[points.len() - 1]);
    let mut result = last.1 - first.1;
    let mut previous = 0.0;
    for p in points {
        if p.1 < previous {
            result += previous;
        }
        previous = p.1;
    }
    let mut to_start = (first.0 - (t - range_ms)) as f64 / 1000.0;
    let to_end = (t - last.0) as f64 / 1000.0;
    let sampled = (last.0 - first.0) as f64 / 1000.0;
    let average = sampled / (points.len() - 1) as f64;
    if result > 0.0 && first.1 >= 0.0 {
        to_start = to_start.min(sampled * (first.1 / result));
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold { to_start } else { average / 2.0 };
    interval += if to_end < threshold { to_end } else { average / 2.0 };
    result * (interval / sampled) / (range_ms as f64 / 1000.0)
}

/// The rates Thanos can return from 5m counter aggregates at window end `t`: the counter points
/// are each window's last raw value at the window's end; where an aggregate chunk starts, the
/// chunk's first raw sample is a point too and the previous window's point sits at its last raw
/// sample. Chunk boundaries are the library's choice, so every placement is a candidate.
fn rate_candidates(samples: &[(i64, f64)], t: i64) -> Vec<f64> {
    let windows: Vec<Vec<(i64, f64)>> = (0..12)
        .map(|k| {
            let start = t + 1 - (12 - k) * 300_000;
            samples.iter().copied().filter(|p| p.0 >= start && p.0 < start + 300_000).collect()
        })
        .collect();
    let mut out = Vec::new();
    for boundary in std::iter::once(None).chain((0..=12).map(Some)) {
        let mut points: Vec<(i64, f64)> = Vec::new();
        for (k, window) in windows.iter().enumerate() {
            let (Some(first), Some(last)) = (window.first(), window.last()) else { continue };
            if boundary == Some(k) {
                points.push(*first);
            }
            let end = t - (11 - k as i64) * 300_000;
            let capped = boundary == Some(k + 1);
            points.push((if capped { last.0 } else { end }, last.1));
        }
        if points.len() >= 2 {
            out.push(prometheus_rate(&points, t, 3_599_999));
        }
    }
    out
}

fn sum(window: &[(i64, f64)]) -> f64 {
    window.iter().map(|p| p.1).sum()
}

#[test]
fn max_source_resolution_picks_downsampled_blocks() {
    let stack = start_stack();
    let port = stack.query.1;
    // Window ends inside A, an hour apart.
    let (start, end) = (B0 + 7 * HOUR - 1, B0 + 47 * HOUR - 1);
    let times: Vec<i64> = (0..=40).map(|i| start + i * HOUR).collect();
    let five = "&max_source_resolution=5m";
    let mut checked = 0;

    // sum_over_time reads the sum aggregate: the raw sum over the twelve windows.
    let sums = query(port, &format!("sum_over_time(demo_temperature[{RANGE}])"), start, end, 3600, five);
    checked += check("sum_over_time 5m", &sums, &stack.a, "demo_temperature", &times, |s, t| {
        vec![sum(in_range(s, t))]
    });
    // count_over_time reads the count aggregate and counts its points: one per 5m window (as
    // Thanos answers; the raw count would be 120).
    let counts = query(port, &format!("count_over_time(demo_temperature[{RANGE}])"), start, end, 3600, five);
    checked += check("count_over_time 5m", &counts, &stack.a, "demo_temperature", &times, |s, t| {
        let mut windows: Vec<i64> = in_range(s, t).iter().map(|p| p.0 / 300_000).collect();
        windows.dedup();
        vec![windows.len() as f64]
    });
    let maxes = query(port, &format!("max_over_time(demo_temperature[{RANGE}])"), start, end, 3600, five);
    checked += check("max_over_time 5m", &maxes, &stack.a, "demo_temperature", &times, |s, t| {
        vec![in_range(s, t).iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max)]
    });
    let rates = query(port, &format!("rate(demo_requests_total[{RANGE}])"), start, end, 3600, five);
    checked += check("rate 5m", &rates, &stack.a, "demo_requests_total", &times, rate_candidates);
    // A plain selector reads sum / count of the window holding t.
    let plain = query(port, "demo_temperature", start, end, 3600, five);
    checked += check("plain 5m", &plain, &stack.a, "demo_temperature", &times, |s, t| {
        let window = &in_range(s, t)[in_range(s, t).partition_point(|p| p.0 < t + 1 - 300_000)..];
        vec![sum(window) / window.len() as f64]
    });
    // An instant query with the parameter.
    let instant = query(port, &format!("max_over_time(demo_temperature[{RANGE}])"), times[3], 0, 0, five);
    checked +=
        check("instant max_over_time 5m", &instant, &stack.a, "demo_temperature", &times[3..4], |s, t| {
            vec![in_range(s, t).iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max)]
        });
    assert_eq!(
        sums,
        query(
            port,
            &format!("sum_over_time(demo_temperature[{RANGE}])"),
            start,
            end,
            3600,
            "&max_source_resolution=1h"
        )
    );

    // Raw only: A exists only downsampled, so nothing there; R answers from raw samples.
    for raw_param in ["&max_source_resolution=0s", "&max_source_resolution=raw", ""] {
        let none =
            query(port, &format!("sum_over_time(demo_temperature[{RANGE}])"), start, end, 3600, raw_param);
        assert!(none.is_empty(), "{raw_param}: no raw data in A, got {none:?}");
    }
    let (r_start, r_end) = (B1 + 2 * HOUR - 1, B1 + 11 * HOUR - 1);
    let r_times: Vec<i64> = (0..=9).map(|i| r_start + i * HOUR).collect();
    for param in ["&max_source_resolution=0s", five] {
        // With 5m, R has no 5m block: the store fills the gap from raw data.
        let raw_counts =
            query(port, &format!("count_over_time(demo_temperature[{RANGE}])"), r_start, r_end, 3600, param);
        checked +=
            check("count_over_time raw", &raw_counts, &stack.r, "demo_temperature", &r_times, |s, t| {
                vec![in_range(s, t).len() as f64]
            });
        let raw_sums =
            query(port, &format!("sum_over_time(demo_temperature[{RANGE}])"), r_start, r_end, 3600, param);
        checked += check("sum_over_time raw", &raw_sums, &stack.r, "demo_temperature", &r_times, |s, t| {
            vec![sum(in_range(s, t))]
        });
    }

    // auto = step/5: a 1h step allows 12m (the 5m block), a 1m step 12s (raw only).
    let auto_hour = query(
        port,
        &format!("sum_over_time(demo_temperature[{RANGE}])"),
        start,
        end,
        3600,
        "&max_source_resolution=auto",
    );
    assert_eq!(auto_hour, sums, "auto with a 1h step reads the 5m block");
    let auto_minute = query(
        port,
        &format!("sum_over_time(demo_temperature[{RANGE}])"),
        start,
        start + HOUR,
        60,
        "&max_source_resolution=auto",
    );
    assert!(auto_minute.is_empty(), "auto with a 1m step reads raw data only: {auto_minute:?}");
    // --query.auto-downsampling: auto without the parameter; the parameter still wins.
    let auto_port = stack.auto_query.1;
    assert_eq!(
        query(auto_port, &format!("sum_over_time(demo_temperature[{RANGE}])"), start, end, 3600, ""),
        sums
    );
    assert!(
        query(
            auto_port,
            &format!("sum_over_time(demo_temperature[{RANGE}])"),
            start,
            end,
            3600,
            "&max_source_resolution=0s"
        )
        .is_empty()
    );

    // Instant queries: `auto` means --query.instant.default.max_source_resolution (0s by default).
    let instant_query = format!("max_over_time(demo_temperature[{RANGE}])");
    let instant_auto = query(port, &instant_query, times[3], 0, 0, "&max_source_resolution=auto");
    assert!(instant_auto.is_empty(), "instant auto defaults to raw: {instant_auto:?}");
    assert_eq!(
        query(auto_port, &instant_query, times[3], 0, 0, ""),
        instant,
        "instant default 1h with auto flag"
    );

    // Through a second querier: resolution and aggregates travel in the StoreAPI request.
    let chained = stack.chained.1;
    let sum_query = format!("sum_over_time(demo_temperature[{RANGE}])");
    assert_eq!(query(chained, &sum_query, start, end, 3600, five), sums, "chained sum_over_time");
    let rate_query = format!("rate(demo_requests_total[{RANGE}])");
    assert_eq!(query(chained, &rate_query, start, end, 3600, five), rates, "chained rate");
    assert!(query(chained, &sum_query, start, end, 3600, "").is_empty(), "chained raw only");

    // Bad values are the API's bad_data errors, worded as Thanos words them.
    for (value, message) in [
        ("-300", "negative 'max_source_resolution' is not accepted. Try a positive integer"),
        ("-5m", "'max_source_resolution' parameter: cannot parse \"-5m\" to a valid duration"),
    ] {
        let path = format!("/api/v1/query?query=up&time={}&max_source_resolution={value}", seconds(start));
        let (status, body) = testkit::http::get(port, &path).unwrap();
        assert_eq!(status, 400, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((json["errorType"].as_str(), json["error"].as_str()), (Some("bad_data"), Some(message)));
    }
    println!("{checked} points checked against raw data");
}
