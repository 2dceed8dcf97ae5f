//! The rollup path (per-minute sidecar rollups for the minutes inside the range, rows for the partial minutes at
//! its ends) against the scan path and the oracle, on ranges that cut files at arbitrary nanoseconds — and proof
//! from `quarry_stats` that it reads only the edge minutes' rows, and no Parquet at all on minute bounds.

use std::collections::BTreeSet;

use quarry_api::{Endpoint, parse_envelope};
use quarry_core::TeamId;
use quarry_core::time::format_iso;
use quarry_plan::{Context, PlanOptions};
use quarry_testkit::oracle;
use serde_json::{Value, json};

use crate::common::{Rng, SPAN, START, dataset};

const MINUTE: i64 = 60_000_000_000;

/// A request with only time, service and severity filters, over `[from, to)`.
fn body(rng: &mut Rng, services: &[String], from: i64, to: i64) -> Value {
    let mut q = json!({
        "dateRange": {"date_from": format_iso(from), "date_to": format_iso(to)},
        "explain": true,
    });
    if rng.chance(50) {
        let picked: Vec<&String> = services.iter().filter(|_| rng.chance(40)).collect();
        q["serviceNames"] = json!(picked);
    }
    if rng.chance(50) {
        let levels = ["trace", "debug", "info", "warn", "error", "fatal"];
        let picked: Vec<&str> = levels.into_iter().filter(|_| rng.chance(50)).collect();
        q["severityLevels"] = json!(picked);
    }
    if rng.chance(30) {
        q["sparklineBreakdownBy"] = json!("service");
    }
    json!({ "query": q })
}

#[test]
fn rollups_and_edge_minutes_agree_with_the_scan_and_read_only_the_edges() {
    let data = dataset();
    let snapshot = data.snapshot();
    let services: Vec<String> = data
        .rows
        .iter()
        .map(|r| r.service_name.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ctx = Context {
        team: TeamId(1),
        now: START + SPAN,
    };
    let (mut cut, mut aligned, mut pages) = (0, 0, 0);
    for seed in 0..300u64 {
        let mut rng = Rng(seed);
        let a = START - 5 * MINUTE + rng.below((SPAN + 10 * MINUTE) as u64) as i64;
        let len = match rng.below(3) {
            0 => rng.below(3 * MINUTE as u64) as i64,
            1 => rng.below(90 * MINUTE as u64) as i64,
            _ => rng.below(SPAN as u64) as i64,
        };
        let (mut from, mut to) = (a, a + len);
        let on_minutes = rng.chance(30);
        if on_minutes {
            from -= from.rem_euclid(MINUTE);
            to -= to.rem_euclid(MINUTE);
        }
        let body = body(&mut rng, &services, from, to);
        let msg = format!("seed {seed}: {body}");
        // Rows of team 1 in the partial minutes at either end: all the rollup path may read.
        let edge = |t: i64| t.rem_euclid(MINUTE) != 0;
        let edge_minutes: BTreeSet<i64> = [(from, edge(from)), (to, edge(to))]
            .into_iter()
            .filter(|(t, e)| *e && from < to && *t >= from)
            .map(|(t, _)| t.div_euclid(MINUTE))
            .collect();
        let edge_rows = data
            .rows
            .iter()
            .filter(|r| edge_minutes.contains(&r.timestamp.div_euclid(MINUTE)))
            .count() as u64;

        let q = parse_envelope(&body, Endpoint::Count).expect(&msg);
        let fast = quarry_plan::count(&snapshot, &ctx, &q, PlanOptions::default()).expect(&msg);
        let slow = quarry_plan::count(&snapshot, &ctx, &q, PlanOptions::naive()).expect(&msg);
        assert_eq!(fast.count, slow.count, "count, {msg}");
        assert_eq!(fast.count, oracle::count(&data.rows, &q, ctx.now), "{msg}");
        let stats = fast.quarry_stats.expect("explain");
        // (Memtable rows are always tested one by one; only rows read from Parquet count here.)
        let file_rows = stats.rows_scanned - stats.memtable_rows;
        assert!(
            file_rows <= edge_rows,
            "count read {file_rows} rows of files, the edge minutes hold {edge_rows}: {msg}"
        );
        if from < to && stats.files_in_range > 0 {
            if on_minutes {
                aligned += 1;
                assert_eq!(stats.files_read, 0, "minute bounds read no Parquet: {msg}");
            } else {
                cut += 1;
            }
        }

        let q = parse_envelope(&body, Endpoint::CountRanges).expect(&msg);
        let fast = quarry_plan::count_ranges(&snapshot, &ctx, &q, PlanOptions::default());
        let slow = quarry_plan::count_ranges(&snapshot, &ctx, &q, PlanOptions::naive());
        let (fast, slow) = (fast.expect(&msg), slow.expect(&msg));
        assert_eq!(fast.ranges, slow.ranges, "count-ranges, {msg}");

        let q = parse_envelope(&body, Endpoint::Sparkline).expect(&msg);
        let fast = quarry_plan::sparkline(&snapshot, &ctx, &q, PlanOptions::default()).expect(&msg);
        let slow = quarry_plan::sparkline(&snapshot, &ctx, &q, PlanOptions::naive()).expect(&msg);
        assert_eq!(fast.points, slow.points, "sparkline, {msg}");
        let stats = fast.quarry_stats.expect("explain");
        // Buckets of whole minutes (ranges of 35 min or more) come from the rollups.
        if to - from >= 35 * MINUTE {
            let file_rows = stats.rows_scanned - stats.memtable_rows;
            assert!(file_rows <= edge_rows, "sparkline rows, {msg}");
            if on_minutes {
                assert_eq!(stats.files_read, 0, "sparkline on minute bounds, {msg}");
            }
        }

        let q = parse_envelope(&body, Endpoint::Services).expect(&msg);
        let fast = quarry_plan::services(&snapshot, &ctx, &q, PlanOptions::default()).expect(&msg);
        let slow = quarry_plan::services(&snapshot, &ctx, &q, PlanOptions::naive()).expect(&msg);
        assert_eq!(
            serde_json::to_value(&fast.services).unwrap(),
            serde_json::to_value(&slow.services).unwrap(),
            "services, {msg}"
        );
        assert_eq!(fast.sparkline, slow.sparkline, "services sparkline, {msg}");

        // List pages: the newest (or oldest) rows come from the minutes at the sort edge only; walk three
        // pages by cursor and compare with the plain scan.
        let mut body = body.clone();
        body["query"]["limit"] = json!(1 + rng.below(40));
        if rng.chance(30) {
            body["query"]["orderBy"] = json!("earliest");
        }
        for _ in 0..3 {
            let q = parse_envelope(&body, Endpoint::Query).expect(&msg);
            let fast = quarry_plan::query(&snapshot, &ctx, &q, PlanOptions::default()).expect(&msg);
            let slow = quarry_plan::query(&snapshot, &ctx, &q, PlanOptions::naive()).expect(&msg);
            let ids = |r: &quarry_api::response::QueryResponse| {
                r.results
                    .iter()
                    .map(|row| row["uuid"].clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(ids(&fast), ids(&slow), "query page, {msg}, {body}");
            assert_eq!(fast.next_cursor, slow.next_cursor, "cursor, {msg}");
            pages += 1;
            match fast.next_cursor {
                Some(c) => body["query"]["after"] = json!(c),
                None => break,
            }
        }
    }
    // The generator must exercise both kinds of bounds on files.
    assert!(pages > 300, "only {pages} pages compared");
    assert!(cut > 100 && aligned > 40, "cut {cut}, aligned {aligned}");
}
