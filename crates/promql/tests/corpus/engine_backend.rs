//! The scripted tests' [`Backend`] on our engine over a [`MemoryQueryable`], set up as 2.42's
//! harness sets up its engine.

use std::time::Duration;

use promql::engine::{Engine, EngineOptions};
use promql::{MemoryQueryable, Value};
use promql_parser::parser::Expr;
use tsdb_format::Labels;

use crate::runner::Backend;

/// Engine and store of one script segment.
pub(crate) struct EngineBackend {
    store: MemoryQueryable,
    engine: Engine,
}

impl EngineBackend {
    /// A fresh engine (lookback 5m, 10,000 samples, 100s timeout, default subquery step 1m)
    /// over an empty store.
    pub(crate) fn new() -> Self {
        let engine = Engine::new(EngineOptions {
            lookback_delta_ms: 5 * 60_000,
            max_samples: 10_000,
            timeout: Duration::from_secs(100),
            default_subquery_step_ms: 60_000,
        });
        Self { store: MemoryQueryable::new(), engine }
    }
}

impl Backend for EngineBackend {
    fn add_sample(&mut self, labels: &Labels, t: i64, v: f64) {
        self.store.add_sample(labels.clone(), t, v);
    }

    fn parse(&self, query: &str) -> Result<Expr, String> {
        Engine::parse(query).map_err(|e| e.to_string())
    }

    fn instant(&self, expr: &Expr, t: i64) -> Result<Value, String> {
        self.engine.instant_query_expr(&self.store, expr, t).map_err(|e| e.to_string())
    }

    fn range(&self, expr: &Expr, start: i64, end: i64, step: i64) -> Result<Value, String> {
        self.engine.range_query_expr(&self.store, expr, start, end, step).map_err(|e| e.to_string())
    }
}

/// The whole corpus on our engine: passes only when every eval passes.
#[test]
fn promql_corpus() {
    let (report, passed, failed) = crate::run_corpus(EngineBackend::new);
    eprintln!("{report}");
    assert!(passed + failed > 0, "no evals ran");
    assert_eq!(failed, 0, "{failed} PromQL corpus evals failed (report above)");
}

/// The runner on the real engine does fail wrong expectations (so a green corpus means something).
#[test]
fn runner_fails_wrong_expectations() {
    let script = crate::script::parse_script(
        r#"
load 1m
  m{a="1"} 1+1x10
  m{a="2"} 10+10x10

eval instant at 5m m
  m{a="1"} 6
  m{a="2"} 60

eval instant at 5m m
  m{a="1"} 6.1
  m{a="2"} 60

eval instant at 5m m
  m{a="1"} 6

eval instant at 5m m{a="1"}
  m{a="1"} 6
  m{a="2"} 60

eval_ordered instant at 5m sort_desc(m)
  m{a="1"} 6
  m{a="2"} 60

eval_fail instant at 5m m

eval instant at 5m sum(m)
  66

eval instant at 5m scalar(m{a="1"})
  6

eval instant at 5m time()
  300
"#,
    )
    .unwrap();
    let outcome = crate::runner::run_script(&script, EngineBackend::new, crate::runner::Filter::default());
    let failed: Vec<usize> = outcome.failures.iter().map(|f| f.line).collect();
    assert_eq!(failed, vec![10, 14, 17, 21, 25, 27], "{:#?}", outcome.failures);
    assert_eq!(outcome.passed, 3);
}
