//! Fake blocks on local disk for this crate's unit tests.

use std::path::{Path, PathBuf};

use tsdb_format::meta::{BlockMeta, BlockStats};
use ulid::Ulid;

use crate::{CHUNKS_DIRNAME, INDEX_FILENAME};

/// Writes a fake block `root/<id>`: meta.json, an 11-byte index, one 11-byte chunk segment and
/// tombstones.
pub(crate) fn write_block(root: &Path, id: Ulid) -> PathBuf {
    let dir = root.join(id.to_string());
    std::fs::create_dir_all(dir.join(CHUNKS_DIRNAME)).expect("mkdir chunks");
    std::fs::write(dir.join(CHUNKS_DIRNAME).join("000001"), b"chunks-data").expect("write chunks");
    std::fs::write(dir.join(INDEX_FILENAME), b"index-data!").expect("write index");
    std::fs::write(dir.join("tombstones"), b"t").expect("write tombstones");
    let stats = BlockStats { num_samples: 10, num_series: 1, num_chunks: 1, ..BlockStats::default() };
    BlockMeta::new_level1(id, 1000, 2000, stats).write_to_dir(&dir).expect("write meta");
    dir
}

/// A fresh ULID for a test: the current time and a process-wide counter (the `ulid` crate is
/// built without its random generator).
pub(crate) fn new_ulid() -> Ulid {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    Ulid::from_parts(now_ms, u128::from(COUNTER.fetch_add(1, Ordering::Relaxed)))
}

/// An empty filesystem bucket in a fresh temporary directory, which lives as long as the guard.
pub(crate) fn temp_bucket() -> (tempfile::TempDir, objstore::FilesystemBucket) {
    let store = tempfile::tempdir().expect("tempdir for the bucket");
    let bucket = objstore::FilesystemBucket::new(store.path()).expect("open the filesystem bucket");
    (store, bucket)
}
