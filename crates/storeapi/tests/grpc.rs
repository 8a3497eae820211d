//! The StoreAPI over real gRPC: an in-process tonic server on 127.0.0.1 (random port) with a
//! trivial in-memory store, called by our tonic clients.

mod common;

use bytes::Bytes;
use common::{MemoryStore, l, name_matcher, start};
use futures::TryStreamExt;
use storeapi::chunk::{hash, raw_aggr_chunk};
use storeapi::grpc::{connect, info_client, store_client};
use storeapi::merge::{SeriesStream, merge_series};
use storeapi::pb::thanos::info::InfoRequest;
use storeapi::pb::thanos::series_response::Result as Frame;
use storeapi::pb::thanos::store_client::StoreClient;
use storeapi::pb::thanos::{
    self as pb, LabelNamesRequest, LabelValuesRequest, Series, SeriesRequest, SeriesResponse, StoreType,
};
use tonic::Code;
use tonic::codec::Streaming;
use tsdb_format::chunkenc::Encoding;

fn series_request(pattern: &str) -> SeriesRequest {
    SeriesRequest {
        min_time: 0,
        max_time: i64::MAX,
        matchers: vec![name_matcher(pattern)],
        ..Default::default()
    }
}

/// Every series of a Series response stream, single or batched frames.
async fn collect_series(stream: Streaming<SeriesResponse>) -> Result<Vec<Series>, tonic::Status> {
    let frames: Vec<SeriesResponse> = stream.try_collect().await?;
    let mut out = Vec::new();
    for frame in frames {
        match frame.result {
            Some(Frame::Series(series)) => out.push(series),
            Some(Frame::Batch(batch)) => out.extend(batch.series),
            Some(Frame::Warning(_) | Frame::Hints(_)) | None => {}
        }
    }
    Ok(out)
}

#[tokio::test]
async fn series_streams_sorted_series_with_external_labels() {
    let server = start(MemoryStore::sample()).await;
    let mut client = store_client(connect(&server.address.to_string()).await.expect("connect"));

    let stream = client.series(series_request(".+")).await.expect("series").into_inner();
    let series = collect_series(stream).await.expect("stream");
    let names: Vec<&str> = series.iter().map(|s| s.labels[0].value.as_str()).collect();
    assert_eq!(names, ["http_requests_total", "up", "up"]);
    assert_eq!(
        series[1].labels,
        vec![l("__name__", "up"), l("cluster", "eu"), l("job", "node"), l("replica", "r0")],
        "external labels added, labels sorted"
    );
    let raw = series[1].chunks[0].raw.as_ref().expect("raw chunk");
    assert_eq!(raw.data.as_ref(), b"\x00\x01\x02");
    assert_eq!(raw.hash, hash(b"\x00\x01\x02"));
    assert_eq!(raw.r#type, pb::chunk::Encoding::Xor as i32);

    // Time range, skip_chunks, batches and without_replica_labels.
    let mut request = series_request("up");
    request.min_time = 12;
    request.max_time = 15;
    let series =
        collect_series(client.series(request).await.expect("series").into_inner()).await.expect("stream");
    assert!(series.iter().all(|s| s.chunks.len() == 1 && s.chunks[0].min_time == 10));

    let mut request = series_request(".+");
    request.skip_chunks = true;
    request.response_batch_size = 2;
    request.without_replica_labels = vec!["replica".into()];
    let frames: Vec<SeriesResponse> =
        client.series(request).await.expect("series").into_inner().try_collect().await.expect("ok");
    assert_eq!(frames.len(), 2, "3 series in batches of 2");
    assert!(matches!(frames[0].result, Some(Frame::Batch(ref b)) if b.series.len() == 2));
    let series = frames.into_iter().flat_map(|f| match f.result {
        Some(Frame::Batch(b)) => b.series,
        _ => vec![],
    });
    for s in series {
        assert!(s.chunks.is_empty());
        assert!(s.labels.iter().all(|l| l.name != "replica"));
    }
}

#[tokio::test]
async fn series_errors_carry_grpc_codes() {
    let server = start(MemoryStore::sample()).await;
    let mut client = store_client(connect(&server.address.to_string()).await.expect("connect"));
    let bad_regex = client.series(series_request("(")).await.expect_err("bad regex");
    assert_eq!(bad_regex.code(), Code::InvalidArgument, "{bad_regex}");
    let mut limited = series_request(".+");
    limited.limit = 1;
    let over_limit = client.series(limited).await.expect_err("limit");
    assert_eq!(over_limit.code(), Code::ResourceExhausted, "{over_limit}");
    let no_matchers = client.series(SeriesRequest::default()).await.expect_err("no matchers");
    assert_eq!(no_matchers.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn label_names_and_values() {
    let server = start(MemoryStore::sample()).await;
    let mut client = store_client(connect(&server.address.to_string()).await.expect("connect"));
    let names = client
        .label_names(LabelNamesRequest {
            start: 0,
            end: i64::MAX,
            matchers: vec![name_matcher("up")],
            ..Default::default()
        })
        .await
        .expect("label names")
        .into_inner();
    assert_eq!(names.names, ["__name__", "cluster", "job", "replica"]);
    let values = client
        .label_values(LabelValuesRequest {
            label: "job".into(),
            start: 0,
            end: i64::MAX,
            matchers: vec![name_matcher(".+")],
            ..Default::default()
        })
        .await
        .expect("label values")
        .into_inner();
    assert_eq!(values.values, ["node", "prom"]);
    assert_eq!(values.warnings, ["a warning"]);
}

#[tokio::test]
async fn both_info_rpcs() {
    let server = start(MemoryStore::sample()).await;
    let channel = connect(&server.address.to_string()).await.expect("connect");
    let info = info_client(channel.clone()).info(InfoRequest {}).await.expect("info").into_inner();
    assert_eq!(info.component_type, "sidecar");
    assert_eq!(info.label_sets.len(), 1);
    assert_eq!(info.label_sets[0].labels, vec![l("cluster", "eu"), l("replica", "r0")]);
    let store = info.store.expect("serves the StoreAPI");
    assert_eq!((store.min_time, store.max_time), (0, i64::MAX));
    assert!(store.supports_sharding && store.supports_without_replica_labels);
    assert_eq!(store.tsdb_infos.len(), 1);
    assert!(info.rules.is_none() && info.query.is_none(), "APIs not served are absent");

    let legacy = store_client(channel).info(pb::InfoRequest {}).await.expect("Store/Info").into_inner();
    assert_eq!(legacy.store_type, StoreType::Sidecar as i32);
    assert_eq!(legacy.labels, vec![l("cluster", "eu"), l("replica", "r0")]);
    assert_eq!(legacy.label_sets.len(), 1);
    assert_eq!((legacy.min_time, legacy.max_time), (0, i64::MAX));
}

#[tokio::test]
async fn messages_over_4_mib_pass_both_ways() {
    // tonic's default limit is 4 MiB; Thanos (and we) allow i32::MAX.
    let big = Bytes::from(vec![0xAB_u8; 6 << 20]);
    let mut store = MemoryStore::sample();
    store.series[0].chunks = vec![raw_aggr_chunk(0, 9, Encoding::Xor, big.clone()).expect("xor")];
    let server = start(store).await;
    let channel = connect(&server.address.to_string()).await.expect("connect");
    // A client with tonic's default limits cannot take the answer: the limit matters.
    let mut default_client = StoreClient::new(channel.clone());
    let too_big = match default_client.series(series_request("up")).await {
        Ok(response) => collect_series(response.into_inner()).await.expect_err("over 4 MiB"),
        Err(status) => status,
    };
    assert_eq!(too_big.code(), Code::OutOfRange, "{too_big}");

    let mut client = store_client(channel);
    let mut request = series_request("up");
    // A 5 MiB matcher makes the request large too.
    request.matchers.push(pb::LabelMatcher { r#type: 1, name: "padding".into(), value: "x".repeat(5 << 20) });
    let series =
        collect_series(client.series(request).await.expect("series").into_inner()).await.expect("stream");
    let raw = series[0].chunks[0].raw.as_ref().expect("raw");
    assert_eq!(raw.data.len(), big.len());
}

#[tokio::test]
async fn merging_two_stores_over_grpc() {
    let first = start(MemoryStore::sample()).await;
    let mut replica = MemoryStore::sample();
    replica.external_labels = vec![l("cluster", "eu"), l("replica", "r1")];
    let second = start(replica).await;
    let mut inputs: Vec<SeriesStream> = Vec::new();
    for server in [&first, &second] {
        let mut client = store_client(connect(&server.address.to_string()).await.expect("connect"));
        let mut request = series_request(".+");
        request.without_replica_labels = vec!["replica".into()];
        let frames = client.series(request).await.expect("series").into_inner();
        let series = frames.try_filter_map(|frame| async move {
            Ok(match frame.result {
                Some(Frame::Series(series)) => Some(series),
                _ => None,
            })
        });
        inputs.push(Box::pin(series));
    }
    let merged: Vec<Series> = merge_series(inputs).try_collect().await.expect("merge");
    assert_eq!(merged.len(), 3, "replicas joined once replica labels are gone");
    assert!(merged.iter().all(|s| s.chunks.len() == 2), "identical chunks of both replicas deduplicated");
}
