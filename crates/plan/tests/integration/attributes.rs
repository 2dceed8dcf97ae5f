//! Attribute filters prune rows by the sidecar's attribute totals (which services and severities hold a value),
//! and never prune a matching row: not one whose value is too long for the rollup, nor one a numeric, regex or
//! case-insensitive comparison accepts in another spelling.

use quarry_api::{Endpoint, parse_envelope};
use quarry_core::{LogRecord, Severity, TeamId};
use quarry_plan::{Context, PlanOptions};
use quarry_storage::StorageOptions;
use serde_json::{Value, json};

use crate::common::{START, generated_logs, open_storage, stamp};

const HOUR: i64 = 3_600_000_000_000;

fn with_code(mut r: LogRecord, code: &str) -> LogRecord {
    r.attributes.insert("code", code);
    r
}

#[test]
fn attribute_filters_prune_by_service_and_severity_and_keep_every_match() {
    let dir = tempfile::tempdir().unwrap();
    let storage = open_storage(dir.path(), StorageOptions::default().row_group_rows);
    let mut logs = generated_logs(17, 6_000);
    for (i, l) in logs.iter_mut().enumerate() {
        l.timestamp = Some(START + 10 * HOUR + i as i64 * 500_000_000);
    }
    let records = stamp(logs, 5);
    // File A: "503" on some error rows only. File B: the same, plus one info row whose value is "503" spelled in
    // 303 characters (numerically equal, too long for the rollup) and one whose value is " 503" (short).
    let (a, b) = records.split_at(3_000);
    let mark = |rows: &[LogRecord]| -> Vec<LogRecord> {
        rows.iter()
            .enumerate()
            .map(|(i, r)| {
                if r.severity_text == Severity::Error && i % 3 == 0 {
                    with_code(r.clone(), "503")
                } else {
                    r.clone()
                }
            })
            .collect()
    };
    let a = mark(a);
    let mut b = mark(b);
    let info: Vec<usize> = (0..b.len())
        .filter(|&i| b[i].severity_text == Severity::Info)
        .take(2)
        .collect();
    b[info[0]] = with_code(b[info[0]].clone(), &format!("{}503", "0".repeat(300)));
    b[info[1]] = with_code(b[info[1]].clone(), " 503");
    storage.append(TeamId(1), a.clone()).unwrap();
    storage.flush().unwrap();
    storage.append(TeamId(1), b.clone()).unwrap();
    storage.flush().unwrap();
    let snapshot = storage.snapshot();
    let files = snapshot.files();
    assert_eq!(files.len(), 2);
    let counted: Vec<bool> = files
        .iter()
        .map(|f| f.postings().unwrap().all_log_attributes_counted)
        .collect();
    assert_eq!(
        counted,
        [true, false],
        "file B holds a pair too long for the rollup"
    );

    let ctx = Context {
        team: TeamId(1),
        now: START + 24 * HOUR,
    };
    let all: Vec<&LogRecord> = a.iter().chain(&b).collect();
    let errors_in_a = a
        .iter()
        .filter(|r| r.severity_text == Severity::Error)
        .count() as u64;
    // (filter value, which attribute texts the filter accepts).
    type Case = (Value, Box<dyn Fn(&str) -> bool>);
    let cases: [Case; 5] = [
        (
            json!("503"),
            Box::new(|v| v.trim().parse::<f64>() == Ok(503.0)),
        ),
        (
            json!(["503", "504"]),
            Box::new(|v| matches!(v.trim().parse::<f64>(), Ok(x) if x == 503.0 || x == 504.0)),
        ),
        (json!("x503"), Box::new(|v| v == "x503")),
        (
            json!("^ ?50"),
            Box::new(|v| v.starts_with("50") || v.starts_with(" 50")),
        ),
        (json!("03"), Box::new(|v| v.to_lowercase().contains("03"))),
    ];
    for (i, (value, accepts)) in cases.iter().enumerate() {
        let operator = match i {
            3 => "regex",
            4 => "icontains",
            _ => "exact",
        };
        let want = all
            .iter()
            .filter(|r| quarry_core::record::attribute(&r.attributes, "code").is_some_and(accepts))
            .count() as u64;
        let body = json!({"query": {
            "dateRange": {"date_from": "-1d"}, "explain": true,
            "filterGroup": {"type": "AND", "values": [
                {"key": "code", "type": "log_attribute", "operator": operator, "value": value}
            ]},
        }});
        let q = parse_envelope(&body, Endpoint::Count).unwrap();
        let mut scanned = Vec::new();
        for options in [PlanOptions::default(), PlanOptions::naive()] {
            let got = quarry_plan::count(&snapshot, &ctx, &q, options).unwrap();
            assert_eq!(got.count, want, "{operator} {value}: {options:?}");
            scanned.push(got.quarry_stats.unwrap().rows_scanned);
        }
        // Indexed: file A is read at most for its error rows (the only severity holding a code), file B whole.
        assert!(
            scanned[0] <= errors_in_a + 3_000,
            "{operator} {value}: scanned {scanned:?}"
        );
        assert_eq!(scanned[1], 6_000);
        // The same walk through the list endpoint.
        let q = parse_envelope(
            &json!({"query": {"dateRange": {"date_from": "-1d"}, "limit": 1000,
                "filterGroup": body["query"]["filterGroup"].clone()}}),
            Endpoint::Query,
        )
        .unwrap();
        let rows = quarry_plan::query(&snapshot, &ctx, &q, PlanOptions::default()).unwrap();
        assert_eq!(rows.results.len() as u64, want, "{operator} {value}: list");
    }
}
