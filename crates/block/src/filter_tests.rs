//! The fetcher with Thanos' filters over a filesystem bucket and a fixed clock: keep/hide
//! decisions at the edges, combinations, state counts and metrics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use objstore::Bucket;
use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

use crate::markers::{
    DELETION_MARK_FILENAME, DeletionMark, Marker, NoCompactMark, NoCompactReason, write_marker,
};
use crate::test_blocks::{TestRecorder, put_meta, temp_bucket, thanos_meta};
use crate::{
    BlockError, Clock, ConsistencyDelayMetaFilter, DeduplicateFilter, FixedClock, IgnoreDeletionMarkFilter,
    LabelShardedMetaFilter, META_FILENAME, MetaFetcher, NoCompactMarkFilter, PARTIAL_UPLOAD_THRESHOLD_AGE,
    PartialBlock, RelabelAction, RelabelConfig, ReplicaLabelRemover, ThanosTime, TimePartitionMetaFilter,
    aborted_partial_uploads, block_key, fetcher_metrics, source, synced_state,
};

const NOW_SECS: u64 = 1_700_000_000;
const NOW_MS: u64 = NOW_SECS * 1000;
const HOUR: Duration = Duration::from_secs(3600);

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new(now()))
}

/// A ULID made `age_ms` before now, unique by `n`.
fn ulid_aged(age_ms: i64, n: u128) -> Ulid {
    Ulid::from_parts((NOW_MS as i64 - age_ms) as u64, n)
}

/// A ULID ten days old, unique by `n`.
fn old_ulid(n: u128) -> Ulid {
    ulid_aged(10 * 24 * 3_600_000, n)
}

async fn fetch_ids(fetcher: &MetaFetcher<'_>) -> Vec<Ulid> {
    fetcher.fetch().await.unwrap().metas.keys().copied().collect()
}

#[tokio::test]
async fn consistency_delay_edges() {
    let (_dir, bucket) = temp_bucket();
    let delay = 30 * 60;
    let d = Duration::from_secs(delay);
    let exactly = thanos_meta(old_ulid(1), (0, 1), "eu", source::SIDECAR, Some(now() - d));
    let one_ns_young =
        thanos_meta(old_ulid(2), (0, 1), "eu", source::SIDECAR, Some(now() - d + Duration::from_nanos(1)));
    let future_upload = thanos_meta(old_ulid(3), (0, 1), "eu", source::SIDECAR, Some(now() + HOUR));
    // Zero upload time: the ULID's time counts.
    let ulid_exactly = thanos_meta(ulid_aged(delay as i64 * 1000, 4), (0, 1), "eu", source::SIDECAR, None);
    let ulid_young = thanos_meta(ulid_aged(delay as i64 * 1000 - 1, 5), (0, 1), "eu", source::SIDECAR, None);
    // Thanos' unsigned subtraction: a ULID from the future is never too fresh.
    let ulid_future = thanos_meta(ulid_aged(-1000, 6), (0, 1), "eu", source::SIDECAR, None);
    let mut no_thanos = BlockMeta::new_level1(ulid_aged(0, 7), 0, 1, Default::default());
    no_thanos.thanos = None;
    let fresh = Some(now());
    let compactor = thanos_meta(old_ulid(8), (0, 1), "eu", source::COMPACTOR, fresh);
    let compactor_repair = thanos_meta(old_ulid(9), (0, 1), "eu", source::COMPACTOR_REPAIR, fresh);
    let bucket_repair = thanos_meta(old_ulid(10), (0, 1), "eu", source::BUCKET_REPAIR, fresh);
    let receive = thanos_meta(old_ulid(11), (0, 1), "eu", source::RECEIVE, fresh);
    for meta in [
        &exactly,
        &one_ns_young,
        &future_upload,
        &ulid_exactly,
        &ulid_young,
        &ulid_future,
        &no_thanos,
        &compactor,
        &compactor_repair,
        &bucket_repair,
        &receive,
    ] {
        put_meta(&bucket, meta).await;
    }

    let fetcher =
        MetaFetcher::new(&bucket).with_filter(ConsistencyDelayMetaFilter::new(d).with_clock(clock()));
    let fetched = fetcher.fetch().await.unwrap();
    let mut expected = vec![
        exactly.ulid,
        ulid_exactly.ulid,
        ulid_future.ulid,
        compactor.ulid,
        compactor_repair.ulid,
        bucket_repair.ulid,
    ];
    expected.sort();
    assert_eq!(fetched.metas.keys().copied().collect::<Vec<_>>(), expected);
    assert_eq!(fetched.states.synced(synced_state::TOO_FRESH), 5);
    assert_eq!(fetched.states.synced(synced_state::LOADED), 6);

    // A zero delay shows everything but uploads from the future.
    let fetcher = MetaFetcher::new(&bucket)
        .with_filter(ConsistencyDelayMetaFilter::new(Duration::ZERO).with_clock(clock()));
    let fetched = fetcher.fetch().await.unwrap();
    assert_eq!(fetched.states.synced(synced_state::TOO_FRESH), 1);
    assert!(!fetched.metas.contains_key(&future_upload.ulid));
}

#[tokio::test]
async fn deletion_marks_hide_after_delay_and_are_exposed() {
    let (_dir, bucket) = temp_bucket();
    let delay = Duration::from_secs(24 * 3600);
    let [at_delay, past_delay, unmarked, corrupt_mark] = [1, 2, 3, 4].map(old_ulid);
    for id in [at_delay, past_delay, unmarked, corrupt_mark] {
        put_meta(&bucket, &thanos_meta(id, (0, 1), "eu", source::SIDECAR, None)).await;
    }
    let mark = |id, deletion_time: u64| DeletionMark {
        id,
        version: 1,
        details: String::new(),
        deletion_time: deletion_time as i64,
    };
    write_marker(&bucket, at_delay, &mark(at_delay, NOW_SECS - 24 * 3600)).await.unwrap();
    write_marker(&bucket, past_delay, &mark(past_delay, NOW_SECS - 24 * 3600 - 1)).await.unwrap();
    bucket
        .put(&block_key(corrupt_mark, DELETION_MARK_FILENAME), Bytes::from_static(b"{\"id\":"))
        .await
        .unwrap();

    let filter = Arc::new(IgnoreDeletionMarkFilter::new(delay).with_clock(clock()).with_concurrency(2));
    let fetcher = MetaFetcher::new(&bucket).with_filter(filter.clone());
    let fetched = fetcher.fetch().await.unwrap();
    assert_eq!(fetched.metas.keys().copied().collect::<Vec<_>>(), vec![at_delay, unmarked, corrupt_mark]);
    assert_eq!(fetched.states.synced(synced_state::MARKED_FOR_DELETION), 1);
    let marks = filter.deletion_mark_blocks();
    assert_eq!(marks.keys().copied().collect::<Vec<_>>(), vec![at_delay, past_delay], "hidden or not");
    assert_eq!(marks[&past_delay].deletion_time, (NOW_SECS - 24 * 3600 - 1) as i64);

    // A block that disappears drops out of the marks on the next fetch.
    crate::delete_block(&bucket, past_delay).await.unwrap();
    fetcher.fetch().await.unwrap();
    assert_eq!(filter.deletion_mark_blocks().keys().copied().collect::<Vec<_>>(), vec![at_delay]);

    // A mark of a version Thanos does not know fails the fetch.
    bucket
        .put(
            &block_key(unmarked, DELETION_MARK_FILENAME),
            Bytes::from(format!(r#"{{"id":"{unmarked}","version":2,"deletion_time":1}}"#)),
        )
        .await
        .unwrap();
    let err = fetcher.fetch().await.unwrap_err();
    assert!(matches!(err, BlockError::Filter { filter: "ignore-deletion-mark", .. }), "{err}");
    assert!(err.to_string().contains("unexpected deletion-mark.json file version 2"), "{err}");
}

#[tokio::test]
async fn time_partition_bounds_are_inclusive() {
    let (_dir, bucket) = temp_bucket();
    let block = thanos_meta(old_ulid(1), (1000, 2000), "eu", source::SIDECAR, None);
    put_meta(&bucket, &block).await;
    let kept = |min: i64, max: i64| {
        let bucket = &bucket;
        async move {
            let filter = TimePartitionMetaFilter::new(ThanosTime::Time(min), ThanosTime::Time(max));
            let fetched = MetaFetcher::new(bucket).with_filter(filter).fetch().await.unwrap();
            assert_eq!(
                fetched.states.synced(synced_state::TIME_EXCLUDED),
                u64::from(fetched.metas.is_empty())
            );
            !fetched.metas.is_empty()
        }
    };
    assert!(kept(2000, 3000).await, "maxTime == min-time overlaps");
    assert!(!kept(2001, 3000).await);
    assert!(kept(0, 1000).await, "minTime == max-time overlaps");
    assert!(!kept(0, 999).await);
    assert!(kept(1500, 1600).await, "range inside the block");
    let all = MetaFetcher::new(&bucket).with_filter(TimePartitionMetaFilter::default());
    assert_eq!(fetch_ids(&all).await, vec![block.ulid]);

    // Relative bounds are resolved against the clock.
    let recent =
        thanos_meta(old_ulid(2), (NOW_MS as i64 - 3_600_000, NOW_MS as i64), "eu", source::SIDECAR, None);
    put_meta(&bucket, &recent).await;
    let min: ThanosTime = "-1h".parse().unwrap();
    let filter = TimePartitionMetaFilter::new(min, ThanosTime::default_max()).with_clock(clock());
    let fetcher = MetaFetcher::new(&bucket).with_filter(filter);
    assert_eq!(fetch_ids(&fetcher).await, vec![recent.ulid]);
    let late = Arc::new(FixedClock::new(now() + Duration::from_millis(1)));
    let filter = TimePartitionMetaFilter::new(min, ThanosTime::default_max()).with_clock(late.clone());
    let fetcher = MetaFetcher::new(&bucket).with_filter(filter);
    assert_eq!(fetch_ids(&fetcher).await, vec![recent.ulid], "maxTime == resolved min-time still overlaps");
    late.advance(HOUR);
    assert!(fetch_ids(&fetcher).await.is_empty());
}

fn with_sources(mut meta: BlockMeta, sources: &[Ulid]) -> BlockMeta {
    meta.compaction.sources = sources.to_vec();
    meta.compaction.level = 2;
    meta
}

#[tokio::test]
async fn deduplicates_within_groups_and_after_replica_removal() {
    let (_dir, bucket) = temp_bucket();
    let [a, b, c, d, e, f] = [1, 2, 3, 4, 5, 6].map(old_ulid);
    let block = |id, region, sources: &[Ulid]| {
        with_sources(thanos_meta(id, (0, 10), region, source::COMPACTOR, None), sources)
    };
    // a and b are level-1 sources; c compacted them; d is a second copy of c; e is a source
    // of another group; f covers only part of c's sources and more.
    let metas = [
        thanos_meta(a, (0, 10), "eu", source::SIDECAR, None),
        thanos_meta(b, (0, 10), "eu", source::SIDECAR, None),
        block(c, "eu", &[a, b]),
        block(d, "eu", &[b, a]),
        thanos_meta(e, (0, 10), "us", source::SIDECAR, None),
        block(f, "eu", &[b, e]),
    ];
    for meta in &metas {
        put_meta(&bucket, meta).await;
    }
    let dedup = Arc::new(DeduplicateFilter::new());
    let fetcher = MetaFetcher::new(&bucket).with_filter(dedup.clone());
    let fetched = fetcher.fetch().await.unwrap();
    assert_eq!(fetched.metas.keys().copied().collect::<Vec<_>>(), vec![c, e, f]);
    assert_eq!(dedup.duplicate_ids(), vec![a, b, d]);
    assert_eq!(fetched.states.synced(synced_state::DUPLICATE), 3);

    // Other resolutions are other groups.
    let mut downsampled = block(old_ulid(7), "eu", &[a]);
    downsampled.thanos.as_mut().unwrap().downsample.resolution = 300_000;
    put_meta(&bucket, &downsampled).await;
    assert!(fetch_ids(&fetcher).await.contains(&downsampled.ulid));

    // Replicas fall into one group once the replica label is gone.
    let (_dir, bucket) = temp_bucket();
    let replica = |id, r: &str| {
        let mut meta = thanos_meta(id, (0, 10), "eu", source::SIDECAR, None);
        meta.thanos.as_mut().unwrap().labels.insert("replica".into(), r.into());
        meta.compaction.sources = vec![a];
        meta
    };
    let (r0, r1) = (replica(old_ulid(20), "0"), replica(old_ulid(21), "1"));
    put_meta(&bucket, &r0).await;
    put_meta(&bucket, &r1).await;
    let fetcher = MetaFetcher::new(&bucket).with_filter(DeduplicateFilter::new());
    assert_eq!(fetch_ids(&fetcher).await.len(), 2);
    let fetcher = MetaFetcher::new(&bucket)
        .with_filter(ReplicaLabelRemover::new(["replica"]))
        .with_filter(DeduplicateFilter::new());
    let fetched = fetcher.fetch().await.unwrap();
    assert_eq!(fetched.metas.keys().copied().collect::<Vec<_>>(), vec![r0.ulid]);
    assert_eq!(fetched.states.modified(synced_state::REPLICA_LABEL_REMOVED), 2);
    let labels = &fetched.metas[&r0.ulid].thanos.as_ref().unwrap().labels;
    assert_eq!(labels.keys().collect::<Vec<_>>(), vec!["region"]);
    // No labels left: the first replica label is set to "deduped".
    let fetcher = MetaFetcher::new(&bucket).with_filter(ReplicaLabelRemover::new(["region", "replica"]));
    let fetched = fetcher.fetch().await.unwrap();
    let labels = &fetched.metas[&r0.ulid].thanos.as_ref().unwrap().labels;
    assert_eq!(labels, &BTreeMap::from([("region".to_string(), "deduped".to_string())]));
}

#[tokio::test]
async fn label_sharding_drops_blocks_and_ignores_replica_labels() {
    let (_dir, bucket) = temp_bucket();
    let eu = thanos_meta(old_ulid(1), (0, 1), "eu", source::SIDECAR, None);
    let us = thanos_meta(old_ulid(2), (0, 1), "us", source::SIDECAR, None);
    put_meta(&bucket, &eu).await;
    put_meta(&bucket, &us).await;
    let mut keep = RelabelConfig::new(RelabelAction::Keep);
    keep.source_labels = vec!["region".into()];
    keep.regex = "eu".into();
    let filter = LabelShardedMetaFilter::new(vec![keep], ["region"]).unwrap();
    let fetched = MetaFetcher::new(&bucket).with_filter(filter).fetch().await.unwrap();
    assert!(fetched.metas.is_empty(), "region is a dedup replica label, so invisible to the rules");
    assert_eq!(fetched.states.synced(synced_state::LABEL_EXCLUDED), 2);

    let mut drop = RelabelConfig::new(RelabelAction::Drop);
    drop.source_labels = vec!["__block_id".into()];
    drop.regex = us.ulid.to_string();
    let filter = LabelShardedMetaFilter::new(vec![drop], [""; 0]).unwrap();
    let fetcher = MetaFetcher::new(&bucket).with_filter(filter);
    assert_eq!(fetch_ids(&fetcher).await, vec![eu.ulid]);
}

#[tokio::test]
async fn compactor_pipeline_counts_every_state_and_reports_metrics() {
    let (_dir, bucket) = temp_bucket();
    let day = 24 * 3_600_000;
    let ok = thanos_meta(old_ulid(1), (0, day), "eu", source::SIDECAR, None);
    let old_range = thanos_meta(old_ulid(2), (-2 * day, -day - 1), "eu", source::SIDECAR, None);
    // Both too fresh and outside the range: the earlier filter (time) counts it.
    let fresh_old_range = thanos_meta(ulid_aged(0, 3), (-2 * day, -day - 1), "eu", source::SIDECAR, None);
    let fresh = thanos_meta(ulid_aged(60_000, 4), (0, day), "eu", source::SIDECAR, None);
    let us = thanos_meta(old_ulid(5), (0, day), "us", source::SIDECAR, None);
    let deleted = thanos_meta(old_ulid(6), (0, day), "eu", source::SIDECAR, None);
    let no_compact = thanos_meta(old_ulid(7), (day, 2 * day), "eu", source::SIDECAR, None);
    for meta in [&ok, &old_range, &fresh_old_range, &fresh, &us, &deleted, &no_compact] {
        put_meta(&bucket, meta).await;
    }
    let dup = with_sources(
        thanos_meta(old_ulid(8), (0, day), "eu", source::COMPACTOR, None),
        &[ok.ulid, old_ulid(99)],
    );
    put_meta(&bucket, &dup).await;
    write_marker(
        &bucket,
        deleted.ulid,
        &DeletionMark { id: deleted.ulid, version: 1, details: String::new(), deletion_time: 0 },
    )
    .await
    .unwrap();
    let mark = NoCompactMark {
        id: no_compact.ulid,
        version: 1,
        details: String::new(),
        no_compact_time: 1,
        reason: NoCompactReason::Manual,
    };
    write_marker(&bucket, no_compact.ulid, &mark).await.unwrap();
    let partial = old_ulid(9);
    bucket.put(&block_key(partial, "index"), Bytes::from_static(b"x")).await.unwrap();
    let corrupt = old_ulid(10);
    bucket.put(&block_key(corrupt, META_FILENAME), Bytes::from_static(b"{\"ulid\":")).await.unwrap();
    bucket.put(&block_key(corrupt, "index"), Bytes::from_static(b"x")).await.unwrap();

    let mut keep_eu = RelabelConfig::new(RelabelAction::Keep);
    keep_eu.source_labels = vec!["region".into()];
    keep_eu.regex = "eu".into();
    let no_compact_filter = Arc::new(NoCompactMarkFilter::new());
    let fetcher = MetaFetcher::new(&bucket)
        .with_metric_label("component", "compactor")
        .with_filter(TimePartitionMetaFilter::new(ThanosTime::Time(-day), ThanosTime::default_max()))
        .with_filter(LabelShardedMetaFilter::new(vec![keep_eu], [""; 0]).unwrap())
        .with_filter(ConsistencyDelayMetaFilter::new(30 * 60 * Duration::from_secs(1)).with_clock(clock()))
        .with_filter(IgnoreDeletionMarkFilter::new(24 * HOUR).with_clock(clock()))
        .with_filter(ReplicaLabelRemover::new(Vec::<String>::new()))
        .with_filter(DeduplicateFilter::new())
        .with_filter(no_compact_filter.clone());

    let recorder = TestRecorder::default();
    let fetched = {
        let _guard = metrics::set_default_local_recorder(&recorder);
        fetcher.fetch().await.unwrap()
    };
    let mut expected = vec![dup.ulid, no_compact.ulid];
    expected.sort();
    assert_eq!(fetched.metas.keys().copied().collect::<Vec<_>>(), expected);
    assert_eq!(fetched.partial[&partial], PartialBlock::NoMeta);
    assert!(matches!(&fetched.partial[&corrupt], PartialBlock::CorruptMeta(_)));
    assert_eq!(no_compact_filter.marked_blocks().keys().copied().collect::<Vec<_>>(), vec![no_compact.ulid]);

    let states = &fetched.states;
    let expect = [
        (synced_state::LOADED, 2),
        (synced_state::NO_META, 1),
        (synced_state::CORRUPTED_META, 1),
        (synced_state::FAILED, 0),
        (synced_state::TIME_EXCLUDED, 2),
        (synced_state::LABEL_EXCLUDED, 1),
        (synced_state::TOO_FRESH, 1),
        (synced_state::MARKED_FOR_DELETION, 1),
        (synced_state::DUPLICATE, 1),
        (synced_state::MARKED_FOR_NO_COMPACT, 1),
        (synced_state::PARQUET_MIGRATED, 0),
    ];
    for (state, count) in expect {
        assert_eq!(states.synced(state), count, "{state}");
        let key = format!("{}{{component=\"compactor\",state=\"{state}\"}}", fetcher_metrics::SYNCED);
        assert_eq!(recorder.get(&key), Some(count as f64), "{key}");
    }
    let metric = |name: &str| recorder.get(&format!("{name}{{component=\"compactor\"}}"));
    assert_eq!(metric(fetcher_metrics::SYNCS_TOTAL), Some(1.0));
    assert_eq!(metric(fetcher_metrics::BASE_SYNCS_TOTAL), Some(1.0));
    assert_eq!(metric(fetcher_metrics::SYNC_DURATION_SECONDS), Some(1.0), "one observation");
    assert_eq!(metric(fetcher_metrics::SYNC_FAILURES_TOTAL), None);
    assert_eq!(recorder.get(fetcher_metrics::CONSISTENCY_DELAY_SECONDS), Some(1800.0));
    let modified = format!(
        "{}{{component=\"compactor\",modified=\"replica-label-removed\"}}",
        fetcher_metrics::MODIFIED
    );
    assert_eq!(recorder.get(&modified), Some(0.0));

    // Next fetch: the corrupt block is fixed; gauges are replaced, not added to.
    bucket.delete(&block_key(corrupt, META_FILENAME)).await.unwrap();
    let fetched = {
        let _guard = metrics::set_default_local_recorder(&recorder);
        fetcher.fetch().await.unwrap()
    };
    assert_eq!(fetched.states.synced(synced_state::NO_META), 2);
    let key =
        |state: &str| format!("{}{{component=\"compactor\",state=\"{state}\"}}", fetcher_metrics::SYNCED);
    assert_eq!(recorder.get(&key(synced_state::CORRUPTED_META)), Some(0.0));
    assert_eq!(recorder.get(&key(synced_state::NO_META)), Some(2.0));
    assert_eq!(metric(fetcher_metrics::SYNCS_TOTAL), Some(2.0));
}

#[tokio::test]
async fn unreadable_meta_fails_the_fetch_after_reporting() {
    let (_dir, bucket) = temp_bucket();
    let good = thanos_meta(old_ulid(1), (0, 1), "eu", source::SIDECAR, None);
    put_meta(&bucket, &good).await;
    let mut future = thanos_meta(old_ulid(2), (0, 1), "eu", source::SIDECAR, None);
    future.version = 2;
    put_meta(&bucket, &future).await;

    let recorder = TestRecorder::default();
    let fetcher = MetaFetcher::new(&bucket);
    let err = {
        let _guard = metrics::set_default_local_recorder(&recorder);
        fetcher.fetch().await.unwrap_err()
    };
    match &err {
        BlockError::IncompleteView { failed: 1, first } => {
            assert!(matches!(**first, BlockError::UnsupportedMetaVersion { version: 2, .. }), "{first}");
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(recorder.get(fetcher_metrics::SYNC_FAILURES_TOTAL), Some(1.0));
    let key = |state: &str| format!("{}{{state=\"{state}\"}}", fetcher_metrics::SYNCED);
    assert_eq!(recorder.get(&key(synced_state::FAILED)), Some(1.0));
    assert_eq!(recorder.get(&key(synced_state::LOADED)), Some(1.0));
}

/// Sets the modification time of every file of block `id` in the filesystem bucket at `root`.
fn age_block(root: &std::path::Path, id: Ulid, modified: SystemTime) {
    fn walk(dir: &std::path::Path, modified: SystemTime) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, modified);
            } else {
                std::fs::File::options().write(true).open(&path).unwrap().set_modified(modified).unwrap();
            }
        }
    }
    walk(&root.join(id.to_string()), modified);
}

#[tokio::test]
async fn finds_aborted_partial_uploads() {
    let (dir, bucket) = temp_bucket();
    let [at_threshold, past_threshold, marked, complete] = [1, 2, 3, 4].map(old_ulid);
    for id in [at_threshold, past_threshold, marked] {
        bucket.put(&block_key(id, "chunks/000001"), Bytes::from_static(b"c")).await.unwrap();
        bucket.put(&block_key(id, "index"), Bytes::from_static(b"i")).await.unwrap();
    }
    put_meta(&bucket, &thanos_meta(complete, (0, 1), "eu", source::SIDECAR, None)).await;
    let threshold_ago = now() - PARTIAL_UPLOAD_THRESHOLD_AGE;
    age_block(dir.path(), at_threshold, threshold_ago);
    age_block(dir.path(), past_threshold, threshold_ago - Duration::from_secs(1));
    bucket
        .put(
            &block_key(marked, DELETION_MARK_FILENAME),
            Bytes::from(
                DeletionMark { id: marked, version: 1, details: String::new(), deletion_time: 0 }.to_json(),
            ),
        )
        .await
        .unwrap();
    age_block(dir.path(), marked, UNIX_EPOCH);
    // The newest object decides: a fresh file keeps an otherwise old block.
    let fetched = crate::fetch_metas(&bucket).await.unwrap();
    assert_eq!(fetched.partial.len(), 3);
    let found = aborted_partial_uploads(
        &bucket,
        fetched.partial.keys().copied(),
        now(),
        PARTIAL_UPLOAD_THRESHOLD_AGE,
    )
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, past_threshold);
    assert!(!found[0].from_ulid);
    assert_eq!(found[0].last_modified, threshold_ago - Duration::from_secs(1));

    bucket.put(&block_key(past_threshold, "index"), Bytes::from_static(b"again")).await.unwrap();
    let found =
        aborted_partial_uploads(&bucket, [past_threshold], now() + HOUR, PARTIAL_UPLOAD_THRESHOLD_AGE).await;
    assert!(found.is_empty(), "just rewritten (real clock) is newer than the fixed now");
}
