//! Runs a parsed script against an engine as Prometheus 2.42's `Test.exec` does.
//!
//! Per eval: the query at its time, then (unless skipped, see [`crate::at_rewrite`]) the
//! `@`-rewritten query at each additional time. Each of those runs as an instant query whose
//! result is compared, and then as a range query from t−1m to t+1m step 1m whose point at t is
//! compared (not for `eval_ordered`; a range error always fails). For `eval_fail` every instant
//! query must fail, and then nothing more is checked for it.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use promql::Value;
use promql_parser::parser::Expr;
use tsdb_format::Labels;

use crate::at_rewrite;
use crate::compare::{compare_range_at, compare_result};
use crate::script::{Command, Eval, EvalKind, Script};

/// An engine plus its storage, fresh for each segment of a script.
pub(crate) trait Backend {
    /// Appends a sample.
    fn add_sample(&mut self, labels: &Labels, t: i64, v: f64);
    /// Parses a query.
    fn parse(&self, query: &str) -> Result<Expr, String>;
    /// Evaluates an instant query at `t` (ms).
    fn instant(&self, expr: &Expr, t: i64) -> Result<Value, String>;
    /// Evaluates a range query.
    fn range(&self, expr: &Expr, start: i64, end: i64, step: i64) -> Result<Value, String>;
}

/// Why one eval failed.
#[derive(Debug, Clone)]
pub(crate) struct EvalFailure {
    /// 1-based line of the eval command.
    pub(crate) line: usize,
    /// The command kind and query, as written.
    pub(crate) eval: String,
    /// Which check failed, e.g. `range` or `@ rewrite, instant at t=-1000`.
    pub(crate) check: String,
    /// The query that was run for that check.
    pub(crate) query: String,
    pub(crate) msg: String,
}

/// What running one script gave.
#[derive(Debug, Default)]
pub(crate) struct ScriptOutcome {
    pub(crate) passed: usize,
    pub(crate) failures: Vec<EvalFailure>,
}

const MINUTE_MS: i64 = 60_000;

thread_local! {
    /// Set while the runner evaluates, so engine panics are caught quietly and reported.
    static PANIC_MSG: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let captured = PANIC_MSG.with(|p| {
                let mut p = p.borrow_mut();
                match p.as_mut() {
                    Some(slot) => {
                        *slot = Some(info.to_string());
                        true
                    }
                    None => false,
                }
            });
            if !captured {
                default(info);
            }
        }));
    });
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    PANIC_MSG.with(|p| p.borrow_mut().as_mut().and_then(Option::take)).unwrap_or_else(|| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned())
    })
}

/// Runs `f`, turning a panic into an error (quietly).
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    install_panic_hook();
    PANIC_MSG.with(|p| *p.borrow_mut() = Some(None));
    let r = catch_unwind(AssertUnwindSafe(f));
    let out = r.unwrap_or_else(|payload| Err(format!("panic: {}", panic_text(payload.as_ref()))));
    PANIC_MSG.with(|p| *p.borrow_mut() = None);
    out
}

/// A failed check: the check name, the query run, and the message.
type CheckError = (String, String, String);

/// Which evals to run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Filter {
    /// Only the eval on this line (1-based), if set.
    pub(crate) line: Option<usize>,
}

/// Runs `script`; `new_backend` makes a fresh engine and store (at start and at each `clear`).
pub(crate) fn run_script<B: Backend>(
    script: &Script,
    mut new_backend: impl FnMut() -> B,
    filter: Filter,
) -> ScriptOutcome {
    let mut outcome = ScriptOutcome::default();
    let mut backend = new_backend();
    // Last (t, value bits) per series, for the TSDB's out-of-order and duplicate checks.
    let mut last: HashMap<Labels, (i64, u64)> = HashMap::new();
    let mut fatal: Option<String> = None;
    for cmd in &script.commands {
        match cmd {
            Command::Clear => {
                backend = new_backend();
                last.clear();
                fatal = None;
            }
            Command::Load(load) => {
                if fatal.is_some() {
                    continue;
                }
                'series: for (labels, samples) in &load.series {
                    for &(t, v) in samples {
                        match last.get(labels) {
                            Some(&(lt, _)) if t < lt => {
                                fatal = Some(format!(
                                    "load at line {}: out of order sample for {labels}",
                                    load.line
                                ));
                                break 'series;
                            }
                            Some(&(lt, bits)) if t == lt => {
                                if bits != v.to_bits() {
                                    fatal = Some(format!(
                                        "load at line {}: duplicate sample for timestamp {t} of {labels}",
                                        load.line
                                    ));
                                    break 'series;
                                }
                                continue;
                            }
                            _ => {}
                        }
                        last.insert(labels.clone(), (t, v.to_bits()));
                        backend.add_sample(labels, t, v);
                    }
                }
            }
            Command::Eval(eval) => {
                if filter.line.is_some_and(|l| l != eval.line) {
                    continue;
                }
                let result = match &fatal {
                    Some(msg) => Err(("not run".to_owned(), eval.expr.clone(), msg.clone())),
                    None => run_eval(&backend, eval),
                };
                match result {
                    Ok(()) => outcome.passed += 1,
                    Err((check, query, msg)) => outcome.failures.push(EvalFailure {
                        line: eval.line,
                        eval: format!("{} {}", kind_name(eval.kind), eval.expr),
                        check,
                        query,
                        msg,
                    }),
                }
            }
        }
    }
    outcome
}

fn kind_name(kind: EvalKind) -> &'static str {
    match kind {
        EvalKind::Plain => "eval",
        EvalKind::Ordered => "eval_ordered",
        EvalKind::Fail => "eval_fail",
    }
}

/// All checks of one eval; the first failing one is reported.
pub(crate) fn run_eval<B: Backend>(backend: &B, eval: &Eval) -> Result<(), CheckError> {
    let expr = guarded(|| backend.parse(&eval.expr)).map_err(|e| {
        ("parse".to_owned(), eval.expr.clone(), format!("2.42 parses this query; we fail: {e}"))
    })?;
    run_case(backend, eval, &expr, eval.at_ms, "").map_err(|(c, m)| (c, eval.expr.clone(), m))?;
    if let Some(rewritten) = at_rewrite::rewrite(&expr, eval.at_ms) {
        for t in at_rewrite::additional_eval_times(eval.at_ms) {
            run_case(backend, eval, &rewritten, t, "@ rewrite, ")
                .map_err(|(c, m)| (c, rewritten.to_string(), m))?;
        }
    }
    Ok(())
}

fn run_case<B: Backend>(
    backend: &B,
    eval: &Eval,
    expr: &Expr,
    t: i64,
    prefix: &str,
) -> Result<(), (String, String)> {
    let check = |what: &str| {
        if prefix.is_empty() && t == eval.at_ms {
            what.to_owned()
        } else {
            format!("{prefix}{what} at t={t}")
        }
    };
    let instant = guarded(|| backend.instant(expr, t));
    let value = match (instant, eval.kind) {
        (Err(_), EvalKind::Fail) => return Ok(()),
        (Err(e), _) => return Err((check("instant"), format!("error: {e}"))),
        (Ok(v), EvalKind::Fail) => {
            return Err((check("instant"), format!("expected an error but got {}", short(&v))));
        }
        (Ok(v), _) => v,
    };
    compare_result(&eval.expected, eval.kind == EvalKind::Ordered, &value)
        .map_err(|m| (check("instant"), m))?;
    let range = guarded(|| backend.range(expr, t - MINUTE_MS, t + MINUTE_MS, MINUTE_MS))
        .map_err(|e| (check("range"), format!("error in range mode: {e}")))?;
    if eval.kind == EvalKind::Ordered {
        return Ok(());
    }
    let was_scalar = matches!(value, Value::Scalar(_));
    compare_range_at(&eval.expected, was_scalar, &range, t).map_err(|m| (check("range"), m))
}

/// A one-line rendering of a value for messages.
pub(crate) fn short(v: &Value) -> String {
    use crate::compare::go_float;
    match v {
        Value::Scalar(p) => format!("scalar {}", go_float(p.v)),
        Value::String { s, .. } => format!("string {s:?}"),
        Value::Vector(s) => {
            let items: Vec<String> =
                s.iter().take(5).map(|s| format!("{} {}", s.labels, go_float(s.v))).collect();
            let more = if s.len() > 5 { format!(", … ({} samples)", s.len()) } else { String::new() };
            format!("vector [{}{more}]", items.join(", "))
        }
        Value::Matrix(m) => format!("matrix of {} series", m.len()),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use promql::{Point, Sample};

    use super::*;
    use crate::script::parse_script;

    /// A fake engine: answers a bare metric name with the latest sample at or before t (no
    /// lookback limit), number literals as scalars, `fail` with an error, `boom` with a panic.
    #[derive(Default)]
    struct Fake {
        data: Vec<(Labels, i64, f64)>,
        calls: Cell<usize>,
        /// Instant-query times seen.
        times: RefCell<Vec<i64>>,
    }

    impl Fake {
        fn eval(&self, expr: &Expr, t: i64) -> Result<Value, String> {
            match expr {
                Expr::NumberLiteral(n) => Ok(Value::Scalar(Point { t, v: n.val })),
                Expr::VectorSelector(vs) if vs.name.as_deref() == Some("fail") => Err("failed".into()),
                Expr::VectorSelector(vs) if vs.name.as_deref() == Some("boom") => panic!("boom"),
                Expr::VectorSelector(vs) => {
                    let t = match &vs.at {
                        Some(promql_parser::parser::AtModifier::At(at)) => {
                            match at.duration_since(std::time::UNIX_EPOCH) {
                                Ok(d) => i64::try_from(d.as_millis()).unwrap(),
                                Err(e) => -i64::try_from(e.duration().as_millis()).unwrap(),
                            }
                        }
                        _ => t,
                    };
                    let name = vs.name.clone().unwrap_or_default();
                    let mut out: Vec<Sample> = Vec::new();
                    for (l, st, v) in &self.data {
                        if l.get("__name__") == Some(name.as_str()) && *st <= t {
                            out.retain(|s| &s.labels != l);
                            out.push(Sample { labels: l.clone(), t, v: *v });
                        }
                    }
                    Ok(Value::Vector(out))
                }
                other => Err(format!("fake cannot evaluate {other}")),
            }
        }
    }

    impl Backend for Fake {
        fn add_sample(&mut self, labels: &Labels, t: i64, v: f64) {
            self.data.push((labels.clone(), t, v));
        }
        fn parse(&self, q: &str) -> Result<Expr, String> {
            promql_parser::parser::parse(q)
        }
        fn instant(&self, expr: &Expr, t: i64) -> Result<Value, String> {
            self.calls.set(self.calls.get() + 1);
            self.times.borrow_mut().push(t);
            self.eval(expr, t)
        }
        fn range(&self, expr: &Expr, start: i64, end: i64, step: i64) -> Result<Value, String> {
            let mut series: Vec<promql::Series> = Vec::new();
            let mut t = start;
            while t <= end {
                match self.eval(expr, t)? {
                    Value::Scalar(p) => match series.first_mut() {
                        Some(s) => s.points.push(p),
                        None => series.push(promql::Series { labels: Labels::default(), points: vec![p] }),
                    },
                    Value::Vector(v) => {
                        for s in v {
                            let p = Point { t, v: s.v };
                            match series.iter_mut().find(|x| x.labels == s.labels) {
                                Some(x) => x.points.push(p),
                                None => series.push(promql::Series { labels: s.labels, points: vec![p] }),
                            }
                        }
                    }
                    other => return Err(format!("bad {other:?}")),
                }
                t += step;
            }
            Ok(Value::Matrix(series))
        }
    }

    fn run(src: &str) -> ScriptOutcome {
        run_script(&parse_script(src).unwrap(), Fake::default, Filter::default())
    }

    #[test]
    fn passes_and_fails() {
        let o = run(r#"
load 1m
  m{a="1"} 1 2 3

eval instant at 2m m
  m{a="1"} 3

eval instant at 2m m
  m{a="1"} 4

eval instant at 0m 5
  5

eval_fail instant at 0m fail

eval_fail instant at 0m m

eval instant at 0m fail

eval instant at 0m boom

eval instant at 0m m
"#);
        assert_eq!(o.passed, 3, "{:#?}", o.failures);
        let lines: Vec<usize> = o.failures.iter().map(|f| f.line).collect();
        assert_eq!(lines, vec![8, 16, 18, 20, 22]);
        assert!(
            o.failures[3].msg.contains("panic") && o.failures[3].msg.contains("boom"),
            "{:?}",
            o.failures[3]
        );
        assert!(o.failures[4].check.contains("instant"), "{:?}", o.failures[4]);
    }

    #[test]
    fn evaluates_at_all_times_and_clears() {
        let script = parse_script(
            r#"
load 1m
  m 1

eval instant at 1m 7
  7

clear

eval instant at 1m m
"#,
        )
        .unwrap();
        let mut made = 0;
        let o = run_script(
            &script,
            || {
                made += 1;
                Fake::default()
            },
            Filter::default(),
        );
        assert_eq!(made, 2);
        // After clear, `m` is empty; the @ rewrite of a bare selector is evaluated at
        // -10t, 0, t/5, t, 10t.
        assert_eq!(o.passed, 2, "{:#?}", o.failures);
        let filtered = run_script(&script, Fake::default, Filter { line: Some(10) });
        assert_eq!(filtered.passed, 1);
    }

    #[test]
    fn at_rewrite_times_are_used() {
        let script = parse_script("eval instant at 1m 7\n  7\n").unwrap();
        let Command::Eval(e) = &script.commands[0] else { panic!() };
        let fake = Fake::default();
        run_eval(&fake, e).unwrap();
        assert_eq!(*fake.times.borrow(), vec![60_000, -600_000, 0, 12_000, 60_000, 600_000]);
        // time() is step-variant: no @ cases.
        let script = parse_script("eval instant at 1m time()\n  60\n").unwrap();
        let Command::Eval(e) = &script.commands[0] else { panic!() };
        let fake = Fake::default();
        assert!(run_eval(&fake, e).is_err());
        assert_eq!(fake.calls.get(), 1);
    }

    #[test]
    fn load_checks_like_the_tsdb() {
        let o = run("load 1m\n  m 1\n\nload 1m\n  m 1 2\n\neval instant at 0m 1\n  1\n");
        assert_eq!(o.passed, 1, "same value at the same timestamp is fine");
        let o = run("load 1m\n  m 1 2\n\nload 1m\n  m 5\n\neval instant at 0m 1\n  1\n");
        assert_eq!(o.passed, 0);
        assert!(o.failures[0].msg.contains("out of order"), "{:?}", o.failures);
    }
}
