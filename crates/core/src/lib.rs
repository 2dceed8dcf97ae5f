//! quarry-core: the vocabulary of quarry, turning client input into log records.
//!
//! **Inputs**: bytes in one of three wire formats (flat JSON Lines, OTLP/JSON, OTLP protobuf). **Outputs**:
//! [`LogRecord`]s and their Arrow form ([`schema::records_to_batch`]). **Main types**: [`DecodedLog`] (what a
//! client sent, severity already normalised), [`Attributes`] (a record's key/value pairs, packed in one buffer),
//! [`Stamper`] (assigns UUIDv7, observation time and resource fingerprint from an injected [`Clock`]),
//! [`LogRecord`] (one stored row), [`Severity`].
//!
//! This crate does no I/O and knows nothing of storage or queries.
//!
//! # Example
//!
//! ```
//! use quarry_core::{decode, Format, IngestOptions, Stamper, Severity};
//!
//! let line = br#"{"timestamp":"2026-11-01T00:00:00Z","service_name":"api","severity_text":"WARNING","body":"slow"}"#;
//! let decoded = decode(Format::Auto, line)?;
//! assert!(decoded.errors.is_empty());
//! let mut stamper = Stamper::new(42, IngestOptions::default());
//! let record = stamper.stamp(decoded.logs[0].clone(), 1_793_491_200_000_000_000);
//! assert_eq!(record.severity_text, Severity::Warn);
//! assert_eq!(record.service_name, "api");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![doc(test(attr(deny(warnings))))]
#![warn(missing_docs)]

pub mod attributes;
pub mod decode;
pub mod ids;
pub mod ingest;
pub mod record;
pub mod schema;
pub mod severity;
pub mod time;

pub use decode::{DecodeError, Decoded, Format, RecordError, decode};
pub use ingest::{Clock, IngestOptions, ManualClock, Stamper, SystemClock};
pub use record::{Attributes, DecodedLog, LogRecord, TeamId};
pub use severity::{Severity, normalize_severity};
pub use time::{DateBound, DateError, TimeRange};

/// Nanoseconds per second.
pub const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// Nanoseconds per minute.
pub const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
/// Nanoseconds per hour.
pub const NANOS_PER_HOUR: i64 = 60 * NANOS_PER_MINUTE;
