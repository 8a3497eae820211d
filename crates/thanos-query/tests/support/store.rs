//! An in-memory StoreAPI server over decoded samples, answering with XOR chunks, served by
//! storeapi's `grpc::serve` on a runtime of its own so that a test can kill it mid-query.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use storeapi::chunk::raw_aggr_chunk;
use storeapi::grpc;
use storeapi::labels::{extend_pb, to_pb};
use storeapi::matchers::{from_pb_all, matches_all_pb};
use storeapi::pb::thanos::info::info_server::Info;
use storeapi::pb::thanos::info::{InfoRequest, InfoResponse, StoreInfo};
use storeapi::pb::thanos::series_response::Result as Frame;
use storeapi::pb::thanos::store_server::Store;
use storeapi::pb::thanos::{
    self as pb, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse, Series,
    SeriesRequest, SeriesResponse, ZLabelSet,
};
use tonic::{Request, Response, Status};
use tsdb_format::Labels;
use tsdb_format::chunkenc::{Encoding, XorEncoder};

use super::data::SeriesData;

/// Samples per chunk, as Prometheus cuts them.
const SAMPLES_PER_CHUNK: usize = 120;

/// A store over a fixed set of series.
pub(crate) struct MemoryStore {
    /// External labels added to every series.
    pub(crate) external_labels: Labels,
    /// Series without external labels.
    pub(crate) series: Vec<SeriesData>,
    /// The time range served (samples outside it are invisible); `None` = the data's range.
    pub(crate) time_range: Option<(i64, i64)>,
    /// How long a Series call waits before answering.
    pub(crate) delay: Duration,
    /// Component type in Info.
    pub(crate) component: &'static str,
    /// Series with external labels and XOR chunks, encoded on first use.
    encoded: std::sync::OnceLock<Vec<(Vec<pb::Label>, Vec<pb::AggrChunk>)>>,
}

impl MemoryStore {
    pub(crate) fn new(series: Vec<SeriesData>) -> Self {
        Self {
            external_labels: Labels::default(),
            series,
            time_range: None,
            delay: Duration::ZERO,
            component: grpc::component::STORE,
            encoded: std::sync::OnceLock::new(),
        }
    }

    fn range(&self) -> (i64, i64) {
        self.time_range.unwrap_or_else(|| {
            let min = self.series.iter().filter_map(|(_, s)| s.first().map(|p| p.0)).min().unwrap_or(0);
            let max = self.series.iter().filter_map(|(_, s)| s.last().map(|p| p.0)).max().unwrap_or(0);
            (min, max)
        })
    }

    fn info_response(&self) -> InfoResponse {
        let (min_time, max_time) = self.range();
        InfoResponse {
            label_sets: vec![ZLabelSet { labels: to_pb(&self.external_labels) }],
            component_type: self.component.to_string(),
            store: Some(StoreInfo { min_time, max_time, ..Default::default() }),
            ..Default::default()
        }
    }

    /// Every series with external labels, sorted, its samples in the served range as chunks.
    fn encoded(&self) -> &[(Vec<pb::Label>, Vec<pb::AggrChunk>)] {
        self.encoded.get_or_init(|| {
            let (min, max) = self.range();
            let external = to_pb(&self.external_labels);
            let mut all: Vec<(Vec<pb::Label>, Vec<pb::AggrChunk>)> = self
                .series
                .iter()
                .map(|(labels, samples)| {
                    let kept: Vec<(i64, f64)> =
                        samples.iter().copied().filter(|(t, _)| (min..=max).contains(t)).collect();
                    (extend_pb(to_pb(labels), &external), chunks(&kept))
                })
                .filter(|(_, chunks)| !chunks.is_empty())
                .collect();
            all.sort_by(|a, b| storeapi::labels::compare(&a.0, &b.0));
            all
        })
    }

    /// Matching series with their chunks overlapping `[min, max]`.
    fn select(&self, matchers: &[pb::LabelMatcher], min: i64, max: i64) -> Result<Vec<Series>, Status> {
        let matchers = from_pb_all(matchers)?;
        Ok(self
            .encoded()
            .iter()
            .filter(|(labels, _)| matches_all_pb(&matchers, labels))
            .map(|(labels, chunks)| Series {
                labels: labels.clone(),
                chunks: chunks.iter().filter(|c| c.max_time >= min && c.min_time <= max).cloned().collect(),
            })
            .filter(|s| !s.chunks.is_empty())
            .collect())
    }
}

fn chunks(samples: &[(i64, f64)]) -> Vec<pb::AggrChunk> {
    samples
        .chunks(SAMPLES_PER_CHUNK)
        .map(|part| {
            let mut enc = XorEncoder::new();
            for &(t, v) in part {
                enc.append(t, v);
            }
            let (min, max) = (part[0].0, part[part.len() - 1].0);
            raw_aggr_chunk(min, max, Encoding::Xor, Bytes::from(enc.into_bytes())).expect("xor chunk")
        })
        .collect()
}

#[tonic::async_trait]
impl Store for MemoryStore {
    async fn info(&self, _request: Request<pb::InfoRequest>) -> Result<Response<pb::InfoResponse>, Status> {
        Ok(Response::new(grpc::legacy_info_response(&self.info_response())))
    }

    type SeriesStream = stream::Iter<std::vec::IntoIter<Result<SeriesResponse, Status>>>;

    async fn series(&self, request: Request<SeriesRequest>) -> Result<Response<Self::SeriesStream>, Status> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let request = request.into_inner();
        let mut series = self.select(&request.matchers, request.min_time, request.max_time)?;
        if request.skip_chunks {
            series.iter_mut().for_each(|s| s.chunks.clear());
        }
        series = storeapi::merge::without_replica_labels(series, &request.without_replica_labels);
        let frames: Vec<Result<SeriesResponse, Status>> =
            series.into_iter().map(|s| Ok(SeriesResponse { result: Some(Frame::Series(s)) })).collect();
        Ok(Response::new(stream::iter(frames)))
    }

    async fn label_names(
        &self,
        request: Request<LabelNamesRequest>,
    ) -> Result<Response<LabelNamesResponse>, Status> {
        let request = request.into_inner();
        let matchers = if request.matchers.is_empty() { vec![any_name()] } else { request.matchers };
        let selected = self.select(&matchers, request.start, request.end)?;
        let mut names: Vec<String> =
            selected.iter().flat_map(|s| s.labels.iter().map(|l| l.name.clone())).collect();
        names.sort();
        names.dedup();
        Ok(Response::new(LabelNamesResponse { names, warnings: vec![], hints: None }))
    }

    async fn label_values(
        &self,
        request: Request<LabelValuesRequest>,
    ) -> Result<Response<LabelValuesResponse>, Status> {
        let request = request.into_inner();
        let matchers = if request.matchers.is_empty() { vec![any_name()] } else { request.matchers };
        let selected = self.select(&matchers, request.start, request.end)?;
        let mut values: Vec<String> = selected
            .iter()
            .filter_map(|s| s.labels.iter().find(|l| l.name == request.label).map(|l| l.value.clone()))
            .collect();
        values.sort();
        values.dedup();
        Ok(Response::new(LabelValuesResponse { values, warnings: vec![], hints: None }))
    }
}

fn any_name() -> pb::LabelMatcher {
    pb::LabelMatcher {
        r#type: pb::label_matcher::Type::Re as i32,
        name: "__name__".into(),
        value: ".+".into(),
    }
}

#[tonic::async_trait]
impl Info for MemoryStore {
    async fn info(&self, _request: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        Ok(Response::new(self.info_response()))
    }
}

/// A running store on its own runtime; [`TestStore::kill`] (or drop) stops it abruptly,
/// closing every open connection.
pub(crate) struct TestStore {
    pub(crate) address: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestStore {
    pub(crate) fn start(store: MemoryStore) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("store runtime");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let address = listener.local_addr().expect("address");
        let store = Arc::new(store);
        runtime.spawn(async move {
            let _ = grpc::serve(listener, store.clone(), store, std::future::pending()).await;
        });
        Self { address, runtime: Some(runtime) }
    }

    /// Kills the server: its runtime is dropped with every task and connection.
    pub(crate) fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        self.kill();
    }
}
