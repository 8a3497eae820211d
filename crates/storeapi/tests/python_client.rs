//! A client not written in Rust: Python grpcio, with stubs generated from our `proto/` by
//! grpcio-tools, calls Info (both RPCs), Series, LabelNames and LabelValues on the in-process
//! test server; its answers must equal what our Rust client gets.
//!
//! The Python environment lives in `$HOME/.cache/thanos-rs/pyenv` and is created with pinned
//! versions (checked with Python 3.11) when absent. If it cannot be set up, the test fails.

mod common;

use std::time::Duration;

use common::{MemoryStore, start};
use serde_json::{Value, json};
use storeapi::testing::{client_script, ensure_python, proto_dir, rust_view};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpcio_client_sees_what_rust_sees() {
    let python = tokio::task::spawn_blocking(ensure_python).await.expect("python setup");
    let server = start(MemoryStore::sample()).await;
    let address = server.address.to_string();
    let child = tokio::process::Command::new(&python)
        .arg(client_script())
        .arg("--proto-dir")
        .arg(proto_dir())
        .arg(&address)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("python client finished within 120 s")
        .expect("run python client");
    assert!(
        output.status.success(),
        "python client failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let python_view: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("python client printed no JSON ({e}):\n{}", String::from_utf8_lossy(&output.stdout))
    });
    let rust_view = rust_view(&address).await;
    assert_eq!(python_view, rust_view, "python:\n{python_view:#}\nrust:\n{rust_view:#}");

    // And the answers are the ones the test store gives, not two equal empty answers.
    assert_eq!(python_view["series"].as_array().map(Vec::len), Some(3));
    assert_eq!(python_view["series_batched"].as_array().map(Vec::len), Some(3));
    assert_eq!(python_view["legacy_info"]["store_type"], "SIDECAR");
    assert_eq!(python_view["info"]["store"]["max_time"], json!(i64::MAX));
    assert_eq!(python_view["label_names"], json!(["__name__", "cluster", "job", "replica"]));
}
