//! Python grpcio (stubs generated from our `proto/`) against the real `thanos-store` binary over
//! promtool blocks in a filesystem bucket: its Info, Series and LabelNames answers (and the rest
//! of what `crates/storeapi/tests/python/client.py` prints) must equal what our Rust tonic client
//! gets. The harness is `storeapi::testing` (pinned venv in `$HOME/.cache/thanos-rs/pyenv`); a pip
//! failure fails the test.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use storeapi::pb::thanos::LabelNamesRequest;
use storeapi::testing::{client_script, ensure_python, proto_dir, python_view, rust_view};

#[test]
fn python_grpcio_client_sees_what_rust_sees_from_the_store() {
    let python = ensure_python();
    let work = tempfile::tempdir().expect("tempdir");
    let bucket_dir = work.path().join("bucket");
    let data_dir = work.path().join("data");
    let (_bucket, yaml) = support::block_on(support::filesystem_bucket(&bucket_dir));
    let mut store = support::StoreProcess::start(&yaml, &data_dir, &[]);
    store.wait_ready(Duration::from_secs(60));
    let address = format!("127.0.0.1:{}", store.grpc_port);

    let (script, proto_dir) = (client_script(), proto_dir());
    let from_python: Value = python_view(&python, &address);
    let rust_view = support::block_on(rust_view(&address));
    assert_eq!(from_python, rust_view, "python:\n{from_python:#}\nrust:\n{rust_view:#}");

    // Not two equal empty answers: every fixture series, with chunks, and the blocks' label set.
    let fixture = support::fixture();
    let series = from_python["series"].as_array().expect("series array");
    assert!(series.len() >= 40, "want the 40 fixture series, got {}", series.len());
    assert!(series.iter().all(|s| s["chunks"].as_array().is_some_and(|c| !c.is_empty())), "chunks sent");
    assert_eq!(from_python["series_batched"].as_array().map(Vec::len), Some(series.len()));
    assert_eq!(from_python["legacy_info"]["store_type"], "STORE");
    assert_eq!(from_python["info"]["component_type"], "store");
    assert_eq!(from_python["info"]["label_sets"], json!([[[support::EXT_LABEL.0, support::EXT_LABEL.1]]]));
    let first = fixture.metas.first().expect("blocks").min_time;
    assert_eq!(from_python["info"]["store"]["min_time"], json!(first));
    assert_eq!(from_python["label_values"], json!(["demo"]));

    // client.py's LabelNames asks for `up`, which the fixture lacks (both answer `[]`); ask again
    // with no matcher through the same generated stubs, so the comparison is over real names.
    let python_names = python_label_names(&python, &script, &proto_dir, &address);
    let rust_names = support::block_on(async {
        let mut client = store.client().await;
        client
            .label_names(LabelNamesRequest { start: 0, end: i64::MAX, ..Default::default() })
            .await
            .expect("label names")
            .into_inner()
            .names
    });
    assert_eq!(python_names, rust_names);
    assert!(
        rust_names.iter().any(|n| n == "__name__") && rust_names.iter().any(|n| n == "cluster"),
        "{rust_names:?}"
    );
}

/// LabelNames without matchers, from Python, with client.py's stub generation.
fn python_label_names(python: &Path, script: &Path, proto_dir: &Path, address: &str) -> Vec<String> {
    const SNIPPET: &str = r#"
import importlib, json, sys, tempfile
import grpc
script_dir, proto_dir, address = sys.argv[1:4]
sys.path.insert(0, script_dir)
import client
with tempfile.TemporaryDirectory() as out:
    client.generate_stubs(proto_dir, out)
    sys.path.insert(0, out)
    store_pb = importlib.import_module("thanos.store.rpc_pb2")
    store_grpc = importlib.import_module("thanos.store.rpc_pb2_grpc")
    with grpc.insecure_channel(address) as channel:
        names = store_grpc.StoreStub(channel).LabelNames(
            store_pb.LabelNamesRequest(start=0, end=2**63 - 1), timeout=10)
        print(json.dumps(list(names.names)))
"#;
    let output = Command::new(python)
        .arg("-c")
        .arg(SNIPPET)
        .arg(script.parent().expect("script dir"))
        .arg(proto_dir)
        .arg(address)
        .output()
        .expect("run python label names");
    assert!(
        output.status.success(),
        "python LabelNames failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python label names JSON")
}
