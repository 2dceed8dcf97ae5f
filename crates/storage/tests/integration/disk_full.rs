//! A full disk. A child process (this test binary again) lowers its own `RLIMIT_FSIZE` below the sizes its WAL
//! segment and Parquet files need, so every write past the limit fails with `EFBIG` as on a full file system
//! (the parent starts it with `SIGXFSZ` ignored, so the write returns the error instead of the signal killing the
//! process), then raises the limit again: space returns. The child reports each append and flush; the parent then
//! reopens the directory and checks that every acknowledged batch is there exactly once and whole, and that no
//! failed batch came back.

use std::process::Command;
use std::sync::Arc;

use quarry_core::{DecodedLog, IngestOptions, ManualClock, Severity, Stamper};
use quarry_storage::{Storage, StorageOptions};
use quarry_testkit::crash::whole_batches;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use crate::common::{NOW, TEAM, open};

const ROWS: usize = 200;

fn batch(b: u64) -> Vec<DecodedLog> {
    (0..ROWS)
        .map(|i| {
            let mut log = DecodedLog {
                timestamp: Some(NOW - 3_600_000_000_000 + (b as i64 * 1000 + i as i64) * 1_000_000),
                observed_timestamp: None,
                trace_id: [0; 16],
                span_id: [0; 8],
                trace_flags: 0,
                severity_text: Severity::Info,
                severity_number: 9,
                service_name: format!("svc-{}", i % 4),
                // Distinct, poorly compressible bodies, so that Parquet files are large.
                body: format!(
                    "batch {b} row {i} {:x}",
                    (b * 7919 + i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ),
                attributes: [("b", b.to_string()), ("i", i.to_string())]
                    .into_iter()
                    .collect(),
                resource_attributes: [("service.name", format!("svc-{}", i % 4))]
                    .into_iter()
                    .collect(),
                instrumentation_scope: String::new(),
                event_name: String::new(),
                bytes_uncompressed: 0,
            };
            log.bytes_uncompressed = log.compute_bytes_uncompressed();
            log
        })
        .collect()
}

fn set_file_size_limit(bytes: Option<u64>) {
    let hard = getrlimit(Resource::Fsize).maximum;
    setrlimit(
        Resource::Fsize,
        Rlimit {
            current: bytes.or(hard),
            maximum: hard,
        },
    )
    .expect("setrlimit");
}

/// Not a test of its own: the child process (does nothing unless `QUARRY_DISK_FULL_DIR` is set).
#[test]
fn disk_full_child_process_entry() {
    let Ok(dir) = std::env::var("QUARRY_DISK_FULL_DIR") else {
        return;
    };
    let storage = Storage::open(
        dir.as_ref(),
        StorageOptions::default(),
        Arc::new(ManualClock::new(NOW)),
    )
    .expect("child opens");
    let mut stamper = Stamper::new(3, IngestOptions::default());
    let mut b = 0u64;
    let mut append = |storage: &Storage, b: &mut u64| {
        let records = batch(*b)
            .into_iter()
            .map(|l| stamper.stamp(l, NOW))
            .collect();
        match storage.append(TEAM, records) {
            Ok(()) => println!("ack {b}"),
            Err(e) => println!("fail {b} {e}"),
        }
        *b += 1;
    };
    // Plenty of space: 30 batches into the WAL and the memtable (about 6,000 rows, over a megabyte of WAL).
    for _ in 0..30 {
        append(&storage, &mut b);
    }
    // The disk fills: no file may grow past 64 KiB. The WAL segment is already past it, and the Parquet file of
    // the memtable would be too.
    set_file_size_limit(Some(64 << 10));
    for _ in 0..5 {
        append(&storage, &mut b);
    }
    match storage.flush() {
        Ok(_) => println!("flushed while full"),
        Err(e) => println!("flush failed {e}"),
    }
    append(&storage, &mut b);
    // Space returns.
    set_file_size_limit(None);
    for _ in 0..5 {
        append(&storage, &mut b);
    }
    match storage.flush() {
        Ok(r) => println!("flushed {} rows", r.rows),
        Err(e) => println!("flush failed again {e}"),
    }
    for _ in 0..3 {
        append(&storage, &mut b);
    }
    println!("done");
}

#[test]
fn a_full_disk_fails_appends_and_flushes_cleanly_and_ingest_resumes_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"trap '' XFSZ; exec "$0" "$@""#)
        .arg(&exe)
        .args([
            "--exact",
            "disk_full::disk_full_child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("QUARRY_DISK_FULL_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("done"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut acked = Vec::new();
    let mut failed = Vec::new();
    for line in stdout.lines() {
        // The harness prints its own "test … ... " before the first line of output.
        let line = line.rsplit("... ").next().unwrap();
        let mut words = line.split(' ');
        match (words.next(), words.next()) {
            (Some("ack"), Some(b)) => acked.push(b.parse::<u64>().unwrap()),
            (Some("fail"), Some(b)) => {
                failed.push(b.parse::<u64>().unwrap());
                assert!(
                    line.contains("File too large") || line.contains("os error 27"),
                    "{line}"
                );
            }
            _ => {}
        }
    }
    assert_eq!(acked.len() + failed.len(), 44, "{stdout}");
    // While full, each append that would grow the WAL segment past the limit fails; the storage then starts a
    // fresh segment, which takes one more batch before it fills too.
    assert!(failed.len() >= 2, "appends while full must fail: {stdout}");
    assert!(
        failed.iter().all(|&b| (30..36).contains(&b)),
        "only appends while full fail: {failed:?}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("flush failed ") && l.contains(".parquet")),
        "the flush while full must fail, naming the file it could not write: {stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("flushed ") && l.ends_with(" rows")),
        "the flush after space returned must succeed: {stdout}"
    );
    assert!(!stdout.contains("flush failed again"), "{stdout}");
    assert!(
        acked.contains(&40) && acked.contains(&43),
        "ingest resumed: {stdout}"
    );

    let storage = open(dir.path(), StorageOptions::default());
    let rows = storage.snapshot().read_team(TEAM).unwrap();
    let present: Vec<u64> = whole_batches(&rows, "b", "i", ROWS)
        .unwrap()
        .into_iter()
        .collect();
    acked.sort_unstable();
    assert_eq!(
        present, acked,
        "exactly the acknowledged batches are stored (failed: {failed:?})"
    );
    assert!(
        storage.snapshot().files().len() >= 2,
        "the flush after space returned wrote files"
    );
}
