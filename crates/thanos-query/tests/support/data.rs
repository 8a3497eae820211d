//! The data set the tests query: deterministic counters, gauges and a histogram over 4h, written
//! as Prometheus blocks (for the oracle) and served by the in-memory store (for the querier), or
//! as OpenMetrics text for promtool (blocks for the real store and Prometheus alike).

use std::io::Write;
use std::path::Path;

use tsdb_format::Labels;
use tsdb_format::block::BlockWriter;

/// Start of the data, ms (2023-12-31T22:00:00Z, a multiple of 2h).
pub(crate) const T0: i64 = 1_704_060_000_000;
/// One minute and one hour, ms.
pub(crate) const M: i64 = 60_000;
pub(crate) const H: i64 = 60 * M;
/// End of the data (exclusive).
pub(crate) const END: i64 = T0 + 4 * H;
/// Scrape interval.
pub(crate) const STEP: i64 = 15_000;

/// One series: labels and samples in time order.
pub(crate) type SeriesData = (Labels, Vec<(i64, f64)>);

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn times() -> impl Iterator<Item = i64> {
    (0..).map(|i| T0 + i * STEP).take_while(|t| *t < END)
}

/// The generated series.
pub(crate) fn generate() -> Vec<SeriesData> {
    let mut rng = Rng(42);
    let mut out = Vec::new();
    for job in ["api", "web"] {
        for instance in ["0", "1", "2"] {
            for code in ["200", "500"] {
                let labels = Labels::from_pairs([
                    ("__name__", "http_requests_total"),
                    ("code", code),
                    ("instance", instance),
                    ("job", job),
                ]);
                let mut v = rng.below(100) as f64;
                let reset_at = T0 + 2 * H + 17 * M;
                let samples = times()
                    .map(|t| {
                        if instance == "1" && t == reset_at {
                            v = 1.0;
                        } else {
                            v += rng.below(if code == "200" { 20 } else { 3 }) as f64;
                        }
                        (t, v)
                    })
                    .collect();
                out.push((labels, samples));
            }
        }
    }
    for instance in ["0", "1", "2"] {
        let labels =
            Labels::from_pairs([("__name__", "temperature"), ("instance", instance), ("job", "sensor")]);
        // A gap in instance 2's data, to exercise staleness by lookback.
        let samples = times()
            .filter(|t| instance != "2" || !(T0 + H..T0 + H + 20 * M).contains(t))
            .map(|t| (t, 15.0 + rng.below(1000) as f64 / 100.0))
            .collect();
        out.push((labels, samples));
    }
    for le in ["0.1", "0.5", "1", "+Inf"] {
        let labels =
            Labels::from_pairs([("__name__", "req_duration_seconds_bucket"), ("job", "api"), ("le", le)]);
        let factor = match le {
            "0.1" => 1.0,
            "0.5" => 3.0,
            "1" => 4.0,
            _ => 5.0,
        };
        let mut v = 0.0;
        let samples = times()
            .map(|t| {
                v += factor * (1 + rng.below(3)) as f64;
                (t, v)
            })
            .collect();
        out.push((labels, samples));
    }
    out
}

/// Writes the series as 2h blocks into `dir`, aligned as Prometheus aligns them.
pub(crate) fn write_blocks(series: &[SeriesData], dir: &Path) {
    let block = 2 * H;
    let mut from = T0 - T0.rem_euclid(block);
    while from < END {
        let mut writer = BlockWriter::new(block);
        for (labels, samples) in series {
            for &(t, v) in samples.iter().filter(|(t, _)| (from..from + block).contains(t)) {
                writer.append(labels, t, v);
            }
        }
        if !writer.is_empty() {
            writer.write(dir).expect("write block");
        }
        from += block;
    }
}

/// Writes the series as OpenMetrics text (untyped families, timestamps in seconds) for
/// `promtool tsdb create-blocks-from openmetrics`. Values print as Rust's shortest round-trip
/// form, so promtool reads back the exact floats.
pub(crate) fn write_openmetrics(series: &[SeriesData], path: &Path) {
    let file = std::fs::File::create(path).expect("create OpenMetrics file");
    let mut out = std::io::BufWriter::new(file);
    // Samples of one family must be contiguous: group by metric name, keeping first-seen order.
    let mut names: Vec<&str> = Vec::new();
    for (labels, _) in series {
        let name = labels.get("__name__").expect("metric name");
        if !names.contains(&name) {
            names.push(name);
        }
    }
    for name in names {
        for (labels, samples) in series.iter().filter(|(l, _)| l.get("__name__") == Some(name)) {
            let mut selector = format!("{name}{{");
            for (i, label) in labels.iter().filter(|l| l.name != "__name__").enumerate() {
                if i > 0 {
                    selector.push(',');
                }
                selector.push_str(&format!("{}=\"{}\"", label.name, label.value));
            }
            selector.push('}');
            for &(t, v) in samples {
                writeln!(out, "{selector} {v} {}.{:03}", t.div_euclid(1000), t.rem_euclid(1000))
                    .expect("write");
            }
        }
    }
    writeln!(out, "# EOF").expect("write");
    out.flush().expect("flush OpenMetrics file");
}
