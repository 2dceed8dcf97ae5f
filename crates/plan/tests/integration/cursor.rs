//! Cursor walks: every row exactly once, in order, even when thousands of rows share a timestamp (PostHog's
//! `latest` walk skips rows there, spec §3.1 step 4).

use std::sync::Arc;

use quarry_api::{Endpoint, OrderBy, parse_envelope};
use quarry_core::{LogRecord, ManualClock, TeamId};
use quarry_plan::{Context, PlanOptions};
use quarry_storage::{Storage, StorageOptions};
use quarry_testkit::{Generator, GeneratorConfig};
use serde_json::json;

use crate::common::{START, stamp};

#[test]
fn cursor_walk_over_thousands_of_equal_timestamps_returns_every_row_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let options = StorageOptions {
        row_group_rows: 500,
        ..StorageOptions::default()
    };
    let storage = Storage::open(dir.path(), options, Arc::new(ManualClock::new(START))).unwrap();
    let mut logs: Vec<_> = Generator::new(GeneratorConfig {
        seed: 5,
        rows: 6_000,
        ..GeneratorConfig::default()
    })
    .collect();
    // Three instants only: 10:00:00 (3,000 rows), 10:00:00.000000001 and 11:59:59.999999999 — the last two on
    // either side of a partition boundary's neighbourhood.
    for (i, l) in logs.iter_mut().enumerate() {
        l.timestamp = Some(match i % 4 {
            0 | 1 => START + 10 * 3_600_000_000_000,
            2 => START + 10 * 3_600_000_000_000 + 1,
            _ => START + 12 * 3_600_000_000_000 - 1,
        });
    }
    let records = stamp(logs, 9);
    storage
        .append(TeamId(1), records[..2_500].to_vec())
        .unwrap();
    storage.flush().unwrap();
    storage
        .append(TeamId(1), records[2_500..4_000].to_vec())
        .unwrap();
    storage.flush().unwrap();
    storage
        .append(TeamId(1), records[4_000..].to_vec())
        .unwrap();
    let snapshot = storage.snapshot();
    let ctx = Context {
        team: TeamId(1),
        now: START + 24 * 3_600_000_000_000,
    };
    for order in ["latest", "earliest"] {
        for options in [PlanOptions::default(), PlanOptions::naive()] {
            let mut seen: Vec<(i64, [u8; 16])> = Vec::new();
            let mut after: Option<String> = None;
            let mut pages = 0;
            loop {
                let mut q =
                    json!({"dateRange": {"date_from": "-1d"}, "limit": 97, "orderBy": order});
                if let Some(a) = &after {
                    q["after"] = json!(a);
                }
                let q = parse_envelope(&json!({ "query": q }), Endpoint::Query).unwrap();
                assert_eq!(q.order_by == OrderBy::Latest, order == "latest");
                let page = quarry_plan::query(&snapshot, &ctx, &q, options).unwrap();
                pages += 1;
                for r in &page.results {
                    let ts =
                        quarry_core::time::parse_iso(r["timestamp"].as_str().unwrap()).unwrap();
                    let uuid = *uuid::Uuid::parse_str(r["uuid"].as_str().unwrap())
                        .unwrap()
                        .as_bytes();
                    seen.push((ts, uuid));
                }
                assert_eq!(page.has_more, page.next_cursor.is_some());
                match page.next_cursor {
                    Some(c) => after = Some(c),
                    None => break,
                }
                assert!(pages < 200, "the walk does not end");
            }
            let mut want: Vec<(i64, [u8; 16])> =
                records.iter().map(|r| (r.timestamp, r.uuid)).collect();
            want.sort();
            if order == "latest" {
                want.reverse();
            }
            assert_eq!(seen.len(), 6_000, "{order} {options:?}: every row once");
            assert_eq!(seen, want, "{order} {options:?}: in order");
            assert_eq!(pages, 6_000usize.div_ceil(97));
        }
    }
}

/// Lists filtered by attribute (which the sidecar cannot count) read time-ordered files from the page's sort
/// edge in growing windows and stop once a file has given a page's rows. Walking every page of such a list, in
/// both orders, returns every matching row once and in order, as the naive path does; the first page reads a
/// small part of the files.
#[test]
fn filtered_walks_read_files_from_the_edge_and_return_every_match_once_in_order() {
    const HOUR: i64 = 3_600_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let options = StorageOptions {
        row_group_rows: 8_000,
        ..StorageOptions::default()
    };
    let storage = Storage::open(dir.path(), options, Arc::new(ManualClock::new(START))).unwrap();
    let mut logs: Vec<_> = Generator::new(GeneratorConfig {
        seed: 7,
        rows: 48_000,
        ..GeneratorConfig::default()
    })
    .collect();
    for (i, l) in logs.iter_mut().enumerate() {
        // One hour (10:00 to 10:53), two rows per instant: pages end between rows of equal timestamps.
        l.timestamp = Some(START + 10 * HOUR + (i as i64 / 2) * 133_000_000);
        if i % 397 == 0 || (i > 40_000 && i % 13 == 0) {
            l.attributes.push(("marker".into(), "yes".into()));
            quarry_core::record::normalize_attributes(&mut l.attributes);
        }
    }
    let records = stamp(logs, 3);
    let marked: Vec<&quarry_core::LogRecord> = records
        .iter()
        .filter(|r| quarry_core::record::attribute(&r.attributes, "marker") == Some("yes"))
        .collect();
    // Two files of 20,000 rows each, over the same minutes, and the memtable.
    let mut groups: [Vec<quarry_core::LogRecord>; 3] = Default::default();
    for (i, r) in records.iter().enumerate() {
        groups[if i % 12 == 11 { 2 } else { i % 2 }].push(r.clone());
    }
    let [a, b, mem] = groups;
    storage.append(TeamId(1), a).unwrap();
    storage.flush().unwrap();
    storage.append(TeamId(1), b).unwrap();
    storage.flush().unwrap();
    storage.append(TeamId(1), mem).unwrap();
    let snapshot = storage.snapshot();
    assert_eq!(snapshot.files().len(), 2);
    let ctx = Context {
        team: TeamId(1),
        now: START + 24 * HOUR,
    };
    let filter =
        json!([{"key": "marker", "type": "log_attribute", "operator": "exact", "value": "yes"}]);
    for order in ["latest", "earliest"] {
        for options in [PlanOptions::default(), PlanOptions::naive()] {
            let mut seen: Vec<(i64, [u8; 16])> = Vec::new();
            let mut after: Option<String> = None;
            let mut first_page_scanned = None;
            loop {
                let mut q = json!({
                    "dateRange": {"date_from": "-1d"}, "limit": 60, "orderBy": order,
                    "filterGroup": filter, "explain": true,
                });
                if let Some(a) = &after {
                    q["after"] = json!(a);
                }
                let q = parse_envelope(&json!({ "query": q }), Endpoint::Query).unwrap();
                let page = quarry_plan::query(&snapshot, &ctx, &q, options).unwrap();
                first_page_scanned.get_or_insert(page.quarry_stats.expect("explain").rows_scanned);
                for r in &page.results {
                    let ts =
                        quarry_core::time::parse_iso(r["timestamp"].as_str().unwrap()).unwrap();
                    let uuid = *uuid::Uuid::parse_str(r["uuid"].as_str().unwrap())
                        .unwrap()
                        .as_bytes();
                    seen.push((ts, uuid));
                }
                match page.next_cursor {
                    Some(c) => after = Some(c),
                    None => break,
                }
                assert!(seen.len() <= marked.len(), "the walk does not end");
            }
            let mut want: Vec<(i64, [u8; 16])> =
                marked.iter().map(|r| (r.timestamp, r.uuid)).collect();
            want.sort();
            if order == "latest" {
                want.reverse();
            }
            assert_eq!(
                seen, want,
                "{order} {options:?}: every match once, in order"
            );
            let scanned = first_page_scanned.unwrap();
            if options == PlanOptions::default() {
                // The edge windows of each file, the memtable (4,000 rows) and the fetched rows. Matches are
                // dense among the newest rows (one window of 4,096 rows per file holds a page) and sparse among
                // the oldest (one row in 397: the files are read to their end).
                let bound = if order == "latest" { 14_000 } else { 46_000 };
                assert!(
                    scanned < bound,
                    "{order}: the first page scanned {scanned} of 48,000 rows"
                );
            } else {
                assert!(
                    scanned >= 40_000,
                    "{order}: the naive path reads every file"
                );
            }
        }
    }
}

/// Several flushes of one hour write files over consecutive time slices (each sharing its edge instant with the
/// next, 61 rows of it). A page is taken from the files nearest its sort edge and a file whose every row is beaten by the rows
/// already held is skipped: walks in both orders still return every row once, in order, and the first page of
/// the newest rows reads one file.
#[test]
fn walks_over_consecutive_flushes_of_one_hour_skip_beaten_files_and_miss_nothing() {
    const HOUR: i64 = 3_600_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(
        dir.path(),
        StorageOptions::default(),
        Arc::new(ManualClock::new(START)),
    )
    .unwrap();
    let mut logs: Vec<_> = Generator::new(GeneratorConfig {
        seed: 23,
        rows: 4_000,
        ..GeneratorConfig::default()
    })
    .collect();
    // Slices of 1,000 rows, 1 ms apart, except around each slice boundary: the last 30 rows of a slice and the
    // first 31 of the next share one instant, so pages end inside groups of equal timestamps split over files.
    for (i, l) in logs.iter_mut().enumerate() {
        let boundary = (i + 500) / 1_000 * 1_000;
        let at = if (1..4).contains(&(boundary / 1_000)) && i.abs_diff(boundary) <= 30 {
            boundary
        } else {
            i
        };
        l.timestamp = Some(START + 7 * HOUR + at as i64 * 1_000_000);
    }
    let records = stamp(logs, 13);
    // Rows of a shared instant go to either side of the boundary alternately, so their uuids interleave
    // between the two files (or a file and the memtable).
    let mut slices: [Vec<LogRecord>; 4] = Default::default();
    for (i, r) in records.iter().enumerate() {
        let boundary = (i + 500) / 1_000 * 1_000;
        let slice = if (1..4).contains(&(boundary / 1_000)) && i.abs_diff(boundary) <= 30 {
            boundary / 1_000 - 1 + i % 2
        } else {
            i / 1_000
        };
        slices[slice].push(r.clone());
    }
    let [s0, s1, s2, s3] = slices;
    for slice in [s0, s1, s2] {
        storage.append(TeamId(1), slice).unwrap();
        storage.flush().unwrap();
    }
    storage.append(TeamId(1), s3).unwrap();
    let snapshot = storage.snapshot();
    assert_eq!(snapshot.files().len(), 3);
    let ctx = Context {
        team: TeamId(1),
        now: START + 24 * HOUR,
    };
    for order in ["latest", "earliest"] {
        for options in [PlanOptions::default(), PlanOptions::naive()] {
            let mut seen: Vec<(i64, [u8; 16])> = Vec::new();
            let mut after: Option<String> = None;
            let mut first_files_read = None;
            loop {
                let mut q = json!({"dateRange": {"date_from": "-1d"}, "limit": 37, "orderBy": order,
                    "severityLevels": ["info", "warn", "error", "debug", "trace", "fatal"], "explain": true});
                if let Some(a) = &after {
                    q["after"] = json!(a);
                }
                let q = parse_envelope(&json!({ "query": q }), Endpoint::Query).unwrap();
                let page = quarry_plan::query(&snapshot, &ctx, &q, options).unwrap();
                first_files_read.get_or_insert(page.quarry_stats.unwrap().files_read);
                for r in &page.results {
                    let ts =
                        quarry_core::time::parse_iso(r["timestamp"].as_str().unwrap()).unwrap();
                    let uuid = *uuid::Uuid::parse_str(r["uuid"].as_str().unwrap())
                        .unwrap()
                        .as_bytes();
                    seen.push((ts, uuid));
                }
                match page.next_cursor {
                    Some(c) => after = Some(c),
                    None => break,
                }
                assert!(seen.len() <= 4_000, "the walk does not end");
            }
            let mut want: Vec<(i64, [u8; 16])> =
                records.iter().map(|r| (r.timestamp, r.uuid)).collect();
            want.sort();
            if order == "latest" {
                want.reverse();
            }
            let first_difference = seen.iter().zip(&want).position(|(a, b)| a != b);
            assert!(
                seen.len() == want.len() && first_difference.is_none(),
                "{order} {options:?}: every row once, in order: {} rows seen of {}, first difference at {first_difference:?}",
                seen.len(),
                want.len()
            );
            if options == PlanOptions::default() {
                // Latest: the memtable holds the newest 1,000 rows, so no file is read; earliest: the oldest
                // slice's file only.
                let want_files = if order == "latest" { 0 } else { 1 };
                assert_eq!(first_files_read, Some(want_files), "{order}");
            }
        }
    }
}
