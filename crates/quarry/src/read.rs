//! The read endpoints of [`Engine`]: one method per PostHog logs endpoint (spec §3).
//!
//! POST endpoints take the request body as JSON (the `{"query": {...}}` envelope); GET endpoints take the query
//! string as `(key, value)` pairs, with `dateRange`, `serviceNames` and `filterGroup` JSON-encoded as PostHog's
//! client sends them. Every method runs at the `now` of its [`RequestContext`]: take it from
//! [`Engine::context`] (the engine's clock) or pin it for reproducible answers.

use std::io::Write;

use quarry_api::response::{
    AttributesResponse, CountRangesResponse, CountResponse, HasLogsResponse, QueryResponse,
    ServicesResponse, SparklineResponse, ValuesResponse,
};
use quarry_api::{ApiError, AttributesParams, Endpoint, ValuesParams, parse_envelope};
use serde_json::Value;

use crate::{Engine, ExportFormat, ExportReport, RequestContext, Result, TeamId};

/// Rows an export holds when the request does not say (PostHog's `maxExportableLogs`).
pub const DEFAULT_EXPORT_ROWS: usize = quarry_api::MAX_EXPORTABLE_LOGS;
/// The most rows one export may ask for with `query.limit`.
pub const MAX_EXPORT_ROWS: usize = 100_000;

impl Engine {
    /// A request context for `team` at the engine clock's current time.
    pub fn context(&self, team: TeamId) -> RequestContext {
        RequestContext {
            team,
            now: self.inner.clock.now_nanos(),
        }
    }

    /// `POST logs/query`: one page of rows, newest (or oldest) first, with a cursor for the next.
    pub fn query(&self, ctx: &RequestContext, body: &Value) -> Result<QueryResponse> {
        let q = parse_envelope(body, Endpoint::Query)?;
        Ok(quarry_plan::query(
            &self.snapshot(),
            ctx,
            &q,
            self.inner.plan,
        )?)
    }

    /// `POST logs/count`: matching rows in `[date_from, date_to)`.
    pub fn count(&self, ctx: &RequestContext, body: &Value) -> Result<CountResponse> {
        let q = parse_envelope(body, Endpoint::Count)?;
        Ok(quarry_plan::count(
            &self.snapshot(),
            ctx,
            &q,
            self.inner.plan,
        )?)
    }

    /// `POST logs/count-ranges`: matching rows per epoch-aligned bucket; the counts add up to [`Engine::count`].
    pub fn count_ranges(&self, ctx: &RequestContext, body: &Value) -> Result<CountRangesResponse> {
        let q = parse_envelope(body, Endpoint::CountRanges)?;
        Ok(quarry_plan::count_ranges(
            &self.snapshot(),
            ctx,
            &q,
            self.inner.plan,
        )?)
    }

    /// `POST logs/sparkline`: rows and bytes per bucket and severity (or service), top 10 plus "other",
    /// zero-filled; the counts add up to [`Engine::count`] for the same filters.
    pub fn sparkline(&self, ctx: &RequestContext, body: &Value) -> Result<SparklineResponse> {
        let q = parse_envelope(body, Endpoint::Sparkline)?;
        Ok(quarry_plan::sparkline(
            &self.snapshot(),
            ctx,
            &q,
            self.inner.plan,
        )?)
    }

    /// `POST logs/services`: per-service rows, errors, error rate, severity breakdown, volume share, sparkline.
    pub fn services(&self, ctx: &RequestContext, body: &Value) -> Result<ServicesResponse> {
        let q = parse_envelope(body, Endpoint::Services)?;
        Ok(quarry_plan::services(
            &self.snapshot(),
            ctx,
            &q,
            self.inner.plan,
        )?)
    }

    /// `GET logs/values`: the values of one attribute key, most frequent first.
    pub fn values(
        &self,
        ctx: &RequestContext,
        params: &[(String, String)],
    ) -> Result<ValuesResponse> {
        let p = ValuesParams::parse(params)?;
        Ok(quarry_plan::values(
            &self.snapshot(),
            ctx,
            &p,
            self.inner.plan,
        )?)
    }

    /// `GET logs/attributes`: attribute keys matching a search, optionally by value.
    pub fn attributes(
        &self,
        ctx: &RequestContext,
        params: &[(String, String)],
    ) -> Result<AttributesResponse> {
        let p = AttributesParams::parse(params)?;
        Ok(quarry_plan::attributes(
            &self.snapshot(),
            ctx,
            &p,
            self.inner.plan,
        )?)
    }

    /// `GET logs/has_logs`: whether the team has any row (acknowledged rows count at once).
    pub fn has_logs(&self, ctx: &RequestContext) -> HasLogsResponse {
        quarry_plan::has_logs(&self.snapshot(), ctx)
    }

    /// `POST logs/export`: writes the query's rows to `out`. The body is `{"query": {...}, "columns": [...],
    /// "format": "csv"|"jsonl"|"parquet"}` (`format` defaults to CSV); at most [`DEFAULT_EXPORT_ROWS`] rows unless
    /// `query.limit` asks for up to [`MAX_EXPORT_ROWS`].
    pub fn export<W: Write + Send>(
        &self,
        ctx: &RequestContext,
        body: &Value,
        out: W,
    ) -> Result<ExportReport> {
        self.prepare_export(ctx, body)?.write(out)
    }

    /// Validates an export request without running it, for callers that must announce the file (its name and
    /// format) before the first byte, such as an HTTP response's headers. [`PreparedExport::write`] runs it.
    pub fn prepare_export(&self, ctx: &RequestContext, body: &Value) -> Result<PreparedExport> {
        let query = parse_envelope(body, Endpoint::Export)?;
        let obj = body.as_object();
        let columns: Vec<String> = match obj.and_then(|o| o.get("columns")) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| ApiError::new(format!("columns[{i}]"), "expected a string"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(ApiError::new("columns", "expected a list of column names").into());
            }
        };
        let format = match obj.and_then(|o| o.get("format")) {
            None | Some(Value::Null) => ExportFormat::Csv,
            Some(Value::String(s)) => ExportFormat::parse(s).ok_or_else(|| {
                ApiError::new(
                    "format",
                    format!("unknown format {s:?}; expected \"csv\", \"jsonl\" or \"parquet\""),
                )
            })?,
            Some(_) => return Err(ApiError::new("format", "expected a string").into()),
        };
        let cap = match query.limit {
            None => DEFAULT_EXPORT_ROWS,
            Some(l) if (l as u64) <= MAX_EXPORT_ROWS as u64 => l as usize,
            Some(l) => {
                return Err(ApiError::new(
                    "query.limit",
                    format!("an export holds at most {MAX_EXPORT_ROWS} rows, got {l}"),
                )
                .into());
            }
        };
        Ok(PreparedExport {
            engine: self.clone(),
            ctx: *ctx,
            filename: format!(
                "{}.{}",
                quarry_plan::export_filename(&query, ctx.now),
                format.extension()
            ),
            query,
            columns,
            format,
            cap,
        })
    }
}

/// A validated export request ([`Engine::prepare_export`]).
#[derive(Debug)]
pub struct PreparedExport {
    engine: Engine,
    ctx: RequestContext,
    query: quarry_api::LogsQuery,
    columns: Vec<String>,
    format: ExportFormat,
    cap: usize,
    filename: String,
}

impl PreparedExport {
    /// The file's name (spec §3.9), with the format's extension.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The file's format.
    pub fn format(&self) -> ExportFormat {
        self.format
    }

    /// Writes the rows to `out`.
    pub fn write<W: Write + Send>(self, out: W) -> Result<ExportReport> {
        Ok(quarry_plan::export(
            &self.engine.snapshot(),
            &self.ctx,
            &self.query,
            &self.columns,
            self.format,
            self.cap,
            self.engine.inner.plan,
            out,
        )?)
    }
}
