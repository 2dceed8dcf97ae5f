//! [`Storage`]: the WAL, the memtable, flush, compaction and retention, tied together.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use quarry_core::ids::UuidV7Generator;
use quarry_core::{Clock, LogRecord, NANOS_PER_SECOND, TeamId};

use crate::catalog::{Catalog, FileMeta, FlushMark};
use crate::layout::{Partition, sidecar_path};
use crate::parquet_io::{FileJob, WrittenFile, file_checksum, read_file, write_file, write_files};
use crate::{Durability, Error, Result, StorageOptions, codec, io_err, wal};

/// One acknowledged (or in-flight) append, as held by the memtable.
#[derive(Debug)]
pub struct MemBatch {
    /// Append sequence number, increasing.
    pub seq: u64,
    /// The team.
    pub team: TeamId,
    /// The rows, in append order.
    pub records: Vec<LogRecord>,
    /// The newest `observed_timestamp` of `records`, but no later than the engine clock when the batch arrived
    /// (kept so that a snapshot's watermark costs one look per batch).
    max_observed: i64,
}

impl MemBatch {
    /// `now` caps the batch's contribution to the ingest watermark: a sender may supply observation times, and one
    /// from the future must not move every later live-tail checkpoint past the rows still to come.
    fn new(seq: u64, team: TeamId, records: Vec<LogRecord>, now: i64) -> MemBatch {
        let max_observed = records
            .iter()
            .map(|r| r.observed_timestamp)
            .max()
            .map_or(i64::MIN, |t| t.min(now));
        MemBatch {
            seq,
            team,
            records,
            max_observed,
        }
    }
}

/// A data file in a snapshot. When the catalog drops the file (compaction, retention) the file is deleted from
/// disk once the last snapshot holding this handle is dropped.
#[derive(Debug)]
pub struct DataFile {
    /// The catalog entry.
    pub meta: FileMeta,
    /// Absolute path of the Parquet file.
    pub path: PathBuf,
    obsolete: AtomicBool,
    /// The sidecar's postings and minute counts, read once (files are immutable) and kept while the file is in
    /// some snapshot (without the attribute rollup, the large part; see `attr_totals`).
    postings: OnceLock<Arc<quarry_index::FileIndex>>,
    /// Set once the file's bytes were found to match the catalog's checksum (files are immutable).
    verified: OnceLock<()>,
    /// The sidecar's attribute rollup summed over the file ([`quarry_index::FileIndex::attr_totals`]), read on
    /// first use and kept like the postings.
    attr_totals: OnceLock<Arc<quarry_index::FileIndex>>,
    /// The Parquet footer with its page index, parsed once: a list request opens its newest file several times
    /// (edge windows, then the rows of the page), and parsing the page index of every column costs each time.
    reader_metadata: OnceLock<parquet::arrow::arrow_reader::ArrowReaderMetadata>,
}

impl DataFile {
    /// A handle on the catalog's file `meta` at `path`, nothing read yet.
    fn new(meta: FileMeta, path: PathBuf) -> Arc<DataFile> {
        Arc::new(DataFile {
            meta,
            path,
            obsolete: AtomicBool::new(false),
            postings: OnceLock::new(),
            verified: OnceLock::new(),
            attr_totals: OnceLock::new(),
            reader_metadata: OnceLock::new(),
        })
    }

    /// Checks the file's bytes against the catalog's CRC-32 the first time this handle is asked (files never
    /// change after they are written, so once is enough for the life of the handle), so that a damaged file is an
    /// error naming it rather than rows decoded from flipped bits: Parquet pages carry no checksum of their own as
    /// quarry's writer makes them. Readers call this before decoding any page.
    pub fn verify(&self) -> Result<()> {
        if self.verified.get().is_some() {
            return Ok(());
        }
        let actual = file_checksum(&self.path)?;
        if actual != self.meta.checksum {
            return Err(Error::Checksum {
                path: self.path.clone(),
                expected: self.meta.checksum,
                actual,
            });
        }
        let _ = self.verified.set(());
        Ok(())
    }

    /// Absolute path of the index sidecar.
    pub fn sidecar_path(&self) -> PathBuf {
        sidecar_path(&self.path)
    }

    /// Reads every row of the file, after checking its checksum against the catalog.
    pub fn read_records(&self) -> Result<Vec<LogRecord>> {
        self.verify()?;
        read_file(&self.path)
    }

    /// Reads the index sidecar.
    pub fn read_index(&self) -> Result<quarry_index::FileIndex> {
        Ok(quarry_index::read_sidecar(&self.sidecar_path())?)
    }

    /// The attribute rollup summed over the whole file (see [`quarry_index::FileIndex::attr_totals`]), read on
    /// first use and cached for the life of this handle. A failed read is not cached.
    pub fn attr_totals(&self) -> Result<Arc<quarry_index::FileIndex>> {
        if let Some(t) = self.attr_totals.get() {
            return Ok(Arc::clone(t));
        }
        let t = Arc::new(self.read_index()?.attr_totals());
        Ok(Arc::clone(self.attr_totals.get_or_init(|| t)))
    }

    /// The file's Parquet metadata with its page index (for row selections that skip pages), read on first use
    /// and cached for the life of this handle. A failed read is not cached. Callers [`DataFile::verify`] first.
    pub fn reader_metadata(&self) -> Result<parquet::arrow::arrow_reader::ArrowReaderMetadata> {
        use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
        if let Some(m) = self.reader_metadata.get() {
            return Ok(m.clone());
        }
        let file = std::fs::File::open(&self.path).map_err(io_err(&self.path))?;
        let options = ArrowReaderOptions::new()
            .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Optional);
        let m = ArrowReaderMetadata::load(&file, options).map_err(|e| Error::Parquet {
            path: self.path.clone(),
            source: e,
        })?;
        Ok(self.reader_metadata.get_or_init(|| m).clone())
    }

    /// The sidecar without its attribute rollup (postings, row groups, minute counts), read on first use and
    /// cached for the life of this handle. A failed read is not cached.
    pub fn postings(&self) -> Result<Arc<quarry_index::FileIndex>> {
        if let Some(p) = self.postings.get() {
            return Ok(Arc::clone(p));
        }
        let p = Arc::new(quarry_index::read_sidecar_postings(&self.sidecar_path())?);
        Ok(Arc::clone(self.postings.get_or_init(|| p)))
    }
}

impl Drop for DataFile {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::SeqCst) {
            // Best effort: a file left behind is not in the catalog and is swept at the next open.
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_file(self.sidecar_path());
            // Remove the hour and date directories if that emptied them (`remove_dir` refuses non-empty ones).
            if let Some(hour) = self.path.parent()
                && std::fs::remove_dir(hour).is_ok()
                && let Some(date) = hour.parent()
            {
                let _ = std::fs::remove_dir(date);
            }
        }
    }
}

/// A consistent view for readers: a catalog version's files plus the durable memtable batches at that instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    version: u64,
    files: Arc<Vec<Arc<DataFile>>>,
    mem: Vec<Arc<MemBatch>>,
    observed_through: Option<i64>,
}

impl Snapshot {
    /// The catalog version the snapshot was taken at (increases with every change of the file set).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Every file, ordered by (team, hour, id).
    pub fn files(&self) -> &[Arc<DataFile>] {
        &self.files
    }

    /// The files of one team.
    pub fn team_files(&self, team: TeamId) -> impl Iterator<Item = &Arc<DataFile>> {
        self.files
            .iter()
            .filter(move |f| f.meta.partition.team == team)
    }

    /// The ingest watermark: the newest `observed_timestamp` of any row visible in this snapshot, of any team,
    /// whether in a file or in the memtable (`None` before the first row, and for a data directory whose files
    /// predate the watermark until its next flush). The live-tail checkpoint of spec §3.1 is this value, as
    /// PostHog's is the newest observation time its ingestion has committed. Like PostHog's, it is a watermark of
    /// acknowledgements, not of stamps: a batch stamped earlier but acknowledged later (concurrent ingest) can
    /// carry observation times below it.
    pub fn observed_through(&self) -> Option<i64> {
        self.observed_through
    }

    /// Memtable batches (of every team), in append order.
    pub fn memtable(&self) -> &[Arc<MemBatch>] {
        &self.mem
    }

    /// Every row of `team`: files first (in catalog order), then the memtable. A straightforward full read for
    /// tests, export and the naive paths; queries use the index and Parquet directly.
    pub fn read_team(&self, team: TeamId) -> Result<Vec<LogRecord>> {
        let mut out = Vec::new();
        for f in self.team_files(team) {
            out.extend(f.read_records()?);
        }
        for b in self.mem.iter().filter(|b| b.team == team) {
            out.extend(b.records.iter().cloned());
        }
        Ok(out)
    }

    /// Rows in files plus memtable rows of `team`.
    pub fn row_count(&self, team: TeamId) -> u64 {
        self.team_files(team).map(|f| f.meta.rows).sum::<u64>()
            + self
                .mem
                .iter()
                .filter(|b| b.team == team)
                .map(|b| b.records.len() as u64)
                .sum::<u64>()
    }
}

/// What a flush wrote.
#[derive(Debug, Clone, Default)]
pub struct FlushReport {
    /// Files written.
    pub files: Vec<FileMeta>,
    /// Rows moved from the memtable to Parquet.
    pub rows: u64,
}

/// What a compaction did.
#[derive(Debug, Clone, Default)]
pub struct CompactReport {
    /// Hour partitions compacted.
    pub partitions: usize,
    /// Files merged away.
    pub files_removed: usize,
    /// Files written.
    pub files_written: usize,
    /// Rows rewritten.
    pub rows: u64,
}

/// What a retention pass dropped.
#[derive(Debug, Clone, Default)]
pub struct RetentionReport {
    /// Hour partitions dropped.
    pub partitions: usize,
    /// Files dropped.
    pub files: usize,
    /// Rows dropped.
    pub rows: u64,
}

/// What opening found in the WAL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments replayed into the memtable.
    pub segments_replayed: usize,
    /// Rows replayed.
    pub rows_replayed: u64,
    /// Torn or corrupt tails dropped: (segment, bytes dropped, reason).
    pub dropped_tails: Vec<(PathBuf, u64, String)>,
    /// Files on disk that no catalog entry references (debris of interrupted writes), deleted.
    pub orphans_removed: usize,
}

/// Counters for `quarry stats`.
#[derive(Debug, Clone, Default)]
pub struct StorageStats {
    /// Catalog version.
    pub version: u64,
    /// Teams with files.
    pub teams: usize,
    /// Hour partitions with files.
    pub partitions: usize,
    /// Parquet files.
    pub files: usize,
    /// Rows in Parquet files.
    pub file_rows: u64,
    /// Rows in the memtable (not yet flushed).
    pub memtable_rows: u64,
    /// Bytes of Parquet files.
    pub parquet_bytes: u64,
    /// Bytes of index sidecars.
    pub index_bytes: u64,
    /// Sum of `bytes_uncompressed` of the rows in files.
    pub raw_bytes: u64,
    /// WAL segments present and their bytes.
    pub wal_segments: usize,
    /// Bytes of the WAL segments.
    pub wal_bytes: u64,
    /// Memtables written to Parquet since the storage was opened.
    pub flushes: u64,
    /// What the last open recovered.
    pub recovery: RecoveryReport,
    /// The last background error (a failed WAL write), if any.
    pub last_error: Option<String>,
}

struct Frozen {
    /// Every WAL segment with an id at or below this holds only rows of this (and earlier) frozen memtables.
    through_segment: u64,
    batches: Vec<Arc<MemBatch>>,
}

struct State {
    // WAL.
    segment_id: u64,
    segment: Option<Arc<File>>,
    segment_len: u64,
    pending: Vec<u8>,
    pending_first_seq: u64,
    next_seq: u64,
    durable_seq: u64,
    writing: bool,
    failed: Vec<(u64, u64)>,
    last_error: Option<String>,
    // Memtable: `active` may hold batches not yet durable (seq > durable_seq); snapshots skip them.
    active: Vec<Arc<MemBatch>>,
    active_rows: usize,
    active_bytes: usize,
    active_since: Option<i64>,
    frozen: Vec<Frozen>,
    // Files.
    files: Arc<Vec<Arc<DataFile>>>,
    /// The newest `observed_timestamp` of any row ever flushed (the catalog's `observed_through`).
    files_observed: Option<i64>,
    version: u64,
}

impl State {
    /// Adds an append's batch (`bytes` its [`LogRecord::approx_size`]) to the active memtable under the next
    /// sequence number, which it returns; snapshots show it once `durable_seq` reaches that number.
    fn add_batch(&mut self, team: TeamId, records: Vec<LogRecord>, bytes: usize, now: i64) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.active_rows += records.len();
        self.active_bytes += bytes;
        self.active_since.get_or_insert(now);
        self.active
            .push(Arc::new(MemBatch::new(seq, team, records, now)));
        seq
    }
}

/// The storage engine of one data directory. `Send + Sync`: appends from many threads share WAL syncs.
pub struct Storage {
    root: PathBuf,
    wal_dir: PathBuf,
    options: StorageOptions,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    synced: Condvar,
    catalog: Mutex<Catalog>,
    /// Serialises flushes.
    flush_lock: Mutex<()>,
    /// Memtables written to Parquet since open.
    flushes: std::sync::atomic::AtomicU64,
    /// Serialises compaction and retention.
    maintenance_lock: Mutex<()>,
    names: Mutex<UuidV7Generator>,
    recovery: RecoveryReport,
    _lock: File,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("root", &self.root)
            .field("options", &self.options)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves consistent state here (every critical section is short and ends in a
    // consistent state before anything can panic), so poisoning is not a reason to stop serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Storage {
    /// Opens (creating if needed) the data directory `root`, recovering from the WAL.
    pub fn open(
        root: &Path,
        mut options: StorageOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Storage> {
        options.row_group_rows = options.row_group_rows.max(1);
        std::fs::create_dir_all(root).map_err(io_err(root))?;
        let lock_path = root.join("LOCK");
        let lock_file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        if lock_file.try_lock().is_err() {
            return Err(Error::Locked { path: lock_path });
        }
        let wal_dir = root.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(io_err(&wal_dir))?;
        crate::sync_dir(root)?;

        let catalog = Catalog::open(&root.join("catalog.sqlite"))?;
        let flushed_through = catalog.meta("wal_flushed_through")?.unwrap_or(0) as u64;
        let version = catalog.meta("version")?.unwrap_or(0) as u64;
        let files_observed = catalog.meta("observed_through")?;
        let metas = catalog.files()?;
        let mut recovery = RecoveryReport::default();

        let mut files = Vec::with_capacity(metas.len());
        for meta in metas {
            let path = root.join(&meta.path);
            if !path.is_file() {
                return Err(Error::MissingFile { path });
            }
            files.push(DataFile::new(meta, path));
        }
        let known: HashSet<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
        recovery.orphans_removed = sweep_orphans(root, &known)?;

        let now = clock.now_nanos();
        let mut active = Vec::new();
        let mut next_seq = 1;
        let segments = wal::list_segments(&wal_dir)?;
        for &id in &segments {
            let path = wal::segment_path(&wal_dir, id);
            if id <= flushed_through {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
                continue;
            }
            let replayed = wal::replay_segment(&path)?;
            if let Some((bytes, reason)) = replayed.dropped {
                recovery.dropped_tails.push((path.clone(), bytes, reason));
            }
            recovery.segments_replayed += usize::from(!replayed.batches.is_empty());
            if replayed.batches.is_empty() && path.exists() {
                // Holds no frame: nothing to keep it for.
                std::fs::remove_file(&path).map_err(io_err(&path))?;
            }
            for (team, records) in replayed.batches {
                recovery.rows_replayed += records.len() as u64;
                active.push(Arc::new(MemBatch::new(next_seq, team, records, now)));
                next_seq += 1;
            }
        }
        let segment_id = segments.last().copied().unwrap_or(0).max(flushed_through) + 1;
        let segment = wal::create_segment(&wal_dir, segment_id)?;
        let active_rows = active.iter().map(|b| b.records.len()).sum();
        let active_bytes = active
            .iter()
            .flat_map(|b| &b.records)
            .map(LogRecord::approx_size)
            .sum();
        // File names must never repeat, even under a test clock that stands still and across restarts: seed
        // them with the OS's randomness (what `RandomState` draws on), not with the clock.
        let seed = {
            use std::hash::{BuildHasher, RandomState};
            RandomState::new().hash_one((std::time::SystemTime::now(), std::process::id()))
        };
        let storage = Storage {
            root: root.to_owned(),
            wal_dir,
            clock,
            state: Mutex::new(State {
                segment_id,
                segment: Some(Arc::new(segment)),
                segment_len: wal::HEADER_LEN,
                pending: Vec::new(),
                pending_first_seq: next_seq,
                next_seq,
                durable_seq: next_seq - 1,
                writing: false,
                failed: Vec::new(),
                last_error: None,
                active_since: (!active.is_empty()).then_some(now),
                active,
                active_rows,
                active_bytes,
                frozen: Vec::new(),
                files: Arc::new(files),
                files_observed,
                version,
            }),
            synced: Condvar::new(),
            catalog: Mutex::new(catalog),
            flush_lock: Mutex::new(()),
            flushes: std::sync::atomic::AtomicU64::new(0),
            maintenance_lock: Mutex::new(()),
            names: Mutex::new(UuidV7Generator::new(seed)),
            options,
            recovery,
            _lock: lock_file,
        };
        Ok(storage)
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The options in force.
    pub fn options(&self) -> &StorageOptions {
        &self.options
    }

    /// Appends `records` of `team` and returns once they are durable (per [`Durability`]) and visible to new
    /// snapshots. Concurrent appends share one WAL write and sync (group commit). On error the batch is not
    /// acknowledged and not visible, and its partial frame is cut from the WAL; only if that cut itself fails
    /// (a second I/O error) can a complete frame survive and reappear after a restart.
    pub fn append(&self, team: TeamId, records: Vec<LogRecord>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let bytes: usize = records.iter().map(LogRecord::approx_size).sum();
        let now = self.clock.now_nanos();
        if self.options.durability == Durability::Unlogged {
            // No append of this storage writes a frame, so none is pending or in flight and every earlier sequence
            // number is settled: the durable mark can move to this batch without making another append's rows
            // visible (or acknowledged) early.
            let mut st = lock(&self.state);
            debug_assert!(st.pending.is_empty() && !st.writing);
            st.durable_seq = st.add_batch(team, records, bytes, now);
            return Ok(());
        }
        let mut frame = Vec::with_capacity(bytes);
        let start = wal::begin_frame(&mut frame);
        codec::encode_batch(&mut frame, team, &records);
        if wal::finish_frame(&mut frame, start).is_none() {
            return Err(Error::BatchTooLarge {
                bytes: frame.len() - 8,
                max: wal::MAX_FRAME as usize,
            });
        }
        let mut st = lock(&self.state);
        let seq = st.add_batch(team, records, bytes, now);
        if st.pending.is_empty() {
            st.pending_first_seq = seq;
            st.pending = frame;
        } else {
            st.pending.extend_from_slice(&frame);
            drop(frame);
        }
        loop {
            // Failure first: a later group can make `durable_seq` pass a sequence number whose own group failed.
            // (`failed` only grows by one entry per I/O failure, so it stays small.)
            if st.failed.iter().any(|&(lo, hi)| (lo..=hi).contains(&seq)) {
                return Err(Error::WalWrite {
                    reason: st
                        .last_error
                        .clone()
                        .unwrap_or_else(|| "write failed".to_owned()),
                });
            }
            if st.durable_seq >= seq {
                return Ok(());
            }
            if st.writing {
                st = self.synced.wait(st).unwrap_or_else(|e| e.into_inner());
            } else {
                st = self.write_pending(st);
            }
        }
    }

    /// Writes and syncs everything pending as the group-commit leader. Releases the lock during I/O.
    fn write_pending<'a>(&'a self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        if st.pending.is_empty() {
            return st;
        }
        let (lo, hi) = (st.pending_first_seq, st.next_seq - 1);
        let file = match &st.segment {
            Some(file) => Arc::clone(file),
            None => {
                // The last write failed and its segment was abandoned: start a fresh one. The id advances even if
                // this fails, so a retry never collides with a half-created file.
                st.segment_id += 1;
                match wal::create_segment(&self.wal_dir, st.segment_id) {
                    Ok(file) => {
                        let file = Arc::new(file);
                        st.segment = Some(Arc::clone(&file));
                        st.segment_len = wal::HEADER_LEN;
                        file
                    }
                    Err(e) => {
                        st.pending.clear();
                        self.fail_group(&mut st, lo, hi, e.to_string());
                        self.synced.notify_all();
                        return st;
                    }
                }
            }
        };
        st.writing = true;
        let buf = std::mem::take(&mut st.pending);
        let good_len = st.segment_len;
        drop(st);
        let result = (&*file)
            .write_all(&buf)
            .and_then(|()| match self.options.durability {
                Durability::Sync => file.sync_data(),
                Durability::Buffered | Durability::Unlogged => Ok(()),
            });
        let mut st = lock(&self.state);
        st.writing = false;
        match result {
            Ok(()) => {
                st.durable_seq = hi;
                st.segment_len += buf.len() as u64;
            }
            Err(e) => {
                // Nothing of this group is acknowledged. Cut the partial write off (best effort; recovery would
                // drop it as a torn tail anyway), abandon the segment so later frames never follow garbage, and
                // withdraw the group's rows from the memtable.
                let _ = file.set_len(good_len);
                let _ = file.sync_all();
                st.segment = None;
                let reason = format!(
                    "{}: {e}",
                    wal::segment_path(&self.wal_dir, st.segment_id).display()
                );
                self.fail_group(&mut st, lo, hi, reason);
                // Frames queued behind the failed group belong to appends still waiting; they go to the next
                // segment with their own leader.
                if !st.pending.is_empty() {
                    st.pending_first_seq = hi + 1;
                }
            }
        }
        self.synced.notify_all();
        st
    }

    /// Marks appends `lo..=hi` as failed and withdraws their rows from the memtable.
    fn fail_group(&self, st: &mut State, lo: u64, hi: u64, reason: String) {
        st.failed.push((lo, hi));
        st.last_error = Some(reason);
        let mut removed_rows = 0;
        let mut removed_bytes = 0;
        st.active.retain(|b| {
            let keep = !(lo..=hi).contains(&b.seq);
            if !keep {
                removed_rows += b.records.len();
                removed_bytes += b.records.iter().map(LogRecord::approx_size).sum::<usize>();
            }
            keep
        });
        st.active_rows -= removed_rows;
        st.active_bytes -= removed_bytes;
        if st.active.is_empty() {
            st.active_since = None;
        }
    }

    /// A consistent view of files and durable memtable rows.
    pub fn snapshot(&self) -> Snapshot {
        let st = lock(&self.state);
        let durable = st.durable_seq;
        let mut mem: Vec<Arc<MemBatch>> = st
            .frozen
            .iter()
            .flat_map(|f| f.batches.iter().cloned())
            .collect();
        mem.extend(st.active.iter().filter(|b| b.seq <= durable).cloned());
        let observed_through = mem
            .iter()
            .filter(|b| !b.records.is_empty())
            .map(|b| b.max_observed)
            .chain(st.files_observed)
            .max();
        Snapshot {
            version: st.version,
            files: Arc::clone(&st.files),
            mem,
            observed_through,
        }
    }

    /// Rows held in memory (frozen and active memtables, durable or in flight).
    pub fn memtable_rows(&self) -> usize {
        let st = lock(&self.state);
        st.active_rows
            + st.frozen
                .iter()
                .flat_map(|f| &f.batches)
                .map(|b| b.records.len())
                .sum::<usize>()
    }

    /// Whether a flush is due at `now` (ns): by rows, bytes or age, or because an earlier flush failed.
    pub fn needs_flush(&self, now: i64) -> bool {
        let st = lock(&self.state);
        let age_limit = i64::try_from(self.options.flush_age.as_nanos()).unwrap_or(i64::MAX);
        !st.frozen.is_empty()
            || st.active_rows >= self.options.flush_rows
            || st.active_bytes >= self.options.flush_bytes
            || st
                .active_since
                .is_some_and(|t| now.saturating_sub(t) >= age_limit)
    }

    /// Returns once no flush is running (at once when none is).
    pub fn wait_for_flush(&self) {
        drop(lock(&self.flush_lock));
    }

    /// Moves every memtable row to Parquet: one file per (team, hour) with its sidecar, then one catalog
    /// transaction that adds the files and retires the WAL segments they came from.
    pub fn flush(&self) -> Result<FlushReport> {
        let mut retired = Vec::new();
        let result = {
            let _guard = lock(&self.flush_lock);
            self.flush_frozen(&mut retired)
        };
        // The flushed rows are freed after the flush lock is released: freeing a million records takes a third of
        // a second on one core, and an ingest at the memtable limit waits for that lock (`wait_for_flush`), so
        // freeing under it left one core idle at the end of every such flush (session 11, `perf` timeline).
        drop(retired);
        result
    }

    /// [`Storage::flush`] under the flush lock; the batches it wrote go to `retired`, for the caller to drop.
    fn flush_frozen(&self, retired: &mut Vec<Vec<Arc<MemBatch>>>) -> Result<FlushReport> {
        self.rotate()?;
        let mut report = FlushReport::default();
        loop {
            let job = {
                let st = lock(&self.state);
                st.frozen
                    .first()
                    .map(|f| (f.through_segment, f.batches.clone()))
            };
            let Some((through, batches)) = job else { break };
            // A commit that reported an error may still have happened (an I/O error after SQLite made it
            // durable). The catalog is the truth: if it already covers these segments, adopt its file list
            // instead of writing the rows a second time.
            let already = lock(&self.catalog)
                .meta("wal_flushed_through")?
                .unwrap_or(0);
            if already >= through as i64 {
                self.reconcile_files()?;
                let mut st = lock(&self.state);
                st.frozen.remove(0);
                st.version += 1;
                continue;
            }
            let written = self.write_batches(&batches)?;
            let observed = batches
                .iter()
                .filter(|b| !b.records.is_empty())
                .map(|b| b.max_observed)
                .max();
            let added = {
                let mut catalog = lock(&self.catalog);
                // On error the written files are left alone: if the commit did not happen they are orphans that
                // the next open sweeps, and if it did, the catalog needs them.
                catalog.commit(
                    &[],
                    &written,
                    Some(FlushMark {
                        wal_through: through,
                        observed,
                    }),
                    self.clock.now_nanos(),
                )?
            };
            report.rows += batches.iter().map(|b| b.records.len() as u64).sum::<u64>();
            {
                let mut st = lock(&self.state);
                let mut files: Vec<Arc<DataFile>> = st.files.as_ref().clone();
                files.extend(added.iter().map(|meta| self.data_file(meta.clone())));
                sort_files(&mut files);
                st.files = Arc::new(files);
                st.files_observed = st.files_observed.max(observed);
                st.frozen.remove(0);
                st.version += 1;
            }
            report.files.extend(added);
            retired.push(batches);
            self.flushes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // The segments are now redundant; one left behind is deleted at the next open.
            for id in wal::list_segments(&self.wal_dir)?
                .into_iter()
                .filter(|&id| id <= through)
            {
                let _ = std::fs::remove_file(wal::segment_path(&self.wal_dir, id));
            }
        }
        Ok(report)
    }

    fn data_file(&self, meta: FileMeta) -> Arc<DataFile> {
        let path = self.root.join(&meta.path);
        DataFile::new(meta, path)
    }

    /// Makes the in-memory file list equal the catalog's, keeping the handles of files that stay (after a commit
    /// whose outcome was unknown).
    fn reconcile_files(&self) -> Result<()> {
        let (metas, observed) = {
            let catalog = lock(&self.catalog);
            (catalog.files()?, catalog.meta("observed_through")?)
        };
        let mut st = lock(&self.state);
        let current: HashMap<i64, Arc<DataFile>> = st
            .files
            .iter()
            .map(|f| (f.meta.id, Arc::clone(f)))
            .collect();
        let keep: HashSet<i64> = metas.iter().map(|m| m.id).collect();
        for f in st.files.iter().filter(|f| !keep.contains(&f.meta.id)) {
            f.obsolete.store(true, Ordering::SeqCst);
        }
        let mut files: Vec<Arc<DataFile>> = metas
            .into_iter()
            .map(|m| {
                current
                    .get(&m.id)
                    .map_or_else(|| self.data_file(m), Arc::clone)
            })
            .collect();
        sort_files(&mut files);
        st.files = Arc::new(files);
        st.files_observed = st.files_observed.max(observed);
        st.version += 1;
        Ok(())
    }

    /// Freezes the active memtable and starts a new WAL segment, so the frozen rows' segments can be retired.
    fn rotate(&self) -> Result<()> {
        let mut st = lock(&self.state);
        loop {
            if st.writing {
                st = self.synced.wait(st).unwrap_or_else(|e| e.into_inner());
            } else if !st.pending.is_empty() {
                st = self.write_pending(st);
            } else {
                break;
            }
        }
        if st.active.is_empty() {
            return Ok(());
        }
        let through = st.segment_id;
        let id = through + 1;
        let file = wal::create_segment(&self.wal_dir, id)?;
        st.segment_id = id;
        st.segment = Some(Arc::new(file));
        st.segment_len = wal::HEADER_LEN;
        let batches = std::mem::take(&mut st.active);
        st.active_rows = 0;
        st.active_bytes = 0;
        st.active_since = None;
        st.frozen.push(Frozen {
            through_segment: through,
            batches,
        });
        Ok(())
    }

    fn next_file_name(&self) -> String {
        let ms = (self.clock.now_nanos().max(0) / 1_000_000) as u64;
        uuid::Uuid::from_bytes(lock(&self.names).next(ms)).to_string()
    }

    /// Writes the rows of `batches` as one file per (team, hour).
    fn write_batches(&self, batches: &[Arc<MemBatch>]) -> Result<Vec<WrittenFile>> {
        let mut groups: BTreeMap<Partition, Vec<&LogRecord>> = BTreeMap::new();
        for b in batches {
            for r in &b.records {
                groups
                    .entry(Partition::of(b.team, r.timestamp))
                    .or_default()
                    .push(r);
            }
        }
        let jobs: Vec<FileJob<'_>> = groups
            .into_iter()
            .map(|(partition, records)| FileJob {
                partition,
                name: self.next_file_name(),
                records,
            })
            .collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let results = write_files(
            &self.root,
            jobs,
            self.options.row_group_rows,
            &self.options.index,
            threads,
        );
        let mut written = Vec::with_capacity(results.len());
        let mut failure = None;
        for result in results {
            match result {
                Ok(w) => written.push(w),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        if let Some(e) = failure {
            remove_written(&self.root, &written);
            return Err(e);
        }
        Ok(written)
    }

    /// Merges the small files of each hour partition (fewer than
    /// [`StorageOptions::compact_small_file_rows`] rows) into files of up to
    /// [`StorageOptions::compact_max_rows`] rows, rebuilding their sidecars, with one catalog transaction per
    /// output file. Readers holding the old files keep them until they drop their snapshot.
    pub fn compact(&self) -> Result<CompactReport> {
        let _guard = lock(&self.maintenance_lock);
        let files = Arc::clone(&lock(&self.state).files);
        let mut by_partition: BTreeMap<Partition, Vec<Arc<DataFile>>> = BTreeMap::new();
        for f in files
            .iter()
            .filter(|f| f.meta.rows < self.options.compact_small_file_rows)
        {
            by_partition
                .entry(f.meta.partition)
                .or_default()
                .push(Arc::clone(f));
        }
        let mut report = CompactReport::default();
        for (partition, small) in by_partition {
            if small.len() < 2 {
                continue;
            }
            // Greedy runs of files up to the size cap; a run of one file is left alone.
            let mut runs: Vec<Vec<Arc<DataFile>>> = vec![Vec::new()];
            let mut run_rows = 0;
            for f in small {
                if run_rows + f.meta.rows > self.options.compact_max_rows
                    && !runs.last().is_some_and(Vec::is_empty)
                {
                    runs.push(Vec::new());
                    run_rows = 0;
                }
                run_rows += f.meta.rows;
                runs.last_mut().expect("non-empty").push(f);
            }
            let mut compacted = false;
            for run in runs.into_iter().filter(|r| r.len() >= 2) {
                let mut records =
                    Vec::with_capacity(run.iter().map(|f| f.meta.rows as usize).sum());
                for f in &run {
                    records.extend(f.read_records()?);
                }
                let job = FileJob {
                    partition,
                    name: self.next_file_name(),
                    records: records.iter().collect(),
                };
                let out = write_file(
                    &self.root,
                    job,
                    self.options.row_group_rows,
                    &self.options.index,
                )?;
                let ids: Vec<i64> = run.iter().map(|f| f.meta.id).collect();
                let added = {
                    let mut catalog = lock(&self.catalog);
                    match catalog.commit(
                        &ids,
                        std::slice::from_ref(&out),
                        None,
                        self.clock.now_nanos(),
                    ) {
                        Ok(a) => a,
                        Err(e) => {
                            // Outcome unknown: follow the catalog; an uncommitted output is swept at the next open.
                            drop(catalog);
                            let _ = self.reconcile_files();
                            return Err(e);
                        }
                    }
                };
                self.swap_files(&ids, added);
                report.files_removed += run.len();
                report.files_written += 1;
                report.rows += records.len() as u64;
                compacted = true;
            }
            report.partitions += usize::from(compacted);
        }
        Ok(report)
    }

    /// Replaces the files with catalog ids `remove` by `add` in the in-memory list; the removed files are deleted
    /// from disk when no snapshot holds them any more.
    fn swap_files(&self, remove: &[i64], add: Vec<FileMeta>) {
        let mut st = lock(&self.state);
        let gone: HashSet<i64> = remove.iter().copied().collect();
        let mut files: Vec<Arc<DataFile>> = Vec::with_capacity(st.files.len() + add.len());
        for f in st.files.iter() {
            if gone.contains(&f.meta.id) {
                f.obsolete.store(true, Ordering::SeqCst);
            } else {
                files.push(Arc::clone(f));
            }
        }
        for meta in add {
            files.push(self.data_file(meta));
        }
        sort_files(&mut files);
        st.files = Arc::new(files);
        st.version += 1;
    }

    /// Sets a team's retention in days (overrides [`StorageOptions::retention_days`]).
    pub fn set_retention_days(&self, team: TeamId, days: u32) -> Result<()> {
        lock(&self.catalog).set_retention_days(team, days)
    }

    /// The retention in force for `team`, in days.
    pub fn retention_days(&self, team: TeamId) -> Result<u32> {
        Ok(lock(&self.catalog)
            .retention_days(team)?
            .unwrap_or(self.options.retention_days))
    }

    /// Drops every hour partition that ended at least the team's retention before `now` (ns). Whole partitions
    /// only: a partition is kept while any of its hour is within retention. Memtable rows are not touched; they
    /// are dropped by the first retention pass after they are flushed.
    pub fn retention(&self, now: i64) -> Result<RetentionReport> {
        let _guard = lock(&self.maintenance_lock);
        let files = Arc::clone(&lock(&self.state).files);
        let mut days: HashMap<TeamId, u32> = HashMap::new();
        let mut expired = Vec::new();
        let mut partitions = HashSet::new();
        let mut report = RetentionReport::default();
        for f in files.iter() {
            let team = f.meta.partition.team;
            let d = match days.get(&team) {
                Some(&d) => d,
                None => {
                    let d = self.retention_days(team)?;
                    days.insert(team, d);
                    d
                }
            };
            let cutoff = now.saturating_sub(i64::from(d).saturating_mul(86_400 * NANOS_PER_SECOND));
            if f.meta.partition.end() <= cutoff {
                expired.push(f.meta.id);
                partitions.insert(f.meta.partition);
                report.rows += f.meta.rows;
            }
        }
        if expired.is_empty() {
            return Ok(report);
        }
        let committed = lock(&self.catalog).commit(&expired, &[], None, now);
        if let Err(e) = committed {
            let _ = self.reconcile_files();
            return Err(e);
        }
        self.swap_files(&expired, Vec::new());
        report.files = expired.len();
        report.partitions = partitions.len();
        Ok(report)
    }

    /// Counters for `quarry stats`.
    pub fn stats(&self) -> Result<StorageStats> {
        let (files, memtable_rows, version, last_error) = {
            let st = lock(&self.state);
            let mem: usize = st
                .frozen
                .iter()
                .flat_map(|f| &f.batches)
                .map(|b| b.records.len())
                .sum::<usize>()
                + st.active
                    .iter()
                    .filter(|b| b.seq <= st.durable_seq)
                    .map(|b| b.records.len())
                    .sum::<usize>();
            (
                Arc::clone(&st.files),
                mem as u64,
                st.version,
                st.last_error.clone(),
            )
        };
        let mut stats = StorageStats {
            version,
            memtable_rows,
            flushes: self.flushes.load(std::sync::atomic::Ordering::Relaxed),
            recovery: self.recovery.clone(),
            last_error,
            ..StorageStats::default()
        };
        let mut teams = HashSet::new();
        let mut partitions = HashSet::new();
        for f in files.iter() {
            teams.insert(f.meta.partition.team);
            partitions.insert(f.meta.partition);
            stats.files += 1;
            stats.file_rows += f.meta.rows;
            stats.parquet_bytes += f.meta.bytes;
            stats.index_bytes += f.meta.index_bytes;
            stats.raw_bytes += f.meta.raw_bytes;
        }
        stats.teams = teams.len();
        stats.partitions = partitions.len();
        for id in wal::list_segments(&self.wal_dir)? {
            let path = wal::segment_path(&self.wal_dir, id);
            stats.wal_segments += 1;
            stats.wal_bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        }
        Ok(stats)
    }
}

fn sort_files(files: &mut [Arc<DataFile>]) {
    files.sort_by_key(|f| (f.meta.partition, f.meta.id));
}

fn remove_written(root: &Path, written: &[WrittenFile]) {
    for w in written {
        let path = root.join(&w.rel_path);
        let _ = std::fs::remove_file(sidecar_path(&path));
        let _ = std::fs::remove_file(path);
    }
}

/// Deletes data-tree files that the catalog does not reference: Parquet files and sidecars of interrupted
/// flushes or compactions, and temporary files. Returns how many were removed.
fn sweep_orphans(root: &Path, known: &HashSet<PathBuf>) -> Result<usize> {
    let mut removed = 0;
    let list = |dir: &Path| -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
            out.push(e.map_err(io_err(dir))?.path());
        }
        Ok(out)
    };
    let is_partition_dir = |p: &Path, prefix: &str| {
        p.is_dir()
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
    };
    for team in list(root)?
        .into_iter()
        .filter(|p| is_partition_dir(p, "team="))
    {
        for date in list(&team)?
            .into_iter()
            .filter(|p| is_partition_dir(p, "date="))
        {
            for hour in list(&date)?
                .into_iter()
                .filter(|p| is_partition_dir(p, "hour="))
            {
                for file in list(&hour)? {
                    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    let orphan = if name.ends_with(".tmp") {
                        true
                    } else if name.ends_with(".parquet") {
                        !known.contains(&file)
                    } else if name.ends_with(".qidx") {
                        !known.contains(&file.with_extension("parquet"))
                    } else {
                        false
                    };
                    if orphan {
                        std::fs::remove_file(&file).map_err(io_err(&file))?;
                        removed += 1;
                    }
                }
            }
        }
    }
    Ok(removed)
}
