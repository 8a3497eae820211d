//! Label sets as Prometheus orders and prints them.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// One label: a name and a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// The label name.
    pub name: String,
    /// The label value.
    pub value: String,
}

impl Label {
    /// A label from its name and value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), value: value.into() }
    }
}

/// A set of labels sorted by name, with unique names: the identity of a series.
///
/// Shared and immutable: a clone is a reference-count increment, not a copy, because the query
/// engine hands the same label set to every step of a range query (Prometheus shares its
/// `labels.Labels` the same way). The set's hash is computed once when it is built, so hashing a
/// set (as maps keyed by series do at every step) costs one `u64`, and equality checks the
/// pointer and the hash before the labels.
#[derive(Clone, Default)]
pub struct Labels(Option<Arc<LabelsInner>>);

/// The shared part of a non-empty [`Labels`].
///
/// (Nothing here may be mutable, not even a lazily filled cache: `Labels` are map keys, and
/// clippy's `mutable_key_type` would flag every such map.)
struct LabelsInner {
    labels: Vec<Label>,
    hash: u64,
}

/// The hash of the empty set.
const EMPTY_HASH: u64 = 0x9e37_79b9_7f4a_7c15;

/// A fast, non-cryptographic hash of sorted labels (FxHash words, then a murmur3 finaliser so the
/// low bits used by hash tables are mixed too); stable within a process.
fn hash_labels(labels: &[Label]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    fn add(h: u64, word: u64) -> u64 {
        (h.rotate_left(5) ^ word).wrapping_mul(K)
    }
    fn add_bytes(mut h: u64, bytes: &[u8]) -> u64 {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            h = add(h, u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let mut last = [0u8; 8];
        let rest = chunks.remainder();
        last[..rest.len()].copy_from_slice(rest);
        // The length keeps "ab","c" apart from "a","bc".
        add(add(h, u64::from_le_bytes(last)), bytes.len() as u64)
    }
    let mut h = EMPTY_HASH;
    for l in labels {
        h = add_bytes(h, l.name.as_bytes());
        h = add_bytes(h, l.value.as_bytes());
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl Labels {
    /// Wraps labels already sorted by unique name, computing the hash.
    fn wrap(labels: Vec<Label>) -> Self {
        if labels.is_empty() {
            return Labels(None);
        }
        let hash = hash_labels(&labels);
        Labels(Some(Arc::new(LabelsInner { labels, hash })))
    }

    /// Builds a label set, sorting by name. Empty values are dropped, as Prometheus does.
    pub fn new(mut labels: Vec<Label>) -> Self {
        labels.retain(|l| !l.value.is_empty());
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        labels.dedup_by(|a, b| a.name == b.name);
        Self::wrap(labels)
    }

    /// Wraps labels already sorted by unique name (as read from an index).
    pub fn from_sorted(labels: Vec<Label>) -> Self {
        debug_assert!(labels.windows(2).all(|w| w[0].name < w[1].name));
        Self::wrap(labels)
    }

    /// Builds a label set from `(name, value)` pairs.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        Self::new(pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect())
    }

    /// The labels, sorted by name.
    pub fn as_slice(&self) -> &[Label] {
        match &self.0 {
            Some(inner) => &inner.labels,
            None => &[],
        }
    }

    /// Consumes the set, returning its labels (copied if the set is shared).
    pub fn into_vec(self) -> Vec<Label> {
        match self.0 {
            Some(inner) => Arc::try_unwrap(inner).map_or_else(|shared| shared.labels.clone(), |i| i.labels),
            None => Vec::new(),
        }
    }

    /// Whether `self` and `other` are the same shared set (so certainly equal); cheaper than
    /// `==`, and false for equal sets built separately.
    pub fn ptr_eq(&self, other: &Labels) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    /// The hash computed when the set was built (what [`Hash`] feeds the hasher).
    pub fn precomputed_hash(&self) -> u64 {
        self.0.as_ref().map_or(EMPTY_HASH, |i| i.hash)
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        let labels = self.as_slice();
        labels.binary_search_by(|l| l.name.as_str().cmp(name)).ok().map(|i| labels[i].value.as_str())
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Iterates the labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.as_slice().iter()
    }

    /// Whether a label called `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The set without `__name__` (Prometheus' `dropMetricName`); the set itself (shared) if it
    /// has no `__name__`.
    pub fn without_metric_name(&self) -> Labels {
        if !self.has(METRIC_NAME) {
            return self.clone();
        }
        self.without(&[METRIC_NAME])
    }

    /// The set without the labels called any of `names`.
    pub fn without<S: AsRef<str>>(&self, names: &[S]) -> Labels {
        let kept = self.iter().filter(|l| !names.iter().any(|n| n.as_ref() == l.name)).cloned().collect();
        Labels::wrap(kept)
    }

    /// Only the labels called one of `names`.
    pub fn keep<S: AsRef<str>>(&self, names: &[S]) -> Labels {
        let kept = self.iter().filter(|l| names.iter().any(|n| n.as_ref() == l.name)).cloned().collect();
        Labels::wrap(kept)
    }

    /// The set with `name` set to `value`; an empty `value` removes the label, as in Prometheus.
    pub fn with(&self, name: &str, value: &str) -> Labels {
        let mut b = self.builder();
        b.set(name, value);
        b.build()
    }

    /// A builder that starts from this set (Prometheus' `labels.NewBuilder`).
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder { labels: self.as_slice().to_vec() }
    }

    /// A 64-bit hash of the set, stable within a process, for grouping series.
    pub fn stable_hash(&self) -> u64 {
        self.precomputed_hash()
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other)
            || (self.precomputed_hash() == other.precomputed_hash() && self.as_slice() == other.as_slice())
    }
}

impl Eq for Labels {}

/// Feeds the precomputed hash: equal sets have equal hashes.
impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.precomputed_hash());
    }
}

/// Prints as the derived `Debug` of a tuple struct around the labels did: `Labels([...])`.
impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Labels").field(&self.as_slice()).finish()
    }
}

/// The name of the label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// Edits a label set: set and delete labels, then [`LabelsBuilder::build`] a sorted [`Labels`].
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        match self.labels.binary_search_by(|l| l.name.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.labels.remove(i);
            }
            Ok(i) => self.labels[i].value = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => self.labels.insert(i, Label::new(name, value)),
        }
        self
    }

    /// Deletes `name`, if present.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| l.name != name);
        self
    }

    /// Keeps only the labels called one of `names`.
    pub fn keep<S: AsRef<str>>(&mut self, names: &[S]) -> &mut Self {
        self.labels.retain(|l| names.iter().any(|n| n.as_ref() == l.name));
        self
    }

    /// The value of `name` as currently set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|l| l.name == name).map(|l| l.value.as_str())
    }

    /// The resulting label set.
    pub fn build(&self) -> Labels {
        Labels::wrap(self.labels.clone())
    }
}

/// Prometheus' `labels.Compare`: pairwise by name, then value; a prefix sorts first.
impl Ord for Labels {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.iter().zip(other.iter()) {
            match a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value)) {
                Ordering::Equal => continue,
                unequal => return unequal,
            }
        }
        self.len().cmp(&other.len())
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Prints as Prometheus' `Labels.String()`: `{a="1", b="2"}`, values quoted like Go's `strconv.Quote`.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&l.name)?;
            f.write_str("=")?;
            write_go_quoted(f, &l.value)?;
        }
        f.write_str("}")
    }
}

/// Writes `s` as Go's `strconv.Quote` does.
pub fn write_go_quoted(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => out.write_str("\\\"")?,
            '\\' => out.write_str("\\\\")?,
            '\x07' => out.write_str("\\a")?,
            '\x08' => out.write_str("\\b")?,
            '\x0c' => out.write_str("\\f")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            '\x0b' => out.write_str("\\v")?,
            c if is_go_printable(c) => out.write_char(c)?,
            c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32)?,
            c if (c as u32) < 0x10000 => write!(out, "\\u{:04x}", c as u32)?,
            c => write!(out, "\\U{:08x}", c as u32)?,
        }
    }
    out.write_char('"')
}

/// An approximation of Go's `strconv.IsPrint`: printable ASCII, and non-control, non-space
/// characters above ASCII (Go's table also rejects some unassigned code points).
fn is_go_printable(c: char) -> bool {
    if (c as u32) < 0x80 {
        return (' '..='~').contains(&c);
    }
    let space_other_than_ideographic = c.is_whitespace() && c != '\u{3000}';
    !c.is_control() && !space_other_than_ideographic && c != '\u{ad}' && c != '\u{feff}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_like_prometheus() {
        let l = Labels::from_pairs([("job", "a\"b"), ("__name__", "up"), ("x", "")]);
        assert_eq!(l.to_string(), r#"{__name__="up", job="a\"b"}"#);
        let l = Labels::from_pairs([("a", "tab\there\n\u{1}")]);
        assert_eq!(l.to_string(), r#"{a="tab\there\n\x01"}"#);
    }

    #[test]
    fn edits_keep_the_set_sorted() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a"), ("zone", "z")]);
        assert_eq!(l.without_metric_name(), Labels::from_pairs([("job", "a"), ("zone", "z")]));
        assert_eq!(l.keep(&["zone", "job"]), Labels::from_pairs([("job", "a"), ("zone", "z")]));
        assert_eq!(l.with("b", "1").with("job", "").to_string(), r#"{__name__="up", b="1", zone="z"}"#);
        let mut b = l.builder();
        b.set("a", "x").del("zone").set("job", "");
        assert_eq!(b.build(), Labels::from_pairs([("__name__", "up"), ("a", "x")]));
        assert_eq!(l.stable_hash(), l.clone().stable_hash());
    }

    #[test]
    fn ordering_like_labels_compare() {
        let a = Labels::from_pairs([("a", "1")]);
        let ab = Labels::from_pairs([("a", "1"), ("b", "1")]);
        let a2 = Labels::from_pairs([("a", "2")]);
        assert!(a < ab && ab < a2);
    }
}
