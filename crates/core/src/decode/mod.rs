//! Decoders from the three wire formats quarry accepts to [`DecodedLog`]s.
//!
//! * [`Format::JsonLines`]: one flat record per line, the shape of `testdata/loghub/README.md` ([`jsonl`]).
//! * [`Format::OtlpJson`]: OTLP/JSON `ExportLogsServiceRequest`s, one document or one per line ([`otlp`]).
//! * [`Format::OtlpProto`]: one OTLP protobuf `ExportLogsServiceRequest` ([`otlp`]).
//!
//! A decoder never fails a whole batch for one bad record: it returns the good records and a [`RecordError`] per
//! bad one (its index, the field, the reason). Only input that cannot be split into records at all (a protobuf
//! message that does not parse) is a [`DecodeError`].

pub mod jsonl;
pub mod otlp;
mod scan;

use std::fmt;
use std::str::FromStr;

use crate::record::DecodedLog;

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Sniff the input ([`Format::detect`]).
    Auto,
    /// Flat JSON Lines records.
    JsonLines,
    /// OTLP/JSON, a whole document or one request per line.
    OtlpJson,
    /// OTLP protobuf, one request.
    OtlpProto,
}

impl Format {
    /// Picks the format of `input`:
    /// * not starting (after whitespace) with `{`: OTLP protobuf;
    /// * otherwise the first JSON value decides: an object with a `resourceLogs` key is OTLP/JSON, any other object
    ///   is JSON Lines. When `input` is only the head of a larger document (the value is cut off), a
    ///   `"resourceLogs"` key anywhere in the head decides instead;
    /// * text that starts with `{` but is not JSON: protobuf if it decodes as a request (a protobuf request starts
    ///   with byte 0x0a, a newline, and its length byte can be `{`), otherwise JSON Lines, so that each bad line is
    ///   reported.
    pub fn detect(input: &[u8]) -> Format {
        let Some(start) = input.iter().position(|b| !b.is_ascii_whitespace()) else {
            return Format::OtlpProto;
        };
        if input[start] != b'{' {
            return Format::OtlpProto;
        }
        let mut values = serde_json::Deserializer::from_slice(&input[start..])
            .into_iter::<std::collections::HashMap<
            std::borrow::Cow<'_, str>,
            serde::de::IgnoredAny,
        >>();
        match values.next() {
            Some(Ok(object)) => {
                if object.contains_key("resourceLogs") {
                    Format::OtlpJson
                } else {
                    Format::JsonLines
                }
            }
            Some(Err(e)) if e.is_eof() => {
                if contains(input, b"\"resourceLogs\"") {
                    Format::OtlpJson
                } else {
                    Format::JsonLines
                }
            }
            _ if input[0] == 0x0a && otlp::decode_proto(input).is_ok() => Format::OtlpProto,
            _ => Format::JsonLines,
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Auto => "auto",
            Format::JsonLines => "jsonl",
            Format::OtlpJson => "otlp-json",
            Format::OtlpProto => "otlp-proto",
        })
    }
}

impl FromStr for Format {
    type Err = DecodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "auto" => Format::Auto,
            "jsonl" | "json-lines" => Format::JsonLines,
            "otlp-json" => Format::OtlpJson,
            "otlp-proto" | "otlp-protobuf" => Format::OtlpProto,
            other => {
                return Err(DecodeError::UnknownFormat {
                    got: other.to_owned(),
                });
            }
        })
    }
}

/// One record that could not be decoded. The batch's other records are still accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {index}: {field}: {reason}")]
pub struct RecordError {
    /// The record's position: the 0-based line for line-oriented input, the 0-based position among all log records
    /// of the request for OTLP.
    pub index: usize,
    /// The offending field (`timestamp`, `attributes.http.status`, …), or `record` for the record as a whole.
    pub field: String,
    /// What was wrong and what was expected.
    pub reason: String,
}

impl RecordError {
    pub(crate) fn new(index: usize, field: impl Into<String>, reason: impl Into<String>) -> Self {
        RecordError {
            index,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Input that could not be split into records at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not an OTLP protobuf `ExportLogsServiceRequest`.
    #[error("not an OTLP protobuf ExportLogsServiceRequest: {reason}")]
    Protobuf {
        /// The protobuf decoder's message.
        reason: String,
    },
    /// A format name that is not one of `auto`, `jsonl`, `otlp-json`, `otlp-proto`.
    #[error("format: unknown format {got:?}; expected one of auto, jsonl, otlp-json, otlp-proto")]
    UnknownFormat {
        /// What was given.
        got: String,
    },
}

/// The outcome of decoding one input.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The records that decoded, in input order.
    pub logs: Vec<DecodedLog>,
    /// One entry per rejected record, in input order.
    pub errors: Vec<RecordError>,
}

/// Decodes `input` in `format` ([`Format::Auto`] sniffs it).
pub fn decode(format: Format, input: &[u8]) -> Result<Decoded, DecodeError> {
    match format {
        Format::Auto => decode(Format::detect(input), input),
        Format::JsonLines => Ok(jsonl::decode(input)),
        Format::OtlpJson => Ok(otlp::decode_json(input)),
        Format::OtlpProto => otlp::decode_proto(input),
    }
}

/// The lines of `input` (without their `\n`), found with a SIMD search.
pub(crate) fn lines(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', input);
    std::iter::from_fn(move || {
        if start > input.len() {
            return None;
        }
        let end = ends.next().unwrap_or(input.len());
        let line = &input[start..end];
        start = end + 1;
        Some(line)
    })
}

/// Renders a JSON value as stored text: strings verbatim, everything else compact JSON (spec §1.2).
pub(crate) fn json_to_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
