//! Reading rows of one team from a storage snapshot, pruned before a byte of Parquet is decoded.
//!
//! Pruning, in order:
//! 1. **Catalog**: only the team's files whose `[min_timestamp, max_timestamp]` overlaps the range are opened
//!    (a team never sees another team's files: they are selected by `team` first).
//! 2. **Bitmaps**: when the predicate names services or severities, the file's sidecar postings give the exact
//!    set of candidate rows, handed to the Parquet reader as a `RowSelection` (with the page index loaded, so
//!    pages without a selected row are skipped).
//! 3. **Minutes**: files are time runs (errors after every other row, each group in time order), so the minutes a
//!    request can take rows from are one span of rows per run ([`quarry_index::FileIndex::run_minute_span`]);
//!    lists read such spans from their sort edge and stop early (see `exec::scan_from_edge` and
//!    `exec::scan_minute_windows`).
//! 4. **Projection**: only the columns the predicate and the endpoint need are decoded.
//!
//! Every candidate row is still tested by the full [`Predicate`]: the bitmaps narrow the candidates, they do not
//! decide. A sidecar that cannot be read is not trusted: the file is scanned in full instead and
//! `quarry_stats.sidecars_unreadable` says so.

use std::collections::BTreeSet;
use std::fs::File;
use std::sync::Arc;

use arrow::array::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use quarry_api::FilterType;
use quarry_api::response::QuarryStats;
use quarry_core::{LogRecord, NANOS_PER_HOUR, TeamId, TimeRange};
use quarry_index::RoaringBitmap;
use quarry_storage::{DataFile, Snapshot};

use crate::predicate::{Predicate, positive_match};
use crate::row::{Columns, Row};
use crate::{Error, PlanOptions, Result};

/// The files and memtable rows of one partition hour.
#[derive(Debug)]
pub(crate) struct Hour<'s> {
    pub(crate) files: Vec<&'s Arc<DataFile>>,
    pub(crate) mem: Vec<&'s LogRecord>,
}

/// A reader of one team's rows in a snapshot, accumulating `quarry_stats`.
#[derive(Debug)]
pub(crate) struct Scanner<'s> {
    pub(crate) snapshot: &'s Snapshot,
    pub(crate) team: TeamId,
    pub(crate) options: PlanOptions,
    pub(crate) stats: QuarryStats,
    /// Which paths answered part of the request: `rollup`, `index`, `scan` (for `quarry_stats.path`).
    pub(crate) used: BTreeSet<&'static str>,
    /// Files this scanner read rows of: `files_read` counts a file once however many reads it takes.
    files_seen: BTreeSet<std::path::PathBuf>,
}

impl<'s> Scanner<'s> {
    pub(crate) fn new(snapshot: &'s Snapshot, team: TeamId, options: PlanOptions) -> Scanner<'s> {
        Scanner {
            snapshot,
            team,
            options,
            stats: QuarryStats::default(),
            used: BTreeSet::new(),
            files_seen: BTreeSet::new(),
        }
    }

    /// Adds the statistics and paths of a scanner that read part of the same request (on another thread).
    pub(crate) fn absorb(&mut self, other: Scanner<'_>) {
        let (s, o) = (&mut self.stats, other.stats);
        s.files_read += o.files_read;
        s.row_groups_read += o.row_groups_read;
        s.rows_scanned += o.rows_scanned;
        s.bytes_read += o.bytes_read;
        s.memtable_rows += o.memtable_rows;
        s.files_from_index += o.files_from_index;
        s.sidecars_unreadable += o.sidecars_unreadable;
        self.used.extend(other.used);
    }

    /// The team's files and memtable rows that may hold rows of `range`, by partition hour, ascending.
    pub(crate) fn hours(&mut self, range: TimeRange) -> Vec<Hour<'s>> {
        let mut hours: std::collections::BTreeMap<i64, Hour<'s>> =
            std::collections::BTreeMap::new();
        for f in self.snapshot.team_files(self.team) {
            if range.overlaps_closed(f.meta.min_timestamp, f.meta.max_timestamp) {
                self.stats.files_in_range += 1;
                let start = f.meta.partition.start();
                hours
                    .entry(start)
                    .or_insert_with(|| Hour {
                        files: Vec::new(),
                        mem: Vec::new(),
                    })
                    .files
                    .push(f);
            }
        }
        for b in self
            .snapshot
            .memtable()
            .iter()
            .filter(|b| b.team == self.team)
        {
            for r in &b.records {
                if range.contains(r.timestamp) {
                    let start = r.timestamp.div_euclid(NANOS_PER_HOUR) * NANOS_PER_HOUR;
                    hours
                        .entry(start)
                        .or_insert_with(|| Hour {
                            files: Vec::new(),
                            mem: Vec::new(),
                        })
                        .mem
                        .push(r);
                }
            }
        }
        hours.into_values().collect()
    }

    /// The position of `file` in the snapshot's file list (for [`Loc::File`]).
    pub(crate) fn file_pos(&self, file: &Arc<DataFile>) -> usize {
        self.snapshot
            .files()
            .iter()
            .position(|f| Arc::ptr_eq(f, file))
            .unwrap_or(usize::MAX)
    }

    /// The sidecar postings of `file` (cached on its handle), or `None`, counted in `quarry_stats`, when the
    /// sidecar cannot be read: the file is then read without it.
    pub(crate) fn postings(&mut self, file: &DataFile) -> Option<Arc<quarry_index::FileIndex>> {
        match file.postings() {
            Ok(index) => Some(index),
            Err(_) => {
                self.stats.sidecars_unreadable += 1;
                None
            }
        }
    }

    /// The candidate rows of `file` according to its sidecar, or `None` for "every row": the postings of the
    /// requested services and severities, cut by [`Scanner::attribute_selection`].
    pub(crate) fn index_selection(
        &mut self,
        file: &DataFile,
        pred: &Predicate,
    ) -> Option<RoaringBitmap> {
        self.index_selection_counted(file, pred).0
    }

    /// [`Scanner::index_selection`], and at most how many rows of the file match the attribute leaves (the
    /// second part of [`Scanner::attribute_selection`]; `None` without such leaves).
    pub(crate) fn index_selection_counted(
        &mut self,
        file: &DataFile,
        pred: &Predicate,
    ) -> (Option<RoaringBitmap>, Option<u64>) {
        let (by_attribute, expected) = match self.attribute_selection(file, pred) {
            Some((rows, n)) => (Some(rows), Some(n)),
            None => (None, None),
        };
        (self.combine_postings(file, pred, by_attribute), expected)
    }

    fn combine_postings(
        &mut self,
        file: &DataFile,
        pred: &Predicate,
        by_attribute: Option<RoaringBitmap>,
    ) -> Option<RoaringBitmap> {
        if !self.options.use_index || (pred.services.is_none() && pred.severities.is_none()) {
            return by_attribute;
        }
        let index = self.postings(file)?;
        match (
            index.select(pred.services.as_ref(), pred.severities.as_ref()),
            by_attribute,
        ) {
            (Some(a), Some(b)) => Some(a & b),
            (a, b) => a.or(b),
        }
    }

    /// The rows of `file` whose (service, severity) holds, somewhere in the file, a value that each of `pred`'s
    /// required attribute leaves ([`Predicate::required_attributes`]) accepts, from the file's attribute totals
    /// (which count each (key, value) per service and severity) and its postings, with the fewest rows of the file
    /// any one leaf accepts (at most that many rows match); `None` for "every row" (no such leaf, indexes off, or
    /// a sidecar that cannot tell). A filter on an attribute that appears only with errors
    /// reads the file's error rows; one on an attribute absent from the file reads no row.
    ///
    /// Exact because the totals hold every attribute pair of the file: resource pairs always, log pairs when the
    /// sidecar says none was left out for its length ([`quarry_index::FileIndex::all_log_attributes_counted`]);
    /// a high-cardinality key's values are not told apart, so any of its entries keeps its rows.
    pub(crate) fn attribute_selection(
        &mut self,
        file: &DataFile,
        pred: &Predicate,
    ) -> Option<(RoaringBitmap, u64)> {
        if !self.options.use_index {
            return None;
        }
        let required = pred.required_attributes();
        if required.is_empty() {
            return None;
        }
        let postings = self.postings(file)?;
        let Ok(totals) = file.attr_totals() else {
            self.stats.sidecars_unreadable += 1;
            return None;
        };
        let mut out: Option<(RoaringBitmap, u64)> = None;
        let mut scratch = Vec::new();
        for leaf in required {
            let kind = if leaf.filter_type == FilterType::LogResourceAttribute {
                quarry_index::AttrKind::Resource
            } else {
                quarry_index::AttrKind::Log
            };
            if kind == quarry_index::AttrKind::Log && !totals.all_log_attributes_counted {
                continue;
            }
            // The key's entries: totals are sorted by (kind, key, …), so they are one slice (none when no row of
            // the file has the key).
            let entries = match totals
                .strings
                .binary_search_by(|s| s.as_str().cmp(leaf.key.as_str()))
            {
                Ok(key) => {
                    let key = key as u32;
                    let lo = totals
                        .attrs
                        .partition_point(|a| (a.kind, a.key) < (kind, key));
                    let hi = totals
                        .attrs
                        .partition_point(|a| (a.kind, a.key) <= (kind, key));
                    &totals.attrs[lo..hi]
                }
                Err(_) => &[],
            };
            // (service, severity) pairs with a row the leaf may accept; each value is tested once.
            let mut pairs: BTreeSet<(u32, quarry_core::Severity)> = BTreeSet::new();
            // Rows with an accepted value (each row holds a key once).
            let mut accepted = 0u64;
            let mut verdicts: std::collections::HashMap<u32, bool> =
                std::collections::HashMap::new();
            for a in entries {
                let keep = match a.value {
                    None => true,
                    Some(v) => *verdicts.entry(v).or_insert_with(|| {
                        totals.strings.get(v as usize).is_none_or(|text| {
                            positive_match(leaf, text, &mut scratch) == Some(true)
                        })
                    }),
                };
                if keep {
                    pairs.insert((a.service, a.severity));
                    accepted += a.count;
                }
            }
            let mut rows = RoaringBitmap::new();
            for (service, severity) in pairs {
                let name = &totals.services.get(service as usize)?.0;
                if let (Some(a), Some(b)) = (
                    postings.service_rows(name),
                    postings.severity_rows(severity),
                ) {
                    rows |= a & b;
                }
            }
            out = Some(match out {
                Some((prev, n)) => (prev & rows, n.min(accepted)),
                None => (rows, accepted),
            });
        }
        if out.is_some() {
            self.used.insert("index");
        }
        out
    }

    /// Reads the rows of `file` that satisfy `pred`, decoding only `projection`, and calls `visit` with each
    /// match and its row number in the file.
    pub(crate) fn scan_file(
        &mut self,
        file: &DataFile,
        pred: &Predicate,
        projection: &BTreeSet<&'static str>,
        visit: &mut dyn FnMut(&dyn Row, u32),
    ) -> Result<()> {
        let selection = self.index_selection(file, pred);
        self.scan_rows(file, pred, projection, selection, visit)
    }

    /// [`Scanner::scan_file`] over the candidate rows `selection` (`None` = every row), which the caller took
    /// from the file's sidecar.
    pub(crate) fn scan_rows(
        &mut self,
        file: &DataFile,
        pred: &Predicate,
        projection: &BTreeSet<&'static str>,
        selection: Option<RoaringBitmap>,
        visit: &mut dyn FnMut(&dyn Row, u32),
    ) -> Result<()> {
        if let Some(sel) = &selection {
            if sel.is_empty() {
                return Ok(());
            }
            self.used.insert("index");
        }
        let rows: Option<Vec<u32>> = selection.map(|s| s.iter().collect());
        let mut scratch = Vec::new();
        self.read(file, projection, rows.as_deref(), &mut |batch, abs| {
            let cols = Columns::new(batch);
            for (i, &row) in abs.iter().enumerate() {
                let r = cols.row(i);
                if pred.matches(&r, &mut scratch) {
                    visit(&r, row);
                }
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Reads `projection` of the given rows (ascending row numbers; `None` = all) of `file`, passing each batch
    /// with the file row number of each of its rows.
    pub(crate) fn read(
        &mut self,
        file: &DataFile,
        projection: &BTreeSet<&'static str>,
        rows: Option<&[u32]>,
        on_batch: &mut dyn FnMut(&RecordBatch, &[u32]) -> Result<()>,
    ) -> Result<()> {
        let path = &file.path;
        let perr = |e| Error::Parquet {
            path: path.clone(),
            source: e,
        };
        // No page is decoded from a file whose bytes do not match the catalog's checksum (checked once per file).
        file.verify().map_err(|e| storage_error(path, e))?;
        let f = File::open(path).map_err(|e| Error::Io {
            path: path.clone(),
            source: e,
        })?;
        let metadata = file.reader_metadata().map_err(|e| storage_error(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(f, metadata);
        let schema = Arc::clone(builder.schema());
        let indices: Vec<usize> = projection
            .iter()
            .map(|name| {
                schema.index_of(name).map_err(|_| Error::Corrupt {
                    path: path.clone(),
                    reason: format!("column {name:?} is missing"),
                })
            })
            .collect::<Result<_>>()?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
        // Stats: row groups holding a selected row, and the compressed bytes of their projected columns.
        let metadata = Arc::clone(builder.metadata());
        let total_rows: u64 = metadata
            .row_groups()
            .iter()
            .map(|g| g.num_rows() as u64)
            .sum();
        let mut start = 0u64;
        let mut cursor = 0usize;
        for g in metadata.row_groups() {
            let end = start + g.num_rows() as u64;
            let touched = match rows {
                None => true,
                Some(r) => {
                    while cursor < r.len() && u64::from(r[cursor]) < start {
                        cursor += 1;
                    }
                    cursor < r.len() && u64::from(r[cursor]) < end
                }
            };
            if touched {
                self.stats.row_groups_read += 1;
                for (leaf, c) in g.columns().iter().enumerate() {
                    if mask.leaf_included(leaf) {
                        self.stats.bytes_read += c.compressed_size().max(0) as u64;
                    }
                }
            }
            start = end;
        }
        if self.files_seen.insert(file.path.clone()) {
            self.stats.files_read += 1;
        }
        self.used.insert("scan");
        let mut builder = builder.with_projection(mask).with_batch_size(8192);
        if let Some(r) = rows {
            builder = builder.with_row_selection(selection_of(r, total_rows));
        }
        let reader = builder.build().map_err(perr)?;
        let all: Vec<u32>;
        let abs: &[u32] = match rows {
            Some(r) => r,
            None => {
                all = (0..u32::try_from(total_rows).unwrap_or(u32::MAX)).collect();
                &all
            }
        };
        let mut at = 0usize;
        for batch in reader {
            let batch = batch.map_err(|e| Error::Arrow {
                path: path.clone(),
                source: e,
            })?;
            let n = batch.num_rows();
            let ids = abs.get(at..at + n).ok_or_else(|| Error::Corrupt {
                path: path.clone(),
                reason: "the file returned more rows than its metadata declares".into(),
            })?;
            self.stats.rows_scanned += n as u64;
            on_batch(&batch, ids)?;
            at += n;
        }
        Ok(())
    }

    /// Tests memtable rows against `pred`.
    pub(crate) fn scan_mem(
        &mut self,
        rows: &[&'s LogRecord],
        pred: &Predicate,
        visit: &mut dyn FnMut(&'s LogRecord),
    ) {
        let mut scratch = Vec::new();
        if !rows.is_empty() {
            self.used.insert("scan");
        }
        for r in rows {
            self.stats.rows_scanned += 1;
            self.stats.memtable_rows += 1;
            if pred.matches(*r, &mut scratch) {
                visit(r);
            }
        }
    }

    /// Reads whole records (every column) for the given rows of `file`, in row order.
    pub(crate) fn fetch_records(
        &mut self,
        file: &DataFile,
        rows: &[u32],
    ) -> Result<Vec<(u32, LogRecord)>> {
        let all: BTreeSet<&'static str> = quarry_core::schema::log_schema()
            .fields()
            .iter()
            .filter_map(|f| ALL_COLUMNS.iter().find(|c| **c == f.name()).copied())
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        let path = file.path.clone();
        self.read(file, &all, Some(rows), &mut |batch, ids| {
            let recs = quarry_core::schema::batch_to_records(batch).map_err(|e| Error::Arrow {
                path: path.clone(),
                source: e,
            })?;
            out.extend(ids.iter().copied().zip(recs));
            Ok(())
        })?;
        Ok(out)
    }
}

const ALL_COLUMNS: &[&str] = {
    use quarry_core::schema::columns::*;
    &[
        SERVICE_NAME,
        SEVERITY_TEXT,
        TIMESTAMP,
        OBSERVED_TIMESTAMP,
        UUID,
        TRACE_ID,
        SPAN_ID,
        TRACE_FLAGS,
        SEVERITY_NUMBER,
        BODY,
        ATTRIBUTES,
        RESOURCE_ATTRIBUTES,
        RESOURCE_FINGERPRINT,
        INSTRUMENTATION_SCOPE,
        EVENT_NAME,
        BYTES_UNCOMPRESSED,
    ]
};

/// A storage error met while reading `path`, as a read error naming the file.
fn storage_error(path: &std::path::Path, e: quarry_storage::Error) -> Error {
    match e {
        quarry_storage::Error::Checksum {
            expected, actual, ..
        } => Error::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "damaged: CRC-32 {actual:#010x}, the catalog recorded {expected:#010x}; restore the file or drop \
                 its partition"
            ),
        },
        quarry_storage::Error::Io { source, .. } => Error::Io {
            path: path.to_owned(),
            source,
        },
        quarry_storage::Error::Parquet { source, .. } => Error::Parquet {
            path: path.to_owned(),
            source,
        },
        other => Error::Corrupt {
            path: path.to_owned(),
            reason: other.to_string(),
        },
    }
}

/// A `RowSelection` selecting exactly `rows` (ascending) out of `total`.
fn selection_of(rows: &[u32], total: u64) -> RowSelection {
    let mut selectors = Vec::new();
    let mut at = 0u64;
    let mut i = 0;
    while i < rows.len() {
        let start = u64::from(rows[i]);
        let mut end = start + 1;
        i += 1;
        while i < rows.len() && u64::from(rows[i]) == end {
            end += 1;
            i += 1;
        }
        if start > at {
            selectors.push(RowSelector::skip((start - at) as usize));
        }
        selectors.push(RowSelector::select((end - start) as usize));
        at = end;
    }
    if total > at {
        selectors.push(RowSelector::skip((total - at) as usize));
    }
    RowSelection::from(selectors)
}
