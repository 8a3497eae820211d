//! The data set both engines query: generated here, deterministic, and written as TSDB blocks
//! with our own `BlockWriter` (which, unlike OpenMetrics backfilling, can write stale markers).
//!
//! It spans 7h30m from [`T0`] (2023-12-31T22:00:00Z, so it crosses a day, month and year
//! boundary at `T0 + 2h`), in 2h blocks aligned as Prometheus aligns them.

use std::path::Path;

use tsdb_format::Labels;
use tsdb_format::block::BlockWriter;

/// Start of the data, ms: 2023-12-31T22:00:00Z, a multiple of 2h.
pub(crate) const T0: i64 = 1_704_060_000_000;
/// One second, minute and hour in ms.
pub(crate) const S: i64 = 1000;
pub(crate) const M: i64 = 60 * S;
pub(crate) const H: i64 = 60 * M;
/// End of the data (exclusive).
pub(crate) const DATA_END: i64 = T0 + 7 * H + 30 * M;
/// Block length (and Prometheus' min = max block duration).
pub(crate) const BLOCK_RANGE: i64 = 2 * H;

/// Prometheus' stale marker.
pub(crate) fn stale() -> f64 {
    f64::from_bits(0x7ff0_0000_0000_0002)
}

/// One generated series: its labels and samples in time order.
pub(crate) type GenSeries = (Labels, Vec<(i64, f64)>);

/// A small deterministic PRNG (splitmix64), so the data never changes between runs.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)`.
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn labels(name: &str, pairs: &[(&str, &str)]) -> Labels {
    let mut all = vec![("__name__", name)];
    all.extend_from_slice(pairs);
    Labels::from_pairs(all)
}

/// Timestamps from `from` (inclusive) to `to` (exclusive) every `step` ms.
fn every(from: i64, to: i64, step: i64) -> impl Iterator<Item = i64> {
    (0..).map(move |i| from + i * step).take_while(move |t| *t < to)
}

/// A counter sampled every `step`, increasing by up to `max_inc` (times `scale`), reset to a small
/// value at each time in `resets`.
fn counter(rng: &mut Rng, step: i64, max_inc: u64, scale: f64, resets: &[i64]) -> Vec<(i64, f64)> {
    let mut v = rng.below(1000) as f64 * scale;
    let mut out = Vec::new();
    let mut next_reset = 0;
    for t in every(T0, DATA_END, step) {
        if next_reset < resets.len() && t >= resets[next_reset] {
            v = rng.below(3) as f64 * scale;
            next_reset += 1;
        } else {
            v += rng.below(max_inc + 1) as f64 * scale;
        }
        out.push((t, v));
    }
    out
}

/// Generates every series of the data set.
pub(crate) fn generate() -> Vec<GenSeries> {
    let mut rng = Rng(42);
    let mut out: Vec<GenSeries> = Vec::new();

    // Counters: http_requests_total{job, instance, method, code}, 15s, with resets.
    let targets =
        [("api", "10.0.0.1:8080"), ("api", "10.0.0.2:8080"), ("web", "10.0.1.1:80"), ("web", "10.0.1.2:80")];
    for (i, (job, instance)) in targets.iter().enumerate() {
        for (j, method) in ["get", "post"].iter().enumerate() {
            let resets: Vec<i64> = match (i, j) {
                (1, _) => vec![T0 + 2 * H + 37 * M],
                (0, 1) => vec![T0 + 50 * M + 7 * S, T0 + 4 * H + 3 * M],
                (3, 0) => vec![T0 + 2 * H],
                _ => vec![],
            };
            let max_inc = if j == 0 { 20 } else { 5 };
            let samples = counter(&mut rng, 15 * S, max_inc, 1.0, &resets);
            out.push((
                labels(
                    "http_requests_total",
                    &[("job", job), ("instance", instance), ("method", method), ("code", "200")],
                ),
                samples,
            ));
        }
        if *job == "api" {
            let samples = counter(&mut rng, 15 * S, 2, 1.0, &[]);
            out.push((
                labels(
                    "http_requests_total",
                    &[("job", job), ("instance", instance), ("method", "get"), ("code", "500")],
                ),
                samples,
            ));
        }
    }

    // A counter with jittered, millisecond-offset timestamps and fractional increments.
    for (i, instance) in ["p1", "p2", "p3"].iter().enumerate() {
        let mut v = 100.0 * i as f64;
        let mut samples = Vec::new();
        for t in every(T0, DATA_END, 30 * S) {
            let jitter = rng.below(4000) as i64 + i as i64 * 7;
            if i == 2 && (T0 + 3 * H + 11 * M..T0 + 3 * H + 12 * M).contains(&t) {
                v = 0.25;
            }
            v += rng.unit() * 3.0;
            samples.push((t + jitter, v));
        }
        out.push((labels("process_cpu_seconds_total", &[("job", "proc"), ("instance", instance)]), samples));
    }

    // Gauges: temperatures going below zero.
    for (i, instance) in ["n1", "n2", "n3"].iter().enumerate() {
        for (j, sensor) in ["s1", "s2"].iter().enumerate() {
            let phase = i as f64 + 0.5 * j as f64;
            let samples = every(T0, DATA_END, 15 * S)
                .map(|t| {
                    let x = (t - T0) as f64 / H as f64;
                    let v = 10.0 * (x + phase).sin() + 3.0 * j as f64 - 2.0 + (rng.unit() - 0.5);
                    (t, (v * 100.0).round() / 100.0)
                })
                .collect();
            out.push((
                labels(
                    "node_temperature_celsius",
                    &[("job", "node"), ("instance", instance), ("sensor", sensor)],
                ),
                samples,
            ));
        }
        let samples = every(T0, DATA_END, 60 * S)
            .map(|t| (t, 1e9 * (i + 1) as f64 + rng.below(1 << 30) as f64))
            .collect();
        out.push((labels("node_memory_free_bytes", &[("job", "node"), ("instance", instance)]), samples));
    }

    // Odd values: NaN, infinities, zero, negatives, tiny and huge.
    for kind in ["nan", "inf", "zero", "neg", "tiny", "huge"] {
        let samples = every(T0, DATA_END, 30 * S)
            .enumerate()
            .map(|(k, t)| {
                let r = rng.unit();
                let v = match kind {
                    "nan" if k % 10 == 3 => f64::NAN,
                    "nan" => r * 10.0,
                    "inf" if k % 17 == 5 => f64::INFINITY,
                    "inf" if k % 23 == 7 => f64::NEG_INFINITY,
                    "inf" => r - 0.5,
                    "zero" => 0.0,
                    "neg" => -1.0 - r * 100.0,
                    "tiny" => r * 1e-300,
                    _ => 1e300 * (1.0 + r),
                };
                (t, v)
            })
            .collect();
        out.push((labels("weird_gauge", &[("job", "weird"), ("kind", kind)]), samples));
    }

    // Values in about [-1.2, 1.2], for the inverse trigonometric functions.
    for instance in ["r1", "r2"] {
        let samples = every(T0, DATA_END, 60 * S)
            .map(|t| (t, ((rng.unit() * 2.4 - 1.2) * 1000.0).round() / 1000.0))
            .collect();
        out.push((labels("ratio", &[("job", "ratio"), ("instance", instance)]), samples));
    }

    // Classic histograms, cumulative, with a reset and a quiet period (all buckets flat).
    let bounds = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"];
    for (i, instance) in ["10.0.0.1:8080", "10.0.0.2:8080"].iter().enumerate() {
        for method in ["get", "post"] {
            let mut buckets = vec![0.0; bounds.len()];
            let (mut sum, mut count) = (0.0, 0.0);
            let mut series: Vec<Vec<(i64, f64)>> = vec![Vec::new(); bounds.len() + 2];
            for t in every(T0, DATA_END, 15 * S) {
                if i == 1 && method == "get" && t == T0 + 3 * H {
                    buckets.iter_mut().for_each(|b| *b = 0.0);
                    (sum, count) = (0.0, 0.0);
                }
                let quiet = i == 0 && method == "post" && (T0 + 5 * H..T0 + 5 * H + 40 * M).contains(&t);
                if !quiet {
                    for _ in 0..rng.below(8) {
                        let d = rng.unit().powi(2) * if method == "get" { 3.0 } else { 7.0 };
                        sum += d;
                        count += 1.0;
                        for (b, bound) in buckets.iter_mut().zip(bounds) {
                            if bound == "+Inf" || d <= bound.parse::<f64>().unwrap_or(f64::INFINITY) {
                                *b += 1.0;
                            }
                        }
                    }
                }
                for (k, b) in buckets.iter().enumerate() {
                    series[k].push((t, *b));
                }
                series[bounds.len()].push((t, sum));
                series[bounds.len() + 1].push((t, count));
            }
            let base = [("job", "api"), ("instance", *instance), ("method", method)];
            for (k, samples) in series.into_iter().enumerate() {
                let ls = match k {
                    k if k < bounds.len() => {
                        let mut pairs = base.to_vec();
                        pairs.push(("le", bounds[k]));
                        labels("http_request_duration_seconds_bucket", &pairs)
                    }
                    k if k == bounds.len() => labels("http_request_duration_seconds_sum", &base),
                    _ => labels("http_request_duration_seconds_count", &base),
                };
                out.push((ls, samples));
            }
        }
    }

    // Series that go stale: b1 stops for good; b2 stops, comes back, and stops again.
    let mut b1 = every(T0, T0 + 2 * H + 30 * M, 60 * S).map(|t| (t, (t / 1000) as f64)).collect::<Vec<_>>();
    b1.push((T0 + 2 * H + 30 * M, stale()));
    out.push((labels("batch_last_success_timestamp_seconds", &[("job", "batch"), ("instance", "b1")]), b1));
    let mut b2 = Vec::new();
    b2.extend(every(T0, T0 + H, 60 * S).map(|t| (t, 1.0)));
    b2.push((T0 + H, stale()));
    b2.extend(every(T0 + 3 * H, T0 + 5 * H, 60 * S).map(|t| (t, 2.0)));
    b2.push((T0 + 5 * H + 15 * S, stale()));
    out.push((labels("batch_last_success_timestamp_seconds", &[("job", "batch"), ("instance", "b2")]), b2));

    // Series that start late (one in the last block only) or live in the first block only.
    for (instance, from) in [("l1", T0 + 4 * H + 10 * M), ("l2", T0 + 6 * H + 3 * M + 3 * S)] {
        let samples =
            counter(&mut rng, 15 * S, 4, 0.5, &[]).into_iter().filter(|(t, _)| *t >= from).collect();
        out.push((labels("late_metric", &[("job", "late"), ("instance", instance)]), samples));
    }
    let early = every(T0, T0 + 100 * M, 20 * S).map(|t| (t, rng.below(50) as f64)).collect();
    out.push((labels("early_metric", &[("job", "early")]), early));

    // Gaps: a long one (longer than the lookback) and a short one.
    let gappy = every(T0, DATA_END, 30 * S)
        .filter(|t| !(T0 + H..T0 + H + 20 * M).contains(t) && !(T0 + 3 * H..T0 + 3 * H + 3 * M).contains(t))
        .map(|t| (t, rng.below(100) as f64 - 50.0))
        .collect();
    out.push((labels("gappy_gauge", &[("job", "gap")]), gappy));

    // Info-style series for group_left joins, and `up`.
    for (k, (job, instance)) in targets.iter().enumerate() {
        let version = if k % 2 == 0 { "1.0" } else { "1.1" };
        let samples = every(T0, DATA_END, 60 * S).map(|t| (t, 1.0)).collect();
        out.push((
            labels("build_info", &[("job", job), ("instance", instance), ("version", version)]),
            samples,
        ));
        let up =
            every(T0, DATA_END, 15 * S).map(|t| (t, if rng.below(20) == 0 { 0.0 } else { 1.0 })).collect();
        out.push((labels("up", &[("job", job), ("instance", instance)]), up));
    }

    // Label sets that collide once a label is dropped (duplicate-series and many-to-many errors).
    for (a, b) in [("1", "x"), ("1", "y"), ("2", "x")] {
        let samples = every(T0, DATA_END, 60 * S).map(|t| (t, rng.below(10) as f64)).collect();
        out.push((labels("dup_metric", &[("a", a), ("b", b)]), samples));
    }

    // Small integers for count_values, and timestamps for the date functions.
    for instance in ["v1", "v2", "v3", "v4"] {
        let samples = every(T0, DATA_END, 60 * S).map(|t| (t, (1 + rng.below(3)) as f64)).collect();
        out.push((labels("version_gauge", &[("job", "ver"), ("instance", instance)]), samples));
    }
    for (instance, ts) in
        [("d1", 1_706_745_600.0), ("d2", 951_782_400.0), ("d3", -1.0), ("d4", 1_709_251_199.5)]
    {
        let samples = every(T0, DATA_END, 5 * M).map(|t| (t, ts + ((t - T0) / 1000) as f64)).collect();
        out.push((labels("backup_timestamp_seconds", &[("job", "backup"), ("instance", instance)]), samples));
    }

    // A recording-rule style name with colons.
    for job in ["api", "web"] {
        let samples = every(T0, DATA_END, 60 * S).map(|t| (t, rng.unit() * 50.0)).collect();
        out.push((labels("job:http_requests:rate5m", &[("job", job)]), samples));
    }

    // Label values that need escaping in JSON and in PromQL strings.
    for (path, user) in [("/a\"b\\c", "é☃"), ("/a/b", "x y"), ("/", "")] {
        let samples = every(T0, DATA_END, 60 * S).map(|t| (t, rng.below(5) as f64)).collect();
        out.push((labels("weird_labels", &[("job", "weird"), ("path", path), ("user", user)]), samples));
    }

    out
}

/// Writes `series` as one block per 2h window into `dir` (chunk range 4h, as promtool does);
/// returns the number of blocks.
pub(crate) fn write_blocks(series: &[GenSeries], dir: &Path) -> usize {
    let mut blocks = 0;
    let mut from = T0;
    while from < DATA_END {
        let to = from + BLOCK_RANGE;
        let mut writer = BlockWriter::new(2 * BLOCK_RANGE);
        for (ls, samples) in series {
            for &(t, v) in samples.iter().filter(|(t, _)| (from..to).contains(t)) {
                assert!(writer.append(ls, t, v), "sample {ls} @{t} dropped");
            }
        }
        if writer.write(dir).unwrap().is_some() {
            blocks += 1;
        }
        from = to;
    }
    blocks
}
