//! End-to-end tests of the `quarry` binary.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn quarry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args(args)
        .output()
        .expect("runs")
}

fn ok_json(args: &[&str]) -> serde_json::Value {
    let out = quarry(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `quarry --data DATA ingest --json FILE`'s summary.
fn ingest_json(data: &Path, file: &Path) -> serde_json::Value {
    ok_json(&["--data", s(data), "ingest", "--json", s(file)])
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn gen_ingest_stats_round_trip_and_the_tree_is_hive_partitioned() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logs.jsonl");
    let data = dir.path().join("data");
    let out = quarry(&["gen", "--rows", "5000", "--seed", "3", "--out", s(&file)]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().lines().count(),
        5000
    );

    let summary = ingest_json(&data, &file);
    assert_eq!(summary["accepted"], 5000);
    assert_eq!(summary["rejected"], 0);
    assert_eq!(
        summary["files_written"], 24,
        "one file per hour of the generated day"
    );

    let stats = ok_json(&["--data", s(&data), "stats", "--json"]);
    assert_eq!(stats["rows"], 5000);
    assert_eq!(stats["memtable_rows"], 0, "ingest flushes before it exits");
    assert_eq!(stats["partitions"], 24);
    assert!(stats["bytes_per_row"].as_f64().unwrap() > 0.0);
    assert!(data.join("team=1/date=2026-11-01/hour=00").is_dir());
    let parquet = std::fs::read_dir(data.join("team=1/date=2026-11-01/hour=13"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "parquet")
        })
        .count();
    assert_eq!(parquet, 1);

    // Another team's ingest lands in its own tree.
    let summary = ok_json(&[
        "--data",
        s(&data),
        "--team",
        "7",
        "ingest",
        "--json",
        s(&file),
    ]);
    assert_eq!(summary["accepted"], 5000);
    assert!(data.join("team=7").is_dir());
    let stats = ok_json(&["--data", s(&data), "stats", "--json"]);
    assert_eq!(stats["rows"], 10000);
    assert_eq!(stats["teams"], 2);
}

#[test]
fn rejected_lines_are_reported_with_line_field_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"timestamp":"2026-11-01T00:00:00Z","service_name":"a","body":"ok"}"#,
            "\n",
            "\n",
            r#"{"timestamp":"yesterday","body":"bad"}"#,
            "\n",
            r#"{"timestamp":"2026-11-01T00:00:01Z","attributes":[1]}"#,
            "\n",
        ),
    )
    .unwrap();
    let summary = ingest_json(&dir.path().join("d"), &file);
    assert_eq!(summary["accepted"], 1);
    assert_eq!(summary["rejected"], 2);
    assert_eq!(summary["errors"][0]["index"], 2);
    assert_eq!(summary["errors"][0]["field"], "timestamp");
    assert_eq!(summary["errors"][1]["index"], 3);
    assert_eq!(summary["errors"][1]["field"], "attributes");
    // The human summary says the same.
    let out = quarry(&["--data", s(&dir.path().join("e")), "ingest", s(&file)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("accepted 1 rows, rejected 2"), "{text}");
    assert!(
        text.contains("record 2: timestamp: expected RFC 3339"),
        "{text}"
    );
}

/// Rejections in later chunks (input is read and decoded 8 MiB at a time, a chunk ahead of ingesting) are
/// numbered by their line in the whole file, and every good line is stored once.
#[test]
fn rejections_past_the_first_chunk_keep_their_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.jsonl");
    let bad = [7usize, 119_999, 130_001];
    let mut text = String::new();
    for i in 0..130_002usize {
        if bad.contains(&i) {
            text.push_str(r#"{"timestamp":"never","body":"bad"}"#);
        } else {
            text.push_str(&format!(
                r#"{{"timestamp":"2026-11-01T00:00:00Z","service_name":"a","body":"line {i:07}"}}"#
            ));
        }
        text.push('\n');
    }
    assert!(text.len() > 9 << 20, "spans two chunks");
    std::fs::write(&file, &text).unwrap();
    let summary = ingest_json(&dir.path().join("d"), &file);
    assert_eq!(summary["accepted"], 130_002 - 3, "{summary}");
    assert_eq!(summary["rejected"], 3, "{summary}");
    let indices: Vec<u64> = summary["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [7, 119_999, 130_001]);
}

/// A line longer than the 8 MiB chunk `ingest` reads at a time is read whole, not cut into two rejected pieces.
#[test]
fn a_line_longer_than_a_chunk_is_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.jsonl");
    let body = "x".repeat(9 << 20);
    let lines = [
        r#"{"timestamp":"2026-11-01T00:00:00Z","service_name":"a","body":"first"}"#.to_owned(),
        format!(r#"{{"timestamp":"2026-11-01T00:00:01Z","service_name":"a","body":"{body}"}}"#),
        r#"{"timestamp":"2026-11-01T00:00:02Z","service_name":"a","body":"last"}"#.to_owned(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let data = dir.path().join("d");
    let summary = ingest_json(&data, &file);
    assert_eq!(summary["accepted"], 3, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
}

#[test]
fn stdin_and_otlp_json_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let otlp = dir.path().join("logs.otlp.json");
    assert!(
        quarry(&[
            "gen",
            "--rows",
            "2500",
            "--format",
            "otlp-json",
            "--out",
            s(&otlp)
        ])
        .status
        .success()
    );
    let data = dir.path().join("data");
    let summary = ingest_json(&data, &otlp);
    assert_eq!(summary["accepted"], 2500);

    let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
        .args([
            "--data",
            s(&data),
            "--team",
            "2",
            "ingest",
            "--json",
            "--format",
            "jsonl",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"timestamp":"2026-11-01T00:00:00Z","body":"from stdin"}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["accepted"], 1);
}

#[test]
fn compact_and_retention_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("a.jsonl");
    assert!(
        quarry(&["gen", "--rows", "1000", "--out", s(&file)])
            .status
            .success()
    );
    for _ in 0..2 {
        ingest_json(&data, &file);
    }
    let compact = ok_json(&["--data", s(&data), "compact", "--json"]);
    assert_eq!(compact["files_removed"], 48);
    assert_eq!(compact["files_written"], 24);
    assert_eq!(compact["rows"], 2000);
    // The generated day is 2026-11-01, more than a day before any clock this test runs under (the CLI reads
    // the system clock; the library tests pin theirs), so one day of retention drops it all.
    let retention = ok_json(&["--data", s(&data), "retention", "--days", "1", "--json"]);
    assert_eq!(retention["rows"], 2000);
    assert_eq!(ok_json(&["--data", s(&data), "stats", "--json"])["rows"], 0);
}

#[test]
fn demo_runs_once_per_fresh_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let out = quarry(&["--data", s(&data), "demo", "--rows", "3000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ingested 3000 rows"), "{text}");
    assert!(text.contains("rows               3000"), "{text}");
    assert!(text.contains("services, last 24 h"), "{text}");
    assert!(text.contains("sparkline by severity"), "{text}");
    assert!(text.contains("newest errors"), "{text}");
    assert!(text.contains("count, last 24 h: 3000"), "{text}");
    let again = quarry(&["--data", s(&data), "demo", "--rows", "10"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("fresh"));
}

#[test]
fn ingest_with_and_without_the_wal_stores_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logs.jsonl");
    assert!(
        quarry(&["gen", "--rows", "4000", "--seed", "11", "--out", s(&file)])
            .status
            .success()
    );
    let unlogged = dir.path().join("unlogged");
    let logged = dir.path().join("logged");
    // Files go without the WAL by default; `--wal` logs every chunk first.
    let summary = ingest_json(&unlogged, &file);
    assert_eq!(
        (summary["accepted"].as_u64(), summary["wal"].as_bool()),
        (Some(4000), Some(false))
    );
    let summary = ok_json(&["--data", s(&logged), "ingest", "--wal", "--json", s(&file)]);
    assert_eq!(
        (summary["accepted"].as_u64(), summary["wal"].as_bool()),
        (Some(4000), Some(true))
    );
    let services = |data: &Path| {
        ok_json(&[
            "--data",
            s(data),
            "logs",
            "services",
            "--now",
            "2026-11-02T00:00:00Z",
            "--body",
            r#"{"query":{"dateRange":{"date_from":"-24h"}}}"#,
        ])
    };
    let a = services(&unlogged);
    assert!(
        a["services"].as_array().is_some_and(|s| s.len() > 10),
        "{a}"
    );
    assert_eq!(a, services(&logged));
    for data in [&unlogged, &logged] {
        let stats = ok_json(&["--data", s(data), "stats", "--json"]);
        assert_eq!(stats["rows"], 4000);
        assert_eq!(stats["memtable_rows"], 0);
    }
    let out = quarry(&[
        "--data",
        s(&logged),
        "ingest",
        "--wal",
        "--no-wal",
        s(&file),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-wal"));

    // Standard input (which may never end) is logged unless `--no-wal` says otherwise.
    let input = std::fs::read(&file).unwrap();
    for (flags, wal) in [(&[][..], true), (&["--no-wal"][..], false)] {
        let data = dir.path().join(format!("stdin-{wal}"));
        let mut args = vec!["--data", s(&data), "ingest", "--json"];
        args.extend(flags);
        args.push("-");
        let mut child = Command::new(env!("CARGO_BIN_EXE_quarry"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (summary["accepted"].as_u64(), summary["wal"].as_bool()),
            (Some(4000), Some(wal))
        );
    }
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    let out = quarry(&["ingest", "--format", "csv", "x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("csv"));
    let dir = tempfile::tempdir().unwrap();
    let out = quarry(&[
        "--data",
        s(&dir.path().join("d")),
        "ingest",
        s(&dir.path().join("missing.jsonl")),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.jsonl"));
    let out = quarry(&["gen", "--start", "soon", "--out", s(&dir.path().join("x"))]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--start"));
}

#[test]
fn logs_subcommands_print_the_response_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logs.jsonl");
    let data = dir.path().join("data");
    assert!(
        quarry(&["gen", "--rows", "3000", "--seed", "8", "--out", s(&file)])
            .status
            .success()
    );
    assert!(
        quarry(&["--data", s(&data), "ingest", s(&file)])
            .status
            .success()
    );
    let d = s(&data);
    let now = "2026-11-02T00:00:00Z";
    let count = ok_json(&[
        "--data",
        d,
        "logs",
        "count",
        "--now",
        now,
        "--body",
        r#"{"query":{"dateRange":{"date_from":"-24h"}}}"#,
    ]);
    assert_eq!(count, serde_json::json!({"count": 3000}));
    let errors = ok_json(&[
        "--data",
        d,
        "logs",
        "count",
        "--now",
        now,
        "--body",
        r#"{"query":{"dateRange":{"date_from":"-24h"},"severityLevels":["error"]}}"#,
    ]);
    let n_errors = errors["count"].as_u64().unwrap();
    assert!(n_errors > 0 && n_errors < 3000);
    // The body can come from a file.
    let body = dir.path().join("body.json");
    std::fs::write(
        &body,
        r#"{"query":{"dateRange":{"date_from":"-24h"},"limit":5,"severityLevels":["error"]}}"#,
    )
    .unwrap();
    let page = ok_json(&[
        "--data",
        d,
        "logs",
        "query",
        "--now",
        now,
        "--explain",
        "--body",
        &format!("@{}", s(&body)),
    ]);
    assert_eq!(page["results"].as_array().unwrap().len(), 5);
    assert!(
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["level"] == "error")
    );
    assert_eq!(page["hasMore"], n_errors > 5);
    assert!(page["quarry_stats"]["files_in_range"].as_u64().unwrap() > 0);
    let ranges = ok_json(&[
        "--data",
        d,
        "logs",
        "count-ranges",
        "--now",
        now,
        "--body",
        r#"{"query":{"dateRange":{"date_from":"-24h"},"targetBuckets":24}}"#,
    ]);
    assert_eq!(ranges["interval"], "1h");
    let total: u64 = ranges["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3000);
    let values = ok_json(&[
        "--data",
        d,
        "logs",
        "values",
        "--now",
        now,
        "--param",
        "key=http.method",
        "--param",
        r#"dateRange={"date_from":"-24h"}"#,
    ]);
    let sum: u64 = values["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["count"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 3000, "every generated row has http.method");
    let attrs = ok_json(&[
        "--data",
        d,
        "logs",
        "attributes",
        "--now",
        now,
        "--param",
        "search=http",
    ]);
    assert!(
        attrs["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "http.method")
    );
    assert_eq!(
        ok_json(&["--data", d, "logs", "has-logs"]),
        serde_json::json!({"hasLogs": true})
    );
    // The same answer without indexes.
    let naive = ok_json(&[
        "--data",
        d,
        "logs",
        "count",
        "--no-index",
        "--now",
        now,
        "--body",
        r#"{"query":{"dateRange":{"date_from":"-24h"},"severityLevels":["error"]}}"#,
    ]);
    assert_eq!(naive, errors);
    // Export to a file.
    let csv = dir.path().join("out.csv");
    let out = quarry(&[
        "--data",
        d,
        "logs",
        "export",
        "--now",
        now,
        "--body",
        r#"{"query":{"dateRange":{"date_from":"-24h"},"limit":100}}"#,
        "--out",
        s(&csv),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("timestamp,level,service_name,body,"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("logs-all-services-from--24h.csv"));
}

#[test]
fn logs_bad_requests_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let out = quarry(&[
        "--data",
        s(&d),
        "logs",
        "count",
        "--body",
        r#"{"query":{"filterGroup":[{"key":"a","type":"log_attribute","operator":"contains","value":"x"}]}}"#,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("query.filterGroup[0].operator: unknown operator \"contains\""),
        "{err}"
    );
    let out = quarry(&["--data", s(&d), "logs", "values", "--param", "limit=3"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("key: key is required"));
    let out = quarry(&["--data", s(&d), "logs", "count", "--body", "{not json"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--body: expected JSON"));
    let out = quarry(&["--data", s(&d), "logs", "values", "--body", "{}"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--body: this endpoint is a GET"));
    let out = quarry(&["--data", s(&d), "logs", "count", "--now", "tomorrow"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--now"));
}

#[test]
fn serve_refuses_an_open_server_beyond_loopback_and_bad_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let out = quarry(&["--data", s(&data), "serve", "--listen", "0.0.0.0:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve without tokens on a non-loopback address"),
        "{err}"
    );
    let out = quarry(&["--data", s(&data), "serve", "--token", "no-team-here"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--token #1: expected TOKEN=TEAM"), "{err}");
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "# comment\n\nphc_a=1\nphc_b=two\n").unwrap();
    let out = quarry(&["--data", s(&data), "serve", "--tokens-file", s(&tokens)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("on line 4 of"), "{err}");
    assert!(err.contains("team \"two\" is not a number"), "{err}");
}
