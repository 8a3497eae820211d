//! Matchers to postings, as Prometheus' `PostingsForMatchers` and Thanos' posting groups do.
//!
//! Each matcher becomes a group over one label name:
//! - a matcher that rejects the empty value (`a="x"`, `a=~"x.+"`, `a!=""`) *adds* the union of
//!   the lists of the values it accepts;
//! - a matcher that accepts the empty value (`a!="x"`, `a=""`, `a!~"x"`) selects also every series
//!   without the label, so it *removes* the union of the lists of the values it rejects.
//!
//! The result is the intersection of the adding groups (every series, the `("", "")` list, when
//! there is none) minus the union of the removing groups.

use storeapi::{MatchType, Matcher};
use tsdb_format::index::Postings;

/// The key of the list holding every series of a block.
pub(crate) const ALL_POSTINGS_KEY: (&str, &str) = ("", "");

/// What one matcher contributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PostingGroup {
    /// Series having one of these values of the label.
    Add { name: String, values: Vec<String> },
    /// Series not having any of these values of the label (may be empty: no restriction).
    Remove { name: String, values: Vec<String> },
}

/// The groups of `matchers`, or `None` if some matcher can select nothing (then no series
/// match). `label_values` gives a label's values in the block.
pub(crate) fn posting_groups(
    matchers: &[Matcher],
    mut label_values: impl FnMut(&str) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<Option<Vec<PostingGroup>>> {
    let mut groups = Vec::with_capacity(matchers.len());
    for matcher in matchers {
        let name = matcher.name().to_owned();
        let regex_all = matcher.value() == ".*";
        let group = match matcher.match_type() {
            MatchType::Regexp if regex_all => PostingGroup::Remove { name, values: Vec::new() },
            MatchType::NotRegexp if regex_all => return Ok(None),
            MatchType::NotEqual if !matcher.value().is_empty() => {
                PostingGroup::Remove { name, values: vec![matcher.value().to_owned()] }
            }
            MatchType::Equal if !matcher.value().is_empty() => {
                PostingGroup::Add { name, values: vec![matcher.value().to_owned()] }
            }
            _ if matcher.matches_empty() => {
                let values = label_values(&name)?.into_iter().filter(|v| !matcher.matches(v)).collect();
                PostingGroup::Remove { name, values }
            }
            _ => {
                let values: Vec<String> =
                    label_values(&name)?.into_iter().filter(|v| matcher.matches(v)).collect();
                if values.is_empty() {
                    return Ok(None);
                }
                PostingGroup::Add { name, values }
            }
        };
        groups.push(group);
    }
    Ok(Some(groups))
}

/// Every `(name, value)` list the groups need, including the all-postings list when no group
/// adds.
pub(crate) fn keys_to_fetch(groups: &[PostingGroup]) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut any_add = false;
    for group in groups {
        let (name, values) = match group {
            PostingGroup::Add { name, values } => {
                any_add = true;
                (name, values)
            }
            PostingGroup::Remove { name, values } => (name, values),
        };
        keys.extend(values.iter().map(|v| (name.clone(), v.clone())));
    }
    if !any_add {
        keys.push((ALL_POSTINGS_KEY.0.to_owned(), ALL_POSTINGS_KEY.1.to_owned()));
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Combines fetched lists into the matching series. `list` returns a key's list (empty when the
/// block lacks the key).
pub(crate) fn combine<'a>(groups: &[PostingGroup], list: impl Fn(&str, &str) -> &'a Postings) -> Postings {
    let mut adds: Vec<Postings> = Vec::new();
    let mut removes: Vec<&Postings> = Vec::new();
    for group in groups {
        match group {
            PostingGroup::Add { name, values } => {
                adds.push(Postings::merge_all(values.iter().map(|v| list(name, v))));
            }
            PostingGroup::Remove { name, values } => removes.extend(values.iter().map(|v| list(name, v))),
        }
    }
    let base = if adds.is_empty() {
        list(ALL_POSTINGS_KEY.0, ALL_POSTINGS_KEY.1).clone()
    } else {
        Postings::intersect_all(adds.iter())
    };
    if removes.is_empty() || base.is_empty() {
        return base;
    }
    base.without(&Postings::merge_all(removes))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tsdb_format::index::SeriesRef;

    use super::*;

    /// Series 1..=6: a=1 on 1,2,3; a=2 on 4; b=x on 1,4,5; series 6 has neither.
    fn index() -> BTreeMap<(String, String), Postings> {
        let p = |refs: &[u64]| refs.iter().map(|&r| SeriesRef(r)).collect::<Postings>();
        [
            (("", ""), p(&[1, 2, 3, 4, 5, 6])),
            (("a", "1"), p(&[1, 2, 3])),
            (("a", "2"), p(&[4])),
            (("b", "x"), p(&[1, 4, 5])),
        ]
        .into_iter()
        .map(|((n, v), list)| ((n.to_owned(), v.to_owned()), list))
        .collect()
    }

    fn select(matchers: &[(MatchType, &str, &str)]) -> Vec<u64> {
        let ix = index();
        let matchers: Vec<Matcher> =
            matchers.iter().map(|(t, n, v)| Matcher::new(*t, *n, *v).expect("valid")).collect();
        let values =
            |name: &str| Ok(ix.keys().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect::<Vec<_>>());
        let Some(groups) = posting_groups(&matchers, values).expect("groups") else {
            return Vec::new();
        };
        let empty = Postings::empty();
        let keys = keys_to_fetch(&groups);
        assert!(!keys.is_empty());
        let found = combine(&groups, |n, v| ix.get(&(n.to_owned(), v.to_owned())).unwrap_or(&empty));
        found.iter().map(|r| r.0).collect()
    }

    #[test]
    fn matcher_semantics_follow_prometheus() {
        use MatchType::*;
        assert_eq!(select(&[(Equal, "a", "1")]), [1, 2, 3]);
        assert_eq!(select(&[(NotEqual, "a", "1")]), [4, 5, 6], "missing label counts as empty");
        assert_eq!(select(&[(Equal, "a", "")]), [5, 6]);
        assert_eq!(select(&[(NotEqual, "a", "")]), [1, 2, 3, 4]);
        assert_eq!(select(&[(Regexp, "a", "1|2")]), [1, 2, 3, 4]);
        assert_eq!(select(&[(Regexp, "a", "1|")]), [1, 2, 3, 5, 6]);
        assert_eq!(select(&[(NotRegexp, "a", "1")]), [4, 5, 6]);
        assert_eq!(select(&[(NotRegexp, "a", ".+")]), [5, 6]);
        assert_eq!(select(&[(Regexp, "a", ".*")]), [1, 2, 3, 4, 5, 6]);
        assert!(select(&[(NotRegexp, "a", ".*")]).is_empty());
        assert!(select(&[(Equal, "a", "3")]).is_empty());
        assert_eq!(select(&[(Equal, "a", "1"), (Equal, "b", "x")]), [1]);
        assert_eq!(select(&[(Regexp, "a", ".+"), (NotEqual, "b", "x")]), [2, 3]);
        assert_eq!(select(&[(Equal, "b", ""), (NotEqual, "a", "1")]), [6]);
        assert_eq!(select(&[]), [1, 2, 3, 4, 5, 6]);
    }
}
