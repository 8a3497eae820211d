//! `histogram_quantile` over classic (`le`-labelled) buckets, as 2.42's `bucketQuantile`
//! computes it (with `coalesceBuckets` and `ensureMonotonic`), and the native-histogram
//! functions, which find no native histograms here and so return nothing.

use std::cell::RefCell;

use tsdb_format::{Label, Labels};

use super::{FunctionArgs, go_search, go_sort};
use crate::error::Result;
use crate::fasthash::FastMap;
use crate::value::{Sample, Vector};

#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    upper_bound: f64,
    count: f64,
}

/// `histogram_quantile(q, buckets)`.
///
/// Samples are grouped by their labels without `le`; samples without a parseable `le` are
/// skipped. Each group yields one sample labelled without `__name__` and `le`. Groups are
/// output in the order of their first bucket (2.42 iterates a Go map, so its order is random).
pub(super) fn histogram_quantile(args: &FunctionArgs<'_>) -> Result<Vector> {
    let q = args.scalar("histogram_quantile", 0)?;
    let vector = args.vector("histogram_quantile", 1)?;

    // Per group (labels without `le`): its output labels and (in `cache.buckets_pool`, reused
    // from step to step) its buckets, in first-seen order.
    let mut groups: Vec<Labels> = Vec::new();
    let mut out = Vec::new();
    BUCKET_OF.with(|cache| {
        let mut cache = cache.borrow_mut();
        cache.start_call();
        let mut pool = std::mem::take(&mut cache.buckets_pool);
        for (position, sample) in vector.iter().enumerate() {
            let Some((upper_bound, group)) = cache.bucket_of(position, &sample.labels) else {
                continue;
            };
            let bucket = Bucket { upper_bound, count: sample.v };
            match cache.slot(group, groups.len()) {
                Ok(i) => pool[i].push(bucket),
                Err(metric) => {
                    let i = groups.len();
                    if pool.len() <= i {
                        pool.push(Vec::new());
                    }
                    pool[i].clear();
                    pool[i].push(bucket);
                    groups.push(metric);
                }
            }
        }
        out = groups
            .into_iter()
            .zip(pool.iter_mut())
            .map(|(labels, buckets)| Sample { labels, t: args.step_time, v: bucket_quantile(q, buckets) })
            .collect();
        cache.buckets_pool = pool;
    });
    Ok(out)
}

thread_local! {
    /// The bucket and group of series labels. The engine calls `histogram_quantile` once per
    /// step with the same series; parsing `le`, building the group labels and looking groups up
    /// by labels at every step was most of its cost.
    static BUCKET_OF: RefCell<BucketCache> = RefCell::new(BucketCache::default());
}

/// See [`BUCKET_OF`]. Content-keyed, so it stays right across calls and queries.
#[derive(Default)]
struct BucketCache {
    /// Series labels → index in `buckets`.
    by_series: FastMap<Labels, usize>,
    /// The upper bound and group id of a series; `None` without a parseable `le`.
    buckets: Vec<Option<(f64, usize)>>,
    /// Group key (the labels without `le`) → group id.
    group_ids: FastMap<Labels, usize>,
    /// Per group id: its output labels (without `le` and `__name__`), and the call it was last
    /// seen in with its index in that call's groups.
    groups: Vec<(Labels, u64, usize)>,
    /// Per position in the input vector: the series last seen there and its index in
    /// `buckets` (usually the same series at every step, found without hashing).
    by_position: Vec<(Labels, usize)>,
    call: u64,
    /// The buckets of each group of a call, kept to be filled again at the next.
    buckets_pool: Vec<Vec<Bucket>>,
}

impl BucketCache {
    /// Most series kept; the cache starts over past this, so it cannot grow without bound.
    const MAX_ENTRIES: usize = 1 << 16;

    /// Starts a call: no group seen yet.
    fn start_call(&mut self) {
        if self.by_series.len() >= Self::MAX_ENTRIES {
            *self = BucketCache { call: self.call, ..BucketCache::default() };
        }
        self.call += 1;
    }

    /// The upper bound and group id of the series at `position`.
    fn bucket_of(&mut self, position: usize, labels: &Labels) -> Option<(f64, usize)> {
        if let Some((seen, i)) = self.by_position.get(position)
            && seen.ptr_eq(labels)
        {
            return self.buckets[*i];
        }
        let i = match self.by_series.get(labels) {
            Some(&i) => i,
            None => {
                let bucket = labels.get("le").and_then(go_parse_float).map(|upper_bound| {
                    let key: Vec<Label> = labels.iter().filter(|l| l.name != "le").cloned().collect();
                    (upper_bound, self.group_id(Labels::from_sorted(key)))
                });
                let i = self.buckets.len();
                self.buckets.push(bucket);
                self.by_series.insert(labels.clone(), i);
                i
            }
        };
        if position >= self.by_position.len() {
            self.by_position.resize(position + 1, (Labels::default(), 0));
        }
        self.by_position[position] = (labels.clone(), i);
        self.buckets[i]
    }

    fn group_id(&mut self, key: Labels) -> usize {
        if let Some(&id) = self.group_ids.get(&key) {
            return id;
        }
        let id = self.groups.len();
        self.groups.push((key.without_metric_name(), 0, 0));
        self.group_ids.insert(key, id);
        id
    }

    /// `Ok(index)` of the group in this call's groups, or `Err(labels)` of a group first seen
    /// now, which becomes index `next`.
    fn slot(&mut self, group: usize, next: usize) -> Result<usize, Labels> {
        let (labels, call, index) = &mut self.groups[group];
        if *call == self.call {
            return Ok(*index);
        }
        (*call, *index) = (self.call, next);
        Err(labels.clone())
    }
}

/// 2.42's `bucketQuantile`.
fn bucket_quantile(q: f64, buckets: &mut [Bucket]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    go_sort(buckets, |a, b| a.upper_bound < b.upper_bound);
    match buckets.last() {
        Some(b) if b.upper_bound == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    let n = coalesce_buckets(buckets);
    let buckets = &mut buckets[..n];
    ensure_monotonic(buckets);

    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = go_search(buckets.len() - 1, |i| buckets[i].count >= rank);

    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].upper_bound;
    }
    if b == 0 && buckets[0].upper_bound <= 0.0 {
        return buckets[0].upper_bound;
    }
    let mut bucket_start = 0.0;
    let bucket_end = buckets[b].upper_bound;
    let mut count = buckets[b].count;
    if b > 0 {
        bucket_start = buckets[b - 1].upper_bound;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

/// 2.42's `coalesceBuckets`: merges adjacent buckets with equal upper bounds (summing counts in
/// order) in place; returns the new length.
fn coalesce_buckets(buckets: &mut [Bucket]) -> usize {
    let mut last = buckets[0];
    let mut i = 0;
    for j in 1..buckets.len() {
        let b = buckets[j];
        if b.upper_bound == last.upper_bound {
            last.count += b.count;
        } else {
            buckets[i] = last;
            last = b;
            i += 1;
        }
    }
    buckets[i] = last;
    i + 1
}

/// 2.42's `ensureMonotonic`: raises each count to the maximum seen so far.
fn ensure_monotonic(buckets: &mut [Bucket]) {
    let mut max = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        if b.count > max {
            max = b.count;
        } else if b.count < max {
            b.count = max;
        }
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms a `le` label holds: `None` for
/// anything Go rejects, including out-of-range values (which Go reports as an error).
fn go_parse_float(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = unsigned.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(if s.starts_with('-') { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if lower == "nan" {
        // Go accepts NaN without a sign only.
        return (unsigned.len() == s.len()).then_some(f64::NAN);
    }
    if lower.starts_with("0x") {
        return go_parse_hex_float(s);
    }
    // Rust accepts exactly Go's decimal syntax (no underscores without a base prefix), apart
    // from the special words handled above.
    if !unsigned.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    if v.is_infinite() {
        return None; // ErrRange
    }
    Some(v)
}

/// Go's hexadecimal float syntax (`0x1.8p3`, mandatory `p` exponent, `_` separators allowed).
fn go_parse_hex_float(s: &str) -> Option<f64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let rest = rest.get(2..)?.replace('_', "");
    let (mantissa, exp) = rest.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let exp = exp.checked_sub(4 * i32::try_from(frac_part.len()).ok()?)?;
    let v = v * 2f64.powi(exp);
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// `histogram_count(v)`: native histograms only; float samples are skipped.
pub(super) fn histogram_count(args: &FunctionArgs<'_>) -> Result<Vector> {
    args.vector("histogram_count", 0)?;
    Ok(Vec::new())
}

/// `histogram_sum(v)`: native histograms only; float samples are skipped.
pub(super) fn histogram_sum(args: &FunctionArgs<'_>) -> Result<Vector> {
    args.vector("histogram_sum", 0)?;
    Ok(Vec::new())
}

/// `histogram_fraction(lower, upper, v)`: native histograms only; float samples are skipped.
pub(super) fn histogram_fraction(args: &FunctionArgs<'_>) -> Result<Vector> {
    args.vector("histogram_fraction", 2)?;
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    fn buckets(extra: &[(&str, &str)], bs: &[(&str, f64)]) -> Vector {
        bs.iter()
            .map(|(le, v)| {
                let mut pairs = vec![("__name__", "h_bucket"), ("le", *le)];
                pairs.extend_from_slice(extra);
                sample(&pairs, *v)
            })
            .collect()
    }

    fn hq(q: f64, input: &Vector) -> Vector {
        call("histogram_quantile", &[Scalar(q), arg_vec(input)], 0).expect("histogram_quantile")
    }

    fn one(q: f64, input: &Vector) -> f64 {
        let out = hq(q, input);
        assert_eq!(out.len(), 1);
        out[0].v
    }

    #[test]
    fn quantiles_like_histograms_test() {
        // testhistogram_bucket at 50m (counts x10).
        let pos = buckets(
            &[("start", "positive")],
            &[("0.1", 50.0), (".2", 70.0), ("1e0", 110.0), ("+Inf", 120.0)],
        );
        let neg = buckets(
            &[("start", "negative")],
            &[("-.2", 10.0), ("-0.1", 20.0), ("0.3", 20.0), ("+Inf", 30.0)],
        );
        assert_close(one(-0.1, &pos), f64::NEG_INFINITY);
        assert_close(one(1.01, &pos), f64::INFINITY);
        assert!(one(f64::NAN, &pos).is_nan());
        assert_close(one(0.0, &pos), 0.0);
        assert_close(one(0.0, &neg), -0.2);
        assert_close(one(1.0, &pos), 1.0);
        assert_close(one(1.0, &neg), 0.3);
        assert_close(one(0.2, &pos), 0.048);
        assert_close(one(0.2, &neg), -0.2);
        assert_close(one(0.5, &pos), 0.15);
        assert_close(one(0.5, &neg), -0.15);
        assert_close(one(0.8, &pos), 0.72);
        assert_close(one(0.8, &neg), 0.3);
        let mut both = pos.clone();
        both.extend(neg);
        let out = hq(0.5, &both);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].labels, labels(&[("start", "positive")]));
        assert_eq!(out[1].labels, labels(&[("start", "negative")]));
    }

    #[test]
    fn middle_of_buckets() {
        let h = buckets(&[], &[("0", 0.0), ("2", 1.0), ("4", 2.0), ("6", 3.0), ("+Inf", 3.0)]);
        assert_close(one(1. / 6., &h), 1.0);
        assert_close(one(0.5, &h), 3.0);
        assert_close(one(5. / 6., &h), 5.0);
    }

    #[test]
    fn mixed_le_representations_coalesce() {
        let h = buckets(&[], &[("0.1", 1.0), ("0.2", 1.0), ("2e-1", 1.0), ("2.0e-1", 1.0), ("+Inf", 4.0)]);
        // Buckets: 0.1:1, 0.2:3, +Inf:4.
        assert_close(one(0.5, &h), 0.15);
        assert_close(one(0.75, &h), 0.2);
        let h = buckets(&[], &[("+inf", 0.0), ("+Inf", 0.0)]);
        assert!(one(0.5, &h).is_nan(), "a single coalesced bucket");
    }

    #[test]
    fn missing_inf_bucket_and_bad_le() {
        let h = buckets(&[], &[("0.1", 1.0), ("0.2", 2.0)]);
        assert!(one(0.5, &h).is_nan());
        let mut h = buckets(&[], &[("0.1", 1.0), ("+Inf", 2.0)]);
        h.push(sample(&[("__name__", "h_bucket"), ("le", "foo")], 100.0));
        h.push(sample(&[("__name__", "h_bucket")], 100.0));
        h.push(sample(&[("__name__", "h_bucket"), ("le", "1e999")], 100.0));
        assert_close(one(0.5, &h), 0.1);
        assert!(hq(0.5, &Vec::new()).is_empty());
    }

    #[test]
    fn non_monotonic_buckets() {
        // histograms.test: nonmonotonic_bucket at 50m.
        let h = buckets(
            &[],
            &[("0.1", 20.0), ("1", 10.0), ("10", 50.0), ("100", 40.0), ("1000", 90.0), ("+Inf", 80.0)],
        );
        assert_close(one(0.01, &h), 0.0045);
        assert_close(one(0.5, &h), 8.5);
        assert_close(one(0.99, &h), 979.75);
    }

    #[test]
    fn zero_and_nan_observations() {
        let h = buckets(&[], &[("1", 0.0), ("+Inf", 0.0)]);
        assert!(one(0.5, &h).is_nan());
        // NaN total: rank NaN, no bucket reaches it: the second-highest bound.
        let h = buckets(&[], &[("1", 1.0), ("2", 2.0), ("+Inf", f64::NAN)]);
        assert_close(one(0.5, &h), 2.0);
    }

    #[test]
    fn parse_float_like_go() {
        assert_eq!(go_parse_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(go_parse_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(go_parse_float("Infinity"), Some(f64::INFINITY));
        assert!(go_parse_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(go_parse_float("+NaN"), None);
        assert_eq!(go_parse_float(".2"), Some(0.2));
        assert_eq!(go_parse_float("1e0"), Some(1.0));
        assert_eq!(go_parse_float("1_0"), None);
        assert_eq!(go_parse_float(""), None);
        assert_eq!(go_parse_float(" 1"), None);
        assert_eq!(go_parse_float("1e999"), None);
        assert_eq!(go_parse_float("0x1p-2"), Some(0.25));
        assert_eq!(go_parse_float("0x1.8p1"), Some(3.0));
        assert_eq!(go_parse_float("0x1"), None);
    }
}
