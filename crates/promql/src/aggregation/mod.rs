//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, `count_values`, …) over one step's vector.
//!
//! This follows Prometheus 2.42's `evaluator.aggregation` (`promql/engine.go`): groups are output in
//! the order they are first seen in the input, the float arithmetic happens in the same order, and
//! `topk`/`bottomk`/`quantile` use Go's heap and sort algorithms so ties and NaNs land where 2.42 puts
//! them.

mod groups;

use std::collections::HashMap;

use promql_parser::parser::LabelModifier;
use promql_parser::parser::token::{self, TokenType};
use tsdb_format::{Label, Labels};

use crate::error::{PromqlError, Result};
use crate::value::{Sample, Vector};

pub(crate) use crate::gosort::go_sort;
pub(crate) use groups::GroupCache;

/// The metric name label.
const METRIC_NAME: &str = "__name__";

/// The parameter of an aggregation, already evaluated for this step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AggregateParam<'a> {
    /// No parameter (`sum`, `avg`, …).
    None,
    /// A number: `k` of `topk`/`bottomk`, `φ` of `quantile`.
    Scalar(f64),
    /// A string: the label name of `count_values`.
    String(&'a str),
}

/// The aggregation operators Prometheus 2.42 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Quantile,
    CountValues,
}

impl Op {
    fn from_token(op: TokenType) -> Result<Op> {
        Ok(match op.id() {
            token::T_SUM => Op::Sum,
            token::T_AVG => Op::Avg,
            token::T_COUNT => Op::Count,
            token::T_MIN => Op::Min,
            token::T_MAX => Op::Max,
            token::T_GROUP => Op::Group,
            token::T_STDDEV => Op::Stddev,
            token::T_STDVAR => Op::Stdvar,
            token::T_TOPK => Op::Topk,
            token::T_BOTTOMK => Op::Bottomk,
            token::T_QUANTILE => Op::Quantile,
            token::T_COUNT_VALUES => Op::CountValues,
            _ => {
                return Err(PromqlError::Execution(format!(
                    "expected aggregation operator but got \"{op}\""
                )));
            }
        })
    }
}

/// `by (…)` / `without (…)` with the label names sorted and deduplicated.
struct Grouping<'a> {
    without: bool,
    names: Vec<&'a str>,
}

impl<'a> Grouping<'a> {
    fn new(modifier: Option<&'a LabelModifier>) -> Self {
        let (without, names): (bool, Vec<&str>) = match modifier {
            None => (false, Vec::new()),
            Some(LabelModifier::Include(ls)) => (false, ls.labels.iter().map(String::as_str).collect()),
            Some(LabelModifier::Exclude(ls)) => (true, ls.labels.iter().map(String::as_str).collect()),
        };
        let mut g = Grouping { without, names };
        g.normalize();
        g
    }

    fn normalize(&mut self) {
        self.names.sort_unstable();
        self.names.dedup();
    }

    fn has(&self, name: &str) -> bool {
        self.names.binary_search(&name).is_ok()
    }

    /// Whether label `name` takes part in the grouping (Go's `HashForLabels`/`HashWithoutLabels`).
    fn groups_on(&self, name: &str) -> bool {
        if self.without { name != METRIC_NAME && !self.has(name) } else { self.has(name) }
    }

    /// The grouping key of `metric`: its grouping labels, each `name 0xff value 0xff`.
    fn key(&self, metric: &[Label], buf: &mut Vec<u8>) {
        buf.clear();
        if !self.without && self.names.is_empty() {
            return;
        }
        for l in metric {
            if l.value.is_empty() || !self.groups_on(&l.name) {
                continue;
            }
            buf.extend_from_slice(l.name.as_bytes());
            buf.push(0xff);
            buf.extend_from_slice(l.value.as_bytes());
            buf.push(0xff);
        }
    }

    /// The output labels of a group first seen with `metric` (`without` also drops `__name__`).
    fn group_labels(&self, metric: &[Label]) -> Labels {
        if !self.without && self.names.is_empty() {
            return Labels::default();
        }
        Labels::from_sorted(
            metric.iter().filter(|l| !l.value.is_empty() && self.groups_on(&l.name)).cloned().collect(),
        )
    }
}

/// One output group being accumulated.
struct Group<'v> {
    labels: Labels,
    value: f64,
    mean: f64,
    count: u64,
    /// `topk`/`bottomk` heap, or all values of the group for `quantile`.
    heap: Vec<HeapItem<'v>>,
}

/// An element of a `topk`/`bottomk`/`quantile` heap: a value and the series it came from.
#[derive(Clone, Copy)]
struct HeapItem<'v> {
    v: f64,
    labels: &'v Labels,
}

/// Go's `vectorByValueHeap.Less`: NaN sorts first (and is "less" than even another NaN).
fn by_value_less(a: &HeapItem<'_>, b: &HeapItem<'_>) -> bool {
    a.v.is_nan() || a.v < b.v
}

/// Go's `vectorByReverseValueHeap.Less`.
fn by_reverse_value_less(a: &HeapItem<'_>, b: &HeapItem<'_>) -> bool {
    a.v.is_nan() || a.v > b.v
}

/// Prometheus' `maxInt64`: the largest float64 not above `math.MaxInt64`.
const MAX_INT64_F: f64 = 9_223_372_036_854_774_784.0;
/// Prometheus' `minInt64`.
const MIN_INT64_F: f64 = -9_223_372_036_854_775_808.0;

/// Evaluates aggregation `op` over one step's `input`, as Prometheus 2.42 does.
///
/// `modifier` is the `by`/`without` clause (none means `by ()`). Samples in the output carry
/// `t = step_time`; groups come out in the order they were first seen, `topk`/`bottomk` output each
/// group's samples in heap order as 2.42 does.
#[cfg(test)]
pub(crate) fn aggregate(
    op: TokenType,
    param: AggregateParam<'_>,
    modifier: Option<&LabelModifier>,
    input: &Vector,
    step_time: i64,
) -> Result<Vector> {
    aggregate_cached(op, param, modifier, input, step_time, &mut GroupCache::default())
}

/// [`aggregate`] for one step of a range evaluation: `cache` remembers the group of every input
/// series across the steps of one aggregation node (it must not be shared between nodes).
pub(crate) fn aggregate_cached(
    op: TokenType,
    param: AggregateParam<'_>,
    modifier: Option<&LabelModifier>,
    input: &Vector,
    step_time: i64,
    cache: &mut GroupCache,
) -> Result<Vector> {
    let op = Op::from_token(op)?;
    let mut grouping = Grouping::new(modifier);
    let scalar_param = match param {
        AggregateParam::Scalar(f) => f,
        _ => 0.0,
    };

    let mut k: u64 = 0;
    if matches!(op, Op::Topk | Op::Bottomk) {
        let f = scalar_param;
        if !(MIN_INT64_F..=MAX_INT64_F).contains(&f) {
            return Err(PromqlError::Execution(format!("Scalar value {} overflows int64", go_format_v(f))));
        }
        let ki = f as i64;
        if ki < 1 {
            return Ok(Vector::new());
        }
        k = ki as u64;
    }
    let q = scalar_param;

    let mut value_label: Option<&str> = None;
    if op == Op::CountValues {
        let name = match param {
            AggregateParam::String(s) => s,
            _ => "",
        };
        if !is_valid_label_name(name) {
            let mut quoted = String::new();
            // Writing into a String cannot fail.
            let _ = tsdb_format::labels::write_go_quoted(&mut quoted, name);
            return Err(PromqlError::Execution(format!("invalid label name {quoted}")));
        }
        value_label = Some(name);
        if !grouping.without {
            grouping.names.push(name);
            grouping.normalize();
        }
    }

    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut key = Vec::new();

    cache.start_step();
    for (position, s) in input.iter().enumerate() {
        // The group of this sample: an index into `groups` if the group was already seen at this
        // step, else the labels of a new group.
        let found = if let Some(name) = value_label {
            // count_values groups by value too: nothing to remember across steps.
            let counted_metric = with_label(&s.labels, name, &go_format_float(s.v));
            let metric = counted_metric.as_slice();
            grouping.key(metric, &mut key);
            match index.get(key.as_slice()) {
                Some(&gi) => Ok(gi),
                None => {
                    index.insert(key.clone(), groups.len());
                    Err(grouping.group_labels(metric))
                }
            }
        } else {
            cache.find(
                position,
                &s.labels,
                groups.len(),
                |metric, key| grouping.key(metric, key),
                |metric| grouping.group_labels(metric),
            )
        };

        let gi = match found {
            Ok(gi) => gi,
            Err(labels) => {
                let mut g = Group { labels, value: s.v, mean: s.v, count: 1, heap: Vec::new() };
                match op {
                    Op::Stddev | Op::Stdvar => g.value = 0.0,
                    Op::Topk | Op::Bottomk | Op::Quantile => {
                        g.heap.push(HeapItem { v: s.v, labels: &s.labels })
                    }
                    Op::Group => g.value = 1.0,
                    _ => {}
                }
                groups.push(g);
                continue;
            }
        };
        let g = &mut groups[gi];

        match op {
            Op::Sum => g.value += s.v,
            Op::Avg => {
                g.count += 1;
                if g.mean.is_infinite() {
                    // An infinite mean stays as it is when adding the same Inf or a finite value;
                    // the update below would turn it into NaN.
                    if s.v.is_infinite() && (g.mean > 0.0) == (s.v > 0.0) {
                        continue;
                    }
                    if !s.v.is_infinite() && !s.v.is_nan() {
                        continue;
                    }
                }
                let c = g.count as f64;
                g.mean += s.v / c - g.mean / c;
            }
            Op::Group => {}
            Op::Max => {
                if g.value < s.v || g.value.is_nan() {
                    g.value = s.v;
                }
            }
            Op::Min => {
                if g.value > s.v || g.value.is_nan() {
                    g.value = s.v;
                }
            }
            Op::Count | Op::CountValues => g.count += 1,
            Op::Stddev | Op::Stdvar => {
                g.count += 1;
                let delta = s.v - g.mean;
                g.mean += delta / g.count as f64;
                g.value += delta * (s.v - g.mean);
            }
            Op::Topk => {
                let item = HeapItem { v: s.v, labels: &s.labels };
                if (g.heap.len() as u64) < k || g.heap[0].v < s.v || g.heap[0].v.is_nan() {
                    if g.heap.len() as u64 == k {
                        if k == 1 {
                            g.heap[0] = item;
                            continue;
                        }
                        crate::gosort::heap_pop(&mut g.heap, by_value_less);
                    }
                    crate::gosort::heap_push(&mut g.heap, item, by_value_less);
                }
            }
            Op::Bottomk => {
                let item = HeapItem { v: s.v, labels: &s.labels };
                if (g.heap.len() as u64) < k || g.heap[0].v > s.v || g.heap[0].v.is_nan() {
                    if g.heap.len() as u64 == k {
                        if k == 1 {
                            g.heap[0] = item;
                            continue;
                        }
                        crate::gosort::heap_pop(&mut g.heap, by_reverse_value_less);
                    }
                    crate::gosort::heap_push(&mut g.heap, item, by_reverse_value_less);
                }
            }
            Op::Quantile => g.heap.push(HeapItem { v: s.v, labels: &s.labels }),
        }
    }

    let mut out = Vector::with_capacity(groups.len());
    for mut g in groups {
        let value = match op {
            Op::Avg => g.mean,
            Op::Count | Op::CountValues => g.count as f64,
            Op::Stdvar => g.value / g.count as f64,
            Op::Stddev => (g.value / g.count as f64).sqrt(),
            Op::Topk | Op::Bottomk => {
                // sort.Sort(sort.Reverse(heap)): the reversed heap order.
                if g.heap.len() > 1 {
                    if op == Op::Topk {
                        go_sort(&mut g.heap, |a, b| by_value_less(b, a));
                    } else {
                        go_sort(&mut g.heap, |a, b| by_reverse_value_less(b, a));
                    }
                }
                out.extend(g.heap.iter().map(|h| Sample { labels: h.labels.clone(), t: step_time, v: h.v }));
                continue;
            }
            Op::Quantile => quantile(q, &mut g.heap),
            Op::Sum | Op::Min | Op::Max | Op::Group => g.value,
        };
        out.push(Sample { labels: g.labels, t: step_time, v: value });
    }
    Ok(out)
}

/// Prometheus 2.42's `quantile` (`promql/quantile.go`) over a group's values.
fn quantile(q: f64, values: &mut [HeapItem<'_>]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    go_sort(values, by_value_less);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (n - 1.0).min(lower + 1.0);
    let weight = rank - rank.floor();
    values[lower as usize].v * (1.0 - weight) + values[upper as usize].v * weight
}

/// `metric` with label `name` set to `value` (Go's `labels.Builder.Set`).
fn with_label(metric: &Labels, name: &str, value: &str) -> Labels {
    let mut v: Vec<Label> = metric.iter().filter(|l| l.name != name).cloned().collect();
    v.push(Label::new(name, value));
    Labels::new(v)
}

/// Prometheus' `model.LabelName.IsValid`: `^[a-zA-Z_][a-zA-Z0-9_]*$`.
fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.bytes();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
pub(crate) fn go_format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        // Rust's `Display` for f64 is the shortest round-tripping decimal without an exponent,
        // which is what Go's 'f' format with precision -1 prints.
        format!("{v}")
    }
}

/// Go's `fmt` `%v` for a float64 (`%g` with the shortest precision): `%e` form when the decimal
/// exponent is below -4 or at least 6 (`1e+06`, `1.5e+19`), plain decimal otherwise.
pub(crate) fn go_format_v(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{v:e}"); // e.g. "-1.2345e19", "1e-7"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests;
