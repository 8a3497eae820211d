//! How the S3 bucket fails: rejected credentials, a missing bucket, an outage and a stalled server.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use objstore::testing::{S3sFsServer, SECRET_KEY, test_client_options};
use objstore::{Bucket, ObjstoreError, RetryPolicy, S3Bucket, S3ClientOptions};

/// Options whose first retry would sleep 1 s, so a fast answer proves there was no retry.
fn slow_retry_options() -> S3ClientOptions {
    S3ClientOptions {
        retry: RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(1),
        },
        ..test_client_options()
    }
}

#[tokio::test]
async fn wrong_secret_is_a_clear_auth_error_without_retries() {
    let server = S3sFsServer::start();
    let good = S3Bucket::new(&server.s3_config("auth", SECRET_KEY), test_client_options()).expect("client");
    good.create_bucket().await.expect("create bucket");
    good.put("object", "x".into()).await.expect("put");

    let bad =
        S3Bucket::new(&server.s3_config("auth", "not-the-secret"), slow_retry_options()).expect("client");
    let started = Instant::now();
    let errors = [
        bad.get("object").await.expect_err("get"),
        bad.exists("object").await.expect_err("exists"),
        bad.put("other", "y".into()).await.expect_err("put"),
        bad.list("", true).await.expect_err("list"),
    ];
    assert!(started.elapsed() < Duration::from_secs(1), "auth errors must not be retried");
    for error in &errors {
        assert!(error.is_auth(), "expected Auth, got {error:?}");
    }
    let message = errors[0].to_string();
    eprintln!("wrong secret: {message}");
    assert!(message.contains("SignatureDoesNotMatch"), "{message}");
    assert!(message.contains("rejected the credentials"), "{message}");
}

#[tokio::test]
async fn missing_bucket_is_a_config_error() {
    let server = S3sFsServer::start();
    let bucket =
        S3Bucket::new(&server.s3_config("never-created", SECRET_KEY), slow_retry_options()).expect("client");
    let error = bucket.list("", true).await.expect_err("list of a missing bucket");
    assert!(matches!(error, ObjstoreError::Config(_)), "{error:?}");
    assert!(error.to_string().contains("NoSuchBucket"), "{error}");
    // Not checked: GetObject in a missing bucket, which s3s-fs answers with NoSuchKey.
}

#[tokio::test]
async fn outage_is_unavailable_after_bounded_retries_then_recovers() {
    let mut server = S3sFsServer::start();
    let bucket =
        S3Bucket::new(&server.s3_config("outage", SECRET_KEY), test_client_options()).expect("client");
    bucket.create_bucket().await.expect("create bucket");
    bucket.put("blocks/meta.json", "{}".into()).await.expect("put before the outage");

    server.stop();
    let started = Instant::now();
    let error = bucket.get("blocks/meta.json").await.expect_err("get during the outage");
    let elapsed = started.elapsed();
    assert!(
        matches!(error, ObjstoreError::Unavailable { after_attempts: 5, .. }),
        "expected Unavailable after 5 attempts, got {error:?}"
    );
    // 50 + 100 + 200 + 400 ms of backoff; connection refused is immediate.
    assert!(elapsed >= Duration::from_millis(700), "backoff was skipped: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "retries must be bounded: {elapsed:?}");
    let message = error.to_string();
    assert!(message.contains("after 5 attempts"), "{message}");
    eprintln!("outage detected in {elapsed:?}: {message}");

    server.restart();
    let recovered = bucket.get("blocks/meta.json").await.expect("get after the restart");
    assert_eq!(recovered, "{}");
    bucket.put("blocks/after", "y".into()).await.expect("put after the restart");
    assert_eq!(bucket.list("blocks", false).await.expect("list"), ["blocks/after", "blocks/meta.json"]);
}

#[tokio::test]
async fn stalled_server_times_out_into_unavailable() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let config = objstore::S3Config {
        bucket: "stalled".to_owned(),
        endpoint: format!("127.0.0.1:{port}"),
        access_key: "k".to_owned(),
        secret_key: "s".to_owned(),
        insecure: true,
        ..objstore::S3Config::default()
    };
    let options = S3ClientOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(100),
        },
        read_timeout: Some(Duration::from_millis(300)),
        ..test_client_options()
    };
    let bucket = S3Bucket::new(&config, options).expect("client");
    let started = Instant::now();
    let error = bucket.get("anything").await.expect_err("get from a stalled server");
    let elapsed = started.elapsed();
    assert!(
        matches!(error, ObjstoreError::Unavailable { after_attempts: 3, .. }),
        "expected Unavailable after 3 attempts, got {error:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "timeouts must bound the wait: {elapsed:?}");
}
