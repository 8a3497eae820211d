//! No-panic property test of the PromQL engine: every query — the differential test's generated
//! ones, mutations of them (characters and tokens deleted, inserted, swapped, duplicated), token
//! soup and arbitrary text — evaluated as an instant and as a range query over a small in-memory
//! store must return `Ok` or `Err`, never panic and never hang.
//!
//! Each evaluation runs on its own thread, so a panic is caught and reported with its query, and
//! a query that runs past [`HANG_AFTER`] is reported as a hang. `FUZZ_CASES` sets the number of
//! proptest cases per property (default 300); `FUZZ_VERBOSE=1` prints each query before it runs;
//! `FUZZ_SKIP=a|b` skips queries containing `a` or `b`.

#![allow(clippy::unwrap_used, reason = "test code: a panic with its message is the failure report")]

#[path = "differential/data.rs"]
#[allow(dead_code, reason = "shared with the differential test, which uses all of it")]
mod data;
#[path = "differential/queries.rs"]
#[allow(dead_code, reason = "shared with the differential test, which uses all of it")]
mod queries;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

use data::{H, M, T0};
use promql::MemoryQueryable;
use promql::engine::{Engine, EngineOptions};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// How long one evaluation may take before it counts as a hang.
const HANG_AFTER: Duration = Duration::from_secs(30);

/// The first 90 minutes of the differential data set, in memory (stale markers included).
fn store() -> Arc<MemoryQueryable> {
    static STORE: OnceLock<Arc<MemoryQueryable>> = OnceLock::new();
    Arc::clone(STORE.get_or_init(|| {
        let mut store = MemoryQueryable::new();
        for (labels, samples) in data::generate() {
            for (t, v) in samples.into_iter().filter(|(t, _)| *t < T0 + 90 * M) {
                store.add_sample(labels.clone(), t, v);
            }
        }
        Arc::new(store)
    }))
}

fn engine() -> Engine {
    Engine::new(EngineOptions {
        lookback_delta_ms: 5 * 60 * 1000,
        max_samples: 5_000_000,
        timeout: Duration::from_secs(10),
        default_subquery_step_ms: 60 * 1000,
    })
}

thread_local! {
    /// The last panic's message and place on this thread.
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Panics on evaluation threads are recorded, not printed (proptest provokes many while shrinking).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_eval_thread = std::thread::current().name().is_some_and(|n| n.starts_with("promql-eval"));
            if !on_eval_thread {
                return previous(info);
            }
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = format!("{msg}{place}"));
        }));
    });
}

/// Evaluates `query` as an instant and as a range query; `Err` describes a panic or a hang.
/// Queries containing one of the `|`-separated substrings in `FUZZ_SKIP` are skipped (to look past
/// a known panic).
fn evaluate(query: &str) -> Result<(), String> {
    install_panic_hook();
    let skip = std::env::var("FUZZ_SKIP").unwrap_or_default();
    if skip.split('|').any(|s| !s.is_empty() && query.contains(s)) {
        return Ok(());
    }
    if std::env::var_os("FUZZ_VERBOSE").is_some() {
        println!("query: {query:?}");
    }
    let (tx, rx) = mpsc::channel();
    let store = store();
    let owned = query.to_string();
    std::thread::Builder::new()
        .name("promql-eval".to_string())
        .spawn(move || {
            let engine = engine();
            let mut outcome = Ok(());
            for mode in ["instant", "range"] {
                let result = catch_unwind(AssertUnwindSafe(|| match mode {
                    "instant" => engine.instant_query(store.as_ref(), &owned, T0 + 30 * M + 500).map(drop),
                    _ => engine.range_query(store.as_ref(), &owned, T0, T0 + H, 60_000).map(drop),
                }));
                if result.is_err() {
                    let msg = LAST_PANIC.with(|p| std::mem::take(&mut *p.borrow_mut()));
                    outcome = Err(format!("{mode} query panicked: {msg}"));
                    break;
                }
            }
            let _ = tx.send(outcome);
        })
        .unwrap();
    match rx.recv_timeout(HANG_AFTER) {
        Ok(outcome) => outcome.map_err(|e| format!("{e}\n  query: {query:?}")),
        Err(_) => Err(format!("no answer within {HANG_AFTER:?} (hang?)\n  query: {query:?}")),
    }
}

/// Splits a query into tokens: names, numbers, quoted strings, operators, single characters and
/// runs of whitespace (kept, so joining the tokens gives the query back).
fn tokenize(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
        } else if i + 1 < chars.len()
            && ["==", "!=", ">=", "<=", "=~", "!~"].contains(&&*format!("{c}{}", chars[i + 1]))
        {
            i += 2;
        } else {
            i += 1;
        }
        out.push(chars[start..i].iter().collect());
    }
    out
}

/// Tokens to insert: keywords, functions, operators, odd numbers and durations.
const VOCABULARY: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
    "atan2",
    "@",
    "start()",
    "end()",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    "=~",
    "!=",
    "!~",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "==",
    ">",
    "<=",
    ":",
    "[5m]",
    "[0s]",
    "[1m:]",
    "[1h:1ms]",
    "[5m:1m]",
    "5m",
    "-5m",
    "0s",
    "1y",
    "99999999999999h",
    "1ms",
    "0",
    "-1",
    "1e308",
    "-1e-308",
    "NaN",
    "Inf",
    "-Inf",
    "0x7fffffffffffffff",
    "9223372036854775807",
    "1e19",
    "0.5",
    "\"\"",
    "\"le\"",
    "\".*\"",
    "\"(\"",
    "\"$1\"",
    "\"a b\"",
    "\"\\xff\"",
    "up",
    "http_requests_total",
    "weird_gauge",
    "http_request_duration_seconds_bucket",
    "nonexistent",
    "{job=\"api\"}",
    "rate",
    "irate",
    "increase",
    "delta",
    "deriv",
    "holt_winters",
    "predict_linear",
    "histogram_quantile",
    "quantile_over_time",
    "label_replace",
    "label_join",
    "count_values",
    "topk",
    "bottomk",
    "quantile",
    "absent",
    "absent_over_time",
    "scalar",
    "vector",
    "time",
    "timestamp",
    "sort",
    "sort_desc",
    "clamp",
    "round",
    "sum",
    "avg",
    "stddev",
    "group",
    "count",
    "day_of_month",
    "days_in_month",
    "changes",
    "resets",
    "last_over_time",
    "__name__",
    "é",
    "\u{0}",
    "@ -1e300",
    "@ 1e19",
    "offset 2562047h",
    "[2562047h]",
    "[30d:1s]",
    "[1ms:1ms]",
];

/// Characters to insert.
const CHARS: &[char] = &[
    '(', ')', '{', '}', '[', ']', '"', '\'', '`', ',', '=', '~', '!', '<', '>', '+', '-', '*', '/', '%', '^',
    '@', ':', '.', ' ', '0', '1', '5', '9', 'e', 'm', 's', 'h', 'y', 'x', '_', '\\', '#', '\n', 'é', '$',
];

/// One edit of a query.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteChar(usize),
    InsertChar(usize, usize),
    SwapChars(usize, usize),
    DeleteToken(usize),
    InsertToken(usize, usize),
    ReplaceToken(usize, usize),
    SwapTokens(usize, usize),
    DuplicateToken(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = any::<usize>;
    prop_oneof![
        n().prop_map(Mutation::DeleteChar),
        (n(), n()).prop_map(|(a, b)| Mutation::InsertChar(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::SwapChars(a, b)),
        n().prop_map(Mutation::DeleteToken),
        (n(), n()).prop_map(|(a, b)| Mutation::InsertToken(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::ReplaceToken(a, b)),
        (n(), n()).prop_map(|(a, b)| Mutation::SwapTokens(a, b)),
        n().prop_map(Mutation::DuplicateToken),
    ]
}

fn apply(query: &str, mutation: &Mutation) -> String {
    let mut chars: Vec<char> = query.chars().collect();
    let mut tokens = tokenize(query);
    let (nc, nt) = (chars.len().max(1), tokens.len().max(1));
    match *mutation {
        Mutation::DeleteChar(p) if !chars.is_empty() => {
            chars.remove(p % nc);
        }
        Mutation::InsertChar(p, c) => chars.insert(p % (chars.len() + 1), CHARS[c % CHARS.len()]),
        Mutation::SwapChars(a, b) if !chars.is_empty() => chars.swap(a % nc, b % nc),
        Mutation::DeleteToken(p) if !tokens.is_empty() => {
            tokens.remove(p % nt);
        }
        Mutation::InsertToken(p, t) => tokens.insert(p % (tokens.len() + 1), vocabulary_token(t)),
        Mutation::ReplaceToken(p, t) if !tokens.is_empty() => tokens[p % nt] = vocabulary_token(t),
        Mutation::SwapTokens(a, b) if !tokens.is_empty() => tokens.swap(a % nt, b % nt),
        Mutation::DuplicateToken(p) if !tokens.is_empty() => {
            let t = tokens[p % nt].clone();
            tokens.insert(p % nt, t);
        }
        _ => {}
    }
    match mutation {
        Mutation::DeleteChar(_) | Mutation::InsertChar(..) | Mutation::SwapChars(..) => {
            chars.into_iter().collect()
        }
        _ => tokens.concat(),
    }
}

/// A token from [`VOCABULARY`], with spaces around it half of the time.
fn vocabulary_token(t: usize) -> String {
    let token = VOCABULARY[t % VOCABULARY.len()];
    if (t / VOCABULARY.len()).is_multiple_of(2) { token.to_string() } else { format!(" {token} ") }
}

fn generated() -> &'static [String] {
    static QUERIES: OnceLock<Vec<String>> = OnceLock::new();
    QUERIES.get_or_init(|| queries::all().into_iter().map(|q| q.expr).collect())
}

fn config() -> ProptestConfig {
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

#[test]
fn generated_queries_do_not_panic() {
    let failures: Vec<String> = generated().iter().filter_map(|q| evaluate(q).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} generated queries panic or hang:\n{}",
        failures.len(),
        generated().len(),
        failures.join("\n")
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_queries_do_not_panic(index in any::<usize>(), mutations in prop::collection::vec(mutation(), 1..5)) {
        let base = &generated()[index % generated().len()];
        let query = mutations.iter().fold(base.clone(), |q, m| apply(&q, m));
        if let Err(e) = evaluate(&query) {
            return Err(TestCaseError::fail(format!("{e}\n  mutated from {base:?}")));
        }
    }

    #[test]
    fn token_soup_does_not_panic(tokens in prop::collection::vec(any::<usize>(), 1..14)) {
        let query = tokens.iter().map(|t| VOCABULARY[t % VOCABULARY.len()]).collect::<Vec<_>>().join(" ");
        if let Err(e) = evaluate(&query) {
            return Err(TestCaseError::fail(e));
        }
    }

    #[test]
    fn arbitrary_text_does_not_panic(query in "\\PC{0,40}") {
        if let Err(e) = evaluate(&query) {
            return Err(TestCaseError::fail(e));
        }
    }
}
