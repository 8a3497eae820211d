//! Test support for StoreAPI servers (feature `testing`): a client not written in Rust.
//!
//! Python grpcio, with stubs generated from our `proto/` by grpcio-tools, calls Info (both RPCs),
//! Series, LabelNames and LabelValues (`tests/python/client.py`); [`rust_view`] gets the same calls
//! through our tonic client in the same JSON shape, so a test compares the two. The Python
//! environment lives in `$HOME/.cache/thanos-rs/pyenv`, created with pinned versions (checked with
//! Python 3.11) when absent; if it cannot be set up, the caller's test fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test support fails loudly")]

use std::path::{Path, PathBuf};
use std::process::Command;

use futures::TryStreamExt;
use serde_json::{Value, json};

use crate::grpc::{connect, info_client, store_client};
use crate::pb::thanos::info::InfoRequest;
use crate::pb::thanos::series_response::Result as Frame;
use crate::pb::thanos::{
    self as pb, LabelNamesRequest, LabelValuesRequest, Series, SeriesRequest, StoreType, label_matcher::Type,
};

/// The Python client script.
pub fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/client.py")
}

/// The workspace's `proto/` directory the stubs are generated from.
pub fn proto_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto")
}

/// Runs the Python client against `address` (blocking) and returns its JSON view.
pub fn python_view(python: &Path, address: &str) -> Value {
    let output = Command::new(python)
        .arg(client_script())
        .arg("--proto-dir")
        .arg(proto_dir())
        .arg(address)
        .output()
        .expect("run python client");
    assert!(
        output.status.success(),
        "python client failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("python client printed no JSON ({e}):\n{}", String::from_utf8_lossy(&output.stdout))
    })
}

/// The Python packages, pinned.
const PINS: [(&str, &str); 3] = [("grpcio", "1.85.1"), ("grpcio-tools", "1.85.1"), ("protobuf", "7.36.2")];

fn python_env() -> PathBuf {
    let home = std::env::var_os("HOME").expect("HOME must be set to locate $HOME/.cache/thanos-rs/pyenv");
    Path::new(&home).join(".cache/thanos-rs/pyenv")
}

/// The installed versions of the pinned packages, or `None` if the environment is unusable.
fn installed_versions(python: &Path) -> Option<Vec<String>> {
    let names: Vec<String> = PINS.iter().map(|(name, _)| format!("{name:?}")).collect();
    let script =
        format!("import importlib.metadata as m\nfor n in [{}]:\n    print(m.version(n))", names.join(", "));
    let output = Command::new(python).args(["-c", &script]).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect())
}

/// Returns the environment's Python, creating the venv and installing the pins if needed.
pub fn ensure_python() -> PathBuf {
    let env = python_env();
    let python = env.join("bin/python");
    let wanted: Vec<String> = PINS.iter().map(|(_, version)| version.to_string()).collect();
    if installed_versions(&python).as_ref() == Some(&wanted) {
        return python;
    }
    if !python.exists() {
        let status = Command::new("python3").args(["-m", "venv"]).arg(&env).status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "could not create the Python venv at {} with `python3 -m venv` ({status:?}); install python3 and python3-venv",
            env.display()
        );
    }
    let pins: Vec<String> = PINS.iter().map(|(name, version)| format!("{name}=={version}")).collect();
    let output = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet"])
        .args(&pins)
        .output()
        .expect("run pip");
    assert!(
        output.status.success(),
        "pip install {} into {} failed; the Python client check cannot run.\nstdout:\n{}\nstderr:\n{}",
        pins.join(" "),
        env.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        installed_versions(&python),
        Some(wanted),
        "pinned versions not installed in {}",
        env.display()
    );
    python
}

fn labels(labels: &[pb::Label]) -> Value {
    Value::Array(labels.iter().map(|l| json!([l.name, l.value])).collect())
}

fn series_json(series: &Series) -> Value {
    let chunks: Vec<Value> = series
        .chunks
        .iter()
        .map(|c| {
            let raw = c.raw.as_ref();
            json!({
                "min_time": c.min_time,
                "max_time": c.max_time,
                "type": raw.map(|r| r.r#type),
                "data": raw.map(|r| r.data.iter().map(|b| format!("{b:02x}")).collect::<String>()),
                "hash": raw.map(|r| r.hash),
            })
        })
        .collect();
    json!({"labels": labels(&series.labels), "chunks": chunks})
}

/// What the Rust client sees, in the Python script's JSON shape.
pub async fn rust_view(address: &str) -> Value {
    let channel = connect(address).await.expect("connect");
    let info = info_client(channel.clone()).info(InfoRequest {}).await.expect("info").into_inner();
    let mut store = store_client(channel);
    let legacy = store.info(pb::InfoRequest {}).await.expect("Store/Info").into_inner();
    let all_names = pb::LabelMatcher { r#type: Type::Re as i32, name: "__name__".into(), value: ".+".into() };
    let up = pb::LabelMatcher { r#type: Type::Eq as i32, name: "__name__".into(), value: "up".into() };

    let mut series_json_list = Vec::new();
    for (batch, without) in [(0, vec![]), (2, vec!["replica".to_string()])] {
        let request = SeriesRequest {
            min_time: 0,
            max_time: i64::MAX,
            matchers: vec![all_names.clone()],
            response_batch_size: batch,
            without_replica_labels: without,
            ..Default::default()
        };
        let frames: Vec<pb::SeriesResponse> =
            store.series(request).await.expect("series").into_inner().try_collect().await.expect("stream");
        let mut list = Vec::new();
        for frame in frames {
            match frame.result {
                Some(Frame::Series(s)) => list.push(series_json(&s)),
                Some(Frame::Batch(b)) => list.extend(b.series.iter().map(series_json)),
                _ => {}
            }
        }
        series_json_list.push(Value::Array(list));
    }
    let names = store
        .label_names(LabelNamesRequest { start: 0, end: i64::MAX, matchers: vec![up], ..Default::default() })
        .await
        .expect("label names")
        .into_inner();
    let values = store
        .label_values(LabelValuesRequest {
            label: "job".into(),
            start: 0,
            end: i64::MAX,
            matchers: vec![all_names],
            ..Default::default()
        })
        .await
        .expect("label values")
        .into_inner();

    let store_info = info.store.as_ref().map(|s| {
        json!({
            "min_time": s.min_time,
            "max_time": s.max_time,
            "supports_sharding": s.supports_sharding,
            "supports_without_replica_labels": s.supports_without_replica_labels,
            "tsdb_infos": s.tsdb_infos.iter().map(|t| json!({
                "labels": labels(t.labels.as_ref().map_or(&[][..], |z| &z.labels)),
                "min_time": t.min_time,
                "max_time": t.max_time,
            })).collect::<Vec<_>>(),
        })
    });
    let store_type = StoreType::try_from(legacy.store_type).map_or("?", |t| t.as_str_name());
    let [series, series_batched]: [Value; 2] = series_json_list.try_into().expect("two series calls");
    json!({
        "info": {
            "component_type": info.component_type,
            "label_sets": info.label_sets.iter().map(|s| labels(&s.labels)).collect::<Vec<_>>(),
            "store": store_info,
        },
        "legacy_info": {
            "labels": labels(&legacy.labels),
            "min_time": legacy.min_time,
            "max_time": legacy.max_time,
            "store_type": store_type,
            "label_sets": legacy.label_sets.iter().map(|s| labels(&s.labels)).collect::<Vec<_>>(),
        },
        "series": series,
        "series_batched": series_batched,
        "label_names": names.names,
        "label_values": values.values,
        "label_values_warnings": values.warnings,
    })
}
