//! Whole blocks: a writer that turns samples into a block directory, and a reader that iterates
//! a block's series and samples.

mod head_chunks;
mod reader;
mod writer;

pub use head_chunks::HeadChunker;
pub use reader::{BlockReader, SeriesSamples};
pub use writer::BlockWriter;

/// Name of a block's chunk directory.
pub const CHUNKS_DIRNAME: &str = "chunks";
/// Name of a block's index file.
pub const INDEX_FILENAME: &str = "index";

/// Prometheus' default block duration (2h) in milliseconds.
pub const DEFAULT_BLOCK_DURATION: i64 = 2 * 3600 * 1000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Labels;
    use crate::tombstones::{Interval, Tombstones};

    fn series(i: usize) -> Labels {
        Labels::from_pairs([("__name__", "m".to_string()), ("i", format!("{i:03}"))])
    }

    #[test]
    fn writes_series_given_in_any_order_and_reads_them_back_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::new(DEFAULT_BLOCK_DURATION);
        // Interleave series, in reverse label order.
        for t in 0..500i64 {
            for i in (0..20).rev() {
                assert!(w.append(&series(i), t * 15_000, (t * i as i64) as f64));
            }
        }
        assert!(!w.append(&series(3), 0, 1.0), "an out-of-order sample must be dropped");
        let meta = w.write(dir.path()).unwrap().expect("block written");
        assert_eq!((meta.min_time, meta.max_time), (0, 499 * 15_000 + 1));
        assert_eq!((meta.stats.num_series, meta.stats.num_samples), (20, 20 * 500));

        let block = BlockReader::open(&dir.path().join(meta.ulid.to_string())).unwrap();
        let all: Vec<SeriesSamples> =
            block.iter_series(i64::MIN, i64::MAX).unwrap().map(Result::unwrap).collect();
        assert_eq!(all.len(), 20);
        for (i, s) in all.iter().enumerate() {
            assert_eq!(s.labels, series(i));
            let expected: Vec<(i64, f64)> = (0..500).map(|t| (t * 15_000, (t * i as i64) as f64)).collect();
            assert_eq!(s.samples, expected);
        }
        let range: Vec<SeriesSamples> =
            block.iter_series(15_000, 30_000).unwrap().map(Result::unwrap).collect();
        assert!(range.iter().all(|s| s.samples.iter().map(|p| p.0).eq([15_000, 30_000])));
    }

    #[test]
    fn reader_honours_tombstones() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::new(DEFAULT_BLOCK_DURATION);
        for t in 0..100 {
            w.append(&series(1), t, t as f64);
            w.append(&series(2), t, t as f64);
        }
        let meta = w.write(dir.path()).unwrap().unwrap();
        let block_dir = dir.path().join(meta.ulid.to_string());
        let first_ref = BlockReader::open(&block_dir).unwrap().series_refs().unwrap()[0];
        let mut stones = Tombstones::new();
        stones.add(first_ref.0, Interval { min_time: 10, max_time: 89 });
        stones.write_to_dir(&block_dir).unwrap();

        let block = BlockReader::open(&block_dir).unwrap();
        let all: Vec<SeriesSamples> =
            block.iter_series(i64::MIN, i64::MAX).unwrap().map(Result::unwrap).collect();
        let kept: Vec<i64> = all[0].samples.iter().map(|p| p.0).collect();
        assert_eq!(kept, (0..10).chain(90..100).collect::<Vec<_>>());
        assert_eq!(all[1].samples.len(), 100);
    }

    #[test]
    fn empty_writer_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(BlockWriter::new(DEFAULT_BLOCK_DURATION).write(dir.path()).unwrap().is_none());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
