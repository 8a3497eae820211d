//! A decorator that keeps every key of a bucket under a fixed prefix (Thanos' top-level `prefix:`).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{ObjstoreError, Result};
use crate::key::{DIR_DELIM, dir_prefix};
use crate::{Bucket, ObjectAttributes};

/// Stores key `k` of its callers as `<prefix>/k` in the inner bucket, and lists only below it.
#[derive(Debug, Clone)]
pub struct PrefixedBucket {
    inner: Arc<dyn Bucket>,
    /// Normalized to end with `/`, never empty.
    prefix: String,
}

impl PrefixedBucket {
    /// Wraps `inner`; slashes around `prefix` are ignored, as in Thanos.
    ///
    /// An empty prefix is a configuration error: use the inner bucket directly instead.
    pub fn new(inner: Arc<dyn Bucket>, prefix: &str) -> Result<Self> {
        let trimmed = prefix.trim_matches(DIR_DELIM);
        if trimmed.is_empty() {
            return Err(ObjstoreError::Config(format!(
                "bucket prefix {prefix:?} is empty after trimming '/'"
            )));
        }
        let normalized = dir_prefix(trimmed)
            .map_err(|error| ObjstoreError::Config(format!("invalid bucket prefix: {error}")))?;
        Ok(Self { inner, prefix: normalized })
    }

    /// The prefix, ending with `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

#[async_trait]
impl Bucket for PrefixedBucket {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        self.inner.get(&self.full_key(key)).await
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes> {
        self.inner.get_range(&self.full_key(key), offset, len).await
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        self.inner.put(&self.full_key(key), data).await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<()> {
        self.inner.put_file(&self.full_key(key), path).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(&self.full_key(key)).await
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        self.inner.exists(&self.full_key(key)).await
    }

    async fn attributes(&self, key: &str) -> Result<ObjectAttributes> {
        self.inner.attributes(&self.full_key(key)).await
    }

    async fn list(&self, prefix: &str, recursive: bool) -> Result<Vec<String>> {
        let inner_prefix = format!("{}{}", self.prefix, dir_prefix(prefix)?);
        let keys = self.inner.list(&inner_prefix, recursive).await?;
        Ok(keys.into_iter().filter_map(|key| key.strip_prefix(&self.prefix).map(str::to_owned)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FilesystemBucket;

    #[tokio::test]
    async fn keys_land_under_the_prefix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner: Arc<dyn Bucket> = Arc::new(FilesystemBucket::new(dir.path()).expect("open"));
        let prefixed = PrefixedBucket::new(Arc::clone(&inner), "/tenant-a/").expect("prefix");
        assert_eq!(prefixed.prefix(), "tenant-a/");

        prefixed.put("x/y", Bytes::from_static(b"1")).await.expect("put");
        inner.put("outside", Bytes::from_static(b"2")).await.expect("put");

        assert_eq!(inner.get("tenant-a/x/y").await.expect("inner get"), "1");
        assert_eq!(prefixed.list("", true).await.expect("list"), ["x/y"]);
        assert_eq!(prefixed.list("", false).await.expect("list"), ["x/"]);
        assert!(prefixed.get("outside").await.expect_err("hidden").is_not_found());
    }

    #[test]
    fn empty_and_escaping_prefixes_are_config_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner: Arc<dyn Bucket> = Arc::new(FilesystemBucket::new(dir.path()).expect("open"));
        for prefix in ["", "/", "a/../.."] {
            let error = PrefixedBucket::new(Arc::clone(&inner), prefix).expect_err(prefix);
            assert!(matches!(error, ObjstoreError::Config(_)), "{prefix}: {error}");
        }
    }
}
