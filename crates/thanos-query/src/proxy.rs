//! The querier's own StoreAPI on `--grpc-address`: every call fanned out to the querier's
//! endpoints and merged, so that one querier can be an endpoint of another.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use storeapi::grpc::component;
use storeapi::matchers::from_pb_all;
use storeapi::pb::thanos::info::info_server::Info;
use storeapi::pb::thanos::info::{self as infopb, StoreInfo};
use storeapi::pb::thanos::store_server::Store;
use storeapi::pb::thanos::{self as pb, PartialResponseStrategy, series_response};
use tonic::{Request, Response, Status};
use tsdb_format::Labels;

use crate::dedup::DedupFunc;
use crate::endpoints::EndpointSet;
use crate::fanout::{Fanout, FanoutOptions};

/// Serves `thanos.Store` and `thanos.info.Info` over the fan-out.
#[derive(Debug)]
pub(crate) struct ProxyStore {
    endpoints: Arc<EndpointSet>,
    replica_labels: Vec<String>,
}

impl ProxyStore {
    pub(crate) fn new(endpoints: Arc<EndpointSet>, replica_labels: Vec<String>) -> Self {
        Self { endpoints, replica_labels }
    }

    fn fanout(&self, strategy: i32, disabled: bool) -> Fanout {
        let abort = disabled || strategy == PartialResponseStrategy::Abort as i32;
        Fanout::new(
            self.endpoints.clone(),
            FanoutOptions {
                dedup: false,
                replica_labels: self.replica_labels.clone(),
                dedup_func: DedupFunc::Penalty,
                partial_response: !abort,
                store_matchers: Vec::new(),
                response_timeout: None,
            },
        )
    }

    fn info_response(&self) -> infopb::InfoResponse {
        let healthy = self.endpoints.healthy();
        let mut label_sets: Vec<Labels> =
            healthy.iter().flat_map(|(_, info)| info.label_sets.clone()).collect();
        label_sets.sort();
        label_sets.dedup();
        let min_time = healthy.iter().map(|(_, i)| i.min_time).min().unwrap_or(i64::MIN);
        let max_time = healthy.iter().map(|(_, i)| i.max_time).max().unwrap_or(i64::MAX);
        infopb::InfoResponse {
            label_sets: label_sets.iter().map(storeapi::labels::to_zlabel_set).collect(),
            component_type: component::QUERY.to_owned(),
            store: Some(StoreInfo {
                min_time,
                max_time,
                supports_sharding: false,
                supports_without_replica_labels: true,
                tsdb_infos: Vec::new(),
                supports_projections: false,
            }),
            query: Some(infopb::QueryApiInfo {}),
            ..Default::default()
        }
    }
}

fn invalid(error: storeapi::Error) -> Status {
    Status::invalid_argument(error.to_string())
}

#[tonic::async_trait]
impl Store for ProxyStore {
    async fn info(&self, _request: Request<pb::InfoRequest>) -> Result<Response<pb::InfoResponse>, Status> {
        Ok(Response::new(storeapi::grpc::legacy_info_response(&self.info_response())))
    }

    type SeriesStream = Pin<Box<dyn Stream<Item = Result<pb::SeriesResponse, Status>> + Send>>;

    async fn series(
        &self,
        request: Request<pb::SeriesRequest>,
    ) -> Result<Response<Self::SeriesStream>, Status> {
        let request = request.into_inner();
        let matchers = from_pb_all(&request.matchers).map_err(invalid)?;
        let mut fanout = self
            .fanout(request.partial_response_strategy, request.partial_response_disabled)
            .with_max_source_resolution(request.max_resolution_window);
        if !request.aggregates.is_empty() {
            // Forward what the client asked for: it knows the function around its selector.
            fanout = fanout.with_aggregates(request.aggregates.clone());
        }
        let mut series = fanout
            .series(&matchers, request.min_time, request.max_time, request.skip_chunks, request.query_hints)
            .await
            .map_err(|e| Status::aborted(e.to_string()))?;
        if !request.without_replica_labels.is_empty() {
            series = storeapi::merge::without_replica_labels(series, &request.without_replica_labels);
        }
        let mut frames: Vec<Result<pb::SeriesResponse, Status>> = fanout
            .take_warnings()
            .into_iter()
            .map(|w| Ok(pb::SeriesResponse { result: Some(series_response::Result::Warning(w)) }))
            .collect();
        frames.extend(
            series
                .into_iter()
                .map(|s| Ok(pb::SeriesResponse { result: Some(series_response::Result::Series(s)) })),
        );
        Ok(Response::new(Box::pin(futures::stream::iter(frames))))
    }

    async fn label_names(
        &self,
        request: Request<pb::LabelNamesRequest>,
    ) -> Result<Response<pb::LabelNamesResponse>, Status> {
        let request = request.into_inner();
        let matchers = from_pb_all(&request.matchers).map_err(invalid)?;
        let fanout = self.fanout(request.partial_response_strategy, request.partial_response_disabled);
        let names = fanout
            .label_names(&matchers, request.start, request.end)
            .await
            .map_err(|e| Status::aborted(e.to_string()))?;
        Ok(Response::new(pb::LabelNamesResponse { names, warnings: fanout.take_warnings(), hints: None }))
    }

    async fn label_values(
        &self,
        request: Request<pb::LabelValuesRequest>,
    ) -> Result<Response<pb::LabelValuesResponse>, Status> {
        let request = request.into_inner();
        let matchers = from_pb_all(&request.matchers).map_err(invalid)?;
        let fanout = self.fanout(request.partial_response_strategy, request.partial_response_disabled);
        let values = fanout
            .label_values(&request.label, &matchers, request.start, request.end)
            .await
            .map_err(|e| Status::aborted(e.to_string()))?;
        Ok(Response::new(pb::LabelValuesResponse { values, warnings: fanout.take_warnings(), hints: None }))
    }
}

#[tonic::async_trait]
impl Info for ProxyStore {
    async fn info(
        &self,
        _request: Request<infopb::InfoRequest>,
    ) -> Result<Response<infopb::InfoResponse>, Status> {
        Ok(Response::new(self.info_response()))
    }
}
