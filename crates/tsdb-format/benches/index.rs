//! Index reader benchmarks on a 100k-series index: postings lookups and series decoding.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tsdb_format::Labels;
use tsdb_format::chunks::ChunkRef;
use tsdb_format::index::{ChunkMeta, IndexReader, IndexWriter, SeriesRef};

const SERIES: usize = 100_000;

/// Writes an index of `SERIES` series: `__name__`, `id` (unique), `instance` (1000), `job` (10).
fn build_index(path: &std::path::Path) {
    let mut series: Vec<Labels> = (0..SERIES)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", "http_requests_total".to_owned()),
                ("id", format!("id-{i:06}")),
                ("instance", format!("instance-{}", i % 1000)),
                ("job", format!("job-{}", i % 10)),
            ])
        })
        .collect();
    series.sort();
    let mut symbols: Vec<String> =
        series.iter().flat_map(|l| l.iter().flat_map(|l| [l.name.clone(), l.value.clone()])).collect();
    symbols.sort();
    symbols.dedup();

    let mut w = IndexWriter::create(path).expect("create index");
    w.add_symbols(&symbols).expect("symbols");
    for (i, labels) in series.iter().enumerate() {
        let base = i as i64 * 10;
        let chunks = [
            ChunkMeta::new(base, base + 3_600_000, ChunkRef::new(0, 8 + i as u32 * 300)),
            ChunkMeta::new(base + 3_600_001, base + 7_199_999, ChunkRef::new(0, 158 + i as u32 * 300)),
        ];
        w.add_series(labels, &chunks).expect("series");
    }
    w.finish().expect("finish");
}

fn index_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    build_index(&path);
    let reader = IndexReader::open(&path).expect("open");
    let all: Vec<SeriesRef> = reader.all_postings().expect("all postings").into_vec();

    c.bench_function("postings job=job-3 (10k refs)", |b| {
        b.iter(|| reader.postings(black_box("job"), black_box("job-3")).expect("postings"))
    });
    c.bench_function("postings instance=instance-517 (100 refs)", |b| {
        b.iter(|| reader.postings(black_box("instance"), black_box("instance-517")).expect("postings"))
    });
    let mut i = 0;
    c.bench_function("series(ref) decode", |b| {
        b.iter(|| {
            i = (i + 7919) % all.len();
            reader.series(black_box(all[i])).expect("series")
        })
    });
    let (mut labels, mut chunks) = (Vec::new(), Vec::new());
    c.bench_function("series_into(ref) decode, reused buffers", |b| {
        b.iter(|| {
            i = (i + 7919) % all.len();
            reader.series_into(black_box(all[i]), &mut labels, &mut chunks).expect("series");
        })
    });
    c.bench_function("intersect job-3 with instance-517", |b| {
        let job = reader.postings("job", "job-3").expect("postings");
        let instance = reader.postings("instance", "instance-517").expect("postings");
        b.iter(|| black_box(&job).intersect(black_box(&instance)))
    });
}

criterion_group!(benches, index_benches);
criterion_main!(benches);
