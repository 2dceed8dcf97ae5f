//! Property tests: no input makes a decoder panic, and JSON Lines accounts for every non-blank line.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValueList, any_value::Value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use prost::Message;
use quarry_core::decode::jsonl;
use quarry_core::{Decoded, Format, Severity, decode};

use crate::common::non_blank_lines;
use crate::otlp_proto::kv;

const VALID_LINE: &str = r#"{"timestamp": "2026-11-01T00:00:00Z", "observed_timestamp": 1793491200000000000, "severity_text": "info", "severity_number": 10, "service_name": "apache", "body": {"level": "error", "msg": ["x", 1.5, null]}, "trace_id": "49f27147a67ffb2a60b1f1c9cd2bd1d3", "span_id": "SfJxR6Z/+yo=", "trace_flags": 1, "attributes": {"eventid": "E2", "copy": 0, "nested": {"a": [true]}}, "resource_attributes": {"service.name": "apache", "host.name": "apache-0"}, "instrumentation_scope": "lib@1", "event_name": "ev"}"#;

const VALID_OTLP_LINE: &str = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeLogs":[{"scope":{"name":"lib","version":"1"},"logRecords":[{"timeUnixNano":"1793491200000000000","severityNumber":9,"traceId":"5b8efff798038103d269b633813fc60c","body":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":"1"}}]}},"attributes":[{"key":"k","value":{"doubleValue":1.5}}]}]}]}]}"#;

/// A line of the shape the fast scanner reads itself: flat attributes of every scalar type, escapes, `null`s.
const FAST_LINE: &str = r#"{"timestamp":"2026-11-01T00:00:00.5+01:00","observed_timestamp":1793491200000000000,"severity_text":"WARN","severity_number":13,"service_name":"api\u00e9","body":"say \"hi\"\n\ttab \\ \/ \ud83d\ude00","trace_id":"49f27147a67ffb2a60b1f1c9cd2bd1d3","span_id":"SfJxR6Z/+yo=","trace_flags":0,"attributes":{"z":"last","a":1.5e3,"a":-0,"t":true,"f":false,"n":null,"esc\u0041":"v","":""},"resource_attributes":{"host.name":"h"},"instrumentation_scope":null,"event_name":"ev"}"#;

/// The fast scanner's answer, when it gives one, equals the serde_json reference decoder's, record or error.
fn check_fast_path(input: &[u8]) -> Result<bool, TestCaseError> {
    let mut scanned = false;
    for (i, line) in input.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if let Some(fast) = jsonl::decode_line_fast(i, line) {
            scanned = true;
            prop_assert_eq!(
                fast,
                jsonl::decode_line_reference(i, line),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
    Ok(scanned)
}

/// Lines whose resource objects repeat, byte for byte or nearly: the JSON Lines decoder converts a repeated
/// object once per piece (`PieceMemo`), which must not change any line's answer.
const RESOURCE_LINES: &[&str] = &[
    r#"{"service_name":"a","resource_attributes":{"host.name":"h1","k8s":"x"},"body":"1"}"#,
    r#"{"service_name":"b","resource_attributes":{"host.name":"h1","k8s":"x"},"body":"2"}"#,
    r#"{"resource_attributes":{"host.name":"h1","k8s":"x"}}"#,
    r#"{"resource_attributes":{"host.name":"h1","k8s":"x","service.name":"s"},"service_name":"t"}"#,
    r#"{"resource_attributes":{"host.name":"h1","k8s":"x"} ,"body":"space"}"#,
    r#"{"resource_attributes":{"host.name":"h1","k8s":"x"}"#,
    r#"{"resource_attributes":{"a":"}","b":"\"}\\"},"body":"braces in strings"}"#,
    r#"{"resource_attributes":{"a":"}","b":"\"}\\"}}"#,
    r#"{"resource_attributes":{"n":1,"t":true,"z":null,"n":2}}"#,
    r#"{"resource_attributes":{"n":1,"t":true,"z":null,"n":2},"resource_attributes":{}}"#,
    r#"{"resource_attributes":{"x":{"nested":1}}}"#,
    r#"{"resource_attributes":{"bad":"\ud800"}}"#,
    r#"{"resource_attributes":{"bad":"\ud800"},"body":"again"}"#,
    r#"{"resource_attributes":{"host.name":"h1","k8s":"x"},"timestamp":"not a time"}"#,
];

/// Decoding `input` whole gives every line the answer it gets alone.
fn check_lines_decode_alone(input: &[u8]) -> Result<(), TestCaseError> {
    let whole = decode(Format::JsonLines, input).expect("JSON Lines never fails as a whole");
    let mut alone = Decoded::default();
    for (i, line) in input.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match jsonl::decode_line(i, line) {
            Ok(log) => alone.logs.push(log),
            Err(e) => alone.errors.push(e),
        }
    }
    prop_assert_eq!(whole, alone);
    Ok(())
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to JSON and to line splitting, plus anything.
    let interesting = prop_oneof![
        Just(b'"'),
        Just(b'\\'),
        Just(b'{'),
        Just(b'}'),
        Just(b'['),
        Just(b':'),
        Just(b','),
        Just(b'\n'),
        Just(b'0'),
        Just(b'-'),
        Just(b'u'),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), interesting.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), interesting).prop_map(|(i, b)| Edit::Replace(i, b)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len();
        match *e {
            Edit::Insert(i, b) => bytes.insert(i % (len + 1), b),
            Edit::Delete(i) if len > 0 => {
                bytes.remove(i % len);
            }
            Edit::Replace(i, b) if len > 0 => bytes[i % len] = b,
            Edit::Truncate(i) => bytes.truncate(i % (len + 1)),
            Edit::Duplicate(i, n) if len > 0 => {
                let start = i % len;
                let end = (start + n).min(len);
                let copy = bytes[start..end].to_vec();
                bytes.splice(start..start, copy);
            }
            _ => {}
        }
    }
    bytes
}

/// Runs every decoder on `input` and checks the invariants that hold for any input.
fn check_all_decoders(input: &[u8]) -> Result<(), TestCaseError> {
    let lines = decode(Format::JsonLines, input).expect("JSON Lines never fails as a whole");
    check_jsonl(input, &lines)?;
    let otlp_json = decode(Format::OtlpJson, input).expect("OTLP/JSON never fails as a whole");
    check_logs(&otlp_json)?;
    if let Ok(proto) = decode(Format::OtlpProto, input) {
        check_logs(&proto)?;
    }
    let _ = decode(Format::Auto, input);
    Ok(())
}

fn check_jsonl(input: &[u8], decoded: &Decoded) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        decoded.logs.len() + decoded.errors.len(),
        non_blank_lines(input)
    );
    // Error indices are increasing and point at non-blank lines.
    let lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    let mut last = None;
    for e in &decoded.errors {
        prop_assert!(e.index < lines.len());
        prop_assert!(!lines[e.index].trim_ascii().is_empty());
        prop_assert!(last < Some(e.index));
        last = Some(e.index);
    }
    check_logs(decoded)
}

/// Invariants of every decoded record.
fn check_logs(decoded: &Decoded) -> Result<(), TestCaseError> {
    for log in &decoded.logs {
        prop_assert_eq!(log.bytes_uncompressed, log.compute_bytes_uncompressed());
        for list in [&log.attributes, &log.resource_attributes] {
            let keys: Vec<&str> = list.iter().map(|(k, _)| k).collect();
            prop_assert!(keys.windows(2).all(|w| w[0] < w[1]), "{:?}", list);
        }
        prop_assert!(
            log.resource_attributes
                .iter()
                .any(|(k, _)| k == "service.name")
        );
        // Without a JSON-object body (no body level), the text is always the bucket of the stored number: either
        // the sent positive number, or the canonical number of the text. (With a body level, the spec's quirk can
        // pair one level's text with another's number.)
        if !log.body.trim_start().starts_with('{') {
            prop_assert!(log.severity_number > 0);
            prop_assert_eq!(
                log.severity_text,
                Severity::from_number(log.severity_number)
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_any_decoder(input in proptest::collection::vec(any::<u8>(), 0..1024)) {
        check_all_decoders(&input)?;
    }

    #[test]
    fn arbitrary_text_lines_never_panic_any_decoder(lines in proptest::collection::vec(any::<String>(), 0..8)) {
        let input = lines.join("\n");
        check_all_decoders(input.as_bytes())?;
    }

    #[test]
    fn mutated_valid_jsonl_lines_never_panic(
        edits in proptest::collection::vec(edit(), 1..6),
        copies in 1usize..4,
    ) {
        let input = vec![VALID_LINE; copies].join("\n").into_bytes();
        check_all_decoders(&apply(input, &edits))?;
    }

    #[test]
    fn the_fast_scanner_agrees_with_serde_json_on_mutated_lines(
        edits in proptest::collection::vec(edit(), 1..6),
        which in 0usize..2,
    ) {
        let line = [FAST_LINE, VALID_LINE][which];
        check_fast_path(&apply(line.as_bytes().to_vec(), &edits))?;
    }

    #[test]
    fn the_fast_scanner_agrees_with_serde_json_on_arbitrary_text(line in any::<String>()) {
        check_fast_path(format!("{{\"body\":\"{line}\"}}").as_bytes())?;
        check_fast_path(line.as_bytes())?;
    }

    #[test]
    fn repeated_resource_objects_decode_as_each_line_alone(
        picks in proptest::collection::vec(0..RESOURCE_LINES.len(), 1..24),
        edits in proptest::collection::vec(edit(), 0..3),
    ) {
        let input = picks.iter().map(|&i| RESOURCE_LINES[i]).collect::<Vec<_>>().join("\n");
        check_lines_decode_alone(&apply(input.into_bytes(), &edits))?;
    }

    #[test]
    fn mutated_valid_otlp_json_never_panics(edits in proptest::collection::vec(edit(), 1..6)) {
        check_all_decoders(&apply(VALID_OTLP_LINE.as_bytes().to_vec(), &edits))?;
    }

    #[test]
    fn unmutated_lines_are_all_accepted(copies in 1usize..20, blank_every in 1usize..5) {
        let mut input = String::new();
        for i in 0..copies {
            if i % blank_every == 0 {
                input.push_str("  \r\n");
            }
            input.push_str(VALID_LINE);
            input.push('\n');
        }
        let decoded = decode(Format::JsonLines, input.as_bytes()).expect("never fails");
        prop_assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
        prop_assert_eq!(decoded.logs.len(), copies);
    }
}

fn any_value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        any::<String>().prop_map(Value::StringValue),
        any::<bool>().prop_map(Value::BoolValue),
        any::<i64>().prop_map(Value::IntValue),
        any::<f64>().prop_map(Value::DoubleValue),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::BytesValue),
    ]
    .prop_map(|v| AnyValue { value: Some(v) });
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|values| Value::ArrayValue(ArrayValue { values })),
            proptest::collection::vec(("[a-z.]{0,6}", inner), 0..4).prop_map(|entries| {
                Value::KvlistValue(KeyValueList {
                    values: entries.into_iter().map(|(k, v)| kv(&k, v)).collect(),
                })
            }),
        ]
        .prop_map(|v| AnyValue { value: Some(v) })
    })
}

/// A nanosecond time that is often zero, often representable, and sometimes past `i64::MAX`.
fn nanos() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        1u64..=i64::MAX as u64,
        (i64::MAX as u64 + 1)..=u64::MAX
    ]
}

fn log_record() -> impl Strategy<Value = LogRecord> {
    (
        (nanos(), nanos(), any::<i32>(), "[A-Za-z]{0,8}"),
        proptest::option::of(any_value()),
        proptest::collection::vec(("[a-z]{0,4}", any_value()), 0..4),
        (
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::collection::vec(any::<u8>(), 0..12),
            any::<u32>(),
        ),
    )
        .prop_map(
            |((time, observed, number, text), body, attributes, (trace, span, flags))| LogRecord {
                time_unix_nano: time,
                observed_time_unix_nano: observed,
                severity_number: number,
                severity_text: text,
                body,
                attributes: attributes.into_iter().map(|(k, v)| kv(&k, v)).collect(),
                trace_id: trace,
                span_id: span,
                flags,
                ..Default::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn otlp_proto_records_are_each_kept_or_rejected_by_the_time_rule(
        records in proptest::collection::vec(log_record(), 0..8),
    ) {
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs { log_records: records.clone(), ..Default::default() }],
                ..Default::default()
            }],
        };
        let decoded = decode(Format::OtlpProto, &request.encode_to_vec()).expect("a valid request");
        check_logs(&decoded)?;
        let representable = |v: u64| i64::try_from(v).ok().filter(|&t| t != 0);
        let too_big = |v: u64| v > i64::MAX as u64;
        let mut logs = decoded.logs.iter();
        let mut errors = decoded.errors.iter();
        for (i, r) in records.iter().enumerate() {
            if too_big(r.time_unix_nano) || too_big(r.observed_time_unix_nano) {
                let e = errors.next().expect("an error for this record");
                prop_assert_eq!(e.index, i);
                let field = if too_big(r.time_unix_nano) { "timeUnixNano" } else { "observedTimeUnixNano" };
                prop_assert_eq!(e.field.as_str(), field);
                continue;
            }
            let log = logs.next().expect("a log for this record");
            let observed = representable(r.observed_time_unix_nano);
            prop_assert_eq!(log.timestamp, representable(r.time_unix_nano).or(observed));
            prop_assert_eq!(log.observed_timestamp, observed);
            let trace: [u8; 16] = r.trace_id.as_slice().try_into().unwrap_or([0; 16]);
            let span: [u8; 8] = r.span_id.as_slice().try_into().unwrap_or([0; 8]);
            prop_assert_eq!(log.trace_id, trace);
            prop_assert_eq!(log.span_id, span);
            prop_assert_eq!(log.trace_flags, r.flags);
            if r.severity_number > 0 {
                prop_assert_eq!(log.severity_text, Severity::from_number(r.severity_number));
            }
            if let Some(Value::StringValue(text)) = r.body.as_ref().and_then(|b| b.value.as_ref()) {
                prop_assert_eq!(&log.body, text);
            }
        }
        prop_assert!(logs.next().is_none());
        prop_assert!(errors.next().is_none());
    }
}

#[test]
fn the_fast_scanner_reads_the_usual_shapes_itself() {
    // Not vacuous: these lines take the fast path (and agree with the reference).
    assert!(check_fast_path(FAST_LINE.as_bytes()).expect("agrees"));
    // `null` in a scalar field is the field absent; `-0` is not an integer (serde_json reads it as a float).
    let nulls = r#"{"timestamp":null,"observed_timestamp":null,"severity_text":null,"severity_number":null,"service_name":null,"body":null,"trace_id":null,"span_id":null,"trace_flags":null,"instrumentation_scope":null,"event_name":null}"#;
    assert!(check_fast_path(nulls.as_bytes()).expect("agrees"));
    let absent = jsonl::decode_line_reference(0, b"{}").expect("an empty object is a record");
    assert_eq!(
        jsonl::decode_line_fast(0, nulls.as_bytes()),
        Some(Ok(absent))
    );
    for field in [
        "severity_number",
        "timestamp",
        "observed_timestamp",
        "trace_flags",
    ] {
        let line = format!("{{\"{field}\":-0}}");
        let fast = jsonl::decode_line_fast(0, line.as_bytes()).expect("scanned");
        assert_eq!(fast.map_err(|e| e.field), Err(field.to_owned()), "{line}");
    }
    let loghub = crate::common::loghub_bytes();
    for (i, line) in loghub
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
    {
        let fast = jsonl::decode_line_fast(i, line).expect("LogHub lines take the fast path");
        assert_eq!(fast, jsonl::decode_line_reference(i, line));
    }
    // Mutations that keep the fast path's shape still agree; count how many stayed on it.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut on_fast_path = 0;
    for _ in 0..2_000 {
        let edits = proptest::collection::vec(edit(), 1..3)
            .new_tree(&mut runner)
            .expect("strategy")
            .current();
        let input = apply(FAST_LINE.as_bytes().to_vec(), &edits);
        if check_fast_path(&input).expect("agrees") {
            on_fast_path += 1;
        }
    }
    assert!(
        on_fast_path > 200,
        "only {on_fast_path} of 2000 mutated lines took the fast path"
    );
}
