//! Query sharding (Thanos' `storepb.ShardMatcher`): a series belongs to shard
//! `xxhash64(name 0xff value 0xff …) % total_shards` over the labels chosen by `by`/`without`.

use std::collections::HashSet;

use storeapi::pb::thanos as pb;

/// Decides which series belong to the requested shard.
#[derive(Debug)]
pub(crate) struct ShardMatcher {
    labels: HashSet<String>,
    by: bool,
    total: u64,
    index: u64,
}

impl ShardMatcher {
    /// `None` when the request is not sharded (no shard info, or fewer than one shard).
    pub(crate) fn new(info: Option<&pb::ShardInfo>) -> Option<Self> {
        let info = info?;
        if info.total_shards < 1 {
            return None;
        }
        Some(Self {
            labels: info.labels.iter().cloned().collect(),
            by: info.by,
            total: info.total_shards.unsigned_abs(),
            index: info.shard_index.unsigned_abs(),
        })
    }

    /// Whether the series with these (sorted) labels is in this shard.
    pub(crate) fn matches(&self, labels: &[pb::Label]) -> bool {
        let mut buffer = Vec::with_capacity(256);
        for label in labels {
            // `by`: hash only the listed labels; `without`: hash every other label.
            if self.labels.contains(&label.name) == self.by {
                buffer.extend_from_slice(label.name.as_bytes());
                buffer.push(0xff);
                buffer.extend_from_slice(label.value.as_bytes());
                buffer.push(0xff);
            }
        }
        xxhash_rust::xxh64::xxh64(&buffer, 0) % self.total == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storeapi::labels::pb_from_pairs;

    #[test]
    fn every_series_lands_in_exactly_one_shard() {
        let series: Vec<Vec<pb::Label>> = (0..200)
            .map(|i| {
                pb_from_pairs([("__name__", "m".to_owned()), ("i", i.to_string()), ("job", "j".to_owned())])
            })
            .collect();
        for by in [true, false] {
            let shards: Vec<ShardMatcher> = (0..3)
                .map(|index| {
                    let labels = vec![if by { "i" } else { "job" }.to_owned()];
                    let info = pb::ShardInfo { shard_index: index, total_shards: 3, by, labels };
                    ShardMatcher::new(Some(&info)).expect("sharded")
                })
                .collect();
            for labels in &series {
                assert_eq!(shards.iter().filter(|s| s.matches(labels)).count(), 1);
            }
            let first: usize = series.iter().filter(|l| shards[0].matches(l)).count();
            assert!(first > 30 && first < 110, "roughly a third: {first}");
        }
        let none = pb::ShardInfo { total_shards: 0, ..Default::default() };
        assert!(ShardMatcher::new(Some(&none)).is_none());
        assert!(ShardMatcher::new(None).is_none());
    }

    #[test]
    fn hash_input_is_name_ff_value_ff() {
        let info =
            pb::ShardInfo { shard_index: 0, total_shards: 1 << 40, by: true, labels: vec!["a".into()] };
        let matcher = ShardMatcher::new(Some(&info)).expect("sharded");
        let expected = xxhash_rust::xxh64::xxh64(b"a\xff1\xff", 0) % (1 << 40);
        let at = ShardMatcher { index: expected, ..matcher };
        assert!(at.matches(&pb_from_pairs([("a", "1"), ("b", "2")])));
    }
}
