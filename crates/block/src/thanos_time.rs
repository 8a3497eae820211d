//! Thanos' `--min-time` / `--max-time` flag values (`model.TimeOrDurationValue`): an RFC 3339
//! time, or a Prometheus duration relative to now with an optional leading `-` (`-2h`, `1w2d`).

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use crate::clock::unix_millis;
use crate::rfc3339::{format_rfc3339_seconds, parse_rfc3339_nanos};

/// A point in time given absolutely or relative to now, as Thanos' time-range flags take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThanosTime {
    /// An absolute time, in Unix milliseconds.
    Time(i64),
    /// An offset from now in milliseconds; negative is the past.
    Relative(i64),
}

/// Why a [`ThanosTime`] or duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThanosTimeError {
    /// The value was empty.
    #[error("empty duration string")]
    Empty,
    /// Neither an RFC 3339 time nor a Prometheus duration.
    #[error("not a valid duration string: {0:?}")]
    Invalid(String),
    /// A duration too large for 64-bit milliseconds.
    #[error("duration out of range: {0:?}")]
    OutOfRange(String),
}

impl ThanosTime {
    /// The default of `--min-time`: `0000-01-01T00:00:00Z`.
    pub const DEFAULT_MIN: &'static str = "0000-01-01T00:00:00Z";
    /// The default of `--max-time`: `9999-12-31T23:59:59Z`.
    pub const DEFAULT_MAX: &'static str = "9999-12-31T23:59:59Z";

    /// The default lower bound, [`ThanosTime::DEFAULT_MIN`].
    pub fn default_min() -> Self {
        Self::Time(-62_167_219_200_000)
    }

    /// The default upper bound, [`ThanosTime::DEFAULT_MAX`].
    pub fn default_max() -> Self {
        Self::Time(253_402_300_799_000)
    }

    /// The time in Unix milliseconds, resolving a relative value against `now`
    /// (Thanos' `PrometheusTimestamp`).
    pub fn prometheus_timestamp(&self, now: SystemTime) -> i64 {
        match *self {
            Self::Time(ms) => ms,
            Self::Relative(offset) => unix_millis(now).saturating_add(offset),
        }
    }
}

impl FromStr for ThanosTime {
    type Err = ThanosTimeError;

    /// RFC 3339 first; otherwise a duration, negated by a leading `-`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(nanos) = parse_rfc3339_nanos(s) {
            return Ok(Self::Time(crate::clock::clamp_i64(nanos.div_euclid(1_000_000))));
        }
        let (negative, rest) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let ms = parse_prometheus_duration_ms(rest)?;
        Ok(Self::Relative(if negative { -ms } else { ms }))
    }
}

impl fmt::Display for ThanosTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Time(ms) => {
                let secs = ms.div_euclid(1000);
                let frac = ms.rem_euclid(1000);
                let text = format_rfc3339_seconds(secs);
                if frac == 0 {
                    f.write_str(&text)
                } else {
                    let fraction = format!("{frac:03}");
                    write!(f, "{}.{}Z", &text[..text.len() - 1], fraction.trim_end_matches('0'))
                }
            }
            Self::Relative(ms) if ms < 0 => {
                write!(f, "-{}", format_prometheus_duration_ms(ms.unsigned_abs()))
            }
            Self::Relative(ms) => f.write_str(&format_prometheus_duration_ms(ms.unsigned_abs())),
        }
    }
}

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration (`model.ParseDuration`): `0`, or units `y w d h m s ms`, each at
/// most once and in that order, e.g. `1d12h`, `90m`, `500ms`. Returns milliseconds.
pub fn parse_prometheus_duration_ms(s: &str) -> Result<i64, ThanosTimeError> {
    match s {
        "" => return Err(ThanosTimeError::Empty),
        "0" => return Ok(0),
        _ => {}
    }
    let invalid = || ThanosTimeError::Invalid(s.to_string());
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut next_unit = 0;
    let mut total: u64 = 0;
    while pos < bytes.len() {
        let digits = bytes[pos..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 =
            s[pos..pos + digits].parse().map_err(|_| ThanosTimeError::OutOfRange(s.to_string()))?;
        pos += digits;
        let unit_len = bytes[pos..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &s[pos..pos + unit_len];
        pos += unit_len;
        let index = UNITS.iter().position(|(name, _)| *name == unit).ok_or_else(invalid)?;
        if index < next_unit {
            return Err(invalid());
        }
        next_unit = index + 1;
        let part =
            number.checked_mul(UNITS[index].1).ok_or_else(|| ThanosTimeError::OutOfRange(s.to_string()))?;
        total = total.checked_add(part).ok_or_else(|| ThanosTimeError::OutOfRange(s.to_string()))?;
    }
    i64::try_from(total).map_err(|_| ThanosTimeError::OutOfRange(s.to_string()))
}

/// Formats milliseconds as Prometheus' `Duration.String()` does (`1d2h`, `0s`).
pub fn format_prometheus_duration_ms(mut ms: u64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (name, unit) in UNITS {
        let count = ms / unit;
        if count > 0 {
            out.push_str(&format!("{count}{name}"));
            ms %= unit;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn parses_thanos_flag_values() {
        let now = UNIX_EPOCH + Duration::from_millis(1_704_067_200_500);
        assert_eq!("2024-01-01T00:00:00Z".parse(), Ok(ThanosTime::Time(1_704_067_200_000)));
        assert_eq!("2024-01-01T02:00:00.25+02:00".parse(), Ok(ThanosTime::Time(1_704_067_200_250)));
        assert_eq!("-2h".parse(), Ok(ThanosTime::Relative(-7_200_000)));
        assert_eq!("1w2d".parse(), Ok(ThanosTime::Relative(9 * 86_400_000)));
        assert_eq!("1h30m15s500ms".parse(), Ok(ThanosTime::Relative(5_415_500)));
        assert_eq!("0".parse(), Ok(ThanosTime::Relative(0)));
        assert_eq!("-0".parse(), Ok(ThanosTime::Relative(0)));
        assert_eq!(ThanosTime::Relative(-7_200_000).prometheus_timestamp(now), 1_704_060_000_500);
        assert_eq!(ThanosTime::Time(5).prometheus_timestamp(now), 5);
        assert_eq!(ThanosTime::DEFAULT_MIN.parse(), Ok(ThanosTime::default_min()));
        assert_eq!(ThanosTime::DEFAULT_MAX.parse(), Ok(ThanosTime::default_max()));

        assert_eq!("".parse::<ThanosTime>(), Err(ThanosTimeError::Empty));
        assert_eq!("-".parse::<ThanosTime>(), Err(ThanosTimeError::Empty));
        for bad in ["2h1d", "1h1h", "1.5h", "h", "2", "--2h", "2 h", "1x", "2024-01-01"] {
            assert!(matches!(bad.parse::<ThanosTime>(), Err(ThanosTimeError::Invalid(_))), "{bad}");
        }
        assert!(matches!("999999999999y".parse::<ThanosTime>(), Err(ThanosTimeError::OutOfRange(_))));
    }

    #[test]
    fn displays_round_trip() {
        for text in ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.25Z", "-2h", "1w2d", "0s", "1h30m15s500ms"]
        {
            let parsed: ThanosTime = text.parse().unwrap();
            assert_eq!(parsed.to_string(), text);
        }
    }
}
