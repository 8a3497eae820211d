//! Prometheus 2.42's scripted PromQL tests (`promql/testdata/*.test`), run against our engine
//! with the harness' rules: see `/work/shared/reference/promql-test-format.md` §5 and 2.42's
//! `promql/test.go`. Per eval: the instant query at t and the range query t−1m..t+1m step 1m
//! (its point at t; not for `eval_ordered`), then the same two for the `@ t`-rewritten query
//! at each of 2.42's extra evaluation times (`-10t, 0, t/5, t, 10t`, or `-1s, 0, 1s` at t = 0),
//! unless the query calls a step-variant function such as `time()` outside subqueries.
//!
//! Run: `cargo test -p promql --test corpus -- --nocapture`.
//! Environment:
//! - `PROMQL_TESTS_DIR`: the corpus folder (default `../../../shared/promql-tests/v2.42.0`
//!   from this crate);
//! - `PROMQL_TEST_FILE`: only files whose name contains this (e.g. `functions`);
//! - `PROMQL_TEST_LINE`: only the eval on this line (with `PROMQL_TEST_FILE`);
//! - `PROMQL_TEST_SHOW`: failure details printed per file (default 5).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

mod at_rewrite;
mod compare;
mod engine_backend;
mod load;
mod runner;
mod script;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use runner::{Backend, Filter, ScriptOutcome, run_script};
use script::{Script, parse_script};

/// The corpus folder: `PROMQL_TESTS_DIR`, else the shared v2.42.0 copy.
fn corpus_dir() -> PathBuf {
    std::env::var_os("PROMQL_TESTS_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/promql-tests/v2.42.0"),
        PathBuf::from,
    )
}

/// Every `*.test` file of the corpus (only names containing `PROMQL_TEST_FILE`, if set),
/// sorted by name, with its parse result. Panics if the folder is missing or holds none.
fn corpus_files() -> Vec<(String, Result<Script, String>)> {
    let dir = corpus_dir();
    let filter = std::env::var("PROMQL_TEST_FILE").ok().filter(|f| !f.is_empty());
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("PromQL corpus folder {} is not readable: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.test files in {}", dir.display());
    let files: Vec<(String, Result<Script, String>)> = files
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
                return None;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            Some((name, parse_script(&text).map_err(|e| e.to_string())))
        })
        .collect();
    assert!(!files.is_empty(), "PROMQL_TEST_FILE={filter:?} matches no file in {}", dir.display());
    files
}

/// The script parser reads the whole corpus, with the eval counts of its README.
#[test]
fn corpus_scripts_parse() {
    let mut total = 0;
    for (name, script) in corpus_files() {
        let script = script.unwrap_or_else(|e| panic!("{name}: {e}"));
        let evals = script.evals().count();
        assert!(evals > 0, "{name} has no evals");
        total += evals;
    }
    if std::env::var_os("PROMQL_TEST_FILE").is_none() && std::env::var_os("PROMQL_TESTS_DIR").is_none() {
        assert_eq!(total, 566, "the v2.42.0 corpus has 566 evals");
    }
}

/// Runs every selected corpus file (in parallel, one thread per file) and returns the report
/// text and the totals `(passed, failed)`. A file that does not parse counts all its evals —
/// at least one — as failed.
fn run_corpus<B: Backend>(new_backend: impl Fn() -> B + Sync) -> (String, usize, usize) {
    let files = corpus_files();
    let show: usize = std::env::var("PROMQL_TEST_SHOW").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let filter = Filter { line: std::env::var("PROMQL_TEST_LINE").ok().and_then(|s| s.parse().ok()) };
    let outcomes: Vec<Result<ScriptOutcome, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .iter()
            .map(|(_, script)| {
                let new_backend = &new_backend;
                std::thread::Builder::new()
                    .stack_size(64 << 20)
                    .spawn_scoped(scope, move || match script {
                        Ok(s) => Ok(run_script(s, new_backend, filter)),
                        Err(e) => Err(e.clone()),
                    })
                    .expect("spawn a corpus thread")
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("runner thread panicked".to_owned())))
            .collect()
    });
    let mut report = String::new();
    let (mut passed, mut failed) = (0, 0);
    for ((name, _), outcome) in files.iter().zip(outcomes) {
        match outcome {
            Err(e) => {
                failed += 1;
                let _ = writeln!(report, "{name}: SCRIPT ERROR: {e}");
            }
            Ok(o) => {
                passed += o.passed;
                failed += o.failures.len();
                let _ = writeln!(report, "{name}: {} passed, {} failed", o.passed, o.failures.len());
                for f in o.failures.iter().take(show) {
                    let _ = writeln!(report, "  {name}:{}: {}", f.line, f.eval);
                    if f.query != f.eval.split_once(' ').map_or("", |(_, q)| q) {
                        let _ = writeln!(report, "      query: {}", f.query);
                    }
                    let _ = writeln!(report, "      [{}] {}", f.check, f.msg);
                }
                if o.failures.len() > show {
                    let _ = writeln!(
                        report,
                        "  … {} more (PROMQL_TEST_SHOW=n shows more)",
                        o.failures.len() - show
                    );
                }
            }
        }
    }
    let _ = writeln!(report, "TOTAL: {passed} passed, {failed} failed");
    (report, passed, failed)
}
