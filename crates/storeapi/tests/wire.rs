//! Wire format: every message survives encode → decode, and small requests and responses
//! encode to bytes derived by hand from the field numbers of the fact sheet.

use std::fmt::Debug;

use bytes::Bytes;
use prost::Message;
use prost_types::{Any, Duration};
use storeapi::pb::hintspb as hints;
use storeapi::pb::prometheus as prom;
use storeapi::pb::thanos::info;
use storeapi::pb::thanos::{self as pb, series_response::Result as Frame};

/// Encodes, decodes and compares; a populated message must not encode to nothing.
fn round_trip<M: Message + Default + PartialEq + Debug>(message: &M) {
    let bytes = message.encode_to_vec();
    assert_eq!(bytes.len(), message.encoded_len());
    let decoded = M::decode(bytes.as_slice()).expect("decodes");
    assert_eq!(&decoded, message);
    if *message != M::default() {
        assert!(!bytes.is_empty(), "{message:?} encoded to nothing");
    }
}

fn label(name: &str, value: &str) -> pb::Label {
    pb::Label { name: name.into(), value: value.into() }
}

fn matcher() -> pb::LabelMatcher {
    pb::LabelMatcher { r#type: pb::label_matcher::Type::Nre as i32, name: "job".into(), value: "a|b".into() }
}

fn chunk(t: pb::chunk::Encoding) -> pb::Chunk {
    pb::Chunk { r#type: t as i32, data: Bytes::from_static(b"\x01\x02\x03"), hash: u64::MAX }
}

fn aggr_chunk() -> pb::AggrChunk {
    pb::AggrChunk {
        min_time: -5,
        max_time: i64::MAX,
        raw: Some(chunk(pb::chunk::Encoding::Xor)),
        count: Some(chunk(pb::chunk::Encoding::Xor)),
        sum: Some(chunk(pb::chunk::Encoding::Histogram)),
        min: Some(chunk(pb::chunk::Encoding::FloatHistogram)),
        max: Some(chunk(pb::chunk::Encoding::Xor)),
        counter: Some(chunk(pb::chunk::Encoding::Xor)),
    }
}

fn series() -> pb::Series {
    pb::Series {
        labels: vec![label("__name__", "up"), label("job", "node")],
        chunks: vec![aggr_chunk(), aggr_chunk()],
    }
}

fn any() -> Any {
    Any {
        type_url: "type.googleapis.com/hintspb.SeriesResponseHints".into(),
        value: vec![0x0a, 0x04, 0x0a, 0x02, b'i', b'd'],
    }
}

fn prom_label(name: &str, value: &str) -> prom::Label {
    prom::Label { name: name.into(), value: value.into() }
}

fn histogram() -> prom::Histogram {
    prom::Histogram {
        count: Some(prom::histogram::Count::CountInt(7)),
        sum: 12.5,
        schema: -3,
        zero_threshold: 1e-128,
        zero_count: Some(prom::histogram::ZeroCount::ZeroCountFloat(0.5)),
        negative_spans: vec![prom::BucketSpan { offset: -2, length: 3 }],
        negative_deltas: vec![1, -1, 2],
        negative_counts: vec![],
        positive_spans: vec![prom::BucketSpan { offset: 0, length: 1 }],
        positive_deltas: vec![],
        positive_counts: vec![4.0],
        reset_hint: prom::histogram::ResetHint::Gauge as i32,
        timestamp: 1_700_000_000_000,
        custom_values: vec![0.1, 1.0],
    }
}

fn time_series() -> prom::TimeSeries {
    prom::TimeSeries {
        labels: vec![prom_label("__name__", "up")],
        samples: vec![
            prom::Sample { value: f64::INFINITY, timestamp: -1 },
            prom::Sample { value: 1.5, timestamp: 2 },
        ],
        exemplars: vec![prom::Exemplar {
            labels: vec![prom_label("trace_id", "abc")],
            value: 3.0,
            timestamp: 4,
        }],
        histograms: vec![histogram()],
    }
}

#[test]
fn thanos_messages_round_trip() {
    round_trip(&label("a", "b"));
    round_trip(&pb::LabelSet { labels: vec![label("a", "b")] });
    round_trip(&pb::ZLabelSet { labels: vec![label("a", "b"), label("c", "")] });
    round_trip(&pb::SymTableLabel { name_ref: 1, value_ref: u32::MAX });
    round_trip(&pb::SymbolTable { offsets: vec![0, 5, 9], table: Bytes::from_static(b"abc") });
    round_trip(&chunk(pb::chunk::Encoding::Histogram));
    round_trip(&aggr_chunk());
    round_trip(&series());
    round_trip(&pb::SeriesBatch { series: vec![series(), pb::Series::default()] });
    round_trip(&matcher());
    round_trip(&pb::InfoRequest {});
    round_trip(&pb::InfoResponse {
        labels: vec![label("a", "b")],
        min_time: i64::MIN,
        max_time: i64::MAX,
        store_type: pb::StoreType::Debug as i32,
        label_sets: vec![pb::LabelSet { labels: vec![label("a", "b")] }],
    });
    round_trip(&pb::WriteResponse {});
    round_trip(&pb::WriteRequest {
        timeseries: vec![time_series()],
        tenant: "t".into(),
        replica: 2,
        timeseries_tenant_data: vec![pb::TimeSeriesTenantTuple {
            timeseries: vec![time_series()],
            tenant: "u".into(),
        }],
    });
    round_trip(&pb::SeriesRequest {
        min_time: 1,
        max_time: 2,
        matchers: vec![matcher(), matcher()],
        max_resolution_window: 300_000,
        aggregates: vec![pb::Aggr::Count as i32, pb::Aggr::Sum as i32, pb::Aggr::Counter as i32],
        partial_response_disabled: true,
        partial_response_strategy: pb::PartialResponseStrategy::Abort as i32,
        skip_chunks: true,
        hints: Some(any()),
        step: 15,
        range: 60,
        query_hints: Some(pb::QueryHints {
            step_millis: 15_000,
            func: Some(pb::Func { name: "rate".into() }),
            grouping: Some(pb::Grouping { by: true, labels: vec!["job".into()] }),
            range: Some(pb::Range { millis: 300_000 }),
            projection_labels: vec!["a".into()],
            projection_include: true,
            series_hash_label_name: "__series_hash__".into(),
        }),
        shard_info: Some(pb::ShardInfo {
            shard_index: 1,
            total_shards: 3,
            by: true,
            labels: vec!["job".into()],
        }),
        without_replica_labels: vec!["replica".into()],
        limit: 100,
        response_batch_size: 64,
    });
    for result in [
        Frame::Series(series()),
        Frame::Series(pb::Series::default()),
        Frame::Warning("partial".into()),
        Frame::Warning(String::new()),
        Frame::Hints(any()),
        Frame::Batch(pb::SeriesBatch { series: vec![series()] }),
    ] {
        round_trip(&pb::SeriesResponse { result: Some(result) });
    }
    round_trip(&pb::LabelNamesRequest {
        partial_response_disabled: true,
        partial_response_strategy: 1,
        start: 1,
        end: 2,
        hints: Some(any()),
        matchers: vec![matcher()],
        without_replica_labels: vec!["r".into()],
        limit: 5,
    });
    round_trip(&pb::LabelNamesResponse {
        names: vec!["a".into()],
        warnings: vec!["w".into()],
        hints: Some(any()),
    });
    round_trip(&pb::LabelValuesRequest {
        label: "job".into(),
        partial_response_disabled: true,
        partial_response_strategy: 1,
        start: 1,
        end: 2,
        hints: Some(any()),
        matchers: vec![matcher()],
        without_replica_labels: vec!["r".into()],
        limit: 5,
    });
    round_trip(&pb::LabelValuesResponse {
        values: vec!["a".into()],
        warnings: vec!["w".into()],
        hints: Some(any()),
    });
}

#[test]
fn info_messages_round_trip() {
    let zset = pb::ZLabelSet { labels: vec![label("cluster", "eu")] };
    round_trip(&info::InfoRequest {});
    round_trip(&info::StoreInfo {
        min_time: 1,
        max_time: i64::MAX,
        supports_sharding: true,
        supports_without_replica_labels: true,
        tsdb_infos: vec![info::TsdbInfo { labels: Some(zset.clone()), min_time: 3, max_time: 4 }],
        supports_projections: true,
    });
    round_trip(&info::ExemplarsInfo { min_time: 1, max_time: 2 });
    round_trip(&info::TsdbInfo { labels: Some(pb::ZLabelSet::default()), min_time: 0, max_time: 0 });
    round_trip(&info::InfoResponse {
        label_sets: vec![zset.clone(), pb::ZLabelSet::default()],
        component_type: "store".into(),
        store: Some(info::StoreInfo { min_time: 1, ..Default::default() }),
        rules: Some(info::RulesInfo {}),
        metric_metadata: Some(info::MetricMetadataInfo {}),
        targets: Some(info::TargetsInfo {}),
        exemplars: Some(info::ExemplarsInfo { min_time: 1, max_time: 2 }),
        query: Some(info::QueryApiInfo {}),
        status: Some(info::StatusInfo {}),
    });
    // An empty sub-message still marks the API as served.
    let only_rules = info::InfoResponse { rules: Some(info::RulesInfo {}), ..Default::default() };
    assert_eq!(only_rules.encode_to_vec(), [0x22, 0x00]);
    round_trip(&only_rules);
}

#[test]
fn hints_messages_round_trip() {
    let block = hints::Block { id: "01ARZ3NDEKTSV4RRFFQ69G5FAV".into() };
    round_trip(&hints::SeriesRequestHints { block_matchers: vec![matcher()], enable_query_stats: true });
    round_trip(&hints::SeriesResponseHints {
        queried_blocks: vec![block.clone()],
        query_stats: Some(hints::QueryStats {
            blocks_queried: 1,
            merged_series_count: 2,
            merged_chunks_count: 3,
            postings_touched: 4,
            postings_touched_size_sum: 5,
            postings_to_fetch: 6,
            postings_fetched: 7,
            postings_fetched_size_sum: 8,
            postings_fetch_count: 9,
            series_touched: 10,
            series_touched_size_sum: 11,
            series_fetched: 12,
            series_fetched_size_sum: 13,
            series_fetch_count: 14,
            chunks_touched: 15,
            chunks_touched_size_sum: 16,
            chunks_fetched: 17,
            chunks_fetched_size_sum: 18,
            chunks_fetch_count: 19,
            data_downloaded_size_sum: 20,
            get_all_duration: Some(Duration { seconds: 1, nanos: 500 }),
            merge_duration: Some(Duration { seconds: 0, nanos: 1 }),
        }),
    });
    round_trip(&block);
    round_trip(&hints::LabelNamesRequestHints { block_matchers: vec![matcher()] });
    round_trip(&hints::LabelNamesResponseHints { queried_blocks: vec![block.clone()] });
    round_trip(&hints::LabelValuesRequestHints { block_matchers: vec![matcher()] });
    round_trip(&hints::LabelValuesResponseHints { queried_blocks: vec![block] });
}

#[test]
fn prometheus_messages_round_trip() {
    let query = prom::Query {
        start_timestamp_ms: 1,
        end_timestamp_ms: 2,
        matchers: vec![prom::LabelMatcher {
            r#type: prom::label_matcher::Type::Re as i32,
            name: "a".into(),
            value: ".*".into(),
        }],
        hints: Some(prom::ReadHints {
            step_ms: 1,
            func: "rate".into(),
            start_ms: 2,
            end_ms: 3,
            grouping: vec!["job".into()],
            by: true,
            range_ms: 4,
        }),
    };
    let chunked_series = prom::ChunkedSeries {
        labels: vec![prom_label("__name__", "up")],
        chunks: vec![prom::Chunk {
            min_time_ms: 1,
            max_time_ms: 2,
            r#type: prom::chunk::Encoding::FloatHistogramSt as i32,
            data: Bytes::from_static(b"\x00"),
        }],
    };
    round_trip(&prom::MetricMetadata {
        r#type: prom::metric_metadata::MetricType::Stateset as i32,
        metric_family_name: "f".into(),
        help: "h".into(),
        unit: "u".into(),
    });
    round_trip(&prom::Sample { value: -0.0, timestamp: 1 });
    round_trip(&histogram());
    round_trip(&prom::Histogram {
        count: Some(prom::histogram::Count::CountFloat(1.5)),
        zero_count: Some(prom::histogram::ZeroCount::ZeroCountInt(2)),
        ..histogram()
    });
    round_trip(&time_series());
    round_trip(&prom::Labels { labels: vec![prom_label("a", "b")] });
    round_trip(&query);
    round_trip(&chunked_series);
    round_trip(&prom::WriteRequest {
        timeseries: vec![time_series()],
        metadata: vec![prom::MetricMetadata::default()],
    });
    round_trip(&prom::ReadRequest {
        queries: vec![query.clone(), query],
        accepted_response_types: vec![
            prom::read_request::ResponseType::StreamedXorChunks as i32,
            prom::read_request::ResponseType::Samples as i32,
        ],
    });
    round_trip(&prom::ReadResponse { results: vec![prom::QueryResult { timeseries: vec![time_series()] }] });
    round_trip(&prom::ChunkedReadResponse { chunked_series: vec![chunked_series], query_index: 3 });
}

#[test]
fn golden_series_request() {
    let request = pb::SeriesRequest {
        min_time: 1,
        max_time: 300,
        matchers: vec![
            pb::LabelMatcher {
                r#type: pb::label_matcher::Type::Eq as i32,
                name: "__name__".into(),
                value: "up".into(),
            },
            pb::LabelMatcher {
                r#type: pb::label_matcher::Type::Re as i32,
                name: "job".into(),
                value: "n.*".into(),
            },
        ],
        partial_response_strategy: pb::PartialResponseStrategy::Abort as i32,
        skip_chunks: true,
        without_replica_labels: vec!["replica".into()],
        ..Default::default()
    };
    // key byte = field_number << 3 | wire_type (0 varint, 2 length-delimited); proto3 omits zero values.
    #[rustfmt::skip]
    let want: Vec<u8> = [
        &[0x08, 0x01][..],              // 1 min_time = 1
        &[0x10, 0xAC, 0x02],            // 2 max_time = 300 = 0b10_0101100 → 0xAC 0x02
        &[0x1A, 0x0E],                  // 3 matchers[0], 14 bytes:
        &[0x12, 0x08], b"__name__",     //   2 name (type EQ = 0 is omitted)
        &[0x1A, 0x02], b"up",           //   3 value
        &[0x1A, 0x0C],                  // 3 matchers[1], 12 bytes:
        &[0x08, 0x02],                  //   1 type = RE (2)
        &[0x12, 0x03], b"job",          //   2 name
        &[0x1A, 0x03], b"n.*",          //   3 value
        &[0x38, 0x01],                  // 7 partial_response_strategy = ABORT (1)
        &[0x40, 0x01],                  // 8 skip_chunks = true
        &[0x72, 0x07], b"replica",      // 14 without_replica_labels[0]: 14 << 3 | 2 = 0x72
    ]
    .concat();
    assert_eq!(request.encode_to_vec(), want);
    assert_eq!(pb::SeriesRequest::decode(want.as_slice()).expect("decodes"), request);
}

#[test]
fn golden_series_responses() {
    let series = pb::Series {
        labels: vec![label("a", "b")],
        chunks: vec![pb::AggrChunk {
            min_time: 1,
            max_time: 2,
            raw: Some(pb::Chunk {
                r#type: pb::chunk::Encoding::Histogram as i32,
                data: Bytes::from_static(&[0xAA]),
                hash: 42,
            }),
            ..Default::default()
        }],
    };
    #[rustfmt::skip]
    let want: Vec<u8> = [
        &[0x0A, 0x17][..],              // SeriesResponse 1 series, 23 bytes:
        &[0x0A, 0x06],                  //   Series 1 labels[0], 6 bytes:
        &[0x0A, 0x01], b"a",            //     Label 1 name
        &[0x12, 0x01], b"b",            //     Label 2 value
        &[0x12, 0x0D],                  //   Series 2 chunks[0], 13 bytes:
        &[0x08, 0x01],                  //     AggrChunk 1 min_time = 1
        &[0x10, 0x02],                  //     AggrChunk 2 max_time = 2
        &[0x1A, 0x07],                  //     AggrChunk 3 raw, 7 bytes:
        &[0x08, 0x01],                  //       Chunk 1 type = HISTOGRAM (1)
        &[0x12, 0x01, 0xAA],            //       Chunk 2 data
        &[0x18, 0x2A],                  //       Chunk 3 hash = 42
    ]
    .concat();
    let response = pb::SeriesResponse { result: Some(Frame::Series(series.clone())) };
    assert_eq!(response.encode_to_vec(), want);
    assert_eq!(pb::SeriesResponse::decode(want.as_slice()).expect("decodes"), response);

    // A oneof member is written even when empty.
    let empty = pb::SeriesResponse { result: Some(Frame::Series(pb::Series::default())) };
    assert_eq!(empty.encode_to_vec(), [0x0A, 0x00]);
    let warning = pb::SeriesResponse { result: Some(Frame::Warning("w".into())) };
    assert_eq!(warning.encode_to_vec(), [0x12, 0x01, b'w']);
    // 4 batch (4 << 3 | 2 = 0x22), 10 bytes: SeriesBatch 1 series[0], 8 bytes: Series 1 labels[0], 6 bytes.
    let batch = pb::SeriesResponse {
        result: Some(Frame::Batch(pb::SeriesBatch {
            series: vec![pb::Series { labels: vec![label("a", "b")], chunks: vec![] }],
        })),
    };
    assert_eq!(
        batch.encode_to_vec(),
        [0x22, 0x0A, 0x0A, 0x08, 0x0A, 0x06, 0x0A, 0x01, b'a', 0x12, 0x01, b'b']
    );
}

#[test]
fn gogo_style_empty_submessages_decode() {
    // Thanos' gogo code always writes non-nullable singular fields, e.g. an empty
    // TSDBInfo.labels (1, length 0); prost reads it as present and empty.
    let gogo = [0x0A, 0x00, 0x10, 0x05];
    let decoded = info::TsdbInfo::decode(&gogo[..]).expect("decodes");
    assert_eq!(decoded, info::TsdbInfo { labels: Some(pb::ZLabelSet::default()), min_time: 5, max_time: 0 });
}
