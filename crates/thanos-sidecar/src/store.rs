//! The StoreAPI over one Prometheus (Thanos' `PrometheusStore`, `pkg/store/prometheus.go`).
//!
//! `Series` asks remote read once, accepting streamed XOR chunks (passed through) or samples
//! (re-encoded); `skip_chunks` asks `/api/v1/series` instead. Matchers on external-label names
//! are checked here against the external labels and dropped before asking Prometheus; external
//! labels then go onto every series (winning on a clash), `without_replica_labels` come off, and
//! the result is sorted by labels, as adding and removing labels can change the order.

use std::sync::Arc;

use storeapi::labels;
use storeapi::matchers::{from_pb_all, matches_external_labels};
use storeapi::pb::prometheus as prom;
use storeapi::pb::thanos as pb;
use storeapi::remote_read::{RemoteReadClient, RemoteReadError, matcher_to_prom};
use storeapi::{Matcher, chunk};
use tonic::Status;
use tsdb_format::Labels;

use crate::metadata::PromMetadata;
use crate::promclient::PromClient;
use crate::shard::ShardMatcher;

/// Histogram: frames per streamed remote-read response (Thanos' name).
pub(crate) const RECEIVED_FRAMES: &str = "prometheus_store_received_frames";
/// Its buckets: Thanos' `ExponentialBuckets(10, 10, 5)`.
pub(crate) const RECEIVED_FRAMES_BUCKETS: [f64; 5] = [10.0, 100.0, 1_000.0, 10_000.0, 100_000.0];

/// Prometheus from which label calls accept `match[]` (caa173d2, v2.24.0).
const LABEL_MATCHERS_SINCE: (u64, u64, u64) = (2, 24, 0);

/// Series, label names and label values of one Prometheus, with its external labels.
#[derive(Debug)]
pub(crate) struct PrometheusStore {
    client: PromClient,
    remote_read: RemoteReadClient,
    metadata: Arc<PromMetadata>,
    accepted: Vec<prom::read_request::ResponseType>,
}

impl PrometheusStore {
    /// A store answering from `client` and `remote_read`, labelled by `metadata`.
    pub(crate) fn new(
        client: PromClient,
        remote_read: RemoteReadClient,
        metadata: Arc<PromMetadata>,
    ) -> Self {
        use prom::read_request::ResponseType;
        let accepted = vec![ResponseType::StreamedXorChunks, ResponseType::Samples];
        Self { client, remote_read, metadata, accepted }
    }

    /// The external labels and the matchers left to ask Prometheus; `None` when a matcher
    /// rules the external labels out (nothing here can match).
    fn split_matchers(
        &self,
        matchers: &[pb::LabelMatcher],
    ) -> Result<(Labels, Option<Vec<Matcher>>), Status> {
        let external = self.metadata.labels();
        let matchers = from_pb_all(matchers).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let remaining = matches_external_labels(&matchers, &external);
        Ok((external, remaining))
    }

    /// Every series of the request, sorted by labels, chunks of one series joined.
    pub(crate) async fn series(&self, mut request: pb::SeriesRequest) -> Result<Vec<pb::Series>, Status> {
        let (external, remaining) = self.split_matchers(&request.matchers)?;
        let Some(matchers) = remaining else { return Ok(Vec::new()) };
        if matchers.is_empty() {
            return Err(Status::invalid_argument("no matchers specified (excluding external labels)"));
        }
        // Never ask for more than Prometheus holds (including the --min-time limit).
        let (available_min, _) = self.metadata.timestamps();
        request.min_time = request.min_time.max(available_min);
        let shard = ShardMatcher::new(request.shard_info.as_ref());
        let mut series = if request.skip_chunks {
            self.series_labels_only(&request, &matchers, &external).await?
        } else {
            self.series_with_chunks(&request, &matchers, &external).await?
        };
        if let Some(shard) = &shard {
            series.retain(|s| shard.matches(&s.labels));
        }
        Ok(sort_and_join(series))
    }

    async fn series_labels_only(
        &self,
        request: &pb::SeriesRequest,
        matchers: &[Matcher],
        external: &Labels,
    ) -> Result<Vec<pb::Series>, Status> {
        let external = labels::to_pb(&external.without(&request.without_replica_labels));
        let found = self
            .client
            .series(matchers, request.min_time, request.max_time, request.limit)
            .await
            .map_err(|e| e.to_status())?;
        Ok(found
            .into_iter()
            .map(|map| {
                let own: Vec<pb::Label> =
                    map.into_iter().map(|(name, value)| labels::label(name, value)).collect();
                pb::Series { labels: labels::extend_pb(own, &external), chunks: Vec::new() }
            })
            .collect())
    }

    async fn series_with_chunks(
        &self,
        request: &pb::SeriesRequest,
        matchers: &[Matcher],
        external: &Labels,
    ) -> Result<Vec<pb::Series>, Status> {
        let query = prom::Query {
            start_timestamp_ms: request.min_time,
            end_timestamp_ms: request.max_time,
            matchers: matchers.iter().map(|m| matcher_to_prom(&m.to_pb())).collect(),
            hints: None,
        };
        let mut reader = self.remote_read.read(query, &self.accepted).await.map_err(remote_read_status)?;
        let external = labels::to_pb(external);
        let mut out = Vec::new();
        while let Some(mut series) = reader.next_series().await.map_err(remote_read_status)? {
            // Prometheus merged its external labels with local ones winning; Thanos' win.
            series.labels =
                labels::without(labels::extend_pb(series.labels, &external), &request.without_replica_labels);
            out.push(series);
        }
        if reader.kind() == storeapi::remote_read::ResponseKind::StreamedChunks {
            metrics::histogram!(RECEIVED_FRAMES).record(reader.frames() as f64);
        }
        tracing::debug!(
            series = out.len(),
            frames = reader.frames(),
            bytes = reader.bytes_read(),
            "handled remote read"
        );
        Ok(out)
    }

    /// Label names of matching series in `[start, end]`, with the external label names.
    pub(crate) async fn label_names(&self, request: &pb::LabelNamesRequest) -> Result<Vec<String>, Status> {
        let (external, remaining) = self.split_matchers(&request.matchers)?;
        let Some(matchers) = remaining else { return Ok(Vec::new()) };
        let mut names = if matchers.is_empty() || self.label_calls_support_matchers() {
            self.client
                .label_names(&matchers, request.start, request.end, request.limit)
                .await
                .map_err(|e| e.to_status())?
        } else {
            let found = self
                .client
                .series(&matchers, request.start, request.end, request.limit)
                .await
                .map_err(|e| e.to_status())?;
            found.into_iter().flat_map(|map| map.into_keys()).collect()
        };
        if !names.is_empty() {
            let removed = &request.without_replica_labels;
            names.extend(external.iter().map(|l| l.name.clone()).filter(|n| !removed.contains(n)));
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Values of one label on matching series in `[start, end]`.
    pub(crate) async fn label_values(&self, request: &pb::LabelValuesRequest) -> Result<Vec<String>, Status> {
        if request.label.is_empty() {
            return Err(Status::invalid_argument("label name parameter cannot be empty"));
        }
        if request.without_replica_labels.contains(&request.label) {
            return Ok(Vec::new());
        }
        let (external, remaining) = self.split_matchers(&request.matchers)?;
        let Some(matchers) = remaining else { return Ok(Vec::new()) };
        if let Some(value) = external.get(&request.label) {
            // An external label has one value here, present when any series matches.
            if matchers.is_empty() {
                return Ok(vec![value.to_owned()]);
            }
            let found = self
                .client
                .series(&matchers, request.start, request.end, request.limit)
                .await
                .map_err(|e| e.to_status())?;
            return Ok(if found.is_empty() { Vec::new() } else { vec![value.to_owned()] });
        }
        let mut values = if matchers.is_empty() || self.label_calls_support_matchers() {
            self.client
                .label_values(&request.label, &matchers, request.start, request.end, request.limit)
                .await
                .map_err(|e| e.to_status())?
        } else {
            let found = self
                .client
                .series(&matchers, request.start, request.end, request.limit)
                .await
                .map_err(|e| e.to_status())?;
            found.into_iter().filter_map(|mut map| map.remove(&request.label)).collect()
        };
        values.sort();
        values.dedup();
        Ok(values)
    }

    fn label_calls_support_matchers(&self) -> bool {
        parse_version(&self.metadata.version()).is_some_and(|v| v >= LABEL_MATCHERS_SINCE)
    }
}

/// `major.minor.patch` of a Prometheus version such as `2.42.0+ds` or `2.42.0-rc.1`.
fn parse_version(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.split(['+', '-']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// The gRPC status of a failed remote read (Thanos wraps it as "query Prometheus").
fn remote_read_status(error: RemoteReadError) -> Status {
    let code = match &error {
        RemoteReadError::Http { .. } => tonic::Code::Unavailable,
        RemoteReadError::Status { status: 400, .. } => tonic::Code::InvalidArgument,
        RemoteReadError::Status { status: 503, .. } => tonic::Code::Unavailable,
        _ => tonic::Code::Internal,
    };
    Status::new(code, format!("query Prometheus: {error}"))
}

/// Sorts series by labels and joins equal neighbours (a series split across frames, or series
/// that became equal when an external label replaced a local one).
fn sort_and_join(mut series: Vec<pb::Series>) -> Vec<pb::Series> {
    if !series.windows(2).all(|w| labels::compare(&w[0].labels, &w[1].labels).is_le()) {
        series.sort_by(|a, b| labels::compare(&a.labels, &b.labels));
    }
    let mut joined: Vec<pb::Series> = Vec::with_capacity(series.len());
    let mut needs_chunk_sort = Vec::new();
    for s in series {
        match joined.last_mut() {
            Some(last) if last.labels == s.labels => {
                last.chunks.extend(s.chunks);
                needs_chunk_sort.push(joined.len() - 1);
            }
            _ => joined.push(s),
        }
    }
    needs_chunk_sort.dedup();
    for index in needs_chunk_sort {
        if let Some(s) = joined.get_mut(index) {
            chunk::sort_and_dedup(&mut s.chunks);
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use storeapi::labels::pb_from_pairs;

    fn series(pairs: &[(&str, &str)], chunk_times: &[i64]) -> pb::Series {
        let chunks = chunk_times
            .iter()
            .map(|&t| {
                chunk::raw_aggr_chunk(
                    t,
                    t + 9,
                    tsdb_format::chunkenc::Encoding::Xor,
                    Bytes::from(vec![t as u8]),
                )
                .expect("xor")
            })
            .collect();
        pb::Series { labels: pb_from_pairs(pairs.iter().copied()), chunks }
    }

    #[test]
    fn external_labels_can_reorder_series_so_they_are_resorted() {
        // Sorted by Prometheus' own labels: {a=1} < {a=1,b=0}; with c=5 added the order flips.
        let external = pb_from_pairs([("c", "5")]);
        let input = [series(&[("a", "1")], &[0]), series(&[("a", "1"), ("b", "0")], &[0])];
        let extended: Vec<pb::Series> = input
            .into_iter()
            .map(|s| pb::Series { labels: labels::extend_pb(s.labels, &external), chunks: s.chunks })
            .collect();
        let sorted = sort_and_join(extended);
        assert_eq!(sorted[0].labels, pb_from_pairs([("a", "1"), ("b", "0"), ("c", "5")]));
        assert_eq!(sorted[1].labels, pb_from_pairs([("a", "1"), ("c", "5")]));
    }

    #[test]
    fn equal_label_sets_are_joined_with_sorted_chunks() {
        let joined = sort_and_join(vec![
            series(&[("a", "1")], &[20]),
            series(&[("a", "2")], &[0]),
            series(&[("a", "1")], &[0, 20]),
        ]);
        assert_eq!(joined.len(), 2);
        let times: Vec<i64> = joined[0].chunks.iter().map(|c| c.min_time).collect();
        assert_eq!(times, [0, 20], "duplicate chunk removed, sorted");
    }

    #[test]
    fn versions_with_suffixes() {
        assert_eq!(parse_version("2.42.0+ds"), Some((2, 42, 0)));
        assert_eq!(parse_version("2.24.0-rc.0"), Some((2, 24, 0)));
        assert_eq!(parse_version("0"), None);
        assert!(parse_version("2.42.0").is_some_and(|v| v >= LABEL_MATCHERS_SINCE));
        assert!(parse_version("2.23.9").is_some_and(|v| v < LABEL_MATCHERS_SINCE));
    }
}
