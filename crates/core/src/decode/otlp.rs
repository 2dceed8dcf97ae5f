//! OTLP logs, as protobuf or as OTLP/JSON, through the official protocol definitions of `opentelemetry-proto`.
//!
//! Mapping per spec §1.5: resource attributes (with `service.name` added, empty, when absent), `service_name` from
//! the resource's `service.name`, `instrumentation_scope = "{name}@{version}"` (`""` without a scope or when both
//! are empty), `event_name`, trace/span ids used only when exactly 16/8 bytes, body and attribute values rendered
//! as text (strings verbatim, other values compact JSON, bytes as base64 text), severity per spec §4.
//!
//! Timestamps: `time_unix_nano`, else `observed_time_unix_nano` (the OpenTelemetry data model's rule for a missing
//! event time), else the ingest time. The observation time is the client's when set (a collector in between sets
//! it meaningfully), else the ingest time.

use base64::Engine as _;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;

use super::{DecodeError, Decoded, RecordError, json_to_text};
use crate::ids::id_from_bytes;
use crate::record::{Attributes, AttributesBuilder, AttributesTooLarge, DecodedLog};
use crate::severity::normalize_severity;

/// Decodes one OTLP protobuf `ExportLogsServiceRequest`.
pub fn decode_proto(input: &[u8]) -> Result<Decoded, DecodeError> {
    let request = ExportLogsServiceRequest::decode(input).map_err(|e| DecodeError::Protobuf {
        reason: e.to_string(),
    })?;
    let mut out = Decoded::default();
    map_request(request, &mut 0, &mut out);
    Ok(out)
}

/// Decodes OTLP/JSON: one request document, or one request per line (PostHog's JSON Lines fallback). A line that
/// is not a request is one [`RecordError`] with field `record` and the line's 0-based number as index; record
/// indices of good lines continue across lines.
pub fn decode_json(input: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let mut next_index = 0;
    if let Ok(request) = serde_json::from_slice::<ExportLogsServiceRequest>(input) {
        map_request(request, &mut next_index, &mut out);
        return out;
    }
    for (line_no, line) in super::lines(input).enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if let Err(e) = std::str::from_utf8(line) {
            out.errors.push(RecordError::new(
                line_no,
                "record",
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            ));
            continue;
        }
        match serde_json::from_slice::<ExportLogsServiceRequest>(line) {
            Ok(request) => map_request(request, &mut next_index, &mut out),
            Err(e) => out.errors.push(RecordError::new(
                line_no,
                "record",
                format!("not an OTLP/JSON ExportLogsServiceRequest: {e}"),
            )),
        }
    }
    out
}

/// Maps every log record of `request`, numbering them from `*next_index`.
fn map_request(request: ExportLogsServiceRequest, next_index: &mut usize, out: &mut Decoded) {
    for resource_logs in request.resource_logs {
        let resource_attributes = resource_logs
            .resource
            .map(|r| attributes_to_text(r.attributes))
            .unwrap_or(Ok(Attributes::new()));
        let (resource_attributes, service_name) = match resource_attributes {
            Ok(mut attrs) => {
                let service_name = attrs.get("service.name").unwrap_or("").to_owned();
                super::jsonl::ensure_service_name(&mut attrs, &service_name);
                (Ok(attrs), service_name)
            }
            Err(e) => (Err(e), String::new()),
        };
        for scope_logs in resource_logs.scope_logs {
            let instrumentation_scope = match scope_logs.scope {
                Some(s) if !(s.name.is_empty() && s.version.is_empty()) => {
                    format!("{}@{}", s.name, s.version)
                }
                _ => String::new(),
            };
            for record in scope_logs.log_records {
                let index = *next_index;
                *next_index += 1;
                let to_i64 = |v: u64, field: &str| {
                    if v == 0 {
                        Ok(None)
                    } else {
                        i64::try_from(v).map(Some).map_err(|_| {
                            RecordError::new(
                                index,
                                field,
                                "nanoseconds past year 2262 are not representable",
                            )
                        })
                    }
                };
                let (time, observed) = match (
                    to_i64(record.time_unix_nano, "timeUnixNano"),
                    to_i64(record.observed_time_unix_nano, "observedTimeUnixNano"),
                ) {
                    (Ok(t), Ok(o)) => (t, o),
                    (Err(e), _) | (_, Err(e)) => {
                        out.errors.push(e);
                        continue;
                    }
                };
                let attributes = match (attributes_to_text(record.attributes), &resource_attributes)
                {
                    (Ok(a), Ok(_)) => a,
                    (Err(e), _) => {
                        out.errors
                            .push(RecordError::new(index, "attributes", e.to_string()));
                        continue;
                    }
                    (_, Err(e)) => {
                        out.errors.push(RecordError::new(
                            index,
                            "resource.attributes",
                            e.to_string(),
                        ));
                        continue;
                    }
                };
                let body = record
                    .body
                    .as_ref()
                    .map(any_value_to_text)
                    .unwrap_or_default();
                let (severity_text, severity_number) =
                    normalize_severity(&record.severity_text, record.severity_number, &body);
                let mut log = DecodedLog {
                    timestamp: time.or(observed),
                    observed_timestamp: observed,
                    trace_id: id_from_bytes(&record.trace_id),
                    span_id: id_from_bytes(&record.span_id),
                    trace_flags: record.flags,
                    severity_text,
                    severity_number,
                    service_name: service_name.clone(),
                    body,
                    attributes,
                    resource_attributes: resource_attributes.as_ref().cloned().unwrap_or_default(),
                    instrumentation_scope: instrumentation_scope.clone(),
                    event_name: record.event_name,
                    bytes_uncompressed: 0,
                };
                log.bytes_uncompressed = log.compute_bytes_uncompressed();
                out.logs.push(log);
            }
        }
    }
}

/// Key/value list → attributes (sorted, the last duplicate winning); entries without a value are dropped.
fn attributes_to_text(kvs: Vec<KeyValue>) -> Result<Attributes, AttributesTooLarge> {
    // Room for the keys and string values (other values are short once rendered, or rare).
    let bytes = kvs
        .iter()
        .map(
            |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => kv.key.len() + s.len(),
                _ => kv.key.len() + 16,
            },
        )
        .sum();
    let mut out = AttributesBuilder::with_capacity(kvs.len(), bytes);
    for kv in kvs {
        if let Some(value) = kv.value.as_ref().filter(|v| v.value.is_some()) {
            match &value.value {
                Some(any_value::Value::StringValue(s)) => out.push(&kv.key, s),
                _ => out.push(&kv.key, &any_value_to_text(value)),
            }
        }
    }
    out.finish()
}

/// An AnyValue as stored text: strings verbatim, everything else compact JSON (spec §1.2).
pub fn any_value_to_text(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        None => String::new(),
        Some(_) => json_to_text(&any_value_to_json(value)),
    }
}

/// An AnyValue as JSON: arrays and key/value lists nest, bytes become base64 text, non-finite doubles become the
/// text `NaN`, `Infinity`, `-Infinity` (JSON has no literal for them).
pub fn any_value_to_json(value: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &value.value {
        None => J::Null,
        Some(any_value::Value::StringValue(s)) => J::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => J::Bool(*b),
        Some(any_value::Value::IntValue(i)) => J::from(*i),
        Some(any_value::Value::DoubleValue(d)) => match serde_json::Number::from_f64(*d) {
            Some(n) => J::Number(n),
            None if d.is_nan() => J::String("NaN".into()),
            None if *d > 0.0 => J::String("Infinity".into()),
            None => J::String("-Infinity".into()),
        },
        Some(any_value::Value::ArrayValue(a)) => {
            J::Array(a.values.iter().map(any_value_to_json).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|e| {
                    (
                        e.key.clone(),
                        e.value.as_ref().map(any_value_to_json).unwrap_or(J::Null),
                    )
                })
                .collect(),
        ),
        Some(any_value::Value::BytesValue(b)) => {
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        // An index into a profiles string table, meaningless without that table (logs never carry one).
        Some(any_value::Value::StringValueStrindex(_)) => J::Null,
    }
}
