//! The DataFusion table over a snapshot answers like the naive scan: counts and row sets under time, service,
//! severity and other filters, with the sidecar bitmaps on and off, files and memtable together, one team only.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::prelude::SessionContext;
use quarry_core::{IngestOptions, LogRecord, ManualClock, Severity, Stamper, TeamId};
use quarry_datafusion::LogsTable;
use quarry_storage::{Storage, StorageOptions};
use quarry_testkit::{Generator, GeneratorConfig};

const START: i64 = 1_793_491_200 * 1_000_000_000;
const HOUR: i64 = 3_600 * 1_000_000_000;

fn records(seed: u64, rows: u64) -> Vec<LogRecord> {
    let mut s = Stamper::new(seed, IngestOptions::default());
    Generator::new(GeneratorConfig {
        seed,
        rows,
        span: 4 * HOUR,
        ..GeneratorConfig::default()
    })
    .map(|l| s.stamp(l, START + 5 * HOUR))
    .collect()
}

fn ts(v: i64) -> Expr {
    lit(ScalarValue::TimestampNanosecond(
        Some(v),
        Some("UTC".into()),
    ))
}

#[tokio::test]
async fn filters_over_files_and_memtable_match_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let options = StorageOptions {
        row_group_rows: 700,
        ..StorageOptions::default()
    };
    let storage = Storage::open(
        dir.path(),
        options,
        Arc::new(ManualClock::new(START + 5 * HOUR)),
    )
    .unwrap();
    let rows = records(3, 6_000);
    storage.append(TeamId(1), rows[..4_000].to_vec()).unwrap();
    storage.append(TeamId(2), records(4, 2_000)).unwrap();
    storage.flush().unwrap();
    storage.append(TeamId(1), rows[4_000..].to_vec()).unwrap();
    let snapshot = storage.snapshot();

    let service = rows[17].service_name.clone();
    let other = rows[4_500].service_name.clone();
    let t0 = START + HOUR + 1_234_567;
    let t1 = START + 3 * HOUR + 7;
    type Check = (Expr, Box<dyn Fn(&LogRecord) -> bool>);
    let checks: Vec<Check> = vec![
        (lit(true), Box::new(|_| true)),
        (
            col("timestamp")
                .gt_eq(ts(t0))
                .and(col("timestamp").lt(ts(t1))),
            Box::new(move |r| r.timestamp >= t0 && r.timestamp < t1),
        ),
        (
            col("severity_text").in_list(vec![lit("error"), lit("fatal")], false),
            Box::new(|r| r.severity_text.is_error()),
        ),
        (
            col("service_name")
                .eq(lit(service.clone()))
                .or(col("service_name").eq(lit(other.clone()))),
            {
                let (a, b) = (service.clone(), other.clone());
                Box::new(move |r| r.service_name == a || r.service_name == b)
            },
        ),
        (
            col("service_name")
                .eq(lit(service.clone()))
                .and(col("severity_text").eq(lit("info")))
                .and(col("timestamp").gt(ts(t0))),
            {
                let a = service.clone();
                Box::new(move |r| {
                    r.service_name == a && r.severity_text == Severity::Info && r.timestamp > t0
                })
            },
        ),
        (col("severity_text").eq(lit("warning")), Box::new(|_| false)),
        (
            col("body")
                .like(lit("%timeout%"))
                .and(col("timestamp").lt_eq(ts(t1))),
            Box::new(move |r| r.body.contains("timeout") && r.timestamp <= t1),
        ),
    ];
    for (i, (filter, want)) in checks.iter().enumerate() {
        let expected: Vec<String> = {
            let mut v: Vec<String> = rows
                .iter()
                .filter(|r| want(r))
                .map(|r| r.uuid_string())
                .collect();
            v.sort();
            v
        };
        for table in [
            LogsTable::new(snapshot.clone(), TeamId(1)),
            LogsTable::new(snapshot.clone(), TeamId(1)).without_index(),
        ] {
            let ctx = SessionContext::new();
            let df = ctx
                .read_table(Arc::new(table))
                .unwrap()
                .filter(filter.clone())
                .unwrap();
            let batches = df
                .select_columns(&["uuid"])
                .unwrap()
                .collect()
                .await
                .unwrap();
            let mut got: Vec<String> = batches
                .iter()
                .flat_map(|b| {
                    let a = b.column(0).as_fixed_size_binary();
                    (0..a.len())
                        .map(|j| uuid_text(a.value(j)))
                        .collect::<Vec<_>>()
                })
                .collect();
            got.sort();
            assert_eq!(got.len(), expected.len(), "check {i}: {filter}");
            assert_eq!(got, expected, "check {i}: {filter}");
        }
    }
    assert!(!rows.iter().any(|r| r.severity_text.as_str() == "warning"));
}

fn uuid_text(bytes: &[u8]) -> String {
    let r = LogRecord {
        uuid: bytes.try_into().unwrap(),
        timestamp: 0,
        observed_timestamp: 0,
        trace_id: [0; 16],
        span_id: [0; 8],
        trace_flags: 0,
        severity_text: Severity::Info,
        severity_number: 9,
        service_name: String::new(),
        body: String::new(),
        attributes: Default::default(),
        resource_attributes: Default::default(),
        resource_fingerprint: 0,
        instrumentation_scope: String::new(),
        event_name: String::new(),
        bytes_uncompressed: 0,
    };
    r.uuid_string()
}

#[tokio::test]
async fn an_empty_team_is_an_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(
        dir.path(),
        StorageOptions::default(),
        Arc::new(ManualClock::new(START)),
    )
    .unwrap();
    storage.append(TeamId(1), records(1, 100)).unwrap();
    storage.flush().unwrap();
    let ctx = SessionContext::new();
    let df = ctx
        .read_table(Arc::new(LogsTable::new(storage.snapshot(), TeamId(9))))
        .unwrap();
    assert_eq!(df.count().await.unwrap(), 0);
    let df = ctx
        .read_table(Arc::new(LogsTable::new(storage.snapshot(), TeamId(1))))
        .unwrap();
    assert_eq!(df.count().await.unwrap(), 100);
}

/// The scan itself (before DataFusion re-applies the filter) returns only the rows the bitmaps select and only
/// files in the time range: the pruning is real, not just tolerated.
#[tokio::test]
async fn the_scan_prunes_by_bitmaps_and_time_before_filtering() {
    use datafusion::catalog::TableProvider;
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(
        dir.path(),
        StorageOptions::default(),
        Arc::new(ManualClock::new(START)),
    )
    .unwrap();
    let rows = records(6, 5_000);
    storage.append(TeamId(1), rows.clone()).unwrap();
    storage.flush().unwrap();
    let ctx = SessionContext::new();
    let state = ctx.state();
    let scanned = |table: LogsTable, filter: Expr| {
        let state = state.clone();
        let task = ctx.task_ctx();
        async move {
            let plan = table.scan(&state, None, &[filter], None).await.unwrap();
            let batches = datafusion::physical_plan::collect(plan, task)
                .await
                .unwrap();
            batches.iter().map(|b| b.num_rows()).sum::<usize>()
        }
    };
    let errors = rows
        .iter()
        .filter(|r| r.severity_text == Severity::Error)
        .count();
    let filter = col("severity_text").eq(lit("error"));
    let table = LogsTable::new(storage.snapshot(), TeamId(1));
    assert_eq!(scanned(table.clone(), filter.clone()).await, errors);
    assert_eq!(
        scanned(table.clone().without_index(), filter).await,
        rows.len()
    );
    // Time: only the files of the hours in range are read (whole files, as the filter is re-applied later).
    let filter = col("timestamp")
        .gt_eq(ts(START + HOUR))
        .and(col("timestamp").lt(ts(START + 2 * HOUR)));
    let in_hour = rows
        .iter()
        .filter(|r| r.timestamp >= START + HOUR && r.timestamp < START + 2 * HOUR)
        .count();
    assert_eq!(
        scanned(table, filter).await,
        in_hour,
        "the files of one hour partition hold exactly its rows"
    );
}

/// `LIMIT` without a filter reaches the scan (files and memtable each stop early) and the answer is still exact;
/// with a filter, the limit stays above it and the filtered rows come out whole.
#[tokio::test]
async fn a_limit_stops_the_scan_and_keeps_answers_exact() {
    use datafusion::catalog::TableProvider;
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(
        dir.path(),
        StorageOptions::default(),
        Arc::new(ManualClock::new(START)),
    )
    .unwrap();
    let rows = records(8, 3_000);
    storage.append(TeamId(1), rows[..2_000].to_vec()).unwrap();
    storage.flush().unwrap();
    storage.append(TeamId(1), rows[2_000..].to_vec()).unwrap();
    let table = LogsTable::new(storage.snapshot(), TeamId(1));
    let ctx = SessionContext::new();
    // The scan itself honours the limit: at most `limit` rows from each input (files, memtable).
    let plan = table.scan(&ctx.state(), None, &[], Some(5)).await.unwrap();
    let batches = datafusion::physical_plan::collect(plan, ctx.task_ctx())
        .await
        .unwrap();
    let scanned: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert!((5..=10).contains(&scanned), "{scanned} rows scanned");
    // Through a DataFrame: exact row counts with and without a filter.
    let table = Arc::new(table);
    let count = |filter: Option<Expr>, limit: usize| {
        let ctx = ctx.clone();
        let table = Arc::clone(&table);
        async move {
            let mut df = ctx.read_table(table).unwrap();
            if let Some(f) = filter {
                df = df.filter(f).unwrap();
            }
            let batches = df.limit(0, Some(limit)).unwrap().collect().await.unwrap();
            batches.iter().map(|b| b.num_rows()).sum::<usize>()
        }
    };
    assert_eq!(count(None, 7).await, 7);
    let errors = rows
        .iter()
        .filter(|r| r.severity_text == Severity::Error)
        .count();
    assert!(errors > 20, "{errors}");
    let is_error = || Some(col("severity_text").eq(lit("error")));
    assert_eq!(count(is_error(), 20).await, 20);
    assert_eq!(count(is_error(), 100_000).await, errors);
}
