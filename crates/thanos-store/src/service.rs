//! The gRPC face of the bucket store: `thanos.Store` (with the deprecated `Store/Info`) and
//! `thanos.info.Info`.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use prost::Message;
use runtime::Readiness;
use storeapi::grpc::component;
use storeapi::pb::hintspb;
use storeapi::pb::thanos::info::info_server::Info;
use storeapi::pb::thanos::info::{self as infopb, StoreInfo};
use storeapi::pb::thanos::store_server::Store;
use storeapi::pb::thanos::{self as pb, series_response};
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};
use ulid::Ulid;

use crate::bucket_store::{BucketStore, StoreError};

/// Serves the StoreAPI over a [`BucketStore`].
#[derive(Debug)]
pub(crate) struct StoreService {
    store: Arc<BucketStore>,
    readiness: Readiness,
    /// `--store.grpc.series-max-concurrency`.
    series_gate: Arc<Semaphore>,
}

impl StoreService {
    /// A service answering once `readiness` is set.
    pub(crate) fn new(store: Arc<BucketStore>, readiness: Readiness, series_max_concurrency: usize) -> Self {
        Self { store, readiness, series_gate: Arc::new(Semaphore::new(series_max_concurrency.max(1))) }
    }

    fn check_ready(&self) -> Result<(), Status> {
        if self.readiness.is_ready() {
            Ok(())
        } else {
            Err(Status::unavailable("store gateway is not ready: initial block sync has not finished"))
        }
    }

    fn info_response(&self) -> infopb::InfoResponse {
        let (sets, min_time, max_time) = self.store.info();
        infopb::InfoResponse {
            label_sets: sets.iter().map(storeapi::labels::to_zlabel_set).collect(),
            component_type: component::STORE.to_owned(),
            store: Some(StoreInfo {
                min_time,
                max_time,
                supports_sharding: false,
                supports_without_replica_labels: true,
                tsdb_infos: Vec::new(),
                supports_projections: false,
            }),
            ..Default::default()
        }
    }
}

/// The `Status` of a failed query; Series failures other than limits and bad requests are
/// `Aborted`, as in Thanos.
fn status(error: StoreError, default: tonic::Code) -> Status {
    match error {
        StoreError::ResourceExhausted(message) => Status::resource_exhausted(message),
        StoreError::InvalidArgument(message) => Status::invalid_argument(message),
        StoreError::Internal(error) => {
            tracing::warn!(err = format!("{error:#}"), "query failed");
            Status::new(default, format!("{error:#}"))
        }
    }
}

fn any_of<M: Message>(type_name: &str, message: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: format!("type.googleapis.com/hintspb.{type_name}"),
        value: message.encode_to_vec(),
    }
}

fn hint_blocks(ids: &[Ulid]) -> Vec<hintspb::Block> {
    ids.iter().map(|id| hintspb::Block { id: id.to_string() }).collect()
}

type SeriesFrames = Pin<Box<dyn Stream<Item = Result<pb::SeriesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Store for StoreService {
    async fn info(&self, _request: Request<pb::InfoRequest>) -> Result<Response<pb::InfoResponse>, Status> {
        self.check_ready()?;
        Ok(Response::new(storeapi::grpc::legacy_info_response(&self.info_response())))
    }

    type SeriesStream = SeriesFrames;

    async fn series(
        &self,
        request: Request<pb::SeriesRequest>,
    ) -> Result<Response<Self::SeriesStream>, Status> {
        self.check_ready()?;
        let permit = self
            .series_gate
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Status::unavailable("store gateway is shutting down"))?;
        let request = request.into_inner();
        let answer = self.store.series(&request).await.map_err(|e| status(e, tonic::Code::Aborted))?;
        let hints = hintspb::SeriesResponseHints {
            queried_blocks: hint_blocks(&answer.queried_blocks),
            query_stats: None,
        };
        let hints_frame = pb::SeriesResponse {
            result: Some(series_response::Result::Hints(any_of("SeriesResponseHints", &hints))),
        };
        let frames = answer
            .series
            .map(|series| {
                series.map(|s| pb::SeriesResponse { result: Some(series_response::Result::Series(s)) })
            })
            .chain(futures::stream::once(async move {
                // Held until the last frame: the limit counts calls still streaming.
                drop(permit);
                Ok(hints_frame)
            }));
        Ok(Response::new(Box::pin(frames)))
    }

    async fn label_names(
        &self,
        request: Request<pb::LabelNamesRequest>,
    ) -> Result<Response<pb::LabelNamesResponse>, Status> {
        self.check_ready()?;
        let request = request.into_inner();
        let (names, queried) =
            self.store.label_names(&request).await.map_err(|e| status(e, tonic::Code::Internal))?;
        let hints = hintspb::LabelNamesResponseHints { queried_blocks: hint_blocks(&queried) };
        Ok(Response::new(pb::LabelNamesResponse {
            names,
            warnings: Vec::new(),
            hints: Some(any_of("LabelNamesResponseHints", &hints)),
        }))
    }

    async fn label_values(
        &self,
        request: Request<pb::LabelValuesRequest>,
    ) -> Result<Response<pb::LabelValuesResponse>, Status> {
        self.check_ready()?;
        let request = request.into_inner();
        let (values, queried) =
            self.store.label_values(&request).await.map_err(|e| status(e, tonic::Code::Internal))?;
        let hints = hintspb::LabelValuesResponseHints { queried_blocks: hint_blocks(&queried) };
        Ok(Response::new(pb::LabelValuesResponse {
            values,
            warnings: Vec::new(),
            hints: Some(any_of("LabelValuesResponseHints", &hints)),
        }))
    }
}

#[tonic::async_trait]
impl Info for StoreService {
    async fn info(
        &self,
        _request: Request<infopb::InfoRequest>,
    ) -> Result<Response<infopb::InfoResponse>, Status> {
        self.check_ready()?;
        Ok(Response::new(self.info_response()))
    }
}
