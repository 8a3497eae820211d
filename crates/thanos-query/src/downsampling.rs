//! Which resolution and aggregates a query reads (T:pkg/api/query/v1.go
//! `parseDownsamplingParamMillis`, T:pkg/query/querier.go `aggrsFromFunc`,
//! `maxResolutionFromSelectHints`).
//!
//! `max_source_resolution` is a duration (`5m`, `1h`, `0s`, seconds), `raw` (= `0s`), or `auto`;
//! `auto`, or `--query.auto-downsampling` when the parameter is absent, means step/5 for range
//! queries (at least 5 samples per step) and `--query.instant.default.max_source_resolution` for
//! instant ones. Each selection then asks the stores for blocks up to that resolution, capped at
//! half the range for functions that need two samples, and for the aggregates its function reads.

use storeapi::pb::thanos::Aggr;

/// Functions that need at least two samples in their range: the resolution is capped at
/// range/2 for them.
const TWO_SAMPLE_FUNCTIONS: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "holt_winters",
    "double_exponential_smoothing",
];

/// The request's maximum source resolution in ms. `auto_default_ms` is what `auto` means for this
/// query (step/5 for a range query); `auto_flag` is `--query.auto-downsampling`; `parse_duration`
/// is the API's duration parser (Prometheus' `parseDuration`, in ms).
pub(crate) fn max_source_resolution_ms(
    value: Option<&str>,
    auto_flag: bool,
    auto_default_ms: i64,
    parse_duration: impl Fn(&str) -> Result<i64, String>,
) -> Result<i64, String> {
    let value = value.unwrap_or("");
    let mut resolution = if auto_flag || value == "auto" { auto_default_ms } else { 0 };
    if !value.is_empty() && value != "auto" {
        // `raw` is our alias of `0s` (Thanos' API rejects it as a duration).
        resolution = if value == "raw" {
            0
        } else {
            parse_duration(value).map_err(|e| format!("'max_source_resolution' parameter: {e}"))?
        };
    }
    if resolution < 0 {
        return Err("negative 'max_source_resolution' is not accepted. Try a positive integer".to_string());
    }
    Ok(resolution)
}

/// The resolution one selection may read: the query's, capped at half the range for functions
/// that need two samples in it.
pub(crate) fn max_resolution_for_select(max_resolution_ms: i64, range_ms: i64, func: Option<&str>) -> i64 {
    match func {
        Some(f) if range_ms > 0 && TWO_SAMPLE_FUNCTIONS.contains(&f) => max_resolution_ms.min(range_ms / 2),
        _ => max_resolution_ms,
    }
}

/// The aggregates of downsampled data a selection's function reads (Thanos' `aggrsFromFunc`).
pub(crate) fn aggregates_for(func: Option<&str>) -> Vec<Aggr> {
    let f = func.unwrap_or("");
    if f == "min" || f.starts_with("min_") {
        vec![Aggr::Min]
    } else if f == "max" || f.starts_with("max_") {
        vec![Aggr::Max]
    } else if f == "count" || f.starts_with("count_") {
        vec![Aggr::Count]
    } else if f.starts_with("sum_") {
        // `sum` itself wants the samples: it falls through to the average.
        vec![Aggr::Sum]
    } else if matches!(f, "increase" | "rate" | "irate" | "resets" | "xincrease" | "xrate") {
        vec![Aggr::Counter]
    } else {
        vec![Aggr::Count, Aggr::Sum]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for the API's duration parser: seconds or `<n>m` / `<n>h` / `<n>s`.
    fn parse(text: &str) -> Result<i64, String> {
        let bad = || format!("cannot parse {text:?} to a valid duration");
        let (number, unit) = match text.strip_suffix('m') {
            Some(n) => (n, 60_000),
            None => match text.strip_suffix('h') {
                Some(n) => (n, 3_600_000),
                None => (text.strip_suffix('s').unwrap_or(text), 1000),
            },
        };
        number.parse::<i64>().map(|n| n * unit).map_err(|_| bad())
    }

    fn resolution(value: Option<&str>, auto_flag: bool, auto_default_ms: i64) -> Result<i64, String> {
        max_source_resolution_ms(value, auto_flag, auto_default_ms, parse)
    }

    #[test]
    fn parameter_forms() {
        assert_eq!(resolution(None, false, 60_000), Ok(0));
        assert_eq!(resolution(None, true, 60_000), Ok(60_000));
        assert_eq!(resolution(Some("auto"), false, 60_000), Ok(60_000));
        assert_eq!(resolution(Some("5m"), true, 60_000), Ok(300_000));
        assert_eq!(resolution(Some("1h"), false, 0), Ok(3_600_000));
        assert_eq!(resolution(Some("0s"), true, 60_000), Ok(0));
        assert_eq!(resolution(Some("raw"), true, 60_000), Ok(0));
        assert_eq!(resolution(Some("300"), false, 0), Ok(300_000));
        assert!(resolution(Some("-5m"), false, 0).is_err());
        assert!(resolution(Some("-1"), false, 0).unwrap_err().starts_with("negative"));
        assert!(resolution(Some("soon"), false, 0).unwrap_err().starts_with("'max_source_resolution'"));
    }

    #[test]
    fn two_sample_functions_are_capped() {
        assert_eq!(max_resolution_for_select(3_600_000, 600_000, Some("rate")), 300_000);
        assert_eq!(max_resolution_for_select(3_600_000, 600_000, Some("max_over_time")), 3_600_000);
        assert_eq!(max_resolution_for_select(3_600_000, 0, Some("rate")), 3_600_000);
    }

    #[test]
    fn aggregates_by_function() {
        assert_eq!(aggregates_for(Some("max_over_time")), [Aggr::Max]);
        assert_eq!(aggregates_for(Some("min")), [Aggr::Min]);
        assert_eq!(aggregates_for(Some("count_over_time")), [Aggr::Count]);
        assert_eq!(aggregates_for(Some("sum_over_time")), [Aggr::Sum]);
        assert_eq!(aggregates_for(Some("sum")), [Aggr::Count, Aggr::Sum]);
        assert_eq!(aggregates_for(Some("rate")), [Aggr::Counter]);
        assert_eq!(aggregates_for(None), [Aggr::Count, Aggr::Sum]);
    }
}
