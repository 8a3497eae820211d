//! Go's `time.RFC3339Nano` in UTC, the form `encoding/json` gives a `time.Time` (Thanos'
//! `upload_time`): fractional seconds with trailing zeros removed, none when whole.

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
}
