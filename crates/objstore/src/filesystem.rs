//! A bucket in a local directory: Thanos' `FILESYSTEM` provider.
//!
//! Key `a/b/c` lives at `<root>/a/b/c`. Writes go to a temporary file in the destination directory,
//! are fsynced, then renamed over the destination, so readers see the old object or the new one,
//! never a partial one. Temporary files (`.objstore-tmp-*`) left by a crash are invisible: they are
//! skipped by listings and cannot be named by a key. Deleting the last object of a directory removes
//! the empty directories above it, up to the root, as Thanos does.
//!
//! File I/O is blocking, so each operation runs on tokio's blocking pool.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{ObjstoreError, Result};
use crate::key::{DIR_DELIM, TEMP_FILE_PREFIX, dir_prefix, validate_key};
use crate::{Bucket, ObjectAttributes};

/// A bucket stored as files below a root directory.
#[derive(Debug, Clone)]
pub struct FilesystemBucket {
    root: PathBuf,
}

impl FilesystemBucket {
    /// Opens (creating if needed) the bucket rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|source| ObjstoreError::io(root.display().to_string(), source))?;
        Ok(Self { root })
    }

    /// The directory the bucket lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_path(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    /// Runs blocking file I/O off the async reactor.
    async fn blocking<T, F>(&self, key: &str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        match tokio::task::spawn_blocking(work).await {
            Ok(result) => result,
            Err(join_error) => Err(ObjstoreError::Other {
                operation: "filesystem task",
                key: key.to_owned(),
                source: Box::new(join_error),
            }),
        }
    }
}

/// Maps an I/O error on an object to our kinds: a missing file (or a directory where an object was
/// expected) is `NotFound`.
fn object_io_error(key: &str, error: io::Error) -> ObjstoreError {
    match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::IsADirectory | io::ErrorKind::NotADirectory => {
            ObjstoreError::NotFound { key: key.to_owned() }
        }
        _ => ObjstoreError::io(key, error),
    }
}

/// Opens the regular file of an object; directories count as missing objects.
fn open_object(key: &str, path: &Path) -> Result<File> {
    let file = File::open(path).map_err(|error| object_io_error(key, error))?;
    let metadata = file.metadata().map_err(|error| object_io_error(key, error))?;
    if !metadata.is_file() {
        return Err(ObjstoreError::NotFound { key: key.to_owned() });
    }
    Ok(file)
}

/// Writes an object atomically: fill a temp file beside the destination, fsync, rename, fsync dir.
fn write_atomically(key: &str, path: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> Result<()> {
    let dir = path.parent().expect("an object path always has its root as an ancestor");
    let io_error = |error| ObjstoreError::io(key, error);
    // A concurrent delete may remove the directory between creating it and creating the temp
    // file in it; creating it again once is enough to win that race.
    let mut temp = match create_temp_in(dir) {
        Ok(temp) => temp,
        Err(error) if error.kind() == io::ErrorKind::NotFound => create_temp_in(dir).map_err(io_error)?,
        Err(error) => return Err(io_error(error)),
    };
    fill(temp.as_file_mut()).map_err(io_error)?;
    temp.as_file().sync_all().map_err(io_error)?;
    temp.persist(path).map_err(|error| io_error(error.error))?;
    // Make the rename itself durable.
    File::open(dir).and_then(|dir_file| dir_file.sync_all()).map_err(io_error)?;
    Ok(())
}

fn create_temp_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    fs::create_dir_all(dir)?;
    tempfile::Builder::new().prefix(TEMP_FILE_PREFIX).tempfile_in(dir)
}

fn is_temp_file(name: &str) -> bool {
    name.starts_with(TEMP_FILE_PREFIX)
}

/// Removes `dir` and its ancestors while they are empty, stopping at `root`.
fn remove_empty_dirs(root: &Path, mut dir: &Path) {
    while dir != root && dir.starts_with(root) {
        // Fails when the directory is not empty (or already gone): either way we are done.
        if fs::remove_dir(dir).is_err() {
            return;
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => return,
        }
    }
}

/// Whether `dir` holds at least one object somewhere below it (temp files do not count).
fn has_visible_object(dir: &Path) -> io::Result<bool> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            if has_visible_object(&entry.path())? {
                return Ok(true);
            }
        } else if !is_temp_file(&entry.file_name().to_string_lossy()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Appends the keys below `dir` (whose key prefix is `key_prefix`, ending in `/` or empty).
fn list_dir(dir: &Path, key_prefix: &str, recursive: bool, keys: &mut Vec<String>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        // Listing a missing or non-directory prefix finds nothing, as on S3.
        Err(error) if matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().into_string().map_err(|name| {
            io::Error::new(io::ErrorKind::InvalidData, format!("non-UTF-8 file name {name:?}"))
        })?;
        if is_temp_file(&name) {
            continue;
        }
        let key = format!("{key_prefix}{name}");
        if entry.file_type()?.is_dir() {
            if recursive {
                list_dir(&entry.path(), &format!("{key}{DIR_DELIM}"), true, keys)?;
            } else if has_visible_object(&entry.path())? {
                keys.push(format!("{key}{DIR_DELIM}"));
            }
        } else {
            keys.push(key);
        }
    }
    Ok(())
}

#[async_trait]
impl Bucket for FilesystemBucket {
    fn name(&self) -> &str {
        "fs"
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        let path = self.object_path(key)?;
        let owned_key = key.to_owned();
        self.blocking(key, move || {
            let mut file = open_object(&owned_key, &path)?;
            let mut data = Vec::new();
            file.read_to_end(&mut data).map_err(|error| object_io_error(&owned_key, error))?;
            Ok(Bytes::from(data))
        })
        .await
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes> {
        let path = self.object_path(key)?;
        let owned_key = key.to_owned();
        self.blocking(key, move || {
            let io_error = |error| object_io_error(&owned_key, error);
            let mut file = open_object(&owned_key, &path)?;
            let size = file.metadata().map_err(io_error)?.len();
            let available = size.saturating_sub(offset).min(len);
            if available == 0 {
                return Ok(Bytes::new());
            }
            file.seek(SeekFrom::Start(offset)).map_err(io_error)?;
            let mut data = Vec::with_capacity(usize::try_from(available).unwrap_or(0));
            file.take(available).read_to_end(&mut data).map_err(io_error)?;
            Ok(Bytes::from(data))
        })
        .await
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        let path = self.object_path(key)?;
        let owned_key = key.to_owned();
        self.blocking(key, move || write_atomically(&owned_key, &path, |file| file.write_all(&data))).await
    }

    async fn put_file(&self, key: &str, source: &Path) -> Result<()> {
        let path = self.object_path(key)?;
        let owned_key = key.to_owned();
        let source = source.to_owned();
        self.blocking(key, move || {
            let mut reader = File::open(&source)
                .map_err(|error| ObjstoreError::io(source.display().to_string(), error))?;
            write_atomically(&owned_key, &path, |file| io::copy(&mut reader, file).map(drop))
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let path = self.object_path(key)?;
        let root = self.root.clone();
        let owned_key = key.to_owned();
        self.blocking(key, move || {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(error) => return Err(ObjstoreError::io(owned_key, error)),
            }
            if let Some(parent) = path.parent() {
                remove_empty_dirs(&root, parent);
            }
            Ok(())
        })
        .await
    }

    async fn attributes(&self, key: &str) -> Result<ObjectAttributes> {
        let path = self.object_path(key)?;
        let owned_key = key.to_owned();
        self.blocking(key, move || {
            let metadata = fs::metadata(&path).map_err(|error| object_io_error(&owned_key, error))?;
            if !metadata.is_file() {
                return Err(ObjstoreError::NotFound { key: owned_key });
            }
            let last_modified = metadata.modified().map_err(|error| ObjstoreError::io(&owned_key, error))?;
            Ok(ObjectAttributes { size: metadata.len(), last_modified })
        })
        .await
    }

    async fn list(&self, prefix: &str, recursive: bool) -> Result<Vec<String>> {
        let key_prefix = dir_prefix(prefix)?;
        let dir = self.root.join(&key_prefix);
        self.blocking(prefix, move || {
            let mut keys = Vec::new();
            list_dir(&dir, &key_prefix, recursive, &mut keys)
                .map_err(|error| ObjstoreError::io(key_prefix.clone(), error))?;
            keys.sort();
            Ok(keys)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> (tempfile::TempDir, FilesystemBucket) {
        let dir = tempfile::tempdir().expect("tempdir");
        let bucket = FilesystemBucket::new(dir.path()).expect("open bucket");
        (dir, bucket)
    }

    #[tokio::test]
    async fn interrupted_put_is_never_visible() {
        let (dir, bucket) = bucket();
        bucket.put("blocks/01A/meta.json", Bytes::from_static(b"old")).await.expect("put");
        // A crash mid-put leaves a temp file beside the destination, and in a fresh directory.
        fs::write(dir.path().join("blocks/01A/.objstore-tmp-abc"), b"half").expect("temp");
        fs::create_dir_all(dir.path().join("blocks/01B")).expect("dir");
        fs::write(dir.path().join("blocks/01B/.objstore-tmp-def"), b"half").expect("temp");

        assert_eq!(bucket.get("blocks/01A/meta.json").await.expect("get"), "old");
        assert_eq!(bucket.list("", true).await.expect("list"), ["blocks/01A/meta.json"]);
        assert_eq!(bucket.list("blocks", false).await.expect("list"), ["blocks/01A/"]);
        assert_eq!(bucket.list("blocks/01A", false).await.expect("list"), ["blocks/01A/meta.json"]);
        let reserved = bucket.get("blocks/01A/.objstore-tmp-abc").await.expect_err("reserved");
        assert!(matches!(reserved, ObjstoreError::InvalidKey { .. }), "{reserved}");
    }

    #[tokio::test]
    async fn put_leaves_no_temp_files_behind() {
        let (dir, bucket) = bucket();
        bucket.put("a/b", Bytes::from_static(b"one")).await.expect("put");
        bucket.put("a/b", Bytes::from_static(b"two")).await.expect("overwrite");
        let names: Vec<_> = fs::read_dir(dir.path().join("a"))
            .expect("read_dir")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["b"]);
    }

    #[tokio::test]
    async fn delete_removes_empty_parents_but_not_root() {
        let (dir, bucket) = bucket();
        bucket.put("x/y/z", Bytes::from_static(b"1")).await.expect("put");
        bucket.put("x/w", Bytes::from_static(b"2")).await.expect("put");
        bucket.delete("x/y/z").await.expect("delete");
        assert!(!dir.path().join("x/y").exists());
        assert!(dir.path().join("x").exists());
        bucket.delete("x/w").await.expect("delete");
        assert!(!dir.path().join("x").exists());
        assert!(dir.path().exists());
    }

    #[tokio::test]
    async fn keys_escaping_the_root_are_rejected() {
        let (_dir, bucket) = bucket();
        for key in ["../escape", "a/../../b", "/abs"] {
            let error = bucket.put(key, Bytes::from_static(b"x")).await.expect_err(key);
            assert!(matches!(error, ObjstoreError::InvalidKey { .. }), "{key}: {error}");
        }
        assert!(bucket.list("../", true).await.is_err());
    }

    #[tokio::test]
    async fn a_directory_is_not_an_object() {
        let (_dir, bucket) = bucket();
        bucket.put("d/f", Bytes::from_static(b"1")).await.expect("put");
        assert!(bucket.get("d").await.expect_err("dir").is_not_found());
        assert!(!bucket.exists("d").await.expect("exists"));
        assert!(bucket.get("d/f/g").await.expect_err("under a file").is_not_found());
    }
}
