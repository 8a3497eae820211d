//! Whole-block downsampling over blocks written by `tsdb_format`'s writer.

use tsdb_format::block::{BlockReader, BlockWriter};
use tsdb_format::chunkenc::{AggrChunk, AggrType};

use super::*;
use tsdb_format::meta::RESOLUTION_1H;

fn series(name: &str) -> tsdb_format::Labels {
    tsdb_format::Labels::from_pairs([("__name__", name.to_string())])
}

fn write_block(dir: &Path, hours: i64) -> BlockMeta {
    let mut w = BlockWriter::new(2 * 3600 * 1000);
    for i in 0..hours * 240 {
        w.append(&series("a"), i * 15_000, (i % 500) as f64);
        w.append(&series("b"), i * 15_000, 1.0);
    }
    w.write(dir).expect("write").expect("not empty")
}

#[test]
fn raw_to_5m_to_1h_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = write_block(dir.path(), 48);
    let raw_dir = dir.path().join(raw.ulid.to_string());
    let five = downsample_block(&raw_dir, dir.path(), RESOLUTION_5M).expect("5m");
    assert_eq!((five.min_time, five.max_time), (raw.min_time, raw.max_time));
    let thanos = five.thanos.as_ref().expect("thanos section");
    assert_eq!((thanos.downsample.resolution, thanos.source.as_str()), (RESOLUTION_5M, "compactor"));
    assert_eq!(five.compaction.sources, raw.compaction.sources);
    assert_eq!(five.stats.num_series, 2);
    assert_eq!(five.stats.num_samples, 2 * 48 * 12, "one count sample per 5m window");

    let five_dir = dir.path().join(five.ulid.to_string());
    let block = BlockReader::open(&five_dir).expect("open 5m block");
    let mut total = 0.0;
    for series_ref in block.series_refs().expect("refs") {
        let (_, metas) = block.series(series_ref).expect("series");
        for meta in metas {
            let (encoding, data) = block.chunks().chunk(meta.chunk_ref).expect("chunk");
            assert_eq!(encoding, AGGR_ENCODING);
            let chunk = AggrChunk::new(data).expect("aggr chunk");
            assert!(AggrType::ALL.iter().all(|&a| chunk.get(a).is_some()));
            total += chunk.num_samples() as f64;
        }
    }
    assert_eq!(total, five.stats.num_samples as f64);

    let hour = downsample_block(&five_dir, dir.path(), RESOLUTION_1H).expect("1h");
    assert_eq!(hour.thanos.as_ref().map(|t| t.downsample.resolution), Some(RESOLUTION_1H));
    assert_eq!(hour.stats.num_samples, 2 * 48);
    assert!(matches!(
        downsample_block(&five_dir, dir.path(), RESOLUTION_5M),
        Err(DownsampleError::ResolutionNotLower { current: RESOLUTION_5M, target: RESOLUTION_5M })
    ));
    // Only the three complete blocks remain; no temporary directories.
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 3);
}
