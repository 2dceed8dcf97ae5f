//! The read endpoints through the facade: row rendering, custom columns, live tail, export formats, has_logs.

use std::sync::Arc;

use quarry::{Engine, Format, ManualClock, RequestContext, TeamId};
use serde_json::json;

const NOW: i64 = 1_793_577_600 * 1_000_000_000;

fn engine(dir: &std::path::Path) -> Engine {
    Engine::builder(dir)
        .with_background_flush(false)
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .open()
        .unwrap()
}

const LINES: &str = r#"{"timestamp":"2026-11-01T10:00:00.000000001Z","service_name":"api","severity_text":"error","body":"{\"user\":{\"id\":7,\"name\":\"ada\"},\"tags\":[\"a\",\"b\"]}","trace_id":"49f27147a67ffb2a60b1f1c9cd2bd1d3","attributes":{"http.status_code":503,"region":"eu"},"resource_attributes":{"host.name":"h1"}}
{"timestamp":"2026-11-01T10:00:01Z","service_name":"web","severity_text":"info","body":"plain, \"quoted\" text","attributes":{"region":"us"}}
"#;

#[test]
fn query_rows_render_like_posthog_with_custom_columns() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    e.ingest_bytes(TeamId(1), Format::JsonLines, LINES.as_bytes())
        .unwrap();
    let ctx = RequestContext {
        team: TeamId(1),
        now: NOW,
    };
    let body = json!({"query": {"dateRange": {"date_from": "-1d"}, "orderBy": "earliest",
        "customColumns": ["attributes.region", "resource_attributes['host.name']", "body.user.name", "body.tags.1", "body.missing"]}});
    let r = e.query(&ctx, &body).unwrap();
    assert_eq!(r.results.len(), 2);
    assert!(!r.has_more);
    assert_eq!(r.next_cursor, None);
    assert_eq!(r.max_exportable_logs, 10_000);
    assert_eq!(r.query["limit"], 1001);
    let first = &r.results[0];
    assert_eq!(first["timestamp"], "2026-11-01T10:00:00.000000001Z");
    assert_eq!(first["trace_id"], "49F27147A67FFB2A60B1F1C9CD2BD1D3");
    assert_eq!(first["span_id"], "0000000000000000");
    assert_eq!(first["level"], "error");
    assert_eq!(first["severity_text"], "error");
    assert_eq!(first["severity_number"], 17);
    assert_eq!(
        first["attributes"],
        json!({"http.status_code": "503", "region": "eu"})
    );
    assert_eq!(first["resource_attributes"]["host.name"], "h1");
    assert!(
        first["resource_fingerprint"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert_eq!(first["attributes.region"], "eu");
    assert_eq!(first["resource_attributes['host.name']"], "h1");
    assert_eq!(first["body.user.name"], "ada");
    assert_eq!(first["body.tags.1"], "b");
    assert_eq!(first["body.missing"], serde_json::Value::Null);
    assert_eq!(r.results[1]["body.user.name"], serde_json::Value::Null);
    assert_eq!(r.columns.as_ref().unwrap().len(), 5);
    // The memtable holds the rows, so the live checkpoint is their newest observation time (the clock's now).
    assert_eq!(first["live_logs_checkpoint"], "2026-11-02T00:00:00Z");
    // excludeAttributes empties both maps.
    let body = json!({"query": {"dateRange": {"date_from": "-1d"}, "excludeAttributes": true}});
    let r = e.query(&ctx, &body).unwrap();
    assert!(
        r.results
            .iter()
            .all(|row| row["attributes"] == json!({}) && row["resource_attributes"] == json!({}))
    );
    // Live tail: nothing observed at or after a checkpoint past the last row.
    let body = json!({"query": {"dateRange": {"date_from": "-1d"}, "liveLogsCheckpoint": "2026-11-02T00:00:00.000000001Z"}});
    assert!(e.query(&ctx, &body).unwrap().results.is_empty());
    let body = json!({"query": {"dateRange": {"date_from": "-1d"}, "liveLogsCheckpoint": "2026-11-02T00:00:00Z"}});
    assert_eq!(e.query(&ctx, &body).unwrap().results.len(), 2);
    // After a flush the rows are in files; the watermark stays, and survives a restart through the catalog.
    e.flush().unwrap();
    let list = json!({"query": {"dateRange": {"date_from": "-1d"}}});
    let r = e.query(&ctx, &list).unwrap();
    assert_eq!(r.results.len(), 2);
    assert_eq!(r.results[0]["live_logs_checkpoint"], "2026-11-02T00:00:00Z");
    drop(e);
    let e = engine(dir.path());
    let r = e.query(&ctx, &list).unwrap();
    assert_eq!(r.results[1]["live_logs_checkpoint"], "2026-11-02T00:00:00Z");
}

#[test]
fn export_writes_csv_json_lines_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    e.ingest_bytes(TeamId(1), Format::JsonLines, LINES.as_bytes())
        .unwrap();
    e.flush().unwrap();
    let ctx = RequestContext {
        team: TeamId(1),
        now: NOW,
    };

    let mut csv = Vec::new();
    let body = json!({"query": {"dateRange": {"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"}, "serviceNames": ["web"]},
        "columns": ["timestamp", "body", "attributes.region"]});
    let report = e.export(&ctx, &body, &mut csv).unwrap();
    assert_eq!(report.rows, 1);
    assert_eq!(report.filename, "logs-web-2026-11-01-to-2026-11-02.csv");
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "timestamp,body,attributes.region\n2026-11-01T10:00:01Z,\"plain, \"\"quoted\"\" text\",us\n"
    );

    let mut lines = Vec::new();
    let body = json!({"query": {"dateRange": {"date_from": "-1d"}, "serviceNames": ["a b", "c"]}, "format": "jsonl"});
    let report = e.export(&ctx, &body, &mut lines).unwrap();
    assert_eq!(report.filename, "logs-2-services-from--1d.jsonl");
    assert_eq!(report.rows, 0);
    let body = json!({"query": {"dateRange": {"date_from": "-1d"}}, "format": "jsonl"});
    let report = e.export(&ctx, &body, &mut lines).unwrap();
    assert_eq!(report.rows, 2);
    let text = String::from_utf8(lines).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[0]["body"], "plain, \"quoted\" text", "newest first");

    let mut parquet = Vec::new();
    let body =
        json!({"query": {"dateRange": {"date_from": "-1d"}, "limit": 1}, "format": "parquet"});
    let report = e.export(&ctx, &body, &mut parquet).unwrap();
    assert_eq!(report.rows, 1);
    let path = dir.path().join("export.parquet");
    std::fs::write(&path, &parquet).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&path).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    assert!(batches[0].schema().field_with_name("body").is_ok());

    let err = e
        .export(&ctx, &json!({"query": {}, "format": "xml"}), Vec::new())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("format: unknown format \"xml\""),
        "{err}"
    );
    let err = e
        .export(&ctx, &json!({"query": {"limit": 1_000_000}}), Vec::new())
        .unwrap_err();
    assert!(err.to_string().starts_with("query.limit:"), "{err}");
}

#[test]
fn has_logs_sees_acknowledged_rows_at_once_and_only_the_teams_own() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let t1 = RequestContext {
        team: TeamId(1),
        now: NOW,
    };
    let t2 = RequestContext {
        team: TeamId(2),
        now: NOW,
    };
    assert!(!e.has_logs(&t1).has_logs);
    e.ingest_bytes(TeamId(1), Format::JsonLines, LINES.as_bytes())
        .unwrap();
    assert!(e.has_logs(&t1).has_logs, "memtable rows count");
    assert!(!e.has_logs(&t2).has_logs);
    let count = |ctx: &RequestContext| {
        e.count(ctx, &json!({"query": {"dateRange": {"date_from": "-1d"}}}))
            .unwrap()
            .count
    };
    assert_eq!(count(&t1), 2);
    assert_eq!(count(&t2), 0);
    e.flush().unwrap();
    assert!(e.has_logs(&t1).has_logs);
    assert_eq!(count(&t1), 2);
    assert_eq!(count(&t2), 0);
}

#[test]
fn export_streams_across_pages_in_query_order() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let logs: Vec<_> = quarry_testkit::Generator::new(quarry_testkit::GeneratorConfig {
        seed: 2,
        rows: 5_000,
        ..Default::default()
    })
    .collect();
    e.ingest(TeamId(1), logs[..3_000].to_vec()).unwrap();
    e.flush().unwrap();
    e.ingest(TeamId(1), logs[3_000..].to_vec()).unwrap();
    let ctx = RequestContext {
        team: TeamId(1),
        now: NOW,
    };
    let mut out = Vec::new();
    let body =
        json!({"query": {"dateRange": {"date_from": "-1d"}, "limit": 4_500}, "format": "jsonl"});
    let report = e.export(&ctx, &body, &mut out).unwrap();
    assert_eq!(report.rows, 4_500, "three pages of at most 2,000");
    let rows: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4_500);
    let keys: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            (
                quarry_core::time::parse_iso(r["timestamp"].as_str().unwrap()).unwrap(),
                r["uuid"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "strictly newest first, no repeats"
    );
    // Default cap: 10,000 rows; here all 5,000, in CSV with a header.
    let mut csv = Vec::new();
    let report = e
        .export(
            &ctx,
            &json!({"query": {"dateRange": {"date_from": "-1d"}}}),
            &mut csv,
        )
        .unwrap();
    assert_eq!(report.rows, 5_000);
    assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 5_001);
}

#[test]
fn explain_names_the_path_taken() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let ctx = RequestContext {
        team: TeamId(1),
        now: NOW,
    };
    let path = |endpoint: &str, q: serde_json::Value| -> String {
        let mut q = q;
        q["explain"] = json!(true);
        let body = json!({ "query": q });
        let stats = match endpoint {
            "count" => e.count(&ctx, &body).unwrap().quarry_stats,
            "count-ranges" => e.count_ranges(&ctx, &body).unwrap().quarry_stats,
            _ => e.query(&ctx, &body).unwrap().quarry_stats,
        };
        stats.unwrap().path
    };
    let day = json!({"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"});
    assert_eq!(
        path("count", json!({"dateRange": day})),
        "catalog",
        "no data at all"
    );
    let logs: Vec<_> = quarry_testkit::Generator::new(quarry_testkit::GeneratorConfig {
        seed: 4,
        rows: 2_000,
        ..Default::default()
    })
    .collect();
    e.ingest(TeamId(1), logs).unwrap();
    assert_eq!(
        path("count", json!({"dateRange": day})),
        "scan",
        "memtable rows are scanned"
    );
    e.flush().unwrap();
    assert_eq!(
        path(
            "count",
            json!({"dateRange": day, "severityLevels": ["error"]})
        ),
        "index"
    );
    assert_eq!(path("count-ranges", json!({"dateRange": day})), "rollup");
    assert_eq!(
        path("count", json!({"dateRange": day, "searchTerm": "timeout"})),
        "scan"
    );
    assert_eq!(
        path(
            "query",
            json!({"dateRange": day, "severityLevels": ["error"], "limit": 5})
        ),
        "index+scan"
    );
    let stats = e
        .query(
            &ctx,
            &json!({"query": {"dateRange": day, "limit": 5, "explain": true}}),
        )
        .unwrap()
        .quarry_stats
        .unwrap();
    assert_eq!(stats.files_in_range, 24);
    assert!(
        stats.files_read <= 2,
        "latest 5 reads the newest hour only: {stats:?}"
    );
    assert!(stats.rows_scanned > 0 && stats.bytes_read > 0 && stats.row_groups_read > 0);
}

#[test]
fn export_stops_at_ten_thousand_rows_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let mut lines = String::new();
    for i in 0..10_050u64 {
        lines.push_str(&format!(
            "{{\"timestamp\":{},\"service_name\":\"api\",\"body\":\"row {i}\"}}\n",
            NOW - 3_600_000_000_000 + i as i64 * 1_000_000
        ));
    }
    e.ingest_bytes(TeamId(1), Format::JsonLines, lines.as_bytes())
        .unwrap();
    let ctx = RequestContext {
        team: TeamId(1),
        now: NOW,
    };
    let body = json!({"query": {"dateRange": {"date_from": "-2h"}, "orderBy": "earliest"}, "columns": ["body"]});
    let mut csv = Vec::new();
    let report = e.export(&ctx, &body, &mut csv).unwrap();
    assert_eq!(report.rows, quarry::DEFAULT_EXPORT_ROWS);
    assert_eq!(report.rows, 10_000);
    let text = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10_001);
    assert_eq!(lines[1], "row 0");
    assert_eq!(lines[10_000], "row 9999");
    assert_eq!(report.filename, "logs-all-services-from--2h.csv");
    // A limit asks for more, up to MAX_EXPORT_ROWS; past it the request is refused, naming the field.
    let body =
        json!({"query": {"dateRange": {"date_from": "-2h"}, "limit": 10_050}, "columns": ["body"]});
    assert_eq!(e.export(&ctx, &body, std::io::sink()).unwrap().rows, 10_050);
    let body = json!({"query": {"dateRange": {"date_from": "-2h"}, "limit": 100_001}});
    let err = e
        .export(&ctx, &body, std::io::sink())
        .unwrap_err()
        .to_string();
    assert!(err.contains("query.limit"), "{err}");
}

#[test]
fn an_observation_time_from_the_future_does_not_move_the_live_checkpoint_past_now() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let line = r#"{"timestamp":"2026-11-01T10:00:00Z","observed_timestamp":"2100-01-01T00:00:00Z","service_name":"api","body":"from the future"}"#;
    e.ingest_bytes(TeamId(1), Format::JsonLines, line.as_bytes())
        .unwrap();
    let ctx = RequestContext {
        team: TeamId(1),
        now: NOW,
    };
    let list = json!({"query": {"dateRange": {"date_from": "-1d"}}});
    let r = e.query(&ctx, &list).unwrap();
    assert_eq!(r.results[0]["observed_timestamp"], "2100-01-01T00:00:00Z");
    assert_eq!(r.results[0]["live_logs_checkpoint"], "2026-11-02T00:00:00Z");
    e.flush().unwrap();
    let r = e.query(&ctx, &list).unwrap();
    assert_eq!(r.results[0]["live_logs_checkpoint"], "2026-11-02T00:00:00Z");
}
