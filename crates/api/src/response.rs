//! Response bodies, serialised with PostHog's field names (spec §3).
//!
//! Every body may carry `quarry_stats` when the request asked for `explain`; without it the JSON is exactly
//! PostHog's.

use serde::Serialize;
use serde_json::{Map, Value};

/// How a request was answered and what it cost (`explain`).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct QuarryStats {
    /// `rollup` (sidecar counts only), `index` (bitmaps and sidecars, no row read), or `scan` (rows read).
    pub path: String,
    /// Data files whose time bounds overlap the range.
    pub files_in_range: u64,
    /// Data files whose rows were read.
    pub files_read: u64,
    /// Row groups read.
    pub row_groups_read: u64,
    /// Rows decoded and tested (files and memtable).
    pub rows_scanned: u64,
    /// Rows matched.
    pub rows_matched: u64,
    /// Compressed bytes of the column chunks read.
    pub bytes_read: u64,
    /// Memtable rows tested.
    pub memtable_rows: u64,
    /// Files answered from their sidecar without reading a row (bitmap cardinalities, rollups).
    pub files_from_index: u64,
    /// Sidecars that could not be read or failed their checksum; those files were scanned in full instead.
    pub sidecars_unreadable: u64,
    /// Wall time of the request, in microseconds.
    pub elapsed_us: u64,
}

/// `POST logs/query`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResponse {
    /// The query as executed (`limit` = requested + 1).
    pub query: Value,
    /// The rows, as JSON objects (fixed fields plus one key per custom column).
    pub results: Vec<Map<String, Value>>,
    /// Whether more rows match.
    pub has_more: bool,
    /// The cursor of the next page.
    pub next_cursor: Option<String>,
    /// Always 10000.
    pub max_exportable_logs: usize,
    /// The custom column aliases, or null.
    pub columns: Option<Vec<String>>,
    /// `explain` output.
    #[serde(rename = "quarry_stats", skip_serializing_if = "Option::is_none")]
    pub quarry_stats: Option<QuarryStats>,
}

/// `POST logs/count`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CountResponse {
    /// Matching rows in `[from, to)`.
    pub count: u64,
    /// `explain` output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarry_stats: Option<QuarryStats>,
}

/// One bucket of `count-ranges`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CountRange {
    /// Bucket start (epoch-aligned), `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
    pub date_from: String,
    /// Bucket end (exclusive).
    pub date_to: String,
    /// Matching rows in the bucket and in `[from, to)`.
    pub count: u64,
}

/// `POST logs/count-ranges`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CountRangesResponse {
    /// Non-empty buckets, ascending.
    pub ranges: Vec<CountRange>,
    /// The bucket width, e.g. `5m`, `1h`, `10s`.
    pub interval: String,
    /// `explain` output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarry_stats: Option<QuarryStats>,
}

/// One value of `values`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ValueItem {
    /// The value.
    pub id: String,
    /// The value again (PostHog's shape).
    pub name: String,
    /// Rows with this value in the range.
    pub count: u64,
}

/// `GET logs/values`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ValuesResponse {
    /// The page of values.
    pub results: Vec<ValueItem>,
    /// Always false.
    pub refreshing: bool,
    /// `explain` output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarry_stats: Option<QuarryStats>,
}

/// One key of `attributes`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AttributeItem {
    /// The key.
    pub name: String,
    /// `log_attribute` or `log_resource_attribute`.
    pub property_filter_type: String,
    /// `key` or `value`.
    pub matched_on: String,
    /// In value-search mode, for keys matched by a value: the matching value with the highest count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_value: Option<String>,
}

/// `GET logs/attributes`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AttributesResponse {
    /// The page of keys.
    pub results: Vec<AttributeItem>,
    /// Total matching keys (key mode) or `offset + page length` (value-search mode), as PostHog.
    pub count: usize,
    /// `explain` output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarry_stats: Option<QuarryStats>,
}

/// `GET logs/has_logs`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HasLogsResponse {
    /// Whether the team has any row.
    pub has_logs: bool,
}

/// `POST logs/sparkline`: a bare JSON array of points `{"time", "severity"|"service", "count",
/// "bytes_uncompressed"}` (the key is named after the breakdown). With `explain` the body becomes
/// `{"sparkline": [...], "quarry_stats": {...}}`, since an array has no room for the statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct SparklineResponse {
    /// The points, sorted by (time, breakdown value).
    pub points: Vec<Map<String, Value>>,
    /// `explain` output.
    pub quarry_stats: Option<QuarryStats>,
}

impl Serialize for SparklineResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.quarry_stats {
            None => self.points.serialize(s),
            Some(stats) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("sparkline", &self.points)?;
                m.serialize_entry("quarry_stats", stats)?;
                m.end()
            }
        }
    }
}

/// `severity_breakdown` of one service.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SeverityBreakdown {
    /// trace + debug rows.
    pub debug: u64,
    /// info rows.
    pub info: u64,
    /// warn rows.
    pub warn: u64,
    /// error + fatal rows.
    pub error: u64,
}

/// One service of `services`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ServiceItem {
    /// The name, `(no service)` for rows without one.
    pub service_name: String,
    /// Rows.
    pub log_count: u64,
    /// error + fatal rows.
    pub error_count: u64,
    /// error_count / log_count, 4 decimals.
    pub error_rate: f64,
    /// Rows per severity group.
    pub severity_breakdown: SeverityBreakdown,
    /// Share of the returned services' rows, percent, 2 decimals.
    pub volume_share_pct: f64,
    /// Sampling/drop rules that may apply (quarry has none yet: always empty).
    pub active_rules: Vec<Value>,
}

/// One point of the services sparkline.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ServiceSparkPoint {
    /// Bucket start.
    pub time: String,
    /// The service (`(no service)` for rows without one).
    pub service_name: String,
    /// Rows.
    pub count: u64,
}

/// `summary` of `services`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ServicesSummary {
    /// min(5, services).
    pub top_services_count: usize,
    /// Σ of the first `top_services_count` shares, 2 decimals.
    pub top_services_volume_share_pct: f64,
}

/// `POST logs/services`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ServicesResponse {
    /// Services, most rows first.
    pub services: Vec<ServiceItem>,
    /// Rows per (bucket, service) for the returned services, sorted by (time, service), no zero fill.
    pub sparkline: Vec<ServiceSparkPoint>,
    /// The top five's share.
    pub summary: ServicesSummary,
    /// Services with rows in the window (before the cap).
    pub total_services: usize,
    /// `explain` output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarry_stats: Option<QuarryStats>,
}
