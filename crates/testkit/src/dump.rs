//! `promtool tsdb dump` as an oracle: the samples Prometheus' own reader sees in some blocks.

use std::collections::BTreeMap;
use std::path::Path;

/// Samples per series, keyed by Prometheus' `labels.String()` form (`{a="1", b="2"}`), as
/// (timestamp ms, value bits) so NaNs compare equal.
pub type Samples = BTreeMap<String, Vec<(i64, u64)>>;

/// A float as comparable bits, with every NaN the same.
pub fn float_bits(value: f64) -> u64 {
    if value.is_nan() { f64::NAN.to_bits() } else { value.to_bits() }
}

/// `{a="1", b="2"}` as Prometheus prints label sets.
pub fn labels_string<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in labels.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push('=');
        tsdb_format::labels::write_go_quoted(&mut out, value).expect("write to string");
    }
    out.push('}');
    out
}

/// `promtool tsdb dump --match=selector --min-time --max-time` over a copy of `blocks`.
pub fn promtool_dump(blocks: &[impl AsRef<Path>], selector: &str, mint: i64, maxt: i64) -> Samples {
    let copy = tempfile::tempdir().expect("tempdir");
    for dir in blocks {
        let dir = dir.as_ref();
        crate::blocks::copy_dir(dir, &copy.path().join(dir.file_name().expect("block name")));
    }
    // promtool reads the WAL too and fails without the directory.
    std::fs::create_dir_all(copy.path().join("wal")).expect("wal dir");
    let out = crate::tool("promtool")
        .args(["tsdb", "dump"])
        .arg(format!("--match={selector}"))
        .arg(format!("--min-time={mint}"))
        .arg(format!("--max-time={maxt}"))
        .arg(copy.path())
        .output()
        .expect("run promtool tsdb dump");
    assert!(out.status.success(), "promtool dump: {}", String::from_utf8_lossy(&out.stderr));
    let mut samples = Samples::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = line.rsplitn(3, ' ');
        let (Some(ts), Some(value), Some(labels)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("unexpected dump line {line:?}");
        };
        let value = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or_else(|_| panic!("value in {line:?}")),
        };
        samples.entry(labels.to_owned()).or_default().push((ts.parse().expect("ts"), float_bits(value)));
    }
    samples
}
