//! Label sets as Prometheus orders and prints them.

use std::cmp::Ordering;
use std::fmt;

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Builds a label set, sorting by name. Empty values are dropped, as Prometheus does.
    pub fn new(mut labels: Vec<Label>) -> Self {
        labels.retain(|l| !l.value.is_empty());
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        labels.dedup_by(|a, b| a.name == b.name);
        Self(labels)
    }

    /// Wraps labels already sorted by unique name (as read from an index).
    pub fn from_sorted(labels: Vec<Label>) -> Self {
        debug_assert!(labels.windows(2).all(|w| w[0].name < w[1].name));
        Self(labels)
    }

    /// Builds a label set from `(name, value)` pairs.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        Self::new(pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect())
    }

    /// The labels, sorted by name.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// Consumes the set, returning its labels.
    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.binary_search_by(|l| l.name.as_str().cmp(name)).ok().map(|i| self.0[i].value.as_str())
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates the labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// Whether a label called `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The set without `__name__` (Prometheus' `dropMetricName`).
    pub fn without_metric_name(&self) -> Labels {
        self.without(&[METRIC_NAME])
    }

    /// The set without the labels called any of `names`.
    pub fn without<S: AsRef<str>>(&self, names: &[S]) -> Labels {
        let kept = self.0.iter().filter(|l| !names.iter().any(|n| n.as_ref() == l.name)).cloned().collect();
        Labels(kept)
    }

    /// Only the labels called one of `names`.
    pub fn keep<S: AsRef<str>>(&self, names: &[S]) -> Labels {
        let kept = self.0.iter().filter(|l| names.iter().any(|n| n.as_ref() == l.name)).cloned().collect();
        Labels(kept)
    }

    /// The set with `name` set to `value`; an empty `value` removes the label, as in Prometheus.
    pub fn with(&self, name: &str, value: &str) -> Labels {
        let mut labels = self.0.clone();
        match labels.binary_search_by(|l| l.name.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                labels.remove(i);
            }
            Ok(i) => labels[i].value = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => labels.insert(i, Label::new(name, value)),
        }
        Labels(labels)
    }

    /// A builder that starts from this set (Prometheus' `labels.NewBuilder`).
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder { labels: self.0.clone() }
    }

    /// A 64-bit hash of the set, stable within a process, for grouping series.
    pub fn stable_hash(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut hasher);
        hasher.finish()
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
        Labels(self.labels.clone())
    }
}

/// Prometheus' `labels.Compare`: pairwise by name, then value; a prefix sorts first.
impl Ord for Labels {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            match a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value)) {
                Ordering::Equal => continue,
                unequal => return unequal,
            }
        }
        self.0.len().cmp(&other.0.len())
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
        for (i, l) in self.0.iter().enumerate() {
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
