//! quarry-server: quarry over HTTP.
//!
//! **Input**: HTTP requests — PostHog's logs API under `/api/projects/{id}/logs/{action}/` and
//! `/api/environments/{id}/logs/{action}/` (trailing slash optional), and OTLP/HTTP log exports at `/v1/logs` and
//! `/i/v1/logs`. **Output**: PostHog's JSON bodies (the facade's response types, the same the CLI prints), OTLP
//! export responses, Prometheus text at `/metrics`. **Main items**: [`router`], [`ServerConfig`], [`Tokens`].
//!
//! Every route goes through the [`quarry::Engine`] facade, so the server answers exactly what `quarry logs`
//! answers. Queries and ingest block (an acknowledged write is durable: the WAL was synced), so they run on
//! tokio's blocking pool, never on the reactor.
//!
//! # Routes
//!
//! | route | method | body / parameters | answer |
//! |---|---|---|---|
//! | `logs/query`, `count`, `count-ranges`, `sparkline`, `services` | POST | `{"query": {...}}` | JSON |
//! | `logs/export` | POST | `{"query", "columns", "format"}` | the file, streamed (200, `Content-Disposition`) |
//! | `logs/values`, `logs/attributes`, `logs/has_logs` | GET | query string | JSON |
//! | `/v1/logs`, `/i/v1/logs` | POST | OTLP protobuf or JSON (also one request per line), gzip allowed | OTLP response |
//! | `/_health` | GET | — | `ok` (no token needed) |
//! | `/metrics` | GET | — | Prometheus text |
//!
//! PostHog answers `export` with 201 and a job; quarry streams the file itself, so it answers 200.
//!
//! # Authentication
//!
//! With tokens configured ([`Tokens`]), every route but `/_health` needs one, from `Authorization: Bearer <token>`
//! or `?token=<token>`, compared in constant time. A token reads and writes only its own team: a logs route whose
//! project id is another team's is a 403, and OTLP ingest stores into the token's team. Without tokens every
//! project is open and OTLP ingest stores into [`ServerConfig::open_team`]; `quarry serve` allows that only on a
//! loopback address.
//!
//! # Statuses
//!
//! 400 `{"error": "<field>: <what was expected>"}` for bad input (a project id that is not a number included),
//! 401 for a missing or unknown token, 403 for another team's project, 404 for an unknown route, 405 for a wrong
//! method, 413 for a body over [`ServerConfig::max_body_bytes`] (or over [`ServerConfig::max_decompressed_bytes`]
//! once gunzipped), 500 `{"error": "internal error"}` for failures of the engine, whose details go to the log.

mod auth;
mod error;
mod logs;
mod metrics;
mod otlp;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use quarry::{Engine, TeamId};

pub use auth::{Tokens, TokensError};

use crate::error::HttpError;
use crate::metrics::Metrics;

/// How the server behaves; [`ServerConfig::default`] documents each default.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Tokens and their teams; empty = open (see the crate docs). Default empty.
    pub tokens: Tokens,
    /// Largest request body accepted as sent (413 above). Default 32 MiB.
    pub max_body_bytes: usize,
    /// Largest OTLP body accepted after gunzip (413 above): a small gzip body can expand a thousandfold.
    /// Default 256 MiB.
    pub max_decompressed_bytes: usize,
    /// The team OTLP ingest stores into when no tokens are configured. Default team 1.
    pub open_team: TeamId,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            tokens: Tokens::default(),
            max_body_bytes: 32 << 20,
            max_decompressed_bytes: 256 << 20,
            open_team: TeamId(1),
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) engine: Engine,
    pub(crate) config: ServerConfig,
    pub(crate) metrics: Metrics,
}

impl AppState {
    /// The team of the request's token: `Ok(None)` when the server is open (no tokens configured), 401 when a
    /// token is needed and missing or unknown.
    pub(crate) fn authenticate(
        &self,
        headers: &HeaderMap,
        raw_query: Option<&str>,
    ) -> Result<Option<TeamId>, HttpError> {
        if self.config.tokens.is_empty() {
            return Ok(None);
        }
        let Some(token) = auth::request_token(headers, raw_query) else {
            return Err(HttpError::unauthorized(
                "authentication required: send `Authorization: Bearer <token>` or `?token=<token>`",
            ));
        };
        match self.config.tokens.team_of(&token) {
            Some(team) => Ok(Some(team)),
            None => Err(HttpError::unauthorized("invalid token")),
        }
    }
}

/// The server's routes over `engine` (see the crate docs for the table).
pub fn router(engine: Engine, config: ServerConfig) -> Router {
    let body_limit = config.max_body_bytes;
    let state = Arc::new(AppState {
        engine,
        config,
        metrics: Metrics::default(),
    });
    Router::new()
        .route("/_health", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics_handler))
        .route("/v1/logs", post(otlp::ingest))
        .route("/i/v1/logs", post(otlp::ingest))
        .route("/api/{scope}/{project}/logs/{action}", any(logs::handle))
        .route("/api/{scope}/{project}/logs/{action}/", any(logs::handle))
        .fallback(|| async {
            HttpError::new(StatusCode::NOT_FOUND, "no such route").into_response()
        })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), track))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// `GET /metrics`: Prometheus text format.
async fn metrics_handler(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Response {
    if let Err(e) = state.authenticate(&headers, raw.as_deref()) {
        return e.into_response();
    }
    let stats = state.engine.stats().ok();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(stats.as_ref()),
    )
        .into_response()
}

/// Records every request's status and latency under its endpoint, and logs it (never the query string, which
/// may carry a token).
async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let endpoint = metrics::endpoint_of(req.uri().path());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status();
    state.metrics.observe(endpoint, status.as_u16(), elapsed);
    tracing::info!(
        %method,
        path,
        status = status.as_u16(),
        elapsed_ms = elapsed.as_secs_f64() * 1e3,
        "request"
    );
    response
}
