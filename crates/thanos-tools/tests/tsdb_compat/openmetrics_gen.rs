//! A deterministic OpenMetrics generator for block-format tests and benchmarks: counters with
//! resets, gauges with NaN/±Inf and wide magnitudes, irregular and sparse sample intervals.

use std::path::Path;

/// A deterministic xorshift generator, so the input is the same on every run.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn om_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{v}")
    }
}

/// Writes an OpenMetrics file with `series` series over `hours` hours from 2024-01-01T00:17:00Z:
/// counters with resets, gauges with NaN/±Inf and wide magnitudes, irregular and sparse intervals.
/// Returns the number of samples.
pub(crate) fn write_openmetrics(path: &Path, series: usize, hours: i64) -> usize {
    let start_ms: i64 = 1_704_068_220_000;
    let end_ms = start_ms + hours * 3_600_000;
    let mut rng = Rng::new(0x5eed);
    let mut out = String::new();
    let mut samples = 0;
    let counters = series * 45 / 100;
    let gauges = series * 45 / 100;
    let sparse = series - counters - gauges;

    out.push_str("# HELP test_requests Requests.\n# TYPE test_requests counter\n");
    for s in 0..counters {
        let mut t = start_ms + rng.below(30_000) as i64;
        let mut v = (rng.below(1000)) as f64;
        while t < end_ms {
            if rng.below(400) == 0 {
                v = rng.below(5) as f64; // reset
            } else {
                v += rng.below(100) as f64 + if s % 3 == 0 { 0.25 } else { 0.0 };
            }
            let labels = format!("instance=\"i-{}\",job=\"job-{}\",path=\"/p/{s}\"", s % 37, s % 5);
            out.push_str(&format!("test_requests_total{{{labels}}} {} {}\n", om_float(v), seconds(t)));
            samples += 1;
            t += 15_000 + rng.below(30_000) as i64;
            if rng.below(200) == 0 {
                t += 600_000; // a gap
            }
        }
    }
    out.push_str("# HELP test_temperature Gauges.\n# TYPE test_temperature gauge\n");
    for s in 0..gauges {
        let mut t = start_ms + rng.below(60_000) as i64;
        let scale = 10f64.powi((s % 20) as i32 - 8);
        let mut v = (rng.unit() - 0.5) * scale;
        let step = [10_000, 30_000, 60_000][s % 3];
        while t < end_ms {
            let special = rng.below(500);
            let value = match special {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                _ => {
                    v += (rng.unit() - 0.5) * scale / 10.0;
                    v
                }
            };
            let labels = format!("instance=\"i-{}\",sensor=\"s{s}\",zone=\"z\\\"{}\\\\\"", s % 37, s % 4);
            out.push_str(&format!("test_temperature{{{labels}}} {} {}\n", om_float(value), seconds(t)));
            samples += 1;
            t += step + rng.below(1_000) as i64;
        }
    }
    out.push_str("# HELP test_sparse Sparse gauges.\n# TYPE test_sparse gauge\n");
    for s in 0..sparse {
        let mut t = start_ms + rng.below(3_600_000) as i64;
        while t < end_ms {
            let v = rng.below(1_000_000) as f64 / 7.0;
            out.push_str(&format!("test_sparse{{id=\"{s}\"}} {} {}\n", om_float(v), seconds(t)));
            samples += 1;
            t += 60_000 + rng.below(7_200_000) as i64;
        }
    }
    out.push_str("# EOF\n");
    std::fs::write(path, out).unwrap();
    samples
}

/// Seconds with millisecond precision, as OpenMetrics timestamps are written.
fn seconds(ms: i64) -> String {
    if ms % 1000 == 0 { format!("{}", ms / 1000) } else { format!("{}.{:03}", ms / 1000, ms % 1000) }
}
