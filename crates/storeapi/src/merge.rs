//! Merging label-sorted `Series` streams, as Thanos' proxy store and `MergeSeriesSets` do.
//!
//! Every input must be sorted by labels (Prometheus order, see [`crate::labels::compare`]).
//! The output is sorted too and holds each label set once: frames of one series that an input
//! split, and equal series from several inputs, become one series whose chunks are sorted by
//! min time with exact duplicates removed. The first error of any input ends the output.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::pin::Pin;

use futures::stream::{self, Stream, StreamExt};
use tonic::Status;

use crate::chunk::sort_and_dedup;
use crate::labels::compare;
use crate::pb::thanos::Series;

/// A boxed stream of series, as the merge takes and returns them.
pub type SeriesStream = Pin<Box<dyn Stream<Item = Result<Series, Status>> + Send>>;

/// Merges label-sorted series streams into one label-sorted stream of unique series.
pub fn merge_series(inputs: Vec<SeriesStream>) -> SeriesStream {
    let state = MergeState {
        inputs: inputs.into_iter().map(Some).collect(),
        heap: BinaryHeap::new(),
        started: false,
    };
    Box::pin(stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        match state.next().await {
            Some(Ok(series)) => Some((Ok(series), Some(state))),
            // An error ends the stream: yield it, then stop.
            Some(Err(status)) => Some((Err(status), None)),
            None => None,
        }
    }))
}

/// Drops the `names` labels (replica labels) from every series, re-sorts by the remaining
/// labels and joins series that became equal (chunks sorted, exact duplicates removed), so
/// that the result is again a valid `Series` stream content.
pub fn without_replica_labels(mut series: Vec<Series>, names: &[impl AsRef<str>]) -> Vec<Series> {
    if names.is_empty() {
        return series;
    }
    for s in &mut series {
        s.labels.retain(|l| !names.iter().any(|n| n.as_ref() == l.name));
    }
    series.sort_by(|a, b| compare(&a.labels, &b.labels));
    let mut joined: Vec<Series> = Vec::with_capacity(series.len());
    for s in series {
        match joined.last_mut() {
            Some(last) if last.labels == s.labels => last.chunks.extend(s.chunks),
            _ => joined.push(s),
        }
    }
    for s in &mut joined {
        sort_and_dedup(&mut s.chunks);
    }
    joined
}

/// A series at the head of one input, ordered so that `BinaryHeap` pops the smallest labels
/// first (ties: the lower input index first, for a stable output).
struct Head {
    series: Series,
    input: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&other.series.labels, &self.series.labels).then(other.input.cmp(&self.input))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

struct MergeState {
    /// `None` once an input is exhausted.
    inputs: Vec<Option<SeriesStream>>,
    /// One head per input that is not exhausted and not currently being refilled.
    heap: BinaryHeap<Head>,
    started: bool,
}

impl MergeState {
    async fn next(&mut self) -> Option<Result<Series, Status>> {
        if !self.started {
            self.started = true;
            // Fill every input's head concurrently: the first answer needs all of them.
            let firsts = futures::future::join_all(self.inputs.iter_mut().map(|input| async move {
                match input {
                    Some(stream) => stream.next().await,
                    None => None,
                }
            }))
            .await;
            for (index, first) in firsts.into_iter().enumerate() {
                if let Err(status) = self.accept(index, first) {
                    return Some(Err(status));
                }
            }
        }
        let Head { mut series, input } = self.heap.pop()?;
        if let Err(status) = self.refill(input).await {
            return Some(Err(status));
        }
        // Pull every head with the same labels: other inputs, or later frames of the same input.
        while self.heap.peek().is_some_and(|head| head.series.labels == series.labels) {
            let Some(Head { series: same, input }) = self.heap.pop() else { break };
            series.chunks.extend(same.chunks);
            if let Err(status) = self.refill(input).await {
                return Some(Err(status));
            }
        }
        sort_and_dedup(&mut series.chunks);
        Some(Ok(series))
    }

    /// Reads the next series of `input` into the heap.
    async fn refill(&mut self, input: usize) -> Result<(), Status> {
        let next = match self.inputs.get_mut(input) {
            Some(Some(stream)) => stream.next().await,
            _ => None,
        };
        self.accept(input, next)
    }

    fn accept(&mut self, input: usize, next: Option<Result<Series, Status>>) -> Result<(), Status> {
        match next {
            Some(Ok(series)) => self.heap.push(Head { series, input }),
            Some(Err(status)) => return Err(status),
            None => {
                if let Some(slot) = self.inputs.get_mut(input) {
                    *slot = None;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures::TryStreamExt;
    use tsdb_format::chunkenc::Encoding;

    use super::*;
    use crate::chunk::raw_aggr_chunk;
    use crate::labels::pb_from_pairs;
    use crate::pb::thanos::AggrChunk;

    fn chunk(min: i64, max: i64, data: &'static [u8]) -> AggrChunk {
        raw_aggr_chunk(min, max, Encoding::Xor, Bytes::from_static(data)).expect("xor")
    }

    fn series(name: &str, chunks: Vec<AggrChunk>) -> Series {
        Series { labels: pb_from_pairs([("__name__", name)]), chunks }
    }

    fn input(items: Vec<Result<Series, Status>>) -> SeriesStream {
        Box::pin(stream::iter(items))
    }

    fn ok_input(items: Vec<Series>) -> SeriesStream {
        input(items.into_iter().map(Ok).collect())
    }

    fn names(all: &[Series]) -> Vec<String> {
        all.iter()
            .map(|s| s.labels.iter().map(|l| format!("{}={}", l.name, l.value)).collect::<Vec<_>>().join(","))
            .collect()
    }

    #[tokio::test]
    async fn interleaved_inputs_come_out_sorted() {
        let a = ok_input(vec![series("a", vec![]), series("c", vec![]), series("e", vec![])]);
        let b = ok_input(vec![series("b", vec![]), series("d", vec![]), series("f", vec![])]);
        let merged: Vec<Series> = merge_series(vec![a, b]).try_collect().await.expect("no error");
        let got: Vec<&str> = merged.iter().map(|s| s.labels[0].value.as_str()).collect();
        assert_eq!(got, ["a", "b", "c", "d", "e", "f"]);
    }

    #[tokio::test]
    async fn label_prefix_sorts_first() {
        let short = Series { labels: pb_from_pairs([("a", "1")]), chunks: vec![] };
        let long = Series { labels: pb_from_pairs([("a", "1"), ("b", "1")]), chunks: vec![] };
        let merged: Vec<Series> =
            merge_series(vec![ok_input(vec![long.clone()]), ok_input(vec![short.clone()])])
                .try_collect()
                .await
                .expect("ok");
        assert_eq!(merged, vec![short, long]);
    }

    #[tokio::test]
    async fn equal_series_join_with_sorted_unique_chunks() {
        let a = ok_input(vec![series("x", vec![chunk(0, 9, b"a"), chunk(20, 29, b"c")])]);
        let b = ok_input(vec![series("x", vec![chunk(0, 9, b"a"), chunk(10, 19, b"b")])]);
        let c = ok_input(vec![series("x", vec![chunk(20, 29, b"c")]), series("y", vec![chunk(0, 1, b"y")])]);
        let merged: Vec<Series> = merge_series(vec![a, b, c]).try_collect().await.expect("ok");
        assert_eq!(merged.len(), 2);
        let times: Vec<i64> = merged[0].chunks.iter().map(|c| c.min_time).collect();
        assert_eq!(times, [0, 10, 20], "duplicates removed, sorted by min time");
        assert_eq!(merged[1], series("y", vec![chunk(0, 1, b"y")]));
    }

    #[tokio::test]
    async fn frames_of_one_series_are_joined() {
        let split = ok_input(vec![
            series("x", vec![chunk(10, 19, b"2")]),
            series("x", vec![chunk(0, 9, b"1")]),
            series("z", vec![]),
        ]);
        let merged: Vec<Series> = merge_series(vec![split]).try_collect().await.expect("ok");
        assert_eq!(names(&merged), ["__name__=x", "__name__=z"]);
        assert_eq!(merged[0].chunks, vec![chunk(0, 9, b"1"), chunk(10, 19, b"2")]);
    }

    #[tokio::test]
    async fn empty_inputs() {
        let none: Vec<Series> = merge_series(vec![]).try_collect().await.expect("ok");
        assert!(none.is_empty());
        let empties: Vec<Series> =
            merge_series(vec![ok_input(vec![]), ok_input(vec![])]).try_collect().await.expect("ok");
        assert!(empties.is_empty());
        let one: Vec<Series> =
            merge_series(vec![ok_input(vec![]), ok_input(vec![series("a", vec![])]), ok_input(vec![])])
                .try_collect()
                .await
                .expect("ok");
        assert_eq!(one, vec![series("a", vec![])]);
    }

    #[tokio::test]
    async fn an_error_is_propagated_and_ends_the_stream() {
        let good = ok_input(vec![series("a", vec![]), series("b", vec![]), series("c", vec![])]);
        let bad = input(vec![Ok(series("a", vec![])), Err(Status::unavailable("store down"))]);
        let items: Vec<Result<Series, Status>> = merge_series(vec![good, bad]).collect().await;
        // The error surfaces when the failing input is refilled after its first series.
        assert_eq!(items.len(), 1, "{items:?}");
        let status = items[0].as_ref().expect_err("error first");
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(status.message(), "store down");

        let first_fails = input(vec![Err(Status::resource_exhausted("limit"))]);
        let items: Vec<Result<Series, Status>> =
            merge_series(vec![ok_input(vec![series("a", vec![])]), first_fails]).collect().await;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_ref().expect_err("error").code(), tonic::Code::ResourceExhausted);
    }

    #[tokio::test]
    async fn merges_many_inputs() {
        let inputs: Vec<SeriesStream> = (0..20)
            .map(|i| {
                let list: Vec<Series> = (0..50)
                    .filter(|n| n % 20 == i || n % 7 == 0)
                    .map(|n| series(&format!("m{n:03}"), vec![chunk(i64::from(n), i64::from(n), b"d")]))
                    .collect();
                ok_input(list)
            })
            .collect();
        let merged: Vec<Series> = merge_series(inputs).try_collect().await.expect("ok");
        assert_eq!(merged.len(), 50);
        assert!(merged.windows(2).all(|w| compare(&w[0].labels, &w[1].labels) == Ordering::Less));
        assert!(merged.iter().all(|s| s.chunks.len() == 1), "identical chunks from 20 inputs deduplicated");
    }

    #[test]
    fn replica_labels_dropped_resorted_and_joined() {
        let s =
            |pairs: &[(&str, &str)], chunks| Series { labels: pb_from_pairs(pairs.iter().copied()), chunks };
        let input = vec![
            s(&[("a", "1"), ("replica", "0")], vec![chunk(0, 9, b"r0")]),
            s(&[("a", "1"), ("b", "0"), ("replica", "1")], vec![]),
            s(&[("a", "1"), ("replica", "1")], vec![chunk(0, 9, b"r1")]),
        ];
        let out = without_replica_labels(input, &["replica"]);
        assert_eq!(names(&out), ["a=1", "a=1,b=0"]);
        assert_eq!(out[0].chunks.len(), 2, "both replicas' chunks kept");
        let untouched =
            without_replica_labels(vec![s(&[("b", "1")], vec![]), s(&[("a", "1")], vec![])], &[] as &[&str]);
        assert_eq!(names(&untouched), ["b=1", "a=1"]);
    }
}
