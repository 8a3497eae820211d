//! The sidecar's StoreAPI against a real Prometheus 2.42 holding promtool blocks, with external
//! labels `cluster="test", replica="0"`: Series equals `promtool tsdb dump` of the same blocks
//! and Prometheus' own query API; label calls equal Prometheus' label APIs; Info.

mod support;

use storeapi::pb::prometheus as prom;
use storeapi::pb::thanos as pb;
use storeapi::remote_read::{RemoteReadClient, ResponseKind};
use support::*;
use testkit::prometheus::{Prometheus, PrometheusConfig};

const EQ: i32 = 0;
const NEQ: i32 = 1;
const RE: i32 = 2;
const NRE: i32 = 3;

/// A matcher set as StoreAPI matchers, the selector promtool gets (without external-label
/// matchers, which the blocks do not carry), and whether the external labels rule it out.
struct Case {
    matchers: &'static [(i32, &'static str, &'static str)],
    selector: &'static str,
    conflicts: bool,
}

const CASES: &[Case] = &[
    Case {
        matchers: &[(EQ, "__name__", "demo_temperature")],
        selector: r#"{__name__="demo_temperature"}"#,
        conflicts: false,
    },
    Case {
        matchers: &[(RE, "__name__", "demo_.*"), (NEQ, "instance", "host-1")],
        selector: r#"{__name__=~"demo_.*", instance!="host-1"}"#,
        conflicts: false,
    },
    Case {
        matchers: &[(EQ, "__name__", "demo_requests_total"), (NRE, "instance", "host-[0-4]")],
        selector: r#"{__name__="demo_requests_total", instance!~"host-[0-4]"}"#,
        conflicts: false,
    },
    Case {
        matchers: &[(EQ, "cluster", "test"), (RE, "replica", "0|1"), (EQ, "__name__", "demo_temperature")],
        selector: r#"{__name__="demo_temperature"}"#,
        conflicts: false,
    },
    Case {
        matchers: &[(RE, "__name__", ".+"), (NEQ, "cluster", "other")],
        selector: r#"{__name__=~".+"}"#,
        conflicts: false,
    },
    Case { matchers: &[(EQ, "cluster", "other"), (RE, "__name__", ".+")], selector: "", conflicts: true },
    Case { matchers: &[(NRE, "replica", "0"), (RE, "__name__", ".+")], selector: "", conflicts: true },
];

#[test]
fn series_equal_promtool_dump_and_prometheus_query_api() {
    let prometheus = prometheus();
    let sidecar = Sidecar::start(&prometheus.url(), &[]);
    let (first, last) = fixture_range();
    let ranges = [
        (first, last),
        (first + 3_600_000, first + 3 * 3_600_000 + 17_000),
        (last - 45 * 60_000, last),
        (i64::MIN, i64::MAX),
    ];
    block_on(async {
        let mut client = sidecar.store().await;
        let mut compared = 0usize;
        for case in CASES {
            for &(mint, maxt) in &ranges {
                let answer = series(&mut client, request(case.matchers, mint, maxt)).await.expect("series");
                let got = decode(&answer, mint, maxt);
                if case.conflicts {
                    assert!(answer.is_empty(), "external labels rule out {:?}", case.matchers);
                    continue;
                }
                let (dump_min, dump_max) = (mint.max(first), maxt.min(last));
                let expected = promtool_dump(case.selector, dump_min, dump_max);
                assert!(!expected.is_empty(), "oracle selects something for {}", case.selector);
                assert_eq!(
                    got.keys().collect::<Vec<_>>(),
                    expected.keys().collect::<Vec<_>>(),
                    "{}",
                    case.selector
                );
                assert_eq!(got, expected, "{} in [{mint}, {maxt}]", case.selector);
                compared += got.values().map(Vec::len).sum::<usize>();
            }
        }
        // Prometheus' query API over the same data, for two matcher sets.
        for case in &CASES[..2] {
            let (mint, maxt) = (first + 1_800_000, first + 5 * 3_600_000);
            let answer = series(&mut client, request(case.matchers, mint, maxt)).await.expect("series");
            assert_eq!(
                decode(&answer, mint, maxt),
                prometheus_samples(&prometheus, case.selector, mint, maxt)
            );
        }
        eprintln!("compared {compared} samples with promtool dump");
    });
}

#[test]
fn series_contract_details() {
    let prometheus = prometheus();
    let sidecar = Sidecar::start(&prometheus.url(), &[]);
    let (first, last) = fixture_range();
    block_on(async {
        let mut client = sidecar.store().await;

        // Only external-label matchers: nothing left to ask Prometheus.
        let status =
            series(&mut client, request(&[(EQ, "cluster", "test")], first, last)).await.expect_err("refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains("no matchers specified"), "{}", status.message());
        let bad_regex =
            series(&mut client, request(&[(RE, "job", "(")], first, last)).await.expect_err("refused");
        assert_eq!(bad_regex.code(), tonic::Code::InvalidArgument);

        // without_replica_labels drops the replica label from every series.
        let mut without = request(&[(EQ, "__name__", "demo_temperature")], first, last);
        without.without_replica_labels = vec!["replica".into()];
        let answer = series(&mut client, without).await.expect("series");
        assert_eq!(answer.len(), 20);
        assert!(answer.iter().all(|s| storeapi::labels::get(&s.labels, "replica").is_none()));
        assert!(answer.iter().all(|s| storeapi::labels::get(&s.labels, "cluster") == Some("test")));

        // Batches carry the same series as single frames.
        let mut batched = request(&[(RE, "__name__", "demo_.*")], first, last);
        batched.response_batch_size = 7;
        let single =
            series(&mut client, request(&[(RE, "__name__", "demo_.*")], first, last)).await.expect("series");
        assert_eq!(series(&mut client, batched).await.expect("batched"), single);

        // Shards partition the series.
        let mut sharded_total = 0;
        for index in 0..3 {
            let mut sharded = request(&[(RE, "__name__", "demo_.*")], first, last);
            sharded.shard_info =
                Some(pb::ShardInfo { shard_index: index, total_shards: 3, by: false, labels: Vec::new() });
            sharded_total += series(&mut client, sharded).await.expect("shard").len();
        }
        assert_eq!(sharded_total, single.len());

        // skip_chunks: labels from /api/v1/series, external labels added, no chunks.
        let mut labels_only = request(&[(RE, "__name__", "demo_.*"), (EQ, "replica", "0")], first, last);
        labels_only.skip_chunks = true;
        let answer = series(&mut client, labels_only).await.expect("skip chunks");
        let names: Vec<_> = answer.iter().map(|s| s.labels.clone()).collect();
        assert_eq!(names, single.iter().map(|s| s.labels.clone()).collect::<Vec<_>>());
        assert!(answer.iter().all(|s| s.chunks.is_empty()));
        let selector = urlencode(r#"{__name__=~"demo_.*"}"#);
        let json = prometheus.get_json(&format!(
            "/api/v1/series?match[]={selector}&start={}&end={}",
            first / 1000,
            last / 1000
        ));
        let mut from_prometheus: Vec<String> = json["data"]
            .as_array()
            .expect("series list")
            .iter()
            .map(|m| {
                labels_string(
                    m.as_object()
                        .expect("labels")
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str().expect("value"))),
                )
            })
            .collect();
        from_prometheus.sort();
        let mut ours: Vec<String> = answer
            .iter()
            .map(|s| {
                labels_string(
                    s.labels
                        .iter()
                        .filter(|l| !EXTERNAL.iter().any(|(n, _)| *n == l.name))
                        .map(|l| (l.name.as_str(), l.value.as_str())),
                )
            })
            .collect();
        ours.sort();
        assert_eq!(ours, from_prometheus, "skip_chunks equals Prometheus' series API");

        // A range before the lowest timestamp is raised to it: nothing older exists anyway.
        let early =
            series(&mut client, request(&[(RE, "__name__", "demo_.*")], 0, first - 1)).await.expect("ok");
        assert!(early.is_empty());
    });
}

#[test]
fn label_names_and_values_equal_prometheus() {
    let prometheus = prometheus();
    let sidecar = Sidecar::start(&prometheus.url(), &[]);
    let (first, last) = fixture_range();
    let span = format!("start={}&end={}", first / 1000, last / 1000 + 1);
    block_on(async {
        let mut client = sidecar.store().await;
        let matcher =
            |t: i32, n: &str, v: &str| pb::LabelMatcher { r#type: t, name: n.into(), value: v.into() };

        let all = client
            .label_names(pb::LabelNamesRequest { start: first, end: last, ..Default::default() })
            .await
            .expect("label names")
            .into_inner()
            .names;
        let mut expected = prometheus.api_strings(&format!("/api/v1/labels?{span}"));
        expected.extend(["cluster".to_owned(), "replica".to_owned()]);
        expected.sort();
        assert_eq!(all, expected);

        let gauges = client
            .label_names(pb::LabelNamesRequest {
                start: first,
                end: last,
                matchers: vec![matcher(EQ, "__name__", "demo_temperature"), matcher(EQ, "cluster", "test")],
                without_replica_labels: vec!["replica".into()],
                ..Default::default()
            })
            .await
            .expect("label names")
            .into_inner()
            .names;
        let selector = urlencode(r#"{__name__="demo_temperature"}"#);
        let mut expected = prometheus.api_strings(&format!("/api/v1/labels?match[]={selector}&{span}"));
        expected.push("cluster".to_owned());
        expected.sort();
        assert_eq!(gauges, expected);

        let values = |label: &str, matchers: Vec<pb::LabelMatcher>| pb::LabelValuesRequest {
            label: label.into(),
            start: first,
            end: last,
            matchers,
            ..Default::default()
        };
        let instances = client
            .label_values(values("instance", vec![matcher(RE, "__name__", "demo_req.*")]))
            .await
            .expect("values")
            .into_inner()
            .values;
        let selector = urlencode(r#"{__name__=~"demo_req.*"}"#);
        assert_eq!(
            instances,
            prometheus.api_strings(&format!("/api/v1/label/instance/values?match[]={selector}&{span}"))
        );
        assert!(!instances.is_empty());

        let cluster =
            client.label_values(values("cluster", vec![])).await.expect("values").into_inner().values;
        assert_eq!(cluster, ["test"]);
        let cluster_none = client
            .label_values(values("cluster", vec![matcher(EQ, "__name__", "no_such_metric")]))
            .await
            .expect("values")
            .into_inner()
            .values;
        assert!(cluster_none.is_empty());
        let conflicting = client
            .label_values(values("instance", vec![matcher(EQ, "cluster", "other")]))
            .await
            .expect("values")
            .into_inner()
            .values;
        assert!(conflicting.is_empty());
        let mut replica = values("replica", vec![]);
        replica.without_replica_labels = vec!["replica".into()];
        assert!(client.label_values(replica).await.expect("values").into_inner().values.is_empty());
        let empty = client.label_values(values("", vec![])).await.expect_err("no label name");
        assert_eq!(empty.code(), tonic::Code::InvalidArgument);
    });
}

#[test]
fn info_reports_external_labels_and_lowest_timestamp() {
    let prometheus = prometheus();
    let sidecar = Sidecar::start(&prometheus.url(), &[]);
    let (first, _) = fixture_range();
    block_on(async {
        let info =
            sidecar.info().await.info(storeapi::pb::info::InfoRequest {}).await.expect("info").into_inner();
        assert_eq!(info.component_type, "sidecar");
        let labels = storeapi::labels::pb_from_pairs(EXTERNAL);
        assert_eq!(info.label_sets, vec![pb::ZLabelSet { labels: labels.clone() }]);
        let store = info.store.expect("store info");
        assert_eq!((store.min_time, store.max_time), (first, i64::MAX));
        assert!(store.supports_without_replica_labels && store.supports_sharding);
        assert_eq!(store.tsdb_infos.len(), 1);
        assert_eq!(store.tsdb_infos[0].labels.as_ref().map(|l| &l.labels), Some(&labels));

        let legacy = sidecar.store().await.info(pb::InfoRequest {}).await.expect("legacy info").into_inner();
        assert_eq!(legacy.store_type, pb::StoreType::Sidecar as i32);
        assert_eq!((legacy.min_time, legacy.max_time), (first, i64::MAX));
        assert_eq!(legacy.labels, labels);
    });
    assert_eq!(sidecar.metric("thanos_sidecar_prometheus_up"), Some(1.0));
    assert!(sidecar.metric("prometheus_store_received_frames_count").is_none_or(|n| n >= 0.0));
}

#[test]
fn min_time_flag_limits_what_is_served() {
    let prometheus = prometheus();
    let (first, last) = fixture_range();
    let limit = first + 4 * 3_600_000;
    let rfc3339 = {
        // --min-time accepts RFC 3339; the fixture is in January 2024, UTC.
        let seconds = limit / 1000;
        let (day_seconds, day) = (seconds.rem_euclid(86_400), seconds.div_euclid(86_400) - 19_723);
        let (hour, minute, second) = (day_seconds / 3600, day_seconds % 3600 / 60, day_seconds % 60);
        format!("2024-01-{:02}T{hour:02}:{minute:02}:{second:02}Z", day + 1)
    };
    let sidecar = Sidecar::start(&prometheus.url(), &[format!("--min-time={rfc3339}")]);
    block_on(async {
        let info =
            sidecar.info().await.info(storeapi::pb::info::InfoRequest {}).await.expect("info").into_inner();
        assert_eq!(info.store.expect("store").min_time, limit);
        let mut client = sidecar.store().await;
        let answer = series(&mut client, request(&[(EQ, "__name__", "demo_temperature")], first, last))
            .await
            .expect("ok");
        let got = decode(&answer, first, last);
        // Whole chunks come back, so trim at chunk level: nothing before the chunk holding `limit`.
        let expected = promtool_dump(r#"{__name__="demo_temperature"}"#, limit, last);
        for (key, samples) in &expected {
            let served = got.get(key).expect("series served");
            assert!(served.ends_with(samples), "{key}: all samples from --min-time on");
            assert!(
                served.first().is_some_and(|(t, _)| *t > limit - 2 * 3_600_000),
                "{key}: nothing from long before"
            );
        }
    });
}

/// The remote-read library against Prometheus directly: SAMPLES (forced by accepting only it)
/// and STREAMED_XOR_CHUNKS give the same series and samples, and the stream splits series
/// across frames (1 KiB frames), which the reader joins.
#[test]
fn remote_read_samples_and_streamed_agree() {
    let prometheus = prometheus();
    let (first, last) = fixture_range();
    block_on(async {
        let client = RemoteReadClient::new(reqwest::Client::new(), &prometheus.url(), "thanos-rs-test");
        let query = || prom::Query {
            start_timestamp_ms: first,
            end_timestamp_ms: last,
            matchers: vec![prom::LabelMatcher {
                r#type: 2,
                name: "__name__".into(),
                value: "demo_.*".into(),
            }],
            hints: None,
        };
        use prom::read_request::ResponseType;
        let read_all = |accepted: Vec<ResponseType>| {
            let client = client.clone();
            let query = query();
            async move {
                let mut reader = client.read(query, &accepted).await.expect("remote read");
                let mut out = Vec::new();
                while let Some(series) = reader.next_series().await.expect("series") {
                    out.push(series);
                }
                (reader.kind(), reader.frames(), out)
            }
        };
        let (kind, frames, streamed) =
            read_all(vec![ResponseType::StreamedXorChunks, ResponseType::Samples]).await;
        assert_eq!(kind, ResponseKind::StreamedChunks);
        assert_eq!(streamed.len(), 40);
        assert!(frames > 40, "1 KiB frames split series: {frames} frames for 40 series");
        let (kind, _, sampled) = read_all(vec![ResponseType::Samples]).await;
        assert_eq!(kind, ResponseKind::Samples);
        assert_eq!(sampled.len(), 40);
        assert!(
            sampled.iter().all(|s| s.chunks.iter().all(|c| c.raw.as_ref().is_some_and(|r| r.data.len() > 2)))
        );
        let max_per_chunk = sampled
            .iter()
            .flat_map(|s| &s.chunks)
            .map(|c| {
                tsdb_format::chunkenc::XorIterator::new(&c.raw.as_ref().expect("raw").data)
                    .expect("xor")
                    .num_samples()
            })
            .max();
        assert_eq!(max_per_chunk, Some(120));
        // Prometheus' remote read adds its external labels itself.
        let expected = promtool_dump(r#"{__name__=~"demo_.*"}"#, first, last);
        assert_eq!(decode(&streamed, first, last), expected);
        assert_eq!(decode(&sampled, first, last), expected);

        // A garbage request is refused by Prometheus with its message.
        let bad = reqwest::Client::new().post(client.url()).body("garbage").send().await.expect("answer");
        assert_eq!(bad.status().as_u16(), 400);
    });
}

/// Series that clash with or reorder around the external labels, in two blocks a day apart:
/// `clash_metric` has a local `cluster` label (so label order cannot be trusted and the sidecar
/// sorts at the end), `flip_metric{a="1"}` and `flip_metric{a="1",b="0"}` swap places once
/// `cluster` and `replica` are added (the streaming path holds them back and sorts them).
#[test]
fn external_labels_win_and_series_order_holds() {
    const T1: i64 = 1_704_200_000;
    const T2: i64 = T1 + 86_400;
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("clash.om");
    let text = format!(
        "# TYPE clash_metric gauge\n\
         clash_metric{{cluster=\"local\",instance=\"a\"}} 1 {T1}\n\
         clash_metric{{cluster=\"local\",instance=\"a\"}} 2 {}\n\
         clash_metric{{instance=\"a\"}} 5 {T1}\n\
         clash_metric{{instance=\"a\"}} 6 {}\n\
         # TYPE flip_metric gauge\n\
         flip_metric{{a=\"1\"}} 1 {T2}\n\
         flip_metric{{a=\"1\",b=\"0\"}} 2 {T2}\n\
         flip_metric{{a=\"2\"}} 3 {T2}\n\
         # EOF\n",
        T1 + 30,
        T1 + 60
    );
    std::fs::write(&input, text).expect("write openmetrics");
    let blocks = testkit::blocks::promtool_blocks(&input, &dir.path().join("blocks"), &[]);
    assert_eq!(blocks.len(), 2, "one block per day");
    let prometheus = Prometheus::start(PrometheusConfig {
        config_yaml: config_with_external_labels(),
        seed_blocks: blocks,
        ..Default::default()
    });
    let sidecar = Sidecar::start(&prometheus.url(), &[]);
    block_on(async {
        let mut client = sidecar.store().await;
        let clash = series(
            &mut client,
            request(&[(EQ, "__name__", "clash_metric")], T1 * 1000 - 1000, T1 * 1000 + 120_000),
        )
        .await
        .expect("series");
        assert_eq!(clash.len(), 1, "both series become one once the external cluster label wins: {clash:?}");
        let expected = storeapi::labels::pb_from_pairs([
            ("__name__", "clash_metric"),
            ("cluster", "test"),
            ("instance", "a"),
            ("replica", "0"),
        ]);
        assert_eq!(clash[0].labels, expected);
        let mut samples = decode(&clash, i64::MIN, i64::MAX).into_values().next().expect("samples");
        samples.sort();
        let want: Vec<(i64, u64)> = [(T1, 1.0), (T1, 5.0), (T1 + 30, 2.0), (T1 + 60, 6.0)]
            .iter()
            .map(|(t, v)| (t * 1000, float_bits(*v)))
            .collect();
        let mut want = want;
        want.sort();
        assert_eq!(samples, want);

        let flip = series(
            &mut client,
            request(&[(EQ, "__name__", "flip_metric")], T2 * 1000 - 1000, T2 * 1000 + 1000),
        )
        .await
        .expect("series");
        let keys: Vec<String> = decode(&flip, i64::MIN, i64::MAX).into_keys().collect();
        assert_eq!(
            keys,
            [
                r#"{__name__="flip_metric", a="1", b="0"}"#,
                r#"{__name__="flip_metric", a="1"}"#,
                r#"{__name__="flip_metric", a="2"}"#
            ]
        );
        // decode() checked that the stream itself came in this (label) order.

        // Removing a local label (instance) as a replica label joins series; still sorted.
        let mut without = request(&[(EQ, "__name__", "clash_metric")], T1 * 1000 - 1000, T1 * 1000 + 120_000);
        without.without_replica_labels = vec!["instance".into()];
        let joined = series(&mut client, without).await.expect("series");
        assert_eq!(joined.len(), 1);
        assert_eq!(joined[0].chunks.len(), 2);
        assert!(storeapi::labels::get(&joined[0].labels, "instance").is_none());
    });
}
