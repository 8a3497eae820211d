//! The TSDB directory as the shipper sees it: finished blocks, and the hard-linked copy of one
//! block that is uploaded so that Prometheus may compact or delete the original meanwhile.

use std::path::{Path, PathBuf};

use tsdb_format::meta::BlockMeta;
use ulid::Ulid;

use super::ShipperError;
use crate::{BlockError, CHUNKS_DIRNAME, INDEX_FILENAME, META_FILENAME};

/// The blocks of a TSDB directory, oldest `minTime` first, and the names of block directories
/// whose metadata could not be read.
pub(super) struct LocalBlocks {
    pub(super) metas: Vec<BlockMeta>,
    pub(super) corrupted: Vec<(PathBuf, tsdb_format::Error)>,
}

/// Reads every block directory (a directory named by a ULID) of `tsdb_dir`. Prometheus' own
/// temporary directories (`<ULID>.tmp-for-creation`, …) are not ULIDs and are left out.
pub(super) fn blocks_from_oldest(tsdb_dir: &Path) -> Result<LocalBlocks, ShipperError> {
    let read_dir_error = |source| ShipperError::ReadDir { path: tsdb_dir.to_path_buf(), source };
    let mut metas = Vec::new();
    let mut corrupted = Vec::new();
    for entry in std::fs::read_dir(tsdb_dir).map_err(read_dir_error)? {
        let entry = entry.map_err(read_dir_error)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if Ulid::from_string(name).is_err() {
            continue;
        }
        let dir = entry.path();
        // Follows symlinks, as Go's os.Stat does; a block deleted since the listing is skipped.
        match std::fs::metadata(&dir) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ShipperError::ReadDir { path: dir, source }),
        }
        match BlockMeta::read_from_dir(&dir) {
            Ok(meta) => metas.push(meta),
            Err(error) => corrupted.push((dir, error)),
        }
    }
    // Stable, so blocks with one minTime keep their (ULID) order run to run.
    metas.sort_by_key(|meta| (meta.min_time, meta.ulid));
    Ok(LocalBlocks { metas, corrupted })
}

/// A hard-linked copy of a block under `<tsdb>/thanos/upload/<ULID>`, removed on drop (also when
/// the upload future is dropped half-way).
pub(super) struct UploadDir {
    path: PathBuf,
}

impl UploadDir {
    /// Links `chunks/*`, `meta.json` and `index` of block `id` into a fresh upload directory.
    /// Tombstones are not linked: they are never uploaded.
    pub(super) fn link(tsdb_dir: &Path, id: Ulid) -> Result<Self, BlockError> {
        let path = tsdb_dir.join("thanos").join("upload").join(id.to_string());
        // A directory left by a crash is stale.
        remove_dir_all_if_exists(&path)?;
        let this = Self { path };
        let src = tsdb_dir.join(id.to_string());
        let chunks = this.path.join(CHUNKS_DIRNAME);
        std::fs::create_dir_all(&chunks).map_err(|e| BlockError::io(&chunks, e))?;
        let src_chunks = src.join(CHUNKS_DIRNAME);
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&src_chunks).map_err(|e| BlockError::io(&src_chunks, e))? {
            let entry = entry.map_err(|e| BlockError::io(&src_chunks, e))?;
            files.push(Path::new(CHUNKS_DIRNAME).join(entry.file_name()));
        }
        files.push(PathBuf::from(META_FILENAME));
        files.push(PathBuf::from(INDEX_FILENAME));
        for file in files {
            let from = src.join(&file);
            std::fs::hard_link(&from, this.path.join(&file)).map_err(|e| BlockError::io(&from, e))?;
        }
        Ok(this)
    }

    /// The block directory to upload.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for UploadDir {
    fn drop(&mut self) {
        if let Err(error) = remove_dir_all_if_exists(&self.path) {
            tracing::error!(%error, "failed to clean upload directory");
        }
    }
}

fn remove_dir_all_if_exists(path: &Path) -> Result<(), BlockError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BlockError::io(path, e)),
    }
}
