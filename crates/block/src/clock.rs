//! The wall clock behind every time-based decision (consistency delay, deletion delay, relative
//! `--min-time`, partial-upload age), injectable so tests are deterministic.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that shows a set time until moved: for tests.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<SystemTime>,
}

impl FixedClock {
    /// A clock stopped at `now`.
    pub fn new(now: SystemTime) -> Self {
        Self { now: Mutex::new(now) }
    }

    /// A clock stopped at `unix_secs` seconds after the Unix epoch.
    pub fn at_unix_secs(unix_secs: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(unix_secs))
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: SystemTime) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = now;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The clock filters use unless given another: the system clock.
pub(crate) fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// Nanoseconds since the Unix epoch, negative before it.
pub(crate) fn unix_nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

/// Milliseconds since the Unix epoch as Prometheus' `timestamp.FromTime` computes them (floor).
pub(crate) fn unix_millis(time: SystemTime) -> i64 {
    clamp_i64(unix_nanos(time).div_euclid(1_000_000))
}

/// The time `nanos` nanoseconds after the Unix epoch (before it when negative).
pub(crate) fn from_unix_nanos(nanos: i128) -> SystemTime {
    let magnitude = Duration::new(
        (nanos.unsigned_abs() / 1_000_000_000).min(u128::from(u64::MAX)) as u64,
        (nanos.unsigned_abs() % 1_000_000_000) as u32,
    );
    if nanos >= 0 { UNIX_EPOCH + magnitude } else { UNIX_EPOCH - magnitude }
}

/// Saturates an `i128` into `i64`.
pub(crate) fn clamp_i64(value: i128) -> i64 {
    value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at_unix_secs(100);
        assert_eq!(unix_millis(clock.now()), 100_000);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(unix_millis(clock.now()), 101_500);
        clock.set(UNIX_EPOCH - Duration::from_nanos(1));
        assert_eq!(unix_nanos(clock.now()), -1);
        assert_eq!(unix_millis(clock.now()), -1, "floor, like Go's Unix()*1000 + ns/1e6");
        assert_eq!(from_unix_nanos(-1_500_000_000), UNIX_EPOCH - Duration::from_millis(1500));
    }
}
