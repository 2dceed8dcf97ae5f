//! quarry-storage: durable, time-partitioned storage of log records.
//!
//! **Input**: batches of stamped [`LogRecord`]s per team ([`Storage::append`]). **Output**: hive-partitioned Parquet
//! files with index sidecars, a SQLite catalog of them, and [`Snapshot`]s that readers query. **Main types**:
//! [`Storage`], [`StorageOptions`], [`Snapshot`], [`DataFile`], [`Error`].
//!
//! ```text
//!  append(team, records) ──▶ WAL frame (group commit, fdatasync) ──▶ memtable   ← acknowledged: durable + visible
//!                                                                      │ flush (rows / bytes / age)
//!                                                                      ▼
//!     per (team, hour): sort ─▶ <uuid>.parquet + <uuid>.qidx (tmp, fsync, rename) ─▶ catalog txn
//!                                                                      │   (files + wal_flushed_through)
//!                                                                      ▼
//!                                                     delete flushed WAL segments
//!  compact: merge small files of one hour ─▶ new file ─▶ catalog txn (swap) ─▶ old files deleted when unread
//!  retention: drop hour partitions older than the team's retention ─▶ catalog txn ─▶ files deleted when unread
//! ```
//!
//! Invariants:
//! * An acknowledged [`Storage::append`] survives `kill -9` and power loss (under [`Durability::Sync`]; see
//!   [`Durability`] for the weaker modes), and no crash duplicates a row: a row is
//!   either in the WAL past `wal_flushed_through` or in a file of the catalog, never both after recovery, because
//!   the catalog transaction that adds a flush's files also advances `wal_flushed_through`.
//! * Files not in the catalog are debris of an interrupted flush or compaction and are deleted at open.
//! * A [`Snapshot`] sees a fixed set of files and memtable batches; a file it holds is not deleted until the last
//!   snapshot holding it is dropped.
//!
//! On-disk formats: [`layout`] (directories), [`wal`] (segments and frames), [`codec`] (records in a frame),
//! [`catalog`] (SQLite schema), `quarry_index::format` (sidecars).

#![warn(missing_docs)]

pub mod catalog;
pub mod codec;
pub mod layout;
pub mod parquet_io;
mod storage;
pub mod wal;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use catalog::FileMeta;
pub use layout::Partition;
pub use quarry_core::{LogRecord, TeamId};
use quarry_index::IndexOptions;
pub use storage::{
    CompactReport, DataFile, FlushReport, MemBatch, RecoveryReport, RetentionReport, Snapshot,
    Storage, StorageStats,
};

/// Errors of the storage layer. Every variant that concerns a file names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system operation failed.
    #[error("{path}: I/O error")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing or reading a Parquet file failed.
    #[error("{path}: Parquet error")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Converting rows to or from Arrow failed (a file that is not in quarry's schema).
    #[error("{context}: Arrow error")]
    Arrow {
        /// The file.
        context: PathBuf,
        /// The cause.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A catalog query failed.
    #[error("catalog {path}: SQLite error")]
    Catalog {
        /// The database.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The catalog was written by a newer quarry.
    #[error(
        "catalog {path}: schema version {found} is newer than this build supports ({supported}); upgrade quarry"
    )]
    CatalogVersion {
        /// The database.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// SQLite's integrity check failed, or the rows fail quarry's digest of them.
    #[error("catalog {path}: damaged ({reason}); restore it from a backup")]
    CatalogDamaged {
        /// The database.
        path: PathBuf,
        /// What `PRAGMA quick_check` said, or which digest did not match.
        reason: String,
    },
    /// A WAL frame passed its checksum but does not decode, or a segment is not a quarry WAL.
    #[error("WAL segment {path}, offset {offset}: {reason}")]
    WalCorrupt {
        /// The segment.
        path: PathBuf,
        /// Byte offset of the frame.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The batch could not be made durable; it was not acknowledged and is not stored.
    #[error("write-ahead log: batch not written: {reason}")]
    WalWrite {
        /// The I/O failure.
        reason: String,
    },
    /// A batch larger than a WAL frame can hold.
    #[error("batch of {bytes} bytes exceeds the {max}-byte limit of one write; split it")]
    BatchTooLarge {
        /// Encoded size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A file the catalog lists is gone.
    #[error("{path}: listed in the catalog but missing on disk")]
    MissingFile {
        /// The file.
        path: PathBuf,
    },
    /// A file's content does not match the catalog's checksum.
    #[error(
        "{path}: checksum mismatch (catalog {expected:#010x}, file {actual:#010x}); the file is damaged"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The catalog's CRC-32.
        expected: u32,
        /// The file's CRC-32.
        actual: u32,
    },
    /// Another process holds the data directory.
    #[error("{path}: the data directory is in use by another quarry process")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// An index sidecar failed.
    #[error(transparent)]
    Index(#[from] quarry_index::Error),
}

impl Error {
    pub(crate) fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        Error::Parquet {
            path: path.to_owned(),
            source,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Syncs a directory so that entries created or renamed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// When an append counts as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `append` returns after the WAL frame is `fdatasync`ed: it survives power loss. The default.
    #[default]
    Sync,
    /// `append` returns after the frame is handed to the OS: it survives a crash of the process (`kill -9`) but
    /// not of the machine. Faster on disks with slow syncs.
    Buffered,
    /// `append` writes no WAL frame: rows are queryable at once but durable only when a flush has written them
    /// to Parquet (files fsynced, catalog committed), and a crash loses the memtable. For bulk loads that
    /// acknowledge only after their final flush (`quarry ingest FILE` exits 0 only then): logging every row
    /// first would double what they write (the WAL of the generated rows is 70% of the input's size) and buy
    /// them little, since an interrupted load is redone either way (into a fresh directory: rows of flushes
    /// that were committed, or of WAL frames that were acknowledged, would otherwise be stored twice).
    Unlogged,
}

/// Storage configuration. Every field has a documented default ([`StorageOptions::default`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageOptions {
    /// Flush once the memtable holds this many rows. Default 1,000,000.
    pub flush_rows: usize,
    /// Flush once the memtable holds about this many bytes. Default 512 MiB.
    pub flush_bytes: usize,
    /// Flush once the oldest memtable row is this old. Default 5 minutes.
    pub flush_age: Duration,
    /// WAL durability. Default [`Durability::Sync`].
    pub durability: Durability,
    /// Rows per Parquet row group (and per sidecar row-group entry). Default 131,072.
    pub row_group_rows: usize,
    /// Sidecar options.
    pub index: IndexOptions,
    /// Retention of teams without their own setting, in days. Default 30.
    pub retention_days: u32,
    /// Compaction merges files of one hour partition with fewer rows than this. Default 500,000.
    pub compact_small_file_rows: u64,
    /// Compaction writes files of at most about this many rows. Default 5,000,000.
    pub compact_max_rows: u64,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            flush_rows: 1_000_000,
            flush_bytes: 512 << 20,
            flush_age: Duration::from_secs(300),
            durability: Durability::Sync,
            row_group_rows: 131_072,
            index: IndexOptions::default(),
            retention_days: 30,
            compact_small_file_rows: 500_000,
            compact_max_rows: 5_000_000,
        }
    }
}
