//! A store killed (or timing out) mid-query: under partial response (WARN) the querier answers
//! with the other stores' data plus a warning; under ABORT the query fails. Both the flag and
//! the per-request `partial_response` parameter decide.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use support::data::{self, H, T0};
use support::http::{api_time, get, urlencode};
use support::store::{MemoryStore, TestStore};

/// Store A holds job="api", store B (answering after `delay`) job="web".
fn stores(delay: Duration) -> (TestStore, TestStore) {
    let all = data::generate();
    let (api, web): (Vec<_>, Vec<_>) = all
        .into_iter()
        .filter(|(l, _)| l.get("__name__") == Some("http_requests_total"))
        .partition(|(l, _)| l.get("job") == Some("api"));
    let fast = TestStore::start(MemoryStore::new(api));
    let mut slow_store = MemoryStore::new(web);
    slow_store.delay = delay;
    (fast, TestStore::start(slow_store))
}

/// Runs `sum by (job) (http_requests_total)` and kills store B 300 ms into the query.
fn killed_mid_query(flags: &[&str], param: &str) -> (u16, Json) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fast, mut slow) = stores(Duration::from_secs(3));
    let mut args = vec![format!("--endpoint={}", fast.address), format!("--endpoint={}", slow.address)];
    args.extend(flags.iter().map(|f| f.to_string()));
    let querier = support::start_querier(&args, dir.path());
    let path = format!(
        "/api/v1/query?query={}&time={}{param}",
        urlencode("sum by (job) (http_requests_total)"),
        api_time(T0 + H)
    );
    let port = querier.port;
    let started = Instant::now();
    let request = std::thread::spawn(move || get(port, &path).expect("querier answers"));
    std::thread::sleep(Duration::from_millis(300));
    slow.kill();
    let (status, body) = request.join().expect("request thread");
    assert!(started.elapsed() < Duration::from_secs(3), "the answer did not wait for the killed store");
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")))
}

fn assert_partial(status: u16, body: &Json) {
    assert_eq!(status, 200, "{body}");
    let result = body["data"]["result"].as_array().expect("vector");
    assert_eq!(result.len(), 1, "only the surviving store's job: {body}");
    assert_eq!(result[0]["metric"]["job"], "api");
    let warnings = body["warnings"].as_array().expect("warnings present");
    assert!(!warnings.is_empty(), "{body}");
}

fn assert_aborted(status: u16, body: &Json) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "execution");
}

#[test]
fn warn_returns_the_rest_with_a_warning() {
    let (status, body) = killed_mid_query(&[], "");
    assert_partial(status, &body);
    let (status, body) = killed_mid_query(&["--no-query.partial-response"], "&partial_response=true");
    assert_partial(status, &body);
}

#[test]
fn abort_fails_the_query() {
    let (status, body) = killed_mid_query(&[], "&partial_response=false");
    assert_aborted(status, &body);
    let (status, body) = killed_mid_query(&["--no-query.partial-response"], "");
    assert_aborted(status, &body);
}

#[test]
fn a_timed_out_store_is_a_warning_or_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fast, slow) = stores(Duration::from_secs(10));
    let querier = support::start_querier(
        &[
            format!("--endpoint={}", fast.address),
            format!("--endpoint={}", slow.address),
            "--store.response-timeout=500ms".to_string(),
        ],
        dir.path(),
    );
    let path =
        format!("/api/v1/query?query={}&time={}", urlencode("count(http_requests_total)"), api_time(T0 + H));
    let (status, body) = get(querier.port, &path).expect("answers");
    let body: Json = serde_json::from_str(&body).expect("json");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"][0]["value"][1], "6", "{body}");
    assert!(body["warnings"][0].as_str().is_some_and(|w| w.contains("timed out")), "{body}");
    let (status, body) = get(querier.port, &format!("{path}&partial_response=0")).expect("answers");
    assert_eq!(status, 422, "{body}");
}

#[test]
fn a_store_slower_than_the_query_timeout_is_a_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fast, slow) = stores(Duration::from_secs(30));
    let querier = support::start_querier(
        &[format!("--endpoint={}", fast.address), format!("--endpoint={}", slow.address)],
        dir.path(),
    );
    let started = Instant::now();
    let path = format!(
        "/api/v1/query?query={}&time={}&timeout=1s",
        urlencode("count(http_requests_total)"),
        api_time(T0 + H)
    );
    let (status, body) = get(querier.port, &path).expect("answers");
    assert!(started.elapsed() < Duration::from_secs(10), "gave up at the deadline");
    let body: Json = serde_json::from_str(&body).expect("json");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["errorType"], "timeout");
}
