//! The StoreAPI over one Prometheus (Thanos' `PrometheusStore`, `pkg/store/prometheus.go`).
//!
//! `Series` asks remote read once, accepting streamed XOR chunks (passed through) or samples
//! (re-encoded); `skip_chunks` asks `/api/v1/series` instead. Matchers on external-label names
//! are checked here against the external labels and dropped before asking Prometheus; external
//! labels then go onto every series (winning on a clash), `without_replica_labels` come off, and
//! the series are put in label order, which adding and removing labels can change
//! ([`crate::ordering`]).

use std::sync::Arc;

use futures::StreamExt;

use storeapi::Matcher;
use storeapi::labels;
use storeapi::matchers::{from_pb_all, matches_external_labels};
use storeapi::merge::SeriesStream;
use storeapi::pb::prometheus as prom;
use storeapi::pb::thanos as pb;
use storeapi::remote_read::{RemoteReadClient, RemoteReadError, ResponseKind, SeriesReader, matcher_to_prom};
use tonic::Status;
use tsdb_format::Labels;

use crate::metadata::PromMetadata;
use crate::ordering::{self, SeriesOrderer};
use crate::promclient::PromClient;
use crate::shard::ShardMatcher;

/// Histogram: frames per streamed remote-read response (Thanos' name).
pub(crate) const RECEIVED_FRAMES: &str = "prometheus_store_received_frames";
/// Its buckets: Thanos' `ExponentialBuckets(10, 10, 5)`.
pub(crate) const RECEIVED_FRAMES_BUCKETS: [f64; 5] = [10.0, 100.0, 1_000.0, 10_000.0, 100_000.0];

/// Prometheus from which label calls accept `match[]` (caa173d2, v2.24.0).
const LABEL_MATCHERS_SINCE: (u64, u64, u64) = (2, 24, 0);

/// Batches of series waiting between the remote-read reader and the gRPC stream.
const SERIES_BUFFER: usize = 8;
/// Series handed to the gRPC stream at once.
const SEND_BATCH: usize = 32;

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

    /// Every series of the request, sorted by labels, chunks of one series joined, as a
    /// stream: series go out while Prometheus still sends (see [`crate::ordering`]).
    pub(crate) async fn series(&self, mut request: pb::SeriesRequest) -> Result<SeriesStream, Status> {
        let (external, remaining) = self.split_matchers(&request.matchers)?;
        let Some(matchers) = remaining else { return Ok(Box::pin(futures::stream::empty())) };
        if matchers.is_empty() {
            return Err(Status::invalid_argument("no matchers specified (excluding external labels)"));
        }
        // Never ask for more than Prometheus holds (including the --min-time limit).
        let (available_min, _) = self.metadata.timestamps();
        request.min_time = request.min_time.max(available_min);
        let shard = ShardMatcher::new(request.shard_info.as_ref());
        if request.skip_chunks {
            let mut series = self.series_labels_only(&request, &matchers, &external).await?;
            if let Some(shard) = &shard {
                series.retain(|s| shard.matches(&s.labels));
            }
            let sorted = ordering::sort_and_join(series).into_iter().map(Ok);
            return Ok(Box::pin(futures::stream::iter(sorted)));
        }
        self.series_with_chunks(request, &matchers, &external, shard).await
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
        request: pb::SeriesRequest,
        matchers: &[Matcher],
        external: &Labels,
        shard: Option<ShardMatcher>,
    ) -> Result<SeriesStream, Status> {
        let query = prom::Query {
            start_timestamp_ms: request.min_time,
            end_timestamp_ms: request.max_time,
            matchers: matchers.iter().map(|m| matcher_to_prom(&m.to_pb())).collect(),
            hints: None,
        };
        // Streaming is safe when no series carries a label named like an external or replica
        // label; Prometheus' label names (cheap: no series are read) tell, asked alongside.
        let (names, reader) = tokio::join!(
            self.client.label_names(&[], request.min_time, request.max_time, 0),
            self.remote_read.read(query, &self.accepted)
        );
        let reader = reader.map_err(remote_read_status)?;
        let clashes = |name: &String| external.has(name) || request.without_replica_labels.contains(name);
        let streaming = match names {
            Ok(names) => !names.iter().any(clashes),
            Err(error) => {
                tracing::debug!(err = %error, "label names unknown, sorting series at the end");
                false
            }
        };
        let orderer = SeriesOrderer::new(labels::to_pb(external), request.without_replica_labels, streaming);
        let (sender, receiver) = tokio::sync::mpsc::channel(SERIES_BUFFER);
        tokio::spawn(pump(reader, orderer, shard, sender));
        let batches = tokio_stream::wrappers::ReceiverStream::new(receiver);
        Ok(Box::pin(batches.flat_map(|batch| {
            let items: Vec<Result<pb::Series, Status>> = match batch {
                Ok(series) => series.into_iter().map(Ok).collect(),
                Err(status) => vec![Err(status)],
            };
            futures::stream::iter(items)
        })))
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

/// Reads Prometheus' series, orders them and sends them to the gRPC stream in batches (one
/// hand-over between tasks per batch, not per series) until either side ends; a closed
/// receiver (the client went away) stops the read.
async fn pump(
    mut reader: SeriesReader,
    mut orderer: SeriesOrderer,
    shard: Option<ShardMatcher>,
    sender: tokio::sync::mpsc::Sender<Result<Vec<pb::Series>, Status>>,
) {
    let mut batch: Vec<pb::Series> = Vec::with_capacity(SEND_BATCH);
    let mut sent = 0usize;
    loop {
        let (ready, end) = match reader.next_series().await {
            Ok(Some(series)) => match orderer.push(series) {
                Ok(ready) => (ready, false),
                Err(error) => {
                    let _ = sender.send(Err(Status::internal(error.to_string()))).await;
                    return;
                }
            },
            Ok(None) => (orderer.flush(), true),
            Err(error) => {
                let _ = sender.send(Err(remote_read_status(error))).await;
                return;
            }
        };
        batch.extend(ready.into_iter().filter(|s| shard.as_ref().is_none_or(|m| m.matches(&s.labels))));
        if batch.len() >= SEND_BATCH || (end && !batch.is_empty()) {
            sent += batch.len();
            let full = std::mem::replace(&mut batch, Vec::with_capacity(SEND_BATCH));
            if sender.send(Ok(full)).await.is_err() {
                return;
            }
        }
        if end {
            break;
        }
    }
    if reader.kind() == ResponseKind::StreamedChunks {
        metrics::histogram!(RECEIVED_FRAMES).record(reader.frames() as f64);
    }
    tracing::debug!(
        series = sent,
        frames = reader.frames(),
        bytes = reader.bytes_read(),
        "handled remote read"
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_with_suffixes() {
        assert_eq!(parse_version("2.42.0+ds"), Some((2, 42, 0)));
        assert_eq!(parse_version("2.24.0-rc.0"), Some((2, 24, 0)));
        assert_eq!(parse_version("0"), None);
        assert!(parse_version("2.42.0").is_some_and(|v| v >= LABEL_MATCHERS_SINCE));
        assert!(parse_version("2.23.9").is_some_and(|v| v < LABEL_MATCHERS_SINCE));
    }
}
