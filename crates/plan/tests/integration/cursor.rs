//! Cursor walks: every row exactly once, in order, even when thousands of rows share a timestamp (PostHog's
//! `latest` walk skips rows there, spec §3.1 step 4), when lists walk time-ordered files from their edge, and when
//! several flushes of one hour are visited from the edge and beaten files skipped.

use quarry_api::response::QuarryStats;
use quarry_api::{Endpoint, OrderBy, parse_envelope};
use quarry_core::{LogRecord, TeamId};
use quarry_plan::{Context, PlanOptions};
use quarry_storage::{Storage, StorageOptions};
use serde_json::{Value, json};

use crate::common::{START, generated_logs, open_storage, stamp};

const HOUR: i64 = 3_600_000_000_000;

/// Appends each group of rows to team 1 and flushes it, except the last, which stays in the memtable.
fn store(storage: &Storage, groups: Vec<Vec<LogRecord>>) {
    let n = groups.len();
    for (i, group) in groups.into_iter().enumerate() {
        storage.append(TeamId(1), group).unwrap();
        if i + 1 < n {
            storage.flush().unwrap();
        }
    }
}

/// A whole walk of a list.
struct Walk {
    /// (timestamp, uuid) of every row of every page, in order.
    rows: Vec<(i64, [u8; 16])>,
    pages: usize,
    /// `quarry_stats` of the first page.
    first: QuarryStats,
}

/// Walks every page of `query` (a `logs/query` body's `query` object, without `after`), following the cursors.
fn walk(storage: &Storage, query: &Value, options: PlanOptions, at_most: usize) -> Walk {
    let snapshot = storage.snapshot();
    let ctx = Context {
        team: TeamId(1),
        now: START + 24 * HOUR,
    };
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut first = None;
    let mut after: Option<String> = None;
    loop {
        let mut q = query.clone();
        q["explain"] = json!(true);
        if let Some(a) = &after {
            q["after"] = json!(a);
        }
        let q = parse_envelope(&json!({ "query": q }), Endpoint::Query).unwrap();
        let page = quarry_plan::query(&snapshot, &ctx, &q, options).unwrap();
        pages += 1;
        first.get_or_insert(page.quarry_stats.clone().expect("explain"));
        for r in &page.results {
            let ts = quarry_core::time::parse_iso(r["timestamp"].as_str().unwrap()).unwrap();
            let uuid = *uuid::Uuid::parse_str(r["uuid"].as_str().unwrap())
                .unwrap()
                .as_bytes();
            rows.push((ts, uuid));
        }
        assert_eq!(page.has_more, page.next_cursor.is_some());
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
        assert!(rows.len() <= at_most, "the walk does not end");
    }
    Walk {
        rows,
        pages,
        first: first.expect("one page at least"),
    }
}

/// Asserts that a walk in `order` ("latest" or "earliest") with `options` returned exactly `records`, each once,
/// in order.
fn assert_walked<'a>(
    walked: &[(i64, [u8; 16])],
    records: impl IntoIterator<Item = &'a LogRecord>,
    (order, options): (&str, PlanOptions),
) {
    let mut want: Vec<(i64, [u8; 16])> =
        records.into_iter().map(|r| (r.timestamp, r.uuid)).collect();
    want.sort();
    if order == "latest" {
        want.reverse();
    }
    let label = format!("{order} {options:?}");
    let first_difference = walked.iter().zip(&want).position(|(a, b)| a != b);
    assert!(
        walked.len() == want.len() && first_difference.is_none(),
        "{label}: every row once, in order: {} rows walked of {}, first difference at {first_difference:?}",
        walked.len(),
        want.len()
    );
}

#[test]
fn cursor_walk_over_thousands_of_equal_timestamps_returns_every_row_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_storage(dir.path(), 500);
    let mut logs = generated_logs(5, 6_000);
    // Three instants only: 10:00:00 (3,000 rows), 10:00:00.000000001 and 11:59:59.999999999 — the last two on
    // either side of a partition boundary's neighbourhood.
    for (i, l) in logs.iter_mut().enumerate() {
        l.timestamp = Some(match i % 4 {
            0 | 1 => START + 10 * HOUR,
            2 => START + 10 * HOUR + 1,
            _ => START + 12 * HOUR - 1,
        });
    }
    let records = stamp(logs, 9);
    store(
        &storage,
        vec![
            records[..2_500].to_vec(),
            records[2_500..4_000].to_vec(),
            records[4_000..].to_vec(),
        ],
    );
    for order in ["latest", "earliest"] {
        let q = parse_envelope(
            &json!({"query": {"dateRange": {"date_from": "-1d"}, "orderBy": order}}),
            Endpoint::Query,
        )
        .unwrap();
        assert_eq!(q.order_by == OrderBy::Latest, order == "latest");
        for options in [PlanOptions::default(), PlanOptions::naive()] {
            let query = json!({"dateRange": {"date_from": "-1d"}, "limit": 97, "orderBy": order});
            let w = walk(&storage, &query, options, 6_000);
            assert_walked(&w.rows, &records, (order, options));
            assert_eq!(w.pages, 6_000usize.div_ceil(97));
        }
    }
}

/// Lists filtered by attribute (which the sidecar cannot count) read time-ordered files from the page's sort
/// edge in growing windows and stop once a file has given a page's rows. Walking every page of such a list, in
/// both orders, returns every matching row once and in order, as the naive path does; the first page reads a
/// small part of the files.
#[test]
fn filtered_walks_read_files_from_the_edge_and_return_every_match_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_storage(dir.path(), 8_000);
    let mut logs = generated_logs(7, 48_000);
    for (i, l) in logs.iter_mut().enumerate() {
        // One hour (10:00 to 10:53), two rows per instant: pages end between rows of equal timestamps.
        l.timestamp = Some(START + 10 * HOUR + (i as i64 / 2) * 133_000_000);
        if i % 397 == 0 || (i > 40_000 && i % 13 == 0) {
            l.attributes.insert("marker", "yes");
        }
    }
    let records = stamp(logs, 3);
    let marked: Vec<&LogRecord> = records
        .iter()
        .filter(|r| quarry_core::record::attribute(&r.attributes, "marker") == Some("yes"))
        .collect();
    // Two files of 20,000 rows each, over the same minutes, and the memtable.
    let mut groups: Vec<Vec<LogRecord>> = vec![Vec::new(); 3];
    for (i, r) in records.iter().enumerate() {
        groups[if i % 12 == 11 { 2 } else { i % 2 }].push(r.clone());
    }
    store(&storage, groups);
    assert_eq!(storage.snapshot().files().len(), 2);
    let filter =
        json!([{"key": "marker", "type": "log_attribute", "operator": "exact", "value": "yes"}]);
    for order in ["latest", "earliest"] {
        for options in [PlanOptions::default(), PlanOptions::naive()] {
            let query = json!({"dateRange": {"date_from": "-1d"}, "limit": 60, "orderBy": order,
                "filterGroup": filter});
            let w = walk(&storage, &query, options, marked.len());
            assert_walked(&w.rows, marked.iter().copied(), (order, options));
            let scanned = w.first.rows_scanned;
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
/// next, 61 rows of it). A page is taken from the files nearest its sort edge and a file whose every row is
/// beaten by the rows already held is skipped: walks in both orders still return every row once, in order, and
/// the first page of the newest rows reads no file.
#[test]
fn walks_over_consecutive_flushes_of_one_hour_skip_beaten_files_and_miss_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_storage(dir.path(), StorageOptions::default().row_group_rows);
    let mut logs = generated_logs(23, 4_000);
    // Slices of 1,000 rows, 1 ms apart, except around each slice boundary: the last 30 rows of a slice and the
    // first 31 of the next share one instant, so pages end inside groups of equal timestamps split over files.
    let shared = |i: usize| {
        let boundary = (i + 500) / 1_000 * 1_000;
        ((1..4).contains(&(boundary / 1_000)) && i.abs_diff(boundary) <= 30).then_some(boundary)
    };
    for (i, l) in logs.iter_mut().enumerate() {
        l.timestamp = Some(START + 7 * HOUR + shared(i).unwrap_or(i) as i64 * 1_000_000);
    }
    let records = stamp(logs, 13);
    // Rows of a shared instant go to either side of the boundary alternately, so their uuids interleave
    // between the two files (or a file and the memtable).
    let mut slices: Vec<Vec<LogRecord>> = vec![Vec::new(); 4];
    for (i, r) in records.iter().enumerate() {
        let slice = shared(i).map_or(i / 1_000, |b| b / 1_000 - 1 + i % 2);
        slices[slice].push(r.clone());
    }
    store(&storage, slices);
    assert_eq!(storage.snapshot().files().len(), 3);
    for order in ["latest", "earliest"] {
        for options in [PlanOptions::default(), PlanOptions::naive()] {
            let query = json!({"dateRange": {"date_from": "-1d"}, "limit": 37, "orderBy": order,
                "severityLevels": ["info", "warn", "error", "debug", "trace", "fatal"]});
            let w = walk(&storage, &query, options, 4_000);
            assert_walked(&w.rows, &records, (order, options));
            if options == PlanOptions::default() {
                // Latest: the memtable holds the newest 1,000 rows, so no file is read; earliest: the oldest
                // slice's file only.
                let want_files = if order == "latest" { 0 } else { 1 };
                assert_eq!(w.first.files_read, want_files, "{order}");
            }
        }
    }
}
