//! A damaged WAL: torn tails and flipped bits are detected and dropped, never replayed as garbage.

use std::path::PathBuf;

use crate::common::*;

/// Writes `batches` batches of 10 rows without flushing and returns the rows and the segment path.
fn wal_with_batches(
    dir: &std::path::Path,
    batches: usize,
) -> (Vec<quarry_core::LogRecord>, PathBuf) {
    let rows = generated((batches * 10) as u64, 9);
    let storage = open(dir, small_options());
    for chunk in rows.chunks(10) {
        storage.append(TEAM, chunk.to_vec()).unwrap();
    }
    drop(storage);
    let wal = dir.join("wal");
    let mut segments: Vec<PathBuf> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "wal") && std::fs::metadata(p).unwrap().len() > 16
        })
        .collect();
    segments.sort();
    assert_eq!(segments.len(), 1);
    (rows, segments.remove(0))
}

fn frame_offsets(segment: &[u8]) -> Vec<usize> {
    let mut at = 16;
    let mut out = Vec::new();
    while at < segment.len() {
        out.push(at);
        let len = u32::from_le_bytes(segment[at..at + 4].try_into().unwrap()) as usize;
        at += 8 + len;
    }
    out
}

#[test]
fn torn_tail_is_dropped_and_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, segment) = wal_with_batches(dir.path(), 5);
    let bytes = std::fs::read(&segment).unwrap();
    let offsets = frame_offsets(&bytes);
    assert_eq!(offsets.len(), 5);
    // Cut the last frame in half, as a crash mid-write would.
    let cut = offsets[4] + (bytes.len() - offsets[4]) / 2;
    std::fs::write(&segment, &bytes[..cut]).unwrap();

    let storage = open(dir.path(), small_options());
    let stats = storage.stats().unwrap();
    assert_eq!(stats.recovery.rows_replayed, 40);
    assert_eq!(stats.recovery.dropped_tails.len(), 1);
    assert_eq!(stats.recovery.dropped_tails[0].1, (cut - offsets[4]) as u64);
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &rows[..40]);
    let mut kept = segment.clone().into_os_string();
    kept.push(".dropped");
    assert_eq!(
        std::fs::read(PathBuf::from(kept)).unwrap(),
        &bytes[offsets[4]..cut]
    );
    // New appends and another restart work normally and do not report the old damage again.
    storage.append(TEAM, rows[40..].to_vec()).unwrap();
    drop(storage);
    let storage = open(dir.path(), small_options());
    assert!(storage.stats().unwrap().recovery.dropped_tails.is_empty());
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &rows);
}

#[test]
fn flipped_bit_in_the_last_frame_drops_that_frame_only() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, segment) = wal_with_batches(dir.path(), 4);
    let mut bytes = std::fs::read(&segment).unwrap();
    let offsets = frame_offsets(&bytes);
    let target = offsets[3] + 8 + 17; // inside the last frame's payload
    bytes[target] ^= 0x10;
    std::fs::write(&segment, &bytes).unwrap();
    let storage = open(dir.path(), small_options());
    let stats = storage.stats().unwrap();
    assert_eq!(stats.recovery.dropped_tails.len(), 1);
    assert!(
        stats.recovery.dropped_tails[0].2.contains("checksum"),
        "{:?}",
        stats.recovery.dropped_tails
    );
    assert_same_rows(storage.snapshot().read_team(TEAM).unwrap(), &rows[..30]);
}

#[test]
fn flipped_bit_anywhere_never_replays_garbage() {
    // Flip every 53rd bit position of the segment, one at a time: recovery must yield exactly a prefix of the
    // batches (no altered row, no row twice) and never fail to open.
    let dir = tempfile::tempdir().unwrap();
    let (rows, segment) = wal_with_batches(dir.path(), 3);
    let pristine = std::fs::read(&segment).unwrap();
    let pristine_dir = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), pristine_dir.path());
    for bit in (16 * 8..pristine.len() * 8).step_by(53) {
        let work = tempfile::tempdir().unwrap();
        copy_dir(pristine_dir.path(), work.path());
        let seg = work.path().join("wal").join(segment.file_name().unwrap());
        let mut bytes = pristine.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&seg, &bytes).unwrap();
        let storage = open(work.path(), small_options());
        let got = by_uuid(storage.snapshot().read_team(TEAM).unwrap());
        let n = got.len();
        assert!(
            n.is_multiple_of(10) && n < 30,
            "bit {bit}: {n} rows recovered"
        );
        assert_same_rows(got, &rows[..n]);
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
