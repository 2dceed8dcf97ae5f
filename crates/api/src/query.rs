//! `LogsQuery`: the body of every POST endpoint (spec §2.1, §2.2).

use quarry_core::time::{DateBound, TimeRange, midnight_days_ago, parse_iso};
use quarry_core::{NANOS_PER_HOUR, Severity};
use serde_json::{Map, Value};

use crate::cursor::Cursor;
use crate::filter::{FilterNode, parse_filter_group};
use crate::json::{self, expected, get, index, join};
use crate::{ApiError, DEFAULT_QUERY_LIMIT, MAX_CUSTOM_COLUMNS, MAX_QUERY_LIMIT, Result};

/// The endpoints that take a `LogsQuery`; they differ in defaults (spec §2.2, §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `logs/query`: `dateRange` required.
    Query,
    /// `logs/count`: `dateRange` defaults to the last hour.
    Count,
    /// `logs/count-ranges`: `dateRange` defaults to the last hour.
    CountRanges,
    /// `logs/sparkline`: `dateRange` defaults to the last hour.
    Sparkline,
    /// `logs/services`: `dateRange` required.
    Services,
    /// `logs/export`: `dateRange` defaults to the last 7 days (UTC midnight).
    Export,
}

impl Endpoint {
    /// Whether a missing `query` member of the envelope is an error (else it means `{}`).
    fn requires_query(self) -> bool {
        matches!(self, Endpoint::Query | Endpoint::Export)
    }

    fn requires_date_range(self) -> bool {
        matches!(self, Endpoint::Query | Endpoint::Services)
    }
}

/// `dateRange`: both bounds optional (see [`LogsQuery::time_range`] for the defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DateRange {
    /// `date_from` as sent.
    pub date_from_text: Option<String>,
    /// `date_to` as sent.
    pub date_to_text: Option<String>,
    /// Parsed `date_from`.
    pub date_from: Option<DateBound>,
    /// Parsed `date_to`.
    pub date_to: Option<DateBound>,
}

impl DateRange {
    /// A range from a relative or absolute `date_from` text, no `date_to`.
    pub fn from_text(date_from: &str) -> DateRange {
        DateRange {
            date_from_text: Some(date_from.to_owned()),
            date_from: DateBound::parse(date_from).ok(),
            ..DateRange::default()
        }
    }

    pub(crate) fn parse(v: &Value, path: &str) -> Result<DateRange> {
        let obj = json::as_object(path, v)?;
        let bound = |name: &str| -> Result<(Option<String>, Option<DateBound>)> {
            let p = join(path, name);
            match get(obj, name) {
                None => Ok((None, None)),
                Some(Value::String(s)) if s.trim().is_empty() => Ok((None, None)),
                Some(Value::String(s)) => {
                    let b = DateBound::parse(s).map_err(|e| ApiError::new(&p, e.to_string()))?;
                    if name == "date_to" && b == DateBound::All {
                        return Err(ApiError::new(&p, "\"all\" is only valid for date_from"));
                    }
                    Ok((Some(s.clone()), Some(b)))
                }
                Some(other) => Err(expected(&p, "a date string", other)),
            }
        };
        let (date_from_text, date_from) = bound("date_from")?;
        let (date_to_text, date_to) = bound("date_to")?;
        Ok(DateRange {
            date_from_text,
            date_to_text,
            date_from,
            date_to,
        })
    }

    /// Resolves the range at `now` (spec §2.3): a missing `date_from` is UTC midnight 7 days ago, a missing
    /// `date_to` is `now`. `field` names the range in errors.
    pub fn resolve(&self, now: i64, field: &str) -> Result<TimeRange> {
        let start = match self.date_from {
            None => midnight_days_ago(now, 7),
            Some(b) => b.resolve(now),
        };
        let end = self.date_to.map_or(now, |b| b.resolve(now));
        if start > end {
            return Err(ApiError::new(
                field,
                format!(
                    "date_from ({}) is after date_to ({})",
                    quarry_core::time::format_iso(start),
                    quarry_core::time::format_iso(end)
                ),
            ));
        }
        Ok(TimeRange::new(start, end))
    }
}

/// `orderBy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderBy {
    /// Newest first (the default).
    #[default]
    Latest,
    /// Oldest first.
    Earliest,
}

/// `sparklineBreakdownBy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BreakdownBy {
    /// By severity (the default); the response key is `severity`.
    #[default]
    Severity,
    /// By service; the response key is `service`.
    Service,
}

/// `sparklineRankBy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RankBy {
    /// By row count (the default).
    #[default]
    Count,
    /// By `bytes_uncompressed`.
    Bytes,
}

/// One `customColumns` entry (spec §3.1): the three shorthands quarry supports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomColumn {
    /// `attributes.<key>` or `attributes['<key>']`.
    Attribute {
        /// The alias (the text as sent).
        alias: String,
        /// The key.
        key: String,
    },
    /// `resource_attributes.<key>` or `resource_attributes['<key>']`.
    ResourceAttribute {
        /// The alias.
        alias: String,
        /// The key.
        key: String,
    },
    /// `body.<json.path>`: a path into the body parsed as JSON (numeric segments index arrays).
    BodyPath {
        /// The alias.
        alias: String,
        /// The path segments.
        path: Vec<String>,
    },
}

impl CustomColumn {
    /// The alias echoed in `columns` and used as the row key.
    pub fn alias(&self) -> &str {
        match self {
            CustomColumn::Attribute { alias, .. }
            | CustomColumn::ResourceAttribute { alias, .. }
            | CustomColumn::BodyPath { alias, .. } => alias,
        }
    }

    fn parse(text: &str, path: &str) -> Result<CustomColumn> {
        let alias = text.to_owned();
        let t = text.trim();
        let key_of = |rest: &str| -> Option<String> {
            if let Some(k) = rest.strip_prefix('.') {
                return (!k.is_empty()).then(|| k.to_owned());
            }
            let inner = rest.strip_prefix('[')?.strip_suffix(']')?;
            let k = inner
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))?;
            (!k.is_empty()).then(|| k.to_owned())
        };
        if let Some(rest) = t.strip_prefix("resource_attributes")
            && let Some(key) = key_of(rest)
        {
            return Ok(CustomColumn::ResourceAttribute { alias, key });
        }
        if let Some(rest) = t.strip_prefix("attributes")
            && let Some(key) = key_of(rest)
        {
            return Ok(CustomColumn::Attribute { alias, key });
        }
        if let Some(rest) = t.strip_prefix("body.") {
            let segs: Vec<String> = rest.split('.').map(str::to_owned).collect();
            if !segs.iter().any(String::is_empty) {
                return Ok(CustomColumn::BodyPath { alias, path: segs });
            }
        }
        Err(ApiError::new(
            path,
            format!(
                "unsupported custom column {text:?}; expected attributes.<key>, resource_attributes.<key> or \
                 body.<json.path>"
            ),
        ))
    }
}

/// A validated `LogsQuery`.
#[derive(Clone, Debug)]
pub struct LogsQuery {
    /// The endpoint it was parsed for.
    pub endpoint: Endpoint,
    /// `dateRange`, if sent.
    pub date_range: Option<DateRange>,
    /// `severityLevels`.
    pub severity_levels: Vec<Severity>,
    /// `serviceNames`.
    pub service_names: Vec<String>,
    /// `orderBy`.
    pub order_by: OrderBy,
    /// `searchTerm` (`None` when absent or empty).
    pub search_term: Option<String>,
    /// `filterGroup`.
    pub filter_group: FilterNode,
    /// `limit` as sent.
    pub limit: Option<i64>,
    /// `after`.
    pub after: Option<Cursor>,
    /// `liveLogsCheckpoint` (nanoseconds).
    pub live_logs_checkpoint: Option<i64>,
    /// `resourceFingerprint`.
    pub resource_fingerprint: Option<u64>,
    /// `excludeAttributes`.
    pub exclude_attributes: bool,
    /// `customColumns`.
    pub custom_columns: Vec<CustomColumn>,
    /// `targetBuckets`, clamped to 1..=100 (default 10).
    pub target_buckets: usize,
    /// `sparklineBreakdownBy`.
    pub sparkline_breakdown_by: BreakdownBy,
    /// `sparklineRankBy`.
    pub sparkline_rank_by: RankBy,
    /// `serviceNameSearch`.
    pub service_name_search: Option<String>,
    /// `explain`: add `quarry_stats` to the response.
    pub explain: bool,
    /// The query object as sent (echoed by `query`).
    pub raw: Map<String, Value>,
}

/// Parses the `{"query": {...}}` envelope of a POST endpoint.
pub fn parse_envelope(body: &Value, endpoint: Endpoint) -> Result<LogsQuery> {
    let obj = json::as_object("", body)
        .map_err(|_| ApiError::new("body", "expected a JSON object {\"query\": {...}}"))?;
    match get(obj, "query") {
        None if endpoint.requires_query() => Err(ApiError::new("query", "No query provided")),
        None => LogsQuery::parse(&Value::Object(Map::new()), endpoint, "query"),
        Some(q) => LogsQuery::parse(q, endpoint, "query"),
    }
}

impl LogsQuery {
    /// Parses a query object; `path` prefixes error fields (`"query"` inside the envelope).
    pub fn parse(v: &Value, endpoint: Endpoint, path: &str) -> Result<LogsQuery> {
        let obj = v
            .as_object()
            .ok_or_else(|| ApiError::new(path, "query must be an object"))?;
        let date_range = match get(obj, "dateRange") {
            None if endpoint.requires_date_range() => {
                return Err(ApiError::new(join(path, "dateRange"), "is required"));
            }
            None => None,
            Some(d) => Some(DateRange::parse(d, &join(path, "dateRange"))?),
        };
        let sev_path = join(path, "severityLevels");
        let severity_levels = json::string_list(obj, path, "severityLevels")?
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Severity::from_canonical(s).ok_or_else(|| {
                    ApiError::new(
                        index(&sev_path, i),
                        format!(
                            "unknown severity level {s:?}; expected one of \"trace\", \"debug\", \"info\", \"warn\", \
                             \"error\", \"fatal\", \"unknown\""
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let service_names = json::string_list(obj, path, "serviceNames")?;
        let order_by = match json::opt_string(obj, path, "orderBy")?.as_deref() {
            None | Some("latest") => OrderBy::Latest,
            Some("earliest") => OrderBy::Earliest,
            Some(other) => {
                return Err(ApiError::new(
                    join(path, "orderBy"),
                    format!("unknown order {other:?}; expected \"latest\" or \"earliest\""),
                ));
            }
        };
        let search_term = json::opt_string(obj, path, "searchTerm")?.filter(|s| !s.is_empty());
        let filter_group = match obj.get("filterGroup") {
            None => FilterNode::empty(),
            Some(f) => parse_filter_group(f, &join(path, "filterGroup"))?,
        };
        let limit = json::opt_int(obj, path, "limit")?;
        if let Some(l) = limit
            && l < 1
        {
            return Err(ApiError::new(
                join(path, "limit"),
                format!(
                    "expected a positive integer (values above {MAX_QUERY_LIMIT} are capped), got {l}"
                ),
            ));
        }
        let after = match json::opt_string(obj, path, "after")? {
            None => None,
            Some(s) if s.is_empty() => None,
            Some(s) => Some(Cursor::decode(&s, &join(path, "after"))?),
        };
        let live_logs_checkpoint = match json::opt_string(obj, path, "liveLogsCheckpoint")? {
            None => None,
            Some(s) => Some(parse_iso(s.trim()).ok_or_else(|| {
                ApiError::new(
                    join(path, "liveLogsCheckpoint"),
                    format!("expected an ISO-8601 date-time, got {s:?}"),
                )
            })?),
        };
        let resource_fingerprint = match get(obj, "resourceFingerprint") {
            None => None,
            Some(v) => {
                let p = join(path, "resourceFingerprint");
                let text = match v {
                    Value::String(s) => s.trim().to_owned(),
                    Value::Number(n) => n.to_string(),
                    other => {
                        return Err(expected(&p, "an unsigned 64-bit integer (as text)", other));
                    }
                };
                Some(text.parse::<u64>().map_err(|_| {
                    ApiError::new(
                        &p,
                        format!("expected an unsigned 64-bit integer, got {text:?}"),
                    )
                })?)
            }
        };
        let exclude_attributes = json::opt_bool(obj, path, "excludeAttributes")?.unwrap_or(false);
        let cc = json::string_list(obj, path, "customColumns")?;
        if cc.len() > MAX_CUSTOM_COLUMNS {
            return Err(ApiError::new(
                join(path, "customColumns"),
                format!(
                    "Too many custom columns: {} (max {MAX_CUSTOM_COLUMNS})",
                    cc.len()
                ),
            ));
        }
        let cc_path = join(path, "customColumns");
        let custom_columns = cc
            .iter()
            .enumerate()
            .map(|(i, c)| CustomColumn::parse(c, &index(&cc_path, i)))
            .collect::<Result<Vec<_>>>()?;
        let target_buckets = json::opt_int(obj, path, "targetBuckets")?
            .unwrap_or(10)
            .clamp(1, 100) as usize;
        let sparkline_breakdown_by = match json::opt_string(obj, path, "sparklineBreakdownBy")?
            .as_deref()
        {
            None | Some("severity") => BreakdownBy::Severity,
            Some("service") => BreakdownBy::Service,
            Some(other) => {
                return Err(ApiError::new(
                    join(path, "sparklineBreakdownBy"),
                    format!("unknown breakdown {other:?}; expected \"severity\" or \"service\""),
                ));
            }
        };
        let sparkline_rank_by = match json::opt_string(obj, path, "sparklineRankBy")?.as_deref() {
            None | Some("count") => RankBy::Count,
            Some("bytes") => RankBy::Bytes,
            Some(other) => {
                return Err(ApiError::new(
                    join(path, "sparklineRankBy"),
                    format!("unknown ranking {other:?}; expected \"count\" or \"bytes\""),
                ));
            }
        };
        let service_name_search =
            json::opt_string(obj, path, "serviceNameSearch")?.filter(|s| !s.is_empty());
        if let Some(s) = &service_name_search
            && s.chars().count() > 200
        {
            return Err(ApiError::new(
                join(path, "serviceNameSearch"),
                "expected at most 200 characters",
            ));
        }
        let explain = json::opt_bool(obj, path, "explain")?.unwrap_or(false);
        Ok(LogsQuery {
            endpoint,
            date_range,
            severity_levels,
            service_names,
            order_by,
            search_term,
            filter_group,
            limit,
            after,
            live_logs_checkpoint,
            resource_fingerprint,
            exclude_attributes,
            custom_columns,
            target_buckets,
            sparkline_breakdown_by,
            sparkline_rank_by,
            service_name_search,
            explain,
            raw: obj.clone(),
        })
    }

    /// The precise `[from, to)` range at `now` (spec §2.3): an endpoint without a required `dateRange` defaults to
    /// the last hour; a missing `date_from` is UTC midnight 7 days ago; a missing `date_to` is `now`.
    pub fn time_range(&self, now: i64) -> Result<TimeRange> {
        match &self.date_range {
            Some(d) => d.resolve(now, "query.dateRange"),
            None if self.endpoint == Endpoint::Export => {
                Ok(TimeRange::new(midnight_days_ago(now, 7), now))
            }
            None => Ok(TimeRange::new(now.saturating_sub(NANOS_PER_HOUR), now)),
        }
    }

    /// The number of rows `query` returns at most: `min(limit ?? 1000, 2000)` (spec §3.1).
    pub fn requested_limit(&self) -> usize {
        self.limit.map_or(DEFAULT_QUERY_LIMIT, |l| {
            (l.max(1) as u64).min(MAX_QUERY_LIMIT as u64) as usize
        })
    }
}
