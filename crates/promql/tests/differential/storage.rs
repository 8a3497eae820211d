//! A [`Queryable`] over TSDB blocks on disk, as Prometheus' block querier reads them: each block
//! read with `BlockReader`, a series present in several blocks merged into one (chain merge: time
//! order, one sample per timestamp, the earlier block winning), matchers applied to its labels.

use std::collections::BTreeMap;
use std::path::Path;

use promql::queryable::{SampleIterator, StorageSeries, matches_all};
use promql::{Point, PromqlError, Queryable, SelectHints};
use promql_parser::label::Matcher;
use tsdb_format::Labels;
use tsdb_format::block::BlockReader;
use tsdb_format::index::{ChunkMeta, SeriesRef};

/// One opened block and its series list, read once.
struct OpenBlock {
    reader: BlockReader,
    series: Vec<(Labels, SeriesRef, Vec<ChunkMeta>)>,
}

/// Series from every block in a directory.
pub(crate) struct BlockQueryable {
    blocks: Vec<OpenBlock>,
}

fn storage_err(e: impl std::fmt::Display) -> PromqlError {
    PromqlError::Storage(e.to_string())
}

impl BlockQueryable {
    /// Opens every block directory (one holding `meta.json`) in `dir`, oldest first.
    pub(crate) fn open(dir: &Path) -> Self {
        let mut blocks = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.join("meta.json").is_file() {
                continue;
            }
            let reader = BlockReader::open(&path).unwrap();
            let series = reader
                .series_refs()
                .unwrap()
                .into_iter()
                .map(|r| {
                    let (labels, chunks) = reader.series(r).unwrap();
                    (labels, r, chunks)
                })
                .collect();
            blocks.push(OpenBlock { reader, series });
        }
        blocks.sort_by_key(|b| b.reader.meta().min_time);
        Self { blocks }
    }

    /// Number of blocks.
    pub(crate) fn num_blocks(&self) -> usize {
        self.blocks.len()
    }
}

/// Samples already merged in memory.
struct VecIter(std::vec::IntoIter<Point>);

impl SampleIterator for VecIter {
    fn next(&mut self) -> promql::Result<Option<Point>> {
        Ok(self.0.next())
    }
}

impl Queryable for BlockQueryable {
    fn select(&self, matchers: &[Matcher], hints: &SelectHints) -> promql::Result<Vec<StorageSeries>> {
        let mut merged: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
        if hints.start > hints.end {
            return Ok(Vec::new());
        }
        for block in &self.blocks {
            let meta = block.reader.meta();
            // A block covers [minTime, maxTime).
            if meta.max_time <= hints.start || meta.min_time > hints.end {
                continue;
            }
            for (labels, series_ref, chunks) in &block.series {
                if !matches_all(labels, matchers) {
                    continue;
                }
                let mut samples = Vec::new();
                block
                    .reader
                    .samples(*series_ref, chunks, hints.start, hints.end, &mut samples)
                    .map_err(storage_err)?;
                if !samples.is_empty() {
                    merged.entry(labels.clone()).or_default().extend(samples);
                }
            }
        }
        Ok(merged
            .into_iter()
            .map(|(labels, mut samples)| {
                // Chain merge: stable sort keeps the earlier block's sample first on equal time.
                samples.sort_by_key(|(t, _)| *t);
                samples.dedup_by_key(|(t, _)| *t);
                let points: Vec<Point> = samples.into_iter().map(|(t, v)| Point { t, v }).collect();
                StorageSeries { labels, samples: Box::new(VecIter(points.into_iter())) }
            })
            .collect())
    }
}
