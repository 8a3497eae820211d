//! Postings: sorted lists of series references, and the set algebra a matcher engine needs.

use super::SeriesRef;

/// A strictly increasing list of series references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Postings(Vec<SeriesRef>);

/// When one list is this many times longer than the other, intersecting by binary search into
/// the long one beats walking both.
const GALLOP_RATIO: usize = 16;

impl Postings {
    /// An empty list.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A list from references in any order; sorts and removes duplicates.
    pub fn new(mut refs: Vec<SeriesRef>) -> Self {
        refs.sort_unstable();
        refs.dedup();
        Self(refs)
    }

    /// Wraps references already strictly increasing (as read from an index).
    pub fn from_sorted(refs: Vec<SeriesRef>) -> Self {
        debug_assert!(refs.windows(2).all(|w| w[0] < w[1]), "postings must be strictly increasing");
        Self(refs)
    }

    /// Number of references.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The references in increasing order.
    pub fn as_slice(&self) -> &[SeriesRef] {
        &self.0
    }

    /// Iterates the references in increasing order.
    pub fn iter(&self) -> std::iter::Copied<std::slice::Iter<'_, SeriesRef>> {
        self.0.iter().copied()
    }

    /// Consumes the list, returning its references.
    pub fn into_vec(self) -> Vec<SeriesRef> {
        self.0
    }

    /// Whether `r` is in the list.
    pub fn contains(&self, r: SeriesRef) -> bool {
        self.0.binary_search(&r).is_ok()
    }

    /// References in both lists.
    pub fn intersect(&self, other: &Postings) -> Postings {
        let (short, long) = if self.len() <= other.len() { (&self.0, &other.0) } else { (&other.0, &self.0) };
        let mut out = Vec::with_capacity(short.len());
        if short.len().saturating_mul(GALLOP_RATIO) < long.len() {
            let mut rest = long.as_slice();
            for &r in short {
                match rest.binary_search(&r) {
                    Ok(i) => {
                        out.push(r);
                        rest = &rest[i + 1..];
                    }
                    Err(i) => rest = &rest[i..],
                }
            }
            return Postings(out);
        }
        let (mut i, mut j) = (0, 0);
        while i < short.len() && j < long.len() {
            match short[i].cmp(&long[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    out.push(short[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        Postings(out)
    }

    /// References in every list; empty when `lists` is empty.
    pub fn intersect_all<'a>(lists: impl IntoIterator<Item = &'a Postings>) -> Postings {
        let mut lists: Vec<&Postings> = lists.into_iter().collect();
        // Start from the shortest so every step shrinks the work.
        lists.sort_by_key(|p| p.len());
        let Some((first, rest)) = lists.split_first() else {
            return Postings::empty();
        };
        let mut acc = (*first).clone();
        for p in rest {
            if acc.is_empty() {
                break;
            }
            acc = acc.intersect(p);
        }
        acc
    }

    /// References in either list (union).
    pub fn merge(&self, other: &Postings) -> Postings {
        let (a, b) = (&self.0, &other.0);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => {
                    out.push(a[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(b[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(a[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        Postings(out)
    }

    /// References in any of the lists (union of many, e.g. a regex matcher's values).
    pub fn merge_all<'a>(lists: impl IntoIterator<Item = &'a Postings>) -> Postings {
        let mut all: Vec<SeriesRef> = Vec::new();
        for p in lists {
            all.extend_from_slice(&p.0);
        }
        Postings::new(all)
    }

    /// References in `self` that are not in `other`.
    pub fn without(&self, other: &Postings) -> Postings {
        if other.is_empty() {
            return self.clone();
        }
        let mut out = Vec::with_capacity(self.len());
        let mut j = 0;
        for &r in &self.0 {
            while j < other.0.len() && other.0[j] < r {
                j += 1;
            }
            if j < other.0.len() && other.0[j] == r {
                continue;
            }
            out.push(r);
        }
        Postings(out)
    }
}

impl FromIterator<SeriesRef> for Postings {
    fn from_iter<I: IntoIterator<Item = SeriesRef>>(iter: I) -> Self {
        Postings::new(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Postings {
    type Item = SeriesRef;
    type IntoIter = std::iter::Copied<std::slice::Iter<'a, SeriesRef>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn p(refs: &[u64]) -> Postings {
        refs.iter().map(|&r| SeriesRef(r)).collect()
    }

    #[test]
    fn small_cases() {
        let a = p(&[1, 3, 5, 7]);
        let b = p(&[3, 4, 5]);
        assert_eq!(a.intersect(&b), p(&[3, 5]));
        assert_eq!(a.merge(&b), p(&[1, 3, 4, 5, 7]));
        assert_eq!(a.without(&b), p(&[1, 7]));
        assert_eq!(Postings::intersect_all([&a, &b, &p(&[5])]), p(&[5]));
        assert_eq!(Postings::intersect_all(std::iter::empty()), Postings::empty());
        assert_eq!(Postings::merge_all([&a, &b]), p(&[1, 3, 4, 5, 7]));
    }

    proptest! {
        #[test]
        fn set_algebra_matches_btreeset(
            a in proptest::collection::btree_set(0u64..500, 0..200),
            b in proptest::collection::btree_set(0u64..500, 0..20),
        ) {
            let (pa, pb) = (p(&a.iter().copied().collect::<Vec<_>>()), p(&b.iter().copied().collect::<Vec<_>>()));
            let want = |s: BTreeSet<u64>| p(&s.into_iter().collect::<Vec<_>>());
            prop_assert_eq!(pa.intersect(&pb), want(a.intersection(&b).copied().collect()));
            prop_assert_eq!(pb.intersect(&pa), want(a.intersection(&b).copied().collect()));
            prop_assert_eq!(pa.merge(&pb), want(a.union(&b).copied().collect()));
            prop_assert_eq!(pa.without(&pb), want(a.difference(&b).copied().collect()));
            prop_assert_eq!(pb.without(&pa), want(b.difference(&a).copied().collect()));
        }
    }
}
