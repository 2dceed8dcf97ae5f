//! quarry-plan: the read side of quarry — every logs endpoint, answered from a storage snapshot.
//!
//! **Inputs**: a [`quarry_storage::Snapshot`] (Parquet files with their sidecars, plus memtable rows), a
//! [`Context`] (team and `now`), and a validated request from [`quarry_api`]. **Outputs**: the response bodies of
//! [`quarry_api::response`], or export bytes. **Main items**: [`query`], [`count`], [`count_ranges`], [`values`],
//! [`attributes`], [`has_logs`], [`export`], [`PlanOptions`].
//!
//! # How a request is answered
//!
//! 1. The request's dates resolve against `ctx.now` into a half-open range `[from, to)` (spec §2.3); nothing here
//!    reads the clock.
//! 2. The catalog's per-file time bounds select the team's files that can hold rows of the range.
//! 3. Sidecar bitmaps of `service_name` and `severity_text` select candidate rows of each file, handed to Parquet
//!    as a row selection; files entirely inside the range are answered from the sidecar alone when the request
//!    filters only by time, service and severity (`count` from bitmap cardinalities, `count-ranges` from the
//!    per-minute rollups).
//! 4. Every other row is decoded (only the needed columns) and tested by the full predicate, the same code for
//!    files and memtable.
//!
//! [`PlanOptions`] turns indexes and rollups off; every answer is the same either way (tests check this), only
//! slower.
//!
//! # Departure from the founding sketch
//!
//! The sketch puts DataFusion under this crate. The endpoints here are answered by a purpose-built scan over
//! arrow-rs/parquet readers instead (bitmap row selections, early stop for "latest N", sidecar-only counts);
//! DataFusion is not a dependency yet. See `ARCHITECTURE.md`.

#![warn(missing_docs)]

mod exec;
mod export;
mod predicate;
mod row;
mod scan;

use std::path::PathBuf;

use quarry_core::TeamId;

pub use exec::{
    MAX_SERVICES, attributes, count, count_ranges, export_records, has_logs, query, services,
    sparkline, values,
};
pub use export::{DEFAULT_CSV_COLUMNS, ExportFormat, ExportReport, export, export_filename};

/// Who asks and when: every request runs for one team at an explicit `now` (nanoseconds since the epoch, UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    /// The team whose rows are read; no other team's file is opened.
    pub team: TeamId,
    /// The instant relative dates resolve against.
    pub now: i64,
}

/// Switches for the accelerations; the answers do not depend on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanOptions {
    /// Use sidecar bitmaps (row selections, counts from cardinalities).
    pub use_index: bool,
    /// Use sidecar rollups (per-minute counts).
    pub use_rollups: bool,
    /// Log attribute keys or values this long or longer are not counted by `values`/`attributes` (spec §1.3);
    /// must equal the index option `max_attr_len` the files were built with.
    pub max_attr_len: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            use_index: true,
            use_rollups: true,
            max_attr_len: 256,
        }
    }
}

impl PlanOptions {
    /// Every index and rollup off: the plain scan that the accelerated paths must agree with.
    pub fn naive() -> PlanOptions {
        PlanOptions {
            use_index: false,
            use_rollups: false,
            ..PlanOptions::default()
        }
    }
}

/// Errors of the read side.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request did not validate.
    #[error(transparent)]
    Api(#[from] quarry_api::ApiError),
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A Parquet file could not be decoded.
    #[error("{path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: parquet::errors::ParquetError,
    },
    /// A batch could not be decoded.
    #[error("{path}: {source}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: arrow::error::ArrowError,
    },
    /// A file does not hold what the catalog or schema says.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Writing an export failed.
    #[error("writing the export: {0}")]
    Write(String),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
