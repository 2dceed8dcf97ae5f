//! Where files live under the data directory.
//!
//! ```text
//! <data>/catalog.sqlite                                   the catalog (plus SQLite's -wal and -shm files)
//! <data>/wal/<segment>.wal                                write-ahead log segments
//! <data>/team=<id>/date=YYYY-MM-DD/hour=HH/<uuid>.parquet  one flush or compaction output
//! <data>/team=<id>/date=YYYY-MM-DD/hour=HH/<uuid>.qidx     its index sidecar
//! ```
//!
//! The `key=value` directories are hive-style partitions, so `read_parquet('<data>/**/*.parquet',
//! hive_partitioning = true)` in DuckDB (or Polars, Spark) sees `team`, `date` and `hour` columns. Files are
//! written under a `.tmp` name and renamed into place, so a reader of the tree never sees a partial file.

use std::path::{Path, PathBuf};

use quarry_core::{NANOS_PER_HOUR, TeamId};

/// One hour partition of one team: the unit of file layout, compaction and retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    /// The team.
    pub team: TeamId,
    /// Hours since the Unix epoch (`floor(timestamp / 1 h)`).
    pub hour: i64,
}

impl Partition {
    /// The partition of a row of `team` at `timestamp` (ns).
    pub fn of(team: TeamId, timestamp: i64) -> Partition {
        Partition {
            team,
            hour: timestamp.div_euclid(NANOS_PER_HOUR),
        }
    }

    /// First nanosecond of the hour.
    pub fn start(&self) -> i64 {
        self.hour.saturating_mul(NANOS_PER_HOUR)
    }

    /// First nanosecond after the hour.
    pub fn end(&self) -> i64 {
        self.start().saturating_add(NANOS_PER_HOUR)
    }

    /// `YYYY-MM-DD` of the hour (UTC).
    pub fn date(&self) -> String {
        let dt = chrono::DateTime::from_timestamp(self.hour * 3600, 0).unwrap_or_default();
        dt.format("%Y-%m-%d").to_string()
    }

    /// `HH` of the hour (UTC).
    pub fn hour_of_day(&self) -> u32 {
        self.hour.rem_euclid(24) as u32
    }

    /// The directory, relative to the data directory: `team=<id>/date=YYYY-MM-DD/hour=HH`.
    pub fn dir(&self) -> PathBuf {
        PathBuf::from(format!("team={}", self.team.0))
            .join(format!("date={}", self.date()))
            .join(format!("hour={:02}", self.hour_of_day()))
    }
}

/// The sidecar path of a Parquet file.
pub fn sidecar_path(parquet: &Path) -> PathBuf {
    parquet.with_extension("qidx")
}
