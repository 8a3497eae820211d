//! Test data loaders: StoreAPI `Series` responses as grpcurl prints them (JSON, one per line,
//! base64 chunk data) and Prometheus `query_range` JSON answers.

use std::path::PathBuf;

use bytes::Bytes;
use serde_json::Value;
use storeapi::pb::thanos::{self as pb, AggrChunk, Series};
use tsdb_format::Labels;

/// The shared Thanos dedup test data folder (`PROMQL_TESTS_DIR` overrides the promql-tests root).
pub(crate) fn dedup_dir() -> PathBuf {
    let root = std::env::var_os("PROMQL_TESTS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/promql-tests"),
        PathBuf::from,
    );
    root.join("thanos/dedup")
}

/// Standard base64 (padding optional).
pub(crate) fn base64_decode(s: &str) -> Vec<u8> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    out
}

fn int(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().expect("integer string"),
        Value::Number(n) => n.as_i64().expect("integer"),
        _ => 0,
    }
}

fn sub_chunk(v: Option<&Value>) -> Option<pb::Chunk> {
    let v = v?;
    let data = Bytes::from(base64_decode(v.get("data").and_then(Value::as_str).unwrap_or("")));
    let r#type = match v.get("type").and_then(Value::as_str) {
        None | Some("XOR") => 0,
        Some("HISTOGRAM") => 1,
        Some("FLOAT_HISTOGRAM") => 2,
        Some(other) => panic!("chunk type {other}"),
    };
    let hash = v.get("hash").map_or(0, |h| int(h) as u64);
    Some(pb::Chunk { r#type, data, hash })
}

/// Parses grpcurl `SeriesResponse` lines; non-series frames are skipped.
pub(crate) fn parse_series_responses(text: &str) -> Vec<Series> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let frame: Value = serde_json::from_str(line).expect("JSON line");
            let series = frame.get("series")?;
            let labels = series
                .get("labels")
                .and_then(Value::as_array)
                .map(|ls| {
                    ls.iter()
                        .map(|l| pb::Label {
                            name: l["name"].as_str().unwrap_or("").to_string(),
                            value: l["value"].as_str().unwrap_or("").to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let chunks = series
                .get("chunks")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .map(|c| AggrChunk {
                            min_time: c.get("minTime").map_or(0, int),
                            max_time: c.get("maxTime").map_or(0, int),
                            raw: sub_chunk(c.get("raw")),
                            count: sub_chunk(c.get("count")),
                            sum: sub_chunk(c.get("sum")),
                            min: sub_chunk(c.get("min")),
                            max: sub_chunk(c.get("max")),
                            counter: sub_chunk(c.get("counter")),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(Series { labels, chunks })
        })
        .collect()
}

/// Reads a shared dedup data file.
pub(crate) fn read(name: &str) -> String {
    let path = dedup_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A `query_range` answer: series labels and `(ms, value)` points.
pub(crate) fn parse_matrix(text: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let doc: Value = serde_json::from_str(text).expect("JSON");
    doc["data"]["result"]
        .as_array()
        .expect("matrix result")
        .iter()
        .map(|s| {
            let labels = Labels::from_pairs(
                s["metric"]
                    .as_object()
                    .expect("metric")
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())),
            );
            let points = s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|p| {
                    let secs = p[0].as_f64().expect("timestamp");
                    let value = p[1].as_str().expect("value string");
                    let v = match value {
                        "NaN" => f64::NAN,
                        "+Inf" => f64::INFINITY,
                        "-Inf" => f64::NEG_INFINITY,
                        other => other.parse().expect("float"),
                    };
                    ((secs * 1000.0).round() as i64, v)
                })
                .collect();
            (labels, points)
        })
        .collect()
}
