//! `bucket verify`: checks every block of the bucket and reports what is wrong.
//!
//! Per block (Thanos' `index_known_issues`, extended): `meta.json` parses; the index reads and
//! is healthy (series sorted and unique, labels sorted, chunks in order, not overlapping, with
//! min ≤ max and inside the block's time range, every symbol resolvable); every chunk the index
//! points at exists and passes its CRC-32C; `stats` agree with the index. Across blocks
//! (`overlapped_blocks`): blocks of one group (resolution, external labels) must not overlap.
//!
//! Blocks are checked one at a time, each read whole into memory. Nothing is repaired. Any issue
//! makes the exit code 1; corrupt input is reported, never a crash.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use block::{CHUNKS_DIRNAME, INDEX_FILENAME, PartialBlock};
use clap::Args;
use objstore::Bucket;
use tsdb_format::chunkenc::Encoding;
use tsdb_format::chunks::ChunkSegmentReader;
use tsdb_format::index::{ChunkMeta, IndexHealth, IndexReader, check_health};
use tsdb_format::meta::BlockMeta;
use tsdb_format::{Label, Labels};
use ulid::Ulid;

const INDEX_ISSUE: &str = "index_known_issues";
const OVERLAP_ISSUE: &str = "overlapped_blocks";

/// Flags of `bucket verify`.
#[derive(Debug, Args)]
pub(super) struct VerifyArgs {
    /// Issues to verify: index_known_issues (per block) and overlapped_blocks (repeated).
    #[arg(short = 'i', long = "issues", value_parser = [INDEX_ISSUE, OVERLAP_ISSUE],
          default_values_t = [INDEX_ISSUE.to_string(), OVERLAP_ISSUE.to_string()])]
    issues: Vec<String>,
    /// Block IDs to verify; all blocks when none is given (repeated).
    #[arg(long = "id")]
    ids: Vec<String>,
    /// Attempt to repair blocks (not supported; accepted to fail clearly).
    #[arg(short = 'r', long = "repair")]
    repair: bool,
}

pub(super) async fn run(bucket: &dyn Bucket, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    if args.repair {
        bail!("--repair is not supported by thanos-tools; verify only reports");
    }
    let mut only: BTreeSet<Ulid> = BTreeSet::new();
    for id in &args.ids {
        only.insert(Ulid::from_string(id).with_context(|| format!("invalid ULID found in --id flag: {id}"))?);
    }
    if !only.is_empty() && args.issues.iter().any(|i| i == OVERLAP_ISSUE) && args.issues.len() > 1 {
        eprintln!("note: overlapped_blocks is checked across all blocks, regardless of --id");
    }
    let fetched = block::fetch_metas(bucket).await.context("fetch metas")?;
    let selected = |id: &Ulid| only.is_empty() || only.contains(id);
    let mut failed_blocks = 0usize;

    for (id, partial) in fetched.partial.iter().filter(|(id, _)| selected(id)) {
        match partial {
            PartialBlock::NoMeta => println!("block {id}: partial upload (no meta.json), skipped"),
            PartialBlock::CorruptMeta(reason) => {
                println!("block {id}: FAILED\n  - meta.json: {reason}");
                failed_blocks += 1;
            }
        }
    }

    if args.issues.iter().any(|i| i == INDEX_ISSUE) {
        for (id, meta) in fetched.metas.iter().filter(|(id, _)| selected(id)) {
            let issues = verify_block(bucket, meta).await;
            if issues.is_empty() {
                println!(
                    "block {id}: ok ({} series, {} chunks)",
                    meta.stats.num_series, meta.stats.num_chunks
                );
            } else {
                failed_blocks += 1;
                println!("block {id}: FAILED");
                for issue in &issues {
                    println!("  - {issue}");
                }
            }
        }
    }

    let mut overlap_groups = 0usize;
    if args.issues.iter().any(|i| i == OVERLAP_ISSUE) {
        let mut groups: BTreeMap<String, Vec<&BlockMeta>> = BTreeMap::new();
        for meta in fetched.metas.values() {
            groups.entry(block::group_key(meta)).or_default().push(meta);
        }
        for (group, metas) in &groups {
            for overlap in block::overlapping_blocks(metas) {
                overlap_groups += 1;
                println!("overlapped_blocks: found overlapped blocks, group {group}: {overlap}");
            }
        }
    }

    let checked = fetched.metas.keys().filter(|id| selected(id)).count();
    println!(
        "verified {checked} blocks: {failed_blocks} with issues, {overlap_groups} sets of overlapping blocks"
    );
    if failed_blocks > 0 || overlap_groups > 0 {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Every issue found in one block; empty when it is healthy.
async fn verify_block(bucket: &dyn Bucket, meta: &BlockMeta) -> Vec<String> {
    let id = meta.ulid;
    let index_key = block::block_key(id, INDEX_FILENAME);
    let index_bytes = match bucket.get(&index_key).await {
        Ok(bytes) => bytes.to_vec(),
        Err(e) => return vec![format!("index: cannot read {index_key}: {e}")],
    };
    let mut issues = Vec::new();
    let segments = match read_segments(bucket, id).await {
        Ok(segments) => segments,
        Err(e) => {
            issues.push(format!("chunks: {e:#}"));
            Vec::new()
        }
    };
    let meta = meta.clone();
    let checked = tokio::task::spawn_blocking(move || check_block(&meta, index_bytes, segments)).await;
    match checked {
        Ok(found) => issues.extend(found),
        Err(e) => issues.push(format!("verification crashed: {e}")),
    }
    issues
}

/// The block's chunk segment files, in segment order.
async fn read_segments(bucket: &dyn Bucket, id: Ulid) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let prefix = format!("{id}/{CHUNKS_DIRNAME}/");
    let mut keys: Vec<String> = bucket
        .list(&prefix, true)
        .await
        .with_context(|| format!("list {prefix}"))?
        .into_iter()
        .filter(|key| {
            key.strip_prefix(&prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    keys.sort();
    let mut segments = Vec::with_capacity(keys.len());
    for key in keys {
        let bytes = bucket.get(&key).await.with_context(|| format!("get {key}"))?;
        segments.push((PathBuf::from(key), bytes.to_vec()));
    }
    Ok(segments)
}

/// What one walk over the series found beyond the health check.
#[derive(Debug, Default)]
struct ChunkWalk {
    series: u64,
    chunks: u64,
    /// Samples of XOR chunks (the first two bytes of each); `None` once another encoding shows up.
    samples: Option<u64>,
    outside_chunks: u64,
    bad_chunks: u64,
    first_bad_chunk: Option<String>,
    first_outside: Option<String>,
}

/// Checks index and chunks of one block, all in memory. CPU-bound: runs off the reactor.
fn check_block(meta: &BlockMeta, index_bytes: Vec<u8>, segments: Vec<(PathBuf, Vec<u8>)>) -> Vec<String> {
    let mut issues = Vec::new();
    let index_path = PathBuf::from(block::block_key(meta.ulid, INDEX_FILENAME));
    let index = match IndexReader::from_bytes(index_bytes, &index_path) {
        Ok(index) => index,
        Err(e) => return vec![format!("index: unreadable: {e}")],
    };
    match check_health(&index) {
        Ok(health) => issues.extend(health_issues(&health)),
        Err(e) => issues.push(format!("index: corrupt: {e}")),
    }
    let chunk_dir = PathBuf::from(format!("{}/{CHUNKS_DIRNAME}", meta.ulid));
    let chunks = match ChunkSegmentReader::from_segments(&chunk_dir, segments) {
        Ok(reader) => Some(reader),
        Err(e) => {
            issues.push(format!("chunks: unreadable segment: {e}"));
            None
        }
    };
    let walk = match walk_chunks(meta, &index, chunks.as_ref()) {
        Ok(walk) => walk,
        Err(e) => {
            issues.push(format!("index: cannot walk series: {e}"));
            return issues;
        }
    };
    if walk.outside_chunks > 0 {
        issues.push(format!(
            "index: found {} chunks outside the block time range [{}, {}); first: {}",
            walk.outside_chunks,
            meta.min_time,
            meta.max_time,
            walk.first_outside.as_deref().unwrap_or("?")
        ));
    }
    if walk.bad_chunks > 0 {
        issues.push(format!(
            "chunks: {} of {} chunks missing or corrupt; first: {}",
            walk.bad_chunks,
            walk.chunks,
            walk.first_bad_chunk.as_deref().unwrap_or("?")
        ));
    }
    let stats = &meta.stats;
    if stats.num_series != walk.series {
        issues.push(format!(
            "meta.json: stats.numSeries is {} but the index has {} series",
            stats.num_series, walk.series
        ));
    }
    if stats.num_chunks != walk.chunks {
        issues.push(format!(
            "meta.json: stats.numChunks is {} but the index has {} chunks",
            stats.num_chunks, walk.chunks
        ));
    }
    if let Some(samples) = walk.samples
        && chunks.is_some()
        && walk.bad_chunks == 0
        && stats.num_samples != samples
    {
        issues.push(format!(
            "meta.json: stats.numSamples is {} but the chunks hold {samples} samples",
            stats.num_samples
        ));
    }
    issues
}

/// Issue lines from the index health check, worded like Thanos' `HealthStats` errors.
fn health_issues(health: &IndexHealth) -> Vec<String> {
    let mut issues = Vec::new();
    let first = |issue: &Option<tsdb_format::index::SeriesIssue>| {
        issue.as_ref().map(|i| format_labels(&i.labels)).unwrap_or_else(|| "?".to_string())
    };
    if health.out_of_order_series > 0 || health.duplicate_series > 0 {
        issues.push(format!(
            "index: {} series out of order and {} duplicated; first: {}",
            health.out_of_order_series,
            health.duplicate_series,
            first(&health.first_out_of_order_series)
        ));
    }
    if health.out_of_order_labels > 0 {
        issues.push(format!(
            "index: index contains {} postings with out of order labels; first: {}",
            health.out_of_order_labels,
            first(&health.first_out_of_order_labels)
        ));
    }
    if health.out_of_order_chunks > 0 {
        let series = health.series_with_chunk_issues.max(1) as f64;
        issues.push(format!(
            "index: out-of-order chunks: {}/{} series have an average of {:.3} out-of-order chunks: \
             {:.3} of these are exact duplicates (in terms of data and time range); first: {}",
            health.series_with_chunk_issues,
            health.total_series,
            health.out_of_order_chunks as f64 / series,
            health.duplicate_chunks as f64 / health.out_of_order_chunks as f64,
            first(&health.first_chunk_issue)
        ));
    }
    if health.invalid_chunks > 0 {
        issues.push(format!(
            "index: {} chunks with minTime after maxTime; first: {}",
            health.invalid_chunks,
            first(&health.first_chunk_issue)
        ));
    }
    issues
}

fn format_labels(labels: &[Label]) -> String {
    Labels::from_pairs(labels.iter().map(|l| (l.name.as_str(), l.value.as_str()))).to_string()
}

/// Walks every series: counts, chunks outside the block range, and each chunk's CRC.
fn walk_chunks(
    meta: &BlockMeta,
    index: &IndexReader,
    chunks: Option<&ChunkSegmentReader>,
) -> tsdb_format::Result<ChunkWalk> {
    let mut walk = ChunkWalk { samples: Some(0), ..ChunkWalk::default() };
    let mut labels: Vec<Label> = Vec::new();
    let mut metas: Vec<ChunkMeta> = Vec::new();
    for series_ref in index.all_postings()?.iter() {
        index.series_into(series_ref, &mut labels, &mut metas)?;
        walk.series += 1;
        for chunk in &metas {
            walk.chunks += 1;
            // Chunk max times are inclusive, the block's is exclusive.
            if chunk.min_time < meta.min_time || chunk.max_time >= meta.max_time {
                walk.outside_chunks += 1;
                walk.first_outside.get_or_insert_with(|| {
                    format!("{} [{}, {}]", format_labels(&labels), chunk.min_time, chunk.max_time)
                });
            }
            let Some(reader) = chunks else { continue };
            match reader.chunk(chunk.chunk_ref) {
                Ok((Encoding::Xor, data)) if data.len() >= 2 => {
                    if let Some(samples) = walk.samples.as_mut() {
                        *samples += u64::from(u16::from_be_bytes([data[0], data[1]]));
                    }
                }
                Ok(_) => walk.samples = None,
                Err(e) => {
                    walk.bad_chunks += 1;
                    walk.first_bad_chunk
                        .get_or_insert_with(|| format!("series {}: {e}", format_labels(&labels)));
                }
            }
        }
    }
    Ok(walk)
}
