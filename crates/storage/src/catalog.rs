//! The catalog: an embedded SQLite database of the files that hold data, and of what the WAL has flushed.
//!
//! Schema version 2 (`PRAGMA user_version`; [`MIGRATIONS`] upgrades older databases in order, and a newer
//! version than this build knows is refused):
//!
//! ```sql
//! files(id INTEGER PRIMARY KEY AUTOINCREMENT,                -- never reused: in-memory handles key on it
//!       team INTEGER, hour INTEGER,                            -- hours since the epoch
//!       date TEXT, path TEXT UNIQUE,                          -- path relative to the data directory
//!       min_timestamp INTEGER, max_timestamp INTEGER,         -- nanoseconds
//!       rows INTEGER, bytes INTEGER, index_bytes INTEGER, raw_bytes INTEGER,
//!       checksum INTEGER,                                     -- CRC-32 of the Parquet file
//!       created_at INTEGER)                                   -- nanoseconds, from the engine's clock
//! meta(key TEXT PRIMARY KEY, value INTEGER)                   -- 'wal_flushed_through', 'version', 'digest',
//!                                                             -- 'observed_through' (newest observed_timestamp
//!                                                             --  ever flushed, ns; absent before a flush)
//! teams(team INTEGER PRIMARY KEY, retention_days INTEGER)
//! ```
//!
//! `meta.digest` is a CRC-32 over every other row of the three tables (see `digest`), rewritten inside each
//! transaction that changes one and checked at open, after SQLite's `quick_check`: SQLite checks the structure of
//! its pages, not the values in them, and a flipped bit in a time bound or the WAL watermark would otherwise prune
//! or replay the wrong data without a word.
//!
//! The database runs in WAL journal mode with `synchronous = FULL`, so a committed transaction survives a power
//! loss. Every change of the file set is one transaction: a flush inserts its files *and* advances
//! `wal_flushed_through` together, a compaction swaps its inputs for its output together.

use std::path::{Path, PathBuf};

use quarry_core::TeamId;
use rusqlite::{Connection, OptionalExtension, params};

use crate::layout::Partition;
use crate::parquet_io::WrittenFile;
use crate::{Error, Result};

/// Schema migrations; entry `i` upgrades version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE files (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        team INTEGER NOT NULL,
        hour INTEGER NOT NULL,
        date TEXT NOT NULL,
        path TEXT NOT NULL UNIQUE,
        min_timestamp INTEGER NOT NULL,
        max_timestamp INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        index_bytes INTEGER NOT NULL,
        raw_bytes INTEGER NOT NULL,
        checksum INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX files_by_team_hour ON files (team, hour);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE teams (team INTEGER PRIMARY KEY, retention_days INTEGER NOT NULL);
"#,
    // Version 2 adds no table: it marks catalogs that keep `meta.digest`, so that a build that does not know the
    // digest (and would change rows without rewriting it) refuses them instead of leaving a catalog this build
    // must then call damaged. The digest itself is created at the first open.
    "-- meta.digest",
];

/// What a flush's commit records besides its files.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlushMark {
    /// Every WAL segment up to this id is now in files.
    pub(crate) wal_through: u64,
    /// The newest `observed_timestamp` among the flushed rows (the catalog keeps the maximum ever seen).
    pub(crate) observed: Option<i64>,
}

/// One data file as the catalog records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// Catalog id.
    pub id: i64,
    /// Team and hour.
    pub partition: Partition,
    /// Path relative to the data directory.
    pub path: PathBuf,
    /// Smallest timestamp in the file (ns).
    pub min_timestamp: i64,
    /// Largest timestamp in the file (ns).
    pub max_timestamp: i64,
    /// Rows.
    pub rows: u64,
    /// Size of the Parquet file.
    pub bytes: u64,
    /// Size of the index sidecar.
    pub index_bytes: u64,
    /// Sum of the rows' `bytes_uncompressed`.
    pub raw_bytes: u64,
    /// CRC-32 of the Parquet file.
    pub checksum: u32,
    /// When the file was written (ns, engine clock).
    pub created_at: i64,
}

pub(crate) struct Catalog {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("path", &self.path).finish()
    }
}

impl Catalog {
    /// Opens (creating if needed) and migrates the catalog at `path`.
    pub(crate) fn open(path: &Path) -> Result<Catalog> {
        let err = |e: rusqlite::Error| Error::Catalog {
            path: path.to_owned(),
            source: e,
        };
        let mut conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(Error::CatalogVersion {
                path: path.to_owned(),
                found: version,
                supported: known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(err)?;
            tx.execute_batch(sql).map_err(err)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(err)?;
            tx.commit().map_err(err)?;
        }
        // A damaged database must not be trusted silently.
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(err)?;
        if check != "ok" {
            return Err(Error::CatalogDamaged {
                path: path.to_owned(),
                reason: check,
            });
        }
        // SQLite checks its pages' structure, not the values in them: a flipped bit in a file's time bounds or in
        // the WAL watermark would pass `quick_check` and silently prune or replay the wrong data. The digest is a
        // CRC-32 over every row quarry keeps, rewritten in each transaction that changes one; a catalog written
        // before the digest existed gets one now.
        let stored: Option<i64> = conn
            .query_row("SELECT value FROM meta WHERE key = 'digest'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)?;
        let actual = digest(&conn).map_err(err)?;
        match stored {
            Some(d) if d != i64::from(actual) => {
                return Err(Error::CatalogDamaged {
                    path: path.to_owned(),
                    reason: format!(
                        "its rows fail their digest (stored {:#010x}, computed {actual:#010x}): a value was changed \
                         outside quarry; if that was deliberate, `DELETE FROM meta WHERE key = 'digest'` re-seals \
                         the catalog as it now is",
                        d as u32
                    ),
                });
            }
            Some(_) => {}
            None => store_digest(&conn).map_err(err)?,
        }
        Ok(Catalog {
            conn,
            path: path.to_owned(),
        })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |e| Error::Catalog {
            path: self.path.clone(),
            source: e,
        }
    }

    /// Every file, ordered by (team, hour, id).
    pub(crate) fn files(&self) -> Result<Vec<FileMeta>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, team, hour, path, min_timestamp, max_timestamp, rows, bytes, index_bytes, raw_bytes,
                        checksum, created_at FROM files ORDER BY team, hour, id",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FileMeta {
                    id: r.get(0)?,
                    partition: Partition {
                        team: TeamId(r.get(1)?),
                        hour: r.get(2)?,
                    },
                    path: PathBuf::from(r.get::<_, String>(3)?),
                    min_timestamp: r.get(4)?,
                    max_timestamp: r.get(5)?,
                    rows: r.get::<_, i64>(6)? as u64,
                    bytes: r.get::<_, i64>(7)? as u64,
                    index_bytes: r.get::<_, i64>(8)? as u64,
                    raw_bytes: r.get::<_, i64>(9)? as u64,
                    checksum: r.get::<_, i64>(10)? as u32,
                    created_at: r.get(11)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    pub(crate) fn meta(&self, key: &str) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.err())
    }

    /// One transaction: removes `remove` (by id), inserts `add`, records a flush's marks when given, and bumps
    /// the version. Returns the inserted files.
    pub(crate) fn commit(
        &mut self,
        remove: &[i64],
        add: &[WrittenFile],
        flush: Option<FlushMark>,
        now: i64,
    ) -> Result<Vec<FileMeta>> {
        let path = self.path.clone();
        let err = move |e: rusqlite::Error| Error::Catalog {
            path: path.clone(),
            source: e,
        };
        let tx = self.conn.transaction().map_err(&err)?;
        for id in remove {
            tx.execute("DELETE FROM files WHERE id = ?1", [id])
                .map_err(&err)?;
        }
        let mut added = Vec::with_capacity(add.len());
        for f in add {
            let path_text = f.rel_path.to_string_lossy().into_owned();
            tx.execute(
                "INSERT INTO files (team, hour, date, path, min_timestamp, max_timestamp, rows, bytes, index_bytes,
                                    raw_bytes, checksum, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    f.partition.team.0,
                    f.partition.hour,
                    f.partition.date(),
                    path_text,
                    f.min_timestamp,
                    f.max_timestamp,
                    f.rows as i64,
                    f.bytes as i64,
                    f.index_bytes as i64,
                    f.raw_bytes as i64,
                    i64::from(f.checksum),
                    now,
                ],
            )
            .map_err(&err)?;
            added.push(FileMeta {
                id: tx.last_insert_rowid(),
                partition: f.partition,
                path: f.rel_path.clone(),
                min_timestamp: f.min_timestamp,
                max_timestamp: f.max_timestamp,
                rows: f.rows,
                bytes: f.bytes,
                index_bytes: f.index_bytes,
                raw_bytes: f.raw_bytes,
                checksum: f.checksum,
                created_at: now,
            });
        }
        if let Some(mark) = flush {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('wal_flushed_through', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [mark.wal_through as i64],
            )
            .map_err(&err)?;
            if let Some(observed) = mark.observed {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('observed_through', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                    [observed],
                )
                .map_err(&err)?;
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('version', 1)
             ON CONFLICT (key) DO UPDATE SET value = value + 1",
            [],
        )
        .map_err(&err)?;
        store_digest(&tx).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(added)
    }

    pub(crate) fn retention_days(&self, team: TeamId) -> Result<Option<u32>> {
        self.conn
            .query_row(
                "SELECT retention_days FROM teams WHERE team = ?1",
                [team.0],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    pub(crate) fn set_retention_days(&mut self, team: TeamId, days: u32) -> Result<()> {
        let path = self.path.clone();
        let err = move |e: rusqlite::Error| Error::Catalog {
            path: path.clone(),
            source: e,
        };
        let tx = self.conn.transaction().map_err(&err)?;
        tx.execute(
            "INSERT INTO teams (team, retention_days) VALUES (?1, ?2)
             ON CONFLICT (team) DO UPDATE SET retention_days = excluded.retention_days",
            params![team.0, days],
        )
        .map_err(&err)?;
        store_digest(&tx).map_err(&err)?;
        tx.commit().map_err(&err)
    }
}

/// CRC-32 over every row of `files`, `meta` (but the digest itself) and `teams`, in key order, each value in a
/// fixed binary form.
fn digest(conn: &Connection) -> rusqlite::Result<u32> {
    let mut h = crc32fast::Hasher::new();
    let mut files = conn.prepare(
        "SELECT id, team, hour, date, path, min_timestamp, max_timestamp, rows, bytes, index_bytes, raw_bytes,
                checksum, created_at FROM files ORDER BY id",
    )?;
    let mut rows = files.query([])?;
    while let Some(r) = rows.next()? {
        for i in [0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12] {
            h.update(&r.get::<_, i64>(i)?.to_le_bytes());
        }
        for i in [3, 4] {
            let text: String = r.get(i)?;
            h.update(&(text.len() as u64).to_le_bytes());
            h.update(text.as_bytes());
        }
    }
    let mut meta =
        conn.prepare("SELECT key, value FROM meta WHERE key != 'digest' ORDER BY key")?;
    let mut rows = meta.query([])?;
    while let Some(r) = rows.next()? {
        let key: String = r.get(0)?;
        h.update(&(key.len() as u64).to_le_bytes());
        h.update(key.as_bytes());
        h.update(&r.get::<_, i64>(1)?.to_le_bytes());
    }
    let mut teams = conn.prepare("SELECT team, retention_days FROM teams ORDER BY team")?;
    let mut rows = teams.query([])?;
    while let Some(r) = rows.next()? {
        h.update(&r.get::<_, i64>(0)?.to_le_bytes());
        h.update(&r.get::<_, i64>(1)?.to_le_bytes());
    }
    Ok(h.finalize())
}

/// Rewrites the digest (inside the caller's transaction, so it commits with the change it covers).
fn store_digest(conn: &Connection) -> rusqlite::Result<()> {
    let d = digest(conn)?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('digest', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [i64::from(d)],
    )?;
    Ok(())
}
