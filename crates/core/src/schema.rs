//! The Arrow schema of stored logs and conversions between [`LogRecord`]s and Arrow [`RecordBatch`]es.
//!
//! This schema is what the Parquet files hold, so DuckDB, Polars and Spark see the same columns:
//!
//! | column | Arrow type | notes |
//! |---|---|---|
//! | `service_name` | Utf8 | |
//! | `severity_text` | Utf8 | one of the seven stored names |
//! | `timestamp` | Timestamp(ns, UTC) | sort key (within each severity group, see below) |
//! | `observed_timestamp` | Timestamp(ns, UTC) | |
//! | `uuid` | FixedSizeBinary(16) | UUIDv7, sort key after `timestamp` |
//! | `trace_id` | FixedSizeBinary(16) | all zero = none |
//! | `span_id` | FixedSizeBinary(8) | all zero = none |
//! | `trace_flags` | UInt32 | |
//! | `severity_number` | Int32 | |
//! | `body` | Utf8 | |
//! | `attributes` | Map(Utf8 → Utf8) | keys sorted, unique |
//! | `resource_attributes` | Map(Utf8 → Utf8) | keys sorted, unique, always has `service.name` |
//! | `resource_fingerprint` | UInt64 | |
//! | `instrumentation_scope` | Utf8 | |
//! | `event_name` | Utf8 | |
//! | `bytes_uncompressed` | UInt64 | |
//!
//! Rows in a file are sorted by (severity group, `timestamp`, `uuid`): `error` and `fatal` rows after all others,
//! each group in row groups of its own (`quarry_index::file_order_key`), which the files' `sorting_columns` state
//! per row group.
//!
//! No column is nullable. The team, date and hour are not columns: they are the hive-style directories above each
//! file (`team=1/date=2026-11-01/hour=00`), which readers turn into columns themselves.

use std::sync::{Arc, LazyLock};

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeBinaryArray, FixedSizeBinaryBuilder, Int32Array, MapArray,
    MapBuilder, MapFieldNames, RecordBatch, StringArray, StringBuilder, TimestampNanosecondArray,
    UInt32Array, UInt64Array,
};
use arrow::datatypes::{
    DataType, Field, Int32Type, Schema, SchemaRef, TimeUnit, UInt32Type, UInt64Type,
};
use arrow::error::ArrowError;

use crate::record::{Attributes, AttributesBuilder, LogRecord};
use crate::severity::Severity;

/// Column names, so that no other crate spells them by hand.
pub mod columns {
    #![allow(missing_docs)]
    pub const SERVICE_NAME: &str = "service_name";
    pub const SEVERITY_TEXT: &str = "severity_text";
    pub const TIMESTAMP: &str = "timestamp";
    pub const OBSERVED_TIMESTAMP: &str = "observed_timestamp";
    pub const UUID: &str = "uuid";
    pub const TRACE_ID: &str = "trace_id";
    pub const SPAN_ID: &str = "span_id";
    pub const TRACE_FLAGS: &str = "trace_flags";
    pub const SEVERITY_NUMBER: &str = "severity_number";
    pub const BODY: &str = "body";
    pub const ATTRIBUTES: &str = "attributes";
    pub const RESOURCE_ATTRIBUTES: &str = "resource_attributes";
    pub const RESOURCE_FINGERPRINT: &str = "resource_fingerprint";
    pub const INSTRUMENTATION_SCOPE: &str = "instrumentation_scope";
    pub const EVENT_NAME: &str = "event_name";
    pub const BYTES_UNCOMPRESSED: &str = "bytes_uncompressed";
}

fn map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    map_builder_with_capacity(0, 0, 0, 0)
}

/// A map builder sized for `rows` maps of `entries` entries in all, with `key_bytes` and `value_bytes` of text.
fn map_builder_with_capacity(
    rows: usize,
    entries: usize,
    key_bytes: usize,
    value_bytes: usize,
) -> MapBuilder<StringBuilder, StringBuilder> {
    let names = MapFieldNames {
        entry: "key_value".into(),
        key: "key".into(),
        value: "value".into(),
    };
    MapBuilder::with_capacity(
        Some(names),
        StringBuilder::with_capacity(entries, key_bytes),
        StringBuilder::with_capacity(entries, value_bytes),
        rows,
    )
    .with_values_field(Arc::new(Field::new("value", DataType::Utf8, false)))
}

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    use columns::*;
    let map_type = map_builder().finish().data_type().clone();
    Arc::new(Schema::new(vec![
        Field::new(SERVICE_NAME, DataType::Utf8, false),
        Field::new(SEVERITY_TEXT, DataType::Utf8, false),
        Field::new(TIMESTAMP, timestamp_type(), false),
        Field::new(OBSERVED_TIMESTAMP, timestamp_type(), false),
        Field::new(UUID, DataType::FixedSizeBinary(16), false),
        Field::new(TRACE_ID, DataType::FixedSizeBinary(16), false),
        Field::new(SPAN_ID, DataType::FixedSizeBinary(8), false),
        Field::new(TRACE_FLAGS, DataType::UInt32, false),
        Field::new(SEVERITY_NUMBER, DataType::Int32, false),
        Field::new(BODY, DataType::Utf8, false),
        Field::new(ATTRIBUTES, map_type.clone(), false),
        Field::new(RESOURCE_ATTRIBUTES, map_type, false),
        Field::new(RESOURCE_FINGERPRINT, DataType::UInt64, false),
        Field::new(INSTRUMENTATION_SCOPE, DataType::Utf8, false),
        Field::new(EVENT_NAME, DataType::Utf8, false),
        Field::new(BYTES_UNCOMPRESSED, DataType::UInt64, false),
    ]))
});

/// The schema of stored logs (see the module docs).
pub fn log_schema() -> SchemaRef {
    Arc::clone(&SCHEMA)
}

/// Builds a [`RecordBatch`] of `records` (owned or borrowed) in the order given.
///
/// One pass over the records fills every column: a flush converts tens of thousands of records spread over the
/// heap, and a pass per column read each record sixteen times from memory instead of once.
pub fn records_to_batch<R: std::borrow::Borrow<LogRecord>>(
    records: &[R],
) -> Result<RecordBatch, ArrowError> {
    let n = records.len();
    // Capacities from the records' own fields (lengths live in the records, not behind their pointers). A map's
    // text is its keys and values together: each of its two builders gets room for all of it.
    let (mut service, mut body, mut scope, mut event) = (0, 0, 0, 0);
    let (mut log_entries, mut log_text, mut res_entries, mut res_text) = (0, 0, 0, 0);
    for r in records {
        let r = r.borrow();
        service += r.service_name.len();
        body += r.body.len();
        scope += r.instrumentation_scope.len();
        event += r.event_name.len();
        log_entries += r.attributes.len();
        log_text += r.attributes.text_len();
        res_entries += r.resource_attributes.len();
        res_text += r.resource_attributes.text_len();
    }
    let mut service = StringBuilder::with_capacity(n, service);
    let mut severity = StringBuilder::with_capacity(n, 5 * n);
    let mut timestamp = Vec::with_capacity(n);
    let mut observed = Vec::with_capacity(n);
    let mut uuid = FixedSizeBinaryBuilder::with_capacity(n, 16);
    let mut trace = FixedSizeBinaryBuilder::with_capacity(n, 16);
    let mut span = FixedSizeBinaryBuilder::with_capacity(n, 8);
    let mut flags = Vec::with_capacity(n);
    let mut number = Vec::with_capacity(n);
    let mut body = StringBuilder::with_capacity(n, body);
    let mut attrs = map_builder_with_capacity(n, log_entries, log_text, log_text);
    let mut resource = map_builder_with_capacity(n, res_entries, res_text, res_text);
    let mut fingerprint = Vec::with_capacity(n);
    let mut scope = StringBuilder::with_capacity(n, scope);
    let mut event = StringBuilder::with_capacity(n, event);
    let mut bytes = Vec::with_capacity(n);
    for r in records {
        let r = r.borrow();
        service.append_value(&r.service_name);
        severity.append_value(r.severity_text.as_str());
        timestamp.push(r.timestamp);
        observed.push(r.observed_timestamp);
        uuid.append_value(r.uuid)?;
        trace.append_value(r.trace_id)?;
        span.append_value(r.span_id)?;
        flags.push(r.trace_flags);
        number.push(r.severity_number);
        body.append_value(&r.body);
        for (map, pairs) in [
            (&mut attrs, &r.attributes),
            (&mut resource, &r.resource_attributes),
        ] {
            for (k, v) in pairs {
                map.keys().append_value(k);
                map.values().append_value(v);
            }
            map.append(true)?;
        }
        fingerprint.push(r.resource_fingerprint);
        scope.append_value(&r.instrumentation_scope);
        event.append_value(&r.event_name);
        bytes.push(r.bytes_uncompressed);
    }
    let ts = |v: Vec<i64>| -> ArrayRef {
        Arc::new(TimestampNanosecondArray::from(v).with_timezone("UTC"))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(service.finish()),
        Arc::new(severity.finish()),
        ts(timestamp),
        ts(observed),
        Arc::new(uuid.finish()),
        Arc::new(trace.finish()),
        Arc::new(span.finish()),
        Arc::new(UInt32Array::from(flags)),
        Arc::new(Int32Array::from(number)),
        Arc::new(body.finish()),
        Arc::new(attrs.finish()),
        Arc::new(resource.finish()),
        Arc::new(UInt64Array::from(fingerprint)),
        Arc::new(scope.finish()),
        Arc::new(event.finish()),
        Arc::new(UInt64Array::from(bytes)),
    ];
    RecordBatch::try_new(log_schema(), columns)
}

/// Reads [`LogRecord`]s back from a batch in [`log_schema`] (as read from a quarry Parquet file).
pub fn batch_to_records(batch: &RecordBatch) -> Result<Vec<LogRecord>, ArrowError> {
    use columns::*;
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| ArrowError::SchemaError(format!("column {name:?} is missing")))
    };
    let string = |name: &str| -> Result<&StringArray, ArrowError> {
        col(name)?
            .as_string_opt::<i32>()
            .ok_or_else(|| ArrowError::SchemaError(format!("column {name:?}: expected Utf8")))
    };
    let fixed = |name: &str| -> Result<&FixedSizeBinaryArray, ArrowError> {
        col(name)?.as_fixed_size_binary_opt().ok_or_else(|| {
            ArrowError::SchemaError(format!("column {name:?}: expected FixedSizeBinary"))
        })
    };
    let ts = |name: &str| -> Result<&TimestampNanosecondArray, ArrowError> {
        col(name)?
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .ok_or_else(|| {
                ArrowError::SchemaError(format!("column {name:?}: expected Timestamp(ns)"))
            })
    };
    let map = |name: &str| -> Result<&MapArray, ArrowError> {
        col(name)?
            .as_map_opt()
            .ok_or_else(|| ArrowError::SchemaError(format!("column {name:?}: expected Map")))
    };
    let service = string(SERVICE_NAME)?;
    let severity = string(SEVERITY_TEXT)?;
    let timestamp = ts(TIMESTAMP)?;
    let observed = ts(OBSERVED_TIMESTAMP)?;
    let uuid = fixed(UUID)?;
    let trace = fixed(TRACE_ID)?;
    let span = fixed(SPAN_ID)?;
    let flags = col(TRACE_FLAGS)?
        .as_primitive_opt::<UInt32Type>()
        .ok_or_else(|| bad(TRACE_FLAGS))?;
    let number = col(SEVERITY_NUMBER)?
        .as_primitive_opt::<Int32Type>()
        .ok_or_else(|| bad(SEVERITY_NUMBER))?;
    let body = string(BODY)?;
    let attrs = map(ATTRIBUTES)?;
    let resource = map(RESOURCE_ATTRIBUTES)?;
    let fingerprint = col(RESOURCE_FINGERPRINT)?
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| bad(RESOURCE_FINGERPRINT))?;
    let scope = string(INSTRUMENTATION_SCOPE)?;
    let event = string(EVENT_NAME)?;
    let bytes = col(BYTES_UNCOMPRESSED)?
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| bad(BYTES_UNCOMPRESSED))?;

    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let severity_text: Severity = severity.value(i).parse().map_err(|e| {
            ArrowError::InvalidArgumentError(format!("column severity_text row {i}: {e}"))
        })?;
        out.push(LogRecord {
            uuid: uuid.value(i).try_into().map_err(|_| bad(UUID))?,
            timestamp: timestamp.value(i),
            observed_timestamp: observed.value(i),
            trace_id: trace.value(i).try_into().map_err(|_| bad(TRACE_ID))?,
            span_id: span.value(i).try_into().map_err(|_| bad(SPAN_ID))?,
            trace_flags: flags.value(i),
            severity_text,
            severity_number: number.value(i),
            service_name: service.value(i).to_owned(),
            body: body.value(i).to_owned(),
            attributes: map_entries(attrs, i)?,
            resource_attributes: map_entries(resource, i)?,
            resource_fingerprint: fingerprint.value(i),
            instrumentation_scope: scope.value(i).to_owned(),
            event_name: event.value(i).to_owned(),
            bytes_uncompressed: bytes.value(i),
        });
    }
    Ok(out)
}

fn bad(name: &str) -> ArrowError {
    ArrowError::SchemaError(format!("column {name:?} has an unexpected type"))
}

/// The entries of row `i` of a Map(Utf8 → Utf8) array.
pub fn map_entries(map: &MapArray, i: usize) -> Result<Attributes, ArrowError> {
    let entries = map.value(i);
    let keys = entries
        .column(0)
        .as_string_opt::<i32>()
        .ok_or_else(|| bad("map key"))?;
    let values = entries
        .column(1)
        .as_string_opt::<i32>()
        .ok_or_else(|| bad("map value"))?;
    // The slice's own bytes (`value_data` would be the whole column's).
    let span = |a: &StringArray| {
        let o = a.value_offsets();
        (o[o.len() - 1] - o[0]) as usize
    };
    let bytes = span(keys) + span(values);
    let mut out = AttributesBuilder::for_stored(entries.len(), bytes);
    for j in 0..entries.len() {
        out.push(keys.value(j), values.value(j));
    }
    out.finish()
        .map_err(|e| ArrowError::InvalidArgumentError(e.to_string()))
}
