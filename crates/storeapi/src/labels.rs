//! Label sets on the wire: conversion between [`tsdb_format::Labels`] and lists of
//! [`pb::Label`], Prometheus' ordering on them, and Thanos' external-label rules.
//!
//! On the wire a label set is a `repeated thanos.Label`, sorted by name with unique names.
//! External labels are added to every series a store returns; on a name clash the external
//! label wins (Thanos' `labelpb.ExtendSortedLabels`).

use std::cmp::Ordering;

use tsdb_format::{Label, Labels};

use crate::pb::thanos as pb;

/// A wire label from its name and value.
pub fn label(name: impl Into<String>, value: impl Into<String>) -> pb::Label {
    pb::Label { name: name.into(), value: value.into() }
}

/// The wire form of a label set, in name order.
pub fn to_pb(labels: &Labels) -> Vec<pb::Label> {
    labels.iter().map(|l| label(l.name.clone(), l.value.clone())).collect()
}

/// A label set from wire labels: sorted by name, empty values dropped (as Prometheus does);
/// of two labels with the same name the first is kept.
pub fn from_pb(labels: &[pb::Label]) -> Labels {
    Labels::new(labels.iter().map(|l| Label::new(l.name.clone(), l.value.clone())).collect())
}

/// Like [`from_pb`], consuming the wire labels.
pub fn from_pb_owned(labels: Vec<pb::Label>) -> Labels {
    Labels::new(labels.into_iter().map(|l| Label::new(l.name, l.value)).collect())
}

/// Wire labels from `(name, value)` pairs, sorted by name (a test and builder convenience).
pub fn pb_from_pairs<N: Into<String>, V: Into<String>>(
    pairs: impl IntoIterator<Item = (N, V)>,
) -> Vec<pb::Label> {
    to_pb(&Labels::from_pairs(pairs))
}

/// Prometheus' `labels.Compare` on wire label lists: pairwise by name, then value; a prefix
/// sorts first. This is the order of series in a `Series` stream.
pub fn compare(a: &[pb::Label], b: &[pb::Label]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        match x.name.cmp(&y.name).then_with(|| x.value.cmp(&y.value)) {
            Ordering::Equal => continue,
            unequal => return unequal,
        }
    }
    a.len().cmp(&b.len())
}

/// Whether the wire labels are sorted by name with unique names.
pub fn is_sorted(labels: &[pb::Label]) -> bool {
    labels.windows(2).all(|w| w[0].name < w[1].name)
}

/// The value of `name` in wire labels (`""` when absent, as matchers see it).
pub fn get<'a>(labels: &'a [pb::Label], name: &str) -> Option<&'a str> {
    labels.iter().find(|l| l.name == name).map(|l| l.value.as_str())
}

/// Adds `external` labels to a series' labels; the external label wins on a name clash and an
/// empty external value removes the label (Thanos' `ExtendSortedLabels`).
pub fn extend(labels: &Labels, external: &Labels) -> Labels {
    if external.is_empty() {
        return labels.clone();
    }
    let mut builder = labels.builder();
    for l in external.iter() {
        builder.set(&l.name, &l.value);
    }
    builder.build()
}

/// [`extend`] on wire labels. `labels` need not be sorted; the result is sorted by name.
pub fn extend_pb(mut labels: Vec<pb::Label>, external: &[pb::Label]) -> Vec<pb::Label> {
    if !is_sorted(&labels) {
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        labels.dedup_by(|later, earlier| later.name == earlier.name);
    }
    for ext in external {
        match labels.binary_search_by(|l| l.name.as_str().cmp(&ext.name)) {
            Ok(i) if ext.value.is_empty() => {
                labels.remove(i);
            }
            Ok(i) => labels[i].value.clone_from(&ext.value),
            Err(_) if ext.value.is_empty() => {}
            Err(i) => labels.insert(i, ext.clone()),
        }
    }
    labels
}

/// Removes the labels called any of `names` (e.g. replica labels).
pub fn without(mut labels: Vec<pb::Label>, names: &[impl AsRef<str>]) -> Vec<pb::Label> {
    if !names.is_empty() {
        labels.retain(|l| !names.iter().any(|n| n.as_ref() == l.name));
    }
    labels
}

/// A label set as the Info API's `ZLabelSet`.
pub fn to_zlabel_set(labels: &Labels) -> pb::ZLabelSet {
    pb::ZLabelSet { labels: to_pb(labels) }
}

/// A label set as the old Store/Info API's `LabelSet`.
pub fn to_label_set(labels: &Labels) -> pb::LabelSet {
    pb::LabelSet { labels: to_pb(labels) }
}

/// The label sets of an Info response.
pub fn from_zlabel_sets(sets: &[pb::ZLabelSet]) -> Vec<Labels> {
    sets.iter().map(|s| from_pb(&s.labels)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lset(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn round_trip_through_wire_labels() {
        let labels = lset(&[("job", "node"), ("__name__", "up"), ("instance", "a:9100")]);
        let wire = to_pb(&labels);
        assert_eq!(wire[0], label("__name__", "up"));
        assert!(is_sorted(&wire));
        assert_eq!(from_pb(&wire), labels);
        assert_eq!(from_pb_owned(wire), labels);
    }

    #[test]
    fn from_pb_sorts_and_drops_empty_values() {
        let wire = vec![label("b", "2"), label("a", "1"), label("c", "")];
        assert_eq!(from_pb(&wire), lset(&[("a", "1"), ("b", "2")]));
    }

    #[test]
    fn compare_is_prometheus_order() {
        let a = pb_from_pairs([("a", "1")]);
        let ab = pb_from_pairs([("a", "1"), ("b", "1")]);
        let a2 = pb_from_pairs([("a", "2")]);
        let b = pb_from_pairs([("b", "0")]);
        assert_eq!(compare(&a, &ab), Ordering::Less, "a prefix sorts first");
        assert_eq!(compare(&ab, &a2), Ordering::Less, "value decides before length");
        assert_eq!(compare(&a2, &b), Ordering::Less, "name decides first");
        assert_eq!(compare(&ab, &ab.clone()), Ordering::Equal);
        // Same answer as tsdb_format's Ord on Labels.
        for (x, y) in [(&a, &ab), (&ab, &a2), (&b, &a)] {
            assert_eq!(compare(x, y), from_pb(x).cmp(&from_pb(y)));
        }
    }

    #[test]
    fn external_labels_win_on_clash() {
        let series = lset(&[("__name__", "up"), ("replica", "inner"), ("zone", "z")]);
        let external = lset(&[("cluster", "eu"), ("replica", "r0")]);
        let want = lset(&[("__name__", "up"), ("cluster", "eu"), ("replica", "r0"), ("zone", "z")]);
        assert_eq!(extend(&series, &external), want);
        assert_eq!(extend_pb(to_pb(&series), &to_pb(&external)), to_pb(&want));
        assert_eq!(extend(&series, &Labels::default()), series);
    }

    #[test]
    fn extend_pb_sorts_unsorted_input_and_empty_external_value_removes() {
        let wire = vec![label("z", "1"), label("a", "1")];
        let external = vec![label("a", ""), label("m", "2")];
        assert_eq!(extend_pb(wire, &external), vec![label("m", "2"), label("z", "1")]);
    }

    #[test]
    fn without_drops_named_labels() {
        let wire = pb_from_pairs([("a", "1"), ("replica", "0"), ("rule_replica", "1")]);
        assert_eq!(without(wire, &["replica", "rule_replica"]), pb_from_pairs([("a", "1")]));
        assert_eq!(get(&pb_from_pairs([("a", "1")]), "a"), Some("1"));
        assert_eq!(get(&pb_from_pairs([("a", "1")]), "b"), None);
    }

    #[test]
    fn label_sets_for_info() {
        let ext = lset(&[("cluster", "eu")]);
        let z = to_zlabel_set(&ext);
        assert_eq!(to_label_set(&ext).labels, z.labels);
        assert_eq!(from_zlabel_sets(&[z]), vec![ext]);
    }
}
