//! The Prometheus HTTP API calls the sidecar makes (Thanos' `pkg/promclient`): build info,
//! external labels from the config, flags, the lowest timestamp from `/metrics`, and the series,
//! label names and label values APIs with `match[]` and a time range.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use storeapi::Matcher;
use tonic::Status;
use tsdb_format::Labels;

/// The metric that holds the lowest timestamp of the TSDB, in seconds.
const LOWEST_TIMESTAMP_METRIC: &str = "prometheus_tsdb_lowest_timestamp_seconds";

/// Everything that can go wrong calling Prometheus' API.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PromClientError {
    /// The request did not get an answer.
    #[error("perform GET request against {url}: {source}")]
    Http {
        /// The URL asked.
        url: String,
        /// The client's error.
        source: reqwest::Error,
    },
    /// A non-2xx answer.
    #[error("expected 2xx response from {url}, got {status}. Body: {body}")]
    Status {
        /// The URL asked.
        url: String,
        /// HTTP status.
        status: u16,
        /// The body, as text.
        body: String,
    },
    /// An answer that does not parse.
    #[error("unmarshal response of {url}: {reason}")]
    Decode {
        /// The URL asked.
        url: String,
        /// Why.
        reason: String,
    },
    /// `/metrics` without the lowest-timestamp gauge.
    #[error("metric families did not contain '{LOWEST_TIMESTAMP_METRIC}'")]
    NoLowestTimestamp,
}

impl PromClientError {
    /// The gRPC status of a failed API call, mapped as Thanos' `statusToCode`.
    pub(crate) fn to_status(&self) -> Status {
        let code = match self {
            PromClientError::Status { status: 400, .. } => tonic::Code::InvalidArgument,
            PromClientError::Status { status: 404, .. } => tonic::Code::NotFound,
            PromClientError::Status { status: 503, .. } | PromClientError::Http { .. } => {
                tonic::Code::Unavailable
            }
            _ => tonic::Code::Internal,
        };
        Status::new(code, self.to_string())
    }
}

type Result<T, E = PromClientError> = std::result::Result<T, E>;

/// Prometheus' `/api/v1/status/flags` values the sidecar checks before uploading.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct PromFlags {
    /// `storage.tsdb.min-block-duration`, e.g. `2h`.
    #[serde(rename = "storage.tsdb.min-block-duration", default)]
    pub(crate) min_block_duration: String,
    /// `storage.tsdb.max-block-duration`.
    #[serde(rename = "storage.tsdb.max-block-duration", default)]
    pub(crate) max_block_duration: String,
    /// `storage.tsdb.delay-compact-file.path` (newer Prometheus versions only).
    #[serde(rename = "storage.tsdb.delay-compact-file.path", default)]
    pub(crate) delay_compact_file: String,
}

/// A client of one Prometheus' HTTP API.
#[derive(Debug, Clone)]
pub(crate) struct PromClient {
    http: reqwest::Client,
    base: String,
    user_agent: String,
}

impl PromClient {
    /// A client for the Prometheus at `base` (no trailing slash).
    pub(crate) fn new(http: reqwest::Client, base: &str, user_agent: &str) -> Self {
        Self { http, base: base.trim_end_matches('/').to_owned(), user_agent: user_agent.to_owned() }
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> String {
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            url.push('?');
            let pairs: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
                .collect();
            url.push_str(&pairs.join("&"));
        }
        url
    }

    /// GET `url`: status and body, or the transport error.
    async fn get(&self, url: &str, timeout: Option<Duration>) -> Result<(u16, String)> {
        let mut request = self.http.get(url).header(reqwest::header::USER_AGENT, &self.user_agent);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let http_error = |source| PromClientError::Http { url: url.to_owned(), source };
        let response = request.send().await.map_err(http_error)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(http_error)?;
        Ok((status, body))
    }

    async fn get_2xx(&self, url: &str, timeout: Option<Duration>) -> Result<String> {
        let (status, body) = self.get(url, timeout).await?;
        if status / 100 != 2 {
            return Err(PromClientError::Status { url: url.to_owned(), status, body });
        }
        Ok(body)
    }

    fn decode<T: for<'de> Deserialize<'de>>(url: &str, body: &str) -> Result<T> {
        serde_json::from_str(body)
            .map_err(|e| PromClientError::Decode { url: url.to_owned(), reason: format!("{e}: {body}") })
    }

    /// Prometheus' version from `/api/v1/status/buildinfo` ("0" before 2.14, which lacks it).
    pub(crate) async fn build_version(&self, timeout: Duration) -> Result<String> {
        #[derive(Deserialize)]
        struct Answer {
            data: BuildInfo,
        }
        #[derive(Deserialize)]
        struct BuildInfo {
            version: String,
        }
        let url = self.url("/api/v1/status/buildinfo", &[]);
        let (status, body) = self.get(&url, Some(timeout)).await?;
        if status == 404 || status == 405 {
            return Ok("0".to_owned());
        }
        if status / 100 != 2 {
            return Err(PromClientError::Status { url, status, body });
        }
        Ok(Self::decode::<Answer>(&url, &body)?.data.version)
    }

    /// The external labels of Prometheus' current configuration (`global.external_labels` of the
    /// YAML inside `/api/v1/status/config`).
    pub(crate) async fn external_labels(&self, timeout: Duration) -> Result<Labels> {
        #[derive(Deserialize)]
        struct Answer {
            data: ConfigData,
        }
        #[derive(Deserialize)]
        struct ConfigData {
            yaml: String,
        }
        let url = self.url("/api/v1/status/config", &[]);
        let body = self.get_2xx(&url, Some(timeout)).await?;
        let yaml = Self::decode::<Answer>(&url, &body)?.data.yaml;
        parse_external_labels(&yaml).map_err(|reason| PromClientError::Decode { url, reason })
    }

    /// The block-duration flags, or `None` when Prometheus has no flags endpoint (404).
    pub(crate) async fn flags(&self, timeout: Duration) -> Result<Option<PromFlags>> {
        #[derive(Deserialize)]
        struct Answer {
            data: PromFlags,
        }
        let url = self.url("/api/v1/status/flags", &[]);
        let (status, body) = self.get(&url, Some(timeout)).await?;
        match status {
            404 => Ok(None),
            200 => Ok(Some(Self::decode::<Answer>(&url, &body)?.data)),
            _ => Err(PromClientError::Status { url, status, body }),
        }
    }

    /// The lowest timestamp in the TSDB in milliseconds, from `/metrics`; `i64::MIN` when
    /// Prometheus reports none yet (its gauge then holds MaxInt64).
    pub(crate) async fn lowest_timestamp(&self, timeout: Duration) -> Result<i64> {
        let url = self.url("/metrics", &[]);
        let (_, body) = self.get(&url, Some(timeout)).await?;
        parse_lowest_timestamp(&body)
    }

    /// Label sets of the series matching `matchers` in `[start, end]` (`/api/v1/series`).
    pub(crate) async fn series(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        limit: i64,
    ) -> Result<Vec<BTreeMap<String, String>>> {
        let mut query = vec![("match[]", matchers_to_string(matchers))];
        push_range(&mut query, start, end, limit);
        self.api_data(&self.url("/api/v1/series", &query)).await
    }

    /// Label names of the series matching `matchers` in `[start, end]` (`/api/v1/labels`).
    pub(crate) async fn label_names(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        limit: i64,
    ) -> Result<Vec<String>> {
        let mut query = Vec::new();
        if !matchers.is_empty() {
            query.push(("match[]", matchers_to_string(matchers)));
        }
        push_range(&mut query, start, end, limit);
        Ok(self
            .api_data::<Option<Vec<String>>>(&self.url("/api/v1/labels", &query))
            .await?
            .unwrap_or_default())
    }

    /// Values of `label` on the series matching `matchers` in `[start, end]`.
    pub(crate) async fn label_values(
        &self,
        label: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
        limit: i64,
    ) -> Result<Vec<String>> {
        let mut query = Vec::new();
        if !matchers.is_empty() {
            query.push(("match[]", matchers_to_string(matchers)));
        }
        push_range(&mut query, start, end, limit);
        let path = format!("/api/v1/label/{}/values", encode_component(label));
        Ok(self.api_data::<Option<Vec<String>>>(&self.url(&path, &query)).await?.unwrap_or_default())
    }

    /// The `data` of a successful API answer.
    async fn api_data<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Result<T> {
        #[derive(Deserialize)]
        struct Answer<T> {
            status: String,
            data: Option<T>,
            #[serde(default)]
            error: String,
        }
        let body = self.get_2xx(url, None).await?;
        let answer: Answer<T> = Self::decode(url, &body)?;
        match (answer.status.as_str(), answer.data) {
            ("success", Some(data)) => Ok(data),
            _ => Err(PromClientError::Status { url: url.to_owned(), status: 422, body: answer.error }),
        }
    }
}

fn push_range(query: &mut Vec<(&str, String)>, start: i64, end: i64, limit: i64) {
    query.push(("start", format_time(start)));
    query.push(("end", format_time(end)));
    if limit > 0 {
        query.push(("limit", limit.to_string()));
    }
}

/// A millisecond timestamp as Thanos sends it: seconds as Go's `FormatFloat(s, 'f', -1, 64)`.
pub(crate) fn format_time(ms: i64) -> String {
    let seconds = ms.div_euclid(1000) as f64 + ms.rem_euclid(1000) as f64 / 1000.0;
    // Rust's shortest round-trip `Display` never uses an exponent, like Go's 'f' with -1.
    format!("{seconds}")
}

/// Matchers as one selector, `{a="b", c=~"d"}` (Thanos' `PromMatchersToString`).
pub(crate) fn matchers_to_string(matchers: &[Matcher]) -> String {
    let parts: Vec<String> = matchers.iter().map(ToString::to_string).collect();
    format!("{{{}}}", parts.join(", "))
}

/// Percent-encodes a URL query component (everything but RFC 3986 unreserved characters).
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `global.external_labels` of a Prometheus configuration YAML.
pub(crate) fn parse_external_labels(yaml: &str) -> Result<Labels, String> {
    #[derive(Deserialize, Default)]
    struct Config {
        #[serde(default)]
        global: Option<Global>,
    }
    #[derive(Deserialize, Default)]
    struct Global {
        #[serde(default)]
        external_labels: Option<BTreeMap<String, String>>,
    }
    let config: Config =
        serde_saphyr::from_str(yaml).map_err(|e| format!("parse Prometheus config: {e}: {yaml}"))?;
    let labels = config.global.and_then(|g| g.external_labels).unwrap_or_default();
    Ok(Labels::from_pairs(labels))
}

/// The lowest timestamp (ms) from a `/metrics` text exposition (Thanos' `LowestTimestamp`).
pub(crate) fn parse_lowest_timestamp(text: &str) -> Result<i64> {
    let value = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let rest = line.strip_prefix(LOWEST_TIMESTAMP_METRIC)?;
            // The gauge has no labels; skip a `{}` if some exporter writes one.
            let rest = rest.strip_prefix("{}").unwrap_or(rest);
            if !rest.starts_with([' ', '\t']) {
                return None;
            }
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
        .ok_or(PromClientError::NoLowestTimestamp)?;
    let ms = 1000.0 * value;
    // No block and an empty head report MaxInt64; include this Prometheus in every query then.
    if ms == i64::MAX as f64 {
        return Ok(i64::MIN);
    }
    Ok(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_go_float_seconds() {
        assert_eq!(format_time(1_704_067_200_000), "1704067200");
        assert_eq!(format_time(1_704_067_200_500), "1704067200.5");
        // Go adds the non-negative fraction to the floored seconds, with the same rounding.
        assert_eq!(format_time(-1), "-0.0010000000000000009");
        assert_eq!(format_time(i64::MAX), "9223372036854776");
        assert_eq!(format_time(i64::MIN), "-9223372036854776");
    }

    #[test]
    fn selector_and_query_encoding() {
        let matchers = vec![
            Matcher::equal("__name__", "up"),
            Matcher::new(storeapi::MatchType::Regexp, "job", "a|b\"").expect("valid"),
        ];
        assert_eq!(matchers_to_string(&matchers), r#"{__name__="up", job=~"a|b\""}"#);
        assert_eq!(encode_component("{a=\"b c\"}"), "%7Ba%3D%22b%20c%22%7D");
    }

    #[test]
    fn external_labels_from_config_yaml() {
        let yaml = "global:\n  scrape_interval: 1m\n  external_labels:\n    cluster: test\n    replica: \"0\"\nscrape_configs: []\n";
        let labels = parse_external_labels(yaml).expect("parses");
        assert_eq!(labels, Labels::from_pairs([("cluster", "test"), ("replica", "0")]));
        assert!(parse_external_labels("global:\n  scrape_interval: 1m\n").expect("parses").is_empty());
        assert!(parse_external_labels("global: [").is_err());
    }

    #[test]
    fn lowest_timestamp_from_metrics() {
        let text = "# HELP prometheus_tsdb_lowest_timestamp_seconds Lowest timestamp value stored in the database.\n# TYPE prometheus_tsdb_lowest_timestamp_seconds gauge\nprometheus_tsdb_lowest_timestamp_seconds 1.7040672e+09\nprometheus_tsdb_lowest_timestamp_seconds_total 3\n";
        assert_eq!(parse_lowest_timestamp(text).expect("found"), 1_704_067_200_000);
        let none = "prometheus_tsdb_lowest_timestamp_seconds 9.223372036854776e+15\n";
        assert_eq!(parse_lowest_timestamp(none).expect("found"), i64::MIN);
        assert!(matches!(parse_lowest_timestamp("up 1\n"), Err(PromClientError::NoLowestTimestamp)));
    }
}
