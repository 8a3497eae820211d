//! The real `thanos-store` over a raw promtool block and its 5m downsample in one bucket:
//! `max_resolution_window` picks the block, `aggregates` picks the AggrChunk fields, and every
//! returned sub-chunk is byte for byte the one in the downsampled block.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a panic is the failure report")]

mod support;

use std::time::Duration;

use block::downsample::downsample_block;
use storeapi::pb::thanos::{self as pb, Aggr};
use support::*;
use testkit::blocks::{Generated, generate};
use testkit::downsample::{FilesystemBucket, aggregate_chunks};
use tsdb_format::chunkenc::AggrType;
use tsdb_format::meta::{BlockMeta, RESOLUTION_5M};

/// Samples up to a multiple of promtool's 54h block range, over 52.8h: one raw block ≥ 40h.
const END: u64 = 1_704_304_800;

/// The sub-chunk of `aggr` in a wire chunk.
fn field(chunk: &pb::AggrChunk, aggr: AggrType) -> Option<&pb::Chunk> {
    match aggr {
        AggrType::Count => chunk.count.as_ref(),
        AggrType::Sum => chunk.sum.as_ref(),
        AggrType::Min => chunk.min.as_ref(),
        AggrType::Max => chunk.max.as_ref(),
        AggrType::Counter => chunk.counter.as_ref(),
    }
}

#[test]
fn resolution_and_aggregates_select_blocks_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    let raw_dirs = generate(
        Generated { series: 6, days: 2.2, step_s: 30, end: END },
        &dir.path().join("raw"),
        &["--max-block-duration=72h"],
    );
    assert_eq!(raw_dirs.len(), 1, "one promtool block");
    let raw_meta = BlockMeta::read_from_dir(&raw_dirs[0]).unwrap();
    let five = downsample_block(&raw_dirs[0], dir.path(), RESOLUTION_5M).unwrap();
    let five_dir = dir.path().join(five.ulid.to_string());
    // Per series (labels without the external one), the five sub-chunks of each chunk.
    let local = aggregate_chunks(&five_dir);

    let bucket = FilesystemBucket::create(dir.path());
    bucket.upload(&[&raw_dirs[0], &five_dir], &[EXT_LABEL]);
    let data_dir = dir.path().join("store");
    let mut store = StoreProcess::start(&bucket.yaml, &data_dir, &[]);
    store.wait_ready(Duration::from_secs(60));
    assert_eq!(store.metric("thanos_bucket_store_blocks_loaded"), 2.0);

    block_on(async {
        let mut client = store.client().await;
        let ask = |window: i64, aggregates: &[Aggr]| {
            let mut request =
                request(&[(0, "__name__", "demo_temperature")], raw_meta.min_time, raw_meta.max_time);
            request.max_resolution_window = window;
            request.aggregates = aggregates.iter().map(|&a| a as i32).collect();
            request
        };

        // Raw only: the promtool block, raw XOR chunks.
        let raw = series(&mut client, ask(0, &[Aggr::Count, Aggr::Sum])).await.unwrap();
        assert_eq!(raw.queried_blocks, [raw_meta.ulid.to_string()]);
        assert_eq!(raw.series.len(), 3);
        assert!(raw.series.iter().flat_map(|s| &s.chunks).all(|c| c.raw.is_some() && c.count.is_none()));

        // 5m and 1h windows read the 5m block; each asked-for aggregate in its field, nothing else.
        let cases: [(i64, &[Aggr]); 5] = [
            (RESOLUTION_5M, &[Aggr::Max]),
            (RESOLUTION_5M, &[Aggr::Count, Aggr::Sum]),
            (RESOLUTION_5M, &[Aggr::Counter]),
            (3_600_000, &[Aggr::Min]),
            (RESOLUTION_5M, &[]),
        ];
        for (window, aggregates) in cases {
            let answer = series(&mut client, ask(window, aggregates)).await.unwrap();
            assert_eq!(answer.queried_blocks, [five.ulid.to_string()], "{window} {aggregates:?}");
            let wanted: Vec<AggrType> = AggrType::ALL
                .into_iter()
                .filter(|a| aggregates.is_empty() || aggregates.iter().any(|x| *x as usize == a.index() + 1))
                .collect();
            let expected: Vec<_> = local
                .iter()
                .filter(|(l, _)| l.contains(&("__name__".into(), "demo_temperature".into())))
                .collect();
            assert_eq!(answer.series.len(), expected.len());
            for (got, (labels, chunks)) in answer.series.iter().zip(expected) {
                let got_labels: Vec<(String, String)> = got
                    .labels
                    .iter()
                    .filter(|l| l.name != EXT_LABEL.0)
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect();
                assert_eq!(&got_labels, labels);
                assert_eq!(got.chunks.len(), chunks.len(), "{labels:?}");
                for (wire, local_chunk) in got.chunks.iter().zip(chunks) {
                    let parts = &local_chunk.parts;
                    assert!(wire.raw.is_none());
                    for aggr in AggrType::ALL {
                        match field(wire, aggr) {
                            Some(sub) => {
                                assert!(wanted.contains(&aggr), "{aggr} sent but not asked for");
                                assert_eq!(
                                    Some(&sub.data.to_vec()),
                                    parts[aggr.index()].as_ref(),
                                    "{aggr} bytes"
                                );
                                assert_eq!(sub.r#type, pb::chunk::Encoding::Xor as i32);
                                assert_eq!(sub.hash, storeapi::chunk::hash(&sub.data), "{aggr} hash");
                            }
                            None => assert!(!wanted.contains(&aggr), "{aggr} asked for but missing"),
                        }
                    }
                }
            }
        }
    });
}
