//! A [`Bucket`] decorator counting operations as Thanos' `objstore.WrapWithMetrics` does:
//! `thanos_objstore_bucket_operations_total{bucket,operation}`,
//! `thanos_objstore_bucket_operation_failures_total{bucket,operation}` and
//! `thanos_objstore_bucket_operation_duration_seconds{bucket,operation}`.
//!
//! Belongs in `objstore` once two binaries need it.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use objstore::{Bucket, ObjectAttributes, Result};

/// Counter: operations started, by operation.
pub(crate) const OPERATIONS_TOTAL: &str = "thanos_objstore_bucket_operations_total";
/// Counter: operations that failed (a missing object is not a failure, as in Thanos).
pub(crate) const OPERATION_FAILURES_TOTAL: &str = "thanos_objstore_bucket_operation_failures_total";
/// Histogram: operation latency.
pub(crate) const OPERATION_DURATION_SECONDS: &str = "thanos_objstore_bucket_operation_duration_seconds";

/// Thanos' operation names.
const OPERATIONS: [&str; 7] = ["get", "get_range", "iter", "exists", "attributes", "upload", "delete"];

/// Counts every operation of the wrapped bucket.
#[derive(Debug)]
pub(crate) struct InstrumentedBucket {
    inner: Arc<dyn Bucket>,
    name: String,
}

impl InstrumentedBucket {
    /// Wraps `inner`; every operation name is reported at zero from the start.
    pub(crate) fn new(inner: Arc<dyn Bucket>) -> Self {
        let name = inner.name().to_owned();
        for operation in OPERATIONS {
            metrics::counter!(OPERATIONS_TOTAL, "bucket" => name.clone(), "operation" => operation)
                .absolute(0);
            metrics::counter!(OPERATION_FAILURES_TOTAL, "bucket" => name.clone(), "operation" => operation)
                .absolute(0);
        }
        Self { inner, name }
    }

    async fn observe<T>(&self, operation: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
        let start = Instant::now();
        metrics::counter!(OPERATIONS_TOTAL, "bucket" => self.name.clone(), "operation" => operation)
            .increment(1);
        let result = call.await;
        metrics::histogram!(OPERATION_DURATION_SECONDS, "bucket" => self.name.clone(), "operation" => operation)
            .record(start.elapsed().as_secs_f64());
        if let Err(error) = &result
            && !error.is_not_found()
        {
            metrics::counter!(OPERATION_FAILURES_TOTAL, "bucket" => self.name.clone(), "operation" => operation)
                .increment(1);
        }
        result
    }
}

#[async_trait]
impl Bucket for InstrumentedBucket {
    fn name(&self) -> &str {
        &self.name
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        self.observe("get", self.inner.get(key)).await
    }

    async fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Bytes> {
        self.observe("get_range", self.inner.get_range(key, offset, len)).await
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        self.observe("upload", self.inner.put(key, data)).await
    }

    async fn put_file(&self, key: &str, path: &Path) -> Result<()> {
        self.observe("upload", self.inner.put_file(key, path)).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.observe("delete", self.inner.delete(key)).await
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        self.observe("exists", self.inner.exists(key)).await
    }

    async fn attributes(&self, key: &str) -> Result<ObjectAttributes> {
        self.observe("attributes", self.inner.attributes(key)).await
    }

    async fn list(&self, prefix: &str, recursive: bool) -> Result<Vec<String>> {
        self.observe("iter", self.inner.list(prefix, recursive)).await
    }
}
