//! PostHog's logs API: `/api/{projects|environments}/{id}/logs/{action}/`, one facade call per action.

use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quarry::{Engine, TeamId};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::AppState;
use crate::error::HttpError;

/// The actions, with the method each takes.
const ACTIONS: &[(&str, Method)] = &[
    ("query", Method::POST),
    ("count", Method::POST),
    ("count-ranges", Method::POST),
    ("sparkline", Method::POST),
    ("services", Method::POST),
    ("export", Method::POST),
    ("values", Method::GET),
    ("attributes", Method::GET),
    ("has_logs", Method::GET),
];

/// Every logs route: checks the route, the token, the project and the method (in that order, so that a stranger
/// learns nothing about projects), then calls the facade on the blocking pool.
pub(crate) async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    Path(route): Path<(String, String, String)>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    run(&state, method, route, raw_query, &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// [`handle`], with errors as values: `route` is (scope, project, action) from the path.
async fn run(
    state: &Arc<AppState>,
    method: Method,
    (scope, project, action): (String, String, String),
    raw_query: Option<String>,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HttpError> {
    let Some((action, wanted)) = ACTIONS.iter().find(|(a, _)| *a == action.as_str()) else {
        return Err(HttpError::new(StatusCode::NOT_FOUND, "no such route"));
    };
    if scope != "projects" && scope != "environments" {
        return Err(HttpError::new(StatusCode::NOT_FOUND, "no such route"));
    }
    let token_team = state.authenticate(headers, raw_query.as_deref())?;
    let team = parse_project(&project)?;
    if token_team.is_some_and(|t| t != team) {
        return Err(HttpError::new(
            StatusCode::FORBIDDEN,
            format!("this token may not access project {project}"),
        ));
    }
    if method != *wanted {
        let mut response = HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("logs/{action} takes {wanted}"),
        )
        .into_response();
        response.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_str(wanted.as_str()).expect("a method is a valid header"),
        );
        return Ok(response);
    }
    let engine = state.engine.clone();
    let ctx = engine.context(team);
    if *wanted == Method::GET {
        let params: Vec<(String, String)> =
            form_urlencoded::parse(raw_query.as_deref().unwrap_or("").as_bytes())
                .filter(|(k, _)| k != "token")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let action = *action;
        return blocking(action, move || match action {
            "values" => json(engine.values(&ctx, &params)),
            "attributes" => json(engine.attributes(&ctx, &params)),
            _ => json(Ok::<_, quarry::Error>(engine.has_logs(&ctx))),
        })
        .await;
    }
    let body = parse_body(body.map_err(HttpError::from_body)?)?;
    if *action == "export" {
        return export(engine, ctx, body).await;
    }
    let action = *action;
    blocking(action, move || match action {
        "query" => json(engine.query(&ctx, &body)),
        "count" => json(engine.count(&ctx, &body)),
        "count-ranges" => json(engine.count_ranges(&ctx, &body)),
        "sparkline" => json(engine.sparkline(&ctx, &body)),
        _ => json(engine.services(&ctx, &body)),
    })
    .await
}

/// A project id is a team id: a decimal `u32`.
fn parse_project(project: &str) -> Result<TeamId, HttpError> {
    project.parse::<u32>().map(TeamId).map_err(|_| {
        HttpError::bad_request(format!(
            "project_id: expected a number, got {:?}",
            project.chars().take(64).collect::<String>()
        ))
    })
}

/// The JSON body of a POST; an empty body is `{}` (which then fails validation by naming `query`).
fn parse_body(bytes: Bytes) -> Result<Value, HttpError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| HttpError::bad_request(format!("body: expected a JSON object: {e}")))
}

/// A facade answer as a JSON response.
fn json<T: serde::Serialize>(result: quarry::Result<T>) -> Result<Response, HttpError> {
    let value = result.map_err(|e| HttpError::from_engine("logs request", e))?;
    let body = serde_json::to_vec(&value).map_err(|e| HttpError::internal("serialising", &e))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Runs `f` on the blocking pool.
async fn blocking(
    action: &'static str,
    f: impl FnOnce() -> Result<Response, HttpError> + Send + 'static,
) -> Result<Response, HttpError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HttpError::internal(action, &e))?
}

/// `logs/export`: validated before the first byte (a bad request is a 400, not a broken download), then
/// streamed as the engine writes it, page by page.
async fn export(
    engine: Engine,
    ctx: quarry::RequestContext,
    body: Value,
) -> Result<Response, HttpError> {
    let prepared = tokio::task::spawn_blocking(move || engine.prepare_export(&ctx, &body))
        .await
        .map_err(|e| HttpError::internal("export", &e))?
        .map_err(|e| HttpError::from_engine("export", e))?;
    let filename = prepared.filename().to_owned();
    let content_type = prepared.format().content_type();
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        let writer = std::io::BufWriter::with_capacity(256 << 10, ChannelWriter { tx: tx.clone() });
        let result = prepared.write(writer);
        if let Err(e) = &result {
            // The client has the headers already: end the body with an error so the download is seen to fail.
            tracing::error!(error = %e, "export failed while streaming");
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        }
        // The stream ends when the writer, and with it the last sender, is dropped.
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Hands each buffer the export writes to the response body; a gone client ends the export.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
