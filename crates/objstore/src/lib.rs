//! Object storage for thanos-rs behind one small, object-safe [`Bucket`] trait.
//!
//! Backends:
//! - [`FilesystemBucket`]: a directory on local disk (Thanos' `FILESYSTEM`), the embedded default.
//! - [`S3Bucket`]: any S3-compatible store through aws-sdk-s3 (Thanos' `S3`).
//! - [`PrefixedBucket`]: a decorator that places every key under a prefix (Thanos' `prefix:`).
//!
//! Buckets are built from Thanos' objstore YAML with [`bucket_from_config_yaml`]:
//!
//! ```
//! # fn main() -> Result<(), objstore::ObjstoreError> {
//! let dir = tempfile::tempdir().expect("tempdir");
//! let yaml = format!("type: FILESYSTEM\nconfig:\n  directory: {}\n", dir.path().display());
//! let bucket = objstore::bucket_from_config_yaml(&yaml)?;
//! assert_eq!(bucket.name(), "fs");
//! # Ok(())
//! # }
//! ```
//!
//! Keys are `/`-separated like S3 keys. Listings follow Thanos' `Iter`: a non-recursive listing
//! returns the direct children of a "directory", and child directories end with `/`.
//!
//! Metrics seam: a decorator implementing [`Bucket`] (like [`PrefixedBucket`]) can count
//! operations and errors with the `metrics` crate without touching the backends.

mod config;
#[cfg(feature = "testing")]
pub mod conformance;
mod error;
mod filesystem;
mod key;
mod prefix;
mod retry;
mod s3;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::Path;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;

pub use config::{
    BucketConfig, FilesystemConfig, ProviderConfig, S3Config, SseConfig, TraceConfig,
    bucket_from_config_yaml, bucket_from_config_yaml_file,
};
pub use error::{BoxError, ObjstoreError, Result};
pub use filesystem::FilesystemBucket;
pub use prefix::PrefixedBucket;
pub use retry::RetryPolicy;
pub use s3::{S3Bucket, S3ClientOptions};

/// Size and modification time of a stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectAttributes {
    /// Length of the object in bytes.
    pub size: u64,
    /// When the object was last written.
    pub last_modified: SystemTime,
}

/// A flat namespace of objects addressed by `/`-separated keys.
///
/// Implementations are cheap to share as `Arc<dyn Bucket>`. Every method is a complete operation:
/// a returned error means the operation did not take effect, or (for `delete`) may have.
#[async_trait]
pub trait Bucket: Send + Sync + std::fmt::Debug {
    /// A short name for logs: the S3 bucket name, or `fs` for the filesystem.
    fn name(&self) -> &str;

    /// Reads a whole object.
    async fn get(&self, key: &str) -> Result<Bytes>;

    /// Reads up to `len` bytes starting at `offset`.
    ///
    /// Like S3, a range running past the end returns the bytes that exist; an `offset` at or past
    /// the end returns no bytes. A missing object is [`ObjstoreError::NotFound`].
    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes>;

    /// Writes an object, replacing any previous one. Readers never see a partial object.
    async fn put(&self, key: &str, data: Bytes) -> Result<()>;

    /// Writes an object from a local file, streaming it (multipart on S3 for large files).
    async fn put_file(&self, key: &str, path: &Path) -> Result<()>;

    /// Deletes an object. Deleting a missing object succeeds, as on S3.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Whether an object exists at exactly this key.
    ///
    /// By default [`Bucket::attributes`], with [`ObjstoreError::NotFound`] as `false`; a backend with
    /// a cheaper check overrides it.
    async fn exists(&self, key: &str) -> Result<bool> {
        match self.attributes(key).await {
            Ok(_) => Ok(true),
            Err(error) if error.is_not_found() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Size and modification time of an object.
    async fn attributes(&self, key: &str) -> Result<ObjectAttributes>;

    /// Lists keys under the "directory" `prefix`, sorted.
    ///
    /// `prefix` is taken as a directory: `"a"` and `"a/"` both list what is inside `a/`, and `""`
    /// lists the whole bucket. With `recursive` all object keys below are returned; without it only
    /// direct children, where child directories are returned once, ending with `/` (`"a/b/"`).
    async fn list(&self, prefix: &str, recursive: bool) -> Result<Vec<String>>;
}
