//! Limits on one query: samples held in memory, a deadline, and cancellation by the caller.
//!
//! Prometheus 2.42 counts the samples an evaluation holds (`ev.currentSamples`) and fails with
//! "query processing would load too many samples into memory in query execution" when the
//! count passes `max_samples`; it checks its context (timeout or cancel) on entry to every node
//! and at every step, failing "in expression evaluation".

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::error::{PromqlError, Result};

/// Where Prometheus reports a limit hit during evaluation (its `env`).
pub(crate) const ENV_QUERY_EXECUTION: &str = "query execution";
/// Where Prometheus reports a timeout or cancellation inside the evaluator.
pub(crate) const ENV_EXPRESSION_EVALUATION: &str = "expression evaluation";

/// A flag a caller sets to cancel a running query (e.g. when the HTTP client goes away).
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every query holding a clone of this token.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The budget of one query. Evaluation is single-threaded, so the sample count is a `Cell`.
#[derive(Debug)]
pub(crate) struct QueryLimits {
    max_samples: i64,
    deadline: Option<Instant>,
    cancel: Option<CancelToken>,
    current_samples: Cell<i64>,
}

impl QueryLimits {
    pub(crate) fn new(max_samples: usize, deadline: Option<Instant>, cancel: Option<CancelToken>) -> Self {
        let max_samples = i64::try_from(max_samples).unwrap_or(i64::MAX);
        Self { max_samples, deadline, cancel, current_samples: Cell::new(0) }
    }

    /// Fails if the query was cancelled or ran past its deadline (Go's `contextDone`).
    pub(crate) fn check_done(&self, env: &'static str) -> Result<()> {
        if self.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Err(PromqlError::Canceled(env));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(PromqlError::Timeout(env));
        }
        Ok(())
    }

    pub(crate) fn current(&self) -> i64 {
        self.current_samples.get()
    }

    pub(crate) fn set_current(&self, n: i64) {
        self.current_samples.set(n);
    }

    pub(crate) fn add(&self, n: i64) {
        self.current_samples.set(self.current_samples.get() + n);
    }

    pub(crate) fn max(&self) -> i64 {
        self.max_samples
    }

    /// Takes one more sample if the budget allows (`if current < max { current++ } else error`).
    pub(crate) fn take_one(&self) -> Result<()> {
        if self.current() < self.max_samples {
            self.add(1);
            Ok(())
        } else {
            Err(too_many_samples())
        }
    }

    /// Fails if the count is already past the budget (`if current > max { error }`).
    pub(crate) fn check_exceeded(&self) -> Result<()> {
        if self.current() > self.max_samples { Err(too_many_samples()) } else { Ok(()) }
    }
}

pub(crate) fn too_many_samples() -> PromqlError {
    PromqlError::TooManySamples(ENV_QUERY_EXECUTION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_prometheus() {
        let limits = QueryLimits::new(1, None, None);
        assert!(limits.take_one().is_ok());
        let err = limits.take_one().err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("query processing would load too many samples into memory in query execution")
        );
        let token = CancelToken::new();
        let limits = QueryLimits::new(1, None, Some(token.clone()));
        assert!(limits.check_done(ENV_EXPRESSION_EVALUATION).is_ok());
        token.cancel();
        let err = limits.check_done(ENV_EXPRESSION_EVALUATION).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("query was canceled in expression evaluation"));
        let limits = QueryLimits::new(1, Some(Instant::now()), None);
        let err = limits.check_done(ENV_EXPRESSION_EVALUATION).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("query timed out in expression evaluation"));
    }
}
