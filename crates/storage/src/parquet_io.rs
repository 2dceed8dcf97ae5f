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
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
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
pub(crate) fn sort_records(records: &mut Vec<&LogRecord>) {
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

/// Writes `records` (already sorted with [`sort_records`]) as file `name` of `partition`, plus its sidecar,
/// durably: each is written to a temporary name, synced, renamed, and the directory synced.
pub(crate) fn write_file(
    root: &Path,
    partition: Partition,
    name: &str,
    records: &[&LogRecord],
    row_group_rows: usize,
    index_options: &IndexOptions,
) -> Result<WrittenFile> {
    let rel_dir = partition.dir();
    let dir = root.join(&rel_dir);
    create_dirs(root, &rel_dir)?;
    let rel_path = rel_dir.join(format!("{name}.parquet"));
    let path = root.join(&rel_path);
    let tmp = dir.join(format!(".{name}.parquet.tmp"));

    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let sink = HashingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
        len: 0,
    };
    let mut writer =
        ArrowWriter::try_new(sink, log_schema(), Some(writer_properties(row_group_rows)))
            .map_err(|e| Error::parquet(&tmp, e))?;
    let mut row_groups = Vec::new();
    // A row group never holds two severity groups, so each is in (`timestamp`, `uuid`) order, as the file's
    // `sorting_columns` say (they describe every row group), and the error rows start a fresh page.
    debug_assert!(
        records.is_sorted_by_key(|r| quarry_index::file_order_key(r)),
        "write_file takes records in sort_records order"
    );
    let errors_at = records.partition_point(|r| quarry_index::severity_group(r.severity_text) == 0);
    let (others, errors) = records.split_at(errors_at);
    let chunks = others
        .chunks(row_group_rows.max(1))
        .chain(errors.chunks(row_group_rows.max(1)));
    for chunk in chunks {
        let batch = records_to_batch(chunk).map_err(|e| Error::Arrow {
            context: tmp.clone(),
            source: e,
        })?;
        writer.write(&batch).map_err(|e| Error::parquet(&tmp, e))?;
        // End the row group here, so row groups are exactly the chunks the sidecar records.
        writer.flush().map_err(|e| Error::parquet(&tmp, e))?;
        row_groups.push(chunk.len() as u32);
    }
    let mut sink = writer.into_inner().map_err(|e| Error::parquet(&tmp, e))?;
    sink.flush().map_err(io_err(&tmp))?;
    let (bytes, checksum) = (sink.len, sink.crc.finalize());
    let file = sink.inner.into_inner().map_err(|e| Error::Io {
        path: tmp.clone(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);

    let index = FileIndex::build(records, &row_groups, index_options);
    let index_bytes = index.to_bytes();
    let sidecar = sidecar_path(&path);
    let sidecar_tmp = dir.join(format!(".{name}.qidx.tmp"));
    write_synced(&sidecar_tmp, &index_bytes)?;

    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    fs::rename(&sidecar_tmp, &sidecar).map_err(io_err(&sidecar))?;
    sync_dir(&dir)?;
    Ok(WrittenFile {
        partition,
        rel_path,
        rows: records.len() as u64,
        bytes,
        index_bytes: index_bytes.len() as u64,
        raw_bytes: records.iter().map(|r| r.bytes_uncompressed).sum(),
        checksum,
        min_timestamp: index.min_timestamp,
        max_timestamp: index.max_timestamp,
    })
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
