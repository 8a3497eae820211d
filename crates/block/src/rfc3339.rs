//! Go's `time.RFC3339Nano` in UTC, the form `encoding/json` gives a `time.Time` (Thanos'
//! `upload_time`): fractional seconds with trailing zeros removed, none when whole. Also the
//! reverse: Go's `time.Parse(time.RFC3339, …)`, which accepts any fraction and any offset.

use std::time::{SystemTime, UNIX_EPOCH};

/// Formats `time` as Go's `time.Time.UTC().Format(time.RFC3339Nano)`.
pub fn format_rfc3339_nanos(time: SystemTime) -> String {
    let (secs, nanos) = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(before) => {
            let d = before.duration();
            let whole = -(d.as_secs() as i64);
            if d.subsec_nanos() == 0 { (whole, 0) } else { (whole - 1, 1_000_000_000 - d.subsec_nanos()) }
        }
    };
    let mut out = format_rfc3339_seconds(secs);
    out.pop(); // the `Z`, put back after the fraction
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (Go's `time.RFC3339` in UTC).
pub fn format_rfc3339_seconds(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

/// Parses an RFC 3339 timestamp as Go's `time.Parse(time.RFC3339, s)` does
/// (`2024-01-02T03:04:05Z`, `…05.123+02:00`) into nanoseconds since the Unix epoch.
pub(crate) fn parse_rfc3339_nanos(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos: i128 = 0;
    if let Some((&sep, after)) = rest.split_first()
        && (sep == b'.' || sep == b',')
    {
        let len = after.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        for (i, c) in after[..len].iter().enumerate() {
            if i < 9 {
                nanos += i128::from(c - b'0') * 10i128.pow(8 - i as u32);
            }
        }
        rest = &after[len..];
    }
    let offset_secs: i64 = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let offset = h * 3600 + m * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// Go's zero `time.Time` (`0001-01-01T00:00:00Z`) in nanoseconds since the Unix epoch.
pub(crate) const GO_ZERO_TIME_NANOS: i128 = -62_135_596_800 * 1_000_000_000;

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(format_rfc3339_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339_seconds(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(format_rfc3339_seconds(1_709_208_000), "2024-02-29T12:00:00Z");
        assert_eq!(format_rfc3339_seconds(-1), "1969-12-31T23:59:59Z");
        let t = UNIX_EPOCH + Duration::new(1_704_067_200, 120_000_000);
        assert_eq!(format_rfc3339_nanos(t), "2024-01-01T00:00:00.12Z");
        let t = UNIX_EPOCH + Duration::new(1_704_067_200, 0);
        assert_eq!(format_rfc3339_nanos(t), "2024-01-01T00:00:00Z");
    }

    #[test]
    fn parses_like_go() {
        let secs = |s: &str| parse_rfc3339_nanos(s).map(|n| n / 1_000_000_000);
        assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(secs("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        assert_eq!(secs("2024-02-29T14:00:00+02:00"), Some(1_709_208_000));
        assert_eq!(secs("2024-02-29T11:30:00-00:30"), Some(1_709_208_000));
        assert_eq!(parse_rfc3339_nanos("2024-01-01T00:00:00.12Z"), Some(1_704_067_200_120_000_000));
        assert_eq!(parse_rfc3339_nanos("1970-01-01T00:00:00.1234567891Z"), Some(123_456_789));
        assert_eq!(parse_rfc3339_nanos("0001-01-01T00:00:00Z"), Some(GO_ZERO_TIME_NANOS));
        assert_eq!(secs("0000-01-01T00:00:00Z"), Some(-62_167_219_200));
        assert_eq!(secs("9999-12-31T23:59:59Z"), Some(253_402_300_799));
        for bad in [
            "",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0200",
            "-2h",
        ] {
            assert_eq!(parse_rfc3339_nanos(bad), None, "{bad}");
        }
        for days in [-800_000, -1, 0, 59, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
