//! Snapshots, compaction, retention and the catalog's view of the disk.

use quarry_core::TeamId;
use quarry_storage::StorageOptions;

use crate::common::*;

#[test]
fn compaction_merges_small_files_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let rows = generated(12_000, 4);
    let storage = open(dir.path(), small_options());
    for chunk in rows.chunks(3_000) {
        storage.append(TEAM, chunk.to_vec()).unwrap();
        storage.flush().unwrap();
    }
    let before = storage.stats().unwrap();
    // The generator spreads rows over 24 hours; four flushes leave up to four files per hour partition.
    assert!(
        before.files > before.partitions,
        "{} files in {} partitions",
        before.files,
        before.partitions
    );
    let reader = storage.snapshot();
    let report = storage.compact().unwrap();
    assert!(report.files_removed > report.files_written);
    let after = storage.stats().unwrap();
    assert_eq!(
        after.files, after.partitions,
        "one file per partition after compaction"
    );
    assert_eq!(after.file_rows, 12_000);
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &rows);
    // The old snapshot still reads its (now obsolete) files: nothing is deleted under a reader.
    assert!(reader.files().iter().all(|f| f.path.exists()));
    assert_same_rows(reader.read_team(TEAM).unwrap(), &rows);
    let old_paths: Vec<_> = reader.files().iter().map(|f| f.path.clone()).collect();
    drop(reader);
    let new_paths: Vec<_> = storage
        .snapshot()
        .files()
        .iter()
        .map(|f| f.path.clone())
        .collect();
    for p in old_paths.iter().filter(|p| !new_paths.contains(p)) {
        assert!(!p.exists(), "{} should be deleted once unread", p.display());
    }
    // Rebuilt sidecars are valid and match their files.
    for f in storage.snapshot().files() {
        let index = f.read_index().unwrap();
        assert_eq!(index.rows, f.meta.rows);
    }
    // A restart sees the compacted set.
    drop(storage);
    let storage = open(dir.path(), small_options());
    assert_eq!(storage.stats().unwrap().files, after.files);
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &rows);
}

#[test]
fn retention_drops_whole_expired_hours_per_team() {
    let dir = tempfile::tempdir().unwrap();
    let rows = generated(4_000, 5); // 2026-11-01, 24 hours; NOW is 2026-11-02T00:00Z
    let storage = open(
        dir.path(),
        StorageOptions {
            retention_days: 30,
            ..small_options()
        },
    );
    storage.append(TEAM, rows.clone()).unwrap();
    storage.append(TeamId(2), rows[..100].to_vec()).unwrap();
    storage.flush().unwrap();
    // Nothing is older than 30 days.
    assert_eq!(storage.retention(NOW).unwrap().files, 0);
    // With retention 1 day as of NOW + 12h, hours ending at or before 2026-11-01T12:00Z go: the first 12 hours.
    storage.set_retention_days(TEAM, 1).unwrap();
    let at = NOW + 12 * 3_600_000_000_000;
    let cutoff = at - 86_400_000_000_000;
    let report = storage.retention(at).unwrap();
    assert_eq!(report.partitions, 12);
    let expected: Vec<_> = rows
        .iter()
        .filter(|r| r.timestamp >= cutoff)
        .cloned()
        .collect();
    assert_eq!(report.rows as usize, rows.len() - expected.len());
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &expected);
    // Team 2 keeps the default 30 days.
    assert_eq!(storage.snapshot().read_team(TeamId(2)).unwrap().len(), 100);
    assert_eq!(storage.retention_days(TeamId(2)).unwrap(), 30);
}

#[test]
fn orphans_are_swept_and_missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let rows = generated(500, 6);
    let storage = open(dir.path(), small_options());
    storage.append(TEAM, rows.clone()).unwrap();
    storage.flush().unwrap();
    let file = storage.snapshot().files()[0].path.clone();
    drop(storage);
    // Debris of an interrupted flush: a temp file and a Parquet file the catalog never heard of.
    let hour = file.parent().unwrap();
    std::fs::write(hour.join(".x.parquet.tmp"), b"partial").unwrap();
    std::fs::write(
        hour.join("0193aaaa-0000-7000-8000-000000000000.parquet"),
        b"PAR1",
    )
    .unwrap();
    let storage = open(dir.path(), small_options());
    assert_eq!(storage.stats().unwrap().recovery.orphans_removed, 2);
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &rows);
    drop(storage);
    // A file the catalog lists but that is gone is an error naming it.
    std::fs::remove_file(&file).unwrap();
    let err = quarry_storage::Storage::open(
        dir.path(),
        small_options(),
        std::sync::Arc::new(quarry_core::ManualClock::new(NOW)),
    )
    .unwrap_err();
    assert!(err.to_string().contains(&*file.to_string_lossy()), "{err}");
}

#[test]
fn a_damaged_parquet_file_fails_its_checksum_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open(dir.path(), small_options());
    storage.append(TEAM, generated(300, 8)).unwrap();
    storage.flush().unwrap();
    let snap = storage.snapshot();
    let f = &snap.files()[0];
    let mut bytes = std::fs::read(&f.path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&f.path, &bytes).unwrap();
    let err = f.read_records().unwrap_err();
    assert!(
        matches!(err, quarry_storage::Error::Checksum { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&*f.path.to_string_lossy()));
}

#[test]
fn flush_by_rows_bytes_and_age_is_reported_as_due() {
    let dir = tempfile::tempdir().unwrap();
    let options = StorageOptions {
        flush_rows: 100,
        flush_bytes: usize::MAX,
        flush_age: std::time::Duration::from_secs(60),
        ..small_options()
    };
    let storage = open(dir.path(), options);
    assert!(!storage.needs_flush(NOW));
    storage.append(TEAM, generated(10, 1)).unwrap();
    assert!(!storage.needs_flush(NOW));
    assert!(storage.needs_flush(NOW + 60_000_000_000), "age");
    storage.append(TEAM, generated(100, 2)).unwrap();
    assert!(storage.needs_flush(NOW), "rows");
    storage.flush().unwrap();
    assert!(!storage.needs_flush(NOW + 3_600_000_000_000));
}

#[test]
fn catalog_ids_are_never_reused_after_compaction() {
    // One hour partition, three files; compaction deletes them all (including the highest id) and inserts one.
    // Without AUTOINCREMENT SQLite would hand out a deleted id again, and in-memory handles key on ids.
    let dir = tempfile::tempdir().unwrap();
    let storage = open(dir.path(), small_options());
    let mut rows = generated(300, 11);
    for (i, r) in rows.iter_mut().enumerate() {
        r.timestamp = NOW - 3_600_000_000_000 + i as i64 * 1_000_000;
    }
    for chunk in rows.chunks(100) {
        storage.append(TEAM, chunk.to_vec()).unwrap();
        storage.flush().unwrap();
    }
    let before: Vec<i64> = storage
        .snapshot()
        .files()
        .iter()
        .map(|f| f.meta.id)
        .collect();
    assert_eq!(before.len(), 3);
    let report = storage.compact().unwrap();
    assert_eq!((report.files_removed, report.files_written), (3, 1));
    let after = storage.snapshot().files()[0].meta.id;
    assert!(
        after > *before.iter().max().unwrap(),
        "compaction output reused id {after} of {before:?}"
    );
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &rows);
}

#[test]
fn zero_row_group_size_is_clamped_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open(
        dir.path(),
        StorageOptions {
            row_group_rows: 0,
            ..small_options()
        },
    );
    let rows = generated(20, 13);
    storage.append(TEAM, rows.clone()).unwrap();
    storage.flush().unwrap();
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &rows);
}

#[test]
fn retention_removes_emptied_directories_once_unread() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open(dir.path(), small_options());
    storage.append(TEAM, generated(500, 14)).unwrap();
    storage.flush().unwrap();
    let reader = storage.snapshot();
    storage.set_retention_days(TEAM, 1).unwrap();
    let report = storage.retention(NOW + 3 * 86_400_000_000_000).unwrap();
    assert_eq!(report.partitions, 24);
    let day = dir.path().join("team=1/date=2026-11-01");
    assert!(
        day.join("hour=05").is_dir(),
        "a reader still holds the files"
    );
    assert_eq!(reader.read_team(TEAM).unwrap().len(), 500);
    drop(reader);
    assert!(
        !day.exists(),
        "hour and date directories go with their last file"
    );
    assert_eq!(storage.snapshot().row_count(TEAM), 0);
}

/// A value changed inside the catalog (which SQLite's own check cannot see) stops the open with an error naming
/// the catalog; a catalog without a digest (written before it existed) gets one and opens.
#[test]
fn catalog_values_changed_behind_quarrys_back_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = open(dir.path(), StorageOptions::default());
        storage.append(TEAM, generated(500, 3)).unwrap();
        storage.flush().unwrap();
        storage.set_retention_days(TeamId(2), 7).unwrap();
    }
    let catalog = dir.path().join("catalog.sqlite");
    let db = || rusqlite::Connection::open(&catalog).unwrap();
    // Reopening an untouched catalog works, again and again.
    drop(open(dir.path(), StorageOptions::default()));
    for (what, sql, undo) in [
        (
            "a file's time bound",
            "UPDATE files SET max_timestamp = max_timestamp - 3600000000000 WHERE id = (SELECT min(id) FROM files)",
            "UPDATE files SET max_timestamp = max_timestamp + 3600000000000 WHERE id = (SELECT min(id) FROM files)",
        ),
        (
            "the WAL watermark",
            "UPDATE meta SET value = value + 1 WHERE key = 'wal_flushed_through'",
            "UPDATE meta SET value = value - 1 WHERE key = 'wal_flushed_through'",
        ),
        (
            "a team's retention",
            "UPDATE teams SET retention_days = 1 WHERE team = 2",
            "UPDATE teams SET retention_days = 7 WHERE team = 2",
        ),
    ] {
        db().execute(sql, []).unwrap();
        let err = quarry_storage::Storage::open(
            dir.path(),
            StorageOptions::default(),
            std::sync::Arc::new(quarry_core::ManualClock::new(NOW)),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("catalog.sqlite") && err.contains("digest"),
            "{what}: {err}"
        );
        db().execute(undo, []).unwrap();
        drop(open(dir.path(), StorageOptions::default()));
    }
    // No digest at all: computed and stored at open.
    db().execute("DELETE FROM meta WHERE key = 'digest'", [])
        .unwrap();
    drop(open(dir.path(), StorageOptions::default()));
    let stored: i64 = db()
        .query_row("SELECT value FROM meta WHERE key = 'digest'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_ne!(stored, 0);
    let storage = open(dir.path(), StorageOptions::default());
    assert_eq!(storage.snapshot().read_team(TEAM).unwrap().len(), 500);
}
