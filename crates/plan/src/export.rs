//! `POST logs/export` (spec §3.9): the rows of a query, at most 10,000 by default, as CSV, JSON Lines or Parquet.
//!
//! CSV columns are the request's `columns` when given (row fields such as `timestamp`, `level`, `body`,
//! `service_name`, or `attributes.<key>` / `resource_attributes.<key>`), else [`DEFAULT_CSV_COLUMNS`]; map columns
//! are written as JSON objects. JSON Lines holds one `query` result row per line. Parquet holds the rows in
//! quarry's own schema, readable by any Parquet reader.

use std::io::Write;

use parquet::arrow::ArrowWriter;
use quarry_api::LogsQuery;
use quarry_core::LogRecord;
use quarry_core::ids::to_upper_hex;
use quarry_core::record::attribute;
use serde_json::Value;

use crate::exec::{for_each_page, row_json};
use crate::{Context, Error, PlanOptions, Result};

/// Default CSV columns.
pub const DEFAULT_CSV_COLUMNS: &[&str] = &[
    "timestamp",
    "level",
    "service_name",
    "body",
    "trace_id",
    "span_id",
    "uuid",
    "attributes",
    "resource_attributes",
];

/// An export format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values with a header line (PostHog's format).
    #[default]
    Csv,
    /// One JSON object per line, as `query` rows.
    JsonLines,
    /// Parquet in quarry's schema.
    Parquet,
}

impl ExportFormat {
    /// Parses `csv`, `jsonl` (or `json`), `parquet`.
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s.to_ascii_lowercase().as_str() {
            "csv" | "text/csv" => Some(ExportFormat::Csv),
            "jsonl" | "json" | "ndjson" | "application/x-ndjson" => Some(ExportFormat::JsonLines),
            "parquet" | "application/vnd.apache.parquet" => Some(ExportFormat::Parquet),
            _ => None,
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::JsonLines => "jsonl",
            ExportFormat::Parquet => "parquet",
        }
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv",
            ExportFormat::JsonLines => "application/x-ndjson",
            ExportFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportReport {
    /// Rows written.
    pub rows: usize,
    /// The file name (spec §3.9), with the format's extension.
    pub filename: String,
    /// The format.
    pub format: ExportFormat,
}

/// The export file name without extension (spec §3.9): `logs-{service}-{date}`, where service is the one
/// requested service (characters outside `[a-zA-Z0-9_-]` replaced by `-`, at most 50), `{n}-services`, or
/// `all-services`; date is `{from[:10]}-to-{to[:10]}`, `from-{from[:10]}`, or the date of `now`.
pub fn export_filename(q: &LogsQuery, now: i64) -> String {
    let service = match q.service_names.as_slice() {
        [] => "all-services".to_owned(),
        [one] => one
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .take(50)
            .collect(),
        many => format!("{}-services", many.len()),
    };
    let head = |s: &str| s.chars().take(10).collect::<String>();
    let dr = q.date_range.as_ref();
    let from = dr.and_then(|d| d.date_from_text.as_deref());
    let to = dr.and_then(|d| d.date_to_text.as_deref());
    let date = match (from, to) {
        (Some(f), Some(t)) => format!("{}-to-{}", head(f), head(t)),
        (Some(f), None) => format!("from-{}", head(f)),
        _ => head(&quarry_core::time::format_iso(now)),
    };
    format!("logs-{service}-{date}")
}

fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn csv_value(rec: &LogRecord, col: &str) -> String {
    let map = |a: &quarry_core::Attributes| {
        Value::Object(
            a.iter()
                .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                .collect(),
        )
        .to_string()
    };
    match col {
        "timestamp" => quarry_core::time::format_iso(rec.timestamp),
        "observed_timestamp" => quarry_core::time::format_iso(rec.observed_timestamp),
        "level" | "severity_text" => rec.severity_text.as_str().to_owned(),
        "severity_number" => rec.severity_number.to_string(),
        "service_name" => rec.service_name.clone(),
        "body" | "message" => rec.body.clone(),
        "trace_id" => to_upper_hex(&rec.trace_id),
        "span_id" => to_upper_hex(&rec.span_id),
        "uuid" => rec.uuid_string(),
        "attributes" => map(&rec.attributes),
        "resource_attributes" => map(&rec.resource_attributes),
        "resource_fingerprint" => rec.resource_fingerprint.to_string(),
        "instrumentation_scope" => rec.instrumentation_scope.clone(),
        "event_name" => rec.event_name.clone(),
        other => {
            if let Some(k) = other.strip_prefix("resource_attributes.") {
                attribute(&rec.resource_attributes, k)
                    .unwrap_or("")
                    .to_owned()
            } else if let Some(k) = other.strip_prefix("attributes.") {
                attribute(&rec.attributes, k).unwrap_or("").to_owned()
            } else {
                String::new()
            }
        }
    }
}

/// Runs the export of `q` (at most `cap` rows) into `out` in `format`. `columns` are the CSV columns (empty:
/// the defaults).
#[allow(clippy::too_many_arguments)]
pub fn export<W: Write + Send>(
    snapshot: &quarry_storage::Snapshot,
    ctx: &Context,
    q: &LogsQuery,
    columns: &[String],
    format: ExportFormat,
    cap: usize,
    options: PlanOptions,
    out: W,
) -> Result<ExportReport> {
    let werr = |e: std::io::Error| Error::Write(e.to_string());
    let perr = |e: parquet::errors::ParquetError| Error::Write(e.to_string());
    let cols: Vec<&str> = if columns.is_empty() {
        DEFAULT_CSV_COLUMNS.to_vec()
    } else {
        columns.iter().map(String::as_str).collect()
    };
    // Rows are written page by page as the query produces them, so memory holds one page, not the export.
    enum Sink<W: Write + Send> {
        Text(W),
        Parquet(Box<ArrowWriter<W>>),
    }
    let mut sink = match format {
        ExportFormat::Parquet => Sink::Parquet(Box::new(
            ArrowWriter::try_new(out, quarry_core::schema::log_schema(), None).map_err(perr)?,
        )),
        _ => Sink::Text(out),
    };
    let mut line = String::new();
    if let (ExportFormat::Csv, Sink::Text(out)) = (format, &mut sink) {
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            csv_field(&mut line, c);
        }
        line.push('\n');
        out.write_all(line.as_bytes()).map_err(werr)?;
    }
    let rows = for_each_page(snapshot, ctx, q, cap, options, &mut |records| {
        match &mut sink {
            Sink::Parquet(w) => {
                let batch = quarry_core::schema::records_to_batch(records)
                    .map_err(|e| Error::Write(e.to_string()))?;
                w.write(&batch).map_err(perr)?;
            }
            Sink::Text(out) => {
                for rec in records {
                    line.clear();
                    if format == ExportFormat::Csv {
                        for (i, c) in cols.iter().enumerate() {
                            if i > 0 {
                                line.push(',');
                            }
                            csv_field(&mut line, &csv_value(rec, c));
                        }
                    } else {
                        line.push_str(&Value::Object(row_json(rec, q, None)).to_string());
                    }
                    line.push('\n');
                    out.write_all(line.as_bytes()).map_err(werr)?;
                }
            }
        }
        Ok(())
    })?;
    match sink {
        Sink::Parquet(w) => {
            w.close().map_err(perr)?;
        }
        Sink::Text(mut out) => out.flush().map_err(werr)?,
    }
    Ok(ExportReport {
        rows,
        filename: format!("{}.{}", export_filename(q, ctx.now), format.extension()),
        format,
    })
}
