//! `filterGroup`: a boolean tree of property filters (spec §2.4, §2.5).
//!
//! # Meaning of a leaf
//!
//! A leaf compares one *field value* `x` of a row with the filter's values:
//!
//! * type `log`: `x` is a column ([`LogField`]); it is always present.
//! * type `log_attribute` / `log_resource_attribute`: `x` is the attribute's text, or *absent* when the row (its
//!   resource) has no such key. An absent key fails every positive operator and passes every negative one
//!   ([`Operator::is_negative`]), as in PostHog; `is_set` / `is_not_set` test presence.
//!
//! Comparison is numeric when the filter is [`PropertyFilter::numeric`]: every value parses as a finite number
//! ([`parse_number`]) and the operator compares (`exact`, `is_not`, `in`, `not_in`, `gt`, `gte`, `lt`, `lte`,
//! `between`, `not_between`). Then `x` must parse as a number too, and a non-numeric `x` behaves like an absent key.
//! Text operators (`icontains`, `regex`, `starts_with`, …) always work on the text; `icontains` and the
//! prefix/suffix operators ignore case (Unicode lowercase), `regex` is case-sensitive unless the pattern says
//! `(?i)`. A list of values means OR for positive operators and AND (of the negations) for negative ones; an
//! empty list makes the leaf always true (PostHog's no-op). `is_date_exact`, `is_date_before`, `is_date_after`
//! compare instants: both sides must parse as ISO-8601 dates ([`quarry_core::time::parse_iso`]).

use quarry_core::ids::{parse_id, to_upper_hex};
use regex::Regex;
use serde_json::{Map, Value};

use crate::json::{self, expected, get, index, join};
use crate::{ApiError, MAX_FILTER_DEPTH, REGEX_SIZE_LIMIT, Result};

/// How the children of a group combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupOp {
    /// All children hold (an empty group holds).
    And,
    /// At least one child holds (an empty group holds too: it filters nothing, as in PostHog).
    Or,
}

/// A node of `filterGroup`.
#[derive(Clone, Debug)]
pub enum FilterNode {
    /// `{"type": "AND"|"OR", "values": [...]}`.
    Group {
        /// How the children combine.
        op: GroupOp,
        /// The children.
        children: Vec<FilterNode>,
    },
    /// One property filter.
    Leaf(PropertyFilter),
}

impl FilterNode {
    /// The empty AND group (no filter).
    pub fn empty() -> FilterNode {
        FilterNode::Group {
            op: GroupOp::And,
            children: Vec::new(),
        }
    }

    /// Whether the node filters nothing (empty groups all the way down).
    pub fn is_trivial(&self) -> bool {
        match self {
            FilterNode::Group { children, .. } => children.iter().all(FilterNode::is_trivial),
            FilterNode::Leaf(f) => f.is_noop(),
        }
    }

    /// Every leaf, depth first.
    pub fn leaves(&self) -> Vec<&PropertyFilter> {
        let mut out = Vec::new();
        fn walk<'a>(n: &'a FilterNode, out: &mut Vec<&'a PropertyFilter>) {
            match n {
                FilterNode::Group { children, .. } => children.iter().for_each(|c| walk(c, out)),
                FilterNode::Leaf(f) => out.push(f),
            }
        }
        walk(self, &mut out);
        out
    }
}

/// The `type` of a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterType {
    /// A column of the row.
    Log,
    /// A key of `attributes`.
    LogAttribute,
    /// A key of `resource_attributes`.
    LogResourceAttribute,
}

impl FilterType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterType::Log => "log",
            FilterType::LogAttribute => "log_attribute",
            FilterType::LogResourceAttribute => "log_resource_attribute",
        }
    }
}

/// The columns a `log` filter can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogField {
    /// `message`: the body.
    Message,
    /// `severity_level`: the stored severity text.
    SeverityLevel,
    /// `service_name`.
    ServiceName,
    /// `trace_id`, compared as uppercase hex (values in hex or base64 are normalised).
    TraceId,
    /// `span_id`, likewise.
    SpanId,
    /// `event_name`.
    EventName,
    /// `instrumentation_scope`.
    InstrumentationScope,
    /// `severity_number` (numeric).
    SeverityNumber,
    /// `resource_fingerprint` (numeric).
    ResourceFingerprint,
    /// `uuid` (lowercase hyphenated text).
    Uuid,
}

impl LogField {
    const ALL: &[(&str, LogField)] = &[
        ("message", LogField::Message),
        ("body", LogField::Message),
        ("severity_level", LogField::SeverityLevel),
        ("severity_text", LogField::SeverityLevel),
        ("level", LogField::SeverityLevel),
        ("service_name", LogField::ServiceName),
        ("trace_id", LogField::TraceId),
        ("span_id", LogField::SpanId),
        ("event_name", LogField::EventName),
        ("instrumentation_scope", LogField::InstrumentationScope),
        ("severity_number", LogField::SeverityNumber),
        ("resource_fingerprint", LogField::ResourceFingerprint),
        ("uuid", LogField::Uuid),
    ];

    fn parse(key: &str) -> Option<LogField> {
        LogField::ALL
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, f)| *f)
    }

    /// Whether the column is numeric.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            LogField::SeverityNumber | LogField::ResourceFingerprint
        )
    }
}

/// A comparison operator (spec §2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Operator {
    Exact,
    IsNot,
    IContains,
    NotIContains,
    Regex,
    NotRegex,
    Gt,
    Gte,
    Lt,
    Lte,
    IsDateExact,
    IsDateBefore,
    IsDateAfter,
    Between,
    NotBetween,
    In,
    NotIn,
    IsSet,
    IsNotSet,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
}

const OPERATORS: &[(&str, Operator)] = &[
    ("exact", Operator::Exact),
    ("is_not", Operator::IsNot),
    ("icontains", Operator::IContains),
    ("not_icontains", Operator::NotIContains),
    ("regex", Operator::Regex),
    ("not_regex", Operator::NotRegex),
    ("gt", Operator::Gt),
    ("gte", Operator::Gte),
    ("lt", Operator::Lt),
    ("lte", Operator::Lte),
    ("min", Operator::Gte),
    ("max", Operator::Lte),
    ("is_date_exact", Operator::IsDateExact),
    ("is_date_before", Operator::IsDateBefore),
    ("is_date_after", Operator::IsDateAfter),
    ("between", Operator::Between),
    ("not_between", Operator::NotBetween),
    ("in", Operator::In),
    ("not_in", Operator::NotIn),
    ("is_set", Operator::IsSet),
    ("is_not_set", Operator::IsNotSet),
    ("starts_with", Operator::StartsWith),
    ("not_starts_with", Operator::NotStartsWith),
    ("ends_with", Operator::EndsWith),
    ("not_ends_with", Operator::NotEndsWith),
];

impl Operator {
    /// Parses the wire name (`min`/`max` are aliases of `gte`/`lte`).
    pub fn parse(name: &str) -> Option<Operator> {
        OPERATORS.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
    }

    /// Every accepted wire name.
    pub fn names() -> impl Iterator<Item = &'static str> {
        OPERATORS.iter().map(|(n, _)| *n)
    }

    /// The canonical wire name.
    pub fn as_str(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(_, o)| *o == self)
            .map(|(n, _)| *n)
            .unwrap_or("exact")
    }

    /// Negative operators pass on an absent key; their positive form is [`Operator::positive`].
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            Operator::IsNot
                | Operator::NotIContains
                | Operator::NotRegex
                | Operator::NotBetween
                | Operator::NotIn
                | Operator::IsNotSet
                | Operator::NotStartsWith
                | Operator::NotEndsWith
        )
    }

    /// The positive form of a negative operator (itself for positive ones).
    pub fn positive(self) -> Operator {
        match self {
            Operator::IsNot => Operator::Exact,
            Operator::NotIContains => Operator::IContains,
            Operator::NotRegex => Operator::Regex,
            Operator::NotBetween => Operator::Between,
            Operator::NotIn => Operator::In,
            Operator::IsNotSet => Operator::IsSet,
            Operator::NotStartsWith => Operator::StartsWith,
            Operator::NotEndsWith => Operator::EndsWith,
            other => other,
        }
    }

    /// Whether the operator may compare numbers.
    fn compares(self) -> bool {
        matches!(
            self.positive(),
            Operator::Exact
                | Operator::In
                | Operator::Gt
                | Operator::Gte
                | Operator::Lt
                | Operator::Lte
                | Operator::Between
        )
    }
}

/// One filter value: its text, and its number when the text is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The text (`true`/`false` for booleans, the JSON text for numbers).
    pub text: String,
    /// The value as a number, when it is one ([`parse_number`]).
    pub number: Option<f64>,
    /// The value as an instant (nanoseconds), for the `is_date_*` operators.
    pub instant: Option<i64>,
}

impl Scalar {
    fn from_text(text: String) -> Scalar {
        let number = parse_number(&text);
        Scalar {
            text,
            number,
            instant: None,
        }
    }
}

/// The number in an attribute or filter text: surrounding whitespace ignored, finite values only.
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    // Rust also reads "inf", "NaN" and "infinity"; those are words in logs, not numbers.
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A validated leaf of `filterGroup`.
#[derive(Clone, Debug)]
pub struct PropertyFilter {
    /// The key (attribute key, or the column name as sent for `log` filters).
    pub key: String,
    /// The filter type.
    pub filter_type: FilterType,
    /// The column, for `log` filters.
    pub field: Option<LogField>,
    /// The operator.
    pub operator: Operator,
    /// The values (one for scalar operators, two for `between`, any number for list operators; empty for
    /// `is_set`/`is_not_set`).
    pub values: Vec<Scalar>,
    /// Whether comparison is numeric (see the module docs).
    pub numeric: bool,
    /// Compiled patterns, one per value, for `regex`/`not_regex`.
    pub regexes: Vec<Regex>,
    /// Lowercased values, for the case-insensitive text operators.
    pub lowered: Vec<String>,
}

impl PropertyFilter {
    /// Whether the leaf is always true (an empty value list on a list operator).
    pub fn is_noop(&self) -> bool {
        self.values.is_empty() && !matches!(self.operator, Operator::IsSet | Operator::IsNotSet)
    }
}

pub(crate) fn parse_filter_group(v: &Value, path: &str) -> Result<FilterNode> {
    match v {
        Value::Null => Ok(FilterNode::empty()),
        // A flat list of filters is one AND group (spec §2.4).
        Value::Array(items) => Ok(FilterNode::Group {
            op: GroupOp::And,
            children: items
                .iter()
                .enumerate()
                .map(|(i, item)| parse_node(item, &index(path, i), 1))
                .collect::<Result<_>>()?,
        }),
        Value::Object(_) => parse_node(v, path, 0),
        other => Err(expected(
            path,
            "a filter group object or a list of filters",
            other,
        )),
    }
}

fn parse_node(v: &Value, path: &str, depth: usize) -> Result<FilterNode> {
    if depth > MAX_FILTER_DEPTH {
        return Err(ApiError::new(
            path,
            format!("filter groups nested deeper than {MAX_FILTER_DEPTH} levels are not supported"),
        ));
    }
    let obj = json::as_object(path, v)?;
    if obj.contains_key("values") && !obj.contains_key("key") {
        let op = match get(obj, "type") {
            None => GroupOp::And,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("and") => GroupOp::And,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("or") => GroupOp::Or,
            Some(other) => {
                return Err(ApiError::new(
                    join(path, "type"),
                    format!("unknown group type {other}; expected \"AND\" or \"OR\""),
                ));
            }
        };
        let values_path = join(path, "values");
        let children = match get(obj, "values") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| parse_node(item, &index(&values_path, i), depth + 1))
                .collect::<Result<_>>()?,
            Some(other) => return Err(expected(&values_path, "a list", other)),
        };
        return Ok(FilterNode::Group { op, children });
    }
    parse_leaf(obj, path).map(FilterNode::Leaf)
}

fn parse_leaf(obj: &Map<String, Value>, path: &str) -> Result<PropertyFilter> {
    let key = match get(obj, "key") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(expected(&join(path, "key"), "a string", other)),
        None => return Err(ApiError::new(join(path, "key"), "is required")),
    };
    let filter_type = match get(obj, "type") {
        None => {
            return Err(ApiError::new(
                join(path, "type"),
                "is required; expected one of \"log\", \"log_attribute\", \"log_resource_attribute\"",
            ));
        }
        Some(Value::String(s)) => match s.as_str() {
            "log" => FilterType::Log,
            "log_attribute" => FilterType::LogAttribute,
            "log_resource_attribute" => FilterType::LogResourceAttribute,
            other => {
                return Err(ApiError::new(
                    join(path, "type"),
                    format!(
                        "unknown filter type {other:?}; expected one of \"log\", \"log_attribute\", \
                         \"log_resource_attribute\""
                    ),
                ));
            }
        },
        Some(other) => return Err(expected(&join(path, "type"), "a string", other)),
    };
    let field = match filter_type {
        FilterType::Log => Some(LogField::parse(&key).ok_or_else(|| {
            let names: Vec<_> = LogField::ALL
                .iter()
                .map(|(k, _)| format!("{k:?}"))
                .collect();
            ApiError::new(
                join(path, "key"),
                format!(
                    "unknown log field {key:?}; expected one of {}",
                    names.join(", ")
                ),
            )
        })?),
        _ if key.is_empty() => return Err(ApiError::new(join(path, "key"), "must not be empty")),
        _ => None,
    };
    let operator = match get(obj, "operator") {
        None => Operator::Exact,
        Some(Value::String(s)) => Operator::parse(s).ok_or_else(|| {
            let names: Vec<_> = Operator::names().collect();
            ApiError::new(
                join(path, "operator"),
                format!(
                    "unknown operator {s:?}; expected one of {}",
                    names.join(", ")
                ),
            )
        })?,
        Some(other) => return Err(expected(&join(path, "operator"), "a string", other)),
    };
    let value_path = join(path, "value");
    let raw = obj.get("value").unwrap_or(&Value::Null);
    let mut values = match operator {
        Operator::IsSet | Operator::IsNotSet => Vec::new(),
        _ => scalars(raw, &value_path)?,
    };
    match operator {
        Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte
            if values.len() != 1 || raw.is_array() =>
        {
            return Err(ApiError::new(
                value_path,
                "expected one value (a number or a string)",
            ));
        }
        Operator::IsDateExact | Operator::IsDateBefore | Operator::IsDateAfter => {
            if values.len() != 1 || raw.is_array() {
                return Err(ApiError::new(value_path, "expected one ISO-8601 date"));
            }
            let instant = quarry_core::time::parse_iso(values[0].text.trim()).ok_or_else(|| {
                ApiError::new(
                    &value_path,
                    format!("expected an ISO-8601 date, got {:?}", values[0].text),
                )
            })?;
            values[0].instant = Some(instant);
        }
        Operator::Between | Operator::NotBetween => {
            let ok = values.len() == 2 && values.iter().all(|v| v.number.is_some());
            if !ok {
                return Err(ApiError::new(
                    value_path,
                    "expected a list of two numbers [min, max]",
                ));
            }
            if values[0].number > values[1].number {
                return Err(ApiError::new(value_path, "expected min <= max"));
            }
        }
        _ => {}
    }
    if raw.is_null() && !matches!(operator, Operator::IsSet | Operator::IsNotSet) {
        return Err(ApiError::new(
            value_path,
            format!("is required for operator {:?}", operator.as_str()),
        ));
    }
    let numeric = match field {
        Some(f) => f.is_numeric() && operator.compares(),
        None => {
            operator.compares() && !values.is_empty() && values.iter().all(|v| v.number.is_some())
        }
    };
    if numeric && values.iter().any(|v| v.number.is_none()) {
        return Err(ApiError::new(
            value_path,
            format!("{key:?} is numeric: expected numbers"),
        ));
    }
    if matches!(field, Some(LogField::TraceId)) {
        normalise_ids::<16>(&mut values);
    } else if matches!(field, Some(LogField::SpanId)) {
        normalise_ids::<8>(&mut values);
    }
    let regexes = if matches!(operator, Operator::Regex | Operator::NotRegex) {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let p = if raw.is_array() {
                    index(&value_path, i)
                } else {
                    value_path.clone()
                };
                regex::RegexBuilder::new(&v.text)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| {
                        ApiError::new(
                            p,
                            format!("invalid regular expression: {}", first_line(&e.to_string())),
                        )
                    })
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let lowered = values.iter().map(|v| v.text.to_lowercase()).collect();
    Ok(PropertyFilter {
        key,
        filter_type,
        field,
        operator,
        values,
        numeric,
        regexes,
        lowered,
    })
}

fn first_line(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn normalise_ids<const N: usize>(values: &mut [Scalar]) {
    for v in values {
        let id = parse_id::<N>(v.text.trim());
        if id != [0u8; N] {
            v.text = to_upper_hex(&id);
        }
    }
}

fn scalars(v: &Value, path: &str) -> Result<Vec<Scalar>> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| scalar(item, &index(path, i)))
            .collect(),
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![scalar(other, path)?]),
    }
}

fn scalar(v: &Value, path: &str) -> Result<Scalar> {
    match v {
        Value::String(s) => Ok(Scalar::from_text(s.clone())),
        Value::Number(n) => Ok(Scalar::from_text(n.to_string())),
        Value::Bool(b) => Ok(Scalar {
            text: b.to_string(),
            number: None,
            instant: None,
        }),
        other => Err(expected(path, "a string, number or boolean", other)),
    }
}
