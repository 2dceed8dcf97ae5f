//! OTLP protobuf: requests built with the official `opentelemetry-proto` structs, encoded with prost, decoded with
//! `Format::OtlpProto` and `Format::Auto`.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use quarry_core::{DecodeError, Decoded, DecodedLog, Format, RecordError, Severity, decode};

use crate::common::{NOV_1_2026_NS, attrs};

pub(crate) fn any(value: Value) -> AnyValue {
    AnyValue { value: Some(value) }
}

pub(crate) fn string(s: &str) -> AnyValue {
    any(Value::StringValue(s.to_owned()))
}

pub(crate) fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        ..Default::default()
    }
}

fn resource(attributes: Vec<KeyValue>) -> Option<Resource> {
    Some(Resource {
        attributes,
        ..Default::default()
    })
}

fn scope(name: &str, version: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.to_owned(),
        version: version.to_owned(),
        ..Default::default()
    })
}

const T0: u64 = NOV_1_2026_NS as u64;

/// The records of the first scope of the main request, in order.
fn checkout_records() -> Vec<LogRecord> {
    vec![
        // 0: everything set; string body; attributes of every non-string type.
        LogRecord {
            time_unix_nano: T0 + 1,
            observed_time_unix_nano: T0 + 2,
            severity_number: 9,
            severity_text: "INFO".to_owned(),
            body: Some(string("order placed")),
            attributes: vec![
                kv("count", any(Value::IntValue(-42))),
                kv("ratio", any(Value::DoubleValue(0.5))),
                kv("ok", any(Value::BoolValue(true))),
                kv(
                    "tags",
                    any(Value::ArrayValue(ArrayValue {
                        values: vec![
                            string("a"),
                            any(Value::IntValue(1)),
                            any(Value::BoolValue(false)),
                        ],
                    })),
                ),
                kv("dup", string("first")),
                kv("dup", string("second")),
                // No value at all, and an AnyValue without a value: both dropped.
                KeyValue {
                    key: "no.value".to_owned(),
                    value: None,
                    ..Default::default()
                },
                kv("empty.value", AnyValue { value: None }),
                kv("s", string("")),
            ],
            flags: 1,
            trace_id: (1..=16).collect(),
            span_id: (101..=108).collect(),
            event_name: "checkout.done".to_owned(),
            ..Default::default()
        },
        // 1: no event time, observed time set: the timestamp is the observed time. Key/value list body.
        LogRecord {
            time_unix_nano: 0,
            observed_time_unix_nano: T0 + 3_000,
            body: Some(any(Value::KvlistValue(KeyValueList {
                values: vec![
                    kv("b", any(Value::IntValue(2))),
                    kv("a", string("x")),
                    kv(
                        "nested",
                        any(Value::KvlistValue(KeyValueList { values: vec![] })),
                    ),
                    KeyValue {
                        key: "none".to_owned(),
                        value: None,
                        ..Default::default()
                    },
                ],
            }))),
            ..Default::default()
        },
        // 2: neither time: both None. Array body.
        LogRecord {
            body: Some(any(Value::ArrayValue(ArrayValue {
                values: vec![
                    any(Value::IntValue(1)),
                    string("two"),
                    any(Value::BoolValue(true)),
                    any(Value::DoubleValue(2.5)),
                    any(Value::ArrayValue(ArrayValue { values: vec![] })),
                ],
            }))),
            ..Default::default()
        },
        // 3: severity number 17 with a free text: error/17. Int body.
        LogRecord {
            time_unix_nano: T0,
            severity_number: 17,
            severity_text: "whatever".to_owned(),
            body: Some(any(Value::IntValue(i64::MIN))),
            ..Default::default()
        },
        // 4: double body; severity from text alone.
        LogRecord {
            time_unix_nano: T0,
            severity_text: "Warning".to_owned(),
            body: Some(any(Value::DoubleValue(-0.25))),
            ..Default::default()
        },
        // 5: bool body.
        LogRecord {
            time_unix_nano: T0,
            body: Some(any(Value::BoolValue(false))),
            ..Default::default()
        },
        // 6: bytes body, rendered as base64.
        LogRecord {
            time_unix_nano: T0,
            body: Some(any(Value::BytesValue(vec![0, 1, 2, 255]))),
            ..Default::default()
        },
        // 7: ids of the wrong length are the zero id; JSON-object string body carries a level.
        LogRecord {
            time_unix_nano: T0,
            trace_id: vec![1, 2, 3, 4, 5],
            span_id: vec![9; 16],
            body: Some(string(r#"{"level":"fatal"}"#)),
            ..Default::default()
        },
        // 8: no body at all.
        LogRecord {
            time_unix_nano: u64::try_from(i64::MAX).expect("fits"),
            ..Default::default()
        },
    ]
}

fn main_request() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![
            ResourceLogs {
                resource: resource(vec![
                    kv("service.name", string("checkout")),
                    kv("host.name", string("h-1")),
                    kv("process.pid", any(Value::IntValue(4242))),
                ]),
                scope_logs: vec![ScopeLogs {
                    scope: scope("lib", "1.2"),
                    log_records: checkout_records(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            // A resource without service.name, a scope with empty name and version.
            ResourceLogs {
                resource: resource(vec![kv("host.name", string("h-2"))]),
                scope_logs: vec![ScopeLogs {
                    scope: scope("", ""),
                    log_records: vec![LogRecord {
                        time_unix_nano: T0 + 9,
                        body: Some(string("anonymous")),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            },
            // No resource at all, no scope at all.
            ResourceLogs {
                resource: None,
                scope_logs: vec![ScopeLogs {
                    scope: None,
                    log_records: vec![LogRecord {
                        time_unix_nano: T0 + 10,
                        body: Some(string("bare")),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    }
}

fn checkout_log(overrides: impl FnOnce(&mut DecodedLog)) -> DecodedLog {
    let mut log = DecodedLog {
        timestamp: Some(NOV_1_2026_NS),
        observed_timestamp: None,
        trace_id: [0; 16],
        span_id: [0; 8],
        trace_flags: 0,
        severity_text: Severity::Info,
        severity_number: 9,
        service_name: "checkout".to_owned(),
        body: String::new(),
        attributes: Default::default(),
        resource_attributes: attrs(&[
            ("host.name", "h-1"),
            ("process.pid", "4242"),
            ("service.name", "checkout"),
        ]),
        instrumentation_scope: "lib@1.2".to_owned(),
        event_name: String::new(),
        bytes_uncompressed: 0,
    };
    overrides(&mut log);
    // Resource attributes: host.name+h-1 = 12, process.pid+4242 = 15, service.name+checkout = 20.
    log.bytes_uncompressed += 12 + 15 + 20 + log.body.len() as u64;
    log
}

fn expected_main_logs() -> Vec<DecodedLog> {
    vec![
        checkout_log(|l| {
            l.timestamp = Some(NOV_1_2026_NS + 1);
            l.observed_timestamp = Some(NOV_1_2026_NS + 2);
            l.trace_id = std::array::from_fn(|i| i as u8 + 1);
            l.span_id = std::array::from_fn(|i| i as u8 + 101);
            l.trace_flags = 1;
            l.body = "order placed".to_owned();
            l.attributes = attrs(&[
                ("count", "-42"),
                ("dup", "second"),
                ("ok", "true"),
                ("ratio", "0.5"),
                ("s", ""),
                ("tags", r#"["a",1,false]"#),
            ]);
            l.event_name = "checkout.done".to_owned();
            // count-42 8, dupsecond 9, oktrue 6, ratio0.5 8, s 1, tags["a",1,false] 17.
            l.bytes_uncompressed = 8 + 9 + 6 + 8 + 1 + 17;
        }),
        checkout_log(|l| {
            l.timestamp = Some(NOV_1_2026_NS + 3_000);
            l.observed_timestamp = Some(NOV_1_2026_NS + 3_000);
            l.body = r#"{"a":"x","b":2,"nested":{},"none":null}"#.to_owned();
        }),
        checkout_log(|l| {
            l.timestamp = None;
            l.body = r#"[1,"two",true,2.5,[]]"#.to_owned();
        }),
        checkout_log(|l| {
            l.severity_text = Severity::Error;
            l.severity_number = 17;
            l.body = "-9223372036854775808".to_owned();
        }),
        checkout_log(|l| {
            l.severity_text = Severity::Warn;
            l.severity_number = 13;
            l.body = "-0.25".to_owned();
        }),
        checkout_log(|l| l.body = "false".to_owned()),
        checkout_log(|l| l.body = "AAEC/w==".to_owned()),
        checkout_log(|l| {
            l.severity_text = Severity::Fatal;
            l.severity_number = 21;
            l.body = r#"{"level":"fatal"}"#.to_owned();
        }),
        checkout_log(|l| l.timestamp = Some(i64::MAX)),
        DecodedLog {
            timestamp: Some(NOV_1_2026_NS + 9),
            observed_timestamp: None,
            trace_id: [0; 16],
            span_id: [0; 8],
            trace_flags: 0,
            severity_text: Severity::Info,
            severity_number: 9,
            service_name: String::new(),
            body: "anonymous".to_owned(),
            attributes: Default::default(),
            resource_attributes: attrs(&[("host.name", "h-2"), ("service.name", "")]),
            instrumentation_scope: String::new(),
            event_name: String::new(),
            // anonymous 9, host.nameh-2 12, service.name 12.
            bytes_uncompressed: 9 + 12 + 12,
        },
        DecodedLog {
            timestamp: Some(NOV_1_2026_NS + 10),
            observed_timestamp: None,
            trace_id: [0; 16],
            span_id: [0; 8],
            trace_flags: 0,
            severity_text: Severity::Info,
            severity_number: 9,
            service_name: String::new(),
            body: "bare".to_owned(),
            attributes: Default::default(),
            resource_attributes: attrs(&[("service.name", "")]),
            instrumentation_scope: String::new(),
            event_name: String::new(),
            bytes_uncompressed: 4 + 12,
        },
    ]
}

#[test]
fn otlp_proto_maps_every_field_of_every_record() {
    let bytes = main_request().encode_to_vec();
    let decoded = decode(Format::OtlpProto, &bytes).expect("a valid request");
    assert_eq!(decoded.errors, Vec::<RecordError>::new());
    let expected = expected_main_logs();
    assert_eq!(decoded.logs.len(), expected.len());
    for (i, (got, want)) in decoded.logs.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "record {i}");
    }
}

#[test]
fn otlp_proto_auto_detects_and_decodes_the_same() {
    let bytes = main_request().encode_to_vec();
    assert_eq!(Format::detect(&bytes), Format::OtlpProto);
    assert_eq!(
        decode(Format::Auto, &bytes),
        decode(Format::OtlpProto, &bytes)
    );
    assert_eq!(
        decode(Format::Auto, &bytes).map(|d| d.logs.len()),
        Ok(expected_main_logs().len())
    );
}

#[test]
fn otlp_proto_empty_request_has_no_records() {
    let bytes = ExportLogsServiceRequest::default().encode_to_vec();
    assert!(bytes.is_empty());
    assert_eq!(decode(Format::OtlpProto, &bytes), Ok(Decoded::default()));
    assert_eq!(decode(Format::Auto, &bytes), Ok(Decoded::default()));
}

#[test]
fn otlp_proto_garbage_is_a_protobuf_decode_error() {
    for garbage in [&[0xff_u8; 7][..], b"\x0a\x05abc", b"\x08"] {
        match decode(Format::OtlpProto, garbage) {
            Err(DecodeError::Protobuf { reason }) => assert!(!reason.is_empty()),
            other => panic!("{garbage:?}: expected a protobuf error, got {other:?}"),
        }
        assert!(
            matches!(
                decode(Format::Auto, garbage),
                Err(DecodeError::Protobuf { .. })
            ),
            "{garbage:?}"
        );
    }
}

#[test]
fn otlp_proto_time_past_i64_is_a_record_error_and_other_records_are_kept() {
    let record = |time: u64, observed: u64, body: &str| LogRecord {
        time_unix_nano: time,
        observed_time_unix_nano: observed,
        body: Some(string(body)),
        ..Default::default()
    };
    let too_big = u64::try_from(i64::MAX).expect("fits") + 1;
    let request = ExportLogsServiceRequest {
        resource_logs: vec![
            ResourceLogs {
                resource: resource(vec![kv("service.name", string("api"))]),
                scope_logs: vec![
                    ScopeLogs {
                        scope: scope("a", "1"),
                        log_records: vec![record(T0, 0, "r0"), record(too_big, 0, "r1")],
                        ..Default::default()
                    },
                    ScopeLogs {
                        scope: scope("b", "2"),
                        log_records: vec![record(T0, 0, "r2"), record(T0, u64::MAX, "r3")],
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            ResourceLogs {
                resource: None,
                scope_logs: vec![ScopeLogs {
                    log_records: vec![record(u64::MAX, u64::MAX, "r4"), record(T0, T0, "r5")],
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    };
    let decoded = decode(Format::OtlpProto, &request.encode_to_vec()).expect("a valid request");
    let bodies: Vec<&str> = decoded.logs.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(bodies, ["r0", "r2", "r5"]);
    let scopes: Vec<&str> = decoded
        .logs
        .iter()
        .map(|l| l.instrumentation_scope.as_str())
        .collect();
    assert_eq!(scopes, ["a@1", "b@2", ""]);
    let reason = "nanoseconds past year 2262 are not representable";
    let error = |index: usize, field: &str| RecordError {
        index,
        field: field.to_owned(),
        reason: reason.to_owned(),
    };
    // Indices are positions among all log records of the request, across scopes and resources.
    assert_eq!(
        decoded.errors,
        [
            error(1, "timeUnixNano"),
            error(3, "observedTimeUnixNano"),
            error(4, "timeUnixNano"),
        ]
    );
}

#[test]
fn otlp_proto_non_finite_doubles_render_as_text() {
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.0, 1e300]
                    .into_iter()
                    .map(|d| LogRecord {
                        body: Some(any(Value::DoubleValue(d))),
                        attributes: vec![kv(
                            "arr",
                            any(Value::ArrayValue(ArrayValue {
                                values: vec![any(Value::DoubleValue(d))],
                            })),
                        )],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let decoded = decode(Format::OtlpProto, &request.encode_to_vec()).expect("valid");
    let bodies: Vec<&str> = decoded.logs.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(bodies, ["NaN", "Infinity", "-Infinity", "1.0", "1e+300"]);
    let arrays: Vec<&str> = decoded
        .logs
        .iter()
        .map(|l| l.attributes.entry(0).1)
        .collect();
    assert_eq!(
        arrays,
        [
            r#"["NaN"]"#,
            r#"["Infinity"]"#,
            r#"["-Infinity"]"#,
            "[1.0]",
            "[1e+300]"
        ]
    );
}

#[test]
fn otlp_proto_long_event_name_and_scope_count_in_bytes_uncompressed() {
    let long_name = "n".repeat(48); // scope "n…n@1.0" is 52 bytes
    let event = "e".repeat(51);
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(vec![kv("service.name", string("svc"))]),
            scope_logs: vec![ScopeLogs {
                scope: scope(&long_name, "1.0"),
                log_records: vec![LogRecord {
                    body: Some(string("hi")),
                    event_name: event.clone(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let decoded = decode(Format::OtlpProto, &request.encode_to_vec()).expect("valid");
    let log = &decoded.logs[0];
    assert_eq!(log.instrumentation_scope, format!("{long_name}@1.0"));
    assert_eq!(log.event_name, event);
    // body 2 + service.namesvc 15 + scope 52 + event 51.
    assert_eq!(log.bytes_uncompressed, 2 + 15 + 52 + 51);
}

#[test]
fn otlp_proto_scope_with_only_name_or_only_version() {
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![
                ScopeLogs {
                    scope: scope("only-name", ""),
                    log_records: vec![LogRecord::default()],
                    ..Default::default()
                },
                ScopeLogs {
                    scope: scope("", "9"),
                    log_records: vec![LogRecord::default()],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
    };
    let decoded = decode(Format::OtlpProto, &request.encode_to_vec()).expect("valid");
    let scopes: Vec<&str> = decoded
        .logs
        .iter()
        .map(|l| l.instrumentation_scope.as_str())
        .collect();
    assert_eq!(scopes, ["only-name@", "@9"]);
}
