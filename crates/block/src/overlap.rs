//! Overlapping blocks within a compaction group (Prometheus' `tsdb.OverlappingBlocks`).
//!
//! Blocks form a group when they share downsampling resolution and external labels; inside a
//! group two blocks overlap when their half-open `[minTime, maxTime)` ranges intersect.

use std::fmt;

use tsdb_format::Labels;
use tsdb_format::meta::BlockMeta;

/// The compaction group of a block: `<resolution>@<external labels>`, e.g. `0@{cluster="a"}`.
///
/// Thanos writes a hash of the labels in place of the labels; the readable form here groups the
/// same blocks.
pub fn group_key(meta: &BlockMeta) -> String {
    let (resolution, labels) = match &meta.thanos {
        Some(thanos) => (thanos.downsample.resolution, Labels::from_pairs(thanos.labels.iter())),
        None => (0, Labels::default()),
    };
    format!("{resolution}@{labels}")
}

/// One set of blocks that overlap each other, with the range they all share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// Start of the range every block of the set covers (ms).
    pub min_time: i64,
    /// End of that range (ms).
    pub max_time: i64,
    /// The overlapping blocks: `(ulid, min_time, max_time)`, in minTime order.
    pub blocks: Vec<(ulid::Ulid, i64, i64)>,
}

/// Prints like Prometheus' `Overlaps.String()` for one entry:
/// `[mint: 0, maxt: 10, range: 0s, blocks: 2]: <ulid: …, mint: 0, maxt: 20, range: 0s>, …`.
impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[mint: {}, maxt: {}, range: {}, blocks: {}]: ",
            self.min_time,
            self.max_time,
            go_seconds(self.max_time - self.min_time),
            self.blocks.len()
        )?;
        for (i, (id, min, max)) in self.blocks.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "<ulid: {id}, mint: {min}, maxt: {max}, range: {}>", go_seconds(max - min))?;
        }
        Ok(())
    }
}

/// Go's `(time.Duration(ms/1000) * time.Second).String()` for whole seconds.
fn go_seconds(ms: i64) -> String {
    let secs = ms / 1000;
    if secs == 0 {
        return "0s".to_string();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let abs = secs.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs % 3600 / 60, abs % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{sign}{m}m{s}s")
    } else {
        format!("{sign}{s}s")
    }
}

/// Finds the sets of overlapping blocks among `metas` (one group), as Prometheus does: blocks
/// are swept in minTime order and each run of blocks that keep overlapping forms one set.
pub fn overlapping_blocks(metas: &[&BlockMeta]) -> Vec<Overlap> {
    let mut sorted: Vec<&BlockMeta> = metas.to_vec();
    sorted.sort_by_key(|m| m.min_time);
    let Some((first, rest)) = sorted.split_first() else {
        return Vec::new();
    };
    let mut sets: Vec<Vec<&BlockMeta>> = Vec::new();
    let mut pending: Vec<&BlockMeta> = vec![first];
    let mut continuous = true;
    for &block in rest {
        let mut still_open = Vec::new();
        for &open in &pending {
            if block.min_time >= open.max_time {
                continuous = false;
            } else {
                still_open.push(open);
            }
        }
        let overlaps_any = !still_open.is_empty();
        pending = still_open.clone();
        pending.push(block);
        if !overlaps_any {
            continue;
        }
        match sets.last_mut() {
            Some(last) if continuous => last.push(block),
            _ => {
                let mut set = still_open;
                set.push(block);
                sets.push(set);
                continuous = true;
            }
        }
    }
    sets.into_iter()
        .map(|set| Overlap {
            min_time: set.iter().map(|m| m.min_time).max().unwrap_or(0).max(0),
            max_time: set.iter().map(|m| m.max_time).min().unwrap_or(i64::MAX),
            blocks: set.iter().map(|m| (m.ulid, m.min_time, m.max_time)).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use tsdb_format::meta::BlockStats;

    use super::*;

    fn meta(min: i64, max: i64) -> BlockMeta {
        BlockMeta::new_level1(crate::test_blocks::new_ulid(), min, max, BlockStats::default())
    }

    #[test]
    fn finds_overlaps_like_prometheus() {
        let (a, b, c, d) = (meta(0, 10), meta(10, 20), meta(15, 30), meta(40, 50));
        assert!(overlapping_blocks(&[&a, &b, &d]).is_empty(), "touching blocks do not overlap");
        let found = overlapping_blocks(&[&d, &c, &b, &a]);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].min_time, found[0].max_time), (15, 20));
        assert_eq!(found[0].blocks.iter().map(|b| b.0).collect::<Vec<_>>(), vec![b.ulid, c.ulid]);
        let text = found[0].to_string();
        assert!(text.starts_with("[mint: 15, maxt: 20, range: 0s, blocks: 2]: <ulid: "), "{text}");

        let e = meta(45, 7_200_000);
        let found = overlapping_blocks(&[&a, &b, &c, &d, &e]);
        assert_eq!(found.len(), 2);
        assert!(found[1].to_string().contains("range: 1h59m59s>"), "{}", found[1]);
    }

    #[test]
    fn group_key_reads_resolution_and_labels() {
        let mut m = meta(0, 1);
        assert_eq!(group_key(&m), "0@{}");
        m.thanos = Some(tsdb_format::meta::ThanosMeta {
            labels: [("b".to_string(), "2".to_string()), ("a".to_string(), "1".to_string())].into(),
            downsample: tsdb_format::meta::ThanosDownsample { resolution: 300_000 },
            ..Default::default()
        });
        assert_eq!(group_key(&m), r#"300000@{a="1", b="2"}"#);
    }
}
