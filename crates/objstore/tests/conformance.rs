//! Every backend, and the prefix decorator over each, passes the same conformance suite.

use std::sync::Arc;

use objstore::conformance::{ConformanceOptions, run_conformance};
use objstore::testing::{S3sFsServer, SECRET_KEY, test_client_options};
use objstore::{Bucket, BucketConfig, FilesystemBucket, PrefixedBucket, S3Bucket};

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
fn s3_bucket_from_yaml(server: &S3sFsServer, bucket: &str, prefix: &str) -> Arc<dyn Bucket> {
    let yaml = format!("{}prefix: {prefix:?}\n", server.config_yaml(bucket, SECRET_KEY));
    BucketConfig::from_yaml(&yaml)
        .expect("valid YAML")
        .build_with(&test_client_options())
        .expect("build the S3 bucket")
}

#[tokio::test]
async fn s3_bucket_conforms() {
    let server = S3sFsServer::start();
    S3Bucket::new(&server.s3_config("conformance", SECRET_KEY), test_client_options())
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
    let server = S3sFsServer::start();
    let raw =
        S3Bucket::new(&server.s3_config("prefixed", SECRET_KEY), test_client_options()).expect("client");
    raw.create_bucket().await.expect("create bucket");
    raw.put("outside/prefix", "x".into()).await.expect("put outside the prefix");
    let bucket = s3_bucket_from_yaml(&server, "prefixed", "tenant/a");
    run_conformance(bucket, ConformanceOptions::default()).await;
    assert_eq!(raw.list("", true).await.expect("list"), ["outside/prefix"]);
}
