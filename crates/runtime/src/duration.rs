//! Durations as Thanos' flags spell them: `2m`, `1h30m`, `15d`, `500ms`.
//!
//! Thanos takes some durations as Prometheus' `model.Duration` (`--http-grace-period`,
//! retention flags: units `ms s m h d w y`, integers only) and others as Go's `time.Duration`
//! (`--grpc-grace-period`: units `ns us µs ms s m h`, fractions allowed). [`PromDuration`] accepts
//! the union of both, so every value a Thanos manifest carries parses, and prints in
//! Prometheus' form.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration parsed from, and printed as, Prometheus/Go duration text (`2m`, `1h30m`, `0`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration(Duration);

/// Why a duration string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason}")]
pub struct ParseDurationError {
    text: String,
    reason: &'static str,
}

impl PromDuration {
    /// Wraps a [`Duration`].
    pub const fn new(duration: Duration) -> Self {
        Self(duration)
    }

    /// A whole number of seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// The wrapped [`Duration`].
    pub const fn as_duration(self) -> Duration {
        self.0
    }
}

impl From<Duration> for PromDuration {
    fn from(duration: Duration) -> Self {
        Self(duration)
    }
}

impl From<PromDuration> for Duration {
    fn from(duration: PromDuration) -> Self {
        duration.0
    }
}

const NANOS_PER_MILLI: u128 = 1_000_000;
const NANOS_PER_SEC: u128 = 1_000 * NANOS_PER_MILLI;
const NANOS_PER_MIN: u128 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u128 = 60 * NANOS_PER_MIN;
const NANOS_PER_DAY: u128 = 24 * NANOS_PER_HOUR;
const NANOS_PER_WEEK: u128 = 7 * NANOS_PER_DAY;
// Prometheus counts a year as 365 days.
const NANOS_PER_YEAR: u128 = 365 * NANOS_PER_DAY;

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => NANOS_PER_MILLI,
        "s" => NANOS_PER_SEC,
        "m" => NANOS_PER_MIN,
        "h" => NANOS_PER_HOUR,
        "d" => NANOS_PER_DAY,
        "w" => NANOS_PER_WEEK,
        "y" => NANOS_PER_YEAR,
        _ => return None,
    })
}

impl FromStr for PromDuration {
    type Err = ParseDurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |reason| ParseDurationError { text: text.to_owned(), reason };
        if text == "0" {
            return Ok(Self::default());
        }
        if text.is_empty() {
            return Err(error("empty duration string"));
        }
        let mut rest = text;
        let mut total_nanos: u128 = 0;
        while !rest.is_empty() {
            let digits_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| error("missing unit"))?;
            let (number, after_number) = rest.split_at(digits_end);
            if number.is_empty() || number == "." {
                return Err(error("expected a number before the unit"));
            }
            let unit_end =
                after_number.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after_number.len());
            let (unit, after_unit) = after_number.split_at(unit_end);
            let nanos_per_unit = unit_nanos(unit).ok_or_else(|| error("unknown unit"))?;
            total_nanos = total_nanos
                .checked_add(scale(number, nanos_per_unit).ok_or_else(|| error("bad number"))?)
                .ok_or_else(|| error("duration out of range"))?;
            rest = after_unit;
        }
        let secs = u64::try_from(total_nanos / NANOS_PER_SEC).map_err(|_| error("duration out of range"))?;
        let subsec_nanos =
            u32::try_from(total_nanos % NANOS_PER_SEC).expect("remainder of a division by 1e9 fits in u32");
        Ok(Self(Duration::new(secs, subsec_nanos)))
    }
}

/// `number` (`"90"`, `"1.5"`) times `nanos_per_unit`, truncated to whole nanoseconds as Go does.
fn scale(number: &str, nanos_per_unit: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.contains('.') || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    let whole_value: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let mut nanos = whole_value.checked_mul(nanos_per_unit)?;
    let mut place = nanos_per_unit;
    for digit in fraction.chars() {
        place /= 10;
        nanos += u128::from(digit.to_digit(10)?) * place;
    }
    Some(nanos)
}

impl fmt::Display for PromDuration {
    /// Prometheus' `model.Duration` form: largest units first, `0s` for zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        if !nanos.is_multiple_of(NANOS_PER_MILLI) {
            // Finer than Prometheus can print: fall back to Go's largest exact unit.
            let (value, unit) =
                if nanos.is_multiple_of(1_000) { (nanos / 1_000, "us") } else { (nanos, "ns") };
            return write!(f, "{value}{unit}");
        }
        for (unit_nanos, unit) in [
            (NANOS_PER_YEAR, "y"),
            (NANOS_PER_WEEK, "w"),
            (NANOS_PER_DAY, "d"),
            (NANOS_PER_HOUR, "h"),
            (NANOS_PER_MIN, "m"),
            (NANOS_PER_SEC, "s"),
            (NANOS_PER_MILLI, "ms"),
        ] {
            let count = nanos / unit_nanos;
            if count > 0 {
                write!(f, "{count}{unit}")?;
                nanos %= unit_nanos;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;

        impl Visitor<'_> for DurationVisitor {
            type Value = PromDuration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"2m\" or \"1h30m\"")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<PromDuration, E> {
                text.parse().map_err(E::custom)
            }

            // A bare `0` in YAML or an environment variable is an integer, yet a valid duration.
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<PromDuration, E> {
                if value == 0 {
                    return Ok(PromDuration::default());
                }
                Err(E::custom(format!("invalid duration {value}: missing unit (for example \"{value}s\")")))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<PromDuration, E> {
                match u64::try_from(value) {
                    Ok(unsigned) => self.visit_u64(unsigned),
                    Err(_) => Err(E::custom(format!("invalid duration {value}: negative"))),
                }
            }
        }

        deserializer.deserialize_any(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Duration {
        text.parse::<PromDuration>().unwrap_or_else(|err| panic!("{text}: {err}")).as_duration()
    }

    #[test]
    fn parses_prometheus_and_go_forms() {
        assert_eq!(parse("0"), Duration::ZERO);
        assert_eq!(parse("2m"), Duration::from_secs(120));
        assert_eq!(parse("1h30m"), Duration::from_secs(5400));
        assert_eq!(parse("15d"), Duration::from_secs(15 * 86_400));
        assert_eq!(parse("1w"), Duration::from_secs(7 * 86_400));
        assert_eq!(parse("1y"), Duration::from_secs(365 * 86_400));
        assert_eq!(parse("500ms"), Duration::from_millis(500));
        assert_eq!(parse("1.5s"), Duration::from_millis(1500));
        assert_eq!(parse("10us"), Duration::from_micros(10));
        assert_eq!(parse("3ns"), Duration::from_nanos(3));
    }

    #[test]
    fn rejects_bad_text() {
        for bad in ["", "5", "m", "5x", "1..5s", "-1s", "1h 2m", "."] {
            assert!(bad.parse::<PromDuration>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn displays_like_prometheus() {
        for (text, shown) in [
            ("0", "0s"),
            ("2m", "2m"),
            ("90s", "1m30s"),
            ("1500ms", "1s500ms"),
            ("14d", "2w"),
            ("10us", "10us"),
        ] {
            assert_eq!(text.parse::<PromDuration>().expect(text).to_string(), shown);
        }
    }
}
