//! Differential test of the PromQL engine against a live Prometheus 2.42.
//!
//! Generated data (counters with resets, gauges with NaN and infinities, classic histograms,
//! stale markers, gaps, late series) is written as TSDB blocks; Prometheus serves a copy of them
//! and our engine reads them through a block `Queryable`. Every generated query runs as an instant
//! and as a range query on both, and the answers must be the same: result type, series, timestamps,
//! and values within 1e-9 relative (NaN equal to NaN); or both must fail with the same status and
//! `errorType` (different error texts are reported, not failed).
//!
//! Run: `cargo test -p promql --test differential -- --nocapture`. Narrow it down with
//! `DIFF_CATEGORY=aggregation,subquery`, `DIFF_FILTER=<substring of the query>`,
//! `DIFF_MODE=instant|range`; `DIFF_SHOW_ALL=1` adds every comparison, passing ones too, to
//! the report; `DIFF_VERBOSE=1` prints each query before running it (to find a
//! hang). The full report is also written to `promql-differential-report.txt` in cargo's
//! integration-test temp dir (its path is printed).

#![allow(clippy::unwrap_used, reason = "test code: a panic with its message is the failure report")]

mod compare;
mod data;
mod prometheus;
mod queries;
mod storage;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use compare::{Outcome, Verdict, from_prometheus, from_value, has_data, judge, render, status_for};
use prometheus::{PrometheusServer, api_time, urlencode};
use promql::engine::{Engine, EngineOptions};
use storage::BlockQueryable;

/// How a query is run.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Instant(i64),
    Range(i64, i64, i64),
}

impl Mode {
    fn is_instant(self) -> bool {
        matches!(self, Mode::Instant(_))
    }

    fn describe(self) -> String {
        match self {
            Mode::Instant(t) => format!("instant time={}", api_time(t)),
            Mode::Range(s, e, st) => {
                format!("range start={} end={} step={}s", api_time(s), api_time(e), st / 1000)
            }
        }
    }

    fn api_path(self, expr: &str) -> String {
        let q = urlencode(expr);
        match self {
            Mode::Instant(t) => format!("/api/v1/query?query={q}&time={}", api_time(t)),
            Mode::Range(s, e, st) => {
                format!(
                    "/api/v1/query_range?query={q}&start={}&end={}&step={}",
                    api_time(s),
                    api_time(e),
                    api_time(st)
                )
            }
        }
    }
}

/// One comparison's record.
struct Case {
    category: &'static str,
    expr: String,
    mode: Mode,
    verdict: Verdict,
    detail: String,
    want: Outcome,
    got: Outcome,
}

/// Whether the query's outermost expression is `sort` or `sort_desc`, whose order is part of
/// an instant result.
fn is_sorted_query(expr: &str) -> bool {
    use promql_parser::parser::Expr;
    if !expr.contains("sort") {
        return false;
    }
    // promql-parser itself can panic on odd input; that is the engine's to report, not ours.
    IN_ENGINE.with(|f| f.set(true));
    let parsed = catch_unwind(|| promql_parser::parser::parse(expr));
    IN_ENGINE.with(|f| f.set(false));
    let Ok(Ok(mut e)) = parsed else { return false };
    while let Expr::Paren(p) = e {
        e = *p.expr;
    }
    matches!(&e, Expr::Call(c) if c.func.name == "sort" || c.func.name == "sort_desc")
}

fn env_list(name: &str) -> Vec<String> {
    std::env::var(name)
        .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

thread_local! {
    /// Set while our engine runs, so the panic hook knows a panic is the engine's.
    static IN_ENGINE: Cell<bool> = const { Cell::new(false) };
}

/// A panic hook that keeps the message and place of an engine panic (for the report) and leaves
/// every other panic to the previous hook.
fn install_panic_hook() -> Arc<Mutex<String>> {
    let slot = Arc::new(Mutex::new(String::new()));
    let hook_slot = Arc::clone(&slot);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !IN_ENGINE.with(Cell::get) {
            return previous(info);
        }
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        if let Ok(mut s) = hook_slot.lock() {
            *s = format!("{msg}{place}");
        }
    }));
    slot
}

/// Runs our engine, turning a panic into an outcome (with its message and location).
fn run_ours(
    engine: &Engine,
    storage: &BlockQueryable,
    expr: &str,
    mode: Mode,
    last_panic: &Mutex<String>,
) -> Outcome {
    IN_ENGINE.with(|f| f.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| match mode {
        Mode::Instant(t) => engine.instant_query(storage, expr, t),
        Mode::Range(s, e, st) => engine.range_query(storage, expr, s, e, st),
    }));
    IN_ENGINE.with(|f| f.set(false));
    match result {
        Ok(Ok(v)) => Outcome::Ok(from_value(v)),
        Ok(Err(e)) => {
            let error_type = e.error_type().to_string();
            Outcome::Err { status: status_for(&error_type), error_type, message: e.to_string() }
        }
        Err(_) => Outcome::Panic(std::mem::take(&mut *last_panic.lock().unwrap_or_else(|e| e.into_inner()))),
    }
}

#[test]
fn promql_matches_prometheus_2_42() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let blocks_dir = dir.path().join("blocks");
    let prom_dir = dir.path().join("prometheus-data");
    std::fs::create_dir_all(&blocks_dir).unwrap();
    std::fs::create_dir_all(&prom_dir).unwrap();

    // Data: our blocks, and a copy for Prometheus (which writes its own files next to them).
    let series = data::generate();
    let num_samples: usize = series.iter().map(|s| s.1.len()).sum();
    let num_blocks = data::write_blocks(&series, &blocks_dir);
    for entry in std::fs::read_dir(&blocks_dir).unwrap() {
        let block = entry.unwrap().path();
        let target = prom_dir.join(block.file_name().unwrap());
        std::fs::create_dir_all(target.join("chunks")).unwrap();
        for file in ["meta.json", "index", "tombstones", "chunks/000001"] {
            if block.join(file).exists() {
                std::fs::copy(block.join(file), target.join(file)).unwrap();
            }
        }
    }
    let storage = BlockQueryable::open(&blocks_dir);
    assert_eq!(storage.num_blocks(), num_blocks);
    let server = PrometheusServer::start(&prom_dir, dir.path());
    let version = server.version();
    assert!(version.starts_with("2.42."), "Prometheus {version} is not 2.42");
    assert_eq!(server.num_series(), series.len(), "Prometheus does not see every generated series");
    check_storage(&server, &storage);
    println!(
        "data: {} series, {num_samples} samples, {num_blocks} blocks; Prometheus {version} ready after {:.1?}",
        series.len(),
        started.elapsed()
    );

    let engine = Engine::new(EngineOptions {
        lookback_delta_ms: 5 * 60 * 1000,
        max_samples: 50_000_000,
        timeout: Duration::from_secs(120),
        default_subquery_step_ms: 60 * 1000,
    });

    let last_panic = install_panic_hook();
    let categories = env_list("DIFF_CATEGORY");
    let filter = std::env::var("DIFF_FILTER").unwrap_or_default();
    let only_mode = std::env::var("DIFF_MODE").unwrap_or_default();
    let verbose = std::env::var_os("DIFF_VERBOSE").is_some();

    let all = queries::all();
    let mut cases = Vec::new();
    let (mut prom_time, mut our_time) = (Duration::ZERO, Duration::ZERO);
    for (i, q) in all.iter().enumerate() {
        if (!categories.is_empty() && !categories.iter().any(|c| c == q.category))
            || !q.expr.contains(&filter)
        {
            continue;
        }
        let (s, e, st) = queries::range_params(i);
        for mode in [Mode::Instant(queries::instant_time(i)), Mode::Range(s, e, st)] {
            if (only_mode == "instant" && !mode.is_instant()) || (only_mode == "range" && mode.is_instant()) {
                continue;
            }
            if verbose {
                println!("running [{}] {} ({})", q.category, q.expr, mode.describe());
            }
            let t = Instant::now();
            let (status, body) = server.get(&mode.api_path(&q.expr));
            let want = from_prometheus(status, &body)
                .unwrap_or_else(|e| panic!("cannot read Prometheus' answer to {:?}: {e}", q.expr));
            prom_time += t.elapsed();
            let t = Instant::now();
            let got = run_ours(&engine, &storage, &q.expr, mode, &last_panic);
            our_time += t.elapsed();
            let ordered = mode.is_instant() && is_sorted_query(&q.expr);
            let (verdict, detail) = judge(&want, &got, ordered);
            cases.push(Case { category: q.category, expr: q.expr.clone(), mode, verdict, detail, want, got });
        }
    }

    let report = build_report(&all, &cases);
    let report_path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("promql-differential-report.txt");
    std::fs::write(&report_path, &report).unwrap();
    println!("{report}");
    let failed =
        cases.iter().filter(|c| !matches!(c.verdict, Verdict::Pass | Verdict::PassErrorTextDiffers)).count();
    println!(
        "{} queries, {} comparisons, {failed} mismatches; Prometheus {prom_time:.1?}, ours {our_time:.1?}, total {:.1?}",
        all.len(),
        cases.len(),
        started.elapsed()
    );
    println!("report written to {}", report_path.display());
    drop(server);
    assert_eq!(
        failed,
        0,
        "{failed} of {} comparisons differ from Prometheus 2.42 (report above)",
        cases.len()
    );
}

/// Checks that our block `Queryable` returns exactly the raw samples Prometheus returns, so a
/// mismatch later is the engine's and not the test's storage: every sample of every series, read
/// as `{__name__=~".+"}[2h]` at the end of each block, minus stale markers (which Prometheus never
/// returns in a range vector).
fn check_storage(server: &PrometheusServer, storage: &BlockQueryable) {
    use promql::Queryable;
    use promql_parser::parser::Expr;
    let Ok(Expr::VectorSelector(selector)) = promql_parser::parser::parse(r#"{__name__=~".+"}"#) else {
        panic!("cannot parse the all-series selector")
    };
    let matchers = selector.matchers.matchers;
    let mut end = data::T0 + data::BLOCK_RANGE;
    while end < data::DATA_END + data::BLOCK_RANGE {
        let expr = format!("{{__name__=~\".+\"}}[{}s]", data::BLOCK_RANGE / 1000);
        let (status, body) = server.get(&Mode::Instant(end).api_path(&expr));
        let want = match from_prometheus(status, &body).unwrap() {
            Outcome::Ok(compare::Answer::Matrix(m)) => m,
            other => panic!("raw read from Prometheus failed: {}", render(&other, 3)),
        };
        let hints = promql::SelectHints { start: end - data::BLOCK_RANGE, end, ..Default::default() };
        let mut got = Vec::new();
        for mut s in storage.select(&matchers, &hints).unwrap() {
            let mut points = Vec::new();
            while let Some(p) = s.samples.next().unwrap() {
                if !promql::value::is_stale_marker(p.v) {
                    points.push((p.t, p.v));
                }
            }
            if !points.is_empty() {
                got.push((s.labels, points));
            }
        }
        let want = compare::Answer::Matrix(want);
        let got = compare::Answer::Matrix(got);
        if let Err(d) = compare::compare_answers(&want, &got, false) {
            panic!(
                "the test's block Queryable disagrees with Prometheus' raw data at {}:\n{d}",
                api_time(end)
            );
        }
        end += data::BLOCK_RANGE;
    }
}

/// The per-category summary, then every mismatch and every error-text difference.
fn build_report(all: &[queries::QuerySpec], cases: &[Case]) -> String {
    #[derive(Default)]
    struct Row {
        queries: usize,
        cases: usize,
        pass: usize,
        result: usize,
        error: usize,
        panic: usize,
        text: usize,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for q in all {
        rows.entry(q.category).or_default().queries += 1;
    }
    for c in cases {
        let row = rows.entry(c.category).or_default();
        row.cases += 1;
        match c.verdict {
            Verdict::Pass => row.pass += 1,
            Verdict::PassErrorTextDiffers => {
                row.pass += 1;
                row.text += 1;
            }
            Verdict::ResultMismatch => row.result += 1,
            Verdict::ErrorMismatch => row.error += 1,
            Verdict::Panic => row.panic += 1,
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "\n=== PromQL differential test against Prometheus 2.42 ===");
    let with_data = cases.iter().filter(|c| has_data(&c.want)).count();
    let failing = cases.iter().filter(|c| matches!(c.want, Outcome::Err { .. })).count();
    let _ = writeln!(
        out,
        "{} comparisons: {with_data} where Prometheus returns data, {} empty, {failing} where it fails",
        cases.len(),
        cases.len() - with_data - failing
    );
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:>7} {:>6} {:>8} {:>8} {:>6} {:>10}",
        "category", "queries", "cases", "pass", "result≠", "error≠", "panic", "errtext≠"
    );
    let mut total = Row::default();
    for (name, r) in &rows {
        let _ = writeln!(
            out,
            "{:<12} {:>7} {:>7} {:>6} {:>8} {:>8} {:>6} {:>10}",
            name, r.queries, r.cases, r.pass, r.result, r.error, r.panic, r.text
        );
        total.queries += r.queries;
        total.cases += r.cases;
        total.pass += r.pass;
        total.result += r.result;
        total.error += r.error;
        total.panic += r.panic;
        total.text += r.text;
    }
    let _ = writeln!(
        out,
        "{:<12} {:>7} {:>7} {:>6} {:>8} {:>8} {:>6} {:>10}",
        "TOTAL", total.queries, total.cases, total.pass, total.result, total.error, total.panic, total.text
    );

    let oracle_notes: Vec<&Case> = cases
        .iter()
        .filter(|c| c.category == "error" && c.mode.is_instant() && matches!(c.want, Outcome::Ok(_)))
        .collect();
    if !oracle_notes.is_empty() {
        let _ = writeln!(
            out,
            "\nNote: these `error` queries succeed in Prometheus (the test expects them to fail):"
        );
        for c in oracle_notes {
            let _ = writeln!(out, "  {}", c.expr);
        }
    }

    let mut n = 0;
    for kind in [Verdict::Panic, Verdict::ErrorMismatch, Verdict::ResultMismatch] {
        for c in cases.iter().filter(|c| c.verdict == kind) {
            n += 1;
            let _ = writeln!(out, "\n--- mismatch #{n} [{}] {:?}: {}", c.category, kind, c.expr);
            let _ = writeln!(out, "    mode: {}", c.mode.describe());
            let _ = writeln!(out, "    want: {}", render(&c.want, 12));
            let _ = writeln!(out, "    got:  {}", render(&c.got, 12));
            for line in c.detail.lines().take(25) {
                let _ = writeln!(out, "    > {line}");
            }
            if c.detail.lines().count() > 25 {
                let _ = writeln!(out, "    > … ({} lines in all)", c.detail.lines().count());
            }
        }
    }
    if std::env::var_os("DIFF_SHOW_ALL").is_some() {
        let _ = writeln!(out, "\n=== every comparison (DIFF_SHOW_ALL) ===");
        for c in cases {
            let _ = writeln!(out, "[{}] {:?} {} ({})", c.category, c.verdict, c.expr, c.mode.describe());
            let _ = writeln!(out, "    want: {}\n    got:  {}", render(&c.want, 4), render(&c.got, 4));
        }
    }
    let texts: Vec<&Case> = cases.iter().filter(|c| c.verdict == Verdict::PassErrorTextDiffers).collect();
    if !texts.is_empty() {
        let _ = writeln!(
            out,
            "\n=== error texts that differ (same status and errorType; not counted as failures) ==="
        );
        for c in texts {
            let _ = writeln!(out, "[{}] {} ({})\n    {}", c.category, c.expr, c.mode.describe(), c.detail);
        }
    }
    out
}
