//! `bucket upload <dir>` and Thanos' `bucket upload-blocks --path=<dir>`.
//!
//! `<dir>` is one block directory (it holds `meta.json`) or a TSDB directory of blocks. Like
//! Thanos' shipper, blocks go oldest first; a TSDB directory's blocks without samples, or
//! compacted ones (unless `--shipper.upload-compacted`), are skipped, and so is every block whose
//! `meta.json` is already in the bucket. Unlike the shipper, no `thanos.shipper.json` is written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use block::{HashFunc, META_FILENAME, block_key};
use clap::Args;
use objstore::Bucket;
use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

/// Thanos' message when no external labels are given.
const NO_LABELS: &str = "no external labels configured, uniquely identifying external labels must be configured; \
     see https://thanos.io/tip/thanos/storage.md#external-labels for details.";

/// Flags of `bucket upload`.
#[derive(Debug, Args)]
pub(super) struct UploadArgs {
    /// A block directory, or a TSDB directory holding block directories.
    path: PathBuf,
    #[command(flatten)]
    pub(super) options: UploadOptions,
}

/// Flags of `bucket upload-blocks` (Thanos' spelling).
#[derive(Debug, Args)]
pub(super) struct UploadBlocksArgs {
    /// Path to the directory containing blocks to upload.
    #[arg(long = "path", default_value = "./data")]
    path: PathBuf,
    #[command(flatten)]
    pub(super) options: UploadOptions,
    /// Accepted for compatibility; files of one block go up a few at a time.
    #[arg(long = "shipper.upload-concurrency", default_value_t = 5)]
    _upload_concurrency: usize,
}

/// The flags `upload` and `upload-blocks` share.
#[derive(Debug, Args)]
pub(super) struct UploadOptions {
    /// External labels to add to the uploaded blocks (repeated), `name="value"` or `name=value`.
    #[arg(long = "label", value_name = "NAME=\"VALUE\"")]
    labels: Vec<String>,
    /// Hash recorded for each file in meta.json: "" (none) or "SHA256".
    #[arg(long = "hash-func", default_value = "", value_parser = ["", "SHA256"])]
    hash_func: String,
    /// Also upload compacted blocks (level > 1) found in a TSDB directory.
    #[arg(long = "shipper.upload-compacted")]
    upload_compacted: bool,
}

impl From<UploadBlocksArgs> for UploadArgs {
    fn from(args: UploadBlocksArgs) -> Self {
        Self { path: args.path, options: args.options }
    }
}

impl UploadOptions {
    /// Refuses to go on without labels, before any bucket is opened.
    pub(super) fn check_labels(&self) -> anyhow::Result<()> {
        if self.labels.is_empty() {
            bail!(NO_LABELS);
        }
        Ok(())
    }
}

/// A block directory found locally, with its meta.
struct LocalBlock {
    dir: PathBuf,
    meta: BlockMeta,
}

pub(super) async fn run(bucket: &dyn Bucket, args: UploadArgs) -> anyhow::Result<ExitCode> {
    let options = &args.options;
    options.check_labels()?;
    let labels = super::parse_flag_labels(&options.labels).context("unable to parse external labels")?;
    let hash_func = HashFunc::parse(&options.hash_func).context("unknown --hash-func")?;
    let metadata = std::fs::metadata(&args.path)
        .with_context(|| format!("unable to access path '{}'", args.path.display()))?;
    if !metadata.is_dir() {
        bail!("unable to access path '{}': not a directory", args.path.display());
    }

    let single_block = args.path.join(META_FILENAME).is_file();
    let blocks = if single_block { vec![read_local_block(&args.path)?] } else { scan_tsdb_dir(&args.path)? };

    let mut uploaded = 0;
    for local in blocks {
        let id = local.meta.ulid;
        if !single_block && local.meta.stats.num_samples == 0 {
            eprintln!("skipped {id}: block has no samples");
            continue;
        }
        if !single_block && local.meta.compaction.level > 1 && !options.upload_compacted {
            eprintln!(
                "skipped {id}: compacted (level {}); pass --shipper.upload-compacted",
                local.meta.compaction.level
            );
            continue;
        }
        let meta_key = block_key(id, META_FILENAME);
        if bucket.exists(&meta_key).await.with_context(|| format!("check exists {meta_key}"))? {
            println!("skipped {id}: already in the bucket");
            continue;
        }
        block::upload_block(bucket, &local.dir, &labels, block::source::BUCKET_UPLOAD, hash_func)
            .await
            .with_context(|| format!("upload {id}"))?;
        println!("uploaded {id}");
        uploaded += 1;
    }
    eprintln!("level=info msg=\"synced blocks\" uploaded={uploaded}");
    Ok(ExitCode::SUCCESS)
}

fn read_local_block(dir: &Path) -> anyhow::Result<LocalBlock> {
    let meta = BlockMeta::read_from_dir(dir).with_context(|| format!("read meta of {}", dir.display()))?;
    Ok(LocalBlock { dir: dir.to_path_buf(), meta })
}

/// Every block directory (named by a ULID, with meta.json) in `dir`, oldest minTime first.
fn scan_tsdb_dir(dir: &Path) -> anyhow::Result<Vec<LocalBlock>> {
    let mut blocks = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("read dir {}", dir.display()))? {
        let entry = entry.with_context(|| format!("read dir {}", dir.display()))?;
        let name = entry.file_name();
        let is_block_dir = entry.file_type().is_ok_and(|t| t.is_dir())
            && name.to_str().is_some_and(|n| Ulid::from_string(n).is_ok());
        if !is_block_dir {
            continue;
        }
        let path = entry.path();
        if !path.join(META_FILENAME).is_file() {
            eprintln!("skipped {}: no meta.json (block still being written?)", path.display());
            continue;
        }
        blocks.push(read_local_block(&path)?);
    }
    blocks.sort_by_key(|b| (b.meta.min_time, b.meta.ulid));
    Ok(blocks)
}
