//! The naive oracle of the read endpoints: every request answered by looking at every row, the obvious way.
//!
//! It shares nothing with `quarry-plan` but the validated request types of `quarry-api`: no index, no rollup, no
//! projection, no early stop, no heap — filter everything, sort everything, count everything. The semantics are
//! written out again from the documentation of `quarry_api` (module `filter`) and spec §3, so the planner's
//! answers can be compared with them.

use std::collections::{BTreeMap, BTreeSet};

use quarry_api::{
    AttributeType, AttributesParams, CommonParams, FilterNode, FilterType, GroupOp, LogField,
    LogsQuery, Operator, OrderBy, PropertyFilter, ValuesParams,
};
use quarry_core::ids::to_upper_hex;
use quarry_core::record::attribute;
use quarry_core::{LogRecord, TimeRange};

/// Whether `r` passes the filters of `q` in `range` (cursor and live checkpoint included when `paging`).
pub fn matches_query(r: &LogRecord, q: &LogsQuery, range: TimeRange, paging: bool) -> bool {
    if !(range.start <= r.timestamp && r.timestamp < range.end) {
        return false;
    }
    if !q.service_names.is_empty() && !q.service_names.contains(&r.service_name) {
        return false;
    }
    if !q.severity_levels.is_empty() && !q.severity_levels.contains(&r.severity_text) {
        return false;
    }
    if let Some(fp) = q.resource_fingerprint
        && r.resource_fingerprint != fp
    {
        return false;
    }
    if let Some(term) = &q.search_term
        && !r.body.to_lowercase().contains(&term.to_lowercase())
    {
        return false;
    }
    if paging {
        if let Some(c) = q.live_logs_checkpoint
            && r.observed_timestamp < c
        {
            return false;
        }
        if let Some(c) = &q.after {
            let before = (r.timestamp, r.uuid) < (c.timestamp, c.uuid);
            let after = (r.timestamp, r.uuid) > (c.timestamp, c.uuid);
            let ok = match q.order_by {
                OrderBy::Latest => before,
                OrderBy::Earliest => after,
            };
            if !ok {
                return false;
            }
        }
    }
    node(&q.filter_group, r)
}

/// Evaluates a filter tree on one record.
pub fn node(n: &FilterNode, r: &LogRecord) -> bool {
    match n {
        FilterNode::Leaf(f) => leaf(f, r),
        FilterNode::Group { children, .. } if children.is_empty() => true,
        FilterNode::Group {
            op: GroupOp::And,
            children,
        } => children.iter().all(|c| node(c, r)),
        FilterNode::Group {
            op: GroupOp::Or,
            children,
        } => children.iter().any(|c| node(c, r)),
    }
}

fn num(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

fn leaf(f: &PropertyFilter, r: &LogRecord) -> bool {
    let is_set_op = matches!(f.operator, Operator::IsSet | Operator::IsNotSet);
    if f.values.is_empty() && !is_set_op {
        return true;
    }
    let value: Option<String> = match f.filter_type {
        FilterType::LogAttribute => attribute(&r.attributes, &f.key).map(str::to_owned),
        FilterType::LogResourceAttribute => {
            attribute(&r.resource_attributes, &f.key).map(str::to_owned)
        }
        FilterType::Log => {
            let zero = |b: &[u8]| b.iter().all(|x| *x == 0);
            let text = match f.field.expect("log filters name a field") {
                LogField::Message => r.body.clone(),
                LogField::SeverityLevel => r.severity_text.as_str().to_owned(),
                LogField::ServiceName => r.service_name.clone(),
                LogField::TraceId if zero(&r.trace_id) => String::new(),
                LogField::TraceId => to_upper_hex(&r.trace_id),
                LogField::SpanId if zero(&r.span_id) => String::new(),
                LogField::SpanId => to_upper_hex(&r.span_id),
                LogField::EventName => r.event_name.clone(),
                LogField::InstrumentationScope => r.instrumentation_scope.clone(),
                LogField::SeverityNumber => r.severity_number.to_string(),
                LogField::ResourceFingerprint => r.resource_fingerprint.to_string(),
                LogField::Uuid => r.uuid_string(),
            };
            if is_set_op && text.is_empty() {
                None
            } else {
                Some(text)
            }
        }
    };
    let negative = matches!(
        f.operator,
        Operator::IsNot
            | Operator::NotIContains
            | Operator::NotRegex
            | Operator::NotBetween
            | Operator::NotIn
            | Operator::IsNotSet
            | Operator::NotStartsWith
            | Operator::NotEndsWith
    );
    let Some(x) = value else {
        return negative;
    };
    let texts: Vec<&str> = f.values.iter().map(|v| v.text.as_str()).collect();
    let lower_x = x.to_lowercase();
    let positive: Option<bool> = if f.numeric {
        num(&x).map(|xn| {
            let nums: Vec<f64> = f
                .values
                .iter()
                .map(|v| v.number.expect("numeric"))
                .collect();
            match f.operator {
                Operator::Exact | Operator::In | Operator::IsNot | Operator::NotIn => {
                    nums.contains(&xn)
                }
                Operator::Gt => nums.iter().any(|v| xn > *v),
                Operator::Gte => nums.iter().any(|v| xn >= *v),
                Operator::Lt => nums.iter().any(|v| xn < *v),
                Operator::Lte => nums.iter().any(|v| xn <= *v),
                Operator::Between | Operator::NotBetween => nums[0] <= xn && xn <= nums[1],
                other => panic!("numeric {other:?}"),
            }
        })
    } else {
        match f.operator {
            Operator::IsSet | Operator::IsNotSet => Some(true),
            Operator::Exact | Operator::In | Operator::IsNot | Operator::NotIn => {
                Some(texts.contains(&x.as_str()))
            }
            Operator::IContains | Operator::NotIContains => {
                Some(texts.iter().any(|t| lower_x.contains(&t.to_lowercase())))
            }
            Operator::StartsWith | Operator::NotStartsWith => {
                Some(texts.iter().any(|t| lower_x.starts_with(&t.to_lowercase())))
            }
            Operator::EndsWith | Operator::NotEndsWith => {
                Some(texts.iter().any(|t| lower_x.ends_with(&t.to_lowercase())))
            }
            Operator::Regex | Operator::NotRegex => {
                Some(f.regexes.iter().any(|re| re.is_match(&x)))
            }
            Operator::Gt => Some(texts.iter().any(|t| x.as_str() > *t)),
            Operator::Gte => Some(texts.iter().any(|t| x.as_str() >= *t)),
            Operator::Lt => Some(texts.iter().any(|t| x.as_str() < *t)),
            Operator::Lte => Some(texts.iter().any(|t| x.as_str() <= *t)),
            Operator::Between | Operator::NotBetween => None,
            Operator::IsDateExact | Operator::IsDateBefore | Operator::IsDateAfter => {
                quarry_core::time::parse_iso(x.trim()).map(|xt| {
                    let v = f.values[0].instant.expect("dates are parsed");
                    match f.operator {
                        Operator::IsDateExact => xt == v,
                        Operator::IsDateBefore => xt < v,
                        _ => xt > v,
                    }
                })
            }
        }
    };
    match positive {
        None => negative,
        Some(p) => p != negative,
    }
}

/// Every row of the query (paging by `after` and the live checkpoint included) in its order.
fn ordered<'a>(rows: &'a [LogRecord], q: &LogsQuery, now: i64) -> Vec<&'a LogRecord> {
    let range = q.time_range(now).expect("valid range");
    let mut hits: Vec<&LogRecord> = rows
        .iter()
        .filter(|r| matches_query(r, q, range, true))
        .collect();
    hits.sort_by_key(|r| (r.timestamp, r.uuid));
    if q.order_by == OrderBy::Latest {
        hits.reverse();
    }
    hits
}

/// `query`: (page, has_more) for `limit` rows.
pub fn query<'a>(rows: &'a [LogRecord], q: &LogsQuery, now: i64) -> (Vec<&'a LogRecord>, bool) {
    let mut hits = ordered(rows, q, now);
    let limit = q.requested_limit();
    let more = hits.len() > limit;
    hits.truncate(limit);
    (hits, more)
}

/// `export` (spec §3.9): every row of the query in its order (paging by `after` and the live checkpoint as the
/// query does), at most `cap`.
pub fn export<'a>(
    rows: &'a [LogRecord],
    q: &LogsQuery,
    now: i64,
    cap: usize,
) -> Vec<&'a LogRecord> {
    let mut hits = ordered(rows, q, now);
    hits.truncate(cap);
    hits
}

/// `count`.
pub fn count(rows: &[LogRecord], q: &LogsQuery, now: i64) -> u64 {
    let range = q.time_range(now).expect("valid range");
    rows.iter()
        .filter(|r| matches_query(r, q, range, false))
        .count() as u64
}

/// The interval picker of spec §3.4.1, written with a floating-point step: (width in seconds, label).
pub fn interval(range: TimeRange, target: usize) -> (i64, String) {
    let step = (range.end as f64 - range.start as f64) / 1e9 / target.max(1) as f64;
    let candidates = [
        1i64, 5, 10, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400,
    ];
    let mut best = candidates[0];
    for c in candidates {
        if (c as f64 - step).abs() < (best as f64 - step).abs() {
            best = c;
        }
    }
    let label = if step >= 60.0 {
        let m = best / 60;
        if m % 1440 == 0 {
            format!("{}d", m / 1440)
        } else if m % 60 == 0 {
            format!("{}h", m / 60)
        } else {
            format!("{m}m")
        }
    } else {
        format!("{best}s")
    };
    (best, label)
}

/// `count-ranges`: (bucket start ns, count) for non-empty buckets, and the interval label.
pub fn count_ranges(rows: &[LogRecord], q: &LogsQuery, now: i64) -> (Vec<(i64, u64)>, String) {
    let range = q.time_range(now).expect("valid range");
    let (width, label) = interval(range, q.target_buckets);
    let w = width * 1_000_000_000;
    let mut buckets: BTreeMap<i64, u64> = BTreeMap::new();
    for r in rows.iter().filter(|r| matches_query(r, q, range, false)) {
        *buckets.entry(r.timestamp.div_euclid(w) * w).or_default() += 1;
    }
    (buckets.into_iter().collect(), label)
}

fn common_rows<'a>(rows: &'a [LogRecord], c: &CommonParams, now: i64) -> Vec<&'a LogRecord> {
    let range = c.time_range(now).expect("valid range");
    rows.iter()
        .filter(|r| range.start <= r.timestamp && r.timestamp < range.end)
        .filter(|r| c.service_names.is_empty() || c.service_names.contains(&r.service_name))
        .filter(|r| node(&c.filter_group, r))
        .collect()
}

fn pairs(r: &LogRecord, t: AttributeType, max_len: usize) -> Vec<(&str, &str)> {
    match t {
        AttributeType::Resource => r.resource_attributes.iter().collect(),
        AttributeType::Log => r
            .attributes
            .iter()
            .filter(|(k, v)| k.len() < max_len && v.len() < max_len)
            .collect(),
    }
}

/// `values`: (value, count) of the page.
pub fn values(
    rows: &[LogRecord],
    p: &ValuesParams,
    now: i64,
    max_len: usize,
) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in common_rows(rows, &p.common, now) {
        for (k, v) in pairs(r, p.common.attribute_type, max_len) {
            let ok = p
                .value
                .as_ref()
                .is_none_or(|s| v.to_lowercase().contains(&s.to_lowercase()));
            if k == p.key && ok {
                *counts.entry(v.to_owned()).or_default() += 1;
            }
        }
    }
    let mut all: Vec<(String, u64)> = counts.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    all.into_iter()
        .skip(p.common.offset)
        .take(p.common.limit)
        .collect()
}

/// `attributes`: ((name, matched_on, matched_value) of the page, count).
#[allow(clippy::type_complexity)]
pub fn attributes(
    rows: &[LogRecord],
    p: &AttributesParams,
    now: i64,
    max_len: usize,
) -> (Vec<(String, String, Option<String>)>, usize) {
    let s = p.search.to_lowercase();
    let value_mode = p.search_values && p.search.chars().count() >= 4;
    let mut key_rows: BTreeMap<String, u64> = BTreeMap::new();
    let mut val_rows: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for r in common_rows(rows, &p.common, now) {
        for (k, v) in pairs(r, p.common.attribute_type, max_len) {
            if let Some(keys) = &p.keys
                && !keys.iter().any(|x| x == k)
            {
                continue;
            }
            if k.to_lowercase().contains(&s) {
                *key_rows.entry(k.to_owned()).or_default() += 1;
            } else if value_mode && v.to_lowercase().contains(&s) {
                *val_rows
                    .entry(k.to_owned())
                    .or_default()
                    .entry(v.to_owned())
                    .or_default() += 1;
            }
        }
    }
    let token = |k: &str| {
        k.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .any(|t| !t.is_empty() && t == s)
    };
    let rank = |v: &mut Vec<(String, u64)>| {
        v.sort_by(|a, b| {
            let key_a = (
                a.0.to_lowercase() != s,
                !token(&a.0),
                std::cmp::Reverse(a.1),
                a.0.clone(),
            );
            let key_b = (
                b.0.to_lowercase() != s,
                !token(&b.0),
                std::cmp::Reverse(b.1),
                b.0.clone(),
            );
            key_a.cmp(&key_b)
        })
    };
    let mut keys: Vec<(String, u64)> = key_rows.into_iter().collect();
    rank(&mut keys);
    let total = keys.len();
    let mut items: Vec<(String, String, Option<String>)> = keys
        .into_iter()
        .map(|(k, _)| (k, "key".to_owned(), None))
        .collect();
    if value_mode {
        let mut by_value: Vec<(String, u64)> = val_rows
            .iter()
            .map(|(k, vs)| (k.clone(), vs.values().sum()))
            .collect();
        rank(&mut by_value);
        for (k, _) in by_value {
            let vs = &val_rows[&k];
            let max = vs.values().max().copied().unwrap_or(0);
            let best = vs.iter().find(|(_, n)| **n == max).map(|(v, _)| v.clone());
            items.push((k, "value".to_owned(), best));
        }
    }
    let page: Vec<_> = items
        .into_iter()
        .skip(p.common.offset)
        .take(p.common.limit)
        .collect();
    let count = if value_mode {
        p.common.offset + page.len()
    } else {
        total
    };
    (page, count)
}

/// Distinct services of the rows (handy for building requests).
pub fn service_names(rows: &[LogRecord]) -> BTreeSet<String> {
    rows.iter().map(|r| r.service_name.clone()).collect()
}

/// `sparkline` (quarry's exact variant of spec §3.4.2): (bucket start, label, rows, bytes), sorted, ≤ 1000.
pub fn sparkline(rows: &[LogRecord], q: &LogsQuery, now: i64) -> Vec<(i64, String, u64, u64)> {
    let range = q.time_range(now).expect("valid range");
    let (width, _) = interval(range, 50);
    let w = width * 1_000_000_000;
    let by_service = q.sparkline_breakdown_by == quarry_api::BreakdownBy::Service;
    let label = |r: &LogRecord| {
        let v = if by_service {
            r.service_name.clone()
        } else {
            r.severity_text.as_str().to_owned()
        };
        if v.is_empty() {
            "(no value)".to_owned()
        } else {
            v
        }
    };
    let hits: Vec<&LogRecord> = rows
        .iter()
        .filter(|r| matches_query(r, q, range, false))
        .collect();
    let mut totals: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in &hits {
        let e = totals.entry(label(r)).or_default();
        e.0 += 1;
        e.1 += r.bytes_uncompressed;
    }
    let mut ranked: Vec<(String, u64)> = totals
        .into_iter()
        .map(|(v, (c, b))| {
            (
                v,
                if q.sparkline_rank_by == quarry_api::RankBy::Bytes {
                    b
                } else {
                    c
                },
            )
        })
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let top: BTreeSet<String> = ranked.into_iter().take(10).map(|(v, _)| v).collect();
    let mut points: BTreeMap<(i64, String), (u64, u64)> = BTreeMap::new();
    for r in &hits {
        let l = label(r);
        let l = if top.contains(&l) {
            l
        } else {
            "$$_posthog_breakdown_other_$$".to_owned()
        };
        let e = points
            .entry((r.timestamp.div_euclid(w) * w, l))
            .or_default();
        e.0 += 1;
        e.1 += r.bytes_uncompressed;
    }
    let first = range.start.div_euclid(w) * w;
    let last = ((range.end - 1).div_euclid(w) * w).max(first);
    let mut t = first;
    while t <= last {
        if !points.keys().any(|(pt, _)| *pt == t) {
            points.insert((t, "(no value)".to_owned()), (0, 0));
        }
        t += w;
    }
    points
        .into_iter()
        .take(1000)
        .map(|((t, v), (c, b))| (t, v, c, b))
        .collect()
}

/// Python's `round(x, digits)`.
fn py_round(x: f64, digits: usize) -> f64 {
    format!("{x:.digits$}").parse().unwrap()
}

/// One service of `services`: (name, log_count, error_count, error_rate, [debug, info, warn, error], share).
pub type OracleService = (String, u64, u64, f64, [u64; 4], f64);

/// `services`: (services, (top count, top share), total services, sparkline (time, service, rows)).
#[allow(clippy::type_complexity)]
pub fn services(
    rows: &[LogRecord],
    q: &LogsQuery,
    now: i64,
) -> (
    Vec<OracleService>,
    (usize, f64),
    usize,
    Vec<(i64, String, u64)>,
) {
    let range = q.time_range(now).expect("valid range");
    let name = |r: &LogRecord| {
        if r.service_name.is_empty() {
            "(no service)".to_owned()
        } else {
            r.service_name.clone()
        }
    };
    let hits: Vec<&LogRecord> = rows
        .iter()
        .filter(|r| matches_query(r, q, range, false))
        .filter(|r| {
            q.service_name_search
                .as_ref()
                .is_none_or(|s| r.service_name.to_lowercase().contains(&s.to_lowercase()))
        })
        .collect();
    let mut per: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for r in &hits {
        let e = per.entry(name(r)).or_default();
        e[0] += 1;
        use quarry_core::Severity::*;
        match r.severity_text {
            Trace | Debug => e[1] += 1,
            Info => e[2] += 1,
            Warn => e[3] += 1,
            Error | Fatal => e[4] += 1,
            Unknown => {}
        }
    }
    let mut list: Vec<(String, [u64; 5])> = per.into_iter().collect();
    let total = list.len();
    list.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then(a.0.cmp(&b.0)));
    list.truncate(10_000);
    let sum: u64 = list.iter().map(|(_, c)| c[0]).sum();
    let services: Vec<OracleService> = list
        .iter()
        .map(|(n, c)| {
            let rate = if c[0] == 0 {
                0.0
            } else {
                py_round(c[4] as f64 / c[0] as f64, 4)
            };
            let share = if sum == 0 {
                0.0
            } else {
                py_round(100.0 * c[0] as f64 / sum as f64, 2)
            };
            (n.clone(), c[0], c[4], rate, [c[1], c[2], c[3], c[4]], share)
        })
        .collect();
    let top = services.len().min(5);
    let share = if top == 0 {
        0.0
    } else {
        py_round(services[..top].iter().map(|s| s.5).sum(), 2)
    };
    let returned: BTreeSet<&str> = services.iter().map(|s| s.0.as_str()).collect();
    let (width, _) = interval(range, 50);
    let w = width * 1_000_000_000;
    let mut spark: BTreeMap<(i64, String), u64> = BTreeMap::new();
    for r in &hits {
        let n = name(r);
        if returned.contains(n.as_str()) {
            *spark.entry((r.timestamp.div_euclid(w) * w, n)).or_default() += 1;
        }
    }
    let spark = spark
        .into_iter()
        .take(10_000)
        .map(|((t, s), c)| (t, s, c))
        .collect();
    (services, (top, share), total, spark)
}
