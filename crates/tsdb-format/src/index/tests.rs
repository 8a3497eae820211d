//! Cross-module tests of the index: round trips, golden layout, corruption, fixtures, promtool.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::chunks::ChunkRef;
use crate::encoding::crc32c;
use crate::{Error, Label, Labels};

const TESTDATA: &str = "/work/shared/testdata-blocks";

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Sorted, unique series with sorted, increasing chunk metas.
fn random_series(seed: u64, count: usize) -> Vec<(Labels, Vec<ChunkMeta>)> {
    let mut rng = Rng(seed);
    let names = ["__name__", "job", "instance", "zone", "ünïcødé", "le", "a"];
    let values =
        ["up", "node", "host-1", "host-2", "10.0.0.1:9100", "🚀", "日本語", "0.5", "+Inf", "x y\tz", "\"q\""];
    let mut set = BTreeSet::new();
    while set.len() < count {
        let mut pairs = vec![("__name__".to_owned(), values[rng.below(3) as usize].to_owned())];
        for name in &names[1..] {
            if rng.below(2) == 0 {
                pairs.push((
                    (*name).to_owned(),
                    format!("{}-{}", values[rng.below(values.len() as u64) as usize], rng.below(20)),
                ));
            }
        }
        set.insert(Labels::from_pairs(pairs));
    }
    set.into_iter()
        .map(|labels| {
            let mut t = rng.below(1_000_000) as i64 - 500_000;
            let mut chunk_ref = 8 + rng.below(1000);
            let chunks = (0..rng.below(5))
                .map(|_| {
                    let min = t + 1 + rng.below(100) as i64;
                    let max = min + rng.below(10_000) as i64;
                    t = max;
                    chunk_ref += 1 + rng.below(100_000);
                    ChunkMeta::new(min, max, ChunkRef(chunk_ref))
                })
                .collect();
            (labels, chunks)
        })
        .collect()
}

fn symbols_of(series: &[(Labels, Vec<ChunkMeta>)]) -> BTreeSet<String> {
    series.iter().flat_map(|(l, _)| l.iter().flat_map(|l| [l.name.clone(), l.value.clone()])).collect()
}

fn write_index(path: &Path, series: &[(Labels, Vec<ChunkMeta>)]) -> Vec<SeriesRef> {
    let mut w = IndexWriter::create(path).expect("create");
    w.add_symbols(symbols_of(series)).expect("symbols");
    let refs = series.iter().map(|(l, c)| w.add_series(l, c).expect("series")).collect();
    w.finish().expect("finish");
    refs
}

/// Reads everything the reader offers, ignoring errors: used to prove nothing panics.
fn exercise(r: &IndexReader) {
    let _ = r.symbols().count();
    let _ = r.lookup_symbol(0);
    let _ = r.lookup_symbol(u32::MAX);
    let _ = r.postings_offset_table();
    for name in r.label_names() {
        for value in r.label_values(&name) {
            let _ = r.postings(&name, &value);
        }
    }
    if let Ok(all) = r.all_postings() {
        for s in all.iter().take(1000) {
            let _ = r.series(s);
        }
    }
    let _ = r.series(SeriesRef(u64::MAX));
    let _ = check_health(r);
}

#[test]
fn round_trip_random_series() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    let series = random_series(7, 300);
    let refs = write_index(&path, &series);

    let r = IndexReader::open(&path).expect("open");
    assert_eq!(r.version(), FORMAT_V2);
    let symbols: Vec<String> = r.symbols().map(|s| s.expect("symbol").to_owned()).collect();
    assert_eq!(symbols, symbols_of(&series).into_iter().collect::<Vec<_>>());
    for (i, s) in symbols.iter().enumerate() {
        assert_eq!(r.lookup_symbol(i as u32).expect("lookup"), s);
    }

    let all = r.all_postings().expect("all postings");
    assert_eq!(all.as_slice(), refs.as_slice());
    let mut want: BTreeMap<(String, String), Vec<SeriesRef>> = BTreeMap::new();
    let (mut labels, mut chunks) = (Vec::new(), Vec::new());
    for ((l, c), &sref) in series.iter().zip(&refs) {
        assert_eq!(r.series(sref).expect("series"), (l.clone(), c.clone()));
        r.series_into(sref, &mut labels, &mut chunks).expect("series_into");
        assert_eq!((labels.as_slice(), chunks.as_slice()), (l.as_slice(), c.as_slice()));
        for label in l.iter() {
            want.entry((label.name.clone(), label.value.clone())).or_default().push(sref);
        }
    }
    let names: BTreeSet<String> = want.keys().map(|(n, _)| n.clone()).collect();
    assert_eq!(r.label_names(), names.into_iter().collect::<Vec<_>>());
    for ((name, value), refs) in &want {
        assert_eq!(r.postings(name, value).expect("postings").as_slice(), refs.as_slice());
        assert!(r.label_values(name).contains(value));
    }
    assert!(r.postings("job", "no-such-value").expect("absent").is_empty());
    assert!(r.postings("no-such-name", "x").expect("absent").is_empty());
    assert!(r.label_values("no-such-name").is_empty());

    let table = r.postings_offset_table().expect("table");
    assert_eq!(table.len(), want.len() + 1);
    assert_eq!((table[0].name.as_str(), table[0].value.as_str()), ("", ""));
    assert!(table.windows(2).all(|w| (&w[0].name, &w[0].value) < (&w[1].name, &w[1].value)));

    let health = check_health(&r).expect("health");
    assert!(health.is_healthy(), "{health}");
    assert_eq!(health.total_series, 300);
}

/// The bytes of a one-series index, worked out by hand from 2.42's writer.
#[test]
fn golden_layout_of_a_tiny_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    let series = vec![(Labels::from_pairs([("a", "b")]), vec![ChunkMeta::new(1000, 2000, ChunkRef(8))])];
    assert_eq!(write_index(&path, &series), vec![SeriesRef(2)]);
    let got = std::fs::read(&path).expect("read");

    let mut want: Vec<u8> = vec![0xBA, 0xAA, 0xD7, 0x00, 2];
    let section = |want: &mut Vec<u8>, contents: &[u8]| {
        want.extend_from_slice(&(contents.len() as u32).to_be_bytes());
        want.extend_from_slice(contents);
        want.extend_from_slice(&crc32c(contents).to_be_bytes());
    };
    section(&mut want, &[0, 0, 0, 2, 1, b'a', 1, b'b']); // symbols at 5, ends at 21
    want.resize(32, 0); // series 16-byte aligned: ID 2
    let body = [1, 0, 1, 1, 0xd0, 0x0f, 0xe8, 0x07, 8]; // a=b; 1 chunk: zigzag(1000), 1000, ref 8
    want.push(body.len() as u8);
    want.extend_from_slice(&body);
    want.extend_from_slice(&crc32c(&body).to_be_bytes()); // ends at 46
    want.resize(48, 0); // label index 4-byte aligned
    section(&mut want, &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]); // a: 1 name, 1 value: ref(b) = 1
    assert_eq!(want.len(), 68);
    section(&mut want, &[0, 0, 0, 1, 0, 0, 0, 2]); // all postings at 68
    section(&mut want, &[0, 0, 0, 1, 0, 0, 0, 2]); // a=b at 84
    section(&mut want, &[0, 0, 0, 1, 1, 1, b'a', 48]); // label offset table at 100
    section(&mut want, &[0, 0, 0, 2, 2, 0, 0, 68, 2, 1, b'a', 1, b'b', 84]); // postings table at 116
    let toc = Toc {
        symbols: 5,
        series: 21,
        label_indices: 46,
        label_indices_table: 100,
        postings: 68,
        postings_table: 116,
    };
    let mut e = crate::encoding::Encbuf::new();
    toc.encode(&mut e);
    want.extend_from_slice(&e.bytes);
    assert_eq!(got, want);
    assert_eq!(IndexReader::open(&path).expect("open").toc(), toc);
}

#[test]
fn empty_index_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    IndexWriter::create(&path).expect("create").finish().expect("finish");
    let r = IndexReader::open(&path).expect("open");
    assert_eq!(r.num_symbols(), 0);
    assert!(r.all_postings().expect("all").is_empty());
    assert!(r.label_names().is_empty());
}

#[test]
fn writer_rejects_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = IndexWriter::create(dir.path().join("index")).expect("create");
    w.add_symbols(["a", "b", "c"]).expect("symbols");
    assert!(matches!(w.add_symbol("b"), Err(Error::InvalidInput(_))));
    assert!(matches!(w.add_symbol("c"), Err(Error::InvalidInput(_))));
    let ab = Labels::from_pairs([("a", "b")]);
    let ac = Labels::from_pairs([("a", "c")]);
    assert!(matches!(w.add_series(&Labels::default(), &[]), Err(Error::InvalidInput(_))));
    assert!(matches!(w.add_series(&Labels::from_pairs([("a", "zz")]), &[]), Err(Error::InvalidInput(_))));
    w.add_series(&ac, &[]).expect("first series");
    assert!(matches!(w.add_series(&ac, &[]), Err(Error::InvalidInput(_))), "duplicate");
    assert!(matches!(w.add_series(&ab, &[]), Err(Error::InvalidInput(_))), "out of order");
    assert!(matches!(w.add_symbol("d"), Err(Error::InvalidInput(_))), "symbol after series");
    w.finish().expect("finish");
}

fn small_index() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    write_index(&path, &random_series(3, 20));
    std::fs::read(path).expect("read")
}

#[test]
fn corruption_gives_typed_errors() {
    let good = small_index();
    let p = PathBuf::from("mem/index");
    let r = IndexReader::from_bytes(good.clone(), &p).expect("valid");
    let toc = r.toc();

    let mut bad = good.clone();
    bad[0] = 0;
    assert!(matches!(IndexReader::from_bytes(bad, &p), Err(Error::BadMagic { found: 0x00AA_D700, .. })));
    let mut bad = good.clone();
    bad[4] = 9;
    assert!(matches!(IndexReader::from_bytes(bad, &p), Err(Error::UnsupportedVersion { version: 9, .. })));
    assert!(matches!(IndexReader::from_bytes(good[..3].to_vec(), &p), Err(Error::Corrupt { offset: 0, .. })));
    // Truncation loses the TOC's checksum.
    assert!(matches!(
        IndexReader::from_bytes(good[..good.len() - 1].to_vec(), &p),
        Err(Error::Checksum { .. })
    ));
    // A flipped byte in the symbol table.
    let mut bad = good.clone();
    bad[toc.symbols as usize + 10] ^= 0x40;
    let err = IndexReader::from_bytes(bad, &p).expect_err("symbols crc");
    assert!(matches!(err, Error::Checksum { offset: 5, .. }), "{err}");
    assert!(err.to_string().contains("mem/index"));
    // A flipped byte in the first series: the reader opens, the series fails.
    let mut bad = good.clone();
    let first = r.all_postings().expect("all").as_slice()[0];
    bad[first.0 as usize * 16 + 3] ^= 0x01;
    let rb = IndexReader::from_bytes(bad, &p).expect("opens");
    let offset = first.0 * 16;
    assert!(matches!(rb.series(first), Err(Error::Checksum { offset: o, .. }) if o == offset));
    assert!(check_health(&rb).is_err());
    // A flipped byte in a postings list.
    let mut bad = good.clone();
    bad[toc.postings as usize + 9] ^= 0x01;
    let rb = IndexReader::from_bytes(bad, &p).expect("opens");
    assert!(matches!(rb.all_postings(), Err(Error::Checksum { .. })));
    // Out-of-range references.
    assert!(matches!(r.series(SeriesRef(1 << 40)), Err(Error::OutOfRange { .. })));
    assert!(matches!(r.series(SeriesRef(0)), Err(Error::OutOfRange { .. })));
    assert!(matches!(r.lookup_symbol(100_000), Err(Error::OutOfRange { reference: 100_000, .. })));
}

#[test]
fn reads_format_v1_fixture() {
    let r = IndexReader::open(Path::new(TESTDATA).join("index_format_v1/index")).expect("open v1");
    assert_eq!(r.version(), FORMAT_V1);
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(TESTDATA).join("index_format_v1/meta.json")).expect("meta"),
    )
    .expect("json");
    let all = r.all_postings().expect("all postings");
    assert_eq!(Some(all.len() as u64), meta["stats"]["numSeries"].as_u64());
    let mut seen = BTreeSet::new();
    for s in all.iter() {
        let (labels, _chunks) = r.series(s).expect("series");
        assert!(!labels.is_empty());
        seen.insert(labels);
    }
    assert_eq!(seen.len(), 102);
    let names = r.label_names();
    assert!(!names.is_empty());
    let mut total = 0;
    for name in &names {
        let values = r.label_values(name);
        assert!(values.windows(2).all(|w| w[0] < w[1]), "{name} values sorted");
        for v in &values {
            let p = r.postings(name, v).expect("postings");
            assert!(!p.is_empty());
            for s in p.iter() {
                assert_eq!(r.series(s).expect("series").0.get(name), Some(v.as_str()));
            }
            total += 1;
        }
    }
    assert_eq!(total + 1, r.postings_offset_table().expect("table").len());
    let health = check_health(&r).expect("health");
    assert_eq!(health.total_series, 102);
    assert!(health.is_healthy(), "{health}");
}

#[test]
fn reports_out_of_order_chunks_fixture() {
    let r = IndexReader::open(Path::new(TESTDATA).join("out_of_order_chunks.index")).expect("open");
    let health = check_health(&r).expect("health");
    assert!(health.has_out_of_order_chunks(), "{health}");
    assert!(!health.is_healthy());
    let issue = health.first_chunk_issue.expect("an offending series");
    assert_eq!(issue.labels, vec![Label::new("lbl1", "1")]);
}

#[test]
fn health_counts_each_problem() {
    // Our writer does not check chunks, like 2.42's: a compactor relies on the health check.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    let c = |min, max| ChunkMeta::new(min, max, ChunkRef(8));
    let series = vec![
        (Labels::from_pairs([("a", "1")]), vec![c(0, 10), c(10, 20)]),
        (Labels::from_pairs([("a", "2")]), vec![c(0, 10), c(0, 10)]),
        (Labels::from_pairs([("a", "3")]), vec![c(5, 1)]),
        (Labels::from_pairs([("a", "4")]), vec![c(0, 10), c(11, 20)]),
    ];
    write_index(&path, &series);
    let h = check_health(&IndexReader::open(&path).expect("open")).expect("health");
    assert_eq!((h.total_series, h.total_chunks), (4, 7));
    assert_eq!((h.out_of_order_chunks, h.duplicate_chunks, h.invalid_chunks), (2, 1, 1));
    assert_eq!(h.series_with_chunk_issues, 3);
    assert_eq!((h.min_time, h.max_time), (Some(0), Some(20)));
    assert_eq!(h.out_of_order_series + h.duplicate_series + h.out_of_order_labels, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..400), valid_header: bool) {
        if valid_header && bytes.len() >= 5 {
            bytes[..4].copy_from_slice(&MAGIC_INDEX.to_be_bytes());
            bytes[4] = FORMAT_V2;
        }
        if let Ok(r) = IndexReader::from_bytes(bytes, "random") {
            exercise(&r);
        }
    }

    #[test]
    fn mutated_index_never_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        truncate in proptest::option::of(any::<prop::sample::Index>()),
        fix_toc_crc: bool,
    ) {
        let mut bytes = small_index();
        for (at, v) in flips {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if let Some(t) = truncate {
            bytes.truncate(t.index(bytes.len()));
        }
        // Reach past the TOC check too: recompute its checksum sometimes.
        if fix_toc_crc && bytes.len() >= TOC_LEN {
            let n = bytes.len();
            let crc = crc32c(&bytes[n - TOC_LEN..n - 4]);
            bytes[n - 4..].copy_from_slice(&crc.to_be_bytes());
        }
        if let Ok(r) = IndexReader::from_bytes(bytes, "mutated") {
            exercise(&r);
        }
    }
}

/// Rewrites the index at `path` with our writer: same symbols, series and chunk metas.
fn rewrite(path: &Path, out: &Path) {
    let r = IndexReader::open(path).expect("open promtool index");
    let mut w = IndexWriter::create(out).expect("create");
    for s in r.symbols() {
        w.add_symbol(s.expect("symbol")).expect("add symbol");
    }
    for s in r.all_postings().expect("all").iter() {
        let (labels, chunks) = r.series(s).expect("series");
        assert_eq!(w.add_series(&labels, &chunks).expect("add series"), s);
    }
    w.finish().expect("finish");
}

/// OpenMetrics text with varied label sets: missing labels, unicode, escaped quotes.
fn openmetrics_sample() -> String {
    let mut out = String::new();
    for (family, kind, sample) in [("alpha", "gauge", "alpha"), ("beta", "counter", "beta_total")] {
        out.push_str(&format!("# TYPE {family} {kind}\n"));
        for i in 0..120 {
            let mut labels = vec![format!("job=\"j{}\"", i % 7), format!("instance=\"ü-{i}:9100\"")];
            if i % 3 == 0 {
                labels.push("zone=\"🚀 east\"".to_owned());
            }
            if i % 5 == 0 {
                labels.push("q=\"a\\\"b\"".to_owned());
            }
            let labels = labels.join(",");
            // 5 hours at one sample a minute, timestamps in seconds: three 2h blocks.
            for t in (0..5 * 3600).step_by(60) {
                out.push_str(&format!("{sample}{{{labels}}} {} {}\n", i + t / 60, 1_704_067_200 + t));
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// Byte identity with Prometheus 2.42: promtool builds blocks, we rewrite their indexes from
/// what our reader sees and compare. Needs promtool (Debian's `prometheus`, as `.ci/run` installs).
#[test]
fn byte_identical_to_promtool() {
    let promtool_ok =
        std::process::Command::new("promtool").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(promtool_ok, "promtool not found: install Debian's `prometheus` package (2.42), as .ci/run does");
    let dir = tempfile::tempdir().expect("tempdir");
    let om = dir.path().join("om.txt");
    let blocks = dir.path().join("blocks");
    std::fs::write(&om, openmetrics_sample()).expect("write openmetrics");
    let status = std::process::Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(&om)
        .arg(&blocks)
        .output()
        .expect("run promtool");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let mut compared = 0;
    for block in std::fs::read_dir(&blocks).expect("blocks") {
        let index = block.expect("entry").path().join("index");
        let ours = dir.path().join("ours");
        let r = IndexReader::open(&index).expect("open");
        assert_eq!(r.label_values("q"), ["a\"b"]);
        assert_eq!(r.label_values("zone"), ["🚀 east"]);
        assert_eq!(r.label_names(), ["__name__", "instance", "job", "q", "zone"]);
        rewrite(&index, &ours);
        let (want, got) = (std::fs::read(&index).expect("read"), std::fs::read(&ours).expect("read"));
        let first_diff = want.iter().zip(&got).position(|(a, b)| a != b);
        assert!(
            want == got,
            "{}: {} vs {} bytes, first difference at {first_diff:?}",
            index.display(),
            want.len(),
            got.len()
        );
        compared += 1;
    }
    eprintln!("compared {compared} promtool indexes byte for byte");
    assert_eq!(compared, 3);
}
