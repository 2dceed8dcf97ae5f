//! The Arrow schema: `records_to_batch` then `batch_to_records` gives back the same records.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use quarry_core::schema::{batch_to_records, columns, log_schema, records_to_batch};
use quarry_core::{Format, IngestOptions, LogRecord, Severity, Stamper, decode};

use crate::common::{LOGHUB_LINES, NOV_1_2026_NS, attrs, jsonl, loghub_bytes};

fn round_trip(records: &[LogRecord]) -> Vec<LogRecord> {
    let batch = records_to_batch(records).expect("records_to_batch");
    assert_eq!(batch.num_rows(), records.len());
    assert_eq!(batch.schema(), log_schema());
    batch_to_records(&batch).expect("batch_to_records")
}

#[test]
fn loghub_sample_round_trips_through_arrow() {
    let decoded = jsonl(&loghub_bytes());
    assert_eq!(decoded.logs.len(), LOGHUB_LINES);
    let mut stamper = Stamper::new(0x5eed, IngestOptions::default());
    let base = NOV_1_2026_NS + 86_400_000_000_000;
    let records: Vec<LogRecord> = decoded
        .logs
        .into_iter()
        .enumerate()
        .map(|(i, log)| stamper.stamp(log, base + i as i64 * 250_000))
        .collect();
    // Stamping: ids strictly increase, observation time is `now` since the sample sends none.
    assert!(records.windows(2).all(|w| w[0].uuid < w[1].uuid));
    assert_eq!(records[1].observed_timestamp, base + 250_000);
    assert_eq!(records[0].timestamp, NOV_1_2026_NS);
    assert_eq!(round_trip(&records), records);
    // Two halves as separate batches give the same rows too.
    let (a, b) = records.split_at(LOGHUB_LINES / 2 + 1);
    let mut both = round_trip(a);
    both.extend(round_trip(b));
    assert_eq!(both, records);
}

#[test]
fn otlp_decoded_records_round_trip_through_arrow() {
    let doc = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"s"}}]},
        "scopeLogs":[{"scope":{"name":"lib","version":"1"},"logRecords":[
        {"timeUnixNano":"1","traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","flags":4294967295,
         "severityNumber":99,"eventName":"e","body":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}}]}}},
        {"observedTimeUnixNano":"2","body":{"stringValue":""}}]}]}]}"#;
    let decoded = decode(Format::OtlpJson, doc.as_bytes()).expect("never fails");
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    let mut stamper = Stamper::new(1, IngestOptions::default());
    let records: Vec<LogRecord> = decoded
        .logs
        .into_iter()
        .map(|l| stamper.stamp(l, NOV_1_2026_NS))
        .collect();
    assert_eq!(records[0].severity_text, Severity::Unknown);
    assert_eq!(records[0].trace_flags, u32::MAX);
    assert_eq!(round_trip(&records), records);
}

fn edge_record(i: u8) -> LogRecord {
    LogRecord {
        uuid: [i; 16],
        timestamp: 0,
        observed_timestamp: 0,
        trace_id: [0; 16],
        span_id: [0; 8],
        trace_flags: 0,
        severity_text: Severity::Info,
        severity_number: 0,
        service_name: String::new(),
        body: String::new(),
        attributes: Default::default(),
        resource_attributes: Default::default(),
        resource_fingerprint: 0,
        instrumentation_scope: String::new(),
        event_name: String::new(),
        bytes_uncompressed: 0,
    }
}

#[test]
fn hand_made_edge_cases_round_trip_through_arrow() {
    let mut records = vec![edge_record(0)];
    records.push(LogRecord {
        timestamp: i64::MIN,
        observed_timestamp: i64::MAX,
        trace_id: [0xff; 16],
        span_id: [0xff; 8],
        trace_flags: u32::MAX,
        severity_text: Severity::Unknown,
        severity_number: i32::MIN,
        service_name: "サービス 🚀".to_owned(),
        body: "nul\0in\0body\0 and \u{7f} and \u{10ffff} and \r\n".to_owned(),
        attributes: attrs(&[("", ""), ("\0key", "\0value"), ("é", "ü"), ("🔑", "")]),
        resource_attributes: attrs(&[("service.name", "サービス 🚀")]),
        resource_fingerprint: u64::MAX,
        instrumentation_scope: "lib\0@\u{0}".to_owned(),
        event_name: "x".repeat(100_000),
        bytes_uncompressed: u64::MAX,
        ..edge_record(1)
    });
    // Empty attribute lists between non-empty ones, and every severity.
    for (i, sev) in Severity::ALL.into_iter().enumerate() {
        let mut r = edge_record(2 + i as u8);
        r.severity_text = sev;
        r.severity_number = sev.canonical_number();
        if i % 2 == 0 {
            r.attributes = attrs(&[("k", &i.to_string())]);
        } else {
            r.resource_attributes = attrs(&[("service.name", "")]);
        }
        records.push(r);
    }
    records.push(edge_record(99));
    assert_eq!(round_trip(&records), records);
    // A single record and no records at all.
    assert_eq!(round_trip(&records[1..2]), records[1..2]);
    assert_eq!(round_trip(&[]), Vec::<LogRecord>::new());
}

#[test]
fn batch_with_unknown_severity_text_is_rejected() {
    let records = vec![edge_record(1), edge_record(2)];
    let batch = records_to_batch(&records).expect("records_to_batch");
    let schema = batch.schema();
    let index = schema
        .index_of(columns::SEVERITY_TEXT)
        .expect("severity column");
    let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
    cols[index] = Arc::new(StringArray::from(vec!["info", "WARN"]));
    let bad = RecordBatch::try_new(Arc::clone(&schema), cols).expect("same types");
    let error = batch_to_records(&bad).expect_err("WARN is not a stored severity");
    assert!(error.to_string().contains("severity_text row 1"), "{error}");
}

#[test]
fn batch_missing_a_column_is_rejected() {
    let batch = records_to_batch(&[edge_record(1)]).expect("records_to_batch");
    let index = batch.schema().index_of(columns::BODY).expect("body column");
    let keep: Vec<usize> = (0..batch.num_columns()).filter(|&i| i != index).collect();
    let projected = batch.project(&keep).expect("projection");
    let error = batch_to_records(&projected).expect_err("body is missing");
    assert!(
        error.to_string().contains("column \"body\" is missing"),
        "{error}"
    );
}
