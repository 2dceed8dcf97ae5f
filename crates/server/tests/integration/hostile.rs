//! Hostile input over HTTP, table-driven: every logs endpoint and the OTLP decoders get wrong JSON types, unknown
//! operators and filter types, invalid and pathological regexes, huge and negative limits, impossible dates,
//! forged cursors, filter groups nested 10,000 deep, 100 MB bodies, invalid UTF-8, NUL bytes and path-like
//! project ids and names. Each request must end within a deadline (nothing hangs) with the expected status and,
//! for a 400, an error that starts with the field it names; afterwards the stored rows are intact and the data
//! directory holds nothing outside its own layout.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::{Answer, TOKEN_1, count, get, post, send, server};

/// How long one hostile request may take, in a debug build on a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// What a case expects: a status and, for errors, the field the message starts with.
enum Expect {
    Ok,
    Error(StatusCode, &'static str),
}

fn q(v: Value) -> String {
    json!({ "query": v }).to_string()
}

fn day() -> Value {
    json!({"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"})
}

fn leaf(key: &str, ty: &str, op: &str, value: Value) -> Value {
    json!({"type": "AND", "values": [{"key": key, "type": ty, "operator": op, "value": value}]})
}

fn raw(method: Method, uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN_1}"))
        .body(body.into())
        .unwrap()
}

fn cases() -> Vec<(&'static str, Request<Body>, Expect)> {
    use Expect::{Error, Ok};
    let t = Some(TOKEN_1);
    let bad = StatusCode::BAD_REQUEST;
    let count = "/api/projects/1/logs/count";
    let query = "/api/projects/1/logs/query";
    let deep = format!(
        "{{\"query\": {{\"filterGroup\": {}{}}}}}",
        "{\"type\": \"AND\", \"values\": [".repeat(10_000),
        "]}".repeat(10_000)
    );
    let mut nested =
        json!({"key": "k", "type": "log_attribute", "operator": "exact", "value": "x"});
    // 40 levels: past MAX_FILTER_DEPTH (32), inside serde_json's recursion limit (128), so validation answers.
    for _ in 0..40 {
        nested = json!({"type": "OR", "values": [nested]});
    }
    let mut out = vec![
        // Wrong JSON types, field by field.
        (
            "limit as text",
            post(query, t, q(json!({"dateRange": day(), "limit": "ten"}))),
            Error(bad, "query.limit"),
        ),
        (
            "serviceNames not a list",
            post(count, t, q(json!({"serviceNames": "api"}))),
            Error(bad, "query.serviceNames"),
        ),
        (
            "severity level a number",
            post(count, t, q(json!({"severityLevels": [1]}))),
            Error(bad, "query.severityLevels[0]"),
        ),
        (
            "searchTerm a number",
            post(count, t, q(json!({"searchTerm": 5}))),
            Error(bad, "query.searchTerm"),
        ),
        (
            "filterGroup a string",
            post(count, t, q(json!({"filterGroup": "x"}))),
            Error(bad, "query.filterGroup"),
        ),
        (
            "dateRange a list",
            post(
                "/api/projects/1/logs/sparkline",
                t,
                q(json!({"dateRange": []})),
            ),
            Error(bad, "query.dateRange"),
        ),
        (
            "targetBuckets as text",
            post(
                "/api/projects/1/logs/count-ranges",
                t,
                q(json!({"targetBuckets": "many"})),
            ),
            Error(bad, "query.targetBuckets"),
        ),
        ("envelope a list", post(count, t, "[]"), Error(bad, "body")),
        // Unknown operators and filter types.
        (
            "unknown operator",
            post(
                count,
                t,
                q(json!({"filterGroup": leaf("k", "log_attribute", "contains", json!("x"))})),
            ),
            Error(bad, "query.filterGroup.values[0].operator"),
        ),
        (
            "unknown filter type",
            post(
                count,
                t,
                q(json!({"filterGroup": leaf("k", "event", "exact", json!("x"))})),
            ),
            Error(bad, "query.filterGroup.values[0].type"),
        ),
        (
            "unknown log field",
            post(
                count,
                t,
                q(json!({"filterGroup": leaf("../../etc/passwd", "log", "exact", json!("x"))})),
            ),
            Error(bad, "query.filterGroup.values[0].key"),
        ),
        // Regexes: invalid and oversized are refused; a pattern that backtracks exponentially elsewhere runs in
        // linear time here.
        (
            "invalid regex",
            post(
                count,
                t,
                q(json!({"filterGroup": leaf("message", "log", "regex", json!("(unclosed"))})),
            ),
            Error(bad, "query.filterGroup.values[0].value"),
        ),
        (
            "oversized regex",
            post(
                count,
                t,
                q(
                    json!({"filterGroup": leaf("message", "log", "regex", json!("(\\w{500}){500}"))}),
                ),
            ),
            Error(bad, "query.filterGroup.values[0].value"),
        ),
        (
            "catastrophic backtracking pattern",
            post(
                count,
                t,
                q(
                    json!({"dateRange": day(), "filterGroup": leaf("message", "log", "regex", json!("^(a+)+$"))}),
                ),
            ),
            Ok,
        ),
        // Limits.
        (
            "negative limit",
            post(query, t, q(json!({"dateRange": day(), "limit": -5}))),
            Error(bad, "query.limit"),
        ),
        (
            "huge limit is capped",
            post(
                query,
                t,
                q(json!({"dateRange": day(), "limit": 1_000_000_000_000u64})),
            ),
            Ok,
        ),
        (
            "fractional limit",
            post(query, t, q(json!({"dateRange": day(), "limit": 2.5}))),
            Error(bad, "query.limit"),
        ),
        (
            "negative GET limit",
            get("/api/projects/1/logs/values?key=k&limit=-1", t),
            Error(bad, "limit"),
        ),
        (
            "export over its cap",
            post(
                "/api/projects/1/logs/export",
                t,
                q(json!({"dateRange": day(), "limit": 1u64 << 40})),
            ),
            Error(bad, "query.limit"),
        ),
        // Impossible dates.
        (
            "February 30th",
            post(
                count,
                t,
                q(json!({"dateRange": {"date_from": "2026-02-30T00:00:00Z"}})),
            ),
            Error(bad, "query.dateRange.date_from"),
        ),
        (
            "hour 25",
            post(
                count,
                t,
                q(json!({"dateRange": {"date_to": "2026-11-01T25:00:00Z"}})),
            ),
            Error(bad, "query.dateRange.date_to"),
        ),
        (
            "relative overflow",
            post(
                count,
                t,
                q(json!({"dateRange": {"date_from": "-99999999999999999d"}})),
            ),
            Error(bad, "query.dateRange.date_from"),
        ),
        (
            "year 10000",
            post(
                count,
                t,
                q(json!({"dateRange": {"date_from": "10000-01-01T00:00:00Z"}})),
            ),
            Error(bad, "query.dateRange.date_from"),
        ),
        (
            "GET date of the wrong type",
            get("/api/projects/1/logs/values?key=k&dateRange=%5B1%5D", t),
            Error(bad, "dateRange"),
        ),
        // Forged cursors.
        (
            "cursor not base64",
            post(query, t, q(json!({"dateRange": day(), "after": "!!!"}))),
            Error(bad, "query.after"),
        ),
        (
            "cursor of the wrong shape",
            post(
                query,
                t,
                q(json!({"dateRange": day(), "after": "eyJ4IjoxfQ=="})),
            ),
            Error(bad, "query.after"),
        ),
        (
            "cursor a number",
            post(query, t, q(json!({"dateRange": day(), "after": 7}))),
            Error(bad, "query.after"),
        ),
        // Nesting.
        (
            "10,000 levels of groups",
            post(count, t, deep),
            Error(bad, "body"),
        ),
        (
            "40 levels of groups",
            post(count, t, q(json!({"filterGroup": nested}))),
            Error(bad, "query.filterGroup"),
        ),
        // Encodings.
        (
            "invalid UTF-8 request",
            raw(
                Method::POST,
                count,
                "application/json",
                vec![b'{', 0xff, 0xfe, b'}'],
            ),
            Error(bad, "body"),
        ),
        (
            "NUL inside a search term",
            post(
                count,
                t,
                q(json!({"dateRange": day(), "searchTerm": "a\u{0}b"})),
            ),
            Ok,
        ),
        (
            "raw NUL byte in JSON",
            raw(
                Method::POST,
                count,
                "application/json",
                b"{\"query\": {\"searchTerm\": \"a\0b\"}}".to_vec(),
            ),
            Error(bad, "body"),
        ),
        (
            "invalid UTF-8 log line",
            raw(
                Method::POST,
                "/v1/logs",
                "text/plain",
                b"{\"body\": \"\xff\xfe\"}\n".to_vec(),
            ),
            Error(bad, "body"),
        ),
        (
            "OTLP protobuf garbage",
            raw(
                Method::POST,
                "/v1/logs",
                "application/x-protobuf",
                vec![0xff; 64],
            ),
            Error(bad, "body"),
        ),
        (
            "OTLP JSON of the wrong shape",
            raw(
                Method::POST,
                "/v1/logs",
                "application/json",
                r#"{"resourceLogs": 5}"#,
            ),
            Error(bad, "body"),
        ),
        // Path-like ids and parameters.
        (
            "project id with a path",
            post("/api/projects/..%2F1/logs/count", t, "{}"),
            Error(bad, "project_id"),
        ),
        (
            "project id with a NUL",
            post("/api/projects/1%00/logs/count", t, "{}"),
            Error(bad, "project_id"),
        ),
        (
            "negative project id",
            post("/api/projects/-1/logs/count", t, "{}"),
            Error(bad, "project_id"),
        ),
        (
            "attribute_type with a path",
            get(
                "/api/projects/1/logs/values?key=k&attribute_type=..%2F..",
                t,
            ),
            Error(bad, "attribute_type"),
        ),
        // The attributes and has_logs routes.
        (
            "attributes limit negative",
            get("/api/projects/1/logs/attributes?search=http&limit=-3", t),
            Error(bad, "limit"),
        ),
        (
            "attributes filterGroup not JSON",
            get("/api/projects/1/logs/attributes?filterGroup=%7B%7B", t),
            Error(bad, "filterGroup"),
        ),
        (
            "attributes serviceNames of numbers",
            get(
                "/api/projects/1/logs/attributes?serviceNames=%5B1%2C2%5D",
                t,
            ),
            Error(bad, "serviceNames"),
        ),
        (
            "has_logs of a path-like project",
            get("/api/projects/..%2F2/logs/has_logs", t),
            Error(bad, "project_id"),
        ),
    ];
    // The same hostile bodies at every POST endpoint: each names the same field wherever it is sent.
    let bodies: Vec<(&str, String, &str)> = vec![
        (
            "filterGroup a number",
            q(json!({"dateRange": day(), "filterGroup": 7})),
            "query.filterGroup",
        ),
        (
            "unknown operator",
            q(
                json!({"dateRange": day(), "filterGroup": leaf("k", "log_attribute", "like", json!("x"))}),
            ),
            "query.filterGroup.values[0].operator",
        ),
        (
            "invalid regex",
            q(
                json!({"dateRange": day(), "filterGroup": leaf("message", "log", "not_regex", json!("a(b"))}),
            ),
            "query.filterGroup.values[0].value",
        ),
        (
            "impossible date",
            q(json!({"dateRange": {"date_from": "2026-13-01T00:00:00Z"}})),
            "query.dateRange.date_from",
        ),
        (
            "severity unknown",
            q(json!({"dateRange": day(), "severityLevels": ["loud"]})),
            "query.severityLevels[0]",
        ),
        (
            "forged cursor",
            q(json!({"dateRange": day(), "after": "bm90IGpzb24="})),
            "query.after",
        ),
        ("envelope a string", "\"query\"".to_owned(), "body"),
    ];
    for endpoint in [
        "query",
        "count",
        "count-ranges",
        "sparkline",
        "services",
        "export",
    ] {
        for (name, body, field) in &bodies {
            // A cursor means something only to query and export; elsewhere it is ignored, not an error.
            if *name == "forged cursor" && !["query", "export"].contains(&endpoint) {
                continue;
            }
            let case: &'static str = Box::leak(format!("{endpoint}: {name}").into_boxed_str());
            out.push((
                case,
                post(&format!("/api/projects/1/logs/{endpoint}"), t, body.clone()),
                Error(bad, field),
            ));
        }
    }
    out
}

#[tokio::test]
async fn hostile_requests_get_named_errors_and_nothing_hangs_or_leaks() {
    let s = server();
    // Rows to protect: 20 records, one of them with a path-like service name and a NUL in its body.
    let lines = (0..20)
        .map(|i| {
            let service = if i == 0 { "../../../escape" } else { "api" };
            // Row 1's body is the input on which `^(a+)+$` backtracks exponentially in a backtracking engine.
            let body = if i == 1 { format!("{}b", "a".repeat(40)) } else { "ok\u{0}row".to_owned() };
            json!({"timestamp": format!("2026-11-01T10:00:{i:02}Z"), "service_name": service, "body": body})
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let a = send(&s.app, raw(Method::POST, "/v1/logs", "text/plain", lines)).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    let mut failures = Vec::new();
    for (name, req, expect) in cases() {
        let answer: Answer = match tokio::time::timeout(DEADLINE, send(&s.app, req)).await {
            Ok(a) => a,
            Err(_) => {
                failures.push(format!("{name}: no answer within {DEADLINE:?}"));
                continue;
            }
        };
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        match expect {
            Expect::Ok if answer.status != StatusCode::OK => {
                failures.push(format!(
                    "{name}: expected 200, got {} {text}",
                    answer.status
                ));
            }
            Expect::Error(status, field) => {
                let error = serde_json::from_slice::<Value>(&answer.body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_owned));
                match error {
                    Some(e) if answer.status == status && e.starts_with(field) => {}
                    _ => failures.push(format!(
                        "{name}: expected {status} naming {field:?}, got {} {text}",
                        answer.status
                    )),
                }
            }
            Expect::Ok => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The stored rows are untouched, and a flush keeps every file inside the data directory's own layout.
    let all = json!({"dateRange": day()});
    assert_eq!(count(&s.app, 1, TOKEN_1, all.clone()).await, 20);
    s.engine.flush().unwrap();
    assert_eq!(count(&s.app, 1, TOKEN_1, all).await, 20);
    let root = s._dir.path();
    for entry in walk(root) {
        let rel = entry
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            rel == "LOCK"
                || rel.starts_with("catalog.sqlite")
                || rel.starts_with("wal")
                || rel.starts_with("team=1/date=2026-11-01/hour=10"),
            "unexpected path {rel}"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A 100 MB body, streamed without a length: the server stops reading at its limit (32 MiB by default) and
/// answers 413, so memory holds at most the limit, never the body; both for the logs API and for OTLP ingest.
#[tokio::test]
async fn a_hundred_megabyte_body_is_refused_after_the_limit() {
    let s = server();
    for uri in ["/api/projects/1/logs/count", "/v1/logs"] {
        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pulled);
        let chunk = Bytes::from(vec![b' '; 1 << 20]);
        let stream = futures_util::stream::unfold(0usize, move |sent| {
            let chunk = chunk.clone();
            let counter = Arc::clone(&counter);
            async move {
                (sent < 100).then(|| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    (Ok::<_, std::io::Error>(chunk), sent + 1)
                })
            }
        });
        let req = raw(
            Method::POST,
            uri,
            "application/json",
            Body::from_stream(stream),
        );
        let a = tokio::time::timeout(DEADLINE, send(&s.app, req))
            .await
            .expect("answers in time");
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}");
        let read = pulled.load(Ordering::SeqCst);
        assert!(
            read <= 34,
            "{uri}: the server pulled {read} MiB of a 100 MiB body"
        );
    }
}
