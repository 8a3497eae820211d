//! Putting Prometheus' series into StoreAPI order while they stream.
//!
//! Prometheus sends series sorted by its own labels `L`. The StoreAPI wants them sorted by the
//! final labels `F = (L − D) ∪ E'`, where `D` are the external-label and replica-label names
//! and `E'` the external labels that stay. Let `K = L − D`. When no series has a label named in
//! `D` (checked against Prometheus' label names before streaming), `K = L`, so arrival is sorted
//! by `K`, and adding the same `E'` to every `K` keeps that order except between a series and
//! those that extend it (`K₁` a strict prefix of `K₂`): an external label name may then sort
//! between them. Those series arrive together, right after the shortest one, so each such
//! group is held back, sorted by `F` and sent as soon as a series that does not extend the
//! group's first one arrives. Otherwise (a label named in `D` exists), everything is sorted at
//! the end, as Thanos always does.

use std::cmp::Ordering;

use storeapi::labels;
use storeapi::pb::thanos as pb;

/// Orders series; see the module docs.
#[derive(Debug)]
pub(crate) struct SeriesOrderer {
    /// `D`: external-label and replica-label names (a handful, so a list beats a hash set).
    dropped: Vec<String>,
    external: Vec<pb::Label>,
    without: Vec<String>,
    streaming: bool,
    /// Series held back, with their final labels `F`; their keys are `F − D` (= `L − D`, since
    /// the labels added are named in `D`), compared in place rather than copied.
    held: Vec<pb::Series>,
}

/// Series arrived out of the order the streaming mode relies on.
#[derive(Debug, thiserror::Error)]
#[error("series from Prometheus changed order while streaming ({0}); retry the query")]
pub(crate) struct OrderError(String);

impl SeriesOrderer {
    /// Orders series that get `external` labels and lose `without` labels. `streaming` only when
    /// no series has a label named like either (see the module docs).
    pub(crate) fn new(external: Vec<pb::Label>, without: Vec<String>, streaming: bool) -> Self {
        let mut dropped: Vec<String> =
            external.iter().map(|l| l.name.clone()).chain(without.iter().cloned()).collect();
        dropped.sort();
        dropped.dedup();
        Self { dropped, external, without, streaming, held: Vec::new() }
    }

    /// The final labels of a series as Prometheus sent them.
    pub(crate) fn final_labels(&self, labels: Vec<pb::Label>) -> Vec<pb::Label> {
        labels::without(labels::extend_pb(labels, &self.external), &self.without)
    }

    /// The ordering key of final labels: those not named in `D`.
    fn key<'a>(&'a self, labels: &'a [pb::Label]) -> impl Iterator<Item = &'a pb::Label> + 'a {
        labels.iter().filter(|l| !self.dropped.contains(&l.name))
    }

    /// Takes the next series in Prometheus' order; returns the series now safe to send.
    pub(crate) fn push(&mut self, mut series: pb::Series) -> Result<Vec<pb::Series>, OrderError> {
        series.labels = self.final_labels(std::mem::take(&mut series.labels));
        if !self.streaming {
            self.held.push(series);
            return Ok(Vec::new());
        }
        let mut ready = Vec::new();
        if let Some(last) = self.held.last() {
            let order = compare_keys(self.key(&last.labels), self.key(&series.labels));
            if order != Ordering::Less {
                let last_key: Vec<_> = self.key(&last.labels).collect();
                let key: Vec<_> = self.key(&series.labels).collect();
                return Err(OrderError(format!("{key:?} after {last_key:?}")));
            }
            let extends_first = self.held.first().is_some_and(|first| {
                let mut key = self.key(&series.labels);
                self.key(&first.labels).all(|label| key.next() == Some(label))
            });
            if !extends_first {
                ready = self.flush();
            }
        }
        self.held.push(series);
        Ok(ready)
    }

    /// The held series, sorted by final labels, equal ones joined.
    pub(crate) fn flush(&mut self) -> Vec<pb::Series> {
        sort_and_join(std::mem::take(&mut self.held))
    }
}

/// [`labels::compare`] over label iterators.
fn compare_keys<'a>(
    a: impl Iterator<Item = &'a pb::Label>,
    b: impl Iterator<Item = &'a pb::Label>,
) -> Ordering {
    a.map(|l| (&l.name, &l.value)).cmp(b.map(|l| (&l.name, &l.value)))
}

/// Sorts series by labels and joins equal neighbours (a series split across frames, or series
/// that became equal when an external label replaced a local one).
pub(crate) fn sort_and_join(mut series: Vec<pb::Series>) -> Vec<pb::Series> {
    if !series.windows(2).all(|w| labels::compare(&w[0].labels, &w[1].labels).is_le()) {
        series.sort_by(|a, b| labels::compare(&a.labels, &b.labels));
    }
    let mut joined: Vec<pb::Series> = Vec::with_capacity(series.len());
    let mut needs_chunk_sort = Vec::new();
    for s in series {
        match joined.last_mut() {
            Some(last) if last.labels == s.labels => {
                last.chunks.extend(s.chunks);
                needs_chunk_sort.push(joined.len() - 1);
            }
            _ => joined.push(s),
        }
    }
    needs_chunk_sort.dedup();
    for index in needs_chunk_sort {
        if let Some(s) = joined.get_mut(index) {
            storeapi::chunk::sort_and_dedup(&mut s.chunks);
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use storeapi::labels::pb_from_pairs;

    fn series(pairs: &[(&str, &str)], chunk_times: &[i64]) -> pb::Series {
        let chunks = chunk_times
            .iter()
            .map(|&t| {
                storeapi::chunk::raw_aggr_chunk(
                    t,
                    t + 9,
                    tsdb_format::chunkenc::Encoding::Xor,
                    Bytes::from(vec![t as u8]),
                )
                .expect("xor")
            })
            .collect();
        pb::Series { labels: pb_from_pairs(pairs.iter().copied()), chunks }
    }

    #[test]
    fn external_labels_can_reorder_series_so_they_are_resorted() {
        // Sorted by Prometheus' own labels: {a=1} < {a=1,b=0}; with c=5 added the order flips.
        let mut orderer = SeriesOrderer::new(pb_from_pairs([("c", "5")]), Vec::new(), true);
        let mut out = orderer.push(series(&[("a", "1")], &[0])).expect("in order");
        out.extend(orderer.push(series(&[("a", "1"), ("b", "0")], &[0])).expect("in order"));
        assert!(out.is_empty(), "held: the second extends the first");
        out.extend(orderer.push(series(&[("a", "2")], &[0])).expect("in order"));
        assert_eq!(out.len(), 2, "the group is sent once a series does not extend it");
        out.extend(orderer.flush());
        assert_eq!(out[0].labels, pb_from_pairs([("a", "1"), ("b", "0"), ("c", "5")]));
        assert_eq!(out[1].labels, pb_from_pairs([("a", "1"), ("c", "5")]));
        assert_eq!(out[2].labels, pb_from_pairs([("a", "2"), ("c", "5")]));
    }

    #[test]
    fn out_of_order_input_is_an_error_when_streaming() {
        let mut orderer = SeriesOrderer::new(Vec::new(), Vec::new(), true);
        orderer.push(series(&[("a", "2")], &[0])).expect("first");
        assert!(orderer.push(series(&[("a", "1")], &[0])).is_err());
    }

    #[test]
    fn equal_label_sets_are_joined_with_sorted_chunks() {
        let joined = sort_and_join(vec![
            series(&[("a", "1")], &[20]),
            series(&[("a", "2")], &[0]),
            series(&[("a", "1")], &[0, 20]),
        ]);
        assert_eq!(joined.len(), 2);
        let times: Vec<i64> = joined[0].chunks.iter().map(|c| c.min_time).collect();
        assert_eq!(times, [0, 20], "duplicate chunk removed, sorted");
    }

    /// A small deterministic generator (xorshift), enough to vary label sets.
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Streaming gives exactly what sorting everything gives, for random series whose labels
    /// avoid the external and replica names (the streaming precondition).
    #[test]
    fn streaming_equals_sorting_everything() {
        let names = ["a", "b", "d", "f", "h", "j"];
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        for round in 0..300 {
            let external = match round % 3 {
                0 => pb_from_pairs([("c", "x"), ("g", "y")]),
                1 => pb_from_pairs([("0", "x"), ("z", "y")]),
                _ => pb_from_pairs([("e", "x")]),
            };
            let without: Vec<String> = if round % 2 == 0 { vec!["g".into()] } else { Vec::new() };
            let mut input: Vec<pb::Series> = (0..random.below(40) + 1)
                .map(|_| {
                    let mut pairs: Vec<(String, String)> = Vec::new();
                    for name in names {
                        if random.below(3) > 0 {
                            pairs.push((name.to_string(), random.below(3).to_string()));
                        }
                    }
                    pb::Series { labels: pb_from_pairs(pairs), chunks: Vec::new() }
                })
                .collect();
            input.sort_by(|x, y| labels::compare(&x.labels, &y.labels));
            input.dedup_by(|x, y| x.labels == y.labels);

            let mut buffered = SeriesOrderer::new(external.clone(), without.clone(), false);
            let mut streamed = SeriesOrderer::new(external, without, true);
            let mut out = Vec::new();
            for s in &input {
                assert!(buffered.push(s.clone()).expect("buffered").is_empty());
                out.extend(streamed.push(s.clone()).expect("sorted input"));
            }
            out.extend(streamed.flush());
            assert_eq!(out, buffered.flush(), "round {round}");
        }
    }
}
