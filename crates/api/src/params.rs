//! The query-string parameters of the GET endpoints `values` and `attributes` (spec §3.6, §3.7).
//!
//! Parameters arrive as text pairs; `dateRange`, `serviceNames` and `filterGroup` are JSON-encoded, as PostHog's
//! client sends them. PostHog falls back to defaults when one of those is malformed; quarry answers with an error
//! that names the parameter instead, because a silently widened filter is a wrong answer.

use quarry_core::time::{DateBound, TimeRange};
use serde_json::Value;

use crate::filter::{FilterNode, parse_filter_group};
use crate::query::DateRange;
use crate::{ApiError, Result};

/// `attribute_type`: which attribute map a GET endpoint looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttributeType {
    /// Log attributes (the default).
    #[default]
    Log,
    /// Resource attributes.
    Resource,
}

impl AttributeType {
    /// `propertyFilterType` of results of this type.
    pub fn property_filter_type(self) -> &'static str {
        match self {
            AttributeType::Log => "log_attribute",
            AttributeType::Resource => "log_resource_attribute",
        }
    }
}

/// Parameters common to both GET endpoints.
#[derive(Clone, Debug)]
pub struct CommonParams {
    /// `dateRange` (or top-level `date_from`/`date_to` for `attributes`).
    pub date_range: Option<DateRange>,
    /// `serviceNames`.
    pub service_names: Vec<String>,
    /// `filterGroup`.
    pub filter_group: FilterNode,
    /// `attribute_type`.
    pub attribute_type: AttributeType,
    /// `limit`.
    pub limit: usize,
    /// `offset`.
    pub offset: usize,
    /// `explain`.
    pub explain: bool,
}

impl CommonParams {
    /// The precise range at `now`: absent → UTC midnight 7 days ago until `now` (spec §3.6).
    pub fn time_range(&self, now: i64) -> Result<TimeRange> {
        self.date_range
            .clone()
            .unwrap_or_default()
            .resolve(now, "dateRange")
    }
}

/// `GET logs/values`.
#[derive(Clone, Debug)]
pub struct ValuesParams {
    /// `key` (required).
    pub key: String,
    /// `value`: a case-insensitive substring the values must contain (`None`: all values).
    pub value: Option<String>,
    /// The common parameters.
    pub common: CommonParams,
}

/// `GET logs/attributes`.
#[derive(Clone, Debug)]
pub struct AttributesParams {
    /// `search` (`""`: all keys).
    pub search: String,
    /// `search_values`.
    pub search_values: bool,
    /// `keys`: an exact allow-list of keys (comma-separated on the wire).
    pub keys: Option<Vec<String>>,
    /// The common parameters.
    pub common: CommonParams,
}

fn lookup<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn usize_param(
    params: &[(String, String)],
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize> {
    match lookup(params, name) {
        None | Some("") => Ok(default),
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Ok((n as u64).min(max as u64) as usize),
            _ => Err(ApiError::new(
                name,
                format!("expected a non-negative integer, got {s:?}"),
            )),
        },
    }
}

fn json_param(params: &[(String, String)], name: &str) -> Result<Option<Value>> {
    match lookup(params, name) {
        None | Some("") => Ok(None),
        Some(s) => serde_json::from_str(s)
            .map(Some)
            .map_err(|e| ApiError::new(name, format!("expected JSON: {e}"))),
    }
}

fn common(
    params: &[(String, String)],
    default_limit: usize,
    max_limit: usize,
) -> Result<CommonParams> {
    let mut date_range = match json_param(params, "dateRange")? {
        None | Some(Value::Null) => None,
        Some(v) => Some(DateRange::parse(&v, "dateRange")?),
    };
    if date_range.is_none()
        && (lookup(params, "date_from").is_some() || lookup(params, "date_to").is_some())
    {
        let bound = |name: &str| -> Result<(Option<String>, Option<DateBound>)> {
            match lookup(params, name) {
                None | Some("") => Ok((None, None)),
                Some(s) => Ok((
                    Some(s.to_owned()),
                    Some(DateBound::parse(s).map_err(|e| ApiError::new(name, e.to_string()))?),
                )),
            }
        };
        let (date_from_text, date_from) = bound("date_from")?;
        let (date_to_text, date_to) = bound("date_to")?;
        date_range = Some(DateRange {
            date_from_text,
            date_to_text,
            date_from,
            date_to,
        });
    }
    let service_names = match json_param(params, "serviceNames")? {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::new(format!("serviceNames[{i}]"), "expected a string"))
            })
            .collect::<Result<_>>()?,
        Some(_) => {
            return Err(ApiError::new(
                "serviceNames",
                "expected a JSON list of strings",
            ));
        }
    };
    let filter_group = match json_param(params, "filterGroup")? {
        None => FilterNode::empty(),
        Some(v) => parse_filter_group(&v, "filterGroup")?,
    };
    let attribute_type = match lookup(params, "attribute_type") {
        None | Some("") | Some("log") => AttributeType::Log,
        Some("resource") => AttributeType::Resource,
        Some(other) => {
            return Err(ApiError::new(
                "attribute_type",
                format!("unknown attribute type {other:?}; expected \"log\" or \"resource\""),
            ));
        }
    };
    let limit = usize_param(params, "limit", default_limit, max_limit)?;
    if limit == 0 {
        return Err(ApiError::new("limit", "expected a positive integer"));
    }
    let offset = usize_param(params, "offset", 0, usize::MAX)?;
    let explain =
        matches!(lookup(params, "explain"), Some(s) if s.eq_ignore_ascii_case("true") || s == "1");
    Ok(CommonParams {
        date_range,
        service_names,
        filter_group,
        attribute_type,
        limit,
        offset,
        explain,
    })
}

impl ValuesParams {
    /// Parses the parameters of `values`: `limit` defaults to 100 and is capped at 1000.
    pub fn parse(params: &[(String, String)]) -> Result<ValuesParams> {
        let key = lookup(params, "key").unwrap_or("").to_owned();
        if key.is_empty() {
            return Err(ApiError::new("key", "key is required"));
        }
        let value = lookup(params, "value")
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        Ok(ValuesParams {
            key,
            value,
            common: common(params, 100, 1000)?,
        })
    }
}

impl AttributesParams {
    /// Parses the parameters of `attributes`: `limit` defaults to 100 and is capped at 100.
    pub fn parse(params: &[(String, String)]) -> Result<AttributesParams> {
        let search = lookup(params, "search").unwrap_or("").to_owned();
        let search_values =
            lookup(params, "search_values").is_some_and(|s| s.eq_ignore_ascii_case("true"));
        let keys = lookup(params, "keys")
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.split(',')
                    .map(|k| k.trim().to_owned())
                    .filter(|k| !k.is_empty())
                    .collect()
            });
        Ok(AttributesParams {
            search,
            search_values,
            keys,
            common: common(params, 100, 100)?,
        })
    }
}
