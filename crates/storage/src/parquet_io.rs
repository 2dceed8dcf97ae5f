//! Writing and reading quarry's Parquet files.
//!
//! A file holds the rows of one [`Partition`] sorted by (severity group, `timestamp`, `uuid`): every row of
//! severity `error` or `fatal` after every other row ([`quarry_index::severity_group`]), zstd-compressed (level 1),
//! in data pages of at most 2,048 rows with page-level statistics and the page index, and row groups of at most
//! [`StorageOptions::row_group_rows`](crate::StorageOptions::row_group_rows) rows whose sizes the sidecar records.
//! A row group holds one severity group, so each row group is in (`timestamp`, `uuid`) order, as the file's
//! `sorting_columns` metadata declares (it describes each row group).
//!
//! Why errors apart (session 7): a list of errors, or of an attribute value that comes with errors (a 5xx
//! status), otherwise takes rows spread over the newest thousands of an hour, and every page of every column over
//! that spread is decompressed; apart, they are one contiguous tail. Other lists read the larger run and, when an
//! error is among the newest rows, the last page of the error run (BENCHMARKS.md, "Lists: errors apart").
//!
//! Time order is the order of a list (spec §3.1), so a file's newest rows are its last pages and a minute is one
//! span of rows. Until session 6 files were sorted by (`service_name`, `severity_text`, `timestamp`, `uuid`); on
//! the 1M-row benchmark data time order alone costs 7% more bytes on disk (70.1 → 75.2 bytes per row, sidecar
//! postings no longer being runs) and makes ingest faster (rows are written in about the order they arrive) and
//! lists of the newest rows several times faster (BENCHMARKS.md, "Lists: time-ordered files"). Files of older
//! builds stay readable and correct; their sidecars say how they are ordered.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Mutex, MutexGuard};

use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use quarry_core::LogRecord;
use quarry_core::schema::{batch_to_records, columns, log_schema, records_to_batch};
use quarry_index::{FileIndex, IndexOptions};

use crate::layout::{Partition, sidecar_path};
use crate::{Error, Result, io_err, sync_dir};

/// The sort order of rows inside a file: (severity group, `timestamp`, `uuid`) — errors after every other row
/// ([`quarry_index::severity_group`]), each group in the order of `logs/query` (spec §3.1).
///
/// Rows arrive in about time order, so each severity group is a few ascending runs: a stable partition by group
/// and a stable sort of each group (which merges natural runs) take about linear time, where an unstable sort of
/// the whole took ~2,100 instructions per row (5% of an ingest, callgrind on 100,000 generated rows), most of them
/// comparisons through pointers to the records. Keys are unique (`uuid`), so stability changes no order.
fn sort_records(records: &mut Vec<&LogRecord>) {
    let time_key = |r: &&LogRecord| (r.timestamp, u128::from_be_bytes(r.uuid));
    let (mut others, mut errors): (Vec<&LogRecord>, Vec<&LogRecord>) = records
        .iter()
        .partition(|r| quarry_index::severity_group(r.severity_text) == 0);
    others.sort_by_key(time_key);
    errors.sort_by_key(time_key);
    records.clear();
    records.extend(others);
    records.extend(errors);
    debug_assert!(records.is_sorted_by_key(|r| quarry_index::file_order_key(r)));
}

/// What a write produced, for the catalog.
#[derive(Debug, Clone)]
pub(crate) struct WrittenFile {
    pub(crate) partition: Partition,
    /// Relative to the data directory.
    pub(crate) rel_path: PathBuf,
    pub(crate) rows: u64,
    pub(crate) bytes: u64,
    pub(crate) index_bytes: u64,
    pub(crate) raw_bytes: u64,
    pub(crate) checksum: u32,
    pub(crate) min_timestamp: i64,
    pub(crate) max_timestamp: i64,
}

/// Rows per data page at most (checked every write batch of 1,024 rows).
const PAGE_ROWS: usize = 2_048;

/// The path of a map column's `key` or `value` leaf.
fn map_leaf(map: &str, leaf: &str) -> ColumnPath {
    ColumnPath::new(vec![map.into(), "key_value".into(), leaf.into()])
}

fn writer_properties(row_group_rows: usize) -> WriterProperties {
    let mut b = WriterProperties::builder()
        // Level 1, not 3: measured on 100,000 generated rows, level 3 spent 1.69k more instructions per row
        // (ingest 4.53 G vs 4.70 G instructions in all) for 1.8% fewer Parquet bytes.
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("level 1 is valid"),
        ))
        .set_statistics_enabled(EnabledStatistics::Page)
        // Small pages: reads select a few rows (the newest rows of a list, the edge minutes of a histogram, the
        // rows of one service), and each selected row costs the decoding of its whole page. At the default of
        // 20,000 rows a page of bodies is megabytes.
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_sorting_columns(Some(
            [2, 4]
                .into_iter()
                .map(|column_idx| SortingColumn {
                    column_idx,
                    descending: false,
                    nulls_first: false,
                })
                .collect(),
        ));
    // Columns zstd barely shrinks are stored uncompressed: delta-packed timestamps, random trace and span ids,
    // dictionary-coded small integers and labels. Measured on a 131,072-row group at 10M rows, zstd saved 0% of
    // `timestamp`, 3% of `resource_fingerprint` and `bytes_uncompressed`, 6–8% of `span_id` and `trace_id`, 10%
    // and 39% of the dictionary indices of `service_name` and `severity_text` (0.2 bytes per row together). Each
    // compressed column chunk a read touches costs a zstd context (the parquet crate makes a compression and a
    // decompression context per chunk read: 14% of a one-service list's time) and its decompression.
    for col in [
        columns::SERVICE_NAME,
        columns::SEVERITY_TEXT,
        columns::TIMESTAMP,
        columns::OBSERVED_TIMESTAMP,
        columns::TRACE_ID,
        columns::SPAN_ID,
        columns::TRACE_FLAGS,
        columns::SEVERITY_NUMBER,
        columns::RESOURCE_FINGERPRINT,
        columns::INSTRUMENTATION_SCOPE,
        columns::EVENT_NAME,
        columns::BYTES_UNCOMPRESSED,
    ] {
        b = b.set_column_compression(ColumnPath::from(col), Compression::UNCOMPRESSED);
    }
    // Timestamps are sorted: deltas are small, dictionaries useless.
    for col in [columns::TIMESTAMP, columns::OBSERVED_TIMESTAMP] {
        b = b
            .set_column_dictionary_enabled(ColumnPath::from(col), false)
            .set_column_encoding(ColumnPath::from(col), Encoding::DELTA_BINARY_PACKED);
    }
    // Ids are unique and bodies nearly so: a dictionary only costs (zstd still finds repeated text).
    for col in [
        columns::UUID,
        columns::TRACE_ID,
        columns::SPAN_ID,
        columns::BODY,
    ] {
        b = b.set_column_dictionary_enabled(ColumnPath::from(col), false);
    }
    // Log attribute values mix a few repeated values (methods, routes, regions) with ids (users, requests) that
    // fill a row group's dictionary to its 1 MB limit. Reading any row of a row group decodes its whole
    // dictionary page first: ~440 KB of zstd and tens of thousands of strings per list request at 10M rows.
    // Attribute keys repeat in the same order row after row, which zstd shrinks as well as a dictionary does
    // (100,000 generated rows: +4 KB of Parquet in 7.15 MB) while interning each key cost ~130 instructions
    // (ingest 3.99 → 3.89 G instructions per 100k rows). Resource values keep theirs: without it their zstd
    // costs more than the interning saves, and they take 6% more bytes.
    for (map, leaf) in [
        (columns::ATTRIBUTES, "value"),
        (columns::ATTRIBUTES, "key"),
        (columns::RESOURCE_ATTRIBUTES, "key"),
    ] {
        b = b.set_column_dictionary_enabled(map_leaf(map, leaf), false);
    }
    // Min/max of ids, bodies and attribute entries prune nothing; computing them costs on every value. Nor do
    // those of `service_name` (every row group and page holds most services: rows are in time order) or of the
    // scope and event name (mostly one value), and their min/max cost 4.2% of a one-core ingest (a `memcmp` per
    // value and bound, perf on 1M generated rows). `severity_text` keeps its statistics: error rows have row
    // groups of their own, which a reader filtering on severity can tell from min = max = "error".
    // (quarry's own reads skip pages with the offset index, which is written whatever the statistics.)
    let attr_leaves = [columns::ATTRIBUTES, columns::RESOURCE_ATTRIBUTES]
        .into_iter()
        .flat_map(|map| ["key", "value"].map(|leaf| map_leaf(map, leaf)));
    for path in [
        columns::UUID,
        columns::TRACE_ID,
        columns::SPAN_ID,
        columns::BODY,
        columns::SERVICE_NAME,
        columns::INSTRUMENTATION_SCOPE,
        columns::EVENT_NAME,
    ]
    .into_iter()
    .map(ColumnPath::from)
    .chain(attr_leaves)
    {
        b = b.set_column_statistics_enabled(path, EnabledStatistics::None);
    }
    b.build()
}

/// A writer that counts and checksums what passes through it.
struct HashingWriter<W> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One file to write: the rows of `partition` (in any order; [`write_files`] sorts them) as file `name`.
pub(crate) struct FileJob<'a> {
    pub(crate) partition: Partition,
    pub(crate) name: String,
    pub(crate) records: Vec<&'a LogRecord>,
}

/// Writes `job` as one file plus its sidecar, on the calling thread ([`write_files`] with one job and one thread).
pub(crate) fn write_file(
    root: &Path,
    job: FileJob<'_>,
    row_group_rows: usize,
    index_options: &IndexOptions,
) -> Result<WrittenFile> {
    write_files(root, vec![job], row_group_rows, index_options, 1)
        .pop()
        .expect("one outcome per job")
}

/// Writes each job as a Parquet file of its partition plus its sidecar, durably (each is written to a temporary
/// name, synced, renamed, and the directory synced), on up to `threads` threads. Returns each job's outcome, in
/// the order of `jobs`; a failed job leaves no file behind (its temporary files are removed, best effort).
///
/// The work is cut finer than a file, because a flush has few files of unequal sizes: rows arrive in about time
/// order, so a flush of a million rows is two to four hour partitions, the first and last of them partial, and
/// with one file per thread a flush often ended with one thread writing its largest file and the other idle. So
/// each row group is encoded on its own (the parquet crate's
/// [`ArrowColumnWriter`](parquet::arrow::arrow_writer::ArrowColumnWriter)s, into memory), and each sidecar is built
/// on its own; the thread that completes a file's last piece appends its row groups in order, writes the footer
/// and makes the file durable. The bytes are those [`ArrowWriter`] writes for the same row groups (a test
/// compares), and the instructions the same (callgrind, 100,000 rows: 3.731 G before, 3.732 G after).
pub(crate) fn write_files(
    root: &Path,
    jobs: Vec<FileJob<'_>>,
    row_group_rows: usize,
    index_options: &IndexOptions,
    threads: usize,
) -> Vec<Result<WrittenFile>> {
    // Stage 1, a task per file: sort its rows, cut its row groups, create its temporary file.
    let opened = map_parallel(jobs, threads, |job| {
        OpenFile::create(root, job, row_group_rows)
    });

    // Stage 2, a task per row group and per sidecar, largest files first, and in a file its sidecar (the largest
    // piece) first: the last pieces of a flush are small ones, so its threads end together.
    let mut tasks: Vec<(usize, Piece)> = Vec::new();
    let mut order: Vec<usize> = (0..opened.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(opened[i].as_ref().map_or(0, |f| f.records.len())));
    for i in order {
        if let Ok(f) = &opened[i] {
            tasks.push((i, Piece::Index));
            tasks.extend((0..f.row_groups.len()).map(|g| (i, Piece::RowGroup(g))));
        }
    }
    for_each_parallel(tasks.len(), threads, |t| {
        let (i, piece) = tasks[t];
        let Ok(f) = &opened[i] else {
            unreachable!("only opened files have pieces")
        };
        match piece {
            Piece::RowGroup(g) => {
                let encoded = f.encode_row_group(g);
                *lock(&f.encoded[g]) = Some(encoded);
            }
            Piece::Index => {
                let sizes: Vec<u32> = f.row_groups.iter().map(|r| r.len() as u32).collect();
                let index = FileIndex::build(&f.records, &sizes, index_options);
                *lock(&f.index) =
                    Some((index.min_timestamp, index.max_timestamp, index.to_bytes()));
            }
        }
        // The thread that does a file's last piece finishes it, so finishing (copying its pages out, the fsyncs)
        // overlaps the encoding of other files.
        if f.remaining.fetch_sub(1, AtomicOrdering::AcqRel) == 1 {
            let outcome = f.finish();
            *lock(&f.outcome) = Some(outcome);
        }
    });
    opened
        .into_iter()
        .map(|f| {
            let f = f?;
            let outcome = lock(&f.outcome).take();
            outcome.expect("every piece of every opened file ran")
        })
        .collect()
}

/// A piece of a file's work ([`write_files`]).
#[derive(Clone, Copy)]
enum Piece {
    RowGroup(usize),
    Index,
}

/// What the Parquet writer writes into: the temporary file, counted and checksummed on the way.
type Sink = HashingWriter<BufWriter<File>>;

/// The sidecar of a file: its first and last timestamps and its bytes.
type BuiltIndex = (i64, i64, Vec<u8>);

/// A file of [`write_files`] between its creation and its finish.
struct OpenFile<'a> {
    partition: Partition,
    dir: PathBuf,
    rel_path: PathBuf,
    path: PathBuf,
    tmp: PathBuf,
    sidecar_tmp: PathBuf,
    /// In [`sort_records`] order.
    records: Vec<&'a LogRecord>,
    /// The row groups, as ranges of `records`.
    row_groups: Vec<Range<usize>>,
    writer: Mutex<Option<SerializedFileWriter<Sink>>>,
    factory: ArrowRowGroupWriterFactory,
    encoded: Vec<Mutex<Option<Result<Vec<ArrowColumnChunk>>>>>,
    index: Mutex<Option<BuiltIndex>>,
    /// Pieces not done yet.
    remaining: AtomicUsize,
    outcome: Mutex<Option<Result<WrittenFile>>>,
}

impl<'a> OpenFile<'a> {
    /// Sorts the job's rows, cuts them into row groups and creates the temporary file with the Parquet header.
    fn create(root: &Path, job: FileJob<'a>, row_group_rows: usize) -> Result<OpenFile<'a>> {
        let FileJob {
            partition,
            name,
            mut records,
        } = job;
        sort_records(&mut records);
        let row_groups = cut_row_groups(&records, row_group_rows);

        let rel_dir = partition.dir();
        let dir = root.join(&rel_dir);
        create_dirs(root, &rel_dir)?;
        let rel_path = rel_dir.join(format!("{name}.parquet"));
        let path = root.join(&rel_path);
        let tmp = dir.join(format!(".{name}.parquet.tmp"));
        let sidecar_tmp = dir.join(format!(".{name}.qidx.tmp"));
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let sink = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            crc: crc32fast::Hasher::new(),
            len: 0,
        };
        // Made through `ArrowWriter`, so the file has its schema, properties and Arrow schema metadata exactly.
        let (writer, factory) =
            ArrowWriter::try_new(sink, log_schema(), Some(writer_properties(row_group_rows)))
                .and_then(ArrowWriter::into_serialized_writer)
                .map_err(|e| {
                    let _ = fs::remove_file(&tmp);
                    Error::parquet(&tmp, e)
                })?;
        Ok(OpenFile {
            partition,
            dir,
            rel_path,
            path,
            tmp,
            sidecar_tmp,
            remaining: AtomicUsize::new(row_groups.len() + 1),
            encoded: row_groups.iter().map(|_| Mutex::new(None)).collect(),
            records,
            row_groups,
            writer: Mutex::new(Some(writer)),
            factory,
            index: Mutex::new(None),
            outcome: Mutex::new(None),
        })
    }

    /// Encodes row group `g` into memory: its column chunks, in the schema's leaf order.
    fn encode_row_group(&self, g: usize) -> Result<Vec<ArrowColumnChunk>> {
        let rows = &self.records[self.row_groups[g].clone()];
        let batch = records_to_batch(rows).map_err(|e| Error::Arrow {
            context: self.tmp.clone(),
            source: e,
        })?;
        let parquet = |e| Error::parquet(&self.tmp, e);
        let mut writers = self.factory.create_column_writers(g).map_err(parquet)?;
        let mut next = writers.iter_mut();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, column).map_err(parquet)? {
                next.next()
                    .expect("a writer per leaf column")
                    .write(&leaf)
                    .map_err(parquet)?;
            }
        }
        writers
            .into_iter()
            .map(|w| w.close().map_err(parquet))
            .collect()
    }

    /// Appends the encoded row groups in order, writes the footer, syncs the file and its sidecar and renames
    /// both into place. On failure the temporary files are removed.
    fn finish(&self) -> Result<WrittenFile> {
        let result = self.finish_inner();
        if result.is_err() {
            let _ = fs::remove_file(&self.tmp);
            let _ = fs::remove_file(&self.sidecar_tmp);
        }
        result
    }

    fn finish_inner(&self) -> Result<WrittenFile> {
        let parquet = |e| Error::parquet(&self.tmp, e);
        let mut writer = lock(&self.writer).take().expect("a file is finished once");
        for slot in &self.encoded {
            let chunks = lock(slot).take().expect("every row group was encoded")?;
            let mut row_group = writer.next_row_group().map_err(parquet)?;
            for chunk in chunks {
                chunk.append_to_row_group(&mut row_group).map_err(parquet)?;
            }
            row_group.close().map_err(parquet)?;
        }
        let mut sink = writer.into_inner().map_err(parquet)?;
        sink.flush().map_err(io_err(&self.tmp))?;
        let (bytes, checksum) = (sink.len, sink.crc.finalize());
        let file = sink.inner.into_inner().map_err(|e| Error::Io {
            path: self.tmp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_err(&self.tmp))?;
        drop(file);

        let (min_timestamp, max_timestamp, index_bytes) =
            lock(&self.index).take().expect("the sidecar was built");
        write_synced(&self.sidecar_tmp, &index_bytes)?;
        let sidecar = sidecar_path(&self.path);
        fs::rename(&self.tmp, &self.path).map_err(io_err(&self.path))?;
        fs::rename(&self.sidecar_tmp, &sidecar).map_err(io_err(&sidecar))?;
        sync_dir(&self.dir)?;
        Ok(WrittenFile {
            partition: self.partition,
            rel_path: self.rel_path.clone(),
            rows: self.records.len() as u64,
            bytes,
            index_bytes: index_bytes.len() as u64,
            raw_bytes: self.records.iter().map(|r| r.bytes_uncompressed).sum(),
            checksum,
            min_timestamp,
            max_timestamp,
        })
    }
}

/// The row groups of `records` (in [`sort_records`] order): runs of at most `row_group_rows` rows. A row group
/// never holds two severity groups, so each is in (`timestamp`, `uuid`) order, as the file's `sorting_columns`
/// say (they describe every row group), and the error rows start a fresh page.
fn cut_row_groups(records: &[&LogRecord], row_group_rows: usize) -> Vec<Range<usize>> {
    let errors_at = records.partition_point(|r| quarry_index::severity_group(r.severity_text) == 0);
    let step = row_group_rows.max(1);
    let runs =
        |from: usize, to: usize| (from..to).step_by(step).map(move |s| s..(s + step).min(to));
    runs(0, errors_at)
        .chain(runs(errors_at, records.len()))
        .collect()
}

/// `f` of every item, in order, computed on up to `threads` scoped threads ([`for_each_parallel`]).
fn map_parallel<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let slots: Vec<Mutex<(Option<T>, Option<R>)>> = items
        .into_iter()
        .map(|t| Mutex::new((Some(t), None)))
        .collect();
    for_each_parallel(slots.len(), threads, |i| {
        let item = lock(&slots[i]).0.take().expect("each item is taken once");
        let result = f(item);
        lock(&slots[i]).1 = Some(result);
    });
    slots
        .into_iter()
        .map(|slot| {
            let (_, result) = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            result.expect("every item was mapped")
        })
        .collect()
}

/// Runs `task(i)` for every `i` in `0..n` on up to `threads` scoped threads, which take the indices in order.
fn for_each_parallel(n: usize, threads: usize, task: impl Fn(usize) + Sync) {
    let threads = threads.min(n);
    if threads <= 1 {
        (0..n).for_each(task);
        return;
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, AtomicOrdering::Relaxed);
                    if i >= n {
                        break;
                    }
                    task(i);
                }
            });
        }
    });
}

/// Locks `m`, also after a panic elsewhere (what it guards is written whole or not at all).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Creates `root/rel` and syncs every directory it created into its parent, so the new entries survive a crash.
fn create_dirs(root: &Path, rel: &Path) -> Result<()> {
    let mut at = root.to_path_buf();
    for part in rel.components() {
        let parent = at.clone();
        at.push(part);
        if !at.is_dir() {
            match fs::create_dir(&at) {
                Ok(()) => sync_dir(&parent)?,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(Error::Io {
                        path: at,
                        source: e,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Reads every row of a quarry Parquet file.
pub fn read_file(path: &Path) -> Result<Vec<LogRecord>> {
    let file = File::open(path).map_err(io_err(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(8192).build())
        .map_err(|e| Error::parquet(path, e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| Error::Arrow {
            context: path.to_owned(),
            source: e,
        })?;
        out.extend(batch_to_records(&batch).map_err(|e| Error::Arrow {
            context: path.to_owned(),
            source: e,
        })?);
    }
    Ok(out)
}

/// CRC-32 of a whole file, to compare with the catalog's checksum.
pub(crate) fn file_checksum(path: &Path) -> Result<u32> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    Ok(crc32fast::hash(&bytes))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use quarry_core::{IngestOptions, Stamper, TeamId};
    use quarry_testkit::{Generator, GeneratorConfig};

    use super::*;

    /// The writer before session 11: `ArrowWriter`, one write and one flush per row group, on one thread.
    fn arrow_writer_bytes(
        records: &[&LogRecord],
        row_groups: &[Range<usize>],
        rows: usize,
    ) -> Vec<u8> {
        let mut writer =
            ArrowWriter::try_new(Vec::new(), log_schema(), Some(writer_properties(rows))).unwrap();
        for g in row_groups {
            writer
                .write(&records_to_batch(&records[g.clone()]).unwrap())
                .unwrap();
            writer.flush().unwrap();
        }
        writer.into_inner().unwrap()
    }

    /// Row groups encoded apart on several threads and appended in order make the file `ArrowWriter` makes of
    /// the same row groups, byte for byte, and the sidecar the one built from the sorted rows; on one thread too.
    #[test]
    fn files_written_in_pieces_are_the_files_arrow_writer_writes() {
        let mut stamper = Stamper::new(7, IngestOptions::default());
        let records: Vec<LogRecord> = Generator::new(GeneratorConfig {
            rows: 6_000,
            seed: 3,
            span: 3 * 3_600_000_000_000,
            ..Default::default()
        })
        .map(|log| stamper.stamp(log, 1_793_577_600 * 1_000_000_000))
        .collect();
        let mut by_partition: BTreeMap<Partition, Vec<&LogRecord>> = BTreeMap::new();
        for r in &records {
            by_partition
                .entry(Partition::of(TeamId(1), r.timestamp))
                .or_default()
                .push(r);
        }
        assert_eq!(by_partition.len(), 3, "three hours of rows");
        let row_group_rows = 700;
        let options = IndexOptions::default();
        for threads in [1, 3] {
            let dir = tempfile::tempdir().unwrap();
            let jobs = by_partition
                .iter()
                .enumerate()
                .map(|(i, (p, rows))| FileJob {
                    partition: *p,
                    name: format!("file-{i}"),
                    // Reversed: the writer sorts.
                    records: rows.iter().rev().copied().collect(),
                })
                .collect();
            let written = write_files(dir.path(), jobs, row_group_rows, &options, threads);
            assert_eq!(written.len(), 3);
            for (w, rows) in written.into_iter().zip(by_partition.values()) {
                let w = w.unwrap();
                let mut sorted = rows.clone();
                sort_records(&mut sorted);
                let row_groups = cut_row_groups(&sorted, row_group_rows);
                assert!(row_groups.len() >= 3, "{row_groups:?}");
                assert!(
                    row_groups
                        .iter()
                        .any(|g| quarry_index::severity_group(sorted[g.start].severity_text) == 1),
                    "error rows have row groups of their own"
                );
                let bytes = fs::read(dir.path().join(&w.rel_path)).unwrap();
                assert_eq!(
                    bytes,
                    arrow_writer_bytes(&sorted, &row_groups, row_group_rows),
                    "{threads} threads, {}",
                    w.rel_path.display()
                );
                assert_eq!(
                    (w.bytes, w.checksum),
                    (bytes.len() as u64, crc32fast::hash(&bytes))
                );
                let sizes: Vec<u32> = row_groups.iter().map(|g| g.len() as u32).collect();
                let index = FileIndex::build(&sorted, &sizes, &options);
                let sidecar = fs::read(sidecar_path(&dir.path().join(&w.rel_path))).unwrap();
                assert_eq!(sidecar, index.to_bytes());
                assert_eq!(
                    (w.rows, w.min_timestamp, w.max_timestamp),
                    (rows.len() as u64, index.min_timestamp, index.max_timestamp)
                );
                let back = read_file(&dir.path().join(&w.rel_path)).unwrap();
                assert!(back.iter().zip(&sorted).all(|(a, b)| a == *b));
                assert_eq!(back.len(), sorted.len());
            }
            // Nothing temporary is left: each partition directory holds its Parquet file and its sidecar only.
            for p in by_partition.keys() {
                let mut names: Vec<String> = fs::read_dir(dir.path().join(p.dir()))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                assert_eq!(names.len(), 2, "{names:?}");
                assert!(
                    names[0].ends_with(".parquet") && names[1].ends_with(".qidx"),
                    "{names:?}"
                );
            }
        }
    }
}
