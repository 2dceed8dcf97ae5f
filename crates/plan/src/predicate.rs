//! The row predicate of a request: spec §2.6's WHERE clause, evaluated row by row.
//!
//! A [`Predicate`] is the conjunction of: the precise time range `[from, to)`, `serviceNames`, `severityLevels`,
//! `resourceFingerprint`, `searchTerm`, `filterGroup`, `liveLogsCheckpoint` and the cursor. The same predicate
//! filters memtable rows and Parquet rows; indexes only decide which rows reach it (they never replace it), so an
//! index can prune too little but never too much.

use std::collections::BTreeSet;

use memchr::memmem;
use quarry_api::{
    Cursor, FilterNode, FilterType, GroupOp, LogField, Operator, OrderBy, PropertyFilter,
    parse_number,
};
use quarry_core::ids::to_upper_hex;
use quarry_core::schema::columns;
use quarry_core::{Severity, TimeRange};

use crate::row::Row;

/// The compiled WHERE clause of one request.
#[derive(Debug, Clone)]
pub(crate) struct Predicate {
    pub(crate) range: TimeRange,
    /// `serviceNames`; `None` = any.
    pub(crate) services: Option<BTreeSet<String>>,
    /// `severityLevels`; `None` = any.
    pub(crate) severities: Option<BTreeSet<Severity>>,
    pub(crate) fingerprint: Option<u64>,
    pub(crate) search: Option<String>,
    pub(crate) filter: Option<FilterNode>,
    pub(crate) live_checkpoint: Option<i64>,
    pub(crate) cursor: Option<(Cursor, OrderBy)>,
}

impl Predicate {
    /// A predicate on time only.
    pub(crate) fn range(range: TimeRange) -> Predicate {
        Predicate {
            range,
            services: None,
            severities: None,
            fingerprint: None,
            search: None,
            filter: None,
            live_checkpoint: None,
            cursor: None,
        }
    }

    pub(crate) fn with_services(mut self, names: &[String]) -> Predicate {
        if !names.is_empty() {
            self.services = Some(names.iter().cloned().collect());
        }
        self
    }

    pub(crate) fn with_severities(mut self, levels: &[Severity]) -> Predicate {
        if !levels.is_empty() {
            self.severities = Some(levels.iter().copied().collect());
        }
        self
    }

    pub(crate) fn with_filter(mut self, filter: &FilterNode) -> Predicate {
        if !filter.is_trivial() {
            self.filter = Some(filter.clone());
        }
        self
    }

    pub(crate) fn with_search(mut self, term: Option<&str>) -> Predicate {
        self.search = term.filter(|t| !t.is_empty()).map(str::to_lowercase);
        self
    }

    /// Whether only time, service and severity constrain rows (so bitmaps alone answer membership).
    pub(crate) fn only_time_service_severity(&self) -> bool {
        self.only_time_service_severity_cursor() && self.cursor.is_none()
    }

    /// Whether only time, service, severity and the cursor constrain rows: within the minutes of the range, every
    /// row the postings give matches, bar the partial minutes at the range's and the cursor's ends.
    pub(crate) fn only_time_service_severity_cursor(&self) -> bool {
        self.fingerprint.is_none()
            && self.search.is_none()
            && self.filter.is_none()
            && self.live_checkpoint.is_none()
    }

    /// The columns the predicate reads (always `timestamp`).
    pub(crate) fn columns(&self, out: &mut BTreeSet<&'static str>) {
        out.insert(columns::TIMESTAMP);
        if self.services.is_some() {
            out.insert(columns::SERVICE_NAME);
        }
        if self.severities.is_some() {
            out.insert(columns::SEVERITY_TEXT);
        }
        if self.fingerprint.is_some() {
            out.insert(columns::RESOURCE_FINGERPRINT);
        }
        if self.search.is_some() {
            out.insert(columns::BODY);
        }
        if self.live_checkpoint.is_some() {
            out.insert(columns::OBSERVED_TIMESTAMP);
        }
        if self.cursor.is_some() {
            out.insert(columns::UUID);
        }
        if let Some(f) = &self.filter {
            for leaf in f.leaves() {
                out.insert(match (leaf.filter_type, leaf.field) {
                    (FilterType::LogAttribute, _) => columns::ATTRIBUTES,
                    (FilterType::LogResourceAttribute, _) => columns::RESOURCE_ATTRIBUTES,
                    (FilterType::Log, Some(field)) => field_column(field),
                    (FilterType::Log, None) => columns::BODY,
                });
            }
        }
    }

    /// Attribute leaves every matching row satisfies: the leaves on log or resource attributes with a positive
    /// operator (`exact`, `icontains`, `regex`, `gt`, `is_set`, …) reached from the root of `filterGroup` through
    /// AND groups only. A row matching the predicate has each such leaf's key, with a value for which
    /// [`positive_match`] holds (an absent key fails a positive operator), so the leaf can prune rows by what the
    /// sidecar's attribute rollup says about keys and values.
    pub(crate) fn required_attributes(&self) -> Vec<&PropertyFilter> {
        fn walk<'a>(node: &'a FilterNode, out: &mut Vec<&'a PropertyFilter>) {
            match node {
                FilterNode::Leaf(f) => {
                    if f.filter_type != FilterType::Log && !f.operator.is_negative() && !f.is_noop()
                    {
                        out.push(f);
                    }
                }
                FilterNode::Group {
                    op: GroupOp::And,
                    children,
                } => children.iter().for_each(|c| walk(c, out)),
                FilterNode::Group { .. } => {}
            }
        }
        let mut out = Vec::new();
        if let Some(f) = &self.filter {
            walk(f, &mut out);
        }
        out
    }

    /// Whether `row` satisfies the predicate. `scratch` is a reusable buffer.
    pub(crate) fn matches<R: Row + ?Sized>(&self, row: &R, scratch: &mut Vec<u8>) -> bool {
        let ts = row.timestamp();
        if !self.range.contains(ts) {
            return false;
        }
        if let Some(s) = &self.services
            && !s.contains(row.service_name())
        {
            return false;
        }
        if let Some(s) = &self.severities
            && !Severity::from_canonical(row.severity_text()).is_some_and(|v| s.contains(&v))
        {
            return false;
        }
        if let Some(fp) = self.fingerprint
            && row.resource_fingerprint() != fp
        {
            return false;
        }
        if let Some(c) = self.live_checkpoint
            && row.observed_timestamp() < c
        {
            return false;
        }
        if let Some((c, order)) = &self.cursor {
            let key = (ts, row.uuid());
            let ok = match order {
                OrderBy::Latest => key < (c.timestamp, c.uuid),
                OrderBy::Earliest => key > (c.timestamp, c.uuid),
            };
            if !ok {
                return false;
            }
        }
        if let Some(term) = &self.search
            && !contains_ci(row.body(), term, scratch)
        {
            return false;
        }
        match &self.filter {
            None => true,
            Some(f) => eval_node(f, row, scratch),
        }
    }
}

/// The column a `log` filter reads.
pub(crate) fn field_column(field: LogField) -> &'static str {
    match field {
        LogField::Message => columns::BODY,
        LogField::SeverityLevel => columns::SEVERITY_TEXT,
        LogField::ServiceName => columns::SERVICE_NAME,
        LogField::TraceId => columns::TRACE_ID,
        LogField::SpanId => columns::SPAN_ID,
        LogField::EventName => columns::EVENT_NAME,
        LogField::InstrumentationScope => columns::INSTRUMENTATION_SCOPE,
        LogField::SeverityNumber => columns::SEVERITY_NUMBER,
        LogField::ResourceFingerprint => columns::RESOURCE_FINGERPRINT,
        LogField::Uuid => columns::UUID,
    }
}

fn eval_node<R: Row + ?Sized>(node: &FilterNode, row: &R, scratch: &mut Vec<u8>) -> bool {
    match node {
        FilterNode::Leaf(f) => eval_leaf(f, row, scratch),
        FilterNode::Group { op, children } => {
            if children.is_empty() {
                return true;
            }
            match op {
                GroupOp::And => children.iter().all(|c| eval_node(c, row, scratch)),
                GroupOp::Or => children.iter().any(|c| eval_node(c, row, scratch)),
            }
        }
    }
}

/// A field value as text (and number, for the numeric columns).
enum Value<'a> {
    Absent,
    Text(std::borrow::Cow<'a, str>),
}

fn field_value<'a, R: Row + ?Sized>(f: &PropertyFilter, row: &'a R) -> Value<'a> {
    use std::borrow::Cow;
    match f.filter_type {
        FilterType::LogAttribute => row
            .attribute(&f.key)
            .map_or(Value::Absent, |v| Value::Text(Cow::Borrowed(v))),
        FilterType::LogResourceAttribute => row
            .resource_attribute(&f.key)
            .map_or(Value::Absent, |v| Value::Text(Cow::Borrowed(v))),
        FilterType::Log => {
            let text: Cow<'a, str> = match f.field.unwrap_or(LogField::Message) {
                LogField::Message => Cow::Borrowed(row.body()),
                LogField::SeverityLevel => Cow::Borrowed(row.severity_text()),
                LogField::ServiceName => Cow::Borrowed(row.service_name()),
                LogField::TraceId => id_text(row.trace_id()),
                LogField::SpanId => id_text(row.span_id()),
                LogField::EventName => Cow::Borrowed(row.event_name()),
                LogField::InstrumentationScope => Cow::Borrowed(row.instrumentation_scope()),
                LogField::SeverityNumber => Cow::Owned(row.severity_number().to_string()),
                LogField::ResourceFingerprint => Cow::Owned(row.resource_fingerprint().to_string()),
                LogField::Uuid => Cow::Owned(uuid::Uuid::from_bytes(row.uuid()).to_string()),
            };
            // A column is always there; `is_set` on a column means "not empty" (a zero id is empty).
            if matches!(f.operator, Operator::IsSet | Operator::IsNotSet) && text.is_empty() {
                Value::Absent
            } else {
                Value::Text(text)
            }
        }
    }
}

fn id_text(id: &[u8]) -> std::borrow::Cow<'static, str> {
    if id.iter().all(|b| *b == 0) {
        std::borrow::Cow::Borrowed("")
    } else {
        std::borrow::Cow::Owned(to_upper_hex(id))
    }
}

fn eval_leaf<R: Row + ?Sized>(f: &PropertyFilter, row: &R, scratch: &mut Vec<u8>) -> bool {
    if f.is_noop() {
        return true;
    }
    let negative = f.operator.is_negative();
    let x = match field_value(f, row) {
        Value::Absent => return negative,
        Value::Text(t) => t,
    };
    match positive_match(f, &x, scratch) {
        // Not comparable (a numeric filter on a non-numeric value) behaves like an absent key.
        None => negative,
        Some(m) => m != negative,
    }
}

/// Whether the positive form of the leaf's operator holds for `x`; `None` when `x` cannot be compared.
pub(crate) fn positive_match(f: &PropertyFilter, x: &str, scratch: &mut Vec<u8>) -> Option<bool> {
    let op = f.operator.positive();
    if f.numeric {
        let xn = parse_number(x)?;
        let vals = f.values.iter().filter_map(|v| v.number);
        return Some(match op {
            Operator::Exact | Operator::In => vals.into_iter().any(|v| xn == v),
            Operator::Gt => vals.into_iter().any(|v| xn > v),
            Operator::Gte => vals.into_iter().any(|v| xn >= v),
            Operator::Lt => vals.into_iter().any(|v| xn < v),
            Operator::Lte => vals.into_iter().any(|v| xn <= v),
            Operator::Between => {
                let v: Vec<f64> = vals.collect();
                v.len() == 2 && v[0] <= xn && xn <= v[1]
            }
            _ => false,
        });
    }
    Some(match op {
        Operator::IsSet => true,
        Operator::Exact | Operator::In => f.values.iter().any(|v| v.text == x),
        Operator::IContains => f.lowered.iter().any(|v| contains_ci(x, v, scratch)),
        Operator::Regex => f.regexes.iter().any(|r| r.is_match(x)),
        Operator::StartsWith => {
            let lx = x.to_lowercase();
            f.lowered.iter().any(|v| lx.starts_with(v.as_str()))
        }
        Operator::EndsWith => {
            let lx = x.to_lowercase();
            f.lowered.iter().any(|v| lx.ends_with(v.as_str()))
        }
        Operator::Gt => f.values.iter().any(|v| x > v.text.as_str()),
        Operator::Gte => f.values.iter().any(|v| x >= v.text.as_str()),
        Operator::Lt => f.values.iter().any(|v| x < v.text.as_str()),
        Operator::Lte => f.values.iter().any(|v| x <= v.text.as_str()),
        // Between always compares numbers; reaching here means `x` is not one.
        Operator::Between => return None,
        Operator::IsDateExact | Operator::IsDateBefore | Operator::IsDateAfter => {
            let xt = quarry_core::time::parse_iso(x.trim())?;
            let v = f.values.first().and_then(|v| v.instant)?;
            match op {
                Operator::IsDateExact => xt == v,
                Operator::IsDateBefore => xt < v,
                _ => xt > v,
            }
        }
        // Negative operators were mapped to their positive form above.
        _ => false,
    })
}

/// Case-insensitive substring test; `needle_lower` is already lowercased (Unicode). ASCII haystacks take a
/// byte-wise path through `memmem`; others are lowercased with Unicode rules first, which gives the same answer.
pub(crate) fn contains_ci(hay: &str, needle_lower: &str, scratch: &mut Vec<u8>) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    if hay.is_ascii() {
        if !needle_lower.is_ascii() {
            return false;
        }
        scratch.clear();
        scratch.extend(hay.bytes().map(|b| b.to_ascii_lowercase()));
        return memmem::find(scratch, needle_lower.as_bytes()).is_some();
    }
    hay.to_lowercase().contains(needle_lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_contains() {
        let mut s = Vec::new();
        assert!(contains_ci("Connection REFUSED by peer", "refused", &mut s));
        assert!(!contains_ci("Connection", "refused", &mut s));
        assert!(contains_ci("ÜBER Straße", "über", &mut s));
        assert!(!contains_ci("abc", "é", &mut s));
        assert!(contains_ci("anything", "", &mut s));
    }
}
