//! Every row comes back out of Parquet + memtable exactly, field by field.

use quarry_storage::parquet_io::read_file;
use quarry_storage::{Durability, StorageOptions};

use crate::common::*;

#[test]
fn loghub_sample_round_trips_through_parquet_and_memtable() {
    let dir = tempfile::tempdir().unwrap();
    let records = loghub_records();
    assert_eq!(records.len(), 16_000);
    let storage = open(dir.path(), small_options());
    // Half goes to Parquet, half stays in the memtable.
    let (flushed, live) = records.split_at(8_000);
    for chunk in flushed.chunks(777) {
        storage.append(TEAM, chunk.to_vec()).unwrap();
    }
    let report = storage.flush().unwrap();
    assert_eq!(report.rows, 8_000);
    for chunk in live.chunks(1000) {
        storage.append(TEAM, chunk.to_vec()).unwrap();
    }
    let snap = storage.snapshot();
    assert_eq!(
        snap.memtable()
            .iter()
            .map(|b| b.records.len())
            .sum::<usize>(),
        8_000
    );
    assert_same_rows(snap.read_team(TEAM).unwrap(), &records);

    // Each file holds one hour of one team, sorted by (severity group, timestamp, uuid), and its sidecar agrees
    // with it.
    for f in snap.files() {
        let rows = read_file(&f.path).unwrap();
        assert_eq!(rows.len() as u64, f.meta.rows);
        assert!(
            rows.iter()
                .all(|r| quarry_storage::Partition::of(TEAM, r.timestamp) == f.meta.partition)
        );
        let key = |r: &quarry_core::LogRecord| {
            (
                quarry_index::severity_group(r.severity_text),
                r.timestamp,
                r.uuid,
            )
        };
        assert!(
            rows.windows(2).all(|w| key(&w[0]) <= key(&w[1])),
            "file {} is not sorted",
            f.path.display()
        );
        let index = f.read_index().unwrap();
        assert!(
            index.severity_grouped && index.time_runs().is_some(),
            "the sidecar of {} knows its order",
            f.path.display()
        );
        assert_eq!(index.rows, f.meta.rows);
        assert_eq!(index.min_timestamp, f.meta.min_timestamp);
        assert_eq!(
            index.row_groups.iter().map(|&n| u64::from(n)).sum::<u64>(),
            f.meta.rows
        );
        assert!(
            f.path
                .to_string_lossy()
                .contains("/team=1/date=2026-11-01/hour=")
        );
    }

    // After a restart the memtable rows come back from the WAL, and the files from the catalog.
    drop(snap);
    drop(storage);
    let storage = open(dir.path(), small_options());
    assert_eq!(storage.stats().unwrap().recovery.rows_replayed, 8_000);
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &records);
    // Flushing the replayed rows moves them to Parquet without duplicating any.
    storage.flush().unwrap();
    let snap = storage.snapshot();
    assert!(snap.memtable().is_empty());
    assert_same_rows(snap.read_team(TEAM).unwrap(), &records);
}

#[test]
fn generated_rows_round_trip_and_teams_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let a = generated(30_000, 1);
    let b = generated(5_000, 2);
    let storage = open(dir.path(), small_options());
    storage.append(TEAM, a.clone()).unwrap();
    storage.append(quarry_core::TeamId(2), b.clone()).unwrap();
    storage.flush().unwrap();
    let snap = storage.snapshot();
    assert_same_rows(snap.read_team(TEAM).unwrap(), &a);
    assert_same_rows(snap.read_team(quarry_core::TeamId(2)).unwrap(), &b);
    assert!(
        snap.team_files(quarry_core::TeamId(2))
            .all(|f| f.path.to_string_lossy().contains("/team=2/"))
    );
    assert_eq!(snap.row_count(TEAM), 30_000);
    let stats = storage.stats().unwrap();
    assert_eq!(stats.file_rows, 35_000);
    assert_eq!(stats.teams, 2);
    assert_eq!(
        stats.raw_bytes,
        a.iter()
            .chain(&b)
            .map(|r| r.bytes_uncompressed)
            .sum::<u64>()
    );
}

#[test]
fn concurrent_appends_share_syncs_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rows = generated(8_000, 3);
    let storage = open(dir.path(), small_options());
    std::thread::scope(|s| {
        for part in rows.chunks(1000) {
            let storage = &storage;
            s.spawn(move || {
                for chunk in part.chunks(50) {
                    storage.append(TEAM, chunk.to_vec()).unwrap();
                }
            });
        }
    });
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &rows);
    drop(storage);
    let storage = open(dir.path(), small_options());
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &rows);
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path(), small_options());
    let err = quarry_storage::Storage::open(
        dir.path(),
        small_options(),
        std::sync::Arc::new(quarry_core::ManualClock::new(NOW)),
    )
    .unwrap_err();
    assert!(matches!(err, quarry_storage::Error::Locked { .. }), "{err}");
}

#[test]
fn unlogged_appends_write_no_wal_and_are_durable_once_flushed() {
    let dir = tempfile::tempdir().unwrap();
    // One stamper for all rows, so their uuids (the key the comparison sorts by) differ.
    let all = generated(9_000, 4);
    let (logged, unlogged) = all.split_at(3_000);
    // A logged run leaves rows only in the WAL; an unlogged open still replays them.
    let storage = open(dir.path(), small_options());
    storage.append(TEAM, logged.to_vec()).unwrap();
    drop(storage);
    let options = StorageOptions {
        durability: Durability::Unlogged,
        ..small_options()
    };
    let storage = open(dir.path(), options.clone());
    let wal_before = storage.stats().unwrap().wal_bytes;
    for (i, part) in unlogged.chunks(1_000).enumerate() {
        storage.append(TEAM, part.to_vec()).unwrap();
        // Visible at once, and the WAL did not grow.
        assert_eq!(
            storage.snapshot().row_count(TEAM),
            3_000 + 1_000 * (i as u64 + 1)
        );
        assert_eq!(storage.stats().unwrap().wal_bytes, wal_before);
    }
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &all);
    storage.flush().unwrap();
    drop(storage);
    let storage = open(dir.path(), options.clone());
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &all);
    assert_eq!(storage.stats().unwrap().memtable_rows, 0);

    // Unflushed unlogged rows are not durable: the contract of the mode, shown so a change to it is noticed.
    storage.append(TEAM, generated(500, 6)).unwrap();
    assert_eq!(storage.snapshot().row_count(TEAM), 9_500);
    drop(storage);
    let storage = open(dir.path(), options);
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &all);
}
