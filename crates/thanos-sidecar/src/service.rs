//! The gRPC face of the sidecar: `thanos.Store` (with the deprecated `Store/Info`) and
//! `thanos.info.Info`, over a [`PrometheusStore`].

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use runtime::Readiness;
use storeapi::grpc::component;
use storeapi::labels;
use storeapi::merge::SeriesStream;
use storeapi::pb::thanos::info::info_server::Info;
use storeapi::pb::thanos::info::{self as infopb, StoreInfo, TsdbInfo};
use storeapi::pb::thanos::store_server::Store;
use storeapi::pb::thanos::{self as pb, series_response};
use tonic::{Request, Response, Status};

use crate::metadata::PromMetadata;
use crate::store::PrometheusStore;

/// Serves the StoreAPI and Info API of one Prometheus.
#[derive(Debug)]
pub(crate) struct SidecarService {
    store: PrometheusStore,
    metadata: Arc<PromMetadata>,
    readiness: Readiness,
}

type SeriesFrames = Pin<Box<dyn Stream<Item = Result<pb::SeriesResponse, Status>> + Send>>;

impl SidecarService {
    /// A service answering from `store` once `metadata` is loaded; Info also needs `readiness`.
    pub(crate) fn new(store: PrometheusStore, metadata: Arc<PromMetadata>, readiness: Readiness) -> Self {
        Self { store, metadata, readiness }
    }

    /// Queries need the external labels: before they are loaded nothing can be labelled.
    fn check_loaded(&self) -> Result<(), Status> {
        if self.metadata.is_loaded() {
            Ok(())
        } else {
            Err(Status::unavailable("sidecar is not ready: Prometheus has not been reached yet"))
        }
    }

    fn info_response(&self) -> Result<infopb::InfoResponse, Status> {
        if !self.readiness.is_ready() {
            return Err(Status::unavailable("Not ready"));
        }
        let external = self.metadata.labels();
        let (min_time, max_time) = self.metadata.timestamps();
        let label_sets =
            if external.is_empty() { Vec::new() } else { vec![labels::to_zlabel_set(&external)] };
        let tsdb_infos =
            label_sets.iter().map(|set| TsdbInfo { labels: Some(set.clone()), min_time, max_time }).collect();
        Ok(infopb::InfoResponse {
            label_sets,
            component_type: component::SIDECAR.to_owned(),
            store: Some(StoreInfo {
                min_time,
                max_time,
                supports_sharding: true,
                supports_without_replica_labels: true,
                tsdb_infos,
                supports_projections: false,
            }),
            ..Default::default()
        })
    }
}

/// The series as response frames: one `Series` each, or `SeriesBatch`es of `batch_size`.
fn frames(series: SeriesStream, batch_size: i64) -> SeriesFrames {
    let frame = |result| pb::SeriesResponse { result: Some(result) };
    match usize::try_from(batch_size) {
        Ok(size) if size > 1 => Box::pin(series.chunks(size).map(move |items| {
            let batch = items.into_iter().collect::<Result<Vec<pb::Series>, Status>>()?;
            Ok(frame(series_response::Result::Batch(pb::SeriesBatch { series: batch })))
        })),
        _ => Box::pin(series.map(move |s| Ok(frame(series_response::Result::Series(s?))))),
    }
}

#[tonic::async_trait]
impl Store for SidecarService {
    async fn info(&self, _request: Request<pb::InfoRequest>) -> Result<Response<pb::InfoResponse>, Status> {
        Ok(Response::new(storeapi::grpc::legacy_info_response(&self.info_response()?)))
    }

    type SeriesStream = SeriesFrames;

    async fn series(
        &self,
        request: Request<pb::SeriesRequest>,
    ) -> Result<Response<Self::SeriesStream>, Status> {
        self.check_loaded()?;
        let request = request.into_inner();
        let batch_size = request.response_batch_size;
        let series = self.store.series(request).await?;
        Ok(Response::new(frames(series, batch_size)))
    }

    async fn label_names(
        &self,
        request: Request<pb::LabelNamesRequest>,
    ) -> Result<Response<pb::LabelNamesResponse>, Status> {
        self.check_loaded()?;
        let names = self.store.label_names(request.get_ref()).await?;
        Ok(Response::new(pb::LabelNamesResponse { names, ..Default::default() }))
    }

    async fn label_values(
        &self,
        request: Request<pb::LabelValuesRequest>,
    ) -> Result<Response<pb::LabelValuesResponse>, Status> {
        self.check_loaded()?;
        let values = self.store.label_values(request.get_ref()).await?;
        Ok(Response::new(pb::LabelValuesResponse { values, ..Default::default() }))
    }
}

#[tonic::async_trait]
impl Info for SidecarService {
    async fn info(
        &self,
        _request: Request<infopb::InfoRequest>,
    ) -> Result<Response<infopb::InfoResponse>, Status> {
        Ok(Response::new(self.info_response()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storeapi::labels::pb_from_pairs;

    fn named(n: usize) -> pb::Series {
        pb::Series { labels: pb_from_pairs([("i", n.to_string())]), chunks: Vec::new() }
    }

    #[tokio::test]
    async fn batches_when_asked() {
        let input = |n: usize| -> SeriesStream { Box::pin(futures::stream::iter((0..n).map(named).map(Ok))) };
        let single: Vec<_> = frames(input(5), 0).collect().await;
        assert_eq!(single.len(), 5);
        let batched: Vec<_> = frames(input(5), 2).collect().await;
        let sizes: Vec<usize> = batched
            .iter()
            .map(|f| match f.as_ref().expect("ok").result.as_ref() {
                Some(series_response::Result::Batch(b)) => b.series.len(),
                other => panic!("not a batch: {other:?}"),
            })
            .collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert!(frames(input(0), 10).collect::<Vec<_>>().await.is_empty());
    }
}
