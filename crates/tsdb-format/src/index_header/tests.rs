//! Index-header tests: a hand-derived golden file, promtool blocks and the format-v1 fixture
//! checked against [`IndexReader`], corruption, and random input.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;
use crate::encoding::crc32c;
use crate::index::{IndexReader, IndexWriter, Toc};
use crate::{Error, Labels};

const TESTDATA: &str = "/work/shared/testdata-blocks";

fn be64(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

/// `len <4b> · contents · CRC32C`.
fn section(contents: &[u8]) -> Vec<u8> {
    let mut out = (contents.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(contents);
    out.extend_from_slice(&crc32c(contents).to_be_bytes());
    out
}

/// A one-series index `{a="1"}`, written by our (Prometheus-identical) index writer.
fn tiny_index(dir: &Path) -> PathBuf {
    let path = dir.join("index");
    let mut w = IndexWriter::create(&path).expect("create");
    w.add_symbols(["1", "a"]).expect("symbols");
    w.add_series(&Labels::from_pairs([("a", "1")]), &[]).expect("series");
    let toc = w.finish().expect("finish");
    // Worked out by hand: symbols at 5 (16 bytes), the series at 32 (9 bytes), the label index
    // at 44, postings at 64 and 80, label offset table at 96, postings offset table at 112.
    assert_eq!(
        toc,
        Toc {
            symbols: 5,
            series: 21,
            label_indices: 41,
            label_indices_table: 96,
            postings: 64,
            postings_table: 112
        }
    );
    path
}

/// The index-header of [`tiny_index`], derived by hand from Thanos' `WriteBinary`.
fn tiny_header_expected() -> Vec<u8> {
    let mut want = vec![0xBA, 0xAA, 0xD7, 0x92, 1, 2];
    want.extend_from_slice(&be64(112));
    // [TOC.symbols, TOC.series): the symbol table.
    want.extend_from_slice(&section(&[0, 0, 0, 2, 1, b'1', 1, b'a']));
    // [TOC.postings_table, EOF): ("","") → 64, ("a","1") → 80, then the index TOC.
    want.extend_from_slice(&section(&[0, 0, 0, 2, 2, 0, 0, 64, 2, 1, b'a', 1, b'1', 80]));
    let mut toc = Vec::new();
    for v in [5u64, 21, 41, 96, 64, 112] {
        toc.extend_from_slice(&be64(v));
    }
    let crc = crc32c(&toc);
    toc.extend_from_slice(&crc.to_be_bytes());
    want.extend_from_slice(&toc);
    // Our TOC: symbols at 14, postings offset table at 14 + 16.
    let mut own = be64(14).to_vec();
    own.extend_from_slice(&be64(30));
    let crc = crc32c(&own);
    own.extend_from_slice(&crc.to_be_bytes());
    want.extend_from_slice(&own);
    assert_eq!(want.len(), 14 + 16 + 22 + 52 + 20);
    want
}

#[test]
fn golden_tiny_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = tiny_index(dir.path());
    let want = tiny_header_expected();

    let source = FileSource::open(&index).expect("open");
    assert_eq!(build(&source).expect("build"), want);
    let path = write_index_header(&source, &dir.path().join("block")).expect("write");
    assert_eq!(path, dir.path().join("block").join(INDEX_HEADER_FILENAME));
    assert_eq!(std::fs::read(&path).expect("read"), want);
    assert!(!dir.path().join("block/index-header.tmp").exists());
    // Rebuilding over an existing file gives the same bytes.
    write_index_header(&source, &dir.path().join("block")).expect("rewrite");
    assert_eq!(std::fs::read(&path).expect("read"), want);

    // The sans-I/O path: ranges first, then assembly.
    let bytes = std::fs::read(&index).expect("read index");
    let [head, toc] = head_ranges(bytes.len() as u64, &index).expect("ranges");
    let slice = |r: ByteRange| &bytes[r.offset as usize..r.end() as usize];
    let layout = IndexLayout::from_head(bytes.len() as u64, slice(head), slice(toc), &index).expect("layout");
    assert_eq!(layout.symbols_range(), ByteRange { offset: 5, len: 16 });
    assert_eq!(layout.postings_table_range(), ByteRange { offset: 112, len: 74 });
    assert_eq!(layout.header_size(), want.len() as u64);
    let assembled = layout
        .assemble(slice(layout.symbols_range()), slice(layout.postings_table_range()))
        .expect("assemble");
    assert_eq!(assembled, want);

    let r = IndexHeaderReader::open(&path).expect("open header");
    assert_eq!(r.index_version(), 2);
    assert_eq!(r.index_toc().postings_table, 112);
    assert_eq!(r.label_names(), ["a"]);
    assert_eq!(r.label_values("a").expect("values"), ["1"]);
    assert_eq!(r.label_values("b").expect("values"), Vec::<String>::new());
    assert_eq!(r.postings_range("", "").expect("all"), Some((68, 76)));
    // The last list's range runs to 4 bytes before the postings offset table.
    assert_eq!(r.postings_range("a", "1").expect("a=1"), Some((84, 108)));
    assert_eq!(r.postings_range("a", "0").expect("a=0"), None);
    assert_eq!(r.postings_range("a", "2").expect("a=2"), None);
    assert_eq!(r.postings_range("b", "1").expect("b=1"), None);
    assert_eq!(r.lookup_symbol(0).expect("sym 0"), "1");
    assert_eq!(r.lookup_symbol(1).expect("sym 1"), "a");
    assert!(matches!(r.lookup_symbol(2), Err(Error::OutOfRange { reference: 2, .. })));
    let p = decode_postings_range(&bytes[84..108], &index, 84).expect("decode");
    assert_eq!(p.as_slice(), [crate::index::SeriesRef(2)]);
}

/// Blocks made by promtool, shared by the tests (promtool takes a moment).
fn promtool_blocks() -> &'static [PathBuf] {
    static BLOCKS: OnceLock<(tempfile::TempDir, Vec<PathBuf>)> = OnceLock::new();
    &BLOCKS
        .get_or_init(|| {
            let promtool_ok = std::process::Command::new("promtool")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(promtool_ok, "promtool not found: install Debian's prometheus package");
            let dir = tempfile::tempdir().expect("tempdir");
            let om = dir.path().join("x.om");
            let out = dir.path().join("blocks");
            let gen_status = std::process::Command::new("python3")
                .arg("/work/shared/tools/gen_openmetrics.py")
                .arg(&om)
                .args(["--series", "300", "--days", "0.2"])
                .status()
                .expect("run gen_openmetrics.py");
            assert!(gen_status.success());
            let o = std::process::Command::new("promtool")
                .args(["tsdb", "create-blocks-from", "openmetrics"])
                .arg(&om)
                .arg(&out)
                .output()
                .expect("run promtool");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let mut blocks: Vec<PathBuf> = std::fs::read_dir(&out)
                .expect("blocks")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.join("index").is_file())
                .collect();
            blocks.sort();
            assert!(!blocks.is_empty());
            (dir, blocks)
        })
        .1
}

/// What Thanos' `WriteBinary` writes for `index`, spelled out from the index's TOC.
fn expected_header(index: &[u8], toc: &Toc, version: u8) -> Vec<u8> {
    let mut want = vec![0xBA, 0xAA, 0xD7, 0x92, 1, version];
    want.extend_from_slice(&be64(toc.postings_table));
    want.extend_from_slice(&index[toc.symbols as usize..toc.series as usize]);
    want.extend_from_slice(&index[toc.postings_table as usize..]);
    let mut own = be64(14).to_vec();
    own.extend_from_slice(&be64(14 + toc.series - toc.symbols));
    let crc = crc32c(&own);
    own.extend_from_slice(&crc.to_be_bytes());
    want.extend_from_slice(&own);
    want
}

/// Every answer of the header reader equals the index reader's.
fn compare(index_path: &Path, header: &IndexHeaderReader) {
    let ir = IndexReader::open(index_path).expect("open index");
    let index = std::fs::read(index_path).expect("read index");
    assert_eq!(header.index_version(), ir.version());
    assert_eq!(header.index_toc(), ir.toc());
    assert_eq!(header.label_names(), ir.label_names());
    let mut checked = 0;
    for name in ir.label_names().iter().chain([&String::new()]) {
        let values = header.label_values(name).expect("label values");
        assert_eq!(values, ir.label_values(name), "values of {name:?}");
        for v in &values {
            let (start, end) = header.postings_range(name, v).expect("range").expect("present");
            assert!(start < end && end <= ir.toc().postings_table - 4, "{name}={v}: {start}..{end}");
            let got = decode_postings_range(&index[start as usize..end as usize], index_path, start)
                .expect("decode range");
            assert_eq!(got, ir.postings(name, v).expect("postings"), "{name}={v}");
            checked += 1;
            // Values next to present ones are absent.
            for absent in [format!("{v}\0"), format!("\0{v}")] {
                if !values.contains(&absent) {
                    assert_eq!(header.postings_range(name, &absent).expect("absent"), None);
                }
            }
        }
        assert_eq!(header.postings_range(name, "\u{10FFFF}").expect("past end"), None);
        assert_eq!(header.postings_ranges(name, &[]).expect("none"), Vec::new());
    }
    assert_eq!(header.postings_range("no such name", "").expect("absent name"), None);
    assert_eq!(header.label_values("no such name").expect("absent name"), Vec::<String>::new());
    assert!(checked > 0);
}

#[test]
fn promtool_blocks_byte_identity_and_answers() {
    for block in promtool_blocks() {
        let index_path = block.join("index");
        let index = std::fs::read(&index_path).expect("read");
        let ir = IndexReader::open(&index_path).expect("open index");
        let want = expected_header(&index, &ir.toc(), ir.version());

        let out = tempfile::tempdir().expect("tempdir");
        let path =
            write_index_header(&FileSource::open(&index_path).expect("source"), out.path()).expect("write");
        let got = std::fs::read(&path).expect("read header");
        assert!(got == want, "{}: {} vs {} bytes", block.display(), got.len(), want.len());
        assert_eq!(build(&index).expect("build from memory"), want);

        // The index has names with more than 32 values; try several samplings.
        assert!(ir.label_names().iter().any(|n| ir.label_values(n).len() > 64));
        for sampling in [1, 2, 3, 7, 32, 1000] {
            let header = IndexHeaderReader::open_with_sampling(&path, sampling).expect("open header");
            assert_eq!(header.sampling(), sampling);
            compare(&index_path, &header);
            for (i, s) in ir.symbols().enumerate() {
                assert_eq!(header.lookup_symbol(i as u32).expect("symbol"), s.expect("symbol"));
            }
            assert!(header.lookup_symbol(ir.num_symbols() as u32).is_err());
            assert_eq!(header.num_symbols(), ir.num_symbols());
        }
    }
}

#[test]
fn format_v1_fixture() {
    let index_path = Path::new(TESTDATA).join("index_format_v1/index");
    let index = std::fs::read(&index_path).expect("read");
    let ir = IndexReader::open(&index_path).expect("open index");
    assert_eq!(ir.version(), 1);
    let want = expected_header(&index, &ir.toc(), 1);
    assert_eq!(want[5], 1);
    let got = build(&FileSource::open(&index_path).expect("source")).expect("build");
    assert_eq!(got, want);
    let header = IndexHeaderReader::from_bytes(got, "index-header", DEFAULT_POSTINGS_SAMPLING).expect("open");
    compare(&index_path, &header);

    // Version 1 symbol references are byte offsets in the index.
    let toc = ir.toc();
    let mut at = toc.symbols as usize + 8;
    let mut d = crate::encoding::Decbuf::new(&index[at..toc.series as usize - 4]);
    for _ in 0..ir.num_symbols() {
        let before = d.len();
        let s = d.uvarint_str().expect("symbol");
        assert_eq!(header.lookup_symbol(at as u32).expect("lookup"), s);
        assert_eq!(ir.lookup_symbol(at as u32).expect("lookup"), s);
        // Not at a symbol's start: an error, not garbage.
        assert!(header.lookup_symbol(at as u32 + 1).is_err() || before == 1);
        at += before - d.len();
    }
    assert!(header.lookup_symbol(0).is_err());
    assert!(header.lookup_symbol(200_000).is_err());
    for s in ir.all_postings().expect("all").iter() {
        let (labels, _) = ir.series(s).expect("series");
        assert!(!labels.is_empty());
    }
}

#[test]
fn build_rejects_bad_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = std::fs::read(tiny_index(dir.path())).expect("read");
    let mut bad = index.clone();
    bad[0] ^= 1;
    assert!(matches!(build(&bad), Err(Error::BadMagic { .. })));
    let mut v3 = index.clone();
    v3[4] = 3;
    assert!(matches!(build(&v3), Err(Error::UnsupportedVersion { version: 3, .. })));
    let mut toc = index.clone();
    let last = toc.len() - 10;
    toc[last] ^= 1;
    assert!(matches!(build(&toc), Err(Error::Checksum { .. })));
    assert!(matches!(build(&index[..40].to_vec()), Err(Error::Corrupt { .. })));
    let layout = IndexLayout::read(&index).expect("layout");
    assert!(matches!(layout.assemble(&[], &[]), Err(Error::InvalidInput(_))));
}

#[test]
fn corrupt_headers_give_typed_errors() {
    let good = tiny_header_expected();
    let open = |b: Vec<u8>| IndexHeaderReader::from_bytes(b, "blk/index-header", DEFAULT_POSTINGS_SAMPLING);
    open(good.clone()).expect("the good one opens");

    // Every byte matters: any flipped bit is caught by a magic, version, checksum or
    // consistency check.
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut b = good.clone();
            b[i] ^= 1 << bit;
            let err = open(b).expect_err(&format!("flip of bit {bit} at byte {i} accepted"));
            assert!(err.to_string().starts_with("blk/index-header: "), "{err}");
        }
    }
    for len in 0..good.len() {
        assert!(open(good[..len].to_vec()).is_err(), "truncated to {len} accepted");
    }
    let mut magic = good.clone();
    magic[..4].copy_from_slice(&0xBAAA_D700u32.to_be_bytes());
    assert!(matches!(open(magic), Err(Error::BadMagic { found: 0xBAAA_D700, .. })));
    let mut version = good.clone();
    version[4] = 2;
    assert!(matches!(open(version), Err(Error::UnsupportedVersion { version: 2, .. })));
    let mut toc = good.clone();
    let at = toc.len() - 5;
    toc[at] ^= 0x10;
    let toc_at = good.len() as u64 - 20;
    assert!(matches!(open(toc), Err(Error::Checksum { offset, .. }) if offset == toc_at));
    let mut symbols = good.clone();
    symbols[20] ^= 0x40;
    assert!(matches!(open(symbols), Err(Error::Checksum { offset: 14, .. })));
    assert!(matches!(IndexHeaderReader::from_bytes(good, "x", 0), Err(Error::InvalidInput(_))));
    let missing = IndexHeaderReader::open("/nonexistent/index-header").expect_err("missing file");
    assert!(matches!(missing, Error::Io { .. }));
}

/// Opening and querying whatever opens must never panic.
fn exercise(bytes: Vec<u8>) {
    if let Ok(r) = IndexHeaderReader::from_bytes(bytes, "fuzz", 2) {
        for name in r.label_names().iter().chain([&String::new()]) {
            if let Ok(values) = r.label_values(name) {
                for v in values.iter().take(8) {
                    let _ = r.postings_range(name, v);
                }
            }
            let _ = r.postings_range(name, "zz");
        }
        for i in 0..4 {
            let _ = r.lookup_symbol(i);
        }
    }
}

proptest! {
    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..300), magic: bool) {
        if magic && bytes.len() >= 6 {
            bytes[..6].copy_from_slice(&[0xBA, 0xAA, 0xD7, 0x92, 1, 2]);
        }
        exercise(bytes);
    }

    #[test]
    fn mutated_headers_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate: bool,
    ) {
        let mut bytes = tiny_header_expected();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        exercise(bytes);
    }
}
