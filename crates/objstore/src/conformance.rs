//! The behaviour every [`Bucket`] must show, as one test suite that each backend runs.
//!
//! Enabled by the `testing` feature. The suite panics on the first deviation, naming the check.
//! It needs an empty bucket and leaves it empty.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::{Bucket, ObjstoreError};

/// Knobs of the conformance suite.
#[derive(Debug, Clone, Copy)]
pub struct ConformanceOptions {
    /// Size of the object uploaded with `put_file` to exercise multipart uploads; make it larger
    /// than the S3 part size under test.
    pub large_object_size: usize,
}

impl Default for ConformanceOptions {
    /// 12 MiB: three parts with a 5 MiB part size.
    fn default() -> Self {
        Self { large_object_size: 12 * 1024 * 1024 }
    }
}

/// Runs every check against `bucket`, which must be empty.
pub async fn run_conformance(bucket: Arc<dyn Bucket>, options: ConformanceOptions) {
    let bucket = bucket.as_ref();
    assert_eq!(list(bucket, "", true).await, Vec::<String>::new(), "the bucket must start empty");
    put_get_and_overwrite(bucket).await;
    ranged_reads(bucket).await;
    attributes_and_exists(bucket).await;
    missing_objects(bucket).await;
    listing(bucket).await;
    put_file_small_and_large(bucket, options).await;
    special_characters(bucket).await;
    assert_eq!(list(bucket, "", true).await, Vec::<String>::new(), "the suite must leave the bucket empty");
    assert_eq!(list(bucket, "", false).await, Vec::<String>::new(), "no empty directories may remain");
}

/// Deterministic, non-repeating-looking bytes so misplaced ranges show up.
pub fn test_pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 9)) as u8).collect()
}

async fn list(bucket: &dyn Bucket, prefix: &str, recursive: bool) -> Vec<String> {
    bucket
        .list(prefix, recursive)
        .await
        .unwrap_or_else(|error| panic!("list({prefix:?}, recursive={recursive}): {error}"))
}

async fn put(bucket: &dyn Bucket, key: &str, data: impl Into<Bytes>) {
    bucket.put(key, data.into()).await.unwrap_or_else(|error| panic!("put {key:?}: {error}"));
}

async fn get(bucket: &dyn Bucket, key: &str) -> Bytes {
    bucket.get(key).await.unwrap_or_else(|error| panic!("get {key:?}: {error}"))
}

async fn get_range(bucket: &dyn Bucket, key: &str, offset: u64, len: u64) -> Bytes {
    bucket
        .get_range(key, offset, len)
        .await
        .unwrap_or_else(|error| panic!("get_range {key:?} {offset}+{len}: {error}"))
}

async fn delete(bucket: &dyn Bucket, key: &str) {
    bucket.delete(key).await.unwrap_or_else(|error| panic!("delete {key:?}: {error}"));
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, ObjstoreError>, what: &str) {
    match result {
        Err(error) if error.is_not_found() => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

async fn put_get_and_overwrite(bucket: &dyn Bucket) {
    put(bucket, "basic/object", "first version").await;
    assert_eq!(get(bucket, "basic/object").await, "first version");
    put(bucket, "basic/object", "second").await;
    assert_eq!(get(bucket, "basic/object").await, "second", "an overwrite replaces the whole object");

    put(bucket, "basic/empty", Bytes::new()).await;
    assert_eq!(get(bucket, "basic/empty").await, "", "empty objects round-trip");

    delete(bucket, "basic/object").await;
    assert_not_found(bucket.get("basic/object").await, "get after delete");
    assert!(!bucket.exists("basic/object").await.expect("exists after delete"));
    delete(bucket, "basic/object").await;
    delete(bucket, "basic/never-existed").await;
    delete(bucket, "basic/empty").await;
}

async fn ranged_reads(bucket: &dyn Bucket) {
    let data = test_pattern(100);
    put(bucket, "range/object", data.clone()).await;
    let cases: [(u64, u64, &[u8], &str); 7] = [
        (0, 5, &data[0..5], "from offset 0"),
        (10, 20, &data[10..30], "middle"),
        (0, 100, &data[..], "exactly the object"),
        (90, 50, &data[90..], "running past the end"),
        (99, 1, &data[99..], "the last byte"),
        (100, 5, &[], "starting at the end"),
        (40, 0, &[], "zero length"),
    ];
    for (offset, len, expected, name) in cases {
        let got = get_range(bucket, "range/object", offset, len).await;
        assert_eq!(got.as_ref(), expected, "get_range {name} ({offset}+{len})");
    }
    assert_eq!(get_range(bucket, "range/object", 500, 10).await, "", "a range far past the end is empty");
    assert_not_found(bucket.get_range("range/missing", 0, 10).await, "get_range of a missing object");
    delete(bucket, "range/object").await;
}

async fn attributes_and_exists(bucket: &dyn Bucket) {
    put(bucket, "attrs/object", test_pattern(1234)).await;
    assert!(bucket.exists("attrs/object").await.expect("exists"));
    assert!(!bucket.exists("attrs/obj").await.expect("exists of a key prefix"), "a key prefix is no object");
    // Not checked here: `exists("attrs")` (a "directory"). Real S3 answers 404, but s3s-fs answers
    // 500 because it opens the directory; the filesystem backend tests this case itself.
    let attributes = bucket.attributes("attrs/object").await.expect("attributes");
    assert_eq!(attributes.size, 1234);
    let age =
        SystemTime::now().duration_since(attributes.last_modified).unwrap_or_else(|ahead| ahead.duration());
    assert!(age < Duration::from_secs(3600), "last_modified {:?} is not recent", attributes.last_modified);
    delete(bucket, "attrs/object").await;
}

async fn missing_objects(bucket: &dyn Bucket) {
    assert_not_found(bucket.get("missing/object").await, "get");
    assert_not_found(bucket.attributes("missing/object").await, "attributes");
    assert!(!bucket.exists("missing/object").await.expect("exists of a missing object"));
    let error = bucket.get("missing/object").await.expect_err("get of a missing object");
    assert!(error.to_string().contains("missing/object"), "the error names the key: {error}");
}

async fn listing(bucket: &dyn Bucket) {
    for key in ["a/b/c", "a/d", "e"] {
        put(bucket, key, key.to_owned()).await;
    }
    let expect = |keys: &[&str]| keys.iter().map(|key| (*key).to_owned()).collect::<Vec<_>>();
    assert_eq!(list(bucket, "", true).await, expect(&["a/b/c", "a/d", "e"]));
    assert_eq!(list(bucket, "", false).await, expect(&["a/", "e"]));
    assert_eq!(list(bucket, "a", false).await, expect(&["a/b/", "a/d"]));
    assert_eq!(list(bucket, "a/", false).await, expect(&["a/b/", "a/d"]));
    assert_eq!(list(bucket, "a", true).await, expect(&["a/b/c", "a/d"]));
    assert_eq!(list(bucket, "a/b", false).await, expect(&["a/b/c"]));
    assert_eq!(list(bucket, "a/b/c", false).await, expect(&[]), "a key is not a directory");
    assert_eq!(list(bucket, "nothing", true).await, expect(&[]));
    assert_eq!(list(bucket, "nothing", false).await, expect(&[]));

    // Prefix iteration across many siblings, as a compactor walks block directories.
    let blocks: Vec<String> = (0..25).map(|i| format!("blocks/01H{i:03}/meta.json")).collect();
    for key in &blocks {
        put(bucket, key, "{}").await;
    }
    let block_dirs: Vec<String> = (0..25).map(|i| format!("blocks/01H{i:03}/")).collect();
    assert_eq!(list(bucket, "blocks", false).await, block_dirs);
    assert_eq!(list(bucket, "blocks/", true).await, blocks);
    for key in blocks.iter().map(String::as_str).chain(["a/b/c", "a/d", "e"]) {
        delete(bucket, key).await;
    }
}

async fn put_file_small_and_large(bucket: &dyn Bucket, options: ConformanceOptions) {
    let dir = tempfile::tempdir().expect("tempdir for upload sources");
    let small = test_pattern(1024);
    let small_path = dir.path().join("small");
    std::fs::write(&small_path, &small).expect("write the small source file");
    bucket.put_file("files/small", &small_path).await.expect("put_file small");
    assert_eq!(get(bucket, "files/small").await, small);

    let large = test_pattern(options.large_object_size);
    let large_path = dir.path().join("large");
    std::fs::write(&large_path, &large).expect("write the large source file");
    bucket.put_file("files/large", &large_path).await.expect("put_file large");
    let attributes = bucket.attributes("files/large").await.expect("attributes of the large object");
    assert_eq!(attributes.size, large.len() as u64);
    assert!(get(bucket, "files/large").await == large, "the large object round-trips byte for byte");

    // A range across the 5 MiB part boundary.
    let boundary = 5 * 1024 * 1024;
    if large.len() > boundary + 100 {
        let got = get_range(bucket, "files/large", boundary as u64 - 100, 200).await;
        assert_eq!(got.as_ref(), &large[boundary - 100..boundary + 100], "range across a part boundary");
    }

    let missing = bucket.put_file("files/nope", &dir.path().join("does-not-exist")).await;
    assert!(
        matches!(missing, Err(ObjstoreError::Io { .. })),
        "put_file of a missing source is an Io error: {missing:?}"
    );
    assert!(!bucket.exists("files/nope").await.expect("exists"));
    delete(bucket, "files/small").await;
    delete(bucket, "files/large").await;
}

async fn special_characters(bucket: &dyn Bucket) {
    let keys = [
        "special/with space",
        "special/a=b&c",
        "special/plus+sign",
        "special/percent%20encoded",
        "special/ünïcødé-日本語",
        "special/dir with space/inner",
    ];
    for key in keys {
        put(bucket, key, key.to_owned()).await;
    }
    for key in keys {
        assert_eq!(get(bucket, key).await, key, "round trip of {key:?}");
        assert!(bucket.exists(key).await.expect("exists"), "exists {key:?}");
    }
    let mut expected: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();
    expected.sort();
    assert_eq!(list(bucket, "special", true).await, expected);
    let mut children: Vec<String> = keys[..5].iter().map(|key| (*key).to_owned()).collect();
    children.push("special/dir with space/".to_owned());
    children.sort();
    assert_eq!(list(bucket, "special", false).await, children);
    for key in keys {
        delete(bucket, key).await;
    }
}
