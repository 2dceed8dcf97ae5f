//! quarry: an embeddable logs engine that stores plain Parquet.
//!
//! **Inputs**: log records as OTLP protobuf, OTLP/JSON or flat JSON Lines ([`Engine::ingest_bytes`]), or already
//! decoded ([`Engine::ingest`]). **Outputs**: durable, queryable rows; hive-partitioned Parquet files with index
//! sidecars that any Parquet reader can open; [`Snapshot`]s for readers. **Main types**: [`Engine`],
//! [`EngineBuilder`], [`IngestReport`], [`EngineStats`], [`Error`].
//!
//! An [`Engine`] is `Send + Sync`: share it (it is cheap to clone, an `Arc` inside) between threads. Ingest blocks
//! until the batch is durable, which takes one disk sync shared with concurrent ingests; from async code use
//! [`Engine::ingest_async`] (or your runtime's `spawn_blocking`) so the executor is never blocked.
//!
//! A background thread flushes the memtable to Parquet by rows, bytes or age ([`EngineBuilder::with_flush_rows`]
//! and friends); [`Engine::flush`] forces it.
//!
//! # Example
//!
//! ```
//! use quarry::{Engine, Format, TeamId};
//!
//! let dir = tempfile::tempdir()?;
//! let engine = Engine::builder(dir.path()).open()?;
//! let report = engine.ingest_bytes(
//!     TeamId(1),
//!     Format::JsonLines,
//!     br#"{"timestamp":"2026-11-01T10:00:00Z","service_name":"api","severity_text":"error","body":"boom"}"#,
//! )?;
//! assert_eq!(report.accepted, 1);
//! engine.flush()?;
//! assert_eq!(engine.stats()?.storage.file_rows, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![doc(test(attr(deny(warnings))))]
#![warn(missing_docs)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

mod read;
pub use read::{DEFAULT_EXPORT_ROWS, MAX_EXPORT_ROWS, PreparedExport};

pub use quarry_api as api;
use quarry_core::Stamper;
pub use quarry_core::{
    Clock, DecodedLog, Format, IngestOptions, LogRecord, ManualClock, RecordError, Severity,
    SystemClock, TeamId,
};
pub use quarry_core::{DecodeError, Decoded, decode};
pub use quarry_index::IndexOptions;
pub use quarry_plan::{Context as RequestContext, ExportFormat, ExportReport, PlanOptions};
use quarry_storage::Storage;
pub use quarry_storage::{
    CompactReport, DataFile, Durability, FlushReport, RetentionReport, Snapshot, StorageOptions,
    StorageStats,
};

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Storage failed (I/O, catalog, WAL); the message names the file.
    #[error(transparent)]
    Storage(#[from] quarry_storage::Error),
    /// The input could not be split into records at all (per-record problems are in [`IngestReport::errors`]).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The worker of [`Engine::ingest_async`] panicked (a bug: please report it); the batch may or may not be
    /// stored.
    #[error("the ingest worker panicked")]
    Panicked,
    /// A request did not validate; the error names the field (`filterGroup.values[0].operator: ...`).
    #[error(transparent)]
    Invalid(#[from] quarry_api::ApiError),
    /// A query failed while reading stored data; the message names the file.
    #[error(transparent)]
    Query(quarry_plan::Error),
    /// A background thread (flush, or the worker of [`Engine::ingest_async`]) could not be started.
    #[error("starting a thread")]
    Thread(#[source] std::io::Error),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// At most this many record errors are kept in an [`IngestReport`]; the count covers all of them.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// Ingest flushes in the caller once the memtable holds this many times
/// [`StorageOptions::flush_rows`] (the background flush is behind or failing): one flush's rows being written
/// and the next filling. Measured with an unlogged import of 4M rows on two cores, where ingest outruns the
/// background flush: at 4 the memtable grew to ~3M rows (peak RSS 1.9–2.1 GB) for no more throughput than
/// at 2 (1.4–1.5 GB; 497–515k against 510–528k rows/s). A server whose background flush falls behind runs the
/// flush in its ingest requests at two flushes' worth too (it did at four before session 10).
pub const MEMTABLE_LIMIT_FLUSHES: usize = 2;

/// The outcome of [`Engine::ingest_bytes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Records stored (durable when this is returned).
    pub accepted: u64,
    /// Records rejected.
    pub rejected: u64,
    /// The first [`MAX_REPORTED_ERRORS`] rejections, in input order.
    pub errors: Vec<RecordError>,
}

impl IngestReport {
    /// Adds another report's counts and (up to the limit) errors.
    pub fn merge(&mut self, other: IngestReport) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        let room = MAX_REPORTED_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.into_iter().take(room));
    }
}

/// Storage counters plus the ratios an operator asks for.
#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    /// Raw counters.
    pub storage: StorageStats,
}

impl EngineStats {
    /// Bytes on disk (Parquet plus sidecars) per row in files; 0 without files.
    pub fn bytes_per_row(&self) -> f64 {
        let s = &self.storage;
        if s.file_rows == 0 {
            0.0
        } else {
            (s.parquet_bytes + s.index_bytes) as f64 / s.file_rows as f64
        }
    }

    /// Uncompressed log bytes (`bytes_uncompressed`) per byte of Parquet plus sidecar; 0 without files.
    pub fn compression_ratio(&self) -> f64 {
        let s = &self.storage;
        let disk = s.parquet_bytes + s.index_bytes;
        if disk == 0 {
            0.0
        } else {
            s.raw_bytes as f64 / disk as f64
        }
    }
}

/// Configures and opens an [`Engine`]. Every setting has a documented default.
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    dir: PathBuf,
    storage: StorageOptions,
    ingest: IngestOptions,
    clock: Arc<dyn Clock>,
    background_flush: bool,
    id_seed: Option<u64>,
    plan: PlanOptions,
}

impl EngineBuilder {
    /// Defaults for the data directory `dir`: [`StorageOptions::default`], [`IngestOptions::default`], the system
    /// clock, background flushing on, a random id seed.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        EngineBuilder {
            dir: dir.as_ref().to_owned(),
            storage: StorageOptions::default(),
            ingest: IngestOptions::default(),
            clock: Arc::new(SystemClock),
            background_flush: true,
            id_seed: None,
            plan: PlanOptions::default(),
        }
    }

    /// Read-side switches: turn indexes and rollups off to get the plain scan (answers are the same, only
    /// slower). `max_attr_len` is taken from the index options at open.
    pub fn with_plan_options(mut self, options: PlanOptions) -> Self {
        self.plan = options;
        self
    }

    /// All storage options at once.
    pub fn with_storage_options(mut self, options: StorageOptions) -> Self {
        self.storage = options;
        self
    }

    /// Flush once the memtable holds this many rows (default 1,000,000).
    pub fn with_flush_rows(mut self, rows: usize) -> Self {
        self.storage.flush_rows = rows;
        self
    }

    /// Flush once the memtable holds about this many bytes (default 512 MiB).
    pub fn with_flush_bytes(mut self, bytes: usize) -> Self {
        self.storage.flush_bytes = bytes;
        self
    }

    /// Flush once the oldest memtable row is this old (default 5 minutes).
    pub fn with_flush_age(mut self, age: Duration) -> Self {
        self.storage.flush_age = age;
        self
    }

    /// WAL durability (default [`Durability::Sync`]).
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.storage.durability = durability;
        self
    }

    /// Rows per Parquet row group (default 131,072).
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.storage.row_group_rows = rows.max(1);
        self
    }

    /// Retention of teams without their own setting, in days (default 30).
    pub fn with_retention_days(mut self, days: u32) -> Self {
        self.storage.retention_days = days;
        self
    }

    /// Index sidecar options.
    pub fn with_index_options(mut self, options: IndexOptions) -> Self {
        self.storage.index = options;
        self
    }

    /// Ingest options (PostHog's far-timestamp rule is off by default).
    pub fn with_ingest_options(mut self, options: IngestOptions) -> Self {
        self.ingest = options;
        self
    }

    /// The clock for ingest times, ids, flush ages and retention (default the system clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whether a background thread flushes by rows, bytes and age (default on). Off, only [`Engine::flush`]
    /// flushes: useful for deterministic tests.
    pub fn with_background_flush(mut self, on: bool) -> Self {
        self.background_flush = on;
        self
    }

    /// Seed of the UUIDv7 generator, for reproducible ids in tests (default random).
    pub fn with_id_seed(mut self, seed: u64) -> Self {
        self.id_seed = Some(seed);
        self
    }

    /// Opens the engine, recovering any unflushed rows from the WAL.
    pub fn open(self) -> Result<Engine> {
        let plan = PlanOptions {
            max_attr_len: self.storage.index.max_attr_len,
            ..self.plan
        };
        let storage = Storage::open(&self.dir, self.storage, Arc::clone(&self.clock))?;
        let seed = self.id_seed.unwrap_or_else(random_seed);
        let inner = Arc::new(Inner {
            storage,
            stamper: Mutex::new(Stamper::new(seed, self.ingest)),
            clock: self.clock,
            stop: Mutex::new(false),
            wake: Condvar::new(),
            flush_error: Mutex::new(None),
            plan,
        });
        let flusher = if self.background_flush {
            let worker = Arc::clone(&inner);
            Some(
                std::thread::Builder::new()
                    .name("quarry-flush".into())
                    .spawn(move || worker.flush_loop())
                    .map_err(Error::Thread)?,
            )
        } else {
            None
        };
        let flusher = Arc::new(FlusherHandle {
            inner: Arc::clone(&inner),
            thread: Mutex::new(flusher),
        });
        Ok(Engine {
            inner,
            _flusher: flusher,
        })
    }
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[derive(Debug)]
struct Inner {
    storage: Storage,
    stamper: Mutex<Stamper>,
    clock: Arc<dyn Clock>,
    stop: Mutex<bool>,
    wake: Condvar,
    flush_error: Mutex<Option<String>>,
    plan: PlanOptions,
}

impl Inner {
    fn flush_loop(&self) {
        let mut stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        while !*stop {
            stop = self
                .wake
                .wait_timeout(stop, Duration::from_millis(500))
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if *stop {
                break;
            }
            drop(stop);
            // A panic (a bug) must not end the thread: flushes would stop without a word, and the memtable grow
            // until ingest refuses rows. It is reported like a failed flush, and the next tick tries again
            // (a flush is atomic: what it did not commit is redone from the frozen memtable, which it keeps until
            // the commit, as the WAL keeps every logged row).
            let tick = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if self.storage.needs_flush(self.clock.now_nanos()) {
                    Some(self.storage.flush().err().map(|e| e.to_string()))
                } else {
                    None
                }
            }));
            let error = match tick {
                Ok(None) => None,
                Ok(Some(error)) => Some(error),
                Err(panic) => Some(Some(format!(
                    "the background flush panicked: {}",
                    panic_message(panic.as_ref())
                ))),
            };
            if let Some(error) = error {
                *self.flush_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
            }
            stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The message of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Stops and joins the flush thread when the last engine handle is dropped.
#[derive(Debug)]
struct FlusherHandle {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// An open quarry data directory. Cheap to clone; all clones share one engine.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
    /// Held only for its `Drop`: the last clone stops and joins the flush thread.
    _flusher: Arc<FlusherHandle>,
}

impl Drop for FlusherHandle {
    fn drop(&mut self) {
        // Runs exactly once, when the last `Engine` clone goes away (the flush thread holds `Inner`, not this).
        *self.inner.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.inner.wake.notify_all();
        if let Some(handle) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            handle.join().ok();
        }
    }
}

impl Engine {
    /// Opens `dir` with default options ([`EngineBuilder::new`]).
    pub fn open(dir: impl AsRef<Path>) -> Result<Engine> {
        EngineBuilder::new(dir).open()
    }

    /// A builder for `dir`.
    pub fn builder(dir: impl AsRef<Path>) -> EngineBuilder {
        EngineBuilder::new(dir)
    }

    /// The engine's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Stores decoded logs of `team`: stamps them (id, observation time, fingerprint) and returns once they are
    /// durable (as [`EngineBuilder::with_durability`] says: by default WAL-synced; `Unlogged` only queued for the
    /// next flush) and visible to queries. Returns the stored records' count.
    pub fn ingest(&self, team: TeamId, logs: Vec<DecodedLog>) -> Result<u64> {
        if logs.is_empty() {
            return Ok(0);
        }
        let now = self.inner.clock.now_nanos();
        // Back-pressure: when flushing falls behind (or keeps failing) the caller flushes before adding more, and
        // gets the flush's error instead of growing memory without bound. Nothing of this batch is stored then.
        // A flush already running (the background one) empties most of the memtable when it ends, so the caller
        // first waits for it: starting a second flush would wait for it anyway and then write alone, while
        // nothing decodes, where the background thread writes the next flush beside ingest.
        let storage = &self.inner.storage;
        let limit = storage
            .options()
            .flush_rows
            .saturating_mul(MEMTABLE_LIMIT_FLUSHES);
        if storage.memtable_rows() >= limit {
            storage.wait_for_flush();
            if storage.memtable_rows() >= limit {
                storage.flush()?;
            }
        }
        let records: Vec<LogRecord> = {
            let mut stamper = self.inner.stamper.lock().unwrap_or_else(|e| e.into_inner());
            logs.into_iter().map(|l| stamper.stamp(l, now)).collect()
        };
        let n = records.len() as u64;
        self.inner.storage.append(team, records)?;
        if self.inner.storage.needs_flush(now) {
            self.inner.wake.notify_one();
        }
        Ok(n)
    }

    /// Decodes `input` in `format` and stores the good records; the report counts and lists the rejected ones.
    pub fn ingest_bytes(&self, team: TeamId, format: Format, input: &[u8]) -> Result<IngestReport> {
        self.ingest_decoded(team, quarry_core::decode(format, input)?)
    }

    /// Stores the good records of an input already decoded (with [`decode`]; the CLI decodes the next chunk of a
    /// file while this one is stored); the report counts and lists the rejected ones.
    pub fn ingest_decoded(&self, team: TeamId, decoded: Decoded) -> Result<IngestReport> {
        let rejected = decoded.errors.len() as u64;
        let mut errors = decoded.errors;
        errors.truncate(MAX_REPORTED_ERRORS);
        let accepted = self.ingest(team, decoded.logs)?;
        Ok(IngestReport {
            accepted,
            rejected,
            errors,
        })
    }

    /// [`Engine::ingest`] for async code: the blocking part runs on its own thread and the returned future
    /// completes when [`Engine::ingest`] would return. Works with any executor.
    pub fn ingest_async(
        &self,
        team: TeamId,
        logs: Vec<DecodedLog>,
    ) -> impl Future<Output = Result<u64>> + Send {
        let engine = self.clone();
        spawn_blocking(move || engine.ingest(team, logs))
    }

    /// Flushes the memtable to Parquet now.
    pub fn flush(&self) -> Result<FlushReport> {
        Ok(self.inner.storage.flush()?)
    }

    /// Merges small files of each hour partition.
    pub fn compact(&self) -> Result<CompactReport> {
        Ok(self.inner.storage.compact()?)
    }

    /// Drops hour partitions past their team's retention, as of the engine clock's now.
    pub fn retention(&self) -> Result<RetentionReport> {
        Ok(self.inner.storage.retention(self.inner.clock.now_nanos())?)
    }

    /// Sets a team's retention in days.
    pub fn set_retention_days(&self, team: TeamId, days: u32) -> Result<()> {
        Ok(self.inner.storage.set_retention_days(team, days)?)
    }

    /// A consistent view of stored rows for readers.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.storage.snapshot()
    }

    /// Storage counters and ratios.
    pub fn stats(&self) -> Result<EngineStats> {
        let mut storage = self.inner.storage.stats()?;
        if storage.last_error.is_none() {
            storage.last_error = self
                .inner
                .flush_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
        }
        Ok(EngineStats { storage })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        self.inner.storage.root()
    }
}

/// Runs `f` on a new thread; the future resolves to its result (or to [`Error::Thread`] if no thread can start).
fn spawn_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> impl Future<Output = Result<T>> + Send {
    let slot: Slot<T> = Arc::new(Mutex::new((None, None)));
    let writer = Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("quarry-ingest".into())
        .spawn(move || {
            let value = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .unwrap_or(Err(Error::Panicked));
            let mut s = writer.lock().unwrap_or_else(|e| e.into_inner());
            s.0 = Some(value);
            if let Some(w) = s.1.take() {
                w.wake();
            }
        });
    if let Err(e) = spawned {
        slot.lock().unwrap_or_else(|e| e.into_inner()).0 = Some(Err(Error::Thread(e)));
    }
    BlockingFuture { slot }
}

/// The result of a blocking job, and the waker of the task awaiting it.
type Slot<T> = Arc<Mutex<(Option<Result<T>>, Option<Waker>)>>;

struct BlockingFuture<T> {
    slot: Slot<T>,
}

impl<T> Future for BlockingFuture<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match s.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl From<quarry_plan::Error> for Error {
    fn from(e: quarry_plan::Error) -> Self {
        match e {
            quarry_plan::Error::Api(a) => Error::Invalid(a),
            other => Error::Query(other),
        }
    }
}
