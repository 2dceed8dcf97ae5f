//! quarry-api: the wire contract of quarry's logs endpoints, compatible with PostHog's logs API.
//!
//! **Inputs**: request bodies as JSON (the `{"query": {...}}` envelope of the POST endpoints) and the key/value
//! parameters of the GET endpoints. **Outputs**: validated requests ([`LogsQuery`], [`ValuesParams`],
//! [`AttributesParams`]) and the response bodies ([`response`]). **Main types**: [`LogsQuery`], [`FilterNode`],
//! [`PropertyFilter`], [`Operator`], [`Cursor`], [`ApiError`].
//!
//! Field names are exactly PostHog's (spec §2.2). Every validation error names the field by its JSON path and says
//! what was expected, e.g. `filterGroup.values[0].values[2].operator: unknown operator "contains"; expected one of
//! …`. Parsing is by hand over [`serde_json::Value`] rather than by derive, because that is what makes such paths
//! possible without losing PostHog's lenient shapes (a filter group may be a flat list; a value may be a scalar
//! or a list).
//!
//! This crate holds no engine logic: it does not know how a filter is evaluated, only what it means.
//!
//! # Departures from PostHog, on purpose (each makes an answer exact or an error explicit)
//!
//! * `filterGroup` is evaluated as a real AND/OR tree, nested to any depth (PostHog keeps only the last inner
//!   group's filters, spec §2.5 QUIRK).
//! * `is_set`/`is_not_set` on attributes mean "key present"/"key absent" (PostHog drops them, spec §2.5 QUIRK).
//! * Unknown operators, filter types, severity levels, `orderBy` values and undecodable cursors are errors, not
//!   silently replaced (PostHog turns a bad `orderBy` into `latest` and a bad cursor into a 500).
//! * `icontains` treats `%` and `_` in the value literally (PostHog does not escape them).
//! * Dates: see [`quarry_core::time`].
//!
//! # The exact-count contract
//!
//! For the same filters and `dateRange`, `count`, the sum of the `count-ranges` buckets and the sum of the
//! `sparkline` points are equal: every bucket counts only rows inside the half-open range `[date_from, date_to)`,
//! so the first and last buckets are partial rather than spilling over the range (PostHog's sparkline counts the
//! whole first and last buckets, so its histogram does not add up to its count). The services overview counts
//! the same rows.
//!
//! With `explain`, `sparkline` (whose body is a bare array) answers `{"sparkline": [...], "quarry_stats": {...}}`;
//! every other body gains a `quarry_stats` member.

#![doc(test(attr(deny(warnings))))]
#![warn(missing_docs)]

mod cursor;
mod filter;
mod json;
mod params;
mod query;
pub mod response;

pub use cursor::Cursor;
pub use filter::{
    FilterNode, FilterType, GroupOp, LogField, Operator, PropertyFilter, Scalar, parse_number,
};
pub use params::{AttributeType, AttributesParams, CommonParams, ValuesParams};
pub use query::{
    BreakdownBy, CustomColumn, DateRange, Endpoint, LogsQuery, OrderBy, RankBy, parse_envelope,
};

/// The largest `limit` of `query` (spec §3.1).
pub const MAX_QUERY_LIMIT: usize = 2000;
/// The default `limit` of `query`.
pub const DEFAULT_QUERY_LIMIT: usize = 1000;
/// At most this many `customColumns`.
pub const MAX_CUSTOM_COLUMNS: usize = 50;
/// The row cap of `export` (PostHog's `maxExportableLogs`).
pub const MAX_EXPORTABLE_LOGS: usize = 10_000;
/// Compiled size limit of a `regex` filter, in bytes (a larger pattern is a validation error).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Filter groups nested deeper than this are rejected (keeps evaluation and recursion bounded).
pub const MAX_FILTER_DEPTH: usize = 32;

/// A request that does not validate: `field` is the JSON path of the offending value (`""` for the whole body).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct ApiError {
    /// JSON path of the field, e.g. `filterGroup.values[0].values[2].operator`.
    pub field: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl ApiError {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;
