//! One row, wherever it lives: a memtable [`LogRecord`] or a position in an Arrow batch read from Parquet.
//!
//! The predicate and the endpoint kernels read rows only through [`Row`], so the memtable and the files are
//! filtered by the same code.

use arrow::array::{
    Array, AsArray, FixedSizeBinaryArray, Int32Array, MapArray, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt64Array,
};
use arrow::datatypes::{Int32Type, UInt64Type};
use quarry_core::schema::columns;
use quarry_core::{LogRecord, record::attribute};

/// Read access to one stored row.
pub(crate) trait Row {
    fn timestamp(&self) -> i64;
    fn observed_timestamp(&self) -> i64;
    fn uuid(&self) -> [u8; 16];
    fn service_name(&self) -> &str;
    fn severity_text(&self) -> &str;
    fn severity_number(&self) -> i32;
    fn body(&self) -> &str;
    fn trace_id(&self) -> &[u8];
    fn span_id(&self) -> &[u8];
    fn event_name(&self) -> &str;
    fn instrumentation_scope(&self) -> &str;
    fn resource_fingerprint(&self) -> u64;
    fn bytes_uncompressed(&self) -> u64;
    fn attribute(&self, key: &str) -> Option<&str>;
    fn resource_attribute(&self, key: &str) -> Option<&str>;
    /// Calls `f` for every (key, value) of the attributes (`resource` selects the map).
    fn for_each_attribute(&self, resource: bool, f: &mut dyn FnMut(&str, &str));
}

impl Row for LogRecord {
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn observed_timestamp(&self) -> i64 {
        self.observed_timestamp
    }
    fn uuid(&self) -> [u8; 16] {
        self.uuid
    }
    fn service_name(&self) -> &str {
        &self.service_name
    }
    fn severity_text(&self) -> &str {
        self.severity_text.as_str()
    }
    fn severity_number(&self) -> i32 {
        self.severity_number
    }
    fn body(&self) -> &str {
        &self.body
    }
    fn trace_id(&self) -> &[u8] {
        &self.trace_id
    }
    fn span_id(&self) -> &[u8] {
        &self.span_id
    }
    fn event_name(&self) -> &str {
        &self.event_name
    }
    fn instrumentation_scope(&self) -> &str {
        &self.instrumentation_scope
    }
    fn resource_fingerprint(&self) -> u64 {
        self.resource_fingerprint
    }
    fn bytes_uncompressed(&self) -> u64 {
        self.bytes_uncompressed
    }
    fn attribute(&self, key: &str) -> Option<&str> {
        attribute(&self.attributes, key)
    }
    fn resource_attribute(&self, key: &str) -> Option<&str> {
        attribute(&self.resource_attributes, key)
    }
    fn for_each_attribute(&self, resource: bool, f: &mut dyn FnMut(&str, &str)) {
        let attrs = if resource {
            &self.resource_attributes
        } else {
            &self.attributes
        };
        for (k, v) in attrs {
            f(k, v);
        }
    }
}

/// The columns of a batch read with a projection; a column outside the projection is `None`.
///
/// Accessing a column that was not projected is a planner bug; it panics with the column's name so that the
/// property tests (which run every operator) catch it rather than a wrong answer slipping through.
#[derive(Debug)]
pub(crate) struct Columns<'a> {
    service: Option<&'a StringArray>,
    severity: Option<&'a StringArray>,
    timestamp: Option<&'a TimestampNanosecondArray>,
    observed: Option<&'a TimestampNanosecondArray>,
    uuid: Option<&'a FixedSizeBinaryArray>,
    trace: Option<&'a FixedSizeBinaryArray>,
    span: Option<&'a FixedSizeBinaryArray>,
    number: Option<&'a Int32Array>,
    body: Option<&'a StringArray>,
    attrs: Option<MapView<'a>>,
    resource: Option<MapView<'a>>,
    fingerprint: Option<&'a UInt64Array>,
    bytes: Option<&'a UInt64Array>,
    scope: Option<&'a StringArray>,
    event: Option<&'a StringArray>,
}

#[derive(Debug)]
struct MapView<'a> {
    offsets: &'a [i32],
    keys: &'a StringArray,
    values: &'a StringArray,
}

impl<'a> MapView<'a> {
    fn new(map: &'a MapArray) -> Option<MapView<'a>> {
        let entries = map.entries();
        Some(MapView {
            offsets: map.value_offsets(),
            keys: entries.column(0).as_string_opt::<i32>()?,
            values: entries.column(1).as_string_opt::<i32>()?,
        })
    }

    fn get(&self, row: usize, key: &str) -> Option<&'a str> {
        let (start, end) = (self.offsets[row] as usize, self.offsets[row + 1] as usize);
        // Keys are sorted within a row (quarry writes them normalised), so binary search.
        let (mut lo, mut hi) = (start, end);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.keys.value(mid).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(self.values.value(mid)),
            }
        }
        None
    }

    fn for_each(&self, row: usize, f: &mut dyn FnMut(&str, &str)) {
        for j in self.offsets[row] as usize..self.offsets[row + 1] as usize {
            f(self.keys.value(j), self.values.value(j));
        }
    }
}

impl<'a> Columns<'a> {
    pub(crate) fn new(batch: &'a RecordBatch) -> Columns<'a> {
        use columns::*;
        let string = |n: &str| {
            batch
                .column_by_name(n)
                .and_then(|c| c.as_string_opt::<i32>())
        };
        let ts = |n: &str| {
            batch
                .column_by_name(n)
                .and_then(|c| c.as_any().downcast_ref::<TimestampNanosecondArray>())
        };
        let fixed = |n: &str| {
            batch
                .column_by_name(n)
                .and_then(|c| c.as_fixed_size_binary_opt())
        };
        let u64s = |n: &str| {
            batch
                .column_by_name(n)
                .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        };
        let map = |n: &str| {
            batch
                .column_by_name(n)
                .and_then(|c| c.as_map_opt())
                .and_then(MapView::new)
        };
        Columns {
            service: string(SERVICE_NAME),
            severity: string(SEVERITY_TEXT),
            timestamp: ts(TIMESTAMP),
            observed: ts(OBSERVED_TIMESTAMP),
            uuid: fixed(UUID),
            trace: fixed(TRACE_ID),
            span: fixed(SPAN_ID),
            number: batch
                .column_by_name(SEVERITY_NUMBER)
                .and_then(|c| c.as_primitive_opt::<Int32Type>()),
            body: string(BODY),
            attrs: map(ATTRIBUTES),
            resource: map(RESOURCE_ATTRIBUTES),
            fingerprint: u64s(RESOURCE_FINGERPRINT),
            bytes: u64s(BYTES_UNCOMPRESSED),
            scope: string(INSTRUMENTATION_SCOPE),
            event: string(EVENT_NAME),
        }
    }

    pub(crate) fn row(&self, i: usize) -> BatchRow<'_, 'a> {
        BatchRow { cols: self, i }
    }
}

/// Row `i` of a [`Columns`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchRow<'c, 'a> {
    cols: &'c Columns<'a>,
    i: usize,
}

fn need<T>(c: Option<T>, name: &str) -> T {
    match c {
        Some(c) => c,
        None => panic!("planner bug: column {name:?} was read without being projected"),
    }
}

impl<'c, 'a> Row for BatchRow<'c, 'a> {
    fn timestamp(&self) -> i64 {
        need(self.cols.timestamp, columns::TIMESTAMP).value(self.i)
    }
    fn observed_timestamp(&self) -> i64 {
        need(self.cols.observed, columns::OBSERVED_TIMESTAMP).value(self.i)
    }
    fn uuid(&self) -> [u8; 16] {
        need(self.cols.uuid, columns::UUID)
            .value(self.i)
            .try_into()
            .unwrap_or([0; 16])
    }
    fn service_name(&self) -> &str {
        need(self.cols.service, columns::SERVICE_NAME).value(self.i)
    }
    fn severity_text(&self) -> &str {
        need(self.cols.severity, columns::SEVERITY_TEXT).value(self.i)
    }
    fn severity_number(&self) -> i32 {
        need(self.cols.number, columns::SEVERITY_NUMBER).value(self.i)
    }
    fn body(&self) -> &str {
        need(self.cols.body, columns::BODY).value(self.i)
    }
    fn trace_id(&self) -> &[u8] {
        need(self.cols.trace, columns::TRACE_ID).value(self.i)
    }
    fn span_id(&self) -> &[u8] {
        need(self.cols.span, columns::SPAN_ID).value(self.i)
    }
    fn event_name(&self) -> &str {
        need(self.cols.event, columns::EVENT_NAME).value(self.i)
    }
    fn instrumentation_scope(&self) -> &str {
        need(self.cols.scope, columns::INSTRUMENTATION_SCOPE).value(self.i)
    }
    fn resource_fingerprint(&self) -> u64 {
        need(self.cols.fingerprint, columns::RESOURCE_FINGERPRINT).value(self.i)
    }
    fn bytes_uncompressed(&self) -> u64 {
        need(self.cols.bytes, columns::BYTES_UNCOMPRESSED).value(self.i)
    }
    fn attribute(&self, key: &str) -> Option<&str> {
        need(self.cols.attrs.as_ref(), columns::ATTRIBUTES).get(self.i, key)
    }
    fn resource_attribute(&self, key: &str) -> Option<&str> {
        need(self.cols.resource.as_ref(), columns::RESOURCE_ATTRIBUTES).get(self.i, key)
    }
    fn for_each_attribute(&self, resource: bool, f: &mut dyn FnMut(&str, &str)) {
        let m = if resource {
            need(self.cols.resource.as_ref(), columns::RESOURCE_ATTRIBUTES)
        } else {
            need(self.cols.attrs.as_ref(), columns::ATTRIBUTES)
        };
        m.for_each(self.i, f);
    }
}
