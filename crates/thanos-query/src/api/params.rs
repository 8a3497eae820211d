//! Request parameters as Prometheus reads them: the URL query and a urlencoded POST body merged
//! (Go's `r.Form`, body first), repeated keys kept (`match[]`), times as float seconds or
//! RFC 3339, durations as float seconds or Prometheus durations.

use std::str::FromStr;

use axum::http::{HeaderMap, Uri, header};
use promql_parser::parser::Expr;
use runtime::duration::PromDuration;
use storeapi::matchers::Matcher;

/// Prometheus' `minTime`: the earliest time its API accepts, ms.
pub(crate) const MIN_TIME_MS: i64 = -9_223_309_901_257_974_000;
/// Prometheus' `maxTime`, ms.
pub(crate) const MAX_TIME_MS: i64 = 9_223_309_901_257_974_999;
const MIN_TIME_TEXT: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT: &str = "292277025-08-18T07:12:54.999999999Z";

/// Every parameter of a request, in Go's `r.Form` order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// The POST form body (if urlencoded) first, then the URL query.
    pub(crate) fn from_request(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut pairs = Vec::new();
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            pairs.extend(parse_urlencoded(&String::from_utf8_lossy(body)));
        }
        if let Some(query) = uri.query() {
            pairs.extend(parse_urlencoded(query));
        }
        Self { pairs }
    }

    /// The first value of `name` (Go's `FormValue`: `""` when missing).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The first value, `None` when missing or empty.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// An API error: Prometheus' `errorType` and the message.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) error_type: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn bad_data(message: impl Into<String>) -> Self {
        Self { error_type: "bad_data", message: message.into() }
    }

    /// Prometheus' `invalidParamError`.
    pub(crate) fn invalid_param(parameter: &str, reason: impl std::fmt::Display) -> Self {
        Self::bad_data(format!("invalid parameter {parameter:?}: {reason}"))
    }
}

fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Prometheus' `parseTime`, in ms.
pub(crate) fn parse_time(text: &str) -> Result<i64, String> {
    if let Ok(f) = text.parse::<f64>()
        && !text.eq_ignore_ascii_case("nan")
        && f.is_finite()
    {
        let secs = f.trunc();
        let frac = ((f - secs) * 1000.0).round() / 1000.0;
        let ns = (frac * 1e9) as i64;
        let secs = secs as i64;
        return Ok(secs.saturating_mul(1000).saturating_add(ns.div_euclid(1_000_000)));
    }
    if let Some(ms) = parse_rfc3339(text) {
        return Ok(ms);
    }
    match text {
        MIN_TIME_TEXT => Ok(MIN_TIME_MS),
        MAX_TIME_TEXT => Ok(MAX_TIME_MS),
        _ => Err(format!("cannot parse {text:?} to a valid timestamp")),
    }
}

/// A time parameter, or `default` when missing.
pub(crate) fn time_param(params: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    match params.non_empty(name) {
        None => Ok(default),
        Some(text) => parse_time(text).map_err(|e| ApiError::invalid_param(name, e)),
    }
}

/// Prometheus' `parseDuration`, in ms (truncated, as the engine uses ms).
pub(crate) fn parse_duration_ms(text: &str) -> Result<i64, String> {
    if let Ok(f) = text.parse::<f64>()
        && !text.eq_ignore_ascii_case("nan")
    {
        let ns = f * 1e9;
        if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&ns) {
            return Err(format!("cannot parse {text:?} to a valid duration. It overflows int64"));
        }
        return Ok((ns as i64) / 1_000_000);
    }
    match PromDuration::from_str(text) {
        Ok(d) => Ok(i64::try_from(d.as_duration().as_millis()).unwrap_or(i64::MAX)),
        Err(_) => Err(format!("cannot parse {text:?} to a valid duration")),
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` to ms.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = text.get(start..i)?;
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        nanos = digits.parse::<i64>().ok()? * 10_i64.pow(9 - digits.len() as u32);
    }
    let offset_secs = match text.get(i..)? {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) && tz.as_bytes()[3] == b':' => {
            let h = num(i + 1..i + 3)?;
            let m = num(i + 4..i + 6)?;
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1000 + nanos / 1_000_000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a series selector (`match[]`, `storeMatch[]`) into matchers, as Prometheus'
/// `parser.ParseMetricSelector`.
pub(crate) fn parse_selector(text: &str) -> Result<Vec<Matcher>, String> {
    let expr = promql::Engine::parse(text).map_err(|e| e.to_string())?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!("1:1: parse error: unexpected expression, expected a series selector: {text}"));
    };
    let mut matchers = vs
        .matchers
        .matchers
        .iter()
        .map(Matcher::from_promql)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if let Some(name) = &vs.name {
        matchers.push(Matcher::equal("__name__", name.clone()));
    }
    Ok(matchers)
}

/// Prometheus' `parseMatchersParam`: every selector parsed, each needing a non-empty matcher.
pub(crate) fn matcher_sets(values: &[&str]) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let mut sets = Vec::with_capacity(values.len());
    for value in values {
        let set = parse_selector(value).map_err(|e| ApiError::invalid_param("match[]", e))?;
        if set.iter().all(Matcher::matches_empty) {
            return Err(ApiError::bad_data("match[] must contain at least one non-empty matcher"));
        }
        sets.push(set);
    }
    Ok(sets)
}

/// A Go `strconv.ParseBool`.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_prometheus_reads_them() {
        assert_eq!(parse_time("1704067200"), Ok(1_704_067_200_000));
        assert_eq!(parse_time("1704067200.123"), Ok(1_704_067_200_123));
        assert_eq!(parse_time("1.0006"), Ok(1001));
        assert_eq!(parse_time("2024-01-01T00:00:00Z"), Ok(1_704_067_200_000));
        assert_eq!(parse_time("2024-01-01T01:00:00.5+01:00"), Ok(1_704_067_200_500));
        assert_eq!(parse_time(MIN_TIME_TEXT), Ok(MIN_TIME_MS));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("15"), Ok(15_000));
        assert_eq!(parse_duration_ms("0.5"), Ok(500));
        assert_eq!(parse_duration_ms("1m"), Ok(60_000));
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert!(parse_duration_ms("abc").is_err());
        assert!(parse_duration_ms("1e30").is_err());
    }

    #[test]
    fn form_and_query_merged() {
        let uri: Uri = "/api/v1/series?match%5B%5D=up&match[]=a%7Bb%3D%22c%22%7D&x=1+2".parse().expect("uri");
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/x-www-form-urlencoded".parse().expect("value"));
        let params = Params::from_request(&uri, &headers, b"x=body&match[]=z");
        assert_eq!(params.all("match[]"), ["z", "up", "a{b=\"c\"}"]);
        assert_eq!(params.get("x"), Some("body"));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn selectors() {
        let sets = matcher_sets(&["up{job=\"a\"}"]).expect("valid");
        assert_eq!(sets[0].len(), 2);
        assert!(matcher_sets(&["{job=~\".*\"}"]).is_err());
        assert!(matcher_sets(&["sum(up)"]).is_err());
    }
}
