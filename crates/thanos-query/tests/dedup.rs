//! Two stores with the same data under `replica="a"` and `replica="b"`: with dedup the answers
//! equal a single replica's; without, both series appear.

mod support;

use serde_json::Value as Json;
use support::data::{self, H, M, T0};
use support::http::{api_time, get, urlencode};
use support::store::{MemoryStore, TestStore};
use tsdb_format::Labels;

fn replica(name: &str) -> TestStore {
    let mut store = MemoryStore::new(data::generate());
    store.external_labels = Labels::from_pairs([("cluster", "eu"), ("replica", name)]);
    TestStore::start(store)
}

fn query(port: u16, path: &str) -> Json {
    let (status, body) = get(port, path).expect("answers");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("json")
}

#[test]
fn replicas_are_deduplicated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (replica("a"), replica("b"));
    let both = support::start_querier(
        &[
            format!("--endpoint={}", a.address),
            format!("--endpoint={}", b.address),
            "--query.replica-label=replica".to_string(),
        ],
        dir.path(),
    );
    let single = support::start_querier(
        &[format!("--endpoint={}", a.address), "--query.replica-label=replica".to_string()],
        dir.path(),
    );
    for q in ["temperature", "rate(http_requests_total[5m])", "sum by (job) (http_requests_total)"] {
        let range = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=60",
            urlencode(q),
            api_time(T0),
            api_time(T0 + 3 * H + 30 * M)
        );
        let deduped = query(both.port, &range);
        let one = query(single.port, &range);
        assert_eq!(deduped["data"], one["data"], "{q}");
        let result = deduped["data"]["result"].as_array().expect("matrix");
        assert!(!result.is_empty());
        assert!(result.iter().all(|s| s["metric"].get("replica").is_none()), "{q}: replica label removed");

        let raw = query(both.port, &format!("{range}&dedup=false"));
        if q == "temperature" {
            assert_eq!(
                raw["data"]["result"].as_array().map(Vec::len),
                Some(2 * result.len()),
                "both replicas"
            );
        }
    }
    let series = query(both.port, "/api/v1/series?match[]=temperature");
    assert_eq!(series["data"].as_array().map(Vec::len), Some(3), "{series}");
    let series = query(both.port, "/api/v1/series?match[]=temperature&dedup=false");
    assert_eq!(series["data"].as_array().map(Vec::len), Some(6), "{series}");
    let values = query(both.port, "/api/v1/label/replica/values?dedup=false");
    assert_eq!(values["data"], serde_json::json!(["a", "b"]));
}
