//! Comparing our answers with Prometheus 2.42's: equal JSON data (vectors and series lists as
//! sets, warnings ignored), or for errors equal status and `errorType`.
//! `resets(…)` too: Thanos' querier answers it with 0 (thanos-io/thanos#3644); we answer as
//! Prometheus does.

use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::http::get;

/// The JSON of a body; panics on anything else.
pub(crate) fn parse(body: &str) -> Json {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("invalid JSON ({e}): {body}"))
}

/// Vectors and series lists compare as sets; the rest exactly.
pub(crate) fn normalize(mut json: Json) -> Json {
    if let Some(data) = json.get_mut("data") {
        if let Some(result) = data.get_mut("result").and_then(Json::as_array_mut) {
            result.sort_by_key(|r| r["metric"].to_string());
        } else if let Some(list) = data.as_array_mut() {
            list.sort_by_key(Json::to_string);
        }
    }
    if let Some(obj) = json.as_object_mut() {
        obj.remove("warnings");
        obj.remove("infos");
    }
    json
}

/// Where two JSON answers first differ, for a readable failure.
pub(crate) fn first_difference(ours: &Json, theirs: &Json) -> String {
    match (ours, theirs) {
        (Json::Array(x), Json::Array(y)) => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if p != q {
                    return format!("[{i}] {}", first_difference(p, q));
                }
            }
            format!("lengths {} vs {}", x.len(), y.len())
        }
        (Json::Object(x), Json::Object(y)) => {
            for (k, p) in x {
                if y.get(k) != Some(p) {
                    return format!(".{k} {}", first_difference(p, y.get(k).unwrap_or(&Json::Null)));
                }
            }
            format!("keys {:?} vs {:?}", x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>())
        }
        _ => format!("ours {ours} vs theirs {theirs}"),
    }
}

/// Compares one answer of ours with Prometheus'; a difference is added to `failures`.
pub(crate) fn compare(path: &str, ours: (u16, String), theirs: (u16, String), failures: &mut Vec<String>) {
    let (our_status, our_body) = ours;
    let (their_status, their_body) = theirs;
    let (a, b) = (parse(&our_body), parse(&their_body));
    if our_status != their_status {
        failures.push(format!("{path}: status {our_status} vs Prometheus {their_status}\n ours: {our_body}\n theirs: {their_body}"));
        return;
    }
    if b["status"] == "error" {
        if a["errorType"] != b["errorType"] {
            failures.push(format!("{path}: errorType {} vs {}", a["errorType"], b["errorType"]));
        }
        return;
    }
    let (a, b) = (normalize(a), normalize(b));
    if a != b {
        failures.push(format!("{path}: {}", first_difference(&a["data"], &b["data"])));
    }
}

/// GETs every request from both servers (ours under `prefix`) and compares the answers;
/// returns the differences.
pub(crate) fn compare_all(ours: u16, prefix: &str, prometheus: u16, requests: &[String]) -> Vec<String> {
    let mut failures = Vec::new();
    let (mut our_time, mut their_time) = (Duration::ZERO, Duration::ZERO);
    for path in requests {
        let started = Instant::now();
        let our_answer = get(ours, &format!("{prefix}{path}")).expect("querier answers");
        our_time += started.elapsed();
        let started = Instant::now();
        let their_answer = get(prometheus, path).expect("prometheus answers");
        their_time += started.elapsed();
        compare(path, our_answer, their_answer, &mut failures);
    }
    eprintln!("{} requests: ours took {our_time:.1?} in all, Prometheus {their_time:.1?}", requests.len());
    failures
}
