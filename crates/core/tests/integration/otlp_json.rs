//! OTLP/JSON: literal documents in the shape of the OTLP specification (camelCase keys, 64-bit integers as strings,
//! hex ids), pretty-printed and one request per line; and format detection.

use quarry_core::{Decoded, DecodedLog, Format, RecordError, Severity, decode};

use crate::common::{NOV_1_2026_NS, attrs, hex, jsonl};

/// The example of `opentelemetry-proto/examples/logs.json`, with the timestamp moved to 2026-11-01.
const SPEC_EXAMPLE: &str = r#"{
  "resourceLogs": [
    {
      "resource": {
        "attributes": [
          {
            "key": "service.name",
            "value": {
              "stringValue": "my.service"
            }
          }
        ]
      },
      "scopeLogs": [
        {
          "scope": {
            "name": "my.library",
            "version": "1.0.0",
            "attributes": [
              {
                "key": "my.scope.attribute",
                "value": {
                  "stringValue": "some scope attribute"
                }
              }
            ]
          },
          "logRecords": [
            {
              "timeUnixNano": "1793491200000000000",
              "observedTimeUnixNano": "1793491200000000500",
              "severityNumber": 10,
              "severityText": "Information",
              "traceId": "5B8EFFF798038103D269B633813FC60C",
              "spanId": "EEE19B7EC3C1B174",
              "body": {
                "stringValue": "Example log record"
              },
              "attributes": [
                {
                  "key": "string.attribute",
                  "value": {
                    "stringValue": "some string"
                  }
                },
                {
                  "key": "boolean.attribute",
                  "value": {
                    "boolValue": true
                  }
                },
                {
                  "key": "int.attribute",
                  "value": {
                    "intValue": "10"
                  }
                },
                {
                  "key": "double.attribute",
                  "value": {
                    "doubleValue": 637.704
                  }
                },
                {
                  "key": "array.attribute",
                  "value": {
                    "arrayValue": {
                      "values": [
                        {
                          "stringValue": "many"
                        },
                        {
                          "stringValue": "values"
                        }
                      ]
                    }
                  }
                },
                {
                  "key": "map.attribute",
                  "value": {
                    "kvlistValue": {
                      "values": [
                        {
                          "key": "some.map.key",
                          "value": {
                            "stringValue": "some value"
                          }
                        }
                      ]
                    }
                  }
                }
              ]
            }
          ]
        }
      ]
    }
  ]
}
"#;

fn spec_example_log() -> DecodedLog {
    let attributes = attrs(&[
        ("array.attribute", r#"["many","values"]"#),
        ("boolean.attribute", "true"),
        ("double.attribute", "637.704"),
        ("int.attribute", "10"),
        ("map.attribute", r#"{"some.map.key":"some value"}"#),
        ("string.attribute", "some string"),
    ]);
    let resource_attributes = attrs(&[("service.name", "my.service")]);
    let body = "Example log record".to_owned();
    let bytes = body.len()
        + attributes
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
        + "service.namemy.service".len();
    DecodedLog {
        timestamp: Some(NOV_1_2026_NS),
        observed_timestamp: Some(NOV_1_2026_NS + 500),
        trace_id: hex("5B8EFFF798038103D269B633813FC60C"),
        span_id: hex("EEE19B7EC3C1B174"),
        trace_flags: 0,
        severity_text: Severity::Info,
        severity_number: 10,
        service_name: "my.service".to_owned(),
        body,
        attributes,
        resource_attributes,
        instrumentation_scope: "my.library@1.0.0".to_owned(),
        event_name: String::new(),
        bytes_uncompressed: bytes as u64,
    }
}

#[test]
fn otlp_json_pretty_printed_spec_example_maps_every_field() {
    let decoded = decode(Format::OtlpJson, SPEC_EXAMPLE.as_bytes()).expect("never fails");
    assert_eq!(
        decoded,
        Decoded {
            logs: vec![spec_example_log()],
            errors: vec![],
        }
    );
    // Hand-computed size: body 18, attributes 16+11 + 17+4 + 16+7 + 13+2 + 15+17 + 13+29, resource 22.
    assert_eq!(
        decoded.logs[0].bytes_uncompressed,
        18 + (16 + 11) + (17 + 4) + (16 + 7) + (13 + 2) + (15 + 17) + (13 + 29) + 22
    );
    assert_eq!(Format::detect(SPEC_EXAMPLE.as_bytes()), Format::OtlpJson);
    assert_eq!(decode(Format::Auto, SPEC_EXAMPLE.as_bytes()), Ok(decoded));
}

/// One request per line: `service` with one record whose body is `body` and time `T0 + offset`.
fn request_line(service: &str, records: &[(&str, u64)]) -> String {
    let records: Vec<String> = records
        .iter()
        .map(|(body, offset)| {
            format!(
                r#"{{"timeUnixNano":"{}","body":{{"stringValue":"{body}"}},"attributes":[{{"key":"k","value":{{"intValue":"5"}}}}]}}"#,
                NOV_1_2026_NS as u64 + offset
            )
        })
        .collect();
    format!(
        r#"{{"resourceLogs":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"{service}"}}}}]}},"scopeLogs":[{{"scope":{{"name":"s","version":"1"}},"logRecords":[{}]}}]}}]}}"#,
        records.join(",")
    )
}

#[test]
fn otlp_json_lines_keep_good_requests_around_one_bad_line() {
    let input = [
        request_line("api", &[("a0", 0), ("a1", 1)]),
        String::new(),
        // Line 2: valid JSON, but resourceLogs is not an array.
        r#"{"resourceLogs":"nope"}"#.to_owned(),
        request_line("worker", &[("w0", 2)]),
        request_line("api", &[("a2", 3)]),
    ]
    .join("\n");
    let decoded = decode(Format::OtlpJson, input.as_bytes()).expect("never fails");
    let got: Vec<(&str, &str, Option<i64>)> = decoded
        .logs
        .iter()
        .map(|l| (l.service_name.as_str(), l.body.as_str(), l.timestamp))
        .collect();
    assert_eq!(
        got,
        [
            ("api", "a0", Some(NOV_1_2026_NS)),
            ("api", "a1", Some(NOV_1_2026_NS + 1)),
            ("worker", "w0", Some(NOV_1_2026_NS + 2)),
            ("api", "a2", Some(NOV_1_2026_NS + 3)),
        ]
    );
    for log in &decoded.logs {
        assert_eq!(log.attributes, attrs(&[("k", "5")]));
        assert_eq!(
            log.resource_attributes,
            attrs(&[("service.name", &log.service_name)])
        );
        assert_eq!(log.instrumentation_scope, "s@1");
        // body 2 + k5 2 + service.name + name.
        assert_eq!(
            log.bytes_uncompressed,
            (2 + 2 + 12 + log.service_name.len()) as u64
        );
    }
    assert_eq!(decoded.errors.len(), 1, "{:?}", decoded.errors);
    let error = &decoded.errors[0];
    assert_eq!((error.index, error.field.as_str()), (2, "record"));
    assert!(
        error.reason.starts_with(
            "not an OTLP/JSON ExportLogsServiceRequest: invalid type: string \"nope\""
        ),
        "{error}"
    );
    assert_eq!(Format::detect(input.as_bytes()), Format::OtlpJson);
    assert_eq!(decode(Format::Auto, input.as_bytes()), Ok(decoded));
}

#[test]
fn otlp_json_lines_line_that_is_not_json_is_a_record_error() {
    let input = [
        request_line("api", &[("first", 0)]),
        "{\"resourceLogs\": [".to_owned(),
        "   ".to_owned(),
        "garbage".to_owned(),
        request_line("api", &[("last", 1)]),
    ]
    .join("\n");
    let decoded = decode(Format::OtlpJson, input.as_bytes()).expect("never fails");
    let bodies: Vec<&str> = decoded.logs.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(bodies, ["first", "last"]);
    let where_: Vec<(usize, &str)> = decoded
        .errors
        .iter()
        .map(|e| (e.index, e.field.as_str()))
        .collect();
    assert_eq!(where_, [(1, "record"), (3, "record")]);
}

#[test]
fn otlp_json_lines_invalid_utf8_line_is_a_record_error() {
    let mut input = request_line("api", &[("ok", 0)]).into_bytes();
    input.extend_from_slice(b"\n{\"resourceLogs\":[],\"x\":\"\xfe\"}\n");
    input.extend_from_slice(request_line("api", &[("ok2", 1)]).as_bytes());
    let decoded = decode(Format::OtlpJson, &input).expect("never fails");
    assert_eq!(
        decoded.errors,
        [RecordError {
            index: 1,
            field: "record".to_owned(),
            reason: "invalid UTF-8 at byte 24".to_owned(),
        }]
    );
    let bodies: Vec<&str> = decoded.logs.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(bodies, ["ok", "ok2"]);
}

/// `(body, timestamp, observed_timestamp, severity_text, severity_number)` of a decoded record.
type TimeRow<'a> = (&'a str, Option<i64>, Option<i64>, Severity, i32);

#[test]
fn otlp_json_time_fallbacks_and_overflow() {
    let doc = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[
        {"observedTimeUnixNano":"1793491200000000007","body":{"stringValue":"observed only"}},
        {"body":{"stringValue":"no time"}},
        {"timeUnixNano":"18446744073709551615","body":{"stringValue":"too late"}},
        {"timeUnixNano":"1793491200000000001","severityNumber":17,"severityText":"whatever","body":{"stringValue":"kept"}}
    ]}]}]}"#;
    let decoded = decode(Format::OtlpJson, doc.as_bytes()).expect("never fails");
    let got: Vec<TimeRow<'_>> = decoded
        .logs
        .iter()
        .map(|l| {
            (
                l.body.as_str(),
                l.timestamp,
                l.observed_timestamp,
                l.severity_text,
                l.severity_number,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "observed only",
                Some(NOV_1_2026_NS + 7),
                Some(NOV_1_2026_NS + 7),
                Severity::Info,
                9
            ),
            ("no time", None, None, Severity::Info, 9),
            ("kept", Some(NOV_1_2026_NS + 1), None, Severity::Error, 17),
        ]
    );
    assert_eq!(
        decoded.errors,
        [RecordError {
            index: 2,
            field: "timeUnixNano".to_owned(),
            reason: "nanoseconds past year 2262 are not representable".to_owned(),
        }]
    );
    // No resource: service.name is added, empty. No scope: instrumentation_scope is empty.
    for log in &decoded.logs {
        assert_eq!(log.service_name, "");
        assert_eq!(log.resource_attributes, attrs(&[("service.name", "")]));
        assert_eq!(log.instrumentation_scope, "");
    }
}

#[test]
fn otlp_json_any_value_kinds_render_as_text() {
    let doc = r#"{"resourceLogs":[{"resource":{"attributes":[
            {"key":"host.name","value":{"stringValue":"h"}},
            {"key":"service.name","value":{"stringValue":"svc"}}]},
        "scopeLogs":[{"scope":{"name":"lib","version":"1.2"},"logRecords":[
        {"body":{"kvlistValue":{"values":[{"key":"z","value":{"intValue":"-3"}},{"key":"a","value":{"boolValue":false}}]}}},
        {"body":{"arrayValue":{"values":[{"doubleValue":1.5},{"stringValue":"s"},{"bytesValue":"AAEC/w=="}]}}},
        {"body":{"bytesValue":"AAEC/w=="}},
        {"body":{"intValue":"9007199254740993"}},
        {"body":{}},
        {"traceId":"0102030405","spanId":"","flags":257,"eventName":"evt","body":{"stringValue":"ids"}}
    ]}]}]}"#;
    let decoded = decode(Format::OtlpJson, doc.as_bytes()).expect("never fails");
    assert_eq!(decoded.errors, Vec::<RecordError>::new());
    let bodies: Vec<&str> = decoded.logs.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(
        bodies,
        [
            r#"{"a":false,"z":-3}"#,
            r#"[1.5,"s","AAEC/w=="]"#,
            "AAEC/w==",
            "9007199254740993",
            "",
            "ids",
        ]
    );
    let last = decoded.logs.last().expect("records");
    assert_eq!((last.trace_id, last.span_id), ([0; 16], [0; 8]));
    assert_eq!((last.trace_flags, last.event_name.as_str()), (257, "evt"));
    for log in &decoded.logs {
        assert_eq!(log.service_name, "svc");
        assert_eq!(
            log.resource_attributes,
            attrs(&[("host.name", "h"), ("service.name", "svc")])
        );
        assert_eq!(log.instrumentation_scope, "lib@1.2");
    }
}

/// Integers as JSON numbers: proto3's JSON mapping accepts them for 64-bit fields as well as strings.
#[test]
fn otlp_json_accepts_64_bit_integers_as_json_numbers() {
    let doc = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[
        {"timeUnixNano":1793491200000000000,"body":{"intValue":5},"attributes":[{"key":"n","value":{"intValue":-12}}]}
    ]}]}]}"#;
    let decoded = decode(Format::OtlpJson, doc.as_bytes()).expect("never fails");
    assert_eq!(decoded.errors, Vec::<RecordError>::new());
    assert_eq!(decoded.logs.len(), 1);
    let log = &decoded.logs[0];
    assert_eq!(log.timestamp, Some(NOV_1_2026_NS));
    assert_eq!(log.body, "5");
    assert_eq!(log.attributes, attrs(&[("n", "-12")]));
}

#[test]
fn otlp_json_document_that_is_not_a_request_yields_only_errors() {
    // A pretty-printed document with a bad field cannot be parsed whole; it is retried line by line and every
    // line fails.
    let bad = SPEC_EXAMPLE.replace(r#""severityNumber": 10"#, r#""severityNumber": "ten""#);
    assert_ne!(bad, SPEC_EXAMPLE);
    let decoded = decode(Format::OtlpJson, bad.as_bytes()).expect("never fails");
    assert!(decoded.logs.is_empty());
    assert!(!decoded.errors.is_empty());
    assert!(decoded.errors.iter().all(|e| e.field == "record"));
}

#[test]
fn format_detection_of_each_wire_format() {
    assert_eq!(Format::detect(SPEC_EXAMPLE.as_bytes()), Format::OtlpJson);
    assert_eq!(
        Format::detect(request_line("api", &[("x", 0)]).as_bytes()),
        Format::OtlpJson
    );
    assert_eq!(
        Format::detect(b"  \n\t{\"resourceLogs\":[]}"),
        Format::OtlpJson
    );
    assert_eq!(
        Format::detect(br#"{"body":"x","service_name":"api"}"#),
        Format::JsonLines
    );
    assert_eq!(
        Format::detect(b"\n\n{\"timestamp\":1}\n{\"body\":2}\n"),
        Format::JsonLines
    );
    // Binary and other non-object text go to protobuf.
    assert_eq!(Format::detect(&[0x0a, 0x02, 0x12, 0x00]), Format::OtlpProto);
    assert_eq!(Format::detect(b""), Format::OtlpProto);
    assert_eq!(Format::detect(b"[1,2]"), Format::OtlpProto);
    // Format names.
    for (name, format) in [
        ("auto", Format::Auto),
        ("jsonl", Format::JsonLines),
        ("otlp-json", Format::OtlpJson),
        ("otlp-proto", Format::OtlpProto),
    ] {
        assert_eq!(name.parse::<Format>(), Ok(format));
        assert_eq!(format.to_string(), name);
    }
    assert_eq!("json-lines".parse::<Format>(), Ok(Format::JsonLines));
    assert_eq!("otlp-protobuf".parse::<Format>(), Ok(Format::OtlpProto));
    assert!("csv".parse::<Format>().is_err());
}

#[test]
fn flat_records_decoded_as_jsonl_not_as_otlp() {
    let line = br#"{"body":"flat","service_name":"api"}"#;
    let auto = decode(Format::Auto, line).expect("never fails");
    assert_eq!(auto, jsonl(line));
    assert_eq!(auto.logs[0].body, "flat");
}

#[test]
fn detection_reads_keys_not_substrings() {
    // A flat record that merely mentions resourceLogs is JSON Lines.
    let flat = b"{\"body\":\"a\",\"note\":\"resourceLogs\"}\n{\"body\":\"b\"}\n";
    assert_eq!(Format::detect(flat), Format::JsonLines);
    assert_eq!(decode(Format::Auto, flat).unwrap().logs.len(), 2);
    // The head of a large OTLP/JSON document, cut off mid-value, is still OTLP/JSON.
    let doc = SPEC_EXAMPLE.as_bytes();
    assert_eq!(Format::detect(&doc[..doc.len() / 2]), Format::OtlpJson);
}

#[test]
fn protobuf_whose_length_byte_is_a_brace_is_detected_as_protobuf() {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    let string = |s: &str| {
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(s.to_owned())),
        })
    };
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: string(&"x".repeat(88)),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    body: string("hello"),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let bytes = prost::Message::encode_to_vec(&request);
    assert_eq!(&bytes[..2], &[0x0a, b'{'], "the case under test");
    assert_eq!(Format::detect(&bytes), Format::OtlpProto);
    assert_eq!(decode(Format::Auto, &bytes).unwrap().logs.len(), 1);
}
