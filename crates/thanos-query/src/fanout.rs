//! The fan-out: one query's view of every selected StoreAPI endpoint, as a PromQL [`Queryable`].
//!
//! ```text
//! engine.select ──► select endpoints (time range, external labels, storeMatch[])
//!               ──► concurrent Series calls ──► per-endpoint series (or a warning / an error)
//!               ──► merged in label order ──► replicas deduplicated ──► lazy chunk iterators
//! ```
//!
//! The engine's `select` is synchronous; the engine runs on a blocking thread and each select
//! drives its gRPC calls with [`Handle::block_on`], so the reactor is never blocked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use promql::queryable::{SampleIterator, StorageSeries};
use promql::{CancelToken, PromqlError, Queryable, SelectHints};
use promql_parser::label::Matcher as PromqlMatcher;
use storeapi::matchers::{Matcher, matches_all_pb};
use storeapi::pb::thanos::series_response::Result as Frame;
use storeapi::pb::thanos::store_client::StoreClient;
use storeapi::pb::thanos::{
    self as pb, LabelNamesRequest, LabelValuesRequest, PartialResponseStrategy, SeriesRequest,
};
use tokio::runtime::Handle;
use tonic::transport::Channel;
use tsdb_format::Labels;

use crate::chunk_iter::{ChunkSeriesIterator, ReadOptions};
use crate::dedup::{self, DedupError, DedupFunc, SelectOptions};
use crate::endpoints::{Endpoint, EndpointInfo, EndpointSet};

/// Per-request choices that shape the fan-out.
#[derive(Debug, Clone)]
pub(crate) struct FanoutOptions {
    /// Merge replicas (labels in `replica_labels` removed).
    pub(crate) dedup: bool,
    /// The replica label names.
    pub(crate) replica_labels: Vec<String>,
    /// How replicas are merged.
    pub(crate) dedup_func: DedupFunc,
    /// A failed endpoint is a warning (true) or fails the request (false).
    pub(crate) partial_response: bool,
    /// `storeMatch[]`: only endpoints whose `__address__` matches one of these sets.
    pub(crate) store_matchers: Vec<Vec<Matcher>>,
    /// Timeout of one endpoint's call; `None` waits.
    pub(crate) response_timeout: Option<Duration>,
}

/// What one fan-out returned besides data.
#[derive(Debug, Default)]
pub(crate) struct Warnings(Mutex<Vec<String>>);

impl Warnings {
    pub(crate) fn push(&self, warning: String) {
        if let Ok(mut all) = self.0.lock()
            && !all.contains(&warning)
        {
            all.push(warning);
        }
    }

    pub(crate) fn take(&self) -> Vec<String> {
        self.0.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default()
    }
}

/// The fan-out over a set of endpoints for one request.
#[derive(Debug, Clone)]
pub(crate) struct Fanout {
    endpoints: Arc<EndpointSet>,
    options: FanoutOptions,
    warnings: Arc<Warnings>,
    /// The request's `max_source_resolution` in ms (0 = raw data only).
    max_source_resolution_ms: i64,
    /// Aggregates asked for by a StoreAPI client (this querier as another's endpoint); `None`
    /// derives them from the selector's function.
    aggregates: Option<Vec<i32>>,
}

/// An error of the fan-out: which endpoint failed and why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct FanoutError(pub(crate) String);

impl Fanout {
    pub(crate) fn new(endpoints: Arc<EndpointSet>, options: FanoutOptions) -> Self {
        Self {
            endpoints,
            options,
            warnings: Arc::new(Warnings::default()),
            max_source_resolution_ms: 0,
            aggregates: None,
        }
    }

    /// Asks the stores for exactly these aggregates of downsampled data.
    pub(crate) fn with_aggregates(mut self, aggregates: Vec<i32>) -> Self {
        self.aggregates = Some(aggregates);
        self
    }

    /// Reads downsampled blocks up to `resolution_ms` (the request's `max_source_resolution`).
    pub(crate) fn with_max_source_resolution(mut self, resolution_ms: i64) -> Self {
        self.max_source_resolution_ms = resolution_ms;
        self
    }

    /// The warnings collected so far (taken).
    pub(crate) fn take_warnings(&self) -> Vec<String> {
        self.warnings.take()
    }

    /// The healthy endpoints that may hold data for the range and matchers.
    fn select_endpoints(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[Matcher],
    ) -> Vec<(Arc<Endpoint>, EndpointInfo)> {
        self.endpoints
            .healthy()
            .into_iter()
            .filter(|(endpoint, info)| {
                Endpoint::matches(info, mint, maxt, matchers) && self.store_matches(&endpoint.address)
            })
            .collect()
    }

    fn store_matches(&self, address: &str) -> bool {
        if self.options.store_matchers.is_empty() {
            return true;
        }
        let labels = vec![storeapi::labels::label("__address__", address)];
        self.options.store_matchers.iter().any(|set| matches_all_pb(set, &labels))
    }

    /// Calls every selected endpoint concurrently (`call` answers strings and warnings) and
    /// concatenates the strings; a failed endpoint is a warning or the error, as for `Series`.
    async fn gather_strings<F, Fut>(
        &self,
        selected: &[(Arc<Endpoint>, EndpointInfo)],
        what: &str,
        call: F,
    ) -> Result<Vec<String>, FanoutError>
    where
        F: Fn(StoreClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<(Vec<String>, Vec<String>), tonic::Status>>,
    {
        let results = futures::future::join_all(selected.iter().map(|(e, _)| call(e.store_client()))).await;
        let mut out = Vec::new();
        for ((endpoint, _), result) in selected.iter().zip(results) {
            match result {
                Ok((strings, warnings)) => {
                    warnings.into_iter().for_each(|w| self.warnings.push(w));
                    out.extend(strings);
                }
                Err(status) => self.failed(format!(
                    "fetch {what} from store {}: {}",
                    endpoint.address,
                    status.message()
                ))?,
            }
        }
        Ok(out)
    }

    /// Turns a failed endpoint into a warning, or the request's error.
    fn failed(&self, message: String) -> Result<(), FanoutError> {
        if self.options.partial_response {
            tracing::warn!(err = %message, "endpoint failed; returning partial response");
            self.warnings.push(message);
            Ok(())
        } else {
            Err(FanoutError(message))
        }
    }

    fn strategy(&self) -> i32 {
        if self.options.partial_response {
            PartialResponseStrategy::Warn as i32
        } else {
            PartialResponseStrategy::Abort as i32
        }
    }

    /// Series from every selected endpoint, merged and sorted by labels (chunks of equal
    /// label sets joined). Replica labels are still on.
    pub(crate) async fn series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        skip_chunks: bool,
        hints: Option<pb::QueryHints>,
    ) -> Result<Vec<pb::Series>, FanoutError> {
        let selected = self.select_endpoints(mint, maxt, matchers);
        let request = SeriesRequest {
            min_time: mint,
            max_time: maxt,
            matchers: storeapi::matchers::to_pb_all(matchers),
            partial_response_strategy: self.strategy(),
            partial_response_disabled: !self.options.partial_response,
            skip_chunks,
            // Downsampled blocks up to the allowed resolution, with the aggregates the function
            // around the selector reads (Thanos' querier sends both on every Series call).
            max_resolution_window: crate::downsampling::max_resolution_for_select(
                self.max_source_resolution_ms,
                hints.as_ref().and_then(|h| h.range.as_ref()).map_or(0, |r| r.millis),
                hints.as_ref().and_then(|h| h.func.as_ref()).map(|f| f.name.as_str()),
            ),
            aggregates: self.aggregates.clone().unwrap_or_else(|| {
                let func = hints.as_ref().and_then(|h| h.func.as_ref()).map(|f| f.name.as_str());
                crate::downsampling::aggregates_for(func).into_iter().map(|a| a as i32).collect()
            }),
            query_hints: hints,
            ..Default::default()
        };
        let timeout = self.options.response_timeout;
        let calls = selected.iter().map(|(endpoint, _)| {
            let request = request.clone();
            let endpoint = endpoint.clone();
            async move {
                let call = fetch_series(&endpoint, request);
                let result = match timeout {
                    Some(limit) => tokio::time::timeout(limit, call)
                        .await
                        .unwrap_or_else(|_| Err(format!("timed out after {limit:?}"))),
                    None => call.await,
                };
                (endpoint, result)
            }
        });
        let results = futures::future::join_all(calls).await;
        let mut inputs: Vec<Vec<pb::Series>> = Vec::with_capacity(results.len());
        for (endpoint, result) in results {
            match result {
                Ok((mut series, warnings)) => {
                    for warning in warnings {
                        self.warnings.push(warning);
                    }
                    if !series
                        .windows(2)
                        .all(|w| storeapi::labels::compare(&w[0].labels, &w[1].labels).is_le())
                    {
                        series.sort_by(|a, b| storeapi::labels::compare(&a.labels, &b.labels));
                    }
                    inputs.push(series);
                }
                Err(error) => {
                    self.failed(format!("fetch series from store {}: {error}", endpoint.address))?;
                }
            }
        }
        if inputs.len() == 1 {
            // One store: only frames of one series split across messages need joining.
            let mut joined: Vec<pb::Series> = Vec::new();
            for series in inputs.into_iter().flatten() {
                match joined.last_mut() {
                    Some(last) if last.labels == series.labels => last.chunks.extend(series.chunks),
                    _ => joined.push(series),
                }
            }
            return Ok(joined);
        }
        let streams: Vec<storeapi::SeriesStream> = inputs
            .into_iter()
            .map(|series| {
                Box::pin(futures::stream::iter(series.into_iter().map(Ok))) as storeapi::SeriesStream
            })
            .collect();
        let merged: Vec<Result<pb::Series, tonic::Status>> = storeapi::merge_series(streams).collect().await;
        merged.into_iter().collect::<Result<Vec<_>, _>>().map_err(|s| FanoutError(s.message().to_string()))
    }

    /// Label names over the selected endpoints, sorted and unique.
    pub(crate) async fn label_names(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<String>, FanoutError> {
        let selected = self.select_endpoints(start, end, matchers);
        let request = LabelNamesRequest {
            start,
            end,
            matchers: storeapi::matchers::to_pb_all(matchers),
            partial_response_strategy: self.strategy(),
            partial_response_disabled: !self.options.partial_response,
            ..Default::default()
        };
        let mut names = self
            .gather_strings(&selected, "label names", |mut client| {
                let request = request.clone();
                async move {
                    let response = client.label_names(request).await?.into_inner();
                    Ok((response.names, response.warnings))
                }
            })
            .await?;
        if self.options.dedup {
            names.retain(|n| !self.options.replica_labels.contains(n));
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Values of `name` over the selected endpoints, sorted and unique.
    pub(crate) async fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<String>, FanoutError> {
        if self.options.dedup && self.options.replica_labels.iter().any(|r| r == name) {
            return Ok(Vec::new());
        }
        let selected = self.select_endpoints(start, end, matchers);
        let request = LabelValuesRequest {
            label: name.to_string(),
            start,
            end,
            matchers: storeapi::matchers::to_pb_all(matchers),
            partial_response_strategy: self.strategy(),
            partial_response_disabled: !self.options.partial_response,
            ..Default::default()
        };
        let mut values = self
            .gather_strings(&selected, "label values", |mut client| {
                let request = request.clone();
                async move {
                    let response = client.label_values(request).await?.into_inner();
                    Ok((response.values, response.warnings))
                }
            })
            .await?;
        values.sort();
        values.dedup();
        Ok(values)
    }

    /// Series labels for `/api/v1/series`: replica labels removed when deduplicating.
    pub(crate) async fn series_labels(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<Labels>, FanoutError> {
        let series = self.series(matchers, start, end, true, None).await?;
        let mut out: Vec<Labels> =
            series.into_iter().map(|s| storeapi::labels::from_pb_owned(s.labels)).collect();
        if self.options.dedup && !self.options.replica_labels.is_empty() {
            out = out.into_iter().map(|l| l.without(&self.options.replica_labels)).collect();
            out.sort();
            out.dedup();
        }
        Ok(out)
    }

    /// The engine's select, async.
    async fn select_async(
        &self,
        matchers: &[PromqlMatcher],
        hints: &SelectHints,
    ) -> promql::Result<Vec<StorageSeries>> {
        let compiled = matchers
            .iter()
            .map(Matcher::from_promql)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PromqlError::Execution(e.to_string()))?;
        let skip_chunks = hints.func.as_deref() == Some("series");
        let query_hints = pb::QueryHints {
            step_millis: hints.step,
            func: hints.func.as_ref().map(|name| pb::Func { name: name.clone() }),
            range: (hints.range > 0).then_some(pb::Range { millis: hints.range }),
            ..Default::default()
        };
        let series = self
            .series(&compiled, hints.start, hints.end, skip_chunks, Some(query_hints))
            .await
            .map_err(|e| PromqlError::Execution(format!("expanding series: proxy Series(): {e}")))?;
        let dedup = self.options.dedup && !self.options.replica_labels.is_empty();
        // Downsampled chunks carry aggregates instead of raw samples: the dedup module reads
        // them as Thanos does (the aggregate the function needs). Raw data stays lazy below.
        let downsampled = series.iter().any(|s| s.chunks.iter().any(|c| c.raw.is_none()));
        if dedup || downsampled {
            let options = SelectOptions {
                replica_labels: &self.options.replica_labels,
                dedup: dedup.then_some(self.options.dedup_func),
                func: hints.func.as_deref(),
                mint: hints.start,
                maxt: hints.end,
            };
            if !downsampled {
                return dedup_raw(series, &options).map_err(|e| PromqlError::Storage(e.to_string()));
            }
            let deduped =
                dedup::select_series(series, &options).map_err(|e| PromqlError::Storage(e.to_string()))?;
            return Ok(deduped
                .into_iter()
                .map(|s| {
                    let points = s.points.into_iter().map(|(t, v)| promql::Point { t, v }).collect();
                    StorageSeries {
                        labels: s.labels,
                        samples: Box::new(ChunkSeriesIterator::from_points(points))
                            as Box<dyn SampleIterator>,
                    }
                })
                .collect());
        }
        // Raw data without deduplication: read as Thanos reads it (overlaps skipped, counter
        // resets applied for counter functions), lazily, one chunk at a time.
        let read = ReadOptions::for_func(hints.func.as_deref(), hints.start, hints.end);
        Ok(series
            .into_iter()
            .map(|s| StorageSeries {
                labels: storeapi::labels::from_pb_owned(s.labels),
                samples: Box::new(ChunkSeriesIterator::new(s.chunks, read)) as Box<dyn SampleIterator>,
            })
            .collect())
    }
}

/// Deduplicated raw series, each group of replicas read lazily when its chunks do not overlap
/// in time: Thanos' overlap split then yields one pseudo-replica, read like any series, so the
/// lazy plain read gives the same samples without decoding them all up front. A group whose
/// chunks overlap (replicas that both hold data) is merged by the dedup module.
fn dedup_raw(series: Vec<pb::Series>, options: &SelectOptions<'_>) -> Result<Vec<StorageSeries>, DedupError> {
    let read = ReadOptions::for_func(options.func, options.mint, options.maxt);
    let mut keyed: Vec<(Labels, Vec<pb::AggrChunk>)> = series
        .into_iter()
        .map(|s| (storeapi::labels::from_pb_owned(s.labels).without(options.replica_labels), s.chunks))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut groups: Vec<(Labels, Vec<pb::AggrChunk>)> = Vec::with_capacity(keyed.len());
    for (labels, chunks) in keyed {
        match groups.last_mut() {
            Some((last, all)) if *last == labels => all.extend(chunks),
            _ => groups.push((labels, chunks)),
        }
    }
    groups
        .into_iter()
        .map(|(labels, chunks)| {
            let lazy = ChunkSeriesIterator::new(chunks, read);
            if !lazy.has_overlaps() {
                return Ok(StorageSeries { labels, samples: Box::new(lazy) as Box<dyn SampleIterator> });
            }
            let group = pb::Series { labels: storeapi::labels::to_pb(&labels), chunks: lazy.into_chunks() };
            let points = dedup::select_series(vec![group], options)?
                .into_iter()
                .flat_map(|s| s.points)
                .map(|(t, v)| promql::Point { t, v })
                .collect();
            Ok(StorageSeries { labels, samples: Box::new(ChunkSeriesIterator::from_points(points)) })
        })
        .collect()
}

/// Reads one endpoint's whole `Series` answer: its series (any frame form) and warnings.
async fn fetch_series(
    endpoint: &Endpoint,
    request: SeriesRequest,
) -> Result<(Vec<pb::Series>, Vec<String>), String> {
    let mut client = endpoint.store_client();
    let mut stream = client.series(request).await.map_err(|s| s.message().to_string())?.into_inner();
    let mut series = Vec::new();
    let mut warnings = Vec::new();
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|s| format!("receive series: {}", s.message()))?;
        match frame.result {
            Some(Frame::Series(s)) => series.push(s),
            Some(Frame::Batch(batch)) => series.extend(batch.series),
            Some(Frame::Warning(w)) => warnings.push(w),
            Some(Frame::Hints(_)) | None => {}
        }
    }
    Ok((series, warnings))
}

/// A [`Fanout`] usable by the synchronous engine from a blocking thread. Each select gives up
/// at the query's deadline, or when the query is cancelled, instead of waiting for slow stores.
pub(crate) struct BlockingQueryable {
    fanout: Fanout,
    handle: Handle,
    deadline: tokio::time::Instant,
    cancel: CancelToken,
}

impl BlockingQueryable {
    pub(crate) fn new(fanout: Fanout, handle: Handle, timeout: Duration, cancel: CancelToken) -> Self {
        let deadline = tokio::time::Instant::now() + timeout;
        Self { fanout, handle, deadline, cancel }
    }
}

/// How often a waiting select looks at the cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(50);

impl Queryable for BlockingQueryable {
    fn select(&self, matchers: &[PromqlMatcher], hints: &SelectHints) -> promql::Result<Vec<StorageSeries>> {
        let cancelled = async {
            while !self.cancel.is_cancelled() {
                tokio::time::sleep(CANCEL_POLL).await;
            }
        };
        self.handle.block_on(async {
            tokio::select! {
                result = self.fanout.select_async(matchers, hints) => result,
                () = tokio::time::sleep_until(self.deadline) => Err(PromqlError::Timeout("expression evaluation")),
                () = cancelled => Err(PromqlError::Canceled("expression evaluation")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use storeapi::chunk::raw_aggr_chunk;
    use tsdb_format::chunkenc::{Encoding, XorEncoder};

    use super::*;

    fn chunk(samples: &[(i64, f64)]) -> pb::AggrChunk {
        let mut enc = XorEncoder::new();
        for &(t, v) in samples {
            enc.append(t, v);
        }
        let (min, max) = (samples[0].0, samples[samples.len() - 1].0);
        raw_aggr_chunk(min, max, Encoding::Xor, Bytes::from(enc.into_bytes())).expect("xor chunk")
    }

    /// A replica's chunks: 1–3 chunks of a counter from `start`, some with a reset.
    fn replica_chunks(seed: u64, start: i64) -> Vec<pb::AggrChunk> {
        let mut state = seed;
        let mut next = |n: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let (mut t, mut v) = (start, 0.0);
        (0..1 + next(3))
            .map(|_| {
                let samples: Vec<(i64, f64)> = (0..2 + next(8))
                    .map(|_| {
                        t += 10 + next(20) as i64;
                        v = if next(10) == 0 { 1.0 } else { v + next(7) as f64 };
                        (t, v)
                    })
                    .collect();
                chunk(&samples)
            })
            .collect()
    }

    fn read(mut it: Box<dyn SampleIterator>) -> Vec<(i64, u64)> {
        let mut out = Vec::new();
        while let Some(p) = it.next().expect("reads") {
            out.push((p.t, p.v.to_bits()));
        }
        out
    }

    #[test]
    fn lazy_dedup_reads_as_the_dedup_module() {
        let replica_labels = vec!["replica".to_string()];
        for case in 0..300u64 {
            // Per series: replica "a" from 0; replica "b" overlapping it, after it, or absent.
            let mut series = Vec::new();
            for i in 0..3u64 {
                let name = format!("{i}");
                let labels = |r: &str| {
                    storeapi::labels::pb_from_pairs([("__name__", "x"), ("i", &name), ("replica", r)])
                };
                series.push(pb::Series { labels: labels("a"), chunks: replica_chunks(case * 7 + i, 0) });
                match (case + i) % 3 {
                    0 => series
                        .push(pb::Series { labels: labels("b"), chunks: replica_chunks(case * 11 + i, 5) }),
                    1 => series.push(pb::Series {
                        labels: labels("b"),
                        chunks: replica_chunks(case * 13 + i, 10_000),
                    }),
                    _ => {}
                }
            }
            let func = [None, Some("rate"), Some("max_over_time")][case as usize % 3];
            let options = SelectOptions {
                replica_labels: &replica_labels,
                dedup: Some([DedupFunc::Penalty, DedupFunc::Chain][case as usize % 2]),
                func,
                mint: 20,
                maxt: 5_000 + case as i64 * 40,
            };
            let want = dedup::select_series(series.clone(), &options).expect("decodes");
            let got = dedup_raw(series, &options).expect("decodes");
            assert_eq!(got.len(), want.len(), "case {case}");
            for (g, w) in got.into_iter().zip(want) {
                assert_eq!(g.labels, w.labels, "case {case}");
                let want_points: Vec<(i64, u64)> = w.points.iter().map(|&(t, v)| (t, v.to_bits())).collect();
                assert_eq!(read(g.samples), want_points, "case {case} {}", w.labels);
            }
        }
    }
}
