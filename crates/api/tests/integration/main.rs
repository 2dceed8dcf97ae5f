//! Bad input: every malformed field gets an error that names it (by JSON path) and says what was expected;
//! nothing panics.

use quarry_api::{AttributesParams, Endpoint, ValuesParams, parse_envelope};
use serde_json::{Value, json};

/// (request body, endpoint, expected error field, a fragment of the message).
fn post_cases() -> Vec<(Value, Endpoint, &'static str, &'static str)> {
    let q = |v: Value| json!({ "query": v });
    vec![
        (json!([]), Endpoint::Count, "body", "expected a JSON object"),
        (json!({}), Endpoint::Query, "query", "No query provided"),
        (
            json!({"query": 3}),
            Endpoint::Count,
            "query",
            "query must be an object",
        ),
        (
            q(json!({})),
            Endpoint::Query,
            "query.dateRange",
            "is required",
        ),
        (
            q(json!({})),
            Endpoint::Services,
            "query.dateRange",
            "is required",
        ),
        (
            q(json!({"dateRange": "-1h"})),
            Endpoint::Count,
            "query.dateRange",
            "expected an object",
        ),
        (
            q(json!({"dateRange": {"date_from": "yesterday"}})),
            Endpoint::Count,
            "query.dateRange.date_from",
            "relative date",
        ),
        (
            q(json!({"dateRange": {"date_from": "-1H"}})),
            Endpoint::Count,
            "query.dateRange.date_from",
            "relative date",
        ),
        (
            q(json!({"dateRange": {"date_to": "2026-02-30T00:00:00Z"}})),
            Endpoint::Count,
            "query.dateRange.date_to",
            "ISO-8601",
        ),
        (
            q(json!({"dateRange": {"date_to": "all"}})),
            Endpoint::Count,
            "query.dateRange.date_to",
            "only valid for date_from",
        ),
        (
            q(json!({"dateRange": {"date_from": 5}})),
            Endpoint::Count,
            "query.dateRange.date_from",
            "expected a date string",
        ),
        (
            q(json!({"severityLevels": ["warning"]})),
            Endpoint::Count,
            "query.severityLevels[0]",
            "unknown severity level",
        ),
        (
            q(json!({"severityLevels": "error"})),
            Endpoint::Count,
            "query.severityLevels",
            "expected a list of strings",
        ),
        (
            q(json!({"serviceNames": [1]})),
            Endpoint::Count,
            "query.serviceNames[0]",
            "expected a string",
        ),
        (
            q(json!({"dateRange": {}, "orderBy": "newest"})),
            Endpoint::Query,
            "query.orderBy",
            "expected \"latest\" or \"earliest\"",
        ),
        (
            q(json!({"searchTerm": ["x"]})),
            Endpoint::Count,
            "query.searchTerm",
            "expected a string",
        ),
        (
            q(json!({"dateRange": {}, "limit": -5})),
            Endpoint::Query,
            "query.limit",
            "positive integer",
        ),
        (
            q(json!({"dateRange": {}, "limit": 0})),
            Endpoint::Query,
            "query.limit",
            "positive integer",
        ),
        (
            q(json!({"dateRange": {}, "limit": "ten"})),
            Endpoint::Query,
            "query.limit",
            "expected an integer",
        ),
        (
            q(json!({"dateRange": {}, "limit": 1.5})),
            Endpoint::Query,
            "query.limit",
            "expected an integer",
        ),
        (
            q(json!({"dateRange": {}, "after": "not a cursor"})),
            Endpoint::Query,
            "query.after",
            "invalid cursor",
        ),
        (
            q(json!({"dateRange": {}, "after": "eyJ0aW1lc3RhbXAiOiJ4In0="})),
            Endpoint::Query,
            "query.after",
            "invalid cursor",
        ),
        (
            q(json!({"liveLogsCheckpoint": "soon"})),
            Endpoint::Count,
            "query.liveLogsCheckpoint",
            "ISO-8601",
        ),
        (
            q(json!({"resourceFingerprint": "-1"})),
            Endpoint::Count,
            "query.resourceFingerprint",
            "unsigned 64-bit",
        ),
        (
            q(json!({"resourceFingerprint": true})),
            Endpoint::Count,
            "query.resourceFingerprint",
            "unsigned 64-bit",
        ),
        (
            q(json!({"excludeAttributes": "yes"})),
            Endpoint::Count,
            "query.excludeAttributes",
            "true or false",
        ),
        (
            q(
                json!({"dateRange": {}, "customColumns": (0..51).map(|i| format!("attributes.k{i}")).collect::<Vec<_>>()}),
            ),
            Endpoint::Query,
            "query.customColumns",
            "Too many custom columns: 51 (max 50)",
        ),
        (
            q(json!({"dateRange": {}, "customColumns": ["count()"]})),
            Endpoint::Query,
            "query.customColumns[0]",
            "unsupported custom column",
        ),
        (
            q(json!({"targetBuckets": "many"})),
            Endpoint::CountRanges,
            "query.targetBuckets",
            "expected an integer",
        ),
        (
            q(json!({"sparklineBreakdownBy": "host"})),
            Endpoint::Sparkline,
            "query.sparklineBreakdownBy",
            "\"severity\" or \"service\"",
        ),
        (
            q(json!({"sparklineRankBy": "size"})),
            Endpoint::Sparkline,
            "query.sparklineRankBy",
            "\"count\" or \"bytes\"",
        ),
        (
            q(json!({"dateRange": {}, "serviceNameSearch": "x".repeat(201)})),
            Endpoint::Services,
            "query.serviceNameSearch",
            "at most 200",
        ),
        (
            q(json!({"filterGroup": "AND"})),
            Endpoint::Count,
            "query.filterGroup",
            "filter group object or a list",
        ),
        (
            q(json!({"filterGroup": {"type": "XOR", "values": []}})),
            Endpoint::Count,
            "query.filterGroup.type",
            "\"AND\" or \"OR\"",
        ),
        (
            q(json!({"filterGroup": {"type": "AND", "values": {}}})),
            Endpoint::Count,
            "query.filterGroup.values",
            "expected a list",
        ),
        (
            q(
                json!({"filterGroup": {"type": "AND", "values": [{"type": "AND", "values": [{}, {}, {"key": "k", "type": "log_attribute", "operator": "contains", "value": "x"}]}]}}),
            ),
            Endpoint::Count,
            "query.filterGroup.values[0].values[0].key",
            "is required",
        ),
        (
            q(
                json!({"filterGroup": {"type": "AND", "values": [{"type": "AND", "values": [{"key": "a", "type": "log_attribute", "value": "x"}, {"key": "b", "type": "log_attribute", "value": "y"}, {"key": "k", "type": "log_attribute", "operator": "contains", "value": "x"}]}]}}),
            ),
            Endpoint::Count,
            "query.filterGroup.values[0].values[2].operator",
            "unknown operator \"contains\"; expected one of exact, is_not",
        ),
        (
            q(json!({"filterGroup": [{"key": "k", "type": "event", "value": "x"}]})),
            Endpoint::Count,
            "query.filterGroup[0].type",
            "unknown filter type",
        ),
        (
            q(json!({"filterGroup": [{"key": "k", "value": "x"}]})),
            Endpoint::Count,
            "query.filterGroup[0].type",
            "is required",
        ),
        (
            q(json!({"filterGroup": [{"key": "colour", "type": "log", "value": "x"}]})),
            Endpoint::Count,
            "query.filterGroup[0].key",
            "unknown log field",
        ),
        (
            q(json!({"filterGroup": [{"key": "", "type": "log_attribute", "value": "x"}]})),
            Endpoint::Count,
            "query.filterGroup[0].key",
            "must not be empty",
        ),
        (
            q(json!({"filterGroup": [{"key": "k", "type": "log_attribute", "operator": "exact"}]})),
            Endpoint::Count,
            "query.filterGroup[0].value",
            "is required",
        ),
        (
            q(json!({"filterGroup": [{"key": "k", "type": "log_attribute", "value": {"a": 1}}]})),
            Endpoint::Count,
            "query.filterGroup[0].value",
            "a string, number or boolean",
        ),
        (
            q(
                json!({"filterGroup": [{"key": "k", "type": "log_attribute", "value": ["a", null]}]}),
            ),
            Endpoint::Count,
            "query.filterGroup[0].value[1]",
            "a string, number or boolean",
        ),
        (
            q(
                json!({"filterGroup": [{"key": "k", "type": "log_attribute", "operator": "regex", "value": "(unclosed"}]}),
            ),
            Endpoint::Count,
            "query.filterGroup[0].value",
            "invalid regular expression",
        ),
        (
            q(
                json!({"filterGroup": [{"key": "k", "type": "log_attribute", "operator": "regex", "value": ["ok", "a{99999}{99999}"]}]}),
            ),
            Endpoint::Count,
            "query.filterGroup[0].value[1]",
            "invalid regular expression",
        ),
        (
            q(
                json!({"filterGroup": [{"key": "k", "type": "log_attribute", "operator": "between", "value": [5]}]}),
            ),
            Endpoint::Count,
            "query.filterGroup[0].value",
            "two numbers",
        ),
        (
            q(
                json!({"filterGroup": [{"key": "k", "type": "log_attribute", "operator": "between", "value": [5, "x"]}]}),
            ),
            Endpoint::Count,
            "query.filterGroup[0].value",
            "two numbers",
        ),
        (
            q(
                json!({"filterGroup": [{"key": "k", "type": "log_attribute", "operator": "between", "value": [9, 5]}]}),
            ),
            Endpoint::Count,
            "query.filterGroup[0].value",
            "min <= max",
        ),
        (
            q(
                json!({"filterGroup": [{"key": "k", "type": "log_attribute", "operator": "gt", "value": [1, 2]}]}),
            ),
            Endpoint::Count,
            "query.filterGroup[0].value",
            "expected one value",
        ),
        (
            q(
                json!({"filterGroup": [{"key": "k", "type": "log_attribute", "operator": "is_date_before", "value": "someday"}]}),
            ),
            Endpoint::Count,
            "query.filterGroup[0].value",
            "ISO-8601",
        ),
        (
            q(
                json!({"filterGroup": [{"key": "severity_number", "type": "log", "operator": "gt", "value": "high"}]}),
            ),
            Endpoint::Count,
            "query.filterGroup[0].value",
            "is numeric",
        ),
        (
            q(
                json!({"filterGroup": [{"key": "k", "type": "log_attribute", "operator": 7, "value": "x"}]}),
            ),
            Endpoint::Count,
            "query.filterGroup[0].operator",
            "expected a string",
        ),
    ]
}

#[test]
fn malformed_post_fields_are_named() {
    for (body, endpoint, field, fragment) in post_cases() {
        let err = parse_envelope(&body, endpoint).expect_err(&format!("{body} should be rejected"));
        assert_eq!(err.field, field, "{body}: {err}");
        assert!(
            err.message.contains(fragment),
            "{body}: message {:?} lacks {fragment:?}",
            err.message
        );
        assert!(err.to_string().starts_with(field), "{err}");
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    // 100 levels: past MAX_FILTER_DEPTH, refused by validation with the path of the offending group.
    let mut v = json!({"key": "k", "type": "log_attribute", "value": "x"});
    for _ in 0..100 {
        v = json!({"type": "AND", "values": [v]});
    }
    let err = parse_envelope(&json!({"query": {"filterGroup": v}}), Endpoint::Count).unwrap_err();
    assert!(err.message.contains("nested deeper than"), "{err}");
    assert!(
        err.field.starts_with("query.filterGroup.values[0]"),
        "{err}"
    );
    // 10,000 levels as request text never become a value: serde_json's recursion limit refuses it first.
    let deep = format!(
        "{{\"query\": {{\"filterGroup\": {}{}}}}}",
        "{\"type\": \"AND\", \"values\": [".repeat(10_000),
        "]}".repeat(10_000)
    );
    assert!(serde_json::from_str::<Value>(&deep).is_err());
}

#[test]
fn malformed_get_parameters_are_named() {
    let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    type Case = (Vec<(String, String)>, &'static str, &'static str);
    let values_cases: Vec<Case> = vec![
        (p(&[]), "key", "key is required"),
        (p(&[("key", "")]), "key", "key is required"),
        (
            p(&[("key", "k"), ("limit", "ten")]),
            "limit",
            "non-negative integer",
        ),
        (
            p(&[("key", "k"), ("limit", "0")]),
            "limit",
            "positive integer",
        ),
        (
            p(&[("key", "k"), ("offset", "-1")]),
            "offset",
            "non-negative integer",
        ),
        (
            p(&[("key", "k"), ("dateRange", "{not json")]),
            "dateRange",
            "expected JSON",
        ),
        (
            p(&[("key", "k"), ("dateRange", r#"{"date_from": "-1x"}"#)]),
            "dateRange.date_from",
            "relative date",
        ),
        (
            p(&[("key", "k"), ("serviceNames", r#""api""#)]),
            "serviceNames",
            "JSON list of strings",
        ),
        (
            p(&[("key", "k"), ("serviceNames", "[1]")]),
            "serviceNames[0]",
            "expected a string",
        ),
        (
            p(&[
                ("key", "k"),
                (
                    "filterGroup",
                    r#"[{"key":"a","type":"log_attribute","operator":"nope","value":"x"}]"#,
                ),
            ]),
            "filterGroup[0].operator",
            "unknown operator",
        ),
        (
            p(&[("key", "k"), ("attribute_type", "span")]),
            "attribute_type",
            "\"log\" or \"resource\"",
        ),
    ];
    for (params, field, fragment) in values_cases {
        let err = ValuesParams::parse(&params).expect_err(&format!("{params:?}"));
        assert_eq!(err.field, field, "{params:?}: {err}");
        assert!(err.message.contains(fragment), "{params:?}: {err}");
    }
    let err = AttributesParams::parse(&p(&[("date_from", "later")])).unwrap_err();
    assert_eq!(err.field, "date_from");
    // Limits above the maximum are capped, not errors.
    assert_eq!(
        AttributesParams::parse(&p(&[("limit", "5000")]))
            .unwrap()
            .common
            .limit,
        100
    );
    assert_eq!(
        ValuesParams::parse(&p(&[("key", "k"), ("limit", "5000")]))
            .unwrap()
            .common
            .limit,
        1000
    );
}

#[test]
fn lenient_shapes_posthog_accepts_still_parse() {
    // A flat list of filters, a scalar for `in`, numbers as strings, min/max aliases, null members.
    let body = json!({"query": {
        "dateRange": {"date_from": "-7d", "date_to": null, "explicitDate": true},
        "filterGroup": [
            {"key": "http.status_code", "type": "log_attribute", "operator": "min", "value": "500"},
            {"key": "region", "type": "log_attribute", "operator": "in", "value": "eu"},
            {"key": "message", "type": "log", "operator": "icontains", "value": "100%_done", "label": "ignored"}
        ],
        "limit": "50",
        "kind": "LogsQuery",
        "searchTerm": null
    }});
    let q = parse_envelope(&body, Endpoint::Query).unwrap();
    assert_eq!(q.requested_limit(), 50);
    assert_eq!(q.filter_group.leaves().len(), 3);
    assert!(q.filter_group.leaves()[0].numeric);
    // Limits above 2000 are capped.
    let q = parse_envelope(
        &json!({"query": {"dateRange": {}, "limit": 999999}}),
        Endpoint::Query,
    )
    .unwrap();
    assert_eq!(q.requested_limit(), 2000);
}
