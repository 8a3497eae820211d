//! Every backend, and the prefix decorator over each, passes the same conformance suite.

mod s3s_fs;

use std::sync::Arc;

use objstore::conformance::{ConformanceOptions, run_conformance};
use objstore::{Bucket, BucketConfig, FilesystemBucket, PrefixedBucket, S3Bucket};

use crate::s3s_fs::{ACCESS_KEY, S3sFs, SECRET_KEY, test_options};

#[tokio::test]
async fn filesystem_bucket_conforms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bucket = Arc::new(FilesystemBucket::new(dir.path()).expect("open bucket"));
    run_conformance(bucket, ConformanceOptions::default()).await;
}

#[tokio::test]
async fn prefixed_filesystem_bucket_conforms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner: Arc<dyn Bucket> = Arc::new(FilesystemBucket::new(dir.path()).expect("open bucket"));
    inner.put("outside/prefix", "x".into()).await.expect("put outside the prefix");
    let bucket = Arc::new(PrefixedBucket::new(Arc::clone(&inner), "tenant/a").expect("prefix"));
    run_conformance(bucket, ConformanceOptions::default()).await;
    assert_eq!(inner.list("", true).await.expect("list"), ["outside/prefix"]);
}

/// Builds the S3 bucket from Thanos YAML, as `--objstore.config` would.
fn s3_bucket_from_yaml(server: &S3sFs, bucket: &str, prefix: &str) -> Arc<dyn Bucket> {
    let yaml = format!(
        "type: S3\nconfig:\n  bucket: {bucket}\n  endpoint: {endpoint}\n  access_key: {ACCESS_KEY}\n  \
         secret_key: {SECRET_KEY}\n  insecure: true\n  part_size: 5242880\nprefix: {prefix:?}\n",
        endpoint = server.endpoint(),
    );
    BucketConfig::from_yaml(&yaml)
        .expect("valid YAML")
        .build_with(&test_options())
        .expect("build the S3 bucket")
}

#[tokio::test]
async fn s3_bucket_conforms() {
    let server = S3sFs::start();
    S3Bucket::new(&server.config("conformance", SECRET_KEY), test_options())
        .expect("client")
        .create_bucket()
        .await
        .expect("create bucket");
    let bucket = s3_bucket_from_yaml(&server, "conformance", "");
    assert_eq!(bucket.name(), "conformance");
    run_conformance(bucket, ConformanceOptions::default()).await;
}

#[tokio::test]
async fn prefixed_s3_bucket_conforms() {
    let server = S3sFs::start();
    let raw = S3Bucket::new(&server.config("prefixed", SECRET_KEY), test_options()).expect("client");
    raw.create_bucket().await.expect("create bucket");
    raw.put("outside/prefix", "x".into()).await.expect("put outside the prefix");
    let bucket = s3_bucket_from_yaml(&server, "prefixed", "tenant/a");
    run_conformance(bucket, ConformanceOptions::default()).await;
    assert_eq!(raw.list("", true).await.expect("list"), ["outside/prefix"]);
}
