//! In-process tests of quarry-server's router (`tower::ServiceExt::oneshot`): every route, every error status,
//! OTLP ingest in each encoding, tenant separation by token, and the metrics those requests leave behind.

use std::io::Write;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use quarry::{Engine, ManualClock, TeamId};
use quarry_server::{ServerConfig, Tokens, router};
use serde_json::{Value, json};
use tower::ServiceExt;

mod hostile;

/// 2026-11-01T12:00:00Z: the engine's clock, so relative dates are fixed.
const NOW: i64 = 1_794_052_800 * 1_000_000_000;
const TOKEN_1: &str = "phc_team_one_secret_token";
const TOKEN_2: &str = "phc_team_two_secret_token";

struct Server {
    _dir: tempfile::TempDir,
    engine: Engine,
    app: Router,
}

fn server_with(config: impl FnOnce(&mut ServerConfig)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder(dir.path())
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .with_background_flush(false)
        .open()
        .unwrap();
    let mut tokens = Tokens::new();
    tokens.add_spec(&format!("{TOKEN_1}=1"), "test").unwrap();
    tokens.add_spec(&format!("{TOKEN_2}=2"), "test").unwrap();
    let mut cfg = ServerConfig {
        tokens,
        ..ServerConfig::default()
    };
    config(&mut cfg);
    let app = router(engine.clone(), cfg);
    Server {
        _dir: dir,
        engine,
        app,
    }
}

fn server() -> Server {
    server_with(|_| {})
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .expect("an error body")
            .to_owned()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Answer {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn post(uri: &str, token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(body.into()).unwrap()
}

fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(Method::GET).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// An OTLP request: `n` records of `service`, one second apart ending a minute before [`NOW`], severities
/// cycling info, warn, error; attribute `n` = the record's number.
fn otlp_request(service: &str, n: usize) -> ExportLogsServiceRequest {
    let severities = [("INFO", 9), ("WARN", 13), ("ERROR", 17)];
    let records = (0..n)
        .map(|i| {
            let (text_sev, number) = severities[i % 3];
            LogRecord {
                time_unix_nano: (NOW - 60_000_000_000 - (n - i) as i64 * 1_000_000_000) as u64,
                severity_text: text_sev.into(),
                severity_number: number,
                body: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(format!(
                        "{service} record {i}"
                    ))),
                }),
                attributes: vec![text("n", &i.to_string())],
                ..Default::default()
            }
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![text("service.name", service)],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn proto(uri: &str, token: Option<&str>, body: Vec<u8>, gzip: bool) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-protobuf");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = if gzip {
        b = b.header(header::CONTENT_ENCODING, "gzip");
        gzip_bytes(&body)
    } else {
        body
    };
    b.body(Body::from(body)).unwrap()
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Sends `n` records of `service` as OTLP protobuf to `/v1/logs` with `token`, and expects a 200.
async fn ingest(app: &Router, token: Option<&str>, service: &str, n: usize) {
    let a = send(
        app,
        proto(
            "/v1/logs",
            token,
            otlp_request(service, n).encode_to_vec(),
            false,
        ),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
}

async fn count(app: &Router, project: u32, token: &str, query: Value) -> u64 {
    let a = send(
        app,
        post(
            &format!("/api/projects/{project}/logs/count/"),
            Some(token),
            json!({ "query": query }).to_string(),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.json());
    a.json()["count"].as_u64().unwrap()
}

#[tokio::test]
async fn otlp_protobuf_json_and_gzip_bodies_are_stored_for_the_tokens_team() {
    let s = server();
    // Protobuf, plain and gzipped, at both routes.
    let a = send(
        &s.app,
        proto(
            "/v1/logs",
            Some(TOKEN_1),
            otlp_request("api", 9).encode_to_vec(),
            false,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/x-protobuf");
    let response = ExportLogsServiceResponse::decode(a.body.as_slice()).unwrap();
    assert_eq!(response.partial_success, None);
    let a = send(
        &s.app,
        proto(
            "/i/v1/logs",
            Some(TOKEN_1),
            otlp_request("web", 6).encode_to_vec(),
            true,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    // OTLP/JSON with the token in the query string, gzipped without saying so (PostHog sniffs the magic bytes).
    let body = serde_json::to_vec(&otlp_request("worker", 3)).unwrap();
    let a = send(
        &s.app,
        Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/logs?token={TOKEN_2}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(gzip_bytes(&body)))
            .unwrap(),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{:?}",
        String::from_utf8_lossy(&a.body)
    );
    assert_eq!(a.json(), json!({}));

    let day = json!({"dateRange": {"date_from": "-1h"}});
    assert_eq!(count(&s.app, 1, TOKEN_1, day.clone()).await, 15);
    assert_eq!(count(&s.app, 2, TOKEN_2, day.clone()).await, 3);
    let errors = json!({"dateRange": {"date_from": "-1h"}, "severityLevels": ["error"]});
    assert_eq!(count(&s.app, 1, TOKEN_1, errors).await, 5);
    // The records are durable: the engine itself sees them.
    let ctx = s.engine.context(TeamId(1));
    let c = s
        .engine
        .count(&ctx, &json!({"query": {"dateRange": {"date_from": "-1h"}}}))
        .unwrap();
    assert_eq!(c.count, 15);
}

#[tokio::test]
async fn otlp_partial_success_counts_rejected_lines_and_garbage_is_a_400() {
    let s = server();
    let good = serde_json::to_string(&otlp_request("api", 2)).unwrap();
    let body = format!("{good}\nnot json at all\n{good}\n");
    let a = send(&s.app, post("/v1/logs", Some(TOKEN_1), body)).await;
    assert_eq!(a.status, StatusCode::OK);
    let v = a.json();
    assert_eq!(v["partialSuccess"]["rejectedLogRecords"], "1");
    let message = v["partialSuccess"]["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("record 1: record: not an OTLP/JSON"),
        "{message}"
    );
    assert_eq!(
        count(
            &s.app,
            1,
            TOKEN_1,
            json!({"dateRange": {"date_from": "-1h"}})
        )
        .await,
        4
    );

    let a = send(&s.app, post("/v1/logs", Some(TOKEN_1), "hello")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.error()
            .starts_with("body: no log record could be decoded"),
        "{}",
        a.error()
    );
    let a = send(
        &s.app,
        proto("/v1/logs", Some(TOKEN_1), b"\xff\xff\xff".to_vec(), false),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.error().starts_with("body: not an OTLP protobuf"),
        "{}",
        a.error()
    );
    // Broken gzip.
    let mut req = proto(
        "/v1/logs",
        Some(TOKEN_1),
        b"\x1f\x8b\x08garbage".to_vec(),
        false,
    );
    req.headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let a = send(&s.app, req).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.error().starts_with("body: not valid gzip"),
        "{}",
        a.error()
    );
}

#[tokio::test]
async fn bodies_over_the_limits_are_413() {
    let s = server_with(|c| {
        c.max_body_bytes = 4096;
        c.max_decompressed_bytes = 64 << 10;
    });
    let a = send(&s.app, post("/v1/logs", Some(TOKEN_1), vec![b' '; 5000])).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.error(), "body: larger than the server's limit");
    let a = send(
        &s.app,
        post(
            "/api/projects/1/logs/query",
            Some(TOKEN_1),
            vec![b' '; 5000],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A gzip bomb: 1 MiB of zeros compresses to about 1 KiB.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![0u8; 1 << 20]).unwrap();
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 4096);
    let a = send(&s.app, proto("/v1/logs", Some(TOKEN_1), bomb, false)).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.error().contains("once decompressed"), "{}", a.error());
}

#[tokio::test]
async fn tokens_are_required_and_bound_to_their_team() {
    let s = server();
    let uri = "/api/projects/1/logs/count/";
    let body = r#"{"query": {}}"#;
    let a = send(&s.app, post(uri, None, body)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");
    assert!(a.error().starts_with("authentication required"));
    let a = send(&s.app, post(uri, Some("phc_wrong"), body)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.error(), "invalid token");
    let a = send(&s.app, post(uri, Some(TOKEN_2), body)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.error(), "this token may not access project 1");
    let a = send(&s.app, post(uri, Some(TOKEN_1), body)).await;
    assert_eq!(a.status, StatusCode::OK);
    // OTLP and metrics need a token too; health does not.
    let a = send(&s.app, proto("/v1/logs", None, Vec::new(), false)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = send(&s.app, get("/metrics", Some("nope"))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = send(&s.app, get("/_health", None)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, b"ok\n");
}

#[tokio::test]
async fn an_open_server_serves_every_project_and_ingests_into_the_open_team() {
    let s = server_with(|c| {
        c.tokens = Tokens::new();
        c.open_team = TeamId(5);
    });
    ingest(&s.app, None, "api", 4).await;
    let a = send(
        &s.app,
        post(
            "/api/environments/5/logs/count",
            None,
            r#"{"query": {"dateRange": {"date_from": "-1h"}}}"#,
        ),
    )
    .await;
    assert_eq!(a.json(), json!({"count": 4}));
}

#[tokio::test]
async fn routes_methods_and_bad_input_get_the_right_status() {
    let s = server();
    let t = Some(TOKEN_1);
    // Unknown routes and scopes.
    for uri in [
        "/api/projects/1/logs/nope/",
        "/api/teams/1/logs/query/",
        "/api/projects/1/log/query/",
        "/nothing",
    ] {
        let a = send(&s.app, post(uri, t, "{}")).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(a.error(), "no such route");
    }
    // A project id that is not a number.
    let a = send(&s.app, post("/api/projects/abc/logs/query/", t, "{}")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.error(), r#"project_id: expected a number, got "abc""#);
    let a = send(
        &s.app,
        post("/api/projects/99999999999/logs/query/", t, "{}"),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // Wrong methods.
    let a = send(&s.app, get("/api/projects/1/logs/query/", t)).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers[header::ALLOW], "POST");
    let a = send(&s.app, post("/api/projects/1/logs/values/", t, "{}")).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers[header::ALLOW], "GET");
    // Bad bodies and parameters name the field.
    let a = send(
        &s.app,
        post("/api/projects/1/logs/query/", t, "query=undefined"),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.error().starts_with("body: expected a JSON object"),
        "{}",
        a.error()
    );
    let bad = json!({"query": {"filterGroup": {"type": "AND", "values": [
        {"key": "message", "type": "log", "operator": "contains", "value": "x"}]}}});
    let a = send(
        &s.app,
        post("/api/projects/1/logs/count/", t, bad.to_string()),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.error()
            .starts_with("query.filterGroup.values[0].operator: unknown operator \"contains\""),
        "{}",
        a.error()
    );
    let a = send(&s.app, get("/api/projects/1/logs/values/", t)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.error().starts_with("key"), "{}", a.error());
    let a = send(
        &s.app,
        post(
            "/api/projects/1/logs/export/",
            t,
            r#"{"query": {}, "format": "xls"}"#,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.error().starts_with("format: unknown format \"xls\""),
        "{}",
        a.error()
    );
}

#[tokio::test]
async fn storage_failures_are_500_without_details() {
    let s = server();
    ingest(&s.app, Some(TOKEN_1), "api", 30).await;
    let report = s.engine.flush().unwrap();
    assert!(!report.files.is_empty());
    // Damage every Parquet file: reading rows now fails inside the engine.
    for f in s.engine.snapshot().files() {
        std::fs::write(&f.path, b"PAR1 this is not parquet PAR1").unwrap();
    }
    let a = send(
        &s.app,
        post(
            "/api/projects/1/logs/query/",
            Some(TOKEN_1),
            r#"{"query": {"dateRange": {"date_from": "-1h"}, "searchTerm": "record"}}"#,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(a.json(), json!({"error": "internal error"}));
}

#[tokio::test]
async fn every_logs_route_answers_like_the_facade() {
    let s = server();
    for (service, n) in [("api", 9), ("web", 6)] {
        ingest(&s.app, Some(TOKEN_1), service, n).await;
    }
    s.engine.flush().unwrap();
    let ctx = s.engine.context(TeamId(1));
    let query = json!({"query": {"dateRange": {"date_from": "-1h"}, "limit": 5}});
    // POST routes, under both scopes, with and without the trailing slash: the facade's exact JSON.
    let facade = [
        (
            "query",
            serde_json::to_value(s.engine.query(&ctx, &query).unwrap()).unwrap(),
        ),
        (
            "count",
            serde_json::to_value(s.engine.count(&ctx, &query).unwrap()).unwrap(),
        ),
        (
            "count-ranges",
            serde_json::to_value(s.engine.count_ranges(&ctx, &query).unwrap()).unwrap(),
        ),
        (
            "sparkline",
            serde_json::to_value(s.engine.sparkline(&ctx, &query).unwrap()).unwrap(),
        ),
        (
            "services",
            serde_json::to_value(s.engine.services(&ctx, &query).unwrap()).unwrap(),
        ),
    ];
    for (action, want) in &facade {
        for uri in [
            format!("/api/projects/1/logs/{action}/"),
            format!("/api/environments/1/logs/{action}"),
        ] {
            let a = send(&s.app, post(&uri, Some(TOKEN_1), query.to_string())).await;
            assert_eq!(a.status, StatusCode::OK, "{uri}: {:?}", a.json());
            assert_eq!(a.headers[header::CONTENT_TYPE], "application/json");
            assert_eq!(&a.json(), want, "{uri}");
        }
    }
    assert_eq!(facade[1].1, json!({"count": 15}));
    assert_eq!(facade[0].1["results"].as_array().unwrap().len(), 5);
    assert_eq!(facade[4].1["services"][0]["service_name"], "api");
    assert_eq!(facade[4].1["services"][0]["error_count"], 3);
    // GET routes.
    let range = "dateRange=%7B%22date_from%22%3A%22-1h%22%7D";
    let a = send(
        &s.app,
        get(
            &format!("/api/projects/1/logs/values/?key=n&{range}&limit=3"),
            Some(TOKEN_1),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.json());
    let params = vec![
        ("key".to_owned(), "n".to_owned()),
        ("dateRange".to_owned(), r#"{"date_from":"-1h"}"#.to_owned()),
        ("limit".to_owned(), "3".to_owned()),
    ];
    assert_eq!(
        a.json(),
        serde_json::to_value(s.engine.values(&ctx, &params).unwrap()).unwrap()
    );
    assert_eq!(a.json()["results"].as_array().unwrap().len(), 3);
    // The token in the query string is not taken for a parameter.
    let a = send(
        &s.app,
        get(
            &format!("/api/projects/1/logs/attributes?{range}&token={TOKEN_1}"),
            None,
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let v = a.json();
    let names: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["n"], "{v:?}");
    let a = send(&s.app, get("/api/projects/1/logs/has_logs/", Some(TOKEN_1))).await;
    assert_eq!(a.json(), json!({"hasLogs": true}));
    let a = send(&s.app, get("/api/projects/2/logs/has_logs/", Some(TOKEN_2))).await;
    assert_eq!(a.json(), json!({"hasLogs": false}));
}

#[tokio::test]
async fn export_streams_the_file_with_its_name() {
    let s = server();
    ingest(&s.app, Some(TOKEN_1), "api", 12).await;
    let body = json!({"query": {"dateRange": {"date_from": "-1h"}, "serviceNames": ["api"]},
                      "format": "jsonl"});
    let a = send(
        &s.app,
        post(
            "/api/projects/1/logs/export/",
            Some(TOKEN_1),
            body.to_string(),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/x-ndjson");
    let disposition = a.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"logs-api-")
            && disposition.ends_with(".jsonl\""),
        "{disposition}"
    );
    let mut want = Vec::new();
    s.engine
        .export(&s.engine.context(TeamId(1)), &body, &mut want)
        .unwrap();
    assert_eq!(a.body, want);
    assert_eq!(String::from_utf8(a.body).unwrap().lines().count(), 12);
}

#[tokio::test]
async fn metrics_count_requests_rows_and_latency() {
    let s = server();
    ingest(&s.app, Some(TOKEN_1), "api", 7).await;
    let good = serde_json::to_string(&otlp_request("api", 1)).unwrap();
    send(
        &s.app,
        post("/v1/logs", Some(TOKEN_1), format!("{good}\nbad\n")),
    )
    .await;
    send(
        &s.app,
        post(
            "/api/projects/1/logs/count",
            Some(TOKEN_1),
            r#"{"query": {}}"#,
        ),
    )
    .await;
    send(
        &s.app,
        post("/api/projects/1/logs/count", Some(TOKEN_1), "nope"),
    )
    .await;
    s.engine.flush().unwrap();
    let a = send(&s.app, get("/metrics", Some(TOKEN_2))).await;
    assert_eq!(a.status, StatusCode::OK);
    let text = String::from_utf8(a.body).unwrap();
    for line in [
        "quarry_rows_ingested_total 8",
        "quarry_rows_rejected_total 1",
        "quarry_http_requests_total{endpoint=\"otlp\",status=\"200\"} 2",
        "quarry_http_requests_total{endpoint=\"count\",status=\"200\"} 1",
        "quarry_http_requests_total{endpoint=\"count\",status=\"400\"} 1",
        "quarry_http_request_duration_seconds_count{endpoint=\"count\"} 2",
        "quarry_flushes_total 1",
        "quarry_file_rows 8",
        "# TYPE quarry_http_request_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}
