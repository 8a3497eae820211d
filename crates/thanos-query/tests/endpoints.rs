//! Endpoint discovery and the querier's own StoreAPI: `--endpoint.sd-files` re-read when the
//! file changes, stores chosen by external labels, and one querier as an endpoint of another.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use support::data::{self, H, T0};
use support::http::{api_time, get, urlencode};
use support::store::{MemoryStore, TestStore};
use tsdb_format::Labels;

fn store_for(job: &str, cluster: &str) -> TestStore {
    let series = data::generate().into_iter().filter(|(l, _)| l.get("job") == Some(job)).collect();
    let mut store = MemoryStore::new(series);
    store.external_labels = Labels::from_pairs([("cluster", cluster)]);
    TestStore::start(store)
}

fn jobs(port: u16, query: &str) -> Vec<String> {
    jobs_with(port, query, "")
}

/// The jobs a query answers with; `extra` is appended to the query string.
fn jobs_with(port: u16, query: &str, extra: &str) -> Vec<String> {
    let path = format!("/api/v1/query?query={}&time={}{extra}", urlencode(query), api_time(T0 + H));
    let (status, body) = get(port, &path).expect("answers");
    assert_eq!(status, 200, "{body}");
    let json: Json = serde_json::from_str(&body).expect("json");
    let mut jobs: Vec<String> = json["data"]["result"]
        .as_array()
        .expect("vector")
        .iter()
        .map(|s| s["metric"]["job"].as_str().unwrap_or_default().to_string())
        .collect();
    jobs.sort();
    jobs
}

#[test]
fn sd_file_changes_are_picked_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (api, web) = (store_for("api", "eu"), store_for("web", "us"));
    let sd = dir.path().join("endpoints.yml");
    std::fs::write(&sd, format!("- targets: ['{}']\n", api.address)).expect("write");
    let querier = support::start_querier(
        &[format!("--endpoint.sd-files={}", sd.display()), "--endpoint.info-interval=200ms".to_string()],
        dir.path(),
    );
    assert_eq!(jobs(querier.port, "count by (job) (http_requests_total)"), ["api"]);

    std::fs::write(&sd, format!("- targets: ['{}', '{}']\n", api.address, web.address)).expect("write");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = jobs(querier.port, "count by (job) (http_requests_total)");
        if found == ["api", "web"] {
            break;
        }
        assert!(Instant::now() < deadline, "new endpoint not picked up: {found:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // External labels select stores: only the "us" store is asked.
    assert_eq!(jobs(querier.port, "count by (job) (http_requests_total{cluster=\"us\"})"), ["web"]);
    // storeMatch[] picks endpoints by address.
    let only_web = format!("{{__address__=\"{}\"}}", web.address);
    let extra = format!("&storeMatch[]={}", urlencode(&only_web));
    assert_eq!(jobs_with(querier.port, "count by (job) (http_requests_total)", &extra), ["web"]);
    let (_, body) = get(querier.port, "/api/v1/stores").expect("stores");
    let stores: Json = serde_json::from_str(&body).expect("json");
    assert_eq!(stores["data"]["store"].as_array().map(Vec::len), Some(2), "{body}");
}

#[test]
fn a_querier_is_an_endpoint_of_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (api, web) = (store_for("api", "eu"), store_for("web", "us"));
    let lower = support::start_querier(
        &[format!("--endpoint={}", api.address), format!("--endpoint={}", web.address)],
        dir.path(),
    );
    let upper = support::start_querier(&[format!("--endpoint=127.0.0.1:{}", lower.grpc_port)], dir.path());
    let query = "sum by (job, cluster) (rate(http_requests_total[5m]))";
    let path = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step=300",
        urlencode(query),
        api_time(T0),
        api_time(T0 + 2 * H)
    );
    let (_, direct) = get(lower.port, &path).expect("lower answers");
    let (_, proxied) = get(upper.port, &path).expect("upper answers");
    let (direct, proxied): (Json, Json) =
        (serde_json::from_str(&direct).expect("json"), serde_json::from_str(&proxied).expect("json"));
    assert_eq!(direct["status"], "success");
    assert_eq!(direct["data"], proxied["data"]);
    assert_eq!(proxied["data"]["result"].as_array().map(Vec::len), Some(2));
    let (_, body) = get(upper.port, "/api/v1/stores").expect("stores");
    let stores: Json = serde_json::from_str(&body).expect("json");
    assert_eq!(stores["data"]["query"][0]["labelSets"].as_array().map(Vec::len), Some(2), "{body}");
    let (_, body) = get(upper.port, "/api/v1/label/cluster/values").expect("values");
    assert_eq!(serde_json::from_str::<Json>(&body).expect("json")["data"], serde_json::json!(["eu", "us"]));
}
