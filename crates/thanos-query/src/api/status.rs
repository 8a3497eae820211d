//! The status endpoints, Thanos' `/api/v1/stores`, and the empty but well-formed answers of
//! APIs the querier does not serve yet (metadata, rules, alerts, targets, exemplars), so that
//! Grafana's Prometheus data source works.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::response::Response;

use super::json;
use crate::endpoints::EndpointSet;

fn ok(data: &str) -> Response {
    super::json_response(StatusCode::OK, json::success(data, &[]))
}

pub(super) async fn buildinfo() -> Response {
    let data = format!(
        r#"{{"version":"{}","revision":"","branch":"","buildUser":"","buildDate":"","goVersion":""}}"#,
        env!("CARGO_PKG_VERSION")
    );
    ok(&data)
}

pub(super) async fn metadata() -> Response {
    ok("{}")
}

pub(super) async fn rules() -> Response {
    ok(r#"{"groups":[]}"#)
}

pub(super) async fn alerts() -> Response {
    ok(r#"{"alerts":[]}"#)
}

pub(super) async fn targets() -> Response {
    ok(r#"{"activeTargets":[],"droppedTargets":[]}"#)
}

pub(super) async fn empty_list() -> Response {
    ok("[]")
}

/// Thanos' `/api/v1/stores` data: component type → endpoint statuses.
pub(super) fn stores_data(endpoints: &EndpointSet) -> String {
    let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for endpoint in endpoints.all() {
        let status = endpoint.status();
        let mut out = String::from("{\"name\":");
        json::write_str(&mut out, &endpoint.address);
        out.push_str(",\"lastCheck\":");
        match status.last_check {
            Some(t) => json::write_str(&mut out, &rfc3339(t)),
            None => out.push_str("\"0001-01-01T00:00:00Z\""),
        }
        out.push_str(",\"lastError\":");
        match &status.last_error {
            Some(e) => json::write_str(&mut out, e),
            None => out.push_str("null"),
        }
        out.push_str(",\"labelSets\":[");
        let (kind, min_time, max_time) = match &status.info {
            Some(info) => {
                for (i, set) in info.label_sets.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json::write_labels(&mut out, set);
                }
                (info.component_type.clone(), info.min_time, info.max_time)
            }
            None => ("unknown".to_string(), 0, 0),
        };
        out.push_str(&format!("],\"minTime\":{min_time},\"maxTime\":{max_time}}}"));
        by_type.entry(kind).or_default().push(out);
    }
    let mut data = String::from("{");
    for (i, (kind, list)) in by_type.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        json::write_str(&mut data, kind);
        data.push_str(":[");
        data.push_str(&list.join(","));
        data.push(']');
    }
    data.push('}');
    data
}

/// A time in RFC 3339 with milliseconds, UTC.
fn rfc3339(t: SystemTime) -> String {
    let ms = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    )
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rfc3339_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_704_067_200_123);
        assert_eq!(rfc3339(t), "2024-01-01T00:00:00.123Z");
    }
}
