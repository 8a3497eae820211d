use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::Error;
use crate::chunkenc::{Encoding, XorEncoder};

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn xor_chunk(n: i64) -> Vec<u8> {
    let mut encoder = XorEncoder::new();
    for i in 0..n {
        encoder.append(i * 15_000, (i % 7) as f64);
    }
    encoder.into_bytes()
}

#[test]
fn golden_segment_bytes() {
    // The record's CRC covers encoding byte + data = "123456789", whose CRC-32C is the standard
    // check value 0xe3069283. Length 8 is a one-byte uvarint.
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ChunkSegmentWriter::new(dir.path()).unwrap();
    let chunk_ref = writer.write_chunk(Encoding::from(b'1'), b"23456789").unwrap();
    writer.close().unwrap();
    assert_eq!(chunk_ref, ChunkRef::new(0, 8));
    let mut want = vec![0x85, 0xbd, 0x40, 0xdd, 0x01, 0x00, 0x00, 0x00, 0x08];
    want.extend_from_slice(b"123456789");
    want.extend_from_slice(&[0xe3, 0x06, 0x92, 0x83]);
    assert_eq!(segment_files(dir.path()), vec![dir.path().join("000001")]);
    assert_eq!(fs::read(dir.path().join("000001")).unwrap(), want);
}

#[test]
fn round_trip_xor_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let chunks: Vec<Vec<u8>> = (1..50).map(xor_chunk).collect();
    let mut writer = ChunkSegmentWriter::new(dir.path()).unwrap();
    let mut refs = Vec::new();
    for series in chunks.chunks(3) {
        let batch: Vec<(Encoding, &[u8])> = series.iter().map(|c| (Encoding::Xor, c.as_slice())).collect();
        refs.extend(writer.write_chunks(&batch).unwrap());
    }
    writer.close().unwrap();
    let reader = ChunkSegmentReader::open(dir.path()).unwrap();
    assert_eq!(reader.num_segments(), 1);
    assert_eq!(reader.size(), fs::metadata(dir.path().join("000001")).unwrap().len());
    for (chunk_ref, chunk) in refs.iter().zip(&chunks) {
        assert_eq!(reader.chunk(*chunk_ref).unwrap(), (Encoding::Xor, chunk.as_slice()));
    }
}

#[test]
fn writer_without_chunks_leaves_no_segment() {
    let dir = tempfile::tempdir().unwrap();
    ChunkSegmentWriter::new(dir.path().join("chunks")).unwrap().close().unwrap();
    assert!(segment_files(&dir.path().join("chunks")).is_empty());
    let reader = ChunkSegmentReader::open(dir.path().join("chunks")).unwrap();
    assert_eq!(reader.num_segments(), 0);
    assert!(matches!(reader.chunk(ChunkRef::new(0, 8)), Err(Error::OutOfRange { .. })));
}

/// Records of 20-byte data are 26 bytes on disk but count as 30 (5-byte length field) when
/// Prometheus decides to cut.
#[test]
fn cuts_segments_like_prometheus() {
    let data = [7u8; 20];
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ChunkSegmentWriter::with_segment_size(dir.path(), 64).unwrap();
    // One chunk per call: 8 + 26 = 34; 34 + 30 = 64 is not > 64, so the second fits (60 bytes);
    // 60 + 30 > 64 cuts.
    let refs: Vec<ChunkRef> = (0..5).map(|_| writer.write_chunk(Encoding::Xor, &data).unwrap()).collect();
    assert_eq!(
        refs,
        [
            ChunkRef::new(0, 8),
            ChunkRef::new(0, 34),
            ChunkRef::new(1, 8),
            ChunkRef::new(1, 34),
            ChunkRef::new(2, 8)
        ]
    );
    // In one call on the partly filled segment 2: 30 + 34 fits, 60 + 34 does not.
    let batch = [(Encoding::Xor, &data[..]); 2];
    assert_eq!(writer.write_chunks(&batch).unwrap(), [ChunkRef::new(2, 34), ChunkRef::new(3, 8)]);
    writer.close().unwrap();
    let names: Vec<String> =
        segment_files(dir.path()).iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
    assert_eq!(names, ["000001", "000002", "000003", "000004"]);
    let sizes: Vec<u64> = segment_files(dir.path()).iter().map(|p| fs::metadata(p).unwrap().len()).collect();
    assert_eq!(sizes, [60, 60, 60, 34]);

    // A fresh writer given one series of four chunks: after the first chunk, each batch of two
    // would be 60 + 8 > 64, so every chunk gets its own segment.
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ChunkSegmentWriter::with_segment_size(dir.path(), 64).unwrap();
    let batch = [(Encoding::Xor, &data[..]); 4];
    let refs = writer.write_chunks(&batch).unwrap();
    writer.close().unwrap();
    assert_eq!(refs, (0..4).map(|s| ChunkRef::new(s, 8)).collect::<Vec<_>>());
}

#[test]
fn oversized_chunk_gets_its_own_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ChunkSegmentWriter::with_segment_size(dir.path(), 32).unwrap();
    let big = vec![1u8; 100];
    assert_eq!(writer.write_chunk(Encoding::Xor, &big).unwrap(), ChunkRef::new(0, 8));
    assert_eq!(writer.write_chunk(Encoding::Xor, &big).unwrap(), ChunkRef::new(1, 8));
    writer.close().unwrap();
    let reader = ChunkSegmentReader::open(dir.path()).unwrap();
    assert_eq!(reader.chunk(ChunkRef::new(1, 8)).unwrap().1, &big[..]);
}

/// Writes one small chunk and returns (dir, segment path, chunk ref).
fn one_chunk_block() -> (tempfile::TempDir, PathBuf, ChunkRef) {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = ChunkSegmentWriter::new(dir.path()).unwrap();
    let chunk_ref = writer.write_chunk(Encoding::Xor, &xor_chunk(10)).unwrap();
    writer.close().unwrap();
    let path = dir.path().join("000001");
    (dir, path, chunk_ref)
}

#[test]
fn rejects_bad_headers_naming_the_file() {
    let (dir, path, _) = one_chunk_block();
    let good = fs::read(&path).unwrap();

    let mut bad_magic = good.clone();
    bad_magic[0] ^= 0xff;
    fs::write(&path, &bad_magic).unwrap();
    match ChunkSegmentReader::open(dir.path()) {
        Err(Error::BadMagic { path: p, found: 0x7abd_40dd, want: SEGMENT_MAGIC }) => assert_eq!(p, path),
        other => panic!("unexpected {other:?}"),
    }

    let mut bad_version = good.clone();
    bad_version[4] = 2;
    fs::write(&path, &bad_version).unwrap();
    match ChunkSegmentReader::open(dir.path()) {
        Err(Error::UnsupportedVersion { path: p, version: 2 }) => assert_eq!(p, path),
        other => panic!("unexpected {other:?}"),
    }

    fs::write(&path, &good[..5]).unwrap();
    match ChunkSegmentReader::open(dir.path()) {
        Err(Error::Corrupt { path: p, offset: 0, .. }) => assert_eq!(p, path),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn detects_corrupt_records() {
    let (dir, path, chunk_ref) = one_chunk_block();
    let good = fs::read(&path).unwrap();

    // Flip a data byte: checksum error at the encoding byte's offset.
    let mut flipped = good.clone();
    flipped[12] ^= 0x10;
    fs::write(&path, &flipped).unwrap();
    let reader = ChunkSegmentReader::open(dir.path()).unwrap();
    match reader.chunk(chunk_ref) {
        Err(Error::Checksum { path: p, offset: 9, stored, computed }) => {
            assert_eq!(p, path);
            assert_ne!(stored, computed);
        }
        other => panic!("unexpected {other:?}"),
    }

    // Truncate the record: corrupt, at the record's offset.
    fs::write(&path, &good[..good.len() - 1]).unwrap();
    let reader = ChunkSegmentReader::open(dir.path()).unwrap();
    match reader.chunk(chunk_ref) {
        Err(Error::Corrupt { path: p, offset: 8, .. }) => assert_eq!(p, path),
        other => panic!("unexpected {other:?}"),
    }

    // Refs past the end, into the header, or to a missing segment.
    fs::write(&path, &good).unwrap();
    let reader = ChunkSegmentReader::open(dir.path()).unwrap();
    assert!(reader.chunk(chunk_ref).is_ok());
    for bad_ref in [ChunkRef::new(0, good.len() as u32), ChunkRef::new(0, u32::MAX), ChunkRef::new(0, 3)] {
        match reader.chunk(bad_ref) {
            Err(Error::OutOfRange { path: p, reference, .. }) => {
                assert_eq!(p, path);
                assert_eq!(reference, bad_ref.0);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(matches!(reader.chunk(ChunkRef::new(1, 8)), Err(Error::OutOfRange { .. })));
}

#[test]
fn reader_ignores_non_segment_files() {
    let (dir, _, chunk_ref) = one_chunk_block();
    fs::write(dir.path().join("000002.tmp"), b"junk").unwrap();
    fs::write(dir.path().join("+3"), b"junk").unwrap();
    let reader = ChunkSegmentReader::open(dir.path()).unwrap();
    assert_eq!(reader.num_segments(), 1);
    assert!(reader.chunk(chunk_ref).is_ok());
    assert!(ChunkSegmentReader::open(dir.path().join("missing")).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn write_read_round_trip(
        series in proptest::collection::vec(
            proptest::collection::vec((any::<u8>(), proptest::collection::vec(any::<u8>(), 0..200)), 1..5),
            0..20,
        ),
        max_size in 1u64..2000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ChunkSegmentWriter::with_segment_size(dir.path(), max_size).unwrap();
        let mut written = Vec::new();
        for chunks in &series {
            let batch: Vec<(Encoding, &[u8])> =
                chunks.iter().map(|(e, d)| (Encoding::from(*e), d.as_slice())).collect();
            let refs = writer.write_chunks(&batch).unwrap();
            written.extend(refs.into_iter().zip(batch));
        }
        writer.close().unwrap();
        let reader = ChunkSegmentReader::open(dir.path()).unwrap();
        for (chunk_ref, (encoding, data)) in written {
            prop_assert_eq!(reader.chunk(chunk_ref).unwrap(), (encoding, data));
        }
        // Prometheus never leaves an empty segment behind.
        for path in segment_files(dir.path()) {
            prop_assert!(fs::metadata(path).unwrap().len() > SEGMENT_HEADER_SIZE as u64);
        }
    }

    #[test]
    fn random_segments_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        with_header in any::<bool>(),
        refs in proptest::collection::vec(any::<u64>(), 1..20),
    ) {
        let mut bytes = if with_header { segment_header().to_vec() } else { Vec::new() };
        bytes.extend_from_slice(&body);
        if let Ok(reader) = ChunkSegmentReader::from_segments("dir", vec![("dir/000001".into(), bytes)]) {
            for r in refs {
                let _ = reader.chunk(ChunkRef(r));
                let _ = reader.chunk(ChunkRef(r % 320));
            }
        }
    }
}
