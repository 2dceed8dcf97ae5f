//! The log record as quarry stores it ([`LogRecord`]) and as a client sends it ([`DecodedLog`]).
//!
//! The fields follow PostHog's `logs` table (spec §1.1) with three deliberate departures, all for exactness:
//! timestamps keep OTLP's nanoseconds, trace and span ids are raw bytes (rendered as uppercase hex on output), and
//! attribute values are the *text rendering* of the sent value (strings verbatim, everything else compact JSON),
//! as spec §1.2 recommends for a re-implementation.

use crate::severity::Severity;

pub use crate::attributes::{Attributes, AttributesBuilder, AttributesTooLarge};

/// The value of `key` in an attribute set (the same as [`Attributes::get`]).
pub fn attribute<'a>(attrs: &'a Attributes, key: &str) -> Option<&'a str> {
    attrs.get(key)
}

/// A 16-byte W3C trace id; all zero means "none" (spec §1.5).
pub type TraceId = [u8; 16];
/// An 8-byte W3C span id; all zero means "none".
pub type SpanId = [u8; 8];

/// One log record as decoded from a client, before ingest stamps it (see [`crate::ingest::Stamper`]).
///
/// Severity is already normalised (spec §4) and `service.name` is already present in `resource_attributes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedLog {
    /// Event time in nanoseconds since the Unix epoch; `None` when the client sent none (ingest uses its `now`).
    pub timestamp: Option<i64>,
    /// Observation time sent by the client, if any (ingest uses its `now` otherwise).
    pub observed_timestamp: Option<i64>,
    /// Trace id, zero when absent or invalid.
    pub trace_id: TraceId,
    /// Span id, zero when absent or invalid.
    pub span_id: SpanId,
    /// OTLP `flags`.
    pub trace_flags: u32,
    /// Normalised severity.
    pub severity_text: Severity,
    /// Stored severity number (spec §4).
    pub severity_number: i32,
    /// `service.name` of the resource, `""` when absent.
    pub service_name: String,
    /// The body as text.
    pub body: String,
    /// Log attributes, normalised.
    pub attributes: Attributes,
    /// Resource attributes, normalised, always containing `service.name`.
    pub resource_attributes: Attributes,
    /// `"{scope.name}@{scope.version}"`, `""` without a scope.
    pub instrumentation_scope: String,
    /// OTLP `event_name`.
    pub event_name: String,
    /// Uncompressed size as PostHog bills it (spec §1.5): body, every resource and log attribute key and value,
    /// plus `instrumentation_scope` and `event_name` when longer than 50 bytes.
    pub bytes_uncompressed: u64,
}

impl DecodedLog {
    /// Computes [`DecodedLog::bytes_uncompressed`] from the other fields (spec §1.5).
    pub fn compute_bytes_uncompressed(&self) -> u64 {
        let attrs = |a: &Attributes| a.text_len();
        let long = |s: &str| if s.len() > 50 { s.len() } else { 0 };
        (self.body.len()
            + attrs(&self.attributes)
            + attrs(&self.resource_attributes)
            + long(&self.instrumentation_scope)
            + long(&self.event_name)) as u64
    }
}

/// One stored log record: a [`DecodedLog`] stamped at ingest with its id, observation time and resource
/// fingerprint. This is one row of the Arrow schema in [`crate::schema`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// UUIDv7 assigned at ingest; unique, and increasing in ingest order within one engine.
    pub uuid: [u8; 16],
    /// Event time, nanoseconds since the Unix epoch (UTC).
    pub timestamp: i64,
    /// Observation time, nanoseconds since the Unix epoch (UTC).
    pub observed_timestamp: i64,
    /// Trace id, zero when absent.
    pub trace_id: TraceId,
    /// Span id, zero when absent.
    pub span_id: SpanId,
    /// OTLP `flags`.
    pub trace_flags: u32,
    /// Normalised severity (spec §4).
    pub severity_text: Severity,
    /// Stored severity number (spec §4).
    pub severity_number: i32,
    /// `service.name`, `""` when absent.
    pub service_name: String,
    /// The body as text.
    pub body: String,
    /// Log attributes, sorted by key.
    pub attributes: Attributes,
    /// Resource attributes, sorted by key, containing `service.name`.
    pub resource_attributes: Attributes,
    /// Stable hash of `resource_attributes` ([`crate::ingest::resource_fingerprint`]).
    pub resource_fingerprint: u64,
    /// `"{scope.name}@{scope.version}"` or `""`.
    pub instrumentation_scope: String,
    /// OTLP `event_name`.
    pub event_name: String,
    /// Uncompressed size as PostHog bills it (spec §1.5).
    pub bytes_uncompressed: u64,
}

impl LogRecord {
    /// The UUID as the standard hyphenated lowercase text.
    pub fn uuid_string(&self) -> String {
        uuid::Uuid::from_bytes(self.uuid).to_string()
    }

    /// An estimate of the record's in-memory size, used for memtable accounting.
    pub fn approx_size(&self) -> usize {
        let attrs = |a: &Attributes| a.memory_size() - std::mem::size_of::<Attributes>();
        std::mem::size_of::<Self>()
            + self.service_name.len()
            + self.body.len()
            + self.instrumentation_scope.len()
            + self.event_name.len()
            + attrs(&self.attributes)
            + attrs(&self.resource_attributes)
    }
}

/// A tenant. Every stored row belongs to exactly one team, and every file lives under its team's directory
/// (`team=<id>`), so no read of one team can touch another's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeamId(pub u32);

impl std::fmt::Display for TeamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
