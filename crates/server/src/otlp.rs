//! OTLP/HTTP log ingest at `/v1/logs` and `/i/v1/logs` (spec §1.5).
//!
//! * The body may be gzipped (`Content-Encoding: gzip`, or simply starting with gzip's magic bytes, as PostHog
//!   accepts); it is inflated up to [`crate::ServerConfig::max_decompressed_bytes`], 413 past it.
//! * `Content-Type: application/x-protobuf` is an `ExportLogsServiceRequest` in protobuf; `application/json` is
//!   OTLP/JSON, one document or one request per line (PostHog's JSON Lines fallback); any other type is sniffed
//!   ([`quarry::Format::detect`]).
//! * The answer is an `ExportLogsServiceResponse` in the request's encoding, with `partial_success` counting the
//!   records that were rejected (and the first reasons) when there are any. The records accepted are durable
//!   when the answer is sent. A body that is not OTLP at all is a 400 naming what failed.

use std::io::Read;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use prost::Message;
use quarry::Format;

use crate::AppState;
use crate::error::HttpError;

/// At most this many record errors are quoted in `partial_success.error_message`.
const QUOTED_ERRORS: usize = 5;

pub(crate) async fn ingest(
    State(state): State<Arc<AppState>>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match run(&state, raw_query, &headers, body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn run(
    state: &Arc<AppState>,
    raw_query: Option<String>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let team = state
        .authenticate(headers, raw_query.as_deref())?
        .unwrap_or(state.config.open_team);
    let body = body.map_err(HttpError::from_body)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let format = match content_type.as_str() {
        "application/x-protobuf" | "application/protobuf" => Format::OtlpProto,
        "application/json" | "application/x-ndjson" | "application/jsonl" => Format::OtlpJson,
        _ => Format::Auto,
    };
    let gzipped = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"))
        || body.starts_with(&[0x1f, 0x8b]);
    let limit = state.config.max_decompressed_bytes;
    let engine = state.engine.clone();
    let report = tokio::task::spawn_blocking(move || {
        let inflated;
        let input: &[u8] = if gzipped {
            inflated = gunzip(&body, limit)?;
            &inflated
        } else {
            &body
        };
        engine
            .ingest_bytes(team, format, input)
            .map_err(|e| HttpError::from_engine("otlp ingest", e))
    })
    .await
    .map_err(|e| HttpError::internal("otlp ingest", &e))??;
    state.metrics.ingested(report.accepted, report.rejected);
    // Not one request in the body (every error is about a whole line or document): PostHog answers 400.
    if report.accepted == 0
        && report.rejected > 0
        && report.errors.iter().all(|e| e.field == "record")
    {
        return Err(HttpError::bad_request(format!(
            "body: no log record could be decoded: {}",
            quoted(&report.errors)
        )));
    }
    let partial_success = (report.rejected > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: i64::try_from(report.rejected).unwrap_or(i64::MAX),
        error_message: quoted(&report.errors),
    });
    let response = ExportLogsServiceResponse { partial_success };
    Ok(if format == Format::OtlpProto {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            response.encode_to_vec(),
        )
            .into_response()
    } else {
        let body = match &response.partial_success {
            None => serde_json::json!({}),
            Some(p) => serde_json::json!({
                "partialSuccess": {
                    // proto3's JSON mapping writes int64 as a string.
                    "rejectedLogRecords": p.rejected_log_records.to_string(),
                    "errorMessage": p.error_message,
                }
            }),
        };
        (
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    })
}

/// The first [`QUOTED_ERRORS`] record errors, joined.
fn quoted(errors: &[quarry::RecordError]) -> String {
    errors
        .iter()
        .take(QUOTED_ERRORS)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Inflates a gzip body (several members allowed), refusing more than `limit` bytes of output.
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, HttpError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| HttpError::bad_request(format!("body: not valid gzip: {e}")))?;
    if out.len() > limit {
        return Err(HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body: more than {limit} bytes once decompressed"),
        ));
    }
    Ok(out)
}
