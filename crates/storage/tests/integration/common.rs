//! Helpers shared by the storage tests.

use std::path::Path;
use std::sync::Arc;

use quarry_core::{IngestOptions, LogRecord, ManualClock, Stamper, TeamId};
use quarry_storage::{Storage, StorageOptions};
use quarry_testkit::{Generator, GeneratorConfig};

/// 2026-11-02T00:00:00Z, a fixed "now" for tests.
pub(crate) const NOW: i64 = 1_793_577_600 * 1_000_000_000;

pub(crate) fn loghub_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/loghub/loghub-8-systems.jsonl")
}

/// The LogHub sample, decoded and stamped deterministically.
pub(crate) fn loghub_records() -> Vec<LogRecord> {
    let bytes = std::fs::read(loghub_path()).expect("LogHub sample is in testdata/");
    let decoded = quarry_core::decode(quarry_core::Format::JsonLines, &bytes).expect("decodes");
    assert!(
        decoded.errors.is_empty(),
        "{:?}",
        &decoded.errors[..decoded.errors.len().min(3)]
    );
    stamp(decoded.logs)
}

pub(crate) fn stamp(logs: Vec<quarry_core::DecodedLog>) -> Vec<LogRecord> {
    let mut stamper = Stamper::new(7, IngestOptions::default());
    logs.into_iter().map(|l| stamper.stamp(l, NOW)).collect()
}

pub(crate) fn generated(rows: u64, seed: u64) -> Vec<LogRecord> {
    stamp(
        Generator::new(GeneratorConfig {
            rows,
            seed,
            ..Default::default()
        })
        .collect(),
    )
}

pub(crate) fn open(dir: &Path, options: StorageOptions) -> Storage {
    Storage::open(dir, options, Arc::new(ManualClock::new(NOW))).expect("opens")
}

pub(crate) fn small_options() -> StorageOptions {
    StorageOptions {
        row_group_rows: 1000,
        ..StorageOptions::default()
    }
}

/// Sorts by uuid, the unique key, so stored and expected rows line up.
pub(crate) fn by_uuid(mut rows: Vec<LogRecord>) -> Vec<LogRecord> {
    rows.sort_by_key(|r| r.uuid);
    rows
}

pub(crate) fn assert_same_rows(got: Vec<LogRecord>, want: &[LogRecord]) {
    let got = by_uuid(got);
    let want = by_uuid(want.to_vec());
    assert_eq!(got.len(), want.len(), "row count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "row {i} differs");
    }
}

pub(crate) const TEAM: TeamId = TeamId(1);
