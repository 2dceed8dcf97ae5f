//! Crash safety with a real `kill -9`.
//!
//! The parent test re-runs this test binary as a child (`crash_child_process_entry` with `QUARRY_CRASH_DIR` set),
//! which appends numbered batches and prints `ack <batch>` after each append returns. The parent kills it with
//! SIGKILL at a random instant, reopens the directory and checks that every acknowledged batch is present exactly
//! once, and that every batch (one WAL frame) is present either whole or not at all. Four modes kill the child
//! while it appends, flushes, compacts, or applies retention to partitions of expired batches.

use std::sync::Arc;
use std::time::Duration;

use quarry_core::{DecodedLog, IngestOptions, ManualClock, Severity, Stamper};
use quarry_storage::{Storage, StorageOptions};
use quarry_testkit::crash::{run_and_kill, whole_batches};

use crate::common::{NOW, TEAM, open};

const ROWS_PER_BATCH: usize = 40;

fn child_options() -> StorageOptions {
    StorageOptions {
        row_group_rows: 64,
        compact_small_file_rows: 10_000,
        ..StorageOptions::default()
    }
}

/// Not a test of its own: the entry point of the child process (does nothing unless `QUARRY_CRASH_DIR` is set).
#[test]
fn crash_child_process_entry() {
    let Ok(dir) = std::env::var("QUARRY_CRASH_DIR") else {
        return;
    };
    let mode = std::env::var("QUARRY_CRASH_MODE").unwrap_or_default();
    let first: u64 = std::env::var("QUARRY_CRASH_FIRST_BATCH")
        .unwrap()
        .parse()
        .unwrap();
    let storage = Storage::open(
        dir.as_ref(),
        child_options(),
        Arc::new(ManualClock::new(NOW)),
    )
    .expect("child opens");
    let mut stamper = Stamper::new(first, IngestOptions::default());
    for b in first.. {
        let logs = (0..ROWS_PER_BATCH)
            .map(|i| batch_row(b, i, expiring(&mode, b)))
            .collect::<Vec<_>>();
        let records = logs.into_iter().map(|l| stamper.stamp(l, NOW)).collect();
        storage.append(TEAM, records).expect("append");
        println!("ack {b}");
        match mode.as_str() {
            "flush" if b % 3 == 0 => {
                storage.flush().expect("flush");
            }
            "compact" => {
                if b % 2 == 0 {
                    storage.flush().expect("flush");
                }
                if b % 5 == 0 {
                    storage.compact().expect("compact");
                }
            }
            "retention" => {
                if b % 2 == 0 {
                    storage.flush().expect("flush");
                }
                if b % 3 == 0 {
                    storage.retention(NOW).expect("retention");
                }
            }
            _ => {}
        }
    }
}

/// In the retention torture, every fourth batch is 40 days old, in one hour partition, so retention (30 days by
/// default) drops it whole once it is flushed.
fn expiring(mode: &str, b: u64) -> bool {
    mode == "retention" && b % 4 == 1
}

fn batch_row(b: u64, i: usize, expiring: bool) -> DecodedLog {
    let timestamp = if expiring {
        NOW - 40 * 86_400_000_000_000 + (b % 3_000) as i64 * 1_000_000 + i as i64
    } else {
        // Three hours, so flushes write several partitions.
        NOW - 3 * 3_600_000_000_000
            + ((b * 7919 + i as u64 * 104_729) % 10_800) as i64 * 1_000_000_000
    };
    let mut log = DecodedLog {
        timestamp: Some(timestamp),
        observed_timestamp: None,
        trace_id: [0; 16],
        span_id: [0; 8],
        trace_flags: 0,
        severity_text: if i.is_multiple_of(7) {
            Severity::Error
        } else {
            Severity::Info
        },
        severity_number: 9,
        service_name: format!("svc-{}", i % 3),
        body: format!("batch {b} row {i}"),
        attributes: [("b", b.to_string()), ("i", i.to_string())]
            .into_iter()
            .collect(),
        resource_attributes: [("service.name", format!("svc-{}", i % 3))]
            .into_iter()
            .collect(),
        instrumentation_scope: String::new(),
        event_name: String::new(),
        bytes_uncompressed: 0,
    };
    log.bytes_uncompressed = log.compute_bytes_uncompressed();
    log
}

/// Runs `trials` kill-and-recover cycles in one directory (each trial continues where the last left off).
fn torture(mode: &str) {
    let trials: usize = std::env::var("QUARRY_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<u64> = Vec::new();
    let mut next_batch = 0u64;
    let mut rng = 0x2545_F491_4F6C_DD1Du64 ^ mode.len() as u64;
    let exe = std::env::current_exe().unwrap();
    for trial in 0..trials {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let seen = run_and_kill(
            &exe,
            "crash::crash_child_process_entry",
            &[
                ("QUARRY_CRASH_DIR", dir.path().display().to_string()),
                ("QUARRY_CRASH_MODE", mode.to_owned()),
                ("QUARRY_CRASH_FIRST_BATCH", next_batch.to_string()),
            ],
            1,
            Duration::from_millis(rng % 150),
        );
        assert!(
            !seen.is_empty(),
            "trial {trial}: child acknowledged nothing"
        );
        acked.extend(&seen);
        next_batch = seen.iter().max().unwrap() + 2;

        // Recover and check.
        let storage = open(dir.path(), child_options());
        let rows = storage.snapshot().read_team(TEAM).unwrap();
        let present = whole_batches(&rows, "b", "i", ROWS_PER_BATCH)
            .unwrap_or_else(|e| panic!("{mode} trial {trial}: {e}"));
        for b in &acked {
            // An expiring batch may be gone (retention dropped it: the point); it may not be partly there.
            assert!(
                present.contains(b) || expiring(mode, *b),
                "{mode} trial {trial}: acknowledged batch {b} is lost"
            );
        }
        if mode == "retention" {
            // Recovery finishes what retention committed, and a pass after a flush leaves no expired row.
            storage.flush().unwrap();
            storage.retention(NOW).unwrap();
            let left = storage.snapshot().read_team(TEAM).unwrap();
            assert!(
                left.iter()
                    .all(|r| r.timestamp > NOW - 31 * 86_400_000_000_000),
                "{mode} trial {trial}: expired rows survive retention"
            );
        }
        // Mix in maintenance from the parent too, so recovery is followed by real work.
        if trial % 4 == 3 {
            storage.flush().unwrap();
        }
    }
}

#[test]
fn kill_during_wal_append_loses_no_acknowledged_row() {
    torture("append");
}

#[test]
fn kill_during_flush_loses_and_duplicates_nothing() {
    torture("flush");
}

#[test]
fn kill_during_compaction_loses_and_duplicates_nothing() {
    torture("compact");
}

#[test]
fn kill_during_retention_loses_nothing_it_should_keep() {
    torture("retention");
}
