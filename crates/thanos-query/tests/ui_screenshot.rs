//! The web UI in a real browser: Debian's headless Chromium opens the real `thanos-query`
//! binary's UI at `/thanos/` (`--web.external-prefix=/thanos`) over a real StoreAPI and must run
//! the query from the URL, fill the table with the data's values, draw the graph as SVG lines,
//! list the store as healthy, work behind a prefix-stripping proxy (`X-Forwarded-Prefix`), and
//! render a screenshot that is a picture, not a blank page.

/// The shared data set and in-memory StoreAPI of `tests/support` (only these two files, so
/// this test does not depend on the rest of that module).
mod support {
    #![allow(dead_code, reason = "this test uses a part of the shared support")]
    pub(crate) mod data;
    pub(crate) mod store;
}
mod ui_support;

use std::path::Path;

use support::data::{END, STEP, SeriesData};
use support::store::{MemoryStore, TestStore};
use testkit::http::{get, urlencode};
use tsdb_format::Labels;
use ui_support::browser::{dump_dom, screenshot};
use ui_support::png_stats::Image;
use ui_support::proxy::PrefixProxy;
use ui_support::utc;

/// The colours the graph gives its first two series (`PALETTE` in `src/ui/plot.js`).
const FIRST_SERIES_COLOUR: &str = "#1f77b4";
const SECOND_SERIES_COLOUR: &str = "#ff7f0e";
/// The expression the table tests run, and the graph's.
const TABLE_EXPR: &str = r#"http_requests_total{job="api",code="200"}"#;
const GRAPH_EXPR: &str = "sum by (job) (rate(http_requests_total[5m]))";
/// The graph's range in seconds, and its step as the UI picks it (range / 250).
const GRAPH_RANGE_S: i64 = 4 * 3600;
const GRAPH_STEP_S: i64 = GRAPH_RANGE_S / 250;

/// A store serving the test data under `cluster="eu1"`.
fn start_store() -> TestStore {
    TestStore::start(store_with(&[]))
}

/// The test data under `cluster="eu1"` and `extra` external labels.
fn store_with(extra: &[(&str, &str)]) -> MemoryStore {
    let mut store = MemoryStore::new(support::data::generate());
    store.external_labels = Labels::from_pairs([("cluster", "eu1")].iter().chain(extra).copied());
    store
}

/// The instant query's expected rows at `at_ms`: series text → value, from the data itself;
/// `replica` adds that external label (the series of one store when not deduplicated).
fn expected_rows(data: &[SeriesData], at_ms: i64, replicas: &[&str]) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for (labels, samples) in data {
        if labels.get("__name__") != Some("http_requests_total")
            || labels.get("job") != Some("api")
            || labels.get("code") != Some("200")
        {
            continue;
        }
        let value = samples.iter().rev().find(|(t, _)| *t <= at_ms).expect("a sample").1;
        let instance = labels.get("instance").expect("instance");
        let series = |extra: &str| {
            format!(
                r#"http_requests_total{{cluster="eu1", code="200", instance="{instance}", job="api"{extra}}}"#
            )
        };
        if replicas.is_empty() {
            rows.push((series(""), value.to_string()));
        }
        for replica in replicas {
            rows.push((series(&format!(r#", replica="{replica}""#)), value.to_string()));
        }
    }
    rows.sort();
    rows
}

/// The `<section class="panel">` elements of a dumped DOM.
fn panels(dom: &str) -> Vec<&str> {
    dom.split(r#"<section class="panel"#).skip(1).collect()
}

/// The table rows of a panel: series text and value.
fn table_rows(panel: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = panel
        .split(r#"<tr class="result-row">"#)
        .skip(1)
        .map(|row| {
            let cell = |class: &str| {
                let start = row.find(&format!(r#"<td class="{class}">"#)).expect("cell") + class.len() + 13;
                row[start..start + row[start..].find("</td>").expect("cell end")].to_string()
            };
            (cell("series"), cell("value"))
        })
        .collect();
    rows.sort();
    rows
}

/// Attribute `name` of each element that starts with `open` (e.g. `<path class="series-line"`).
fn attributes<'a>(dom: &'a str, open: &str, name: &str) -> Vec<&'a str> {
    dom.split(open)
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
            Some(&tag[start..start + tag[start..].find('"')?])
        })
        .collect()
}

/// The URL of a graph page running `GRAPH_EXPR` in a graph panel ending at the data's end.
fn graph_url(port: u16, prefix: &str) -> String {
    format!(
        "http://127.0.0.1:{port}{prefix}/graph?g0.expr={}&g0.tab=0&g0.range_input=4h&g0.end_input={}",
        urlencode(GRAPH_EXPR),
        urlencode(&utc(END))
    )
}

/// The URL of a graph page with a table panel running `TABLE_EXPR` at `at_ms` and a second panel
/// with a broken expression.
fn table_url(port: u16, prefix: &str, at_ms: i64) -> String {
    format!(
        "http://127.0.0.1:{port}{prefix}/graph?g0.expr={}&g0.tab=1&g0.moment_input={}&g1.expr={}&g1.tab=1",
        urlencode(TABLE_EXPR),
        urlencode(&utc(at_ms)),
        urlencode("sum(rate(")
    )
}

fn assert_table_panels(dom: &str, at_ms: i64) {
    let panels = panels(dom);
    assert_eq!(panels.len(), 2, "two panels from the URL:\n{dom}");
    assert!(!panels[0].contains("alert error"), "the first panel shows no error:\n{}", panels[0]);
    let rows = table_rows(panels[0]);
    let expected = expected_rows(&support::data::generate(), at_ms, &[]);
    assert_eq!(rows, expected, "the table shows the data's values at {}", utc(at_ms));
    assert!(panels[0].contains("Result series: 3"), "{}", panels[0]);
    assert!(
        panels[1].contains("alert error") && panels[1].contains("bad_data"),
        "a bad expression shows the API's error:\n{}",
        panels[1]
    );
}

/// Points in an SVG path (`M x y L x y …`) and its distinct y values.
fn path_points(d: &str) -> (usize, usize) {
    let numbers: Vec<&str> = d.split(['M', 'L', ' ']).filter(|s| !s.is_empty()).collect();
    let ys: std::collections::HashSet<&str> = numbers.iter().skip(1).step_by(2).copied().collect();
    (numbers.len() / 2, ys.len())
}

#[test]
fn table_and_graph_run_the_query_from_the_url() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = start_store();
    let querier = ui_support::start_querier(
        &[format!("--endpoint={}", store.address), "--web.external-prefix=/thanos".to_string()],
        work.path(),
    );

    let at = END - STEP;
    let dom = dump_dom(work.path(), "table", &table_url(querier.port, "/thanos", at));
    assert!(dom.contains(r#"href="/thanos/graph""#), "links carry the prefix");
    assert_table_panels(&dom, at);

    let url = graph_url(querier.port, "/thanos");
    let dom = dump_dom(work.path(), "graph", &url);
    assert!(panels(&dom).iter().all(|p| !p.contains("alert error")), "no error:\n{dom}");
    assert_eq!(
        attributes(&dom, r#"<svg class="graph""#, "data-series"),
        ["2"],
        "one graph of 2 series:\n{dom}"
    );
    let paths = attributes(&dom, r#"<path class="series-line""#, "d");
    let strokes = attributes(&dom, r#"<path class="series-line""#, "stroke");
    assert_eq!(strokes, [FIRST_SERIES_COLOUR, SECOND_SERIES_COLOUR]);
    for legend in [r#"{job="api"}"#, r#"{job="web"}"#] {
        assert!(dom.contains(legend), "legend shows {legend}");
    }
    assert!(dom.contains(&format!("Resolution: {GRAPH_STEP_S}s")), "step = range/250");

    // The lines hold exactly the points the API answers for the same range and step.
    let end_s = END / 1000;
    let (status, body) = get(
        querier.port,
        &format!(
            "/thanos/api/v1/query_range?query={}&start={}&end={end_s}&step={GRAPH_STEP_S}",
            urlencode(GRAPH_EXPR),
            end_s - GRAPH_RANGE_S
        ),
    )
    .expect("query_range");
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("json");
    let api_points: usize = answer["data"]["result"]
        .as_array()
        .expect("a matrix")
        .iter()
        .map(|s| s["values"].as_array().expect("values").len())
        .sum();
    let drawn: Vec<(usize, usize)> = paths.iter().map(|d| path_points(d)).collect();
    assert_eq!(drawn.iter().map(|(points, _)| points).sum::<usize>(), api_points, "{drawn:?}");
    for (points, distinct_ys) in &drawn {
        assert!(*points > 200 && *distinct_ys > 20, "a line with real shape: {drawn:?}");
    }

    let png = screenshot(work.path(), "graph", &url);
    check_screenshot(&png);
    println!("screenshot: {}", png.display());
    std::fs::copy(&png, "/tmp/thanos-ui.png").expect("copy screenshot to /tmp/thanos-ui.png");
    println!("copied to /tmp/thanos-ui.png");
}

fn check_screenshot(png: &Path) {
    let image = Image::open(png);
    assert_eq!((image.width, image.height), (1280, 900), "window size");
    let colours = image.distinct_colours();
    let first = image.pixels_near(FIRST_SERIES_COLOUR, 8);
    let second = image.pixels_near(SECOND_SERIES_COLOUR, 8);
    println!(
        "screenshot: {colours} distinct colours, {first} px of the first line, {second} px of the second"
    );
    assert!(colours > 200, "a rendered page, not a blank one: {colours} colours");
    assert!(first > 500 && second > 500, "both lines are drawn: {first} and {second} px");
}

#[test]
fn stores_page_lists_the_store_as_healthy() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = start_store();
    let querier = ui_support::start_querier(
        &[format!("--endpoint={}", store.address), "--web.external-prefix=/thanos".to_string()],
        work.path(),
    );
    let url = format!("http://127.0.0.1:{}/thanos/stores", querier.port);
    let dom = dump_dom(work.path(), "stores", &url);
    let rows: Vec<&str> = dom.split(r#"<tr class="store-row">"#).skip(1).collect();
    assert_eq!(rows.len(), 1, "one store:\n{dom}");
    let row = rows[0];
    assert!(row.contains(&format!(r#"<td class="endpoint">{}</td>"#, store.address)), "{row}");
    assert!(row.contains(r#"<span class="health up">UP</span>"#), "healthy: {row}");
    assert!(row.contains(r#"cluster="eu1""#), "announced labels: {row}");
    let data = support::data::generate();
    let min = data.iter().filter_map(|(_, s)| s.first()).map(|p| p.0).min().expect("data");
    let max = data.iter().filter_map(|(_, s)| s.last()).map(|p| p.0).max().expect("data");
    assert!(row.contains(&format!(r#"<td class="min-time">{}</td>"#, utc(min))), "{row}");
    assert!(row.contains(&format!(r#"<td class="max-time">{}</td>"#, utc(max))), "{row}");
    assert!(row.contains(r#"<td class="last-error"></td>"#), "{row}");
    assert!(dom.contains(r#"<h2>store</h2>"#), "grouped by component type");

    let root = dump_dom(work.path(), "root", &format!("http://127.0.0.1:{}/thanos/", querier.port));
    assert!(root.contains(r#"data-page="graph""#), "/thanos/ redirects to the graph page:\n{root}");
    assert_eq!(panels(&root).len(), 1, "one empty panel to start with");
}

#[test]
fn works_behind_a_proxy_that_strips_the_prefix() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = start_store();
    let querier = ui_support::start_querier(
        &[format!("--endpoint={}", store.address), "--web.prefix-header=X-Forwarded-Prefix".to_string()],
        work.path(),
    );
    let proxy = PrefixProxy::start("/proxied", querier.port);

    let at = END - 30 * 60_000;
    let dom = dump_dom(work.path(), "proxied", &table_url(proxy.port, "/proxied", at));
    assert!(dom.contains(r#"href="/proxied/graph""#), "links carry the header's prefix:\n{dom}");
    assert!(dom.contains(r#"src="/proxied/static/panel.js""#), "assets under the header's prefix");
    assert_table_panels(&dom, at);

    let root = dump_dom(work.path(), "proxied-root", &format!("http://127.0.0.1:{}/proxied/", proxy.port));
    assert!(root.contains(r#"data-page="graph""#), "the prefix's root redirects to the graph page:\n{root}");

    let seen = proxy.seen();
    for needed in
        ["/proxied/static/panel.js", "/proxied/static/style.css", "/proxied/api/v1/query", "/proxied/graph"]
    {
        assert!(seen.iter().any(|t| t.starts_with(needed)), "{needed} went through the proxy: {seen:?}");
    }
    assert!(seen.iter().all(|t| t.starts_with("/proxied/")), "nothing left the prefix: {seen:?}");
}

#[test]
fn dedup_and_partial_response_options_reach_the_api() {
    let work = tempfile::tempdir().expect("tempdir");
    let replica_a = TestStore::start(store_with(&[("replica", "a")]));
    let replica_b = TestStore::start(store_with(&[("replica", "b")]));
    let mut slow = store_with(&[("replica", "c")]);
    slow.delay = std::time::Duration::from_secs(10);
    let slow = TestStore::start(slow);
    let querier = ui_support::start_querier(
        &[
            format!("--endpoint={}", replica_a.address),
            format!("--endpoint={}", replica_b.address),
            format!("--endpoint={}", slow.address),
            "--query.replica-label=replica".to_string(),
            "--store.response-timeout=500ms".to_string(),
            "--web.external-prefix=/thanos".to_string(),
        ],
        work.path(),
    );
    let at = END - STEP;
    let panel = |n: usize, options: &str| {
        format!(
            "&g{n}.expr={}&g{n}.tab=1&g{n}.moment_input={}{options}",
            urlencode(TABLE_EXPR),
            urlencode(&utc(at))
        )
    };
    let url = format!(
        "http://127.0.0.1:{}/thanos/graph?{}{}{}",
        querier.port,
        panel(0, ""),
        panel(1, "&g1.deduplicate=0"),
        panel(2, "&g2.partial_response=0")
    );
    let dom = dump_dom(work.path(), "options", &url);
    let panels = panels(&dom);
    assert_eq!(panels.len(), 3, "{dom}");
    let data = support::data::generate();

    assert_eq!(table_rows(panels[0]), expected_rows(&data, at, &[]), "deduplicated: one series per instance");
    assert!(panels[0].contains("alert warning") && !panels[0].contains("alert error"), "{}", panels[0]);

    assert_eq!(table_rows(panels[1]), expected_rows(&data, at, &["a", "b"]), "without dedup, both replicas");
    assert!(panels[1].contains("alert warning"), "the timed-out store is a warning: {}", panels[1]);

    assert!(table_rows(panels[2]).is_empty(), "{}", panels[2]);
    assert!(
        panels[2].contains("alert error"),
        "without partial response the timeout fails the query: {}",
        panels[2]
    );
}
