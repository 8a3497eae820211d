//! Range-query speed of the PromQL engine, shaped like Prometheus 2.42's `BenchmarkRangeQuery`
//! (`promql/bench_test.go`; see benchmarks.md §3).
//!
//! Data: 1,443 series held in a [`MemoryQueryable`]: `a_X` and `b_X`, plus `h_X` with 11 `le`
//! buckets, for X = one/ten/hundred (1/10/100 label sets), one sample every 10 s, value
//! `step + series_index / 1443`. By default 1 day + 10k steps (18,640 samples per series,
//! 26.9M samples), as in Prometheus; `PROMQL_BENCH_INTERVALS=N` loads fewer.
//!
//! Cases: the expressions of `rangeQueryCases()` for X = one/ten/hundred, each evaluated with
//! 1, 10, 100 and 1000 steps of 10 s ending at `intervals × 10 s` (just after the last sample), plus
//! the few fixed-step cases. Prometheus names them `expr=<expr>,steps=<n>`; here they are
//! `range_query/<expr>/<n>`, and criterion's usual filter picks a subset
//! (`cargo bench -p promql --bench range_query -- 'a_one/'`).
//!
//! After criterion's output, a table gives each case in ns per output point (time divided by the
//! number of points in the result, i.e. series × (steps + 1)) beside Prometheus' published
//! figures where there are some, with a ratio ours / Prometheus.
//!
//! Criterion runs every case at least 11 times (warm-up plus 10 samples), which for the
//! `[1d]`-window cases over 100 series at 1000 steps would take minutes; a case whose first
//! (checking) run takes longer than `PROMQL_BENCH_SLOW_MS` (default 300) is instead timed by
//! hand, median of 3 runs, and marked `*` in the table. `PROMQL_BENCH_MAX_STEPS=N` drops cases
//! with more than N steps.

#![allow(clippy::unwrap_used, reason = "benchmark set-up; a failure should stop the run")]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode};
use promql::engine::{Engine, EngineOptions};
use promql::{MemoryQueryable, Value};
use tsdb_format::Labels;

/// Scrape interval of the data and step of every query, ms.
const INTERVAL_MS: i64 = 10_000;
/// A day of data plus 10k steps, as in bench_test.go.
const DEFAULT_INTERVALS: i64 = 8640 + 10_000;

/// The series of `setupRangeQueryTestData`, in its order (the order sets each series' value offset).
fn series_labels() -> Vec<Labels> {
    let mut out = Vec::with_capacity(1443);
    let le = |j: usize| if j < 10 { j.to_string() } else { "+Inf".to_string() };
    out.push(Labels::from_pairs([("__name__", "a_one")]));
    out.push(Labels::from_pairs([("__name__", "b_one")]));
    for j in 0..11 {
        out.push(Labels::from_pairs([("__name__", "h_one".to_string()), ("le", le(j))]));
    }
    for (name, n) in [("ten", 10), ("hundred", 100)] {
        for i in 0..n {
            let l = i.to_string();
            out.push(Labels::from_pairs([("__name__", format!("a_{name}")), ("l", l.clone())]));
            out.push(Labels::from_pairs([("__name__", format!("b_{name}")), ("l", l.clone())]));
            for j in 0..11 {
                out.push(Labels::from_pairs([
                    ("__name__", format!("h_{name}")),
                    ("l", l.clone()),
                    ("le", le(j)),
                ]));
            }
        }
    }
    out
}

fn load(intervals: i64) -> MemoryQueryable {
    let metrics = series_labels();
    let n = metrics.len() as f64;
    let mut q = MemoryQueryable::new();
    for (i, labels) in metrics.iter().enumerate() {
        for s in 0..intervals {
            q.add_sample(labels.clone(), s * INTERVAL_MS, s as f64 + i as f64 / n);
        }
    }
    q
}

/// `rangeQueryCases()`: an expression (with `X` to expand) and a fixed step count, or 0 for the
/// standard 1/10/100/1000.
const CASES: &[(&str, usize)] = &[
    // Plain retrieval.
    ("a_X", 0),
    // Simple rate.
    ("rate(a_X[1m])", 0),
    ("rate(a_X[1m])", 10_000),
    // Holt-Winters and long ranges.
    ("holt_winters(a_X[1d], 0.3, 0.3)", 0),
    ("changes(a_X[1d])", 0),
    ("rate(a_X[1d])", 0),
    ("absent_over_time(a_X[1d])", 0),
    // Unary operators.
    ("-a_X", 0),
    // Binary operators.
    ("a_X - b_X", 0),
    ("a_X - b_X", 10_000),
    ("a_X and b_X{l=~'.*[0-4]$'}", 0),
    ("a_X or b_X{l=~'.*[0-4]$'}", 0),
    ("a_X unless b_X{l=~'.*[0-4]$'}", 0),
    ("a_X and b_X{l='notfound'}", 0),
    // Simple functions.
    ("abs(a_X)", 0),
    ("label_replace(a_X, 'l2', '$1', 'l', '(.*)')", 0),
    ("label_join(a_X, 'l2', '-', 'l', 'l')", 0),
    // Simple aggregations.
    ("sum(a_X)", 0),
    ("sum without (l)(h_X)", 0),
    ("sum without (le)(h_X)", 0),
    ("sum by (l)(h_X)", 0),
    ("sum by (le)(h_X)", 0),
    ("count_values('value', h_X)", 0),
    ("topk(1, a_X)", 0),
    // Combinations.
    ("rate(a_X[1m]) + rate(b_X[1m])", 0),
    ("sum without (l)(rate(a_X[1m]))", 0),
    ("sum without (l)(rate(a_X[1m])) / sum without (l)(rate(b_X[1m]))", 0),
    ("histogram_quantile(0.9, rate(h_X[5m]))", 0),
    // Many-to-one join.
    ("a_X + on(l) group_right a_one", 0),
    // Label compared to blank string.
    ("count({__name__!=\"\"})", 1),
    ("count({__name__!=\"\",l=\"\"})", 1),
];

fn expand_cases(max_steps: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for &(expr, steps) in CASES {
        let exprs: Vec<String> = if expr.contains('X') {
            ["one", "ten", "hundred"].iter().map(|x| expr.replace('X', x)).collect()
        } else {
            vec![expr.to_string()]
        };
        for e in exprs {
            let all: &[usize] = if steps == 0 { &[1, 10, 100, 1000] } else { &[steps] };
            out.extend(all.iter().filter(|&&s| s <= max_steps).map(|&s| (e.clone(), s)));
        }
    }
    out
}

/// Prometheus' published timings, ns per query: (expr, steps, ns, source).
///
/// M1 = Apple M1, GOMAXPROCS 8, 2025, the "before" column of prometheus PR #16404
/// (benchmarks.md §3). FB20 = prombot funcbench, GOMAXPROCS 4, 2020 (prometheus PR #7479), an
/// older engine on a cloud VM; only a rough anchor.
const PUBLISHED: &[(&str, usize, f64, &str)] = &[
    ("a_one", 100, 11_020.0, "M1"),
    ("a_ten", 100, 58_770.0, "M1"),
    ("a_hundred", 100, 537_700.0, "M1"),
    ("a_one", 1000, 35_220.0, "M1"),
    ("a_ten", 1000, 302_000.0, "M1"),
    ("a_hundred", 1000, 2_981_000.0, "M1"),
    ("rate(a_one[1m])", 1000, 240_000.0, "FB20"),
];

/// What one case returns: output series and points (0 and 0 for an error, kept in `error`).
struct Shape {
    series: usize,
    points: usize,
    error: Option<String>,
}

fn shape(v: &promql::Result<Value>) -> Shape {
    match v {
        Ok(Value::Matrix(m)) => {
            Shape { series: m.len(), points: m.iter().map(|s| s.points.len()).sum(), error: None }
        }
        Ok(Value::Vector(v)) => Shape { series: v.len(), points: v.len(), error: None },
        Ok(Value::Scalar(_) | Value::String { .. }) => Shape { series: 1, points: 1, error: None },
        Err(e) => Shape { series: 0, points: 0, error: Some(e.to_string()) },
    }
}

thread_local! {
    /// Per case: the mean time per query of every batch criterion ran (warm-up included).
    static TIMINGS: RefCell<BTreeMap<(String, usize), Vec<f64>>> = const { RefCell::new(BTreeMap::new()) };
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn print_table(
    cases: &[(String, usize)],
    shapes: &BTreeMap<(String, usize), Shape>,
    by_hand: &[(String, usize)],
) {
    println!();
    println!("PromQL range queries: ours (median of criterion batches; * = median of 3 runs by hand)");
    println!("vs Prometheus' published figures");
    println!(
        "ns/pt = time / output points (series × (steps + 1)); ratio = ours / Prometheus (< 1 is faster)"
    );
    println!(
        "{:<78} {:>5} {:>6} {:>8} {:>10} {:>8} {:>10} {:>8} {:>6} {:>7}",
        "expr", "steps", "series", "points", "ours", "ns/pt", "prom", "prom/pt", "src", "ratio"
    );
    let timings = TIMINGS.with(|t| t.borrow().clone());
    for key in cases {
        let Some(shape) = shapes.get(key) else { continue };
        let (expr, steps) = key;
        if let Some(err) = &shape.error {
            println!("{expr:<78} {steps:>5}  error: {err}");
            continue;
        }
        let Some(samples) = timings.get(key).filter(|s| !s.is_empty()) else { continue };
        let ours = median(samples);
        let per_pt = |ns: f64| {
            if shape.points == 0 { "-".to_string() } else { format!("{:.1}", ns / shape.points as f64) }
        };
        let published = PUBLISHED.iter().find(|p| p.0 == expr && p.1 == *steps);
        let (prom, prom_pt, src, ratio) = match published {
            Some(&(_, _, ns, src)) => (fmt_ns(ns), per_pt(ns), src, format!("{:.2}", ours / ns)),
            None => (String::new(), String::new(), "", String::new()),
        };
        let mark = if by_hand.contains(key) { "*" } else { "" };
        println!(
            "{expr:<78} {steps:>5} {:>6} {:>8} {:>10} {:>8} {prom:>10} {prom_pt:>8} {src:>6} {ratio:>7}",
            shape.series,
            shape.points,
            format!("{}{mark}", fmt_ns(ours)),
            per_pt(ours),
        );
    }
    println!("M1 = Apple M1, 2025 (prometheus PR #16404); FB20 = funcbench GOMAXPROCS=4, 2020 (PR #7479).");
}

fn env_num(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Criterion's positional filter (a regex, or an exact name with `--exact`), parsed here too so
/// that cases criterion would skip are neither checked nor timed by hand.
struct Filter {
    regex: Option<regex::Regex>,
    exact: Option<String>,
}

impl Filter {
    fn from_args(args: &[String]) -> Self {
        // Criterion options that take a value (`--opt value`; `--opt=value` needs no care).
        const WITH_VALUE: &[&str] = &[
            "-c",
            "--color",
            "-s",
            "--save-baseline",
            "-b",
            "--baseline",
            "--baseline-lenient",
            "--format",
            "--profile-time",
            "--load-baseline",
            "--sample-size",
            "--warm-up-time",
            "--measurement-time",
            "--nresamples",
            "--noise-threshold",
            "--confidence-level",
            "--significance-level",
            "--plotting-backend",
            "--output-format",
        ];
        let mut positional = None;
        let mut skip = false;
        for arg in args.iter().skip(1) {
            if skip {
                skip = false;
            } else if WITH_VALUE.contains(&arg.as_str()) {
                skip = true;
            } else if !arg.starts_with('-') && positional.is_none() {
                positional = Some(arg.clone());
            }
        }
        let exact = args.iter().any(|a| a == "--exact");
        match positional {
            Some(p) if exact => Self { regex: None, exact: Some(p) },
            Some(p) => Self { regex: Some(regex::Regex::new(&p).unwrap()), exact: None },
            None => Self { regex: None, exact: None },
        }
    }

    fn matches(&self, id: &str) -> bool {
        match (&self.regex, &self.exact) {
            (Some(r), _) => r.is_match(id),
            (None, Some(e)) => e == id,
            (None, None) => true,
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let test_mode = args.iter().any(|a| a == "--test");
    let list_mode = args.iter().any(|a| a == "--list");

    let intervals = env_num("PROMQL_BENCH_INTERVALS", DEFAULT_INTERVALS);
    let max_steps = usize::try_from(env_num("PROMQL_BENCH_MAX_STEPS", 10_000)).unwrap();
    let slow = Duration::from_millis(u64::try_from(env_num("PROMQL_BENCH_SLOW_MS", 300)).unwrap());
    let filter = Filter::from_args(&args);
    let cases: Vec<(String, usize)> = expand_cases(max_steps)
        .into_iter()
        .filter(|(expr, steps)| list_mode || filter.matches(&format!("range_query/{expr}/{steps}")))
        .collect();

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(300))
        .sample_size(10)
        .nresamples(1000)
        .configure_from_args();

    let queryable = if list_mode {
        MemoryQueryable::new()
    } else {
        let started = Instant::now();
        let q = load(intervals);
        eprintln!(
            "loaded {} series × {intervals} samples at {} s in {:.1?}",
            q.num_series(),
            INTERVAL_MS / 1000,
            started.elapsed()
        );
        q
    };
    let engine = Engine::new(EngineOptions {
        max_samples: 50_000_000,
        timeout: Duration::from_secs(100),
        ..EngineOptions::default()
    });
    let end_ms = intervals * INTERVAL_MS;

    let mut shapes = BTreeMap::new();
    let mut by_hand = Vec::new();
    let mut group = criterion.benchmark_group("range_query");
    group.sampling_mode(SamplingMode::Flat);
    for (expr, steps) in &cases {
        let start_ms = end_ms - i64::try_from(*steps).unwrap() * INTERVAL_MS;
        let run = || engine.range_query(&queryable, expr, start_ms, end_ms, INTERVAL_MS);
        let key = (expr.clone(), *steps);
        if !list_mode {
            // One checked run first: the result's shape, and whether criterion's ≥ 11 runs fit.
            let started = Instant::now();
            let result = run();
            let first = started.elapsed();
            let shape = shape(&result);
            drop(result);
            let failed = shape.error.is_some();
            shapes.insert(key.clone(), shape);
            if failed {
                continue;
            }
            if first > slow {
                if !test_mode {
                    // Too slow for criterion's minimum of 10 samples: time two more runs by hand.
                    let mut times = vec![first.as_nanos() as f64];
                    for _ in 0..2 {
                        let started = Instant::now();
                        black_box(run().ok());
                        times.push(started.elapsed().as_nanos() as f64);
                    }
                    println!(
                        "range_query/{expr}/{steps}: timed by hand (3 runs): {}",
                        fmt_ns(median(&times))
                    );
                    TIMINGS.with(|t| t.borrow_mut().insert(key.clone(), times));
                    by_hand.push(key);
                }
                continue;
            }
        }
        group.bench_function(BenchmarkId::new(expr.as_str(), steps), |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for _ in 0..iters {
                    black_box(run().ok());
                }
                let elapsed = started.elapsed();
                TIMINGS.with(|t| {
                    let mut t = t.borrow_mut();
                    t.entry(key.clone()).or_default().push(elapsed.as_nanos() as f64 / iters as f64);
                });
                elapsed
            });
        });
    }
    group.finish();
    criterion.final_summary();

    if !test_mode && !list_mode {
        print_table(&cases, &shapes, &by_hand);
    }
}
