//! Uploading a local block directory in Thanos' safe order: `chunks/*`, `index`, `meta.json` last.
//!
//! Readers treat a block directory without `meta.json` as a partial upload and never read it, so
//! an upload interrupted at any point leaves nothing a reader could mistake for a whole block.
//! Like Thanos, tombstones are not uploaded and the local directory is left untouched: the
//! `thanos` section is added to the uploaded copy of `meta.json` only.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use objstore::Bucket;
use sha2::{Digest, Sha256};
use tsdb_format::Labels;
use tsdb_format::meta::{BlockFile, BlockMeta, ObjectHash};
use ulid::Ulid;

use crate::{
    BlockError, CHUNKS_DIRNAME, INDEX_FILENAME, META_FILENAME, Result, block_key, format_rfc3339_nanos,
};

/// Chunk segment files uploaded at once.
const UPLOAD_CONCURRENCY: usize = 5;

/// The hash recorded for each file in `thanos.files` (Thanos' `--hash-func`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashFunc {
    /// No hash (the default, `""`).
    #[default]
    None,
    /// SHA-256, recorded as `{"hashFunc":"SHA256","value":"<hex>"}`.
    Sha256,
}

impl HashFunc {
    /// Parses Thanos' flag values `""` and `"SHA256"`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "" => Some(Self::None),
            "SHA256" => Some(Self::Sha256),
            _ => None,
        }
    }
}

/// Uploads the block in `block_dir` (named by its ULID) to `bucket` and returns the uploaded meta.
///
/// `labels` are merged into the block's external labels (Thanos' shipper does the same) and the
/// result must not be empty. `source` becomes `thanos.source` (see [`crate::source`]). The
/// `thanos` section also gets `segment_files`, `files` (sorted, with sizes and optional hashes)
/// and `upload_time`; the downsampling resolution already in the local meta is kept.
pub async fn upload_block(
    bucket: &dyn Bucket,
    block_dir: &Path,
    labels: &Labels,
    source: &str,
    hash_func: HashFunc,
) -> Result<BlockMeta> {
    let id = block_dir_id(block_dir)?;
    let mut meta = BlockMeta::read_from_dir(block_dir)?;
    let mut thanos = meta.thanos.take().unwrap_or_default();
    for label in labels.iter() {
        thanos.labels.insert(label.name.clone(), label.value.clone());
    }
    if thanos.labels.is_empty() {
        return Err(BlockError::EmptyExternalLabels);
    }
    thanos.version = 1;
    thanos.source = source.to_string();
    let chunk_files = segment_files(block_dir).await?;
    thanos.segment_files = chunk_files.clone();
    thanos.files = gather_file_stats(block_dir, hash_func).await?;

    // Owned names: a closure over `&String` would make the future not `Send` (higher-ranked
    // lifetimes), and the shipper's pass must be spawnable.
    futures::stream::iter(chunk_files.into_iter().map(|name| {
        let local = block_dir.join(CHUNKS_DIRNAME).join(&name);
        let key = block_key(id, &format!("{CHUNKS_DIRNAME}/{name}"));
        async move {
            bucket
                .put_file(&key, &local)
                .await
                .map_err(|e| BlockError::bucket(id, format!("upload chunks: {}", local.display()), e))
        }
    }))
    .buffer_unordered(UPLOAD_CONCURRENCY)
    .try_collect::<()>()
    .await?;

    let index_path = block_dir.join(INDEX_FILENAME);
    bucket
        .put_file(&block_key(id, INDEX_FILENAME), &index_path)
        .await
        .map_err(|e| BlockError::bucket(id, "upload index", e))?;

    thanos.upload_time = format_rfc3339_nanos(SystemTime::now());
    meta.thanos = Some(thanos);
    // Last: once meta.json exists the block is complete for every reader.
    bucket
        .put(&block_key(id, META_FILENAME), Bytes::from(meta.to_json()))
        .await
        .map_err(|e| BlockError::bucket(id, "upload meta file", e))?;
    Ok(meta)
}

/// The ULID a block directory is named after.
fn block_dir_id(block_dir: &Path) -> Result<Ulid> {
    let not_a_block = |reason: String| BlockError::NotABlockDir { path: block_dir.to_path_buf(), reason };
    let metadata = std::fs::metadata(block_dir).map_err(|e| BlockError::io(block_dir, e))?;
    if !metadata.is_dir() {
        return Err(not_a_block("not a directory".to_string()));
    }
    let name = block_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| not_a_block("no directory name".to_string()))?;
    Ulid::from_string(name).map_err(|e| not_a_block(format!("{name:?} is not a ULID: {e}")))
}

/// Names of the files in `chunks/`, sorted (Thanos' `GetSegmentFiles`).
async fn segment_files(block_dir: &Path) -> Result<Vec<String>> {
    let chunks_dir = block_dir.join(CHUNKS_DIRNAME);
    let mut entries = tokio::fs::read_dir(&chunks_dir).await.map_err(|e| BlockError::io(&chunks_dir, e))?;
    let mut names = Vec::new();
    while let Some(entry) = entries.next_entry().await.map_err(|e| BlockError::io(&chunks_dir, e))? {
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Lists the block's files as Thanos records them in `thanos.files`: every file in `chunks/` and
/// `index` with their sizes (and hashes when asked), and `meta.json` without a size, sorted by
/// relative path.
pub async fn gather_file_stats(block_dir: &Path, hash_func: HashFunc) -> Result<Vec<BlockFile>> {
    let mut files = Vec::new();
    for name in segment_files(block_dir).await? {
        let rel_path = format!("{CHUNKS_DIRNAME}/{name}");
        files.push(file_stat(block_dir, rel_path, hash_func).await?);
    }
    files.push(file_stat(block_dir, INDEX_FILENAME.to_string(), hash_func).await?);
    let meta_path = block_dir.join(META_FILENAME);
    tokio::fs::metadata(&meta_path).await.map_err(|e| BlockError::io(&meta_path, e))?;
    files.push(BlockFile { rel_path: META_FILENAME.to_string(), size_bytes: 0, hash: None });
    files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    Ok(files)
}

async fn file_stat(block_dir: &Path, rel_path: String, hash_func: HashFunc) -> Result<BlockFile> {
    let path = block_dir.join(&rel_path);
    let metadata = tokio::fs::metadata(&path).await.map_err(|e| BlockError::io(&path, e))?;
    let hash = match hash_func {
        HashFunc::Sha256 if !metadata.is_dir() => Some(sha256_file(path).await?),
        _ => None,
    };
    Ok(BlockFile { rel_path, size_bytes: metadata.len() as i64, hash })
}

/// SHA-256 of a file, computed off the async reactor.
async fn sha256_file(path: PathBuf) -> Result<ObjectHash> {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = std::fs::File::open(&path).map_err(|e| BlockError::io(&path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf).map_err(|e| BlockError::io(&path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let value = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(ObjectHash { func: "SHA256".to_string(), value })
    })
    .await
    .expect("hashing task does not panic")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_blocks::write_block;

    #[tokio::test]
    async fn uploads_with_thanos_section_and_meta_last() {
        let local = tempfile::tempdir().unwrap();
        let (_store, bucket) = crate::test_blocks::temp_bucket();
        let id = crate::test_blocks::new_ulid();
        let dir = write_block(local.path(), id);
        let labels = Labels::from_pairs([("cluster", "a")]);
        let meta = upload_block(&bucket, &dir, &labels, crate::source::BUCKET_UPLOAD, HashFunc::Sha256)
            .await
            .unwrap();

        let thanos = meta.thanos.as_ref().unwrap();
        assert_eq!(thanos.labels.get("cluster").map(String::as_str), Some("a"));
        assert_eq!(thanos.source, "bucket.upload");
        assert_eq!(thanos.segment_files, vec!["000001"]);
        let paths: Vec<_> = thanos.files.iter().map(|f| (f.rel_path.as_str(), f.size_bytes)).collect();
        assert_eq!(paths, vec![("chunks/000001", 11), ("index", 11), ("meta.json", 0)]);
        assert_eq!(thanos.files[0].hash.as_ref().unwrap().value.len(), 64);
        assert!(thanos.upload_time.starts_with("20"), "{}", thanos.upload_time);

        let keys = bucket.list(&id.to_string(), true).await.unwrap();
        let want: Vec<String> =
            ["chunks/000001", "index", "meta.json"].iter().map(|f| format!("{id}/{f}")).collect();
        assert_eq!(keys, want, "tombstones are not uploaded");
        let uploaded = bucket.get(&block_key(id, META_FILENAME)).await.unwrap();
        let parsed = BlockMeta::from_json(&uploaded, Path::new("meta.json")).unwrap();
        assert_eq!(parsed, meta);
        // The local meta.json is left as it was.
        assert!(BlockMeta::read_from_dir(&dir).unwrap().thanos.is_none());
    }

    #[tokio::test]
    async fn refuses_empty_labels_and_stops_before_meta_on_failure() {
        let local = tempfile::tempdir().unwrap();
        let (_store, bucket) = crate::test_blocks::temp_bucket();
        let id = crate::test_blocks::new_ulid();
        let dir = write_block(local.path(), id);
        let err = upload_block(&bucket, &dir, &Labels::default(), "test", HashFunc::None).await.unwrap_err();
        assert_eq!(err.to_string(), "empty external labels are not allowed for Thanos block.");

        // An index that cannot be uploaded (a directory) fails after the chunks went up.
        std::fs::remove_file(dir.join(INDEX_FILENAME)).unwrap();
        std::fs::create_dir(dir.join(INDEX_FILENAME)).unwrap();
        let labels = Labels::from_pairs([("a", "b")]);
        let err = upload_block(&bucket, &dir, &labels, "test", HashFunc::None).await.unwrap_err();
        assert!(err.to_string().contains("upload index"), "{err}");
        assert!(!bucket.exists(&block_key(id, META_FILENAME)).await.unwrap());
        assert!(bucket.exists(&block_key(id, "chunks/000001")).await.unwrap());
    }

    #[tokio::test]
    async fn rejects_non_block_dirs() {
        let local = tempfile::tempdir().unwrap();
        let (_store, bucket) = crate::test_blocks::temp_bucket();
        let labels = Labels::from_pairs([("a", "b")]);
        let err = upload_block(&bucket, local.path(), &labels, "test", HashFunc::None).await.unwrap_err();
        assert!(matches!(err, BlockError::NotABlockDir { .. }), "{err}");
    }
}
