//! Bounded retries with exponential backoff, for transient failures only.
//!
//! The AWS SDK's own retries are turned off so that one policy, visible here, decides how long a
//! caller can wait: `max_attempts` tries, sleeping `initial_backoff`, then twice that, and so on up
//! to `max_backoff`. Auth errors, missing keys and bad requests are returned at once.

use std::future::Future;
use std::time::Duration;

use crate::error::{BoxError, ObjstoreError, Result};

/// How often and how patiently to retry a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, including the first one; at least 1.
    pub max_attempts: u32,
    /// Sleep before the second attempt; doubled before each further one.
    pub initial_backoff: Duration,
    /// Upper bound of one sleep.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, sleeping 100 ms, 200 ms, 400 ms, 800 ms between them.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The sleep after failed attempt number `attempt` (1-based).
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.initial_backoff.saturating_mul(1u32 << doublings).min(self.max_backoff)
    }
}

/// The outcome of one failed attempt, as judged by the backend that made it.
#[derive(Debug)]
pub(crate) enum AttemptError {
    /// Worth retrying: connection refused or reset, timeouts, 5xx, throttling.
    Transient(BoxError),
    /// Final: retrying cannot help.
    Permanent(ObjstoreError),
}

/// Runs `attempt` until it succeeds, fails permanently, or `policy.max_attempts` are used up.
///
/// Exhausted retries become [`ObjstoreError::Unavailable`] carrying the last error.
pub(crate) async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    operation: &'static str,
    key: &str,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, AttemptError>>,
{
    let max_attempts = policy.max_attempts.max(1);
    let mut attempts_made = 0;
    loop {
        attempts_made += 1;
        let transient_error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(AttemptError::Permanent(error)) => return Err(error),
            Err(AttemptError::Transient(error)) => error,
        };
        if attempts_made >= max_attempts {
            return Err(ObjstoreError::Unavailable {
                operation,
                key: key.to_owned(),
                after_attempts: attempts_made,
                source: transient_error,
            });
        }
        // Metrics seam: a retry counter per operation belongs here.
        tokio::time::sleep(policy.backoff_after(attempts_made)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn fast_policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff_after(1), Duration::from_millis(100));
        assert_eq!(policy.backoff_after(2), Duration::from_millis(200));
        assert_eq!(policy.backoff_after(4), Duration::from_millis(800));
        assert_eq!(policy.backoff_after(40), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let value = with_retries(&fast_policy(5), "Test", "k", || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(AttemptError::Transient("flaky".into()))
            } else {
                Ok(7)
            }
        })
        .await
        .expect("third attempt succeeds");
        assert_eq!(value, 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn exhausted_retries_become_unavailable() {
        let calls = AtomicU32::new(0);
        let error = with_retries(&fast_policy(3), "Test", "k", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(AttemptError::Transient("down".into()))
        })
        .await
        .expect_err("never succeeds");
        assert!(matches!(error, ObjstoreError::Unavailable { after_attempts: 3, .. }), "{error:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let error = with_retries(&fast_policy(5), "Test", "k", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(AttemptError::Permanent(ObjstoreError::NotFound { key: "k".to_owned() }))
        })
        .await
        .expect_err("fails at once");
        assert!(error.is_not_found());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
