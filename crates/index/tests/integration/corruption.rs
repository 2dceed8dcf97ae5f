//! Damaged sidecars are detected, never panic, and the error names the file.

use proptest::strategy::{Strategy, ValueTree};
use quarry_index::{Error, FileIndex, IndexOptions, read_sidecar};

use crate::{records_strategy, row_groups};

fn sample_bytes() -> Vec<u8> {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let records = records_strategy(200)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let index = FileIndex::build(
        &records,
        &row_groups(records.len(), 50),
        &IndexOptions::default(),
    );
    index.to_bytes()
}

#[test]
fn every_truncation_is_detected() {
    let bytes = sample_bytes();
    for len in 0..bytes.len() {
        let err = FileIndex::from_bytes(&bytes[..len]).expect_err("truncated sidecar accepted");
        assert!(matches!(err, Error::Corrupt { .. }), "len {len}: {err}");
    }
}

#[test]
fn every_single_bit_flip_is_detected() {
    let bytes = sample_bytes();
    for bit in 0..bytes.len() * 8 {
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        assert!(
            FileIndex::from_bytes(&damaged).is_err(),
            "bit {bit} flipped and accepted"
        );
    }
}

#[test]
fn garbage_with_a_valid_footer_is_rejected_by_the_parser_not_by_a_panic() {
    // Re-checksummed garbage bodies pass the CRC, so the section parser and `validate` must catch them.
    let mut state = 0x1234_5678_u64;
    for len in [0usize, 1, 7, 40, 300, 4096] {
        for _ in 0..50 {
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let mut bytes = body.clone();
            bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
            bytes.extend_from_slice(&quarry_index::format::VERSION.to_le_bytes());
            bytes.extend_from_slice(&0u16.to_le_bytes());
            let crc = crc32fast::hash(&bytes);
            bytes.extend_from_slice(&crc.to_le_bytes());
            bytes.extend_from_slice(quarry_index::format::MAGIC);
            assert!(FileIndex::from_bytes(&bytes).is_err());
        }
    }
}

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0193-abc.qidx");
    let bytes = sample_bytes();
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let err = read_sidecar(&path).unwrap_err();
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    let missing = dir.path().join("missing.qidx");
    let err = read_sidecar(&missing).unwrap_err();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("missing.qidx"),
        "{err}"
    );
    // A future version (and version 0) is refused with a message saying so.
    for version in [quarry_index::format::VERSION + 1, 0] {
        let mut other = bytes.clone();
        let n = other.len();
        other[n - 12..n - 10].copy_from_slice(&version.to_le_bytes());
        std::fs::write(&path, &other).unwrap();
        let err = read_sidecar(&path).unwrap_err();
        assert!(
            err.to_string().contains(&format!("version {version}")),
            "{err}"
        );
    }
}
