//! A trivial in-memory StoreAPI server for the integration tests, and a helper to start it on
//! 127.0.0.1 with a random port.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream;
use storeapi::chunk::raw_aggr_chunk;
use storeapi::grpc;
use storeapi::labels::{extend_pb, label, pb_from_pairs};
use storeapi::matchers::{from_pb_all, matches_all_pb};
use storeapi::merge::without_replica_labels;
use storeapi::pb::thanos::info::info_server::Info;
use storeapi::pb::thanos::info::{InfoRequest, InfoResponse, StoreInfo, TsdbInfo};
use storeapi::pb::thanos::series_response::Result as Frame;
use storeapi::pb::thanos::store_server::Store;
use storeapi::pb::thanos::{
    self as pb, LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse, Series,
    SeriesBatch, SeriesRequest, SeriesResponse, ZLabelSet,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};
use tsdb_format::chunkenc::Encoding;

/// A store over a fixed list of series, with external labels.
pub(crate) struct MemoryStore {
    pub(crate) external_labels: Vec<pb::Label>,
    /// Series without external labels.
    pub(crate) series: Vec<Series>,
}

impl MemoryStore {
    /// Three series of two metrics, two chunks each, external labels {cluster="eu", replica="r0"}.
    pub(crate) fn sample() -> Self {
        let chunk = |min: i64, data: &'static [u8]| {
            raw_aggr_chunk(min, min + 9, Encoding::Xor, Bytes::from_static(data)).expect("xor chunk")
        };
        let series =
            |pairs: &[(&str, &str)], chunks| Series { labels: pb_from_pairs(pairs.iter().copied()), chunks };
        Self {
            external_labels: pb_from_pairs([("cluster", "eu"), ("replica", "r0")]),
            series: vec![
                series(
                    &[("__name__", "up"), ("job", "node")],
                    vec![chunk(0, b"\x00\x01\x02"), chunk(10, b"\x03")],
                ),
                series(
                    &[("__name__", "up"), ("job", "prom")],
                    vec![chunk(0, b"\x04"), chunk(10, b"\x05\x06")],
                ),
                series(
                    &[("__name__", "http_requests_total"), ("code", "200"), ("job", "prom")],
                    vec![chunk(0, b"\x07"), chunk(10, b"\x08")],
                ),
            ],
        }
    }

    fn info_response(&self) -> InfoResponse {
        InfoResponse {
            label_sets: vec![ZLabelSet { labels: self.external_labels.clone() }],
            component_type: grpc::component::SIDECAR.to_string(),
            store: Some(StoreInfo {
                min_time: 0,
                max_time: i64::MAX,
                supports_sharding: true,
                supports_without_replica_labels: true,
                tsdb_infos: vec![TsdbInfo {
                    labels: Some(ZLabelSet { labels: self.external_labels.clone() }),
                    min_time: 0,
                    max_time: 19,
                }],
                supports_projections: false,
            }),
            exemplars: None,
            ..Default::default()
        }
    }

    /// The matching series, external labels added, sorted, chunks cut to the time range.
    fn select(
        &self,
        matchers: &[pb::LabelMatcher],
        min_time: i64,
        max_time: i64,
    ) -> Result<Vec<Series>, Status> {
        let matchers = from_pb_all(matchers)?;
        let mut out: Vec<Series> = self
            .series
            .iter()
            .map(|s| Series {
                labels: extend_pb(s.labels.clone(), &self.external_labels),
                chunks: s.chunks.clone(),
            })
            .filter(|s| matches_all_pb(&matchers, &s.labels))
            .map(|mut s| {
                s.chunks.retain(|c| c.max_time >= min_time && c.min_time <= max_time);
                s
            })
            .collect();
        out.sort_by(|a, b| storeapi::labels::compare(&a.labels, &b.labels));
        Ok(out)
    }
}

#[tonic::async_trait]
impl Store for MemoryStore {
    async fn info(&self, _request: Request<pb::InfoRequest>) -> Result<Response<pb::InfoResponse>, Status> {
        Ok(Response::new(grpc::legacy_info_response(&self.info_response())))
    }

    type SeriesStream = stream::Iter<std::vec::IntoIter<Result<SeriesResponse, Status>>>;

    async fn series(&self, request: Request<SeriesRequest>) -> Result<Response<Self::SeriesStream>, Status> {
        let request = request.into_inner();
        if request.matchers.is_empty() {
            return Err(storeapi::Error::InvalidArgument("no matchers".into()).into());
        }
        let mut selected = self.select(&request.matchers, request.min_time, request.max_time)?;
        selected = without_replica_labels(selected, &request.without_replica_labels);
        if request.limit > 0 && selected.len() as i64 > request.limit {
            return Err(storeapi::Error::LimitExceeded { what: "series", limit: request.limit as u64 }.into());
        }
        if request.skip_chunks {
            selected.iter_mut().for_each(|s| s.chunks.clear());
        }
        let frames: Vec<Result<SeriesResponse, Status>> = if request.response_batch_size > 1 {
            let size = request.response_batch_size as usize;
            selected
                .chunks(size)
                .map(|batch| {
                    Ok(SeriesResponse { result: Some(Frame::Batch(SeriesBatch { series: batch.to_vec() })) })
                })
                .collect()
        } else {
            selected.into_iter().map(|s| Ok(SeriesResponse { result: Some(Frame::Series(s)) })).collect()
        };
        Ok(Response::new(stream::iter(frames)))
    }

    async fn label_names(
        &self,
        request: Request<LabelNamesRequest>,
    ) -> Result<Response<LabelNamesResponse>, Status> {
        let request = request.into_inner();
        let selected = self.select(&request.matchers, request.start, request.end)?;
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
        let selected = self.select(&request.matchers, request.start, request.end)?;
        let mut values: Vec<String> = selected
            .iter()
            .filter_map(|s| s.labels.iter().find(|l| l.name == request.label).map(|l| l.value.clone()))
            .collect();
        values.sort();
        values.dedup();
        Ok(Response::new(LabelValuesResponse { values, warnings: vec!["a warning".into()], hints: None }))
    }
}

#[tonic::async_trait]
impl Info for MemoryStore {
    async fn info(&self, _request: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        Ok(Response::new(self.info_response()))
    }
}

/// A running test server; dropping it shuts the server down.
pub(crate) struct TestServer {
    pub(crate) address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts `store` on 127.0.0.1 with a random port.
pub(crate) async fn start(store: MemoryStore) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    let store = Arc::new(store);
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        grpc::serve(listener, store.clone(), store, async {
            let _ = rx.await;
        })
        .await
        .expect("test server runs");
    });
    TestServer { address, shutdown: Some(tx) }
}

/// A regex matcher on the metric name.
pub(crate) fn name_matcher(pattern: &str) -> pb::LabelMatcher {
    pb::LabelMatcher {
        r#type: pb::label_matcher::Type::Re as i32,
        name: "__name__".into(),
        value: pattern.into(),
    }
}

/// `label(name, value)` re-exported for the tests.
pub(crate) fn l(name: &str, value: &str) -> pb::Label {
    label(name, value)
}
