//! The real `thanos-store` over promtool blocks in a filesystem bucket and in s3s-fs: Series
//! answers equal `promtool tsdb dump`, label answers equal Prometheus 2.42's HTTP API.

#![allow(clippy::unwrap_used, reason = "test code: a panic with its message is the failure report")]

mod support;

use std::time::Duration;

use storeapi::pb::thanos as pb;
use support::*;

const EQ: i32 = 0;
const NEQ: i32 = 1;
const RE: i32 = 2;
const NRE: i32 = 3;

/// StoreAPI matchers as (type, name, value).
type Matchers = &'static [(i32, &'static str, &'static str)];

/// A selector in PromQL (for promtool) and in StoreAPI form.
struct Case {
    selector: &'static str,
    matchers: Matchers,
}

const CASES: &[Case] = &[
    Case {
        selector: r#"{__name__="demo_requests_total"}"#,
        matchers: &[(EQ, "__name__", "demo_requests_total")],
    },
    Case {
        selector: r#"{__name__="demo_temperature",instance!="host-1"}"#,
        matchers: &[(EQ, "__name__", "demo_temperature"), (NEQ, "instance", "host-1")],
    },
    Case { selector: r#"{instance=~"host-[12]"}"#, matchers: &[(RE, "instance", "host-[12]")] },
    Case {
        selector: r#"{__name__=~"demo_.*",sensor!~"s1.*"}"#,
        matchers: &[(RE, "__name__", "demo_.*"), (NRE, "sensor", "s1.*")],
    },
    Case {
        selector: r#"{path="",instance="host-3"}"#,
        matchers: &[(EQ, "path", ""), (EQ, "instance", "host-3")],
    },
    Case {
        selector: r#"{job="demo",path=~"/p1.*",instance!~"host-1|host-2"}"#,
        matchers: &[(EQ, "job", "demo"), (RE, "path", "/p1.*"), (NRE, "instance", "host-1|host-2")],
    },
    Case {
        selector: r#"{cluster="a",sensor="s7"}"#,
        matchers: &[(EQ, "cluster", "a"), (EQ, "sensor", "s7")],
    },
];

/// Time ranges: everything, and partial ranges cutting blocks and chunks.
fn ranges() -> Vec<(i64, i64)> {
    let metas = &fixture().metas;
    let (first, last) = (metas[0].min_time, metas[metas.len() - 1].max_time);
    vec![
        (first, last),
        (first + 3_600_000 + 12_345, first + 5 * 3_600_000 + 1),
        (last - 1_000_000, last + 10),
    ]
}

async fn check_series_against_promtool(store: &StoreProcess) {
    let mut client = store.client().await;
    for case in CASES {
        for (mint, maxt) in ranges() {
            let result = series(&mut client, request(case.matchers, mint, maxt)).await.unwrap();
            let ours = decode(&result, mint, maxt);
            // promtool does not know the external label: drop its matcher there.
            let selector = case.selector.replace(r#"cluster="a","#, "");
            let want = promtool_dump(&selector, mint, maxt);
            assert!(!want.is_empty(), "{} [{mint}, {maxt}] selects nothing in promtool", case.selector);
            assert_eq!(ours.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{}", case.selector);
            assert_eq!(ours, want, "{} [{mint}, {maxt}]", case.selector);
            assert!(!result.queried_blocks.is_empty(), "queried blocks hint");
        }
    }
    // An external label that does not match selects nothing; one that matches alone selects all.
    let none = series(&mut client, request(&[(EQ, "cluster", "b")], 0, i64::MAX)).await.unwrap();
    assert!(none.series.is_empty());
    assert!(none.queried_blocks.is_empty());
}

#[test]
fn series_equal_promtool_dump_filesystem_bucket() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let (_bucket, yaml) = filesystem_bucket(&dir.path().join("bucket")).await;
        let mut store = StoreProcess::start(&yaml, &dir.path().join("data"), &["--index-cache-size=0"]);
        store.wait_ready(Duration::from_secs(60));
        check_series_against_promtool(&store).await;
        assert_eq!(store.metric("thanos_bucket_store_blocks_loaded"), fixture().metas.len() as f64);
        assert!(store.metric("thanos_bucket_store_series_blocks_queried_count") > 0.0);
        assert!(store.metric(r#"thanos_bucket_store_series_data_fetched_sum{data_type="chunks"}"#) > 0.0);
        assert_eq!(
            store.metric(r#"thanos_blocks_meta_synced{state="loaded"}"#),
            fixture().metas.len() as f64
        );

        // Reads are coalesced: per block one GET each for postings, series and chunks, for a
        // selective and for a broad query alike (caches off, so every query reads).
        let mut client = store.client().await;
        let blocks = fixture().metas.len() as f64;
        let get_ranges = r#"thanos_objstore_bucket_operations_total{bucket="fs",operation="get_range"}"#;
        for matchers in
            [&[(EQ, "__name__", "demo_requests_total"), (EQ, "path", "/p3")][..], &[(EQ, "job", "demo")]]
        {
            let before = store.metric(get_ranges);
            let result = series(&mut client, request(matchers, 0, i64::MAX)).await.unwrap();
            assert!(!result.series.is_empty());
            let used = store.metric(get_ranges) - before;
            assert!(used > 0.0 && used <= 3.0 * blocks, "{used} GETs for {} blocks: {matchers:?}", blocks);
        }
    });
}

#[test]
fn series_equal_promtool_dump_s3_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let server = objstore::testing::S3sFsServer::with_buckets(&["thanos"]);
    let yaml = server.config_yaml("thanos", objstore::testing::SECRET_KEY);
    block_on(async {
        let bucket = objstore::bucket_from_config_yaml(&yaml).unwrap();
        upload_all(bucket.as_ref()).await;
        let mut store = StoreProcess::start(&yaml, &dir.path().join("data"), &[]);
        store.wait_ready(Duration::from_secs(60));
        check_series_against_promtool(&store).await;
        let get_ranges =
            store.metric(r#"thanos_objstore_bucket_operations_total{bucket="thanos",operation="get_range"}"#);
        assert!(get_ranges > 0.0, "ranged reads counted");
        let gets =
            store.metric(r#"thanos_objstore_bucket_operations_total{bucket="thanos",operation="get"}"#);
        assert_eq!(
            gets,
            fixture().metas.len() as f64 * 2.0,
            "whole-object GETs: meta.json and deletion mark only"
        );
    });
}

#[test]
fn skip_chunks_replica_labels_limits_and_info() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let (_bucket, yaml) = filesystem_bucket(&dir.path().join("bucket")).await;
        let mut store =
            StoreProcess::start(&yaml, &dir.path().join("data"), &["--store.grpc.series-sample-limit=2400"]);
        store.wait_ready(Duration::from_secs(60));
        let mut client = store.client().await;
        let selective = [(EQ, "__name__", "demo_requests_total"), (EQ, "path", "/p3")];

        let mut skip = request(&selective, 0, i64::MAX);
        skip.skip_chunks = true;
        let skipped = series(&mut client, skip).await.unwrap();
        assert_eq!(skipped.series.len(), 1);
        assert!(skipped.series[0].chunks.is_empty());

        let mut without = request(&selective, 0, i64::MAX);
        without.without_replica_labels = vec!["cluster".into()];
        let stripped = series(&mut client, without).await.unwrap();
        assert_eq!(stripped.series.len(), 1);
        assert!(storeapi::labels::get(&stripped.series[0].labels, "cluster").is_none());
        assert!(!stripped.series[0].chunks.is_empty());

        // 2400 samples = 20 chunks: every series of the fixture has more than one chunk per block.
        let broad = series(&mut client, request(&[(EQ, "job", "demo")], 0, i64::MAX)).await.unwrap_err();
        assert_eq!(broad.code(), tonic::Code::ResourceExhausted, "{broad:?}");
        assert!(broad.message().contains("exceeded chunks limit: limit 20 violated"), "{}", broad.message());
        assert_eq!(store.metric(r#"thanos_bucket_store_queries_dropped_total{reason="chunks"}"#), 1.0);

        let channel = storeapi::grpc::connect(&format!("127.0.0.1:{}", store.grpc_port)).await.unwrap();
        let info = storeapi::grpc::info_client(channel.clone())
            .info(pb::info::InfoRequest {})
            .await
            .unwrap()
            .into_inner();
        let metas = &fixture().metas;
        let store_info = info.store.unwrap();
        assert_eq!(store_info.min_time, metas[0].min_time);
        assert_eq!(store_info.max_time, metas[metas.len() - 1].max_time);
        assert!(store_info.supports_without_replica_labels);
        assert_eq!(info.component_type, "store");
        assert_eq!(info.label_sets.len(), 1);
        assert_eq!(info.label_sets[0].labels, storeapi::labels::pb_from_pairs([EXT_LABEL]));
        let legacy =
            storeapi::grpc::store_client(channel).info(pb::InfoRequest {}).await.unwrap().into_inner();
        assert_eq!(legacy.label_sets.len(), 1);
        assert_eq!(legacy.min_time, metas[0].min_time);
    });
}

#[test]
fn labels_equal_prometheus_api() {
    let dir = tempfile::tempdir().unwrap();
    let prometheus = PrometheusServer::start();
    block_on(async {
        let (_bucket, yaml) = filesystem_bucket(&dir.path().join("bucket")).await;
        let mut store = StoreProcess::start(&yaml, &dir.path().join("data"), &[]);
        store.wait_ready(Duration::from_secs(60));
        let mut client = store.client().await;
        let without_ext = |mut v: Vec<String>, ext: &str| {
            v.retain(|x| x != ext);
            v
        };
        let (start, end) = (0, i64::MAX);
        let selectors: [(&str, Matchers); 3] = [
            ("", &[]),
            (r#"{__name__="demo_temperature"}"#, &[(EQ, "__name__", "demo_temperature")]),
            (r#"{instance=~"host-[34]",path=""}"#, &[(RE, "instance", "host-[34]"), (EQ, "path", "")]),
        ];
        for (selector, matchers) in selectors {
            let query =
                if selector.is_empty() { String::new() } else { format!("?match[]={}", urlencode(selector)) };
            let matchers: Vec<pb::LabelMatcher> = matchers
                .iter()
                .map(|(t, n, v)| pb::LabelMatcher { r#type: *t, name: (*n).into(), value: (*v).into() })
                .collect();
            let names = client
                .label_names(pb::LabelNamesRequest {
                    start,
                    end,
                    matchers: matchers.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .names;
            assert!(names.contains(&EXT_LABEL.0.to_owned()), "external label name added");
            let want = prometheus.api_strings(&format!("/api/v1/labels{query}"));
            assert_eq!(without_ext(names, EXT_LABEL.0), want, "label names {selector}");
            for label in ["__name__", "instance", "path", "sensor"] {
                let values = client
                    .label_values(pb::LabelValuesRequest {
                        label: label.into(),
                        start,
                        end,
                        matchers: matchers.clone(),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .values;
                let want = prometheus.api_strings(&format!("/api/v1/label/{label}/values{query}"));
                assert_eq!(values, want, "label values of {label} {selector}");
            }
        }
        let cluster = client
            .label_values(pb::LabelValuesRequest {
                label: "cluster".into(),
                start,
                end,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .values;
        assert_eq!(cluster, vec!["a".to_owned()]);
    });
}

#[test]
fn lazy_index_header_reader_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let (_bucket, yaml) = filesystem_bucket(&dir.path().join("bucket")).await;
        let mut store = StoreProcess::start(
            &yaml,
            &dir.path().join("data"),
            &["--store.enable-index-header-lazy-reader"],
        );
        store.wait_ready(Duration::from_secs(60));
        let case = &CASES[3];
        let (mint, maxt) = ranges()[1];
        let result = series(&mut store.client().await, request(case.matchers, mint, maxt)).await.unwrap();
        assert_eq!(decode(&result, mint, maxt), promtool_dump(case.selector, mint, maxt));
    });
}
