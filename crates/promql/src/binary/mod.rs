//! Binary operators: arithmetic, comparison and set operators with vector matching.
//!
//! This follows Prometheus 2.42's `VectorAnd`/`VectorOr`/`VectorUnless`/`VectorBinop`/
//! `VectorscalarBinop`/`scalarBinop` (`promql/engine.go`), including its error texts and the order
//! of the output samples.

mod cache;

use std::collections::{HashMap, HashSet};

use promql_parser::parser::token::{self, TokenType};
use promql_parser::parser::{BinModifier, LabelModifier, VectorMatchCardinality};
use tsdb_format::{Label, Labels};

use crate::error::{PromqlError, Result};
use crate::value::{Sample, Vector, VectorWriter};

pub(crate) use crate::gomath::{go_atan2, go_mod, go_pow};
pub(crate) use cache::BinopCache;
use cache::Side;

/// The metric name label.
const METRIC_NAME: &str = "__name__";

/// How the two sides of a vector/vector operation are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

/// The vector matching of an operation, read from its modifier.
pub(crate) struct Matching<'a> {
    card: Card,
    /// `on (…)` rather than `ignoring (…)`.
    on: bool,
    /// The `on`/`ignoring` label names, sorted and deduplicated.
    names: Vec<&'a str>,
    /// The `group_left (…)`/`group_right (…)` labels, in query order.
    include: Vec<&'a str>,
    return_bool: bool,
}

impl<'a> Matching<'a> {
    pub(crate) fn new(op: TokenType, modifier: Option<&'a BinModifier>) -> Self {
        let mut m = Matching {
            card: if op.is_set_operator() { Card::ManyToMany } else { Card::OneToOne },
            on: false,
            names: Vec::new(),
            include: Vec::new(),
            return_bool: false,
        };
        let Some(modifier) = modifier else {
            return m;
        };
        m.return_bool = modifier.return_bool;
        if !op.is_set_operator() {
            m.card = match &modifier.card {
                VectorMatchCardinality::OneToOne => Card::OneToOne,
                VectorMatchCardinality::ManyToOne(ls) => {
                    m.include = ls.labels.iter().map(String::as_str).collect();
                    Card::ManyToOne
                }
                VectorMatchCardinality::OneToMany(ls) => {
                    m.include = ls.labels.iter().map(String::as_str).collect();
                    Card::OneToMany
                }
                VectorMatchCardinality::ManyToMany => Card::ManyToMany,
            };
        }
        match &modifier.matching {
            Some(LabelModifier::Include(ls)) => {
                m.on = true;
                m.names = ls.labels.iter().map(String::as_str).collect();
            }
            Some(LabelModifier::Exclude(ls)) => m.names = ls.labels.iter().map(String::as_str).collect(),
            None => {}
        }
        m.names.sort_unstable();
        m.names.dedup();
        m
    }

    fn listed(&self, name: &str) -> bool {
        self.names.binary_search(&name).is_ok()
    }

    /// The join signature of a series (Go's `signatureFunc`): with `on`, the listed labels; with
    /// `ignoring`, all labels but the listed ones and `__name__`.
    fn signature(&self, labels: &Labels) -> Vec<u8> {
        let mut sig = Vec::new();
        for l in labels.iter() {
            let part_of =
                if self.on { self.listed(&l.name) } else { l.name != METRIC_NAME && !self.listed(&l.name) };
            if part_of {
                sig.extend_from_slice(l.name.as_bytes());
                sig.push(0xff);
                sig.extend_from_slice(l.value.as_bytes());
                sig.push(0xff);
            }
        }
        sig
    }

    /// Go's `Labels.MatchLabels(on, names...)`, for error messages.
    fn match_labels(&self, labels: &Labels) -> Labels {
        Labels::from_sorted(
            labels
                .iter()
                .filter(|l| {
                    if self.on {
                        self.listed(&l.name)
                    } else {
                        !self.listed(&l.name) && l.name != METRIC_NAME
                    }
                })
                .cloned()
                .collect(),
        )
    }
}

/// Whether `op` drops the metric name from its result (Go's `shouldDropMetricName`).
fn should_drop_metric_name(op: TokenType) -> bool {
    matches!(op.id(), token::T_ADD | token::T_SUB | token::T_DIV | token::T_MUL | token::T_POW | token::T_MOD)
}

/// `labels` without `__name__`.
fn drop_metric_name(labels: &Labels) -> Labels {
    crate::name_drop::drop_metric_name(labels)
}

/// Evaluates `op` between two vector elements (Go's `vectorElemBinop`): the value, and whether a
/// comparison holds (always true for arithmetic). Comparisons return the left value.
fn vector_elem_binop(op: TokenType, lhs: f64, rhs: f64) -> Result<(f64, bool)> {
    Ok(match op.id() {
        token::T_ADD => (lhs + rhs, true),
        token::T_SUB => (lhs - rhs, true),
        token::T_MUL => (lhs * rhs, true),
        token::T_DIV => (lhs / rhs, true),
        token::T_POW => (go_pow(lhs, rhs), true),
        token::T_MOD => (go_mod(lhs, rhs), true),
        token::T_EQLC => (lhs, lhs == rhs),
        token::T_NEQ => (lhs, lhs != rhs),
        token::T_GTR => (lhs, lhs > rhs),
        token::T_LSS => (lhs, lhs < rhs),
        token::T_GTE => (lhs, lhs >= rhs),
        token::T_LTE => (lhs, lhs <= rhs),
        token::T_ATAN2 => (go_atan2(lhs, rhs), true),
        _ => {
            return Err(PromqlError::Execution(format!(
                "operator \"{op}\" not allowed for operations between Vectors"
            )));
        }
    })
}

/// Evaluates `op` between two scalars (Go's `scalarBinop`); comparisons give 1 or 0.
///
/// Prometheus only allows comparisons between scalars with `bool`, so `return_bool` does not change
/// the result. An operator that is not a binary operator gives NaN.
pub(crate) fn scalar_binop(op: TokenType, lhs: f64, rhs: f64, return_bool: bool) -> f64 {
    let _ = return_bool;
    let btos = |b: bool| if b { 1.0 } else { 0.0 };
    match op.id() {
        token::T_ADD => lhs + rhs,
        token::T_SUB => lhs - rhs,
        token::T_MUL => lhs * rhs,
        token::T_DIV => lhs / rhs,
        token::T_POW => go_pow(lhs, rhs),
        token::T_MOD => go_mod(lhs, rhs),
        token::T_EQLC => btos(lhs == rhs),
        token::T_NEQ => btos(lhs != rhs),
        token::T_GTR => btos(lhs > rhs),
        token::T_LSS => btos(lhs < rhs),
        token::T_GTE => btos(lhs >= rhs),
        token::T_LTE => btos(lhs <= rhs),
        token::T_ATAN2 => go_atan2(lhs, rhs),
        _ => f64::NAN,
    }
}

/// Evaluates `op` between each element of `vector` and `scalar` (Go's `VectorscalarBinop`).
///
/// Comparisons without `bool` filter and keep the vector's value and labels; with `bool` they give
/// 1/0 and drop `__name__`, as arithmetic does.
pub(crate) fn vector_scalar_binop(
    op: TokenType,
    vector: &Vector,
    scalar: f64,
    scalar_on_left: bool,
    return_bool: bool,
    step_time: i64,
) -> Vector {
    let drop_name = should_drop_metric_name(op) || return_bool;
    let mut out = Vector::with_capacity(vector.len());
    crate::name_drop::dropping_names(|names| {
        for (i, s) in vector.iter().enumerate() {
            let (lv, rv) = if scalar_on_left { (scalar, s.v) } else { (s.v, scalar) };
            let Ok((mut value, mut keep)) = vector_elem_binop(op, lv, rv) else {
                continue;
            };
            if op.is_comparison_operator() && scalar_on_left {
                value = rv;
            }
            if return_bool {
                value = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            if keep {
                let labels = if drop_name { names.drop(i, &s.labels) } else { s.labels.clone() };
                out.push(Sample { labels, t: step_time, v: value });
            }
        }
    });
    out
}

/// Evaluates `op` between two vectors (Go's `VectorAnd`/`VectorOr`/`VectorUnless`/`VectorBinop`).
///
/// `modifier` carries `bool`, `on`/`ignoring` and `group_left`/`group_right`; none means one-to-one
/// matching on all labels but `__name__` (many-to-many for set operators).
#[cfg(test)]
pub(crate) fn vector_binop(
    op: TokenType,
    modifier: Option<&BinModifier>,
    lhs: &Vector,
    rhs: &Vector,
    step_time: i64,
) -> Result<Vector> {
    let mut out = Vector::new();
    let matching = Matching::new(op, modifier);
    vector_binop_cached(op, &matching, lhs, rhs, step_time, &mut BinopCache::default(), &mut out)?;
    Ok(out)
}

/// [`vector_binop`] for one step of a range evaluation: `cache` remembers, across the steps of
/// one binary-operator node, each series' matching signature and each pair's result labels (it
/// must not be shared between nodes). The result is written over `out`, the previous step's
/// (see [`VectorWriter`]); `matching` is built once per node.
pub(crate) fn vector_binop_cached(
    op: TokenType,
    matching: &Matching<'_>,
    lhs: &Vector,
    rhs: &Vector,
    step_time: i64,
    cache: &mut BinopCache,
    out: &mut Vector,
) -> Result<()> {
    cache.start_step();
    let mut out = VectorWriter::new(out);
    match op.id() {
        token::T_LAND => {
            if lhs.is_empty() || rhs.is_empty() {
                return Ok(());
            }
            for (j, s) in rhs.iter().enumerate() {
                let sig = cache.signature(Side::Right, j, &s.labels, matching);
                cache.mark(sig);
            }
            for (j, s) in lhs.iter().enumerate() {
                let sig = cache.signature(Side::Left, j, &s.labels, matching);
                if cache.is_marked(sig) {
                    out.push(&s.labels, step_time, s.v);
                }
            }
            Ok(())
        }
        token::T_LOR => {
            if lhs.is_empty() || rhs.is_empty() {
                for s in lhs.iter().chain(rhs) {
                    out.push(&s.labels, step_time, s.v);
                }
                return Ok(());
            }
            for (j, s) in lhs.iter().enumerate() {
                let sig = cache.signature(Side::Left, j, &s.labels, matching);
                cache.mark(sig);
                out.push(&s.labels, step_time, s.v);
            }
            for (j, s) in rhs.iter().enumerate() {
                let sig = cache.signature(Side::Right, j, &s.labels, matching);
                if !cache.is_marked(sig) {
                    out.push(&s.labels, step_time, s.v);
                }
            }
            Ok(())
        }
        token::T_LUNLESS => {
            if lhs.is_empty() || rhs.is_empty() {
                for s in lhs {
                    out.push(&s.labels, step_time, s.v);
                }
                return Ok(());
            }
            for (j, s) in rhs.iter().enumerate() {
                let sig = cache.signature(Side::Right, j, &s.labels, matching);
                cache.mark(sig);
            }
            for (j, s) in lhs.iter().enumerate() {
                let sig = cache.signature(Side::Left, j, &s.labels, matching);
                if !cache.is_marked(sig) {
                    out.push(&s.labels, step_time, s.v);
                }
            }
            Ok(())
        }
        _ => vector_vector_binop(op, matching, lhs, rhs, step_time, cache, &mut out),
    }
}

/// Go's `VectorBinop`: arithmetic and comparisons between two vectors.
fn vector_vector_binop(
    op: TokenType,
    matching: &Matching<'_>,
    lhs: &Vector,
    rhs: &Vector,
    step_time: i64,
    cache: &mut BinopCache,
    out: &mut VectorWriter<'_>,
) -> Result<()> {
    if matching.card == Card::ManyToMany {
        return Err(PromqlError::Execution("many-to-many only allowed for set operators".to_string()));
    }
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(());
    }
    // For one-to-many, swap the sides; the values are swapped back for the operation.
    let swapped = matching.card == Card::OneToMany;
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let (many_side, one_side) = if swapped { (Side::Right, Side::Left) } else { (Side::Left, Side::Right) };

    // The "one" side by signature; a signature seen twice means many-to-many matching.
    for (i, rs) in one.iter().enumerate() {
        let sig = cache.signature(one_side, i, &rs.labels, matching);
        if let Some(dupl) = cache.one_side(sig).map(|j| &one[j]) {
            let side = if swapped { "left" } else { "right" };
            return Err(PromqlError::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}]\
                 ;many-to-many matching not allowed: matching labels must be unique on one side",
                matching.match_labels(&rs.labels),
                rs.labels,
                dupl.labels
            )));
        }
        cache.set_one_side(sig, i);
    }

    // Signatures already matched: for one-to-one just their presence (in `cache`), for
    // many-to-one the output label sets produced for them.
    let mut matched: HashMap<usize, HashSet<Labels>> = HashMap::new();
    for (j, ls) in many.iter().enumerate() {
        let sig = cache.signature(many_side, j, &ls.labels, matching);
        let Some(rs) = cache.one_side(sig).map(|j| &one[j]) else {
            continue;
        };
        let (vl, vr) = if swapped { (rs.v, ls.v) } else { (ls.v, rs.v) };
        let (mut value, keep) = vector_elem_binop(op, vl, vr)?;
        if matching.return_bool {
            value = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        let metric = cache.result_labels(j, &ls.labels, &rs.labels, || {
            let metric = result_metric(&ls.labels, &rs.labels, op, matching);
            if matching.return_bool { drop_metric_name(&metric) } else { metric }
        });
        out.push(metric, step_time, value);
        match matching.card {
            Card::OneToOne => {
                if !cache.match_once(sig) {
                    return Err(PromqlError::Execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                            .to_string(),
                    ));
                }
            }
            _ => {
                let metric = cache.last_result_labels(j).clone();
                let inserted = matched.entry(sig).or_default();
                if !inserted.insert(metric) {
                    return Err(PromqlError::Execution(
                        "multiple matches for labels: grouping labels must ensure unique matches".to_string(),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The labels of a vector/vector result (Go's `resultMetric`), from the "many" side `lhs` and the
/// "one" side `rhs`.
fn result_metric(lhs: &Labels, rhs: &Labels, op: TokenType, matching: &Matching<'_>) -> Labels {
    let drop_name = should_drop_metric_name(op);
    let mut labels: Vec<Label> = lhs
        .iter()
        .filter(|l| {
            if drop_name && l.name == METRIC_NAME {
                return false;
            }
            if matching.card == Card::OneToOne {
                return matching.listed(&l.name) == matching.on;
            }
            true
        })
        .cloned()
        .collect();
    for &name in &matching.include {
        labels.retain(|l| l.name != name);
        if let Some(v) = rhs.get(name)
            && !v.is_empty()
        {
            labels.push(Label::new(name, v));
        }
    }
    Labels::new(labels)
}

#[cfg(test)]
mod tests;
